#include "trajectory.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "escape.h"
#include "jsonutil.h"
#include "jsonw.h"
#include "strbuf.h"
#include "banned.h"

#define TRAJ_QUOTE_MAX 200 /* bytes of one content, argument or result shown */

/* where the trajectory's strings are read from: the JSON text its tree was parsed from */
struct traj_src {
	const char *text; /* NULL: the strings as cJSON holds them */
	size_t len;
	const cJSON *root;
	struct strbuf tmp; /* a string's bytes */
};

/* the bytes of obj's string member key in src->tmp; 0 when it is not a string */
static int member_bytes(struct traj_src *src, const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	strbuf_reset(&src->tmp);
	if (!cJSON_IsString(v))
		return 0;
	if (src->text)
		json_string_bytes(&src->tmp, src->text, src->len, src->root, v);
	else
		strbuf_addstr(&src->tmp, v->valuestring);
	return 1;
}

static void add_member(struct strbuf *sb, struct traj_src *src, const cJSON *obj, const char *key)
{
	if (member_bytes(src, obj, key))
		esc_visible(sb, src->tmp.buf, src->tmp.len, TRAJ_QUOTE_MAX);
}

static int traj_text(struct strbuf *sb, struct traj_src *src, const cJSON *traj)
{
	const cJSON *st, *c;
	int n = 0;

	cJSON_ArrayForEach(st, traj) {
		const cJSON *num = cJSON_GetObjectItemCaseSensitive(st, "step");
		const cJSON *turn = cJSON_GetObjectItemCaseSensitive(st, "turn");

		/* a conversation's turn opens with the user's message */
		if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(st, "user"))) {
			strbuf_addf(sb, "turn %d user: ", cJSON_IsNumber(turn) ? turn->valueint : 0);
			add_member(sb, src, st, "user");
			strbuf_addch(sb, '\n');
		}
		strbuf_addf(sb, "step %d", cJSON_IsNumber(num) ? num->valueint : n + 1);
		if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(st, "finish_reason"))) {
			strbuf_addstr(sb, " (");
			add_member(sb, src, st, "finish_reason");
			strbuf_addch(sb, ')');
		}
		if (cJSON_GetObjectItemCaseSensitive(st, "stopped"))
			strbuf_addstr(sb, " stopped at max_steps");
		/* a content that starts with a NUL is not empty */
		if (member_bytes(src, st, "content") && src->tmp.len) {
			strbuf_addstr(sb, ": ");
			esc_visible(sb, src->tmp.buf, src->tmp.len, TRAJ_QUOTE_MAX);
		}
		strbuf_addch(sb, '\n');
		cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(st, "tool_calls")) {
			strbuf_addstr(sb, "  call ");
			add_member(sb, src, c, "name");
			strbuf_addch(sb, '(');
			add_member(sb, src, c, "arguments");
			strbuf_addch(sb, ')');
			if (cJSON_GetObjectItemCaseSensitive(c, "error"))
				strbuf_addstr(sb, " [arguments are not JSON]");
			if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "undeclared")))
				strbuf_addstr(sb, " [undeclared tool]");
			if (cJSON_GetObjectItemCaseSensitive(c, "result")) {
				strbuf_addstr(sb, " -> ");
				add_member(sb, src, c, "result");
			} else if (cJSON_GetObjectItemCaseSensitive(c, "result_error")) {
				strbuf_addstr(sb, " -> no result: ");
				add_member(sb, src, c, "result_error");
			}
			strbuf_addch(sb, '\n');
		}
		n++;
	}
	return n;
}

int trajectory_text_bytes(struct strbuf *sb, const char *text, size_t len, const cJSON *root,
			  const cJSON *traj)
{
	struct traj_src src = { text, len, root, STRBUF_INIT };
	int n = traj_text(sb, &src, traj);

	strbuf_release(&src.tmp);
	return n;
}

