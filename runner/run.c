#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "run.h"

#include <math.h>
#include <sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <pcre2.h>

#include "agent.h"
#include "cache.h"
#include "error.h"
#include "gateway.h"
#include "jsonw.h"
#include "rng.h"
#include "strbuf.h"
#include "sha256.h"
#include "target.h"
#include "trajectory.h"
#include "worker.h"
#include "xalloc.h"
#include "banned.h"

/* ---------------------------------------------------------------- signals */

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

void run_signals_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND; /* a second ^C ends the process at once */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int run_signal_received(void)
{
	return stop_signal;
}

/* ---------------------------------------------------------------- jobs */

struct cache_entry {
	struct cache_entry *next;
	int scorer;                    /* whose call it was: a scorer index, or -1 for the target */
	char key[65];
	struct cached_reply reply;
};

/* a case read from its suite file, shared by the jobs of its repeats */
struct shared_case {
	struct eg_case c;
	atomic_int refs;               /* jobs holding it, plus the reader while it makes them */
};

/* one repeat of one case on its way from the suite file to the history */
struct job {
	struct job *next;              /* link in the writer or call queue */
	struct run *run;
	const struct eg_suite *suite;
	struct shared_case *sc;        /* a reference */
	const struct eg_case *kase;    /* &sc->c */
	int repeat;                    /* 0-based */
	const struct scorer **scorers; /* the suite's, then the case's */
	size_t n_scorers;
	struct score_job *sjobs;       /* per scorer */
	struct score_result *results;  /* per scorer */
	unsigned char *scored;         /* per scorer: 1 once DONE */
	int *calls_made;               /* per scorer: model calls asked for (network thread) */
	int calls_pending;             /* scorer calls in flight (network thread only) */
	struct target_reply reply;     /* the answer (output NUL-terminated), its usage, context... */
	int answered;                  /* reply holds an answer */
	struct eg_case view;           /* the case as scored when the target retrieved its context:
					  a shallow copy of *kase whose context (and context_ids)
					  are reply's */
	char *error;                   /* the call failed: why */
	double latency_ms;
	long judge_prompt_tokens, judge_completion_tokens; /* scorers' calls; -1 none known */
	double judge_cost_usd;         /* their price; NaN while none is known */
	int attempts;
	int cached;
	enum result_status status;
	struct cache_entry *to_cache;  /* replies the writer puts into the cache */
	/* the agent loop (SPEC 12) */
	const cJSON *tools;            /* the case's tools: the case's, the suite's or the target's */
	const cJSON *fixtures;         /* the case's tool_results, or NULL */
	const cJSON *default_result;   /* the case's, else the suite's default_tool_result, or NULL */
	int max_steps;                 /* replies asked for at most */
	long max_tokens;               /* tokens (prompt + completion, all steps) at most; 0: none */
	int loop;                      /* tool calls are answered and the model asked again */
	struct target_request rq;      /* loop: the last request sent (kept for the next step) */
	cJSON *trajectory;             /* the steps so far, or NULL without tool calls; once
					  the loop is over, parsed from reply.trajectory */
	struct strbuf *step_text;      /* per step of trajectory: its content as bytes (the
					  tree's string ends at a NUL) */
	size_t n_step_text, alloc_step_text;
	int steps, steps_cached;       /* replies received, of which from the cache */
	long sum_prompt, sum_completion; /* token counts over the steps; -1 none known */
	/* a conversation (SPEC 12: turns, simulate) */
	int conv;                      /* the case has turns or a simulated user */
	int turn;                      /* the turn being answered, 1-based */
	int turn_first;                /* its first step */
	char *user;                    /* simulate: the user's message opening the turn */
	int *scorer_turn;              /* per scorer: its turn, 0 for the whole conversation */
	cJSON **turn_steps;            /* per turn: its steps (for its scorers), or NULL */
	char **turn_json;              /* per turn: the text turn_steps was parsed from, or NULL */
};

enum pending_kind { PENDING_TARGET, PENDING_SCORER, PENDING_USER };

/* what a gateway request belongs to */
struct pending {
	enum pending_kind kind;
	struct job *job;
	size_t scorer, call;           /* PENDING_SCORER: which call */
	char key[65];                  /* cache key, "" when not cached */
	struct gw_request req;
};

/*
 * a case in the seeded order: the shuffle key, its suite and where it is in
 * the suite's file (read again when it is taken: 24 bytes a case)
 */
struct ordered_case {
	uint64_t key;                  /* from sha256(seed, suite, case id) */
	off_t off;                     /* case_pos.off */
	int line;                      /* case_pos.line */
	uint16_t mut;                  /* case_pos.mut */
	uint16_t suite;                /* index in the plan's suites */
};

struct queue {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *head, *tail;
	size_t n;                       /* jobs queued */
	size_t wake_at;                 /* a push wakes a napping consumer once n reaches this */
	int waiting;                    /* consumers asleep until the next push */
	int flush;                      /* no more naps: the run's last jobs are on their way */
	int closed;
};

