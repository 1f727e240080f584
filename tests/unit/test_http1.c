/*
 * test_http1: the plain-http wire format. URLs the plain path takes and
 * those it leaves to libcurl, request heads as libcurl writes them, and
 * replies read whole, byte by byte and in every two-way split, which must
 * all give the same header lines, body and outcome.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h1_feed.h"
#include "http1.h"
#include "strbuf.h"

/*
 * Parameters are indices into the tables: Criterion hands a test a copy of
 * its parameter in another process, where pointers into this one mean nothing.
 */
static int *index_params(size_t n)
{
	static int indices[64];
	size_t i;

	cr_assert(n <= sizeof(indices) / sizeof(indices[0]));
	for (i = 0; i < n; i++)
		indices[i] = (int)i;
	return indices;
}

/* ------------------------------------------------------------------ URLs */

struct url_case {
	const char *url;
	const char *host;
	unsigned short port;
	const char *target;
	int v6;
};

static const struct url_case good_urls[] = {
	{ "http://localhost:8080/v1/chat/completions", "localhost", 8080, "/v1/chat/completions", 0 },
	{ "HTTP://Gateway.example/v1", "Gateway.example", 80, "/v1", 0 },
	{ "http://h", "h", 80, "/", 0 },
	{ "http://h:1", "h", 1, "/", 0 },
	{ "http://h:65535/", "h", 65535, "/", 0 },
	{ "http://h:80/x", "h", 80, "/x", 0 },
	{ "http://my_host-1.internal/a?b=c&d=e", "my_host-1.internal", 80, "/a?b=c&d=e", 0 },
	{ "http://h/a?q=1#frag", "h", 80, "/a?q=1", 0 },
	{ "http://h#frag", "h", 80, "/", 0 },
	{ "http://127.0.0.1:9/p", "127.0.0.1", 9, "/p", 0 },
	{ "http://[::1]:8080/v1", "::1", 8080, "/v1", 1 },
	{ "http://[fe80::1:2]/", "fe80::1:2", 80, "/", 1 },
	{ "http://[::ffff:10.0.0.1]", "::ffff:10.0.0.1", 80, "/", 1 },
	{ "http://h/a..b/.c/d.", "h", 80, "/a..b/.c/d.", 0 },
	{ "http://h/%20x", "h", 80, "/%20x", 0 },
};

ParameterizedTestParameters(url, good)
{
	size_t n = sizeof(good_urls) / sizeof(good_urls[0]);

	return cr_make_param_array(int, index_params(n), n);
}

ParameterizedTest(int *i, url, good)
{
	const struct url_case *c = &good_urls[*i];
	struct h1_url u;

	cr_assert_eq(h1_url_parse(c->url, &u), 0, "%s", c->url);
	cr_expect_str_eq(u.host, c->host, "%s", c->url);
	cr_expect_eq(u.port, c->port, "%s", c->url);
	cr_expect_eq(u.target_len, strlen(c->target), "%s", c->url);
	cr_expect_eq(memcmp(u.target, c->target, u.target_len), 0, "%s", c->url);
	cr_expect_eq(u.host_is_v6, c->v6, "%s", c->url);
}

static const char *const bad_urls[] = {
	"https://h/",
	"ftp://h/",
	"http:/h/",
	"http://",
	"http:///x",
	"http://:80/",
	"http://user@h/",
	"http://user:pw@h/",
	"http://h:0/",
	"http://h:65536/",
	"http://h:99999999999999999999/",
	"http://h:/",
	"http://h:8x/",
	"http://h:-1/",
	"http://h!/",
	"http://h%41/",
	"http://h/a b",
	"http://h/a\tb",
	"http://h/a\x01",
	"http://h/\x7f",
	"http://h/caf\xc3\xa9",
	"http://h?x=1",
	"http://h/a/../b",
	"http://h/./b",
	"http://h/a/..",
	"http://h/a/.?x",
	"http://[::1/",
	"http://[::1]x/",
	"http://[]/",
	"http://[fe80::1%25eth0]/",
	"http://[g::1]/",
	"http://h\\x/",
	"http://h;x/",
};

