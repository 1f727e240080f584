/* run: run suites through the gateway, score, store the run, write reports, apply gates */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "error.h"
#include "gate.h"
#include "history.h"
#include "junit.h"
#include "opts.h"
#include "run.h"
#include "setup.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

static const char usage[] =
	"usage: evalgate run [--config FILE] [--suite DIR]... [--junit FILE] [options]";

struct run_cli {
	struct common_opts common;
	struct opt_list suites;   /* --suite */
	struct opt_list tags;     /* --filter-tag */
	const char *junit;
	const char *filter_id;
	const char *shard;        /* --shard I/N as given */
	char shard_id[24];        /* the same, normalised: stored in runs.shard */
	long concurrency;
	long limit;
	int no_cache, cache_only, dry_run;
};

/* ISO 8601 UTC with milliseconds, so runs started in the same second still sort */
static void iso_now(char *out, size_t n)
{
	struct timespec ts;
	struct tm tm;
	char base[24];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, n, "%s.%03dZ", base, (int)(ts.tv_nsec / 1000000) % 1000);
}

static const char *env_first(const char *a, const char *b, const char *c)
{
	const char *v;

	if ((v = getenv(a)) && *v)
		return v;
	if (b && (v = getenv(b)) && *v)
		return v;
	if (c && (v = getenv(c)) && *v)
		return v;
	return NULL;
}

/* the cache lives beside the history: DIR/cache.db */
static char *cache_path_for(const char *history)
{
	const char *slash = strrchr(history, '/');
	struct strbuf sb = STRBUF_INIT;

	if (slash)
		strbuf_add(&sb, history, (size_t)(slash - history + 1));
	strbuf_addstr(&sb, "cache.db");
	return strbuf_detach(&sb, NULL);
}

static void print_plan(const struct setup *s, const struct run_cli *o, int concurrency)
{
	size_t i, k;

	printf("plan: target %s@%s (model %s) via %s\n", s->cfg.target.name, s->cfg.target.version,
	       s->cfg.target.model, s->cfg.gateway.base_url);
	for (i = 0; i < s->n_suites; i++) {
		const struct eg_suite *su = &s->suites[i];
		printf("  suite %s@%s (%s): %zu of %zu cases; scorers:", su->name, su->version,
		       suite_kind_name(su->kind), su->n_selected, su->n_cases);
		for (k = 0; k < su->n_scorers; k++)
			printf(" %s", su->scorers[k].label);
		if (!su->n_scorers)
			printf(" (per case)");
		putchar('\n');
	}
	printf("  concurrency %d, timeout %gs, max_retries %d, cache %s\n", concurrency,
	       s->cfg.gateway.timeout_s, s->cfg.gateway.max_retries,
	       o->no_cache ? "off" : o->cache_only ? "only" : "on");
	for (i = 0; i < s->cfg.n_gates; i++)
		printf("  gate: %s\n", s->cfg.gates[i].name);
	printf("nothing was called (--dry-run)\n");
}

struct failures {
	int shown, max;
	long more;
};

/* one line per failed or errored case: what a CI log reader needs first */
static int print_failure(const struct stored_result *r, void *arg)
{
	struct failures *f = arg;
	size_t i;

	if (r->row.status == RESULT_PASS)
		return 0;
	if (f->shown >= f->max) {
		f->more++;
		return 0;
	}
	f->shown++;
	if (r->row.status == RESULT_ERROR && r->row.error) {
		printf("  ERROR %s/%s: %.200s\n", r->row.suite, r->row.case_id, r->row.error);
		return 0;
	}
	for (i = 0; i < r->n_scores; i++)
		if (!r->scores[i].pass || r->scores[i].error) {
			printf("  %s %s/%s: %s: %.200s\n", r->scores[i].error ? "ERROR" : "FAIL ",
			       r->row.suite, r->row.case_id, r->scores[i].scorer,
			       r->scores[i].reason ? r->scores[i].reason : "");
			break;
		}
	return 0;
}

static void print_summary(struct history *h, const char *run_id, const struct setup *s,
			  const struct run_stats *st)
{
	struct failures f = { 0, eg_verbosity > 0 ? 1000000 : 20, 0 };
	size_t i;

	if (eg_verbosity < 0)
		return;
	printf("run %s  %s@%s  model %s\n", run_id, s->cfg.target.name, s->cfg.target.version,
	       s->cfg.target.model);
	for (i = 0; i < s->n_suites; i++) {
		struct counts c;
		if (history_counts(h, run_id, s->suites[i].name, NULL, &c))
			continue;
		printf("  %-32s %6ld cases  %6ld pass  %5ld fail  %5ld error", s->suites[i].name, c.n,
		       c.pass, c.fail, c.error);
		if (c.pass + c.fail)
			printf("   pass rate %.1f%%", 100.0 * c.pass / (c.pass + c.fail));
		putchar('\n');
	}
	if (st->fail + st->error) {
		printf("failed cases\n");
		for (i = 0; i < s->n_suites; i++)
			history_results(h, run_id, s->suites[i].name, print_failure, &f);
		if (f.more)
			printf("  ... and %ld more (-v lists all; see the JUnit report)\n", f.more);
	}
	printf("%ld cases in %.2f s (%.0f cases/s), %ld from cache, %ld gateway requests\n",
	       st->done, st->elapsed_s, st->elapsed_s > 0 ? st->done / st->elapsed_s : 0.0,
	       st->cache_hits, st->calls);
}

