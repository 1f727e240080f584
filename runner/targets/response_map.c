#include "response_map.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "jsonutil.h"
#include "jsonw.h"
#include "strbuf.h"
#include "trajectory.h"
#include "xalloc.h"
#include "banned.h"

static const char *const field_names[N_RESP_FIELDS] = {
	[RESP_OUTPUT] = "output", [RESP_CONTEXT] = "context", [RESP_CONTEXT_IDS] = "context_ids",
	[RESP_TOOL_CALLS] = "tool_calls", [RESP_USAGE] = "usage", [RESP_MODEL] = "model",
	[RESP_METADATA] = "metadata", [RESP_TRAJECTORY] = "trajectory",
};

const char *response_field_name(enum response_field f)
{
	return (unsigned)f < N_RESP_FIELDS ? field_names[f] : NULL;
}

int response_map_set(struct response_map *m, const char *field, const char *pointer,
		     struct strbuf *err)
{
	size_t i;

	for (i = 0; i < N_RESP_FIELDS; i++)
		if (!strcmp(field_names[i], field))
			break;
	if (i == N_RESP_FIELDS) {
		strbuf_addf(err, "unknown field (known: output, context, context_ids, tool_calls, "
			    "usage, model, metadata, trajectory)");
		return -1;
	}
	if (m->set[i])
		jptr_release(&m->ptr[i]);
	m->set[i] = 0;
	if (jptr_parse(&m->ptr[i], pointer, err))
		return -1;
	m->set[i] = 1;
	return 0;
}

void response_map_release(struct response_map *m)
{
	size_t i;

	for (i = 0; i < N_RESP_FIELDS; i++)
		if (m->set[i])
			jptr_release(&m->ptr[i]);
	memset(m, 0, sizeof(*m));
}

/* ------------------------------------------------------------ values */

/* the reply a tree was parsed from: its strings are read as bytes from the text (NULs kept) */
struct reply_src {
	const char *text;            /* or NULL: the tree's own strings */
	size_t len;
	const cJSON *root;
};

static void add_bytes(struct strbuf *sb, const struct reply_src *src, const cJSON *v)
{
	if (src->text)
		json_string_bytes(sb, src->text, src->len, src->root, v);
	else
		strbuf_addstr(sb, v->valuestring);
}

/*
 * the normalized steps of the application's trajectory given, their texts
 * and their calls' results (whose nodes are res) as bytes
 */
static char *trajectory_bytes(const struct reply_src *src, const cJSON *given, const cJSON *steps,
			      const struct agent_results *res)
{
	size_t n = (size_t)cJSON_GetArraySize(steps), i = 0, k;
	struct strbuf *texts = xcalloc(n ? n : 1, sizeof(*texts));
	struct strbuf *results = xcalloc(res->n ? res->n : 1, sizeof(*results));
	const cJSON *st;
	char *out;

	/* a result is a string as is, other JSON as its text (as agent.c's value_text) */
	for (k = 0; k < res->n; k++) {
		strbuf_init(&results[k], 0);
		if (cJSON_IsString(res->nodes[k])) {
			json_string_bytes(&results[k], src->text, src->len, src->root, res->nodes[k]);
		} else {
			char *t = json_print_bytes(src->text, src->len, src->root, res->nodes[k]);

			strbuf_addstr(&results[k], t);
			free(t);
		}
	}

	cJSON_ArrayForEach(st, given) {
		if (i >= n)
			break;
		strbuf_init(&texts[i], 0);
		json_string_bytes(&texts[i++], src->text, src->len, src->root, agent_step_text(st));
	}
	out = trajectory_print(steps, texts, i, results, res->n);
	while (i)
		strbuf_release(&texts[--i]);
	free(texts);
	for (k = 0; k < res->n; k++)
		strbuf_release(&results[k]);
	free(results);
	return out;
}

static void add_json(struct strbuf *sb, const cJSON *v)
{
	char *text = jsonw_print(v, 0);

	strbuf_addstr(sb, text ? text : "null");
	cJSON_free(text);
}

