/*
 * libFuzzer target: a gateway's chat/completions reply body, parsed by
 * gw_parse_reply(). It must never crash or leak, and must leave the request
 * either with a NUL-terminated content or with a one-line error.
 *
 * Built by -DEG_FUZZ=ON (see README.md here); ./dev.sh fuzz runs it on its
 * seeds in corpus/reply/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "xalloc.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_request req;
	/* the gateway hands the parser its own copy of the body, not NUL-terminated */
	char *body = xmalloc(size ? size : 1);
	int rc;

	memcpy(body, data, size);
	memset(&req, 0, sizeof(req));
	rc = gw_parse_reply(&req, body, size);
	if (rc == 0) {
		if (!req.reply.output || req.reply.output_len != strlen(req.reply.output) ||
		    req.error)
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
