/* run: run suites through the gateway, score, store the run, write reports, apply gates */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "baseline.h"
#include "commands.h"
#include "confirm.h"
#include "error.h"
#include "estimate.h"
#include "gate.h"
#include "history.h"
#include "jsonw.h"
#include "junit.h"
#include "output.h"
#include "report.h"
#include "opts.h"
#include "registry.h"
#include "run.h"
#include "setup.h"
#include "strbuf.h"
#include "variants.h"
#include "xalloc.h"
#include "banned.h"

static const char usage[] =
	"usage: evalgate run [--config FILE] [--suite DIR]... [--junit FILE] [options]";

struct run_cli {
	const struct common_opts *common; /* the parsed common options */
	struct opt_list suites;   /* --suite */
	struct opt_list tags;     /* --filter-tag */
	const char *junit;
	const char *html, *markdown, *json; /* --html, --markdown, --json */
	long html_max_details;
	long junit_max_passed;
	int no_step_summary;
	const char *filter_id;
	const char *baseline;     /* --baseline REF for regression gates */
	const char *promote;      /* --promote ALIAS */
	const char *shard;        /* --shard I/N as given */
	char shard_id[24];        /* the same, normalised: stored in runs.shard */
	long concurrency;
	long limit;
	long repeat;              /* --repeat N, 0 when not given */
	const char *resume;       /* --resume ID */
	int retry_errors;         /* --retry-errors: the resumed run asks its errored cases again */
	const char *run_id_file;  /* --run-id-file FILE */
	int no_cache, cache_only, dry_run;
	struct opt_list variants; /* --variant NAME=JSON-or-FILE */
	const char *label;        /* a variant's name for the progress line, or NULL */
	struct gateway *gw;       /* the gateway client variants share, or NULL */
	char run_id[64];          /* the run's id once it is stored */
	const char *max_cost;     /* --max-cost-usd X as given */
	long max_tokens;          /* --max-tokens N, 0 when not given */
	long seed;                /* --seed N, -1 when not given */
	const char *rescore;      /* --rescore RUN (evalgate rescore RUN): score its answers again */
};

/* the seed of the case order when none is given: fixed, so runs of one commit take the same cases */
#define RUN_DEFAULT_SEED 1

/* the spend cap: the options, else the config's "budget" */
static void run_cap(const struct run_cli *o, const struct setup *s, double *cost, long *tokens)
{
	*cost = o->max_cost ? strtod(o->max_cost, NULL) : s->cfg.budget.max_cost_usd;
	*tokens = o->max_tokens ? o->max_tokens : s->cfg.budget.max_tokens;
}

/* the cost estimate of --dry-run, from the history when there is one */
static int print_estimate(const struct run_cli *o, const struct setup *s, int repeats)
{
	struct cost_estimate e;
	struct history *h = NULL;
	int ret;

	if (!access(o->common->history, F_OK)) {
		h = history_open_ro(o->common->history);
		if (!h)
			return -1;
	}
	ret = cost_estimate(s, h, repeats, &e);
	history_close(h);
	if (!ret)
		cost_estimate_print(stdout, &e);
	return ret;
}

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

