/*
 * judge: LLM-as-judge, and the helpers every model-graded scorer shares
 * (prompt templates and their renderer, reply parsers, request bodies).
 *
 * {"type": "judge", "rubric": "The answer must state the 30-day window.",
 *  "threshold": 0.7, "samples": 3, "model": "gpt-4o", "params": {"temperature": 0.7}}
 *
 *   rubric     required: what a good answer does
 *   threshold  optional, in [0,1]: the mean score must reach it as well
 *   samples    optional, 1-25 (default judge.samples of the config, else 1):
 *              the judge is asked that many times (sample index 0..n-1, so
 *              that each is its own request and its own cache entry)
 *   model      optional: the judge model (default judge.model of the config)
 *   params     optional object: request parameters over judge.params
 *
 * The judge sees the rubric, the case's question (its input, or its messages
 * as "role: content" lines), its reference answer ("expected") and its
 * context passages when it has them, and the answer, each between tags,
 * rendered from scorers/prompts/judge.txt; it replies with a JSON verdict
 * {"reason", "score", "pass"} read by judge_parse_verdict() (see judge.h for
 * what is accepted). A reply that cannot be read is asked again once with
 * scorers/prompts/judge_strict.txt; a second unreadable reply, or a call that
 * failed, makes the result an error (never a pass) with the raw replies in
 * the detail.
 *
 * Aggregation over n samples: pass when more than half of the verdicts pass
 * (a tie fails) and, with a threshold, the mean score is at least the
 * threshold; the score is the mean. When any sample has no verdict the result
 * is an error: a partial vote is not a verdict.
 *
 * The result's detail is JSON: {"judge_model", "judge_key" (what judge
 * calibrations are stored under), "prompt" (the rendered user
 * message), "strict_prompt" (when a retry was asked), "samples": [{"raw",
 * "pass", "score", "reason", "error", "attempts"}], "votes", "mean",
 * "threshold", "spread": {"min", "max", "stddev"}}.
 */
#include "judge.h"
#include "trajectory.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "jsonutil.h"
#include "jsonw.h"
#include "scorer.h"
#include "sha256.h"
#include "strbuf.h"
#include "case.h"
#include "types.h"
#include "utf8.h"
#include "xalloc.h"
#include "banned.h"

/* longest part of a judge's text quoted in a one-line reason */
#define REASON_QUOTE_MAX 240
#define SAMPLES_MAX 25

/* ---- reply parsing ---- */

static int has_key(const cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key) != NULL;
}

/*
 * Find the one JSON value of the wanted shape in a reply. Every '{' and '['
 * is tried as the start of a value; a value that parses is skipped whole, so
 * what sits inside its strings is never looked at. Values of the shape are
 * the candidates: identical repeats count once, two different ones are an
 * error. *saw_array tells whether an array not of the shape was seen.
 * Returns the candidate (the caller deletes it) or NULL.
 */
static cJSON *scan_reply(const char *text, size_t len, int (*want)(const cJSON *),
			 const char *what, struct strbuf *err)
{
	cJSON *found = NULL;
	size_t p = 0, n_diff = 0;
	int saw_array = 0;
	char *buf;

	if (!text)
		len = 0;
	if (len > JUDGE_REPLY_MAX) {
		strbuf_addf(err, "the reply is %zu bytes, more than the %d read", len,
			    JUDGE_REPLY_MAX);
		return NULL;
	}
	/* a private NUL-terminated copy: the parser never reads past it */
	buf = xmalloc(len + 1);
	if (len)
		memcpy(buf, text, len);
	buf[len] = '\0';
	while (p < len) {
		const char *end = NULL;
		cJSON *v;

		if (buf[p] != '{' && buf[p] != '[') {
			p++;
			continue;
		}
		v = cJSON_ParseWithLengthOpts(buf + p, len - p, &end, 0);
		if (!v || !end || end <= buf + p) {
			cJSON_Delete(v);
			p++;
			continue;
		}
		p = (size_t)(end - buf);
		if (!want(v)) {
			if (cJSON_IsArray(v))
				saw_array = 1;
			cJSON_Delete(v);
			continue;
		}
		if (!found) {
			found = v;
			n_diff = 1;
		} else {
			if (!cJSON_Compare(found, v, 1))
				n_diff++;
			cJSON_Delete(v);
		}
	}
	free(buf);

	if (n_diff > 1) {
		strbuf_addf(err, "the reply holds %zu different %s (ambiguous)", n_diff, what);
		cJSON_Delete(found);
		return NULL;
	}
	if (!found) {
		size_t i = 0;
		while (i < len && scorer_isspace((unsigned char)text[i]))
			i++;
		if (i == len)
			strbuf_addstr(err, "the reply is empty");
		else if (saw_array)
			strbuf_addf(err, "no %s in the reply (found a JSON array where an object was asked for)",
				    what);
		else
			strbuf_addf(err, "no %s in the reply", what);
	}
	return found;
}

static int want_verdict(const cJSON *v)
{
	return cJSON_IsObject(v) && (has_key(v, "pass") || has_key(v, "score"));
}

static size_t count_key(const cJSON *obj, const char *key)
{
	const cJSON *c;
	size_t n = 0;

	cJSON_ArrayForEach(c, obj)
		if (c->string && !strcmp(c->string, key))
			n++;
	return n;
}

