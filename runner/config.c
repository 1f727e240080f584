#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "jsonutil.h"
#include "sha256.h"
#include "xalloc.h"
#include "banned.h"

static const char *const top_keys[] = { "gateway", "target", "judge", "suites", "gates",
					"promotion", "registry", "prices", "repeat_policy", NULL };
static const char *const gateway_keys[] = { "base_url", "api_key_env", "headers", "timeout_s",
					    "max_retries", "concurrency", "rps",
					    "max_error_rate", "max_response_bytes", NULL };
/* a chat target's fields; other types check their own (runner/targets/) */
static const char *const target_keys[] = { "type", "name", "version", "model", "params", "system",
					   NULL };
static const char *const judge_keys[] = { "model", "params", "samples", NULL };
static const char *const gate_keys[] = { "name", "suite", "tag", "metric", "stat", "min", "max",
					 "window", "scorer", NULL };
static const char *const price_keys[] = { "input_per_mtok", "output_per_mtok", NULL };
static const char *const promotion_keys[] = { "require_suites", "max_age_days", NULL };

/*
 * The gate metrics. A name ending in '.' is a prefix: "score." takes the
 * scorer's label after it. A metric with has_stat takes "stat" (default
 * mean); min and max must lie in [0, hi].
 */
static const struct metric_def {
	const char *name;         /* as written, or a prefix ending in '.' */
	const char *shown;        /* in the list of known metrics */
	enum gate_metric metric;
	int has_stat;             /* takes "stat" */
	double hi;                /* largest min/max */
} metrics[] = {
	{ "pass_rate", "pass_rate", METRIC_PASS_RATE, 0, 1 },
	{ "error_rate", "error_rate", METRIC_ERROR_RATE, 0, 1 },
	{ "attack_success_rate", "attack_success_rate", METRIC_ATTACK_SUCCESS_RATE, 0, 1 },
	{ "judge_error_rate", "judge_error_rate", METRIC_JUDGE_ERROR_RATE, 0, 1 },
	{ "score.", "score.<scorer>", METRIC_SCORE, 1, 1 },
	{ "latency_ms", "latency_ms", METRIC_LATENCY_MS, 1, 1e9 },
	{ "tokens", "tokens", METRIC_TOKENS, 1, 1e12 },
	{ "cost_usd", "cost_usd", METRIC_COST_USD, 0, 1e9 },
	{ "regression", "regression", METRIC_REGRESSION, 0, 0 },
	{ "drift", "drift", METRIC_DRIFT, 0, 1 },
};
#define N_METRICS (sizeof(metrics) / sizeof(metrics[0]))

static const char *const stat_names[] = {
	[STAT_NONE] = "none", [STAT_MEAN] = "mean", [STAT_MIN] = "min", [STAT_MAX] = "max",
	[STAT_P50] = "p50", [STAT_P90] = "p90", [STAT_P95] = "p95", [STAT_P99] = "p99",
};
#define N_STATS (sizeof(stat_names) / sizeof(stat_names[0]))

const char *gate_stat_name(enum gate_stat s)
{
	if ((size_t)s < N_STATS)
		return stat_names[s];
	return "unknown";
}

