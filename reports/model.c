#include "model.h"
#include "strbuf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "error.h"
#include "xalloc.h"
#include "banned.h"

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

double report_pass_rate(const struct counts *c)
{
	if (c->pass + c->fail <= 0)
		return NAN;
	return (double)c->pass / (double)(c->pass + c->fail);
}

const char report_budget_note[] =
	"The run stopped at its spend cap: its cases were taken in a seeded random order, "
	"so they are an unbiased sample of the suites, not complete evidence.";

double report_attack_rate(const struct counts *c)
{
	if (c->pass + c->fail <= 0)
		return NAN;
	return (double)c->fail / (double)(c->pass + c->fail);
}

struct attack_ctx {
	struct report_model *m;
	int failed;                  /* a count could not be read (reported) */
};

static int add_attack(const char *tag, void *arg)
{
	struct attack_ctx *x = arg;
	struct report_model *m = x->m;
	struct report_attack *a;

	m->attacks = xrealloc(m->attacks, (m->n_attacks + 1) * sizeof(*m->attacks));
	a = &m->attacks[m->n_attacks++];
	a->tag = xstrdup(tag);
	if (history_counts_kind(m->h, m->run.id, NULL, strcmp(tag, "all") ? tag : NULL,
				"adversarial", &a->c))
		x->failed = 1;
	return x->failed;
}

/* attack success overall, per mutation and per OWASP tag, when the run has adversarial suites */
static int load_attacks(struct report_model *m)
{
	struct attack_ctx x = { m, 0 };
	size_t i;

	for (i = 0; i < m->n_suites; i++)
		if (m->suites[i].kind && !strcmp(m->suites[i].kind, "adversarial"))
			break;
	if (i == m->n_suites)
		return 0;
	if (add_attack("all", &x) ||
	    history_run_tags(m->h, m->run.id, "adversarial", "mutation:", add_attack, &x) ||
	    x.failed ||
	    history_run_tags(m->h, m->run.id, "adversarial", "owasp:", add_attack, &x) ||
	    x.failed)
		return -1;
	return 0;
}

const char *report_verdict(const struct report_model *m)
{
	const char *v = m->run.verdict;

	if (v && (!strcmp(v, "pass") || !strcmp(v, "fail") || !strcmp(v, "error")))
		return v;
	if (m->run.status == RUN_INTERRUPTED || m->run.status == RUN_FAILED ||
	    m->run.status == RUN_BUDGET_EXHAUSTED)
		return "error";
	return "none";
}

static struct report_suite *find_suite(struct report_model *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->n_suites; i++)
		if (!strcmp(m->suites[i].name, name))
			return &m->suites[i];
	return NULL;
}

static int collect_suite(const struct run_suite *s, void *arg)
{
	struct report_model *m = arg;
	struct report_suite *rs;
	size_t alloc = m->n_suites;

	m->suites = xrealloc(m->suites, (alloc + 1) * sizeof(*m->suites));
	rs = &m->suites[m->n_suites++];
	memset(rs, 0, sizeof(*rs));
	rs->name = xstrdup(s->name ? s->name : "");
	rs->version = dup_or_null(s->version);
	rs->hash = dup_or_null(s->hash);
	rs->kind = dup_or_null(s->kind);
	return 0;
}


/*
 * The calibration note gate.c adds to a judge-based gate's detail: the
 * member "calibration" of a JSON detail, else the text detail's tail from
 * "calibration warning: " or "require_calibration: "; NULL without one.
 */