static int check_verdict(const cJSON *obj, struct judge_verdict *v, struct strbuf *err)
{
	static const char *const keys[] = { "pass", "score", "reason" };
	const cJSON *pass, *score, *reason;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (count_key(obj, keys[i]) > 1) {
			strbuf_addf(err, "the verdict gives \"%s\" more than once", keys[i]);
			return -1;
		}
	pass = cJSON_GetObjectItemCaseSensitive(obj, "pass");
	score = cJSON_GetObjectItemCaseSensitive(obj, "score");
	reason = cJSON_GetObjectItemCaseSensitive(obj, "reason");
	if (!pass) {
		strbuf_addstr(err, "the verdict has no \"pass\"");
		return -1;
	}
	if (!cJSON_IsBool(pass)) {
		strbuf_addf(err, "\"pass\" must be true or false, not %s", json_kind(pass));
		return -1;
	}
	if (!score) {
		strbuf_addstr(err, "the verdict has no \"score\"");
		return -1;
	}
	if (!cJSON_IsNumber(score)) {
		strbuf_addf(err, "\"score\" must be a number, not %s", json_kind(score));
		return -1;
	}
	if (!isfinite(score->valuedouble)) {
		strbuf_addstr(err, "\"score\" is not a finite number");
		return -1;
	}
	if (score->valuedouble < 0 || score->valuedouble > 1) {
		strbuf_addf(err, "\"score\" %g is outside [0, 1]", score->valuedouble);
		return -1;
	}
	if (reason && !cJSON_IsString(reason)) {
		strbuf_addf(err, "\"reason\" must be a string, not %s", json_kind(reason));
		return -1;
	}
	if (cJSON_IsTrue(pass) && score->valuedouble < 0.5) {
		strbuf_addf(err, "contradictory verdict: pass true with score %g < 0.5",
			    score->valuedouble);
		return -1;
	}
	if (cJSON_IsFalse(pass) && score->valuedouble >= 0.5) {
		strbuf_addf(err, "contradictory verdict: pass false with score %g >= 0.5",
			    score->valuedouble);
		return -1;
	}
	v->pass = cJSON_IsTrue(pass);
	v->score = score->valuedouble == 0 ? 0 : score->valuedouble; /* no -0 */
	v->reason = reason && reason->valuestring ? xstrdup(reason->valuestring) : NULL;
	return 0;
}

int judge_parse_verdict(const char *text, size_t len, struct judge_verdict *v,
			struct strbuf *err)
{
	cJSON *obj;
	int rc;

	memset(v, 0, sizeof(*v));
	obj = scan_reply(text, len, want_verdict, "verdict objects", err);
	if (!obj)
		return -1;
	rc = check_verdict(obj, v, err);
	cJSON_Delete(obj);
	return rc;
}

void judge_verdict_release(struct judge_verdict *v)
{
	free(v->reason);
	memset(v, 0, sizeof(*v));
}

static int all_items(const cJSON *arr, cJSON_bool (*is)(const cJSON *))
{
	const cJSON *c;

	cJSON_ArrayForEach(c, arr)
		if (!is(c))
			return 0;
	return 1;
}

static int want_claims(const cJSON *v)
{
	if (cJSON_IsObject(v))
		return has_key(v, "claims");
	return cJSON_IsArray(v) && all_items(v, cJSON_IsString);
}

static int blank(const char *s)
{
	for (; *s; s++)
		if (!scorer_isspace((unsigned char)*s))
			return 0;
	return 1;
}

void judge_claims_free(char **claims, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(claims[i]);
	free(claims);
}

int judge_parse_claims(const char *text, size_t len, char ***claims, size_t *n,
		       struct strbuf *err)
{
	cJSON *root, *arr;
	const cJSON *c;
	char **list = NULL;
	size_t count = 0, alloc = 0, i = 0;
	int ret = -1;

	*claims = NULL;
	*n = 0;
	root = scan_reply(text, len, want_claims, "claim lists", err);
	if (!root)
		return -1;
	arr = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "claims") : root;
	if (cJSON_IsObject(root) && count_key(root, "claims") > 1) {
		strbuf_addstr(err, "the reply gives \"claims\" more than once");
		goto out;
	}
	if (!cJSON_IsArray(arr)) {
		strbuf_addf(err, "\"claims\" must be an array, not %s", json_kind(arr));
		goto out;
	}
	cJSON_ArrayForEach(c, arr) {
		i++;
		if (!cJSON_IsString(c) || !c->valuestring) {
			strbuf_addf(err, "claim %zu must be a string, not %s", i, json_kind(c));
			goto out_free;
		}
		if (blank(c->valuestring))
			continue;
		if (count == JUDGE_CLAIMS_MAX) {
			strbuf_addf(err, "more than %d claims", JUDGE_CLAIMS_MAX);
			goto out_free;
		}
		XGROW(list, count + 1, alloc);
		list[count++] = xstrdup(c->valuestring);
	}
	*claims = list;
	*n = count;
	ret = 0;
	goto out;

out_free:
	judge_claims_free(list, count);
out:
	cJSON_Delete(root);
	return ret;
}

static cJSON_bool is_object(const cJSON *v)
{
	return cJSON_IsObject(v);
}

static int want_verdicts(const cJSON *v)
{
	if (cJSON_IsObject(v))
		return has_key(v, "verdicts");
	return cJSON_IsArray(v) && all_items(v, is_object);
}