/* a report that cannot be written is found out before the run, not after */
static int junit_dir_check(const char *path)
{
	struct strbuf dir = STRBUF_INIT;
	const char *slash = strrchr(path, '/');
	int ret = 0;

	if (slash)
		strbuf_add(&dir, path, slash == path ? 1 : (size_t)(slash - path));
	else
		strbuf_addch(&dir, '.');
	if (access(dir.buf, W_OK))
		ret = error("--junit %s: cannot write in %s: %s", path, dir.buf, strerror(errno));
	strbuf_release(&dir);
	return ret;
}

static int execute(struct run_cli *o, struct setup *s)
{
	struct run_plan plan;
	struct run_stats st;
	struct run_info ri;
	struct history *h;
	char run_id[64], started[32];
	char *cache_path;
	const char *api_key = NULL, *verdict;
	enum run_status status;
	int rc, failed_gates, concurrency, color;
	double error_rate;
	size_t i;

	concurrency = o->concurrency ? (int)o->concurrency : s->cfg.gateway.concurrency;
	if (s->cfg.gateway.api_key_env && !o->cache_only) {
		api_key = getenv(s->cfg.gateway.api_key_env);
		if (!api_key || !*api_key) {
			error("%s: gateway.api_key_env: environment variable %s is not set",
			      s->cfg.path, s->cfg.gateway.api_key_env);
			return EG_EXIT_USAGE;
		}
	}
	if (o->dry_run) {
		print_plan(s, o, concurrency);
		return 0;
	}
	h = history_open(o->common.history);
	if (!h)
		return EG_EXIT_USAGE;
	run_id_new(run_id, sizeof(run_id));
	iso_now(started, sizeof(started));
	memset(&ri, 0, sizeof(ri));
	ri.id = run_id;
	ri.started_at = started;
	ri.status = RUN_RUNNING;
	ri.git_sha = (char *)env_first("EVALGATE_GIT_SHA", "GITHUB_SHA", "CI_COMMIT_SHA");
	ri.git_ref = (char *)env_first("EVALGATE_GIT_REF", "GITHUB_HEAD_REF", "GITHUB_REF_NAME");
	if (!ri.git_ref)
		ri.git_ref = (char *)env_first("CI_COMMIT_REF_NAME", NULL, NULL);
	ri.config_hash = s->cfg.hash;
	ri.target = s->cfg.target.name;
	ri.version = s->cfg.target.version;
	ri.model = s->cfg.target.model;
	ri.shard = o->shard ? o->shard_id : NULL;
	ri.evalgate_version = (char *)EG_VERSION;
	if (history_run_begin(h, &ri)) {
		history_close(h);
		return EG_EXIT_USAGE;
	}
	for (i = 0; i < s->n_suites; i++)
		if (history_run_suite(h, run_id, s->suites[i].name, s->suites[i].version,
				      s->suites[i].hash, suite_kind_name(s->suites[i].kind))) {
			history_close(h);
			return EG_EXIT_USAGE;
		}
	info("run %s: %zu suite%s, target %s@%s", run_id, s->n_suites, s->n_suites == 1 ? "" : "s", s->cfg.target.name,
	     s->cfg.target.version);

	cache_path = cache_path_for(o->common.history);
	memset(&plan, 0, sizeof(plan));
	plan.cfg = &s->cfg;
	plan.suites = s->suites;
	plan.n_suites = s->n_suites;
	plan.filter = &s->filter;
	plan.run_id = run_id;
	plan.api_key = api_key;
	plan.history = h;
	plan.cache_path = cache_path;
	plan.concurrency = concurrency;
	plan.no_cache = o->no_cache;
	plan.cache_only = o->cache_only;
	plan.progress = o->common.quiet ? PROGRESS_NONE
			: isatty(STDERR_FILENO) ? PROGRESS_TTY : PROGRESS_LINES;
	run_signals_install();
	rc = run_execute(&plan, &st);
	free(cache_path);

	error_rate = st.done ? (double)st.error / (double)st.done : 0.0;
	status = st.interrupted ? RUN_INTERRUPTED : (st.fatal || rc) ? RUN_FAILED : RUN_FINISHED;
	color = common_opts_color(&o->common, stdout);
	print_summary(h, run_id, s, &st);
	failed_gates = gates_apply(h, run_id, &s->cfg, eg_verbosity >= 0 ? stdout : NULL, color);
	if (failed_gates < 0) {
		history_close(h);
		return EG_EXIT_INFRA;
	}
	verdict = failed_gates ? "fail" : "pass";
	if (status != RUN_FINISHED || error_rate > s->cfg.gateway.max_error_rate)
		verdict = "error";
	if (history_run_finish(h, run_id, status, verdict)) {
		history_close(h);
		return EG_EXIT_INFRA;
	}
	if (o->junit && junit_write(h, run_id, o->junit))
		rc = -1;
	history_close(h);

	if (st.interrupted) {
		printf("verdict: INTERRUPTED (%ld of %ld cases stored in run %s)\n", st.done, st.total,
		       run_id);
		return EG_EXIT_INTERRUPTED;
	}
	if (st.fatal) {
		error("the gateway could not be used: %s", st.fatal_msg);
		printf("verdict: ERROR (gateway)\n");
		return EG_EXIT_INFRA;
	}
	if (rc)
		return EG_EXIT_INFRA;
	if (error_rate > s->cfg.gateway.max_error_rate) {
		error("%ld of %ld cases ended in error (%.1f%%), over gateway.max_error_rate %.1f%%",
		      st.error, st.done, 100 * error_rate, 100 * s->cfg.gateway.max_error_rate);
		printf("verdict: ERROR (error rate)\n");
		return EG_EXIT_INFRA;
	}
	printf("verdict: %s%s%s", color ? (failed_gates ? "\033[1;31m" : "\033[1;32m") : "",
	       failed_gates ? "FAIL" : "PASS", color ? "\033[0m" : "");
	if (failed_gates)
		printf(" (%d of %zu gates failed)", failed_gates, s->cfg.n_gates);
	putchar('\n');
	return failed_gates ? EG_EXIT_GATE : EG_EXIT_OK;
}

