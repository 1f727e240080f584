/* runs: list, show, export and import stored runs */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "error.h"
#include "export.h"
#include "gate.h"
#include "history.h"
#include "jsonw.h"
#include "opts.h"
#include "strbuf.h"
#include "banned.h"

static const char usage[] =
	"usage: evalgate runs list [--target NAME] [--suite NAME] [--ref REF] [--status S]\n"
	"                           [--limit N] [--json]\n"
	"       evalgate runs show ID|latest [--json]\n"
	"       evalgate runs gate ID|latest [--config FILE]\n"
	"       evalgate runs export ID|latest FILE|-\n"
	"       evalgate runs import FILE|- [--replace]";

/* the run's members and its counts, into the object being written */
static void run_json_members(struct jsonw *w, const struct run_info *ri)
{
	export_run_members(w, ri);
	jsonw_member_int(w, "cases", ri->n_cases);
	jsonw_member_int(w, "pass", ri->n_pass);
	jsonw_member_int(w, "fail", ri->n_fail);
	jsonw_member_int(w, "error", ri->n_error);
}

/* one line of the listing; w: the JSON array being written into sb, or NULL for text */
static void list_one(const struct run_info *ri, struct jsonw *w, struct strbuf *sb)
{
	if (w) {
		jsonw_object_begin(w);
		run_json_members(w, ri);
		jsonw_object_end(w);
		fputs(sb->buf, stdout);
		strbuf_reset(sb);
	} else {
		char tv[160];
		snprintf(tv, sizeof(tv), "%s@%s", ri->target ? ri->target : "?",
			 ri->version ? ri->version : "?");
		printf("%-24s %-20s %-11s %-7s %-28s %6ld %6ld %6ld %6ld\n", ri->id,
		       ri->started_at ? ri->started_at : "", run_state_name(ri),
		       ri->verdict ? ri->verdict : "-", tv, ri->n_cases, ri->n_pass, ri->n_fail,
		       ri->n_error);
	}
}

static int suite_json(const struct run_suite *s, void *arg)
{
	struct jsonw *w = arg;

	jsonw_object_begin(w);
	jsonw_member_str(w, "name", s->name);
	jsonw_member_str(w, "version", s->version);
	jsonw_member_str(w, "hash", s->hash);
	jsonw_member_str(w, "kind", s->kind);
	jsonw_member_int(w, "results", s->n_cases);
	jsonw_object_end(w);
	return 0;
}

/* numbers: null for NaN (unknown) and the infinities JSON has no word for */
static int gate_json(const struct gate_row *g, void *arg)
{
	struct jsonw *w = arg;

	jsonw_object_begin(w);
	jsonw_member_str(w, "name", g->name);
	jsonw_member_str(w, "metric", g->metric);
	jsonw_member_str(w, "scope", g->scope);
	jsonw_member_num(w, "value", g->value);
	jsonw_member_str(w, "op", g->op);
	jsonw_member_num(w, "threshold", g->threshold);
	jsonw_member_bool(w, "pass", g->pass);
	jsonw_member_num(w, "lo", g->lo);
	jsonw_member_num(w, "hi", g->hi);
	jsonw_member_int(w, "n", g->n);
	jsonw_member_str(w, "detail", g->detail);
	jsonw_object_end(w);
	return 0;
}

static int show_suite(const struct run_suite *s, void *arg)
{
	printf("  suite %s@%s (%s) sha256 %.12s: %ld results\n", s->name, s->version,
	       s->kind ? s->kind : "?", s->hash ? s->hash : "", s->n_cases);
	(void)arg;
	return 0;
}

static int show_gate(const struct gate_row *g, void *arg)
{
	char value[64];

	gate_format_value(g->metric, g->value, value, sizeof(value));
	printf("  %s  %-36s %10s %s %g", g->pass ? "PASS" : "FAIL", g->name, value,
	       g->op ? g->op : "?", g->threshold);
	if (g->detail)
		printf("  (%s)", g->detail);
	putchar('\n');
	(void)arg;
	return 0;
}

