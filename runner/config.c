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
#include "path.h"
#include "sha256.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

static const char *const top_keys[] = { "gateway", "target", "judge", "suites", "gates",
					"promotion", "registry", "prices", "repeat_policy", "variants", "budget",
					NULL };
static const char *const gateway_keys[] = { "base_url", "api_key_env", "headers", "timeout_s",
					    "max_retries", "concurrency", "rps",
					    "scorer_concurrency", "rpm", "tpm",
					    "max_error_rate", "max_response_bytes", "http_client",
					    NULL };
/* a chat target's fields; other types check their own (runner/targets/) */
static const char *const target_keys[] = { "type", "name", "version", "model", "params", "system",
					   "prompt", "stream", "tools", "tool_choice", "max_steps", NULL };
static const char *const judge_keys[] = { "model", "params", "samples", "require_calibration",
					   "min_kappa", NULL };
static const char *const price_keys[] = { "input_per_mtok", "output_per_mtok", NULL };
static const char *const budget_keys[] = { "max_cost_usd", "max_tokens", NULL };
static const char *const promotion_keys[] = { "require_suites", "max_age_days", NULL };

static int env_name_ok(const char *s)
{
	if (!*s || isdigit((unsigned char)*s))
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

/* a ":-" default within the n bytes of a ${...} */
static int has_default(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i++)
		if (s[i] == ':' && s[i + 1] == '-')
			return 1;
	return 0;
}

/* the first ${NAME} of s that has no default and whose variable is unset or empty */
static int unset_var(const char *s, char *name, size_t size)
{
	const char *end, *val;
	size_t n;

	for (; (s = strstr(s, "${")); s = end + 1) {
		end = strchr(s + 2, '}');
		if (!end)
			return 0; /* config_expand_env reports it */
		n = (size_t)(end - (s + 2));
		if (has_default(s + 2, n) || !n || n >= size)
			continue;
		memcpy(name, s + 2, n);
		name[n] = '\0';
		val = getenv(name);
		if (env_name_ok(name) && (!val || !*val))
			return 1;
	}
	return 0;
}

