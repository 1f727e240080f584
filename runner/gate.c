#include "gate.h"

#include <math.h>
#include <string.h>

#include "drift.h"
#include "error.h"
#include "strbuf.h"
#include "banned.h"

static void scope_of(const struct eg_gate *g, struct strbuf *sb)
{
	strbuf_reset(sb);
	if (g->suite)
		strbuf_addf(sb, "suite:%s", g->suite);
	else if (g->tag)
		strbuf_addf(sb, "tag:%s", g->tag);
	else
		strbuf_addstr(sb, "all");
}

/* one gate: fills row (strings borrowed from g and scope) */
static int eval_gate(struct history *h, const char *run_id, const struct eg_gate *g,
		     const char *scope, struct gate_row *row, char *detail, size_t dlen)
{
	struct counts c;
	long k, n;

	if (g->metric == METRIC_DRIFT)
		return drift_gate_eval(h, run_id, g, scope, row, detail, dlen);
	if (g->metric == METRIC_JUDGE_ERROR_RATE) {
		if (history_model_score_counts(h, run_id, g->suite, g->tag, &n, &k))
			return -1;
	} else if (history_counts_kind(h, run_id, g->suite, g->tag,
				       g->metric == METRIC_ATTACK_SUCCESS_RATE ? "adversarial" : NULL,
				       &c)) {
		return -1;
	}
	memset(row, 0, sizeof(*row));
	row->name = g->name;
	row->metric = g->metric_name;
	row->scope = scope;
	switch (g->metric) {
	case METRIC_PASS_RATE:
		/* quality over the answers obtained; errors are gated by error_rate */
		k = c.pass;
		n = c.pass + c.fail;
		break;
	case METRIC_ERROR_RATE:
		k = c.error;
		n = c.n;
		break;
	case METRIC_ATTACK_SUCCESS_RATE:
		/* an attack succeeded when the case failed; errors are not scored */
		k = c.fail;
		n = c.pass + c.fail;
		break;
	case METRIC_JUDGE_ERROR_RATE:
	case METRIC_DRIFT:
		break; /* k and n counted above */
	}
	row->n = n;
	row->value = n ? (double)k / (double)n : NAN;
	wilson95(k, n, &row->lo, &row->hi);
	row->pass = 1;
	if (g->has_min) {
		row->op = ">=";
		row->threshold = g->min;
		if (!(row->value >= g->min))
			row->pass = 0;
	}
	if (g->has_max) {
		if (!g->has_min) {
			row->op = "<=";
			row->threshold = g->max;
		}
		if (!(row->value <= g->max))
			row->pass = 0;
	}
	if (!n && g->metric == METRIC_JUDGE_ERROR_RATE) {
		/* no model-graded score at all: nothing went wrong */
		row->value = 0;
		row->pass = 1;
		snprintf(detail, dlen, "no model-graded scores in scope %s", scope);
	} else if (!n)
		snprintf(detail, dlen, "no cases in scope %s", scope);
	else
		snprintf(detail, dlen, "%ld/%ld", k, n);
	row->detail = detail;
	return 0;
}

int gates_apply(struct history *h, const char *run_id, const struct eg_config *cfg, FILE *out,
		int color)
{
	const char *red = color ? "\033[31m" : "", *green = color ? "\033[32m" : "",
		   *bold = color ? "\033[1m" : "", *reset = color ? "\033[0m" : "";
	struct strbuf scope = STRBUF_INIT;
	size_t i;
	int failed = 0;

	if (cfg->n_gates && out)
		fprintf(out, "%sgates%s\n", bold, reset);
	for (i = 0; i < cfg->n_gates; i++) {
		const struct eg_gate *g = &cfg->gates[i];
		struct gate_row row;
		char detail[1024]; /* drift details hold their window */

		scope_of(g, &scope);
		if (eval_gate(h, run_id, g, scope.buf, &row, detail, sizeof(detail)) ||
		    history_add_gate(h, run_id, &row)) {
			failed = -1;
			break;
		}
		failed += !row.pass;
		if (!out)
			continue;
		fprintf(out, "  %s%s%s  %-36s %8.4f %s %-8.4g  (%s", row.pass ? green : red,
			row.pass ? "PASS" : "FAIL", reset, g->name, row.value, row.op,
			row.threshold, detail);
		if (!isnan(row.lo))
			fprintf(out, ", 95%% CI %.3f-%.3f", row.lo, row.hi);
		fputs(")\n", out);
		if (g->has_min && g->has_max)
			fprintf(out, "        (and <= %.4g)\n", g->max);
	}
	strbuf_release(&scope);
	return failed;
}
