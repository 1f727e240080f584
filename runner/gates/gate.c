#include "gate.h"

#include <math.h>
#include <string.h>

#include "compare.h"
#include "drift.h"
#include "error.h"
#include "strbuf.h"
#include "banned.h"

#define DETAIL_MAX 1024 /* drift details hold their window */

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

/* rates: k of n, with the Wilson interval */
static int eval_rate(struct history *h, const char *run_id, const struct eg_gate *g,
		     const char *scope, struct gate_row *row, char *detail)
{
	struct counts c;
	long k = 0, n = 0;

	if (g->metric == METRIC_JUDGE_ERROR_RATE) {
		if (history_model_score_counts(h, run_id, g->suite, g->tag, &n, &k))
			return -1;
	} else if (history_counts_kind(h, run_id, g->suite, g->tag,
				       g->metric == METRIC_ATTACK_SUCCESS_RATE ? "adversarial" : NULL,
				       &c)) {
		return -1;
	}
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
	case METRIC_REGRESSION:
		return error("internal: regression gates are evaluated by compare.c");
	default:
		break; /* judge_error_rate: k and n counted above */
	}
	row->n = n;
	row->value = n ? (double)k / (double)n : NAN;
	wilson95(k, n, &row->lo, &row->hi);
	if (!n && g->metric == METRIC_JUDGE_ERROR_RATE) {
		/* no model-graded score at all: nothing went wrong */
		row->value = 0;
		snprintf(detail, DETAIL_MAX, "no model-graded scores in scope %s", scope);
	} else if (!n) {
		snprintf(detail, DETAIL_MAX, "no cases in scope %s", scope);
	} else {
		snprintf(detail, DETAIL_MAX, "%ld/%ld", k, n);
	}
	return 0;
}

static double stat_of(enum gate_stat s, double *v, size_t n)
{
	switch (s) {
	case STAT_MIN:
		return stats_percentile(v, n, 0);
	case STAT_MAX:
		return stats_percentile(v, n, 100);
	case STAT_P50:
		return stats_percentile(v, n, 50);
	case STAT_P90:
		return stats_percentile(v, n, 90);
	case STAT_P95:
		return stats_percentile(v, n, 95);
	case STAT_P99:
		return stats_percentile(v, n, 99);
	case STAT_MEAN:
	case STAT_NONE:
		break;
	}
	return stats_mean(v, n);
}

/* what a value of the metric is called in details, and why a value can be missing */
static void value_words(enum gate_metric m, const char **what, const char **unknown)
{
	switch (m) {
	case METRIC_SCORE:
		*what = "scores";
		*unknown = "without a score";
		break;
	case METRIC_LATENCY_MS:
		*what = "calls";
		*unknown = "without a measured latency (error, cache hit or no call)";
		break;
	default:
		*what = "results";
		*unknown = "without usage";
		break;
	}
}

/* distributions (a stat of score.<scorer>, latency_ms, tokens) and cost_usd (a sum) */
static int eval_values(struct history *h, const char *run_id, const struct eg_gate *g,
		       const char *scope, struct gate_row *row, char *detail)
{
	struct value_set vs;
	enum history_values what;
	const char *noun, *unknown;
	size_t i, len;

	switch (g->metric) {
	case METRIC_SCORE:
		what = VALUES_SCORE;
		break;
	case METRIC_LATENCY_MS:
		what = VALUES_LATENCY_MS;
		break;
	case METRIC_TOKENS:
		what = VALUES_TOKENS;
		break;
	default:
		what = VALUES_COST_USD;
		break;
	}
	if (history_values(h, run_id, g->suite, g->tag, what, g->scorer, &vs))
		return -1;
	value_words(g->metric, &noun, &unknown);
	row->n = (long)vs.n;
	row->lo = row->hi = NAN;
	if (!vs.n) {
		row->value = NAN;
		if (g->metric == METRIC_SCORE)
			snprintf(detail, DETAIL_MAX, "no scores of scorer '%s' in scope %s",
				 g->scorer, scope);
		else
			snprintf(detail, DETAIL_MAX, "no %s with a value in scope %s", noun, scope);
	} else if (g->metric == METRIC_COST_USD) {
		row->value = 0;
		for (i = 0; i < vs.n; i++)
			row->value += vs.v[i];
		snprintf(detail, DETAIL_MAX, "total of %zu %s", vs.n, noun);
	} else {
		row->value = stat_of(g->stat, vs.v, vs.n);
		snprintf(detail, DETAIL_MAX, "%s of %zu %s", gate_stat_name(g->stat), vs.n, noun);
	}
	len = strlen(detail);
	if (vs.n_error && len < DETAIL_MAX)
		len += (size_t)snprintf(detail + len, DETAIL_MAX - len,
					"; %ld scorer error%s left out", vs.n_error,
					vs.n_error == 1 ? "" : "s");
	if (vs.n_unknown && len < DETAIL_MAX)
		snprintf(detail + len, DETAIL_MAX - len, "; %ld %s left out", vs.n_unknown,
			 unknown);
	value_set_release(&vs);
	return 0;
}

