/*
 * history: the SQLite store of runs (SPEC 8).
 *
 * One file in WAL mode; schema versioned by PRAGMA user_version and migrated
 * forward on open. A run is written by one writer: history_run_begin(), then
 * results in batches (history_batch_begin / history_add_result /
 * history_batch_commit), gate results, and history_run_finish().
 * Readers (runs list/show, reports) may open the same file concurrently.
 * struct history is opaque: nothing outside runner/store sees a table or
 * the connection.
 *
 * Conventions, for this header and the layers above it:
 *
 *   Lookups (the functions said to be one) return
 *       0  found: the output is filled and belongs to the caller
 *       1  not found: the output is zeroed, nothing to release
 *      -1  error, already reported
 *   so `if (lookup(...))` reads "unless found". Every other store, the
 *   registry and the baseline resolver (gates) follow the same rule; where
 *   a registry function returns exit codes, its error is an exit code >= 2
 *   instead of -1.
 *
 *   Runs have one order: by started_at, then by id (both byte order,
 *   ascending = oldest first; newest first is exactly the reverse). Every
 *   listing of runs, "latest" and "before a run" mean that order.
 *
 *   Runs are listed through one filter (struct run_filter) and one
 *   iterator: history_runs_begin(h, &filter, &it), then
 *   history_runs_next(&it, &ri) until it returns 0, then history_runs_end(&it)
 *   (always, also after an error or when stopping early):
 *
 *       struct run_filter f = { .target = "bot", .newest_first = 1, .limit = 5 };
 *       struct run_iter it;
 *       const struct run_info *ri;
 *       int rc;
 *
 *       if (history_runs_begin(h, &f, &it))
 *               return -1;
 *       while ((rc = history_runs_next(&it, &ri)) > 0)
 *               puts(ri->id);
 *       history_runs_end(&it);
 *
 * Other functions return 0 when done, -1 after reporting.
 *
 * Ownership: structs filled by history_* getters are released with the
 * matching *_release function; strings in structs passed in are borrowed;
 * what a callback or an iterator hands out is valid during the call (until
 * the next step) only.
 */
#ifndef EG_HISTORY_H
#define EG_HISTORY_H

#include <stddef.h>

#include "stats.h"

struct history;
struct strbuf;
struct sqlite3_stmt;

enum result_status {
	RESULT_PASS,
	RESULT_FAIL,
	RESULT_ERROR,
};
const char *result_status_name(enum result_status s);

enum run_status {
	RUN_RUNNING,
	RUN_FINISHED,
	RUN_INTERRUPTED,
	RUN_FAILED,    /* infrastructure failure (exit 3) */
	RUN_BUDGET_EXHAUSTED, /* stopped taking cases at its spend cap (exit 4): never complete
				 evidence; --resume continues it */
};
#define RUN_STATUS_LAST RUN_BUDGET_EXHAUSTED
const char *run_status_name(enum run_status s);

struct run_info {
	char *id;                /* e.g. 20261123T120803Z-3f9a1c */
	char *started_at;        /* ISO 8601 UTC */
	char *finished_at;       /* or NULL */
	enum run_status status;
	char *verdict;           /* "pass", "fail", or NULL until gated */
	char *git_sha, *git_ref; /* from the CI environment, or NULL */
	char *config_hash;
	char *target, *version, *model;
	char *shard;             /* "I/N" or NULL */
	char *evalgate_version;
	long n_cases, n_pass, n_fail, n_error; /* filled by history_run_finish / getters */
	int repeats;             /* times each case was run (0 or 1: once) */
	char *repeat_policy;     /* "all", "majority", "min_pass:K"; NULL: "all" */
	char *scope;             /* JSON: suites, filters, limit, shard, resumed; NULL: not stored */
	int partial;             /* took less than the config's suites and cases (--suite,
				    --filter-*, --limit, --shard): never a baseline nor evidence */
	long owner_pid;          /* the process that writes (or wrote) the run, 0: unknown */
	char *owner_host;        /* its host name, or NULL */
	char *owner_since;       /* when it took the run up (ISO 8601 UTC), or NULL */
};
void run_info_release(struct run_info *ri);

