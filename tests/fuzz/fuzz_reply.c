/*
 * libFuzzer target: a gateway's chat/completions reply body, parsed by
 * gw_parse_reply(). It must never crash or leak, and must leave the request
 * either with a content of output_len bytes (NUL-terminated after them; a
 * \u0000 in the reply is a NUL inside them) or with a one-line error.
 *
 * The answer is bytes: json_string_bytes() must read every string of the
 * body as cJSON does up to cJSON's end, and, when the string holds no NUL,
 * exactly as cJSON does; when the body holds no \u0000 the answer has no NUL.
 *
 * The single pass of chat_parse_reply and the tree read every body alike:
 * when the single pass takes a body, the tree gives the same answer (bytes
 * and length), finish reason and token counts, and no tool calls.
 *
 * Built by -DEG_FUZZ=ON (see README.md here); ./dev.sh fuzz runs it on its
 * seeds in corpus/reply/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "gateway.h"
#include "jsonutil.h"
#include "strbuf.h"
#include "target.h"
#include "xalloc.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* every string of the tree read as bytes agrees with cJSON's reading */
static void check_strings(const char *text, size_t len, const cJSON *root, const cJSON *v)
{
	const cJSON *c;

	if (cJSON_IsString(v)) {
		struct strbuf sb = STRBUF_INIT;
		size_t n = strlen(v->valuestring);

		json_string_bytes(&sb, text, len, root, v);
		if (sb.len < n || memcmp(sb.buf, v->valuestring, n))
			abort();
		if (sb.len > n && (sb.buf[n] != '\0' || !json_text_has_nul(text, len)))
			abort();
		strbuf_release(&sb);
	}
	for (c = v->child; c; c = c->next)
		check_strings(text, len, root, c);
}

static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* what the single pass reads, the tree reads the same */
static void check_readings(const char *body, size_t size)
{
	struct target_reply fast, tree;
	struct strbuf why = STRBUF_INIT;

	target_reply_init(&fast);
	target_reply_init(&tree);
	if (!chat_parse_reply_fast(body, size, &fast)) {
		if (chat_parse_reply_tree(body, size, &tree, &why) != TARGET_REPLY_OK)
			abort();
		if (fast.output_len != tree.output_len ||
		    memcmp(fast.output, tree.output, fast.output_len + 1) ||
		    !same_str(fast.finish_reason, tree.finish_reason) ||
		    fast.prompt_tokens != tree.prompt_tokens ||
		    fast.completion_tokens != tree.completion_tokens ||
		    fast.tool_calls || tree.tool_calls || !same_str(fast.model, tree.model) ||
		    fast.n_context || tree.n_context || fast.metadata || tree.metadata)
			abort();
	}
	target_reply_release(&fast);
	target_reply_release(&tree);
	strbuf_release(&why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_request req;
	/* the gateway hands the parser its own copy of the body, not NUL-terminated */
	char *body = xmalloc(size ? size : 1);
	cJSON *root;
	int rc;

	memcpy(body, data, size);
	root = cJSON_ParseWithLength(body, size);
	if (root)
		check_strings(body, size, root, root);
	cJSON_Delete(root);
	check_readings(body, size);
	memset(&req, 0, sizeof(req));
	rc = gw_parse_reply(&req, body, size);
	if (rc == 0) {
		if (!req.reply.output || req.reply.output[req.reply.output_len] != '\0' ||
		    strlen(req.reply.output) > req.reply.output_len || req.error)
			abort();
		if (strlen(req.reply.output) < req.reply.output_len && !json_text_has_nul(body, size))
			abort();
		if (req.reply.prompt_tokens < -1 || req.reply.completion_tokens < -1)
			abort();
	} else {
		if (rc != -1 || !req.error || strncmp(req.error, "invalid reply: ", 15) ||
		    strchr(req.error, '\n') || strchr(req.error, '\r'))
			abort();
	}
	gw_request_release(&req);
	if (req.reply.output || req.error || req.reply.finish_reason || req.body)
		abort();
	free(body);
	return 0;
}
