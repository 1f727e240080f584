/*
 * gateway: chat/completions over one curl multi handle.
 *
 * A request is always in exactly one place: the ready queue (FIFO), a slot
 * (running), the retry timer list (sorted by not_before) or the done list
 * (finished, handed back at the end of gateway_poll()). The lists are linked
 * through req->next. Transfers are driven by curl_multi_socket_action on
 * the sockets an epoll set finds ready and on curl's timer ("event loop"). Slots own the easy handles; connections live in the
 * multi handle's cache, so a slot's next transfer reuses a warm connection.
 *
 * Plain http:// requests (unless gateway.http_client is "libcurl" or a
 * proxy is set in the environment) take the built-in path instead: each
 * slot keeps one keep-alive connection of its own in the same epoll set,
 * writes the request head (http1.h) and body with one sendmsg and reads the
 * reply through the same header and body callbacks libcurl calls, so both
 * paths end in finish_attempt() with a CURLcode. libcurl's per-request work
 * (header building, the connection-liveness poll, its state machine) was
 * the largest share of the CPU a case costs. The multi handle is made only
 * when a request needs libcurl (https, a proxy).
 *
 * A slot's header list is a copy of one route's fixed headers (the
 * gateway's own for chat/completions) plus a per-request tail; a slot that
 * takes a request of another route rebuilds it.
 *
 * The API key exists only inside the "Authorization: Bearer" entries of the
 * gateway's header lists, a route's secrets only in its header lists and
 * its target. Every error string is passed through redact() before it is
 * stored or printed, in case a server echoes a secret back.
 */
#include "gateway.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "curl_load.h"
#include "error.h"
#include "escape.h"
#include "http1.h"
#include "ratelimit.h"
#include "sse.h"
#include "strbuf.h"
#include "utf8.h"
#include "xalloc.h"
#include "banned.h"

#define GW_DEFAULT_TIMEOUT_S 60.0
#define GW_DEFAULT_CONCURRENCY 32
#define GW_MAX_CONCURRENCY 1024
#define GW_DEFAULT_MAX_BODY ((size_t)16 << 20)
#define GW_CONNECT_TIMEOUT_MS 10000L
#define GW_RETRY_AFTER_MAX_MS 120000L
#define GW_BACKOFF_BASE_MS 500L
#define GW_BACKOFF_CAP_MS 8000L
#define GW_MSG_MAX 300           /* bytes of a gateway message kept in an error */
#define GW_KEEP_BODY_ALLOC 65536 /* a slot keeps at most this much body storage */
#define GW_HDR_VALUE_MAX 64
#define GW_LOCATION_MAX 256      /* bytes of a redirect's Location kept for its error */
#define GW_SECRET_MIN 4          /* shortest route secret redacted from errors */
#define GW_PIECE_MIN 8           /* shortest piece of a secret redacted from errors */
#define GW_MAX_SECRETS 16        /* route secrets redacted from a reply's message */
#define GW_BYTES_PER_TOKEN 4     /* a request's tokens, estimated from its body for tpm */
#define GW_MAX_EVENTS 128        /* descriptors served per epoll_wait */
#define GW_FRESH_PER_TURN 8      /* slots started on a new handle (connection) per turn */
#define GW_IDLE_WAIT_MS 1000     /* longest sleep of gateway_poll(-1) between checks */
#define GW_READ_BUF 65536        /* the plain path's read buffer, shared by its connections */
#define GW_MAX_ADDRS 8           /* addresses of a host the plain path tries */
#define GW_RESOLVE_TTL_S 60.0    /* a host's addresses are looked up again after this */

#define AUTH_PREFIX "Authorization: Bearer "

/* header lines in libcurl's CURLOPT_HTTPHEADER form ("Name: value", "Name;", "Name:"), owned */
struct gw_hdrs {
	char **line;
	size_t n;
	size_t alloc;
};

struct gw_route {
	const struct target *target;     /* borrowed: its type reads the replies */
	struct gw_hdrs fixed;            /* the headers of every request of the route */
	const char *const *secrets;      /* borrowed from the target: redacted from errors */
	size_t n_secrets;
	struct gw_route *next;           /* the gateway's list */
};

struct gw_slot {
	CURL *easy;                      /* created on first use, then reused */
	struct gw_request *req;          /* the running request, or NULL when free */
	struct curl_slist *headers;      /* this slot's copy of the fixed headers + per-request tail */
	struct curl_slist *fixed_tail;   /* last fixed entry; per-request entries follow it */
	const struct gw_route *route;    /* whose fixed headers are in headers (NULL: the gateway's) */
	int custom_url;                  /* the handle's URL is a request's own, not gw->url */
	int get;                         /* the handle is set for a GET */
	char location[GW_LOCATION_MAX];  /* Location of a redirect, or "" */
	struct strbuf body;              /* the reply body, max = max_response_bytes */
	int too_big;                     /* the body went past max_response_bytes */
	int should_retry;                /* x-should-retry: -1 absent, 0 false, 1 true */
	char retry_after[GW_HDR_VALUE_MAX];    /* Retry-After value, or "" */
	char retry_after_ms[GW_HDR_VALUE_MAX]; /* retry-after-ms value, or "" */
	char errbuf[CURL_ERROR_SIZE];    /* curl's description of a failure */
	char content_type[GW_HDR_VALUE_MAX]; /* Content-Type of the reply, or "" */
	int sse;                         /* 1: the reply is read as a stream, 0: not, -1: no body yet */
	struct sse_stream stream;        /* a streamed reply read so far */
	double sent_at;                  /* monotonic seconds: the request went out on its connection */
	int sends;                       /* times curl put this attempt's request on the wire */
	struct rl_hint hint;             /* the reply's x-ratelimit-* headers */
	long status;                     /* the reply's status line, 0: none yet */
	struct gw_slot *next_free;       /* free-slot stack */

	/* the built-in path: the slot's own keep-alive connection */
	int h1;                          /* the running attempt is on fd, not on easy */
	int fd;                          /* the connection, -1: none */
	enum { H1_IDLE, H1_CONNECTING, H1_SENDING, H1_READING } phase;
	struct gw_origin *origin;        /* whom fd is connected (or connecting) to */
	int addr_i;                      /* the origin's address being connected to */
	int addr_tries;                  /* addresses tried for this connection */
	int replies;                     /* replies fd has carried: > 0 is a reused connection */
	int got_reply;                   /* a byte of this attempt's reply arrived */
	int resent;                      /* the attempt went out again after a reused connection died */
	struct strbuf head;              /* the request head (holds the key: wiped at the end) */
	size_t sent;                     /* bytes of head and body written */
	struct h1_resp resp;
	double started;                  /* monotonic: the attempt began (its latency) */
	double deadline;                 /* monotonic: the attempt times out */
	double connect_deadline;         /* monotonic: the connection must be up */
};

/* a host and port of the built-in path, looked up once a minute at most */
struct gw_origin {
	char host[H1_HOST_MAX];
	unsigned short port;
	int n_addrs;
	int good;                        /* the address that connected last: tried first */
	double resolved_at;
	struct sockaddr_storage addr[GW_MAX_ADDRS];
	socklen_t addr_len[GW_MAX_ADDRS];
	struct gw_origin *next;
};


/* a socket of curl's in the epoll set, indexed by its descriptor */
struct gw_fd {
	uint32_t curl;                   /* EPOLLIN/EPOLLOUT curl asked for, 0: none */
	uint32_t in_set;                 /* events registered in the epoll set, 0: not in it */
	uint32_t gen;                    /* bumped at each registration: tells stale events apart */
	struct gw_slot *own;             /* a built-in connection's slot, or NULL: curl's socket */
};

/* one pool of requests: its queue, what runs and its adaptive limit */
struct gw_pool_state {
	struct gw_list queue;            /* ready to start, FIFO */
	size_t running;                  /* in slots now */
	struct rl_pool rl;               /* the allowed concurrency and the timeline */
};

struct gateway {
	CURLM *multi;                    /* made when a request first needs libcurl */
	char *url;                       /* {base_url}/chat/completions */
	struct h1_url h1_url;            /* url parsed for the built-in path */
	int h1_default;                  /* url goes the built-in path */
	int builtin;                     /* plain http:// goes the built-in path */
	struct gw_origin *origins;       /* the built-in path's hosts */
	double h1_check;                 /* monotonic: look for timed-out built-in attempts, -1: none */
	char *rbuf;                      /* the built-in path's read buffer (GW_READ_BUF) */
	struct gw_hdrs fixed;            /* headers shared by every request, key included */
	const char *key;                 /* points into fixed's Authorization entry, or NULL */
	long timeout_ms;
	long connect_timeout_ms;
	int max_retries;
	size_t max_body;
	double rps;                      /* 0: no limit */
	double tokens;                   /* rate limiter bucket, at most 1 */
	double tokens_at;                /* monotonic time of the last refill */
	uint64_t rng;                    /* xorshift64* state, never 0 */

	struct gw_route *routes;         /* made by gateway_route_new */
	struct gw_slot *slots;
	size_t n_slots;
	struct gw_slot *free_slots;
	size_t running;

	struct gw_pool_state pools[GW_N_POOLS];
	struct rl_bucket rpm;            /* requests a minute, both pools */
	struct rl_bucket tpm;            /* tokens a minute, both pools */
	double rl_next;                  /* when a pool held by a limit may start again, or -1 */
	struct gw_request *waiting;      /* retry timers, sorted by not_before */
	struct gw_list done;             /* finished, handed back by gateway_poll */
	size_t outstanding;
	size_t connections;              /* opened so far (CURLINFO_NUM_CONNECTS summed) */
	atomic_int woken;                /* set by gateway_wakeup() */

	int epfd;                        /* the epoll set: curl's sockets and wakefd */
	int wakefd;                      /* eventfd written by gateway_wakeup() */
	double curl_due;                 /* monotonic time curl's timer fires (0: at once), -1: none */
	struct gw_fd *fds;               /* indexed by descriptor */
	size_t alloc_fds;
	struct pollfd *pfds;             /* the epoll descriptor, then the caller's (gateway_poll_fds) */
	size_t alloc_pfds;
};