static char *json_text(const cJSON *v)
{
	struct strbuf sb = STRBUF_INIT;

	add_json(&sb, v);
	return strbuf_detach(&sb, NULL);
}

/* several values as one JSON array */
static char *json_array_text(const struct jptr_hits *h)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	strbuf_addch(&sb, '[');
	for (i = 0; i < h->n; i++) {
		if (i)
			strbuf_addch(&sb, ',');
		add_json(&sb, h->v[i]);
	}
	strbuf_addch(&sb, ']');
	return strbuf_detach(&sb, NULL);
}

/* an id as text: a string as is, an integer without a fraction */
static int id_text(const cJSON *v, struct strbuf *sb)
{
	if (cJSON_IsString(v)) {
		strbuf_addstr(sb, v->valuestring);
		return 0;
	}
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
		return -1;
	{
		char buf[JSONW_NUM_MAX];

		strbuf_add(sb, buf, jsonw_format_num(buf, v->valuedouble));
	}
	return 0;
}

/* a passage (a string) or an id (a string or a number) appended to *out; -1 for another value */
static int add_string(const struct reply_src *src, const cJSON *v, int ids, char ***out,
		      size_t *n, size_t *alloc)
{
	struct strbuf sb = STRBUF_INIT;

	if (cJSON_IsString(v)) {
		add_bytes(&sb, src, v);
	} else if (!ids || id_text(v, &sb)) {
		strbuf_release(&sb);
		return -1;
	}
	XGROW(*out, *n + 2, *alloc);
	(*out)[(*n)++] = strbuf_detach(&sb, NULL);
	(*out)[*n] = NULL;
	return 0;
}

/*
 * the strings (ids: or numbers) the pointer reached into *out; an array
 * counts as its elements; a lone null is no value at all
 */
static int take_strings(const struct reply_src *src, const struct jptr *p,
			const struct jptr_hits *h, int ids, char ***out, size_t *n, struct strbuf *why)
{
	const char *want = ids ? "a string or a number" : "a string";
	size_t i, alloc = 1;

	if (h->n == 1 && cJSON_IsNull(h->v[0]))
		return 0;
	*out = xcalloc(1, sizeof(char *));
	for (i = 0; i < h->n; i++) {
		const cJSON *v = h->v[i], *c;
		size_t e = 0;

		if (!cJSON_IsArray(v)) {
			if (!add_string(src, v, ids, out, n, &alloc))
				continue;
			if (p->n_wild)
				strbuf_addf(why, "value %zu is %s, expected %s", i + 1, json_kind(v), want);
			else
				strbuf_addf(why, "the value is %s, expected %s (or an array of them)",
					    json_kind(v), want);
			return -1;
		}
		cJSON_ArrayForEach(c, v) {
			if (add_string(src, c, ids, out, n, &alloc)) {
				if (p->n_wild)
					strbuf_addf(why, "value %zu: ", i + 1);
				strbuf_addf(why, "element %zu is %s, expected %s", e, json_kind(c), want);
				return -1;
			}
			e++;
		}
	}
	return 0;
}

/* a count named a (or b when a is absent) */
static long count_of(const cJSON *usage, const char *a, const char *b)
{
	return target_token_count(usage, cJSON_GetObjectItemCaseSensitive(usage, a) ? a : b);
}

