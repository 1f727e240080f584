/*
 * power: how often the regression gate would block an unchanged pull request
 * and how often it would catch a drop, by simulation from the history.
 *
 * Each case's pass rate is its share of passing verdicts over the target's
 * last --runs complete runs (errored verdicts left out; a case's verdict
 * over its repeats follows the run's repeat policy). A simulated PR draws a
 * baseline and a candidate outcome for --n cases (each case once when --n
 * is the number of cases with a rate, else drawn with replacement) and is
 * decided by regression_blocks(), the decision the gate itself makes
 * (runner/gates/power.c, flip confirmation included). A
 * drop of D points lowers each case's rate in proportion to it, so the mean
 * pass rate falls by D points. With flip confirmation's "use_history", the
 * flips on cases flaky in the same runs (struct flip_history, every scored
 * repeat a sample) are discounted as the gate discounts them. --json prints
 * the same figures as one JSON object (docs/commands.md).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "error.h"
#include "gate.h"
#include "history.h"
#include "jsonw.h"
#include "power.h"
#include "regression.h"
#include "rng.h"
#include "stats.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

static const char usage[] =
	"usage: evalgate power [--drop 2,5,10] [--n N] [--prs 1000] [--seed S] [--runs K] "
	"[--target NAME] [--json] [--config FILE] [--history FILE]";

#define POWER_TARGET 0.8
#define POWER_MAX_N 100000
#define POWER_MAX_DROPS 16

struct power_opts {
	const char *drop;         /* --drop: points, comma-separated */
	long n;                   /* --n: cases per PR; 0: the cases with a rate */
	long prs;                 /* --prs: simulated PRs per estimate */
	long seed;                /* --seed */
	long runs;                /* --runs: the last K complete runs */
	const char *target;       /* --target; NULL: the config's */
	int json;                 /* --json: one JSON object */
};

/* the simulated figures, printed as text or JSON */
struct power_result {
	size_t m, n;              /* cases with a rate; cases per simulated PR */
	size_t runs;              /* complete runs the rates come from */
	double mean_p;            /* the mean case pass rate */
	struct flip_history *fh;  /* the same runs as flip confirmation reads them */
	const struct power_group *g; /* the cases by rate and estimate */
	size_t n_g;
	long no_change;           /* unchanged PRs blocked */
	size_t n_drops;
	struct power_drop {
		double points;        /* the drop, in points */
		long blocked;         /* PRs with that drop blocked */
		size_t n80;           /* the n that reaches 80% power; 0: the mean is under
					 the drop, or not even at POWER_MAX_N */
	} drops[POWER_MAX_DROPS];
};

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

/* what flip confirmation takes from the history: the cases it discounts */
static void print_history(const struct flip_history *fh, const struct power_group *g, size_t n_g)
{
	size_t i, flaky = 0, known = 0;

	for (i = 0; i < n_g; i++) {
		known += isnan(g[i].est) ? 0 : g[i].count;
		flaky += flip_history_flaky(fh, g[i].est) ? g[i].count : 0;
	}
	printf("flip confirmation history: %zu of %zu cases with %d or more samples, %zu of them "
	       "flaky (p < %.2f): their flips discounted\n", known, fh->pr.n, HISTORY_MIN_SAMPLES,
	       flaky, fh->flaky_p);
}

/* the power against a drop of points, and the n that reaches POWER_TARGET (doubling n) */
static void simulate_drop(const struct regression_gate *rg, const struct power_result *r,
			  long prs, struct eg_rng *rng, double points, struct power_drop *out)
{
	double d = points / 100, mean_p = r->mean_p;
	size_t m = r->m, n = r->n, nn;
	long blocked;

	out->points = points;
	out->n80 = 0;
	out->blocked = blocked = power_simulate(rg, r->g, r->n_g, m, d, mean_p, n, prs, r->fh, rng);
	if (d > mean_p)
		return;
	for (nn = n; (double)blocked < POWER_TARGET * (double)prs && nn < POWER_MAX_N;) {
		nn = nn * 2 > POWER_MAX_N ? POWER_MAX_N : nn * 2;
		blocked = power_simulate(rg, r->g, r->n_g, m, d, mean_p, nn, prs, r->fh, rng);
	}
	if ((double)blocked >= POWER_TARGET * (double)prs)
		out->n80 = nn;
}

