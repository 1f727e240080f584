/*
 * worker: NDJSON worker processes (see worker.h).
 *
 * A call is always in one place: its pool's queue (FIFO, through req->next),
 * a process's in-flight table (id, send time) or the set's done list. A
 * process that dies, or is killed, puts its in-flight calls back at the
 * front of the queue, or fails them when they have used their attempts.
 */
#define _GNU_SOURCE /* posix_spawn_file_actions_addchdir_np */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "error.h"
#include "xalloc.h"
#include "banned.h"

extern char **environ;

#define WK_READ_CHUNK 65536
#define WK_ERR_TEXT_MAX 2048     /* bytes of stderr put in one error */
#define WK_MSG_MAX 300           /* bytes of a worker's own error message */
#define WK_GRACE_MS 1000         /* how long a worker may take to exit after its stdin closes */
#define WK_MAX_PROCS 256

/* ------------------------------------------------------------ framing */

void wk_lines_init(struct wk_lines *l, size_t max)
{
	strbuf_init(&l->buf, 0);
	l->pos = 0;
	l->max = max ? max : WK_DEFAULT_MAX_LINE;
	l->skipping = 0;
}

void wk_lines_release(struct wk_lines *l)
{
	strbuf_release(&l->buf);
	l->pos = 0;
	l->skipping = 0;
}

void wk_lines_add(struct wk_lines *l, const char *p, size_t n)
{
	if (l->pos && l->pos == l->buf.len) {
		strbuf_reset(&l->buf);
		l->pos = 0;
	} else if (l->pos > 65536 && l->pos * 2 > l->buf.len) {
		memmove(l->buf.buf, l->buf.buf + l->pos, l->buf.len - l->pos);
		l->buf.len -= l->pos;
		l->buf.buf[l->buf.len] = '\0';
		l->pos = 0;
	}
	while (n && l->skipping) {
		const char *nl = memchr(p, '\n', n);

		if (!nl)
			return;
		n -= (size_t)(nl + 1 - p);
		p = nl + 1;
		l->skipping = 0;
	}
	strbuf_add(&l->buf, p, n);
}

int wk_lines_next(struct wk_lines *l, const char **line, size_t *len)
{
	const char *s = l->buf.buf + l->pos;
	size_t avail = l->buf.len - l->pos;
	const char *nl = memchr(s, '\n', avail);
	size_t n;

	if (!nl) {
		if (avail <= l->max)
			return 0;
		/* no end in sight past the cap: drop it all, and the rest up to its "\n" */
		strbuf_reset(&l->buf);
		l->pos = 0;
		l->skipping = 1;
		return -1;
	}
	n = (size_t)(nl - s);
	l->pos += n + 1;
	if (n > l->max)
		return -1;
	if (n && s[n - 1] == '\r')
		n--;
	*line = s;
	*len = n;
	return 1;
}

void wk_request_line(struct strbuf *sb, long id, const char *body, size_t len)
{
	size_t i = 1;

	strbuf_addf(sb, "{\"id\":%ld", id);
	while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\n' || body[i] == '\r'))
		i++;
	if (i < len && body[i] != '}')
		strbuf_addch(sb, ',');
	if (len > 1)
		strbuf_add(sb, body + 1, len - 1);
	else
		strbuf_addch(sb, '}');
	strbuf_addch(sb, '\n');
}

int wk_reply_id(const char *line, size_t len, long *id)
{
	cJSON *root = cJSON_ParseWithLength(line, len);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "id");
	int ret = -1;

	if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < (double)LONG_MAX / 2 &&
	    v->valuedouble == (double)(long)v->valuedouble) {
		*id = (long)v->valuedouble;
		ret = 0;
	} else if (cJSON_IsString(v) && *v->valuestring) {
		char *end;

		errno = 0;
		*id = strtol(v->valuestring, &end, 10);
		ret = !*end && !errno && *id >= 0 ? 0 : -1;
	}
	cJSON_Delete(root);
	return ret;
}

/* ------------------------------------------------------------ state */

struct wk_flight {
	struct gw_request *req;
	long id;
	double sent;                     /* monotonic seconds */
};