/* one field's hits into r; -1 with why */
static int take(const struct reply_src *src, enum response_field f, const struct jptr *p,
		const struct jptr_hits *h, struct target_reply *r, struct strbuf *why)
{
	const cJSON *v = h->n ? h->v[0] : NULL;
	size_t i;

	switch (f) {
	case RESP_OUTPUT: {
		struct strbuf sb = STRBUF_INIT;

		for (i = 0; i < h->n; i++) {
			if (cJSON_IsNull(h->v[i])) {
				strbuf_release(&sb);
				strbuf_addstr(why, p->n_wild ? "a value is null" : "the value is null");
				return -1;
			}
			if (cJSON_IsString(h->v[i]))
				add_bytes(&sb, src, h->v[i]);
			else
				add_json(&sb, h->v[i]);
		}
		r->output = strbuf_detach(&sb, &r->output_len);
		return 0;
	}
	case RESP_CONTEXT:
		return take_strings(src, p, h, 0, &r->context, &r->n_context, why);
	case RESP_CONTEXT_IDS:
		return take_strings(src, p, h, 1, &r->context_ids, &r->n_context_ids, why);
	case RESP_TOOL_CALLS:
	case RESP_METADATA: {
		char *text;

		if (!p->n_wild && cJSON_IsNull(v))
			return 0;
		text = p->n_wild ? json_array_text(h) : json_text(v);
		if (f == RESP_TOOL_CALLS)
			r->tool_calls = text;
		else
			r->metadata = text;
		return 0;
	}
	case RESP_USAGE:
		if (p->n_wild) {
			strbuf_addstr(why, "usage takes one object, not a * over an array");
			return -1;
		}
		if (cJSON_IsNull(v))
			return 0;
		if (!cJSON_IsObject(v)) {
			strbuf_addf(why, "the value is %s, expected an object with prompt_tokens and "
				    "completion_tokens (or input_tokens and output_tokens)",
				    json_kind(v));
			return -1;
		}
		r->prompt_tokens = count_of(v, "prompt_tokens", "input_tokens");
		r->completion_tokens = count_of(v, "completion_tokens", "output_tokens");
		return 0;
	case RESP_TRAJECTORY: {
		struct agent_results res = { NULL, 0, 0 };
		cJSON *steps;

		if (p->n_wild) {
			strbuf_addstr(why, "trajectory takes one array of steps, not a * over an array");
			return -1;
		}
		if (cJSON_IsNull(v))
			return 0;
		steps = agent_trajectory_normalize(v, why, &res);
		if (!steps) {
			free(res.nodes);
			return -1;
		}
		r->trajectory = src->text && json_text_has_nul(src->text, src->len)
				? trajectory_bytes(src, v, steps, &res) : jsonw_print(steps, 0);
		free(res.nodes);
		cJSON_Delete(steps);
		return 0;
	}
	case RESP_MODEL:
		if (p->n_wild) {
			strbuf_addstr(why, "model takes one string, not a * over an array");
			return -1;
		}
		if (cJSON_IsNull(v))
			return 0;
		if (!cJSON_IsString(v)) {
			strbuf_addf(why, "the value is %s, expected a string", json_kind(v));
			return -1;
		}
		r->model = xstrdup(v->valuestring);
		return 0;
	case N_RESP_FIELDS:
		break;
	}
	return 0;
}

enum target_parse response_map_apply(const struct response_map *m, const char *body, size_t len,
				     struct target_reply *out, struct strbuf *why)
{
	enum target_parse ret;
	cJSON *root;

	root = target_reply_json(body, len, why);
	if (!root)
		return TARGET_REPLY_RETRY;
	ret = response_map_apply_tree(m, root, body, len, out, why);
	cJSON_Delete(root);
	return ret;
}

enum target_parse response_map_apply_tree(const struct response_map *m, const cJSON *root,
					  const char *text, size_t len, struct target_reply *out,
					  struct strbuf *why)
{
	const struct reply_src src = { text, len, root };
	struct target_reply r;
	struct jptr_hits h = { NULL, 0, 0 };
	enum target_parse ret = TARGET_REPLY_FAIL;
	size_t f;

	target_reply_init(&r);
	if (!m->set[RESP_OUTPUT]) {
		strbuf_addstr(why, "response.output is not mapped");
		goto out;
	}
	for (f = 0; f < N_RESP_FIELDS; f++) {
		size_t at = why->len;

		if (!m->set[f])
			continue;
		h.n = 0;
		strbuf_addf(why, "response.%s (%s): ", field_names[f], m->ptr[f].text);
		if (jptr_eval(&m->ptr[f], root, &h, why) || take(&src, (enum response_field)f, &m->ptr[f], &h, &r, why))
			goto out;
		why->len = at;
		why->buf[at] = '\0';
	}
	target_reply_move(out, &r);
	ret = TARGET_REPLY_OK;
out:
	jptr_hits_release(&h);
	target_reply_release(&r);
	return ret;
}
