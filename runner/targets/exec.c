/*
 * exec: the application as long-lived worker processes speaking NDJSON
 * (SPEC 11). The run's worker pool (runner/worker.h) spawns the command,
 * writes one request line per case and matches the replies by id; this
 * file reads the target's config, renders a case's request object and
 * reads a reply line:
 *
 *   request  {"id", "input" | "messages", "vars", "context"}
 *   reply    {"id", "output", "context", "context_ids", "tool_calls",
 *             "usage", "model", "metadata", "error"}
 *
 * A reply with "error" (a string, or an object with "message") is a
 * per-case error with the worker's message; a reply without "output" is one
 * too. The other members are optional and read as the http target's
 * response map reads them.
 *
 * The workers run in the config's directory with the config's env on top
 * of evalgate's environment; env values may come from the environment
 * (${NAME}): such values are secrets, redacted from errors (the workers'
 * stderr included) and never part of the cache key, which hashes the env
 * as written, the command and the contents of the files it names.
 */
#include "target.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "case.h"
#include "command.h"
#include "config.h"
#include "error.h"
#include "escape.h"
#include "jsonutil.h"
#include "jsonw.h"
#include "response_map.h"
#include "sha256.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

#define EXEC_MAX_WORKERS 256
#define EXEC_MSG_MAX 300

static const char *const exec_fields[] = { "command", "workers", "timeout_s", "env", NULL };

struct exec_ctx {
	struct eg_command cmd;
	struct response_map map;     /* every reply member, at the top level */
};