/* s with whitespace runs as one space, trimmed, ASCII lower case */
static char *norm_claim(const char *s)
{
	struct strbuf sb = STRBUF_INIT;
	int space = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (scorer_isspace(c)) {
			space = sb.len > 0;
			continue;
		}
		if (space)
			strbuf_addch(&sb, ' ');
		space = 0;
		strbuf_addch(&sb, c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	return strbuf_detach(&sb, NULL);
}

/* 1 supported, 0 not supported, -1 neither */
static int verdict_word(const char *s)
{
	static const char *const no[] = { "not supported", "unsupported", "not_supported" };
	char *w = norm_claim(s);
	int ret = -1;
	size_t i;

	if (!strcmp(w, "supported"))
		ret = 1;
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (!strcmp(w, no[i]))
			ret = 0;
	free(w);
	return ret;
}

void claim_verdicts_release(struct claim_verdict *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].reason);
		v[i].reason = NULL;
		v[i].supported = 0;
	}
}

int judge_parse_claim_verdicts(const char *text, size_t len, char *const *claims, size_t n,
			       struct claim_verdict *out, struct strbuf *err)
{
	cJSON *root;
	const cJSON *arr, *item;
	char **norm = NULL;
	unsigned char *taken = NULL;
	size_t i, k = 0;
	int ret = -1;

	for (i = 0; i < n; i++)
		memset(&out[i], 0, sizeof(out[i]));
	root = scan_reply(text, len, want_verdicts, "verdict lists", err);
	if (!root)
		return -1;
	arr = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "verdicts") : root;
	if (cJSON_IsObject(root) && count_key(root, "verdicts") > 1) {
		strbuf_addstr(err, "the reply gives \"verdicts\" more than once");
		goto out;
	}
	if (!cJSON_IsArray(arr)) {
		strbuf_addf(err, "\"verdicts\" must be an array, not %s", json_kind(arr));
		goto out;
	}
	if ((size_t)cJSON_GetArraySize(arr) != n) {
		strbuf_addf(err, "%d verdicts for %zu claims", cJSON_GetArraySize(arr), n);
		goto out;
	}
	norm = xcalloc(n + 1, sizeof(*norm));
	taken = xcalloc(n + 1, 1);
	for (i = 0; i < n; i++)
		norm[i] = norm_claim(claims[i]);
	cJSON_ArrayForEach(item, arr) {
		const cJSON *claim = cJSON_GetObjectItemCaseSensitive(item, "claim");
		const cJSON *verdict = cJSON_GetObjectItemCaseSensitive(item, "verdict");
		const cJSON *reason = cJSON_GetObjectItemCaseSensitive(item, "reason");
		char *nc;
		int word;

		k++;
		if (!cJSON_IsObject(item)) {
			strbuf_addf(err, "verdict %zu must be an object, not %s", k, json_kind(item));
			goto out_release;
		}
		if (!cJSON_IsString(claim) || !claim->valuestring) {
			strbuf_addf(err, "verdict %zu: \"claim\" must be a string, not %s", k,
				    claim ? json_kind(claim) : "missing");
			goto out_release;
		}
		if (!cJSON_IsString(verdict) || !verdict->valuestring) {
			strbuf_addf(err, "verdict %zu: \"verdict\" must be a string, not %s", k,
				    verdict ? json_kind(verdict) : "missing");
			goto out_release;
		}
		if (reason && !cJSON_IsString(reason)) {
			strbuf_addf(err, "verdict %zu: \"reason\" must be a string, not %s", k,
				    json_kind(reason));
			goto out_release;
		}
		word = verdict_word(verdict->valuestring);
		if (word < 0) {
			strbuf_addf(err, "verdict %zu: \"verdict\" must be \"supported\" or \"not supported\", not \"",
				    k);
			esc_visible(err, verdict->valuestring, strlen(verdict->valuestring), 40);
			strbuf_addch(err, '"');
			goto out_release;
		}
		nc = norm_claim(claim->valuestring);
		for (i = 0; i < n; i++)
			if (!taken[i] && !strcmp(norm[i], nc))
				break;
		free(nc);
		if (i == n) {
			strbuf_addf(err, "verdict %zu names a claim that was not asked about: \"", k);
			esc_visible(err, claim->valuestring, strlen(claim->valuestring), 60);
			strbuf_addch(err, '"');
			goto out_release;
		}
		taken[i] = 1;
		out[i].supported = word;
		out[i].reason = reason && reason->valuestring ? xstrdup(reason->valuestring) : NULL;
	}
	ret = 0;
	goto out_norm;

out_release:
	claim_verdicts_release(out, n);
out_norm:
	for (i = 0; i < n; i++)
		free(norm[i]);
	free(norm);
	free(taken);
out:
	cJSON_Delete(root);
	return ret;
}

/* ---- prompts ---- */

static const char *const delim_tags[] = {
	"rubric", "question", "reference", "context", "passage", "answer", "claims", "claim",
	"trajectory",
};

static int tag_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

int judge_is_delim_tag(const char *name, size_t len)
{
	size_t i, j;

	for (i = 0; i < sizeof(delim_tags) / sizeof(delim_tags[0]); i++) {
		if (strlen(delim_tags[i]) != len)
			continue;
		for (j = 0; j < len; j++) {
			int c = (unsigned char)name[j];
			if (c >= 'A' && c <= 'Z')
				c += 32;
			if (c != delim_tags[i][j])
				break;
		}
		if (j == len)
			return 1;
	}
	return 0;
}

