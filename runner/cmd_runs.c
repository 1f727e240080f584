/* runs: list and show stored runs */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "error.h"
#include "gate.h"
#include "history.h"
#include "opts.h"
#include "strbuf.h"
#include "banned.h"

static const char usage[] =
	"usage: evalgate runs list [--target NAME] [--limit N] [--json]\n"
	"       evalgate runs show ID|latest [--json]\n"
	"       evalgate runs gate ID|latest [--config FILE]";

struct list_ctx {
	int json;
	int first;
	struct strbuf sb;
};

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

static void run_json(struct strbuf *sb, const struct run_info *ri)
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
	strbuf_addf(sb, ",\"cases\":%ld,\"pass\":%ld,\"fail\":%ld,\"error\":%ld}", ri->n_cases,
		    ri->n_pass, ri->n_fail, ri->n_error);
}

static int list_one(const struct run_info *ri, void *arg)
{
	struct list_ctx *c = arg;

	if (c->json) {
		if (!c->first)
			strbuf_addch(&c->sb, ',');
		run_json(&c->sb, ri);
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
	c->first = 0;
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

static int runs_list(struct history *h, const char *target, long limit, int json)
{
	struct list_ctx c = { json, 1, STRBUF_INIT };
	int rc;

	if (json)
		putchar('[');
	else
		printf("%-24s %-20s %-11s %-7s %-28s %6s %6s %6s %6s\n", "id", "started", "status",
		       "verdict", "target", "cases", "pass", "fail", "error");
	rc = history_runs_list(h, target, limit > 0 ? (size_t)limit : 0, list_one, &c);
	if (json)
		puts("]");
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
		run_json(&sb, &ri);
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

int cmd_runs(int argc, char **argv)
{
	struct common_opts common;
	struct history *h;
	const char *target = NULL;
	long limit = 0;
	int json = 0, nops, rc = EG_EXIT_USAGE;
	const struct option opts[] = {
		OPT_COMMON(&common),
		OPT_STRING_(0, "target", &target, "NAME", "list only runs of this target"),
		OPT_INT_(0, "limit", &limit, "N", "list at most N runs", 1, 1000000000L),
		OPT_FLAG_(0, "json", &json, "machine-readable output"),
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
	if (!strcmp(argv[0], "gate")) {
		if (nops != 2) {
			error("runs gate needs one run id (or 'latest')");
			return EG_EXIT_USAGE;
		}
		return cmd_gate_run(&common, argv[1]);
	}
	if (strcmp(argv[0], "list") && strcmp(argv[0], "show")) {
		error("runs: unknown subcommand '%s' (list, show, gate)", argv[0]);
		return EG_EXIT_USAGE;
	}
	if (!strcmp(argv[0], "show") && nops != 2) {
		error("runs show needs one run id (or 'latest')");
		return EG_EXIT_USAGE;
	}
	h = history_open_ro(common.history);
	if (!h)
		return EG_EXIT_USAGE;
	if (!strcmp(argv[0], "list"))
		rc = runs_list(h, target, limit, json) ? EG_EXIT_USAGE : 0;
	else
		rc = runs_show(h, argv[1], json) ? EG_EXIT_USAGE : 0;
	history_close(h);
	return rc;
}