/* ---------------------------------------------------------------- helpers */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double rng_unit(struct gateway *gw)
{
	uint64_t x = gw->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	gw->rng = x;
	return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

void gw_list_push(struct gw_list *l, struct gw_request *req)
{
	req->next = NULL;
	if (l->tail)
		l->tail->next = req;
	else
		l->head = req;
	l->tail = req;
}

struct gw_request *gw_list_pop(struct gw_list *l)
{
	struct gw_request *req = l->head;

	if (req) {
		l->head = req->next;
		if (!l->head)
			l->tail = NULL;
		req->next = NULL;
	}
	return req;
}

/* the first occurrence of key (klen > 0 bytes) in the n bytes at s, or NULL */
static const char *find_bytes(const char *s, size_t n, const char *key, size_t klen)
{
	const char *p, *end = s + n;

	while ((size_t)(end - s) >= klen && (p = memchr(s, key[0], (size_t)(end - s) - klen + 1))) {
		if (!memcmp(p, key, klen))
			return p;
		s = p + 1;
	}
	return NULL;
}

/* len bytes of s into sb with every occurrence of key (klen bytes) replaced */
static void redact_into(struct strbuf *sb, const char *s, size_t len, const char *key, size_t klen)
{
	const char *p, *end = s + len;

	while (klen && (p = find_bytes(s, (size_t)(end - s), key, klen))) {
		strbuf_add(sb, s, (size_t)(p - s));
		strbuf_addstr(sb, "[redacted]");
		s = p + klen;
	}
	strbuf_add(sb, s, (size_t)(end - s));
}

/* a malloc'd copy of s with every occurrence of key replaced */
static char *redact(const char *key, const char *s)
{
	struct strbuf sb = STRBUF_INIT;

	redact_into(&sb, s, strlen(s), key, key ? strlen(key) : 0);
	return strbuf_detach(&sb, NULL);
}

/*
 * Replace in sb every run of GW_PIECE_MIN or more bytes that is also a piece
 * of key (a key cut by a truncation, or echoed in part), longest first.
 */
static void redact_pieces(struct strbuf *sb, const char *key)
{
	struct strbuf out = STRBUF_INIT;
	size_t klen = key ? strlen(key) : 0, i = 0, j, n, best;

	if (klen < GW_PIECE_MIN)
		return;
	while (i < sb->len) {
		best = 0;
		for (j = 0; j + GW_PIECE_MIN <= klen; j++) {
			for (n = 0; i + n < sb->len && j + n < klen && sb->buf[i + n] == key[j + n]; n++)
				;
			if (n > best)
				best = n;
		}
		if (best >= GW_PIECE_MIN) {
			strbuf_addstr(&out, "[redacted]");
			i += best;
		} else {
			strbuf_addch(&out, sb->buf[i++]);
		}
	}
	strbuf_reset(sb);
	strbuf_add(sb, out.buf, out.len);
	strbuf_release(&out);
}

size_t gw_error_text(struct strbuf *sb, const char *text, size_t len, const char *const *secrets,
		     size_t n_secrets, size_t max)
{
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	size_t i, start = sb->len;

	/* whole secrets first, on the whole text: no cut can split one */
	strbuf_add(&a, text, len);
	for (i = 0; i < n_secrets; i++) {
		size_t k = secrets[i] ? strlen(secrets[i]) : 0;

		if (k < GW_SECRET_MIN)
			continue;
		strbuf_reset(&b);
		redact_into(&b, a.buf, a.len, secrets[i], k);
		strbuf_reset(&a);
		strbuf_add(&a, b.buf, b.len);
	}
	target_add_untrusted(sb, a.buf, a.len, max);
	/* then any piece of one that a cut or an echo left */
	for (i = 0; i < n_secrets; i++)
		redact_pieces(sb, secrets[i]);
	strbuf_release(&a);
	strbuf_release(&b);
	return sb->len - start;
}

/* msg, with key and the request's route's secrets redacted, as req's error */
static void set_error(struct gw_request *req, const char *key, const char *msg)
{
	char *e = redact(key, msg);
	size_t i;

	for (i = 0; req->route && i < req->route->n_secrets; i++) {
		char *r;

		/* a value this short is no secret, and redacting it would garble the message */
		if (strlen(req->route->secrets[i]) < GW_SECRET_MIN)
			continue;
		r = redact(req->route->secrets[i], e);

		free(e);
		e = r;
	}
	{
		struct strbuf sb = STRBUF_INIT;

		strbuf_addstr(&sb, e);
		free(e);
		redact_pieces(&sb, key);
		for (i = 0; req->route && i < req->route->n_secrets; i++)
			redact_pieces(&sb, req->route->secrets[i]);
		e = strbuf_detach(&sb, NULL);
	}
	free(req->error);
	req->error = e;
}

void gw_request_clear(struct gw_request *req)
{
	target_reply_release(&req->reply);
	free(req->error);
	req->error = NULL;
	req->ok = 0;
	req->fatal = 0;
	req->http_status = 0;
	req->latency_ms = 0;
}

/*
 * Parse a non-negative decimal number ("3", "0.25", "1.") followed by nothing
 * but blanks; -1 when s is anything else.
 */
static double parse_decimal(const char *s)
{
	double v = 0, scale = 1;
	int digits = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	for (; *s >= '0' && *s <= '9'; s++, digits++)
		if (v < 1e15)
			v = v * 10 + (*s - '0');
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++, digits++) {
			scale /= 10;
			v += (*s - '0') * scale;
		}
	}
	while (*s == ' ' || *s == '\t')
		s++;
	if (!digits || *s)
		return -1;
	return v;
}

static long ms_from_seconds(double s)
{
	double ms = s * 1000.0;

	if (ms > (double)LONG_MAX / 2)
		return LONG_MAX / 2;
	return (long)(ms + 0.5);
}

/* ------------------------------------------------------------ pure helpers */

long gw_parse_retry_after(const char *value, time_t now)
{
	double secs;
	time_t t;

	if (!value)
		return -1;
	while (*value == ' ' || *value == '\t')
		value++;
	if (!*value || *value == '-' || *value == '+')
		return -1;
	secs = parse_decimal(value);
	if (secs >= 0)
		return ms_from_seconds(secs);
	t = h1_parse_date(value);
	if (t == -1)
		return -1;
	if (t <= now)
		return 0;
	return ms_from_seconds(difftime(t, now));
}

long gw_backoff_ms(int attempt, double u)
{
	long cap = GW_BACKOFF_BASE_MS;
	int i;

	for (i = 1; i < attempt && cap < GW_BACKOFF_CAP_MS; i++)
		cap *= 2;
	if (cap > GW_BACKOFF_CAP_MS)
		cap = GW_BACKOFF_CAP_MS;
	if (!(u >= 0))
		u = 0;
	if (u >= 1)
		u = 0.999999;
	return (long)(u * (double)cap);
}

int gw_status_retryable(long status)
{
	return status == 408 || status == 409 || status == 429 || status >= 500;
}

int gw_parse_reply(struct gw_request *req, const char *body, size_t len)
{
	struct strbuf msg = STRBUF_INIT;

	strbuf_addstr(&msg, "invalid reply: ");
	if (chat_parse_reply(body, len, &req->reply, &msg) == TARGET_REPLY_OK) {
		strbuf_release(&msg);
		return 0;
	}
	free(req->error);
	req->error = strbuf_detach(&msg, NULL);
	return -1;
}

/*
 * A reply read whole (req->raw): any JSON object, its usage.prompt_tokens
 * counted. Anything else may be a cut transfer and is retried.
 */
static enum target_parse raw_parse_reply(const char *body, size_t len, struct target_reply *out,
					 struct strbuf *why)
{
	cJSON *root = cJSON_ParseWithLength(body, len);
	const cJSON *usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
	const cJSON *pt = cJSON_GetObjectItemCaseSensitive(usage, "prompt_tokens");
	enum target_parse rc = TARGET_REPLY_RETRY;

	if (!cJSON_IsObject(root)) {
		strbuf_addstr(why, "the reply is not a JSON object");
		goto out;
	}
	out->output = xstrndup(body, len);
	out->output_len = len;
	if (cJSON_IsNumber(pt) && pt->valuedouble >= 0)
		out->prompt_tokens = (long)pt->valuedouble;
	rc = TARGET_REPLY_OK;
out:
	cJSON_Delete(root);
	return rc;
}

/*
 * The message of a gateway's error reply, sanitized, with the gateway's key
 * and the route's secrets redacted before it is cut; NULL for an empty body.
 */
static char *error_message(const struct gateway *gw, const struct gw_request *req,
			   const char *body, size_t len)
{
	const char *secrets[GW_MAX_SECRETS + 1];
	size_t n_secrets = 0, i;
	struct strbuf sb = STRBUF_INIT;
	const cJSON *m = NULL;
	cJSON *root;

	if (!len)
		return NULL;
	root = cJSON_ParseWithLength(body, len);
	if (cJSON_IsObject(root)) {
		const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");

		if (cJSON_IsString(err))
			m = err;
		else if (cJSON_IsObject(err))
			m = cJSON_GetObjectItemCaseSensitive(err, "message");
		if (!cJSON_IsString(m))
			m = cJSON_GetObjectItemCaseSensitive(root, "message");
		if (!cJSON_IsString(m) || !*m->valuestring)
			m = NULL;
	}
	if (gw->key)
		secrets[n_secrets++] = gw->key;
	for (i = 0; req->route && i < req->route->n_secrets && n_secrets < GW_MAX_SECRETS + 1; i++)
		secrets[n_secrets++] = req->route->secrets[i];
	if (m)
		gw_error_text(&sb, m->valuestring, strlen(m->valuestring), secrets, n_secrets,
			      GW_MSG_MAX);
	else
		gw_error_text(&sb, body, len, secrets, n_secrets, GW_MSG_MAX);
	cJSON_Delete(root);
	if (!sb.len) {
		strbuf_release(&sb);
		return NULL;
	}
	return strbuf_detach(&sb, NULL);
}

/* ------------------------------------------------------------- callbacks */

/* a streamed request's 2xx text/event-stream reply is read as events as it arrives */
static int stream_reply(struct gw_slot *slot)
{
	long status = slot->status;

	if (!slot->req || !slot->req->stream)
		return 0;
	return status >= 200 && status < 300 &&
	       !strncasecmp(slot->content_type, "text/event-stream", 17);
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct gw_slot *slot = userdata;
	size_t n = size * nmemb;

	if (slot->sse < 0)
		slot->sse = stream_reply(slot);
	if (slot->sse) {
		if (slot->too_big || sse_stream_feed(&slot->stream, ptr, n, now_s())) {
			slot->too_big = 1;
			return 0;
		}
		return n;
	}

	if (slot->too_big || n > slot->body.max - slot->body.len) {
		slot->too_big = 1;
		strbuf_release(&slot->body);
		return 0;
	}
	strbuf_add(&slot->body, ptr, n);
	return n;
}

