/*
 * h1_feed: one reading of a reply by the plain-http reader (runner/http1.h),
 * fed in pieces as reads from a connection would bring it. The unit tests
 * (test_http1) and the fuzz target (fuzz_http1) read replies through it
 * alike. It neither asserts nor aborts: the first promise of the reader that
 * a reading saw broken is named in it, and each caller fails in its own way.
 * Ownership: a reading holds its buffers; h1_reading_release frees them.
 */
#ifndef EG_H1_FEED_H
#define EG_H1_FEED_H

#include <stddef.h>
#include <sys/types.h>

#include "http1.h"
#include "strbuf.h"

/* everything one reading of a reply gave */
struct h1_reading {
	struct h1_resp r;
	struct strbuf headers;   /* the header lines passed on, as passed */
	struct strbuf body;      /* the body as passed on */
	struct strbuf why;       /* what went wrong, as the reader said it */
	int n_headers;           /* header lines passed on */
	ssize_t rc;              /* the failing feed's result, else 0 */
	size_t used;             /* bytes the feeds used */
	int eof_rc;              /* h1_resp_eof's result when it was called, else 1 */
	int calls_after_done;    /* feeds that used bytes (or failed) after done was set */
	const char *broken;      /* the first promise of the reader broken, else NULL */
};

/*
 * Read buf: fed in pieces cut at cuts[0..n_cuts) (ascending; a cut at 0 or
 * a repeated one makes an empty feed), stopping at the first failure or
 * when the reply is done. A done reply is then fed what is left of buf and
 * one more status line, which it must not take; one not done is given the
 * end of the connection when eof. The promises checked: every header line
 * passed on ends with its LF, no body piece is empty, a failure is -1 with
 * why on one line, a feed uses no more than it was given and all of it
 * unless the reply ended within it, and the end of the connection either
 * completes the reply (not to be kept alive) or fails saying why.
 */
void h1_reading_feed(struct h1_reading *rd, const char *buf, size_t len, const size_t *cuts,
		     size_t n_cuts, int head_only, int eof);
/* h1_reading_feed one byte at a time */
void h1_reading_feed_bytes(struct h1_reading *rd, const char *buf, size_t len, int head_only,
			   int eof);
/* the callbacks h1_reading_feed gives the reader (arg: the reading), for a feed of one's own */
int h1_reading_on_header(const char *line, size_t len, void *arg);
int h1_reading_on_body(const char *data, size_t len, void *arg);
void h1_reading_release(struct h1_reading *rd);

#endif
