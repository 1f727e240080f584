/*
 * config: evalgate.json (SPEC 4), parsed and checked in full at load.
 *
 * Every error names the file, the line and the field. Sections that later
 * features read (promotion, registry, prices) are kept as raw cJSON in
 * cfg->root. Ownership: config_load fills a struct eg_config that
 * config_release frees.
 */
#ifndef EG_CONFIG_H
#define EG_CONFIG_H

#include <stddef.h>

#include <cjson/cJSON.h>

struct eg_header {
	char *name;
	char *value;
};

struct eg_gateway_cfg {
	char *base_url;           /* e.g. http://127.0.0.1:4000/v1, no trailing slash */
	char *api_key_env;        /* name of the env var holding the key, or NULL */
	struct eg_header *headers;
	size_t n_headers;
	double timeout_s;         /* per request; default 60 */
	int max_retries;          /* default 5 */
	int concurrency;          /* requests in flight; default 32 */
	double rps;               /* request rate limit, 0 = none */
	double max_error_rate;    /* over this share of errored cases: exit 3; default 0.05 */
	size_t max_response_bytes; /* default 16 MiB */
};

struct eg_target {
	char *name;
	char *version;
	char *model;
	char *system;             /* or NULL */
	cJSON *params;            /* object, or NULL */
};

struct eg_judge_cfg {
	char *model;              /* or NULL */
	cJSON *params;            /* or NULL */
	int samples;              /* default 1 */
};

enum gate_metric {
	METRIC_PASS_RATE,           /* passed / (passed + failed) */
	METRIC_ERROR_RATE,          /* errored / all cases */
	METRIC_ATTACK_SUCCESS_RATE, /* adversarial suites: failed / (passed + failed) */
	METRIC_JUDGE_ERROR_RATE,    /* model-graded scorer results that errored / all of them */
	METRIC_DRIFT,               /* pass rate (or a scorer's mean) against the suite's last runs */
};

struct eg_gate {
	char *name;               /* given, or generated from metric and scope */
	enum gate_metric metric;
	char *metric_name;        /* as written */
	char *suite;              /* scope: a suite name, or NULL for global */
	char *tag;                /* scope: a tag, or NULL */
	int has_min, has_max;
	double min, max;
	int line;                 /* line in the config, for messages */
	int window;               /* drift: previous runs compared with (default 7) */
	char *scorer;             /* drift: a scorer's label or type whose mean is charted, or NULL */
};

struct eg_config {
	char *path;
	char hash[65];            /* SHA-256 of the canonical config (no secrets are in it) */
	struct eg_gateway_cfg gateway;
	struct eg_target target;
	struct eg_judge_cfg judge;
	char **suites;            /* suite directories, relative to the config's directory */
	size_t n_suites;
	struct eg_gate *gates;
	size_t n_gates;
	cJSON *root;              /* the whole document */
};

/* 0 ok, -1 after reporting (cfg then holds nothing to release); a missing file is an error */
int config_load(struct eg_config *cfg, const char *path);
void config_release(struct eg_config *cfg);

#endif
