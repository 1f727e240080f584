/*
 * h1_feed: a reply fed to the plain-http reader in pieces (h1_feed.h), shared
 * by test_http1 and fuzz_http1.
 */
#include <stdlib.h>
#include <string.h>

#include "h1_feed.h"
#include "xalloc.h"
#include "banned.h"

static void broke(struct h1_reading *rd, const char *promise)
{
	if (!rd->broken)
		rd->broken = promise;
}

int h1_reading_on_header(const char *line, size_t len, void *arg)
{
	struct h1_reading *rd = arg;

	if (!len || line[len - 1] != '\n')
		broke(rd, "a header line passed on without its LF");
	strbuf_add(&rd->headers, line, len);
	rd->n_headers++;
	return 0;
}

int h1_reading_on_body(const char *data, size_t len, void *arg)
{
	struct h1_reading *rd = arg;

	if (!len)
		broke(rd, "an empty piece of body passed on");
	strbuf_add(&rd->body, data, len);
	return 0;
}

/* a done reply is fed more: it must take none of it */
static void feed_after_done(struct h1_reading *rd, const char *buf, size_t len)
{
	if (len && h1_resp_feed(&rd->r, buf, len, h1_reading_on_header, h1_reading_on_body, rd,
				&rd->why))
		rd->calls_after_done++;
}

/* the end of the connection, for a reply not done */
static void feed_eof(struct h1_reading *rd)
{
	rd->eof_rc = h1_resp_eof(&rd->r, &rd->why);
	if (rd->eof_rc == 0 ? !rd->r.done || rd->r.keep_alive : rd->r.done || !rd->why.len)
		broke(rd, "the end of the connection neither completed the reply nor said why not");
}

void h1_reading_feed(struct h1_reading *rd, const char *buf, size_t len, const size_t *cuts,
		     size_t n_cuts, int head_only, int eof)
{
	size_t i, start = 0;

	memset(rd, 0, sizeof(*rd));
	strbuf_init(&rd->headers, 0);
	strbuf_init(&rd->body, 0);
	strbuf_init(&rd->why, 0);
	rd->eof_rc = 1;
	h1_resp_init(&rd->r, head_only);
	for (i = 0; i <= n_cuts && !rd->r.done; i++) {
		size_t end = i < n_cuts ? cuts[i] : len;
		ssize_t n = h1_resp_feed(&rd->r, buf + start, end - start, h1_reading_on_header,
					 h1_reading_on_body, rd, &rd->why);

		if (n < 0) {
			rd->rc = n;
			if (n != -1 || !rd->why.len || memchr(rd->why.buf, '\n', rd->why.len))
				broke(rd, "a failure is -1 and says why on one line");
			return;
		}
		if ((size_t)n > end - start)
			broke(rd, "a feed used more bytes than it was given");
		else if ((size_t)n < end - start && !rd->r.done)
			broke(rd, "bytes left over before done");
		rd->used += (size_t)n;
		start = end;
	}
	if (rd->r.done) {
		feed_after_done(rd, buf + start, len - start);
		feed_after_done(rd, "HTTP/1.1 200 OK\r\n", 17);
	} else if (eof) {
		feed_eof(rd);
	}
}

void h1_reading_feed_bytes(struct h1_reading *rd, const char *buf, size_t len, int head_only,
			   int eof)
{
	size_t *cuts = xcalloc(len ? len : 1, sizeof(*cuts));
	size_t i;

	for (i = 0; i + 1 < len; i++)
		cuts[i] = i + 1;
	h1_reading_feed(rd, buf, len, cuts, len ? len - 1 : 0, head_only, eof);
	free(cuts);
}

void h1_reading_release(struct h1_reading *rd)
{
	h1_resp_release(&rd->r);
	strbuf_release(&rd->headers);
	strbuf_release(&rd->body);
	strbuf_release(&rd->why);
}
