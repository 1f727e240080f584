/*
 * gate_rate: the rates, one family: a share k of n cases (or scores) of the
 * run in scope, with its Wilson 95% interval, between min and max in [0, 1].
 *
 *   pass_rate            passed / (passed + failed); errors are gated by error_rate
 *   error_rate           errored / all cases
 *   attack_success_rate  adversarial suites: failed / (passed + failed)
 *   judge_error_rate     model-graded scorer results that errored / all of them
 *   scorer_error_rate    results (each repeat) that errored in a scorer rather than
 *                        in the call / all results; gateway.max_error_rate is the
 *                        call errors' alone
 *   tool_error_rate      tool calls that failed (arguments not JSON, a tool not declared,
 *                        no fixture) / all tool calls of the trajectories
 */
#include "gate_types.h"

#include <math.h>

#include "banned.h"

/* the value k/n, its interval and the detail; with n 0 the value is none, for want of what */
static void rate_finish(const struct eg_gate *g, long k, long n, double none, const char *what,
			struct gate_result *res)
{
	struct gate_row *row = &res->row;

	row->n = n;
	row->value = n ? (double)k / (double)n : none;
	wilson95(k, n, &row->lo, &row->hi);
	if (!n)
		strbuf_addf(&res->detail, "no %s in scope %s", what, res->scope.buf);
	else
		strbuf_addf(&res->detail, "%ld/%ld", k, n);
	gate_detail_cut(&res->detail);
	gate_check_limits(g, row);
}

static int rate_parse(struct eg_gate *g, const struct gate_parse *p)
{
	return gate_parse_bounded(g, p, 0, 1);
}

/*
 * the case counts of g's scope from the run's tally when it holds them (the
 * whole run or a suite, no tag): 1, else 0 and the gate counts in the history
 */
static int tally_cases(const struct eg_gate *g, const struct gates *gs, struct counts *c)
{
	if (!gs || !gs->tally || g->tag)
		return 0;
	*c = g->suite ? run_tally_suite(gs->tally, g->suite)->cases : gs->tally->cases;
	return 1;
}

static int pass_rate_eval(const struct eg_gate *g, struct history *h, const char *run_id,
			  const struct gates *gs, struct gate_result *res)
{
	struct counts c;

	if (!tally_cases(g, gs, &c) && history_counts_kind(h, run_id, g->suite, g->tag, NULL, &c))
		return -1;
	rate_finish(g, c.pass, c.pass + c.fail, NAN, "cases", res);
	return 0;
}

static int error_rate_eval(const struct eg_gate *g, struct history *h, const char *run_id,
			   const struct gates *gs, struct gate_result *res)
{
	struct counts c;

	if (!tally_cases(g, gs, &c) && history_counts_kind(h, run_id, g->suite, g->tag, NULL, &c))
		return -1;
	rate_finish(g, c.error, c.n, NAN, "cases", res);
	return 0;
}

static int attack_success_rate_eval(const struct eg_gate *g, struct history *h,
				    const char *run_id, const struct gates *gs,
				    struct gate_result *res)
{
	struct counts c;

	/* an attack succeeded when the case failed; errors are not scored */
	if (history_counts_kind(h, run_id, g->suite, g->tag, "adversarial", &c))
		return -1;
	rate_finish(g, c.fail, c.pass + c.fail, NAN, "cases", res);
	return 0;
}

static int judge_error_rate_eval(const struct eg_gate *g, struct history *h, const char *run_id,
				 const struct gates *gs, struct gate_result *res)
{
	long k = 0, n = 0;

	if (history_model_score_counts(h, run_id, g->suite, g->tag, &n, &k))
		return -1;
	/* no model-graded score at all: nothing went wrong */
	rate_finish(g, k, n, 0, "model-graded scores", res);
	return 0;
}

static int scorer_error_rate_eval(const struct eg_gate *g, struct history *h,
				  const char *run_id, const struct gates *gs,
				  struct gate_result *res)
{
	long k = 0, n = 0;

	if (gs && gs->tally && !g->tag) {
		const struct tally_suite *t = g->suite ? run_tally_suite(gs->tally, g->suite) : NULL;

		n = t ? t->results.n : gs->tally->results.n;
		k = t ? t->scorer_errors : gs->tally->scorer_errors;
	} else if (history_scorer_error_counts(h, run_id, g->suite, g->tag, &n, &k)) {
		return -1;
	}
	rate_finish(g, k, n, NAN, "results", res);
	return 0;
}

const struct gate_type gate_pass_rate = {
	.name = "pass_rate",
	.fields = gate_limit_fields,
	.parse = rate_parse,
	.eval = pass_rate_eval,
};

const struct gate_type gate_error_rate = {
	.name = "error_rate",
	.fields = gate_limit_fields,
	.parse = rate_parse,
	.eval = error_rate_eval,
};

const struct gate_type gate_attack_success_rate = {
	.name = "attack_success_rate",
	.fields = gate_limit_fields,
	.suite_kind = "adversarial",
	.parse = rate_parse,
	.eval = attack_success_rate_eval,
};

const struct gate_type gate_judge_error_rate = {
	.name = "judge_error_rate",
	.fields = gate_limit_fields,
	.parse = rate_parse,
	.eval = judge_error_rate_eval,
};

const struct gate_type gate_scorer_error_rate = {
	.name = "scorer_error_rate",
	.fields = gate_limit_fields,
	.parse = rate_parse,
	.eval = scorer_error_rate_eval,
};

static int tool_error_rate_eval(const struct eg_gate *g, struct history *h, const char *run_id,
				const struct gates *gs, struct gate_result *res)
{
	long k = 0, n = 0;

	if (history_tool_call_counts(h, run_id, g->suite, g->tag, &n, &k))
		return -1;
	/* no tool call at all: none failed */
	rate_finish(g, k, n, 0, "tool calls", res);
	return 0;
}

const struct gate_type gate_tool_error_rate = {
	.name = "tool_error_rate",
	.fields = gate_limit_fields,
	.parse = rate_parse,
	.eval = tool_error_rate_eval,
};