struct wk_proc {
	pid_t pid;                       /* 0: not running */
	int in, out, err;                /* pipes, -1 when closed */
	struct strbuf wbuf;              /* request lines not yet written */
	size_t wpos;                     /* bytes of wbuf written */
	struct wk_lines lines;           /* stdout */
	struct strbuf errtail;           /* the last WK_STDERR_MAX bytes of stderr */
	struct wk_flight *flight;        /* calls in flight, n_flight of them */
	size_t n_flight;
	int pfd;                         /* index of its first pollfd in the set's array, or -1 */
	int replied;                     /* it has answered since it started: past its start-up */
};

struct worker_pool {
	struct worker_set *set;
	const struct eg_command *cmd;    /* borrowed */
	worker_parse_fn parse;
	const void *parse_arg;
	char **envp;                     /* environ with the command's env over it */
	struct wk_proc *procs;
	int n_procs;
	int inflight;                    /* per process */
	double timeout_s;
	struct gw_list queue;            /* calls waiting for room */
	long next_id;
	struct worker_pool *next;        /* the set's list */
};

struct worker_set {
	struct worker_opts opts;
	struct worker_pool *pools;
	struct gw_list done;             /* finished, handed back at the end of a poll */
	size_t outstanding;
	size_t ignored;
	struct pollfd *fds;
	size_t n_fds, alloc_fds;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* req finished: ok, or failed with msg and the worker's stderr */
static void finish(struct worker_pool *pool, struct wk_proc *p, struct gw_request *req,
		   const char *msg)
{
	if (msg) {
		struct strbuf sb = STRBUF_INIT;

		strbuf_addstr(&sb, msg);
		if (req->attempts > 1 && !strstr(msg, "attempts"))
			strbuf_addf(&sb, " after %d attempts", req->attempts);
		if (p && p->errtail.len) {
			size_t len = p->errtail.len, off = 0;

			if (len > WK_ERR_TEXT_MAX) {
				off = len - WK_ERR_TEXT_MAX;
				len = WK_ERR_TEXT_MAX;
			}
			strbuf_addstr(&sb, "; worker stderr: ");
			gw_error_text(&sb, p->errtail.buf + off, len,
				      (const char *const *)pool->cmd->secrets, pool->cmd->n_secrets,
				      WK_ERR_TEXT_MAX);
		}
		free(req->error);
		req->error = strbuf_detach(&sb, NULL);
		req->ok = 0;
	}
	gw_list_push(&pool->set->done, req);
}

/* ------------------------------------------------------------ processes */

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* a pipe whose two ends close on exec; the parent's end non-blocking */
static int make_pipe(int fds[2], int parent_end)
{
	if (pipe(fds))
		return -1;
	if (fcntl(fds[0], F_SETFD, FD_CLOEXEC) || fcntl(fds[1], F_SETFD, FD_CLOEXEC) ||
	    set_nonblock(fds[parent_end])) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	return 0;
}

/* start process p; -1 with why */
static int proc_start(struct worker_pool *pool, struct wk_proc *p, struct strbuf *why)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	posix_spawn_file_actions_t fa;
	int rc, ret = -1;