struct run {
	const struct run_plan *plan;
	struct run_stats *st;
	const struct target *target;    /* the plan's, or own_target */
	struct target own_target;       /* the config's target when the plan gives none */
	const struct gw_route *route;   /* the target's own headers and replies, or NULL (chat) */
	struct gateway *gw;
	struct worker_set *workers;     /* exec workers: the target's and the exec scorers' */
	struct worker_pool *target_pool; /* the target's workers when it has a command, else NULL */
	struct cache *cache_rd;         /* network thread's cache connection */
	size_t next_suite;
	struct case_reader reader;
	int reader_open;
	struct shared_case *cur;        /* the case whose repeats are being started, or NULL */
	const struct eg_suite *cur_suite;
	int cur_repeat;                 /* the next repeat of cur to start */
	int repeats;                    /* of every case, >= 1 */
	unsigned char *stored;          /* --resume: per repeat of cur, 1 when the run has it */
	int exhausted;                  /* no more cases to read */
	int stop;                       /* stop taking new cases */
	struct ordered_case *order;     /* plan->seeded: every selected case, in the seeded order */
	size_t n_order, next_order, order_alloc;
	int order_loaded;
	struct case_reader *order_readers; /* plan->seeded: one per suite, the cases read back */
	int over_budget;                /* the spend cap is reached: take no new case */
	double spent_cost;              /* USD counted against the cap (network thread only) */
	long spent_tokens;
	int read_error;
	atomic_long live;               /* jobs between creation and the writer */
	atomic_long writing;            /* of those, handed to the writer and not yet written */
	int flushing;                   /* the writer was told to stop batching (network thread) */
	long max_live;                  /* live jobs at most */
	long window;                    /* live jobs not yet handed to the writer at most */
	atomic_long n_pass, n_fail, n_error, n_done;
	long consecutive_call_errors, call_ok;
	struct queue scoreq;            /* answered jobs for the scoring threads */
	struct job *staged, *staged_tail; /* answered jobs not yet handed to scoreq (network thread) */
	size_t n_staged;
	int n_workers;                  /* threads scoring (0: the network thread scores); set before they start */
	struct queue writeq;            /* scored jobs for the writer */
	struct queue callq;             /* jobs whose scorers asked for calls */
	atomic_int write_failed;
	pthread_t writer;
	struct run_tally *tally;        /* kept by the writer (run_tally_add_case), or NULL */
	char policy[32];                /* the repeat policy, as the run is stored with */
	double t0;
	double last_progress;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* a consumer that naps (queue_take with a timeout) is woken early only by wake_at jobs */
static void queue_init(struct queue *q, size_t wake_at)
{
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	q->head = q->tail = NULL;
	q->n = 0;
	q->wake_at = wake_at ? wake_at : 1;
	q->waiting = 0;
	q->closed = 0;
}

static void queue_destroy(struct queue *q)
{
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
}

/*
 * Append the list head..tail of n jobs. A consumer asleep on an empty
 * queue is woken; one napping is left to its nap unless wake_at jobs wait:
 * the hand-off costs a wake-up per batch, not per job.
 */
static void queue_push_list(struct queue *q, struct job *head, struct job *tail, size_t n)
{
	pthread_mutex_lock(&q->mu);
	tail->next = NULL;
	if (q->tail)
		q->tail->next = head;
	else
		q->head = head;
	q->tail = tail;
	q->n += n;
	if (q->waiting || q->n >= q->wake_at || q->flush) {
		if (n > 1)
			pthread_cond_broadcast(&q->cv);
		else
			pthread_cond_signal(&q->cv);
	}
	pthread_mutex_unlock(&q->mu);
}

static void queue_push(struct queue *q, struct job *j)
{
	queue_push_list(q, j, j, 1);
}

static void deadline_after(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/*
 * Take everything queued. nap_ms < 0: wait while the queue is open and
 * empty; 0: do not wait; > 0: wait that long unless wake_at jobs come
 * first or the queue closes, then take what there is (maybe nothing).
 * *closed (when not NULL) says whether the queue was closed: then nothing
 * more will come.
 */
static struct job *queue_take(struct queue *q, long nap_ms, int *closed)
{
	struct job *j;

	pthread_mutex_lock(&q->mu);
	if (nap_ms < 0) {
		q->waiting++;
		while (!q->head && !q->closed)
			pthread_cond_wait(&q->cv, &q->mu);
		q->waiting--;
	} else if (nap_ms > 0 && q->n < q->wake_at && !q->closed && !(q->flush && q->n)) {
		struct timespec ts;

		deadline_after(&ts, nap_ms);
		while (q->n < q->wake_at && !q->closed && !(q->flush && q->n) &&
		       pthread_cond_timedwait(&q->cv, &q->mu, &ts) == 0)
			;
	}
	j = q->head;
	q->head = q->tail = NULL;
	q->n = 0;
	if (closed)
		*closed = q->closed;
	pthread_mutex_unlock(&q->mu);
	return j;
}

/* take the oldest job; waits while the queue is open and empty; NULL once closed and empty */
static struct job *queue_pop(struct queue *q)
{
	struct job *j;

	pthread_mutex_lock(&q->mu);
	q->waiting++;
	while (!q->head && !q->closed)
		pthread_cond_wait(&q->cv, &q->mu);
	q->waiting--;
	j = q->head;
	if (j) {
		q->head = j->next;
		q->n--;
		if (!q->head)
			q->tail = NULL;
	}
	pthread_mutex_unlock(&q->mu);
	return j;
}

/*
 * From now on a consumer's nap ends at the first push: nothing is left to
 * batch with, and the end of the run waits for the last job written.
 */
static void queue_flush(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->flush = 1;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

static void queue_close(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->closed = 1;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

static void case_unref(struct shared_case *sc)
{
	if (sc && atomic_fetch_sub(&sc->refs, 1) == 1) {
		case_release(&sc->c);
		free(sc);
	}
}

static void job_free(struct job *j)
{
	size_t i;

	for (i = 0; i < j->n_scorers; i++) {
		score_job_release(j->scorers[i], &j->sjobs[i]);
		score_result_release(&j->results[i]);
	}
	while (j->to_cache) {
		struct cache_entry *e = j->to_cache;
		j->to_cache = e->next;
		cached_reply_release(&e->reply);
		free(e);
	}
	free(j->scorers);
	free(j->sjobs);
	free(j->results);
	free(j->scored);
	free(j->calls_made);
	target_reply_release(&j->reply);
	target_request_release(&j->rq);
	cJSON_Delete(j->trajectory);
	for (i = 0; i < j->n_step_text; i++)
		strbuf_release(&j->step_text[i]);
	free(j->step_text);
	if (j->turn_steps)
		for (i = 0; i < j->kase->n_turns; i++) {
			cJSON_Delete(j->turn_steps[i]);
			free(j->turn_json[i]);
		}
	free(j->turn_steps);
	free(j->turn_json);
	free(j->scorer_turn);
	free(j->user);
	free(j->error);
	case_unref(j->sc);
	free(j);
}

/* keep a reply to put into the cache; content is r->output unless given (a scorer's) */
static void remember_for_cache(struct job *j, int scorer, const char *key,
			       const struct target_reply *r, const char *content, double latency_ms)
{
	struct cache_entry *e = xcalloc(1, sizeof(*e));

	e->scorer = scorer;
	memcpy(e->key, key, 65);
	e->reply.content = xstrndup(content ? content : r->output, r->output_len);
	e->reply.content_len = r->output_len;
	e->reply.finish_reason = r->finish_reason ? xstrdup(r->finish_reason) : NULL;
	e->reply.prompt_tokens = r->prompt_tokens;
	e->reply.completion_tokens = r->completion_tokens;
	e->reply.latency_ms = latency_ms;
	e->reply.target_reply = target_reply_extra_json(r);
	e->reply.stream = r->stream;
	e->next = j->to_cache;
	j->to_cache = e;
}

/* ---------------------------------------------------------------- writer thread */

/*
 * the result's tags: the case's, then "tool:NAME" for each tool its
 * trajectory called (once each, in the order of first call), so that a
 * gate's tag (or tool) scopes any metric to the cases that called a tool
 */
static void tags_join(struct strbuf *sb, const struct eg_case *c, const cJSON *trajectory)
{
	struct strbuf seen = STRBUF_INIT, tag = STRBUF_INIT;
	const cJSON *st, *call;
	size_t i;

	strbuf_reset(sb);
	for (i = 0; i < c->n_tags; i++) {
		if (i)
			strbuf_addch(sb, ',');
		strbuf_addstr(sb, c->tags[i]);
	}
	strbuf_addch(&seen, ',');
	cJSON_ArrayForEach(st, trajectory)
		cJSON_ArrayForEach(call, cJSON_GetObjectItemCaseSensitive(st, "tool_calls")) {
			const char *name =
				cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(call, "name"));

			/* a name with a comma would split the list: such a call gets no tag */
			if (!name || !*name || strchr(name, ','))
				continue;
			strbuf_reset(&tag);
			strbuf_addf(&tag, ",tool:%s,", name);
			if (strstr(seen.buf, tag.buf))
				continue;
			strbuf_addstr(&seen, tag.buf + 1);
			if (sb->len)
				strbuf_addch(sb, ',');
			strbuf_add(sb, tag.buf + 1, tag.len - 2);
		}
	strbuf_release(&seen);
	strbuf_release(&tag);
}

/* the case's input (a JSON string or the messages array) and context (a JSON array) */
static void case_texts(const struct eg_case *c, struct strbuf *input, struct strbuf *context)
{
	struct jsonw w;
	size_t i;

	strbuf_reset(input);
	strbuf_reset(context);
	jsonw_init(&w, input, 0);
	if (c->input)
		jsonw_str(&w, c->input);
	else if (c->messages)
		jsonw_cjson(&w, c->messages);
	if (!c->n_context)
		return;
	jsonw_init(&w, context, 0);
	jsonw_array_begin(&w);
	for (i = 0; i < c->n_context; i++)
		jsonw_str(&w, c->context[i]);
	jsonw_array_end(&w);
}

/*
 * The writer keeps a transaction open across the batches it takes and
 * commits it after WRITER_TX_ROWS results or WRITER_TX_MS, whichever comes
 * first, and at the end: a commit writes every page it touched to the WAL,
 * so one per few results was most of the writer's cost. A crash loses at
 * most the open transaction's results; an interrupted run loses none.
 * While a transaction is open the writer naps WRITER_NAP_MS between
 * batches, so scorers hand results over without waking it for each.
 */
#define WRITER_TX_ROWS 1024     /* about 1 MB of pages: within SQLite's default page cache */
#define WRITER_TX_MS 250
#define WRITER_NAP_MS 4

/* the writer thread's state and its buffers, reused from result to result */
struct writer {
	struct run *r;
	struct history *h;
	struct cache *cw;               /* the cache written, or NULL */
	struct strbuf tags, input, context;
	struct score_row *rows;         /* one per scorer of the job being written */
	size_t rows_alloc;
	int in_tx;                      /* a transaction is open */
	long tx_rows;                   /* results written in it */
	double tx_started;              /* monotonic seconds */
};

static int write_job(struct writer *w, struct job *j)
{
	struct run *r = w->r;
	const char *model = j->reply.model ? j->reply.model : r->plan->cfg->target.model;
	char *extra = target_reply_extra_json(&j->reply);
	struct score_row *rows;
	struct result_row row;
	size_t i;
	int ret = -1;

	XGROW(w->rows, j->n_scorers + 1, w->rows_alloc);
	rows = w->rows;
	tags_join(&w->tags, j->kase, j->trajectory);
	case_texts(j->kase, &w->input, &w->context);
	memset(&row, 0, sizeof(row));
	row.suite = j->suite->name;
	row.case_id = j->kase->id;
	row.case_hash = j->kase->hash;
	row.repeat = j->repeat;
	row.status = j->status;
	row.output = j->reply.output;
	row.output_len = j->reply.output_len;
	row.latency_ms = j->latency_ms;
	row.stream = j->reply.stream;
	row.prompt_tokens = j->reply.prompt_tokens;
	row.completion_tokens = j->reply.completion_tokens;
	row.finish_reason = j->reply.finish_reason;
	row.error = j->error;
	row.attempts = j->attempts;
	row.cached = j->cached;
	row.tags = w->tags.len ? w->tags.buf : NULL;
	row.ordinal = j->kase->line;
	/* the answer's price (at the model the reply names, else the target's), cache hits
	 * included; NaN without usage (errors, recorded answers) */
	row.cost_usd = config_cost(r->plan->cfg, model, j->reply.prompt_tokens,
				   j->reply.completion_tokens);
	row.judge_prompt_tokens = j->judge_prompt_tokens;
	row.judge_completion_tokens = j->judge_completion_tokens;
	row.judge_cost_usd = j->judge_cost_usd;
	row.input = w->input.len ? w->input.buf : NULL;
	row.context = w->context.len ? w->context.buf : NULL;
	row.expected = j->kase->expected;
	row.has_threshold = j->kase->has_threshold;
	row.threshold = j->kase->threshold;
	row.target_reply = extra;
	row.scores = rows;
	/* scorers that ran are stored even when one of them errored */
	row.n_scores = j->answered ? j->n_scorers : 0;
	if (j->answered)
		for (i = 0; i < j->n_scorers; i++) {
			rows[i].scorer = j->scorers[i]->label;
			rows[i].type = j->scorers[i]->type->name;
			rows[i].score = j->results[i].score;
			rows[i].pass = j->results[i].pass;
			rows[i].error = j->results[i].error;
			rows[i].reason = j->results[i].reason;
			rows[i].detail = j->results[i].detail;
			rows[i].calls = j->calls_made[i];
			rows[i].weight = j->scorers[i]->weight;
		}
	if (r->plan->reask ? history_add_confirmation(w->h, r->plan->run_id,
						      &(struct confirm_row){ row.suite, row.case_id,
									     row.repeat, row.status })
			   : history_add_result(w->h, r->plan->run_id, &row))
		goto out;
	if (r->tally)
		run_tally_add_case(r->tally, r->policy, row.suite, row.status, row.error != NULL,
				   row.latency_ms);
	if (w->cw) {
		struct cache_entry *e;
		/* a reply its scorer could not use (an unparsable verdict) is not
		 * kept: the next run asks again */
		for (e = j->to_cache; e; e = e->next)
			if (e->scorer < 0 || !j->results[e->scorer].error)
				cache_put(w->cw, e->key, &e->reply);
	}
	ret = 0;
out:
	free(extra);
	return ret;
}

static void writer_begin(struct writer *w)
{
	if (atomic_load(&w->r->write_failed))
		return;
	if (history_batch_begin(w->h)) {
		atomic_store(&w->r->write_failed, 1);
		return;
	}
	/* the cache is best effort: without its transaction each put is its own */
	if (w->cw && cache_batch_begin(w->cw)) {
		cache_close(w->cw);
		w->cw = NULL;
	}
	w->in_tx = 1;
	w->tx_rows = 0;
	w->tx_started = now_s();
}

/* after a write error the history's transaction is left to history_close, as before */
static void writer_commit(struct writer *w)
{
	if (!w->in_tx)
		return;
	w->in_tx = 0;
	if (w->cw && cache_batch_commit(w->cw)) {
		cache_close(w->cw);
		w->cw = NULL;
	}
	if (atomic_load(&w->r->write_failed))
		return;
	if (history_batch_commit(w->h)) {
		atomic_store(&w->r->write_failed, 1);
		return;
	}
	atomic_fetch_add(&w->r->n_done, w->tx_rows);
}

static void *writer_main(void *arg)
{
	struct writer w = { .r = arg, .tags = STRBUF_INIT, .input = STRBUF_INIT,
			    .context = STRBUF_INIT };
	struct run *r = w.r;

	w.h = r->plan->history;
	if (!r->plan->no_cache && !r->plan->cache_only)
		w.cw = cache_open(r->plan->cache_path);
	for (;;) {
		int closed;
		struct job *list = queue_take(&r->writeq, w.in_tx ? WRITER_NAP_MS : -1, &closed);
		long n = 0;

		if (list && !w.in_tx)
			writer_begin(&w);
		while (list) {
			struct job *j = list;

			list = j->next;
			if (!atomic_load(&r->write_failed) && write_job(&w, j))
				atomic_store(&r->write_failed, 1);
			job_free(j);
			n++;
		}
		w.tx_rows += n;
		atomic_fetch_sub(&r->writing, n);
		/* the last job written: the network loop may end now rather than at its next look */
		if (n && atomic_fetch_sub(&r->live, n) == n)
			gateway_wakeup(r->gw);
		if (w.in_tx && (closed || w.tx_rows >= WRITER_TX_ROWS ||
				now_s() - w.tx_started >= WRITER_TX_MS / 1000.0))
			writer_commit(&w);
		if (closed && !n)
			break; /* closed and drained */
	}
	free(w.rows);
	strbuf_release(&w.tags);
	strbuf_release(&w.input);
	strbuf_release(&w.context);
	if (w.cw)
		cache_close(w.cw);
	return NULL;
}

/* ---------------------------------------------------------------- scoring */

static void finish_job(struct run *r, struct job *j)
{
	switch (j->status) {
	case RESULT_PASS: atomic_fetch_add(&r->n_pass, 1); break;
	case RESULT_FAIL: atomic_fetch_add(&r->n_fail, 1); break;
	case RESULT_ERROR: atomic_fetch_add(&r->n_error, 1); break;
	}
	atomic_fetch_add(&r->writing, 1);
	queue_push(&r->writeq, j);
}

/* runs on a scoring thread: score what can be scored, ask for calls otherwise */
static void score_job_run(struct job *j)
{
	struct run *r = j->run;
	size_t i;
	int waiting = 0, failed = 0, errored = 0;

	for (i = 0; i < j->n_scorers; i++) {
		enum score_status s;

		if (j->scored[i])
			continue;
		s = scorer_score(j->scorers[i], &j->sjobs[i], &j->results[i]);
		if (s == SCORE_WAIT)
			waiting = 1;
		else
			j->scored[i] = 1;
	}
	if (waiting) {
		queue_push(&r->callq, j);
		gateway_wakeup(r->gw);
		return;
	}
	for (i = 0; i < j->n_scorers; i++) {
		if (j->results[i].error)
			errored = 1;
		else if (!j->results[i].pass)
			failed = 1;
	}
	/*
	 * With a threshold the weighted mean of the scores decides instead of
	 * every scorer passing; an errored scorer still makes the case an error.
	 */
	if (j->kase->has_threshold && !errored)
		failed = scorer_weighted_score(j->scorers, j->results, j->n_scorers) <
			 j->kase->threshold;
	j->status = failed && !(j->kase->has_threshold && errored) ? RESULT_FAIL
		    : errored ? RESULT_ERROR : RESULT_PASS;
	finish_job(r, j);
}

/*
 * A conversation's turn scorers see that turn's steps and its final
 * answer; those of a turn never reached error.
 */
/*
 * The steps of turn t, for its scorers: written again from the whole
 * trajectory with each step's text as bytes (the turn's steps are
 * consecutive), and the tree of that text, so a judge scoped to the turn
 * reads its steps whole (score_job.trajectory_json).
 */
static void turn_steps_of(struct job *j, int t)
{
	cJSON *copy = agent_turn_steps(j->trajectory, t), *parsed;
	const cJSON *first = cJSON_GetArrayItem(copy, 0);
	const cJSON *num = first ? cJSON_GetObjectItemCaseSensitive(first, "step") : NULL;
	size_t k;

	j->turn_steps[t - 1] = copy;
	if (!cJSON_IsNumber(num) || num->valueint < 1 || (size_t)num->valueint > j->n_step_text)
		return;
	k = (size_t)num->valueint - 1;
	j->turn_json[t - 1] = trajectory_print(copy, j->step_text + k, j->n_step_text - k, NULL, 0);
	parsed = cJSON_Parse(j->turn_json[t - 1]);
	if (!parsed) {
		free(j->turn_json[t - 1]);
		j->turn_json[t - 1] = NULL;
		return;
	}
	cJSON_Delete(copy);
	j->turn_steps[t - 1] = parsed;
}

static void turn_scoring(struct job *j)
{
	size_t i;

	for (i = 0; i < j->n_scorers; i++) {
		int t = j->scorer_turn[i];
		cJSON *steps;
		const cJSON *last, *num;

		if (!t)
			continue;
		if (!j->turn_steps[t - 1])
			turn_steps_of(j, t);
		steps = j->turn_steps[t - 1];
		last = cJSON_GetArrayItem(steps, cJSON_GetArraySize(steps) - 1);
		if (!last) {
			struct strbuf sb = STRBUF_INIT;

			strbuf_addf(&sb, "turn %d was not reached", t);
			j->results[i].error = 1;
			j->results[i].reason = strbuf_detach(&sb, NULL);
			j->scored[i] = 1;
			continue;
		}
		num = cJSON_GetObjectItemCaseSensitive(last, "step");
		if (cJSON_IsNumber(num) && num->valueint >= 1 &&
		    (size_t)num->valueint <= j->n_step_text) {
			/* the turn's answer as bytes */
			j->sjobs[i].output = j->step_text[num->valueint - 1].buf;
			j->sjobs[i].output_len = j->step_text[num->valueint - 1].len;
		} else {
			j->sjobs[i].output =
				cJSON_GetObjectItemCaseSensitive(last, "content")->valuestring;
			j->sjobs[i].output_len = strlen(j->sjobs[i].output);
		}
		j->sjobs[i].finish_reason =
			cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(last, "finish_reason"));
		j->sjobs[i].trajectory = steps;
		j->sjobs[i].trajectory_json = j->turn_json[t - 1];
	}
}

/*
 * Hand an answered job to the scoring threads. The hand-off is a plain
 * mutex-protected queue: it never runs a job on the network thread when
 * the scorers fall behind, and thread sanitizers can see the
 * synchronisation.
 */
static void schedule_score(struct job *j)
{
	size_t i;

	for (i = 0; i < j->n_scorers; i++) {
		j->sjobs[i].output = j->reply.output;
		j->sjobs[i].output_len = j->reply.output_len;
		j->sjobs[i].latency_ms = j->latency_ms;
		j->sjobs[i].finish_reason = j->reply.finish_reason;
		j->sjobs[i].trajectory = j->trajectory;
		j->sjobs[i].trajectory_json = j->trajectory ? j->reply.trajectory : NULL;
		j->sjobs[i].tools = j->tools;
		j->sjobs[i].max_steps = j->max_steps;
	}
	if (j->turn_steps)
		turn_scoring(j);
	if (!j->run->n_workers) {
		score_job_run(j);
		return;
	}
	/* handed over in one batch per turn of the network loop (flush_scoring) */
	j->next = NULL;
	if (j->run->staged_tail)
		j->run->staged_tail->next = j;
	else
		j->run->staged = j;
	j->run->staged_tail = j;
	j->run->n_staged++;
}

/* the answered jobs of this turn of the network loop to the scoring threads */
static void flush_scoring(struct run *r)
{
	if (!r->staged)
		return;
	queue_push_list(&r->scoreq, r->staged, r->staged_tail, r->n_staged);
	r->staged = r->staged_tail = NULL;
	r->n_staged = 0;
}

static void *score_main(void *arg)
{
	struct run *r = arg;
	struct job *j;

	while ((j = queue_pop(&r->scoreq)))
		score_job_run(j);
	return NULL;
}

/* processors this process may run on (its affinity mask), at least 1 */
static int usable_cpus(void)
{
	cpu_set_t set;
	long n;

	if (!sched_getaffinity(0, sizeof(set), &set) && CPU_COUNT(&set) > 0)
		return CPU_COUNT(&set);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

/* ---------------------------------------------------------------- requests */

/* a request for job j; takes body, and url when not NULL */
static struct pending *pending_new(enum pending_kind kind, struct job *j, char *body,
				   size_t body_len)
{
	struct pending *p = xcalloc(1, sizeof(*p));

	p->kind = kind;
	p->job = j;
	p->req.body = body;
	p->req.body_len = body_len;
	p->req.run_id = j->run->plan->run_id;
	p->req.suite = j->suite->name;
	p->req.case_id = j->kase->id;
	p->req.repeat = j->repeat;
	p->req.user = p;
	return p;
}

static void pending_free(struct pending *p)
{
	gw_request_release(&p->req);
	free(p);
}

/* a job that will not be scored: the call failed */
static void job_error(struct run *r, struct job *j, const char *msg)
{
	free(j->error);
	j->error = xstrdup(msg ? msg : "unknown error");
	j->status = RESULT_ERROR;
	finish_job(r, j);
}

/* ---------------------------------------------------------------- the network thread */

static struct job *job_new(struct run *r, const struct eg_suite *s, struct shared_case *sc,
			   int repeat)
{
	struct job *j = xcalloc(1, sizeof(*j));

	j->run = r;
	j->suite = s;
	atomic_fetch_add(&sc->refs, 1);
	j->sc = sc;
	j->kase = &sc->c;
	j->repeat = repeat;
	target_reply_init(&j->reply);
	j->judge_prompt_tokens = j->judge_completion_tokens = -1;
	j->judge_cost_usd = NAN;
	j->sum_prompt = j->sum_completion = -1;
	j->tools = sc->c.tools ? sc->c.tools : s->tools ? s->tools : r->target->tools;
	j->fixtures = sc->c.tool_results;
	j->default_result = sc->c.default_tool_result ? sc->c.default_tool_result
						      : s->default_tool_result;
	j->max_steps = sc->c.max_steps ? sc->c.max_steps
		       : s->max_steps ? s->max_steps
		       : r->target->max_steps ? r->target->max_steps : AGENT_MAX_STEPS_DEFAULT;
	j->max_tokens = sc->c.max_tokens_total ? sc->c.max_tokens_total : s->max_tokens_total;
	j->loop = (j->fixtures || j->default_result) && r->target->type->continue_request;
	j->conv = sc->c.turns || sc->c.simulate;
	j->turn = j->turn_first = 1;
	return j;
}

static void job_setup_scorers(struct job *j)
{
	size_t i, t, n = j->suite->n_scorers + j->kase->n_scorers, n_own = n;

	for (t = 0; t < j->kase->n_turns; t++)
		n += j->kase->turns[t].n_scorers;

	j->n_scorers = n;
	j->scorers = xcalloc(n + 1, sizeof(*j->scorers));
	j->sjobs = xcalloc(n + 1, sizeof(*j->sjobs));
	j->results = xcalloc(n + 1, sizeof(*j->results));
	j->scored = xcalloc(n + 1, 1);
	j->calls_made = xcalloc(n + 1, sizeof(int));
	for (i = 0; i < j->suite->n_scorers; i++)
		j->scorers[i] = &j->suite->scorers[i];
	for (i = 0; i < j->kase->n_scorers; i++)
		j->scorers[j->suite->n_scorers + i] = &j->kase->scorers[i];
	for (i = 0; i < n; i++)
		j->sjobs[i].kase = j->kase;
	if (!j->kase->n_turns)
		return;
	/* a conversation's turn scorers follow, each knowing its turn */
	j->scorer_turn = xcalloc(n + 1, sizeof(int));
	j->turn_steps = xcalloc(j->kase->n_turns, sizeof(cJSON *));
	j->turn_json = xcalloc(j->kase->n_turns, sizeof(char *));
	for (t = 0, i = n_own; t < j->kase->n_turns; t++) {
		size_t k;

		for (k = 0; k < j->kase->turns[t].n_scorers; k++, i++) {
			j->scorers[i] = &j->kase->turns[t].scorers[k];
			j->scorer_turn[i] = (int)t + 1;
		}
	}
}

/* make sc (a reference) the case whose repeats are started next; 1, or -1 on error */
static int take_case(struct run *r, const struct eg_suite *s, struct shared_case *sc)
{
	const struct run_plan *p = r->plan;

	r->cur = sc;
	r->cur_suite = s;
	r->cur_repeat = 0;
	if (!p->stored)
		return 1;
	memset(r->stored, 0, (size_t)r->repeats);
	if (history_case_repeats(p->stored, p->run_id, s->name, sc->c.id, p->retry_errors,
				 r->stored, r->repeats) < 0)
		return -1;
	return 1;
}

/* the case's place in the seeded order: the first draw of its own stream */
static uint64_t order_key(unsigned long long seed, const char *suite, const char *id)
{
	struct eg_rng rng;

	eg_rng_seed(&rng, seed, suite, id);
	return rng.s;
}

static int ordered_cmp(const void *a, const void *b)
{
	const struct ordered_case *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	if (x->suite != y->suite)
		return x->suite < y->suite ? -1 : 1;
	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return x->mut < y->mut ? -1 : x->mut > y->mut;
}

/*
 * read every selected case of every suite and put their places in the seeded
 * order; the readers stay open to read each case again when it is taken; -1
 * on error
 */
static int load_order(struct run *r)
{
	const struct run_plan *p = r->plan;
	size_t i;

	r->order_loaded = 1;
	if (p->n_suites > UINT16_MAX)
		return error("a seeded order takes at most %u suites", (unsigned)UINT16_MAX);
	r->order_readers = xcalloc(p->n_suites, sizeof(*r->order_readers));
	for (i = 0; i < p->n_suites; i++) {
		struct case_reader *rd = &r->order_readers[i];
		struct eg_case c;
		struct case_pos pos;
		struct ordered_case *oc;
		int rc;

		if (case_reader_open(rd, &p->suites[i], p->filter))
			return -1;
		while ((rc = case_reader_next(rd, &c)) > 0) {
			case_reader_pos(rd, &pos);
			XGROW(r->order, r->n_order + 1, r->order_alloc);
			oc = &r->order[r->n_order++];
			oc->key = order_key(p->seed, p->suites[i].name, c.id);
			oc->off = pos.off;
			oc->line = pos.line;
			oc->mut = (uint16_t)pos.mut;
			oc->suite = (uint16_t)i;
			case_release(&c);
		}
		if (rc < 0)
			return -1;
	}
	if (r->n_order)
		qsort(r->order, r->n_order, sizeof(*r->order), ordered_cmp);
	return 0;
}

/* the case of oc, read again, into r->cur; 1, or -1 on error */
static int take_ordered(struct run *r, const struct ordered_case *oc)
{
	struct case_pos pos = { .off = oc->off, .line = oc->line, .mut = oc->mut };
	struct shared_case *sc = xcalloc(1, sizeof(*sc));

	if (case_reader_at(&r->order_readers[oc->suite], &pos, &sc->c) < 0) {
		free(sc);
		return -1;
	}
	atomic_init(&sc->refs, 1);
	return take_case(r, &r->plan->suites[oc->suite], sc);
}

/* the next selected case of any suite into r->cur; 0 at the end, -1 on error */
static int next_case(struct run *r)
{
	const struct run_plan *p = r->plan;

	if (p->seeded) {
		struct ordered_case *oc;

		if (!r->order_loaded && load_order(r))
			return -1;
		if (r->next_order == r->n_order)
			return 0;
		oc = &r->order[r->next_order++];
		return take_ordered(r, oc);
	}
	while (r->next_suite < p->n_suites) {
		const struct eg_suite *s = &p->suites[r->next_suite];
		struct shared_case *sc;
		int rc;

		if (!r->reader_open) {
			if (case_reader_open(&r->reader, s, p->filter))
				return -1;
			r->reader_open = 1;
		}
		sc = xcalloc(1, sizeof(*sc));
		rc = case_reader_next(&r->reader, &sc->c);
		if (rc > 0) {
			atomic_init(&sc->refs, 1);
			return take_case(r, s, sc);
		}
		free(sc);
		case_reader_close(&r->reader);
		r->reader_open = 0;
		if (rc < 0)
			return -1;
		r->next_suite++;
	}
	return 0;
}

/*
 * the next (case, repeat) to run, or NULL at the end: the repeats of a case
 * are made one after the other, then the next case is read; repeats the run
 * already holds (--resume) are skipped
 */
static struct job *next_job(struct run *r)
{
	for (;;) {
		struct job *j;
		int rc;

		if (r->cur) {
			while (r->cur_repeat < r->repeats && r->plan->stored &&
			       r->stored[r->cur_repeat]) {
				r->cur_repeat++;
				r->st->skipped++;
			}
			if (r->cur_repeat < r->repeats) {
				j = job_new(r, r->cur_suite, r->cur,
					    r->plan->first_repeat + r->cur_repeat++);
				job_setup_scorers(j);
				return j;
			}
			case_unref(r->cur);
			r->cur = NULL;
		}
		rc = next_case(r);
		if (rc <= 0) {
			if (rc < 0)
				r->read_error = 1;
			return NULL;
		}
	}
}

/*
 * Whether a job's calls go through the response cache (read, and written
 * on a miss). Only repeat 0 does: identical requests of later repeats would
 * all be answered from the cache, and the cache keeps the first answer.
 */
static int use_cache(const struct run *r, const struct job *j)
{
	return !r->plan->no_cache && r->cache_rd && j->repeat == 0;
}

/*
 * The job has its answer in j->reply: score it. A case without context of
 * its own is scored against the context the target retrieved (faithfulness,
 * the judge's context), and against the ids of what it retrieved (the
 * retrieval scorer): its scorers see a copy of the case holding them.
 */
static void job_answered(struct job *j)
{
	size_t i;

	j->answered = 1;
	if ((!j->kase->n_context && j->reply.n_context) ||
	    (!j->kase->context_ids && j->reply.context_ids)) {
		j->view = *j->kase;
		if (!j->kase->n_context && j->reply.n_context) {
			j->view.context = j->reply.context;
			j->view.n_context = j->reply.n_context;
		}
		if (!j->kase->context_ids && j->reply.context_ids) {
			j->view.context_ids = j->reply.context_ids;
			j->view.n_context_ids = j->reply.n_context_ids;
		}
		for (i = 0; i < j->n_scorers; i++)
			j->sjobs[i].kase = &j->view;
	}
	schedule_score(j);
}

/* count one call's usage against the spend cap (network thread) */
static void spend(struct run *r, const char *model, long pt, long ct)
{
	const struct run_plan *p = r->plan;
	double cost = config_cost(p->cfg, model, pt, ct);

	r->spent_tokens += (pt > 0 ? pt : 0) + (ct > 0 ? ct : 0);
	if (!isnan(cost))
		r->spent_cost += cost;
	if ((p->max_cost_usd > 0 && r->spent_cost >= p->max_cost_usd) ||
	    (p->max_tokens > 0 && r->spent_tokens >= p->max_tokens))
		r->over_budget = 1;
}

/* the target's answer in j->reply: its usage against the cap, at the model it names */
static void spend_answer(struct run *r, const struct job *j)
{
	spend(r, j->reply.model ? j->reply.model : r->plan->cfg->target.model,
	      j->reply.prompt_tokens, j->reply.completion_tokens);
}

/* a cached answer into the job; its context and the like too */
static void job_from_cache(struct job *j, struct cached_reply *cr)
{
	target_reply_release(&j->reply); /* the agent loop's previous step */
	j->reply.output = cr->content;
	j->reply.output_len = cr->content_len;
	j->reply.finish_reason = cr->finish_reason;
	j->reply.prompt_tokens = cr->prompt_tokens;
	j->reply.completion_tokens = cr->completion_tokens;
	/* TTFT and the inter-token times as measured when the answer was obtained */
	j->reply.stream = cr->stream;
	cr->content = NULL;
	cr->finish_reason = NULL;
	if (cr->target_reply && target_reply_extra_load(&j->reply, cr->target_reply))
		warning("%s/%s: the cached reply's context is unreadable; scored without it",
			j->suite->name, j->kase->id);
	/* the latency scorer judges the time the answer took when it was obtained */
	if (cr->latency_ms > 0)
		j->latency_ms += cr->latency_ms;
	j->steps_cached++;
	cached_reply_release(cr);
}

struct stored_answer {
	struct job *j;
	int found;
	char *error;                   /* the stored call error, or NULL */
};

static int take_stored(const struct stored_result *sr, void *arg)
{
	struct stored_answer *a = arg;
	struct job *j = a->j;

	if (sr->row.repeat != j->repeat)
		return 0;
	a->found = 1;
	if (!sr->row.output) {
		a->error = xstrdup(sr->row.error ? sr->row.error : "no answer stored");
		return 1;
	}
	j->reply.output = xstrndup(sr->row.output, sr->row.output_len);
	j->reply.output_len = sr->row.output_len;
	j->reply.finish_reason = sr->row.finish_reason ? xstrdup(sr->row.finish_reason) : NULL;
	j->reply.prompt_tokens = sr->row.prompt_tokens;
	j->reply.completion_tokens = sr->row.completion_tokens;
	if (sr->row.target_reply && target_reply_extra_load(&j->reply, sr->row.target_reply))
		warning("%s/%s: the stored reply's context is unreadable; scored without it",
			j->suite->name, j->kase->id);
	j->latency_ms = sr->row.latency_ms;
	return 1;
}

/*
 * rescore: the answer the plan's answers run stored for the job; 1 when the
 * job was answered (or failed as it did there), 0 when that run lacks it
 * (the job is dropped), -1 on error
 */
static int start_stored(struct run *r, struct job *j)
{
	struct stored_answer a = { j, 0, NULL };

	if (history_case_results(r->plan->answers, r->plan->answers_run, j->suite->name,
				 j->kase->id, take_stored, &a))
		return -1;
	if (!a.found) {
		job_free(j);
		atomic_fetch_sub(&r->live, 1);
		r->st->total--;
		return 0;
	}
	j->attempts = 0;
	if (a.error) {
		job_error(r, j, a.error);
		free(a.error);
		return 1;
	}
	/* the stored trajectory, for the tool scorers and the tool tags */
	if (j->reply.trajectory)
		j->trajectory = cJSON_Parse(j->reply.trajectory);
	job_answered(j);
	return 1;
}

static void job_replied(struct run *r, struct job *j);
static void judge_usage(struct run *r, struct job *j, const char *body, long pt, long ct);

/* send one request of job j (its first, or the next step of its agent loop); takes rq */
static void send_request(struct run *r, struct job *j, struct target_request *rq)
{
	struct cached_reply cr;
	struct pending *pd;
	char key[65] = "";
	int cached = use_cache(r, j);

	/* the key costs a parse and a hash of the body: only when the cache is read */
	if (cached)
		r->target->type->cache_key(r->target, rq, key);
	if (j->loop || j->conv) {
		/* the next step's request extends this one */
		target_request_release(&j->rq);
		j->rq.method = rq->method;
		j->rq.url = rq->url ? xstrdup(rq->url) : NULL;
		j->rq.body = rq->body ? xstrndup(rq->body, rq->body_len) : NULL;
		j->rq.body_len = rq->body_len;
	}
	if (cached && cache_get(r->cache_rd, key, &cr) == 0) {
		job_from_cache(j, &cr);
		spend_answer(r, j);
		r->st->cache_hits++;
		verbose("cache hit: %s/%s", j->suite->name, j->kase->id);
		target_request_release(rq);
		job_replied(r, j);
		return;
	}
	if (r->plan->cache_only) {
		target_request_release(rq);
		job_error(r, j, "not in the response cache (--cache-only)");
		return;
	}
	pd = pending_new(PENDING_TARGET, j, rq->body, rq->body_len);
	pd->req.url = rq->url;
	pd->req.method = rq->method;
	pd->req.stream = rq->stream;
	pd->req.route = r->route;
	if (cached)
		memcpy(pd->key, key, 65);
	if (r->target_pool)
		worker_submit(r->target_pool, &pd->req);
	else
		gateway_submit(r->gw, &pd->req);
}

static void start_job(struct run *r, struct job *j)
{
	struct target_input in = { j->kase, j->suite->system, j->suite->params, j->suite->tools,
				   j->suite->tool_choice };
	struct target_request rq;
	struct strbuf err = STRBUF_INIT;

	if (r->plan->answers) {
		if (start_stored(r, j) < 0) {
			r->read_error = 1;
			r->stop = 1;
			job_error(r, j, "the stored answer could not be read");
		}
		return;
	}
	if (j->suite->kind == SUITE_ONLINE) {
		j->reply.output_len = strlen(j->kase->output);
		j->reply.output = xstrndup(j->kase->output, j->reply.output_len);
		j->attempts = 0;
		job_answered(j);
		return;
	}
	if (j->conv && !r->target->type->continue_request)
		job_error(r, j, "a conversation (turns, simulate) needs a target that continues one (chat)");
	else if (r->target->type->build_request(r->target, &in, &rq, &err))
		job_error(r, j, err.buf);
	else
		send_request(r, j, &rq);
	strbuf_release(&err);
}

/* ---------------------------------------------------------------- the agent loop */

static void add_count(long *sum, long n)
{
	if (n >= 0)
		*sum = (*sum < 0 ? 0 : *sum) + n;
}

/* the user's message that opened the current turn of a conversation */
static const char *turn_user(const struct job *j)
{
	if (j->turn == 1)
		return j->kase->input;
	if (j->kase->turns)
		return j->kase->turns[j->turn - 1].user;
	return j->user ? j->user : "";
}

/* the reply in j->reply as the next step of the trajectory; its calls, or NULL */
static cJSON *trajectory_add(struct job *j)
{
	cJSON *step = cJSON_CreateObject();
	cJSON *given = j->reply.tool_calls ? cJSON_Parse(j->reply.tool_calls) : NULL;
	/* chat's calls are normalised already; an http target's mapped ones are made so */
	cJSON *calls = agent_calls_normalize(given);

	cJSON_Delete(given);
	if (!j->trajectory)
		j->trajectory = cJSON_CreateArray();
	cJSON_AddNumberToObject(step, "step", j->steps);
	if (j->conv) {
		cJSON_AddNumberToObject(step, "turn", j->turn);
		if (j->steps == j->turn_first)
			cJSON_AddStringToObject(step, "user", turn_user(j));
	}
	cJSON_AddStringToObject(step, "content", j->reply.output ? j->reply.output : "");
	/* the content's bytes, written into the stored trajectory (agent_done) */
	XGROW(j->step_text, j->n_step_text + 1, j->alloc_step_text);
	strbuf_init(&j->step_text[j->n_step_text], 0);
	if (j->reply.output)
		strbuf_add(&j->step_text[j->n_step_text], j->reply.output, j->reply.output_len);
	j->n_step_text++;
	if (j->reply.finish_reason)
		cJSON_AddStringToObject(step, "finish_reason", j->reply.finish_reason);
	if (calls)
		cJSON_AddItemToObject(step, "tool_calls", calls);
	cJSON_AddItemToArray(j->trajectory, step);
	return calls;
}

/* the loop is over: the trajectory and the summed usage into the reply, then scoring */
static void agent_done(struct job *j, const char *error)
{
	if (j->trajectory && j->n_step_text) {
		free(j->reply.trajectory);
		j->reply.trajectory = trajectory_print(j->trajectory, j->step_text, j->n_step_text,
						       NULL, 0);
		/* the tree of that text: the scorers read its strings as bytes (trajectory_json) */
		cJSON_Delete(j->trajectory);
		j->trajectory = cJSON_Parse(j->reply.trajectory);
	}
	if (j->steps > 1) {
		j->reply.prompt_tokens = j->sum_prompt;
		j->reply.completion_tokens = j->sum_completion;
	}
	if (error)
		job_error(j->run, j, error);
	else
		job_answered(j);
}

/* answer each call with its fixture; the tool messages, or NULL with *why set */
static cJSON *answer_calls(struct job *j, cJSON *calls, struct strbuf *why)
{
	cJSON *results = cJSON_CreateArray(), *c;

	cJSON_ArrayForEach(c, calls) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(c, "name");
		const cJSON *args = cJSON_GetObjectItemCaseSensitive(c, "args");
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "id");
		const char *n = cJSON_IsString(name) ? name->valuestring : "";
		const cJSON *fx = agent_fixture_find(j->fixtures, n, args);
		const cJSON *res = fx ? cJSON_GetObjectItemCaseSensitive(fx, "result")
				      : j->default_result;
		cJSON *msg;
		char *text;

		if (j->tools && !agent_tool_find(j->tools, n))
			cJSON_AddTrueToObject(c, "undeclared");
		if (!res) {
			cJSON_AddStringToObject(c, "result_error", "no fixture matches");
			if (!why->len) {
				const cJSON *a = cJSON_GetObjectItemCaseSensitive(c, "arguments");

				strbuf_addf(why, "step %d: no tool_results fixture matches %s(", j->steps, n);
				target_add_untrusted(why, a->valuestring, strlen(a->valuestring), 200);
				strbuf_addstr(why, ")");
			}
			continue;
		}
		text = agent_result_text(res);
		cJSON_AddStringToObject(c, "result", text);
		msg = cJSON_CreateObject();
		cJSON_AddStringToObject(msg, "tool_call_id", cJSON_IsString(id) ? id->valuestring : "");
		cJSON_AddStringToObject(msg, "content", text);
		cJSON_AddItemToArray(results, msg);
		free(text);
	}
	if (why->len) {
		cJSON_Delete(results);
		return NULL;
	}
	return results;
}

/* whether the loop has used its max_tokens_total; why says so */
static int over_tokens(const struct job *j, struct strbuf *why)
{
	long used = (j->sum_prompt > 0 ? j->sum_prompt : 0) +
		    (j->sum_completion > 0 ? j->sum_completion : 0);

	if (!j->max_tokens || used < j->max_tokens)
		return 0;
	strbuf_addf(why, "step %d: stopped at max_tokens_total %ld (%ld tokens used)", j->steps,
		    j->max_tokens, used);
	return 1;
}

/* the conversation goes on with the user's message text: the next turn's first request */
static void continue_turn(struct run *r, struct job *j, const char *text)
{
	struct strbuf why = STRBUF_INIT;
	struct target_request next;
	cJSON *msgs = cJSON_CreateArray(), *m = cJSON_CreateObject();

	j->turn++;
	j->turn_first = j->steps + 1;
	cJSON_AddStringToObject(m, "role", "user");
	cJSON_AddStringToObject(m, "content", text);
	cJSON_AddItemToArray(msgs, m);
	if (r->target->type->continue_request(r->target, &j->rq, &j->reply, msgs, &next, &why))
		agent_done(j, why.buf);
	else
		send_request(r, j, &next);
	cJSON_Delete(msgs);
	strbuf_release(&why);
}

/* the simulated user's reply (text, or NULL when it failed with error) */
static void user_replied(struct run *r, struct job *j, const char *text, const char *error)
{
	if (error) {
		struct strbuf sb = STRBUF_INIT;

		strbuf_addf(&sb, "turn %d: the simulated user's call failed: %s", j->turn + 1, error);
		agent_done(j, sb.buf);
		strbuf_release(&sb);
		return;
	}
	if (agent_user_stops(text)) {
		agent_done(j, NULL);
		return;
	}
	free(j->user);
	j->user = xstrdup(text);
	continue_turn(r, j, j->user);
}

/* ask the simulated user for its next message, from the cache or the gateway */
static void ask_user(struct run *r, struct job *j)
{
	const struct eg_simulate *sim = j->kase->simulate;
	const struct scorer_env *env = scorer_env();
	const char *model = sim->model ? sim->model
			    : env->judge_model ? env->judge_model : r->plan->cfg->target.model;
	char *body = agent_user_request(sim, model, env->judge_params, j->trajectory);
	struct cached_reply cr;
	struct pending *pd;
	char key[65];

	chat_cache_key(r->plan->cfg->gateway.base_url, body, 0, key);
	if (use_cache(r, j) && cache_get(r->cache_rd, key, &cr) == 0) {
		judge_usage(r, j, body, cr.prompt_tokens, cr.completion_tokens);
		free(body);
		user_replied(r, j, cr.content, NULL);
		cached_reply_release(&cr);
		return;
	}
	if (r->plan->cache_only) {
		free(body);
		user_replied(r, j, NULL, "not in the response cache (--cache-only)");
		return;
	}
	pd = pending_new(PENDING_USER, j, body, strlen(body));
	if (use_cache(r, j))
		memcpy(pd->key, key, 65);
	gateway_submit(r->gw, &pd->req);
}

/*
 * A turn of a conversation has its answer: the next scripted turn, or the
 * simulated user's next message, or the end of the conversation.
 */
static void next_turn(struct run *r, struct job *j)
{
	const struct eg_case *c = j->kase;
	struct strbuf why = STRBUF_INIT;

	if (over_tokens(j, &why) && ((c->turns && (size_t)j->turn < c->n_turns) ||
				      (c->simulate && j->turn < c->simulate->max_turns)))
		agent_done(j, why.buf);
	else if (c->turns && (size_t)j->turn < c->n_turns)
		continue_turn(r, j, c->turns[j->turn].user);
	else if (c->simulate && j->turn < c->simulate->max_turns)
		ask_user(r, j);
	else
		agent_done(j, NULL);
	strbuf_release(&why);
}

/*
 * A reply for job j is in j->reply (from the gateway or the cache). Without
 * tool calls it is the answer; with them, and fixtures to answer them, the
 * loop asks again, until a reply without calls or max_steps replies.
 */
static void job_replied(struct run *r, struct job *j)
{
	struct strbuf why = STRBUF_INIT;
	struct target_request next;
	cJSON *calls, *results;

	j->steps++;
	j->cached = j->steps_cached == j->steps;
	add_count(&j->sum_prompt, j->reply.prompt_tokens);
	add_count(&j->sum_completion, j->reply.completion_tokens);
	if (j->reply.trajectory && !j->trajectory && !j->conv) {
		/* an application's own trajectory (http, exec): scored like the loop's */
		j->trajectory = cJSON_Parse(j->reply.trajectory);
		agent_done(j, NULL);
		goto out;
	}
	if (!j->reply.tool_calls && !j->trajectory && !j->conv) {
		job_answered(j);
		goto out;
	}
	calls = trajectory_add(j);
	if (!calls && j->conv) {
		next_turn(r, j);
		goto out;
	}
	if (!calls || !j->loop) {
		agent_done(j, NULL);
		goto out;
	}
	if (j->steps - j->turn_first + 1 >= j->max_steps) {
		cJSON_AddStringToObject(cJSON_GetArrayItem(j->trajectory, j->steps - 1), "stopped",
					"max_steps");
		agent_done(j, NULL);
		goto out;
	}
	if (over_tokens(j, &why)) {
		agent_done(j, why.buf);
		goto out;
	}
	results = answer_calls(j, calls, &why);
	if (!results) {
		agent_done(j, why.buf);
		goto out;
	}
	if (r->target->type->continue_request(r->target, &j->rq, &j->reply, results, &next, &why)) {
		cJSON_Delete(results);
		agent_done(j, why.buf);
		goto out;
	}
	cJSON_Delete(results);
	send_request(r, j, &next);
out:
	strbuf_release(&why);
}

static void note_call(struct run *r, const struct gw_request *req)
{
	r->st->calls += req->attempts;
	if (req->ok) {
		r->call_ok++;
		r->consecutive_call_errors = 0;
		return;
	}
	r->consecutive_call_errors++;
	if (req->fatal && !r->st->fatal) {
		r->st->fatal = 1;
		snprintf(r->st->fatal_msg, sizeof(r->st->fatal_msg), "%s", req->error);
		r->stop = 1;
	}
	/* a gateway that never answered, or stopped answering: no point going on */
	if (!r->st->fatal && r->consecutive_call_errors >= 10 &&
	    (r->call_ok == 0 || r->consecutive_call_errors >= 50)) {
		r->st->fatal = 1;
		snprintf(r->st->fatal_msg, sizeof(r->st->fatal_msg),
			 "the gateway failed %ld requests in a row, last: %s",
			 r->consecutive_call_errors, req->error ? req->error : "?");
		r->stop = 1;
	}
}

/* count a scorer's model call (answered or from the cache) in the job's judge usage */
static void judge_usage(struct run *r, struct job *j, const char *body, long pt, long ct)
{
	cJSON *req = cJSON_Parse(body);
	const cJSON *model = cJSON_GetObjectItemCaseSensitive(req, "model");
	double cost;

	if (pt >= 0)
		j->judge_prompt_tokens = (j->judge_prompt_tokens < 0 ? 0 : j->judge_prompt_tokens) + pt;
	if (ct >= 0)
		j->judge_completion_tokens =
			(j->judge_completion_tokens < 0 ? 0 : j->judge_completion_tokens) + ct;
	cost = config_cost(r->plan->cfg, cJSON_IsString(model) ? model->valuestring : NULL, pt, ct);
	spend(r, cJSON_IsString(model) ? model->valuestring : NULL, pt, ct);
	if (!isnan(cost))
		j->judge_cost_usd = (isnan(j->judge_cost_usd) ? 0 : j->judge_cost_usd) + cost;
	cJSON_Delete(req);
}

/* the error of a scorer's call not made or cancelled because the run ended on a fatal error */
#define NOT_SCORED "not scored: the run stopped on a fatal gateway error"

static void on_done(struct gw_request *req, void *arg)
{
	struct run *r = arg;
	struct pending *p = req->user;
	struct job *j = p->job;

	if (req->error && !strcmp(req->error, "cancelled")) {
		/*
		 * interrupted before an answer: not a result. After a fatal error
		 * the answer a scorer's call was about is kept: the call errors
		 * and the job goes on to the writer.
		 */
		if (p->kind == PENDING_SCORER && r->st->fatal) {
			j->sjobs[p->scorer].calls[p->call].error = xstrdup(NOT_SCORED);
			if (--j->calls_pending == 0)
				schedule_score(j);
		} else if (p->kind == PENDING_TARGET || p->kind == PENDING_USER) {
			job_free(j);
			atomic_fetch_sub(&r->live, 1);
		} else if (--j->calls_pending == 0) {
			job_free(j);
			atomic_fetch_sub(&r->live, 1);
		}
		pending_free(p);
		return;
	}
	note_call(r, req);
	if (p->kind == PENDING_USER) {
		if (req->ok) {
			judge_usage(r, j, req->body, req->reply.prompt_tokens,
				    req->reply.completion_tokens);
			if (p->key[0])
				remember_for_cache(j, -1, p->key, &req->reply, NULL, req->latency_ms);
		}
		user_replied(r, j, req->reply.output,
			     req->ok ? NULL : req->error ? req->error : "unknown error");
	} else if (p->kind == PENDING_TARGET) {
		j->attempts += req->attempts;
		j->latency_ms += req->latency_ms;
		if (req->ok) {
			target_reply_move(&j->reply, &req->reply);
			spend_answer(r, j);
			if (p->key[0])
				remember_for_cache(j, -1, p->key, &j->reply, NULL, req->latency_ms);
			job_replied(r, j);
		} else {
			verbose("%s/%s: %s", j->suite->name, j->kase->id, req->error);
			agent_done(j, req->error ? req->error : "unknown error");
		}
	} else {
		struct score_call *c = &j->sjobs[p->scorer].calls[p->call];
		if (req->ok) {
			c->reply = req->reply.output;
			req->reply.output = NULL;
			judge_usage(r, j, c->body, req->reply.prompt_tokens,
				    req->reply.completion_tokens);
			if (p->key[0])
				remember_for_cache(j, (int)p->scorer, p->key, &req->reply, c->reply,
						   req->latency_ms);
		} else {
			c->error = xstrdup(req->error ? req->error : "call failed");
		}
		if (--j->calls_pending == 0)
			schedule_score(j);
	}
	pending_free(p);
}

/* the cache key of a scorer's call to its worker: the command's key and the request */
static void command_call_key(const struct eg_command *cmd, const char *body, char out[65])
{
	struct sha256 h;
	unsigned char dig[32];

	sha256_init(&h);
	sha256_update(&h, "exec-scorer\n", 12);
	sha256_update(&h, cmd->key, 64);
	sha256_update(&h, "\n", 1);
	sha256_update(&h, body, strlen(body));
	sha256_final(&h, dig);
	sha256_to_hex(dig, out);
}

/* {base_url}{path}: where a scorer's call with a path goes (malloc'd) */
static char *path_url(const struct run *r, const char *path)
{
	const char *base = r->plan->cfg->gateway.base_url;
	size_t len = strlen(base);
	struct strbuf sb = STRBUF_INIT;

	while (len && base[len - 1] == '/')
		len--;
	strbuf_add(&sb, base, len);
	strbuf_addstr(&sb, path);
	return strbuf_detach(&sb, NULL);
}

/* the cache key of a scorer's call with a path: the chat key with the URL for the base */
static void path_call_key(const struct run *r, const struct score_call *c, char out[65])
{
	char *url = path_url(r, c->path);

	chat_cache_key(url, c->body, c->sample, out);
	free(url);
}

/* a scorer's worker reply: the line itself, for the scorer to read */
static enum target_parse line_as_output(const void *arg, const char *line, size_t len,
					struct target_reply *out, struct strbuf *why)
{
	out->output = xstrndup(line, len);
	out->output_len = len;
	return TARGET_REPLY_OK;
}

/* every call the job's unscored scorers still wait for errors (the run stopped) */
static void fail_calls(struct job *j)
{
	size_t i, k;

	for (i = 0; i < j->n_scorers; i++) {
		if (j->scored[i])
			continue;
		for (k = 0; k < j->sjobs[i].n_calls; k++) {
			struct score_call *c = &j->sjobs[i].calls[k];

			if (!c->reply && !c->error)
				c->error = xstrdup(NOT_SCORED);
		}
	}
}

/* the scorers' calls in flight at most: gateway.scorer_concurrency, else the run's concurrency */
static int scorer_inflight(const struct run *r)
{
	int n = r->plan->cfg->gateway.scorer_concurrency;

	return n > 0 ? n : r->plan->concurrency > 0 ? r->plan->concurrency : 32;
}

/* submit the calls scorers asked for (network thread) */
static void drain_calls(struct run *r)
{
	struct job *list = queue_take(&r->callq, 0, NULL);

	while (list) {
		struct job *j = list;
		size_t i, k;

		list = j->next;
		if (r->stop && r->st->fatal) {
			/* the answer is kept: its scorers' calls are not made */
			fail_calls(j);
			schedule_score(j);
			continue;
		}
		if (r->stop) {
			job_free(j);
			atomic_fetch_sub(&r->live, 1);
			continue;
		}
		j->calls_pending = 1; /* held while submitting */
		for (i = 0; i < j->n_scorers; i++) {
			struct score_job *sj = &j->sjobs[i];
			if (j->scored[i])
				continue;
			for (k = 0; k < sj->n_calls; k++) {
				struct score_call *c = &sj->calls[k];
				struct cached_reply cr;
				struct pending *pd;
				char key[65];

				if (c->reply || c->error)
					continue;
				j->calls_made[i]++;
				if (c->command)
					command_call_key(c->command, c->body, key);
				else if (c->path)
					path_call_key(r, c, key);
				else
					chat_cache_key(r->plan->cfg->gateway.base_url, c->body,
						       c->sample, key);
				if (use_cache(r, j) && cache_get(r->cache_rd, key, &cr) == 0) {
					c->reply = cr.content;
					cr.content = NULL;
					judge_usage(r, j, c->body, cr.prompt_tokens,
						    cr.completion_tokens);
					cached_reply_release(&cr);
					continue;
				}
				if (r->plan->cache_only) {
					c->error = xstrdup("not in the response cache (--cache-only)");
					continue;
				}
				pd = pending_new(PENDING_SCORER, j, xstrdup(c->body), strlen(c->body));
				pd->scorer = i;
				pd->call = k;
				if (use_cache(r, j))
					memcpy(pd->key, key, 65);
				j->calls_pending++;
				if (c->path) {
					pd->req.url = path_url(r, c->path);
					pd->req.raw = 1;
				}
				pd->req.pool = GW_POOL_SCORER;
				if (c->command)
					worker_submit(worker_set_pool_sized(r->workers, c->command,
									    line_as_output, NULL,
									    scorer_inflight(r)),
						      &pd->req);
				else
					gateway_submit(r->gw, &pd->req);
			}
		}
		if (--j->calls_pending == 0)
			schedule_score(j);
	}
}

static void fill(struct run *r)
{
	while (!r->stop && !r->over_budget && !r->exhausted &&
	       atomic_load(&r->live) < r->max_live &&
	       atomic_load(&r->live) - atomic_load(&r->writing) < r->window) {
		struct job *j = next_job(r);
		if (!j) {
			r->exhausted = 1;
			if (r->read_error)
				r->stop = 1;
			break;
		}
		atomic_fetch_add(&r->live, 1);
		start_job(r, j);
	}
}

static void progress(struct run *r, int final)
{
	const struct run_plan *p = r->plan;
	double t = now_s(), el = t - r->t0, rate;
	long made = atomic_load(&r->n_pass) + atomic_load(&r->n_fail) + atomic_load(&r->n_error);
	long done = made + r->st->skipped;
	long total = r->st->total, left = total - done;
	char eta[32];

	if (p->progress == PROGRESS_NONE)
		return;
	if (!final && t - r->last_progress < (p->progress == PROGRESS_TTY ? 0.2 : 10.0))
		return;
	r->last_progress = t;
	rate = el > 0 ? made / el : 0;
	if (rate > 0 && left > 0) {
		long s = (long)(left / rate + 0.5);
		snprintf(eta, sizeof(eta), "%ld:%02ld", s / 60, s % 60);
	} else {
		snprintf(eta, sizeof(eta), "-");
	}
	if (p->progress == PROGRESS_TTY)
		fprintf(stderr, "\r\033[K%s%s%ld/%ld %3.0f%%  %.0f/s  eta %s  pass %ld  fail %ld  error %ld%s",
			p->label ? p->label : "", p->label ? ": " : "",
			done, total, total ? 100.0 * done / total : 100.0, rate, eta,
			atomic_load(&r->n_pass), atomic_load(&r->n_fail),
			atomic_load(&r->n_error), final ? "\n" : "");
	else
		fprintf(stderr, "evalgate: %s%sprogress %ld/%ld (%.0f%%) %.0f results/s eta %s pass %ld fail %ld error %ld\n",
			p->label ? p->label : "", p->label ? ": " : "",
			done, total, total ? 100.0 * done / total : 100.0, rate, eta,
			atomic_load(&r->n_pass), atomic_load(&r->n_fail),
			atomic_load(&r->n_error));
	fflush(stderr);
}

/* an exec target's reply line, read by its type */
static enum target_parse target_line(const void *arg, const char *line, size_t len,
				     struct target_reply *out, struct strbuf *why)
{
	const struct target *t = arg;