/* whether the owner of a run is alive: checked with kill(pid, 0) on this host only */
enum run_owner {
	OWNER_NONE,    /* no owner recorded (a run stored before owners were) */
	OWNER_ALIVE,   /* its process runs on this host */
	OWNER_DEAD,    /* recorded on this host, and no such process */
	OWNER_UNKNOWN, /* recorded on another host: cannot tell */
};
enum run_owner run_owner_state(const struct run_info *ri);
/* the run's status name, "crashed" for a running run whose owner is dead */
const char *run_state_name(const struct run_info *ri);
/* a deep copy of src into dst (released with run_info_release) */
void run_info_copy(struct run_info *dst, const struct run_info *src);

struct run_suite {
	char *name, *version, *hash, *kind;
	long n_cases;            /* results stored for this suite */
};

struct score_row {
	const char *scorer;      /* label */
	const char *type;        /* scorer type name */
	double score;
	int pass;
	int error;
	const char *reason;
	const char *detail;      /* JSON or NULL */
	int calls;               /* model calls this scorer made (0 for deterministic scorers) */
	double weight;           /* the scorer's weight; 0 (a zeroed row) stands for the default, 1 */
};

struct result_row {
	const char *suite;
	const char *case_id;
	const char *case_hash;
	int repeat;              /* 0-based repeat index */
	enum result_status status;
	const char *output;      /* may hold any bytes; NULL when the call failed */
	size_t output_len;
	double latency_ms;
	long prompt_tokens, completion_tokens; /* -1 unknown */
	const char *finish_reason;
	const char *error;       /* call failure, or NULL */
	int attempts;
	int cached;
	const char *tags;        /* comma-separated, or NULL */
	const struct score_row *scores;
	size_t n_scores;
	double cost_usd;         /* USD; NaN (or 0 from a zeroed struct) when unknown */
	long ordinal;            /* the case's place in its suite (line in cases.jsonl): report order */
	const char *input;       /* JSON: the case's input string or messages array; or NULL */
	const char *context;     /* JSON array of the case's context passages, or NULL */
	const char *expected;    /* the case's reference answer, or NULL */
	/* the scorers' model calls (judge, claims, confirmation), cache hits included */
	long judge_prompt_tokens, judge_completion_tokens; /* -1 or 0: none known */
	double judge_cost_usd;   /* at their models' prices; NaN unknown; kept only with tokens */
	/* JSON object: what the target's reply held besides the answer (the context it
	 * retrieved, the passages' ids, tool calls, model, metadata), or NULL */
	const char *target_reply;
	struct stream_stats stream; /* a streamed reply's timing (SPEC 11); zeroed: not streamed */
	int has_threshold;       /* 1: the weighted score decided pass (score >= threshold) */
	double threshold;        /* the case's threshold when has_threshold */
};

/* the weighted mean of a result's scores (weights as score_row.weight says); 0 without scores */
double result_weighted_score(const struct result_row *r);

struct gate_row {
	const char *name;
	const char *metric;
	const char *scope;       /* "all", "suite:NAME" or "tag:NAME" */
	double value;            /* NaN when undefined (no cases) */
	const char *op;          /* ">=" or "<=" */
	double threshold;
	int pass;
	double lo, hi;           /* Wilson 95% interval for rates, NaN otherwise */
	long n;                  /* cases behind the value */
	const char *detail;      /* or NULL */
};

/* open (creating the file and its directory) and migrate; NULL after reporting */
struct history *history_open(const char *path);
/*
 * history_open, but a new file is brought up by every migration step rather
 * than the one-batch schema history_open gives it: for the test that the
 * two schemas are the same
 */
struct history *history_open_stepwise(const char *path);
/* open read-only, for reports; NULL after reporting (missing file is an error) */
struct history *history_open_ro(const char *path);
/*
 * Start copying what the file's WAL holds into the database, on a
 * connection and a thread of their own (sqldb_checkpoint_start), so that
 * the close, which checkpoints and syncs what is left, has little left:
 * a run starts it once its results are written, before it counts and gates
 * them. history_close waits for it.
 */
void history_checkpoint_start(struct history *h);
void history_close(struct history *h);

