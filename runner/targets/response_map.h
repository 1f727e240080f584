/*
 * response_map: how the http target reads its application's reply (SPEC 11):
 * each field of a struct target_reply taken from the JSON reply by a JSON
 * Pointer (jsonptr.h, "*" maps over an array).
 *
 *   output       required; a string, or any other value as compact JSON;
 *                with "*" the values are joined with nothing between them
 *   context      passages: strings (an array of strings counts as its
 *                elements)
 *   context_ids  the passages' ids: strings or numbers, like context
 *   tool_calls   any JSON, kept as JSON text ("*": an array of the values)
 *   usage        an object with prompt_tokens/completion_tokens or
 *                input_tokens/output_tokens (a count it lacks is unknown)
 *   model        a string
 *   metadata     any JSON, kept as JSON text ("*": an array of the values)
 *   trajectory   the application's own agent steps (agent.h,
 *                agent_trajectory_normalize), scored like the agent loop's
 *
 * A pointer that does not resolve, and a value of the wrong type, make the
 * reply unusable (TARGET_REPLY_FAIL) with a message naming the field and
 * the pointer; JSON null counts as absent for every field but output. A
 * reply that is not JSON is TARGET_REPLY_RETRY: it may be a cut or a proxy's
 * page, so it is retried like an unreadable chat reply.
 *
 * Ownership: response_map_set fills a zeroed struct response_map that
 * response_map_release frees.
 */
#ifndef EG_RESPONSE_MAP_H
#define EG_RESPONSE_MAP_H

#include <stddef.h>

#include "jsonptr.h"
#include "target.h"

enum response_field {
	RESP_OUTPUT,
	RESP_CONTEXT,
	RESP_CONTEXT_IDS,
	RESP_TOOL_CALLS,
	RESP_USAGE,
	RESP_MODEL,
	RESP_METADATA,
	RESP_TRAJECTORY,
	N_RESP_FIELDS,
};

struct response_map {
	struct jptr ptr[N_RESP_FIELDS];
	unsigned char set[N_RESP_FIELDS]; /* 1 when the field is mapped */
};

/* "output", "context", ...; NULL past the end */
const char *response_field_name(enum response_field f);
/* map field to pointer; -1 with err for an unknown field or a malformed pointer */
int response_map_set(struct response_map *m, const char *field, const char *pointer,
		     struct strbuf *err);
/* read a reply body (len bytes, not NUL-terminated) into out (filled only when OK) */
enum target_parse response_map_apply(const struct response_map *m, const char *body, size_t len,
				     struct target_reply *out, struct strbuf *why);
/*
 * the same on a reply already parsed from text (len bytes; root is only
 * read, and members may have been added after the parsed ones): strings
 * are read from text with their NULs (json_string_bytes); a NULL text reads
 * the tree's own strings
 */
enum target_parse response_map_apply_tree(const struct response_map *m, const cJSON *root,
					  const char *text, size_t len, struct target_reply *out,
					  struct strbuf *why);
void response_map_release(struct response_map *m);

#endif
