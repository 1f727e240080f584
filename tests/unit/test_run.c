/*
 * run: the scheduler's repeats and resuming, on an online suite (recorded
 * answers, so no gateway is called): every (case, repeat) is made exactly
 * once, repeats the run already holds are skipped, and the counts add up.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "helper.h"
#include "history.h"
#include "run.h"
#include "suite.h"
#include "banned.h"

#define N_CASES 7

static struct eg_config cfg;
static struct eg_suite suite;
static struct case_filter filter;

/* an online suite of N_CASES cases: c1..c7, the even ones fail */
static void setup(void)
{
	char line[256];
	FILE *fp;
	int i;

	th_tmpdir_setup();
	th_stderr_start();
	th_write(th_path("evalgate.json"),
		 "{\"gateway\": {\"base_url\": \"http://127.0.0.1:9/v1\"},\n"
		 " \"target\": {\"name\": \"bot\", \"version\": \"v1\", \"model\": \"m\"}}\n");
	cr_assert_eq(config_load(&cfg, th_path("evalgate.json")), 0);
	cr_assert_eq(mkdir(th_path("s"), 0700), 0);
	th_write(th_path("s/suite.json"),
		 "{\"name\": \"logs\", \"version\": \"1.0.0\", \"kind\": \"online\","
		 " \"scorers\": [{\"type\": \"contains\", \"value\": \"good\"}]}\n");
	fp = fopen(th_path("s/cases.jsonl"), "wb");
	cr_assert_not_null(fp);
	for (i = 1; i <= N_CASES; i++) {
		snprintf(line, sizeof(line), "{\"id\": \"c%d\", \"input\": \"q%d\", \"output\": \"%s\"}\n",
			 i, i, i % 2 ? "a good answer" : "a poor answer");
		fputs(line, fp);
	}
	cr_assert_eq(fclose(fp), 0);
	memset(&filter, 0, sizeof(filter));
	cr_assert_eq(suite_load(&suite, th_path("s"), &filter), 0);
}

static void teardown(void)
{
	suite_release(&suite);
	config_release(&cfg);
	th_tmpdir_teardown();
}

TestSuite(run, .init = setup, .fini = teardown, .timeout = 60);

static struct history *open_run(const char *id, int repeats)
{
	struct history *h = history_open(th_path("h.db"));
	struct run_info ri;

	cr_assert_not_null(h);
	memset(&ri, 0, sizeof(ri));
	ri.id = (char *)id;
	ri.status = RUN_RUNNING;
	ri.repeats = repeats;
	cr_assert_eq(history_run_begin(h, &ri), 0);
	cr_assert_eq(history_run_suite(h, id, suite.name, suite.version, suite.hash, "online"), 0);
	return h;
}

static void plan_init(struct run_plan *p, struct history *h, const char *id, int repeats)
{
	memset(p, 0, sizeof(*p));
	p->cfg = &cfg;
	p->suites = &suite;
	p->n_suites = 1;
	p->filter = &filter;
	p->run_id = id;
	p->history = h;
	p->cache_path = th_path("cache.db");
	p->concurrency = 2;
	p->repeats = repeats;
	p->progress = PROGRESS_NONE;
}

/* the repeats 0..n-1 of every case are stored once each */
static void expect_every_repeat_once(struct history *h, const char *id, int n)
{
	unsigned char seen[16];
	char case_id[16];
	struct counts rc;
	int i;

	for (i = 1; i <= N_CASES; i++) {
		snprintf(case_id, sizeof(case_id), "c%d", i);
		memset(seen, 0, sizeof(seen));
		cr_expect_eq(history_case_repeats(h, id, "logs", case_id, 0, seen, 16), n,
			     "%s: repeats stored", case_id);
	}
	cr_assert_eq(history_result_counts(h, id, NULL, &rc), 0);
	cr_expect_eq(rc.n, (long)N_CASES * n, "%ld results", rc.n);
}