/* ri->id is required; a NULL started_at means now; the n_* fields are ignored */
int history_run_begin(struct history *h, const struct run_info *ri);
int history_run_suite(struct history *h, const char *run_id, const char *name,
		      const char *version, const char *hash, const char *kind);
/*
 * A batch is one transaction; history_close() commits an open one. A result
 * and its scores are stored together or not at all (a failed row inside a
 * batch is undone alone). Outside a batch each result is its own transaction.
 * A second result with the same (suite, case_id, repeat) in a run is an error.
 */
int history_batch_begin(struct history *h);
int history_add_result(struct history *h, const char *run_id, const struct result_row *r);
int history_batch_commit(struct history *h);
/* undo everything since history_batch_begin (e.g. a merge that failed half-way) */
int history_batch_rollback(struct history *h);
/* gates are numbered in the order they are added */
int history_add_gate(struct history *h, const char *run_id, const struct gate_row *g);
/*
 * sets finished_at (now), status and the n_* counts (the cases of history_run_tally);
 * a NULL verdict keeps the stored one
 */
int history_run_finish(struct history *h, const char *run_id, enum run_status st,
		       const char *verdict);
int history_set_verdict(struct history *h, const char *run_id, const char *verdict);

/* --- finding runs --- */

/*
 * A lookup of one run by reference: "latest" (the newest run, whatever its
 * status), an exact id, or a prefix of exactly one id (an exact id wins over
 * the longer ids it is a prefix of). Not found: no runs at all, no such run,
 * an ambiguous prefix or an empty reference; why (when not NULL) then gets
 * one phrase saying which (e.g. "no such run in the history"), and with why
 * NULL the same is reported as an error ("evalgate: FILE: run 'REF': ...").
 */
int history_run_resolve(struct history *h, const char *ref, struct run_info *out,
			struct strbuf *why);

/* which runs a listing gives: every field narrows it; a zeroed filter gives every run */
struct run_filter {
	const char *target;       /* runs of this target; NULL: any */
	const char *version;      /* runs of this target version; NULL: any */
	const char *suite;        /* runs that stored a suite of this name; NULL: any */
	const char *git_ref;      /* runs whose git_ref is exactly this; NULL: any */
	const char *status;       /* runs of this status (run_status_name); NULL: any */
	const char *verdict;      /* runs of this verdict ("pass", "fail", "error"); NULL: any */
	int sharded;              /* nonzero: only runs of one shard (run --shard) */
	const char *until_id;     /* only runs no later than this run in the order, itself
				   * included (a run id; one not in the history matches
				   * nothing); NULL: no bound */
	const char *exclude_id;   /* leave this run out; NULL: none */
	size_t limit;             /* at most this many runs; 0: no limit */
	int newest_first;         /* nonzero: newest first; zero: oldest first */
	int complete;             /* nonzero: only complete runs: finished, not partial, and
				     not of verdict "error" (baselines, evidence) */
};

/* the state of one listing: on the caller's stack, its fields are the iterator's own */
struct run_iter {
	struct history *h;        /* borrowed */
	struct sqlite3_stmt *st;  /* the running query; NULL when there is none */
	struct run_info ri;       /* the run last handed out */
};
/* start listing the runs f selects, in the one order; -1 after reporting */
int history_runs_begin(struct history *h, const struct run_filter *f, struct run_iter *it);
/*
 * the next run: 1 with *ri pointing at it (valid until the next call or
 * history_runs_end; run_info_copy keeps it), 0 at the end, -1 on error (reported)
 */
int history_runs_next(struct run_iter *it, const struct run_info **ri);
/* end a listing (also one that failed to begin, or stopped early) */
void history_runs_end(struct run_iter *it);
/* a lookup: the first run the filter gives (with newest_first: the newest) */
int history_run_first(struct history *h, const struct run_filter *f, struct run_info *out);

/* suites of a run in name order */
int history_run_suites(struct history *h, const char *run_id,
		       int (*fn)(const struct run_suite *s, void *arg), void *arg);

/*
 * per-scope counts of cases (each case's verdict over its repeats, from the
 * view "cases") for the gates; suite and tag may be NULL (all cases)
 */