/* does the text after a '<' start a delimiter tag: [ws] [/] [ws] name, then no name char */
static int starts_delim_tag(const char *s, size_t len)
{
	size_t i = 0, b;

	while (i < len && scorer_isspace((unsigned char)s[i]))
		i++;
	if (i < len && s[i] == '/')
		i++;
	while (i < len && scorer_isspace((unsigned char)s[i]))
		i++;
	b = i;
	while (i < len && tag_char((unsigned char)s[i]))
		i++;
	return i > b && judge_is_delim_tag(s + b, i - b);
}

void judge_add_data(struct strbuf *sb, const char *s, size_t len)
{
	size_t i = 0;

	strbuf_grow(sb, len);
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		size_t n;

		if (c == '<' && starts_delim_tag(s + i + 1, len - i - 1)) {
			strbuf_addstr(sb, "&lt;");
			i++;
		} else if (c == 0) {
			strbuf_addstr(sb, "\\x00"); /* shown, never cut (escape.h) */
			i++;
		} else if (c < 0x80) {
			strbuf_addch(sb, c);
			i++;
		} else if ((n = utf8_valid_prefix(s + i, len - i))) {
			strbuf_add(sb, s + i, n);
			i += n;
		} else {
			strbuf_addstr(sb, "\xef\xbf\xbd");
			i++;
		}
	}
}

#define SECTION_DEPTH 8

int judge_render(const char *tmpl, const struct judge_var *vars, size_t n_vars,
		 struct strbuf *out, struct strbuf *err)
{
	struct {
		const char *name;
		size_t len;
		int on;
	} stack[SECTION_DEPTH];
	size_t depth = 0, off = 0;
	const char *p = tmpl;
	int emit = 1;

	while (*p) {
		const char *open = strstr(p, "{{"), *close, *name;
		const struct judge_var *var = NULL;
		size_t len, i;
		int kind = 0;

		if (!open) {
			if (emit)
				strbuf_addstr(out, p);
			break;
		}
		if (emit)
			strbuf_add(out, p, (size_t)(open - p));
		close = strstr(open + 2, "}}");
		if (!close) {
			strbuf_addf(err, "unclosed \"{{\" at byte %zu", (size_t)(open - tmpl));
			return -1;
		}
		name = open + 2;
		if (*name == '#' || *name == '^' || *name == '/')
			kind = *name++;
		len = (size_t)(close - name);
		for (i = 0; i < n_vars; i++)
			if (strlen(vars[i].name) == len && !memcmp(vars[i].name, name, len))
				var = &vars[i];
		if (!var) {
			strbuf_addf(err, "unknown placeholder \"{{%.*s}}\"", (int)(close - open - 2),
				    open + 2);
			return -1;
		}
		switch (kind) {
		case 0:
			if (emit && var->value)
				strbuf_addstr(out, var->value);
			break;
		case '#':
		case '^':
			if (depth == SECTION_DEPTH) {
				strbuf_addstr(err, "sections nested too deep");
				return -1;
			}
			stack[depth].name = name;
			stack[depth].len = len;
			stack[depth].on = kind == '#' ? var->value != NULL : var->value == NULL;
			depth++;
			break;
		default:
			if (!depth || stack[depth - 1].len != len ||
			    memcmp(stack[depth - 1].name, name, len)) {
				strbuf_addf(err, "\"{{/%.*s}}\" closes no open section", (int)len, name);
				return -1;
			}
			depth--;
			break;
		}
		emit = 1;
		for (off = 0; off < depth; off++)
			if (!stack[off].on)
				emit = 0;
		p = close + 2;
		if (kind && *p == '\n')
			p++;
	}
	if (depth) {
		strbuf_addf(err, "section \"{{#%.*s}}\" is not closed", (int)stack[depth - 1].len,
			    stack[depth - 1].name);
		return -1;
	}
	return 0;
}

#define SYSTEM_HEAD "=== system ===\n"
#define USER_HEAD "\n=== user ===\n"

static char *trim_newlines(const char *s, size_t len)
{
	while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		len--;
	return xstrndup(s, len);
}

int judge_template_load(struct judge_template *t, const char *name)
{
	const char *text = scorer_prompt(name), *user;

	memset(t, 0, sizeof(*t));
	if (!text || strncmp(text, SYSTEM_HEAD, strlen(SYSTEM_HEAD)))
		return -1;
	user = strstr(text, USER_HEAD);
	if (!user)
		return -1;
	t->system = trim_newlines(text + strlen(SYSTEM_HEAD),
				  (size_t)(user - text) - strlen(SYSTEM_HEAD));
	t->user = trim_newlines(user + strlen(USER_HEAD), strlen(user + strlen(USER_HEAD)));
	return 0;
}

int judge_template_check(const struct judge_template *t, const char *const *names, size_t n)
{
	struct judge_var vars[16] = { { NULL, NULL } };
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	size_t i;
	int rc;

	if (n > sizeof(vars) / sizeof(vars[0]))
		return -1;
	for (i = 0; i < n; i++)
		vars[i] = (struct judge_var){ names[i], "x" };
	rc = judge_render(t->user, vars, n, &out, &err);
	for (i = 0; i < n; i++)
		vars[i].value = NULL;
	if (!rc)
		rc = judge_render(t->user, vars, n, &out, &err);
	strbuf_release(&out);
	strbuf_release(&err);
	return rc;
}

