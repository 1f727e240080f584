/*
 * targets: the one table of target types, and what every type shares:
 * loading the config's target (the common fields, the unknown-field check),
 * requests and replies, and the reply's extras as stored JSON.
 */
#include "target.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "escape.h"
#include "jsonutil.h"
#include "jsonw.h"
#include "strbuf.h"
#include "utf8.h"
#include "xalloc.h"
#include "banned.h"

static const struct target_type *const target_types[] = {
#define TARGET_ROW(n) &target_##n,
	TARGET_TYPES(TARGET_ROW)
#undef TARGET_ROW
};

#define N_TYPES (sizeof(target_types) / sizeof(target_types[0]))

/* fields every target may carry, handled by the config */
static const char *const common_fields[] = { "type", "name", "version", "model", NULL };

const struct target_type *target_type_find(const char *name)
{
	size_t i;

	if (!name)
		return NULL;
	for (i = 0; i < N_TYPES; i++)
		if (!strcmp(target_types[i]->name, name))
			return target_types[i];
	return NULL;
}

static char type_names[256];
static pthread_once_t type_names_once = PTHREAD_ONCE_INIT;

static void type_names_build(void)
{
	size_t i, len = 0;

	for (i = 0; i < N_TYPES; i++) {
		int n = snprintf(type_names + len, sizeof(type_names) - len, "%s%s",
				 i ? ", " : "", target_types[i]->name);
		if (n < 0 || (size_t)n >= sizeof(type_names) - len)
			break;
		len += (size_t)n;
	}
}

const char *target_type_names(void)
{
	pthread_once(&type_names_once, type_names_build);
	return type_names;
}

static int field_known(const char *const *list, const char *key)
{
	for (; list && *list; list++)
		if (!strcmp(*list, key))
			return 1;
	return 0;
}

int target_load(struct target *t, const struct eg_config *cfg)
{
	const char *name = cfg->target.type ? cfg->target.type : "chat";
	const cJSON *obj = cfg->target.obj, *c;
	struct jdoc d;

	memset(t, 0, sizeof(*t));
	t->cfg = cfg;
	config_jdoc(cfg, &d);
	t->type = target_type_find(name);
	if (!t->type)
		return jdoc_error(&d, cJSON_GetObjectItemCaseSensitive(obj, "type"), "target.type",
				  "unknown target type '%s' (known: %s)", name, target_type_names());
	cJSON_ArrayForEach(c, obj) {
		char field[160];

		if (field_known(common_fields, c->string) || field_known(t->type->fields, c->string))
			continue;
		snprintf(field, sizeof(field), "target.%.120s", c->string);
		return jdoc_error(&d, c, field, "unknown field for a %s target", t->type->name);
	}
	if (t->type->parse && t->type->parse(t, &d, obj)) {
		target_release(t);
		return -1;
	}
	return 0;
}

void target_release(struct target *t)
{
	if (t->type && t->type->release)
		t->type->release(t);
	memset(t, 0, sizeof(*t));
}

void target_request_release(struct target_request *rq)
{
	free(rq->url);
	free(rq->body);
	memset(rq, 0, sizeof(*rq));
}

void target_reply_init(struct target_reply *r)
{
	memset(r, 0, sizeof(*r));
	r->prompt_tokens = -1;
	r->completion_tokens = -1;
}

static void free_strv(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void target_reply_release(struct target_reply *r)
{
	free(r->output);
	free(r->finish_reason);
	free(r->model);
	free_strv(r->context, r->n_context);
	free_strv(r->context_ids, r->n_context_ids);
	free(r->tool_calls);
	free(r->metadata);
	free(r->trajectory);
	target_reply_init(r);
}

void target_reply_move(struct target_reply *dst, struct target_reply *src)
{
	target_reply_release(dst);
	*dst = *src;
	target_reply_init(src);
}

void target_add_untrusted(struct strbuf *sb, const char *s, size_t len, size_t max)
{
	while (len && ((unsigned char)s[len - 1] <= ' ' || s[len - 1] == 0x7f))
		len--;
	esc_visible(sb, s, len, max);
}

cJSON *target_reply_json(const char *body, size_t len, struct strbuf *why)
{
	cJSON *root;

	if (!body || !len) {
		strbuf_addstr(why, "empty body");
		return NULL;
	}
	root = cJSON_ParseWithLength(body, len);
	if (!root)
		strbuf_addstr(why, "not JSON (truncated or malformed)");
	return root;
}

long target_token_count(const cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > (double)LONG_MAX / 2)
		return -1;
	return (long)v->valuedouble;
}

