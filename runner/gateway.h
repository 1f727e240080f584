/*
 * gateway: the OpenAI-compatible client. Event-driven on one curl multi
 * handle driven by curl_multi_socket_action over an epoll set: the caller
 * submits requests and drives transfers with gateway_poll(); no thread per
 * request, and a turn costs the sockets that are ready, not all of them.
 *
 * Requests go to the gateway's {base_url}/chat/completions with the
 * gateway's headers and key, or along a route (gateway_route_new): a
 * target's own URL, method and headers, with its type reading the replies.
 * Redirects are never followed: a 3xx reply is an error naming the Location.
 *
 * The client owns retries (connect errors, timeouts, 408, 409, 429, 5xx,
 * x-should-retry) with exponential backoff and full jitter, honouring
 * retry-after-ms and Retry-After (seconds or HTTP-date, capped at 120 s),
 * up to max_retries; an optional rps limit; a per-request timeout; and a
 * max_response_bytes limit (the transfer is cut and the request fails).
 * 401 and 403 are never retried and mark the request fatal.
 *
 * Requests count against one of two pools (enum gw_pool): the target's
 * calls against gateway.concurrency, the scorers' (judge, embeddings,
 * simulated users) against gateway.scorer_concurrency, so neither starves
 * the other. Each pool's allowed concurrency adapts (ratelimit.h: halved on
 * a 429 or a nearly spent quota, grown back by one a window of successes);
 * gateway.rpm and gateway.tpm pace both pools together; the pools'
 * concurrency timeline is kept for the run (gateway_timeline_json).
 *
 * Ownership: a struct gw_request is the caller's; the gateway borrows it
 * from gateway_submit() until it is handed back through the done callback.
 * The fields under "result" are malloc'd by the gateway and freed by
 * gw_request_release(), which also frees body and url. Routes belong to the
 * gateway (gateway_free frees them) and borrow their target.
 *
 * Threads: every function but gateway_wakeup() is called from one thread.
 *
 * The result fields of a request passed to gateway_submit() must be zero or
 * left from an earlier hand-back (they are freed and reset). The done
 * callback may submit new requests (or the same one again); it must not call
 * gateway_poll(), gateway_cancel_all() or gateway_free().
 */
#ifndef EG_GATEWAY_H
#define EG_GATEWAY_H

#include <stddef.h>
#include <time.h>

#include "config.h"
#include "target.h"

struct gateway;
struct strbuf;
struct gw_route;

/* whose concurrency a request counts against */
enum gw_pool {
	GW_POOL_TARGET,          /* the target's calls (the default) */
	GW_POOL_SCORER,          /* the scorers' model calls */
	GW_N_POOLS
};

struct gw_request {
	/* set by the caller */
	enum gw_pool pool;       /* GW_POOL_TARGET unless set */
	char *body;              /* request body, owned (freed by gw_request_release); NULL: none */
	size_t body_len;
	char *url;               /* owned; NULL: {base_url}/chat/completions */
	enum target_method method; /* POST sends body; GET sends none */
	int stream;              /* 1: a 2xx text/event-stream reply is read as it arrives (sse.h) */
	int raw;                 /* 1 (no route): a 2xx reply must be a JSON object, kept whole
				    in reply.output with usage.prompt_tokens read (the
				    /embeddings endpoint); 0: a chat reply */
	const struct gw_route *route; /* NULL: the gateway's headers and key, a chat reply */
	const char *run_id;      /* x-evalgate-run header, borrowed */
	const char *suite;       /* x-evalgate-suite header, borrowed */
	const char *case_id;     /* x-evalgate-case header, borrowed */
	int repeat;              /* x-evalgate-repeat header (0-based), sent with case_id */
	void *user;              /* the caller's */

	/* result, valid in the done callback */
	int ok;                  /* 1: a 2xx reply its parser could use */
	int fatal;               /* 1: 401/403, the run must stop */
	long http_status;        /* of the last attempt, 0 when no reply */
	struct target_reply reply; /* ok: the parsed reply (chat: choices[0].message.content,
				      finish_reason, usage); reply.stream: a streamed
				      reply's timing, TTFT from the moment the request
				      went out on its connection (not its queueing) */
	int attempts;            /* 1 + retries */
	double latency_ms;       /* of the last attempt */
	char *error;             /* why it failed (includes the gateway's error JSON message) */

	/* private to the gateway */
	struct gw_request *next;
	void *priv;
	double not_before;       /* monotonic seconds: earliest start of the next attempt */
	double est_tokens;       /* tokens taken from the tpm bucket for the running attempt */
};

