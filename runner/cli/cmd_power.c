/*
 * power: how often the regression gate would block an unchanged pull request
 * and how often it would catch a drop, by simulation from the history.
 *
 * Each case's pass rate is its share of passing verdicts over the target's
 * last --runs complete runs (errored verdicts left out; a case's verdict
 * over its repeats follows the run's repeat policy). A simulated PR draws a
 * baseline and a candidate outcome for --n cases (each case once when --n
 * is the number of cases with a rate, else drawn with replacement) and is
 * decided by regression_blocks(), the decision the gate itself makes. A
 * drop of D points lowers each case's rate in proportion to it, so the mean
 * pass rate falls by D points.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "compare.h"
#include "error.h"
#include "gate.h"
#include "hashmap.h"
#include "history.h"
#include "regression.h"
#include "rng.h"
#include "stats.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

static const char usage[] =
	"usage: evalgate power [--drop 2,5,10] [--n N] [--prs 1000] [--seed S] [--runs K] "
	"[--target NAME] [--config FILE] [--history FILE]";

#define POWER_TARGET 0.8
#define POWER_MAX_N 100000

struct power_opts {
	const char *drop;         /* --drop: points, comma-separated */
	long n;                   /* --n: cases per PR; 0: the cases with a rate */
	long prs;                 /* --prs: simulated PRs per estimate */
	long seed;                /* --seed */
	long runs;                /* --runs: the last K complete runs */
	const char *target;       /* --target; NULL: the config's */
};

/* per-case passes and verdicts over the runs, keyed "suite\0case_id" */
struct case_rates {
	struct hashmap index;     /* key -> 1 + index into pass and seen */
	long *pass, *seen;
	size_t n, alloc_p, alloc_s;
};

static int rates_add_run(struct history *h, const char *run_id, struct case_rates *cr)
{
	struct strbuf key = STRBUF_INIT;
	struct case_iter *it = history_cases_open(h, run_id, NULL, NULL);
	struct case_row row;
	int rc;

	if (!it)
		return -1;
	while ((rc = history_cases_next(it, &row)) > 0) {
		uint64_t *slot;
		int added;

		if (row.status == RESULT_ERROR)
			continue;
		strbuf_reset(&key);
		strbuf_addstr(&key, row.suite);
		strbuf_addch(&key, '\0');
		strbuf_addstr(&key, row.case_id);
		slot = hashmap_put_str(&cr->index, key.buf, key.len, &added);
		if (added) {
			XGROW(cr->pass, cr->n + 1, cr->alloc_p);
			XGROW(cr->seen, cr->n + 1, cr->alloc_s);
			cr->pass[cr->n] = cr->seen[cr->n] = 0;
			*slot = ++cr->n;
		}
		cr->pass[*slot - 1] += row.status == RESULT_PASS;
		cr->seen[*slot - 1]++;
	}
	history_cases_close(it);
	strbuf_release(&key);
	return rc < 0 ? -1 : 0;
}

/* one estimate: the share of prs simulated PRs the gate blocks */
static long simulate(const struct regression_gate *rg, const double *p, size_t m, double drop,
		     double mean_p, size_t n, long prs, struct eg_rng *rng)
{
	struct compare_counts c;
	long blocked = 0, k;
	size_t i;

	for (k = 0; k < prs; k++) {
		memset(&c, 0, sizeof(c));
		for (i = 0; i < n; i++) {
			double pb = p[n == m ? i : (size_t)eg_rng_below(rng, m)];
			double pc = mean_p > 0 ? pb - drop * pb / mean_p : pb;
			/* uniform in [0, 1) from the top 53 bits */
			int b = (double)(eg_rng_next(rng) >> 11) * 0x1.0p-53 < pb;
			int a = (double)(eg_rng_next(rng) >> 11) * 0x1.0p-53 < pc;

			c.new_failures += b && !a;
			c.fixed += !b && a;
		}
		c.pairs = (long)n;
		c.p_value = mcnemar_exact_p(c.new_failures, c.fixed);
		blocked += regression_blocks(rg, &c, NULL);
	}
	return blocked;
}

static void print_rate(const char *what, long k, long prs)
{
	double lo, hi;

	wilson95(k, prs, &lo, &hi);
	printf("%s %.1f%% (95%% CI %.1f%%..%.1f%%, %ld of %ld PRs)", what, 100.0 * (double)k / (double)prs,
	       100 * lo, 100 * hi, k, prs);
}

/* the first regression gate of the config, else the recommended one */
static const struct regression_gate *gate_settings(const struct cmd_ctx *ctx,
						   const struct gates *gs,
						   struct regression_gate *dflt)
{
	size_t i;

	for (i = 0; ctx->have_cfg && i < gs->n; i++)
		if (!strcmp(gs->v[i].type->name, "regression"))
			return gs->v[i].ctx;
	regression_defaults(dflt);
	return dflt;
}

static int parse_drops(const char *s, double *drops, size_t max, size_t *n)
{
	char *copy = xstrdup(s), *tok, *save = NULL, *end;
	int ret = 0;

	*n = 0;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		double d = strtod(tok, &end);

		if (end == tok || *end || !(d > 0 && d < 100) || *n == max) {
			ret = error("--drop: '%s': expected up to %zu points between 0 and 100, "
				    "comma-separated (e.g. 2,5,10)", s, max);
			break;
		}
		drops[(*n)++] = d;
	}
	free(copy);
	return ret;
}