static int env_name_ok(const char *s)
{
	size_t i;

	if (!s || !*s || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

static int parse_env(struct exec_ctx *x, const struct jdoc *d, const cJSON *env,
		     struct strbuf *written)
{
	const cJSON *c;
	size_t n = 0;

	if (!env)
		return 0;
	if (!cJSON_IsObject(env))
		return jdoc_error(d, env, "target.env", "expected an object of strings");
	x->cmd.env = xcalloc((size_t)cJSON_GetArraySize(env) + 1, sizeof(char *));
	cJSON_ArrayForEach(c, env) {
		struct strbuf sb = STRBUF_INIT;
		char *v;

		if (!env_name_ok(c->string) || !cJSON_IsString(c))
			return jdoc_error(d, c, "target.env",
					  "'%s': expected a variable name ([A-Za-z_][A-Za-z0-9_]*) "
					  "and a string value", c->string);
		v = config_expand_env(d, c, "target.env", c->valuestring, &x->cmd.secrets,
				      &x->cmd.n_secrets);
		if (!v)
			return -1;
		strbuf_addf(&sb, "%s=%s", c->string, v);
		explicit_bzero(v, strlen(v));
		free(v);
		x->cmd.env[n++] = strbuf_detach(&sb, NULL);
		strbuf_addf(written, "%s=%s", c->string, c->valuestring);
		strbuf_addch(written, '\0');
	}
	return 0;
}

/* the directory of the config file, or NULL for the current one */
static char *config_dir(const struct eg_config *cfg)
{
	const char *slash = cfg->path ? strrchr(cfg->path, '/') : NULL;

	if (!slash)
		return NULL;
	if (slash == cfg->path)
		return xstrdup("/");
	return xstrndup(cfg->path, (size_t)(slash - cfg->path));
}

static void exec_release(struct target *t)
{
	struct exec_ctx *x = t->ctx;

	if (!x)
		return;
	eg_command_release(&x->cmd);
	response_map_release(&x->map);
	free(x);
	t->ctx = NULL;
}

static int exec_parse(struct target *t, const struct jdoc *d, const cJSON *obj)
{
	struct exec_ctx *x = xcalloc(1, sizeof(*x));
	const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(obj, "command"), *c;
	struct strbuf written = STRBUF_INIT, err = STRBUF_INIT;
	double workers = 1, timeout = 0;
	size_t n = 0, i, f;
	int ret = -1;

	t->ctx = x;
	if (!cJSON_IsArray(cmd) || !cJSON_GetArraySize(cmd)) {
		jdoc_error(d, cmd ? cmd : obj, "target.command",
			   cmd ? "expected a non-empty array of strings (the program and its arguments)"
			       : "missing (an exec target needs command, e.g. [\"python3\", \"worker.py\"])");
		goto out;
	}
	x->cmd.argv = xcalloc((size_t)cJSON_GetArraySize(cmd) + 1, sizeof(char *));
	cJSON_ArrayForEach(c, cmd) {
		if (!cJSON_IsString(c) || (!n && !*c->valuestring)) {
			jdoc_error(d, c, "target.command", "element %zu: expected %s, not %s", n + 1,
				   n ? "a string" : "a program name", json_kind(c));
			goto out;
		}
		x->cmd.argv[n++] = xstrdup(c->valuestring);
	}
	if (jdoc_number(d, obj, "target.", "workers", 0, 1, EXEC_MAX_WORKERS, &workers) ||
	    jdoc_number(d, obj, "target.", "timeout_s", 0, 0.001, 86400, &timeout))
		goto out;
	if (workers != (double)(int)workers) {
		jdoc_error(d, cJSON_GetObjectItem(obj, "workers"), "target.workers",
			   "expected a whole number of processes");
		goto out;
	}
	x->cmd.workers = (int)workers;
	x->cmd.timeout_s = timeout;
	if (parse_env(x, d, cJSON_GetObjectItemCaseSensitive(obj, "env"), &written))
		goto out;
	x->cmd.dir = config_dir(t->cfg);
	/* the key hashes the env as written (no secret): NUL-separated entries */
	{
		size_t k = 0, cnt = 0;
		char **v;

		for (i = 0; i < written.len; i += strlen(written.buf + i) + 1)
			cnt++;
		v = xcalloc(cnt + 1, sizeof(*v));
		for (i = 0; i < written.len; i += strlen(written.buf + i) + 1)
			v[k++] = written.buf + i;
		eg_command_set_key(&x->cmd, v, cnt);
		free(v);
	}
	for (f = 0; f < N_RESP_FIELDS; f++) {
		char ptr[32];

		snprintf(ptr, sizeof(ptr), "/%s", response_field_name((enum response_field)f));
		if (response_map_set(&x->map, response_field_name((enum response_field)f), ptr,
				     &err))
			die("exec: %s", err.buf);
	}
	ret = 0;
out:
	strbuf_release(&written);
	strbuf_release(&err);
	return ret;
}

static int exec_build_request(const struct target *t, const struct target_input *in,
			      struct target_request *out, struct strbuf *err)
{
	struct strbuf sb = STRBUF_INIT;
	struct jsonw w;

	memset(out, 0, sizeof(*out));
	jsonw_init(&w, &sb, 0);
	jsonw_object_begin(&w);
	case_json_members(&w, in->kase);
	if (in->system)
		jsonw_member_str(&w, "system", in->system);
	jsonw_object_end(&w);
	out->method = TARGET_POST;
	out->body = strbuf_detach(&sb, &out->body_len);
	return 0;
}

/* the worker's own error member as a message */
static void worker_error(const cJSON *e, struct strbuf *why)
{
	const cJSON *m = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "message") : e;

	strbuf_addstr(why, "the worker reports an error: ");
	if (cJSON_IsString(m)) {
		target_add_untrusted(why, m->valuestring, strlen(m->valuestring), EXEC_MSG_MAX);
	} else {
		char *text = jsonw_print(e, 0);

		if (text)
			target_add_untrusted(why, text, strlen(text), EXEC_MSG_MAX);
		cJSON_free(text);
	}
}

static enum target_parse exec_parse_reply(const struct target *t, const char *body, size_t len,
					  struct target_reply *out, struct strbuf *why)
{
	const struct exec_ctx *x = t->ctx;
	enum target_parse ret = TARGET_REPLY_FAIL;
	const cJSON *e;
	cJSON *root;
	size_t f;

	root = target_reply_json(body, len, why);
	if (!root)
		return TARGET_REPLY_RETRY;
	if (!cJSON_IsObject(root)) {
		strbuf_addf(why, "the reply is %s, expected an object", json_kind(root));
		goto out;
	}
	e = cJSON_GetObjectItemCaseSensitive(root, "error");
	if (e && !cJSON_IsNull(e) && !cJSON_IsFalse(e)) {
		worker_error(e, why);
		goto out;
	}
	if (!cJSON_GetObjectItemCaseSensitive(root, "output")) {
		strbuf_addstr(why, "the reply has no \"output\" (and no \"error\")");
		goto out;
	}
	/* the other members are optional: absent reads as null, which is absent */
	for (f = 1; f < N_RESP_FIELDS; f++) {
		const char *name = response_field_name((enum response_field)f);

		if (!cJSON_GetObjectItemCaseSensitive(root, name))
			cJSON_AddNullToObject(root, name);
	}
	ret = response_map_apply_tree(&x->map, root, body, len, out, why);
out:
	cJSON_Delete(root);
	return ret;
}

/* the type, the command's key (argv, env as written, its files) and the request */
static void exec_cache_key(const struct target *t, const struct target_request *rq, char out[65])
{
	const struct exec_ctx *x = t->ctx;
	struct sha256 h;
	unsigned char dig[32];

	sha256_init(&h);
	sha256_update(&h, "exec\n", 5);
	sha256_update(&h, x->cmd.key, 64);
	sha256_update(&h, "\n", 1);
	if (rq->body)
		sha256_update(&h, rq->body, rq->body_len);
	sha256_final(&h, dig);
	sha256_to_hex(dig, out);
}

static void exec_describe(const struct target *t, struct strbuf *out)
{
	const struct exec_ctx *x = t->ctx;
	size_t i;

	strbuf_addstr(out, "(exec)");
	for (i = 0; x->cmd.argv[i]; i++) {
		strbuf_addch(out, ' ');
		esc_visible(out, x->cmd.argv[i], strlen(x->cmd.argv[i]), 200);
	}
	strbuf_addf(out, ", %d worker%s", x->cmd.workers > 0 ? x->cmd.workers : 1,
		    x->cmd.workers > 1 ? "s" : "");
}

static const struct eg_command *exec_command(const struct target *t)
{
	const struct exec_ctx *x = t->ctx;

	return &x->cmd;
}

const struct target_type target_exec = {
	.name = "exec",
	.fields = exec_fields,
	.parse = exec_parse,
	.release = exec_release,
	.build_request = exec_build_request,
	.parse_reply = exec_parse_reply,
	.cache_key = exec_cache_key,
	.describe = exec_describe,
	.command = exec_command,
};
