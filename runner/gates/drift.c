#include "drift.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "jsonw.h"
#include "stats.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

void drift_pchart(const long *k, const long *n, size_t m, long n_now, double *centre,
		  double *lower)
{
	long sk = 0, sn = 0;
	double p;
	size_t i;

	for (i = 0; i < m; i++) {
		sk += k[i];
		sn += n[i];
	}
	if (!sn || n_now <= 0) {
		*centre = sn ? (double)sk / (double)sn : NAN;
		*lower = NAN;
		return;
	}
	p = (double)sk / (double)sn;
	*centre = p;
	*lower = p - DRIFT_SIGMAS * sqrt(p * (1 - p) / (double)n_now);
	if (*lower < 0)
		*lower = 0;
}

void drift_means(const double *v, size_t m, double *centre, double *sd, double *lower)
{
	double mean, ss = 0;
	size_t i;

	if (!m) {
		*centre = *sd = *lower = NAN;
		return;
	}
	mean = stats_mean(v, m);
	for (i = 0; i < m; i++)
		ss += (v[i] - mean) * (v[i] - mean);
	*centre = mean;
	*sd = m > 1 ? sqrt(ss / (double)(m - 1)) : 0;
	*lower = mean - DRIFT_SIGMAS * *sd;
}

struct window {
	char **ids;               /* previous runs, newest first */
	size_t n, alloc;
};

static int collect(const char *id, void *arg)
{
	struct window *w = arg;

	XGROW(w->ids, w->n + 1, w->alloc);
	w->ids[w->n++] = xstrdup(id);
	return 0;
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

/* v rounded to 6 significant digits: the detail shows a trend in at most dlen bytes */
static void add_num(struct jsonw *jw, const char *key, double v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%.6g", v);
	if (key)
		jsonw_key(jw, key);
	jsonw_num(jw, isfinite(v) ? strtod(buf, NULL) : v);
}

int drift_gate_eval(struct history *h, const char *run_id, const struct eg_gate *g,
		    const char *scope, struct gate_row *row, char *detail, size_t dlen)
{
	struct window w = { 0 };
	struct strbuf js = STRBUF_INIT, note = STRBUF_INIT;
	struct jsonw jw;
	double *vals = NULL, now, centre = NAN, lower = NAN, sd = NAN;
	long *ks = NULL, *ns = NULL, k_now, n_now;
	size_t i, m = 0;
	int ret = -1;

	memset(row, 0, sizeof(*row));
	row->name = g->name;
	row->metric = g->metric_name;
	row->scope = scope;
	row->op = ">=";
	row->lo = row->hi = NAN;
	if (run_value(h, run_id, g, &now, &k_now, &n_now) ||
	    history_prior_runs(h, run_id, g->suite, (size_t)g->window, collect, &w))
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
	if (js.len >= dlen) {
		strbuf_reset(&js);
		jsonw_init(&jw, &js, 0);
		jsonw_object_begin(&jw);
		jsonw_member_str(&jw, "stat", g->scorer ? "mean" : "pass_rate");
		jsonw_member_str(&jw, "note", "window too long to show");
		jsonw_object_end(&jw);
	}
	snprintf(detail, dlen, "%s", js.buf);
	row->detail = detail;
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
