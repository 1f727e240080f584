#include "trajectory.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "escape.h"
#include "jsonutil.h"
#include "strbuf.h"
#include "banned.h"

#define TRAJ_QUOTE_MAX 200 /* bytes of one content, argument or result shown */

static void add_member(struct strbuf *sb, const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (cJSON_IsString(v))
		esc_visible(sb, v->valuestring, strlen(v->valuestring), TRAJ_QUOTE_MAX);
}

int trajectory_text_stored(struct strbuf *sb, const char *target_reply)
{
	cJSON *root = target_reply ? cJSON_Parse(target_reply) : NULL;
	int n = trajectory_text(sb, cJSON_GetObjectItemCaseSensitive(root, "trajectory"));

	cJSON_Delete(root);
	return n;
}

int trajectory_text(struct strbuf *sb, const cJSON *traj)
{
	const cJSON *st, *c;
	int n = 0;

	cJSON_ArrayForEach(st, traj) {
		const cJSON *num = cJSON_GetObjectItemCaseSensitive(st, "step");
		const cJSON *content = cJSON_GetObjectItemCaseSensitive(st, "content");

		const cJSON *turn = cJSON_GetObjectItemCaseSensitive(st, "turn");

		/* a conversation's turn opens with the user's message */
		if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(st, "user"))) {
			strbuf_addf(sb, "turn %d user: ", cJSON_IsNumber(turn) ? turn->valueint : 0);
			add_member(sb, st, "user");
			strbuf_addch(sb, '\n');
		}
		strbuf_addf(sb, "step %d", cJSON_IsNumber(num) ? num->valueint : n + 1);
		if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(st, "finish_reason"))) {
			strbuf_addstr(sb, " (");
			add_member(sb, st, "finish_reason");
			strbuf_addch(sb, ')');
		}
		if (cJSON_GetObjectItemCaseSensitive(st, "stopped"))
			strbuf_addstr(sb, " stopped at max_steps");
		if (cJSON_IsString(content) && *content->valuestring) {
			strbuf_addstr(sb, ": ");
			add_member(sb, st, "content");
		}
		strbuf_addch(sb, '\n');
		cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(st, "tool_calls")) {
			strbuf_addstr(sb, "  call ");
			add_member(sb, c, "name");
			strbuf_addch(sb, '(');
			add_member(sb, c, "arguments");
			strbuf_addch(sb, ')');
			if (cJSON_GetObjectItemCaseSensitive(c, "error"))
				strbuf_addstr(sb, " [arguments are not JSON]");
			if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "undeclared")))
				strbuf_addstr(sb, " [undeclared tool]");
			if (cJSON_GetObjectItemCaseSensitive(c, "result")) {
				strbuf_addstr(sb, " -> ");
				add_member(sb, c, "result");
			} else if (cJSON_GetObjectItemCaseSensitive(c, "result_error")) {
				strbuf_addstr(sb, " -> no result: ");
				add_member(sb, c, "result_error");
			}
			strbuf_addch(sb, '\n');
		}
		n++;
	}
	return n;
}

int trajectory_calls_stored(struct strbuf *sb, const char *target_reply)
{
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
			} else if (cJSON_IsString(text)) {
				strbuf_addstr(sb, text->valuestring);
			}
			strbuf_addch(sb, ')');
		}
	}
	cJSON_Delete(root);
	return n;
}