static int env_name_ok(const char *s)
{
	if (!*s || isdigit((unsigned char)*s))
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

char *config_expand_env(const struct jdoc *d, const cJSON *node, const char *field,
			const char *s, char ***secrets, size_t *n_secrets)
{
	struct strbuf sb = STRBUF_INIT;

	while (*s) {
		const char *end, *colon, *val;
		char name[128];
		size_t nlen;

		if (s[0] != '$' || s[1] != '{') {
			strbuf_addch(&sb, *s++);
			continue;
		}
		end = strchr(s + 2, '}');
		if (!end) {
			jdoc_error(d, node, field, "unterminated ${ in '%s'", s);
			goto fail;
		}
		colon = strstr(s + 2, ":-");
		if (colon && colon > end)
			colon = NULL;
		nlen = (size_t)((colon ? colon : end) - (s + 2));
		if (!nlen || nlen >= sizeof(name)) {
			jdoc_error(d, node, field, "bad ${...} reference");
			goto fail;
		}
		memcpy(name, s + 2, nlen);
		name[nlen] = '\0';
		if (!env_name_ok(name)) {
			jdoc_error(d, node, field, "'%s' is not an environment variable name", name);
			goto fail;
		}
		val = getenv(name);
		if (val && *val) {
			strbuf_addstr(&sb, val);
			if (secrets) {
				*secrets = xrealloc(*secrets, (*n_secrets + 1) * sizeof(**secrets));
				(*secrets)[(*n_secrets)++] = xstrdup(val);
			}
		} else if (colon)
			strbuf_add(&sb, colon + 2, (size_t)(end - (colon + 2)));
		else {
			jdoc_error(d, node, field, "environment variable %s is not set", name);
			goto fail;
		}
		s = end + 1;
	}
	return strbuf_detach(&sb, NULL);
fail:
	strbuf_release(&sb);
	return NULL;
}

int config_header_ok(const char *name, const char *value)
{
	const char *p;

	if (!*name)
		return 0;
	for (p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
			return 0;
	for (p = value; *p; p++)
		if (*p == '\r' || *p == '\n')
			return 0;
	return 1;
}

static int load_gateway(struct jdoc *d, const cJSON *g, struct eg_gateway_cfg *gw)
{
	const char *s = NULL;
	char *url;
	const cJSON *h, *c;
	double v;
	size_t len;

	if (!cJSON_IsObject(g))
		return jdoc_error(d, g ? g : d->root, "gateway", g ? "expected an object" : "missing");
	if (jdoc_check_keys(d, g, "gateway.", gateway_keys))
		return -1;
	if (jdoc_string(d, g, "gateway.", "base_url", 1, &s))
		return -1;
	url = config_expand_env(d, cJSON_GetObjectItem(g, "base_url"), "gateway.base_url", s, NULL,
				NULL);
	if (!url)
		return -1;
	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) {
		jdoc_error(d, cJSON_GetObjectItem(g, "base_url"), "gateway.base_url",
			   "expected an http:// or https:// URL, not '%s'", s);
		free(url);
		return -1;
	}
	len = strlen(url);
	while (len && url[len - 1] == '/')
		len--;
	url[len] = '\0';
	gw->base_url = url;
	s = NULL;
	if (jdoc_string(d, g, "gateway.", "api_key_env", 0, &s))
		return -1;
	if (s) {
		if (!env_name_ok(s))
			return jdoc_error(d, cJSON_GetObjectItem(g, "api_key_env"),
					  "gateway.api_key_env",
					  "'%s' is not an environment variable name", s);
		gw->api_key_env = xstrdup(s);
	}
	h = cJSON_GetObjectItemCaseSensitive(g, "headers");
	if (h) {
		size_t i = 0;
		if (!cJSON_IsObject(h))
			return jdoc_error(d, h, "gateway.headers", "expected an object of strings");
		gw->headers = xcalloc((size_t)cJSON_GetArraySize(h) + 1, sizeof(*gw->headers));
		cJSON_ArrayForEach(c, h) {
			if (!cJSON_IsString(c) || !config_header_ok(c->string, c->valuestring))
				return jdoc_error(d, c, "gateway.headers",
						  "'%s': expected a header name and a one-line string value",
						  c->string);
			if (!strcasecmp(c->string, "authorization"))
				return jdoc_error(d, c, "gateway.headers",
						  "set the key with api_key_env, not an Authorization header");
			gw->headers[i].value = config_expand_env(d, c, "gateway.headers", c->valuestring,
								 NULL, NULL);
			if (!gw->headers[i].value)
				return -1;
			gw->headers[i].name = xstrdup(c->string);
			gw->n_headers = ++i;
			if (!config_header_ok(c->string, gw->headers[i - 1].value))
				return jdoc_error(d, c, "gateway.headers",
						  "'%s': the expanded value spans lines", c->string);
		}
	}
	v = gw->timeout_s;
	if (jdoc_number(d, g, "gateway.", "timeout_s", 0, 0.001, 3600, &v))
		return -1;
	gw->timeout_s = v;
	v = gw->max_retries;
	if (jdoc_number(d, g, "gateway.", "max_retries", 0, 0, 20, &v))
		return -1;
	if (v != floor(v))
		return jdoc_error(d, cJSON_GetObjectItem(g, "max_retries"), "gateway.max_retries",
				  "expected a whole number");
	gw->max_retries = (int)v;
	v = gw->concurrency;
	if (jdoc_number(d, g, "gateway.", "concurrency", 0, 1, 4096, &v))
		return -1;
	if (v != floor(v))
		return jdoc_error(d, cJSON_GetObjectItem(g, "concurrency"), "gateway.concurrency",
				  "expected a whole number");
	gw->concurrency = (int)v;
	if (jdoc_number(d, g, "gateway.", "rps", 0, 0, 1e6, &gw->rps))
		return -1;
	if (jdoc_number(d, g, "gateway.", "max_error_rate", 0, 0, 1, &gw->max_error_rate))
		return -1;
	v = (double)gw->max_response_bytes;
	if (jdoc_number(d, g, "gateway.", "max_response_bytes", 0, 1024, 1073741824.0, &v))
		return -1;
	if (v != floor(v))
		return jdoc_error(d, cJSON_GetObjectItem(g, "max_response_bytes"),
				  "gateway.max_response_bytes", "expected a whole number");
	gw->max_response_bytes = (size_t)v;
	return 0;
}

/*
 * The fields every target type shares (SPEC 11) and a chat target's; the
 * other types' own fields are left in tg->obj for runner/targets/.
 */
static int load_target(struct jdoc *d, const cJSON *t, struct eg_target *tg)
{
	const char *type = "chat", *name = NULL, *version = NULL, *model = NULL, *system = NULL;
	const cJSON *p;
	int chat;

	if (!cJSON_IsObject(t))
		return jdoc_error(d, t ? t : d->root, "target", t ? "expected an object" : "missing");
	if (jdoc_string(d, t, "target.", "type", 0, &type))
		return -1;
	chat = !strcmp(type, "chat");
	if ((chat && jdoc_check_keys(d, t, "target.", target_keys)) ||
	    jdoc_string(d, t, "target.", "name", 1, &name) ||
	    jdoc_string(d, t, "target.", "version", 1, &version) ||
	    jdoc_string(d, t, "target.", "model", chat, &model) ||
	    jdoc_string(d, t, "target.", "system", 0, &system))
		return -1;
	if (!*type)
		return jdoc_error(d, cJSON_GetObjectItem(t, "type"), "target.type", "must not be empty");
	if (!*name || (model && !*model))
		return jdoc_error(d, t, *name ? "target.model" : "target.name", "must not be empty");
	tg->type = xstrdup(type);
	tg->obj = t;
	tg->name = xstrdup(name);
	tg->version = xstrdup(version);
	tg->model = model ? xstrdup(model) : NULL;
	tg->system = system ? xstrdup(system) : NULL;
	p = cJSON_GetObjectItemCaseSensitive(t, "params");
	if (p) {
		if (!cJSON_IsObject(p))
			return jdoc_error(d, p, "target.params", "expected an object");
		tg->params = cJSON_Duplicate(p, 1);
	}
	return 0;
}

static int load_judge(struct jdoc *d, const cJSON *j, struct eg_judge_cfg *jc)
{
	const char *model = NULL;
	const cJSON *p;
	double samples = 1;

	if (!j)
		return 0;
	if (!cJSON_IsObject(j))
		return jdoc_error(d, j, "judge", "expected an object");
	if (jdoc_check_keys(d, j, "judge.", judge_keys) ||
	    jdoc_string(d, j, "judge.", "model", 0, &model) ||
	    jdoc_number(d, j, "judge.", "samples", 0, 1, 25, &samples))
		return -1;
	if (samples != floor(samples))
		return jdoc_error(d, cJSON_GetObjectItem(j, "samples"), "judge.samples",
				  "expected a whole number");
	jc->model = model ? xstrdup(model) : NULL;
	jc->samples = (int)samples;
	p = cJSON_GetObjectItemCaseSensitive(j, "params");
	if (p) {
		if (!cJSON_IsObject(p))
			return jdoc_error(d, p, "judge.params", "expected an object");
		jc->params = cJSON_Duplicate(p, 1);
	}
	return 0;
}

static const struct metric_def *metric_find(const char *metric)
{
	size_t i, len;

	for (i = 0; i < N_METRICS; i++) {
		len = strlen(metrics[i].name);
		if (metrics[i].name[len - 1] == '.' ? !strncmp(metric, metrics[i].name, len)
						     : !strcmp(metric, metrics[i].name))
			return &metrics[i];
	}
	return NULL;
}

static int unknown_metric(struct jdoc *d, const cJSON *node, const char *field,
			  const char *metric)
{
	struct strbuf known = STRBUF_INIT;
	size_t i;
	int ret;

	for (i = 0; i < N_METRICS; i++)
		strbuf_addf(&known, "%s%s", i ? ", " : "", metrics[i].shown);
	ret = jdoc_error(d, node, field, "unknown metric '%s' (known: %s)", metric, known.buf);
	strbuf_release(&known);
	return ret;
}

static int load_stat(struct jdoc *d, const cJSON *g, int idx, const struct metric_def *m,
		     struct eg_gate *gate)
{
	const cJSON *node = cJSON_GetObjectItemCaseSensitive(g, "stat");
	char field[64];
	size_t i;

	snprintf(field, sizeof(field), "gates[%d].stat", idx);
	gate->stat = m->has_stat ? STAT_MEAN : STAT_NONE;
	if (!node)
		return 0;
	if (!m->has_stat)
		return jdoc_error(d, node, field, "%s takes no stat (only score.<scorer>, "
				  "latency_ms and tokens do)", m->shown);
	if (!cJSON_IsString(node))
		return jdoc_error(d, node, field, "expected a string");
	for (i = STAT_NONE + 1; i < N_STATS; i++)
		if (!strcmp(node->valuestring, stat_names[i]))
			break;
	if (i == N_STATS)
		return jdoc_error(d, node, field, "unknown stat '%s' (known: mean, min, max, p50, "
				  "p90, p95, p99)", node->valuestring);
	gate->stat = (enum gate_stat)i;
	return 0;
}

int baseline_ref_valid(const char *ref, const char **why)
{
	const char *p;

	*why = NULL;
	if (!ref || !*ref)
		*why = "empty baseline reference";
	else if (!strncmp(ref, "latest:", 7) && !ref[7])
		*why = "latest: needs a git ref, e.g. latest:main";
	else if (!strncmp(ref, "alias:", 6) && !ref[6])
		*why = "alias: needs an alias name, e.g. alias:production";
	else if (strncmp(ref, "latest:", 7) && strncmp(ref, "alias:", 6) && strcmp(ref, "latest")) {
		for (p = ref; *p; p++)
			if (*p == ':' || (unsigned char)*p <= ' ' || *p == 0x7f)
				break;
		if (*p == ':')
			*why = "expected a run id, latest, latest:GITREF or alias:NAME";
		else if (*p)
			*why = "a run id has no spaces or control characters";
	}
	return *why == NULL;
}

static const char *const regression_keys[] = { "name", "suite", "tag", "metric", "baseline",
						"max_new_failures", "alpha", "exclude_flaky",
						NULL };

/* a "regression" gate (SPEC 7): flips against a baseline run, not a min/max bound */
static int load_regression_gate(struct jdoc *d, const cJSON *g, int idx, struct eg_gate *gate)
{
	const char *name = NULL, *suite = NULL, *tag = NULL, *baseline = "latest", *why;
	char prefix[64], field[96];
	double v;

	snprintf(prefix, sizeof(prefix), "gates[%d].", idx);
	if (jdoc_check_keys(d, g, prefix, regression_keys) ||
	    jdoc_string(d, g, prefix, "name", 0, &name) ||
	    jdoc_string(d, g, prefix, "suite", 0, &suite) ||
	    jdoc_string(d, g, prefix, "tag", 0, &tag) ||
	    jdoc_string(d, g, prefix, "baseline", 0, &baseline) ||
	    jdoc_bool(d, g, prefix, "exclude_flaky", &gate->exclude_flaky))
		return -1;
	snprintf(field, sizeof(field), "%sbaseline", prefix);
	if (!baseline_ref_valid(baseline, &why))
		return jdoc_error(d, cJSON_GetObjectItem(g, "baseline"), field, "'%s': %s",
				  baseline, why);
	if (suite && tag) {
		snprintf(field, sizeof(field), "gates[%d]", idx);
		return jdoc_error(d, g, field, "give either suite or tag, not both");
	}
	gate->has_max_new_failures = !!cJSON_GetObjectItemCaseSensitive(g, "max_new_failures");
	gate->has_alpha = !!cJSON_GetObjectItemCaseSensitive(g, "alpha");
	v = 0;
	if (jdoc_number(d, g, prefix, "max_new_failures", 0, 0, 1e9, &v))
		return -1;
	snprintf(field, sizeof(field), "%smax_new_failures", prefix);
	if (v != floor(v))
		return jdoc_error(d, cJSON_GetObjectItem(g, "max_new_failures"), field,
				  "expected a whole number");
	gate->max_new_failures = (long)v;
	if (jdoc_number(d, g, prefix, "alpha", 0, 0, 1, &gate->alpha))
		return -1;
	snprintf(field, sizeof(field), "%salpha", prefix);
	if (gate->has_alpha && !(gate->alpha > 0 && gate->alpha < 1))
		return jdoc_error(d, cJSON_GetObjectItem(g, "alpha"), field,
				  "expected a significance level between 0 and 1, such as 0.05");
	if (!gate->has_max_new_failures && !gate->has_alpha) {
		snprintf(field, sizeof(field), "gates[%d]", idx);
		return jdoc_error(d, g, field, "a regression gate needs max_new_failures or alpha");
	}
	gate->metric = METRIC_REGRESSION;
	gate->metric_name = xstrdup("regression");
	gate->suite = suite ? xstrdup(suite) : NULL;
	gate->tag = tag ? xstrdup(tag) : NULL;
	gate->baseline = xstrdup(baseline);
	gate->line = jdoc_line(d, g);
	if (name) {
		gate->name = xstrdup(name);
	} else {
		struct strbuf sb = STRBUF_INIT;
		strbuf_addstr(&sb, "regression");
		if (suite)
			strbuf_addf(&sb, " [suite %s]", suite);
		if (tag)
			strbuf_addf(&sb, " [tag %s]", tag);
		gate->name = strbuf_detach(&sb, NULL);
	}
	return 0;
}

/*
 * drift: the limits come from the suite's history, so min and max make no
 * sense; a suite is required (the history is per suite name)
 */
static int load_drift(struct jdoc *d, const cJSON *g, int idx, struct eg_gate *gate)
{
	const char *scorer = NULL;
	double window = 7;
	char field[64];

	snprintf(field, sizeof(field), "gates[%d].", idx);
	if (jdoc_number(d, g, field, "window", 0, 3, 50, &window) ||
	    jdoc_string(d, g, field, "scorer", 0, &scorer))
		return -1;
	snprintf(field, sizeof(field), "gates[%d]", idx);
	if (window != floor(window))
		return jdoc_error(d, cJSON_GetObjectItem(g, "window"), field,
				  "window: expected a whole number of runs");
	if (!gate->suite)
		return jdoc_error(d, g, field, "a drift gate needs a suite (its history is per suite)");
	if (gate->has_min || gate->has_max)
		return jdoc_error(d, g, field,
				  "a drift gate takes no min or max: its lower limit comes from the "
				  "suite's previous runs");
	if (scorer && !*scorer)
		return jdoc_error(d, cJSON_GetObjectItem(g, "scorer"), field,
				  "scorer: must not be empty");
	gate->window = (int)window;
	gate->scorer = scorer ? xstrdup(scorer) : NULL;
	return 0;
}

static int load_gate(struct jdoc *d, const cJSON *g, int idx, struct eg_gate *gate)
{
	const char *name = NULL, *suite = NULL, *tag = NULL, *metric = NULL;
	const struct metric_def *m;
	char field[64];

	snprintf(field, sizeof(field), "gates[%d].", idx);
	if (!cJSON_IsObject(g))
		return jdoc_error(d, g, "gates", "gate %d: expected an object", idx);
	if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(g, "metric")) &&
	    !strcmp(cJSON_GetObjectItemCaseSensitive(g, "metric")->valuestring, "regression"))
		return load_regression_gate(d, g, idx, gate);
	if (jdoc_check_keys(d, g, field, gate_keys) ||
	    jdoc_string(d, g, field, "name", 0, &name) ||
	    jdoc_string(d, g, field, "suite", 0, &suite) ||
	    jdoc_string(d, g, field, "tag", 0, &tag) ||
	    jdoc_string(d, g, field, "metric", 1, &metric))
		return -1;
	m = metric_find(metric);
	if (!m || (m->metric == METRIC_SCORE && !metric[strlen(m->name)])) {
		snprintf(field, sizeof(field), "gates[%d].metric", idx);
		if (m)
			return jdoc_error(d, cJSON_GetObjectItem(g, "metric"), field,
					  "score. needs a scorer name, e.g. score.judge");
		return unknown_metric(d, cJSON_GetObjectItem(g, "metric"), field, metric);
	}
	if (suite && tag) {
		snprintf(field, sizeof(field), "gates[%d]", idx);
		return jdoc_error(d, g, field, "give either suite or tag, not both");
	}
	gate->metric = m->metric;
	gate->metric_name = xstrdup(metric);
	gate->scorer = m->metric == METRIC_SCORE ? xstrdup(metric + strlen(m->name)) : NULL;
	gate->suite = suite ? xstrdup(suite) : NULL;
	gate->tag = tag ? xstrdup(tag) : NULL;
	gate->line = jdoc_line(d, g);
	gate->has_min = !!cJSON_GetObjectItemCaseSensitive(g, "min");
	gate->has_max = !!cJSON_GetObjectItemCaseSensitive(g, "max");
	if (load_stat(d, g, idx, m, gate) ||
	    jdoc_number(d, g, field, "min", 0, 0, m->hi, &gate->min) ||
	    jdoc_number(d, g, field, "max", 0, 0, m->hi, &gate->max))
		return -1;
	snprintf(field, sizeof(field), "gates[%d]", idx);
	if (gate->metric == METRIC_DRIFT) {
		if (load_drift(d, g, idx, gate))
			return -1;
	} else if (cJSON_GetObjectItemCaseSensitive(g, "window") ||
		   cJSON_GetObjectItemCaseSensitive(g, "scorer")) {
		return jdoc_error(d, g, field, "window and scorer belong to drift gates");
	} else if (!gate->has_min && !gate->has_max) {
		return jdoc_error(d, g, field, "a gate needs min or max");
	}
	if (gate->has_min && gate->has_max && gate->min > gate->max)
		return jdoc_error(d, g, field, "min %g is greater than max %g", gate->min,
				  gate->max);
	if (name) {
		gate->name = xstrdup(name);
	} else {
		struct strbuf sb = STRBUF_INIT;
		if (gate->stat != STAT_NONE)
			strbuf_addf(&sb, "%s ", stat_names[gate->stat]);
		strbuf_addstr(&sb, metric);
		if (suite)
			strbuf_addf(&sb, " [suite %s]", suite);
		if (tag)
			strbuf_addf(&sb, " [tag %s]", tag);
		gate->name = strbuf_detach(&sb, NULL);
	}
	return 0;
}