struct counts {
	long n, pass, fail, error;
	double latency_ms;       /* sum of the counted results' latencies (unknown ones count 0) */
};
int history_counts(struct history *h, const char *run_id, const char *suite, const char *tag,
		   struct counts *out);
/* the same, limited to suites of one kind ("adversarial") when kind is not NULL */
int history_counts_kind(struct history *h, const char *run_id, const char *suite,
			const char *tag, const char *kind, struct counts *out);
/* counts of stored results (every repeat of every case) of one suite or all */
int history_result_counts(struct history *h, const char *run_id, const char *suite,
			  struct counts *out);
/* scorer results that called a model (judge, claims), and how many of them errored */
int history_model_score_counts(struct history *h, const char *run_id, const char *suite,
			       const char *tag, long *n, long *errors);
/*
 * stored results (every repeat) in scope, and how many of them errored in a
 * scorer rather than in the call (status error with no call error): an
 * unusable judge reply, a scorer that needs context the case has none of
 */
int history_scorer_error_counts(struct history *h, const char *run_id, const char *suite,
				const char *tag, long *n, long *errors);
/* one suite's part of a run's tally */
struct tally_suite {
	char *name;
	struct counts results;    /* its results (each repeat), by status */
	long scorer_errors;       /* of them, errored in a scorer rather than in the call */
	struct counts cases;      /* its cases' verdicts over their repeats */
};
/*
 * A run's counts at its end, made in one pass over its stored results (an
 * earlier attempt's too): what history_result_counts, history_scorer_error_counts
 * and history_counts give for the whole run or one suite, and the case
 * counts history_run_finish stores. Owned; run_tally_release frees it.
 */
struct run_tally {
	struct counts results;    /* every result (each repeat), by status */
	long scorer_errors;       /* of them, errored in a scorer rather than in the call */
	struct counts cases;      /* the cases' verdicts under the run's repeat_policy */
	struct tally_suite *suites; /* the suites with results, in byte order of name */
	size_t n_suites, alloc_suites;
};
/* 0, or -1 after reporting (out then holds nothing); a run not stored counts nothing */
int history_run_tally(struct history *h, const char *run_id, struct run_tally *out);
/*
 * The same tally kept as a run writes its results, when each result is a
 * case of its own (one repeat) and the run writes every one of them (not
 * resumed): the result of suite with status st, call_error when its call
 * failed (not a scorer), counted as history_run_tally counts it from the
 * history, and its case's verdict under policy ("all", "majority",
 * "min_pass:K"). Start from a zeroed tally; run_tally_release frees it.
 */
void run_tally_add_case(struct run_tally *t, const char *policy, const char *suite,
			enum result_status st, int call_error, double latency_ms);
/* the tally of one suite: all zero when the run has no result of it */
const struct tally_suite *run_tally_suite(const struct run_tally *t, const char *name);
void run_tally_release(struct run_tally *t);
/*
 * history_run_finish with the case counts of the run's tally (history_run_tally, made
 * after its last result): the results are not counted again
 */
int history_run_finish_tallied(struct history *h, const char *run_id, enum run_status st,
			       const char *verdict, const struct counts *cases);
/*
 * tool calls of the results' trajectories (SPEC 12), and how many of them
 * failed: arguments not JSON, a tool not declared, or no fixture answered
 */
int history_tool_call_counts(struct history *h, const char *run_id, const char *suite,
			     const char *tag, long *n, long *errors);

/* a stored result with its scores, as the reports read it */
struct stored_result {
	struct result_row row;       /* strings point into the result's own storage */
	struct score_row *scores;
	size_t n_scores;
	void *priv;
};
/*
 * every result of a suite in the order it was stored, one at a time (memory
 * does not grow with the suite); *r and its strings are valid only during
 * the call to fn; fn returns nonzero to stop
 */
int history_results(struct history *h, const char *run_id, const char *suite,
		    int (*fn)(const struct stored_result *r, void *arg), void *arg);
/* the same without the case's texts (input, context and expected NULL): one lookup less a result */
int history_results_without_texts(struct history *h, const char *run_id, const char *suite,
				  int (*fn)(const struct stored_result *r, void *arg), void *arg);
