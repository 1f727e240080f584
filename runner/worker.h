/*
 * worker: NDJSON worker processes as a transport beside the gateway client
 * (the exec target, the exec scorer). A pool runs one command as N
 * long-lived processes (posix_spawn; pipes with O_CLOEXEC, non-blocking on
 * evalgate's side). For each call it writes one line, the request object
 * with an "id" member put first, to a worker's stdin, and reads reply lines
 * from the workers' stdout, matched by "id" in any order. A pool is driven
 * with the same operations as the gateway (submit, poll, outstanding,
 * cancel_all over a struct gw_request), from the run's network thread: its
 * file descriptors are waited on together with the curl multi handle's
 * (gateway_poll_fds), so there is one scheduler.
 *
 *  - A reply line is read by the pool's parse function into req->reply; one
 *    it finds unusable (an "error" member, no "output") fails the call.
 *  - A stdout line that is not a JSON object with the id of a call in flight
 *    on that worker (a stray print, a late reply) is ignored and counted.
 *  - A line longer than max_line bytes is never buffered: the worker is
 *    treated as broken (killed and restarted).
 *  - A worker that exits, closes its stdout or breaks its pipe is restarted
 *    on the next call; the calls it had in flight are sent again (each send
 *    counts as an attempt) up to max_retries, then fail.
 *  - A call not answered within timeout_s of its line being written fails
 *    ("timed out") when it is the oldest its worker holds; the worker is
 *    killed and restarted, its other calls in flight (which may only have
 *    waited behind it) sent again. Until a process has answered once it gets twice
 *    timeout_s (its start-up: an interpreter, a model being loaded).
 *  - The last WK_STDERR_MAX bytes a worker wrote to stderr are kept and
 *    appended to the error of every call of that worker that fails,
 *    redacted like the gateway's error text (the command's secrets).
 *
 * Ownership: a pool borrows its command (which must outlive it) and, like
 * the gateway, the requests from submit until done() hands them back; a set
 * owns its pools. Threads: one thread drives a set.
 */
#ifndef EG_WORKER_H
#define EG_WORKER_H

#include <stddef.h>

#include "command.h"
#include "gateway.h"
#include "strbuf.h"
#include "target.h"

#define WK_STDERR_MAX 8192             /* bytes of a worker's stderr kept */
#define WK_DEFAULT_MAX_LINE ((size_t)16 << 20) /* a reply line's cap (max_response_bytes) */

/* read a reply line into out; a line the call cannot use is TARGET_REPLY_FAIL with why */
typedef enum target_parse (*worker_parse_fn)(const void *arg, const char *line, size_t len,
					     struct target_reply *out, struct strbuf *why);

/* what the run gives every pool */
struct worker_opts {
	int inflight;                  /* calls in flight per pool (shared by its processes), >= 1 */
	double timeout_s;              /* per call when the command sets none */
	int max_retries;               /* resends of a call whose worker died */
	size_t max_line;               /* longest reply line, bytes */
};

struct worker_set;
struct worker_pool;

struct worker_set *worker_set_new(const struct worker_opts *opts);
/* kills what still runs (stdin closed first, then SIGKILL after a grace period) */
void worker_set_free(struct worker_set *set);
/*
 * The pool of cmd whose replies parse reads (arg is passed to it), made on
 * first use: commands with the same key and parse share one pool.
 */
struct worker_pool *worker_set_pool(struct worker_set *set, const struct eg_command *cmd,
				    worker_parse_fn parse, const void *arg);
/* the same with inflight calls at most (not the set's), when the pool is made */
struct worker_pool *worker_set_pool_sized(struct worker_set *set, const struct eg_command *cmd,
					  worker_parse_fn parse, const void *arg, int inflight);

/*
 * Queue req (its body is a JSON object, "{...}") and write it to a worker
 * when one has room. A worker that cannot be started fails the call.
 */
void worker_submit(struct worker_pool *pool, struct gw_request *req);

/* calls submitted and not yet handed back, over every pool */
size_t worker_set_outstanding(const struct worker_set *set);
/*
 * The descriptors to wait on (the workers' stdout and stderr, stdin while a
 * line is being written), valid until the next call on the set; *n of them.
 */
struct pollfd *worker_set_fds(struct worker_set *set, size_t *n);
/* milliseconds until the next call times out, -1 when none is in flight */
int worker_set_next_ms(const struct worker_set *set);
/*
 * Do the I/O that is ready, waiting at most timeout_ms (0: none), fail
 * calls that timed out, restart dead workers; each finished request is
 * passed to done(). Returns the number handed back.
 */
int worker_set_poll(struct worker_set *set, int timeout_ms,
		    void (*done)(struct gw_request *req, void *arg), void *arg);
/* abandon everything outstanding: each is handed to done() with ok = 0, error "cancelled" */
void worker_set_cancel_all(struct worker_set *set, void (*done)(struct gw_request *, void *),
			   void *arg);
/* lines ignored so far (not JSON, unknown id), over every pool */
size_t worker_set_ignored(const struct worker_set *set);

/* --- NDJSON framing, exposed for tests --- */

/*
 * Lines out of a byte stream. Bytes are added as they are read; complete
 * lines come out without their "\n" (and a "\r" before it). A line longer
 * than max bytes is never held: it is dropped up to its "\n" and reported
 * once.
 */
struct wk_lines {
	struct strbuf buf;             /* bytes read, not yet taken */
	size_t pos;                    /* start of the first line not yet taken */
	size_t max;                    /* longest line kept, bytes */
	int skipping;                  /* inside an overlong line: drop up to its "\n" */
};

void wk_lines_init(struct wk_lines *l, size_t max);
void wk_lines_release(struct wk_lines *l);
void wk_lines_add(struct wk_lines *l, const char *p, size_t n);
/* 1: a line in *line and *len (valid until the next add); 0: none complete; -1: an overlong line was dropped */
int wk_lines_next(struct wk_lines *l, const char **line, size_t *len);

/* the request line for body ("{...}") with "id": id put first, "\n" ended, appended to sb */
void wk_request_line(struct strbuf *sb, long id, const char *body, size_t len);
/* the "id" of a reply line: 0 with *id, -1 when the line is not an object with an integer id */
int wk_reply_id(const char *line, size_t len, long *id);

#endif
