/*
 * history: runs, results, scores and gate results in one SQLite file.
 *
 * The schema is the ordered list migrations[]: entry i brings a database from
 * user_version i to i + 1. A later feature appends an entry; it never edits an
 * old one. sqldb.c applies them (in one BEGIN IMMEDIATE transaction that
 * re-reads user_version, so two processes opening a new file do not race).
 *
 * Doubles that are NaN are stored as NULL and read back as NaN; token counts
 * of -1 (unknown) are stored as NULL and read back as -1.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "error.h"
#include "history_fresh.h"
#include "history_impl.h"
#include "stats.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

static const char *const migrations[] = {
	/* 1: initial schema */
	"CREATE TABLE runs ("
	"  id TEXT PRIMARY KEY NOT NULL,"
	"  started_at TEXT NOT NULL,"
	"  finished_at TEXT,"
	"  status TEXT NOT NULL DEFAULT 'running',"
	"  verdict TEXT,"
	"  git_sha TEXT,"
	"  git_ref TEXT,"
	"  config_hash TEXT,"
	"  target TEXT,"
	"  version TEXT,"
	"  model TEXT,"
	"  shard TEXT,"
	"  evalgate_version TEXT,"
	"  n_cases INTEGER NOT NULL DEFAULT 0,"
	"  n_pass INTEGER NOT NULL DEFAULT 0,"
	"  n_fail INTEGER NOT NULL DEFAULT 0,"
	"  n_error INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE INDEX runs_started ON runs(started_at, id);"
	"CREATE INDEX runs_target ON runs(target, started_at, id);"
	"CREATE INDEX runs_target_version ON runs(target, version, started_at);"
	"CREATE TABLE run_suites ("
	"  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  version TEXT,"
	"  hash TEXT,"
	"  kind TEXT,"
	"  PRIMARY KEY (run_id, name)"
	") WITHOUT ROWID;"
	"CREATE INDEX run_suites_name ON run_suites(name, version);"
	"CREATE TABLE results ("
	"  seq INTEGER PRIMARY KEY,"       /* rowid: insertion order */
	"  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  suite TEXT NOT NULL,"
	"  case_id TEXT NOT NULL,"
	"  case_hash TEXT,"
	"  repeat INTEGER NOT NULL DEFAULT 0,"
	"  ordinal INTEGER NOT NULL DEFAULT 0,"  /* the case's place in its suite file */
	"  status TEXT NOT NULL,"
	"  output BLOB,"
	"  latency_ms REAL,"
	"  prompt_tokens INTEGER,"
	"  completion_tokens INTEGER,"
	"  cost_usd REAL,"
	"  finish_reason TEXT,"
	"  error TEXT,"
	"  attempts INTEGER NOT NULL DEFAULT 1,"
	"  cached INTEGER NOT NULL DEFAULT 0,"
	"  tags TEXT,"
	"  UNIQUE (run_id, suite, case_id, repeat)"
	");"
	"CREATE INDEX results_suite_order ON results(run_id, suite, ordinal, repeat);"
	"CREATE INDEX results_case ON results(suite, case_id, run_id);"
	"CREATE TABLE scores ("
	"  run_id TEXT NOT NULL,"
	"  suite TEXT NOT NULL,"
	"  case_id TEXT NOT NULL,"
	"  repeat INTEGER NOT NULL,"
	"  idx INTEGER NOT NULL,"
	"  scorer TEXT,"
	"  type TEXT,"
	"  score REAL,"
	"  pass INTEGER NOT NULL,"
	"  error INTEGER NOT NULL DEFAULT 0,"
	"  reason TEXT,"
	"  detail TEXT,"
	"  calls INTEGER NOT NULL DEFAULT 0,"  /* model calls the scorer made (judge, claims) */
	"  PRIMARY KEY (run_id, suite, case_id, repeat, idx),"
	"  FOREIGN KEY (run_id, suite, case_id, repeat)"
	"    REFERENCES results(run_id, suite, case_id, repeat) ON DELETE CASCADE"
	") WITHOUT ROWID;"
	"CREATE TABLE gates ("
	"  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  idx INTEGER NOT NULL,"
	"  name TEXT,"
	"  metric TEXT,"
	"  scope TEXT,"
	"  value REAL,"
	"  op TEXT,"
	"  threshold REAL,"
	"  pass INTEGER NOT NULL,"
	"  lo REAL,"
	"  hi REAL,"
	"  n INTEGER,"
	"  detail TEXT,"
	"  PRIMARY KEY (run_id, idx)"
	") WITHOUT ROWID;",
	/*
	 * 2: repeats. A case's verdict over its repeats follows the run's
	 * repeat_policy ("all", "majority" or "min_pass:K") over the repeats
	 * that were scored; a case all of whose repeats errored is "error";
	 * a case whose scored repeats disagree is flaky. The view "cases" is
	 * that verdict, one row per case: every per-case count reads it.
	 */
	"ALTER TABLE runs ADD COLUMN repeats INTEGER NOT NULL DEFAULT 1;"
	"ALTER TABLE runs ADD COLUMN repeat_policy TEXT NOT NULL DEFAULT 'all';"
	"CREATE VIEW cases AS SELECT r.run_id AS run_id, r.suite AS suite,"
	"  r.case_id AS case_id, max(r.case_hash) AS case_hash,"
	"  min(r.ordinal) AS ordinal, max(r.tags) AS tags, count(*) AS n,"
	"  sum(r.status = 'pass') AS n_pass, sum(r.status = 'fail') AS n_fail,"
	"  sum(r.status = 'error') AS n_error, total(r.latency_ms) AS latency_ms,"
	"  CASE WHEN sum(r.status <> 'error') = 0 THEN 'error'"
	"    WHEN CASE WHEN u.repeat_policy = 'majority'"
	"           THEN 2 * sum(r.status = 'pass') > sum(r.status <> 'error')"
	"         WHEN u.repeat_policy LIKE 'min_pass:%'"
	"           THEN sum(r.status = 'pass') >= CAST(substr(u.repeat_policy, 10) AS INTEGER)"
	"         ELSE sum(r.status = 'pass') = sum(r.status <> 'error') END"
	"    THEN 'pass' ELSE 'fail' END AS status,"
	"  (sum(r.status = 'pass') > 0 AND sum(r.status = 'fail') > 0) AS flaky"
	"  FROM results r JOIN runs u ON u.id = r.run_id"
	"  GROUP BY r.run_id, r.suite, r.case_id;",
	/*
	 * 3: what a case asked, for the reports: its input (JSON: a string, or
	 * the messages array), context (JSON array) and expected answer, kept
	 * once per case content hash however many runs and repeats share it.
	 */
	"CREATE TABLE case_texts ("
	"  hash TEXT PRIMARY KEY NOT NULL,"
	"  input TEXT,"
	"  context TEXT,"
	"  expected TEXT"
	");",
	/*
	 * 4: the scorers' own model calls (judge, claims, refusal confirmation):
	 * their tokens and their price, beside the target call's
	 */
	"ALTER TABLE results ADD COLUMN judge_prompt_tokens INTEGER;"
	"ALTER TABLE results ADD COLUMN judge_completion_tokens INTEGER;"
	"ALTER TABLE results ADD COLUMN judge_cost_usd REAL;",
	/*
	 * 5: what a target's reply held besides the answer (SPEC 11): a JSON
	 * object with the context it retrieved, the passages' ids, tool
	 * calls, model and metadata; NULL for chat replies
	 */
	"ALTER TABLE results ADD COLUMN target_reply TEXT;",
	/*
	 * 6: a streamed reply's timing (SPEC 11): time to first token, the
	 * mean, median and 95th percentile of the inter-chunk times, tokens/s
	 */
	"ALTER TABLE results ADD COLUMN ttft_ms REAL;"
	"ALTER TABLE results ADD COLUMN itl_ms REAL;"
	"ALTER TABLE results ADD COLUMN itl_p50_ms REAL;"
	"ALTER TABLE results ADD COLUMN itl_p95_ms REAL;"
	"ALTER TABLE results ADD COLUMN tokens_per_s REAL;",
	/*
	 * 7 (rescore): a run made by `evalgate rescore` from another run's
	 * stored answers: which run (history_rescore.c)
	 */
	"CREATE TABLE rescores ("
	"  run_id TEXT PRIMARY KEY NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  rescored_from TEXT NOT NULL"
	") WITHOUT ROWID;",
	/*
	 * 8 (gates): a run's scope and what a case's verdict makes of errored
	 * repeats. scope is JSON (suites, filters, limit, shard, resumed) or
	 * NULL; partial is 1 when the run took less than the config's suites
	 * and cases (--suite, --filter-*, --limit, --shard), so it is never
	 * taken as a baseline or as evidence. A repeat that errored is not a
	 * pass: a case passes only when its passed repeats alone satisfy the
	 * policy over all its repeats; a case that does not and saw no failure
	 * is "error".
	 */
	"ALTER TABLE runs ADD COLUMN scope TEXT;"
	"ALTER TABLE runs ADD COLUMN partial INTEGER NOT NULL DEFAULT 0;"
	"DROP VIEW cases;"
	"CREATE VIEW cases AS SELECT r.run_id AS run_id, r.suite AS suite,"
	"  r.case_id AS case_id, max(r.case_hash) AS case_hash,"
	"  min(r.ordinal) AS ordinal, max(r.tags) AS tags, count(*) AS n,"
	"  sum(r.status = 'pass') AS n_pass, sum(r.status = 'fail') AS n_fail,"
	"  sum(r.status = 'error') AS n_error, total(r.latency_ms) AS latency_ms,"
	"  CASE WHEN CASE WHEN u.repeat_policy = 'majority'"
	"           THEN 2 * sum(r.status = 'pass') > count(*)"
	"         WHEN u.repeat_policy LIKE 'min_pass:%'"
	"           THEN sum(r.status = 'pass') >= CAST(substr(u.repeat_policy, 10) AS INTEGER)"
	"         ELSE sum(r.status = 'pass') = count(*) END"
	"    THEN 'pass' WHEN sum(r.status = 'fail') > 0 THEN 'fail' ELSE 'error' END AS status,"
	"  (sum(r.status = 'pass') > 0 AND sum(r.status = 'fail') > 0) AS flaky"
	"  FROM results r JOIN runs u ON u.id = r.run_id"
	"  GROUP BY r.run_id, r.suite, r.case_id;",
	/*
	 * 9: per-scorer weights (NULL: the default, 1) and the case threshold
	 * that decided pass from the weighted score (NULL: every scorer had to pass)
	 */
	"ALTER TABLE scores ADD COLUMN weight REAL;"
	"ALTER TABLE results ADD COLUMN threshold REAL;",
	/*
	 * 10 (recover): the process writing a run (history_run_begin and
	 * history_run_reopen set it): its pid, host name and since when. A
	 * running run whose owner on this host is gone crashed; a second
	 * writer of a run whose owner lives is refused.
	 */
	"ALTER TABLE runs ADD COLUMN owner_pid INTEGER;"
	"ALTER TABLE runs ADD COLUMN owner_host TEXT;"
	"ALTER TABLE runs ADD COLUMN owner_since TEXT;",
	/*
	 * 11 (calibrate): what `evalgate calibrate` measured of a judge against
	 * human labels, keyed by the judge key (SHA-256 of the judge model, its
	 * prompt templates' hash, the rubric and the params: the judge
	 * scorer's detail "judge_key"); run_id is the run that scored the
	 * labeled cases. The judge_kappa gate takes a key's newest row.
	 */
	"CREATE TABLE calibrations (judge_key TEXT NOT NULL, scorer TEXT NOT NULL,"
	"  kappa REAL, lo REAL, hi REAL, n INTEGER NOT NULL, created_at TEXT NOT NULL,"
	"  run_id TEXT NOT NULL);"
	"CREATE INDEX calibrations_key ON calibrations (judge_key, created_at);",
	/*
	 * 12 (calibrate: agreement and self-consistency): the share of labeled
	 * cases where the judge agreed with the human; with samples > 1 asks per
	 * case, how far the judge agreed with itself: the share of cases whose
	 * samples all agree, the mean pairwise agreement and Fleiss' kappa
	 * (NULL when samples is 1 or the value is undefined).
	 */
	"ALTER TABLE calibrations ADD COLUMN agreement REAL;"
	"ALTER TABLE calibrations ADD COLUMN samples INTEGER NOT NULL DEFAULT 1;"
	"ALTER TABLE calibrations ADD COLUMN self_all_agree REAL;"
	"ALTER TABLE calibrations ADD COLUMN self_pairwise REAL;"
	"ALTER TABLE calibrations ADD COLUMN self_fleiss REAL;",
	/*
	 * 13 (confirm): flip confirmation. A re-ask of a flipped case is a
	 * fresh sample (sample: its repeat index, at or past the run's repeats)
	 * kept apart from the results, so counts and reports stay those of
	 * the run; confirm_calls: the re-asks made (NULL: none was asked for).
	 */
	"CREATE TABLE confirmations (run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  suite TEXT NOT NULL, case_id TEXT NOT NULL, sample INTEGER NOT NULL,"
	"  status TEXT NOT NULL, PRIMARY KEY (run_id, suite, case_id, sample)) WITHOUT ROWID;"
	"ALTER TABLE runs ADD COLUMN confirm_calls INTEGER;",
	/*
	 * 14 (rate): the run's concurrency timeline (runner/ratelimit.h), one
	 * compact JSON object per run: per pool its limits, 429s, back-offs
	 * and samples [t, limit, in_flight, n429, requests]
	 */
	"CREATE TABLE run_timelines ("
	"  run_id TEXT PRIMARY KEY NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  timeline TEXT NOT NULL"
	") WITHOUT ROWID;",
	/*
	 * 15 (judge): the judge scorer results, for the judge keys a gate's
	 * calibration note and the report name (history_run_judge_keys): a
	 * run without judges no longer reads its every score to find none.
	 * Partial: the other scorers' rows cost the writer nothing.
	 */
	"CREATE INDEX scores_judge ON scores(run_id, suite, case_id) WHERE type = 'judge';",
};
#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