/*
 * The texts stored for a case's content hash (a result's case_hash), for a
 * reader of history_results_without_texts that needs them for a few of its
 * results: 0 and row->input, context and expected set (each NULL when the
 * case has none), pointing into *mem, which the caller releases; 1 when the
 * hash has no texts (row untouched); -1 after reporting what failed.
 */
int history_case_texts(struct history *h, const char *hash, struct result_row *row,
		       struct strbuf *mem);
/* gate results in the order added; *g and its strings are valid only during the call */
int history_gates(struct history *h, const char *run_id,
		  int (*fn)(const struct gate_row *g, void *arg), void *arg);

/*
 * The values behind the distribution gates, over every stored result (each
 * repeat) of a run in a scope (suite and tag may be NULL):
 *   VALUES_SCORE      scores of the scorer labelled scorer; scorer errors
 *                     are left out and counted in n_error
 *   VALUES_LATENCY_MS latency of answered target calls; errors, cache hits
 *                     and recorded answers (no call) count as unknown
 *   VALUES_LATENCY_MS_STORED  the same, and cache hits at the latency stored
 *                     when their answer was obtained (unknown when none was)
 *   VALUES_TOKENS     prompt + completion tokens of the target call
 *   VALUES_COST_USD   results.cost_usd
 *   VALUES_TTFT_MS    time to first token of streamed answers (cache hits
 *                     carry the original); errors count as unknown
 *   VALUES_ITL_MS     mean inter-token time of streamed answers, likewise
 * Unknown values (NULL) are left out and counted in n_unknown. out->v is
 * malloc'd (value_set_release frees it).
 */
enum history_values {
	VALUES_SCORE,
	VALUES_LATENCY_MS,
	VALUES_TOKENS,
	VALUES_COST_USD,
	VALUES_TTFT_MS,
	VALUES_ITL_MS,
	VALUES_LATENCY_MS_STORED,
	VALUES_STEPS,            /* replies per answered result: the trajectory's steps, else 1 */
};
struct value_set {
	double *v;               /* the known values, in storage order */
	size_t n, alloc;
	long n_error;            /* VALUES_SCORE: scorer errors left out */
	long n_unknown;          /* values unknown, left out */
};
int history_values(struct history *h, const char *run_id, const char *suite, const char *tag,
		   enum history_values what, const char *scorer, struct value_set *out);
void value_set_release(struct value_set *vs);
/* delete a run's stored gate results (before gating it again) */
int history_gates_clear(struct history *h, const char *run_id);

/* --- repeats and resuming (run --repeat N, run --resume ID) --- */

/* a case's verdict over its repeats, a row of the view "cases"; strings valid during the call */
struct case_verdict {
	const char *suite;
	const char *case_id;
	long n, n_pass, n_fail, n_error; /* its stored results (repeats) by status */
	enum result_status status;       /* by the run's repeat_policy */
	int flaky;                       /* scored repeats disagree: some passed, some failed */
};
/*
 * the flaky cases of a run, by suite then place in the suite file; fn
 * returns nonzero to stop; returns how many were passed to fn, -1 on error
 */
long history_flaky_cases(struct history *h, const char *run_id,
			 int (*fn)(const struct case_verdict *c, void *arg), void *arg);
/* the same for the cases whose verdict is fail or error */
long history_failed_cases(struct history *h, const char *run_id,
			  int (*fn)(const struct case_verdict *c, void *arg), void *arg);
/*
 * which repeats of one case a run already holds: seen[r] = 1 for each
 * stored repeat r < n (the others are left alone); with skip_errors, a
 * repeat whose result is an error counts as not held; returns how many,
 * -1 on error
 */
int history_case_repeats(struct history *h, const char *run_id, const char *suite,
			 const char *case_id, int skip_errors, unsigned char *seen, int n);
/*
 * take up a stored run again: status running, no finish time, verdict or
 * gate results, this process its owner, "resumed": true in its scope. Refused (-1, reported) while the
 * run is running and its owner is alive on this host.
 */
int history_run_reopen(struct history *h, const char *run_id);
/*
 * from now on, a result stored by history_add_result replaces an error
 * result of the same (suite, case, repeat), in the same transaction
 * (run --resume --retry-errors)
 */