ParameterizedTestParameters(url, bad)
{
	size_t n = sizeof(bad_urls) / sizeof(bad_urls[0]);

	return cr_make_param_array(int, index_params(n), n);
}

ParameterizedTest(int *i, url, bad)
{
	const char *const *url = &bad_urls[*i];
	struct h1_url u;

	cr_expect_eq(h1_url_parse(*url, &u), -1, "%s", *url);
}

Test(url, host_length)
{
	char url[H1_HOST_MAX + 32];
	struct h1_url u;

	/* the longest host that fits with its NUL, then one byte more */
	memcpy(url, "http://", 7);
	memset(url + 7, 'a', H1_HOST_MAX - 1);
	memcpy(url + 7 + H1_HOST_MAX - 1, "/x", 3);
	cr_assert_eq(h1_url_parse(url, &u), 0);
	cr_expect_eq(strlen(u.host), H1_HOST_MAX - 1);
	memset(url + 7, 'a', H1_HOST_MAX);
	memcpy(url + 7 + H1_HOST_MAX, "/x", 3);
	cr_expect_eq(h1_url_parse(url, &u), -1);
}

/* ------------------------------------------------------- the request head */

static void head(struct strbuf *sb, const char *method, const char *url,
		 const char *const *lines, const char *ua, int has_body, size_t body_len)
{
	struct h1_url u;
	struct h1_head h;

	cr_assert_eq(h1_url_parse(url, &u), 0, "%s", url);
	h1_head_begin(&h, sb, method, &u);
	for (; lines && *lines; lines++)
		h1_head_header(&h, *lines);
	h1_head_end(&h, &u, ua, has_body, body_len);
}

Test(head, defaults_post)
{
	struct strbuf sb = STRBUF_INIT;

	head(&sb, "POST", "http://gw:8080/v1/chat/completions?x=1#f", NULL, "evalgate/0.4", 1, 27);
	cr_expect_str_eq(sb.buf, "POST /v1/chat/completions?x=1 HTTP/1.1\r\n"
				 "Host: gw:8080\r\n"
				 "User-Agent: evalgate/0.4\r\n"
				 "Accept: */*\r\n"
				 "Content-Length: 27\r\n"
				 "Content-Type: application/x-www-form-urlencoded\r\n"
				 "\r\n");
	strbuf_release(&sb);
}

Test(head, get_without_body_appends)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, "earlier");
	head(&sb, "GET", "http://gw", NULL, NULL, 0, 0);
	cr_expect_str_eq(sb.buf, "earlierGET / HTTP/1.1\r\n"
				 "Host: gw\r\n"
				 "Accept: */*\r\n"
				 "\r\n");
	strbuf_release(&sb);
}

Test(head, replaced_removed_and_empty)
{
	static const char *const lines[] = {
		"Content-Type: application/json",
		"accept: application/json",
		"Expect:",                /* not a default: nothing sent */
		"User-Agent:",            /* removes the default, sends nothing */
		"X-Empty;",               /* sent with an empty value */
		"X-Spaces:   ",           /* blank: not sent */
		"X-Semi; trailing",       /* neither form: not sent */
		"NoColon",                /* not a header: not sent */
		": no name",
		"Authorization: Bearer k",
		"X-Value: a;b:c",
		NULL,
	};
	struct strbuf sb = STRBUF_INIT;

	head(&sb, "POST", "http://gw/v1", lines, "evalgate/0.4", 1, 2);
	cr_expect_str_eq(sb.buf, "POST /v1 HTTP/1.1\r\n"
				 "Content-Type: application/json\r\n"
				 "accept: application/json\r\n"
				 "X-Empty:\r\n"
				 "Authorization: Bearer k\r\n"
				 "X-Value: a;b:c\r\n"
				 "Host: gw\r\n"
				 "Content-Length: 2\r\n"
				 "\r\n");
	strbuf_release(&sb);
}