static int load_prices(struct jdoc *d, const cJSON *p, struct eg_config *cfg)
{
	const cJSON *c;
	char prefix[160];

	if (!p)
		return 0;
	if (!cJSON_IsObject(p))
		return jdoc_error(d, p, "prices", "expected an object of models");
	cfg->prices = xcalloc((size_t)cJSON_GetArraySize(p) + 1, sizeof(*cfg->prices));
	cJSON_ArrayForEach(c, p) {
		struct eg_price *pr = &cfg->prices[cfg->n_prices];

		snprintf(prefix, sizeof(prefix), "prices.%.120s.", c->string);
		if (!*c->string)
			return jdoc_error(d, c, "prices", "a model name must not be empty");
		if (!cJSON_IsObject(c))
			return jdoc_error(d, c, "prices", "'%s': expected {\"input_per_mtok\": X, "
					  "\"output_per_mtok\": Y}", c->string);
		if (jdoc_check_keys(d, c, prefix, price_keys) ||
		    jdoc_number(d, c, prefix, "input_per_mtok", 1, 0, 1e6, &pr->input_per_mtok) ||
		    jdoc_number(d, c, prefix, "output_per_mtok", 1, 0, 1e6, &pr->output_per_mtok))
			return -1;
		pr->model = xstrdup(c->string);
		cfg->n_prices++;
	}
	return 0;
}

