/*
 * config: evalgate.json (SPEC 4), parsed and checked at load.
 *
 * Every error names the file, the line and the field. The "gates" array is
 * checked to be an array of objects and kept raw: the gates layer parses its
 * entries (gates/gate.h), locating its errors through config_jdoc. Sections
 * that later features read (promotion, registry) are kept as raw cJSON in
 * cfg->root too.
 * Ownership: config_load fills a struct eg_config that config_release frees;
 * nodes of cfg->root (cfg->gates) live as long as the config.
 */
#ifndef EG_CONFIG_H
#define EG_CONFIG_H

#include <stddef.h>

#include <cjson/cJSON.h>

struct jdoc;

struct eg_header {
	char *name;
	char *value;
};

struct eg_gateway_cfg {
	char *base_url;           /* e.g. http://127.0.0.1:4000/v1, no trailing slash; NULL
				     when unresolved is set */
	char *unresolved;         /* "file:line: gateway.base_url: environment variable X is
				     not set", or NULL: reported by config_gateway_ready, so
				     that commands which call nothing load such a config */
	char *api_key_env;        /* name of the env var holding the key, or NULL */
	struct eg_header *headers;
	size_t n_headers;
	double timeout_s;         /* per request; default 60 */
	int max_retries;          /* default 5 */
	int concurrency;          /* the target's requests in flight at most; default 32 */
	int scorer_concurrency;   /* the scorers' model calls in flight at most; 0 (the
				     default): as concurrency */
	double rps;               /* request rate limit, 0 = none */
	double rpm;               /* requests a minute over both pools, 0 = none */
	double tpm;               /* tokens a minute over both pools (estimated from the
				     request, corrected by the reply's usage), 0 = none */
	double max_error_rate;    /* over this share of errored cases: exit 3; default 0.05 */
	size_t max_response_bytes; /* default 16 MiB */
	int http_libcurl;         /* "http_client": "libcurl": plain http:// through libcurl too;
				     0 (the default, "builtin"): evalgate's own HTTP/1.1 client */
};

struct eg_target {
	char *type;               /* "chat" (the default), "http", ...: runner/targets/ reads the rest */
	char *name;
	char *version;
	char *model;              /* required by chat; NULL when another type leaves it out */
	char *system;             /* or NULL */
	cJSON *params;            /* object, or NULL */
	const cJSON *obj;         /* the "target" object in root, for the type's own fields */
};

struct eg_judge_cfg {
	char *model;              /* or NULL */
	cJSON *params;            /* or NULL */
	int samples;              /* default 1 */
	int require_calibration;  /* judge-based gates fail when the judge key is not calibrated */
	int has_min_kappa;        /* min_kappa was given */
	double min_kappa;         /* the kappa a judge's newest calibration must reach */
};

/* prices: {"MODEL": {"input_per_mtok": X, "output_per_mtok": Y}}, USD per million tokens */
struct eg_price {
	char *model;
	double input_per_mtok;    /* prompt tokens */
	double output_per_mtok;   /* completion tokens */
};

/* how a case's repeats (run --repeat N) make its verdict */
enum repeat_policy_kind {
	REPEAT_ALL,               /* every scored repeat passed (the default) */
	REPEAT_MAJORITY,          /* more than half of the scored repeats passed */
	REPEAT_MIN_PASS,          /* at least min_pass repeats passed */
};

struct eg_repeat_policy {
	enum repeat_policy_kind kind;
	int min_pass;             /* REPEAT_MIN_PASS: K, 1..1000 */
	int line;                 /* of repeat_policy in the config, 0 when absent */
};

/* "budget": the run's spend cap (SPEC 14); run --max-cost-usd / --max-tokens override it */
struct eg_budget {
	double max_cost_usd;      /* USD at the config's prices; 0: no cap */
	long max_tokens;          /* prompt + completion tokens, the scorers' calls too; 0: no cap */
};

