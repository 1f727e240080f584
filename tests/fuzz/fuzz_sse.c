/*
 * libFuzzer target: the SSE parser and the reading of a streamed reply
 * (runner/targets/sse.c). The input's first byte picks the size of the
 * pieces the rest is fed in (1 to 16 bytes, as a network would cut it); the
 * same bytes are also fed whole. It must never crash or leak, and the two
 * readings must agree exactly: the answer, its length, the finish reason,
 * the model, the usage, the tool calls, the chunk count and the error.
 *
 * Built by -DEG_FUZZ=ON (see README.md here); ./dev.sh fuzz runs it on its
 * seeds in corpus/sse/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"
#include "strbuf.h"
#include "target.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct reading {
	struct sse_stream s;
	struct target_reply r;
	struct strbuf why;
	int rc;
};

static void read_stream(struct reading *rd, const char *buf, size_t len, size_t piece)
{
	size_t off = 0;
	int fed = 0;

	sse_stream_init(&rd->s, 1 << 20);
	target_reply_init(&rd->r);
	strbuf_init(&rd->why, 0);
	while (off < len && !fed) {
		size_t n = len - off < piece ? len - off : piece;

		fed = sse_stream_feed(&rd->s, buf + off, n, (double)off);
		off += n;
	}
	rd->rc = fed ? -2 : sse_stream_reply(&rd->s, &rd->r, &rd->why);
}

static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static void reading_release(struct reading *rd)
{
	target_reply_release(&rd->r);
	strbuf_release(&rd->why);
	sse_stream_release(&rd->s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reading whole, cut;
	size_t piece;

	if (!size)
		return 0;
	piece = (size_t)(data[0] % 16) + 1;
	read_stream(&whole, (const char *)data + 1, size - 1, size);
	read_stream(&cut, (const char *)data + 1, size - 1, piece);
	if (whole.rc != cut.rc || strcmp(whole.why.buf, cut.why.buf) ||
	    whole.s.n_times != cut.s.n_times)
		abort();
	if (!whole.rc) {
		if (!whole.r.output || whole.r.output[whole.r.output_len] != '\0' ||
		    whole.r.output_len != cut.r.output_len ||
		    memcmp(whole.r.output, cut.r.output, whole.r.output_len) ||
		    !same_str(whole.r.finish_reason, cut.r.finish_reason) ||
		    !same_str(whole.r.model, cut.r.model) ||
		    !same_str(whole.r.tool_calls, cut.r.tool_calls) ||
		    whole.r.prompt_tokens != cut.r.prompt_tokens ||
		    whole.r.completion_tokens != cut.r.completion_tokens)
			abort();
	} else if (!whole.why.len || memchr(whole.why.buf, '\n', whole.why.len)) {
		/* a failed stream says why, on one line */
		if (whole.rc != -2)
			abort();
	}
	reading_release(&whole);
	reading_release(&cut);
	return 0;
}