/* a cost_usd gate needs the target model's price */
static int check_cost_gates(struct jdoc *d, const struct eg_config *cfg)
{
	const cJSON *gates = cJSON_GetObjectItemCaseSensitive(d->root, "gates");
	const cJSON *prices = cJSON_GetObjectItemCaseSensitive(d->root, "prices");
	size_t i;

	for (i = 0; i < cfg->n_gates; i++) {
		if (cfg->gates[i].metric != METRIC_COST_USD ||
		    config_price(cfg, cfg->target.model))
			continue;
		if (!cfg->target.model)
			return jdoc_error(d, cJSON_GetArrayItem(gates, (int)i), "target.model",
					  "gate '%s' prices the answers by the target's model: "
					  "name it", cfg->gates[i].name);
		return jdoc_error(d, prices ? prices : cJSON_GetArrayItem(gates, (int)i), "prices",
				  "no price for model '%s' (target.model), which gate '%s' needs",
				  cfg->target.model, cfg->gates[i].name);
	}
	return 0;
}

const struct eg_price *config_price(const struct eg_config *cfg, const char *model)
{
	size_t i;

	if (!model)
		return NULL;
	for (i = 0; i < cfg->n_prices; i++)
		if (!strcmp(cfg->prices[i].model, model))
			return &cfg->prices[i];
	return NULL;
}

