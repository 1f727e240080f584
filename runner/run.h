/*
 * run: executes one run. One network thread (the caller's) drives the
 * gateway client (curl multi); one scoring thread per other usable CPU
 * scores the answers, so scoring never stalls the network loop; one writer thread streams results into the
 * history in batched transactions. Cases are read from the suite files as
 * slots free up, so memory is bounded by the concurrency, not the suite size.
 * With repeats, the jobs of one case (case, repeat 0..N-1) share the case
 * read once; a repeat >= 1 neither reads nor writes the response cache, so
 * each repeat is a real call and the cache keeps the first answer.
 *
 * With a spend cap (max_cost_usd, max_tokens) the run counts what its
 * results cost as they come in (target and scorer calls, cache hits at
 * their price, as the history stores them); once the cap is reached it
 * takes no new case, lets the jobs in flight finish and says so in
 * run_stats.budget_exhausted. Cases are then taken in a seeded order over
 * all suites (a shuffle keyed by (seed, suite, case id)), so the results of
 * a run cut short are a uniform random sample of its cases; that order
 * reads every selected case into memory first.
 *
 * With plan->answers (evalgate rescore) the target is never called: each
 * (case, repeat) takes the answer another run stored for it (its usage,
 * latency and retrieved context too; a stored call error stays an error)
 * and is scored by the current scorers, whose model calls go through the
 * gateway and the cache as usual. Cases that run does not hold are skipped.
 *
 * Ownership: everything in struct run_plan is borrowed for the duration of
 * run_execute(); struct run_stats is plain data.
 */
#ifndef EG_RUN_H
#define EG_RUN_H

#include <stddef.h>

#include "config.h"
#include "gateway.h"
#include "history.h"
#include "suite.h"
#include "target.h"

enum progress_mode {
	PROGRESS_NONE,  /* --quiet */
	PROGRESS_TTY,   /* a live line redrawn in place */
	PROGRESS_LINES, /* a plain line every few seconds (CI logs) */
};

struct run_plan {
	const struct eg_config *cfg;
	const struct target *target;   /* what each case calls (target_load); NULL: loaded from cfg */
	struct eg_suite *suites;       /* loaded and validated */
	size_t n_suites;
	const struct case_filter *filter;
	const char *run_id;
	const char *api_key;           /* or NULL; never printed */
	struct history *history;       /* the writer's connection, run already begun */
	const char *cache_path;        /* response cache file */
	int concurrency;
	int no_cache;                  /* neither read nor write the cache */
	int cache_only;                /* a cache miss is an error for that case, no call is made */
	int repeats;                   /* times each case is run (0 or 1: once) */
	struct history *stored;        /* --resume: a second connection to find the results the
					  run already holds (skipped), or NULL */
	int retry_errors;              /* --resume --retry-errors: a stored error result is not
					  held: the case is asked again and its new result
					  replaces the error (history_replace_errors on history) */
	enum progress_mode progress;
	struct gateway *gw;            /* the client to call through, its connections kept (run
					  --variant: one for every variant's run), or NULL: the
					  run makes its own from cfg->gateway */
	const char *label;             /* put before the progress line (a variant's name), or NULL */
	double max_cost_usd;           /* spend cap in USD; 0: none */
	long max_tokens;               /* spend cap in tokens; 0: none */
	double spent_cost_usd;         /* what the run already spent (--resume), counted in the cap */
	long spent_tokens;
	struct history *answers;       /* rescore: a connection to the run whose stored answers are
					  scored instead of calling the target, or NULL */
	const char *answers_run;       /* that run's id */
	int seeded;                    /* take cases in the seeded order (always with a cap) */
	unsigned long long seed;       /* of that order */
	int first_repeat;              /* the repeat index of each case's first job (run_reask) */
	int reask;                     /* store each answer as a confirmation re-ask
					  (history_add_confirmation), not as a result */
};

struct run_stats {
	long total;                    /* results to make: cases selected x repeats */
	long done;                     /* results stored */
	long skipped;                  /* results the run already held (--resume) */
	long pass, fail, error;
	long cache_hits;
	long calls;                    /* gateway requests made (attempts) */
	int interrupted;               /* SIGINT/SIGTERM */
	int fatal;                     /* the gateway refused the credentials or is unreachable */
	char fatal_msg[512];
	int budget_exhausted;          /* the cap was reached with cases left untaken */
	double cost_usd;               /* spent, as counted against the cap (the plan's spent_* included) */
	long tokens;
	double elapsed_s;
	/*
	 * The run's tally, counted as its results were written (a run of one
	 * repeat, not resumed, every result written), or NULL: count it from
	 * the history. Owned: run_tally_release and free.
	 */
	struct run_tally *tally;
};

/* 0 when the run went through (possibly interrupted or fatal: see stats); -1 on an internal error */
int run_execute(const struct run_plan *plan, struct run_stats *st);
/* what st owns (its tally) */
void run_stats_release(struct run_stats *st);

/* one case to ask again (strings borrowed) */
struct reask_case {
	const char *suite;             /* a suite of the plan */
	const char *case_id;
};
/*
 * Flip confirmation: ask each of cases once more as a fresh sample, repeat
 * index `sample` (>= the run's repeats, so never through the response
 * cache), and store the answers with history_add_confirmation, apart from
 * the run's results. The plan is the run's (its suites, gateway, caps);
 * st counts the re-asks. 0, or -1 on an internal error.
 */
int run_reask(const struct run_plan *plan, const struct reask_case *cases, size_t n, int sample,
	      struct run_stats *st);

/* install SIGINT/SIGTERM handlers that ask a run to stop */
void run_signals_install(void);
int run_signal_received(void);

/* a new run id: UTC time and 24 random bits, e.g. 20261123T120803Z-3f9a1c */
void run_id_new(char *out, size_t n);

#endif