static char *calibration_note(const char *detail)
{
	static const char *const heads[] = { "calibration warning: ", "require_calibration: " };
	const char *p = NULL;
	char *note = NULL;
	size_t i;

	if (!detail)
		return NULL;
	if (detail[0] == '{') {
		cJSON *d = cJSON_Parse(detail);
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(d, "calibration");

		if (cJSON_IsString(c))
			note = xstrdup(c->valuestring);
		cJSON_Delete(d);
		return note;
	}
	for (i = 0; i < sizeof(heads) / sizeof(heads[0]) && !p; i++)
		p = strstr(detail, heads[i]);
	return p ? xstrdup(p) : NULL;
}
static int collect_gate(const struct gate_row *g, void *arg)
{
	struct report_model *m = arg;
	struct report_gate *rg;

	m->gates = xrealloc(m->gates, (m->n_gates + 1) * sizeof(*m->gates));
	rg = &m->gates[m->n_gates++];
	rg->name = xstrdup(g->name ? g->name : (g->metric ? g->metric : "gate"));
	rg->metric = dup_or_null(g->metric);
	rg->scope = xstrdup(g->scope ? g->scope : "all");
	rg->op = dup_or_null(g->op);
	rg->value = g->value;
	rg->threshold = g->threshold;
	rg->lo = g->lo;
	rg->hi = g->hi;
	rg->pass = g->pass;
	rg->n = g->n;
	rg->detail = dup_or_null(g->detail);
	rg->calibration = calibration_note(g->detail);
	if (!g->pass)
		m->gates_failed++;
	return 0;
}

/* --- the regression gate's detail --- */

static double j_num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) && isfinite(v->valuedouble) ? v->valuedouble : NAN;
}

static long j_long(const cJSON *o, const char *key)
{
	double d = j_num(o, key);

	if (isnan(d) || d < 0)
		return 0;
	return d > 1e15 ? (long)1e15 : (long)d;
}

static char *j_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) && v->valuestring ? xstrdup(v->valuestring) : NULL;
}

static int j_true(const cJSON *o, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static void parse_flips(struct report_regression *r, const cJSON *arr)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, arr) {
		struct report_flip *f;
		char *suite = j_str(e, "suite"), *id = j_str(e, "case_id");

		if (!suite || !id || r->n_flips >= REPORT_MAX_FLIPS) {
			if (suite && id)
				r->flips_truncated = 1;
			free(suite);
			free(id);
			continue;
		}
		r->flips = xrealloc(r->flips, (r->n_flips + 1) * sizeof(*r->flips));
		f = &r->flips[r->n_flips++];
		f->suite = suite;
		f->case_id = id;
		f->from = j_str(e, "from");
		f->to = j_str(e, "to");
		if (!f->from)
			f->from = xstrdup("?");
		if (!f->to)
			f->to = xstrdup("?");
	}
}

/*
 * [{suite, case_id, why}] into *v (at most max; *truncated set past it);
 * why: every case's, or NULL to read each one's "why"
 */
static void parse_cases(const cJSON *arr, struct report_unpaired **v, size_t *n, size_t max,
			int *truncated, const char *why)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, arr) {
		struct report_unpaired *u;
		char *suite = j_str(e, "suite"), *id = j_str(e, "case_id");

		if (!suite || !id || *n >= max) {
			if (suite && id)
				*truncated = 1;
			free(suite);
			free(id);
			continue;
		}
		*v = xrealloc(*v, (*n + 1) * sizeof(**v));
		u = &(*v)[(*n)++];
		u->suite = suite;
		u->case_id = id;
		u->why = why ? xstrdup(why) : j_str(e, "why");
		if (!u->why)
			u->why = xstrdup("?");
	}
}

/* 0 when the detail was read (or is absent); a detail that is not JSON is only warned about */
static void parse_power(struct report_regression *r, const cJSON *p)
{
	if (!cJSON_IsObject(p))
		return;
	r->power_runs = j_long(p, "runs");
	r->power_n = j_long(p, "n");
	r->power_prs = j_long(p, "prs");
	r->false_block = j_num(p, "false_block");
	r->power = j_num(p, "power");
	r->power_drop = j_num(p, "drop");
	r->has_power = r->power_prs > 0 && !isnan(r->false_block) && !isnan(r->power) &&
		       !isnan(r->power_drop);
}