static void copy_header_value(char *dst, size_t size, const char *v, size_t len)
{
	while (len && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	while (len && (v[len - 1] == ' ' || v[len - 1] == '\t' ||
		       v[len - 1] == '\r' || v[len - 1] == '\n'))
		len--;
	if (len >= size)
		len = size - 1;
	memcpy(dst, v, len);
	dst[len] = '\0';
}

static int header_is(const char *line, size_t name_len, const char *name)
{
	return strlen(name) == name_len && !strncasecmp(line, name, name_len);
}

static size_t on_header(char *line, size_t size, size_t nitems, void *userdata)
{
	struct gw_slot *slot = userdata;
	size_t n = size * nitems;
	const char *colon;
	char value[GW_HDR_VALUE_MAX];

	if (n >= 5 && !memcmp(line, "HTTP/", 5)) {
		const char *sp = memchr(line, ' ', n);

		slot->status = sp && (size_t)(sp - line) + 4 <= n ? strtol(sp + 1, NULL, 10) : 0;
		/* a new response (after a 100 Continue): forget the previous one's */
		slot->retry_after[0] = '\0';
		slot->retry_after_ms[0] = '\0';
		slot->location[0] = '\0';
		slot->content_type[0] = '\0';
		slot->should_retry = -1;
		rl_hint_init(&slot->hint);
		return n;
	}
	colon = memchr(line, ':', n);
	if (!colon)
		return n;
	if (header_is(line, (size_t)(colon - line), "retry-after")) {
		copy_header_value(slot->retry_after, sizeof(slot->retry_after), colon + 1,
				  n - (size_t)(colon - line) - 1);
	} else if (header_is(line, (size_t)(colon - line), "retry-after-ms")) {
		copy_header_value(slot->retry_after_ms, sizeof(slot->retry_after_ms), colon + 1,
				  n - (size_t)(colon - line) - 1);
	} else if (header_is(line, (size_t)(colon - line), "x-should-retry")) {
		copy_header_value(value, sizeof(value), colon + 1, n - (size_t)(colon - line) - 1);
		if (!strcasecmp(value, "true"))
			slot->should_retry = 1;
		else if (!strcasecmp(value, "false"))
			slot->should_retry = 0;
	} else if (header_is(line, (size_t)(colon - line), "location")) {
		copy_header_value(slot->location, sizeof(slot->location), colon + 1,
				  n - (size_t)(colon - line) - 1);
	} else if (header_is(line, (size_t)(colon - line), "content-type")) {
		copy_header_value(slot->content_type, sizeof(slot->content_type), colon + 1,
				  n - (size_t)(colon - line) - 1);
	} else {
		rl_hint_header(&slot->hint, line, (size_t)(colon - line), colon + 1,
			       n - (size_t)(colon - line) - 1);
	}
	return n;
}

/*
 * The connection is ready and the request is about to go out: TTFT counts
 * from here. curl calls this again when it re-sends the request on a fresh
 * connection because a reused one died; each re-send is one more attempt.
 */
static int on_prereq(void *userdata, char *primary_ip, char *local_ip, int primary_port,
		     int local_port)
{
	struct gw_slot *slot = userdata;

	if (slot->sends++ && slot->req)
		slot->req->attempts++;
	slot->sent_at = now_s();
	return CURL_PREREQFUNC_OK;
}

/* ------------------------------------------------------------ rate limits */

/* the pools' limits and the rate buckets from cfg; the slots they need together */
static size_t pools_init(struct gateway *gw, const struct eg_gateway_cfg *cfg)
{
	size_t conc = cfg->concurrency > 0 ? (size_t)cfg->concurrency : GW_DEFAULT_CONCURRENCY;
	size_t sconc = cfg->scorer_concurrency > 0 ? (size_t)cfg->scorer_concurrency : conc;
	double t = now_s();

	if (conc > GW_MAX_CONCURRENCY)
		conc = GW_MAX_CONCURRENCY;
	if (sconc > GW_MAX_CONCURRENCY)
		sconc = GW_MAX_CONCURRENCY;
	rl_pool_init(&gw->pools[GW_POOL_TARGET].rl, "target", (int)conc, t);
	rl_pool_init(&gw->pools[GW_POOL_SCORER].rl, "scorer", (int)sconc, t);
	rl_bucket_init(&gw->rpm, cfg->rpm, t);
	rl_bucket_init(&gw->tpm, cfg->tpm, t);
	gw->rl_next = -1;
	return conc + sconc;
}

/* a finished attempt's reply (status 0: none) tells its pool's limit about the gateway's */
static void note_reply(struct gateway *gw, struct gw_slot *slot, long status)
{
	rl_pool_reply(&gw->pools[slot->req->pool].rl, now_s(), slot->sent_at, status, &slot->hint);
}

/* the tokens a request used, as its reply counts them, correct the estimate the tpm bucket took */
static void note_usage(struct gateway *gw, const struct gw_request *req)
{
	long used = 0;

	if (!req->ok || (req->reply.prompt_tokens < 0 && req->reply.completion_tokens < 0))
		return;
	used += req->reply.prompt_tokens > 0 ? req->reply.prompt_tokens : 0;
	used += req->reply.completion_tokens > 0 ? req->reply.completion_tokens : 0;
	rl_bucket_take(&gw->tpm, (double)used - req->est_tokens);
}

void gateway_timeline_begin(struct gateway *gw)
{
	double t = now_s();
	size_t i;

	for (i = 0; i < GW_N_POOLS; i++) {
		rl_pool_begin(&gw->pools[i].rl, t);
		rl_pool_sample(&gw->pools[i].rl, t, (int)gw->pools[i].running, 1);
	}
}

void gateway_timeline_json(struct gateway *gw, struct strbuf *sb)
{
	const struct rl_pool *used[GW_N_POOLS];
	double t = now_s();
	size_t i, n = 0;

	/* the target's pool always; the scorers' when they called */
	for (i = 0; i < GW_N_POOLS; i++) {
		struct rl_pool *p = &gw->pools[i].rl;

		rl_pool_sample(p, t, (int)gw->pools[i].running, 1);
		if (i == GW_POOL_TARGET || p->requests)
			used[n++] = p;
	}
	rl_timeline_json(sb, used, n);
}

int gateway_pool_limit(const struct gateway *gw, enum gw_pool pool)
{
	return gw->pools[pool].rl.limit;
}

/* the built-in path (below) */
static void h1_close(struct gateway *gw, struct gw_slot *slot);
static void h1_event(struct gateway *gw, struct gw_slot *slot, uint32_t events);
static void h1_start(struct gateway *gw, struct gw_slot *slot, const struct h1_url *u);
static void h1_timeouts(struct gateway *gw);
static int gw_multi(struct gateway *gw);

/* ------------------------------------------------------------ event loop */

/*
 * One epoll set holds curl's sockets (CURLMOPT_SOCKETFUNCTION says which and
 * for what) and the wake-up eventfd; curl's timer (CURLMOPT_TIMERFUNCTION)
 * bounds the wait, and only the sockets that are ready are handed to
 * curl_multi_socket_action. Level-triggered: a socket curl did not drain is
 * reported again. An event carries its descriptor and the registration's
 * generation, so one left over from a descriptor closed and reused since is
 * told apart and dropped.
 *
 * The caller's descriptors (gateway_poll_fds: exec workers' pipes) are not
 * registered: their owner closes and reopens them between calls, and a
 * descriptor closed and reused under the same number would silently leave
 * the set. They are polled together with the epoll descriptor instead, one
 * poll() a turn over a handful of pipes.
 */

static struct gw_fd *fd_state(struct gateway *gw, int fd)
{
	size_t old = gw->alloc_fds;

	if ((size_t)fd >= old) {
		XGROW(gw->fds, (size_t)fd + 1, gw->alloc_fds);
		memset(gw->fds + old, 0, (gw->alloc_fds - old) * sizeof(*gw->fds));
	}
	return &gw->fds[fd];
}

/* bring fd's registration in the epoll set in line with what curl and the caller want */
static void fd_sync(struct gateway *gw, int fd)
{
	struct gw_fd *f = fd_state(gw, fd);
	uint32_t want = f->curl;
	struct epoll_event ev;
	int op;

	if (want == f->in_set)
		return;
	if (!want) {
		/* fails harmlessly when the descriptor was closed already */
		epoll_ctl(gw->epfd, EPOLL_CTL_DEL, fd, NULL);
		f->in_set = 0;
		return;
	}
	op = f->in_set ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (op == EPOLL_CTL_ADD)
		f->gen++;
	memset(&ev, 0, sizeof(ev));
	ev.events = want;
	ev.data.u64 = (uint64_t)f->gen << 32 | (uint32_t)fd;
	/* curl closes through its socket callback, but should one slip by: add or modify anyway */
	if (epoll_ctl(gw->epfd, op, fd, &ev) && op == EPOLL_CTL_MOD && errno == ENOENT) {
		f->gen++;
		ev.data.u64 = (uint64_t)f->gen << 32 | (uint32_t)fd;
		epoll_ctl(gw->epfd, EPOLL_CTL_ADD, fd, &ev);
	} else if (op == EPOLL_CTL_ADD && errno == EEXIST) {
		epoll_ctl(gw->epfd, EPOLL_CTL_MOD, fd, &ev);
	}
	f->in_set = want;
}

/* CURLMOPT_SOCKETFUNCTION: what curl waits for on s */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct gateway *gw = userp;
	uint32_t ev = 0;

	(void)easy;
	(void)socketp;
	if (s < 0)
		return 0;
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		ev |= EPOLLIN;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		ev |= EPOLLOUT;
	fd_state(gw, s)->curl = ev;
	fd_sync(gw, s);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: when curl wants curl_multi_socket_action(CURL_SOCKET_TIMEOUT) */
static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct gateway *gw = userp;

	(void)multi;
	if (timeout_ms < 0)
		gw->curl_due = -1;
	else if (timeout_ms == 0)
		gw->curl_due = 0;
	else
		gw->curl_due = now_s() + (double)timeout_ms / 1000.0;
	return 0;
}