void judge_template_release(struct judge_template *t)
{
	free(t->system);
	free(t->user);
	memset(t, 0, sizeof(*t));
}

/* ---- shared by the model-graded scorers ---- */

static atomic_flag self_judge_warned = ATOMIC_FLAG_INIT;

int judge_spec_model(const cJSON *spec, const struct eg_loc *loc, const char *type,
		     const char **model)
{
	const struct scorer_env *env = scorer_env();
	const char *m = NULL;

	if (scorer_spec_opt_string(spec, "model", loc, type, &m))
		return -1;
	if (m && !*m)
		return scorer_error(loc, type, "field \"model\" must not be empty");
	if (!m)
		m = env->judge_model;
	if (!m || !*m)
		return scorer_error(loc, type,
				    "no judge model: set \"model\" in the scorer or \"judge.model\" in the config");
	if (env->target_model && !strcmp(env->target_model, m) &&
	    !atomic_flag_test_and_set(&self_judge_warned))
		warning("judge model %s is also the target model: self-preference bias", m);
	*model = m;
	return 0;
}

int judge_spec_params(const cJSON *spec, const struct eg_loc *loc, const char *type,
		      const cJSON **params)
{
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(spec, "params");

	if (!p)
		return 0;
	if (!cJSON_IsObject(p))
		return scorer_error(loc, type, "field \"params\" must be an object, not %s",
				    json_kind(p));
	if (has_key(p, "model") || has_key(p, "messages"))
		return scorer_error(loc, type,
				    "field \"params\" must not set \"model\" or \"messages\"");
	*params = p;
	return 0;
}

static void merge_params(cJSON *body, const cJSON *params)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, params) {
		if (!c->string || !strcmp(c->string, "model") || !strcmp(c->string, "messages"))
			continue;
		cJSON_DeleteItemFromObjectCaseSensitive(body, c->string);
		cJSON_AddItemToObject(body, c->string, cJSON_Duplicate(c, 1));
	}
}

static void add_message(cJSON *msgs, const char *role, const char *content)
{
	cJSON *m = cJSON_CreateObject();

	cJSON_AddStringToObject(m, "role", role);
	cJSON_AddStringToObject(m, "content", content);
	cJSON_AddItemToArray(msgs, m);
}

char *judge_body(const char *model, const cJSON *params, const char *system,
		 const char *user)
{
	cJSON *body = cJSON_CreateObject(), *msgs;
	char *text;

	if (!body)
		die("out of memory building a judge request");
	cJSON_AddStringToObject(body, "model", model);
	msgs = cJSON_AddArrayToObject(body, "messages");
	add_message(msgs, "system", system);
	add_message(msgs, "user", user);
	if (cJSON_IsObject(scorer_env()->judge_params))
		merge_params(body, scorer_env()->judge_params);
	if (params)
		merge_params(body, params);
	text = jsonw_print(body, 0);
	cJSON_Delete(body);
	return text;
}

void judge_add_question(struct strbuf *sb, const struct eg_case *kase)
{
	const cJSON *m;
	int first = 1;

	if (kase->input) {
		judge_add_data(sb, kase->input, strlen(kase->input));
		return;
	}
	cJSON_ArrayForEach(m, kase->messages) {
		const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
		const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
		const char *r = cJSON_IsString(role) && role->valuestring ? role->valuestring : "?";

		if (!first)
			strbuf_addch(sb, '\n');
		first = 0;
		judge_add_data(sb, r, strlen(r));
		strbuf_addstr(sb, ": ");
		if (cJSON_IsString(content) && content->valuestring) {
			judge_add_data(sb, content->valuestring, strlen(content->valuestring));
		} else if (content) {
			char *t = jsonw_print(content, 0);
			judge_add_data(sb, t, strlen(t));
			free(t);
		}
	}
}

void judge_add_context(struct strbuf *sb, const struct eg_case *kase)
{
	size_t i;

	for (i = 0; i < kase->n_context; i++) {
		if (i)
			strbuf_addch(sb, '\n');
		strbuf_addf(sb, "<passage n=\"%zu\">\n", i + 1);
		judge_add_data(sb, kase->context[i], strlen(kase->context[i]));
		strbuf_addstr(sb, "\n</passage>");
	}
}

/* ---- the judge scorer ---- */

struct judge_ctx {
	char *rubric;                  /* neutralised for the prompt */
	const char *model;             /* borrowed from the spec copy or the config */
	cJSON *spec;                   /* a copy of the spec, owning model and params */
	const cJSON *params;           /* the spec's "params", or NULL */
	double threshold;              /* applied to the mean score when has_threshold */
	int has_threshold;
	int samples;                   /* asks per case, >= 1 */
	struct judge_template tmpl;    /* judge.txt */
	struct judge_template strict;  /* judge_strict.txt */
	char key[65];                  /* the judge key (judge_key_of), for calibrations */
};

struct judge_sample {
	struct judge_verdict v;        /* when ok */
	int ok;                        /* v holds a verdict */
	int attempts;                  /* replies received: 0, 1 or 2 */
	int strict;                    /* the strict retry was asked */
	char *raw[2];                  /* first and strict reply, or NULL */
	char *error;                   /* why there is no verdict, or NULL */
};

