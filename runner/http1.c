#define _XOPEN_SOURCE 700 /* strptime */
/*
 * http1: the wire format of the plain-http request path (see http1.h).
 */
#include "http1.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

/* ------------------------------------------------------------------ URLs */

static int is_host_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_';
}

static int is_v6_char(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
	       c == ':' || c == '.';
}

/* the host at *p (plain or bracketed), copied into u; *p moved past it */
static int parse_host(const char **p, struct h1_url *u)
{
	const char *s = *p, *end;
	size_t n;

	u->host_is_v6 = *s == '[';
	if (u->host_is_v6) {
		for (end = ++s; is_v6_char((unsigned char)*end); end++)
			;
		if (*end != ']')
			return -1;
		*p = end + 1;
	} else {
		for (end = s; is_host_char((unsigned char)*end); end++)
			;
		*p = end;
	}
	n = (size_t)(end - s);
	if (!n || n >= sizeof(u->host))
		return -1;
	memcpy(u->host, s, n);
	u->host[n] = '\0';
	return 0;
}

/* ":port" at *p when there is one (1..65535, digits only); *p moved past it */
static int parse_port(const char **p, struct h1_url *u)
{
	const char *s = *p;
	unsigned long port = 0;

	u->port = 80;
	if (*s != ':')
		return 0;
	for (s++; *s >= '0' && *s <= '9'; s++) {
		port = port * 10 + (unsigned long)(*s - '0');
		if (port > 65535)
			return -1;
	}
	if (s == *p + 1 || !port)
		return -1;
	u->port = (unsigned short)port;
	*p = s;
	return 0;
}

/*
 * A "." or ".." segment in the path: libcurl removes those before it sends
 * the request, so such a URL is left to it rather than sent differently.
 */
static int has_dot_segment(const char *path, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t start = ++i; /* past the '/' */

		while (i < len && path[i] != '/')
			i++;
		if ((i - start == 1 && path[start] == '.') ||
		    (i - start == 2 && path[start] == '.' && path[start + 1] == '.'))
			return 1;
	}
	return 0;
}

int h1_url_parse(const char *url, struct h1_url *u)
{
	const char *p = url, *t;
	size_t path_len;

	if (strncasecmp(p, "http://", 7))
		return -1;
	p += 7;
	if (parse_host(&p, u) || parse_port(&p, u))
		return -1;
	/* the authority ends here: anything else ("user@", a bad character) is not ours */
	if (*p && *p != '/' && *p != '?' && *p != '#')
		return -1;
	/*
	 * Controls, spaces and bytes past ASCII are left to libcurl too, which
	 * refuses or encodes them; its answer, not a second opinion, counts.
	 */
	for (t = p; *t && *t != '#'; t++)
		if ((unsigned char)*t <= 0x20 || (unsigned char)*t >= 0x7f)
			return -1;
	if (*p == '?')
		return -1; /* a query without a path: libcurl adds the '/' */
	if (*p != '/') {
		u->target = "/";
		u->target_len = 1;
		return 0;
	}
	u->target = p;
	u->target_len = (size_t)(t - p);
	path_len = strcspn(p, "?#");
	if (has_dot_segment(p, path_len))
		return -1;
	return 0;
}

/* ------------------------------------------------------- the request head */

/* the default headers a caller's line may replace, in the order they are written */
enum {
	H1_HOST = 1u << 0,
	H1_USER_AGENT = 1u << 1,
	H1_ACCEPT = 1u << 2,
	H1_CONTENT_TYPE = 1u << 3,
	H1_CONTENT_LENGTH = 1u << 4,
};

static const struct {
	const char *name;
	size_t len;
	unsigned bit;
} h1_defaults[] = {
	{ "Host", 4, H1_HOST },
	{ "User-Agent", 10, H1_USER_AGENT },
	{ "Accept", 6, H1_ACCEPT },
	{ "Content-Type", 12, H1_CONTENT_TYPE },
	{ "Content-Length", 14, H1_CONTENT_LENGTH },
};

void h1_head_begin(struct h1_head *h, struct strbuf *sb, const char *method,
		   const struct h1_url *u)
{
	h->sb = sb;
	h->have = 0;
	strbuf_addstr(sb, method);
	strbuf_addch(sb, ' ');
	strbuf_add(sb, u->target, u->target_len);
	strbuf_add(sb, " HTTP/1.1\r\n", 11);
}