	if (make_pipe(in, 1) || make_pipe(out, 0) || make_pipe(err, 0)) {
		strbuf_addf(why, "cannot start the worker: pipe: %s", strerror(errno));
		goto out_close;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	if (pool->cmd->dir)
		posix_spawn_file_actions_addchdir_np(&fa, pool->cmd->dir);
	rc = posix_spawnp(&p->pid, pool->cmd->argv[0], &fa, NULL, pool->cmd->argv, pool->envp);
	posix_spawn_file_actions_destroy(&fa);
	if (rc) {
		p->pid = 0;
		strbuf_addf(why, "cannot start the worker '%s': %s", pool->cmd->argv[0],
			    strerror(rc));
		goto out_close;
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	p->in = in[1];
	p->out = out[0];
	p->err = err[0];
	strbuf_reset(&p->wbuf);
	p->wpos = 0;
	wk_lines_release(&p->lines);
	wk_lines_init(&p->lines, pool->set->opts.max_line);
	strbuf_reset(&p->errtail);
	p->replied = 0;
	ret = 0;
	goto out;

out_close:
	close_fd(&in[0]);
	close_fd(&in[1]);
	close_fd(&out[0]);
	close_fd(&out[1]);
	close_fd(&err[0]);
	close_fd(&err[1]);
out:
	return ret;
}

/* keep the last WK_STDERR_MAX bytes */
static void tail_add(struct strbuf *t, const char *s, size_t n)
{
	if (n >= WK_STDERR_MAX) {
		strbuf_reset(t);
		strbuf_add(t, s + n - WK_STDERR_MAX, WK_STDERR_MAX);
		return;
	}
	if (t->len + n > WK_STDERR_MAX) {
		size_t drop = t->len + n - WK_STDERR_MAX;

		memmove(t->buf, t->buf + drop, t->len - drop);
		t->len -= drop;
		t->buf[t->len] = '\0';
	}
	strbuf_add(t, s, n);
}

/* read what stderr holds; 0 at its end */
static int drain_stderr(struct wk_proc *p)
{
	char buf[WK_READ_CHUNK];

	while (p->err >= 0) {
		ssize_t n = read(p->err, buf, sizeof(buf));

		if (n > 0) {
			tail_add(&p->errtail, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 1;
		close_fd(&p->err);
	}
	return 0;
}

/* wait for p's exit (it is being killed or has exited); describe it in why */
static void proc_reap(struct wk_proc *p, struct strbuf *why)
{
	int status = 0;
	pid_t rc;
	int i;

	/* stdout is at its end: the process exits now or soon; else it is killed */
	for (i = 0; i < 100; i++) {
		rc = waitpid(p->pid, &status, WNOHANG);
		if (rc != 0)
			break;
		if (i == 20)
			kill(p->pid, SIGKILL);
		usleep(1000 * (i < 20 ? 1 : 10));
	}
	if (rc == 0) {
		kill(p->pid, SIGKILL);
		rc = waitpid(p->pid, &status, 0);
	}
	if (rc == p->pid && WIFEXITED(status))
		strbuf_addf(why, "exited with status %d", WEXITSTATUS(status));
	else if (rc == p->pid && WIFSIGNALED(status))
		strbuf_addf(why, "was killed by signal %d", WTERMSIG(status));
	else
		strbuf_addstr(why, "was lost");
	p->pid = 0;
}

/*
 * p is gone (what says how): its stderr read to the end, its calls in flight
 * sent again or failed
 */
static void proc_lost(struct worker_pool *pool, struct wk_proc *p, const char *what, int kill_it)
{
	struct strbuf why = STRBUF_INIT, msg = STRBUF_INIT;
	struct gw_list resend = { NULL, NULL };
	size_t i;

	close_fd(&p->in);
	close_fd(&p->out);
	if (kill_it)
		kill(p->pid, SIGKILL);
	proc_reap(p, &why);
	set_nonblock(p->err);
	drain_stderr(p);
	close_fd(&p->err);
	strbuf_addf(&msg, "worker %s", what ? what : why.buf);
	if (what)
		strbuf_addf(&msg, " (it %s)", why.buf);
	verbose("%s: %s", pool->cmd->argv[0], msg.buf);
	for (i = 0; i < p->n_flight; i++) {
		struct gw_request *req = p->flight[i].req;

		if (req->attempts <= pool->set->opts.max_retries) {
			verbose("retry %d/%d for case %s: %s", req->attempts,
				pool->set->opts.max_retries, req->case_id ? req->case_id : "?",
				msg.buf);
			gw_list_push(&resend, req);
		} else {
			finish(pool, p, req, msg.buf);
		}
	}
	p->n_flight = 0;
	/* resent first, in their order */
	if (resend.head) {
		resend.tail->next = pool->queue.head;
		if (!pool->queue.head)
			pool->queue.tail = resend.tail;
		pool->queue.head = resend.head;
	}
	strbuf_reset(&p->wbuf);
	p->wpos = 0;
	strbuf_release(&why);
	strbuf_release(&msg);
}

/* write what p has to write; -1 when its stdin is broken */
static int proc_flush(struct wk_proc *p)
{
	while (p->wpos < p->wbuf.len) {
		ssize_t n = write(p->in, p->wbuf.buf + p->wpos, p->wbuf.len - p->wpos);

		if (n > 0) {
			p->wpos += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		return -1;
	}
	strbuf_reset(&p->wbuf);
	p->wpos = 0;
	return 0;
}

static struct wk_flight *flight_find(struct wk_proc *p, long id)
{
	size_t i;

	for (i = 0; i < p->n_flight; i++)
		if (p->flight[i].id == id)
			return &p->flight[i];
	return NULL;
}

static void flight_remove(struct wk_proc *p, struct wk_flight *f)
{
	*f = p->flight[--p->n_flight];
}

/* one stdout line of p */
static void proc_line(struct worker_pool *pool, struct wk_proc *p, const char *line, size_t len)
{
	struct strbuf why = STRBUF_INIT;
	struct gw_request *req;
	struct wk_flight *f;
	enum target_parse rc;
	long id;

	if (wk_reply_id(line, len, &id) || !(f = flight_find(p, id))) {
		struct strbuf sb = STRBUF_INIT;

		pool->set->ignored++;
		gw_error_text(&sb, line, len, (const char *const *)pool->cmd->secrets,
			      pool->cmd->n_secrets, 120);
		verbose("%s: ignored a stdout line that is not a reply to a call in flight: %s",
			pool->cmd->argv[0], sb.buf);
		strbuf_release(&sb);
		return;
	}
	req = f->req;
	p->replied = 1;
	req->latency_ms = (now_s() - f->sent) * 1000.0;
	flight_remove(p, f);
	rc = pool->parse(pool->parse_arg, line, len, &req->reply, &why);
	if (rc == TARGET_REPLY_OK) {
		req->ok = 1;
		finish(pool, p, req, NULL);
	} else {
		struct strbuf msg = STRBUF_INIT;

		gw_error_text(&msg, why.buf, why.len, (const char *const *)pool->cmd->secrets,
			      pool->cmd->n_secrets, WK_MSG_MAX);
		finish(pool, p, req, msg.buf);
		strbuf_release(&msg);
	}
	strbuf_release(&why);
}

/* read p's stdout; -1 at its end or on an overlong line (p must go) */
static int proc_read(struct worker_pool *pool, struct wk_proc *p, const char **what)
{
	char buf[WK_READ_CHUNK];

	for (;;) {
		ssize_t n = read(p->out, buf, sizeof(buf));
		const char *line;
		size_t len;
		int rc;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return -1;
		wk_lines_add(&p->lines, buf, (size_t)n);
		while ((rc = wk_lines_next(&p->lines, &line, &len)) != 0) {
			if (rc < 0) {
				*what = "wrote a line longer than the cap (max_response_bytes)";
				return -1;
			}
			proc_line(pool, p, line, len);
		}
		if ((size_t)n < sizeof(buf))
			return 0;
	}
}

/* send queued calls to processes with room, starting processes as needed */
static void dispatch(struct worker_pool *pool)
{
	int i, tries = 0;

	while (pool->queue.head && tries < pool->n_procs) {
		struct wk_proc *p = NULL;
		struct gw_request *req;
		struct wk_flight *f;
		size_t best = (size_t)pool->inflight;

		/* the least busy process */
		for (i = 0; i < pool->n_procs; i++)
			if (pool->procs[i].n_flight < best) {
				best = pool->procs[i].n_flight;
				p = &pool->procs[i];
			}
		if (!p)
			return;
		if (!p->pid) {
			struct strbuf why = STRBUF_INIT;

			if (proc_start(pool, p, &why)) {
				/* nothing can run: every queued call fails */
				while ((req = gw_list_pop(&pool->queue))) {
					req->attempts++;
					finish(pool, NULL, req, why.buf);
				}
				strbuf_release(&why);
				return;
			}
			strbuf_release(&why);
		}
		req = gw_list_pop(&pool->queue);
		req->attempts++;
		f = &p->flight[p->n_flight++];
		f->req = req;
		f->id = pool->next_id++;
		f->sent = now_s();
		wk_request_line(&p->wbuf, f->id, req->body ? req->body : "{}",
				req->body ? req->body_len : 2);
		if (proc_flush(p)) {
			proc_lost(pool, p, "closed its stdin", 0);
			tries++;
		}
	}
}

/* ------------------------------------------------------------ the set */

struct worker_set *worker_set_new(const struct worker_opts *opts)
{
	struct worker_set *set = xcalloc(1, sizeof(*set));
	struct sigaction old_pipe;

	set->opts = *opts;
	if (set->opts.inflight < 1)
		set->opts.inflight = 1;
	if (!set->opts.max_line)
		set->opts.max_line = WK_DEFAULT_MAX_LINE;
	if (set->opts.max_retries < 0)
		set->opts.max_retries = 0;
	/* a worker that dies leaves a broken pipe: an error, not the end of evalgate */
	if (!sigaction(SIGPIPE, NULL, &old_pipe) && old_pipe.sa_handler == SIG_DFL)
		signal(SIGPIPE, SIG_IGN);
	return set;
}

static int env_name_eq(const char *a, const char *b)
{
	while (*a && *a != '=' && *a == *b) {
		a++;
		b++;
	}
	return *a == '=' && *b == '=';
}

static char **make_envp(const struct eg_command *cmd)
{
	size_t n = 0, m = 0, i, k;
	char **envp;

	while (environ && environ[n])
		n++;
	while (cmd->env && cmd->env[m])
		m++;
	envp = xcalloc(n + m + 1, sizeof(*envp));
	k = 0;
	for (i = 0; i < n; i++) {
		size_t j;
		int over = 0;

		for (j = 0; j < m && !over; j++)
			over = env_name_eq(environ[i], cmd->env[j]);
		if (!over)
			envp[k++] = environ[i];
	}
	for (i = 0; i < m; i++)
		envp[k++] = cmd->env[i];
	return envp;
}

struct worker_pool *worker_set_pool(struct worker_set *set, const struct eg_command *cmd,
				    worker_parse_fn parse, const void *arg)
{
	return worker_set_pool_sized(set, cmd, parse, arg, set->opts.inflight);
}

struct worker_pool *worker_set_pool_sized(struct worker_set *set, const struct eg_command *cmd,
					  worker_parse_fn parse, const void *arg, int inflight)
{
	struct worker_pool *pool;
	int i;

	for (pool = set->pools; pool; pool = pool->next)
		if (!strcmp(pool->cmd->key, cmd->key) && pool->parse == parse &&
		    pool->parse_arg == arg)
			return pool;
	pool = xcalloc(1, sizeof(*pool));
	pool->set = set;
	pool->cmd = cmd;
	pool->parse = parse;
	pool->parse_arg = arg;
	pool->envp = make_envp(cmd);
	pool->n_procs = cmd->workers > 0 ? cmd->workers : 1;
	if (pool->n_procs > WK_MAX_PROCS)
		pool->n_procs = WK_MAX_PROCS;
	if (inflight < 1)
		inflight = 1;
	pool->inflight = (inflight + pool->n_procs - 1) / pool->n_procs;
	pool->timeout_s = cmd->timeout_s > 0 ? cmd->timeout_s : set->opts.timeout_s;
	pool->procs = xcalloc((size_t)pool->n_procs, sizeof(*pool->procs));
	for (i = 0; i < pool->n_procs; i++) {
		struct wk_proc *p = &pool->procs[i];

		p->in = p->out = p->err = -1;
		p->pfd = -1;
		strbuf_init(&p->wbuf, 0);
		strbuf_init(&p->errtail, 0);
		wk_lines_init(&p->lines, set->opts.max_line);
		p->flight = xcalloc((size_t)pool->inflight, sizeof(*p->flight));
	}
	pool->next = set->pools;
	set->pools = pool;
	return pool;
}

void worker_submit(struct worker_pool *pool, struct gw_request *req)
{
	gw_request_clear(req);
	req->attempts = 0;
	req->priv = NULL;
	gw_list_push(&pool->queue, req);
	pool->set->outstanding++;
	dispatch(pool);
}

size_t worker_set_outstanding(const struct worker_set *set)
{
	return set->outstanding;
}

size_t worker_set_ignored(const struct worker_set *set)
{
	return set->ignored;
}

static void add_fd(struct worker_set *set, int fd, short events)
{
	XGROW(set->fds, set->n_fds + 1, set->alloc_fds);
	set->fds[set->n_fds].fd = fd;
	set->fds[set->n_fds].events = events;
	set->fds[set->n_fds].revents = 0;
	set->n_fds++;
}

struct pollfd *worker_set_fds(struct worker_set *set, size_t *n)
{
	struct worker_pool *pool;
	int i;

	set->n_fds = 0;
	for (pool = set->pools; pool; pool = pool->next)
		for (i = 0; i < pool->n_procs; i++) {
			struct wk_proc *p = &pool->procs[i];

			p->pfd = -1;
			if (!p->pid)
				continue;
			p->pfd = (int)set->n_fds;
			add_fd(set, p->out, POLLIN);
			add_fd(set, p->err, POLLIN);
			add_fd(set, p->in, p->wpos < p->wbuf.len ? POLLOUT : 0);
		}
	*n = set->n_fds;
	return set->fds;
}

/* a call's time limit on p: a process that has not answered yet may still be starting up */
static double time_limit(const struct worker_pool *pool, const struct wk_proc *p)
{
	return p->replied ? pool->timeout_s : 2 * pool->timeout_s;
}

int worker_set_next_ms(const struct worker_set *set)
{
	const struct worker_pool *pool;
	double next = -1, t = now_s();
	int i;
	size_t k;

	for (pool = set->pools; pool; pool = pool->next)
		for (i = 0; i < pool->n_procs; i++)
			for (k = 0; k < pool->procs[i].n_flight; k++) {
				double d = pool->procs[i].flight[k].sent +
					   time_limit(pool, &pool->procs[i]);

				if (next < 0 || d < next)
					next = d;
			}
	if (next < 0)
		return -1;
	return next <= t ? 0 : (int)((next - t) * 1000.0) + 1;
}

/*
 * Past its deadline, the call p received first fails and p is killed (it
 * may be stuck); the calls written after it may only have waited behind
 * it, so they are sent again (proc_lost) like those of a crashed worker.
 */
static void check_timeouts(struct worker_pool *pool, struct wk_proc *p, double t)
{
	struct strbuf msg = STRBUF_INIT;
	struct wk_flight *first = NULL;
	struct gw_request *req;
	size_t i;

	for (i = 0; i < p->n_flight; i++)
		if (!first || p->flight[i].id < first->id)
			first = &p->flight[i];
	if (!first || t - first->sent < time_limit(pool, p))
		goto out;
	req = first->req;
	strbuf_addf(&msg, "timed out after %g s (worker killed and restarted)",
		    time_limit(pool, p));
	req->latency_ms = (t - first->sent) * 1000.0;
	flight_remove(p, first);
	set_nonblock(p->err);
	drain_stderr(p);
	/* a timeout is not a crash: the call is not sent again */
	finish(pool, p, req, msg.buf);
	proc_lost(pool, p, "timed out", 1);
out:
	strbuf_release(&msg);
}

static void poll_pool(struct worker_pool *pool, const struct pollfd *fds, size_t n_fds, double t)
{
	int i;

	for (i = 0; i < pool->n_procs; i++) {
		struct wk_proc *p = &pool->procs[i];
		const char *what = NULL;
		short rout = 0, rerr = 0, rin = 0;

		if (!p->pid)
			continue;
		if (p->pfd >= 0 && (size_t)p->pfd + 2 < n_fds) {
			rout = fds[p->pfd].revents;
			rerr = fds[p->pfd + 1].revents;
			rin = fds[p->pfd + 2].revents;
		}
		if (rerr)
			drain_stderr(p);
		if (rout && proc_read(pool, p, &what)) {
			proc_lost(pool, p, what, what != NULL);
			continue;
		}
		if ((rin & (POLLERR | POLLHUP)) || (p->wpos < p->wbuf.len && proc_flush(p))) {
			proc_lost(pool, p, "closed its stdin", 0);
			continue;
		}
		check_timeouts(pool, p, t);
	}
	dispatch(pool);
}

static int hand_back(struct worker_set *set, void (*done)(struct gw_request *, void *), void *arg)
{
	return gw_list_hand_back(&set->done, &set->outstanding, done, arg);
}

int worker_set_poll(struct worker_set *set, int timeout_ms,
		    void (*done)(struct gw_request *req, void *arg), void *arg)
{
	struct worker_pool *pool;
	struct pollfd *fds;
	size_t n;
	double t;

	fds = worker_set_fds(set, &n);
	if (n || timeout_ms > 0) {
		int next = worker_set_next_ms(set);

		if (next >= 0 && (timeout_ms < 0 || next < timeout_ms))
			timeout_ms = next;
		if (poll(fds, (nfds_t)n, timeout_ms) < 0 && errno != EINTR)
			return hand_back(set, done, arg);
	}
	t = now_s();
	for (pool = set->pools; pool; pool = pool->next)
		poll_pool(pool, fds, n, t);
	return hand_back(set, done, arg);
}

static void cancel_one(struct worker_pool *pool, struct gw_request *req)
{
	free(req->error);
	req->error = xstrdup("cancelled");
	req->ok = 0;
	gw_list_push(&pool->set->done, req);
}

void worker_set_cancel_all(struct worker_set *set, void (*done)(struct gw_request *, void *),
			   void *arg)
{
	struct worker_pool *pool;
	struct gw_request *req;
	int i;
	size_t k;

	for (pool = set->pools; pool; pool = pool->next) {
		for (i = 0; i < pool->n_procs; i++) {
			struct wk_proc *p = &pool->procs[i];

			for (k = 0; k < p->n_flight; k++)
				cancel_one(pool, p->flight[k].req);
			p->n_flight = 0;
			/* their lines may be half written: the process must not read them */
			if (p->pid)
				proc_lost(pool, p, "stopped", 1);
		}
		while ((req = gw_list_pop(&pool->queue)))
			cancel_one(pool, req);
	}
	hand_back(set, done, arg);
}

/* close the stdins, give the processes WK_GRACE_MS to exit, kill the rest */
static void stop_all(struct worker_set *set)
{
	struct worker_pool *pool;
	double deadline = now_s() + WK_GRACE_MS / 1000.0;
	int i, left;

	for (pool = set->pools; pool; pool = pool->next)
		for (i = 0; i < pool->n_procs; i++)
			close_fd(&pool->procs[i].in);
	do {
		left = 0;
		for (pool = set->pools; pool; pool = pool->next)
			for (i = 0; i < pool->n_procs; i++) {
				struct wk_proc *p = &pool->procs[i];

				if (p->pid && waitpid(p->pid, NULL, WNOHANG) == 0)
					left++;
				else
					p->pid = 0;
			}
		if (left)
			usleep(2000);
	} while (left && now_s() < deadline);
	for (pool = set->pools; pool; pool = pool->next)
		for (i = 0; i < pool->n_procs; i++) {
			struct wk_proc *p = &pool->procs[i];

			if (p->pid) {
				kill(p->pid, SIGKILL);
				waitpid(p->pid, NULL, 0);
				p->pid = 0;
			}
		}
}

void worker_set_free(struct worker_set *set)
{
	if (!set)
		return;
	stop_all(set);
	while (set->pools) {
		struct worker_pool *pool = set->pools;
		int i;

		set->pools = pool->next;
		for (i = 0; i < pool->n_procs; i++) {
			struct wk_proc *p = &pool->procs[i];

			close_fd(&p->in);
			close_fd(&p->out);
			close_fd(&p->err);
			strbuf_release(&p->wbuf);
			strbuf_release(&p->errtail);
			wk_lines_release(&p->lines);
			free(p->flight);
		}
		free(pool->procs);
		free(pool->envp);
		free(pool);
	}
	free(set->fds);
	free(set);
}
