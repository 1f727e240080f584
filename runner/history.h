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

/* --- response cache --- */
struct cached_reply {
	char *content;
	size_t content_len;
	char *finish_reason;
	long prompt_tokens, completion_tokens;
};
struct cache *cache_open(const char *path);
void cache_close(struct cache *c);
/* 1 hit (out filled, release with cached_reply_release), 0 miss, -1 error */
int cache_get(struct cache *c, const char *key, struct cached_reply *out);
int cache_put(struct cache *c, const char *key, const struct cached_reply *r);
void cached_reply_release(struct cached_reply *r);

#endif
