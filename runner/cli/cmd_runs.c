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

struct list_ctx {
	int json;
	struct strbuf sb;
	struct jsonw w;          /* the JSON array, into sb */
};

static void run_json(struct jsonw *w, const struct run_info *ri)
{
	jsonw_object_begin(w);
	export_run_members(w, ri);
	jsonw_member_int(w, "cases", ri->n_cases);
	jsonw_member_int(w, "pass", ri->n_pass);
	jsonw_member_int(w, "fail", ri->n_fail);
	jsonw_member_int(w, "error", ri->n_error);
	jsonw_object_end(w);
}

static int list_one(const struct run_info *ri, void *arg)
{
	struct list_ctx *c = arg;

	if (c->json) {
		run_json(&c->w, ri);
		fputs(c->sb.buf, stdout);
		strbuf_reset(&c->sb);
	} else {
		char tv[160];
		snprintf(tv, sizeof(tv), "%s@%s", ri->target ? ri->target : "?",
			 ri->version ? ri->version : "?");
		printf("%-24s %-20s %-11s %-7s %-28s %6ld %6ld %6ld %6ld\n", ri->id,
		       ri->started_at ? ri->started_at : "", run_status_name(ri->status),
		       ri->verdict ? ri->verdict : "-", tv, ri->n_cases, ri->n_pass, ri->n_fail,
		       ri->n_error);
	}
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

static int runs_list(struct history *h, const struct runs_filter *f, int json)
{
	struct list_ctx c = { .json = json, .sb = STRBUF_INIT };
	int rc;

	jsonw_init(&c.w, &c.sb, 0);
	if (json) {
		jsonw_array_begin(&c.w);
		fputs(c.sb.buf, stdout);
		strbuf_reset(&c.sb);
	} else {
		printf("%-24s %-20s %-11s %-7s %-28s %6s %6s %6s %6s\n", "id", "started", "status",
		       "verdict", "target", "cases", "pass", "fail", "error");
	}
	rc = history_runs_find(h, f, list_one, &c);
	if (json) {
		jsonw_array_end(&c.w);
		puts(c.sb.buf);
	}
	strbuf_release(&c.sb);
	return rc;
}

static int runs_show(struct history *h, const char *ref, int json)
{
	struct run_info ri;

	if (history_run_get(h, ref, &ri))
		return -1;
	if (json) {
		struct strbuf sb = STRBUF_INIT;
		struct jsonw w;

		jsonw_init(&w, &sb, 0);
		run_json(&w, &ri);
		puts(sb.buf);
		strbuf_release(&sb);
		run_info_release(&ri);
		return 0;
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
	struct runs_filter filter; /* list */
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
	info("imported run %s into %s", id, history_path(h));
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
	struct runs_args a = { { NULL, NULL, NULL, NULL, 0 }, 0, 0 };
	const struct runs_sub *sub = NULL;
	long limit = 0;
	int nops, rc;
	size_t i;
	const struct option opts[] = {
		OPT_COMMON(&common),
		OPT_STRING_(0, "target", &a.filter.target, "NAME", "list only runs of this target"),
		OPT_STRING_(0, "suite", &a.filter.suite, "NAME",
			    "list only runs that include this suite"),
		OPT_STRING_(0, "ref", &a.filter.ref, "REF", "list only runs of this git ref"),
		OPT_STRING_(0, "status", &a.filter.status, "S",
			    "list only runs with this status (running, finished, interrupted, failed)"),
		OPT_INT_(0, "limit", &limit, "N", "list at most N runs", 1, 1000000000L),
		OPT_FLAG_(0, "json", &a.json, "machine-readable output"),
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
	h = sub->writes ? history_open(common.history) : history_open_ro(common.history);
	if (!h)
		return EG_EXIT_USAGE;
	rc = sub->fn(h, argv, &a) ? EG_EXIT_USAGE : 0;
	history_close(h);
	return rc;
}