double config_cost(const struct eg_config *cfg, const char *model, long prompt_tokens,
		   long completion_tokens)
{
	const struct eg_price *p = config_price(cfg, model);

	if (!p || prompt_tokens < 0 || completion_tokens < 0)
		return NAN;
	return ((double)prompt_tokens * p->input_per_mtok +
		(double)completion_tokens * p->output_per_mtok) / 1e6;
}

/* "all", "majority" or {"min_pass": K} */
static int load_repeat_policy(struct jdoc *d, const cJSON *v, struct eg_repeat_policy *p)
{
	static const char *const keys[] = { "min_pass", NULL };
	double k = 0;

	if (!v)
		return 0;
	p->line = jdoc_line(d, v);
	if (cJSON_IsString(v) && !strcmp(v->valuestring, "all")) {
		p->kind = REPEAT_ALL;
		return 0;
	}
	if (cJSON_IsString(v) && !strcmp(v->valuestring, "majority")) {
		p->kind = REPEAT_MAJORITY;
		return 0;
	}
	if (!cJSON_IsObject(v))
		return jdoc_error(d, v, "repeat_policy",
				  "expected \"all\", \"majority\" or {\"min_pass\": K}");
	if (jdoc_check_keys(d, v, "repeat_policy.", keys) ||
	    jdoc_number(d, v, "repeat_policy.", "min_pass", 1, 1, 1000, &k))
		return -1;
	if (k != floor(k))
		return jdoc_error(d, cJSON_GetObjectItem(v, "min_pass"), "repeat_policy.min_pass",
				  "expected a whole number");
	p->kind = REPEAT_MIN_PASS;
	p->min_pass = (int)k;
	return 0;
}