Test(run, every_case_is_run_once_per_repeat)
{
	struct history *h = open_run("r", 4);
	struct run_plan plan;
	struct run_stats st;
	struct counts c;

	plan_init(&plan, h, "r", 4);
	cr_assert_eq(run_execute(&plan, &st), 0);
	cr_expect_eq(st.total, N_CASES * 4);
	cr_expect_eq(st.done, N_CASES * 4);
	cr_expect_eq(st.skipped, 0);
	cr_expect_eq(st.pass, 4 * 4);
	cr_expect_eq(st.fail, 3 * 4);
	cr_expect_eq(st.calls, 0);
	/* repeats are counted from the history at the end */
	cr_expect_null(st.tally);
	expect_every_repeat_once(h, "r", 4);
	/* cases are counted once whatever the repeats */
	cr_assert_eq(history_counts(h, "r", NULL, NULL, &c), 0);
	cr_expect_eq(c.n, N_CASES);
	cr_expect_eq(c.pass, 4);
	cr_expect_eq(c.fail, 3);
	history_close(h);
}

Test(run, no_repeats_is_one)
{
	struct history *h = open_run("r1", 0);
	struct run_plan plan;
	struct run_stats st;
	struct run_tally t;

	plan_init(&plan, h, "r1", 0);
	cr_assert_eq(run_execute(&plan, &st), 0);
	cr_expect_eq(st.total, N_CASES);
	cr_expect_eq(st.done, N_CASES);
	expect_every_repeat_once(h, "r1", 1);
	/* one repeat: counted as written, the same as the history's count */
	cr_assert_not_null(st.tally);
	cr_assert_eq(history_run_tally(h, "r1", &t), 0);
	cr_expect_eq(st.tally->results.n, t.results.n);
	cr_expect_eq(st.tally->results.pass, t.results.pass);
	cr_expect_eq(st.tally->results.fail, t.results.fail);
	cr_expect_eq(st.tally->cases.pass, t.cases.pass);
	cr_expect_eq(st.tally->cases.fail, t.cases.fail);
	cr_expect_eq(st.tally->n_suites, t.n_suites);
	cr_expect_gt(t.cases.pass, 0);
	run_tally_release(&t);
	run_stats_release(&st);
	history_close(h);
}

/* a stored result the resumed run must keep as it is */
static void store(struct history *h, const char *id, const char *case_id, int repeat)
{
	struct result_row r;

	memset(&r, 0, sizeof(r));
	r.suite = "logs";
	r.case_id = case_id;
	r.repeat = repeat;
	r.status = RESULT_ERROR;
	r.error = "from the first attempt";
	r.latency_ms = NAN;
	r.cost_usd = NAN;
	r.prompt_tokens = r.completion_tokens = -1;
	cr_assert_eq(history_add_result(h, id, &r), 0);
}

Test(run, stored_repeats_are_skipped)
{
	struct history *h = open_run("rs", 3), *ro;
	struct run_plan plan;
	struct run_stats st;
	struct counts rc;

	store(h, "rs", "c1", 0);
	store(h, "rs", "c1", 1);
	store(h, "rs", "c1", 2);
	store(h, "rs", "c4", 1);
	store(h, "rs", "c7", 0);
	ro = history_open_ro(th_path("h.db"));
	cr_assert_not_null(ro);
	plan_init(&plan, h, "rs", 3);
	plan.stored = ro;
	cr_assert_eq(run_execute(&plan, &st), 0);
	cr_expect_eq(st.total, N_CASES * 3);
	cr_expect_eq(st.skipped, 5);
	cr_expect_eq(st.done, N_CASES * 3 - 5);
	cr_expect_eq(st.pass + st.fail + st.error, N_CASES * 3 - 5);
	expect_every_repeat_once(h, "rs", 3);
	/* the results of the first attempt were not made again */
	cr_assert_eq(history_result_counts(h, "rs", NULL, &rc), 0);
	cr_expect_eq(rc.error, 5);
	history_close(ro);

	/* resuming a complete run makes nothing */
	ro = history_open_ro(th_path("h.db"));
	cr_assert_not_null(ro);
	plan.stored = ro;
	cr_assert_eq(run_execute(&plan, &st), 0);
	cr_expect_eq(st.skipped, N_CASES * 3);
	cr_expect_eq(st.done, 0);
	expect_every_repeat_once(h, "rs", 3);
	history_close(ro);
	history_close(h);
}
