/*
 * history: the SQLite store of runs (SPEC 8) and the response cache beside it.
 *
 * One file in WAL mode; schema versioned by PRAGMA user_version and migrated
 * forward on open. A run is written by one writer: history_run_begin(), then
 * results in batches (history_batch_begin / history_add_result /
 * history_batch_commit), gate results, and history_run_finish().
 * Readers (runs list/show, reports) may open the same file concurrently.
 *
 * The response cache is a second SQLite file (cache.db beside the history)
 * keyed by a SHA-256 of base path, model, params and messages; only
 * successful replies are cached.
 *
 * Ownership: structs filled by history_* getters are released with the
 * matching *_release function; strings in structs passed in are borrowed.
 */
#ifndef EG_HISTORY_H
#define EG_HISTORY_H

#include <stddef.h>

struct history;
struct cache;

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
};
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
};
void run_info_release(struct run_info *ri);

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
};

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
/* open read-only, for reports; NULL after reporting (missing file is an error) */
struct history *history_open_ro(const char *path);
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
/* sets finished_at (now), status and the n_* counts; a NULL verdict keeps the stored one */
int history_run_finish(struct history *h, const char *run_id, enum run_status st,
		       const char *verdict);
int history_set_verdict(struct history *h, const char *run_id, const char *verdict);

/* resolve "latest" or an id (or a unique prefix) to a stored run; -1 when none (reported) */
int history_run_get(struct history *h, const char *ref, struct run_info *out);
/* newest first; target may be NULL; calls fn for each run, stops when fn returns nonzero */
int history_runs_list(struct history *h, const char *target, size_t limit,
		      int (*fn)(const struct run_info *ri, void *arg), void *arg);
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
 *   VALUES_TOKENS     prompt + completion tokens of the target call
 *   VALUES_COST_USD   results.cost_usd
 * Unknown values (NULL) are left out and counted in n_unknown. out->v is
 * malloc'd (value_set_release frees it).
 */