/* curl's timer, when due: starts the transfers just added, times out the slow */
static void run_timers(struct gateway *gw)
{
	int still;

	if (!gw->multi || gw->curl_due < 0 || (gw->curl_due > 0 && gw->curl_due > now_s()))
		return;
	gw->curl_due = -1;
	curl_multi_socket_action(gw->multi, CURL_SOCKET_TIMEOUT, 0, &still);
}

/* one event of the set: curl's socket, the wake-up or the caller's descriptor */
static void dispatch(struct gateway *gw, const struct epoll_event *ev)
{
	int fd = (int)(uint32_t)ev->data.u64;
	uint32_t gen = (uint32_t)(ev->data.u64 >> 32);
	struct gw_fd *f;
	int still, action = 0;

	if (fd == gw->wakefd) {
		uint64_t v;

		/* gateway_wakeup() set woken before writing: the count only needs emptying */
		if (read(gw->wakefd, &v, sizeof(v)) != (ssize_t)sizeof(v))
			v = 0;
		return;
	}
	if ((size_t)fd >= gw->alloc_fds || gw->fds[fd].gen != gen)
		return;
	f = &gw->fds[fd];
	if (f->own) {
		h1_event(gw, f->own, ev->events);
		return;
	}
	if (!f->curl)
		return;
	/* a hang-up or an error is for curl to find by reading or writing */
	if ((f->curl & EPOLLIN) && (ev->events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		action |= CURL_CSELECT_IN;
	if ((f->curl & EPOLLOUT) && (ev->events & (EPOLLOUT | EPOLLHUP | EPOLLERR)))
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(gw->multi, fd, action ? action : CURL_CSELECT_ERR, &still);
}

/* ------------------------------------------------------------ lifecycle */


/*
 * libcurl sends plain http:// through a proxy named by http_proxy or
 * all_proxy (either case for the latter); the built-in path does not speak
 * to proxies, so with one set every request goes through libcurl.
 */
static int proxy_in_env(void)
{
	static const char *const names[] = { "http_proxy", "all_proxy", "ALL_PROXY" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *v = getenv(names[i]);

		if (v && *v)
			return 1;
	}
	return 0;
}

/*
 * "name: value" appended to sb with CR, LF and other controls made
 * harmless; libcurl needs "name;" for an empty value (crlf: "name:" and the
 * line's CRLF, as the built-in path writes it).
 */
static void put_header(struct strbuf *sb, const char *name, const char *value, int crlf)
{
	size_t i, at, n = strlen(name), v = value ? strlen(value) : 0;

	/* written whole, then the bytes that may not be there replaced */
	at = sb->len;
	strbuf_add(sb, name, n);
	for (i = at; i < at + n; i++) {
		unsigned char c = (unsigned char)sb->buf[i];

		if (c <= 0x20 || c == ':' || c >= 0x7f)
			sb->buf[i] = '-';
	}
	if (!v) {
		strbuf_addch(sb, crlf ? ':' : ';');
	} else {
		strbuf_addstr(sb, ": ");
		at = sb->len;
		strbuf_add(sb, value, v);
		for (i = at; i < at + v; i++) {
			unsigned char c = (unsigned char)sb->buf[i];

			if ((c < 0x20 && c != '\t') || c == 0x7f)
				sb->buf[i] = ' ';
		}
	}
	if (crlf)
		strbuf_addstr(sb, "\r\n");
}

static void hdrs_add_line(struct gw_hdrs *h, const char *line)
{
	XGROW(h->line, h->n + 1, h->alloc);
	h->line[h->n++] = xstrdup(line);
}

static void hdrs_add(struct gw_hdrs *h, const char *name, const char *value)
{
	struct strbuf sb = STRBUF_INIT;

	/* one allocation: no stale copies of a secret left behind by realloc */
	strbuf_grow(&sb, strlen(name) + (value ? strlen(value) : 0) + 3);
	put_header(&sb, name, value, 0);
	hdrs_add_line(h, sb.buf);
	explicit_bzero(sb.buf, sb.len);
	strbuf_release(&sb);
}

/* header values may be secrets (the key, a route's credentials): wiped before they are freed */
static void hdrs_release(struct gw_hdrs *h)
{
	size_t i;

	for (i = 0; i < h->n; i++) {
		explicit_bzero(h->line[i], strlen(h->line[i]));
		free(h->line[i]);
	}
	free(h->line);
	memset(h, 0, sizeof(*h));
}

static struct curl_slist *add_header(struct curl_slist *list, const char *name, const char *value)
{
	struct strbuf sb = STRBUF_INIT;
	struct curl_slist *l;

	strbuf_grow(&sb, strlen(name) + (value ? strlen(value) : 0) + 3);
	put_header(&sb, name, value, 0);
	l = curl_slist_append(list, sb.buf);
	explicit_bzero(sb.buf, sb.len);
	strbuf_release(&sb);
	if (!l)
		die("out of memory");
	return l;
}

static void wipe_headers(struct curl_slist *l)
{
	for (; l; l = l->next)
		explicit_bzero(l->data, strlen(l->data));
}

static int has_header(const struct eg_header *h, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcasecmp(h[i].name, name))
			return 1;
	return 0;
}

const struct gw_route *gateway_route_new(struct gateway *gw, const struct target *t)
{
	struct gw_route *r = xcalloc(1, sizeof(*r));
	const struct eg_header *h = NULL;
	size_t n = 0, i;

	r->target = t;
	t->type->http_headers(t, &h, &n, &r->secrets, &r->n_secrets);
	if (!has_header(h, n, "Content-Type"))
		hdrs_add(&r->fixed, "Content-Type", "application/json");
	if (!has_header(h, n, "Accept"))
		hdrs_add(&r->fixed, "Accept", "application/json");
	hdrs_add_line(&r->fixed, "Expect:");
	for (i = 0; i < n; i++)
		hdrs_add(&r->fixed, h[i].name, h[i].value);
	r->next = gw->routes;
	gw->routes = r;
	return r;
}

struct gateway *gateway_new(const struct eg_gateway_cfg *cfg, const char *api_key)
{
	struct gateway *gw = NULL;
	struct sigaction old_pipe;
	double timeout_s = cfg->timeout_s > 0 ? cfg->timeout_s : GW_DEFAULT_TIMEOUT_S;
	size_t conc, base_len, i;

	if (!cfg->base_url || !*cfg->base_url) {
		error("gateway: base_url is missing");
		goto out;
	}
	/*
	 * With CURLOPT_NOSIGNAL libcurl leaves SIGPIPE alone, and a TLS write
	 * to a connection the gateway closed would kill the process.
	 */
	if (!sigaction(SIGPIPE, NULL, &old_pipe) && old_pipe.sa_handler == SIG_DFL)
		signal(SIGPIPE, SIG_IGN);
	gw = xcalloc(1, sizeof(*gw));
	gw->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (gw->epfd < 0) {
		error("gateway: cannot create an epoll set: %s", strerror(errno));
		goto out_free_gw;
	}
	gw->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (gw->wakefd < 0) {
		error("gateway: cannot create an eventfd: %s", strerror(errno));
		goto out_close_epoll;
	}
	{
		struct epoll_event ev;

		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.u64 = (uint32_t)gw->wakefd;
		if (epoll_ctl(gw->epfd, EPOLL_CTL_ADD, gw->wakefd, &ev)) {
			error("gateway: cannot watch the eventfd: %s", strerror(errno));
			goto out_close_wakefd;
		}
	}
	gw->curl_due = -1;

	base_len = strlen(cfg->base_url);
	while (base_len && cfg->base_url[base_len - 1] == '/')
		base_len--;
	{
		struct strbuf url = STRBUF_INIT;

		strbuf_add(&url, cfg->base_url, base_len);
		strbuf_addstr(&url, "/chat/completions");
		gw->url = strbuf_detach(&url, NULL);
	}

	conc = pools_init(gw, cfg);
	gw->n_slots = conc;
	gw->slots = xcalloc(conc, sizeof(*gw->slots));
	for (i = conc; i-- > 0;) {
		strbuf_init(&gw->slots[i].body, 0);
		strbuf_init(&gw->slots[i].head, 0);
		gw->slots[i].fd = -1;
		gw->slots[i].next_free = gw->free_slots;
		gw->free_slots = &gw->slots[i];
	}

	gw->timeout_ms = (long)(timeout_s * 1000.0 + 0.5);
	if (gw->timeout_ms < 1)
		gw->timeout_ms = 1;
	gw->connect_timeout_ms = gw->timeout_ms < GW_CONNECT_TIMEOUT_MS
		? gw->timeout_ms : GW_CONNECT_TIMEOUT_MS;
	gw->max_retries = cfg->max_retries > 0 ? cfg->max_retries : 0;
	gw->max_body = cfg->max_response_bytes ? cfg->max_response_bytes : GW_DEFAULT_MAX_BODY;
	for (i = 0; i < conc; i++)
		gw->slots[i].body.max = gw->max_body;
	gw->rps = cfg->rps > 0 ? cfg->rps : 0;
	gw->tokens = 1;
	gw->tokens_at = now_s();
	gw->rng = ((uint64_t)time(NULL) << 20) ^ ((uint64_t)getpid() << 40) ^
		(uint64_t)(uintptr_t)gw ^ (uint64_t)(now_s() * 1e9);
	if (!gw->rng)
		gw->rng = 0x9E3779B97F4A7C15ULL;
	atomic_init(&gw->woken, 0);

	hdrs_add(&gw->fixed, "Content-Type", "application/json");
	hdrs_add(&gw->fixed, "Accept", "application/json");
	/* no "Expect: 100-continue" round trip for bodies over 1 KiB */
	hdrs_add_line(&gw->fixed, "Expect:");
	for (i = 0; i < cfg->n_headers; i++)
		hdrs_add(&gw->fixed, cfg->headers[i].name, cfg->headers[i].value);
	if (api_key && *api_key) {
		struct strbuf bearer = STRBUF_INIT;

		strbuf_addstr(&bearer, "Bearer ");
		strbuf_addstr(&bearer, api_key);
		hdrs_add(&gw->fixed, "Authorization", bearer.buf);
		explicit_bzero(bearer.buf, bearer.len);
		strbuf_release(&bearer);
		gw->key = gw->fixed.line[gw->fixed.n - 1] + sizeof(AUTH_PREFIX) - 1;
	}
	gw->builtin = !cfg->http_libcurl && !proxy_in_env();
	gw->h1_default = gw->builtin && !h1_url_parse(gw->url, &gw->h1_url);
	gw->h1_check = -1;
	/* the gateway's own requests need libcurl: loaded now, so that a run without it stops first */
	if (!gw->h1_default && gw_multi(gw)) {
		error("gateway: cannot initialise libcurl");
		gateway_free(gw);
		return NULL;
	}
	return gw;

out_close_wakefd:
	close(gw->wakefd);
out_close_epoll:
	close(gw->epfd);
out_free_gw:
	free(gw);
	gw = NULL;
out:
	return gw;
}

/* the multi handle, made on first need: 0, or -1 with nothing made */
static int gw_multi(struct gateway *gw)
{
	long conc = (long)gw->n_slots;

	if (gw->multi)
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return -1;
	gw->multi = curl_multi_init();
	if (!gw->multi) {
		curl_global_cleanup();
		return -1;
	}
	curl_multi_setopt(gw->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(gw->multi, CURLMOPT_SOCKETDATA, gw);
	curl_multi_setopt(gw->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(gw->multi, CURLMOPT_TIMERDATA, gw);
	curl_multi_setopt(gw->multi, CURLMOPT_MAX_HOST_CONNECTIONS, conc);
	curl_multi_setopt(gw->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, conc);
	curl_multi_setopt(gw->multi, CURLMOPT_MAXCONNECTS, conc);
	return 0;
}

static void slot_drop_request_headers(struct gw_slot *slot)
{
	struct curl_slist *tail;

	if (!slot->fixed_tail)
		return;
	tail = slot->fixed_tail->next;
	slot->fixed_tail->next = NULL;
	curl_slist_free_all(tail);
}

static void slot_recycle(struct gateway *gw, struct gw_slot *slot)
{
	slot_drop_request_headers(slot);
	if (slot->body.alloc > GW_KEEP_BODY_ALLOC)
		strbuf_release(&slot->body);
	else
		strbuf_reset(&slot->body);
	sse_stream_release(&slot->stream);
	slot->sse = 0;
	gw->pools[slot->req->pool].running--;
	slot->req->priv = NULL;
	slot->req = NULL;
	slot->next_free = gw->free_slots;
	gw->free_slots = slot;
	gw->running--;
}

void gateway_free(struct gateway *gw)
{
	size_t i;

	if (!gw)
		return;
	for (i = 0; i < gw->n_slots; i++) {
		struct gw_slot *slot = &gw->slots[i];

		if (slot->easy) {
			curl_multi_remove_handle(gw->multi, slot->easy);
			curl_easy_cleanup(slot->easy);
		}
		if (slot->req)
			slot->req->priv = NULL;
		h1_close(gw, slot);
		h1_resp_release(&slot->resp);
		explicit_bzero(slot->head.buf, slot->head.len);
		strbuf_release(&slot->head);
		wipe_headers(slot->headers);
		curl_slist_free_all(slot->headers);
		strbuf_release(&slot->body);
		sse_stream_release(&slot->stream);
	}
	/* the sockets leave the set through on_socket: the set goes last */
	if (gw->multi) {
		curl_multi_cleanup(gw->multi);
		curl_global_cleanup();
	}
	close(gw->wakefd);
	close(gw->epfd);
	free(gw->fds);
	free(gw->pfds);
	free(gw->rbuf);
	while (gw->origins) {
		struct gw_origin *o = gw->origins;

		gw->origins = o->next;
		free(o);
	}
	hdrs_release(&gw->fixed);
	while (gw->routes) {
		struct gw_route *r = gw->routes;

		gw->routes = r->next;
		hdrs_release(&r->fixed);
		free(r);
	}
	for (i = 0; i < GW_N_POOLS; i++)
		rl_pool_release(&gw->pools[i].rl);
	free(gw->slots);
	free(gw->url);
	free(gw);
}

void gw_request_release(struct gw_request *req)
{
	free(req->body);
	free(req->url);
	req->body = NULL;
	req->url = NULL;
	req->body_len = 0;
	gw_request_clear(req);
}

/* -------------------------------------------------------------- transfers */

/* the slot's header list: a copy of route's fixed headers (the gateway's when NULL) */
static void slot_headers(struct gateway *gw, struct gw_slot *slot, const struct gw_route *route)
{
	const struct gw_hdrs *h = route ? &route->fixed : &gw->fixed;
	size_t i;

	wipe_headers(slot->headers);
	curl_slist_free_all(slot->headers);
	slot->headers = NULL;
	for (i = 0; i < h->n; i++) {
		slot->headers = curl_slist_append(slot->headers, h->line[i]);
		if (!slot->headers)
			die("out of memory");
	}
	for (slot->fixed_tail = slot->headers; slot->fixed_tail->next;
	     slot->fixed_tail = slot->fixed_tail->next)
		;
	slot->route = route;
	curl_easy_setopt(slot->easy, CURLOPT_HTTPHEADER, slot->headers);
}

static CURL *slot_easy(struct gateway *gw, struct gw_slot *slot)
{
	CURL *e;

	if (slot->easy)
		return slot->easy;
	e = curl_easy_init();
	if (!e)
		return NULL;
	slot->easy = e;
	slot_headers(gw, slot, NULL);
	curl_easy_setopt(e, CURLOPT_URL, gw->url);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "evalgate/" EG_VERSION);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 60L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 30L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, gw->timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, gw->connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)gw->max_body);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, slot);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, slot);
	curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq);
	curl_easy_setopt(e, CURLOPT_PREREQDATA, slot);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, slot->errbuf);
	curl_easy_setopt(e, CURLOPT_PRIVATE, slot);
	return e;
}