Test(head, host_and_length_replaced)
{
	static const char *const lines[] = {
		"HOST: other.example", "Content-Length;", "Host-Extra: kept", NULL,
	};
	struct strbuf sb = STRBUF_INIT;

	head(&sb, "PUT", "http://gw:81/", lines, "ua", 1, 5);
	cr_expect_str_eq(sb.buf, "PUT / HTTP/1.1\r\n"
				 "HOST: other.example\r\n"
				 "Content-Length:\r\n"
				 "Host-Extra: kept\r\n"
				 "User-Agent: ua\r\n"
				 "Accept: */*\r\n"
				 "Content-Type: application/x-www-form-urlencoded\r\n"
				 "\r\n");
	strbuf_release(&sb);
}

Test(head, ipv6_host)
{
	struct strbuf sb = STRBUF_INIT;

	head(&sb, "GET", "http://[::1]:8080/m", NULL, NULL, 0, 0);
	cr_expect_str_eq(sb.buf, "GET /m HTTP/1.1\r\nHost: [::1]:8080\r\nAccept: */*\r\n\r\n");
	strbuf_reset(&sb);
	head(&sb, "GET", "http://[::1]/m", NULL, NULL, 0, 0);
	cr_expect_str_eq(sb.buf, "GET /m HTTP/1.1\r\nHost: [::1]\r\nAccept: */*\r\n\r\n");
	strbuf_release(&sb);
}

Test(head, empty_body_still_has_length)
{
	struct strbuf sb = STRBUF_INIT;

	head(&sb, "POST", "http://gw/", NULL, NULL, 1, 0);
	cr_expect_str_eq(sb.buf, "POST / HTTP/1.1\r\nHost: gw\r\nAccept: */*\r\n"
				 "Content-Length: 0\r\n"
				 "Content-Type: application/x-www-form-urlencoded\r\n\r\n");
	strbuf_release(&sb);
}

/* ------------------------------------------------------------- the reply */

/*
 * Feed buf in pieces cut at cuts (ascending), as reads from a connection
 * would bring it, then the end of the connection when eof and the reply is
 * not done (h1_feed.h): the reader must keep every promise it checks.
 */
static void read_cut(struct h1_reading *rd, const char *buf, size_t len, const size_t *cuts,
		     size_t n_cuts, int head_only, int eof)
{
	h1_reading_feed(rd, buf, len, cuts, n_cuts, head_only, eof);
	cr_assert_null(rd->broken, "%s", rd->broken);
}

static void read_whole(struct h1_reading *rd, const char *buf, size_t len, int head_only,
		       int eof)
{
	read_cut(rd, buf, len, NULL, 0, head_only, eof);
}

static void expect_same(const struct h1_reading *a, const struct h1_reading *b, const char *how)
{
	cr_expect_eq(a->rc, b->rc, "%s: rc", how);
	cr_expect_eq(a->eof_rc, b->eof_rc, "%s: eof", how);
	/* bytes used count only whole feeds: a failing one says -1 however far it got */
	if (!a->rc)
		cr_expect_eq(a->used, b->used, "%s: used", how);
	cr_expect_eq(a->n_headers, b->n_headers, "%s: header count", how);
	cr_expect_str_eq(a->headers.buf, b->headers.buf, "%s: headers", how);
	cr_expect_eq(a->body.len, b->body.len, "%s: body length", how);
	cr_expect_eq(memcmp(a->body.buf, b->body.buf, a->body.len), 0, "%s: body", how);
	cr_expect_str_eq(a->why.buf, b->why.buf, "%s: why", how);
	cr_expect_eq(a->r.done, b->r.done, "%s: done", how);
	cr_expect_eq(a->r.status, b->r.status, "%s: status", how);
	cr_expect_eq(a->r.keep_alive, b->r.keep_alive, "%s: keep-alive", how);
	cr_expect_eq(a->r.encoded, b->r.encoded, "%s: encoded", how);
	cr_expect_eq(b->calls_after_done, 0, "%s: bytes used after done", how);
}

/*
 * Read the reply whole, then byte by byte and in every two-way split: each
 * reading must match the whole one. The whole one goes to rd.
 */
static void read_all_ways(struct h1_reading *rd, const char *buf, size_t len, int head_only,
			  int eof)
{
	struct h1_reading other;
	size_t i;
	char how[64];

	read_whole(rd, buf, len, head_only, eof);
	h1_reading_feed_bytes(&other, buf, len, head_only, eof);
	cr_assert_null(other.broken, "byte by byte: %s", other.broken);
	expect_same(rd, &other, "byte by byte");
	h1_reading_release(&other);
	for (i = 1; i < len; i++) {
		snprintf(how, sizeof(how), "cut at %zu", i);
		read_cut(&other, buf, len, &i, 1, head_only, eof);
		expect_same(rd, &other, how);
		h1_reading_release(&other);
	}
}