struct judge_state {
	char *prompt;                  /* rendered user message */
	char *strict_prompt;           /* rendered strict user message, once needed */
	struct judge_sample *s;        /* samples */
	int n;
};

/* the placeholders the judge templates may use */
static const char *const judge_vars[] = { "rubric", "question", "answer", "reference", "context",
					  "trajectory" };
#define N_JUDGE_VARS (sizeof(judge_vars) / sizeof(judge_vars[0]))

static const char *const judge_fields[] = { "rubric", "threshold", "samples", "model", "params",
					    NULL };

static void judge_release(struct scorer *s)
{
	struct judge_ctx *ctx = s->ctx;

	if (!ctx)
		return;
	free(ctx->rubric);
	cJSON_Delete(ctx->spec);
	judge_template_release(&ctx->tmpl);
	judge_template_release(&ctx->strict);
	free(ctx);
	s->ctx = NULL;
}

/*
 * The judge key that calibrations are stored under (SPEC 14): SHA-256 of
 * the judge model, the hash of its prompt templates, the rubric as written
 * and the params (the spec's, else the config's judge.params), each ended
 * by a NUL. Any of them changed is a judge that was never calibrated.
 */
static void judge_key_of(struct judge_ctx *ctx, const char *rubric)
{
	const cJSON *params = ctx->params ? ctx->params : scorer_env()->judge_params;
	char *pj = params ? cJSON_PrintUnformatted(params) : NULL;
	struct sha256 c;
	unsigned char dig[32];
	char th[65];

	sha256_init(&c);
	sha256_update(&c, ctx->tmpl.system, strlen(ctx->tmpl.system) + 1);
	sha256_update(&c, ctx->tmpl.user, strlen(ctx->tmpl.user) + 1);
	sha256_update(&c, ctx->strict.system, strlen(ctx->strict.system) + 1);
	sha256_update(&c, ctx->strict.user, strlen(ctx->strict.user) + 1);
	sha256_final(&c, dig);
	sha256_to_hex(dig, th);
	sha256_init(&c);
	sha256_update(&c, ctx->model ? ctx->model : "", ctx->model ? strlen(ctx->model) + 1 : 1);
	sha256_update(&c, th, sizeof(th));
	sha256_update(&c, rubric, strlen(rubric) + 1);
	sha256_update(&c, pj ? pj : "", pj ? strlen(pj) + 1 : 1);
	sha256_final(&c, dig);
	sha256_to_hex(dig, ctx->key);
	cJSON_free(pj);
}

static int judge_init(struct scorer *s, const cJSON *spec, const struct eg_loc *loc)
{
	const char *rubric = NULL, *model = NULL;
	const cJSON *params = NULL;
	double threshold = -1, samples = scorer_env()->judge_samples;
	int has_threshold = cJSON_GetObjectItemCaseSensitive(spec, "threshold") != NULL;
	struct judge_ctx *ctx;
	struct strbuf sb = STRBUF_INIT;

	if (scorer_spec_string(spec, "rubric", loc, "judge", &rubric) ||
	    scorer_spec_opt_number(spec, "threshold", loc, "judge", &threshold) ||
	    scorer_spec_opt_number(spec, "samples", loc, "judge", &samples))
		return -1;
	if (blank(rubric))
		return scorer_error(loc, "judge", "field \"rubric\" must not be empty");
	if (has_threshold && (threshold < 0 || threshold > 1))
		return scorer_error(loc, "judge", "field \"threshold\" must be between 0 and 1, not %g",
				    threshold);
	if (samples < 1 || samples > SAMPLES_MAX || samples != floor(samples))
		return scorer_error(loc, "judge",
				    "field \"samples\" must be a whole number from 1 to %d, not %g",
				    SAMPLES_MAX, samples);
	if (judge_spec_params(spec, loc, "judge", &params))
		return -1;

	ctx = xcalloc(1, sizeof(*ctx));
	s->ctx = ctx;
	if (judge_template_load(&ctx->tmpl, "judge") ||
	    judge_template_load(&ctx->strict, "judge_strict") ||
	    judge_template_check(&ctx->tmpl, judge_vars, N_JUDGE_VARS) ||
	    judge_template_check(&ctx->strict, judge_vars, N_JUDGE_VARS)) {
		scorer_error(loc, "judge", "prompt templates judge.txt and judge_strict.txt are missing or malformed");
		goto out_release;
	}
	ctx->spec = cJSON_Duplicate(spec, 1);
	if (!ctx->spec)
		die("out of memory copying a scorer spec");
	if (judge_spec_model(ctx->spec, loc, "judge", &model) ||
	    judge_spec_params(ctx->spec, loc, "judge", &ctx->params))
		goto out_release;
	judge_add_data(&sb, rubric, strlen(rubric));
	ctx->rubric = strbuf_detach(&sb, NULL);
	ctx->model = model;
	ctx->threshold = threshold;
	ctx->has_threshold = has_threshold;
	ctx->samples = (int)samples;
	judge_key_of(ctx, rubric);
	return 0;

out_release:
	judge_release(s);
	return -1;
}