int cmd_power(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct power_opts o = { "2,5,10", 0, 1000, 1, 5, NULL };
	const struct option opts[] = {
		OPT_STRING_(0, "drop", &o.drop, "D,...", "drops in points to estimate power for (default 2,5,10)"),
		OPT_INT_(0, "n", &o.n, "N", "cases per simulated PR (default: the cases with a rate)", 1, POWER_MAX_N),
		OPT_INT_(0, "prs", &o.prs, "N", "simulated PRs per estimate (default 1000)", 10, 1000000),
		OPT_INT_(0, "seed", &o.seed, "S", "seed of the simulation (default 1)", 0, 2147483647),
		OPT_INT_(0, "runs", &o.runs, "K", "pool the target's last K complete runs (default 5)", 1, 1000),
		OPT_STRING_(0, "target", &o.target, "NAME", "the target (default: the config's)"),
		OPT_END_(),
	};
	struct case_rates cr;
	struct regression_gate dflt;
	const struct regression_gate *rg;
	struct gates gs;
	struct run_filter f;
	struct run_iter it;
	const struct run_info *ri;
	struct eg_rng rng;
	double drops[16], *p = NULL, mean_p = 0;
	size_t n_drops, i, m, n, runs = 0;
	int nops, rc = EG_EXIT_USAGE, got;
	long blocked;

	memset(&gs, 0, sizeof(gs));
	memset(&cr, 0, sizeof(cr));
	hashmap_init_str(&cr.index, 64);
	nops = cmd_start(ctx, argc, argv, opts, usage);
	if (nops < 0) {
		rc = ctx->rc;
		goto out;
	}
	if (nops) {
		error("power takes no operands");
		goto out;
	}
	if (parse_drops(o.drop, drops, sizeof(drops) / sizeof(*drops), &n_drops))
		goto out;
	if (cmd_setup(ctx)) {
		rc = ctx->rc;
		goto out;
	}
	if (ctx->have_cfg && gates_load(&gs, &ctx->cfg))
		goto out;
	if (!o.target && ctx->have_cfg)
		o.target = ctx->cfg.target.name;
	if (!o.target) {
		error("power needs a target: --target NAME, or a config that names one");
		goto out;
	}
	rg = gate_settings(ctx, &gs, &dflt);

	rc = EG_EXIT_INFRA;
	memset(&f, 0, sizeof(f));
	f.target = o.target;
	f.complete = 1;
	f.newest_first = 1;
	f.limit = (size_t)o.runs;
	if (history_runs_begin(ctx->h, &f, &it))
		goto out;
	while ((got = history_runs_next(&it, &ri)) > 0) {
		if (rates_add_run(ctx->h, ri->id, &cr))
			break;
		runs++;
	}
	history_runs_end(&it);
	if (got != 0)
		goto out;
	rc = EG_EXIT_USAGE;
	if (!cr.n) {
		error("no complete run of target '%s' with scored cases in the history", o.target);
		goto out;
	}
	m = cr.n;
	p = xcalloc(m, sizeof(*p));
	for (i = 0; i < m; i++) {
		p[i] = (double)cr.pass[i] / (double)cr.seen[i];
		mean_p += p[i] / (double)m;
	}
	n = o.n ? (size_t)o.n : m;

	printf("regression gate: ");
	if (rg->has_alpha)
		printf("alpha %g", rg->alpha);
	if (rg->has_max_new_failures)
		printf("%smax_new_failures %ld", rg->has_alpha ? ", " : "", rg->max_new_failures);
	printf("\ncase pass rates: %zu cases from %zu complete run%s of target %s, mean %.1f%%\n",
	       m, runs, runs == 1 ? "" : "s", o.target, 100 * mean_p);
	printf("simulated: %ld PRs of %zu cases each, seed %ld\n", o.prs, n, o.seed);
	eg_rng_init(&rng, (unsigned long long)o.seed);
	blocked = simulate(rg, p, m, 0, mean_p, n, o.prs, &rng);
	print_rate("no change:     false-block rate", blocked, o.prs);
	putchar('\n');
	for (i = 0; i < n_drops; i++) {
		double d = drops[i] / 100;
		char what[64];
		size_t nn;

		snprintf(what, sizeof(what), "drop %4g pts: power", drops[i]);
		blocked = simulate(rg, p, m, d, mean_p, n, o.prs, &rng);
		print_rate(what, blocked, o.prs);
		if (d > mean_p) {
			printf("; the mean pass rate is under %g points\n", drops[i]);
			continue;
		}
		/* the n that reaches POWER_TARGET: double n until the power does */
		for (nn = n; (double)blocked < POWER_TARGET * (double)o.prs && nn < POWER_MAX_N;) {
			nn = nn * 2 > POWER_MAX_N ? POWER_MAX_N : nn * 2;
			blocked = simulate(rg, p, m, d, mean_p, nn, o.prs, &rng);
		}
		if ((double)blocked >= POWER_TARGET * (double)o.prs)
			printf("; 80%% power by n = %zu\n", nn);
		else
			printf("; under 80%% power even at n = %d\n", POWER_MAX_N);
	}
	rc = EG_EXIT_OK;
out:
	free(p);
	free(cr.pass);
	free(cr.seen);
	hashmap_release(&cr.index);
	gates_release(&gs);
	return rc;
}
