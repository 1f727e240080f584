#include "run.h"

#include <math.h>
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
#include <omp.h>

#include "agent.h"
#include "cache.h"
#include "error.h"
#include "gateway.h"
#include "jsonw.h"
#include "rng.h"
#include "strbuf.h"
#include "sha256.h"
#include "target.h"
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
	int loop;                      /* tool calls are answered and the model asked again */
	struct target_request rq;      /* loop: the last request sent (kept for the next step) */
	cJSON *trajectory;             /* the steps so far, or NULL without tool calls */
	int steps, steps_cached;       /* replies received, of which from the cache */
	long sum_prompt, sum_completion; /* token counts over the steps; -1 none known */
};

enum pending_kind { PENDING_TARGET, PENDING_SCORER };

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
	int closed;
	int leavers;                    /* threads that stopped taking from it (scoreq) */
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
	long max_live;
	atomic_long n_pass, n_fail, n_error, n_done;
	long consecutive_call_errors, call_ok;
	struct queue scoreq;            /* answered jobs for the scoring threads */
	int n_workers;                  /* OpenMP threads scoring (0: the network thread scores); set and read by thread 0 only */
	struct queue writeq;            /* scored jobs for the writer */
	struct queue callq;             /* jobs whose scorers asked for calls */
	atomic_int write_failed;
	pthread_t writer;
	double t0;
	double last_progress;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void queue_init(struct queue *q)
{
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	q->head = q->tail = NULL;
	q->closed = 0;
	q->leavers = 0;
}

static void queue_destroy(struct queue *q)
{
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
}