static int runs_list(struct history *h, const struct run_filter *f, int json)
{
	struct strbuf sb = STRBUF_INIT;
	struct jsonw w;
	struct run_iter it;
	const struct run_info *ri;
	int rc;

	jsonw_init(&w, &sb, 0);
	if (json) {
		jsonw_array_begin(&w);
		fputs(sb.buf, stdout);
		strbuf_reset(&sb);
	} else {
		printf("%-24s %-20s %-11s %-7s %-28s %6s %6s %6s %6s\n", "id", "started", "status",
		       "verdict", "target", "cases", "pass", "fail", "error");
	}
	rc = history_runs_begin(h, f, &it);
	if (!rc)
		while ((rc = history_runs_next(&it, &ri)) > 0)
			list_one(ri, json ? &w : NULL, &sb);
	history_runs_end(&it);
	if (json) {
		jsonw_array_end(&w);
		puts(sb.buf);
	}
	strbuf_release(&sb);
	return rc < 0 ? -1 : 0;
}

/* the run, its suites and its gate results as one JSON object */
static int show_json(struct history *h, const struct run_info *ri)
{
	struct strbuf sb = STRBUF_INIT;
	struct jsonw w;
	int ret = -1;

	jsonw_init(&w, &sb, 0);
	jsonw_object_begin(&w);
	run_json_members(&w, ri);
	jsonw_member_str(&w, "shard", ri->shard);
	jsonw_member_str(&w, "config_hash", ri->config_hash);
	jsonw_member_str(&w, "evalgate_version", ri->evalgate_version);
	jsonw_member_int(&w, "repeats", ri->repeats > 0 ? ri->repeats : 1);
	jsonw_member_str(&w, "repeat_policy", ri->repeat_policy ? ri->repeat_policy : "all");
	jsonw_key(&w, "suites");
	jsonw_array_begin(&w);
	if (history_run_suites(h, ri->id, suite_json, &w))
		goto out;
	jsonw_array_end(&w);
	jsonw_key(&w, "gates");
	jsonw_array_begin(&w);
	if (history_gates(h, ri->id, gate_json, &w))
		goto out;
	jsonw_array_end(&w);
	jsonw_object_end(&w);
	puts(sb.buf);
	ret = 0;
out:
	strbuf_release(&sb);
	return ret;
}

/* who writes a running run, and how to take it up when it crashed */
static void show_owner(const struct run_info *ri)
{
	static const char *const state[] = {
		[OWNER_NONE] = "not recorded",
		[OWNER_ALIVE] = "alive",
		[OWNER_DEAD] = "gone",
		[OWNER_UNKNOWN] = "unknown (another host)",
	};
	enum run_owner o = run_owner_state(ri);

	if (o == OWNER_NONE)
		return;
	printf("  owner pid %ld on %s since %s: %s\n", ri->owner_pid, ri->owner_host,
	       ri->owner_since ? ri->owner_since : "?", state[o]);
	if (o == OWNER_DEAD)
		printf("  the run crashed; resume it with `evalgate run --resume %s`\n", ri->id);
}

/* the concurrency timeline's summary: each pool's limits, 429s and back-offs, on one line */
static void show_timeline(struct history *h, const struct run_info *ri)
{
	struct run_timeline tl;
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	if (history_timeline_load(h, ri->id, &tl))
		return;
	for (i = 0; i < tl.n_pools; i++) {
		strbuf_addstr(&sb, i ? "; " : "  concurrency: ");
		timeline_pool_summary(&sb, &tl.pools[i]);
	}
	if (sb.len)
		puts(sb.buf);
	strbuf_release(&sb);
	run_timeline_release(&tl);
}

static int runs_show(struct history *h, const char *ref, int json)
{
	struct run_info ri;

	if (history_run_resolve(h, ref, &ri, NULL))
		return -1;
	if (json) {
		int rc = show_json(h, &ri);

		run_info_release(&ri);
		return rc;
	}
	printf("run %s\n", ri.id);
	printf("  target %s@%s, model %s\n", ri.target, ri.version, ri.model);
	printf("  started %s, finished %s, status %s, verdict %s\n", ri.started_at,
	       ri.finished_at ? ri.finished_at : "-", run_state_name(&ri),
	       ri.verdict ? ri.verdict : "-");
	if (ri.status == RUN_RUNNING)
		show_owner(&ri);
	if (ri.git_sha || ri.git_ref)
		printf("  git %s %s\n", ri.git_ref ? ri.git_ref : "", ri.git_sha ? ri.git_sha : "");
	printf("  %ld cases: %ld pass, %ld fail, %ld error\n", ri.n_cases, ri.n_pass, ri.n_fail,
	       ri.n_error);
	if (ri.repeats > 1)
		printf("  repeats %d, repeat_policy %s, %ld flaky cases\n", ri.repeats,
		       ri.repeat_policy ? ri.repeat_policy : "all",
		       history_flaky_cases(h, ri.id, NULL, NULL));
	show_timeline(h, &ri);
	history_run_suites(h, ri.id, show_suite, NULL);
	history_gates(h, ri.id, show_gate, NULL);
	run_info_release(&ri);
	return 0;
}

