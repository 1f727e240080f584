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

static void json_field(struct strbuf *sb, const char *key, const char *v, int comma)
{
	if (comma)
		strbuf_addch(sb, ',');
	strbuf_add_json_str(sb, key, strlen(key));
	strbuf_addch(sb, ':');
	if (v)
		strbuf_add_json_str(sb, v, strlen(v));
	else
		strbuf_addstr(sb, "null");
}

/* a number, or null for NaN (unknown) and the infinities JSON has no word for */
static void json_num(struct strbuf *sb, const char *key, double v)
{
	strbuf_addf(sb, ",\"%s\":", key);
	if (!isfinite(v))
		strbuf_addstr(sb, "null");
	else
		strbuf_addf(sb, "%.17g", v);
}

/* the run's members, without the closing brace */
static void run_json_members(struct strbuf *sb, const struct run_info *ri)
{
	strbuf_addch(sb, '{');
	json_field(sb, "id", ri->id, 0);
	json_field(sb, "started_at", ri->started_at, 1);
	json_field(sb, "finished_at", ri->finished_at, 1);
	json_field(sb, "status", run_status_name(ri->status), 1);
	json_field(sb, "verdict", ri->verdict, 1);
	json_field(sb, "target", ri->target, 1);
	json_field(sb, "version", ri->version, 1);
	json_field(sb, "model", ri->model, 1);
	json_field(sb, "git_sha", ri->git_sha, 1);
	json_field(sb, "git_ref", ri->git_ref, 1);
	strbuf_addf(sb, ",\"cases\":%ld,\"pass\":%ld,\"fail\":%ld,\"error\":%ld", ri->n_cases,
		    ri->n_pass, ri->n_fail, ri->n_error);
}

static void list_one(const struct run_info *ri, int json, int first, struct strbuf *sb)
{
	if (json) {
		if (!first)
			strbuf_addch(sb, ',');
		run_json_members(sb, ri);
		strbuf_addch(sb, '}');
		fputs(sb->buf, stdout);
		strbuf_reset(sb);
	} else {
		char tv[160];
		snprintf(tv, sizeof(tv), "%s@%s", ri->target ? ri->target : "?",
			 ri->version ? ri->version : "?");
		printf("%-24s %-20s %-11s %-7s %-28s %6ld %6ld %6ld %6ld\n", ri->id,
		       ri->started_at ? ri->started_at : "", run_status_name(ri->status),
		       ri->verdict ? ri->verdict : "-", tv, ri->n_cases, ri->n_pass, ri->n_fail,
		       ri->n_error);
	}
}

/* open an object in a JSON array: a comma unless it is the first */
static void array_item(struct strbuf *sb)
{
	if (sb->buf[sb->len - 1] != '[')
		strbuf_addch(sb, ',');
	strbuf_addch(sb, '{');
}

static int suite_json(const struct run_suite *s, void *arg)
{
	struct strbuf *sb = arg;

	array_item(sb);
	json_field(sb, "name", s->name, 0);
	json_field(sb, "version", s->version, 1);
	json_field(sb, "hash", s->hash, 1);
	json_field(sb, "kind", s->kind, 1);
	strbuf_addf(sb, ",\"results\":%ld}", s->n_cases);
	return 0;
}

static int gate_json(const struct gate_row *g, void *arg)
{
	struct strbuf *sb = arg;

	array_item(sb);
	json_field(sb, "name", g->name, 0);
	json_field(sb, "metric", g->metric, 1);
	json_field(sb, "scope", g->scope, 1);
	json_num(sb, "value", g->value);
	json_field(sb, "op", g->op, 1);
	json_num(sb, "threshold", g->threshold);
	strbuf_addf(sb, ",\"pass\":%s", g->pass ? "true" : "false");
	json_num(sb, "lo", g->lo);
	json_num(sb, "hi", g->hi);
	strbuf_addf(sb, ",\"n\":%ld", g->n);
	json_field(sb, "detail", g->detail, 1);
	strbuf_addch(sb, '}');
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
	struct run_iter it;
	const struct run_info *ri;
	int rc, first = 1;

	if (json)
		putchar('[');
	else
		printf("%-24s %-20s %-11s %-7s %-28s %6s %6s %6s %6s\n", "id", "started", "status",
		       "verdict", "target", "cases", "pass", "fail", "error");
	rc = history_runs_begin(h, f, &it);
	if (!rc)
		while ((rc = history_runs_next(&it, &ri)) > 0) {
			list_one(ri, json, first, &sb);
			first = 0;
		}
	history_runs_end(&it);
	if (json)
		puts("]");
	strbuf_release(&sb);
	return rc < 0 ? -1 : 0;
}