static void queue_push(struct queue *q, struct job *j)
{
	pthread_mutex_lock(&q->mu);
	j->next = NULL;
	if (q->tail)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

/* take everything queued; waits when wait is set and the queue is open and empty */
static struct job *queue_take(struct queue *q, int wait)
{
	struct job *j;

	pthread_mutex_lock(&q->mu);
	while (wait && !q->head && !q->closed)
		pthread_cond_wait(&q->cv, &q->mu);
	j = q->head;
	q->head = q->tail = NULL;
	pthread_mutex_unlock(&q->mu);
	return j;
}

/* take the oldest job; waits while the queue is open and empty; NULL once closed and empty */
static struct job *queue_pop(struct queue *q)
{
	struct job *j;

	pthread_mutex_lock(&q->mu);
	while (!q->head && !q->closed)
		pthread_cond_wait(&q->cv, &q->mu);
	j = q->head;
	if (j) {
		q->head = j->next;
		if (!q->head)
			q->tail = NULL;
	}
	pthread_mutex_unlock(&q->mu);
	return j;
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

static void tags_join(struct strbuf *sb, const struct eg_case *c)
{
	size_t i;

	strbuf_reset(sb);
	for (i = 0; i < c->n_tags; i++) {
		if (i)
			strbuf_addch(sb, ',');
		strbuf_addstr(sb, c->tags[i]);
	}
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

static int write_job(struct run *r, struct history *h, struct cache *cw, struct job *j,
		     struct strbuf *tags, struct score_row *rows)
{
	struct strbuf input = STRBUF_INIT, context = STRBUF_INIT;
	const char *model = j->reply.model ? j->reply.model : r->plan->cfg->target.model;
	char *extra = target_reply_extra_json(&j->reply);
	struct result_row row;
	size_t i;
	int ret = -1;

	tags_join(tags, j->kase);
	case_texts(j->kase, &input, &context);
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
	row.tags = tags->len ? tags->buf : NULL;
	row.ordinal = j->kase->line;
	/* the answer's price (at the model the reply names, else the target's), cache hits
	 * included; NaN without usage (errors, recorded answers) */
	row.cost_usd = config_cost(r->plan->cfg, model, j->reply.prompt_tokens,
				   j->reply.completion_tokens);
	row.judge_prompt_tokens = j->judge_prompt_tokens;
	row.judge_completion_tokens = j->judge_completion_tokens;
	row.judge_cost_usd = j->judge_cost_usd;
	row.input = input.len ? input.buf : NULL;
	row.context = context.len ? context.buf : NULL;
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
	if (history_add_result(h, r->plan->run_id, &row))
		goto out;
	if (cw) {
		struct cache_entry *e;
		/* a reply its scorer could not use (an unparsable verdict) is not
		 * kept: the next run asks again */
		for (e = j->to_cache; e; e = e->next)
			if (e->scorer < 0 || !j->results[e->scorer].error)
				cache_put(cw, e->key, &e->reply);
	}
	ret = 0;
out:
	free(extra);
	strbuf_release(&input);
	strbuf_release(&context);
	return ret;
}

static void *writer_main(void *arg)
{
	struct run *r = arg;
	struct history *h = r->plan->history;
	struct cache *cw = NULL;
	struct strbuf tags = STRBUF_INIT;
	struct score_row *rows = NULL;
	size_t rows_alloc = 0;

	if (!r->plan->no_cache && !r->plan->cache_only)
		cw = cache_open(r->plan->cache_path);
	for (;;) {
		struct job *list = queue_take(&r->writeq, 1), *j;
		long n = 0;

		if (!list)
			break; /* closed and drained */
		if (!atomic_load(&r->write_failed) && history_batch_begin(h))
			atomic_store(&r->write_failed, 1);
		for (j = list; j; j = j->next) {
			XGROW(rows, j->n_scorers + 1, rows_alloc);
			if (!atomic_load(&r->write_failed) && write_job(r, h, cw, j, &tags, rows))
				atomic_store(&r->write_failed, 1);
			n++;
		}
		if (!atomic_load(&r->write_failed) && history_batch_commit(h))
			atomic_store(&r->write_failed, 1);
		while (list) {
			j = list;
			list = j->next;
			job_free(j);
		}
		if (!atomic_load(&r->write_failed))
			atomic_fetch_add(&r->n_done, n);
		atomic_fetch_sub(&r->live, n);
	}
	free(rows);
	strbuf_release(&tags);
	if (cw)
		cache_close(cw);
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
 * Hand an answered job to the scoring threads. The hand-off is a plain
 * mutex-protected queue rather than OpenMP tasks: it never runs a task on
 * the network thread when the scorers fall behind, and thread sanitizers
 * can see the synchronisation.
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
		j->sjobs[i].tools = j->tools;
		j->sjobs[i].max_steps = j->max_steps;
	}
	if (j->run->n_workers)
		queue_push(&j->run->scoreq, j);
	else
		score_job_run(j);
}

static void score_worker(struct run *r)
{
	struct job *j;

	while ((j = queue_pop(&r->scoreq)))
		score_job_run(j);
	/* say so through the queue's mutex: the end of the OpenMP region is a
	 * barrier too, but one that thread sanitizers cannot see */
	pthread_mutex_lock(&r->scoreq.mu);
	r->scoreq.leavers++;
	pthread_cond_broadcast(&r->scoreq.cv);
	pthread_mutex_unlock(&r->scoreq.mu);
}

static void wait_workers(struct run *r)
{
	pthread_mutex_lock(&r->scoreq.mu);
	while (r->scoreq.leavers < r->n_workers)
		pthread_cond_wait(&r->scoreq.cv, &r->scoreq.mu);
	pthread_mutex_unlock(&r->scoreq.mu);
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
	j->loop = (j->fixtures || j->default_result) && r->target->type->continue_request;
	return j;
}

static void job_setup_scorers(struct job *j)
{
	size_t i, n = j->suite->n_scorers + j->kase->n_scorers;

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
				j = job_new(r, r->cur_suite, r->cur, r->cur_repeat++);
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
	job_answered(j);
	return 1;
}

static void job_replied(struct run *r, struct job *j);

/* send one request of job j (its first, or the next step of its agent loop); takes rq */
static void send_request(struct run *r, struct job *j, struct target_request *rq)
{
	struct cached_reply cr;
	struct pending *pd;
	char key[65];

	r->target->type->cache_key(r->target, rq, key);
	if (j->loop) {
		/* the next step's request extends this one */
		target_request_release(&j->rq);
		j->rq.method = rq->method;
		j->rq.url = rq->url ? xstrdup(rq->url) : NULL;
		j->rq.body = rq->body ? xstrndup(rq->body, rq->body_len) : NULL;
		j->rq.body_len = rq->body_len;
	}
	if (use_cache(r, j) && cache_get(r->cache_rd, key, &cr) == 0) {
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
	if (use_cache(r, j))
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
	if (r->target->type->build_request(r->target, &in, &rq, &err))
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
	cJSON_AddStringToObject(step, "content", j->reply.output ? j->reply.output : "");
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
	if (j->trajectory) {
		free(j->reply.trajectory);
		j->reply.trajectory = jsonw_print(j->trajectory, 0);
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
	if (!j->reply.tool_calls && !j->trajectory) {
		job_answered(j);
		goto out;
	}
	calls = trajectory_add(j);
	if (!calls || !j->loop) {
		agent_done(j, NULL);
		goto out;
	}
	if (j->steps >= j->max_steps) {
		cJSON_AddStringToObject(cJSON_GetArrayItem(j->trajectory, j->steps - 1), "stopped",
					"max_steps");
		agent_done(j, NULL);
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
		} else if (p->kind == PENDING_TARGET) {
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
	if (p->kind == PENDING_TARGET) {
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

/* submit the calls scorers asked for (network thread) */
static void drain_calls(struct run *r)
{
	struct job *list = queue_take(&r->callq, 0);

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
				if (c->command)
					worker_submit(worker_set_pool(r->workers, c->command,
								      line_as_output, NULL),
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
	       atomic_load(&r->live) < r->max_live) {
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
		if (atomic_load(&r->live) == 0 && (r->exhausted || r->stop || r->over_budget))
			break;
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

int run_execute(const struct run_plan *plan, struct run_stats *st)
{
	struct run *r = xcalloc(1, sizeof(*r));
	size_t i;
	int nthreads, ret = 0;

	memset(st, 0, sizeof(*st));
	r->plan = plan;
	r->st = st;
	r->repeats = plan->repeats > 1 ? plan->repeats : 1;
	r->stored = xcalloc((size_t)r->repeats, 1);
	for (i = 0; i < plan->n_suites; i++)
		st->total += (long)plan->suites[i].n_selected * r->repeats;
	r->max_live = 2L * plan->concurrency + 16;
	r->spent_cost = plan->spent_cost_usd;
	r->spent_tokens = plan->spent_tokens;
	/* a run resumed over its cap takes nothing new */
	if ((plan->max_cost_usd > 0 && r->spent_cost >= plan->max_cost_usd) ||
	    (plan->max_tokens > 0 && r->spent_tokens >= plan->max_tokens))
		r->over_budget = 1;
	queue_init(&r->scoreq);
	queue_init(&r->writeq);
	queue_init(&r->callq);
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
	/* thread 0 drives the network; the others score */
	nthreads = omp_get_num_procs();
	if (nthreads < 2)
		nthreads = 2;
#pragma omp parallel num_threads(nthreads) default(none) shared(r)
	{
		if (omp_get_thread_num() == 0) {
			/* only this thread reads n_workers (in schedule_score) */
			r->n_workers = omp_get_num_threads() - 1;
			network_loop(r);
			queue_close(&r->scoreq);
			wait_workers(r);
		} else {
			score_worker(r);
		}
	}
	/*
	 * the team's threads end with the run: a process that runs several
	 * (variants) starts each with new threads, whose creation orders them
	 * after the previous run's for every checker, ThreadSanitizer included
	 */
	omp_pause_resource_all(omp_pause_soft);
	queue_close(&r->writeq);
	pthread_join(r->writer, NULL);
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
out:
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