void history_replace_errors(struct history *h);


/*
 * The mean score of one scorer (matched by label or by type) over a suite's
 * scores in a run, errored scores left out; *n is how many (0: *mean NaN).
 */
int history_score_mean(struct history *h, const char *run_id, const char *suite,
		       const char *scorer, double *mean, long *n);

/* --- comparisons (compare.c): cases in key order, samples --- */

/* one row of the view "cases": a case's verdict over its repeats */
struct case_row {
	const char *suite;        /* never NULL */
	const char *case_id;      /* never NULL */
	const char *case_hash;    /* or NULL */
	const char *tags;         /* comma-separated, or NULL */
	enum result_status status;
	int flaky;                /* scored repeats disagreed */
	long n;                   /* stored repeats */
	long n_pass, n_fail;      /* of them, passed and failed (the rest errored) */
	double latency_ms;        /* summed over the repeats (the known ones) */
};
/*
 * The cases of a run (one suite and/or one tag when not NULL) ordered by
 * (suite, case_id) in byte order, one at a time: memory does not grow with
 * the run. A row's strings are valid until the next call on the same
 * iterator. next: 1 row, 0 end, -1 error (reported). open: NULL after reporting.
 */
struct case_iter;
struct case_iter *history_cases_open(struct history *h, const char *run_id, const char *suite,
				     const char *tag);
int history_cases_next(struct case_iter *it, struct case_row *out);
void history_cases_close(struct case_iter *it);

/* a case's first repeat (repeat 0) and what its target's reply held besides the answer */
struct reply_row {
	const char *suite;        /* never NULL */
	const char *case_id;      /* never NULL */
	const char *target_reply; /* JSON object (result_row.target_reply), never NULL */
};
/*
 * The first repeats of a run's cases (one suite when not NULL) that stored a
 * target_reply, in the order of history_cases_open, one at a time: the
 * results without one are passed over in SQLite, and memory does not grow
 * with the run. A row's strings are valid until the next call on the same
 * iterator. next: 1 row, 0 end, -1 error (reported). open: NULL after
 * reporting. has_case: whether the run holds the first repeat of (suite,
 * case_id), reply or not: 1 yes, 0 no, -1 error (reported); it does not move
 * the iterator, nor invalidate its row.
 */
struct reply_iter;
struct reply_iter *history_replies_open(struct history *h, const char *run_id,
					const char *suite);
int history_replies_next(struct reply_iter *it, struct reply_row *out);
int history_replies_has_case(struct reply_iter *it, const char *suite, const char *case_id);
void history_replies_close(struct reply_iter *it);

/* one stored answer of a case with its failing scorers; owned, see case_sample_release */
struct case_sample_score {
	char *scorer;             /* label, or NULL */
	char *reason;             /* or NULL */
	int error;                /* the scorer errored rather than failed */
};
struct case_sample {
	int repeat;               /* which repeat this is */
	enum result_status status;
	char *output;             /* NUL-terminated copy; NULL when the call failed */
	size_t output_len;
	char *error;              /* call failure, or NULL */
	double latency_ms;
	struct case_sample_score *failed; /* scorers that failed or errored, in order */
	size_t n_failed;
};
/*
 * a lookup: the first repeat of a case whose status is prefer (else its
 * first repeat); not found: the run has no such case
 */
int history_case_sample(struct history *h, const char *run_id, const char *suite,
			const char *case_id, enum result_status prefer, struct case_sample *out);
void case_sample_release(struct case_sample *s);

/*
 * the mean score of each scorer label (errored scores left out; mean NaN
 * when n is 0), of each suite of a run (one suite when suite is not NULL)
 * and of all of them, in one pass: fn gets a suite's labels in byte order,
 * the suites in byte order, then the labels over every suite in scope with
 * suite NULL; its strings are valid during the call; nonzero stops
 */
int history_score_means_suites(struct history *h, const char *run_id, const char *suite,
			       int (*fn)(const char *suite, const char *scorer, double mean,
					 long n, void *arg), void *arg);

/* --- for the reports --- */

/* the stored results (every repeat) of one case, as history_results gives them */
int history_case_results(struct history *h, const char *run_id, const char *suite,
			 const char *case_id,
			 int (*fn)(const struct stored_result *r, void *arg), void *arg);