void repeat_policy_format(const struct eg_repeat_policy *p, char *buf, size_t size)
{
	switch (p->kind) {
	case REPEAT_MAJORITY:
		snprintf(buf, size, "majority");
		break;
	case REPEAT_MIN_PASS:
		snprintf(buf, size, "min_pass:%d", p->min_pass);
		break;
	default:
		snprintf(buf, size, "all");
		break;
	}
}

int repeat_policy_check(const struct eg_config *cfg, int repeats)
{
	const struct eg_repeat_policy *p = &cfg->repeat_policy;

	if (p->kind != REPEAT_MIN_PASS || p->min_pass <= repeats)
		return 0;
	return error_at(cfg->path, p->line, "repeat_policy.min_pass",
			"%d is more than the %d repeat%s of this run (run --repeat N)",
			p->min_pass, repeats, repeats == 1 ? "" : "s");
}

int promotion_alias_ok(const char *alias)
{
	const char *p;

	if (!*alias || strlen(alias) > 255 || !strcmp(alias, "latest"))
		return 0;
	for (p = alias; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
			return 0;
	if ((alias[0] == 'v' || alias[0] == 'V') && alias[1]) {
		for (p = alias + 1; isdigit((unsigned char)*p); p++)
			;
		if (!*p)
			return 0;
	}
	return 1;
}

const struct eg_promotion *config_promotion(const struct eg_config *cfg, const char *alias)
{
	size_t i;

	for (i = 0; i < cfg->n_promotions; i++)
		if (!strcmp(cfg->promotions[i].alias, alias))
			return &cfg->promotions[i];
	return NULL;
}

/* "promotion": {"ALIAS": {"require_suites": [...], "max_age_days": N}} and "registry" */
static int load_registry(struct jdoc *d, struct eg_config *cfg)
{
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(d->root, "promotion");
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(d->root, "registry");
	const cJSON *a;
	char prefix[300];

	if (r && !cJSON_IsString(r))
		return jdoc_error(d, r, "registry", "expected a string");
	if (r && strncmp(r->valuestring, "sqlite:", 7) &&
	    strncmp(r->valuestring, "mlflow+http://", 14) &&
	    strncmp(r->valuestring, "mlflow+https://", 15))
		return jdoc_error(d, r, "registry", "'%s': expected sqlite:PATH, mlflow+http://HOST "
				  "or mlflow+https://HOST", r->valuestring);
	if (r)
		cfg->registry = xstrdup(r->valuestring);
	if (!p)
		return 0;
	if (!cJSON_IsObject(p))
		return jdoc_error(d, p, "promotion", "expected an object of aliases");
	cfg->promotions = xcalloc((size_t)cJSON_GetArraySize(p) + 1, sizeof(*cfg->promotions));
	cJSON_ArrayForEach(a, p) {
		struct eg_promotion *pr = &cfg->promotions[cfg->n_promotions];
		const char **suites;
		size_t i, n;

		snprintf(prefix, sizeof(prefix), "promotion.%.200s.", a->string);
		if (!promotion_alias_ok(a->string))
			return jdoc_error(d, a, "promotion", "'%s' is not an alias name (letters, "
					  "digits, _ and -; not 'latest' nor v<digits>)", a->string);
		if (!cJSON_IsObject(a))
			return jdoc_error(d, a, "promotion", "%s: expected an object", a->string);
		pr->max_age_days = -1;
		if (jdoc_check_keys(d, a, prefix, promotion_keys) ||
		    jdoc_number(d, a, prefix, "max_age_days", 0, 0, 36500, &pr->max_age_days) ||
		    jdoc_string_array(d, a, prefix, "require_suites", &suites, &n))
			return -1;
		pr->alias = xstrdup(a->string);
		pr->line = jdoc_line(d, a);
		pr->require_suites = xcalloc(n + 1, sizeof(char *));
		for (i = 0; i < n; i++)
			pr->require_suites[i] = xstrdup(suites[i]);
		pr->n_require_suites = n;
		free(suites);
		cfg->n_promotions++;
	}
	return 0;
}

static void config_defaults(struct eg_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->gateway.timeout_s = 60;
	cfg->gateway.max_retries = 5;
	cfg->gateway.concurrency = 32;
	cfg->gateway.max_error_rate = 0.05;
	cfg->gateway.max_response_bytes = 16u << 20;
	cfg->judge.samples = 1;
}

int config_load(struct eg_config *cfg, const char *path)
{
	struct strbuf text = STRBUF_INIT;
	struct jdoc d = { 0 };
	const cJSON *v, *c;
	int ret = -1;
	char *canon;

	config_defaults(cfg);
	cfg->path = xstrdup(path);
	if (read_file(path, &text, 16u << 20))
		goto out;
	if (jdoc_parse(&d, path, 1, text.buf, text.len))
		goto out;
	if (!cJSON_IsObject(d.root)) {
		jdoc_error(&d, d.root, NULL, "expected a JSON object");
		goto out;
	}
	if (jdoc_check_keys(&d, d.root, "", top_keys) ||
	    load_gateway(&d, cJSON_GetObjectItemCaseSensitive(d.root, "gateway"), &cfg->gateway) ||
	    load_target(&d, cJSON_GetObjectItemCaseSensitive(d.root, "target"), &cfg->target) ||
	    load_judge(&d, cJSON_GetObjectItemCaseSensitive(d.root, "judge"), &cfg->judge) ||
	    load_repeat_policy(&d, cJSON_GetObjectItemCaseSensitive(d.root, "repeat_policy"),
			       &cfg->repeat_policy))
		goto out;
	{
		const char **suites;
		size_t i, n;
		if (jdoc_string_array(&d, d.root, "", "suites", &suites, &n))
			goto out;
		cfg->suites = xcalloc(n + 1, sizeof(char *));
		for (i = 0; i < n; i++)
			cfg->suites[i] = xstrdup(suites[i]);
		cfg->n_suites = n;
		free(suites);
	}
	v = cJSON_GetObjectItemCaseSensitive(d.root, "gates");
	if (v) {
		int i = 0;
		if (!cJSON_IsArray(v)) {
			jdoc_error(&d, v, "gates", "expected an array");
			goto out;
		}
		cfg->gates = xcalloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(*cfg->gates));
		cJSON_ArrayForEach(c, v) {
			if (load_gate(&d, c, i, &cfg->gates[i])) {
				cfg->n_gates = (size_t)i + 1;
				goto out;
			}
			cfg->n_gates = (size_t)++i;
		}
	}
	if (load_prices(&d, cJSON_GetObjectItemCaseSensitive(d.root, "prices"), cfg) ||
	    check_cost_gates(&d, cfg) || load_registry(&d, cfg))
		goto out;
	canon = json_canonical(d.root);
	sha256_hex(canon, strlen(canon), cfg->hash);
	free(canon);
	cfg->root = d.root;
	d.root = NULL;
	cfg->text = strbuf_detach(&text, &cfg->text_len);
	ret = 0;
out:
	jdoc_release(&d);
	strbuf_release(&text);
	if (ret)
		config_release(cfg);
	return ret;
}