/* what the options say, for every subcommand */
struct runs_args {
	struct run_filter filter;  /* list */
	const char *history;       /* the file, for messages */
	int json;                  /* list, show */
	int replace;               /* import */
};

static int sub_list(struct cmd_ctx *ctx, char **argv, int nops, void *opts)
{
	const struct runs_args *a = opts;

	return runs_list(ctx->h, &a->filter, a->json) ? EG_EXIT_USAGE : EG_EXIT_OK;
}

static int sub_show(struct cmd_ctx *ctx, char **argv, int nops, void *opts)
{
	const struct runs_args *a = opts;

	return runs_show(ctx->h, argv[1], a->json) ? EG_EXIT_USAGE : EG_EXIT_OK;
}

static int sub_gate(struct cmd_ctx *ctx, char **argv, int nops, void *opts)
{
	return cmd_gate_run(ctx, argv[1]);
}

static int sub_export(struct cmd_ctx *ctx, char **argv, int nops, void *opts)
{
	return run_export(ctx->h, argv[1], argv[2]) ? EG_EXIT_USAGE : EG_EXIT_OK;
}

static int sub_import(struct cmd_ctx *ctx, char **argv, int nops, void *opts)
{
	const struct runs_args *a = opts;
	char *id = NULL;

	if (run_import(ctx->h, argv[1], a->replace, &id))
		return EG_EXIT_USAGE;
	info("imported run %s into %s", id, a->history);
	free(id);
	return EG_EXIT_OK;
}

static const struct subcommand runs_subs[] = {
	{ "list", sub_list, 0, 0, CMD_HISTORY, "no operands" },
	{ "show", sub_show, 1, 1, CMD_HISTORY, "one run id (or 'latest')" },
	{ "gate", sub_gate, 1, 1, CMD_CONFIG | CMD_GATES | CMD_HISTORY_WRITE,
	  "one run id (or 'latest')" },
	{ "export", sub_export, 2, 2, CMD_HISTORY,
	  "a run id (or 'latest') and a file ('-': standard output)" },
	{ "import", sub_import, 1, 1, CMD_HISTORY_CREATE, "one file ('-': standard input)" },
};

static int check_status(const char *s)
{
	int st;

	if (!s)
		return 0;
	for (st = RUN_RUNNING; st <= RUN_STATUS_LAST; st++)
		if (!strcmp(s, run_status_name((enum run_status)st)))
			return 0;
	return error("--status: '%s' is not a run status (running, finished, interrupted, "
		     "failed, budget_exhausted)", s);
}

int cmd_runs(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct runs_args a = { { .newest_first = 1 }, NULL, 0, 0 };
	long limit = 0;
	int nops;
	const struct option opts[] = {
		OPT_STRING_(0, "target", &a.filter.target, "NAME", "list only runs of this target"),
		OPT_STRING_(0, "suite", &a.filter.suite, "NAME",
			    "list only runs that include this suite"),
		OPT_STRING_(0, "ref", &a.filter.git_ref, "REF", "list only runs of this git ref"),
		OPT_STRING_(0, "status", &a.filter.status, "S",
			    "list only runs with this status (running, finished, interrupted, failed, budget_exhausted)"),
		OPT_INT_(0, "limit", &limit, "N", "list at most N runs", 1, 1000000000L),
		OPT_FLAG_(0, "json", &a.json, "machine-readable output (show: the run with its "
			  "suites and gate results)"),
		OPT_FLAG_(0, "replace", &a.replace, "import: overwrite a run with the same id"),
		OPT_END_(),
	};

	nops = cmd_start(ctx, argc, argv, opts, usage);
	if (nops < 0)
		return ctx->rc;
	if (check_status(a.filter.status))
		return EG_EXIT_USAGE;
	a.filter.limit = limit > 0 ? (size_t)limit : 0;
	a.history = ctx->common.history;
	return cmd_dispatch(ctx, runs_subs, sizeof(runs_subs) / sizeof(runs_subs[0]), argv, nops,
			    &a);
}
