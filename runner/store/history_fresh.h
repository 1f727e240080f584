/*
 * history_fresh: the schema of a new history in one batch, and the same
 * schema as a ready-made file.
 *
 * Included by history.c and by the build-time program
 * runner/store/gen/history_image.c, which writes history_image[] (the
 * file fresh_schema makes, checkpointed, in WAL mode, at user_version
 * FRESH_VERSION) into the build tree's history_image.c.
 */
#ifndef EG_HISTORY_FRESH_H
#define EG_HISTORY_FRESH_H

#include <stddef.h>

/*
 * A new history at version FRESH_VERSION in one batch: the schema
 * migrations[0..FRESH_VERSION) make, as SQLite keeps it (sqlite_master's
 * text, so a column a migration added sits where ALTER TABLE put it).
 * Fifteen steps cost a short run's start-up more than its one case;
 * migrations[] stays the truth for old files, and test_history checks
 * that both give the same schema. A later migration need not touch this:
 * a new file gets it after the batch.
 */
#define FRESH_VERSION 15
static const char fresh_schema[] =
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
	"  n_error INTEGER NOT NULL DEFAULT 0,"
	" repeats INTEGER NOT NULL DEFAULT 1,"
	" repeat_policy TEXT NOT NULL DEFAULT 'all',"
	" scope TEXT,"
	" partial INTEGER NOT NULL DEFAULT 0,"
	" owner_pid INTEGER,"
	" owner_host TEXT,"
	" owner_since TEXT,"
	" confirm_calls INTEGER);"
	"CREATE INDEX runs_started ON runs(started_at, id);"
	"CREATE INDEX runs_target ON runs(target, started_at, id);"
	"CREATE INDEX runs_target_version ON runs(target, version, started_at);"
	"CREATE TABLE run_suites ("
	"  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  version TEXT,"
	"  hash TEXT,"
	"  kind TEXT,"
	"  PRIMARY KEY (run_id, name)) WITHOUT ROWID;"
	"CREATE INDEX run_suites_name ON run_suites(name, version);"
	"CREATE TABLE results ("
	"  seq INTEGER PRIMARY KEY,"
	"  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  suite TEXT NOT NULL,"
	"  case_id TEXT NOT NULL,"
	"  case_hash TEXT,"
	"  repeat INTEGER NOT NULL DEFAULT 0,"
	"  ordinal INTEGER NOT NULL DEFAULT 0,"
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
	" judge_prompt_tokens INTEGER,"
	" judge_completion_tokens INTEGER,"
	" judge_cost_usd REAL,"
	" target_reply TEXT,"
	" ttft_ms REAL,"
	" itl_ms REAL, itl_p50_ms REAL, itl_p95_ms REAL,"
	" tokens_per_s REAL,"
	" threshold REAL,"
	"  UNIQUE (run_id, suite, case_id, repeat));"
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
	"  calls INTEGER NOT NULL DEFAULT 0,"
	" weight REAL,"
	"  PRIMARY KEY (run_id, suite, case_id, repeat, idx),"
	"  FOREIGN KEY (run_id, suite, case_id, repeat)"
	"    REFERENCES results(run_id, suite, case_id, repeat) ON DELETE CASCADE) WITHOUT ROWID;"
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
	"  PRIMARY KEY (run_id, idx)) WITHOUT ROWID;"
	"CREATE TABLE case_texts ("
	"  hash TEXT PRIMARY KEY NOT NULL,"
	"  input TEXT,"
	"  context TEXT,"
	"  expected TEXT);"
	"CREATE TABLE rescores ("
	"  run_id TEXT PRIMARY KEY NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  rescored_from TEXT NOT NULL) WITHOUT ROWID;"
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
	"  (sum(r.status = 'pass') > 0 AND sum(r.status = 'fail') > 0) AS flaky  FROM results r JOIN runs u ON u.id = r.run_id  GROUP BY r.run_id, r.suite, r.case_id;"
	"CREATE TABLE calibrations (judge_key TEXT NOT NULL,"
	" scorer TEXT NOT NULL,"
	"  kappa REAL,"
	" lo REAL,"
	" hi REAL,"
	" n INTEGER NOT NULL,"
	" created_at TEXT NOT NULL,"
	"  run_id TEXT NOT NULL,"
	" agreement REAL,"
	" samples INTEGER NOT NULL DEFAULT 1,"
	" self_all_agree REAL,"
	" self_pairwise REAL,"
	" self_fleiss REAL);"
	"CREATE INDEX calibrations_key ON calibrations (judge_key, created_at);"
	"CREATE TABLE confirmations (run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  suite TEXT NOT NULL,"
	" case_id TEXT NOT NULL,"
	" sample INTEGER NOT NULL,"
	"  status TEXT NOT NULL, PRIMARY KEY (run_id, suite, case_id, sample)) WITHOUT ROWID;"
	"CREATE TABLE run_timelines ("
	"  run_id TEXT PRIMARY KEY NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	"  timeline TEXT NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX scores_judge ON scores(run_id, suite, case_id) WHERE type = 'judge';";

/*
 * The file fresh_schema makes: a new history is this file written whole
 * (sqldb_create), which costs a short run less than running the batch
 * (SQLite parses each CREATE twice and rewrites sqlite_master each time).
 */
extern const unsigned char history_image[];
extern const size_t history_image_size;

#endif