static void print_text(const struct regression_gate *rg, const struct power_opts *o,
		       const struct power_result *r)
{
	size_t i;

	printf("regression gate: ");
	if (rg->has_alpha)
		printf("alpha %g", rg->alpha);
	if (rg->has_max_new_failures)
		printf("%smax_new_failures %ld", rg->has_alpha ? ", " : "", rg->max_new_failures);
	if (rg->confirm.max_asks)
		printf(", flip confirmation (max_asks %d, max_extra_calls %g, alpha_share %g)",
		       rg->confirm.max_asks, rg->confirm.max_extra_calls, rg->confirm.alpha_share);
	printf("\ncase pass rates: %zu cases from %zu complete run%s of target %s, mean %.1f%%\n",
	       r->m, r->runs, r->runs == 1 ? "" : "s", o->target, 100 * r->mean_p);
	if (rg->confirm.max_asks && rg->confirm.use_history)
		print_history(r->fh, r->g, r->n_g);
	printf("simulated: %ld PRs of %zu cases each, seed %ld\n", o->prs, r->n, o->seed);
	print_rate("no change:     false-block rate", r->no_change, o->prs);
	putchar('\n');
	for (i = 0; i < r->n_drops; i++) {
		const struct power_drop *dr = &r->drops[i];
		char what[64];

		snprintf(what, sizeof(what), "drop %4g pts: power", dr->points);
		print_rate(what, dr->blocked, o->prs);
		if (dr->points / 100 > r->mean_p)
			printf("; the mean pass rate is under %g points\n", dr->points);
		else if (dr->n80)
			printf("; 80%% power by n = %zu\n", dr->n80);
		else
			printf("; under 80%% power even at n = %d\n", POWER_MAX_N);
	}
}

/* "key": {"blocked", "prs", "rate", "lo", "hi"} */
static void json_rate(struct jsonw *w, long k, long prs)
{
	double lo, hi;

	wilson95(k, prs, &lo, &hi);
	jsonw_member_int(w, "blocked", k);
	jsonw_member_int(w, "prs", prs);
	jsonw_member_num(w, "rate", (double)k / (double)prs);
	jsonw_member_num(w, "lo", lo);
	jsonw_member_num(w, "hi", hi);
}