void report_power_sentence(struct strbuf *sb, const struct report_regression *r)
{
	if (!r->has_power)
		return;
	strbuf_addf(sb, "This gate blocks about %.0f%% of unchanged PRs; it catches a %g-point "
		    "drop %.0f%% of the time (simulated: %ld PRs of %ld cases from the case pass "
		    "rates of %ld run%s up to the baseline, as evalgate power does).",
		    100 * r->false_block, 100 * r->power_drop, 100 * r->power, r->power_prs,
		    r->power_n, r->power_runs, r->power_runs == 1 ? "" : "s");
}

void report_unjudged_sentence(struct strbuf *sb, const struct report_regression *r,
			      void (*esc)(struct strbuf *sb, const char *s))
{
	struct strbuf id = STRBUF_INIT;
	size_t i;

	if (r->unjudged <= 0)
		return;
	strbuf_addf(sb, "%ld case%s unjudged (errored in the baseline and in every older run)",
		    r->unjudged, r->unjudged == 1 ? "" : "s");
	for (i = 0; i < r->n_unjudged_cases; i++) {
		strbuf_reset(&id);
		strbuf_addf(&id, "%s/%s", r->unjudged_cases[i].suite, r->unjudged_cases[i].case_id);
		strbuf_addstr(sb, i ? ", " : ": ");
		esc(sb, id.buf);
	}
	if (r->unjudged > (long)r->n_unjudged_cases && r->n_unjudged_cases)
		strbuf_addf(sb, " (the first %zu)", r->n_unjudged_cases);
	strbuf_addch(sb, '.');
	strbuf_release(&id);
}

void report_discounted_sentence(struct strbuf *sb, const struct report_regression *r)
{
	if (r->discounted <= 0 || isnan(r->flaky_p))
		return;
	strbuf_addf(sb, "%ld flip%s on cases flaky in the history (p < %.2f) discounted.",
		    r->discounted, r->discounted == 1 ? "" : "s", r->flaky_p);
}

static int parse_regression(struct report_model *m, const struct report_gate *g)
{
	struct report_regression *r = &m->reg;
	const cJSON *conf;
	int unjudged_more = 0;      /* more listed than kept: the count says how many */
	cJSON *d;
	size_t i;

	if (r->present || !g->detail)
		return 0;
	d = cJSON_Parse(g->detail);
	if (!cJSON_IsObject(d)) {
		warning("run %s: the regression gate's detail is not a JSON object; "
			"the reports leave out the comparison", m->run.id);
		cJSON_Delete(d);
		return 0;
	}
	r->present = 1;
	r->pass = g->pass;
	r->baseline = j_str(d, "baseline");
	r->baseline_ref = j_str(d, "baseline_ref");
	r->pairs = j_long(d, "pairs");
	r->new_failures = j_long(d, "new_failures");
	r->fixed = j_long(d, "fixed");
	r->only_in_candidate = j_long(d, "only_in_candidate");
	r->only_in_baseline = j_long(d, "only_in_baseline");
	r->changed = j_long(d, "changed");
	r->flaky_excluded = j_long(d, "flaky_excluded");
	r->p_value = j_num(d, "p_value");
	r->diff = j_num(d, "diff");
	r->diff_lo = j_num(d, "diff_lo");
	r->diff_hi = j_num(d, "diff_hi");
	r->alpha = j_num(d, "alpha");
	r->max_new_failures = j_num(d, "max_new_failures");
	parse_flips(r, cJSON_GetObjectItemCaseSensitive(d, "flips"));
	r->flips_truncated |= j_true(d, "flips_truncated");
	parse_cases(cJSON_GetObjectItemCaseSensitive(d, "unpaired"), &r->unpaired, &r->n_unpaired,
		    REPORT_MAX_FLIPS, &r->unpaired_truncated, NULL);
	r->unpaired_truncated |= j_true(d, "unpaired_truncated");
	parse_power(r, cJSON_GetObjectItemCaseSensitive(d, "power"));
	r->unjudged = j_long(d, "unjudged");
	parse_cases(cJSON_GetObjectItemCaseSensitive(d, "unjudged_cases"), &r->unjudged_cases,
		    &r->n_unjudged_cases, REPORT_MAX_UNJUDGED, &unjudged_more, "unjudged");
	conf = cJSON_GetObjectItemCaseSensitive(d, "confirm");
	if (cJSON_IsObject(conf)) {
		r->discounted = j_long(conf, "discounted");
		r->flaky_p = j_num(conf, "flaky_p");
	}
	cJSON_Delete(d);

	for (i = 0; i < r->n_flips; i++) {
		struct report_suite *s = find_suite(m, r->flips[i].suite);

		if (!s)
			continue;
		if (!strcmp(r->flips[i].to, "fail"))
			s->flips_new++;
		else if (!strcmp(r->flips[i].to, "pass"))
			s->flips_fixed++;
	}
	return 0;
}

