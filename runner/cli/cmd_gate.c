/* gate: apply the configured gates to a stored run again (also `runs gate ID`) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "config.h"
#include "error.h"
#include "gate.h"
#include "history.h"
#include "opts.h"
#include "xalloc.h"
#include "banned.h"

static const char usage[] = "usage: evalgate gate ID|PREFIX|latest [--config FILE] [--history FILE]";

struct suite_list {
	const char **names, **kinds; /* owned copies (freed by suite_list_release) */
	size_t n, alloc_n, alloc_k;
};

static int add_suite(const struct run_suite *s, void *arg)
{
	struct suite_list *l = arg;

	XGROW(l->names, l->n + 1, l->alloc_n);
	XGROW(l->kinds, l->n + 1, l->alloc_k);
	l->names[l->n] = xstrdup(s->name);
	l->kinds[l->n] = s->kind ? xstrdup(s->kind) : NULL;
	l->n++;
	return 0;
}

static void suite_list_release(struct suite_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free((char *)l->names[i]);
		free((char *)l->kinds[i]);
	}
	free(l->names);
	free(l->kinds);
	memset(l, 0, sizeof(*l));
}

/*
 * The verdict of a gated run, as `run` decides it: a run that did not finish,
 * or whose errors are over gateway.max_error_rate, is "error" whatever its
 * gates say.
 */
static const char *verdict_of(struct history *h, const struct run_info *ri,
			      const struct eg_config *cfg, int failed, const char **why)
{
	struct counts c;

	*why = NULL;
	if (ri->status != RUN_FINISHED) {
		*why = run_status_name(ri->status);
		return "error";
	}
	if (!history_result_counts(h, ri->id, NULL, &c) && c.n &&
	    (double)c.error / (double)c.n > cfg->gateway.max_error_rate) {
		*why = "error rate";
		return "error";
	}
	return failed ? "fail" : "pass";
}

int cmd_gate_run(const struct common_opts *common, const char *ref)
{
	struct eg_config cfg;
	struct suite_list suites = { 0 };
	struct history *h;
	struct run_info ri;
	const char *verdict, *why;
	int failed, color, rc = EG_EXIT_USAGE;

	if (config_load(&cfg, common->config))
		return EG_EXIT_USAGE;
	if (access(common->history, F_OK)) {
		error("history %s: %s", common->history, strerror(errno));
		goto out_cfg;
	}
	h = history_open(common->history);
	if (!h)
		goto out_cfg;
	if (history_run_resolve(h, ref, &ri, NULL))
		goto out_history;
	if (ri.status == RUN_RUNNING) {
		error("run %s has not finished (status running): nothing to gate", ri.id);
		goto out_run;
	}
	if (history_run_suites(h, ri.id, add_suite, &suites) ||
	    gates_check_suites(&cfg, suites.names, suites.kinds, suites.n, 1))
		goto out_run;
	if (ri.target && strcmp(ri.target, cfg.target.name))
		warning("run %s is of target %s, the config's target is %s", ri.id, ri.target,
			cfg.target.name);

	rc = EG_EXIT_INFRA;
	color = common_opts_color(common, stdout);
	if (eg_verbosity >= 0)
		printf("run %s  %s@%s  model %s  (%s)\n", ri.id, ri.target ? ri.target : "?",
		       ri.version ? ri.version : "?", ri.model ? ri.model : "?",
		       run_status_name(ri.status));
	if (history_batch_begin(h))
		goto out_run;
	failed = -1;
	if (!history_gates_clear(h, ri.id))
		failed = gates_apply(h, ri.id, &cfg, eg_verbosity >= 0 ? stdout : NULL, color);
	verdict = failed < 0 ? NULL : verdict_of(h, &ri, &cfg, failed, &why);
	if (!verdict || history_set_verdict(h, ri.id, verdict)) {
		history_batch_rollback(h);
		error("run %s: the gate results could not be stored; the run is unchanged", ri.id);
		goto out_run;
	}
	if (history_batch_commit(h))
		goto out_run;
	if (!strcmp(verdict, "error")) {
		printf("verdict: ERROR (run %s: %s)\n", ri.id, why);
		rc = ri.status == RUN_INTERRUPTED ? EG_EXIT_GATE : EG_EXIT_INFRA;
		goto out_run;
	}
	printf("verdict: %s%s%s", color ? (failed ? "\033[1;31m" : "\033[1;32m") : "",
	       failed ? "FAIL" : "PASS", color ? "\033[0m" : "");
	if (failed)
		printf(" (%d of %zu gates failed)", failed, cfg.n_gates);
	putchar('\n');
	rc = failed ? EG_EXIT_GATE : EG_EXIT_OK;
out_run:
	run_info_release(&ri);
out_history:
	history_close(h);
out_cfg:
	suite_list_release(&suites);
	config_release(&cfg);
	return rc;
}

int cmd_gate(int argc, char **argv)
{
	struct common_opts common;
	int nops;
	const struct option opts[] = {
		OPT_COMMON(&common),
		OPT_END_(),
	};

	common_opts_init(&common);
	nops = parse_options(argc, argv, opts, usage);
	if (nops == -2)
		return 0;
	if (nops < 0 || common_opts_apply(&common))
		return EG_EXIT_USAGE;
	if (nops != 1) {
		error("gate needs one run id (an id, a unique prefix of one, or 'latest')");
		return EG_EXIT_USAGE;
	}
	return cmd_gate_run(&common, argv[0]);
}
