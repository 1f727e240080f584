/* registry: promotion rules on hand-built histories, aliases, the audit log, alias resolution */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "error.h"
#include "helper.h"
#include "history.h"
#include "registry.h"
#include "banned.h"

static char hist_path[128], reg_url[160], reg_path[128];
static struct history *h;
static struct registry *reg;
static time_t now;

static void setup(void)
{
	th_tmpdir_setup();
	snprintf(hist_path, sizeof(hist_path), "%s", th_path("h.db"));
	snprintf(reg_path, sizeof(reg_path), "%s", th_path("reg/registry.db"));
	snprintf(reg_url, sizeof(reg_url), "sqlite:%s", reg_path);
	setenv("USER", "tester", 1);
	unsetenv("GITHUB_ACTOR");
	now = time(NULL);
	h = history_open(hist_path);
	cr_assert_not_null(h);
	reg = registry_open(reg_url);
	cr_assert_not_null(reg);
}

static void teardown(void)
{
	registry_close(reg);
	history_close(h);
	th_tmpdir_teardown();
}

TestSuite(registry, .init = setup, .fini = teardown);

static void iso_ago(char *buf, size_t n, double days)
{
	time_t t = now - (time_t)(days * 86400);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
}

/* a finished run of target@version, days_ago old, with one result in each of suites (comma-separated) */
static void add_run(const char *id, double days_ago, const char *target, const char *version,
		    const char *verdict, const char *suites)
{
	struct run_info ri;
	char started[40], buf[256], *s, *save = NULL, *name;

	iso_ago(started, sizeof(started), days_ago);
	memset(&ri, 0, sizeof(ri));
	ri.id = (char *)id;
	ri.started_at = started;
	ri.target = (char *)target;
	ri.version = (char *)version;
	ri.model = (char *)"m";
	ri.status = RUN_RUNNING;
	cr_assert_eq(history_run_begin(h, &ri), 0);
	snprintf(buf, sizeof(buf), "%s", suites);
	for (s = buf; (name = strtok_r(s, ",", &save)); s = NULL) {
		struct result_row r;

		memset(&r, 0, sizeof(r));
		r.suite = name;
		r.case_id = "c1";
		r.status = !strcmp(verdict, "pass") ? RESULT_PASS : RESULT_FAIL;
		r.attempts = 1;
		r.prompt_tokens = r.completion_tokens = -1;
		cr_assert_eq(history_run_suite(h, id, name, "1.0.0", "hash", "golden"), 0);
		cr_assert_eq(history_add_result(h, id, &r), 0);
	}
	cr_assert_eq(history_run_finish(h, id, RUN_FINISHED, verdict), 0);
}

static char *prod_suites[] = { (char *)"golden", (char *)"injection" };
static struct eg_promotion prod = { (char *)"production", prod_suites, 2, 7, 1 };

static int promote(const char *version, const char *alias, const char *run_id, int force,
		   const char *reason)
{
	struct promote_req req = { 0 };

	req.name = "bot";
	req.version = version;
	req.alias = alias;
	req.run_id = run_id;
	req.rule = !strcmp(alias, "production") ? &prod : NULL;
	req.force = force;
	req.reason = reason;
	return registry_promote(reg, h, &req);
}