const char *result_status_name(enum result_status s)
{
	switch (s) {
	case RESULT_PASS:
		return "pass";
	case RESULT_FAIL:
		return "fail";
	case RESULT_ERROR:
		return "error";
	}
	return "unknown";
}

const char *run_status_name(enum run_status s)
{
	switch (s) {
	case RUN_RUNNING:
		return "running";
	case RUN_FINISHED:
		return "finished";
	case RUN_INTERRUPTED:
		return "interrupted";
	case RUN_FAILED:
		return "failed";
	case RUN_BUDGET_EXHAUSTED:
		return "budget_exhausted";
	}
	return "unknown";
}

/* this host's name, "" when unknown */
static void this_host(char *buf, size_t size)
{
	if (gethostname(buf, size))
		buf[0] = '\0';
	buf[size - 1] = '\0';
}

enum run_owner run_owner_state(const struct run_info *ri)
{
	char host[256];

	if (ri->owner_pid <= 0 || !ri->owner_host)
		return OWNER_NONE;
	this_host(host, sizeof(host));
	if (!*host || strcmp(host, ri->owner_host))
		return OWNER_UNKNOWN;
	if (kill((pid_t)ri->owner_pid, 0) == 0 || errno == EPERM)
		return OWNER_ALIVE;
	return OWNER_DEAD;
}

const char *run_state_name(const struct run_info *ri)
{
	if (ri->status == RUN_RUNNING && run_owner_state(ri) == OWNER_DEAD)
		return "crashed";
	return run_status_name(ri->status);
}

static enum result_status result_status_parse(const char *s)
{
	if (s && !strcmp(s, "pass"))
		return RESULT_PASS;
	if (s && !strcmp(s, "fail"))
		return RESULT_FAIL;
	return RESULT_ERROR;
}

static enum run_status run_status_parse(const char *s)
{
	if (s && !strcmp(s, "finished"))
		return RUN_FINISHED;
	if (s && !strcmp(s, "interrupted"))
		return RUN_INTERRUPTED;
	if (s && !strcmp(s, "failed"))
		return RUN_FAILED;
	if (s && !strcmp(s, "budget_exhausted"))
		return RUN_BUDGET_EXHAUSTED;
	return RUN_RUNNING;
}

/* --- case texts --- */

/*
 * A case's texts are stored once per content hash. Each result used to
 * insert them (INSERT OR IGNORE keyed by the 64-hex-digit hash): a B-tree
 * insert at a random place per result. Now a batch remembers the hashes it
 * wrote or found (texts_known) and skips them; its new ones wait for its
 * commit and go in sorted by hash, so consecutive inserts land on the same
 * pages, each only when the hash is not stored yet (a look-up): a re-run of
 * an unchanged suite inserts no rows. The set is emptied at each commit (and
 * outside batches past TEXTS_KNOWN_MAX hashes), so memory does not grow with
 * the run.
 */
static void text_row_free(struct text_row *t)
{
	free(t->hash);
	free(t->input);
	free(t->context);
	free(t->expected);
}

/* drop the batch's texts not yet written (and the hashes, which may not be stored) */
static void texts_forget(struct history *h)
{
	size_t i;

	for (i = 0; i < h->texts_nr; i++)
		text_row_free(&h->texts[i]);
	h->texts_nr = 0;
	hashmap_release(&h->texts_known);
}

static int text_row_cmp(const void *a, const void *b)
{
	return strcmp(((const struct text_row *)a)->hash, ((const struct text_row *)b)->hash);
}

static int insert_text(struct history *h, const char *hash, const char *input,
		       const char *context, const char *expected)
{
	int rc;

	/* a look-up first: INSERT ... WHERE NOT EXISTS copied its row through a temporary table */
	if (sqldb_prepare_cached(&h->db, "SELECT 1 FROM case_texts WHERE hash = ?", &h->sel_text) ||
	    sqldb_prepare_cached(&h->db, "INSERT OR IGNORE INTO case_texts "
				 "(hash, input, context, expected) VALUES (?,?,?,?)", &h->ins_text))
		return -1;
	sqldb_bind_text(h->sel_text, 1, hash);
	rc = sqlite3_step(h->sel_text);
	sqlite3_reset(h->sel_text);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return sqldb_error(&h->db, "cannot look up a case's texts");
	sqldb_bind_text(h->ins_text, 1, hash);
	sqldb_bind_text(h->ins_text, 2, input);
	sqldb_bind_text(h->ins_text, 3, context);
	sqldb_bind_text(h->ins_text, 4, expected);
	return sqldb_step_done(&h->db, h->ins_text, "cannot store a case's texts");
}

/* write the batch's texts in hash order */
static int texts_flush(struct history *h)
{
	size_t i;
	int ret = 0;

	if (!h->texts_nr)
		return 0;
	qsort(h->texts, h->texts_nr, sizeof(*h->texts), text_row_cmp);
	for (i = 0; i < h->texts_nr && !ret; i++)
		ret = insert_text(h, h->texts[i].hash, h->texts[i].input, h->texts[i].context,
				  h->texts[i].expected);
	if (ret) {
		texts_forget(h);
		return -1;
	}
	for (i = 0; i < h->texts_nr; i++)
		text_row_free(&h->texts[i]);
	h->texts_nr = 0;
	return 0;
}

#define TEXTS_KNOWN_MAX 4096

/* store r's texts unless this batch already did (or queue them for its commit) */
static int add_texts(struct history *h, const struct result_row *r)
{
	size_t len;
	int added;

	if (!r->case_hash || !(r->input || r->context || r->expected))
		return 0;
	len = strlen(r->case_hash);
	if (hashmap_get_str(&h->texts_known, r->case_hash, len))
		return 0;
	if (h->in_batch) {
		struct text_row *t;

		XGROW(h->texts, h->texts_nr + 1, h->texts_alloc);
		t = &h->texts[h->texts_nr++];
		t->hash = xstrdup(r->case_hash);
		t->input = r->input ? xstrdup(r->input) : NULL;
		t->context = r->context ? xstrdup(r->context) : NULL;
		t->expected = r->expected ? xstrdup(r->expected) : NULL;
	} else if (insert_text(h, r->case_hash, r->input, r->context, r->expected)) {
		return -1;
	} else if (h->texts_known.n >= TEXTS_KNOWN_MAX) {
		hashmap_release(&h->texts_known);
	}
	hashmap_put_str(&h->texts_known, r->case_hash, len, &added);
	return 0;
}

/* --- history --- */

/*
 * open path; a new file is history_image when fresh is not NULL, else (or
 * when it cannot be written so) fresh (version fresh_v) when it is not NULL
 */
static struct history *open_with(const char *path, const char *fresh, int fresh_v)
{
	struct history *h = xcalloc(1, sizeof(*h));

	if (fresh) {
		if (sqldb_make_parent_dirs(path)) {
			free(h);
			return NULL;
		}
		sqldb_create(path, history_image, history_image_size);
	}
	if (sqldb_open_fresh(&h->db, "history", path, migrations, N_MIGRATIONS, fresh, fresh_v)) {
		free(h);
		return NULL;
	}
	hashmap_init_str(&h->texts_known, 0);
	return h;
}

struct history *history_open(const char *path)
{
	return open_with(path, fresh_schema, FRESH_VERSION);
}

struct history *history_open_stepwise(const char *path)
{
	return open_with(path, NULL, 0);
}

struct history *history_open_ro(const char *path)
{
	struct history *h = xcalloc(1, sizeof(*h));

	if (sqldb_open_ro(&h->db, "history", path, N_MIGRATIONS)) {
		free(h);
		return NULL;
	}
	h->readonly = 1;
	hashmap_init_str(&h->texts_known, 0);
	return h;
}

void history_checkpoint_start(struct history *h)
{
	if (!h->readonly)
		sqldb_checkpoint_start(&h->db);
}

void history_close(struct history *h)
{
	if (!h)
		return;
	if (h->in_batch)
		history_batch_commit(h);
	sqlite3_finalize(h->ins_result);
	sqlite3_finalize(h->ins_score);
	sqlite3_finalize(h->sp_begin);
	sqlite3_finalize(h->sp_release);
	sqlite3_finalize(h->sp_undo);
	sqlite3_finalize(h->ins_text);
	sqlite3_finalize(h->sel_text);
	sqlite3_finalize(h->get_text);
	sqlite3_finalize(h->del_error);
	texts_forget(h);
	free(h->texts);
	hashmap_release(&h->texts_known);
	sqldb_close(&h->db);
	free(h);
}

int history_run_begin(struct history *h, const struct run_info *ri)
{
	sqlite3_stmt *st = NULL;
	char now[32], host[256];
	int ret = -1;

	if (!ri->id || !*ri->id)
		return error("history %s: a run needs an id", h->db.path);
	sqldb_now(now, sizeof(now));
	if (sqldb_prepare(&h->db, "INSERT INTO runs (id, started_at, finished_at, status, verdict, "
			  "git_sha, git_ref, config_hash, target, version, model, shard, "
			  "evalgate_version, repeats, repeat_policy, scope, partial, "
			  "owner_pid, owner_host, owner_since) "
			  "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", &st))
		return -1;
	this_host(host, sizeof(host));
	sqldb_bind_text(st, 1, ri->id);
	sqldb_bind_text(st, 2, ri->started_at ? ri->started_at : now);
	sqldb_bind_text(st, 3, ri->finished_at);
	sqldb_bind_text(st, 4, run_status_name(ri->status));
	sqldb_bind_text(st, 5, ri->verdict);
	sqldb_bind_text(st, 6, ri->git_sha);
	sqldb_bind_text(st, 7, ri->git_ref);
	sqldb_bind_text(st, 8, ri->config_hash);
	sqldb_bind_text(st, 9, ri->target);
	sqldb_bind_text(st, 10, ri->version);
	sqldb_bind_text(st, 11, ri->model);
	sqldb_bind_text(st, 12, ri->shard);
	sqldb_bind_text(st, 13, ri->evalgate_version);
	sqlite3_bind_int(st, 14, ri->repeats > 0 ? ri->repeats : 1);
	sqldb_bind_text(st, 15, ri->repeat_policy ? ri->repeat_policy : "all");
	sqldb_bind_text(st, 16, ri->scope);
	sqlite3_bind_int(st, 17, ri->partial != 0);
	/* a run stored as running is written by this process */
	if (ri->status == RUN_RUNNING) {
		sqlite3_bind_int64(st, 18, (sqlite3_int64)getpid());
		sqldb_bind_text(st, 19, host);
		sqldb_bind_text(st, 20, now);
	}
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqldb_error(&h->db, "cannot store the run");
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

int history_run_suite(struct history *h, const char *run_id, const char *name,
		      const char *version, const char *hash, const char *kind)
{
	sqlite3_stmt *st = NULL;
	int ret;

	if (sqldb_prepare(&h->db,
			  "INSERT OR REPLACE INTO run_suites (run_id, name, version, hash, kind) "
			  "VALUES (?,?,?,?,?)", &st))
		return -1;
	sqldb_bind_text(st, 1, run_id);
	sqldb_bind_text(st, 2, name);
	sqldb_bind_text(st, 3, version);
	sqldb_bind_text(st, 4, hash);
	sqldb_bind_text(st, 5, kind);
	ret = sqldb_step_done(&h->db, st, "cannot store the suite");
	sqlite3_finalize(st);
	return ret;
}

int history_batch_begin(struct history *h)
{
	if (h->in_batch)
		return error("history %s: a batch is already open", h->db.path);
	if (sqldb_exec(&h->db, "BEGIN IMMEDIATE"))
		return -1;
	h->in_batch = 1;
	return 0;
}

int history_batch_commit(struct history *h)
{
	if (!h->in_batch)
		return error("history %s: no batch to commit", h->db.path);
	h->in_batch = 0;
	if (texts_flush(h) || sqldb_exec(&h->db, "COMMIT")) {
		sqldb_rollback(&h->db);
		texts_forget(h);
		return -1;
	}
	hashmap_release(&h->texts_known);
	return 0;
}

int history_batch_rollback(struct history *h)
{
	if (!h->in_batch)
		return error("history %s: no batch to roll back", h->db.path);
	h->in_batch = 0;
	texts_forget(h);
	return sqldb_exec(&h->db, "ROLLBACK");
}

void history_replace_errors(struct history *h)
{
	h->replace_errors = 1;
}

/* *stored is set once the results row is in (its scores and texts may not be) */
static int insert_result(struct history *h, const char *run_id, const struct result_row *r,
			 int *stored)
{
	sqlite3_stmt *st = h->ins_result;
	size_t i;

	if (h->replace_errors) {
		/* its scores go with it (ON DELETE CASCADE) */
		st = h->del_error;
		sqldb_bind_text(st, 1, run_id);
		sqldb_bind_text(st, 2, r->suite);
		sqldb_bind_text(st, 3, r->case_id);
		sqlite3_bind_int(st, 4, r->repeat);
		if (sqldb_step_done(&h->db, st, "cannot remove the error result a retry replaces"))
			return -1;
		st = h->ins_result;
	}

	sqldb_bind_text(st, 1, run_id);
	sqldb_bind_text(st, 2, r->suite);
	sqldb_bind_text(st, 3, r->case_id);
	sqldb_bind_text(st, 4, r->case_hash);
	sqlite3_bind_int(st, 5, r->repeat);
	sqldb_bind_text(st, 6, result_status_name(r->status));
	if (r->output)
		sqlite3_bind_blob64(st, 7, r->output, r->output_len, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 7);
	sqldb_bind_real(st, 8, r->latency_ms);
	sqldb_bind_count(st, 9, r->prompt_tokens);
	sqldb_bind_count(st, 10, r->completion_tokens);
	sqldb_bind_real(st, 11, r->cost_usd);
	sqldb_bind_text(st, 12, r->finish_reason);
	sqldb_bind_text(st, 13, r->error);
	sqlite3_bind_int(st, 14, r->attempts);
	sqlite3_bind_int(st, 15, r->cached != 0);
	sqldb_bind_text(st, 16, r->tags);
	sqlite3_bind_int64(st, 17, r->ordinal);
	/* a zeroed row has no scorer calls: counts of 0 store nothing, like -1 */
	sqldb_bind_count(st, 18, r->judge_prompt_tokens > 0 ? r->judge_prompt_tokens : -1);
	sqldb_bind_count(st, 19, r->judge_completion_tokens > 0 ? r->judge_completion_tokens : -1);
	sqldb_bind_real(st, 20, r->judge_prompt_tokens > 0 || r->judge_completion_tokens > 0
			  ? r->judge_cost_usd : NAN);
	sqldb_bind_text(st, 21, r->target_reply);
	sqldb_bind_stream(st, 22, &r->stream);
	sqldb_bind_real(st, 27, r->has_threshold ? r->threshold : NAN);
	if (sqldb_step_done(&h->db, st, "cannot store a result"))
		return -1;
	*stored = 1;

	st = h->ins_score;
	for (i = 0; i < r->n_scores; i++) {
		const struct score_row *sc = &r->scores[i];

		sqldb_bind_text(st, 1, run_id);
		sqldb_bind_text(st, 2, r->suite);
		sqldb_bind_text(st, 3, r->case_id);
		sqlite3_bind_int(st, 4, r->repeat);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)i);
		sqldb_bind_text(st, 6, sc->scorer);
		sqldb_bind_text(st, 7, sc->type);
		sqldb_bind_real(st, 8, sc->score);
		sqlite3_bind_int(st, 9, sc->pass != 0);
		sqlite3_bind_int(st, 10, sc->error != 0);
		sqldb_bind_text(st, 11, sc->reason);
		sqldb_bind_text(st, 12, sc->detail);
		sqlite3_bind_int(st, 13, sc->calls);
		sqldb_bind_real(st, 14, sc->weight > 0 && sc->weight != 1 ? sc->weight : NAN);
		if (sqldb_step_done(&h->db, st, "cannot store a score"))
			return -1;
	}
	return add_texts(h, r);
}