/*
 * api_key may be NULL (no Authorization header); it is copied and never
 * printed. NULL after reporting when base_url is missing or libcurl fails.
 * Sets SIGPIPE to ignored unless the process already handles it.
 */
struct gateway *gateway_new(const struct eg_gateway_cfg *cfg, const char *api_key);
/* requests still outstanding are dropped unseen: gateway_cancel_all() first to get them back */
void gateway_free(struct gateway *gw);
/*
 * A route for the requests of target t when its type sends its own headers
 * (t->type->http_headers): those headers instead of the gateway's (whose key
 * is then never sent), its secrets redacted from every error, and its
 * type's parse_reply reading the replies. A reply that parser finds
 * unreadable is retried; one it finds unusable fails at once.
 */
const struct gw_route *gateway_route_new(struct gateway *gw, const struct target *t);

void gateway_submit(struct gateway *gw, struct gw_request *req);
/* requests submitted and not yet handed back (running, queued or waiting to retry) */
size_t gateway_outstanding(const struct gateway *gw);
/* transfers in flight right now (never more than the configured concurrency) */
size_t gateway_running(const struct gateway *gw);
/*
 * The concurrency timeline starts over (a run begins; a gateway shared by
 * variants keeps each pool's current limit).
 */
void gateway_timeline_begin(struct gateway *gw);
/* the pools' timelines since gateway_timeline_begin, as JSON (rl_timeline_json) appended to sb */
void gateway_timeline_json(struct gateway *gw, struct strbuf *sb);
/* the pool's allowed concurrency now */
int gateway_pool_limit(const struct gateway *gw, enum gw_pool pool);
/* connections opened so far; far below the attempts made when keep-alive works */
size_t gateway_connections(const struct gateway *gw);
/*
 * Drive transfers for at most timeout_ms (returns early when something
 * finished or gateway_wakeup() was called; timeout_ms < 0 waits until one of
 * those happens). Each finished request is passed to done(). Returns the
 * number handed back.
 */
int gateway_poll(struct gateway *gw, int timeout_ms,
		 void (*done)(struct gw_request *req, void *arg), void *arg);
/*
 * gateway_poll() that also returns as soon as one of the caller's n_extra
 * descriptors is ready for what its events ask (POLLIN, POLLOUT): the run
 * waits on its exec workers' pipes and the transfers at once.
 */
struct pollfd;
int gateway_poll_fds(struct gateway *gw, int timeout_ms, struct pollfd *extra, size_t n_extra,
		     void (*done)(struct gw_request *req, void *arg), void *arg);
/* thread-safe: make a gateway_poll() in progress return */
void gateway_wakeup(struct gateway *gw);
/* abandon everything outstanding: each is handed to done() with ok = 0 */
void gateway_cancel_all(struct gateway *gw, void (*done)(struct gw_request *, void *), void *arg);

void gw_request_release(struct gw_request *req);
/* free and reset the result fields (what submit does first) */
void gw_request_clear(struct gw_request *req);

/* a FIFO of requests linked through req->next: the gateway's queues, and other transports' */
struct gw_list {
	struct gw_request *head;
	struct gw_request *tail;
};
void gw_list_push(struct gw_list *l, struct gw_request *req);
/* the oldest, or NULL */
struct gw_request *gw_list_pop(struct gw_list *l);
/* pass each request of l to done(), oldest first, counting it off *outstanding; how many */
int gw_list_hand_back(struct gw_list *l, size_t *outstanding,
		      void (*done)(struct gw_request *, void *), void *arg);

/* --- pure helpers, exposed for tests --- */

/*
 * len bytes of untrusted text (a gateway's or an application's error reply)
 * appended to sb for an error message: every secret (of 4 bytes or more) is
 * redacted from the whole text first, then the text is made visible and cut
 * to max bytes, then any run of 8 or more bytes that is a piece of a secret
 * is redacted too. Returns the bytes appended.
 */
size_t gw_error_text(struct strbuf *sb, const char *text, size_t len, const char *const *secrets,
		     size_t n_secrets, size_t max);

/* milliseconds to wait from a Retry-After value (delta-seconds, fractional, or HTTP-date), -1 if unparsable */
long gw_parse_retry_after(const char *value, time_t now);
/* backoff before retry number attempt (1-based) without server hint: full jitter on min(8 s, 0.5 s * 2^(attempt-1)); u in [0,1) */
long gw_backoff_ms(int attempt, double u);
/* 1 when a reply with this status should be retried */
int gw_status_retryable(long status);
/* parse a chat/completions reply into req->reply; 0 ok, -1 with req->error set */
int gw_parse_reply(struct gw_request *req, const char *body, size_t len);

#endif