static int run_suite_counts(const char *suite, const struct counts *c, void *arg)
{
	struct report_model *m = arg;
	struct report_suite *s = find_suite(m, suite);

	if (s)
		s->cases = *c;
	return 0;
}

static int base_suite_counts(const char *suite, const struct counts *c, void *arg)
{
	struct report_model *m = arg;
	struct report_suite *s = find_suite(m, suite);

	if (s) {
		s->has_base = 1;
		s->base = *c;
	}
	return 0;
}

static int load_baseline(struct report_model *m)
{
	struct report_regression *r = &m->reg;
	struct run_filter f = { .newest_first = 1 };
	int rc;

	if (!r->present || !r->baseline || !*r->baseline)
		return 0;
	/*
	 * the newest run no later than the baseline is the baseline itself; one
	 * from another history (an import) is reported without its answers
	 */
	f.until_id = r->baseline;
	rc = history_run_first(m->h, &f, &r->base_run);
	if (rc < 0)
		return -1;
	r->have_base_run = !rc && !strcmp(r->base_run.id, r->baseline);
	if (!r->have_base_run) {
		run_info_release(&r->base_run);
		return 0;
	}
	return history_suite_counts(m->h, r->baseline, base_suite_counts, m);
}

/* --- the trend --- */

struct trend_ctx {
	struct report_model *m;
	struct report_point point;   /* the run being read */
};

static int trend_counts(const char *suite, const struct counts *c, void *arg)
{
	struct trend_ctx *t = arg;
	struct report_suite *s = find_suite(t->m, suite);
	struct report_point *p;

	if (!s)
		return 0;
	s->trend = xrealloc(s->trend, (s->n_trend + 1) * sizeof(*s->trend));
	p = &s->trend[s->n_trend++];
	*p = t->point;
	p->run_id = xstrdup(t->point.run_id);
	p->started_at = xstrdup(t->point.started_at);
	p->c = *c;
	return 0;
}

static int trend_run(const struct run_info *ri, struct trend_ctx *t)
{
	const struct report_regression *r = &t->m->reg;
	size_t i;

	t->point.run_id = ri->id;
	t->point.started_at = ri->started_at ? ri->started_at : "";
	t->point.is_current = !strcmp(ri->id, t->m->run.id);
	t->point.is_baseline = r->present && r->baseline && !strcmp(ri->id, r->baseline);
	if (t->point.is_current) {
		/* counted already */
		for (i = 0; i < t->m->n_suites; i++)
			if (t->m->suites[i].cases.n)
				trend_counts(t->m->suites[i].name, &t->m->suites[i].cases, t);
		return 0;
	}
	return history_suite_counts(t->m->h, ri->id, trend_counts, t) ? 1 : 0;
}

static void reverse_points(struct report_suite *s)
{
	size_t i;

	for (i = 0; i < s->n_trend / 2; i++) {
		struct report_point t = s->trend[i];

		s->trend[i] = s->trend[s->n_trend - 1 - i];
		s->trend[s->n_trend - 1 - i] = t;
	}
}