	return t->type->parse_reply(t, line, len, out, why);
}

/* wait for the gateway's transfers and the workers' pipes at once, then serve both */
static void poll_transports(struct run *r)
{
	int busy = gateway_outstanding(r->gw) || worker_set_outstanding(r->workers);
	int wait = busy ? 50 : 5, next = worker_set_next_ms(r->workers);
	struct pollfd *fds;
	size_t n;

	if (next >= 0 && next < wait)
		wait = next;
	fds = worker_set_fds(r->workers, &n);
	gateway_poll_fds(r->gw, wait, fds, n, on_done, r);
	if (worker_set_outstanding(r->workers))
		worker_set_poll(r->workers, 0, on_done, r);
}

static void network_loop(struct run *r)
{
	int cancelled = 0;

	fill(r);
	for (;;) {
		if (!r->stop && (run_signal_received() || atomic_load(&r->write_failed))) {
			r->stop = 1;
			r->st->interrupted = run_signal_received() != 0;
		}
		if (r->stop && !cancelled) {
			gateway_cancel_all(r->gw, on_done, r);
			worker_set_cancel_all(r->workers, on_done, r);
			cancelled = 1;
		}
		drain_calls(r);
		flush_scoring(r);
		if (atomic_load(&r->live) == 0 && (r->exhausted || r->stop || r->over_budget))
			break;
		if (!r->flushing && r->exhausted && !gateway_outstanding(r->gw) &&
		    !worker_set_outstanding(r->workers)) {
			/* every answer is in: the writer stops batching */
			r->flushing = 1;
			queue_flush(&r->writeq);
		}
		poll_transports(r);
		fill(r);
		progress(r, 0);
	}
	/* stopped at the cap: cut short only when a case was left untaken */
	if (r->over_budget && !r->exhausted && !r->stop) {
		struct job *j = next_job(r);

		if (j) {
			r->st->budget_exhausted = 1;
			job_free(j);
		} else {
			r->exhausted = 1;
		}
	}
}

/* the gateway's concurrency timeline with the run (after the writer is done with the history) */
static void store_timeline(struct run *r)
{
	struct strbuf sb = STRBUF_INIT;

	if (!r->gw || atomic_load(&r->write_failed))
		goto out;
	gateway_timeline_json(r->gw, &sb);
	if (history_set_timeline(r->plan->history, r->plan->run_id, sb.buf))
		warning("the run's concurrency timeline could not be stored");
out:
	strbuf_release(&sb);
}

void run_stats_release(struct run_stats *st)
{
	if (!st->tally)
		return;
	run_tally_release(st->tally);
	free(st->tally);
	st->tally = NULL;
}

int run_execute(const struct run_plan *plan, struct run_stats *st)
{
	struct run *r = xcalloc(1, sizeof(*r));
	size_t i;
	pthread_t *scorers;
	int nthreads, ret = 0;

	memset(st, 0, sizeof(*st));
	r->plan = plan;
	r->st = st;
	r->repeats = plan->repeats > 1 ? plan->repeats : 1;
	/*
	 * A run of one repeat that writes all its results counts them as they
	 * are written: its end need not read them back (history_run_tally).
	 */
	if (r->repeats == 1 && !plan->stored && !plan->reask && plan->history) {
		r->tally = xcalloc(1, sizeof(*r->tally));
		repeat_policy_format(&plan->cfg->repeat_policy, r->policy, sizeof(r->policy));
	}
	r->stored = xcalloc((size_t)r->repeats, 1);
	for (i = 0; i < plan->n_suites; i++)
		st->total += (long)plan->suites[i].n_selected * r->repeats;
	/*
	 * The window is the jobs started and not yet scored: the requests in
	 * flight and queued, and those being scored; a spend cap is overshot
	 * by one window at most (docs/calibration.md). Jobs scored and waiting
	 * for the writer do not count in it: 256 more may wait, room for the
	 * writer's batches and its commits (one that syncs stalls it for
	 * milliseconds). When they counted, the loop at 0 ms latency and c=32
	 * found the window full in 60% of its turns and left slots idle.
	 */
	r->window = 2L * plan->concurrency + 16;
	r->max_live = r->window + 256;
	r->spent_cost = plan->spent_cost_usd;
	r->spent_tokens = plan->spent_tokens;
	/* a run resumed over its cap takes nothing new */
	if ((plan->max_cost_usd > 0 && r->spent_cost >= plan->max_cost_usd) ||
	    (plan->max_tokens > 0 && r->spent_tokens >= plan->max_tokens))
		r->over_budget = 1;
	queue_init(&r->scoreq, 1);
	/* the writer naps between batches: woken early when a quarter of the jobs wait */
	queue_init(&r->writeq, (size_t)r->max_live / 4);
	queue_init(&r->callq, 1);
	r->target = plan->target;
	if (!r->target) {
		if (target_load(&r->own_target, plan->cfg)) {
			ret = -1;
			goto out;
		}
		r->target = &r->own_target;
	}
	r->gw = plan->gw ? plan->gw : gateway_new(&plan->cfg->gateway, plan->api_key);
	if (r->gw && r->target->type->http_headers)
		r->route = gateway_route_new(r->gw, r->target);
	if (r->gw)
		gateway_timeline_begin(r->gw);
	{
		struct worker_opts wo = { 0 };

		wo.inflight = plan->concurrency > 0 ? plan->concurrency : 32;
		wo.timeout_s = plan->cfg->gateway.timeout_s > 0 ? plan->cfg->gateway.timeout_s : 60;
		wo.max_retries = plan->cfg->gateway.max_retries;
		wo.max_line = plan->cfg->gateway.max_response_bytes;
		r->workers = worker_set_new(&wo);
	}
	if (r->target->type->command)
		r->target_pool = worker_set_pool(r->workers, r->target->type->command(r->target),
						 target_line, r->target);
	if (!plan->no_cache)
		r->cache_rd = cache_open(plan->cache_path);
	r->t0 = now_s();
	r->last_progress = r->t0; /* the first line comes after one interval */
	if (pthread_create(&r->writer, NULL, writer_main, r)) {
		ret = error("cannot start the writer thread");
		goto out;
	}
	/*
	 * this thread drives the network; one thread per other processor
	 * scores. Plain threads rather than an OpenMP team: libgomp's idle
	 * threads and its pause spin-wait (GOMP_SPINCOUNT), which cost a
	 * quarter of the CPU of a short run.
	 */
	nthreads = usable_cpus();
	if (nthreads < 2)
		nthreads = 2;
	scorers = xcalloc((size_t)nthreads - 1, sizeof(*scorers));
	for (i = 0; i < (size_t)nthreads - 1; i++) {
		if (pthread_create(&scorers[i], NULL, score_main, r))
			break; /* fewer scorers; none: this thread scores */
	}
	r->n_workers = (int)i;
	network_loop(r);
	queue_close(&r->scoreq);
	for (i = 0; i < (size_t)r->n_workers; i++)
		pthread_join(scorers[i], NULL);
	free(scorers);
	queue_close(&r->writeq);
	pthread_join(r->writer, NULL);
	store_timeline(r);
	/* the results are written: their pages reach the file while the run is counted */
	if (!atomic_load(&r->write_failed))
		history_checkpoint_start(plan->history);
	progress(r, 1);
	st->pass = atomic_load(&r->n_pass);
	st->fail = atomic_load(&r->n_fail);
	st->error = atomic_load(&r->n_error);
	st->done = atomic_load(&r->n_done);
	st->elapsed_s = now_s() - r->t0;
	st->cost_usd = r->spent_cost;
	st->tokens = r->spent_tokens;
	if (atomic_load(&r->write_failed))
		ret = error("results could not be written to the history; the run is incomplete");
	if (r->read_error)
		ret = -1;
	/* the tally holds every result of the run only when each was written */
	if (!ret && r->tally) {
		st->tally = r->tally;
		r->tally = NULL;
	}
out:
	if (r->tally) {
		run_tally_release(r->tally);
		free(r->tally);
	}
	case_unref(r->cur);
	free(r->order);
	if (r->order_readers)
		for (i = 0; i < plan->n_suites; i++)
			case_reader_close(&r->order_readers[i]);
	free(r->order_readers);
	free(r->stored);
	if (r->reader_open)
		case_reader_close(&r->reader);
	if (r->cache_rd)
		cache_close(r->cache_rd);
	worker_set_free(r->workers);
	if (!plan->gw)
		gateway_free(r->gw);
	target_release(&r->own_target);
	queue_destroy(&r->scoreq);
	queue_destroy(&r->writeq);
	queue_destroy(&r->callq);
	free(r);
	return ret;
}

/* ---------------------------------------------------------------- run ids */

/* a regular expression matching exactly the ids of cases in suite (each quoted) */
static void reask_pattern(struct strbuf *re, const char *suite, const struct reask_case *cases,
			  size_t n)
{
	size_t i;
	const char *p;

	strbuf_addstr(re, "^(?:");
	for (i = 0; i < n; i++) {
		if (strcmp(cases[i].suite, suite))
			continue;
		if (re->len > 4)
			strbuf_addch(re, '|');
		for (p = cases[i].case_id; *p; p++) {
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			      (*p >= '0' && *p <= '9') || (unsigned char)*p >= 0x80))
				strbuf_addch(re, '\\');
			strbuf_addch(re, *p);
		}
	}
	strbuf_addstr(re, ")$");
}