static char *judge_render_prompt(const struct judge_ctx *ctx, const struct judge_template *t,
				 const struct score_job *job)
{
	struct strbuf q = STRBUF_INIT, a = STRBUF_INIT, ref = STRBUF_INIT, c = STRBUF_INIT;
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT, tr = STRBUF_INIT, trd = STRBUF_INIT;
	const struct eg_case *k = job->kase;
	struct judge_var vars[6];

	judge_add_question(&q, k);
	if (job->output)
		judge_add_data(&a, job->output, job->output_len);
	if (k->expected)
		judge_add_data(&ref, k->expected, strlen(k->expected));
	judge_add_context(&c, k);
	vars[0] = (struct judge_var){ "rubric", ctx->rubric };
	vars[1] = (struct judge_var){ "question", q.buf };
	vars[2] = (struct judge_var){ "answer", a.buf };
	vars[3] = (struct judge_var){ "reference", k->expected ? ref.buf : NULL };
	vars[4] = (struct judge_var){ "context", k->n_context ? c.buf : NULL };
	/* an agent's steps, so the judge can grade how the answer was reached */
	if (trajectory_text_bytes(&tr, job->trajectory_json,
				  job->trajectory_json ? strlen(job->trajectory_json) : 0,
				  job->trajectory, job->trajectory))
		judge_add_data(&trd, tr.buf, tr.len - 1); /* without the last line's newline */
	vars[5] = (struct judge_var){ "trajectory", tr.len ? trd.buf : NULL };
	if (judge_render(t->user, vars, 6, &out, &err))
		die("prompt template of the judge scorer: %s", err.buf);
	strbuf_release(&tr);
	strbuf_release(&trd);
	strbuf_release(&q);
	strbuf_release(&a);
	strbuf_release(&ref);
	strbuf_release(&c);
	strbuf_release(&err);
	return strbuf_detach(&out, NULL);
}

static void judge_job_release(const struct scorer *s, struct score_job *job)
{
	struct judge_state *st = job->state;
	int i;

	if (!st)
		return;
	for (i = 0; i < st->n; i++) {
		judge_verdict_release(&st->s[i].v);
		free(st->s[i].raw[0]);
		free(st->s[i].raw[1]);
		free(st->s[i].error);
	}
	free(st->s);
	free(st->prompt);
	free(st->strict_prompt);
	free(st);
	job->state = NULL;
}

static char *judge_detail(const struct judge_ctx *ctx, const struct judge_state *st, int votes,
			  int n_ok, double mean, double min, double max, double sd)
{
	struct strbuf d = STRBUF_INIT;
	struct jsonw w;
	int i;

	jsonw_init(&w, &d, 0);
	jsonw_object_begin(&w);
	jsonw_member_str(&w, "judge_model", ctx->model);
	jsonw_member_str(&w, "judge_key", ctx->key);
	jsonw_member_str(&w, "prompt", st->prompt);
	if (st->strict_prompt)
		jsonw_member_str(&w, "strict_prompt", st->strict_prompt);
	jsonw_key(&w, "samples");
	jsonw_array_begin(&w);
	for (i = 0; i < st->n; i++) {
		const struct judge_sample *sm = &st->s[i];

		jsonw_object_begin(&w);
		jsonw_member_str(&w, "raw", sm->raw[sm->attempts > 1 ? 1 : 0]);
		jsonw_key(&w, "pass");
		if (sm->ok)
			jsonw_bool(&w, sm->v.pass);
		else
			jsonw_null(&w);
		jsonw_member_num(&w, "score", sm->ok ? sm->v.score : NAN);
		jsonw_member_str(&w, "reason", sm->ok ? sm->v.reason : NULL);
		jsonw_member_str(&w, "error", sm->error);
		jsonw_member_int(&w, "attempts", sm->attempts);
		if (sm->attempts > 1)
			jsonw_member_str(&w, "first_raw", sm->raw[0]);
		jsonw_object_end(&w);
	}
	jsonw_array_end(&w);
	jsonw_member_int(&w, "votes", votes);
	jsonw_member_num(&w, "mean", n_ok ? mean : NAN);
	jsonw_key(&w, "spread");
	if (n_ok) {
		jsonw_object_begin(&w);
		jsonw_member_num(&w, "min", min);
		jsonw_member_num(&w, "max", max);
		jsonw_member_num(&w, "stddev", sd);
		jsonw_object_end(&w);
	} else {
		jsonw_null(&w);
	}
	jsonw_member_num(&w, "threshold", ctx->has_threshold ? ctx->threshold : NAN);
	jsonw_object_end(&w);
	return strbuf_detach(&d, NULL);
}

static void judge_finish(const struct judge_ctx *ctx, struct judge_state *st,
			 struct score_result *out)
{
	struct strbuf r = STRBUF_INIT;
	double sum = 0, min = 1, max = 0, var = 0, mean = 0, sd = 0;
	int i, votes = 0, n_ok = 0, bad = -1, pass;
	const struct judge_sample *shown = NULL;

	for (i = 0; i < st->n; i++) {
		const struct judge_sample *sm = &st->s[i];
		if (!sm->ok) {
			if (bad < 0)
				bad = i;
			continue;
		}
		n_ok++;
		votes += sm->v.pass;
		sum += sm->v.score;
		if (sm->v.score < min)
			min = sm->v.score;
		if (sm->v.score > max)
			max = sm->v.score;
	}
	if (n_ok) {
		mean = sum / n_ok;
		for (i = 0; i < st->n; i++)
			if (st->s[i].ok)
				var += (st->s[i].v.score - mean) * (st->s[i].v.score - mean);
		sd = sqrt(var / n_ok);
	}
	out->detail = judge_detail(ctx, st, votes, n_ok, mean, min, max, sd);

