/* compare: two stored runs side by side, per suite, with the flipped and unpaired cases */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "commands.h"
#include "compare.h"
#include "config.h"
#include "error.h"
#include "escape.h"
#include "history.h"
#include "jsonw.h"
#include "opts.h"
#include "registry.h"
#include "stats.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

static const char usage[] =
	"usage: evalgate compare A B [--markdown | --json] [--suite NAME] [--exclude-flaky] [--limit N]\n"
	"                        [--registry URL]\n"
	"\n"
	"A is the baseline, B the candidate: a run id (or a unique prefix), latest,\n"
	"latest:GITREF or alias:NAME. B = latest is the newest finished run; A = latest\n"
	"is the newest finished run of B's target other than B.";

#define ANSWER_MAX 200            /* bytes of an answer shown in text and Markdown */
#define JSON_ANSWER_MAX 4096      /* bytes of an answer in --json */
#define LABEL_MAX 40              /* bytes of a scorer label in a table */

struct cmp_cli {
	const struct common_opts *common; /* the parsed common options */
	const char *suite;        /* --suite NAME */
	const char *registry;     /* for alias:NAME: --registry, else the config's; or NULL */
	long limit;               /* --limit N: flipped and unpaired cases listed */
	int markdown, json, exclude_flaky;
};

struct score_mean {
	char *scorer;
	double mean;
};

struct score_means {
	struct score_mean *v;
	size_t n, alloc;
};

/* the summed cost, NaN when no result's cost is known */
static double usage_cost(const struct usage *u)
{
	return u->n_cost ? u->cost_usd : NAN;
}

/* what one table shows: one suite, or all of them (name NULL) */
struct suite_data {
	const char *name;
	const struct compare_counts *c;
	struct usage ua, ub;
	struct score_means sa, sb;
};

/* one row of a suite's table: a metric for A, for B and the change */
struct mrow {
	char label[64];
	char a[48], b[48], d[48];
	int sign;                 /* +1 better, -1 worse, 0 neutral or unknown */
};

struct mrows {
	struct mrow *v;
	size_t n, alloc;
};

struct colors {
	const char *red, *green, *bold, *dim, *reset;
};

static void add_mean(struct score_means *m, const char *scorer, double mean, long n)
{
	XGROW(m->v, m->n + 1, m->alloc);
	m->v[m->n].scorer = xstrdup(scorer ? scorer : "?");
	m->v[m->n++].mean = n ? mean : NAN;
}