static int load_trend(struct report_model *m)
{
	struct run_filter f = { .target = m->run.target, .until_id = m->run.id,
				.limit = REPORT_TREND_RUNS, .newest_first = 1 };
	struct trend_ctx t;
	struct run_iter it;
	const struct run_info *ri;
	size_t i;
	int rc = -1;

	memset(&t, 0, sizeof(t));
	t.m = m;
	if (!history_runs_begin(m->h, &f, &it))
		while ((rc = history_runs_next(&it, &ri)) > 0)
			if (trend_run(ri, &t))
				break;  /* reported: the trend stops there */
	history_runs_end(&it);
	if (rc < 0)
		return -1;
	for (i = 0; i < m->n_suites; i++)
		reverse_points(&m->suites[i]);
	return 0;
}

/* --- the model --- */

static void add_counts(struct counts *to, const struct counts *c)
{
	to->n += c->n;
	to->pass += c->pass;
	to->fail += c->fail;
	to->error += c->error;
	to->latency_ms += c->latency_ms;
}

/* a judge key of the run, with its newest calibration */
static int collect_judge(const char *scorer, const char *key, void *arg)
{
	struct report_model *m = arg;
	struct report_judge *j;
	int rc;

	m->judges = xrealloc(m->judges, (m->n_judges + 1) * sizeof(*m->judges));
	j = &m->judges[m->n_judges++];
	memset(j, 0, sizeof(*j));
	j->scorer = xstrdup(scorer ? scorer : "judge");
	snprintf(j->key, sizeof(j->key), "%s", key);
	rc = history_calibration_newest(m->h, key, &j->cal);
	j->calibrated = rc == 0;
	return rc < 0 ? -1 : 0;
}

void report_judge_text(struct strbuf *sb, const struct report_judge *j)
{
	const struct calibration *c = &j->cal;

	if (!j->calibrated) {
		strbuf_addstr(sb, "never calibrated (evalgate calibrate)");
		return;
	}
	if (isnan(c->kappa))
		strbuf_addstr(sb, "kappa undefined");
	else
		strbuf_addf(sb, "kappa %.3f (95%% interval %.3f to %.3f)", c->kappa, c->lo, c->hi);
	strbuf_addf(sb, ", n %ld", c->n);
	if (!isnan(c->agreement))
		strbuf_addf(sb, ", agreement %.3f", c->agreement);
	if (c->samples > 1)
		strbuf_addf(sb, ", self-consistency over %d samples: all agree %.3f, pairwise "
			    "%.3f, Fleiss' kappa %.3f", c->samples, c->self_all_agree,
			    c->self_pairwise, c->self_fleiss);
	strbuf_addf(sb, "; %s", c->created_at);
}

int report_model_build(struct report_model *m, struct history *h, const char *ref)
{
	size_t i;

	memset(m, 0, sizeof(*m));
	m->h = h;
	m->reg.p_value = m->reg.diff = m->reg.diff_lo = m->reg.diff_hi = NAN;
	m->reg.alpha = m->reg.max_new_failures = m->reg.flaky_p = NAN;
	if (history_run_resolve(h, ref, &m->run, NULL))
		return -1;
	if (history_run_suites(h, m->run.id, collect_suite, m) ||
	    history_suite_counts(h, m->run.id, run_suite_counts, m))
		goto out_err;
	for (i = 0; i < m->n_suites; i++) {
		struct report_suite *s = &m->suites[i];

		if (history_result_counts(h, m->run.id, s->name, &s->results) ||
		    history_usage(h, m->run.id, s->name, &s->usage))
			goto out_err;
		add_counts(&m->cases, &s->cases);
		add_counts(&m->results, &s->results);
	}
	if (history_usage(h, m->run.id, NULL, &m->usage) ||
	    history_gates(h, m->run.id, collect_gate, m))
		goto out_err;
	for (i = 0; i < m->n_gates; i++)
		if (m->gates[i].metric && !strcmp(m->gates[i].metric, "regression"))
			parse_regression(m, &m->gates[i]);
	if (load_baseline(m) || load_trend(m) || load_attacks(m) ||
	    history_run_judge_keys(h, m->run.id, NULL, NULL, NULL, collect_judge, m) ||
	    history_timeline_load(h, m->run.id, &m->timeline) < 0)
		goto out_err;
	return 0;
out_err:
	report_model_release(m);
	return -1;
}