static void finish(struct gateway *gw, struct gw_request *req)
{
	gw_list_push(&gw->done, req);
}

static void start_attempt(struct gateway *gw, struct gw_request *req)
{
	struct gw_slot *slot = gw->free_slots;
	CURL *e;

	gw->free_slots = slot->next_free;
	slot->next_free = NULL;
	slot->req = req;
	req->priv = slot;
	gw->running++;
	req->attempts++;
	slot->too_big = 0;
	slot->should_retry = -1;
	slot->retry_after[0] = '\0';
	slot->retry_after_ms[0] = '\0';
	slot->location[0] = '\0';
	slot->errbuf[0] = '\0';
	slot->content_type[0] = '\0';
	slot->status = 0;
	rl_hint_init(&slot->hint);
	slot->sent_at = now_s();
	slot->sends = 0;
	sse_stream_release(&slot->stream);
	sse_stream_init(&slot->stream, gw->max_body);
	slot->sse = -1;
	if (gw->builtin) {
		struct h1_url u;

		if (!req->url && gw->h1_default) {
			h1_start(gw, slot, &gw->h1_url);
			return;
		}
		if (req->url && !h1_url_parse(req->url, &u)) {
			h1_start(gw, slot, &u);
			return;
		}
	}
	slot->h1 = 0;

	e = gw_multi(gw) ? NULL : slot_easy(gw, slot);
	if (!e) {
		set_error(req, NULL, "transfer failed: cannot initialise libcurl");
		goto out_fail;
	}
	if (slot->route != req->route)
		slot_headers(gw, slot, req->route);
	if (req->url || slot->custom_url) {
		curl_easy_setopt(e, CURLOPT_URL, req->url ? req->url : gw->url);
		slot->custom_url = req->url != NULL;
	}
	if (req->run_id)
		add_header(slot->fixed_tail, "x-evalgate-run", req->run_id);
	if (req->suite)
		add_header(slot->fixed_tail, "x-evalgate-suite", req->suite);
	if (req->case_id) {
		char rep[16];

		add_header(slot->fixed_tail, "x-evalgate-case", req->case_id);
		snprintf(rep, sizeof(rep), "%d", req->repeat);
		add_header(slot->fixed_tail, "x-evalgate-repeat", rep);
	}
	if (req->method == TARGET_GET) {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
		slot->get = 1;
	} else {
		if (slot->get)
			curl_easy_setopt(e, CURLOPT_POST, 1L);
		slot->get = 0;
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body ? req->body : "");
	}
	if (curl_multi_add_handle(gw->multi, e) != CURLM_OK) {
		set_error(req, NULL, "transfer failed: cannot start the transfer");
		goto out_fail;
	}
	return;

out_fail:
	slot_recycle(gw, slot);
	finish(gw, req);
}

static int curl_retryable(CURLcode res)
{
	switch (res) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_HTTP3:
	case CURLE_QUIC_CONNECT_ERROR:
	case CURLE_BAD_CONTENT_ENCODING:
		return 1;
	default:
		return 0;
	}
}

static const char *curl_kind(CURLcode res)
{
	switch (res) {
	case CURLE_OPERATION_TIMEDOUT:
		return "timed out";
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_QUIC_CONNECT_ERROR:
		return "connection failed";
	default:
		return "transfer failed";
	}
}

/* move req to the retry list, due after delay_ms */
static void schedule_retry(struct gateway *gw, struct gw_request *req, long delay_ms)
{
	struct gw_request **pp = &gw->waiting;

	req->not_before = now_s() + (double)delay_ms / 1000.0;
	while (*pp && (*pp)->not_before <= req->not_before)
		pp = &(*pp)->next;
	req->next = *pp;
	*pp = req;
}

static long retry_delay_ms(struct gateway *gw, const struct gw_slot *slot, int attempt)
{
	long hint = -1;

	if (slot->retry_after_ms[0]) {
		double ms = parse_decimal(slot->retry_after_ms);

		if (ms >= 0)
			hint = ms > (double)LONG_MAX / 2 ? LONG_MAX / 2 : (long)(ms + 0.5);
	}
	if (hint < 0 && slot->retry_after[0])
		hint = gw_parse_retry_after(slot->retry_after, time(NULL));
	if (hint > 0 && hint <= GW_RETRY_AFTER_MAX_MS)
		return hint;
	return gw_backoff_ms(attempt, rng_unit(gw));
}

/* a streamed reply's answer and timing into req->reply */
static enum target_parse read_stream(struct gw_request *req, struct gw_slot *slot,
				     struct strbuf *why)
{
	const struct target *t = req->route ? req->route->target : NULL;
	enum target_parse rc;

	/* a stream cut short or failing mid-way may well go through next time */
	if (sse_stream_reply(&slot->stream, &req->reply, why))
		return TARGET_REPLY_RETRY;
	if (!t) {
		/* a chat reply keeps what a non-streamed one does: no model of its own */
		free(req->reply.model);
		req->reply.model = NULL;
	}
	rc = t && t->type->parse_stream ? t->type->parse_stream(t, &req->reply, why)
					: TARGET_REPLY_OK;
	if (rc == TARGET_REPLY_OK)
		sse_stream_stats(&slot->stream, slot->sent_at, &req->reply.stream);
	return rc;
}