static void print_json(const struct regression_gate *rg, const struct power_opts *o,
		       const struct power_result *r)
{
	struct strbuf sb = STRBUF_INIT;
	struct jsonw w;
	size_t i;

	jsonw_init(&w, &sb, 0);
	jsonw_object_begin(&w);
	jsonw_key(&w, "gate");
	jsonw_object_begin(&w);
	jsonw_key(&w, "alpha");
	if (rg->has_alpha)
		jsonw_num(&w, rg->alpha);
	else
		jsonw_null(&w);
	jsonw_key(&w, "max_new_failures");
	if (rg->has_max_new_failures)
		jsonw_int(&w, rg->max_new_failures);
	else
		jsonw_null(&w);
	jsonw_key(&w, "confirm");
	if (rg->confirm.max_asks) {
		jsonw_object_begin(&w);
		jsonw_member_int(&w, "max_asks", rg->confirm.max_asks);
		jsonw_member_num(&w, "max_extra_calls", rg->confirm.max_extra_calls);
		jsonw_member_num(&w, "alpha_share", rg->confirm.alpha_share);
		jsonw_object_end(&w);
	} else {
		jsonw_bool(&w, 0);
	}
	jsonw_object_end(&w);
	jsonw_member_str(&w, "target", o->target);
	jsonw_member_int(&w, "runs", (long long)r->runs);
	jsonw_member_int(&w, "cases", (long long)r->m);
	jsonw_member_num(&w, "mean_pass_rate", r->mean_p);
	jsonw_member_int(&w, "n", (long long)r->n);
	jsonw_member_int(&w, "prs", o->prs);
	jsonw_member_int(&w, "seed", o->seed);
	jsonw_key(&w, "no_change");
	jsonw_object_begin(&w);
	json_rate(&w, r->no_change, o->prs);
	jsonw_object_end(&w);
	jsonw_key(&w, "drops");
	jsonw_array_begin(&w);
	for (i = 0; i < r->n_drops; i++) {
		const struct power_drop *dr = &r->drops[i];

		jsonw_object_begin(&w);
		jsonw_member_num(&w, "drop", dr->points);
		json_rate(&w, dr->blocked, o->prs);
		jsonw_key(&w, "n_for_80");
		if (dr->n80)
			jsonw_int(&w, (long long)dr->n80);
		else
			jsonw_null(&w);
		jsonw_object_end(&w);
	}
	jsonw_array_end(&w);
	jsonw_object_end(&w);
	strbuf_addch(&sb, '\n');
	fputs(sb.buf, stdout);
	strbuf_release(&sb);
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
	struct power_opts o = { "2,5,10", 0, 1000, 1, 5, NULL, 0 };
	const struct option opts[] = {
		OPT_STRING_(0, "drop", &o.drop, "D,...", "drops in points to estimate power for (default 2,5,10)"),
		OPT_INT_(0, "n", &o.n, "N", "cases per simulated PR (default: the cases with a rate)", 1, POWER_MAX_N),
		OPT_INT_(0, "prs", &o.prs, "N", "simulated PRs per estimate (default 1000)", 10, 1000000),
		OPT_INT_(0, "seed", &o.seed, "S", "seed of the simulation (default 1)", 0, 2147483647),
		OPT_INT_(0, "runs", &o.runs, "K", "pool the target's last K complete runs (default 5)", 1, 1000),
		OPT_STRING_(0, "target", &o.target, "NAME", "the target (default: the config's)"),
		OPT_FLAG_(0, "json", &o.json, "print one JSON object with the same figures"),
		OPT_END_(),
	};
	struct flip_history fh;
	struct power_rates *cr = &fh.pr;
	struct regression_gate dflt;
	const struct regression_gate *rg;
	struct gates gs;
	struct eg_rng rng;
	struct power_result res;
	double drops[POWER_MAX_DROPS], mean_p = 0;
	struct power_group *g = NULL;
	size_t n_drops, i, m, n;
	int nops, rc = EG_EXIT_USAGE;

	memset(&gs, 0, sizeof(gs));
	memset(&res, 0, sizeof(res));
	flip_history_init(&fh, 0);
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
	fh.flaky_p = flip_history_flaky_p(rg->confirm.max_asks);
	if (power_rates_add_target(cr, ctx->h, o.target, NULL, (size_t)o.runs))
		goto out;
	rc = EG_EXIT_USAGE;
	if (!cr->n) {
		error("no complete run of target '%s' with scored cases in the history", o.target);
		goto out;
	}
	m = cr->n;
	flip_history_finish(&fh);
	g = power_groups(&fh, &mean_p);
	n = o.n ? (size_t)o.n : m;

	res.m = m;
	res.n = n;
	res.runs = cr->runs;
	res.mean_p = mean_p;
	res.fh = &fh;
	res.g = g;
	res.n_g = cr->n_v;
	eg_rng_init(&rng, (unsigned long long)o.seed);
	res.no_change = power_simulate(rg, g, cr->n_v, m, 0, mean_p, n, o.prs, &fh, &rng);
	res.n_drops = n_drops;
	for (i = 0; i < n_drops; i++)
		simulate_drop(rg, &res, o.prs, &rng, drops[i], &res.drops[i]);
	if (o.json)
		print_json(rg, &o, &res);
	else
		print_text(rg, &o, &res);
	rc = EG_EXIT_OK;
out:
	free(g);
	flip_history_release(&fh);
	gates_release(&gs);
	return rc;
}