static void score_means_release(struct score_means *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		free(m->v[i].scorer);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

/* one run's side of the tables being filled: sd[0..n_sd - 2] the suites, sd[n_sd - 1] all */
struct side_fill {
	struct suite_data *sd;
	size_t n_sd;
	int cand;                 /* filling B's side */
};

/* the table of a suite (NULL: all suites), by name: the tables are in byte order */
static struct suite_data *side_table(const struct side_fill *f, const char *suite)
{
	size_t lo = 0, hi = f->n_sd - 1;

	if (!suite)
		return &f->sd[f->n_sd - 1];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = strcmp(suite, f->sd[mid].name);

		if (!cmp)
			return &f->sd[mid];
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL; /* compare_runs saw no case of it: not shown */
}

static int take_usage(const char *suite, const struct usage *u, void *arg)
{
	struct side_fill *f = arg;
	struct suite_data *sd = side_table(f, suite);

	if (sd)
		*(f->cand ? &sd->ub : &sd->ua) = *u;
	return 0;
}

static int take_mean(const char *suite, const char *scorer, double mean, long n, void *arg)
{
	struct side_fill *f = arg;
	struct suite_data *sd = side_table(f, suite);

	if (sd)
		add_mean(f->cand ? &sd->sb : &sd->sa, scorer, mean, n);
	return 0;
}

/*
 * the tables of every suite of res (sd[i] for res->suites[i]) and of all of
 * them (sd[res->n_suites]): each run's results and scores read once
 */
static int suite_data_load(struct history *h, const char *a, const char *b, const char *suite,
			   const struct compare_result *res, struct suite_data *sd)
{
	struct side_fill f = { sd, res->n_suites + 1, 0 };
	size_t i;

	for (i = 0; i <= res->n_suites; i++) {
		sd[i].name = i < res->n_suites ? res->suites[i].name : NULL;
		sd[i].c = i < res->n_suites ? &res->suites[i].c : &res->all;
		usage_init(&sd[i].ua);
		usage_init(&sd[i].ub);
	}
	if (history_usage_suites(h, a, suite, take_usage, &f) ||
	    history_score_means_suites(h, a, suite, take_mean, &f))
		return -1;
	f.cand = 1;
	if (history_usage_suites(h, b, suite, take_usage, &f) ||
	    history_score_means_suites(h, b, suite, take_mean, &f))
		return -1;
	return 0;
}

static void suite_data_release(struct suite_data *sd)
{
	score_means_release(&sd->sa);
	score_means_release(&sd->sb);
}

static struct mrow *mrow_new(struct mrows *r, const char *label)
{
	struct mrow *m;

	XGROW(r->v, r->n + 1, r->alloc);
	m = &r->v[r->n++];
	memset(m, 0, sizeof(*m));
	snprintf(m->label, sizeof(m->label), "%s", label);
	return m;
}

/* v with prec decimals, "-" when unknown */
static void fmt_num(char *buf, size_t n, int prec, double v)
{
	if (isnan(v))
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%.*f", prec, v);
}

static double rate(const struct compare_side *s)
{
	return s->pass + s->fail ? (double)s->pass / (double)(s->pass + s->fail) : NAN;
}

static void rate_cell(char *buf, size_t n, const struct compare_side *s)
{
	double lo, hi;

	if (!(s->pass + s->fail)) {
		snprintf(buf, n, "-");
		return;
	}
	wilson95(s->pass, s->pass + s->fail, &lo, &hi);
	snprintf(buf, n, "%.1f%% [%.1f, %.1f]", 100 * rate(s), 100 * lo, 100 * hi);
}

/* b - a with prec decimals and a unit; sign (when given) says whether it is better */
static void delta_cell(char *buf, size_t n, int prec, const char *unit, double a, double b,
		       int *sign, int higher_better)
{
	if (isnan(a) || isnan(b)) {
		snprintf(buf, n, "-");
		return;
	}
	snprintf(buf, n, "%+.*f%s", prec, b - a, unit);
	if (sign && b != a)
		*sign = (b > a) == higher_better ? 1 : -1;
}

/* the rows of one suite's table */
static void build_rows(const struct suite_data *sd, struct mrows *r)
{
	const struct compare_counts *c = sd->c;
	struct mrow *m;
	size_t i = 0, k = 0;

	m = mrow_new(r, "cases");
	snprintf(m->a, sizeof(m->a), "%ld", c->base.n);
	snprintf(m->b, sizeof(m->b), "%ld", c->cand.n);
	snprintf(m->d, sizeof(m->d), "%+ld", c->cand.n - c->base.n);
	m = mrow_new(r, "pass rate");
	rate_cell(m->a, sizeof(m->a), &c->base);
	rate_cell(m->b, sizeof(m->b), &c->cand);
	delta_cell(m->d, sizeof(m->d), 1, " pp", 100 * rate(&c->base), 100 * rate(&c->cand),
		   &m->sign, 1);
	m = mrow_new(r, "errors");
	snprintf(m->a, sizeof(m->a), "%ld", c->base.error);
	snprintf(m->b, sizeof(m->b), "%ld", c->cand.error);
	snprintf(m->d, sizeof(m->d), "%+ld", c->cand.error - c->base.error);
	if (c->base.flaky || c->cand.flaky) {
		m = mrow_new(r, "flaky");
		snprintf(m->a, sizeof(m->a), "%ld", c->base.flaky);
		snprintf(m->b, sizeof(m->b), "%ld", c->cand.flaky);
		snprintf(m->d, sizeof(m->d), "%+ld", c->cand.flaky - c->base.flaky);
	}
	/* scorer means, merged by label (both lists are in byte order) */
	while (i < sd->sa.n || k < sd->sb.n) {
		const struct score_mean *a = i < sd->sa.n ? &sd->sa.v[i] : NULL;
		const struct score_mean *b = k < sd->sb.n ? &sd->sb.v[k] : NULL;
		struct strbuf label = STRBUF_INIT;
		int cmp = !a ? 1 : !b ? -1 : strcmp(a->scorer, b->scorer);

		if (cmp < 0)
			b = NULL;
		if (cmp > 0)
			a = NULL;
		strbuf_addstr(&label, "score ");
		esc_visible(&label, (a ? a : b)->scorer, strlen((a ? a : b)->scorer), LABEL_MAX);
		m = mrow_new(r, label.buf);
		strbuf_release(&label);
		fmt_num(m->a, sizeof(m->a), 3, a ? a->mean : NAN);
		fmt_num(m->b, sizeof(m->b), 3, b ? b->mean : NAN);
		delta_cell(m->d, sizeof(m->d), 3, "", a ? a->mean : NAN, b ? b->mean : NAN,
			   &m->sign, 1);
		i += !!a;
		k += !!b;
	}
	m = mrow_new(r, "latency p50 ms");
	fmt_num(m->a, sizeof(m->a), 0, sd->ua.latency_p50);
	fmt_num(m->b, sizeof(m->b), 0, sd->ub.latency_p50);
	delta_cell(m->d, sizeof(m->d), 0, "", sd->ua.latency_p50, sd->ub.latency_p50, NULL, 0);
	m = mrow_new(r, "latency p95 ms");
	fmt_num(m->a, sizeof(m->a), 0, sd->ua.latency_p95);
	fmt_num(m->b, sizeof(m->b), 0, sd->ub.latency_p95);
	delta_cell(m->d, sizeof(m->d), 0, "", sd->ua.latency_p95, sd->ub.latency_p95, NULL, 0);
	/* streamed runs only: the time to first token and between tokens */
	if (!isnan(sd->ua.ttft_p50) || !isnan(sd->ub.ttft_p50)) {
		const struct { const char *label; double a, b; } rows[] = {
			{ "ttft p50 ms", sd->ua.ttft_p50, sd->ub.ttft_p50 },
			{ "ttft p95 ms", sd->ua.ttft_p95, sd->ub.ttft_p95 },
			{ "itl p50 ms", sd->ua.itl_p50, sd->ub.itl_p50 },
			{ "itl p95 ms", sd->ua.itl_p95, sd->ub.itl_p95 },
		};
		size_t k2;

		for (k2 = 0; k2 < sizeof(rows) / sizeof(rows[0]); k2++) {
			m = mrow_new(r, rows[k2].label);
			fmt_num(m->a, sizeof(m->a), 1, rows[k2].a);
			fmt_num(m->b, sizeof(m->b), 1, rows[k2].b);
			delta_cell(m->d, sizeof(m->d), 1, "", rows[k2].a, rows[k2].b, NULL, 0);
		}
	}
	m = mrow_new(r, "tokens");
	{
		double ta = sd->ua.n_tokens ? (double)(sd->ua.prompt_tokens + sd->ua.completion_tokens) : NAN;
		double tb = sd->ub.n_tokens ? (double)(sd->ub.prompt_tokens + sd->ub.completion_tokens) : NAN;

		fmt_num(m->a, sizeof(m->a), 0, ta);
		fmt_num(m->b, sizeof(m->b), 0, tb);
		delta_cell(m->d, sizeof(m->d), 0, "", ta, tb, NULL, 0);
	}
	m = mrow_new(r, "cost USD");
	fmt_num(m->a, sizeof(m->a), 4, usage_cost(&sd->ua));
	fmt_num(m->b, sizeof(m->b), 4, usage_cost(&sd->ub));
	delta_cell(m->d, sizeof(m->d), 4, "", usage_cost(&sd->ua), usage_cost(&sd->ub), NULL, 0);
}

/* "N pairs, B new failures, C fixed, McNemar p = P, ..." */
static void counts_line(struct strbuf *sb, const struct compare_counts *c)
{
	strbuf_addf(sb, "%ld pairs, %ld new failure%s, %ld fixed, McNemar p = %.4g", c->pairs,
		    c->new_failures, c->new_failures == 1 ? "" : "s", c->fixed, c->p_value);
	if (!isnan(c->diff))
		strbuf_addf(sb, ", paired difference %+.1f pp [%+.1f, %+.1f]", 100 * c->diff,
			    100 * c->diff_lo, 100 * c->diff_hi);
	strbuf_addf(sb, "; not paired: %ld changed, %ld only in A, %ld only in B, %ld errored",
		    c->changed, c->only_in_baseline, c->only_in_candidate, c->errors);
	if (c->flaky_excluded)
		strbuf_addf(sb, ", %ld flaky", c->flaky_excluded);
}

static void visible_str(struct strbuf *sb, const char *s, size_t max)
{
	if (!s)
		strbuf_addch(sb, '-');
	else
		esc_visible(sb, s, strlen(s), max);
}

static void md_str(struct strbuf *sb, const char *s, size_t max)
{
	if (!s)
		strbuf_addch(sb, '-');
	else
		esc_md_cell(sb, s, strlen(s), max);
}

/* --- the flipped cases with their answers --- */

struct flip_view {
	const struct compare_item *it;
	struct case_sample a, b;  /* status 0 and output NULL when not found */
	int have_a, have_b;
};

static int flips_load(struct history *h, const char *a, const char *b,
		      const struct compare_list *l, struct flip_view **out, size_t *n)
{
	size_t i, total = l->n_new_failures + l->n_fixed;
	struct flip_view *v = xcalloc(total + 1, sizeof(*v));
	int rc;

	*out = v;
	*n = 0;
	for (i = 0; i < total; i++) {
		const struct compare_item *it = i < l->n_new_failures ? &l->new_failures[i]
						: &l->fixed[i - l->n_new_failures];
		int nf = it->kind == CMP_NEW_FAILURE;

		v[i].it = it;
		rc = history_case_sample(h, a, it->suite, it->case_id,
					 nf ? RESULT_PASS : RESULT_FAIL, &v[i].a);
		if (rc < 0)
			return -1;
		v[i].have_a = !rc;
		rc = history_case_sample(h, b, it->suite, it->case_id,
					 nf ? RESULT_FAIL : RESULT_PASS, &v[i].b);
		*n = i + 1;
		if (rc < 0)
			return -1;
		v[i].have_b = !rc;
	}
	return 0;
}

static void flips_free(struct flip_view *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		case_sample_release(&v[i].a);
		case_sample_release(&v[i].b);
	}
	free(v);
}

