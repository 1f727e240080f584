/*
 * gate_drift: the "drift" gate (drift.h): this run's pass rate in a suite,
 * or a scorer's mean there, against a control chart of the suite's previous
 * runs. Its lower limit comes from the history, so it takes no min or max;
 * it needs a suite, as the history is per suite name. The detail is JSON:
 * the window's values and sizes, the centre (and sd), and the lower limit
 * or a note.
 */
#include "gate_types.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drift.h"
#include "jsonw.h"
#include "xalloc.h"
#include "banned.h"

/*
 * stat, min and max are read as for every gate with limits, so that they
 * are refused in the same words; then the drift gate's own fields
 */
static int drift_parse(struct eg_gate *g, const struct gate_parse *p)
{
	struct drift_gate *dg = xcalloc(1, sizeof(*dg));
	const char *scorer = NULL;
	double window = 7;
	char prefix[64], field[64];

	g->ctx = dg;
	gate_field(p, "", prefix, sizeof(prefix));
	gate_field(p, NULL, field, sizeof(field));
	if (gate_parse_limits(g, p, 0, 1) ||
	    jdoc_number(p->doc, p->spec, prefix, "window", 0, 3, 50, &window) ||
	    jdoc_string(p->doc, p->spec, prefix, "scorer", 0, &scorer))
		return -1;
	if (window != floor(window))
		return jdoc_error(p->doc, cJSON_GetObjectItem(p->spec, "window"), field,
				  "window: expected a whole number of runs");
	if (!g->suite)
		return jdoc_error(p->doc, p->spec, field,
				  "a drift gate needs a suite (its history is per suite)");
	if (g->has_min || g->has_max)
		return jdoc_error(p->doc, p->spec, field,
				  "a drift gate takes no min or max: its lower limit comes from the "
				  "suite's previous runs");
	if (scorer && !*scorer)
		return jdoc_error(p->doc, cJSON_GetObjectItem(p->spec, "scorer"), field,
				  "scorer: must not be empty");
	dg->window = (int)window;
	g->scorer = scorer ? xstrdup(scorer) : NULL;
	return 0;
}

struct window {
	char **ids;               /* previous runs, newest first */
	size_t n, alloc;
};

/* the finished runs that stored suite before run_id, newest first, at most limit */
static int collect(struct history *h, const char *run_id, const char *suite, size_t limit,
		   struct window *w)
{
	struct run_filter f = { .suite = suite, .status = "finished", .until_id = run_id,
				.exclude_id = run_id, .limit = limit, .newest_first = 1 };
	struct run_iter it;
	const struct run_info *ri;
	int rc = -1;

	if (!history_runs_begin(h, &f, &it))
		while ((rc = history_runs_next(&it, &ri)) > 0) {
			XGROW(w->ids, w->n + 1, w->alloc);
			w->ids[w->n++] = xstrdup(ri->id);
		}
	history_runs_end(&it);
	return rc < 0 ? -1 : 0;
}

/* one run's value: pass rate (k of n) or a scorer's mean (of n scores) */
static int run_value(struct history *h, const char *id, const struct eg_gate *g, double *v,
		     long *k, long *n)
{
	struct counts c;

	if (g->scorer) {
		*k = 0;
		return history_score_mean(h, id, g->suite, g->scorer, v, n);
	}
	if (history_counts(h, id, g->suite, NULL, &c))
		return -1;
	*k = c.pass;
	*n = c.pass + c.fail;
	*v = *n ? (double)*k / (double)*n : NAN;
	return 0;
}

/* v rounded to 6 significant digits: the detail shows a trend in at most GATE_DETAIL_MAX bytes */
static void add_num(struct jsonw *jw, const char *key, double v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%.6g", v);
	if (key)
		jsonw_key(jw, key);
	jsonw_num(jw, isfinite(v) ? strtod(buf, NULL) : v);
}

static int drift_eval(const struct eg_gate *g, struct history *h, const char *run_id,
		      const struct gates *gs, struct gate_result *res)
{
	const struct drift_gate *dg = g->ctx;
	const char *scope = res->scope.buf;
	struct gate_row *row = &res->row;
	struct window w = { 0 };
	struct strbuf js = STRBUF_INIT, note = STRBUF_INIT;
	struct jsonw jw;
	double *vals = NULL, now, centre = NAN, lower = NAN, sd = NAN;
	long *ks = NULL, *ns = NULL, k_now, n_now;
	size_t i, m = 0;
	int ret = -1;

	row->op = ">=";
	if (run_value(h, run_id, g, &now, &k_now, &n_now) ||
	    collect(h, run_id, g->suite, (size_t)dg->window, &w))
		goto out;
	vals = xcalloc(w.n + 1, sizeof(*vals));
	ks = xcalloc(w.n + 1, sizeof(*ks));
	ns = xcalloc(w.n + 1, sizeof(*ns));
	/* oldest first, so the detail reads as a trend; runs without data are left out */
	for (i = w.n; i-- > 0;) {
		if (run_value(h, w.ids[i], g, &vals[m], &ks[m], &ns[m]))
			goto out;
		if (ns[m])
			m++;
	}
	if (g->scorer)
		drift_means(vals, m, &centre, &sd, &lower);
	else
		drift_pchart(ks, ns, m, n_now, &centre, &lower);
	row->value = now;
	row->n = n_now;
	jsonw_init(&jw, &js, 0);
	jsonw_object_begin(&jw);
	jsonw_member_str(&jw, "stat", g->scorer ? "mean" : "pass_rate");
	jsonw_key(&jw, "window");
	jsonw_array_begin(&jw);
	for (i = 0; i < m; i++)
		add_num(&jw, NULL, vals[i]);
	jsonw_array_end(&jw);
	jsonw_key(&jw, "n");
	jsonw_array_begin(&jw);
	for (i = 0; i < m; i++)
		jsonw_int(&jw, ns[i]);
	jsonw_array_end(&jw);
	add_num(&jw, "centre", centre);
	if (g->scorer)
		add_num(&jw, "sd", sd);
	if (!n_now) {
		row->threshold = lower;
		row->pass = 0;
		strbuf_addf(&note, "no %s in scope %s", g->scorer ? "scores" : "scored cases", scope);
	} else if (m < DRIFT_MIN_HISTORY) {
		row->threshold = NAN;
		row->pass = 1;
		strbuf_addf(&note, "not enough history: %zu earlier run%s with data, %d needed", m,
			    m == 1 ? "" : "s", DRIFT_MIN_HISTORY);
	} else {
		row->threshold = lower;
		row->pass = !(now < lower);
		add_num(&jw, "lower", lower);
	}
	if (note.len)
		jsonw_member_str(&jw, "note", note.buf);
	jsonw_object_end(&jw);
	if (js.len >= GATE_DETAIL_MAX) {
		jsonw_init(&jw, &res->detail, 0);
		jsonw_object_begin(&jw);
		jsonw_member_str(&jw, "stat", g->scorer ? "mean" : "pass_rate");
		jsonw_member_str(&jw, "note", "window too long to show");
		jsonw_object_end(&jw);
	} else {
		strbuf_add(&res->detail, js.buf, js.len);
	}
	ret = 0;
out:
	for (i = 0; i < w.n; i++)
		free(w.ids[i]);
	free(w.ids);
	free(vals);
	free(ks);
	free(ns);
	strbuf_release(&note);
	strbuf_release(&js);
	return ret;
}

const struct gate_type gate_drift = {
	.name = "drift",
	.fields = gate_limit_fields,
	.parse = drift_parse,
	.eval = drift_eval,
};