/*
 * Decide what a finished attempt means: done (ok or failed) or another try.
 * kind and detail make the error: "kind[ after N attempts][: detail]".
 */
static void finish_attempt(struct gateway *gw, struct gw_slot *slot, CURLcode res)
{
	struct gw_request *req = slot->req;
	struct strbuf msg = STRBUF_INIT;
	struct strbuf kind = STRBUF_INIT;
	char *detail = NULL;
	int retry = 0, fatal = 0;
	long status = slot->status;

	req->http_status = status;
	note_reply(gw, slot, res == CURLE_OK ? status : 0);

	if (slot->too_big || res == CURLE_FILESIZE_EXCEEDED) {
		strbuf_addf(&kind, "response larger than max_response_bytes (%zu)", gw->max_body);
	} else if (res == CURLE_OUT_OF_MEMORY && status > 0) {
		/* libcurl's answer to a header line over its 100 KB limit, not our memory */
		strbuf_addstr(&kind, "the response's headers are larger than libcurl accepts "
			      "(100 KB a header)");
	} else if (res != CURLE_OK) {
		strbuf_addstr(&kind, curl_kind(res));
		detail = xstrdup(slot->errbuf[0] ? slot->errbuf : curl_easy_strerror(res));
		retry = curl_retryable(res);
	} else if (status >= 200 && status < 300) {
		const struct target *t = req->route ? req->route->target : NULL;
		struct strbuf why = STRBUF_INIT;
		enum target_parse rc = slot->sse > 0 ? read_stream(req, slot, &why) : t
			? t->type->parse_reply(t, slot->body.buf, slot->body.len, &req->reply, &why)
			: req->raw ? raw_parse_reply(slot->body.buf, slot->body.len, &req->reply, &why)
			: chat_parse_reply(slot->body.buf, slot->body.len, &req->reply, &why);

		if (rc == TARGET_REPLY_OK) {
			strbuf_release(&why);
			free(req->error);
			req->error = NULL;
			req->ok = 1;
			goto out_done;
		}
		strbuf_addstr(&kind, slot->sse > 0 ? "stream failed" : "invalid reply");
		detail = strbuf_detach(&why, NULL);
		/* an unreadable reply may be a cut transfer; an unusable one will not change */
		retry = rc == TARGET_REPLY_RETRY;
	} else if (status >= 300 && status < 400) {
		strbuf_addf(&kind, "HTTP %ld: redirect refused (redirects are not followed; "
			    "give the final URL)", status);
		if (slot->location[0]) {
			struct strbuf d = STRBUF_INIT;

			strbuf_addstr(&d, "Location: ");
			target_add_untrusted(&d, slot->location, strlen(slot->location), GW_MSG_MAX);
			detail = strbuf_detach(&d, NULL);
		}
	} else if (status == 401 || status == 403) {
		strbuf_addf(&kind, "%s refused the credentials (HTTP %ld)",
			    req->route ? "the target" : "gateway", status);
		detail = error_message(gw, req, slot->body.buf, slot->body.len);
		fatal = 1;
	} else {
		strbuf_addf(&kind, "HTTP %ld", status);
		detail = error_message(gw, req, slot->body.buf, slot->body.len);
		retry = slot->should_retry >= 0 ? slot->should_retry : gw_status_retryable(status);
	}

	if (retry && req->attempts <= gw->max_retries) {
		long delay = retry_delay_ms(gw, slot, req->attempts);
		struct strbuf id = STRBUF_INIT;

		strbuf_addstr(&msg, kind.buf);
		if (detail)
			strbuf_addf(&msg, ": %s", detail);
		set_error(req, gw->key, msg.buf);
		if (req->case_id)
			target_add_untrusted(&id, req->case_id, strlen(req->case_id), GW_MSG_MAX);
		verbose("retry %d/%d for case %s in %.3f s: %s", req->attempts, gw->max_retries,
			id.len ? id.buf : "?", (double)delay / 1000.0, req->error);
		strbuf_release(&id);
		slot_recycle(gw, slot);
		schedule_retry(gw, req, delay);
		goto out_free;
	}
	strbuf_addstr(&msg, kind.buf);
	if (req->attempts > 1)
		strbuf_addf(&msg, " after %d attempts", req->attempts);
	if (detail)
		strbuf_addf(&msg, ": %s", detail);
	set_error(req, gw->key, msg.buf);
	req->fatal = fatal;

out_done:
	note_usage(gw, req);
	slot_recycle(gw, slot);
	finish(gw, req);
out_free:
	free(detail);
	strbuf_release(&kind);
	strbuf_release(&msg);
}

static void collect_finished(struct gateway *gw)
{
	CURLMsg *m;
	int left;

	if (!gw->multi)
		return;
	while ((m = curl_multi_info_read(gw->multi, &left))) {
		struct gw_slot *slot = NULL;
		CURLcode res;

		if (m->msg != CURLMSG_DONE)
			continue;
		res = m->data.result;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&slot);
		if (slot && slot->req) {
			curl_off_t total_us = 0;
			long conns = 0;

			curl_easy_getinfo(slot->easy, CURLINFO_RESPONSE_CODE, &slot->status);
			curl_easy_getinfo(slot->easy, CURLINFO_NUM_CONNECTS, &conns);
			gw->connections += conns > 0 ? (size_t)conns : 0;
			curl_easy_getinfo(slot->easy, CURLINFO_TOTAL_TIME_T, &total_us);
			curl_multi_remove_handle(gw->multi, slot->easy);
			slot->req->latency_ms = (double)total_us / 1000.0;
			finish_attempt(gw, slot, res);
		}
	}
}

/* -------------------------------------------------------- built-in path */

/*
 * The built-in path's connection of a slot moves IDLE -> CONNECTING ->
 * SENDING -> READING -> IDLE (kept alive) or closed. A failure closes the
 * connection and ends the attempt through finish_attempt() with the
 * CURLcode libcurl would have given, the detail in errbuf, so retries,
 * errors and the rate limits do not depend on the path taken.
 */