int cmd_run(int argc, char **argv)
{
	struct run_cli o;
	struct setup s;
	struct setup_args sa = { 0 };
	int nops, rc = EG_EXIT_USAGE;
	const struct option opts[] = {
		OPT_COMMON(&o.common),
		OPT_LIST_(0, "suite", &o.suites, "DIR", "a suite directory (repeatable; default: the config's list)"),
		OPT_STRING_(0, "junit", &o.junit, "FILE", "write a JUnit XML report"),
		OPT_INT_(0, "concurrency", &o.concurrency, "N", "requests in flight (default: gateway.concurrency)", 1, 4096),
		OPT_FLAG_(0, "no-cache", &o.no_cache, "neither read nor write the response cache"),
		OPT_FLAG_(0, "cache-only", &o.cache_only, "answer only from the cache; a miss is an error"),
		OPT_LIST_(0, "filter-tag", &o.tags, "TAG", "only cases with this tag (repeatable: any of them)"),
		OPT_STRING_(0, "filter-id", &o.filter_id, "REGEX", "only cases whose id matches"),
		OPT_INT_(0, "limit", &o.limit, "N", "at most N cases per suite", 1, 1000000000L),
		OPT_STRING_(0, "shard", &o.shard, "I/N", "only shard I of N of the cases (stable hash of suite and case id)"),
		OPT_FLAG_(0, "dry-run", &o.dry_run, "load and validate, print the plan, call nothing"),
		OPT_END_(),
	};

	memset(&o, 0, sizeof(o));
	common_opts_init(&o.common);
	nops = parse_options(argc, argv, opts, usage);
	if (nops == -2)
		return 0;
	if (nops < 0 || common_opts_apply(&o.common))
		goto out;
	if (nops > 0) {
		error("run takes no operands ('%s'); use --suite DIR", argv[0]);
		goto out;
	}
	if (o.junit && junit_dir_check(o.junit))
		goto out;
	if (o.no_cache && o.cache_only) {
		error("--no-cache and --cache-only cannot be used together");
		goto out;
	}
	sa.common = &o.common;
	sa.suite_dirs = &o.suites;
	sa.tags = &o.tags;
	sa.filter_id = o.filter_id;
	sa.limit = o.limit;
	if (o.shard) {
		if (shard_parse(o.shard, &sa.shard))
			goto out;
		snprintf(o.shard_id, sizeof(o.shard_id), "%u/%u", sa.shard.index, sa.shard.count);
	}
	if (setup_load(&s, &sa) || lock_check(s.lock_path, s.suites, s.n_suites)) {
		setup_release(&s);
		goto out;
	}
	rc = execute(&o, &s);
	setup_release(&s);
out:
	opt_list_release(&o.suites);
	opt_list_release(&o.tags);
	return rc;
}