void config_jdoc(const struct eg_config *cfg, struct jdoc *d)
{
	memset(d, 0, sizeof(*d));
	d->file = cfg->path;
	d->line_base = 1;
	d->text = cfg->text ? cfg->text : "";
	d->len = cfg->text_len;
	d->root = cfg->root;
}

int config_load_optional(struct eg_config *cfg, const char *path, int given)
{
	struct stat st;

	if (!given && stat(path, &st) && errno == ENOENT) {
		memset(cfg, 0, sizeof(*cfg));
		return 0;
	}
	return config_load(cfg, path) ? -1 : 1;
}

void config_release(struct eg_config *cfg)
{
	size_t i;

	free(cfg->path);
	free(cfg->gateway.base_url);
	free(cfg->gateway.api_key_env);
	for (i = 0; i < cfg->gateway.n_headers; i++) {
		free(cfg->gateway.headers[i].name);
		free(cfg->gateway.headers[i].value);
	}
	free(cfg->gateway.headers);
	free(cfg->target.type);
	free(cfg->target.name);
	free(cfg->target.version);
	free(cfg->target.model);
	free(cfg->target.system);
	cJSON_Delete(cfg->target.params);
	free(cfg->judge.model);
	cJSON_Delete(cfg->judge.params);
	for (i = 0; i < cfg->n_suites; i++)
		free(cfg->suites[i]);
	free(cfg->suites);
	for (i = 0; i < cfg->n_gates; i++) {
		free(cfg->gates[i].name);
		free(cfg->gates[i].metric_name);
		free(cfg->gates[i].suite);
		free(cfg->gates[i].tag);
		free(cfg->gates[i].scorer);
		free(cfg->gates[i].baseline);
	}
	free(cfg->gates);
	for (i = 0; i < cfg->n_prices; i++)
		free(cfg->prices[i].model);
	free(cfg->prices);
	for (i = 0; i < cfg->n_promotions; i++) {
		size_t k;

		for (k = 0; k < cfg->promotions[i].n_require_suites; k++)
			free(cfg->promotions[i].require_suites[k]);
		free(cfg->promotions[i].require_suites);
		free(cfg->promotions[i].alias);
	}
	free(cfg->promotions);
	free(cfg->registry);
	cJSON_Delete(cfg->root);
	free(cfg->text);
	memset(cfg, 0, sizeof(*cfg));
}