enum history_values {
	VALUES_SCORE,
	VALUES_LATENCY_MS,
	VALUES_TOKENS,
	VALUES_COST_USD,
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
 * stored repeat r < n (the others are left alone); returns how many, -1 on error
 */
int history_case_repeats(struct history *h, const char *run_id, const char *suite,
			 const char *case_id, unsigned char *seen, int n);
/* take up a stored run again: status running, no finish time, verdict or gate results */
int history_run_reopen(struct history *h, const char *run_id);


/*
 * For the drift gate: the finished runs that stored suite and started before
 * run_id, newest first, at most limit of them; fn gets each id (valid during
 * the call) and returns nonzero to stop.
 */
int history_prior_runs(struct history *h, const char *run_id, const char *suite, size_t limit,
		       int (*fn)(const char *id, void *arg), void *arg);
/*
 * The mean score of one scorer (matched by label or by type) over a suite's
 * scores in a run, errored scores left out; *n is how many (0: *mean NaN).
 */
int history_score_mean(struct history *h, const char *run_id, const char *suite,
		       const char *scorer, double *mean, long *n);

/* --- response cache --- */
struct cached_reply {
	char *content;
	size_t content_len;
	char *finish_reason;
	long prompt_tokens, completion_tokens;
	double latency_ms;       /* when the answer was obtained; NaN (or 0) unknown */
	char *target_reply;      /* JSON, as result_row.target_reply, or NULL */
};
struct cache *cache_open(const char *path);
void cache_close(struct cache *c);
/* 1 hit (out filled, release with cached_reply_release), 0 miss, -1 error */
int cache_get(struct cache *c, const char *key, struct cached_reply *out);
int cache_put(struct cache *c, const char *key, const struct cached_reply *r);
void cached_reply_release(struct cached_reply *r);

/* --- comparisons (compare.c): baseline lookup, cases in key order, samples --- */

/* a run by exact id or unique prefix, without messages: 1 found, 0 none, 2 ambiguous, -1 error */
int history_run_lookup(struct history *h, const char *ref, struct run_info *out);
/*
 * the newest finished run of target whose git_ref is git_ref, other than
 * exclude_id (each NULL: any); 1 found (out filled), 0 none, -1 error
 */
int history_run_latest(struct history *h, const char *target, const char *git_ref,
		       const char *exclude_id, struct run_info *out);

/* one row of the view "cases": a case's verdict over its repeats */
struct case_row {
	const char *suite;        /* never NULL */
	const char *case_id;      /* never NULL */
	const char *case_hash;    /* or NULL */
	const char *tags;         /* comma-separated, or NULL */
	enum result_status status;
	int flaky;                /* scored repeats disagreed */
	long n;                   /* stored repeats */
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
 * the first repeat of a case whose status is prefer (else its first repeat):
 * 1 found, 0 no such case, -1 error
 */
int history_case_sample(struct history *h, const char *run_id, const char *suite,
			const char *case_id, enum result_status prefer, struct case_sample *out);
void case_sample_release(struct case_sample *s);

/* history_usage (below) with the latency of the answered calls, for compare */
struct usage_summary {
	long results;             /* stored results */
	long prompt_tokens, completion_tokens; /* sums of the known counts */
	int tokens_known;         /* some result had a token count */
	double cost_usd;          /* sum of the known costs; NaN when none known */
	double latency_p50, latency_p95; /* answered calls, ms; NaN when none */
};
int history_usage_summary(struct history *h, const char *run_id, const char *suite,
			  struct usage_summary *out);
/* mean score of each scorer label (errored scores left out), in label order */
int history_score_means(struct history *h, const char *run_id, const char *suite,
			int (*fn)(const char *scorer, double mean, long n, void *arg), void *arg);

/* --- filtered listing and raw access (runs list, runs export/import) --- */

/* every non-NULL field narrows the listing; all NULL and limit 0: every run */
struct runs_filter {
	const char *target;      /* target name */
	const char *suite;       /* runs that include a suite of this name */
	const char *ref;         /* stored git_ref, exactly */
	const char *status;      /* run status name ("finished", ...) */
	size_t limit;            /* at most this many runs; 0: no limit */
};
/* newest first; calls fn for each matching run, stops when fn returns nonzero */
int history_runs_find(struct history *h, const struct runs_filter *f,
		      int (*fn)(const struct run_info *ri, void *arg), void *arg);

/* the connection and the file name, borrowed, for whole-table readers and writers */
struct sqlite3 *history_sqlite(struct history *h);
const char *history_path(const struct history *h);

/* --- for the reports --- */

/* the stored results (every repeat) of one case, as history_results gives them */
int history_case_results(struct history *h, const char *run_id, const char *suite,
			 const char *case_id,
			 int (*fn)(const struct stored_result *r, void *arg), void *arg);

/* the failed and errored results of a suite, as history_results gives them */
int history_failed_results(struct history *h, const char *run_id, const char *suite,
			   int (*fn)(const struct stored_result *r, void *arg), void *arg);

/* tokens and cost of a run's stored results (one suite, or all when suite is NULL) */
struct usage {
	long prompt_tokens;      /* sum over the results that report them */
	long completion_tokens;
	double cost_usd;         /* sum of the known costs, the scorers' model calls included */
	long n_cost;             /* results with a known cost */
	long cached;             /* results answered from the cache */
	long results;            /* stored results */
	long n_tokens;           /* token counts known (prompt and completion counted apart) */
};
int history_usage(struct history *h, const char *run_id, const char *suite, struct usage *out);

/* per-suite case counts (the view "cases") of a run, in suite name order */
int history_suite_counts(struct history *h, const char *run_id,
			 int (*fn)(const char *suite, const struct counts *c, void *arg),
			 void *arg);

/*
 * the runs of run_id's target started no later than run_id (run_id
 * included), newest first, at most limit; fn returns nonzero to stop
 */
int history_runs_before(struct history *h, const char *run_id, size_t limit,
			int (*fn)(const struct run_info *ri, void *arg), void *arg);

#endif