/* the answer of a sample for people: the output, or the call's error */
static void answer_text(struct strbuf *sb, const struct case_sample *s, int have, int md)
{
	if (!have) {
		strbuf_addstr(sb, "(not stored)");
	} else if (!s->output) {
		strbuf_addstr(sb, "(error: ");
		if (md)
			md_str(sb, s->error, ANSWER_MAX);
		else
			visible_str(sb, s->error, ANSWER_MAX);
		strbuf_addch(sb, ')');
	} else if (md) {
		esc_md_cell(sb, s->output, s->output_len, ANSWER_MAX);
	} else {
		strbuf_addch(sb, '"');
		esc_visible(sb, s->output, s->output_len, ANSWER_MAX);
		strbuf_addch(sb, '"');
	}
}

static void reasons_text(struct strbuf *sb, const struct case_sample *s, int md,
			 const char *sep)
{
	size_t i;

	for (i = 0; i < s->n_failed; i++) {
		if (i)
			strbuf_addstr(sb, sep);
		if (md) {
			md_str(sb, s->failed[i].scorer, LABEL_MAX);
			strbuf_addstr(sb, s->failed[i].error ? " (error): " : ": ");
			md_str(sb, s->failed[i].reason, ANSWER_MAX);
		} else {
			visible_str(sb, s->failed[i].scorer, LABEL_MAX);
			strbuf_addstr(sb, s->failed[i].error ? " (error): " : ": ");
			visible_str(sb, s->failed[i].reason, ANSWER_MAX);
		}
	}
}

/* --- output: text --- */

/* --- trajectory flips: the tool calls of a case changed between the runs --- */

#define NO_CALLS "(no tool calls)"

struct traj_flip {
	char *suite, *case_id;
	char *a, *b;              /* the calls in A and in B (trajectory_calls_stored) */
};

struct traj_flips {
	struct traj_flip *v;      /* listed flips */
	size_t n, alloc;
	long seen, limit;         /* flips found; listed at most */
};

/* a flip found by compare_trajectories: counted, and listed up to the limit */
static int traj_take(const char *suite, const char *case_id, const char *a, const char *b,
		     void *arg)
{
	struct traj_flips *t = arg;
	struct traj_flip *f;

	t->seen++;
	if (t->n >= (size_t)t->limit)
		return 0;
	XGROW(t->v, t->n + 1, t->alloc);
	f = &t->v[t->n++];
	f->suite = xstrdup(suite);
	f->case_id = xstrdup(case_id);
	f->a = xstrdup(*a ? a : NO_CALLS);
	f->b = xstrdup(*b ? b : NO_CALLS);
	return 0;
}

/* the paired cases (first repeats) whose tool calls differ between runs a and b */
static int traj_flips_load(struct history *h, const char *a, const char *b, const char *suite,
			   long limit, struct traj_flips *t)
{
	memset(t, 0, sizeof(*t));
	t->limit = limit;
	return compare_trajectories(h, a, b, suite, traj_take, t);
}