/* remove a result stored in part (its scores go with it: ON DELETE CASCADE) */
static void undo_result(struct history *h, const char *run_id, const struct result_row *r)
{
	sqlite3_stmt *st = NULL;

	if (sqldb_prepare(&h->db, "DELETE FROM results WHERE run_id = ? AND suite = ? "
			  "AND case_id = ? AND repeat = ?", &st))
		return;
	sqldb_bind_text(st, 1, run_id);
	sqldb_bind_text(st, 2, r->suite);
	sqldb_bind_text(st, 3, r->case_id);
	sqlite3_bind_int(st, 4, r->repeat);
	sqldb_step_done(&h->db, st, "cannot remove a result stored in part");
	sqlite3_finalize(st);
}

double result_weighted_score(const struct result_row *r)
{
	double sum = 0, total = 0;
	size_t i;

	for (i = 0; i < r->n_scores; i++) {
		double w = r->scores[i].weight > 0 ? r->scores[i].weight : 1;
		sum += w * (isnan(r->scores[i].score) ? 0 : r->scores[i].score);
		total += w;
	}
	return total > 0 ? sum / total : 0;
}

int history_add_result(struct history *h, const char *run_id, const struct result_row *r)
{
	if (!r->suite || !r->case_id)
		return error("history %s: a result needs a suite and a case id", h->db.path);
	if (sqldb_prepare_cached(&h->db, "INSERT INTO results (run_id, suite, case_id, "
				 "case_hash, repeat, status, output, latency_ms, prompt_tokens, "
				 "completion_tokens, cost_usd, finish_reason, error, attempts, "
				 "cached, tags, ordinal, judge_prompt_tokens, "
				 "judge_completion_tokens, judge_cost_usd, target_reply, "
				 SQLDB_STREAM_COLS ", threshold) "
				 "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
				 &h->ins_result) ||
	    sqldb_prepare_cached(&h->db, "INSERT INTO scores (run_id, suite, case_id, repeat, "
				 "idx, scorer, type, score, pass, error, reason, detail, calls, weight) "
				 "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", &h->ins_score) ||
	    sqldb_prepare_cached(&h->db, "SAVEPOINT eg_result", &h->sp_begin) ||
	    sqldb_prepare_cached(&h->db, "RELEASE eg_result", &h->sp_release) ||
	    sqldb_prepare_cached(&h->db, "ROLLBACK TO eg_result", &h->sp_undo) ||
	    (h->replace_errors &&
	     sqldb_prepare_cached(&h->db, "DELETE FROM results WHERE run_id = ?1 AND suite = ?2 "
				  "AND case_id = ?3 AND repeat = ?4 AND status = 'error'",
				  &h->del_error)))
		return -1;

	/*
	 * A result and its scores go in together or not at all. Inside a
	 * batch, a result that failed half-way is deleted (its scores with it):
	 * a savepoint would do the same, but its statement journal copies every
	 * page the result touches, and past 64 KiB writes them to a temporary
	 * file, which was most of the cost of a run's writer. Outside a batch,
	 * and when the result replaces an errored one, a savepoint does it (it
	 * is the transaction, or it brings the replaced row back).
	 */
	if (h->in_batch && !h->replace_errors) {
		int stored = 0;

		if (!insert_result(h, run_id, r, &stored))
			return 0;
		if (stored)
			undo_result(h, run_id, r);
		return -1;
	}
	if (sqldb_step_done(&h->db, h->sp_begin, "cannot start a savepoint"))
		return -1;
	{
		int stored = 0;

		if (insert_result(h, run_id, r, &stored)) {
			sqlite3_step(h->sp_undo);
			sqlite3_reset(h->sp_undo);
			sqlite3_step(h->sp_release);
			sqlite3_reset(h->sp_release);
			return -1;
		}
	}
	if (sqldb_step_done(&h->db, h->sp_release, "cannot commit a result")) {
		texts_forget(h);
		return -1;
	}
	return 0;
}

int history_add_gate(struct history *h, const char *run_id, const struct gate_row *g)
{
	sqlite3_stmt *st = NULL;
	int ret;

	if (sqldb_prepare(&h->db, "INSERT INTO gates (run_id, idx, name, metric, scope, value, op, "
			  "threshold, pass, lo, hi, n, detail) VALUES (?1, "
			  "(SELECT coalesce(max(idx) + 1, 0) FROM gates WHERE run_id = ?1), "
			  "?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)", &st))
		return -1;
	sqldb_bind_text(st, 1, run_id);
	sqldb_bind_text(st, 2, g->name);
	sqldb_bind_text(st, 3, g->metric);
	sqldb_bind_text(st, 4, g->scope);
	sqldb_bind_real(st, 5, g->value);
	sqldb_bind_text(st, 6, g->op);
	sqldb_bind_real(st, 7, g->threshold);
	sqlite3_bind_int(st, 8, g->pass != 0);
	sqldb_bind_real(st, 9, g->lo);
	sqldb_bind_real(st, 10, g->hi);
	sqlite3_bind_int64(st, 11, g->n);
	sqldb_bind_text(st, 12, g->detail);
	ret = sqldb_step_done(&h->db, st, "cannot store a gate result");
	sqlite3_finalize(st);
	return ret;
}

/* run an UPDATE on runs whose ?1 is the run id; error when no such run */
static int update_run(struct history *h, sqlite3_stmt *st, const char *run_id, const char *what)
{
	if (sqldb_step_done(&h->db, st, what))
		return -1;
	if (sqlite3_changes(h->db.db) != 1)
		return error("history %s: no run %s", h->db.path, run_id);
	return 0;
}

int history_run_finish(struct history *h, const char *run_id, enum run_status stat,
		       const char *verdict)
{
	struct run_tally t;
	int ret;

	/* counted the way a run counts its end, and stored by the one UPDATE of the finish */
	if (history_run_tally(h, run_id, &t))
		return -1;
	ret = history_run_finish_tallied(h, run_id, stat, verdict, &t.cases);
	run_tally_release(&t);
	return ret;
}

int history_run_finish_tallied(struct history *h, const char *run_id, enum run_status stat,
			       const char *verdict, const struct counts *cases)
{
	sqlite3_stmt *st = NULL;
	char now[32];
	int ret;

	sqldb_now(now, sizeof(now));
	if (sqldb_prepare(&h->db, "UPDATE runs SET finished_at = ?2, status = ?3, "
			  "verdict = coalesce(?4, verdict), n_cases = ?5, n_pass = ?6, "
			  "n_fail = ?7, n_error = ?8 WHERE id = ?1", &st))
		return -1;
	sqldb_bind_text(st, 1, run_id);
	sqldb_bind_text(st, 2, now);
	sqldb_bind_text(st, 3, run_status_name(stat));
	sqldb_bind_text(st, 4, verdict);
	sqlite3_bind_int64(st, 5, cases->n);
	sqlite3_bind_int64(st, 6, cases->pass);
	sqlite3_bind_int64(st, 7, cases->fail);
	sqlite3_bind_int64(st, 8, cases->error);
	ret = update_run(h, st, run_id, "cannot finish the run");
	sqlite3_finalize(st);
	return ret;
}

int history_set_verdict(struct history *h, const char *run_id, const char *verdict)
{
	sqlite3_stmt *st = NULL;
	int ret;

	if (sqldb_prepare(&h->db, "UPDATE runs SET verdict = ?2 WHERE id = ?1", &st))
		return -1;
	sqldb_bind_text(st, 1, run_id);
	sqldb_bind_text(st, 2, verdict);
	ret = update_run(h, st, run_id, "cannot store the verdict");
	sqlite3_finalize(st);
	return ret;
}

/* --- reading runs --- */

#define RUN_COLS "id, started_at, finished_at, status, verdict, git_sha, git_ref, " \
	"config_hash, target, version, model, shard, evalgate_version, " \
	"n_cases, n_pass, n_fail, n_error, repeats, repeat_policy, scope, partial, " \
	"owner_pid, owner_host, owner_since"

static void run_info_from_row(sqlite3_stmt *st, struct run_info *ri)
{
	ri->id = sqldb_col_dup(st, 0);
	ri->started_at = sqldb_col_dup(st, 1);
	ri->finished_at = sqldb_col_dup(st, 2);
	ri->status = run_status_parse(sqldb_col_text(st, 3));
	ri->verdict = sqldb_col_dup(st, 4);
	ri->git_sha = sqldb_col_dup(st, 5);
	ri->git_ref = sqldb_col_dup(st, 6);
	ri->config_hash = sqldb_col_dup(st, 7);
	ri->target = sqldb_col_dup(st, 8);
	ri->version = sqldb_col_dup(st, 9);
	ri->model = sqldb_col_dup(st, 10);
	ri->shard = sqldb_col_dup(st, 11);
	ri->evalgate_version = sqldb_col_dup(st, 12);
	ri->n_cases = (long)sqlite3_column_int64(st, 13);
	ri->n_pass = (long)sqlite3_column_int64(st, 14);
	ri->n_fail = (long)sqlite3_column_int64(st, 15);
	ri->n_error = (long)sqlite3_column_int64(st, 16);
	ri->repeats = sqlite3_column_int(st, 17);
	ri->repeat_policy = sqldb_col_dup(st, 18);
	ri->scope = sqldb_col_dup(st, 19);
	ri->partial = sqlite3_column_int(st, 20);
	ri->owner_pid = (long)sqlite3_column_int64(st, 21);
	ri->owner_host = sqldb_col_dup(st, 22);
	ri->owner_since = sqldb_col_dup(st, 23);
}