	if (bad >= 0) {
		const struct judge_sample *sm = &st->s[bad];
		out->error = 1;
		if (st->n > 1)
			strbuf_addf(&r, "judge sample %d of %d: ", bad + 1, st->n);
		strbuf_addstr(&r, sm->error ? sm->error : "no verdict");
		out->reason = strbuf_detach(&r, NULL);
		return;
	}

	pass = 2 * votes > st->n;
	if (ctx->has_threshold && mean < ctx->threshold)
		pass = 0;
	out->pass = pass;
	out->score = mean;
	/* the reason shown is that of the first sample that voted with the majority */
	for (i = 0; i < st->n && !shown; i++)
		if (st->s[i].v.pass == (2 * votes > st->n))
			shown = &st->s[i];
	if (!shown)
		shown = &st->s[0];
	if (st->n == 1)
		strbuf_addf(&r, "score %.2f, judge says %s", mean, votes ? "pass" : "fail");
	else
		strbuf_addf(&r, "%d of %d judges pass, mean score %.2f (min %.2f, max %.2f)", votes,
			    st->n, mean, min, max);
	if (ctx->has_threshold && mean < ctx->threshold)
		strbuf_addf(&r, ", below threshold %.2f", ctx->threshold);
	strbuf_addstr(&r, ": ");
	if (shown->v.reason)
		esc_visible(&r, shown->v.reason, strlen(shown->v.reason), REASON_QUOTE_MAX);
	else
		strbuf_addstr(&r, "no reason given");
	out->reason = strbuf_detach(&r, NULL);
}

/* read one reply into its sample; 1 when the strict retry should be asked */
static int judge_take_reply(struct judge_sample *sm, const struct score_call *c)
{
	struct strbuf err = STRBUF_INIT, why = STRBUF_INIT;
	int slot = sm->strict ? 1 : 0, retry = 0;

	if (c->error || !c->reply) {
		strbuf_addstr(&why, "judge call failed: ");
		esc_visible(&why, c->error ? c->error : "no reply",
			     strlen(c->error ? c->error : "no reply"), REASON_QUOTE_MAX);
		sm->error = strbuf_detach(&why, NULL);
		goto out;
	}
	free(sm->raw[slot]);
	sm->raw[slot] = xstrdup(c->reply);
	sm->attempts = slot + 1;
	if (!judge_parse_verdict(c->reply, strlen(c->reply), &sm->v, &err)) {
		sm->ok = 1;
		free(sm->error);
		sm->error = NULL;
		goto out;
	}
	if (!sm->strict) {
		retry = 1;
		goto out;
	}
	strbuf_addstr(&why, "judge reply unusable after a stricter retry: ");
	strbuf_addstr(&why, err.buf);
	strbuf_addstr(&why, " (reply \"");
	esc_visible(&why, c->reply, strlen(c->reply), SCORER_QUOTE_MAX);
	strbuf_addstr(&why, "\")");
	sm->error = strbuf_detach(&why, NULL);
out:
	strbuf_release(&err);
	strbuf_release(&why);
	return retry;
}

static enum score_status judge_score(const struct scorer *s, struct score_job *job,
				     struct score_result *out)
{
	const struct judge_ctx *ctx = s->ctx;
	struct judge_state *st = job->state;
	size_t answered = job->n_calls, i;
	int *retry, n_retry = 0, k;

	if (job->step == 0 || !st) {
		st = xcalloc(1, sizeof(*st));
		job->state = st;
		st->n = ctx->samples;
		st->s = xcalloc((size_t)st->n, sizeof(*st->s));
		st->prompt = judge_render_prompt(ctx, &ctx->tmpl, job);
		for (k = 0; k < st->n; k++)
			score_job_request_sample(job, judge_body(ctx->model, ctx->params,
								 ctx->tmpl.system, st->prompt), k);
		return SCORE_WAIT;
	}

	retry = xcalloc((size_t)st->n, sizeof(*retry));
	for (i = 0; i < answered; i++) {
		const struct score_call *c = &job->calls[i];
		struct judge_sample *sm;

		if (c->sample < 0 || c->sample >= st->n)
			continue;
		sm = &st->s[c->sample];
		if (sm->ok || sm->error)
			continue;
		if (judge_take_reply(sm, c))
			retry[n_retry++] = c->sample;
	}
	if (n_retry && !st->strict_prompt)
		st->strict_prompt = judge_render_prompt(ctx, &ctx->strict, job);
	for (k = 0; k < n_retry; k++) {
		st->s[retry[k]].strict = 1;
		score_job_request_sample(job, judge_body(ctx->model, ctx->params,
							 ctx->strict.system, st->strict_prompt),
					 retry[k]);
	}
	free(retry);
	if (n_retry)
		return SCORE_WAIT;
	/* a sample neither answered nor failed cannot happen; count it as failed */
	for (k = 0; k < st->n; k++)
		if (!st->s[k].ok && !st->s[k].error)
			st->s[k].error = xstrdup("judge was not asked");
	judge_finish(ctx, st, out);
	return SCORE_DONE;
}

const struct scorer_type scorer_judge = {
	.name = "judge",
	.init = judge_init,
	.score = judge_score,
	.job_release = judge_job_release,
	.release = judge_release,
	.fields = judge_fields,
};