static void traj_flips_release(struct traj_flips *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		free(t->v[i].suite);
		free(t->v[i].case_id);
		free(t->v[i].a);
		free(t->v[i].b);
	}
	free(t->v);
}

struct report {
	struct history *h;
	const struct run_info *a, *b;
	const struct compare_result *res;
	const struct compare_list *list;
	struct suite_data *sd;    /* one per suite, then all suites */
	size_t n_sd;
	struct flip_view *flips;
	size_t n_flips;
	struct traj_flips traj;   /* cases whose tool calls changed */
	const struct cmp_cli *o;
	struct colors col;
};

static void text_run(const char *which, const struct run_info *ri)
{
	printf("%s %s  %s@%s  model %s  started %s", which, ri->id, ri->target ? ri->target : "?",
	       ri->version ? ri->version : "?", ri->model ? ri->model : "?",
	       ri->started_at ? ri->started_at : "?");
	if (ri->git_ref || ri->git_sha)
		printf("  git %s%s%.12s", ri->git_ref ? ri->git_ref : "-", ri->git_sha ? " " : "",
		       ri->git_sha ? ri->git_sha : "");
	if (ri->status != RUN_FINISHED)
		printf("  (%s)", run_status_name(ri->status));
	putchar('\n');
}

static void text_table(const struct report *r, const struct suite_data *sd)
{
	struct mrows rows = { NULL, 0, 0 };
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	if (sd->name) {
		strbuf_addstr(&sb, "suite ");
		esc_visible(&sb, sd->name, strlen(sd->name), 120);
	} else {
		strbuf_addstr(&sb, "all suites");
	}
	printf("\n%s%s%s\n  ", r->col.bold, sb.buf, r->col.reset);
	strbuf_reset(&sb);
	counts_line(&sb, sd->c);
	printf("%s\n", sb.buf);
	strbuf_release(&sb);
	build_rows(sd, &rows);
	printf("  %s%-22s %-26s %-26s %s%s\n", r->col.dim, "", "A (baseline)", "B (candidate)",
	       "delta", r->col.reset);
	for (i = 0; i < rows.n; i++) {
		const struct mrow *m = &rows.v[i];
		const char *c = m->sign > 0 ? r->col.green : m->sign < 0 ? r->col.red : "";

		printf("  %-22s %-26s %-26s %s%s%s\n", m->label, m->a, m->b, c, m->d,
		       *c ? r->col.reset : "");
	}
	free(rows.v);
}

static void text_flips(const struct report *r)
{
	const struct compare_counts *all = &r->res->all;
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	if (!r->n_flips)
		return;
	printf("\n%sflipped cases%s (%ld new failures, %ld fixed)\n", r->col.bold, r->col.reset,
	       all->new_failures, all->fixed);
	for (i = 0; i < r->n_flips; i++) {
		const struct flip_view *f = &r->flips[i];
		int nf = f->it->kind == CMP_NEW_FAILURE;
		const struct case_sample *failing = nf ? &f->b : &f->a;

		strbuf_reset(&sb);
		visible_str(&sb, f->it->suite, 120);
		strbuf_addch(&sb, '/');
		visible_str(&sb, f->it->case_id, 200);
		printf("  %s%-12s%s %s\n", nf ? r->col.red : r->col.green,
		       nf ? "NEW FAILURE" : "FIXED", r->col.reset, sb.buf);
		strbuf_reset(&sb);
		answer_text(&sb, &f->a, f->have_a, 0);
		printf("    A %s: %s\n", nf ? "pass" : "fail", sb.buf);
		strbuf_reset(&sb);
		answer_text(&sb, &f->b, f->have_b, 0);
		printf("    B %s: %s\n", nf ? "fail" : "pass", sb.buf);
		if (failing->n_failed) {
			strbuf_reset(&sb);
			reasons_text(&sb, failing, 0, "\n      ");
			printf("      %s\n", sb.buf);
		}
	}
	if (r->list->seen_flips > (long)r->n_flips)
		printf("  ... and %ld more (--limit N lists more)\n",
		       r->list->seen_flips - (long)r->n_flips);
	strbuf_release(&sb);
}

static const char *why_text(enum compare_kind k)
{
	return k == CMP_CHANGED ? "changed" : k == CMP_ONLY_BASELINE ? "only in A" : "only in B";
}

static void text_unpaired(const struct report *r)
{
	const struct compare_counts *all = &r->res->all;
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	if (!r->list->n_unpaired)
		return;
	printf("\n%sunpaired cases%s (%ld changed, %ld only in A, %ld only in B)\n", r->col.bold,
	       r->col.reset, all->changed, all->only_in_baseline, all->only_in_candidate);
	for (i = 0; i < r->list->n_unpaired; i++) {
		const struct compare_item *it = &r->list->unpaired[i];

		strbuf_reset(&sb);
		visible_str(&sb, it->suite, 120);
		strbuf_addch(&sb, '/');
		visible_str(&sb, it->case_id, 200);
		printf("  %-10s %s\n", why_text(it->kind), sb.buf);
	}
	if (r->list->seen_unpaired > (long)r->list->n_unpaired)
		printf("  ... and %ld more (--limit N lists more)\n",
		       r->list->seen_unpaired - (long)r->list->n_unpaired);
	strbuf_release(&sb);
}