static void print_plan(const struct setup *s, const struct run_cli *o, int concurrency,
		       int repeats)
{
	size_t i, k;

	struct strbuf where = STRBUF_INIT;

	s->target.type->describe(&s->target, &where);
	printf("plan: target %s@%s %s\n", s->cfg.target.name, s->cfg.target.version, where.buf);
	strbuf_release(&where);
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
	if (repeats > 1) {
		char pol[32];

		repeat_policy_format(&s->cfg.repeat_policy, pol, sizeof(pol));
		printf("  each case %d times, repeat_policy %s\n", repeats, pol);
	}
	for (i = 0; i < s->gates.n; i++)
		printf("  gate: %s\n", s->gates.v[i].name);
	{
		double cap_cost;
		long cap_tokens;

		run_cap(o, s, &cap_cost, &cap_tokens);
		if (cap_cost > 0 || cap_tokens > 0)
			printf("  spend cap:%s%.4g USD%s%ld tokens (cases in seeded order, seed %ld)\n",
			       cap_cost > 0 ? " " : " no ", cap_cost, cap_tokens > 0 ? ", " : ", no ",
			       cap_tokens, o->seed >= 0 ? o->seed : (long)RUN_DEFAULT_SEED);
	}
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

/* a case whose repeats did not pass as the policy asks (runs with repeats) */
static int print_failed_case(const struct case_verdict *c, void *arg)
{
	struct failures *f = arg;

	if (f->shown >= f->max) {
		f->more++;
		return 0;
	}
	f->shown++;
	if (c->status == RESULT_ERROR)
		printf("  ERROR %s/%s: %ld of %ld repeats errored\n", c->suite, c->case_id,
		       c->n_error, c->n);
	else
		printf("  FAIL  %s/%s: %ld of %ld repeats passed\n", c->suite, c->case_id,
		       c->n_pass, c->n);
	return 0;
}

static int print_flaky_case(const struct case_verdict *c, void *arg)
{
	struct failures *f = arg;

	if (f->shown >= f->max) {
		f->more++;
		return 0;
	}
	f->shown++;
	printf("  %s/%s: %ld of %ld passed\n", c->suite, c->case_id, c->n_pass, c->n);
	return 0;
}

static void print_summary(struct history *h, const char *run_id, const struct setup *s,
			  const struct run_tally *t, const struct run_stats *st, int repeats)
{
	struct failures f = { 0, eg_verbosity > 0 ? 1000000 : 20, 0 };
	long bad = 0, cases = 0;
	size_t i;

	if (eg_verbosity < 0)
		return;
	printf("run %s  %s@%s  %s %s\n", run_id, s->cfg.target.name, s->cfg.target.version,
	       s->cfg.target.model ? "model" : "target type",
	       s->cfg.target.model ? s->cfg.target.model : s->target.type->name);
	for (i = 0; i < s->n_suites; i++) {
		struct counts c = run_tally_suite(t, s->suites[i].name)->cases;

		printf("  %-32s %6ld cases  %6ld pass  %5ld fail  %5ld error", s->suites[i].name, c.n,
		       c.pass, c.fail, c.error);
		if (c.pass + c.fail)
			printf("   pass rate %.1f%%", 100.0 * c.pass / (c.pass + c.fail));
		putchar('\n');
		bad += c.fail + c.error;
		cases += c.n;
	}
	if (bad) {
		printf("failed cases\n");
		if (repeats > 1)
			history_failed_cases(h, run_id, print_failed_case, &f);
		else
			for (i = 0; i < s->n_suites; i++)
				history_results(h, run_id, s->suites[i].name, print_failure, &f);
		if (f.more)
			printf("  ... and %ld more (-v lists all; see the JUnit report)\n", f.more);
	}
	if (repeats > 1) {
		struct failures fl = { 0, eg_verbosity > 0 ? 1000000 : 20, 0 };
		long n = history_flaky_cases(h, run_id, NULL, NULL);

		if (n > 0) {
			printf("flaky cases: %ld (repeats disagree)\n", n);
			history_flaky_cases(h, run_id, print_flaky_case, &fl);
			if (fl.more)
				printf("  ... and %ld more\n", fl.more);
		} else if (n == 0) {
			printf("flaky cases: 0\n");
		}
		printf("%ld cases x %d repeats: %ld results in %.2f s (%.0f results/s), "
		       "%ld from cache, %ld gateway requests\n", cases, repeats, st->done,
		       st->elapsed_s, st->elapsed_s > 0 ? st->done / st->elapsed_s : 0.0,
		       st->cache_hits, st->calls);
	} else {
		printf("%ld cases in %.2f s (%.0f cases/s), %ld from cache, %ld gateway requests\n",
		       st->done, st->elapsed_s, st->elapsed_s > 0 ? st->done / st->elapsed_s : 0.0,
		       st->cache_hits, st->calls);
	}
	if (st->skipped)
		printf("resumed: %ld results were already stored and were not run again\n",
		       st->skipped);
}

/*
 * a report that cannot be written is found out before the run, not after:
 * the path must not be a directory, a file there must be writable, and a
 * new one must be creatable in its directory
 */
static int report_dir_check(const char *opt, const char *path)
{
	struct strbuf dir = STRBUF_INIT;
	const char *slash = strrchr(path, '/');
	struct stat sb;
	int ret = 0;

	if (!*path)
		return error("%s: an empty path", opt);
	if (!stat(path, &sb)) {
		if (S_ISDIR(sb.st_mode))
			return error("%s %s: is a directory; name the file to write", opt, path);
		if (access(path, W_OK))
			return error("%s %s: cannot write it: %s", opt, path, strerror(errno));
		return 0;
	}
	if (slash)
		strbuf_add(&dir, path, slash == path ? 1 : (size_t)(slash - path));
	else
		strbuf_addch(&dir, '.');
	if (access(dir.buf, W_OK))
		ret = error("%s %s: cannot write in %s: %s", opt, path, dir.buf, strerror(errno));
	strbuf_release(&dir);
	return ret;
}

/* every output of the run, $GITHUB_STEP_SUMMARY too, checked before anything is called */
static int outputs_check(const struct run_cli *o)
{
	const char *summary = getenv("GITHUB_STEP_SUMMARY");

	if ((o->junit && report_dir_check("--junit", o->junit)) ||
	    (o->html && report_dir_check("--html", o->html)) ||
	    (o->markdown && report_dir_check("--markdown", o->markdown)) ||
	    (o->json && report_dir_check("--json", o->json)) ||
	    (o->run_id_file && report_dir_check("--run-id-file", o->run_id_file)))
		return -1;
	if (!o->no_step_summary && summary && *summary &&
	    report_dir_check("GITHUB_STEP_SUMMARY", summary))
		return -1;
	return 0;
}

/*
 * the run id for the caller, as soon as the run is stored: one line in
 * --run-id-file (replaced atomically) and run-id=ID appended to
 * $GITHUB_OUTPUT when that is set (a GitHub Actions step's outputs)
 */
static int publish_run_id(const struct run_cli *o, const char *run_id)
{
	const char *gh = getenv("GITHUB_OUTPUT");
	struct report_out out;
	FILE *f;
	int ret = 0;

	if (o->run_id_file) {
		if (out_open(&out, o->run_id_file, "run id file"))
			return -1;
		strbuf_addf(&out.sb, "%s\n", run_id);
		if (out_commit(&out))
			return -1;
	}
	if (gh && *gh) {
		f = fopen(gh, "a");
		if (!f)
			return error("GITHUB_OUTPUT %s: cannot append the run id: %s", gh,
				     strerror(errno));
		fprintf(f, "run-id=%s\n", run_id);
		if (ferror(f) | fclose(f))
			ret = error("GITHUB_OUTPUT %s: cannot append the run id: %s", gh,
				    strerror(errno));
	}
	return ret;
}

static int write_reports(struct history *h, const char *run_id, const struct run_cli *o)
{
	struct report_request req;
	const char *summary = getenv("GITHUB_STEP_SUMMARY");

	memset(&req, 0, sizeof(req));
	req.junit = o->junit;
	req.html = o->html;
	req.markdown = o->markdown;
	req.json = o->json;
	req.html_max_details = o->html_max_details;
	req.junit_max_passed = o->junit_max_passed;
	if (!o->no_step_summary && summary && *summary)
		req.step_summary = summary;
	if (!report_requested(&req))
		return 0;
	return reports_write(h, run_id, &req);
}

struct stored_suites {
	const struct setup *s;
	const char *run_id;
	int bad;
};

/* a suite the run already holds results of must not have changed since */
static int check_stored_suite(const struct run_suite *rs, void *arg)
{
	struct stored_suites *ss = arg;
	size_t i;

	for (i = 0; i < ss->s->n_suites; i++) {
		const struct eg_suite *su = &ss->s->suites[i];

		if (strcmp(su->name, rs->name))
			continue;
		if (rs->hash && strcmp(rs->hash, su->hash)) {
			error("--resume %s: suite %s changed since the run began (it ran %s@%s, "
			      "sha256 %.12s; now %s@%s, sha256 %.12s)", ss->run_id, su->name,
			      rs->name, rs->version ? rs->version : "?", rs->hash, su->name,
			      su->version, su->hash);
			ss->bad = 1;
		}
	}
	return 0;
}

/*
 * --resume: the stored run must be unfinished and made with the same config
 * and suites; its id and repeats are taken up. Nothing is written.
 */
static int resume_check(struct history *h, const struct run_cli *o, const struct setup *s,
			struct run_info *prev)
{
	struct stored_suites ss = { s, NULL, 0 };

	if (history_run_resolve(h, o->resume, prev, NULL))
		return -1;
	ss.run_id = prev->id;
	/* a finished run has nothing missing; only its errors can be asked again */
	if (prev->status == RUN_FINISHED && !o->retry_errors) {
		error("--resume %s: the run is finished; --resume continues an interrupted or "
		      "failed run (--retry-errors asks its errored cases again)", prev->id);
		goto out_release;
	}
	if (!prev->config_hash || strcmp(prev->config_hash, s->cfg.hash)) {
		error("--resume %s: the config changed since the run began (config hash %.12s, "
		      "now %.12s); resume with the config it ran with", prev->id,
		      prev->config_hash ? prev->config_hash : "none", s->cfg.hash);
		goto out_release;
	}
	if (!(o->shard ? prev->shard && !strcmp(prev->shard, o->shard_id) : !prev->shard)) {
		error("--resume %s: the run was started %s%s; resume it with the same --shard",
		      prev->id, prev->shard ? "as shard " : "without --shard",
		      prev->shard ? prev->shard : "");
		goto out_release;
	}
	if (o->repeat && o->repeat != (prev->repeats > 0 ? prev->repeats : 1)) {
		error("--resume %s: the run repeats each case %d times; leave out --repeat or "
		      "give --repeat %d", prev->id, prev->repeats, prev->repeats);
		goto out_release;
	}
	if (history_run_suites(h, prev->id, check_stored_suite, &ss) || ss.bad)
		goto out_release;
	if (prev->status == RUN_RUNNING && run_owner_state(prev) == OWNER_DEAD)
		warning("run %s crashed (its process %ld on %s is gone); resuming it", prev->id,
			prev->owner_pid, prev->owner_host);
	else if (prev->status == RUN_RUNNING && run_owner_state(prev) != OWNER_ALIVE)
		warning("run %s is still marked running (did it crash?); resuming it", prev->id);
	return 0;
out_release:
	run_info_release(prev);
	return -1;
}

/* is the suite directory dir (relative to the config's directory) among the suites run? */
static int suite_dir_run(const struct setup *s, const char *dir)
{
	struct strbuf path = STRBUF_INIT;
	const char *slash = strrchr(s->cfg.path, '/');
	char *want, *got;
	size_t k;
	int found = 0;

	if (dir[0] != '/' && slash)
		strbuf_add(&path, s->cfg.path, (size_t)(slash - s->cfg.path + 1));
	strbuf_addstr(&path, dir);
	want = realpath(path.buf, NULL);
	for (k = 0; want && !found && k < s->n_suites; k++) {
		got = realpath(s->suites[k].dir, NULL);
		found = got && !strcmp(got, want);
		free(got);
	}
	free(want);
	strbuf_release(&path);
	return found;
}

/* did the run take less than the config's suites and cases? */
static int run_partial(const struct run_cli *o, const struct setup *s)
{
	size_t i;

	if (o->tags.n || o->filter_id || o->limit || o->shard)
		return 1;
	/* --suite naming every suite of the config (or a config without a list) is whole */
	for (i = 0; o->suites.n && i < s->cfg.n_suites; i++)
		if (!suite_dir_run(s, s->cfg.suites[i]))
			return 1;
	return 0;
}

/* the run's scope as stored (runs.scope): the suites run and what narrowed them */
static void scope_json(struct strbuf *sb, const struct run_cli *o, const struct setup *s)
{
	struct jsonw w;
	size_t i;

	jsonw_init(&w, sb, 0);
	jsonw_object_begin(&w);
	jsonw_key(&w, "suites");
	jsonw_array_begin(&w);
	for (i = 0; i < s->n_suites; i++)
		jsonw_str(&w, s->suites[i].name);
	jsonw_array_end(&w);
	jsonw_member_bool(&w, "suites_given", o->suites.n > 0);
	jsonw_key(&w, "filter_tags");
	jsonw_array_begin(&w);
	for (i = 0; i < o->tags.n; i++)
		jsonw_str(&w, o->tags.v[i]);
	jsonw_array_end(&w);
	jsonw_member_str(&w, "filter_id", o->filter_id);
	jsonw_member_int(&w, "limit", o->limit);
	jsonw_member_str(&w, "shard", o->shard ? o->shard_id : NULL);
	jsonw_member_bool(&w, "resumed", o->resume != NULL);
	jsonw_member_bool(&w, "partial", run_partial(o, s));
	jsonw_object_end(&w);
}

/* store a new run; its id goes to run_id */
static int begin_run(struct history *h, const struct run_cli *o, const struct setup *s,
		     char *run_id, size_t size, int repeats, const char *policy,
		     const char *shard)
{
	struct strbuf scope = STRBUF_INIT;
	struct run_info ri;
	char started[32];
	int ret;

	run_id_new(run_id, size);
	iso_now(started, sizeof(started));
	memset(&ri, 0, sizeof(ri));
	ri.id = run_id;
	ri.started_at = started;
	ri.status = RUN_RUNNING;
	ri.git_sha = (char *)env_first("EVALGATE_GIT_SHA", "GITHUB_SHA", "CI_COMMIT_SHA");
	ri.git_ref = (char *)env_first("EVALGATE_GIT_REF", "GITHUB_HEAD_REF", "GITHUB_REF_NAME");
	if (!ri.git_ref)
		ri.git_ref = (char *)env_first("CI_COMMIT_REF_NAME", NULL, NULL);
	ri.config_hash = (char *)s->cfg.hash;
	ri.target = s->cfg.target.name;
	ri.version = s->cfg.target.version;
	ri.model = s->cfg.target.model;
	ri.shard = (char *)shard;
	ri.evalgate_version = (char *)EG_VERSION;
	ri.repeats = repeats;
	ri.repeat_policy = (char *)policy;
	scope_json(&scope, o, s);
	ri.scope = scope.buf;
	ri.partial = run_partial(o, s);
	ret = history_run_begin(h, &ri);
	strbuf_release(&scope);
	return ret;
}

/*
 * --resume: take up a stored run (its id into run_id, its repeats) and open
 * the second connection that finds what it already holds
 */
static int resume_run(struct history *h, const struct run_cli *o, const struct setup *s,
		      char *run_id, size_t size, int *repeats, struct history **stored)
{
	struct run_info prev;

	if (resume_check(h, o, s, &prev))
		return -1;
	snprintf(run_id, size, "%s", prev.id);
	*repeats = prev.repeats > 1 ? prev.repeats : 1;
	run_info_release(&prev);
	if (repeat_policy_check(&s->cfg, *repeats))
		return -1;
	*stored = history_open_ro(o->common->history);
	if (!*stored)
		return -1;
	if (history_run_reopen(h, run_id)) {
		history_close(*stored);
		*stored = NULL;
		return -1;
	}
	if (o->retry_errors)
		history_replace_errors(h);
	return 0;
}

/* begin (or resume) the run in the history and record its suites; NULL after reporting */
static struct history *open_run(const struct run_cli *o, const struct setup *s, char *run_id,
				size_t size, int *repeats, const char *policy,
				struct history **stored)
{
	struct history *h;
	size_t i;

	*stored = NULL;
	/* a run to resume is in a history that exists: never create an empty one for it */
	if (o->resume && access(o->common->history, F_OK)) {
		error("--resume %s: history %s: %s", o->resume, o->common->history, strerror(errno));
		return NULL;
	}
	h = history_open(o->common->history);
	if (!h)
		return NULL;
	if (o->resume ? resume_run(h, o, s, run_id, size, repeats, stored)
		      : begin_run(h, o, s, run_id, size, *repeats, policy,
				  o->shard ? o->shard_id : NULL))
		goto out_fail;
	for (i = 0; i < s->n_suites; i++)
		if (history_run_suite(h, run_id, s->suites[i].name, s->suites[i].version,
				      s->suites[i].hash, suite_kind_name(s->suites[i].kind)))
			goto out_fail;
	if (publish_run_id(o, run_id))
		goto out_fail;
	return h;
out_fail:
	history_close(*stored);
	*stored = NULL;
	history_close(h);
	return NULL;
}

/* how a run that ran ended, once gated */
struct run_outcome {
	struct counts all;        /* every result of the run, an earlier attempt's (--resume) too;
				     its errors are the call errors (gates_gateway_counts) */
	enum run_status status;
	enum gate_verdict verdict;
	const char *why;          /* why the verdict is "error", or NULL */
	int failed_gates;
};

/*
 * Count, gate and finish the run in the history, then write its reports.
 * The run's results are counted once (its tally): the summary, the gates
 * that need only counts and the counts stored with the run read that.
 * 0, 1 when a report could not be written, -1 when the history failed.
 */
static int conclude(struct history *h, const char *run_id, const struct run_cli *o,
		    const struct setup *s, struct run_stats *st, int run_rc, int repeats,
		    struct run_outcome *out)
{
	int color = common_opts_color(o->common, stdout);
	struct run_tally t;
	int ret = -1;

	/* counted as the results were written, or read back from the history */
	if (st->tally) {
		t = *st->tally;
		free(st->tally);
		st->tally = NULL;
	} else if (history_run_tally(h, run_id, &t)) {
		return -1;
	}
	gates_tally_gateway_counts(&t, &out->all);
	out->status = st->interrupted ? RUN_INTERRUPTED
		      : (st->fatal || run_rc) ? RUN_FAILED
		      : st->budget_exhausted ? RUN_BUDGET_EXHAUSTED : RUN_FINISHED;
	print_summary(h, run_id, s, &t, st, repeats);
	out->failed_gates = gates_apply_tallied(h, run_id, &s->gates, &t,
						eg_verbosity >= 0 ? stdout : NULL, color);
	if (out->failed_gates < 0)
		goto out_release;
	out->verdict = gates_verdict(out->status, &out->all, s->cfg.gateway.max_error_rate,
				     out->failed_gates, &out->why);
	if (history_run_finish_tallied(h, run_id, out->status, gate_verdict_name(out->verdict),
				       &t.cases))
		goto out_release;
	ret = write_reports(h, run_id, o) ? 1 : 0;
out_release:
	run_tally_release(&t);
	return ret;
}

/* print the verdict line of a concluded run and give its exit code */
static int verdict_exit(const struct run_cli *o, const struct setup *s, const char *run_id,
			const struct run_stats *st, int run_rc, int repeats,
			const struct run_outcome *out)
{
	const char *what = repeats > 1 ? "results" : "cases";
	int rc;

	if (st->interrupted) {
		printf("verdict: INTERRUPTED (%ld of %ld %s stored in run %s; continue it with "
		       "--resume %s)\n", st->done + st->skipped, st->total, what, run_id, run_id);
		return EG_EXIT_INTERRUPTED;
	}
	if (st->fatal) {
		error("the gateway could not be used: %s", st->fatal_msg);
		gates_print_verdict(stdout, VERDICT_ERROR, "gateway", 0, 0, 0);
		return EG_EXIT_INFRA;
	}
	if (run_rc)
		return EG_EXIT_INFRA;
	if (st->budget_exhausted) {
		printf("verdict: BUDGET EXHAUSTED (%ld of %ld %s stored in run %s, spent $%.4f and "
		       "%ld tokens; the cases were taken in a seeded random order, so those stored "
		       "are an unbiased sample, not complete evidence; continue it with --resume %s "
		       "and a higher cap)\n", st->done + st->skipped, st->total, what, run_id,
		       st->cost_usd, st->tokens, run_id);
		return EG_EXIT_BUDGET;
	}
	if (out->verdict == VERDICT_ERROR) {
		/* the run finished: its errors are over gateway.max_error_rate */
		error("%ld of %ld %s ended in a call error (%.1f%%), over gateway.max_error_rate %.1f%%",
		      out->all.error, out->all.n, what,
		      out->all.n ? 100.0 * (double)out->all.error / (double)out->all.n : 0.0,
		      100 * s->cfg.gateway.max_error_rate);
		gates_print_verdict(stdout, out->verdict, out->why, 0, 0, 0);
		return EG_EXIT_INFRA;
	}
	gates_print_verdict(stdout, out->verdict, NULL, out->failed_gates, s->gates.n,
			    common_opts_color(o->common, stdout));
	rc = out->failed_gates ? EG_EXIT_GATE : EG_EXIT_OK;
	if (o->promote) {
		int prc = eg_exit_code(registry_run_promote(&s->cfg, o->common->history, run_id,
							    o->promote));

		if (prc > rc)
			rc = prc;
	}
	return rc;
}

/* the plan of the scheduler for this run */
static void plan_init(struct run_plan *plan, const struct run_cli *o, const struct setup *s,
		      const char *run_id, const char *api_key, struct history *h,
		      struct history *stored, int concurrency, int repeats)
{
	memset(plan, 0, sizeof(*plan));
	plan->cfg = &s->cfg;
	plan->target = &s->target;
	plan->suites = s->suites;
	plan->n_suites = s->n_suites;
	plan->filter = &s->filter;
	plan->run_id = run_id;
	plan->api_key = api_key;
	plan->history = h;
	plan->cache_path = cache_path_for(o->common->history);
	plan->concurrency = concurrency;
	plan->no_cache = o->no_cache;
	plan->cache_only = o->cache_only;
	plan->repeats = repeats;
	plan->stored = stored;
	plan->retry_errors = o->retry_errors;
	plan->progress = o->common->quiet ? PROGRESS_NONE
			 : isatty(STDERR_FILENO) ? PROGRESS_TTY : PROGRESS_LINES;
	plan->gw = o->gw;
	plan->label = o->label;
	run_cap(o, s, &plan->max_cost_usd, &plan->max_tokens);
	plan->seeded = plan->max_cost_usd > 0 || plan->max_tokens > 0 || o->seed >= 0;
	plan->seed = (unsigned long long)(o->seed >= 0 ? o->seed : RUN_DEFAULT_SEED);
}

/* the gateway's API key from the environment (NULL when none is needed); -1 after reporting */
static int api_key_get(const struct run_cli *o, const struct setup *s, const char **key)
{
	*key = NULL;
	if (s->cfg.gateway.api_key_env && !o->cache_only) {
		*key = getenv(s->cfg.gateway.api_key_env);
		/* a dry run calls nothing: it says what a real run would need */
		if ((!*key || !**key) && o->dry_run)
			warning("%s: gateway.api_key_env: environment variable %s is not set; a "
				"run would stop here", s->cfg.path, s->cfg.gateway.api_key_env);
		else if (!*key || !**key)
			return error("%s: gateway.api_key_env: environment variable %s is not set",
				     s->cfg.path, s->cfg.gateway.api_key_env);
	}
	if (s->cfg.gateway.unresolved && o->dry_run)
		warning("%s; a run would stop here", s->cfg.gateway.unresolved);
	else if (config_gateway_ready(&s->cfg))
		return -1;
	return 0;
}

/*
 * --rescore RUN: the stored run whose answers are scored again (its id into
 * from, its repeats) and a read connection to them; -1 after reporting
 */
static int rescore_source(const struct run_cli *o, char *from, size_t size, int *repeats,
			  struct history **answers)
{
	struct run_info ri;
	struct history *h;
	int ret = -1;

	if (access(o->common->history, F_OK))
		return error("rescore %s: history %s: %s", o->rescore, o->common->history,
			     strerror(errno));
	h = history_open_ro(o->common->history);
	if (!h)
		return -1;
	if (history_run_resolve(h, o->rescore, &ri, NULL))
		goto out_close;
	snprintf(from, size, "%s", ri.id);
	*repeats = ri.repeats > 1 ? ri.repeats : 1;
	run_info_release(&ri);
	*answers = h;
	return 0;
out_close:
	history_close(h);
	return ret;
}

/* --resume under a cap: what the run already spent counts in it; -1 after reporting */
static int resume_spent(struct history *h, const char *run_id, struct run_plan *plan)
{
	if (!plan->max_cost_usd && !plan->max_tokens)
		return 0;
	return history_run_spend(h, run_id, &plan->spent_cost_usd, &plan->spent_tokens);
}

/* the re-asks of flip confirmation (confirm.h), made through the run's plan */
static int reask_cases(void *arg, const struct confirm_case *cases, size_t n, int sample,
		       long *asked)
{
	const struct run_plan *plan = arg;
	struct reask_case *rc = xcalloc(n + 1, sizeof(*rc));
	struct run_stats st;
	size_t i;
	int ret;

	for (i = 0; i < n; i++) {
		rc[i].suite = cases[i].suite;
		rc[i].case_id = cases[i].case_id;
	}
	ret = run_reask(plan, rc, n, sample, &st);
	*asked = st.done;
	free(rc);
	if (ret)
		return -1;
	return st.interrupted || st.fatal;
}

static void *gateway_free_main(void *gw)
{
	gateway_free(gw);
	return NULL;
}

static int execute(struct run_cli *o, struct setup *s)
{
	struct run_plan plan;
	struct run_stats st;
	struct run_outcome out;
	struct history *h, *stored, *answers = NULL;
	struct gateway *gw = NULL;
	char run_id[64], policy[32], from[64];
	const char *api_key = NULL;
	int run_rc, concluded, concurrency, repeats, closing;
	pthread_t closer;

	concurrency = o->concurrency ? (int)o->concurrency : s->cfg.gateway.concurrency;
	/* the gateway client's requests in flight too, not only the jobs started */
	s->cfg.gateway.concurrency = concurrency;
	repeats = o->repeat ? (int)o->repeat : 1;
	/* a resumed run keeps its repeats, checked when it began */
	if (!o->resume && repeat_policy_check(&s->cfg, repeats))
		return EG_EXIT_USAGE;
	repeat_policy_format(&s->cfg.repeat_policy, policy, sizeof(policy));
	if (api_key_get(o, s, &api_key))
		return EG_EXIT_USAGE;
	if (o->dry_run) {
		print_plan(s, o, concurrency, repeats);
		if (print_estimate(o, s, repeats))
			return EG_EXIT_USAGE;
		printf("nothing was called (--dry-run)\n");
		return EG_EXIT_OK;
	}
	if (o->rescore && rescore_source(o, from, sizeof(from), &repeats, &answers))
		return EG_EXIT_USAGE;
	/*
	 * the gateway client before the run is recorded: when it cannot be made
	 * (libcurl does not load), nothing is written
	 */
	if (!o->gw) {
		gw = gateway_new(&s->cfg.gateway, api_key);
		if (!gw) {
			history_close(answers);
			return EG_EXIT_USAGE;
		}
	}
	h = open_run(o, s, run_id, sizeof(run_id), &repeats, policy, &stored);
	if (!h || (answers && history_set_rescored_from(h, run_id, from))) {
		history_close(answers);
		history_close(stored);
		history_close(h);
		gateway_free(gw);
		return EG_EXIT_USAGE;
	}
	if (answers)
		info("run %s: scoring the stored answers of run %s again (the target is not called)",
		     run_id, from);
	snprintf(o->run_id, sizeof(o->run_id), "%s", run_id);
	info("run %s: %s%zu suite%s, target %s@%s", run_id, stored ? "resuming, " : "",
	     s->n_suites, s->n_suites == 1 ? "" : "s", s->cfg.target.name, s->cfg.target.version);
	if (repeats > 1)
		info("each case runs %d times; a case passes by repeat_policy %s", repeats, policy);

	plan_init(&plan, o, s, run_id, api_key, h, stored, concurrency, repeats);
	if (gw)
		plan.gw = gw;
	plan.answers = answers;
	plan.answers_run = from;
	if (stored && resume_spent(h, run_id, &plan)) {
		free((char *)plan.cache_path);
		history_close(stored);
		history_close(h);
		gateway_free(gw);
		return EG_EXIT_USAGE;
	}
	if (plan.max_cost_usd > 0 && s->cfg.target.model &&
	    !config_price(&s->cfg, s->cfg.target.model))
		warning("--max-cost-usd: prices has no price for model %s: its calls count as "
			"nothing against the cap", s->cfg.target.model);
	run_signals_install();
	run_rc = run_execute(&plan, &st);
	if (!run_rc && !st.interrupted && !st.fatal && !st.budget_exhausted && !answers &&
	    confirm_run(h, run_id, &s->gates, repeats, st.total, reask_cases, &plan))
		run_rc = -1;
	/*
	 * Nothing calls the gateway from here on. Its connections close while
	 * the run is counted and gated: 256 of them took 15 to 25 ms, each
	 * close sending its FIN and waking the server's side.
	 */
	closing = !pthread_create(&closer, NULL, gateway_free_main, gw);
	if (!closing)
		gateway_free(gw);
	free((char *)plan.cache_path);
	history_close(stored);
	history_close(answers);
	concluded = conclude(h, run_id, o, s, &st, run_rc, repeats, &out);
	history_close(h);
	if (closing)
		pthread_join(closer, NULL);
	if (concluded < 0)
		return EG_EXIT_INFRA;
	return verdict_exit(o, s, run_id, &st, run_rc || concluded, repeats, &out);
}

/* --baseline REF replaces the baseline of every regression gate */
static int baseline_option(struct setup *s, const char *ref)
{
	const char *why;
	size_t i;

	if (!baseline_ref_valid(ref, &why))
		return error("--baseline '%s': %s", ref, why);
	for (i = 0; i < s->gates.n && strcmp(s->gates.v[i].type->name, "regression"); i++)
		;
	if (i == s->gates.n)
		warning("--baseline %s: %s has no regression gate, so no comparison is made", ref,
			s->cfg.path);
	s->gates.baseline_override = ref;
	return 0;
}

/* FILE.EXT as FILE.NAME.EXT (FILE.NAME without an extension): a variant's own report */
static char *variant_path(const char *path, const char *name)
{
	const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
	struct strbuf sb = STRBUF_INIT;

	if (!dot || (slash && dot < slash) || dot == (slash ? slash + 1 : path))
		dot = path + strlen(path);
	strbuf_add(&sb, path, (size_t)(dot - path));
	strbuf_addf(&sb, ".%s%s", name, dot);
	return strbuf_detach(&sb, NULL);
}

/*
 * Every variant in turn through one gateway client, then the matrix. Every
 * variant's config is loaded and checked before anything runs. The exit
 * code is the worst of the runs'.
 */
static int run_variants(struct run_cli *o, const struct setup *base, const struct setup_args *sa,
			const struct variants *vs)
{
	struct setup *su = xcalloc(vs->n, sizeof(*su));
	struct variant_run *runs = xcalloc(vs->n, sizeof(*runs));
	struct history *h;
	const char *api_key;
	size_t i, loaded = 0;
	int rc = EG_EXIT_USAGE, worst = EG_EXIT_OK;

	for (i = 0; i < vs->n; i++, loaded++) {
		if (variant_setup(&su[i], sa, &base->cfg, &vs->v[i])) {
			loaded++;
			goto out;
		}
		if (o->baseline && baseline_option(&su[i], o->baseline)) {
			loaded++;
			goto out;
		}
	}
	if (api_key_get(o, base, &api_key))
		goto out;
	if (!o->dry_run) {
		/* one client for every variant: --concurrency bounds its requests in flight */
		struct eg_gateway_cfg gw = base->cfg.gateway;

		if (o->concurrency)
			gw.concurrency = (int)o->concurrency;
		o->gw = gateway_new(&gw, api_key);
		if (!o->gw)
			goto out_loaded;
	}
	for (i = 0; i < vs->n; i++) {
		struct run_cli vo = *o;
		char *junit = o->junit ? variant_path(o->junit, vs->v[i].name) : NULL;
		int vrc;

		vo.junit = junit;
		vo.markdown = vo.html = vo.json = NULL;
		vo.label = vs->v[i].name;
		if (!o->common->quiet)
			printf("%svariant %s\n", i ? "\n" : "", vs->v[i].name);
		fflush(stdout);
		vrc = execute(&vo, &su[i]);
		free(junit);
		runs[i].name = vs->v[i].name;
		runs[i].exit_code = vrc;
		snprintf(runs[i].run_id, sizeof(runs[i].run_id), "%s", vo.run_id);
		if (vrc > worst)
			worst = vrc;
		if (vrc == EG_EXIT_INTERRUPTED)
			break;
	}
	rc = worst;
	if (o->dry_run || rc == EG_EXIT_INTERRUPTED)
		goto out_loaded;
	if (!o->common->quiet)
		putchar('\n');
	h = history_open(o->common->history);
	if (!h || variants_matrix(h, runs, i, o->common->quiet, o->markdown, o->html, o->json))
		rc = rc > EG_EXIT_INFRA ? rc : EG_EXIT_INFRA;
	history_close(h);
out_loaded:
	loaded = vs->n;
out:
	for (i = 0; i < loaded; i++)
		setup_release(&su[i]);
	if (o->gw)
		gateway_free(o->gw);
	o->gw = NULL;
	free(su);
	free(runs);
	return rc;
}

int cmd_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct run_cli o;
	struct setup s;
	struct variants vs;
	struct setup_args sa = { 0 };
	int nops, rc = EG_EXIT_USAGE;
	const struct option opts[] = {
		OPT_LIST_(0, "suite", &o.suites, "DIR", "a suite directory (repeatable; default: the config's list)"),
		OPT_STRING_(0, "junit", &o.junit, "FILE", "write a JUnit XML report"),
		OPT_STRING_(0, "html", &o.html, "FILE", "write a self-contained HTML report"),
		OPT_STRING_(0, "markdown", &o.markdown, "FILE", "write a Markdown summary (also appended to $GITHUB_STEP_SUMMARY when set)"),
		OPT_STRING_(0, "json", &o.json, "FILE", "write the whole run as JSON (reports/report.schema.json)"),
		OPT_INT_(0, "html-max-details", &o.html_max_details, "N", "passing results with details in the HTML (default 5000)", 0, 100000000L),
		OPT_INT_(0, "junit-max-passed", &o.junit_max_passed, "N",
			 "passing testcases in the JUnit report (default 50000; -1: all)", -1,
			 100000000000L),
		OPT_FLAG_(0, "no-step-summary", &o.no_step_summary, "do not append the Markdown to $GITHUB_STEP_SUMMARY"),
		OPT_INT_(0, "concurrency", &o.concurrency, "N", "requests in flight (default: gateway.concurrency)", 1, 4096),
		OPT_FLAG_(0, "no-cache", &o.no_cache, "neither read nor write the response cache"),
		OPT_FLAG_(0, "cache-only", &o.cache_only, "answer only from the cache; a miss is an error"),
		OPT_LIST_(0, "filter-tag", &o.tags, "TAG", "only cases with this tag (repeatable: any of them)"),
		OPT_STRING_(0, "filter-id", &o.filter_id, "REGEX", "only cases whose id matches"),
		OPT_INT_(0, "limit", &o.limit, "N", "at most N cases per suite", 1, 1000000000L),
		OPT_INT_(0, "repeat", &o.repeat, "N", "run each case N times (repeat_policy decides a case's verdict)", 1, 1000),
		OPT_STRING_(0, "resume", &o.resume, "ID", "continue an interrupted or failed run: only what it lacks is run"),
		OPT_FLAG_(0, "retry-errors", &o.retry_errors, "with --resume: also ask again the cases whose stored result is an error; the new result replaces it"),
		OPT_STRING_(0, "promote", &o.promote, "ALIAS", "after a passing run, promote the target to ALIAS (registry)"),
		OPT_STRING_(0, "shard", &o.shard, "I/N", "only shard I of N of the cases (stable hash of suite and case id)"),
		OPT_FLAG_(0, "dry-run", &o.dry_run, "load and validate, print the plan and the cost estimate from the history, call nothing"),
		OPT_STRING_(0, "max-cost-usd", &o.max_cost, "X", "spend cap in USD at prices: take no new case once reached (exit 4, run budget_exhausted)"),
		OPT_INT_(0, "max-tokens", &o.max_tokens, "N", "spend cap in tokens (target and scorer calls)", 1, 1000000000000000L),
		OPT_STRING_(0, "rescore", &o.rescore, "RUN", "score the answers stored in RUN again with the current scorers; the target is not called (evalgate rescore)"),
		OPT_INT_(0, "seed", &o.seed, "N", "seed of the case order (taken shuffled with a cap; default 1)", 0, 2147483647L),
		OPT_STRING_(0, "baseline", &o.baseline, "REF", "baseline of the regression gates: run id, latest, latest:GITREF, alias:NAME"),
		OPT_LIST_(0, "variant", &o.variants, "NAME=JSON|FILE", "run the suites once per variant, each an override of the target ({\"target\": {...}, \"prompt\": FILE}; repeatable; "
			  "replaces the config's variants); --markdown, --html and --json then write the variants' matrix"),
		OPT_STRING_(0, "run-id-file", &o.run_id_file, "FILE", "write the run id to FILE (one line, replaced atomically) once the run is stored; "
			    "with $GITHUB_OUTPUT set, run-id=ID is also appended to it"),
		OPT_END_(),
	};

	memset(&o, 0, sizeof(o));
	o.html_max_details = REPORT_HTML_MAX_DETAILS;
	o.junit_max_passed = REPORT_JUNIT_MAX_PASSED;
	o.seed = -1;
	nops = cmd_start(ctx, argc, argv, opts, usage);
	if (nops < 0) {
		rc = ctx->rc;
		goto out;
	}
	o.common = &ctx->common;
	if (nops > 0) {
		error("run takes no operands ('%s'); use --suite DIR", argv[0]);
		goto out;
	}
	if (outputs_check(&o))
		goto out;
	if (o.promote && !promotion_alias_ok(o.promote)) {
		error("--promote: '%s' is not an alias name (letters, digits, _ and -; "
		      "not 'latest' nor v<digits>)", o.promote);
		goto out;
	}
	if (o.no_cache && o.cache_only) {
		error("--no-cache and --cache-only cannot be used together");
		goto out;
	}
	if (o.cache_only && o.repeat > 1) {
		error("--cache-only cannot be used with --repeat: repeats after the first are "
		      "always asked of the gateway");
		goto out;
	}
	if (o.max_cost) {
		char *end;
		double v = strtod(o.max_cost, &end);

		if (end == o.max_cost || *end || !(v > 0) || v > 1e9) {
			error("--max-cost-usd: '%s' is not an amount in USD (a number over 0)",
			      o.max_cost);
			goto out;
		}
	}
	if (o.rescore && (o.resume || o.repeat || o.cache_only || o.dry_run)) {
		error("--rescore cannot be used with --resume, --repeat, --cache-only or --dry-run");
		goto out;
	}
	if (o.retry_errors && !o.resume) {
		error("--retry-errors needs --resume ID");
		goto out;
	}
	if (o.resume && o.dry_run) {
		error("--resume and --dry-run cannot be used together");
		goto out;
	}
	sa.common = &ctx->common;
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
	if (o.baseline && baseline_option(&s, o.baseline)) {
		setup_release(&s);
		goto out;
	}
	if (variants_load(&vs, &s.cfg, &o.variants)) {
		setup_release(&s);
		goto out;
	}
	if (vs.n && (o.resume || o.promote || o.run_id_file))
		error("--variant and the config's variants cannot be used with %s",
		      o.resume ? "--resume" : o.promote ? "--promote" : "--run-id-file");
	else
		rc = vs.n ? run_variants(&o, &s, &sa, &vs) : execute(&o, &s);
	variants_release(&vs);
	setup_release(&s);
out:
	opt_list_release(&o.variants);
	opt_list_release(&o.suites);
	opt_list_release(&o.tags);
	return rc;
}