/* ------------------------------------------------------------ extras as JSON */

static void add_strv(struct strbuf *sb, const char *key, char *const *v, size_t n, int *first)
{
	size_t i;

	strbuf_addstr(sb, *first ? "{" : ",");
	*first = 0;
	jsonw_add_str(sb, key, strlen(key), 0);
	strbuf_addstr(sb, ":[");
	for (i = 0; i < n; i++) {
		if (i)
			strbuf_addch(sb, ',');
		jsonw_add_str(sb, v[i], strlen(v[i]), 0);
	}
	strbuf_addch(sb, ']');
}

static void add_raw(struct strbuf *sb, const char *key, const char *json, int *first)
{
	strbuf_addstr(sb, *first ? "{" : ",");
	*first = 0;
	jsonw_add_str(sb, key, strlen(key), 0);
	strbuf_addch(sb, ':');
	strbuf_addstr(sb, json);
}

char *target_reply_extra_json(const struct target_reply *r)
{
	struct strbuf sb = STRBUF_INIT;
	int first = 1;

	if (r->context)
		add_strv(&sb, "context", r->context, r->n_context, &first);
	if (r->context_ids)
		add_strv(&sb, "context_ids", r->context_ids, r->n_context_ids, &first);
	if (r->tool_calls)
		add_raw(&sb, "tool_calls", r->tool_calls, &first);
	if (r->model) {
		strbuf_addstr(&sb, first ? "{" : ",");
		first = 0;
		strbuf_addstr(&sb, "\"model\":");
		jsonw_add_str(&sb, r->model, strlen(r->model), 0);
	}
	if (r->metadata)
		add_raw(&sb, "metadata", r->metadata, &first);
	if (r->trajectory)
		add_raw(&sb, "trajectory", r->trajectory, &first);
	if (first)
		return NULL;
	strbuf_addch(&sb, '}');
	return strbuf_detach(&sb, NULL);
}

/* an array of strings into a NULL-terminated vector; -1 when it is not one */
static int load_strv(const cJSON *a, char ***v, size_t *n)
{
	const cJSON *c;
	size_t i = 0;

	if (!cJSON_IsArray(a))
		return -1;
	*v = xcalloc((size_t)cJSON_GetArraySize(a) + 1, sizeof(char *));
	cJSON_ArrayForEach(c, a) {
		if (!cJSON_IsString(c))
			return -1;
		(*v)[i++] = xstrdup(c->valuestring);
		*n = i;
	}
	return 0;
}

int target_reply_extra_load(struct target_reply *r, const char *json)
{
	size_t len = strlen(json);
	cJSON *root = cJSON_Parse(json);
	const cJSON *v;
	int ret = -1;

	/* the members are printed again with their strings' NULs (json_print_bytes) */
	if (!cJSON_IsObject(root))
		goto out;
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "context")) &&
	    load_strv(v, &r->context, &r->n_context))
		goto out;
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "context_ids")) &&
	    load_strv(v, &r->context_ids, &r->n_context_ids))
		goto out;
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "tool_calls")))
		r->tool_calls = json_print_bytes(json, len, root, v);
	if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(root, "model")))
		r->model = xstrdup(v->valuestring);
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "metadata")))
		r->metadata = json_print_bytes(json, len, root, v);
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "trajectory")))
		r->trajectory = json_print_bytes(json, len, root, v);
	ret = 0;
out:
	cJSON_Delete(root);
	return ret;
}