/* one gate: fills row (strings borrowed from g, scope and detail) */
static int eval_gate(struct history *h, const char *run_id, const struct eg_gate *g,
		     const char *scope, struct gate_row *row, char *detail)
{
	int rc = -1;

	memset(row, 0, sizeof(*row));
	row->name = g->name;
	row->metric = g->metric_name;
	row->scope = scope;
	switch (g->metric) {
	case METRIC_PASS_RATE:
	case METRIC_ERROR_RATE:
	case METRIC_ATTACK_SUCCESS_RATE:
	case METRIC_JUDGE_ERROR_RATE:
		rc = eval_rate(h, run_id, g, scope, row, detail);
		break;
	case METRIC_SCORE:
	case METRIC_LATENCY_MS:
	case METRIC_TOKENS:
	case METRIC_COST_USD:
		rc = eval_values(h, run_id, g, scope, row, detail);
		break;
	case METRIC_DRIFT: /* its own limits and verdict (drift.c) */
		return drift_gate_eval(h, run_id, g, scope, row, detail, DETAIL_MAX);
	case METRIC_REGRESSION: /* evaluated by compare.c before this is reached */
		return error("internal: regression gates are evaluated by compare.c");
	}
	if (rc)
		return -1;
	/* an undefined value (NaN) fails every comparison: a gate over nothing fails */
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
	row->detail = detail;
	return 0;
}

void gate_format_value(const char *metric, double v, char *buf, size_t size)
{
	if (isnan(v))
		snprintf(buf, size, "n/a");
	else if (metric && (!strcmp(metric, "latency_ms") || !strcmp(metric, "tokens")))
		snprintf(buf, size, "%.1f", v);
	else if (metric && !strcmp(metric, "cost_usd"))
		snprintf(buf, size, "%.6f", v);
	else
		snprintf(buf, size, "%.4f", v);
}

static void print_row(FILE *out, const struct eg_gate *g, const struct gate_row *row, int color)
{
	const char *red = color ? "\033[31m" : "", *green = color ? "\033[32m" : "",
		   *reset = color ? "\033[0m" : "";
	char value[64];

	gate_format_value(row->metric, row->value, value, sizeof(value));
	fprintf(out, "  %s%s%s  %-36s %10s %s %-8.10g  (%s", row->pass ? green : red,
		row->pass ? "PASS" : "FAIL", reset, g->name, value, row->op, row->threshold,
		row->detail);
	if (!isnan(row->lo))
		fprintf(out, ", 95%% CI %.3f-%.3f", row->lo, row->hi);
	fputs(")\n", out);
	if (g->has_min && g->has_max)
		fprintf(out, "        (and <= %.10g)\n", g->max);
}

struct suite_lookup {
	const char *name;
	int found;
};

static int find_suite(const struct run_suite *s, void *arg)
{
	struct suite_lookup *l = arg;

	l->found = !strcmp(s->name, l->name);
	return l->found;
}

int gates_apply(struct history *h, const char *run_id, const struct eg_config *cfg, FILE *out,
		int color)
{
	const char *bold = color ? "\033[1m" : "", *reset = color ? "\033[0m" : "";
	struct strbuf scope = STRBUF_INIT, rdetail = STRBUF_INIT;
	struct regression_outcome ro;
	size_t i;
	int failed = 0;

	memset(&ro, 0, sizeof(ro));
	strbuf_init(&ro.why, 0);

	if (cfg->n_gates && out)
		fprintf(out, "%sgates%s\n", bold, reset);
	for (i = 0; i < cfg->n_gates; i++) {
		const struct eg_gate *g = &cfg->gates[i];
		struct gate_row row;
		char detail[DETAIL_MAX];

		scope_of(g, &scope);
		if (g->suite && cfg->suites_narrowed) {
			/* a run narrowed with --suite: the other suites' gates do not apply */
			struct suite_lookup l = { g->suite, 0 };

			if (history_run_suites(h, run_id, find_suite, &l)) {
				failed = -1;
				break;
			}
			if (!l.found) {
				if (out)
					fprintf(out, "  SKIP  %-36s (suite %s is not in this run)\n",
						g->name, g->suite);
				continue;
			}
		}
		if (g->metric == METRIC_REGRESSION) {
			regression_outcome_release(&ro);
			if (regression_gate_eval(h, run_id, cfg, g, scope.buf, &row, &rdetail, &ro) ||
			    history_add_gate(h, run_id, &row)) {
				failed = -1;
				break;
			}
			failed += !row.pass;
			if (out)
				regression_gate_print(out, g, &row, &ro, color);
			continue;
		}
		if (eval_gate(h, run_id, g, scope.buf, &row, detail) ||
		    history_add_gate(h, run_id, &row)) {
			failed = -1;
			break;
		}
		failed += !row.pass;
		if (out)
			print_row(out, g, &row, color);
	}
	strbuf_release(&scope);
	strbuf_release(&rdetail);
	regression_outcome_release(&ro);
	return failed;
}

int gates_check_suites(const struct eg_config *cfg, const char *const *names,
		       const char *const *kinds, size_t n, int all)
{
	size_t i, k;

	for (i = 0; i < cfg->n_gates; i++) {
		const struct eg_gate *g = &cfg->gates[i];

		if (!g->suite)
			continue;
		for (k = 0; k < n && strcmp(names[k], g->suite); k++)
			;
		if (k == n && !all)
			continue;
		if (k == n)
			return error_at(cfg->path, g->line, "gates",
					"gate '%s' names suite '%s', which is not among the run's suites",
					g->name, g->suite);
		if (g->metric == METRIC_ATTACK_SUCCESS_RATE &&
		    (!kinds[k] || strcmp(kinds[k], "adversarial")))
			return error_at(cfg->path, g->line, "gates",
					"gate '%s': attack_success_rate needs an adversarial suite, and %s is %s",
					g->name, g->suite, kinds[k] ? kinds[k] : "of unknown kind");
	}
	return 0;
}