/* the failed and errored results of a suite, as history_results gives them */
int history_failed_results(struct history *h, const char *run_id, const char *suite,
			   int (*fn)(const struct stored_result *r, void *arg), void *arg);

/* tokens, cost and latency of a run's stored results (one suite, or all when suite is NULL) */
struct usage {
	long results;            /* stored results */
	long prompt_tokens;      /* sum over the results that report them */
	long completion_tokens;
	long n_tokens;           /* token counts known (prompt and completion counted apart) */
	double cost_usd;         /* sum of the known costs, the scorers' model calls included */
	long n_cost;             /* results with a known cost (0: cost_usd is 0, not known) */
	long cached;             /* results answered from the cache */
	double latency_p50, latency_p95; /* of the answered target calls, ms; NaN when none */
	double ttft_p50, ttft_p95;       /* of the streamed answers (cache hits too), ms; NaN none */
	double itl_p50, itl_p95;         /* of their mean inter-token times, ms; NaN none */
};
int history_usage(struct history *h, const char *run_id, const char *suite, struct usage *out);
/*
 * history_usage of each suite of a run (one suite when suite is not NULL)
 * and of all of them, in one pass: fn gets each suite with results in byte
 * order, then the suites in scope together with suite NULL; *u is valid
 * during the call; nonzero stops
 */
int history_usage_suites(struct history *h, const char *run_id, const char *suite,
			 int (*fn)(const char *suite, const struct usage *u, void *arg), void *arg);
/* the usage of no results: zero counts, NaN percentiles */
void usage_init(struct usage *u);

/* per-suite case counts (the view "cases") of a run, in suite name order */
int history_suite_counts(struct history *h, const char *run_id,
			 int (*fn)(const char *suite, const struct counts *c, void *arg),
			 void *arg);

/* --- spend caps (run --max-cost-usd/--max-tokens, run --dry-run): history_spend.c --- */

/*
 * what a run's stored results spent: cost_usd and judge_cost_usd summed
 * (unknown ones left out), and every token of the target's and the
 * scorers' calls
 */
int history_run_spend(struct history *h, const char *run_id, double *cost_usd, long *tokens);

/* the tokens one stored result used, for estimating a run's cost before it runs */
struct case_usage {
	const char *suite, *case_id, *case_hash; /* the case_hash may be NULL */
	const char *model;        /* the model of the run that stored it, or NULL */
	long prompt_tokens, completion_tokens;             /* the target's call */
	long judge_prompt_tokens, judge_completion_tokens; /* the scorers' calls; -1 none */
};
/*
 * results with known target tokens of the newest max_runs runs, newest run
 * first; *u and its strings are valid only during the call; fn returns
 * nonzero to stop
 */
int history_case_usage(struct history *h, size_t max_runs,
		       int (*fn)(const struct case_usage *u, void *arg), void *arg);

/* --- attacks (adversarial suites with mutations and OWASP tags): history_attacks.c --- */

/*
 * the distinct tags starting with prefix (e.g. "mutation:") of the results
 * of a run's suites of one kind (NULL: any), in byte order; fn gets each
 * (valid during the call) and returns nonzero to stop
 */
int history_run_tags(struct history *h, const char *run_id, const char *kind,
		     const char *prefix, int (*fn)(const char *tag, void *arg), void *arg);

/* --- the concurrency timeline (ratelimit.h): history_timeline.c --- */

/* one sample of a pool's timeline */
struct timeline_sample {
	double t;                 /* seconds since the run began */
	int limit;                /* the allowed concurrency */
	int in_flight;            /* requests running */
	long n429;                /* 429 replies so far */
	long requests;            /* replies so far */
};

/* a pool's timeline as stored */
struct timeline_pool {
	char *name;               /* "target" or "scorer" */
	int max;                  /* the configured concurrency */
	int min_limit;            /* the lowest allowed concurrency */
	int top_limit;            /* the highest in the samples */
	long n429, backoffs, requests;
	struct timeline_sample *samples;
	size_t n_samples;
};

struct run_timeline {
	struct timeline_pool *pools;
	size_t n_pools;
};