void run_info_release(struct run_info *ri)
{
	free(ri->id);
	free(ri->started_at);
	free(ri->finished_at);
	free(ri->verdict);
	free(ri->git_sha);
	free(ri->git_ref);
	free(ri->config_hash);
	free(ri->target);
	free(ri->version);
	free(ri->model);
	free(ri->shard);
	free(ri->evalgate_version);
	free(ri->repeat_policy);
	free(ri->scope);
	free(ri->owner_host);
	free(ri->owner_since);
	memset(ri, 0, sizeof(*ri));
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void run_info_copy(struct run_info *dst, const struct run_info *src)
{
	*dst = *src;
	dst->id = dup_or_null(src->id);
	dst->started_at = dup_or_null(src->started_at);
	dst->finished_at = dup_or_null(src->finished_at);
	dst->verdict = dup_or_null(src->verdict);
	dst->git_sha = dup_or_null(src->git_sha);
	dst->git_ref = dup_or_null(src->git_ref);
	dst->config_hash = dup_or_null(src->config_hash);
	dst->target = dup_or_null(src->target);
	dst->version = dup_or_null(src->version);
	dst->model = dup_or_null(src->model);
	dst->shard = dup_or_null(src->shard);
	dst->evalgate_version = dup_or_null(src->evalgate_version);
	dst->repeat_policy = dup_or_null(src->repeat_policy);
	dst->scope = dup_or_null(src->scope);
	dst->owner_host = dup_or_null(src->owner_host);
	dst->owner_since = dup_or_null(src->owner_since);
}

/* --- finding runs --- */

int history_runs_begin(struct history *h, const struct run_filter *f, struct run_iter *it)
{
	const char *dir = f->newest_first ? "DESC" : "ASC";
	struct strbuf sql = STRBUF_INIT;
	sqlite3_stmt *st = NULL;
	int rc;

	memset(it, 0, sizeof(*it));
	it->h = h;
	strbuf_addf(&sql, "SELECT " RUN_COLS " FROM runs u WHERE (?1 IS NULL OR target = ?1) "
		    "AND (?2 IS NULL OR version = ?2) "
		    "AND (?3 IS NULL OR EXISTS (SELECT 1 FROM run_suites s "
		    "WHERE s.run_id = u.id AND s.name = ?3)) "
		    "AND (?4 IS NULL OR git_ref = ?4) AND (?5 IS NULL OR status = ?5) "
		    "AND (?6 IS NULL OR verdict = ?6) AND (?7 = 0 OR shard IS NOT NULL) "
		    "AND (?8 IS NULL OR (started_at, id) <= "
		    "(SELECT started_at, id FROM runs WHERE id = ?8)) "
		    "AND (?9 IS NULL OR id <> ?9) "
		    "AND (?11 = 0 OR (status = 'finished' AND partial = 0 AND "
		    "(verdict IS NULL OR verdict <> 'error'))) "
		    "ORDER BY started_at %s, id %s LIMIT ?10", dir, dir);
	rc = sqldb_prepare(&h->db, sql.buf, &st);
	strbuf_release(&sql);
	if (rc)
		return -1;
	sqldb_bind_text(st, 1, f->target);
	sqldb_bind_text(st, 2, f->version);
	sqldb_bind_text(st, 3, f->suite);
	sqldb_bind_text(st, 4, f->git_ref);
	sqldb_bind_text(st, 5, f->status);
	sqldb_bind_text(st, 6, f->verdict);
	sqlite3_bind_int(st, 7, f->sharded != 0);
	sqldb_bind_text(st, 8, f->until_id);
	sqldb_bind_text(st, 9, f->exclude_id);
	sqlite3_bind_int64(st, 10, f->limit ? (sqlite3_int64)f->limit : -1);
	sqlite3_bind_int(st, 11, f->complete != 0);
	it->st = st;
	return 0;
}

int history_runs_next(struct run_iter *it, const struct run_info **ri)
{
	int rc;

	*ri = NULL;
	run_info_release(&it->ri);
	if (!it->st)
		return 0;
	rc = sqlite3_step(it->st);
	if (rc != SQLITE_ROW) {
		/* stepping a finished statement again would start it over */
		if (rc != SQLITE_DONE)
			sqldb_error(&it->h->db, "cannot list runs");
		sqlite3_finalize(it->st);
		it->st = NULL;
		return rc == SQLITE_DONE ? 0 : -1;
	}
	run_info_from_row(it->st, &it->ri);
	*ri = &it->ri;
	return 1;
}

void history_runs_end(struct run_iter *it)
{
	run_info_release(&it->ri);
	sqlite3_finalize(it->st);
	it->st = NULL;
}

int history_run_first(struct history *h, const struct run_filter *f, struct run_info *out)
{
	struct run_filter one = *f;
	struct run_iter it;
	const struct run_info *ri;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	one.limit = 1;
	if (!history_runs_begin(h, &one, &it))
		rc = history_runs_next(&it, &ri);
	if (rc > 0)
		run_info_copy(out, ri);
	history_runs_end(&it);
	return rc < 0 ? -1 : rc > 0 ? 0 : 1;
}

/* a run by exact id or by the prefix of one id: 0, or 1 with why set */
static int run_by_id(struct history *h, const char *ref, struct run_info *out,
		     struct strbuf *why)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	/* an exact id wins over a prefix of longer ids */
	if (sqldb_prepare(&h->db, "SELECT " RUN_COLS " FROM runs WHERE id = ?1 "
			  "UNION ALL SELECT * FROM (SELECT " RUN_COLS " FROM runs "
			  "WHERE substr(id, 1, length(?1)) = ?1 AND id <> ?1 "
			  "AND NOT EXISTS (SELECT 1 FROM runs WHERE id = ?1) "
			  "ORDER BY id LIMIT 2)", &st))
		return -1;
	sqldb_bind_text(st, 1, ref);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		strbuf_addstr(why, "no such run in the history");
		ret = 1;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		sqldb_error(&h->db, "cannot read runs");
		goto out;
	}
	run_info_from_row(st, out);
	if (strcmp(out->id, ref)) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			strbuf_addf(why, "the run id prefix is ambiguous: it matches %s, %s and "
				    "maybe more", out->id, sqldb_col_text(st, 0));
			run_info_release(out);
			ret = 1;
			goto out;
		}
		if (rc != SQLITE_DONE) {
			sqldb_error(&h->db, "cannot read runs");
			run_info_release(out);
			goto out;
		}
	}
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

int history_run_resolve(struct history *h, const char *ref, struct run_info *out,
			struct strbuf *why)
{
	struct strbuf msg = STRBUF_INIT;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!*ref) {
		strbuf_addstr(&msg, "an empty run id");
		ret = 1;
	} else if (!strcmp(ref, "latest")) {
		struct run_filter f = { .newest_first = 1 };

		ret = history_run_first(h, &f, out);
		if (ret == 1)
			strbuf_addstr(&msg, "the history has no runs");
	} else {
		ret = run_by_id(h, ref, out, &msg);
	}
	if (ret == 1) {
		if (why)
			strbuf_addstr(why, msg.buf);
		else
			error("%s: run '%s': %s", h->db.path, ref, msg.buf);
	}
	strbuf_release(&msg);
	return ret;
}

int history_run_suites(struct history *h, const char *run_id,
		       int (*fn)(const struct run_suite *s, void *arg), void *arg)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	if (sqldb_prepare(&h->db, "SELECT s.name, s.version, s.hash, s.kind, "
			  "(SELECT count(*) FROM results r WHERE r.run_id = s.run_id "
			  "AND r.suite = s.name) FROM run_suites s WHERE s.run_id = ?1 "
			  "ORDER BY s.name", &st))
		return -1;
	sqldb_bind_text(st, 1, run_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct run_suite s;
		int stop;

		s.name = sqldb_col_dup(st, 0);
		s.version = sqldb_col_dup(st, 1);
		s.hash = sqldb_col_dup(st, 2);
		s.kind = sqldb_col_dup(st, 3);
		s.n_cases = (long)sqlite3_column_int64(st, 4);
		stop = fn(&s, arg);
		free(s.name);
		free(s.version);
		free(s.hash);
		free(s.kind);
		if (stop)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		sqldb_error(&h->db, "cannot list suites");
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

/* counts of the rows of table ("cases" or "results") by status */
static int count_rows(struct history *h, const char *table, const char *run_id,
		      const char *suite, const char *tag, const char *kind, struct counts *out)
{
	sqlite3_stmt *st = NULL;
	struct strbuf sql = STRBUF_INIT;
	int rc, ret = -1;

	memset(out, 0, sizeof(*out));
	strbuf_addf(&sql, "SELECT status, count(*), total(latency_ms) FROM %s "
			"WHERE run_id = ?1 AND (?2 IS NULL OR suite = ?2) AND (?3 IS NULL OR "
			"instr(',' || tags || ',', ',' || ?3 || ',') > 0) AND (?4 IS NULL OR "
			"suite IN (SELECT name FROM run_suites WHERE run_id = ?1 AND kind = ?4)) "
			"GROUP BY status", table);
	rc = sqldb_prepare(&h->db, sql.buf, &st);
	strbuf_release(&sql);
	if (rc)
		return -1;
	sqldb_bind_text(st, 1, run_id);
	sqldb_bind_text(st, 2, suite);
	sqldb_bind_text(st, 3, tag);
	sqldb_bind_text(st, 4, kind);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		long n = (long)sqlite3_column_int64(st, 1);

		switch (result_status_parse(sqldb_col_text(st, 0))) {
		case RESULT_PASS:
			out->pass += n;
			break;
		case RESULT_FAIL:
			out->fail += n;
			break;
		case RESULT_ERROR:
			out->error += n;
			break;
		}
		out->n += n;
		out->latency_ms += sqlite3_column_double(st, 2);
	}
	if (rc != SQLITE_DONE) {
		sqldb_error(&h->db, "cannot count results");
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

int history_counts(struct history *h, const char *run_id, const char *suite, const char *tag,
		   struct counts *out)
{
	return history_counts_kind(h, run_id, suite, tag, NULL, out);
}

/* whether suite is one of the n names */
static int name_in(char **names, size_t n, const char *suite)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(names[i], suite))
			return 1;
	return 0;
}

/* one case's verdict and latency into c */
static void counts_add_case(struct counts *c, const struct case_row *row)
{
	switch (row->status) {
	case RESULT_PASS:
		c->pass++;
		break;
	case RESULT_FAIL:
		c->fail++;
		break;
	case RESULT_ERROR:
		c->error++;
		break;
	}
	c->n++;
	c->latency_ms += row->latency_ms;
}

/* the cases' verdicts from the case iterator: one pass, without the view's cost */
int history_counts_kind(struct history *h, const char *run_id, const char *suite,
			const char *tag, const char *kind, struct counts *out)
{
	sqlite3_stmt *st = NULL;
	struct case_iter *it = NULL;
	struct case_row row;
	char **names = NULL;
	size_t n_names = 0, alloc = 0, i;
	int rc, ret = -1;

	memset(out, 0, sizeof(*out));
	if (kind) {
		/* the run's suites of that kind */
		if (sqldb_prepare(&h->db, "SELECT name FROM run_suites WHERE run_id = ?1 AND kind = ?2",
				  &st))
			return -1;
		sqldb_bind_text(st, 1, run_id);
		sqldb_bind_text(st, 2, kind);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			XGROW(names, n_names + 1, alloc);
			names[n_names++] = xstrdup(sqldb_col_text(st, 0) ? sqldb_col_text(st, 0) : "");
		}
		if (rc != SQLITE_DONE) {
			sqldb_error(&h->db, "cannot count results");
			goto out;
		}
	}
	it = history_cases_open(h, run_id, suite, tag);
	if (!it)
		goto out;
	while ((rc = history_cases_next(it, &row)) > 0) {
		if (kind && !name_in(names, n_names, row.suite))
			continue;
		counts_add_case(out, &row);
	}
	if (rc < 0)
		goto out;
	ret = 0;
out:
	history_cases_close(it);
	sqlite3_finalize(st);
	for (i = 0; i < n_names; i++)
		free(names[i]);
	free(names);
	return ret;
}

int history_result_counts(struct history *h, const char *run_id, const char *suite,
			  struct counts *out)
{
	return count_rows(h, "results", run_id, suite, NULL, NULL, out);
}


/* --- streaming results --- */

/* the storage behind one stored_result: every string it points to */
struct row_mem {
	char **ptrs;   /* allocations to free */
	size_t n, alloc;
};

static const char *row_dup(struct row_mem *m, const char *s, size_t len)
{
	char *p;

	if (!s)
		return NULL;
	p = xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	XGROW(m->ptrs, m->n + 1, m->alloc);
	m->ptrs[m->n++] = p;
	return p;
}

static const char *row_text(struct row_mem *m, sqlite3_stmt *st, int i)
{
	const char *s = sqldb_col_text(st, i);

	return s ? row_dup(m, s, (size_t)sqlite3_column_bytes(st, i)) : NULL;
}

static void row_mem_clear(struct row_mem *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		free(m->ptrs[i]);
	m->n = 0;
}

static int read_scores(struct history *h, sqlite3_stmt *st, struct row_mem *m,
		       struct score_row **arr, size_t *alloc, size_t *n)
{
	int rc;

	*n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct score_row *sc;

		XGROW(*arr, *n + 1, *alloc);
		sc = &(*arr)[(*n)++];
		sc->scorer = row_text(m, st, 0);
		sc->type = row_text(m, st, 1);
		sc->score = sqldb_col_real(st, 2);
		sc->pass = sqlite3_column_int(st, 3);
		sc->error = sqlite3_column_int(st, 4);
		sc->reason = row_text(m, st, 5);
		sc->detail = row_text(m, st, 6);
		sc->calls = sqlite3_column_int(st, 7);
		sc->weight = sqlite3_column_type(st, 8) == SQLITE_NULL ? 1 : sqldb_col_real(st, 8);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return sqldb_error(&h->db, "cannot read scores");
	return 0;
}

/* the results of a suite, of one case of it when case_id is not NULL, or only the failed and errored ones */
#define RESULTS_NOT_PASSED 1   /* only the failed and errored results */
#define RESULTS_NO_TEXTS 2     /* without the case's texts: no lookup by its random hash */

