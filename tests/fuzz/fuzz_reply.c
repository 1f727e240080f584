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