int config_gateway_ready(const struct eg_config *cfg)
{
	if (cfg->gateway.unresolved)
		return error("%s", cfg->gateway.unresolved);
	return 0;
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

/* scorer_concurrency, rpm and tpm (the adaptive rate limits, SPEC 4) */
static int load_rate_limits(struct jdoc *d, const cJSON *g, struct eg_gateway_cfg *gw)
{
	double v = gw->scorer_concurrency;

	if (jdoc_number(d, g, "gateway.", "scorer_concurrency", 0, 1, 4096, &v))
		return -1;
	if (v != floor(v))
		return jdoc_error(d, cJSON_GetObjectItem(g, "scorer_concurrency"),
				  "gateway.scorer_concurrency", "expected a whole number");
	gw->scorer_concurrency = (int)v;
	if (jdoc_number(d, g, "gateway.", "rpm", 0, 0, 1e8, &gw->rpm))
		return -1;
	return jdoc_number(d, g, "gateway.", "tpm", 0, 0, 1e12, &gw->tpm);
}

static int load_gateway(struct jdoc *d, const cJSON *g, struct eg_gateway_cfg *gw)
{
	const char *s = NULL;
	char *url, name[128];
	const cJSON *h, *c;
	double v;
	size_t len, at;

	if (!cJSON_IsObject(g))
		return jdoc_error(d, g ? g : d->root, "gateway", g ? "expected an object" : "missing");
	if (jdoc_check_keys(d, g, "gateway.", gateway_keys))
		return -1;
	if (jdoc_string(d, g, "gateway.", "base_url", 1, &s))
		return -1;
	if (unset_var(s, name, sizeof(name))) {
		/* only the commands that call the gateway need it (config_gateway_ready) */
		struct strbuf why = STRBUF_INIT;

		strbuf_addf(&why, "%s:%d: gateway.base_url: environment variable %s is not set",
			    d->file, jdoc_line(d, cJSON_GetObjectItem(g, "base_url")), name);
		gw->unresolved = strbuf_detach(&why, NULL);
		goto options;
	}
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
	for (at = 0; at < len; at++)
		if ((unsigned char)url[at] <= ' ' || url[at] == 0x7f)
			break;
	if (at < len || !url[url[4] == 's' ? 8 : 7] || url[url[4] == 's' ? 8 : 7] == '/') {
		jdoc_error(d, cJSON_GetObjectItem(g, "base_url"), "gateway.base_url",
			   at < len ? "a URL has no spaces or control characters (byte %zu, after "
				     "${VAR} expansion)"
				   : "expected a host after the scheme (e.g. http://127.0.0.1:4000/v1)",
			   at + 1);
		free(url);
		return -1;
	}
	while (len && url[len - 1] == '/')
		len--;
	url[len] = '\0';
	gw->base_url = url;
options:
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
	if (load_rate_limits(d, g, gw))
		return -1;
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
	s = NULL;
	if (jdoc_string(d, g, "gateway.", "http_client", 0, &s))
		return -1;
	if (s && strcmp(s, "builtin") && strcmp(s, "libcurl"))
		return jdoc_error(d, cJSON_GetObjectItem(g, "http_client"), "gateway.http_client",
				  "expected \"builtin\" or \"libcurl\", not '%s'", s);
	gw->http_libcurl = s && !strcmp(s, "libcurl");
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
	    jdoc_number(d, j, "judge.", "samples", 0, 1, 25, &samples) ||
	    jdoc_bool(d, j, "judge.", "require_calibration", &jc->require_calibration) ||
	    jdoc_number(d, j, "judge.", "min_kappa", 0, -1, 1, &jc->min_kappa))
		return -1;
	jc->has_min_kappa = cJSON_GetObjectItemCaseSensitive(j, "min_kappa") != NULL;
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

/* "budget": {"max_cost_usd": X, "max_tokens": N}, both optional */
static int load_budget(struct jdoc *d, const cJSON *b, struct eg_budget *bu)
{
	double tokens = 0;

	if (!b)
		return 0;
	if (!cJSON_IsObject(b))
		return jdoc_error(d, b, "budget", "expected an object");
	if (jdoc_check_keys(d, b, "budget.", budget_keys) ||
	    jdoc_number(d, b, "budget.", "max_cost_usd", 0, 0, 1e9, &bu->max_cost_usd) ||
	    jdoc_number(d, b, "budget.", "max_tokens", 0, 0, 1e15, &tokens))
		return -1;
	if (tokens != floor(tokens))
		return jdoc_error(d, cJSON_GetObjectItem(b, "max_tokens"), "budget.max_tokens",
				  "expected a whole number");
	bu->max_tokens = (long)tokens;
	return 0;
}

/*
 * "gates": an array of objects, kept raw; the gates layer parses each entry
 * (gates/gate.h), so the config links with nothing but util
 */
static int load_gates(struct jdoc *d, struct eg_config *cfg)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(d->root, "gates"), *c;
	int i = 0;

	if (!v)
		return 0;
	if (!cJSON_IsArray(v))
		return jdoc_error(d, v, "gates", "expected an array");
	cJSON_ArrayForEach(c, v) {
		if (!cJSON_IsObject(c))
			return jdoc_error(d, c, "gates", "gate %d: expected an object", i);
		i++;
	}
	cfg->gates = v;
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

void config_jdoc(const struct eg_config *cfg, struct jdoc *d)
{
	memset(d, 0, sizeof(*d));
	d->file = cfg->path;
	d->line_base = 1;
	d->text = cfg->text;
	d->len = cfg->text_len;
	d->root = cfg->root;
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
/* url with a relative sqlite: path resolved against the config's directory, malloc'd */
static char *registry_url(const char *cfg_path, const char *url)
{
	struct strbuf sb = STRBUF_INIT;
	char *dir, *path;

	if (strncmp(url, "sqlite:", 7) || url[7] == '/' || !url[7])
		return xstrdup(url);
	dir = path_dir(cfg_path);
	path = path_resolve(dir, url + 7);
	strbuf_addf(&sb, "sqlite:%s", path);
	free(path);
	free(dir);
	return strbuf_detach(&sb, NULL);
}

/* the suite directories, each given once (setup checks they exist) */
static int load_suites(struct jdoc *d, struct eg_config *cfg)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(d->root, "suites");
	const char **suites;
	char field[32];
	size_t i, k, n;
	int ret = -1;

	if (jdoc_string_array(d, d->root, "", "suites", &suites, &n))
		return -1;
	for (i = 0; i < n; i++) {
		const cJSON *node = cJSON_GetArrayItem(arr, (int)i);

		snprintf(field, sizeof(field), "suites[%zu]", i);
		if (!*suites[i]) {
			jdoc_error(d, node, field, "an empty path (give a suite directory)");
			goto out;
		}
		for (k = 0; k < i && strcmp(suites[k], suites[i]); k++)
			;
		if (k < i) {
			jdoc_error(d, node, field, "'%s' is listed twice (also suites[%zu])", suites[i],
				   k);
			goto out;
		}
	}
	cfg->suites = xcalloc(n + 1, sizeof(char *));
	for (i = 0; i < n; i++)
		cfg->suites[i] = xstrdup(suites[i]);
	cfg->n_suites = n;
	ret = 0;
out:
	free(suites);
	return ret;
}

static int load_registry(struct jdoc *d, struct eg_config *cfg)
{
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(d->root, "promotion");
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(d->root, "registry");
	const cJSON *a;
	char prefix[300];

	if (r && !cJSON_IsString(r))
		return jdoc_error(d, r, "registry", "expected a string");
	if (r && !strcmp(r->valuestring, "sqlite:"))
		return jdoc_error(d, r, "registry", "sqlite: needs a path, e.g. "
				  "sqlite:.evalgate/registry.db");
	if (r && strncmp(r->valuestring, "sqlite:", 7) &&
	    strncmp(r->valuestring, "mlflow+http://", 14) &&
	    strncmp(r->valuestring, "mlflow+https://", 15))
		return jdoc_error(d, r, "registry", "'%s': expected sqlite:PATH, mlflow+http://HOST "
				  "or mlflow+https://HOST", r->valuestring);
	cfg->registry = registry_url(cfg->path, r ? r->valuestring : CONFIG_REGISTRY_DEFAULT);
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
	int ret;

	if (read_file(path, &text, 16u << 20)) {
		config_defaults(cfg);
		config_release(cfg);
		strbuf_release(&text);
		return -1;
	}
	ret = config_load_text(cfg, path, text.buf, text.len);
	strbuf_release(&text);
	return ret;
}

int config_load_text(struct eg_config *cfg, const char *path, const char *src, size_t len)
{
	struct strbuf text = STRBUF_INIT;
	struct jdoc d = { 0 };
	int ret = -1;
	char *canon;

	config_defaults(cfg);
	cfg->path = xstrdup(path);
	strbuf_add(&text, src, len);
	if (jdoc_parse(&d, path, 1, text.buf, text.len))
		goto out;
	if (!cJSON_IsObject(d.root)) {
		jdoc_error(&d, d.root, NULL, "expected a JSON object");
		goto out;
	}
	if (jdoc_check_controls(&d, d.root) || jdoc_check_keys(&d, d.root, "", top_keys) ||
	    load_gateway(&d, cJSON_GetObjectItemCaseSensitive(d.root, "gateway"), &cfg->gateway) ||
	    load_target(&d, cJSON_GetObjectItemCaseSensitive(d.root, "target"), &cfg->target) ||
	    load_judge(&d, cJSON_GetObjectItemCaseSensitive(d.root, "judge"), &cfg->judge) ||
	    load_repeat_policy(&d, cJSON_GetObjectItemCaseSensitive(d.root, "repeat_policy"),
			       &cfg->repeat_policy) ||
	    load_budget(&d, cJSON_GetObjectItemCaseSensitive(d.root, "budget"), &cfg->budget))
		goto out;
	if (load_suites(&d, cfg))
		goto out;
	if (load_gates(&d, cfg) ||
	    load_prices(&d, cJSON_GetObjectItemCaseSensitive(d.root, "prices"), cfg) ||
	    load_registry(&d, cfg))
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
	free(cfg->gateway.unresolved);
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