static int results_query(struct history *h, const char *run_id, const char *suite,
			 const char *case_id, unsigned flags,
			 int (*fn)(const struct stored_result *r, void *arg), void *arg)
{
	sqlite3_stmt *st = NULL, *sc = NULL;
	struct row_mem mem = { NULL, 0, 0 };
	struct score_row *scores = NULL;
	size_t scores_alloc = 0;
	int rc, ret = -1;

#define RESULTS_COLUMNS(texts, join)							\
	"SELECT r.suite, r.case_id, r.case_hash, r.repeat, r.status, r.output, "		\
	"r.latency_ms, r.prompt_tokens, r.completion_tokens, r.finish_reason, "		\
	"r.error, r.attempts, r.cached, r.tags, r.cost_usd, r.ordinal, "			\
	texts ", r.judge_prompt_tokens, "							\
	"r.judge_completion_tokens, r.judge_cost_usd, r.target_reply, "			\
	"r.ttft_ms, r.itl_ms, r.itl_p50_ms, r.itl_p95_ms, r.tokens_per_s, r.threshold "	\
	"FROM results r " join								\
	"WHERE r.run_id = ?1 AND r.suite = ?2 AND (?3 IS NULL OR r.case_id = ?3) "		\
	"AND (?4 = 0 OR r.status <> 'pass') "						\
	"ORDER BY r.ordinal, r.repeat, r.seq"
	/*
	 * the texts are keyed by the case's content hash: a random key, so at a
	 * million results their lookup is a page read from disk each, most of a
	 * JUnit report's time; readers that do not print them go without
	 */
	if (sqldb_prepare(&h->db, flags & RESULTS_NO_TEXTS
			  ? RESULTS_COLUMNS("NULL, NULL, NULL", "")
			  : RESULTS_COLUMNS("t.input, t.context, t.expected",
					    "LEFT JOIN case_texts t ON t.hash = r.case_hash "), &st))
		goto out;
#undef RESULTS_COLUMNS
	if (sqldb_prepare(&h->db,
			  "SELECT scorer, type, score, pass, error, reason, detail, calls, weight "
			  "FROM scores "
			  "WHERE run_id = ?1 AND suite = ?2 AND case_id = ?3 AND repeat = ?4 "
			  "ORDER BY idx", &sc))
		goto out;
	sqldb_bind_text(st, 1, run_id);
	sqldb_bind_text(st, 2, suite);
	sqldb_bind_text(st, 3, case_id);
	sqlite3_bind_int(st, 4, !!(flags & RESULTS_NOT_PASSED));
	sqldb_bind_text(sc, 1, run_id);
	sqldb_bind_text(sc, 2, suite);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct stored_result r;
		struct result_row *row = &r.row;
		int stop;

		memset(&r, 0, sizeof(r));
		row->suite = row_text(&mem, st, 0);
		row->case_id = row_text(&mem, st, 1);
		row->case_hash = row_text(&mem, st, 2);
		row->repeat = sqlite3_column_int(st, 3);
		row->status = result_status_parse(sqldb_col_text(st, 4));
		if (sqlite3_column_type(st, 5) != SQLITE_NULL) {
			const void *b = sqlite3_column_blob(st, 5);
			row->output_len = (size_t)sqlite3_column_bytes(st, 5);
			row->output = row_dup(&mem, b ? b : "", row->output_len);
		}
		row->latency_ms = sqldb_col_real(st, 6);
		row->prompt_tokens = sqldb_col_count(st, 7);
		row->completion_tokens = sqldb_col_count(st, 8);
		row->finish_reason = row_text(&mem, st, 9);
		row->error = row_text(&mem, st, 10);
		row->attempts = sqlite3_column_int(st, 11);
		row->cached = sqlite3_column_int(st, 12);
		row->tags = row_text(&mem, st, 13);
		row->cost_usd = sqldb_col_real(st, 14);
		row->ordinal = sqlite3_column_int64(st, 15);
		row->input = row_text(&mem, st, 16);
		row->context = row_text(&mem, st, 17);
		row->expected = row_text(&mem, st, 18);
		row->judge_prompt_tokens = sqldb_col_count(st, 19);
		row->judge_completion_tokens = sqldb_col_count(st, 20);
		row->judge_cost_usd = sqldb_col_real(st, 21);
		row->target_reply = row_text(&mem, st, 22);
		sqldb_col_stream(st, 23, &row->stream);
		row->has_threshold = sqlite3_column_type(st, 28) != SQLITE_NULL;
		row->threshold = row->has_threshold ? sqldb_col_real(st, 28) : 0;

		sqlite3_bind_text(sc, 3, row->case_id, -1, SQLITE_STATIC);
		sqlite3_bind_int(sc, 4, row->repeat);
		if (read_scores(h, sc, &mem, &scores, &scores_alloc, &r.n_scores)) {
			row_mem_clear(&mem);
			goto out;
		}
		r.scores = scores;
		row->scores = scores;
		row->n_scores = r.n_scores;
		r.priv = &mem;
		stop = fn(&r, arg);
		row_mem_clear(&mem);
		if (stop)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		sqldb_error(&h->db, "cannot read results");
		goto out;
	}
	ret = 0;
out:
	free(mem.ptrs);
	free(scores);
	sqlite3_finalize(sc);
	sqlite3_finalize(st);
	return ret;
}

int history_results(struct history *h, const char *run_id, const char *suite,
		    int (*fn)(const struct stored_result *r, void *arg), void *arg)
{
	return results_query(h, run_id, suite, NULL, 0, fn, arg);
}

int history_results_without_texts(struct history *h, const char *run_id, const char *suite,
				  int (*fn)(const struct stored_result *r, void *arg), void *arg)
{
	return results_query(h, run_id, suite, NULL, RESULTS_NO_TEXTS, fn, arg);
}

int history_case_texts(struct history *h, const char *hash, struct result_row *row,
		       struct strbuf *mem)
{
	sqlite3_stmt *st;
	size_t at[3];
	int have[3], i, rc;

	if (!hash)
		return 1;
	if (sqldb_prepare_cached(&h->db, "SELECT input, context, expected FROM case_texts "
				 "WHERE hash = ?", &h->get_text))
		return -1;
	st = h->get_text;
	sqldb_bind_text(st, 1, hash);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? 1 : sqldb_error(&h->db, "cannot read a case's texts");
	}
	/* copied one after the other, then pointed at: the buffer may move while it grows */
	strbuf_reset(mem);
	for (i = 0; i < 3; i++) {
		have[i] = sqlite3_column_type(st, i) != SQLITE_NULL;
		at[i] = mem->len;
		if (have[i]) {
			const unsigned char *t = sqlite3_column_text(st, i);

			strbuf_add(mem, t, (size_t)sqlite3_column_bytes(st, i));
		}
		strbuf_addch(mem, '\0');
	}
	sqlite3_reset(st);
	row->input = have[0] ? mem->buf + at[0] : NULL;
	row->context = have[1] ? mem->buf + at[1] : NULL;
	row->expected = have[2] ? mem->buf + at[2] : NULL;
	return 0;
}