#define S(lit) lit, sizeof(lit) - 1

/* a reply expected to be complete (done), with its header lines and body */
static void expect_reply(const char *buf, size_t len, int head_only, size_t used, long status,
			 int keep_alive, const char *headers, const char *body, size_t body_len)
{
	struct h1_reading rd;

	read_all_ways(&rd, buf, len, head_only, 1);
	cr_expect_eq(rd.rc, 0, "failed: %s", rd.why.buf);
	cr_expect_eq(rd.eof_rc, 1, "the reply needed the end of the connection");
	cr_expect(rd.r.done);
	cr_expect_eq(rd.used, used);
	cr_expect_eq(rd.r.status, status);
	cr_expect_eq(rd.r.keep_alive, keep_alive);
	cr_expect_str_eq(rd.headers.buf, headers);
	cr_expect_eq(rd.body.len, body_len);
	cr_expect_eq(memcmp(rd.body.buf, body, body_len), 0);
	h1_reading_release(&rd);
}

/* a malformed reply: -1, and why says what */
static void expect_bad(const char *buf, size_t len, const char *why)
{
	struct h1_reading rd;

	read_all_ways(&rd, buf, len, 0, 1);
	cr_expect_eq(rd.rc, -1, "%.*s", (int)len, buf);
	cr_expect_str_eq(rd.why.buf, why, "%.*s", (int)len, buf);
	cr_expect_not(rd.r.done);
	h1_reading_release(&rd);
}

#define HEAD_200 "HTTP/1.1 200 OK\r\n"

Test(reply, content_length)
{
	static const char r[] = HEAD_200 "Content-Type: application/json\r\n"
				"Content-Length: 11\r\n\r\n{\"ok\":true}";

	expect_reply(S(r), 0, sizeof(r) - 1, 200, 1,
		     HEAD_200 "Content-Type: application/json\r\nContent-Length: 11\r\n\r\n",
		     S("{\"ok\":true}"));
}