int run_reask(const struct run_plan *plan, const struct reask_case *cases, size_t n, int sample,
	      struct run_stats *st)
{
	struct strbuf re = STRBUF_INIT;
	size_t i, k;
	int ret = 0;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < plan->n_suites && !ret; i++) {
		struct run_plan p = *plan;
		struct case_filter f;
		struct run_stats one;
		PCRE2_SIZE off;
		int err;

		for (k = 0; k < n && strcmp(cases[k].suite, plan->suites[i].name); k++)
			;
		if (k == n)
			continue;
		strbuf_reset(&re);
		reask_pattern(&re, plan->suites[i].name, cases, n);
		memset(&f, 0, sizeof(f));
		f.id_re = pcre2_compile((PCRE2_SPTR)re.buf, re.len, PCRE2_UTF, &err, &off, NULL);
		if (!f.id_re) {
			ret = error("cannot select the cases to confirm in suite %s",
				    plan->suites[i].name);
			break;
		}
		p.suites = &plan->suites[i];
		p.n_suites = 1;
		p.filter = &f;
		p.repeats = 1;
		p.first_repeat = sample;
		p.reask = 1;
		p.no_cache = 1;
		p.cache_only = 0;
		p.stored = NULL;
		p.retry_errors = 0;
		p.seeded = 0;
		p.progress = PROGRESS_NONE;
		p.answers = NULL;
		ret = run_execute(&p, &one);
		run_stats_release(&one);
		pcre2_code_free(f.id_re);
		st->total += one.total;
		st->done += one.done;
		st->pass += one.pass;
		st->fail += one.fail;
		st->error += one.error;
		st->calls += one.calls;
		st->interrupted |= one.interrupted;
		st->fatal |= one.fatal;
		st->cost_usd += one.cost_usd;
		st->tokens += one.tokens;
		st->elapsed_s += one.elapsed_s;
		if (one.interrupted || one.fatal)
			break;
	}
	strbuf_release(&re);
	return ret;
}

void run_id_new(char *out, size_t n)
{
	time_t t = time(NULL);
	struct tm tm;
	unsigned char rnd[3] = { 0 };
	int fd = open("/dev/urandom", O_RDONLY);

	if (fd < 0 || read(fd, rnd, sizeof(rnd)) != (ssize_t)sizeof(rnd)) {
		unsigned v = (unsigned)getpid() ^ (unsigned)t ^ (unsigned)clock();
		rnd[0] = (unsigned char)v;
		rnd[1] = (unsigned char)(v >> 8);
		rnd[2] = (unsigned char)(v >> 16);
	}
	if (fd >= 0)
		close(fd);
	gmtime_r(&t, &tm);
	snprintf(out, n, "%04d%02d%02dT%02d%02d%02dZ-%02x%02x%02x", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, rnd[0], rnd[1], rnd[2]);
}