int history_gates(struct history *h, const char *run_id,
		  int (*fn)(const struct gate_row *g, void *arg), void *arg)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	if (sqldb_prepare(&h->db,
			  "SELECT name, metric, scope, value, op, threshold, pass, lo, hi, n, "
			  "detail "
			  "FROM gates WHERE run_id = ?1 ORDER BY idx", &st))
		return -1;
	sqldb_bind_text(st, 1, run_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct gate_row g;

		/* the strings live in the statement's row until the next step */
		g.name = sqldb_col_text(st, 0);
		g.metric = sqldb_col_text(st, 1);
		g.scope = sqldb_col_text(st, 2);
		g.value = sqldb_col_real(st, 3);
		g.op = sqldb_col_text(st, 4);
		g.threshold = sqldb_col_real(st, 5);
		g.pass = sqlite3_column_int(st, 6);
		g.lo = sqldb_col_real(st, 7);
		g.hi = sqldb_col_real(st, 8);
		g.n = (long)sqlite3_column_int64(st, 9);
		g.detail = sqldb_col_text(st, 10);
		if (fn(&g, arg))
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		sqldb_error(&h->db, "cannot read gate results");
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

/* a count and a total over a run in a scope (sql binds run_id, suite, tag as ?1 ?2 ?3);
 * what is the error message */
static int count_in_scope(struct history *h, const char *sql, const char *what,
			  const char *run_id, const char *suite, const char *tag, long *n,
			  long *k)
{
	sqlite3_stmt *st = NULL;
	int ret = -1;

	*n = *k = 0;
	if (sqldb_prepare(&h->db, sql, &st))
		return -1;
	sqldb_bind_text(st, 1, run_id);
	sqldb_bind_text(st, 2, suite);
	sqldb_bind_text(st, 3, tag);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqldb_error(&h->db, what);
		goto out;
	}
	*n = (long)sqlite3_column_int64(st, 0);
	*k = (long)sqlite3_column_double(st, 1);
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

int history_model_score_counts(struct history *h, const char *run_id, const char *suite,
			       const char *tag, long *n, long *errors)
{
	return count_in_scope(h, "SELECT count(*), total(s.error) FROM scores s JOIN results r "
			      "ON r.run_id = s.run_id AND r.suite = s.suite AND "
			      "r.case_id = s.case_id AND r.repeat = s.repeat WHERE "
			      "s.run_id = ?1 AND s.calls > 0 AND (?2 IS NULL OR s.suite = ?2) "
			      "AND (?3 IS NULL OR instr(',' || r.tags || ',', ',' || ?3 || ',') > 0)",
			      "cannot count model-graded scores", run_id, suite, tag, n, errors);
}

int history_scorer_error_counts(struct history *h, const char *run_id, const char *suite,
				const char *tag, long *n, long *errors)
{
	return count_in_scope(h, "SELECT count(*), total(status = 'error' AND error IS NULL) "
			      "FROM results WHERE run_id = ?1 AND (?2 IS NULL OR suite = ?2) AND "
			      "(?3 IS NULL OR instr(',' || tags || ',', ',' || ?3 || ',') > 0)",
			      "cannot count scorer errors", run_id, suite, tag, n, errors);
}

int history_tool_call_counts(struct history *h, const char *run_id, const char *suite,
			     const char *tag, long *n, long *errors)
{
	sqlite3_stmt *st = NULL;
	int ret = -1;

	*n = *errors = 0;
	if (sqldb_prepare(&h->db, "SELECT count(*), total(json_extract(c.value, '$.error') IS NOT "
			  "NULL OR coalesce(json_extract(c.value, '$.undeclared'), 0) OR "
			  "json_extract(c.value, '$.result_error') IS NOT NULL) FROM results r, "
			  "json_each(r.target_reply, '$.trajectory') s, "
			  "json_each(s.value, '$.tool_calls') c WHERE r.run_id = ?1 AND "
			  "json_valid(r.target_reply) AND (?2 IS NULL OR r.suite = ?2) AND "
			  "(?3 IS NULL OR instr(',' || r.tags || ',', ',' || ?3 || ',') > 0)", &st))
		return -1;
	sqldb_bind_text(st, 1, run_id);
	sqldb_bind_text(st, 2, suite);
	sqldb_bind_text(st, 3, tag);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqldb_error(&h->db, "cannot count tool calls");
		goto out;
	}
	*n = (long)sqlite3_column_int64(st, 0);
	*errors = (long)sqlite3_column_double(st, 1);
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

int history_values(struct history *h, const char *run_id, const char *suite, const char *tag,
		   enum history_values what, const char *scorer, struct value_set *out)
{
	static const char *const cols[] = {
		[VALUES_SCORE] = "s.score, s.error",
		[VALUES_LATENCY_MS] = "CASE WHEN r.status <> 'error' AND r.cached = 0 AND "
				      "r.attempts > 0 THEN r.latency_ms END, 0",
		[VALUES_TOKENS] = "r.prompt_tokens + r.completion_tokens, 0",
		/* the target call's price and the scorers' calls' */
		[VALUES_COST_USD] = "CASE WHEN r.cost_usd IS NULL AND r.judge_cost_usd IS NULL "
				    "THEN NULL ELSE coalesce(r.cost_usd, 0) + "
				    "coalesce(r.judge_cost_usd, 0) END, 0",
		[VALUES_TTFT_MS] = "CASE WHEN r.status <> 'error' THEN r.ttft_ms END, 0",
		[VALUES_ITL_MS] = "CASE WHEN r.status <> 'error' THEN r.itl_ms END, 0",
		[VALUES_LATENCY_MS_STORED] = "CASE WHEN r.status <> 'error' AND ((r.cached = 0 AND "
					     "r.attempts > 0) OR (r.cached = 1 AND "
					     "r.latency_ms > 0)) THEN r.latency_ms END, 0",
		[VALUES_STEPS] = "CASE WHEN r.output IS NULL THEN NULL WHEN json_valid(r.target_reply) "
				 "THEN coalesce(json_array_length(r.target_reply, '$.trajectory'), 1) "
				 "ELSE 1 END, 0",
	};
	struct strbuf sql = STRBUF_INIT;
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	memset(out, 0, sizeof(*out));
	strbuf_addf(&sql, "SELECT %s FROM results r ", cols[what]);
	if (what == VALUES_SCORE)
		strbuf_addstr(&sql, "JOIN scores s ON s.run_id = r.run_id AND s.suite = r.suite "
				    "AND s.case_id = r.case_id AND s.repeat = r.repeat AND "
				    "s.scorer = ?4 ");
	strbuf_addstr(&sql, "WHERE r.run_id = ?1 AND (?2 IS NULL OR r.suite = ?2) AND "
			    "(?3 IS NULL OR instr(',' || r.tags || ',', ',' || ?3 || ',') > 0) "
			    "ORDER BY r.seq");
	if (what == VALUES_SCORE)
		strbuf_addstr(&sql, ", s.idx");
	rc = sqldb_prepare(&h->db, sql.buf, &st);
	strbuf_release(&sql);
	if (rc)
		return -1;
	sqldb_bind_text(st, 1, run_id);
	sqldb_bind_text(st, 2, suite);
	sqldb_bind_text(st, 3, tag);
	if (what == VALUES_SCORE)
		sqldb_bind_text(st, 4, scorer);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		double v = sqldb_col_real(st, 0);

		if (sqlite3_column_int(st, 1)) {
			out->n_error++;
		} else if (isnan(v)) {
			out->n_unknown++;
		} else {
			XGROW(out->v, out->n + 1, out->alloc);
			out->v[out->n++] = v;
		}
	}
	if (rc != SQLITE_DONE) {
		sqldb_error(&h->db, "cannot read values for a gate");
		value_set_release(out);
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

void value_set_release(struct value_set *vs)
{
	free(vs->v);
	memset(vs, 0, sizeof(*vs));
}

int history_gates_clear(struct history *h, const char *run_id)
{
	sqlite3_stmt *st = NULL;
	int ret;

	if (sqldb_prepare(&h->db, "DELETE FROM gates WHERE run_id = ?1", &st))
		return -1;
	sqldb_bind_text(st, 1, run_id);
	ret = sqldb_step_done(&h->db, st, "cannot delete gate results");
	sqlite3_finalize(st);
	return ret;
}

/* --- repeats and resuming --- */

/* rows of the view "cases" of a run matching where_sql, in report order */
static long list_cases(struct history *h, const char *run_id, const char *where_sql,
		       int (*fn)(const struct case_verdict *c, void *arg), void *arg)
{
	sqlite3_stmt *st = NULL;
	struct strbuf sql = STRBUF_INIT;
	long n = 0;
	int rc;

	strbuf_addf(&sql, "SELECT suite, case_id, n, n_pass, n_fail, n_error, status, flaky "
			"FROM cases WHERE run_id = ?1 AND (%s) ORDER BY suite, ordinal, case_id",
		    where_sql);
	rc = sqldb_prepare(&h->db, sql.buf, &st);
	strbuf_release(&sql);
	if (rc)
		return -1;
	sqldb_bind_text(st, 1, run_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct case_verdict c;

		c.suite = sqldb_col_text(st, 0);
		c.case_id = sqldb_col_text(st, 1);
		c.n = (long)sqlite3_column_int64(st, 2);
		c.n_pass = (long)sqlite3_column_int64(st, 3);
		c.n_fail = (long)sqlite3_column_int64(st, 4);
		c.n_error = (long)sqlite3_column_int64(st, 5);
		c.status = result_status_parse(sqldb_col_text(st, 6));
		c.flaky = sqlite3_column_int(st, 7) != 0;
		if (!c.suite || !c.case_id)
			continue;
		n++;
		if (fn && fn(&c, arg))
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		sqldb_error(&h->db, "cannot read the cases of a run");
		n = -1;
	}
	sqlite3_finalize(st);
	return n;
}

long history_flaky_cases(struct history *h, const char *run_id,
			 int (*fn)(const struct case_verdict *c, void *arg), void *arg)
{
	return list_cases(h, run_id, "flaky", fn, arg);
}

long history_failed_cases(struct history *h, const char *run_id,
			  int (*fn)(const struct case_verdict *c, void *arg), void *arg)
{
	return list_cases(h, run_id, "status <> 'pass'", fn, arg);
}

int history_case_repeats(struct history *h, const char *run_id, const char *suite,
			 const char *case_id, int skip_errors, unsigned char *seen, int n)
{
	sqlite3_stmt *st = NULL;
	int rc, count = 0;

	if (sqldb_prepare(&h->db, "SELECT repeat FROM results WHERE run_id = ?1 AND suite = ?2 "
			  "AND case_id = ?3 AND (?4 = 0 OR status <> 'error')", &st))
		return -1;
	sqldb_bind_text(st, 1, run_id);
	sqldb_bind_text(st, 2, suite);
	sqldb_bind_text(st, 3, case_id);
	sqlite3_bind_int(st, 4, skip_errors != 0);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sqlite3_int64 r = sqlite3_column_int64(st, 0);

		if (r >= 0 && r < n && !seen[r]) {
			seen[r] = 1;
			count++;
		}
	}
	if (rc != SQLITE_DONE) {
		sqldb_error(&h->db, "cannot read the stored results of a case");
		count = -1;
	}
	sqlite3_finalize(st);
	return count;
}

/* refuse to take up a run another live process is writing; -1 after reporting */
static int check_owner(struct history *h, const char *run_id)
{
	struct run_info ri;
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	memset(&ri, 0, sizeof(ri));
	if (sqldb_prepare(&h->db, "SELECT " RUN_COLS " FROM runs WHERE id = ?1", &st))
		return -1;
	sqldb_bind_text(st, 1, run_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		error("history %s: no run %s", h->db.path, run_id);
		goto out;
	}
	if (rc != SQLITE_ROW) {
		sqldb_error(&h->db, "cannot read the run");
		goto out;
	}
	run_info_from_row(st, &ri);
	if (ri.status == RUN_RUNNING && ri.owner_pid != (long)getpid() &&
	    run_owner_state(&ri) == OWNER_ALIVE) {
		error("run %s is being written by pid %ld on %s (since %s): wait for it to end or "
		      "stop it before resuming", run_id, ri.owner_pid, ri.owner_host,
		      ri.owner_since ? ri.owner_since : "?");
		goto out;
	}
	ret = 0;
out:
	run_info_release(&ri);
	sqlite3_finalize(st);
	return ret;
}

int history_run_reopen(struct history *h, const char *run_id)
{
	sqlite3_stmt *st = NULL;
	char now[32], host[256];
	int ret = -1;

	/* the owner is read and replaced in one write transaction: one writer wins */
	if (sqldb_exec(&h->db, "BEGIN IMMEDIATE"))
		return -1;
	if (check_owner(h, run_id))
		goto out_rollback;
	sqldb_now(now, sizeof(now));
	this_host(host, sizeof(host));
	if (sqldb_prepare(&h->db,
			  "UPDATE runs SET status = 'running', finished_at = NULL, verdict = NULL, "
			  "owner_pid = ?2, owner_host = ?3, owner_since = ?4, "
			  /* the scope says the run was resumed; its cases, hence partial, stay */
			  "scope = CASE WHEN json_valid(scope) "
			  "  THEN json_set(scope, '$.resumed', json('true')) ELSE scope END "
			  "WHERE id = ?1", &st))
		goto out_rollback;
	sqldb_bind_text(st, 1, run_id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)getpid());
	sqldb_bind_text(st, 3, host);
	sqldb_bind_text(st, 4, now);
	if (update_run(h, st, run_id, "cannot reopen the run"))
		goto out_rollback;
	sqlite3_finalize(st);
	st = NULL;
	if (sqldb_prepare(&h->db, "DELETE FROM gates WHERE run_id = ?1", &st))
		goto out_rollback;
	sqldb_bind_text(st, 1, run_id);
	if (sqldb_step_done(&h->db, st, "cannot clear the gate results"))
		goto out_rollback;
	if (sqldb_exec(&h->db, "COMMIT"))
		goto out_rollback;
	ret = 0;
	goto out;
out_rollback:
	sqldb_rollback(&h->db);
out:
	sqlite3_finalize(st);
	return ret;
}

/* --- comparisons: cases in key order, samples, score means --- */

/*
 * The iterator reads the run's results in the order of the unique index
 * (run_id, suite, case_id, repeat) and makes each case's verdict over its
 * repeats itself, one case at a time: the same verdict as the view "cases"
 * (keep the two in step), at a fraction of the view's cost on a large run
 * (the view evaluates a dozen aggregates per case and sorts its output).
 */
struct case_iter {
	struct history *h;        /* borrowed */
	sqlite3_stmt *st;         /* the running query over the run's results */
	int have_row;             /* st holds a row not yet taken into a case */
	int done;                 /* st is finished */
	char *tag;                /* only cases with this tag, or NULL */
	char policy[32];          /* the run's repeat_policy, "" when the run is not stored */
	struct strbuf suite, case_id, hash, tags; /* the case returned last */
	struct strbuf hay, needle; /* for the tag filter */
	int has_hash, has_tags;   /* hash and tags are not NULL */
};

/* a's text when it sorts after max (or max is NULL): SQLite's max() over BINARY text */
static void keep_max(struct strbuf *max, int *has, const char *a)
{
	if (a && (!*has || strcmp(a, max->buf) > 0)) {
		strbuf_reset(max);
		strbuf_addstr(max, a);
		*has = 1;
	}
}

/* the verdict of the view "cases" from a case's counts under the run's policy */
static enum result_status case_verdict_of(const char *policy, long n, long n_pass, long n_fail)
{
	int pass;

	if (!strcmp(policy, "majority"))
		pass = 2 * n_pass > n;
	else if (!strncasecmp(policy, "min_pass:", 9))
		pass = n_pass >= strtol(policy + 9, NULL, 10);
	else
		pass = n_pass == n;
	return pass ? RESULT_PASS : n_fail > 0 ? RESULT_FAIL : RESULT_ERROR;
}

/* the view's tag filter: instr(',' || tags || ',', ',' || tag || ',') > 0 */
static int tags_hold(struct strbuf *hay, struct strbuf *needle, const char *tags, const char *tag)
{
	if (!tags)
		return 0;
	strbuf_reset(hay);
	strbuf_addf(hay, ",%s,", tags);
	strbuf_reset(needle);
	strbuf_addf(needle, ",%s,", tag);
	return strstr(hay->buf, needle->buf) != NULL;
}

struct case_iter *history_cases_open(struct history *h, const char *run_id, const char *suite,
				     const char *tag)
{
	struct case_iter *it;
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqldb_prepare(&h->db, "SELECT repeat_policy FROM runs WHERE id = ?1", &st))
		return NULL;
	sqldb_bind_text(st, 1, run_id);
	it = xcalloc(1, sizeof(*it));
	it->h = h;
	strbuf_init(&it->suite, 0);
	strbuf_init(&it->case_id, 0);
	strbuf_init(&it->hash, 0);
	strbuf_init(&it->tags, 0);
	strbuf_init(&it->hay, 0);
	strbuf_init(&it->needle, 0);
	it->tag = tag ? xstrdup(tag) : NULL;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(it->policy, sizeof(it->policy), "%s",
			 sqldb_col_text(st, 0) ? sqldb_col_text(st, 0) : "");
	else
		it->done = 1; /* no such run: no cases (the view joins runs) */
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		sqldb_error(&h->db, "cannot read the run's repeat policy");
		history_cases_close(it);
		return NULL;
	}
	if (sqldb_prepare(&h->db,
			  "SELECT suite, case_id, case_hash, status, tags, latency_ms FROM results "
			  "WHERE run_id = ?1 AND (?2 IS NULL OR suite = ?2) "
			  "ORDER BY suite, case_id, repeat", &it->st)) {
		history_cases_close(it);
		return NULL;
	}
	sqldb_bind_text(it->st, 1, run_id);
	sqldb_bind_text(it->st, 2, suite);
	return it;
}

/* the next row of the query into it->st: 1, 0 at the end, -1 on error */
static int cases_step(struct case_iter *it)
{
	int rc;

	if (it->have_row)
		return 1;
	if (it->done)
		return 0;
	rc = sqlite3_step(it->st);
	if (rc == SQLITE_ROW)
		return it->have_row = 1;
	it->done = 1;
	if (rc != SQLITE_DONE)
		return sqldb_error(&it->h->db, "cannot read cases");
	return 0;
}

int history_cases_next(struct case_iter *it, struct case_row *out)
{
	for (;;) {
		long n = 0, n_pass = 0, n_fail = 0;
		double latency = 0;
		int rc;

		if ((rc = cases_step(it)) <= 0)
			return rc;
		strbuf_reset(&it->suite);
		strbuf_addstr(&it->suite, sqldb_col_text(it->st, 0) ? sqldb_col_text(it->st, 0) : "");
		strbuf_reset(&it->case_id);
		strbuf_addstr(&it->case_id, sqldb_col_text(it->st, 1) ? sqldb_col_text(it->st, 1) : "");
		it->has_hash = it->has_tags = 0;
		/* the repeats of this case: the rows with its (suite, case_id) */
		do {
			const char *status = sqldb_col_text(it->st, 3);

			keep_max(&it->hash, &it->has_hash, sqldb_col_text(it->st, 2));
			keep_max(&it->tags, &it->has_tags, sqldb_col_text(it->st, 4));
			n++;
			n_pass += status && !strcmp(status, "pass");
			n_fail += status && !strcmp(status, "fail");
			if (sqlite3_column_type(it->st, 5) != SQLITE_NULL)
				latency += sqlite3_column_double(it->st, 5);
			it->have_row = 0;
			if ((rc = cases_step(it)) < 0)
				return -1;
		} while (rc && !strcmp(sqldb_col_text(it->st, 0) ? sqldb_col_text(it->st, 0) : "",
				       it->suite.buf) &&
			 !strcmp(sqldb_col_text(it->st, 1) ? sqldb_col_text(it->st, 1) : "",
				 it->case_id.buf));
		if (it->tag && !tags_hold(&it->hay, &it->needle, it->has_tags ? it->tags.buf : NULL, it->tag))
			continue;
		out->suite = it->suite.buf;
		out->case_id = it->case_id.buf;
		out->case_hash = it->has_hash ? it->hash.buf : NULL;
		out->tags = it->has_tags ? it->tags.buf : NULL;
		out->status = case_verdict_of(it->policy, n, n_pass, n_fail);
		out->flaky = n_pass > 0 && n_fail > 0;
		out->n = n;
		out->n_pass = n_pass;
		out->n_fail = n_fail;
		out->latency_ms = latency;
		return 1;
	}
}

