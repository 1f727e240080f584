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
#include "strbuf.h"
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

int cmd_gate_run(struct cmd_ctx *ctx, const char *ref)
{
	const struct eg_config *cfg = &ctx->cfg;
	struct gates *gates = &ctx->gates;
	struct suite_list suites = { 0 };
	struct history *h = ctx->h;
	struct run_info ri;
	struct strbuf reason = STRBUF_INIT;
	enum gate_verdict verdict = VERDICT_ERROR;
	const char *why = NULL;
	int failed, color, rc = EG_EXIT_USAGE;

	if (history_run_resolve(h, ref, &ri, NULL))
		goto out;
	if (ri.status == RUN_RUNNING) {
		error("run %s has not finished (status running): nothing to gate", ri.id);
		goto out_run;
	}
	if (history_run_suites(h, ri.id, add_suite, &suites) ||
	    gates_check_suites(gates, suites.names, suites.kinds, suites.n, 0))
		goto out_run;
	/* a gate on a suite the run does not hold is skipped, as `run --suite` skipped it */
	gates->suites_narrowed = 1;
	if (ri.target && strcmp(ri.target, cfg->target.name))
		warning("run %s is of target %s, the config's target is %s", ri.id, ri.target,
			cfg->target.name);

	rc = EG_EXIT_INFRA;
	color = common_opts_color(&ctx->common, stdout);
	if (eg_verbosity >= 0)
		printf("run %s  %s@%s  model %s  (%s)\n", ri.id, ri.target ? ri.target : "?",
		       ri.version ? ri.version : "?", ri.model ? ri.model : "?",
		       run_status_name(ri.status));
	if (history_batch_begin(h))
		goto out_run;
	failed = -1;
	if (!history_gates_clear(h, ri.id))
		failed = gates_apply(h, ri.id, gates, eg_verbosity >= 0 ? stdout : NULL, color);
	if (failed >= 0) {
		/* as `run` decides it: a run that did not finish, or too many errors, is an error */
		struct counts c;
		int have_counts = !gates_gateway_counts(h, ri.id, &c);

		verdict = gates_verdict(ri.status, have_counts ? &c : NULL,
					cfg->gateway.max_error_rate, failed, &why);
	}
	if (failed < 0 || history_set_verdict(h, ri.id, gate_verdict_name(verdict))) {
		history_batch_rollback(h);
		error("run %s: the gate results could not be stored; the run is unchanged", ri.id);
		goto out_run;
	}
	if (history_batch_commit(h))
		goto out_run;
	if (verdict == VERDICT_ERROR) {
		strbuf_addf(&reason, "run %s: %s", ri.id, why);
		gates_print_verdict(stdout, verdict, reason.buf, failed, gates->n, color);
		rc = ri.status == RUN_INTERRUPTED ? EG_EXIT_GATE
		     : ri.status == RUN_BUDGET_EXHAUSTED ? EG_EXIT_BUDGET : EG_EXIT_INFRA;
		goto out_run;
	}
	gates_print_verdict(stdout, verdict, NULL, failed, gates->n, color);
	rc = failed ? EG_EXIT_GATE : EG_EXIT_OK;
out_run:
	run_info_release(&ri);
out:
	suite_list_release(&suites);
	strbuf_release(&reason);
	return rc;
}

int cmd_gate(struct cmd_ctx *ctx, int argc, char **argv)
{
	int nops;
	const struct option opts[] = {
		OPT_END_(),
	};

	nops = cmd_start(ctx, argc, argv, opts, usage);
	if (nops < 0)
		return ctx->rc;
	if (nops != 1) {
		error("gate needs one run id (an id, a unique prefix of one, or 'latest')");
		return EG_EXIT_USAGE;
	}
	if (cmd_setup(ctx))
		return ctx->rc;
	return cmd_gate_run(ctx, argv[0]);
}