static void text_traj_flips(const struct report *r)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	if (!r->traj.seen)
		return;
	printf("\n%strajectory flips%s (%ld cases whose tool calls changed)\n", r->col.bold,
	       r->col.reset, r->traj.seen);
	for (i = 0; i < r->traj.n; i++) {
		const struct traj_flip *f = &r->traj.v[i];

		strbuf_reset(&sb);
		visible_str(&sb, f->suite, 120);
		strbuf_addch(&sb, '/');
		visible_str(&sb, f->case_id, 200);
		strbuf_addstr(&sb, "\n    A: ");
		visible_str(&sb, f->a, ANSWER_MAX);
		strbuf_addstr(&sb, "\n    B: ");
		visible_str(&sb, f->b, ANSWER_MAX);
		printf("  %s\n", sb.buf);
	}
	if (r->traj.seen > (long)r->traj.n)
		printf("  ... %ld more\n", r->traj.seen - (long)r->traj.n);
	strbuf_release(&sb);
}

static void print_text(const struct report *r)
{
	size_t i;

	text_run("A (baseline) ", r->a);
	text_run("B (candidate)", r->b);
	if (r->o->exclude_flaky)
		printf("flaky cases are left out of the pairs\n");
	for (i = 0; i < r->n_sd; i++)
		if (r->sd[i].name || r->res->n_suites > 1)
			text_table(r, &r->sd[i]);
	if (!r->res->n_suites)
		printf("\nno cases in either run\n");
	text_flips(r);
	text_traj_flips(r);
	text_unpaired(r);
}

/* --- output: Markdown --- */

static void md_run_rows(struct strbuf *sb, const struct run_info *a, const struct run_info *b)
{
	strbuf_addstr(sb, "| | A (baseline) | B (candidate) |\n| --- | --- | --- |\n| run | ");
	md_str(sb, a->id, 80);
	strbuf_addstr(sb, " | ");
	md_str(sb, b->id, 80);
	strbuf_addstr(sb, " |\n| target | ");
	md_str(sb, a->target, 80);
	strbuf_addstr(sb, "@");
	md_str(sb, a->version, 80);
	strbuf_addstr(sb, " | ");
	md_str(sb, b->target, 80);
	strbuf_addstr(sb, "@");
	md_str(sb, b->version, 80);
	strbuf_addstr(sb, " |\n| model | ");
	md_str(sb, a->model, 80);
	strbuf_addstr(sb, " | ");
	md_str(sb, b->model, 80);
	strbuf_addstr(sb, " |\n| started | ");
	md_str(sb, a->started_at, 40);
	strbuf_addstr(sb, " | ");
	md_str(sb, b->started_at, 40);
	strbuf_addstr(sb, " |\n| git | ");
	md_str(sb, a->git_ref, 80);
	strbuf_addch(sb, ' ');
	md_str(sb, a->git_sha, 12);
	strbuf_addstr(sb, " | ");
	md_str(sb, b->git_ref, 80);
	strbuf_addch(sb, ' ');
	md_str(sb, b->git_sha, 12);
	strbuf_addstr(sb, " |\n");
}

static void md_table(struct strbuf *sb, const struct suite_data *sd)
{
	struct mrows rows = { NULL, 0, 0 };
	struct strbuf line = STRBUF_INIT;
	size_t i;

	strbuf_addstr(sb, "\n### ");
	if (sd->name) {
		strbuf_addstr(sb, "Suite ");
		md_str(sb, sd->name, 120);
	} else {
		strbuf_addstr(sb, "All suites");
	}
	counts_line(&line, sd->c);
	strbuf_addstr(sb, "\n\n");
	md_str(sb, line.buf, line.len);
	strbuf_release(&line);
	strbuf_addstr(sb, "\n\n| metric | A (baseline) | B (candidate) | delta |\n"
			  "| --- | ---: | ---: | ---: |\n");
	build_rows(sd, &rows);
	for (i = 0; i < rows.n; i++) {
		strbuf_addstr(sb, "| ");
		md_str(sb, rows.v[i].label, sizeof(rows.v[i].label));
		strbuf_addstr(sb, " | ");
		md_str(sb, rows.v[i].a, sizeof(rows.v[i].a));
		strbuf_addstr(sb, " | ");
		md_str(sb, rows.v[i].b, sizeof(rows.v[i].b));
		strbuf_addstr(sb, " | ");
		md_str(sb, rows.v[i].d, sizeof(rows.v[i].d));
		strbuf_addstr(sb, " |\n");
	}
	free(rows.v);
}