void history_cases_close(struct case_iter *it)
{
	if (!it)
		return;
	sqlite3_finalize(it->st);
	strbuf_release(&it->suite);
	strbuf_release(&it->case_id);
	strbuf_release(&it->hash);
	strbuf_release(&it->tags);
	strbuf_release(&it->hay);
	strbuf_release(&it->needle);
	free(it->tag);
	free(it);
}

/* --- comparisons: the first repeats' replies in key order --- */

struct reply_iter {
	struct history *h;        /* borrowed */
	sqlite3_stmt *st;         /* the run's first repeats with a reply, in key order */
	sqlite3_stmt *has;        /* is a case's first repeat stored; prepared on first use */
	char *run_id, *suite;     /* bound to the statements (suite may be NULL) */
	int done;                 /* st is finished: a step more would start it again */
};

struct reply_iter *history_replies_open(struct history *h, const char *run_id, const char *suite)
{
	struct reply_iter *it = xcalloc(1, sizeof(*it));

	it->h = h;
	it->run_id = xstrdup(run_id);
	it->suite = suite ? xstrdup(suite) : NULL;
	/*
	 * the unique index (run_id, suite, case_id, repeat) gives the order;
	 * the rows without a reply are passed over in SQLite, never handed out
	 */
	if (sqldb_prepare(&h->db,
			  "SELECT suite, case_id, target_reply FROM results "
			  "WHERE run_id = ?1 AND (?2 IS NULL OR suite = ?2) AND repeat = 0 "
			  "AND target_reply IS NOT NULL ORDER BY suite, case_id", &it->st)) {
		history_replies_close(it);
		return NULL;
	}
	sqldb_bind_text(it->st, 1, it->run_id);
	sqldb_bind_text(it->st, 2, it->suite);
	return it;
}

int history_replies_next(struct reply_iter *it, struct reply_row *out)
{
	int rc;

	if (it->done)
		return 0;
	rc = sqlite3_step(it->st);
	if (rc != SQLITE_ROW) {
		it->done = 1;
		if (rc != SQLITE_DONE)
			return sqldb_error(&it->h->db, "cannot read the results' replies");
		return 0;
	}
	out->suite = sqldb_col_text(it->st, 0) ? sqldb_col_text(it->st, 0) : "";
	out->case_id = sqldb_col_text(it->st, 1) ? sqldb_col_text(it->st, 1) : "";
	out->target_reply = sqldb_col_text(it->st, 2) ? sqldb_col_text(it->st, 2) : "";
	return 1;
}

int history_replies_has_case(struct reply_iter *it, const char *suite, const char *case_id)
{
	int rc;

	if (!it->has) {
		if (sqldb_prepare(&it->h->db,
				  "SELECT 1 FROM results WHERE run_id = ?1 AND suite = ?2 "
				  "AND case_id = ?3 AND repeat = 0", &it->has))
			return -1;
		sqldb_bind_text(it->has, 1, it->run_id);
	}
	sqldb_bind_text(it->has, 2, suite);
	sqldb_bind_text(it->has, 3, case_id);
	rc = sqlite3_step(it->has);
	sqlite3_reset(it->has);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sqldb_error(&it->h->db, "cannot look a result up");
	return rc == SQLITE_ROW;
}

void history_replies_close(struct reply_iter *it)
{
	if (!it)
		return;
	sqlite3_finalize(it->st);
	sqlite3_finalize(it->has);
	free(it->run_id);
	free(it->suite);
	free(it);
}

/* --- the run's tally --- */

/* where the tally's suite of this name is (*found) or would go in name order */
static size_t tally_find(const struct run_tally *t, const char *name, int *found)
{
	size_t lo = 0, hi = t->n_suites;

	*found = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, t->suites[mid].name);

		if (!c) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* the tally's suite of this name, added (zeroed) when it is not there */
static struct tally_suite *tally_suite_get(struct run_tally *t, const char *name)
{
	int found;
	size_t lo = tally_find(t, name, &found);

	if (found)
		return &t->suites[lo];
	XGROW(t->suites, t->n_suites + 1, t->alloc_suites);
	memmove(&t->suites[lo + 1], &t->suites[lo], (t->n_suites - lo) * sizeof(*t->suites));
	memset(&t->suites[lo], 0, sizeof(t->suites[lo]));
	t->suites[lo].name = xstrdup(name);
	t->n_suites++;
	return &t->suites[lo];
}

/* one result (count_rows) or one case's verdict (history_counts) into c */
static void count_one(struct counts *c, enum result_status s, double latency_ms)
{
	c->pass += s == RESULT_PASS;
	c->fail += s == RESULT_FAIL;
	c->error += s == RESULT_ERROR;
	c->n++;
	c->latency_ms += latency_ms;
}

/* a case's repeats as the pass over the results meets them */
struct case_acc {
	long n, n_pass, n_fail;
	double latency_ms;
};

/* the case's verdict under policy, counted in the run's and its suite's cases */
static void tally_case(struct run_tally *t, struct tally_suite *ts, const char *policy,
		       const struct case_acc *c)
{
	enum result_status v = case_verdict_of(policy, c->n, c->n_pass, c->n_fail);

	count_one(&t->cases, v, c->latency_ms);
	count_one(&ts->cases, v, c->latency_ms);
}

/* one stored result in the run's and its suite's result counts */
static void tally_result(struct run_tally *t, struct tally_suite *ts, enum result_status st,
			 int scorer_error, double latency_ms)
{
	count_one(&t->results, st, latency_ms);
	count_one(&ts->results, st, latency_ms);
	/* history_scorer_error_counts: status 'error' and no call error */
	if (scorer_error) {
		t->scorer_errors++;
		ts->scorer_errors++;
	}
}

void run_tally_add_case(struct run_tally *t, const char *policy, const char *suite,
			enum result_status st, int call_error, double latency_ms)
{
	struct tally_suite *ts = tally_suite_get(t, suite);
	struct case_acc c;

	/* as stored: an unknown latency is NULL, which the pass reads as 0 */
	if (isnan(latency_ms))
		latency_ms = 0;
	tally_result(t, ts, st, st == RESULT_ERROR && !call_error, latency_ms);
	c.n = 1;
	c.n_pass = st == RESULT_PASS;
	c.n_fail = st == RESULT_FAIL;
	c.latency_ms = latency_ms;
	tally_case(t, ts, policy, &c);
}

int history_run_tally(struct history *h, const char *run_id, struct run_tally *out)
{
	struct strbuf suite = STRBUF_INIT, case_id = STRBUF_INIT;
	struct tally_suite *ts = NULL;
	sqlite3_stmt *st = NULL;
	char policy[32] = "";
	struct case_acc c = { 0, 0, 0, 0 };
	int rc, ret = -1;

	memset(out, 0, sizeof(*out));
	if (sqldb_prepare(&h->db, "SELECT repeat_policy FROM runs WHERE id = ?1", &st))
		return -1;
	sqldb_bind_text(st, 1, run_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(policy, sizeof(policy), "%s",
			 sqldb_col_text(st, 0) ? sqldb_col_text(st, 0) : "");
	else if (rc != SQLITE_DONE)
		sqldb_error(&h->db, "cannot read the run's repeat policy");
	sqlite3_finalize(st);
	st = NULL;
	/* no such run: nothing to count (the view "cases" joins runs) */
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? 0 : -1;
	/*
	 * The unique index (run_id, suite, case_id, repeat) gives the rows in
	 * this order without a sort: a case's repeats come together, and the
	 * per-result counts are taken on the way.
	 */
	if (sqldb_prepare(&h->db, "SELECT suite, case_id, status, error IS NULL, latency_ms "
			  "FROM results WHERE run_id = ?1 ORDER BY suite, case_id, repeat", &st))
		return -1;
	sqldb_bind_text(st, 1, run_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *s = sqldb_col_text(st, 0) ? sqldb_col_text(st, 0) : "";
		const char *id = sqldb_col_text(st, 1) ? sqldb_col_text(st, 1) : "";
		const char *text = sqldb_col_text(st, 2);
		enum result_status status = result_status_parse(text);
		double ms = sqldb_col_real(st, 4);

		if (isnan(ms))
			ms = 0;
		if (!ts || strcmp(s, suite.buf) || strcmp(id, case_id.buf)) {
			if (ts)
				tally_case(out, ts, policy, &c);
			if (!ts || strcmp(s, suite.buf)) {
				strbuf_reset(&suite);
				strbuf_addstr(&suite, s);
				ts = tally_suite_get(out, s);
			}
			strbuf_reset(&case_id);
			strbuf_addstr(&case_id, id);
			memset(&c, 0, sizeof(c));
		}
		c.n++;
		c.n_pass += status == RESULT_PASS;
		c.n_fail += status == RESULT_FAIL;
		c.latency_ms += ms;
		tally_result(out, ts, status, text && !strcmp(text, "error") &&
			     sqlite3_column_int(st, 3), ms);
	}
	if (rc != SQLITE_DONE) {
		sqldb_error(&h->db, "cannot count the run's results");
		goto out;
	}
	if (ts)
		tally_case(out, ts, policy, &c);
	ret = 0;
out:
	if (ret)
		run_tally_release(out);
	sqlite3_finalize(st);
	strbuf_release(&suite);
	strbuf_release(&case_id);
	return ret;
}

const struct tally_suite *run_tally_suite(const struct run_tally *t, const char *name)
{
	static const struct tally_suite none;
	int found;
	size_t i = tally_find(t, name, &found);

	return found ? &t->suites[i] : &none;
}

void run_tally_release(struct run_tally *t)
{
	size_t i;

	for (i = 0; i < t->n_suites; i++)
		free(t->suites[i].name);
	free(t->suites);
	memset(t, 0, sizeof(*t));
}

void case_sample_release(struct case_sample *s)
{
	size_t i;

	free(s->output);
	free(s->error);
	for (i = 0; i < s->n_failed; i++) {
		free(s->failed[i].scorer);
		free(s->failed[i].reason);
	}
	free(s->failed);
	memset(s, 0, sizeof(*s));
}

int history_case_sample(struct history *h, const char *run_id, const char *suite,
			const char *case_id, enum result_status prefer, struct case_sample *out)
{
	sqlite3_stmt *st = NULL, *sc = NULL;
	size_t alloc = 0;
	int rc, ret = -1;

	memset(out, 0, sizeof(*out));
	if (sqldb_prepare(&h->db, "SELECT repeat, status, output, error, latency_ms FROM results "
			  "WHERE run_id = ?1 AND suite = ?2 AND case_id = ?3 "
			  "ORDER BY status = ?4 DESC, repeat LIMIT 1", &st))
		return -1;
	sqldb_bind_text(st, 1, run_id);
	sqldb_bind_text(st, 2, suite);
	sqldb_bind_text(st, 3, case_id);
	sqldb_bind_text(st, 4, result_status_name(prefer));
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = 1;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		sqldb_error(&h->db, "cannot read a result");
		goto out;
	}
	out->repeat = sqlite3_column_int(st, 0);
	out->status = result_status_parse(sqldb_col_text(st, 1));
	if (sqlite3_column_type(st, 2) != SQLITE_NULL)
		out->output = sqldb_col_bytes_dup(st, 2, &out->output_len);
	out->error = sqldb_col_dup(st, 3);
	out->latency_ms = sqldb_col_real(st, 4);
	if (sqldb_prepare(&h->db, "SELECT scorer, reason, error FROM scores WHERE run_id = ?1 AND "
			  "suite = ?2 AND case_id = ?3 AND repeat = ?4 AND "
			  "(pass = 0 OR error <> 0) "
			  "ORDER BY idx", &sc))
		goto out_release;
	sqldb_bind_text(sc, 1, run_id);
	sqldb_bind_text(sc, 2, suite);
	sqldb_bind_text(sc, 3, case_id);
	sqlite3_bind_int(sc, 4, out->repeat);
	while ((rc = sqlite3_step(sc)) == SQLITE_ROW) {
		struct case_sample_score *f;

		XGROW(out->failed, out->n_failed + 1, alloc);
		f = &out->failed[out->n_failed++];
		f->scorer = sqldb_col_dup(sc, 0);
		f->reason = sqldb_col_dup(sc, 1);
		f->error = sqlite3_column_int(sc, 2) != 0;
	}
	if (rc != SQLITE_DONE) {
		sqldb_error(&h->db, "cannot read scores");
		goto out_release;
	}
	ret = 0;
	goto out;
out_release:
	case_sample_release(out);
out:
	sqlite3_finalize(sc);
	sqlite3_finalize(st);
	return ret;
}