/* one alias of the config's "promotion" section (SPEC 9) */
struct eg_promotion {
	char *alias;              /* e.g. "production" */
	char **require_suites;    /* suite names the evidence run must cover */
	size_t n_require_suites;
	double max_age_days;      /* evidence no older than this; < 0: no limit */
	int line;                 /* line in the config, for messages */
};

struct eg_config {
	char *path;
	char hash[65];            /* SHA-256 of the canonical config (no secrets are in it) */
	struct eg_gateway_cfg gateway;
	struct eg_target target;
	struct eg_judge_cfg judge;
	struct eg_repeat_policy repeat_policy; /* top-level repeat_policy */
	char **suites;            /* suite directories, relative to the config's directory */
	size_t n_suites;
	const cJSON *gates;       /* the "gates" array (in root), each item an object, or NULL;
				     parsed by the gates layer (gates/gate.h: gates_load) */
	struct eg_price *prices;
	size_t n_prices;
	cJSON *root;              /* the whole document */
	char *text;               /* the document as read, to locate nodes of root (config_jdoc) */
	size_t text_len;
	struct eg_promotion *promotions; /* the "promotion" section, in file order */
	size_t n_promotions;
	char *registry;           /* the "registry" URL, default CONFIG_REGISTRY_DEFAULT; a
				     relative sqlite: path is resolved against the config's
				     directory (as suites are), so every command and the
				     Action open the same file from any working directory */
	struct eg_budget budget;  /* the "budget" section; zeroed when absent */
};

/* the registry when neither the config nor --registry names one */
#define CONFIG_REGISTRY_DEFAULT "sqlite:.evalgate/registry.db"

/* 0 when the gateway can be called; -1 after reporting why not (an unset variable) */
int config_gateway_ready(const struct eg_config *cfg);

/* 0 ok, -1 after reporting (cfg then holds nothing to release); a missing file is an error */
int config_load(struct eg_config *cfg, const char *path);
/* the same from len bytes of text; path names it in messages and anchors its relative paths */
int config_load_text(struct eg_config *cfg, const char *path, const char *text, size_t len);
void config_release(struct eg_config *cfg);
/*
 * For commands that use a config when there is one: 1 loaded, 0 path is
 * absent and was not given (cfg zeroed, nothing to release), -1 after reporting.
 */
int config_load_optional(struct eg_config *cfg, const char *path, int given);
/*
 * A view of the loaded document for jdoc_error() and the jdoc_* getters on
 * nodes of cfg->root: it borrows the config's text and tree, so it is never
 * passed to jdoc_release.
 */
void config_jdoc(const struct eg_config *cfg, struct jdoc *d);
/* the rule for alias, or NULL when the config has none */
const struct eg_promotion *config_promotion(const struct eg_config *cfg, const char *alias);
/* 1 when alias is a name MLflow accepts too: [A-Za-z0-9_-]+, not "latest" nor v<digits> */
int promotion_alias_ok(const char *alias);

/*
 * Expand ${NAME} and ${NAME:-default} in s from the environment: a malloc'd
 * string, or NULL after a located error (node, field). When secrets is not
 * NULL, each value taken from the environment is appended to *secrets
 * (malloc'd strings, *n_secrets of them) so that it can be redacted.
 * Expanded values are never printed.
 */
char *config_expand_env(const struct jdoc *d, const cJSON *node, const char *field,
			const char *s, char ***secrets, size_t *n_secrets);

/* 1 when name is a header name ([A-Za-z0-9_-]+) and value a one-line string */
int config_header_ok(const char *name, const char *value);

/* the price of model, or NULL when prices has none */
const struct eg_price *config_price(const struct eg_config *cfg, const char *model);
/* USD for one call of model; NaN when the model has no price or a count is unknown (< 0) */
double config_cost(const struct eg_config *cfg, const char *model, long prompt_tokens,
		   long completion_tokens);

/* the policy as a run stores it: "all", "majority" or "min_pass:K" */
void repeat_policy_format(const struct eg_repeat_policy *p, char *buf, size_t size);
/* 0 when the policy can be met with this many repeats; -1 after a located error */
int repeat_policy_check(const struct eg_config *cfg, int repeats);

#endif