static void print_markdown(const struct report *r)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	strbuf_addstr(&sb, "## evalgate compare\n\n");
	md_run_rows(&sb, r->a, r->b);
	if (r->o->exclude_flaky)
		strbuf_addstr(&sb, "\nFlaky cases are left out of the pairs.\n");
	for (i = 0; i < r->n_sd; i++)
		if (r->sd[i].name || r->res->n_suites > 1)
			md_table(&sb, &r->sd[i]);
	if (r->n_flips) {
		strbuf_addf(&sb, "\n### Flipped cases\n\n%ld new failures, %ld fixed.\n\n"
			    "| flip | case | A | B | failing scorers |\n"
			    "| --- | --- | --- | --- | --- |\n", r->res->all.new_failures,
			    r->res->all.fixed);
		for (i = 0; i < r->n_flips; i++) {
			const struct flip_view *f = &r->flips[i];
			int nf = f->it->kind == CMP_NEW_FAILURE;

			strbuf_addstr(&sb, nf ? "| new failure | " : "| fixed | ");
			md_str(&sb, f->it->suite, 120);
			strbuf_addch(&sb, '/');
			md_str(&sb, f->it->case_id, 200);
			strbuf_addstr(&sb, " | ");
			answer_text(&sb, &f->a, f->have_a, 1);
			strbuf_addstr(&sb, " | ");
			answer_text(&sb, &f->b, f->have_b, 1);
			strbuf_addstr(&sb, " | ");
			reasons_text(&sb, nf ? &f->b : &f->a, 1, "<br>");
			strbuf_addstr(&sb, " |\n");
		}
		if (r->list->seen_flips > (long)r->n_flips)
			strbuf_addf(&sb, "\n%ld more flipped cases are not listed.\n",
				    r->list->seen_flips - (long)r->n_flips);
	}
	if (r->traj.seen) {
		strbuf_addf(&sb, "\n### Trajectory flips\n\n%ld cases whose tool calls changed.\n\n"
			    "| case | A | B |\n| --- | --- | --- |\n", r->traj.seen);
		for (i = 0; i < r->traj.n; i++) {
			const struct traj_flip *f = &r->traj.v[i];

			strbuf_addstr(&sb, "| ");
			md_str(&sb, f->suite, 120);
			strbuf_addch(&sb, '/');
			md_str(&sb, f->case_id, 200);
			strbuf_addstr(&sb, " | ");
			md_str(&sb, f->a, ANSWER_MAX);
			strbuf_addstr(&sb, " | ");
			md_str(&sb, f->b, ANSWER_MAX);
			strbuf_addstr(&sb, " |\n");
		}
		if (r->traj.seen > (long)r->traj.n)
			strbuf_addf(&sb, "\n%ld more trajectory flips are not listed.\n",
				    r->traj.seen - (long)r->traj.n);
	}
	if (r->list->n_unpaired) {
		strbuf_addf(&sb, "\n### Unpaired cases\n\n%ld changed, %ld only in A, %ld only in B.\n\n"
			    "| case | why |\n| --- | --- |\n", r->res->all.changed,
			    r->res->all.only_in_baseline, r->res->all.only_in_candidate);
		for (i = 0; i < r->list->n_unpaired; i++) {
			const struct compare_item *it = &r->list->unpaired[i];

			strbuf_addstr(&sb, "| ");
			md_str(&sb, it->suite, 120);
			strbuf_addch(&sb, '/');
			md_str(&sb, it->case_id, 200);
			strbuf_addf(&sb, " | %s |\n", why_text(it->kind));
		}
		if (r->list->seen_unpaired > (long)r->list->n_unpaired)
			strbuf_addf(&sb, "\n%ld more unpaired cases are not listed.\n",
				    r->list->seen_unpaired - (long)r->list->n_unpaired);
	}
	fputs(sb.buf, stdout);
	strbuf_release(&sb);
}

/* --- output: JSON --- */

static void j_run(struct jsonw *w, const char *key, const struct run_info *ri)
{
	jsonw_key(w, key);
	jsonw_object_begin(w);
	jsonw_member_str(w, "id", ri->id);
	jsonw_member_str(w, "target", ri->target);
	jsonw_member_str(w, "version", ri->version);
	jsonw_member_str(w, "model", ri->model);
	jsonw_member_str(w, "started_at", ri->started_at);
	jsonw_member_str(w, "status", run_status_name(ri->status));
	jsonw_member_str(w, "git_ref", ri->git_ref);
	jsonw_member_str(w, "git_sha", ri->git_sha);
	jsonw_object_end(w);
}

static void j_counts(struct jsonw *w, const struct compare_counts *c)
{
	jsonw_member_int(w, "pairs", c->pairs);
	jsonw_member_int(w, "new_failures", c->new_failures);
	jsonw_member_int(w, "fixed", c->fixed);
	jsonw_member_int(w, "both_pass", c->both_pass);
	jsonw_member_int(w, "both_fail", c->both_fail);
	jsonw_member_int(w, "errors_excluded", c->errors);
	jsonw_member_int(w, "flaky_excluded", c->flaky_excluded);
	jsonw_member_int(w, "changed", c->changed);
	jsonw_member_int(w, "only_in_baseline", c->only_in_baseline);
	jsonw_member_int(w, "only_in_candidate", c->only_in_candidate);
	jsonw_member_num(w, "p_value", c->p_value);
	jsonw_member_num(w, "diff", c->diff);
	jsonw_member_num(w, "diff_lo", c->diff_lo);
	jsonw_member_num(w, "diff_hi", c->diff_hi);
}

static void j_side(struct jsonw *w, const char *key, const struct compare_side *s,
		   const struct usage *u, const struct score_means *m)
{
	double lo, hi;
	size_t i;

	wilson95(s->pass, s->pass + s->fail, &lo, &hi);
	jsonw_key(w, key);
	jsonw_object_begin(w);
	jsonw_member_int(w, "cases", s->n);
	jsonw_member_int(w, "pass", s->pass);
	jsonw_member_int(w, "fail", s->fail);
	jsonw_member_int(w, "error", s->error);
	jsonw_member_int(w, "flaky", s->flaky);
	jsonw_member_num(w, "pass_rate", rate(s));
	jsonw_member_num(w, "pass_rate_lo", lo);
	jsonw_member_num(w, "pass_rate_hi", hi);
	jsonw_member_num(w, "latency_p50_ms", u->latency_p50);
	jsonw_member_num(w, "latency_p95_ms", u->latency_p95);
	if (!isnan(u->ttft_p50)) {
		jsonw_member_num(w, "ttft_p50_ms", u->ttft_p50);
		jsonw_member_num(w, "ttft_p95_ms", u->ttft_p95);
		jsonw_member_num(w, "itl_p50_ms", u->itl_p50);
		jsonw_member_num(w, "itl_p95_ms", u->itl_p95);
	}
	jsonw_member_num(w, "prompt_tokens", u->n_tokens ? (double)u->prompt_tokens : NAN);
	jsonw_member_num(w, "completion_tokens",
			 u->n_tokens ? (double)u->completion_tokens : NAN);
	jsonw_member_num(w, "cost_usd", usage_cost(u));
	jsonw_key(w, "scores");
	jsonw_object_begin(w);
	for (i = 0; i < m->n; i++)
		jsonw_member_num(w, m->v[i].scorer, m->v[i].mean);
	jsonw_object_end(w);
	jsonw_object_end(w);
}

