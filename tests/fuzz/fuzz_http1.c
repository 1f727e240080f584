/*
 * libFuzzer target: the plain-http reply reader (runner/http1.c). The
 * input's first byte picks where the rest is cut in two (as two reads from
 * a connection would bring it) and whether the request was a HEAD; the
 * bytes are also fed whole and one at a time. It must never crash or leak,
 * and:
 *  - a feed never says it used more bytes than it was given, and uses all
 *    of them unless the reply ended within them;
 *  - a done reply takes nothing more;
 *  - the three readings agree exactly: the result, the bytes used, the
 *    header lines, the body, done, status, keep-alive, encoded, and what
 *    went wrong;
 *  - every header line passed on ends with its LF; a failure says why on
 *    one line.
 * The same bytes also go through h1_url_parse() as a URL (one NUL-free
 * line): a URL taken has a host that fits and a target starting with '/'
 * with no space, control or non-ASCII byte in it.
 *
 * Built by -DEG_FUZZ=ON (see README.md here); ./dev.sh fuzz runs it on its
 * seeds in corpus/http1/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http1.h"
#include "strbuf.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct reading {
	struct h1_resp r;
	struct strbuf headers;
	struct strbuf body;
	struct strbuf why;
	ssize_t rc;
	size_t used;
	int eof_rc;
};

static int on_header(const char *line, size_t len, void *arg)
{
	struct reading *rd = arg;

	if (!len || line[len - 1] != '\n')
		abort();
	strbuf_add(&rd->headers, line, len);
	return 0;
}

static int on_body(const char *data, size_t len, void *arg)
{
	struct reading *rd = arg;

	if (!len)
		abort();
	strbuf_add(&rd->body, data, len);
	return 0;
}

/* feed buf in pieces of at most piece bytes, the first one cut at first */
static void read_reply(struct reading *rd, const char *buf, size_t len, size_t first,
		       size_t piece, int head_only)
{
	size_t off = 0, feeds = 0;

	memset(rd, 0, sizeof(*rd));
	strbuf_init(&rd->headers, 0);
	strbuf_init(&rd->body, 0);
	strbuf_init(&rd->why, 0);
	rd->eof_rc = 1;
	h1_resp_init(&rd->r, head_only);
	while (off < len && !rd->r.done) {
		/* the first feed may be empty: it must use nothing and change nothing */
		size_t n = feeds++ ? piece : first;
		ssize_t used;

		if (n > len - off)
			n = len - off;
		used = h1_resp_feed(&rd->r, buf + off, n, on_header, on_body, rd, &rd->why);
		if (used < 0) {
			rd->rc = used;
			if (used != -1 || !rd->why.len || memchr(rd->why.buf, '\n', rd->why.len))
				abort();
			return;
		}
		if ((size_t)used > n || ((size_t)used < n && !rd->r.done))
			abort();
		rd->used += (size_t)used;
		off += n;
	}
	if (rd->r.done) {
		if (off < len && h1_resp_feed(&rd->r, buf + off, len - off, on_header, on_body,
					      rd, &rd->why))
			abort();
		return;
	}
	rd->eof_rc = h1_resp_eof(&rd->r, &rd->why);
	if (rd->eof_rc == 0 ? !rd->r.done || rd->r.keep_alive : rd->r.done || !rd->why.len)
		abort();
}

static void reading_release(struct reading *rd)
{
	h1_resp_release(&rd->r);
	strbuf_release(&rd->headers);
	strbuf_release(&rd->body);
	strbuf_release(&rd->why);
}

static int same_buf(const struct strbuf *a, const struct strbuf *b)
{
	return a->len == b->len && !memcmp(a->buf, b->buf, a->len);
}

static void check_same(const struct reading *a, const struct reading *b)
{
	if (a->rc != b->rc || a->eof_rc != b->eof_rc || (!a->rc && a->used != b->used) ||
	    !same_buf(&a->headers, &b->headers) || !same_buf(&a->body, &b->body) ||
	    !same_buf(&a->why, &b->why) || a->r.done != b->r.done ||
	    a->r.status != b->r.status || a->r.keep_alive != b->r.keep_alive ||
	    a->r.encoded != b->r.encoded)
		abort();
}

static void check_url(const char *buf, size_t len)
{
	char url[512];
	struct h1_url u;
	size_t i;

	if (len >= sizeof(url) || memchr(buf, '\0', len))
		return;
	memcpy(url, buf, len);
	url[len] = '\0';
	if (h1_url_parse(url, &u))
		return;
	if (!u.host[0] || strlen(u.host) >= sizeof(u.host) || !u.port || !u.target_len ||
	    u.target[0] != '/' || memchr(u.target, '#', u.target_len))
		abort();
	/* the target goes into the request line as it is: nothing that could split it */
	for (i = 0; i < u.target_len; i++)
		if ((unsigned char)u.target[i] <= 0x20 || (unsigned char)u.target[i] >= 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reading whole, cut, bytes;
	const char *buf = (const char *)data + 1;
	size_t len, first;
	int head_only;

	if (!size)
		return 0;
	len = size - 1;
	head_only = data[0] & 0x80;
	first = len ? (size_t)(data[0] & 0x7f) * len / 0x7f : 0;
	read_reply(&whole, buf, len, len, len, head_only);
	read_reply(&cut, buf, len, first, len, head_only);
	read_reply(&bytes, buf, len, 1, 1, head_only);
	check_same(&whole, &cut);
	check_same(&whole, &bytes);
	if (whole.used > len)
		abort();
	reading_release(&whole);
	reading_release(&cut);
	reading_release(&bytes);
	check_url(buf, len);
	return 0;
}