Test(reply, content_length_zero_and_repeated)
{
	static const char zero[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	static const char twice[] = "HTTP/1.1 200 OK\r\ncontent-length: 3, 3\r\n"
				    "Content-Length:3 \r\n\r\nabc";

	expect_reply(S(zero), 0, sizeof(zero) - 1, 200, 1, zero, S(""));
	expect_reply(S(twice), 0, sizeof(twice) - 1, 200, 1,
		     "HTTP/1.1 200 OK\r\ncontent-length: 3, 3\r\nContent-Length:3 \r\n\r\n",
		     S("abc"));
}

Test(reply, chunked_with_extensions_and_trailers)
{
	static const char r[] = HEAD_200 "Transfer-Encoding: Chunked\r\n\r\n"
				"5\r\nhello\r\n"
				"1;name=value\r\n \r\n"
				"00A ; x=\"y\"\r\n0123456789\r\n"
				"0\r\nX-Trailer: t\r\nX-Other: u\r\n\r\n";

	expect_reply(S(r), 0, sizeof(r) - 1, 200, 1,
		     HEAD_200 "Transfer-Encoding: Chunked\r\n\r\n", S("hello 0123456789"));
}

Test(reply, chunked_bare_lf)
{
	static const char r[] = "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n"
				"3\nabc\n0\n\n";

	expect_reply(S(r), 0, sizeof(r) - 1, 200, 1,
		     "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n", S("abc"));
}

Test(reply, chunked_and_length)
{
	/* chunked wins, and the connection is not trusted again (RFC 9112 6.3) */
	static const char r[] = HEAD_200 "Content-Length: 100\r\nTransfer-Encoding: chunked\r\n"
				"\r\n2\r\nok\r\n0\r\n\r\n";

	expect_reply(S(r), 0, sizeof(r) - 1, 200, 0,
		     HEAD_200 "Content-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n", S("ok"));
}

Test(reply, until_close)
{
	static const char r[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it\n";
	struct h1_reading rd;

	read_all_ways(&rd, S(r), 0, 1);
	cr_expect_eq(rd.rc, 0);
	cr_expect_eq(rd.eof_rc, 0);
	cr_expect(rd.r.done);
	cr_expect_eq(rd.r.keep_alive, 0);
	cr_expect_eq(rd.used, sizeof(r) - 1);
	cr_expect_str_eq(rd.body.buf, "all of it\n");
	h1_reading_release(&rd);

	/* without the end of the connection it is not done */
	read_whole(&rd, S(r), 0, 0);
	cr_expect_not(rd.r.done);
	cr_expect_eq(rd.used, sizeof(r) - 1);
	h1_reading_release(&rd);
}

Test(reply, interim_replies_skipped)
{
	static const char r[] = "HTTP/1.1 100 Continue\r\n\r\n"
				"HTTP/1.1 102 Processing\r\nX-Progress: 1\r\n\r\n"
				"HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n"
				"Content-Length: 9\r\nConnection: close\r\n\r\n"
				"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
	struct h1_reading rd;

	expect_reply(S(r), 0, sizeof(r) - 1, 201, 1,
		     "HTTP/1.1 100 Continue\r\n\r\n"
		     "HTTP/1.1 102 Processing\r\nX-Progress: 1\r\n\r\n"
		     "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n"
		     "Content-Length: 9\r\nConnection: close\r\n\r\n"
		     "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n",
		     S("ok"));

	/* the status stays 0 until the final reply's status line */
	read_whole(&rd, S("HTTP/1.1 100 Continue\r\n\r\n"), 0, 1);
	cr_expect_eq(rd.r.status, 0);
	cr_expect_eq(rd.eof_rc, -1);
	cr_expect_str_eq(rd.why.buf, "connection closed before the reply was complete");
	h1_reading_release(&rd);
}

Test(reply, no_body)
{
	static const char r204[] = "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n";
	static const char r304[] = "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n";
	static const char head[] = HEAD_200 "Content-Length: 1234\r\n\r\n";

	expect_reply(S(r204), 0, sizeof(r204) - 1, 204, 1, r204, S(""));
	expect_reply(S(r304), 0, sizeof(r304) - 1, 304, 1, r304, S(""));
	expect_reply(S(head), 1, sizeof(head) - 1, 200, 1, head, S(""));
}

Test(reply, http10)
{
	static const char plain[] = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok";
	static const char keep[] = "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n"
				   "Content-Length: 2\r\n\r\nok";
	static const char closed[] = "HTTP/1.0 200 OK\r\n\r\nto the end";
	struct h1_reading rd;

	expect_reply(S(plain), 0, sizeof(plain) - 1, 200, 0,
		     "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n", S("ok"));
	expect_reply(S(keep), 0, sizeof(keep) - 1, 200, 1,
		     "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\n",
		     S("ok"));
	read_all_ways(&rd, S(closed), 0, 1);
	cr_expect_eq(rd.eof_rc, 0);
	cr_expect_str_eq(rd.body.buf, "to the end");
	cr_expect_eq(rd.r.keep_alive, 0);
	h1_reading_release(&rd);
}

Test(reply, connection_close)
{
	static const char r[] = "HTTP/1.1 500 Internal Server Error\r\n"
				"Connection: Upgrade,  CLOSE \r\nContent-Length: 4\r\n\r\noops";
	static const char other[] = "HTTP/1.1 200 OK\r\nConnection: closed\r\n"
				    "Content-Length: 0\r\n\r\n";

	expect_reply(S(r), 0, sizeof(r) - 1, 500, 0,
		     "HTTP/1.1 500 Internal Server Error\r\n"
		     "Connection: Upgrade,  CLOSE \r\nContent-Length: 4\r\n\r\n",
		     S("oops"));
	/* a token, not a substring */
	expect_reply(S(other), 0, sizeof(other) - 1, 200, 1, other, S(""));
}

Test(reply, status_lines)
{
	static const char no_reason[] = "HTTP/1.1 429\r\nContent-Length: 0\r\n\r\n";
	static const char empty_reason[] = "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n";

	expect_reply(S(no_reason), 0, sizeof(no_reason) - 1, 429, 1, no_reason, S(""));
	expect_reply(S(empty_reason), 0, sizeof(empty_reason) - 1, 404, 1, empty_reason, S(""));
	expect_bad(S("HTTP/2 200\r\n\r\n"), "bad status line");
	expect_bad(S("HTTP/1.1 20\r\n\r\n"), "bad status line");
	expect_bad(S("HTTP/1.1 2000 OK\r\n\r\n"), "bad status line");
	expect_bad(S("HTTP/1.1 099 x\r\n\r\n"), "bad status line");
	expect_bad(S("http/1.1 200 OK\r\n\r\n"), "bad status line");
	expect_bad(S("<html>hello</html>\n"), "bad status line");
	expect_bad(S("\r\nHTTP/1.1 200 OK\r\n\r\n"), "bad status line");
	expect_bad(S("HTTP/1.1 101 Switching Protocols\r\n\r\n"),
		   "unexpected 101 switching protocols");
}

Test(reply, encoded)
{
	static const char gz[] = HEAD_200 "Content-Encoding: gzip\r\nContent-Length: 0\r\n\r\n";
	static const char id[] = HEAD_200 "Content-Encoding: Identity\r\nContent-Length: 0\r\n\r\n";
	struct h1_reading rd;

	read_whole(&rd, S(gz), 0, 0);
	cr_expect(rd.r.done);
	cr_expect_eq(rd.r.encoded, 1);
	h1_reading_release(&rd);
	read_whole(&rd, S(id), 0, 0);
	cr_expect(rd.r.done);
	cr_expect_eq(rd.r.encoded, 0);
	h1_reading_release(&rd);
}

Test(reply, bad_lengths)
{
	expect_bad(S(HEAD_200 "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello"),
		   "conflicting Content-Length");
	expect_bad(S(HEAD_200 "Content-Length: 5, 6\r\n\r\nhello"), "conflicting Content-Length");
	expect_bad(S(HEAD_200 "Content-Length: -1\r\n\r\n"), "bad Content-Length");
	expect_bad(S(HEAD_200 "Content-Length: +1\r\n\r\nx"), "bad Content-Length");
	expect_bad(S(HEAD_200 "Content-Length: 0x10\r\n\r\n"), "bad Content-Length");
	expect_bad(S(HEAD_200 "Content-Length:\r\n\r\n"), "bad Content-Length");
	expect_bad(S(HEAD_200 "Content-Length: 5,\r\n\r\n"), "bad Content-Length");
	expect_bad(S(HEAD_200 "Content-Length: 1 2\r\n\r\n"), "bad Content-Length");
	expect_bad(S(HEAD_200 "Content-Length: 99999999999999999999999\r\n\r\n"),
		   "bad Content-Length");
}

Test(reply, bad_codings)
{
	expect_bad(S(HEAD_200 "Transfer-Encoding: gzip\r\n\r\n"), "unsupported Transfer-Encoding");
	expect_bad(S(HEAD_200 "Transfer-Encoding: gzip, chunked\r\n\r\n"),
		   "unsupported Transfer-Encoding");
	expect_bad(S(HEAD_200 "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"),
		   "unsupported Transfer-Encoding");
	expect_bad(S(HEAD_200 "Transfer-Encoding:\r\n\r\n"), "unsupported Transfer-Encoding");
}

Test(reply, bad_chunks)
{
	expect_bad(S(HEAD_200 "Transfer-Encoding: chunked\r\n\r\nxyz\r\n"), "bad chunk size");
	expect_bad(S(HEAD_200 "Transfer-Encoding: chunked\r\n\r\n\r\n"), "bad chunk size");
	expect_bad(S(HEAD_200 "Transfer-Encoding: chunked\r\n\r\n-1\r\n"), "bad chunk size");
	expect_bad(S(HEAD_200 "Transfer-Encoding: chunked\r\n\r\n5 5\r\n"), "bad chunk size");
	expect_bad(S(HEAD_200 "Transfer-Encoding: chunked\r\n\r\n10000000000000000\r\n"),
		   "bad chunk size");
	expect_bad(S(HEAD_200 "Transfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n"), "bad chunk end");
}

Test(reply, bad_headers)
{
	expect_bad(S(HEAD_200 "X-A: 1\r\n folded\r\n\r\n"), "folded header line");
	expect_bad(S(HEAD_200 "no colon here\r\n\r\n"), "bad header line");
	expect_bad(S(HEAD_200 ": empty name\r\n\r\n"), "bad header line");
	expect_bad(S(HEAD_200 "Bad Name: x\r\n\r\n"), "bad header line");
	expect_bad(S(HEAD_200 "X-Nul: a\0b\r\n\r\n"), "NUL byte in the reply head");
}

/* a head whose line is n bytes long with its CRLF */
static char *long_line_reply(size_t n, size_t *len)
{
	static const char end[] = "\r\nContent-Length: 0\r\n\r\n";
	size_t head = sizeof(HEAD_200) - 1;
	char *buf = malloc(head + n + sizeof(end));

	memcpy(buf, HEAD_200, head);
	memcpy(buf + head, "X-Long: ", 8);
	memset(buf + head + 8, 'v', n - 10);
	memcpy(buf + head + n - 2, end, sizeof(end));
	*len = head + n + sizeof(end) - 3;
	return buf;
}

Test(reply, header_line_limit)
{
	size_t len;
	char *buf = long_line_reply(H1_HEADER_LINE_MAX, &len);
	struct h1_reading rd;
	static const size_t cuts[] = { 20, 100, 5000 };

	/* the longest line accepted, whole and in pieces */
	read_whole(&rd, buf, len, 0, 0);
	cr_expect(rd.r.done, "%s", rd.why.buf);
	cr_expect_eq(rd.n_headers, 4);
	h1_reading_release(&rd);
	read_cut(&rd, buf, len, cuts, 3, 0, 0);
	cr_expect(rd.r.done, "%s", rd.why.buf);
	h1_reading_release(&rd);
	free(buf);

	/* one byte more */
	buf = long_line_reply(H1_HEADER_LINE_MAX + 1, &len);
	read_whole(&rd, buf, len, 0, 0);
	cr_expect_eq(rd.rc, -1);
	cr_expect_str_eq(rd.why.buf, "header line too long");
	cr_expect_eq(rd.n_headers, 1);
	h1_reading_release(&rd);
	read_cut(&rd, buf, len, cuts, 3, 0, 0);
	cr_expect_eq(rd.rc, -1);
	cr_expect_str_eq(rd.why.buf, "header line too long");
	h1_reading_release(&rd);
	free(buf);
}

Test(reply, head_limit)
{
	struct strbuf sb = STRBUF_INIT;
	struct h1_reading rd;
	char line[1001];

	/* many short lines adding up to more than H1_HEADERS_MAX */
	memset(line, 'v', sizeof(line));
	strbuf_addstr(&sb, HEAD_200);
	while (sb.len <= H1_HEADERS_MAX)
		strbuf_addf(&sb, "X-Many: %.*s\r\n", 990, line);
	strbuf_addstr(&sb, "\r\n");
	read_whole(&rd, sb.buf, sb.len, 0, 0);
	cr_expect_eq(rd.rc, -1);
	cr_expect_str_eq(rd.why.buf, "reply head too large");
	cr_expect_leq(rd.headers.len, H1_HEADERS_MAX);
	h1_reading_release(&rd);
	strbuf_release(&sb);
}

Test(reply, pipelined)
{
	static const char two[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none"
				  "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo";
	static const char chunked_two[] = HEAD_200 "Transfer-Encoding: chunked\r\n\r\n"
					  "3\r\none\r\n0\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
	size_t first = sizeof(two) / 2;
	struct h1_reading rd;
	struct h1_resp next;
	ssize_t n;

	expect_reply(S(two), 0, first, 200, 1, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n",
		     S("one"));
	expect_reply(S(chunked_two), 0, sizeof(chunked_two) - 1 - 27, 200, 1,
		     HEAD_200 "Transfer-Encoding: chunked\r\n\r\n", S("one"));

	/* the rest is the next reply, read by a fresh reader */
	read_whole(&rd, S(two), 0, 0);
	cr_assert_eq(rd.used, first);
	h1_resp_init(&next, 0);
	strbuf_reset(&rd.body);
	n = h1_resp_feed(&next, two + first, sizeof(two) - 1 - first, NULL, h1_reading_on_body,
			 &rd, NULL);
	cr_expect_null(rd.broken, "%s", rd.broken);
	cr_expect_eq(n, (ssize_t)(sizeof(two) - 1 - first));
	cr_expect(next.done);
	cr_expect_str_eq(rd.body.buf, "two");
	h1_resp_release(&next);
	h1_reading_release(&rd);
}

static int stop_at_body(const char *data, size_t len, void *arg)
{
	(void)data;
	(void)len;
	(void)arg;
	return 1;
}

Test(reply, callback_stops)
{
	static const char r[] = HEAD_200 "Content-Length: 2\r\n\r\nok";
	struct h1_resp resp;

	h1_resp_init(&resp, 0);
	cr_expect_eq(h1_resp_feed(&resp, S(r), NULL, stop_at_body, NULL, NULL), -2);
	cr_expect_not(resp.done);
	h1_resp_release(&resp);
}

Test(reply, eof)
{
	struct h1_reading rd;

	read_whole(&rd, "", 0, 0, 1);
	cr_expect_eq(rd.eof_rc, -1);
	cr_expect_str_eq(rd.why.buf, "empty reply from server");
	h1_reading_release(&rd);

	read_all_ways(&rd, S("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"), 0, 1);
	cr_expect_eq(rd.eof_rc, -1);
	cr_expect_str_eq(rd.why.buf, "connection closed before the reply was complete");
	cr_expect_str_eq(rd.body.buf, "short");
	h1_reading_release(&rd);

	read_all_ways(&rd, S("HTTP/1.1 200"), 0, 1);
	cr_expect_eq(rd.eof_rc, -1);
	cr_expect_str_eq(rd.why.buf, "connection closed before the reply was complete");
	h1_reading_release(&rd);

	read_all_ways(&rd, S(HEAD_200 "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"), 0, 1);
	cr_expect_eq(rd.eof_rc, -1);
	h1_reading_release(&rd);
}

/* the line buffer is made only for a line cut between reads, and released */
Test(reply, line_buffer_lazy)
{
	static const char r[] = HEAD_200 "Content-Length: 2\r\n\r\nok";
	struct h1_resp resp;

	h1_resp_init(&resp, 0);
	cr_assert_eq(h1_resp_feed(&resp, S(r), NULL, NULL, NULL, NULL), (ssize_t)sizeof(r) - 1);
	cr_expect_null(resp.line);
	h1_resp_release(&resp);

	h1_resp_init(&resp, 0);
	cr_assert_eq(h1_resp_feed(&resp, r, 5, NULL, NULL, NULL, NULL), 5);
	cr_expect_not_null(resp.line);
	cr_assert_eq(h1_resp_feed(&resp, r + 5, sizeof(r) - 6, NULL, NULL, NULL, NULL),
		     (ssize_t)sizeof(r) - 6);
	cr_expect(resp.done);
	h1_resp_release(&resp);
	cr_expect_null(resp.line);
}

/* every well-formed reply above, fed byte by byte, gives what it gives whole */
static const char *const replies[] = {
	HEAD_200 "Content-Length: 5\r\n\r\nhello",
	"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	"4;a=b\r\nwiki\r\n5\r\npedia\r\n0\r\nT: 1\r\n\r\n",
	"HTTP/1.0 200 OK\nServer: x\n\nuntil close\n",
	"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 200 OK\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nz\r\n",
};

ParameterizedTestParameters(reply, byte_by_byte)
{
	size_t n = sizeof(replies) / sizeof(replies[0]);

	return cr_make_param_array(int, index_params(n), n);
}

ParameterizedTest(int *i, reply, byte_by_byte)
{
	const char *const *reply = &replies[*i];
	struct h1_reading rd;

	read_all_ways(&rd, *reply, strlen(*reply), 0, 1);
	cr_expect(rd.r.done || rd.rc || rd.eof_rc != 1);
	h1_reading_release(&rd);
}
