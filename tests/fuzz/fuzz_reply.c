/*
 * libFuzzer target: a gateway's chat/completions reply body, parsed by
 * gw_parse_reply(). It must never crash or leak, and must leave the request
 * either with a NUL-terminated content or with a one-line error.
 *
 * Not built by CMake. Build and run, from the source tree:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
 *     -DPCRE2_CODE_UNIT_WIDTH=8 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DEG_VERSION='"fuzz"' -Irunner \
 *     tests/fuzz/fuzz_reply.c runner/gateway.c runner/strbuf.c runner/xalloc.c \
 *     runner/error.c runner/utf8.c -lcurl -lcjson -lm -o fuzz_reply
 *   ./fuzz_reply -max_len=8192 corpus/
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