/* one scorer label's sum of scores, in a suite or over all of them */
struct mean_acc {
	char *label;
	double sum;               /* the known scores, added in storage order as avg() does */
	long n;                   /* the known scores */
};

/* the labels seen, in byte order */
struct mean_accs {
	struct mean_acc *v;
	size_t n, alloc;
};

static void mean_accs_add(struct mean_accs *m, const char *label, sqlite3_stmt *st, int col)
{
	size_t lo = 0, hi = m->n;
	int cmp = 1;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		cmp = strcmp(label, m->v[mid].label);
		if (!cmp) {
			lo = mid;
			break;
		}
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (cmp) {
		XGROW(m->v, m->n + 1, m->alloc);
		memmove(&m->v[lo + 1], &m->v[lo], (m->n - lo) * sizeof(*m->v));
		m->n++;
		m->v[lo].label = xstrdup(label);
		m->v[lo].sum = 0;
		m->v[lo].n = 0;
	}
	if (sqlite3_column_type(st, col) != SQLITE_NULL) {
		m->v[lo].sum += sqlite3_column_double(st, col);
		m->v[lo].n++;
	}
}

/* hand the means to fn (when not NULL) and forget them; nonzero from fn stops */
static int mean_accs_flush(struct mean_accs *m, const char *suite,
			   int (*fn)(const char *suite, const char *scorer, double mean, long n,
				     void *arg), void *arg)
{
	size_t i;
	int stop = 0;

	for (i = 0; i < m->n; i++) {
		if (fn && !stop)
			stop = fn(suite, m->v[i].label,
				  m->v[i].n ? m->v[i].sum / (double)m->v[i].n : NAN, m->v[i].n, arg);
		free(m->v[i].label);
	}
	m->n = 0;
	return stop;
}

/*
 * The scores are read once, in the order of the primary key (a run's
 * suites one after the other), and summed per label in C: the labels are
 * few, and SQLite's GROUP BY would sort every score first.
 */
int history_score_means_suites(struct history *h, const char *run_id, const char *suite,
			       int (*fn)(const char *suite, const char *scorer, double mean,
					 long n, void *arg), void *arg)
{
	struct mean_accs cur = { NULL, 0, 0 }, all = { NULL, 0, 0 };
	struct strbuf name = STRBUF_INIT;
	sqlite3_stmt *st = NULL;
	int rc, have = 0, stop = 0, ret = -1;

	if (sqldb_prepare(&h->db,
			  "SELECT suite, coalesce(scorer, type, '?'), score FROM scores "
			  "WHERE run_id = ?1 AND (?2 IS NULL OR suite = ?2) AND error = 0 "
			  "ORDER BY suite", &st))
		return -1;
	sqldb_bind_text(st, 1, run_id);
	sqldb_bind_text(st, 2, suite);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *s = sqldb_col_text(st, 0) ? sqldb_col_text(st, 0) : "";
		const char *label = sqldb_col_text(st, 1) ? sqldb_col_text(st, 1) : "?";

		if (have && strcmp(s, name.buf)) {
			if ((stop = mean_accs_flush(&cur, name.buf, fn, arg)))
				break;
			have = 0;
		}
		if (!have) {
			strbuf_reset(&name);
			strbuf_addstr(&name, s);
			have = 1;
		}
		mean_accs_add(&cur, label, st, 2);
		mean_accs_add(&all, label, st, 2);
	}
	if (!stop && rc != SQLITE_DONE) {
		sqldb_error(&h->db, "cannot read scores");
		goto out;
	}
	if (!stop && have)
		stop = mean_accs_flush(&cur, name.buf, fn, arg);
	if (!stop)
		mean_accs_flush(&all, NULL, fn, arg);
	ret = 0;
out:
	mean_accs_flush(&cur, NULL, NULL, NULL);
	mean_accs_flush(&all, NULL, NULL, NULL);
	free(cur.v);
	free(all.v);
	strbuf_release(&name);
	sqlite3_finalize(st);
	return ret;
}

/* --- for the reports --- */

int history_case_results(struct history *h, const char *run_id, const char *suite,
			 const char *case_id,
			 int (*fn)(const struct stored_result *r, void *arg), void *arg)
{
	if (!case_id)
		return error("history %s: a case id is required", h->db.path);
	return results_query(h, run_id, suite, case_id, 0, fn, arg);
}

int history_failed_results(struct history *h, const char *run_id, const char *suite,
			   int (*fn)(const struct stored_result *r, void *arg), void *arg)
{
	return results_query(h, run_id, suite, NULL, RESULTS_NOT_PASSED, fn, arg);
}

/*
 * the values of one column for its percentiles, grown as read: a run's
 * suites one after the other, so that a suite's values are v[start..n-1]
 */
struct value_list {
	double *v;
	size_t n, alloc;
	size_t start;             /* where the suite being read begins */
};

static void value_list_add(struct value_list *l, sqlite3_value *v)
{
	if (sqlite3_value_type(v) == SQLITE_NULL)
		return;
	XGROW(l->v, l->n + 1, l->alloc);
	l->v[l->n++] = sqlite3_value_double(v);
}

/* the percentiles of the values from first on (reordered, never sorted: selection is O(n)) */
static void value_list_percentiles(struct value_list *l, size_t first, double *p50, double *p95)
{
	*p95 = stats_percentile_select(l->v + first, l->n - first, 95);
	*p50 = stats_percentile_select(l->v + first, l->n - first, 50);
}

/* what history_usage sums: one suite's, or all suites' */
struct usage_acc {
	struct usage u;
	double prompt, completion, cost, judge_cost, cached; /* as total() sums them */
};

/* add a result, v its columns (prompt_tokens, completion_tokens, cost_usd, judge_cost_usd, cached) */
static void usage_acc_add(struct usage_acc *a, sqlite3_value **v)
{
	int known_cost = 0;

	/* sums as total() makes them: the known values, in row order */
	if (sqlite3_value_type(v[0]) != SQLITE_NULL) {
		a->prompt += sqlite3_value_double(v[0]);
		a->u.n_tokens++;
	}
	if (sqlite3_value_type(v[1]) != SQLITE_NULL) {
		a->completion += sqlite3_value_double(v[1]);
		a->u.n_tokens++;
	}
	if (sqlite3_value_type(v[2]) != SQLITE_NULL) {
		a->cost += sqlite3_value_double(v[2]);
		known_cost = 1;
	}
	if (sqlite3_value_type(v[3]) != SQLITE_NULL) {
		a->judge_cost += sqlite3_value_double(v[3]);
		known_cost = 1;
	}
	a->u.n_cost += known_cost;
	a->cached += sqlite3_value_double(v[4]);
	a->u.results++;
}

/* the usage of a's results, whose values are the lists' from their start on */
static void usage_acc_finish(struct usage_acc *a, struct value_list *lists, struct usage *out)
{
	*out = a->u;
	out->prompt_tokens = (long)a->prompt;
	out->completion_tokens = (long)a->completion;
	out->cost_usd = a->cost + a->judge_cost;
	out->cached = (long)a->cached;
	value_list_percentiles(&lists[0], lists[0].start, &out->latency_p50, &out->latency_p95);
	value_list_percentiles(&lists[1], lists[1].start, &out->ttft_p50, &out->ttft_p95);
	value_list_percentiles(&lists[2], lists[2].start, &out->itl_p50, &out->itl_p95);
}

void usage_init(struct usage *u)
{
	memset(u, 0, sizeof(*u));
	u->latency_p50 = u->latency_p95 = NAN;
	u->ttft_p50 = u->ttft_p95 = u->itl_p50 = u->itl_p95 = NAN;
}

/*
 * One pass over the run's results in the order of the index (run_id,
 * suite, ordinal, repeat): each suite's sums and, when per_suite, its
 * percentiles as its last row goes by, then those of all of them.
 */
static int usage_scan(struct history *h, const char *run_id, const char *suite, int per_suite,
		      int (*fn)(const char *suite, const struct usage *u, void *arg), void *arg)
{
	struct value_list lists[3];   /* latency_ms, ttft_ms, itl_ms */
	struct usage_acc cur, all;
	struct strbuf name = STRBUF_INIT;
	struct usage u;
	sqlite3_stmt *st = NULL;
	int rc, i, have = 0, stop = 0, ret = -1;

	memset(lists, 0, sizeof(lists));
	memset(&cur, 0, sizeof(cur));
	memset(&all, 0, sizeof(all));
	usage_init(&cur.u);
	usage_init(&all.u);
	if (sqldb_prepare(&h->db, "SELECT suite, prompt_tokens, completion_tokens, cost_usd, "
			  "judge_cost_usd, cached, status = 'error', latency_ms, ttft_ms, itl_ms "
			  "FROM results WHERE run_id = ?1 AND (?2 IS NULL OR suite = ?2) "
			  "ORDER BY suite, ordinal, repeat, seq", &st))
		return -1;
	sqldb_bind_text(st, 1, run_id);
	sqldb_bind_text(st, 2, suite);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *s = sqldb_col_text(st, 0) ? sqldb_col_text(st, 0) : "";
		sqlite3_value *v[9];

		/*
		 * one call a column (sqlite3_column_type and _double would be
		 * two); the values are unprotected, which only matters to a
		 * connection shared between threads, and ours are not
		 */
		for (i = 0; i < 9; i++)
			v[i] = sqlite3_column_value(st, 1 + i);
		if (per_suite && have && strcmp(s, name.buf)) {
			usage_acc_finish(&cur, lists, &u);
			if ((stop = fn(name.buf, &u, arg)))
				break;
			memset(&cur, 0, sizeof(cur));
			usage_init(&cur.u);
			for (i = 0; i < 3; i++)
				lists[i].start = lists[i].n;
			have = 0;
		}
		if (per_suite && !have) {
			strbuf_reset(&name);
			strbuf_addstr(&name, s);
			have = 1;
		}
		usage_acc_add(&cur, v);
		if (per_suite)
			usage_acc_add(&all, v);
		/* errored calls would measure timeouts */
		if (!sqlite3_value_int(v[5]))
			for (i = 0; i < 3; i++)
				value_list_add(&lists[i], v[6 + i]);
	}
	if (!stop && rc != SQLITE_DONE) {
		sqldb_error(&h->db, "cannot sum the usage");
		goto out;
	}
	if (!stop && have) {
		usage_acc_finish(&cur, lists, &u);
		stop = fn(name.buf, &u, arg);
	}
	if (!stop) {
		/* all of them: every value, from the lists' beginning */
		for (i = 0; i < 3; i++)
			lists[i].start = 0;
		usage_acc_finish(per_suite ? &all : &cur, lists, &u);
		fn(NULL, &u, arg);
	}
	ret = 0;
out:
	for (i = 0; i < 3; i++)
		free(lists[i].v);
	strbuf_release(&name);
	sqlite3_finalize(st);
	return ret;
}

int history_usage_suites(struct history *h, const char *run_id, const char *suite,
			 int (*fn)(const char *suite, const struct usage *u, void *arg), void *arg)
{
	return usage_scan(h, run_id, suite, 1, fn, arg);
}

static int take_usage(const char *suite, const struct usage *u, void *arg)
{
	(void)suite;
	*(struct usage *)arg = *u;
	return 0;
}

int history_usage(struct history *h, const char *run_id, const char *suite, struct usage *out)
{
	usage_init(out);
	return usage_scan(h, run_id, suite, 0, take_usage, out);
}

int history_suite_counts(struct history *h, const char *run_id,
			 int (*fn)(const char *suite, const struct counts *c, void *arg),
			 void *arg)
{
	/* the case walk, not a GROUP BY over the view: that sorted every case of the run */
	struct case_iter *it = history_cases_open(h, run_id, NULL, NULL);
	struct strbuf cur = STRBUF_INIT;
	struct case_row row;
	struct counts c;
	int rc, have = 0, stop = 0;

	if (!it)
		return -1;
	memset(&c, 0, sizeof(c));
	while ((rc = history_cases_next(it, &row)) > 0) {
		if (have && strcmp(cur.buf, row.suite)) {
			if ((stop = fn(cur.buf, &c, arg)))
				break;
			memset(&c, 0, sizeof(c));
			have = 0;
		}
		if (!have) {
			strbuf_reset(&cur);
			strbuf_addstr(&cur, row.suite);
			have = 1;
		}
		counts_add_case(&c, &row);
	}
	if (rc >= 0 && have && !stop)
		fn(cur.buf, &c, arg);
	history_cases_close(it);
	strbuf_release(&cur);
	return rc < 0 ? -1 : 0;
}

int history_score_mean(struct history *h, const char *run_id, const char *suite,
		       const char *scorer, double *mean, long *n)
{
	sqlite3_stmt *st = NULL;
	int ret = -1;

	*mean = NAN;
	*n = 0;
	if (sqldb_prepare(&h->db,
			  "SELECT avg(score), count(score) FROM scores WHERE run_id = ?1 AND "
			  "suite = ?2 AND (scorer = ?3 OR type = ?3) AND error = 0", &st))
		return -1;
	sqldb_bind_text(st, 1, run_id);
	sqldb_bind_text(st, 2, suite);
	sqldb_bind_text(st, 3, scorer);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqldb_error(&h->db, "cannot average scores");
		goto out;
	}
	*n = (long)sqlite3_column_int64(st, 1);
	if (*n)
		*mean = sqlite3_column_double(st, 0);
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}