/* the newest audit row as "action|version|alias|run_id|rule|forced|who|previous" */
static void last_audit(char *out, size_t n)
{
	sqlite3 *db;
	sqlite3_stmt *st;

	cr_assert_eq(sqlite3_open(reg_path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, "SELECT action || '|' || ifnull(version,'') || '|' || "
					"ifnull(alias,'') || '|' || ifnull(run_id,'') || '|' || "
					"ifnull(rule,'') || '|' || forced || '|' || who || '|' || "
					"ifnull(previous,'') FROM audit ORDER BY seq DESC LIMIT 1",
					-1, &st, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static long count_sql(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long v;

	cr_assert_eq(sqlite3_open(reg_path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	v = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void expect_refused(const char *rule, const char *run_id, const char *reason_part)
{
	struct promo_check c;

	cr_assert_eq(registry_check(h, "bot", "v1", &prod, NULL, now, &c), 0);
	cr_assert_not(c.allowed);
	cr_assert_str_eq(c.rule, rule);
	if (run_id)
		cr_assert_str_eq(c.run_id, run_id);
	cr_assert(strstr(c.reason.buf, reason_part), "reason: %s", c.reason.buf);
	promo_check_release(&c);
}

/* --- the rules, one at a time --- */

Test(registry, refused_without_a_run)
{
	char row[512];

	add_run("r-other", 1, "bot", "v2", "pass", "golden,injection");
	add_run("r-else", 1, "other-bot", "v1", "pass", "golden,injection");
	expect_refused("evidence", NULL, "no stored run of bot@v1");
	cr_assert_eq(promote("v1", "production", NULL, 0, NULL), EG_ERR_REFUSED);
	last_audit(row, sizeof(row));
	cr_assert_str_eq(row, "refuse|v1|production||evidence|0|tester|");
	cr_assert_eq(count_sql("SELECT count(*) FROM aliases"), 0);
}

Test(registry, refused_when_a_gate_failed)
{
	char row[512];

	add_run("r1", 1, "bot", "v1", "fail", "golden,injection");
	expect_refused("gates", "r1", "no run of bot@v1 passed every gate");
	cr_assert_eq(promote("v1", "production", NULL, 0, NULL), EG_ERR_REFUSED);
	last_audit(row, sizeof(row));
	cr_assert_str_eq(row, "refuse|v1|production|r1|gates|0|tester|");
}

Test(registry, refused_when_a_required_suite_is_missing)
{
	add_run("r1", 1, "bot", "v1", "pass", "golden");
	expect_refused("suites", "r1", "injection");
	cr_assert_eq(promote("v1", "production", NULL, 0, NULL), EG_ERR_REFUSED);
	/* an alias without a suite requirement takes the same run */
	cr_assert_eq(promote("v1", "staging", NULL, 0, NULL), EG_OK);
}

Test(registry, refused_when_the_run_is_stale)
{
	char row[512];

	add_run("r1", 10, "bot", "v1", "pass", "golden,injection");
	expect_refused("max_age_days", "r1", "over max_age_days 7");
	cr_assert_eq(promote("v1", "production", NULL, 0, NULL), EG_ERR_REFUSED);
	last_audit(row, sizeof(row));
	cr_assert_str_eq(row, "refuse|v1|production|r1|max_age_days|0|tester|");
}

Test(registry, refused_after_a_later_failure)
{
	add_run("r1", 3, "bot", "v1", "pass", "golden,injection");
	add_run("r2", 2, "bot", "v1", "fail", "golden,injection");
	add_run("r3", 1, "bot", "v2", "pass", "golden,injection");
	expect_refused("later_failure", "r1", "run r2 of bot@v1 failed after run r1 passed");
	cr_assert_eq(promote("v1", "production", "r1", 0, NULL), EG_ERR_REFUSED);
}

Test(registry, an_errored_later_run_is_not_a_failure)
{
	struct promo_check c;

	add_run("r1", 3, "bot", "v1", "pass", "golden,injection");
	add_run("r2", 2, "bot", "v1", "error", "golden,injection");
	cr_assert_eq(registry_check(h, "bot", "v1", &prod, NULL, now, &c), 0);
	cr_assert(c.allowed, "%s", c.reason.buf);
	cr_assert_str_eq(c.run_id, "r1");
	promo_check_release(&c);
}

/* --- allowed --- */

Test(registry, allowed_when_every_rule_holds)
{
	struct promo_check c;
	char row[512], *version = NULL;

	add_run("r0", 5, "bot", "v1", "fail", "golden,injection");
	add_run("r1", 2, "bot", "v1", "pass", "golden,injection");
	cr_assert_eq(registry_check(h, "bot", "v1", &prod, NULL, now, &c), 0);
	cr_assert(c.allowed);
	cr_assert_null(c.rule);
	cr_assert_str_eq(c.run_id, "r1");
	cr_assert_str_eq(c.suites, "golden,injection");
	promo_check_release(&c);
	cr_assert_eq(promote("v1", "production", NULL, 0, NULL), EG_OK);
	last_audit(row, sizeof(row));
	cr_assert_str_eq(row, "promote|v1|production|r1||0|tester|");
	cr_assert_eq(registry_alias_version(reg, "bot", "production", &version), EG_OK);
	cr_assert_str_eq(version, "v1");
	free(version);
	/* the version was registered implicitly */
	cr_assert_eq(count_sql("SELECT count(*) FROM versions WHERE name='bot' AND version='v1'"), 1);
}

Test(registry, an_older_run_that_meets_the_rules_is_evidence)
{
	struct promo_check c;

	add_run("r1", 3, "bot", "v1", "pass", "golden,injection");
	add_run("r2", 1, "bot", "v1", "pass", "golden");
	cr_assert_eq(registry_check(h, "bot", "v1", &prod, NULL, now, &c), 0);
	cr_assert(c.allowed);
	cr_assert_str_eq(c.run_id, "r1");
	promo_check_release(&c);
	/* naming the newer run makes it the evidence, and it lacks a suite */
	cr_assert_eq(registry_check(h, "bot", "v1", &prod, "r2", now, &c), 0);
	cr_assert_not(c.allowed);
	cr_assert_str_eq(c.rule, "suites");
	promo_check_release(&c);
}

Test(registry, a_named_run_must_be_of_the_version)
{
	struct promo_check c;

	add_run("r1", 1, "bot", "v2", "pass", "golden,injection");
	add_run("r2", 1, "bot", "v1", "pass", "golden,injection");
	cr_assert_eq(registry_check(h, "bot", "v1", &prod, "r1", now, &c), 0);
	cr_assert_not(c.allowed);
	cr_assert_str_eq(c.rule, "evidence");
	cr_assert(strstr(c.reason.buf, "is of bot@v2, not bot@v1"));
	promo_check_release(&c);
	cr_assert_eq(registry_check(h, "bot", "v1", &prod, "nosuch", now, &c), 0);
	cr_assert_str_eq(c.rule, "evidence");
	promo_check_release(&c);
	cr_assert_eq(registry_check(h, "bot", "v1", &prod, "r2", now, &c), 0);
	cr_assert(c.allowed);
	promo_check_release(&c);
}

/* --- force, audit, aliases --- */

Test(registry, force_needs_a_reason_and_is_audited)
{
	char row[512];

	add_run("r1", 1, "bot", "v1", "fail", "golden,injection");
	cr_assert_eq(promote("v1", "production", NULL, 1, NULL), EG_ERR_USAGE);
	cr_assert_eq(promote("v1", "production", NULL, 1, ""), EG_ERR_USAGE);
	cr_assert_eq(count_sql("SELECT count(*) FROM audit"), 0);
	setenv("GITHUB_ACTOR", "octocat", 1);
	cr_assert_eq(promote("v1", "production", NULL, 1, "hotfix for incident 42"), EG_OK);
	last_audit(row, sizeof(row));
	cr_assert_str_eq(row, "promote|v1|production|r1|gates|1|octocat|");
	cr_assert_eq(count_sql("SELECT count(*) FROM audit WHERE reason = 'hotfix for incident 42'"), 1);
}

Test(registry, one_version_per_alias)
{
	char row[512], *version = NULL;

	add_run("r1", 2, "bot", "v1", "pass", "golden,injection");
	add_run("r2", 1, "bot", "v2", "pass", "golden,injection");
	cr_assert_eq(promote("v1", "production", NULL, 0, NULL), EG_OK);
	cr_assert_eq(promote("v2", "production", NULL, 0, NULL), EG_OK);
	last_audit(row, sizeof(row));
	cr_assert_str_eq(row, "promote|v2|production|r2||0|tester|v1");
	cr_assert_eq(registry_alias_version(reg, "bot", "production", &version), EG_OK);
	cr_assert_str_eq(version, "v2");
	free(version);
	cr_assert_eq(count_sql("SELECT count(*) FROM aliases WHERE alias='production'"), 1);
	cr_assert_eq(registry_alias_version(reg, "bot", "canary", &version), EG_ERR_NOT_FOUND);
	cr_assert_null(version);
}

Test(registry, the_audit_log_is_append_only)
{
	sqlite3 *db;

	cr_assert_eq(registry_register(reg, "bot", "v1", "{\"git\": \"abc\"}"), EG_OK);
	cr_assert_eq(registry_register(reg, "bot", "v1", NULL), EG_OK); /* already there */
	cr_assert_eq(count_sql("SELECT count(*) FROM audit WHERE action='register'"), 1);
	cr_assert_eq(count_sql("SELECT count(*) FROM versions WHERE meta='{\"git\":\"abc\"}'"), 1);
	cr_assert_eq(sqlite3_open(reg_path, &db), SQLITE_OK);
	cr_assert_neq(sqlite3_exec(db, "UPDATE audit SET who='mallory'", NULL, NULL, NULL), SQLITE_OK);
	cr_assert_neq(sqlite3_exec(db, "DELETE FROM audit", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	cr_assert_eq(count_sql("SELECT count(*) FROM audit WHERE who='tester'"), 1);
	cr_assert_eq(count_sql("PRAGMA user_version"), 1);
}

Test(registry, bad_input_is_a_usage_error)
{
	th_stderr_start();
	cr_assert_eq(registry_register(reg, "bot", "v1", "[1,2]"), EG_ERR_USAGE);
	cr_assert_eq(registry_register(reg, "bot", "v1", "{bad"), EG_ERR_USAGE);
	cr_assert_eq(registry_register(reg, "", "v1", NULL), EG_ERR_USAGE);
	cr_assert_eq(registry_register(reg, "bot", "v\n1", NULL), EG_ERR_USAGE);
	cr_assert_eq(promote("v1", "latest", NULL, 0, NULL), EG_ERR_USAGE);
	cr_assert_eq(promote("v1", "v12", NULL, 0, NULL), EG_ERR_USAGE);
	cr_assert_eq(promote("v1", "prod uction", NULL, 0, NULL), EG_ERR_USAGE);
	cr_assert_null(registry_open("postgres://x"));
	cr_assert_null(registry_open("sqlite:"));
	cr_assert_null(registry_open("mlflow+http://"));
	cr_assert_null(registry_open("mlflow+http://host?token=x"));
	cr_assert_eq(count_sql("SELECT count(*) FROM audit"), 0);
}

Test(registry, alias_names)
{
	cr_assert(promotion_alias_ok("production"));
	cr_assert(promotion_alias_ok("canary-2_b"));
	cr_assert(promotion_alias_ok("v"));
	cr_assert(promotion_alias_ok("v1x"));
	cr_assert_not(promotion_alias_ok("v1"));
	cr_assert_not(promotion_alias_ok("V22"));
	cr_assert_not(promotion_alias_ok("latest"));
	cr_assert_not(promotion_alias_ok(""));
	cr_assert_not(promotion_alias_ok("a.b"));
	cr_assert_not(promotion_alias_ok("a/b"));
}

/* --- the baseline resolver --- */

Test(registry, alias_resolves_to_the_latest_passing_run_of_its_version)
{
	struct strbuf why = STRBUF_INIT;
	char *run = NULL;

	add_run("r1", 4, "bot", "v1", "pass", "golden,injection");
	add_run("r2", 3, "bot", "v1", "pass", "golden,injection");
	add_run("r3", 2, "bot", "v1", "fail", "golden,injection");
	add_run("r4", 1, "bot", "v2", "pass", "golden,injection");
	/* r3 failed later, so only a forced promotion moves the alias to v1 */
	cr_assert_eq(promote("v1", "staging", "r2", 0, NULL), EG_ERR_REFUSED);
	cr_assert_eq(promote("v1", "staging", "r2", 1, "known flaky failure"), EG_OK);
	cr_assert_eq(registry_resolve_alias(reg_url, "bot", h, "staging", &run, &why), 0);
	cr_assert_str_eq(run, "r2");
	free(run);
	cr_assert_eq(promote("v2", "staging", NULL, 0, NULL), EG_OK);
	cr_assert_eq(registry_resolve_alias(reg_url, "bot", h, "staging", &run, &why), 0);
	cr_assert_str_eq(run, "r4");
	free(run);
	cr_assert_eq(why.len, 0, "%s", why.buf);
	strbuf_release(&why);
}

Test(registry, an_unset_alias_does_not_resolve)
{
	struct strbuf why = STRBUF_INIT;
	char *run = NULL;

	cr_assert_eq(registry_resolve_alias(reg_url, "bot", h, "production", &run, &why), 1);
	cr_assert_null(run);
	cr_assert(strstr(why.buf, "alias 'production' of bot is not set"), "%s", why.buf);
	strbuf_release(&why);
}

/* --- the config sections --- */

static int load_cfg(const char *extra, struct eg_config *cfg)
{
	char path[160];
	FILE *fp;

	snprintf(path, sizeof(path), "%s", th_path("evalgate.json"));
	fp = fopen(path, "w");
	cr_assert_not_null(fp);
	fprintf(fp, "{\"gateway\": {\"base_url\": \"http://127.0.0.1:9/v1\"},\n"
		    " \"target\": {\"name\": \"bot\", \"version\": \"v1\", \"model\": \"m\"},\n"
		    " \"suites\": [\"s\"]%s}\n", extra);
	fclose(fp);
	return config_load(cfg, path);
}

static void stderr_has(const char *want)
{
	const char *got = th_stderr_take();

	cr_assert(strstr(got, want), "stderr: %s", got);
}

Test(registry, config_promotion_section)
{
	struct eg_config cfg;
	const struct eg_promotion *p;

	cr_assert_eq(load_cfg(",\n \"promotion\": {\"production\": {\"require_suites\": "
			      "[\"golden\", \"injection\"], \"max_age_days\": 7},\n"
			      "   \"staging\": {}},\n \"registry\": \"sqlite:r.db\"", &cfg), 0);
	cr_assert_eq(cfg.n_promotions, 2);
	p = config_promotion(&cfg, "production");
	cr_assert_not_null(p);
	cr_assert_eq(p->n_require_suites, 2);
	cr_assert_str_eq(p->require_suites[1], "injection");
	cr_assert_float_eq(p->max_age_days, 7.0, 1e-9);
	cr_assert_eq(p->line, 4);
	p = config_promotion(&cfg, "staging");
	cr_assert_not_null(p);
	cr_assert_lt(p->max_age_days, 0);
	cr_assert_null(config_promotion(&cfg, "canary"));
	/* a relative sqlite: path is the config's neighbour, wherever evalgate runs */
	{
		char want[200];

		snprintf(want, sizeof(want), "sqlite:%s", th_path("r.db"));
		cr_assert_str_eq(cfg.registry, want);
	}
	config_release(&cfg);
}

Test(registry, config_promotion_errors_are_located)
{
	struct eg_config cfg;

	th_stderr_start();
	cr_assert_eq(load_cfg(",\n \"promotion\": {\"production\": {\"max_age_days\": -1}}", &cfg), -1);
	stderr_has("evalgate.json:4: promotion.production.max_age_days");
}

Test(registry, config_promotion_bad_alias)
{
	struct eg_config cfg;

	th_stderr_start();
	cr_assert_eq(load_cfg(",\n \"promotion\": {\n\"latest\": {}}", &cfg), -1);
	stderr_has("evalgate.json:5: promotion: 'latest' is not an alias name");
}

Test(registry, config_promotion_unknown_key)
{
	struct eg_config cfg;

	th_stderr_start();
	cr_assert_eq(load_cfg(",\n \"promotion\": {\"prod\": {\"require_suite\": [\"x\"]}}", &cfg), -1);
	stderr_has("promotion.prod.");
	cr_assert_eq(load_cfg(",\n \"promotion\": {\"prod\": {\"require_suites\": \"x\"}}", &cfg), -1);
	cr_assert_eq(load_cfg(",\n \"registry\": \"redis://x\"", &cfg), -1);
	cr_assert_eq(load_cfg(",\n \"registry\": 5", &cfg), -1);
}