/* register (or re-register) the slot's connection for events */
static void h1_watch(struct gateway *gw, struct gw_slot *slot, uint32_t events)
{
	struct gw_fd *f = fd_state(gw, slot->fd);
	struct epoll_event ev;
	int op = EPOLL_CTL_MOD;

	if (f->own == slot && f->in_set == events)
		return;
	if (f->own != slot || !f->in_set) {
		f->gen++;
		f->own = slot;
		f->curl = 0;
		op = EPOLL_CTL_ADD;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.u64 = (uint64_t)f->gen << 32 | (uint32_t)slot->fd;
	if (epoll_ctl(gw->epfd, op, slot->fd, &ev) && op == EPOLL_CTL_ADD && errno == EEXIST)
		epoll_ctl(gw->epfd, EPOLL_CTL_MOD, slot->fd, &ev);
	f->in_set = events;
}

static void h1_close(struct gateway *gw, struct gw_slot *slot)
{
	struct gw_fd *f;

	if (slot->fd < 0)
		return;
	f = fd_state(gw, slot->fd);
	if (f->own == slot) {
		if (f->in_set)
			epoll_ctl(gw->epfd, EPOLL_CTL_DEL, slot->fd, NULL);
		f->in_set = 0;
		f->own = NULL;
	}
	close(slot->fd);
	slot->fd = -1;
	slot->origin = NULL;
	slot->replies = 0;
	slot->phase = H1_IDLE;
}

/* the attempt is over: its latency, then what it means (finish_attempt) */
static void h1_finish(struct gateway *gw, struct gw_slot *slot, CURLcode res)
{
	if (res != CURLE_OK)
		h1_close(gw, slot);
	slot->req->latency_ms = (now_s() - slot->started) * 1000.0;
	finish_attempt(gw, slot, res);
}

static void h1_fail(struct gateway *gw, struct gw_slot *slot, CURLcode res, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void h1_fail(struct gateway *gw, struct gw_slot *slot, CURLcode res, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(slot->errbuf, sizeof(slot->errbuf), fmt, ap);
	va_end(ap);
	h1_finish(gw, slot, res);
}

/* the origin for u, its addresses looked up when new or stale; NULL when they cannot be */
static struct gw_origin *h1_origin(struct gateway *gw, const struct h1_url *u)
{
	struct gw_origin *o;
	struct addrinfo hints, *res = NULL, *ai;
	char port[8];
	double t = now_s();

	for (o = gw->origins; o; o = o->next)
		if (o->port == u->port && !strcmp(o->host, u->host))
			break;
	if (!o) {
		o = xcalloc(1, sizeof(*o));
		memcpy(o->host, u->host, sizeof(o->host));
		o->port = u->port;
		o->next = gw->origins;
		gw->origins = o;
	}
	if (o->n_addrs && t - o->resolved_at < GW_RESOLVE_TTL_S)
		return o;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", (unsigned)u->port);
	/* a stale list is kept when the look-up fails: better than none */
	if (getaddrinfo(u->host, port, &hints, &res))
		return o->n_addrs ? o : NULL;
	o->n_addrs = 0;
	o->good = 0;
	for (ai = res; ai && o->n_addrs < GW_MAX_ADDRS; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(o->addr[0]))
			continue;
		memcpy(&o->addr[o->n_addrs], ai->ai_addr, ai->ai_addrlen);
		o->addr_len[o->n_addrs++] = ai->ai_addrlen;
	}
	freeaddrinfo(res);
	o->resolved_at = t;
	return o->n_addrs ? o : NULL;
}

static void h1_send(struct gateway *gw, struct gw_slot *slot);

/*
 * Connect to the origin's next untried address. 0: under way (or up); -1:
 * every address refused, the attempt is finished.
 */
static int h1_connect(struct gateway *gw, struct gw_slot *slot, int err)
{
	struct gw_origin *o = slot->origin;
	int one = 1, idle = 60, intvl = 30;

	while (slot->addr_tries < o->n_addrs) {
		const struct sockaddr *sa;
		int fd;

		slot->addr_i = (o->good + slot->addr_tries++) % o->n_addrs;
		sa = (const struct sockaddr *)&o->addr[slot->addr_i];
		fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			err = errno;
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
		if (connect(fd, sa, o->addr_len[slot->addr_i]) && errno != EINPROGRESS) {
			err = errno;
			close(fd);
			continue;
		}
		slot->fd = fd;
		slot->replies = 0;
		slot->phase = H1_CONNECTING;
		h1_watch(gw, slot, EPOLLOUT);
		return 0;
	}
	slot->origin = NULL;
	h1_fail(gw, slot, CURLE_COULDNT_CONNECT, "Failed to connect to %s port %u: %s", o->host,
		(unsigned)o->port, strerror(err ? err : ECONNREFUSED));
	return -1;
}

/* a new connection for the slot's attempt; 0, or -1 when the attempt is finished */
static int h1_open(struct gateway *gw, struct gw_slot *slot, const struct h1_url *u)
{
	struct gw_origin *o = h1_origin(gw, u);

	h1_close(gw, slot);
	if (!o) {
		h1_fail(gw, slot, CURLE_COULDNT_RESOLVE_HOST, "Could not resolve host: %s", u->host);
		return -1;
	}
	slot->origin = o;
	slot->addr_tries = 0;
	slot->connect_deadline = now_s() + (double)gw->connect_timeout_ms / 1000.0;
	return h1_connect(gw, slot, 0);
}

/* the request's head into slot->head: the route's (or the gateway's) headers, then the request's */
static void h1_build_head(struct gateway *gw, struct gw_slot *slot, const struct h1_url *u)
{
	const struct gw_request *req = slot->req;
	const struct gw_hdrs *h = req->route ? &req->route->fixed : &gw->fixed;
	struct h1_head head;
	size_t i;

	explicit_bzero(slot->head.buf, slot->head.len);
	strbuf_reset(&slot->head);
	h1_head_begin(&head, &slot->head, req->method == TARGET_GET ? "GET" : "POST", u);
	for (i = 0; i < h->n; i++)
		h1_head_header(&head, h->line[i]);
	if (req->run_id)
		put_header(&slot->head, "x-evalgate-run", req->run_id, 1);
	if (req->suite)
		put_header(&slot->head, "x-evalgate-suite", req->suite, 1);
	if (req->case_id) {
		char rep[16];

		put_header(&slot->head, "x-evalgate-case", req->case_id, 1);
		snprintf(rep, sizeof(rep), "%d", req->repeat);
		put_header(&slot->head, "x-evalgate-repeat", rep, 1);
	}
	h1_head_end(&head, u, "evalgate/" EG_VERSION, req->method != TARGET_GET, req->body_len);
}

/* start the slot's attempt on the built-in path: on its warm connection when it has one to u */
static void h1_start(struct gateway *gw, struct gw_slot *slot, const struct h1_url *u)
{
	double t = now_s();

	slot->h1 = 1;
	slot->started = t;
	slot->deadline = t + (double)gw->timeout_ms / 1000.0;
	slot->got_reply = 0;
	slot->resent = 0;
	slot->sent = 0;
	h1_resp_release(&slot->resp);
	h1_resp_init(&slot->resp, 0);
	h1_build_head(gw, slot, u);
	if (gw->h1_check < 0 || slot->deadline < gw->h1_check)
		gw->h1_check = slot->deadline;
	if (slot->fd >= 0 && slot->phase == H1_IDLE && slot->origin &&
	    slot->origin->port == u->port && !strcmp(slot->origin->host, u->host)) {
		slot->phase = H1_SENDING;
		h1_send(gw, slot);
		return;
	}
	if (!h1_open(gw, slot, u) && gw->connect_timeout_ms &&
	    slot->connect_deadline < gw->h1_check)
		gw->h1_check = slot->connect_deadline;
}

/*
 * A reused connection died before any byte of the reply: the server closed
 * it while it sat idle. The request goes out again on a new connection, once,
 * and counts as another attempt (as libcurl counts its re-send).
 */
static int h1_resend(struct gateway *gw, struct gw_slot *slot)
{
	struct gw_origin *o = slot->origin;

	if (slot->resent || slot->got_reply || slot->replies == 0 || !o)
		return 0;
	slot->resent = 1;
	slot->req->attempts++;
	h1_close(gw, slot);
	slot->origin = o;
	slot->addr_tries = 0;
	slot->sent = 0;
	slot->connect_deadline = now_s() + (double)gw->connect_timeout_ms / 1000.0;
	h1_connect(gw, slot, 0);
	return 1;
}

static void h1_send(struct gateway *gw, struct gw_slot *slot)
{
	const struct gw_request *req = slot->req;
	size_t head = slot->head.len;
	size_t body = req->method == TARGET_GET || !req->body ? 0 : req->body_len;

	if (!slot->sent)
		slot->sent_at = now_s();
	while (slot->sent < head + body) {
		struct iovec iov[2];
		struct msghdr msg;
		ssize_t w;

		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		if (slot->sent < head) {
			iov[msg.msg_iovlen].iov_base = slot->head.buf + slot->sent;
			iov[msg.msg_iovlen++].iov_len = head - slot->sent;
		}
		if (body) {
			size_t off = slot->sent > head ? slot->sent - head : 0;

			iov[msg.msg_iovlen].iov_base = req->body + off;
			iov[msg.msg_iovlen++].iov_len = body - off;
		}
		w = sendmsg(slot->fd, &msg, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			h1_watch(gw, slot, EPOLLOUT | EPOLLIN);
			return;
		}
		if (w < 0) {
			int err = errno;

			if (!h1_resend(gw, slot))
				h1_fail(gw, slot, CURLE_SEND_ERROR, "Send failure: %s", strerror(err));
			return;
		}
		slot->sent += (size_t)w;
	}
	slot->phase = H1_READING;
	h1_watch(gw, slot, EPOLLIN);
}

static int h1_on_header(const char *line, size_t len, void *arg)
{
	return on_header((char *)line, 1, len, arg) != len;
}

static int h1_on_body(const char *data, size_t len, void *arg)
{
	return on_body((char *)data, 1, len, arg) != len;
}

/* the server closed the connection */
static void h1_eof(struct gateway *gw, struct gw_slot *slot)
{
	struct strbuf why = STRBUF_INIT;

	if (slot->phase != H1_READING && slot->phase != H1_SENDING) {
		h1_close(gw, slot);
		return;
	}
	if (h1_resend(gw, slot))
		return;
	if (!h1_resp_eof(&slot->resp, &why)) {
		strbuf_release(&why);
		h1_close(gw, slot);
		h1_finish(gw, slot, CURLE_OK);
		return;
	}
	h1_fail(gw, slot, slot->got_reply ? CURLE_PARTIAL_FILE : CURLE_GOT_NOTHING, "%s", why.buf);
	strbuf_release(&why);
}

static void h1_read(struct gateway *gw, struct gw_slot *slot)
{
	if (!gw->rbuf)
		gw->rbuf = xmalloc(GW_READ_BUF);
	for (;;) {
		struct strbuf why = STRBUF_INIT;
		ssize_t n = read(slot->fd, gw->rbuf, GW_READ_BUF), used;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			int err = errno;

			if (slot->phase != H1_READING && slot->phase != H1_SENDING)
				h1_close(gw, slot);
			else if (!h1_resend(gw, slot))
				h1_fail(gw, slot, CURLE_RECV_ERROR, "Recv failure: %s", strerror(err));
			return;
		}
		if (n == 0) {
			h1_eof(gw, slot);
			return;
		}
		if (slot->phase != H1_READING) {
			/* bytes nobody asked for (or a reply to a request still going out): not ours to read */
			if (slot->phase == H1_IDLE)
				h1_close(gw, slot);
			else
				h1_fail(gw, slot, CURLE_SEND_ERROR,
					"the server replied before the request was sent");
			return;
		}
		slot->got_reply = 1;
		used = h1_resp_feed(&slot->resp, gw->rbuf, (size_t)n, h1_on_header, h1_on_body, slot,
				    &why);
		if (used == -2) {
			strbuf_release(&why);
			h1_fail(gw, slot, CURLE_WRITE_ERROR, "the reply was cut short on purpose");
			return;
		}
		if (used < 0) {
			h1_fail(gw, slot, CURLE_WEIRD_SERVER_REPLY, "%s", why.buf);
			strbuf_release(&why);
			return;
		}
		strbuf_release(&why);
		if (slot->resp.done) {
			if (slot->resp.encoded) {
				h1_fail(gw, slot, CURLE_WEIRD_SERVER_REPLY, "the reply is compressed "
					"(Content-Encoding) though evalgate did not ask for it");
				return;
			}
			slot->replies++;
			if (!slot->resp.keep_alive || used != n)
				h1_close(gw, slot);
			else
				slot->phase = H1_IDLE;
			h1_finish(gw, slot, CURLE_OK);
			return;
		}
		if (n < GW_READ_BUF)
			return;
	}
}

/* the connection is up, or its connect failed */
static void h1_connected(struct gateway *gw, struct gw_slot *slot)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(slot->fd, SOL_SOCKET, SO_ERROR, &err, &len))
		err = errno;
	if (err) {
		struct gw_fd *f = fd_state(gw, slot->fd);

		epoll_ctl(gw->epfd, EPOLL_CTL_DEL, slot->fd, NULL);
		f->in_set = 0;
		f->own = NULL;
		close(slot->fd);
		slot->fd = -1;
		h1_connect(gw, slot, err);
		return;
	}
	gw->connections++;
	slot->origin->good = slot->addr_i;
	slot->phase = H1_SENDING;
	h1_send(gw, slot);
}

static void h1_event(struct gateway *gw, struct gw_slot *slot, uint32_t events)
{
	switch (slot->phase) {
	case H1_CONNECTING:
		h1_connected(gw, slot);
		break;
	case H1_SENDING:
		if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			h1_read(gw, slot);
		else if (events & EPOLLOUT)
			h1_send(gw, slot);
		break;
	case H1_READING:
	case H1_IDLE:
		h1_read(gw, slot);
		break;
	}
}

/* fail the built-in attempts past their deadlines; the next deadline to look at */
static void h1_timeouts(struct gateway *gw)
{
	double t, next = -1;
	size_t i;

	if (gw->h1_check < 0 || (t = now_s()) < gw->h1_check)
		return;
	for (i = 0; i < gw->n_slots; i++) {
		struct gw_slot *slot = &gw->slots[i];
		double due;

		if (!slot->req || !slot->h1)
			continue;
		due = slot->phase == H1_CONNECTING && slot->connect_deadline < slot->deadline
			? slot->connect_deadline : slot->deadline;
		if (t < due) {
			if (next < 0 || due < next)
				next = due;
			continue;
		}
		if (slot->phase == H1_CONNECTING)
			h1_fail(gw, slot, CURLE_OPERATION_TIMEDOUT,
				"Connection timed out after %ld milliseconds",
				(long)((t - slot->started) * 1000.0));
		else
			h1_fail(gw, slot, CURLE_OPERATION_TIMEDOUT,
				"Operation timed out after %ld milliseconds",
				(long)((t - slot->started) * 1000.0));
	}
	gw->h1_check = next;
}