void report_model_release(struct report_model *m)
{
	struct report_regression *r = &m->reg;
	size_t i, k;

	for (i = 0; i < m->n_suites; i++) {
		struct report_suite *s = &m->suites[i];

		free(s->name);
		free(s->version);
		free(s->hash);
		free(s->kind);
		for (k = 0; k < s->n_trend; k++) {
			free(s->trend[k].run_id);
			free(s->trend[k].started_at);
		}
		free(s->trend);
	}
	free(m->suites);
	for (i = 0; i < m->n_attacks; i++)
		free(m->attacks[i].tag);
	free(m->attacks);
	for (i = 0; i < m->n_gates; i++) {
		free(m->gates[i].name);
		free(m->gates[i].metric);
		free(m->gates[i].scope);
		free(m->gates[i].op);
		free(m->gates[i].detail);
		free(m->gates[i].calibration);
	}
	free(m->gates);
	for (i = 0; i < m->n_judges; i++)
		free(m->judges[i].scorer);
	free(m->judges);
	run_timeline_release(&m->timeline);
	for (i = 0; i < r->n_flips; i++) {
		free(r->flips[i].suite);
		free(r->flips[i].case_id);
		free(r->flips[i].from);
		free(r->flips[i].to);
	}
	free(r->flips);
	for (i = 0; i < r->n_unpaired; i++) {
		free(r->unpaired[i].suite);
		free(r->unpaired[i].case_id);
		free(r->unpaired[i].why);
	}
	free(r->unpaired);
	for (i = 0; i < r->n_unjudged_cases; i++) {
		free(r->unjudged_cases[i].suite);
		free(r->unjudged_cases[i].case_id);
		free(r->unjudged_cases[i].why);
	}
	free(r->unjudged_cases);
	free(r->baseline);
	free(r->baseline_ref);
	if (r->have_base_run)
		run_info_release(&r->base_run);
	run_info_release(&m->run);
	memset(m, 0, sizeof(*m));
}

int report_model_results(const struct report_model *m, size_t i,
			 int (*fn)(const struct stored_result *r, void *arg), void *arg)
{
	if (i >= m->n_suites)
		return error("report: no suite %zu in run %s", i, m->run.id);
	return history_results(m->h, m->run.id, m->suites[i].name, fn, arg);
}

int report_model_results_without_texts(const struct report_model *m, size_t i,
				       int (*fn)(const struct stored_result *r, void *arg),
				       void *arg)
{
	if (i >= m->n_suites)
		return error("report: no suite %zu in run %s", i, m->run.id);
	return history_results_without_texts(m->h, m->run.id, m->suites[i].name, fn, arg);
}

int report_model_texts(const struct report_model *m, const char *case_hash,
		       struct result_row *row, struct strbuf *mem)
{
	return history_case_texts(m->h, case_hash, row, mem);
}

int report_model_failed(const struct report_model *m, size_t i,
			int (*fn)(const struct stored_result *r, void *arg), void *arg)
{
	if (i >= m->n_suites)
		return error("report: no suite %zu in run %s", i, m->run.id);
	return history_failed_results(m->h, m->run.id, m->suites[i].name, fn, arg);
}

int report_model_case(const struct report_model *m, int base, const char *suite,
		      const char *case_id,
		      int (*fn)(const struct stored_result *r, void *arg), void *arg)
{
	const char *run = base ? (m->reg.have_base_run ? m->reg.base_run.id : NULL) : m->run.id;

	if (!run)
		return 0;
	return history_case_results(m->h, run, suite, case_id, fn, arg);
}