/* store the run's timeline (JSON text), replacing one stored before; 0 or -1 after reporting */
int history_set_timeline(struct history *h, const char *run_id, const char *json);
/* the run's timeline into out: 0, 1 when the run has none, -1 after reporting */
int history_timeline(struct history *h, const char *run_id, struct strbuf *out);
/* the run's timeline read into tl: 0, 1 when it has none (or an unreadable one), -1 after reporting */
int history_timeline_load(struct history *h, const char *run_id, struct run_timeline *tl);
void run_timeline_release(struct run_timeline *tl);
/* "target 16 max, 1-16, 17 429s, 10 back-offs", one pool's summary, appended to sb */
void timeline_pool_summary(struct strbuf *sb, const struct timeline_pool *p);

/* --- re-scoring (evalgate rescore): history_rescore.c --- */

/* record that run_id scored the stored answers of run from again */
int history_set_rescored_from(struct history *h, const char *run_id, const char *from);
/* a lookup: the run whose answers run_id scored again, into out (reset first) */
int history_rescored_from(struct history *h, const char *run_id, struct strbuf *out);

/* --- flip confirmation (regression gates' "confirm"): history_confirm.c --- */

/* one re-ask of a flipped case (strings borrowed) */
struct confirm_row {
	const char *suite;
	const char *case_id;
	int sample;               /* its repeat index: the run's repeats + the round */
	enum result_status status;
};
/* store one re-ask of run_id (inside a batch or on its own) */
int history_add_confirmation(struct history *h, const char *run_id, const struct confirm_row *c);
/* each re-ask of run_id in (suite, case_id, sample) order; nonzero from fn stops the walk */
int history_confirmations(struct history *h, const char *run_id,
			  int (*fn)(const struct confirm_row *c, void *arg), void *arg);
/* the re-asks run_id made (runs.confirm_calls) */
int history_set_confirm_calls(struct history *h, const char *run_id, long calls);
/* into *calls; -1 when none was recorded (no confirmation asked for) */
int history_confirm_calls(struct history *h, const char *run_id, long *calls);

/* --- judge calibrations (evalgate calibrate): history_calibrate.c --- */

/* one calibration of a judge (strings borrowed when adding, owned when read) */
struct calibration {
	char judge_key[65];       /* SHA-256 hex of (judge model, templates, rubric, params) */
	const char *scorer;       /* the judge scorer's label when calibrated */
	double kappa, lo, hi;     /* Cohen's kappa and its bootstrap 95% interval; NaN: undefined */
	long n;                   /* labeled cases behind it */
	char created_at[32];      /* ISO 8601 UTC */
	char run_id[64];          /* the run that scored the labeled cases */
	double agreement;         /* share of the n cases where judge and human agree; NaN: unknown */
	int samples;              /* the judge's asks per case (1 when not known) */
	double self_all_agree;    /* samples > 1: share of cases whose samples all agree, else NaN */
	double self_pairwise;     /* samples > 1: mean pairwise agreement of the samples, else NaN */
	double self_fleiss;       /* samples > 1: Fleiss' kappa of the samples; NaN: undefined */
};
/* store c (created_at is set to now) */
int history_add_calibration(struct history *h, struct calibration *c);
/* the newest calibration of judge_key into out (scorer NULL): 0, 1 when there is none, -1 */
int history_calibration_newest(struct history *h, const char *judge_key, struct calibration *out);
/*
 * the judge keys of run_id's judge scorer results (the detail's "judge_key")
 * in a scope (suite, tag and scorer label; each NULL: any), each once with
 * the first scorer label (by label) that used it, in (label, key) order;
 * fn returns nonzero to stop (a negative value is returned as -1). Reads
 * the judge results only (an index), not the run's other results.
 */
int history_run_judge_keys(struct history *h, const char *run_id, const char *suite,
			   const char *tag, const char *scorer,
			   int (*fn)(const char *scorer, const char *key, void *arg), void *arg);
/* history_results over one suite, or over every suite of the run when suite is NULL */
int history_results_all(struct history *h, const char *run_id, const char *suite,
			int (*fn)(const struct stored_result *r, void *arg), void *arg);

#endif
