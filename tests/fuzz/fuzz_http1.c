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
 * The reply is fed by tests/support/h1_feed.c, as test_http1 feeds it.
 * Built by -DEG_FUZZ=ON (see README.md here); ./dev.sh fuzz runs it on its
 * seeds in corpus/http1/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "h1_feed.h"
#include "http1.h"
#include "strbuf.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* a reading that broke a promise of the reader, or took anything after done, aborts */
static void check_kept(const struct h1_reading *rd)
{
	if (rd->broken || rd->calls_after_done)
		abort();
}

static int same_buf(const struct strbuf *a, const struct strbuf *b)
{
	return a->len == b->len && !memcmp(a->buf, b->buf, a->len);
}

static void check_same(const struct h1_reading *a, const struct h1_reading *b)
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
	struct h1_reading whole, cut, bytes;
	const char *buf = (const char *)data + 1;
	size_t len, first;
	int head_only;

	if (!size)
		return 0;
	len = size - 1;
	head_only = data[0] & 0x80;
	/* the cut may be at 0: the first feed is empty, and must use nothing and change nothing */
	first = len ? (size_t)(data[0] & 0x7f) * len / 0x7f : 0;
	h1_reading_feed(&whole, buf, len, NULL, 0, head_only, 1);
	h1_reading_feed(&cut, buf, len, &first, 1, head_only, 1);
	h1_reading_feed_bytes(&bytes, buf, len, head_only, 1);
	check_kept(&whole);
	check_kept(&cut);
	check_kept(&bytes);
	check_same(&whole, &cut);
	check_same(&whole, &bytes);
	if (whole.used > len)
		abort();
	h1_reading_release(&whole);
	h1_reading_release(&cut);
	h1_reading_release(&bytes);
	check_url(buf, len);
	return 0;
}