static void j_suite(struct jsonw *w, const struct suite_data *sd)
{
	jsonw_object_begin(w);
	jsonw_member_str(w, "name", sd->name);
	j_counts(w, sd->c);
	jsonw_member_num(w, "delta_pass_rate", rate(&sd->c->cand) - rate(&sd->c->base));
	j_side(w, "baseline", &sd->c->base, &sd->ua, &sd->sa);
	j_side(w, "candidate", &sd->c->cand, &sd->ub, &sd->sb);
	jsonw_object_end(w);
}

static void j_sample(struct jsonw *w, const char *key, const struct case_sample *s, int have)
{
	size_t i;

	jsonw_key(w, key);
	if (!have) {
		jsonw_null(w);
		return;
	}
	jsonw_object_begin(w);
	jsonw_member_str(w, "status", result_status_name(s->status));
	jsonw_key(w, "output");
	if (s->output)
		jsonw_strn(w, s->output,
			   s->output_len > JSON_ANSWER_MAX ? JSON_ANSWER_MAX : s->output_len);
	else
		jsonw_null(w);
	jsonw_member_bool(w, "output_truncated", s->output_len > JSON_ANSWER_MAX);
	jsonw_member_str(w, "error", s->error);
	jsonw_key(w, "failed_scorers");
	jsonw_array_begin(w);
	for (i = 0; i < s->n_failed; i++) {
		jsonw_object_begin(w);
		jsonw_member_str(w, "scorer", s->failed[i].scorer);
		jsonw_member_str(w, "reason", s->failed[i].reason);
		jsonw_member_bool(w, "error", s->failed[i].error);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
	jsonw_object_end(w);
}

static void print_json(const struct report *r)
{
	struct strbuf sb = STRBUF_INIT;
	struct jsonw w;
	size_t i;

	jsonw_init(&w, &sb, 0);
	jsonw_object_begin(&w);
	j_run(&w, "baseline", r->a);
	j_run(&w, "candidate", r->b);
	jsonw_member_str(&w, "suite", r->o->suite);
	jsonw_member_bool(&w, "exclude_flaky", r->o->exclude_flaky);
	jsonw_key(&w, "all");
	j_suite(&w, &r->sd[r->n_sd - 1]);
	jsonw_key(&w, "suites");
	jsonw_array_begin(&w);
	for (i = 0; i + 1 < r->n_sd; i++)
		j_suite(&w, &r->sd[i]);
	jsonw_array_end(&w);
	jsonw_key(&w, "flips");
	jsonw_array_begin(&w);
	for (i = 0; i < r->n_flips; i++) {
		const struct flip_view *f = &r->flips[i];
		int nf = f->it->kind == CMP_NEW_FAILURE;

		jsonw_object_begin(&w);
		jsonw_member_str(&w, "suite", f->it->suite);
		jsonw_member_str(&w, "case_id", f->it->case_id);
		jsonw_member_str(&w, "kind", compare_kind_name(f->it->kind));
		jsonw_member_str(&w, "from", nf ? "pass" : "fail");
		jsonw_member_str(&w, "to", nf ? "fail" : "pass");
		j_sample(&w, "baseline", &f->a, f->have_a);
		j_sample(&w, "candidate", &f->b, f->have_b);
		jsonw_object_end(&w);
	}
	jsonw_array_end(&w);
	jsonw_member_bool(&w, "flips_truncated", r->list->seen_flips > (long)r->n_flips);
	jsonw_key(&w, "trajectory_flips");
	jsonw_array_begin(&w);
	for (i = 0; i < r->traj.n; i++) {
		jsonw_object_begin(&w);
		jsonw_member_str(&w, "suite", r->traj.v[i].suite);
		jsonw_member_str(&w, "case_id", r->traj.v[i].case_id);
		jsonw_member_str(&w, "baseline", r->traj.v[i].a);
		jsonw_member_str(&w, "candidate", r->traj.v[i].b);
		jsonw_object_end(&w);
	}
	jsonw_array_end(&w);
	jsonw_member_bool(&w, "trajectory_flips_truncated", r->traj.seen > (long)r->traj.n);
	jsonw_key(&w, "unpaired");
	jsonw_array_begin(&w);
	for (i = 0; i < r->list->n_unpaired; i++) {
		const struct compare_item *it = &r->list->unpaired[i];

		jsonw_object_begin(&w);
		jsonw_member_str(&w, "suite", it->suite);
		jsonw_member_str(&w, "case_id", it->case_id);
		jsonw_member_str(&w, "why", compare_kind_name(it->kind));
		jsonw_object_end(&w);
	}
	jsonw_array_end(&w);
	jsonw_member_bool(&w, "unpaired_truncated",
			  r->list->seen_unpaired > (long)r->list->n_unpaired);
	jsonw_object_end(&w);
	strbuf_addch(&sb, '\n');
	fputs(sb.buf, stdout);
	strbuf_release(&sb);
}

/* --- the command --- */

static int resolve(struct history *h, const char *ref, const struct run_info *cand,
		   const char *registry, struct run_info *out)
{
	struct baseline_query q;
	struct strbuf why = STRBUF_INIT;
	int rc;

	memset(&q, 0, sizeof(q));
	q.ref = ref;
	q.registry = registry;
	if (cand) {
		q.target = cand->target;
		q.exclude_id = cand->id;
	}
	rc = baseline_resolve(h, &q, out, &why);
	if (rc == 1)
		error("%s", why.buf);
	strbuf_release(&why);
	return rc ? -1 : 0;
}

/*
 * when one run re-scored the other's stored answers (evalgate rescore), the
 * answers are the same: every flip comes from scoring alone. Says so in
 * the text and Markdown reports; -1 on error
 */
static int rescore_note(struct history *h, const struct cmp_cli *o, const struct run_info *a,
			const struct run_info *b)
{
	struct strbuf from = STRBUF_INIT;
	const struct run_info *x = NULL, *y = NULL;
	int rc;

	if (o->json)
		return 0;
	rc = history_rescored_from(h, b->id, &from);
	if (rc == 0 && !strcmp(from.buf, a->id)) {
		x = b;
		y = a;
	} else if (rc == 1 && !(rc = history_rescored_from(h, a->id, &from)) &&
		   !strcmp(from.buf, b->id)) {
		x = a;
		y = b;
	}
	if (x)
		printf("%sscoring alone: run %s scored the stored answers of run %s again, so "
		       "every flip below comes from the scorers, not the target\n\n",
		       o->markdown ? "> " : "", x->id, y->id);
	strbuf_release(&from);
	return rc < 0 ? -1 : 0;
}

static const char *str_or(const char *s, const char *dflt)
{
	return s ? s : dflt;
}

/* runs of different scopes or repeat policies compare less than they seem to: say so */
static void warn_mismatch(const struct run_info *a, const struct run_info *b)
{
	const char *pa = str_or(a->repeat_policy, "all"), *pb = str_or(b->repeat_policy, "all");
	int ra = a->repeats > 1 ? a->repeats : 1, rb = b->repeats > 1 ? b->repeats : 1;

	if ((a->partial || b->partial) && strcmp(str_or(a->scope, ""), str_or(b->scope, "")))
		warning("runs %s and %s have different scopes (A: %s; B: %s): only the cases "
			"both ran are compared", a->id, b->id, str_or(a->scope, "not stored"),
			str_or(b->scope, "not stored"));
	if (ra != rb || strcmp(pa, pb))
		warning("runs %s and %s repeat differently (A: %d x, repeat_policy %s; B: %d x, "
			"repeat_policy %s): a case's verdict does not mean the same in both",
			a->id, b->id, ra, pa, rb, pb);
}

static int compare_report(struct history *h, struct cmp_cli *o, const struct run_info *a,
			  const struct run_info *b)
{
	struct compare_result res;
	struct compare_list list;
	struct compare_opts co;
	struct report r;
	size_t i;
	int ret = -1;

	memset(&r, 0, sizeof(r));
	memset(&co, 0, sizeof(co));
	compare_list_init(&list, (size_t)o->limit);
	co.suite = o->suite;
	co.exclude_flaky = o->exclude_flaky;
	co.on_case = compare_list_add;
	co.arg = &list;
	if (compare_runs(h, a->id, b->id, &co, &res))
		goto out_list;
	r.h = h;
	r.a = a;
	r.b = b;
	r.res = &res;
	r.list = &list;
	r.o = o;
	if (common_opts_color(o->common, stdout) && !o->json && !o->markdown) {
		r.col.red = "\033[31m";
		r.col.green = "\033[32m";
		r.col.bold = "\033[1m";
		r.col.dim = "\033[2m";
		r.col.reset = "\033[0m";
	} else {
		r.col.red = r.col.green = r.col.bold = r.col.dim = r.col.reset = "";
	}
	/* one table per suite, then all suites together */
	r.sd = xcalloc(res.n_suites + 1, sizeof(*r.sd));
	r.n_sd = res.n_suites + 1;
	if (suite_data_load(h, a->id, b->id, o->suite, &res, r.sd))
		goto out;
	if (flips_load(h, a->id, b->id, &list, &r.flips, &r.n_flips) ||
	    traj_flips_load(h, a->id, b->id, o->suite, o->limit, &r.traj) ||
	    rescore_note(h, o, a, b))
		goto out;
	if (o->json)
		print_json(&r);
	else if (o->markdown)
		print_markdown(&r);
	else
		print_text(&r);
	ret = 0;
out:
	flips_free(r.flips, r.n_flips);
	traj_flips_release(&r.traj);
	for (i = 0; i < r.n_sd; i++)
		suite_data_release(&r.sd[i]);
	free(r.sd);
	compare_result_release(&res);
out_list:
	compare_list_release(&list);
	return ret;
}

int cmd_compare(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct cmp_cli o;
	struct run_info a, b;
	int nops, rc = EG_EXIT_USAGE;
	const struct option opts[] = {
		OPT_FLAG_(0, "markdown", &o.markdown, "print GitHub-flavoured Markdown tables"),
		OPT_FLAG_(0, "json", &o.json, "print one JSON object"),
		OPT_STRING_(0, "suite", &o.suite, "NAME", "compare only this suite"),
		OPT_FLAG_(0, "exclude-flaky", &o.exclude_flaky, "leave out cases flaky in either run"),
		OPT_INT_(0, "limit", &o.limit, "N", "list at most N flipped and N unpaired cases (default 50)", 0, 1000000),
		OPT_STRING_(0, "registry", &o.registry, "URL",
			    "for alias:NAME (default: the config's registry, else " REGISTRY_DEFAULT ")"),
		OPT_END_(),
	};

	memset(&o, 0, sizeof(o));
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	o.limit = 50;
	nops = cmd_start(ctx, argc, argv, opts, usage);
	if (nops < 0)
		return ctx->rc;
	o.common = &ctx->common;
	if (nops != 2) {
		error("compare needs two runs: A (the baseline) and B (the candidate)");
		return EG_EXIT_USAGE;
	}
	if (o.markdown && o.json) {
		error("--markdown and --json cannot be used together");
		return EG_EXIT_USAGE;
	}
	/* the config, when there is one, names the registry of alias:NAME */
	if (cmd_setup(ctx))
		return ctx->rc;
	if (!o.registry && ctx->have_cfg)
		o.registry = ctx->cfg.registry;
	/* B first: A = latest means the newest finished run of B's target other than B */
	if (resolve(ctx->h, argv[1], NULL, o.registry, &b) ||
	    resolve(ctx->h, argv[0], &b, o.registry, &a))
		goto out;
	warn_mismatch(&a, &b);
	rc = compare_report(ctx->h, &o, &a, &b) ? EG_EXIT_USAGE : EG_EXIT_OK;
out:
	run_info_release(&a);
	run_info_release(&b);
	return rc;
}