/* which default the line names, as libcurl's Curl_checkheaders() sees it: "Name" then ':' or ';' */
static unsigned default_named(const char *line)
{
	int first = line[0] | 0x20; /* lower case, for the cheap test first */
	size_t i;

	for (i = 0; i < sizeof(h1_defaults) / sizeof(h1_defaults[0]); i++) {
		size_t n = h1_defaults[i].len;

		if (first == (h1_defaults[i].name[0] | 0x20) &&
		    !strncasecmp(line, h1_defaults[i].name, n) &&
		    (line[n] == ':' || line[n] == ';'))
			return h1_defaults[i].bit;
	}
	return 0;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/*
 * libcurl's Curl_add_custom_headers(): a line with a colon is sent when
 * something follows the colon; without a colon, "Name;" (nothing after the
 * semicolon) is sent as "Name:"; anything else is not sent.
 */
void h1_head_header(struct h1_head *h, const char *line)
{
	const char *colon = strchr(line, ':'), *v;

	h->have |= default_named(line);
	if (!colon) {
		const char *semi = strchr(line, ';');

		if (!semi || semi == line || semi[1])
			return;
		strbuf_add(h->sb, line, (size_t)(semi - line));
		strbuf_add(h->sb, ":\r\n", 3);
		return;
	}
	if (colon == line)
		return;
	for (v = colon + 1; *v && is_space(*v); v++)
		;
	if (!*v)
		return;
	strbuf_addstr(h->sb, line);
	strbuf_add(h->sb, "\r\n", 2);
}

/* n in decimal: a printf per request would cost more than the rest of the head together */
static void add_decimal(struct strbuf *sb, unsigned long long n)
{
	char digits[24], *p = digits + sizeof(digits);

	do
		*--p = (char)('0' + n % 10);
	while (n /= 10);
	strbuf_add(sb, p, (size_t)(digits + sizeof(digits) - p));
}

void h1_head_end(struct h1_head *h, const struct h1_url *u, const char *user_agent,
		 int has_body, size_t body_len)
{
	struct strbuf *sb = h->sb;

	if (!(h->have & H1_HOST)) {
		strbuf_add(sb, "Host: ", 6);
		if (u->host_is_v6)
			strbuf_addch(sb, '[');
		strbuf_addstr(sb, u->host);
		if (u->host_is_v6)
			strbuf_addch(sb, ']');
		if (u->port != 80) {
			strbuf_addch(sb, ':');
			add_decimal(sb, u->port);
		}
		strbuf_add(sb, "\r\n", 2);
	}
	if (!(h->have & H1_USER_AGENT) && user_agent) {
		strbuf_add(sb, "User-Agent: ", 12);
		strbuf_addstr(sb, user_agent);
		strbuf_add(sb, "\r\n", 2);
	}
	if (!(h->have & H1_ACCEPT))
		strbuf_add(sb, "Accept: */*\r\n", 13);
	if (has_body && !(h->have & H1_CONTENT_LENGTH)) {
		strbuf_add(sb, "Content-Length: ", 16);
		add_decimal(sb, body_len);
		strbuf_add(sb, "\r\n", 2);
	}
	if (has_body && !(h->have & H1_CONTENT_TYPE))
		strbuf_addstr(sb, "Content-Type: application/x-www-form-urlencoded\r\n");
	strbuf_add(sb, "\r\n", 2);
}

/* ------------------------------------------------------------- the reply */

enum h1_state {
	S_STATUS,        /* the status line of a reply (interim or final) */
	S_HEADER_1XX,    /* header lines of an interim reply: passed on, not read */
	S_HEADER,        /* header lines of the final reply */
	S_BODY_LENGTH,   /* length bytes of body left */
	S_BODY_CLOSE,    /* body until the server closes */
	S_CHUNK_SIZE,    /* a chunk's size line */
	S_CHUNK_DATA,    /* length bytes of the chunk left */
	S_CHUNK_END,     /* the line end after a chunk's data */
	S_TRAILER,       /* trailer lines after the last chunk, up to a blank line */
	S_DONE,
	S_FAILED,
};

void h1_resp_init(struct h1_resp *r, int head_only)
{
	memset(r, 0, sizeof(*r));
	r->state = S_STATUS;
	r->head_only = head_only;
}

void h1_resp_release(struct h1_resp *r)
{
	if (r->line) {
		strbuf_release(r->line);
		free(r->line);
		r->line = NULL;
	}
}

/* what one feed is working on */
struct h1_feed {
	struct h1_resp *r;
	int (*on_header)(const char *line, size_t len, void *arg);
	int (*on_body)(const char *data, size_t len, void *arg);
	void *arg;
	struct strbuf *why;
};

static int fail(struct h1_feed *f, const char *what)
{
	f->r->state = S_FAILED;
	if (f->why)
		strbuf_addstr(f->why, what);
	return -1;
}

/* a line's content: without its LF and the CR before it */
static size_t content_len(const char *line, size_t len)
{
	if (len && line[len - 1] == '\n')
		len--;
	if (len && line[len - 1] == '\r')
		len--;
	return len;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* "HTTP/1.x NNN[ reason]" */
static int take_status(struct h1_feed *f, const char *l, size_t len)
{
	struct h1_resp *r = f->r;
	long status;

	len = content_len(l, len);
	if (len < 12 || memcmp(l, "HTTP/1.", 7) || !is_digit(l[7]) || l[8] != ' ' ||
	    !is_digit(l[9]) || !is_digit(l[10]) || !is_digit(l[11]) || (len > 12 && l[12] != ' '))
		return fail(f, "bad status line");
	status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
	if (status < 100)
		return fail(f, "bad status line");
	if (status == 101)
		return fail(f, "unexpected 101 switching protocols");
	if (status < 200) {
		r->state = S_HEADER_1XX;
		return 0;
	}
	r->status = status;
	r->http10 = l[7] == '0';
	r->state = S_HEADER;
	return 0;
}

/* each comma-separated element of a header value, without the spaces around it */
static int next_element(const char **p, const char *end, const char **el, size_t *n)
{
	const char *s = *p, *e;

	while (s < end && (*s == ' ' || *s == '\t' || *s == ','))
		s++;
	if (s == end)
		return 0;
	for (e = s; e < end && *e != ','; e++)
		;
	*p = e;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*el = s;
	*n = (size_t)(e - s);
	return 1;
}

static int element_is(const char *el, size_t n, const char *word)
{
	return strlen(word) == n && !strncasecmp(el, word, n);
}

/* Content-Length: digits, possibly "5, 5"; every value given must be the same */
static int take_length(struct h1_feed *f, const char *v, const char *end)
{
	struct h1_resp *r = f->r;
	const char *s = v;

	for (;;) {
		unsigned long long n = 0;

		while (s < end && (*s == ' ' || *s == '\t'))
			s++;
		if (s == end || !is_digit(*s))
			return fail(f, "bad Content-Length");
		for (; s < end && is_digit(*s); s++) {
			if (n > (~0ULL - 9) / 10)
				return fail(f, "bad Content-Length");
			n = n * 10 + (unsigned long long)(*s - '0');
		}
		while (s < end && (*s == ' ' || *s == '\t'))
			s++;
		if (r->have_length && r->length != n)
			return fail(f, "conflicting Content-Length");
		r->have_length = 1;
		r->length = n;
		if (s == end)
			return 0;
		if (*s++ != ',')
			return fail(f, "bad Content-Length");
	}
}

/* Transfer-Encoding: "chunked" is all we decode, and it must be the only coding */
static int take_coding(struct h1_feed *f, const char *v, const char *end)
{
	struct h1_resp *r = f->r;
	const char *el;
	size_t n;
	int any = 0;

	while (next_element(&v, end, &el, &n)) {
		if (r->chunked || !element_is(el, n, "chunked"))
			return fail(f, "unsupported Transfer-Encoding");
		r->chunked = 1;
		any = 1;
	}
	if (!any)
		return fail(f, "unsupported Transfer-Encoding");
	return 0;
}

static void take_connection(struct h1_resp *r, const char *v, const char *end)
{
	const char *el;
	size_t n;

	while (next_element(&v, end, &el, &n)) {
		if (element_is(el, n, "close"))
			r->conn_close = 1;
		else if (element_is(el, n, "keep-alive"))
			r->conn_keep = 1;
	}
}

static void take_encoding(struct h1_resp *r, const char *v, const char *end)
{
	const char *el;
	size_t n;

	while (next_element(&v, end, &el, &n))
		if (!element_is(el, n, "identity"))
			r->encoded = 1;
}

/* "Name: value": checked always, read only in the final reply's head */
static int take_field(struct h1_feed *f, const char *l, size_t len, int read)
{
	const char *colon = memchr(l, ':', len), *v, *end = l + len;
	size_t i, name_len;

	if (l[0] == ' ' || l[0] == '\t')
		return fail(f, "folded header line");
	if (!colon || colon == l)
		return fail(f, "bad header line");
	name_len = (size_t)(colon - l);
	for (i = 0; i < name_len; i++)
		if ((unsigned char)l[i] <= 0x20 || (unsigned char)l[i] >= 0x7f)
			return fail(f, "bad header line");
	if (!read)
		return 0;
	v = colon + 1;
	switch (name_len) {
	case 10:
		if (!strncasecmp(l, "connection", 10))
			take_connection(f->r, v, end);
		break;
	case 14:
		if (!strncasecmp(l, "content-length", 14))
			return take_length(f, v, end);
		break;
	case 16:
		if (!strncasecmp(l, "content-encoding", 16))
			take_encoding(f->r, v, end);
		break;
	case 17:
		if (!strncasecmp(l, "transfer-encoding", 17))
			return take_coding(f, v, end);
		break;
	}
	return 0;
}

/* the blank line ending the final reply's head: how its body is framed (RFC 9112 6.3) */
static void head_done(struct h1_resp *r)
{
	r->keep_alive = r->http10 ? r->conn_keep && !r->conn_close : !r->conn_close;
	if (r->head_only || r->status == 204 || r->status == 304) {
		r->state = S_DONE;
	} else if (r->chunked) {
		/* a length beside chunked may be a smuggling attempt: not trusted again */
		if (r->have_length)
			r->keep_alive = 0;
		r->state = S_CHUNK_SIZE;
	} else if (r->have_length) {
		r->state = r->length ? S_BODY_LENGTH : S_DONE;
	} else {
		r->until_close = 1;
		r->keep_alive = 0;
		r->state = S_BODY_CLOSE;
	}
	if (r->state == S_DONE)
		r->done = 1;
}

/* a line of the head: the status line, a header line or the blank line */
static int take_head_line(struct h1_feed *f, const char *l, size_t len)
{
	struct h1_resp *r = f->r;
	size_t n = content_len(l, len);
	int state = r->state;

	if (memchr(l, '\0', len))
		return fail(f, "NUL byte in the reply head");
	r->header_bytes += len;
	if (r->header_bytes > H1_HEADERS_MAX)
		return fail(f, "reply head too large");
	if (state == S_STATUS) {
		if (take_status(f, l, len))
			return -1;
	} else if (n && take_field(f, l, n, state == S_HEADER)) {
		return -1;
	}
	if (f->on_header && f->on_header(l, len, f->arg))
		return -2;
	if (n || state == S_STATUS)
		return 0;
	if (state == S_HEADER_1XX)
		r->state = S_STATUS;
	else
		head_done(r);
	return 0;
}

/* "hex[ ][;ext]": a chunk's size */
static int take_chunk_size(struct h1_feed *f, const char *l, size_t len)
{
	struct h1_resp *r = f->r;
	unsigned long long n = 0;
	size_t i;

	len = content_len(l, len);
	for (i = 0; i < len; i++) {
		int c = lower((unsigned char)l[i]), d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else
			break;
		if (n >> 60)
			return fail(f, "bad chunk size");
		n = n << 4 | (unsigned long long)d;
	}
	if (!i)
		return fail(f, "bad chunk size");
	while (i < len && (l[i] == ' ' || l[i] == '\t'))
		i++;
	if (i < len && l[i] != ';')
		return fail(f, "bad chunk size");
	r->length = n;
	r->state = n ? S_CHUNK_DATA : S_TRAILER;
	return 0;
}

/* a complete line (with its LF) in the state that reads lines */
static int take_line(struct h1_feed *f, const char *l, size_t len)
{
	struct h1_resp *r = f->r;

	switch (r->state) {
	case S_CHUNK_SIZE:
		return take_chunk_size(f, l, len);
	case S_CHUNK_END:
		if (content_len(l, len))
			return fail(f, "bad chunk end");
		r->state = S_CHUNK_SIZE;
		return 0;
	case S_TRAILER:
		/* trailers are dropped; they count against the head's limit all the same */
		r->header_bytes += len;
		if (r->header_bytes > H1_HEADERS_MAX)
			return fail(f, "reply trailers too large");
		if (!content_len(l, len)) {
			r->state = S_DONE;
			r->done = 1;
		}
		return 0;
	default:
		return take_head_line(f, l, len);
	}
}

/*
 * The next line from buf at *pos. A line complete in buf is taken where it
 * lies; only one cut by the end of a read is copied, to be completed by the
 * next. 1 when the rest of buf went into the carried part.
 */
static int next_line(struct h1_feed *f, const char *buf, size_t len, size_t *pos)
{
	struct h1_resp *r = f->r;
	const char *s = buf + *pos, *nl = memchr(s, '\n', len - *pos);
	size_t carried = r->line ? r->line->len : 0, n;
	int rc;

	if (!nl) {
		n = len - *pos;
		if (carried + n >= H1_HEADER_LINE_MAX)
			return fail(f, "header line too long");
		if (!r->line) {
			r->line = xmalloc(sizeof(*r->line));
			strbuf_init(r->line, 0);
		}
		strbuf_add(r->line, s, n);
		*pos = len;
		return 1;
	}
	n = (size_t)(nl - s) + 1;
	if (carried + n > H1_HEADER_LINE_MAX)
		return fail(f, "header line too long");
	*pos += n;
	if (!carried)
		return take_line(f, s, n);
	strbuf_add(r->line, s, n);
	rc = take_line(f, r->line->buf, r->line->len);
	strbuf_reset(r->line);
	return rc;
}

/* body bytes at *pos, at most the length left when limited */
static int take_body(struct h1_feed *f, const char *buf, size_t len, size_t *pos, int limited)
{
	struct h1_resp *r = f->r;
	size_t n = len - *pos;

	if (limited && n > r->length)
		n = (size_t)r->length;
	if (f->on_body && f->on_body(buf + *pos, n, f->arg))
		return -2;
	*pos += n;
	if (!limited)
		return 0;
	r->length -= n;
	if (r->length)
		return 0;
	if (r->state == S_CHUNK_DATA) {
		r->state = S_CHUNK_END;
	} else {
		r->state = S_DONE;
		r->done = 1;
	}
	return 0;
}

ssize_t h1_resp_feed(struct h1_resp *r, const char *buf, size_t len,
		     int (*on_header)(const char *line, size_t len, void *arg),
		     int (*on_body)(const char *data, size_t len, void *arg), void *arg,
		     struct strbuf *why)
{
	struct h1_feed f = { r, on_header, on_body, arg, why };
	size_t pos = 0;
	int rc = 0;

	if (r->state == S_FAILED)
		return fail(&f, "the reply was already malformed");
	while (pos < len && r->state != S_DONE) {
		switch (r->state) {
		case S_BODY_LENGTH:
		case S_CHUNK_DATA:
			rc = take_body(&f, buf, len, &pos, 1);
			break;
		case S_BODY_CLOSE:
			rc = take_body(&f, buf, len, &pos, 0);
			break;
		default:
			rc = next_line(&f, buf, len, &pos);
			if (rc > 0)
				rc = 0;
			break;
		}
		if (rc)
			return rc;
	}
	return (ssize_t)pos;
}

int h1_resp_eof(struct h1_resp *r, struct strbuf *why)
{
	const char *what;

	switch (r->state) {
	case S_DONE:
		return 0;
	case S_BODY_CLOSE:
		r->state = S_DONE;
		r->done = 1;
		r->keep_alive = 0;
		return 0;
	case S_STATUS:
		if (!r->header_bytes && (!r->line || !r->line->len)) {
			what = "empty reply from server";
			break;
		}
		/* fall through */
	default:
		what = "connection closed before the reply was complete";
		break;
	}
	if (why)
		strbuf_addstr(why, what);
	return -1;
}

time_t h1_parse_date(const char *s)
{
	/* strptime's names are the C locale's, as the run sets it (LC_ALL=C) */
	static const char *const forms[] = {
		"%a, %d %b %Y %H:%M:%S GMT",    /* IMF-fixdate */
		"%A, %d-%b-%y %H:%M:%S GMT",    /* RFC 850 */
		"%a %b %e %H:%M:%S %Y",         /* asctime */
	};
	size_t i;

	if (!s)
		return -1;
	while (*s == ' ' || *s == '\t')
		s++;
	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		struct tm tm;
		const char *end;

		memset(&tm, 0, sizeof(tm));
		end = strptime(s, forms[i], &tm);
		if (!end)
			continue;
		while (*end == ' ' || *end == '\t')
			end++;
		if (!*end)
			return timegm(&tm);
	}
	return -1;
}
