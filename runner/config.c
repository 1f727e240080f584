#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "jsonutil.h"
#include "sha256.h"
#include "suite.h"
#include "xalloc.h"
#include "banned.h"

static const char *const top_keys[] = { "gateway", "target", "judge", "suites", "gates",
					"promotion", "registry", "prices", NULL };
static const char *const gateway_keys[] = { "base_url", "api_key_env", "headers", "timeout_s",
					    "max_retries", "concurrency", "rps",
					    "max_error_rate", "max_response_bytes", NULL };
static const char *const target_keys[] = { "name", "version", "model", "params", "system", NULL };
static const char *const judge_keys[] = { "model", "params", "samples", NULL };
static const char *const gate_keys[] = { "name", "suite", "tag", "metric", "min", "max",
					 "window", "scorer", NULL };

static const struct {
	const char *name;
	enum gate_metric metric;
} metrics[] = {
	{ "pass_rate", METRIC_PASS_RATE },
	{ "error_rate", METRIC_ERROR_RATE },
	{ "attack_success_rate", METRIC_ATTACK_SUCCESS_RATE },
	{ "judge_error_rate", METRIC_JUDGE_ERROR_RATE },
	{ "drift", METRIC_DRIFT },
};

static int env_name_ok(const char *s)
{
	if (!*s || isdigit((unsigned char)*s))
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

/*
 * Expand ${NAME} and ${NAME:-default} from the environment. Returns a
 * malloc'd string, or NULL after reporting (unset variable without default,
 * or a malformed reference). Expanded values are never printed.
 */
static char *expand_env(struct jdoc *d, const cJSON *node, const char *field, const char *s)
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
		if (val && *val)
			strbuf_addstr(&sb, val);
		else if (colon)
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

static int header_ok(const char *name, const char *value)
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
	url = expand_env(d, cJSON_GetObjectItem(g, "base_url"), "gateway.base_url", s);
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
			if (!cJSON_IsString(c) || !header_ok(c->string, c->valuestring))
				return jdoc_error(d, c, "gateway.headers",
						  "'%s': expected a header name and a one-line string value",
						  c->string);
			if (!strcasecmp(c->string, "authorization"))
				return jdoc_error(d, c, "gateway.headers",
						  "set the key with api_key_env, not an Authorization header");
			gw->headers[i].value = expand_env(d, c, "gateway.headers", c->valuestring);
			if (!gw->headers[i].value)
				return -1;
			gw->headers[i].name = xstrdup(c->string);
			gw->n_headers = ++i;
			if (!header_ok(c->string, gw->headers[i - 1].value))
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

static int load_target(struct jdoc *d, const cJSON *t, struct eg_target *tg)
{
	const char *name = NULL, *version = NULL, *model = NULL, *system = NULL;
	const cJSON *p;

	if (!cJSON_IsObject(t))
		return jdoc_error(d, t ? t : d->root, "target", t ? "expected an object" : "missing");
	if (jdoc_check_keys(d, t, "target.", target_keys) ||
	    jdoc_string(d, t, "target.", "name", 1, &name) ||
	    jdoc_string(d, t, "target.", "version", 1, &version) ||
	    jdoc_string(d, t, "target.", "model", 1, &model) ||
	    jdoc_string(d, t, "target.", "system", 0, &system))
		return -1;
	if (!*name || !*model)
		return jdoc_error(d, t, *name ? "target.model" : "target.name", "must not be empty");
	tg->name = xstrdup(name);
	tg->version = xstrdup(version);
	tg->model = xstrdup(model);
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
	char field[64];
	size_t i;

	snprintf(field, sizeof(field), "gates[%d].", idx);
	if (!cJSON_IsObject(g))
		return jdoc_error(d, g, "gates", "gate %d: expected an object", idx);
	if (jdoc_check_keys(d, g, field, gate_keys) ||
	    jdoc_string(d, g, field, "name", 0, &name) ||
	    jdoc_string(d, g, field, "suite", 0, &suite) ||
	    jdoc_string(d, g, field, "tag", 0, &tag) ||
	    jdoc_string(d, g, field, "metric", 1, &metric))
		return -1;
	for (i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++)
		if (!strcmp(metrics[i].name, metric))
			break;
	if (i == sizeof(metrics) / sizeof(metrics[0])) {
		snprintf(field, sizeof(field), "gates[%d].metric", idx);
		return jdoc_error(d, cJSON_GetObjectItem(g, "metric"), field,
				  "unknown metric '%s' (known: pass_rate, error_rate, "
				  "attack_success_rate, judge_error_rate, drift)", metric);
	}
	if (suite && tag) {
		snprintf(field, sizeof(field), "gates[%d]", idx);
		return jdoc_error(d, g, field, "give either suite or tag, not both");
	}
	gate->metric = metrics[i].metric;
	gate->metric_name = xstrdup(metric);
	gate->suite = suite ? xstrdup(suite) : NULL;
	gate->tag = tag ? xstrdup(tag) : NULL;
	gate->line = jdoc_line(d, g);
	gate->has_min = !!cJSON_GetObjectItemCaseSensitive(g, "min");
	gate->has_max = !!cJSON_GetObjectItemCaseSensitive(g, "max");
	if (jdoc_number(d, g, field, "min", 0, 0, 1, &gate->min) ||
	    jdoc_number(d, g, field, "max", 0, 0, 1, &gate->max))
		return -1;
	if (gate->metric == METRIC_DRIFT) {
		if (load_drift(d, g, idx, gate))
			return -1;
	} else if (cJSON_GetObjectItemCaseSensitive(g, "window") ||
		   cJSON_GetObjectItemCaseSensitive(g, "scorer")) {
		snprintf(field, sizeof(field), "gates[%d]", idx);
		return jdoc_error(d, g, field, "window and scorer belong to drift gates");
	} else if (!gate->has_min && !gate->has_max) {
		snprintf(field, sizeof(field), "gates[%d]", idx);
		return jdoc_error(d, g, field, "a gate needs min or max");
	}
	if (name) {
		gate->name = xstrdup(name);
	} else {
		struct strbuf sb = STRBUF_INIT;
		strbuf_addstr(&sb, metric);
		if (suite)
			strbuf_addf(&sb, " [suite %s]", suite);
		if (tag)
			strbuf_addf(&sb, " [tag %s]", tag);
		gate->name = strbuf_detach(&sb, NULL);
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
	    load_judge(&d, cJSON_GetObjectItemCaseSensitive(d.root, "judge"), &cfg->judge))
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
	v = cJSON_GetObjectItemCaseSensitive(d.root, "registry");
	if (v && !cJSON_IsString(v)) {
		jdoc_error(&d, v, "registry", "expected a string");
		goto out;
	}
	canon = json_canonical(d.root);
	sha256_hex(canon, strlen(canon), cfg->hash);
	free(canon);
	cfg->root = d.root;
	d.root = NULL;
	ret = 0;
out:
	jdoc_release(&d);
	strbuf_release(&text);
	if (ret)
		config_release(cfg);
	return ret;
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
	}
	free(cfg->gates);
	cJSON_Delete(cfg->root);
	memset(cfg, 0, sizeof(*cfg));
}