/* the run, its suites and its gate results as one JSON object */
static int show_json(struct history *h, const struct run_info *ri)
{
	struct strbuf sb = STRBUF_INIT;
	int ret = -1;

	run_json_members(&sb, ri);
	json_field(&sb, "shard", ri->shard, 1);
	json_field(&sb, "config_hash", ri->config_hash, 1);
	json_field(&sb, "evalgate_version", ri->evalgate_version, 1);
	strbuf_addf(&sb, ",\"repeats\":%d", ri->repeats > 0 ? ri->repeats : 1);
	json_field(&sb, "repeat_policy", ri->repeat_policy ? ri->repeat_policy : "all", 1);
	strbuf_addstr(&sb, ",\"suites\":[");
	if (history_run_suites(h, ri->id, suite_json, &sb))
		goto out;
	strbuf_addstr(&sb, "],\"gates\":[");
	if (history_gates(h, ri->id, gate_json, &sb))
		goto out;
	strbuf_addstr(&sb, "]}");
	puts(sb.buf);
	ret = 0;
out:
	strbuf_release(&sb);
	return ret;
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
	       ri.finished_at ? ri.finished_at : "-", run_status_name(ri.status),
	       ri.verdict ? ri.verdict : "-");
	if (ri.git_sha || ri.git_ref)
		printf("  git %s %s\n", ri.git_ref ? ri.git_ref : "", ri.git_sha ? ri.git_sha : "");
	printf("  %ld cases: %ld pass, %ld fail, %ld error\n", ri.n_cases, ri.n_pass, ri.n_fail,
	       ri.n_error);
	if (ri.repeats > 1)
		printf("  repeats %d, repeat_policy %s, %ld flaky cases\n", ri.repeats,
		       ri.repeat_policy ? ri.repeat_policy : "all",
		       history_flaky_cases(h, ri.id, NULL, NULL));
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

static int sub_list(struct history *h, char **argv, const struct runs_args *a)
{
	return runs_list(h, &a->filter, a->json);
}

static int sub_show(struct history *h, char **argv, const struct runs_args *a)
{
	return runs_show(h, argv[1], a->json);
}

static int sub_export(struct history *h, char **argv, const struct runs_args *a)
{
	return run_export(h, argv[1], argv[2]);
}

static int sub_import(struct history *h, char **argv, const struct runs_args *a)
{
	char *id = NULL;

	if (run_import(h, argv[1], a->replace, &id))
		return -1;
	info("imported run %s into %s", id, a->history);
	free(id);
	return 0;
}

/* a subcommand: its operands (after its name) and whether it writes the history */
struct runs_sub {
	const char *name;
	int (*fn)(struct history *h, char **argv, const struct runs_args *a); /* -1: exit 2 */
	int min_args, max_args;
	int writes;
	const char *args;        /* for the message when the count is wrong */
};

static const struct runs_sub runs_subs[] = {
	{ "list", sub_list, 0, 0, 0, "no operands" },
	{ "show", sub_show, 1, 1, 0, "one run id (or 'latest')" },
	{ "export", sub_export, 2, 2, 0, "a run id (or 'latest') and a file ('-': standard output)" },
	{ "import", sub_import, 1, 1, 1, "one file ('-': standard input)" },
};

static int check_status(const char *s)
{
	int st;

	if (!s)
		return 0;
	for (st = RUN_RUNNING; st <= RUN_FAILED; st++)
		if (!strcmp(s, run_status_name((enum run_status)st)))
			return 0;
	return error("--status: '%s' is not a run status (running, finished, interrupted, "
		     "failed)", s);
}

int cmd_runs(int argc, char **argv)
{
	struct common_opts common;
	struct history *h;
	struct runs_args a = { { .newest_first = 1 }, NULL, 0, 0 };
	const struct runs_sub *sub = NULL;
	long limit = 0;
	int nops, rc;
	size_t i;
	const struct option opts[] = {
		OPT_COMMON(&common),
		OPT_STRING_(0, "target", &a.filter.target, "NAME", "list only runs of this target"),
		OPT_STRING_(0, "suite", &a.filter.suite, "NAME",
			    "list only runs that include this suite"),
		OPT_STRING_(0, "ref", &a.filter.git_ref, "REF", "list only runs of this git ref"),
		OPT_STRING_(0, "status", &a.filter.status, "S",
			    "list only runs with this status (running, finished, interrupted, failed)"),
		OPT_INT_(0, "limit", &limit, "N", "list at most N runs", 1, 1000000000L),
		OPT_FLAG_(0, "json", &a.json, "machine-readable output (show: the run with its "
			  "suites and gate results)"),
		OPT_FLAG_(0, "replace", &a.replace, "import: overwrite a run with the same id"),
		OPT_END_(),
	};

	common_opts_init(&common);
	nops = parse_options(argc, argv, opts, usage);
	if (nops == -2)
		return 0;
	if (nops < 0 || common_opts_apply(&common))
		return EG_EXIT_USAGE;
	if (nops < 1) {
		print_usage(stderr, usage, opts);
		return EG_EXIT_USAGE;
	}
	if (!strcmp(argv[0], "gate")) { /* gate opens the history itself, with the config */
		if (nops != 2) {
			error("runs gate takes one run id (or 'latest')");
			return EG_EXIT_USAGE;
		}
		return cmd_gate_run(&common, argv[1]);
	}
	for (i = 0; i < sizeof(runs_subs) / sizeof(runs_subs[0]); i++)
		if (!strcmp(argv[0], runs_subs[i].name))
			sub = &runs_subs[i];
	if (!sub) {
		error("runs: unknown subcommand '%s' (list, show, gate, export, import)", argv[0]);
		return EG_EXIT_USAGE;
	}
	if (nops - 1 < sub->min_args || nops - 1 > sub->max_args) {
		error("runs %s takes %s", sub->name, sub->args);
		return EG_EXIT_USAGE;
	}
	if (check_status(a.filter.status))
		return EG_EXIT_USAGE;
	a.filter.limit = limit > 0 ? (size_t)limit : 0;
	a.history = common.history;
	h = sub->writes ? history_open(common.history) : history_open_ro(common.history);
	if (!h)
		return EG_EXIT_USAGE;
	rc = sub->fn(h, argv, &a) ? EG_EXIT_USAGE : 0;
	history_close(h);
	return rc;
}