static void refill(struct gateway *gw, double t)
{
	if (!gw->rps)
		return;
	gw->tokens += (t - gw->tokens_at) * gw->rps;
	if (gw->tokens > 1)
		gw->tokens = 1;
	gw->tokens_at = t;
}

/* t + wait as the time a held pool may start again, when it is the soonest */
static void note_next(struct gateway *gw, double at)
{
	if (gw->rl_next < 0 || at < gw->rl_next)
		gw->rl_next = at;
}

/* seconds until req may start by the rates (rps, rpm, tpm); 0: now */
static double rate_wait(struct gateway *gw, double t, const struct gw_request *req)
{
	double wait = 0, w;

	if (gw->rps) {
		refill(gw, t);
		if (gw->tokens < 1)
			wait = (1 - gw->tokens) / gw->rps;
	}
	w = rl_bucket_wait(&gw->rpm, t, 1);
	if (w > wait)
		wait = w;
	w = rl_bucket_wait(&gw->tpm, t, (double)(req->body_len / GW_BYTES_PER_TOKEN));
	return w > wait ? w : wait;
}

/*
 * Start what the limits allow: a pool's adaptive limit, then the rates.
 * The pools take turns, one request each, so neither waits behind the other.
 * At most GW_FRESH_PER_TURN slots start on a handle of their own (a new
 * connection) per turn: their requests go out on the next turn, while the
 * next few connect, instead of every request of a cold start waiting for
 * the last of hundreds of connects (and the server accepting them).
 */
static void admit(struct gateway *gw, double t)
{
	int started = 1, fresh = 0;
	size_t i;

	gw->rl_next = -1;
	while (started && gw->free_slots) {
		started = 0;
		for (i = 0; i < GW_N_POOLS && gw->free_slots; i++) {
			struct gw_pool_state *p = &gw->pools[i];
			struct gw_request *req = p->queue.head;
			double wait;

			if (!req)
				continue;
			if (!gw->free_slots->easy && gw->free_slots->fd < 0 &&
			    fresh++ == GW_FRESH_PER_TURN) {
				note_next(gw, t);
				goto out;
			}
			if (!rl_pool_admits(&p->rl, t, (int)p->running)) {
				if (p->rl.hold_until > t)
					note_next(gw, p->rl.hold_until);
				continue;
			}
			wait = rate_wait(gw, t, req);
			if (wait > 0) {
				note_next(gw, t + wait);
				continue;
			}
			if (gw->rps)
				gw->tokens -= 1;
			rl_bucket_take(&gw->rpm, 1);
			req->est_tokens = (double)(req->body_len / GW_BYTES_PER_TOKEN);
			rl_bucket_take(&gw->tpm, req->est_tokens);
			gw_list_pop(&p->queue);
			p->running++;
			start_attempt(gw, req);
			started = 1;
		}
	}
out:
	for (i = 0; i < GW_N_POOLS; i++)
		rl_pool_sample(&gw->pools[i].rl, t, (int)gw->pools[i].running, 0);
}

/* move due retries to the front of their pools' queues */
static void requeue_due(struct gateway *gw, double t)
{
	struct gw_list due[GW_N_POOLS];
	size_t i;

	memset(due, 0, sizeof(due));
	while (gw->waiting && gw->waiting->not_before <= t) {
		struct gw_request *req = gw->waiting;

		gw->waiting = req->next;
		gw_list_push(&due[req->pool], req);
	}
	for (i = 0; i < GW_N_POOLS; i++) {
		struct gw_list *q = &gw->pools[i].queue;

		if (!due[i].head)
			continue;
		due[i].tail->next = q->head;
		if (!q->head)
			q->tail = due[i].tail;
		q->head = due[i].head;
	}
}

/* move due retries to the front of the queues, then start what the limits allow */
static void start_due(struct gateway *gw)
{
	double t = now_s();

	requeue_due(gw, t);
	admit(gw, t);
}

/* monotonic time of the next timer (retry due, rate token, a held pool's end, curl's), or -1 */
static double next_timer(struct gateway *gw)
{
	double next = -1;

	if (gw->waiting)
		next = gw->waiting->not_before;
	if (gw->rl_next >= 0 && (next < 0 || gw->rl_next < next))
		next = gw->rl_next;
	if (gw->curl_due >= 0 && (next < 0 || gw->curl_due < next))
		next = gw->curl_due;
	if (gw->h1_check >= 0 && (next < 0 || gw->h1_check < next))
		next = gw->h1_check;
	return next;
}

void gateway_submit(struct gateway *gw, struct gw_request *req)
{
	gw_request_clear(req);
	req->attempts = 0;
	req->not_before = 0;
	req->priv = NULL;
	if ((unsigned)req->pool >= GW_N_POOLS)
		req->pool = GW_POOL_TARGET;
	gw_list_push(&gw->pools[req->pool].queue, req);
	gw->outstanding++;
}

size_t gateway_outstanding(const struct gateway *gw)
{
	return gw->outstanding;
}

size_t gateway_running(const struct gateway *gw)
{
	return gw->running;
}

size_t gateway_connections(const struct gateway *gw)
{
	return gw->connections;
}

int gw_list_hand_back(struct gw_list *l, size_t *outstanding,
		      void (*done)(struct gw_request *, void *), void *arg)
{
	struct gw_request *req;
	int n = 0;

	while ((req = gw_list_pop(l))) {
		(*outstanding)--;
		n++;
		done(req, arg);
	}
	return n;
}

static int hand_back(struct gateway *gw, void (*done)(struct gw_request *, void *), void *arg)
{
	return gw_list_hand_back(&gw->done, &gw->outstanding, done, arg);
}

int gateway_poll(struct gateway *gw, int timeout_ms,
		 void (*done)(struct gw_request *req, void *arg), void *arg)
{
	return gateway_poll_fds(gw, timeout_ms, NULL, 0, done, arg);
}

/*
 * Wait at most wait_ms for the epoll set, and for the caller's descriptors
 * when there are any, then serve what is ready. 1 when one of the caller's is.
 */
static int wait_events(struct gateway *gw, int wait_ms, size_t n_extra)
{
	struct epoll_event ev[GW_MAX_EVENTS];
	int n, i, extra_ready = 0;

	if (n_extra) {
		for (i = 0; (size_t)i <= n_extra; i++)
			gw->pfds[i].revents = 0;
		if (poll(gw->pfds, (nfds_t)n_extra + 1, wait_ms) <= 0)
			return 0;
		/* a descriptor of the caller's is ready (or hung up): its turn */
		for (i = 1; (size_t)i <= n_extra; i++)
			if (gw->pfds[i].revents)
				extra_ready = 1;
		if (!gw->pfds[0].revents)
			return extra_ready;
		wait_ms = 0;
	}
	n = epoll_wait(gw->epfd, ev, GW_MAX_EVENTS, wait_ms);
	for (i = 0; i < n; i++)
		dispatch(gw, &ev[i]);
	return extra_ready;
}

int gateway_poll_fds(struct gateway *gw, int timeout_ms, struct pollfd *extra, size_t n_extra,
		     void (*done)(struct gw_request *req, void *arg), void *arg)
{
	double deadline = timeout_ms < 0 ? -1 : now_s() + timeout_ms / 1000.0;
	int extra_ready = 0, waited = 0;

	if (n_extra) {
		XGROW(gw->pfds, n_extra + 1, gw->alloc_pfds);
		gw->pfds[0].fd = gw->epfd;
		gw->pfds[0].events = POLLIN;
		memcpy(gw->pfds + 1, extra, n_extra * sizeof(*extra));
	}
	for (;;) {
		double t, next;
		int wait;

		/* freed slots and due retries start in this turn, curl's timer starts them at once */
		collect_finished(gw);
		start_due(gw);
		run_timers(gw);
		h1_timeouts(gw);
		collect_finished(gw);
		if (gw->done.head || extra_ready || atomic_exchange(&gw->woken, 0))
			break;
		t = now_s();
		/* past the deadline, one look at the sockets all the same: a zero timeout still serves them */
		if (deadline >= 0 && t >= deadline && waited)
			break;
		wait = deadline < 0 ? GW_IDLE_WAIT_MS : t >= deadline ? 0
			: (int)ceil((deadline - t) * 1000);
		next = next_timer(gw);
		if (next >= 0) {
			int w = next <= t ? 0 : (int)ceil((next - t) * 1000);

			if (w < wait)
				wait = w;
		}
		extra_ready = wait_events(gw, wait, n_extra);
		waited = 1;
	}
	return hand_back(gw, done, arg);
}

void gateway_wakeup(struct gateway *gw)
{
	uint64_t one = 1;

	/* one write per wake-up: a wake-up still pending covers this one */
	if (atomic_exchange(&gw->woken, 1))
		return;
	if (write(gw->wakefd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		one = 0;        /* the count is full: a wake-up is pending anyway */
}

static void cancel_one(struct gateway *gw, struct gw_request *req)
{
	req->ok = 0;
	req->fatal = 0;
	set_error(req, NULL, "cancelled");
	gw_list_push(&gw->done, req);
}

void gateway_cancel_all(struct gateway *gw, void (*done)(struct gw_request *, void *), void *arg)
{
	struct gw_request *req;
	size_t i;

	for (i = 0; i < gw->n_slots; i++) {
		struct gw_slot *slot = &gw->slots[i];

		if (!slot->req)
			continue;
		req = slot->req;
		if (slot->h1)
			h1_close(gw, slot);
		else
			curl_multi_remove_handle(gw->multi, slot->easy);
		slot_recycle(gw, slot);
		cancel_one(gw, req);
	}
	while ((req = gw->waiting)) {
		gw->waiting = req->next;
		cancel_one(gw, req);
	}
	for (i = 0; i < GW_N_POOLS; i++)
		while ((req = gw_list_pop(&gw->pools[i].queue)))
			cancel_one(gw, req);
	hand_back(gw, done, arg);
}