int trajectory_text(struct strbuf *sb, const cJSON *traj)
{
	return trajectory_text_bytes(sb, NULL, 0, NULL, traj);
}

int trajectory_text_stored(struct strbuf *sb, const char *target_reply)
{
	size_t len = target_reply ? strlen(target_reply) : 0;
	cJSON *root = target_reply ? cJSON_Parse(target_reply) : NULL;
	int n = trajectory_text_bytes(sb, target_reply, len, root,
				      cJSON_GetObjectItemCaseSensitive(root, "trajectory"));

	cJSON_Delete(root);
	return n;
}

/* a step's tool_calls, the k-th "result" over the trajectory from results[k] */
static void print_calls(struct jsonw *w, const cJSON *calls, const struct strbuf *results,
			size_t n_results, size_t *k)
{
	const cJSON *c, *m;

	jsonw_array_begin(w);
	cJSON_ArrayForEach(c, calls) {
		if (!cJSON_IsObject(c)) {
			jsonw_cjson(w, c);
			continue;
		}
		jsonw_object_begin(w);
		cJSON_ArrayForEach(m, c) {
			jsonw_key(w, m->string ? m->string : "");
			if (m->string && !strcmp(m->string, "result") && cJSON_IsString(m) &&
			    *k < n_results) {
				jsonw_strn(w, results[*k].buf, results[*k].len);
				(*k)++;
			} else {
				jsonw_cjson(w, m);
			}
		}
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
}

char *trajectory_print(const cJSON *traj, const struct strbuf *contents, size_t n,
		       const struct strbuf *results, size_t n_results)
{
	struct strbuf sb = STRBUF_INIT;
	struct jsonw w;
	const cJSON *st, *m;
	size_t i = 0, k = 0;

	jsonw_init(&w, &sb, 0);
	jsonw_array_begin(&w);
	cJSON_ArrayForEach(st, traj) {
		if (!cJSON_IsObject(st) || i >= n) {
			jsonw_cjson(&w, st);
			i++;
			continue;
		}
		jsonw_object_begin(&w);
		cJSON_ArrayForEach(m, st) {
			jsonw_key(&w, m->string ? m->string : "");
			if (m->string && !strcmp(m->string, "content") && cJSON_IsString(m))
				jsonw_strn(&w, contents[i].buf, contents[i].len);
			else if (results && m->string && !strcmp(m->string, "tool_calls") &&
				 cJSON_IsArray(m))
				print_calls(&w, m, results, n_results, &k);
			else
				jsonw_cjson(&w, m);
		}
		jsonw_object_end(&w);
		i++;
	}
	jsonw_array_end(&w);
	return strbuf_detach(&sb, NULL);
}

int trajectory_calls_stored(struct strbuf *sb, const char *target_reply)
{
	size_t len = target_reply ? strlen(target_reply) : 0;
	cJSON *root = target_reply ? cJSON_Parse(target_reply) : NULL;
	const cJSON *traj = cJSON_GetObjectItemCaseSensitive(root, "trajectory"), *st, *c;
	int n = 0;

	if (!cJSON_IsArray(traj)) {
		cJSON_Delete(root);
		return -1;
	}
	cJSON_ArrayForEach(st, traj) {
		cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(st, "tool_calls")) {
			const cJSON *name = cJSON_GetObjectItemCaseSensitive(c, "name");
			const cJSON *args = cJSON_GetObjectItemCaseSensitive(c, "args");
			const cJSON *text = cJSON_GetObjectItemCaseSensitive(c, "arguments");

			if (n++)
				strbuf_addstr(sb, ", ");
			strbuf_addstr(sb, cJSON_IsString(name) ? name->valuestring : "?");
			strbuf_addch(sb, '(');
			if (args) {
				char *canon = json_canonical(args);

				strbuf_addstr(sb, canon);
				free(canon);
			} else {
				json_string_bytes(sb, target_reply, len, root, text);
			}
			strbuf_addch(sb, ')');
		}
	}
	cJSON_Delete(root);
	return n;
}
