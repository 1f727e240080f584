/*
 * http1: the wire format of the plain-http request path. A request's head
 * written into a buffer, and a response read incrementally as its bytes
 * arrive on a keep-alive connection. No sockets and no libcurl here: the
 * gateway owns the connections (gateway.c) and calls these.
 *
 * Only what a client of an OpenAI-compatible gateway or an application's
 * HTTP endpoint needs: HTTP/1.1 (and 1.0 replies), Content-Length, chunked
 * and read-until-close bodies, 1xx interim replies skipped, keep-alive as
 * the reply says. Anything else (https, a proxy, userinfo in the URL) is
 * libcurl's, and h1_url_parse() says so.
 */
#ifndef EG_HTTP1_H
#define EG_HTTP1_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

struct strbuf;

#define H1_HOST_MAX 256          /* bytes of a host name, NUL included */
#define H1_HEADER_LINE_MAX (100u * 1024u) /* longest header line accepted (libcurl's limit) */
#define H1_HEADERS_MAX (1024u * 1024u)    /* all header lines of one reply together */

/* an http:// URL the plain path takes */
struct h1_url {
	char host[H1_HOST_MAX];  /* as written, without the brackets of an IPv6 literal */
	unsigned short port;     /* 80 when the URL has none */
	const char *target;      /* the request target: path and query ("/" when the URL has none), into the URL */
	size_t target_len;       /* up to a '#' or the end */
	int host_is_v6;          /* the host was a bracketed IPv6 literal */
};

/*
 * 0 and *u filled when url is "http://host[:port][/path][?query][#frag]"
 * (scheme case-insensitive). -1 for anything the plain path does not take:
 * another scheme (https), userinfo ("user@"), an empty or over-long host, a
 * bad port, control characters or spaces. A -1 is not an error: the gateway
 * sends such a request through libcurl, which reports what is wrong.
 */
int h1_url_parse(const char *url, struct h1_url *u);

/* a request head being written */
struct h1_head {
	struct strbuf *sb;
	unsigned have;           /* private: which default headers the caller's lines replaced */
};

/* "METHOD target HTTP/1.1\r\n" into sb (appended) */
void h1_head_begin(struct h1_head *h, struct strbuf *sb, const char *method,
		   const struct h1_url *u);
/*
 * One of the caller's header lines, in libcurl's CURLOPT_HTTPHEADER form:
 * "Name: value" is sent; "Name;" sends Name with an empty value; "Name:"
 * with nothing after the colon sends nothing and drops the default header
 * of that name. A line naming Host, User-Agent, Accept, Content-Type or
 * Content-Length replaces the default one. Lines are sent as given (the
 * gateway has already made their values harmless).
 */
void h1_head_header(struct h1_head *h, const char *line);
/*
 * The defaults not replaced (Host: host[:port], User-Agent: user_agent,
 * Accept: *\/\*, and with a body Content-Length: body_len and Content-Type:
 * application/x-www-form-urlencoded, as libcurl sends), then the blank line.
 */
void h1_head_end(struct h1_head *h, const struct h1_url *u, const char *user_agent,
		 int has_body, size_t body_len);

/* a response being read */
struct h1_resp {
	/* read by the caller */
	long status;             /* the final (non-1xx) reply's status, 0 until its status line */
	int done;                /* the reply is complete */
	int keep_alive;          /* valid when done: the connection may carry another request */
	int encoded;             /* a Content-Encoding other than identity was given */

	/* private */
	int state;
	int head_only;
	int http10;
	int chunked;
	int until_close;
	int conn_close;
	int conn_keep;
	int have_length;
	unsigned long long length;    /* body bytes left (Content-Length or the current chunk) */
	size_t header_bytes;
	struct strbuf *line;     /* a line being assembled across reads (owned) */
};

void h1_resp_init(struct h1_resp *r, int head_only);
void h1_resp_release(struct h1_resp *r);

/*
 * Feed len bytes read from the connection. Each header line, the status line
 * first, each with its CRLF (as libcurl's CURLOPT_HEADERFUNCTION gets them,
 * a 1xx reply's lines included, the blank line ending a head included), goes
 * to on_header; the body, chunked encoding removed, to on_body, in pieces.
 * A callback returning nonzero stops the read: -2. Returns the bytes used
 * (fewer than len only when the reply ended before them: done is then
 * set), or -1 with why set for a malformed reply (a bad status line or
 * header, a header line over H1_HEADER_LINE_MAX or a head over
 * H1_HEADERS_MAX, a bad or conflicting Content-Length, a bad chunk size,
 * a Transfer-Encoding other than chunked).
 */
ssize_t h1_resp_feed(struct h1_resp *r, const char *buf, size_t len,
		     int (*on_header)(const char *line, size_t len, void *arg),
		     int (*on_body)(const char *data, size_t len, void *arg), void *arg,
		     struct strbuf *why);
/*
 * The server closed the connection. 0 when that completes the reply (a body
 * read until close; done is then set), -1 with why set when the reply was
 * cut short; -1 with nothing read at all too, and why then says so
 * ("empty reply from server", libcurl's words).
 */
int h1_resp_eof(struct h1_resp *r, struct strbuf *why);

/*
 * An HTTP-date (RFC 9110 5.6.7): the IMF-fixdate "Sun, 06 Nov 1994
 * 08:49:37 GMT", and the obsolete forms a recipient still accepts, RFC 850
 * "Sunday, 06-Nov-94 08:49:37 GMT" and asctime "Sun Nov  6 08:49:37 1994";
 * blanks around it are allowed. The time, or -1 for anything else.
 */
time_t h1_parse_date(const char *s);

#endif
