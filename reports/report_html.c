/*
 * report_html: one self-contained HTML file (inline CSS, JS and SVG; a
 * Content-Security-Policy that allows only our own style and script by hash
 * and no network at all).
 *
 * Every piece of run, suite or model text is escaped for where it goes:
 * element text and attributes with esc_html_*, JSON inside <script
 * type="application/json"> by jsonw with JSONW_SCRIPT (no "<" survives, so
 * no "</script>").
 * The script builds the details of a row with textContent only.
 *
 * Results are streamed: each suite's rows go straight to the file, and the
 * details of its rows go to a temporary file that is copied after the table
 * as the suite's embedded JSON. Failed and errored results always keep their
 * details; passing ones only up to the limit (--html-max-details), and all
 * details stop at HTML_DETAILS_BUDGET bytes, so a 100,000-case run stays small.
 * Past HTML_MAX_ROWS results the table is a summary: every failed and errored
 * result (up to HTML_MAX_ROWS) and the first passing ones up to HTML_MAX_ROWS
 * rows in all, the suites' counts covering the rest, so a run of a million
 * cases still opens in a browser; a note names where every result is.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assets.h"
#include "error.h"
#include "escape.h"
#include "output.h"
#include "report.h"
#include "sha256.h"
#include "xml.h"
#include "banned.h"

#define HTML_MAX_ANSWER (64 * 1024)          /* bytes of an answer in a row's details */
#define HTML_DETAILS_BUDGET (20u << 20)      /* bytes of details in one file */
#define HTML_PREVIEW 100                     /* bytes of why a result failed in its row */
#define HTML_PREVIEW_PASS 64                 /* bytes of a passing answer in its row */
#define HTML_ID_MAX 200                      /* bytes of a case id in a row */
#define HTML_PAGE 1000                       /* rows of a suite shown at first (report.js: PAGE) */
#define HTML_MAX_ROWS 50000                  /* rows in one file; past it passing results are left out */

struct html_ctx {
	struct report_out *o;
	const struct report_model *m;
	FILE *det;               /* the current suite's details, copied after its table */
	long det_n;              /* details in the current suite */
	long row_n;              /* rows of the current suite */
	size_t det_bytes;        /* details written in the whole file */
	long pass_budget;        /* passing results that may still get details */
	long pass_left_out;      /* passing results over the limit */
	long budget_left_out;    /* results left out because the details were too big */
	long row_pass_budget;    /* passing results that may still get a row */
	long rows_kept;          /* rows written in the whole file */
	long rows_left_out;      /* results without a row (HTML_MAX_ROWS), counted as written */
	long rows_planned_out;   /* the same, known before the table for its note */
	struct strbuf tmp;       /* one result's details */
	struct strbuf texts;     /* its case's texts, looked up for its details */
	struct jsonw det_w;      /* the elements of the suite's details array, into tmp */
	int det_failed;          /* writing the temporary file failed */
	int read_failed;         /* a case's texts could not be read (reported) */
};

static void base64(struct strbuf *sb, const unsigned char *p, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		strbuf_addch(sb, tab[p[i] >> 2]);
		strbuf_addch(sb, tab[((p[i] & 3) << 4) | (p[i + 1] >> 4)]);
		strbuf_addch(sb, tab[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)]);
		strbuf_addch(sb, tab[p[i + 2] & 63]);
	}
	if (n - i == 1) {
		strbuf_addch(sb, tab[p[i] >> 2]);
		strbuf_addch(sb, tab[(p[i] & 3) << 4]);
		strbuf_addstr(sb, "==");
	} else if (n - i == 2) {
		strbuf_addch(sb, tab[p[i] >> 2]);
		strbuf_addch(sb, tab[((p[i] & 3) << 4) | (p[i + 1] >> 4)]);
		strbuf_addch(sb, tab[(p[i + 1] & 15) << 2]);
		strbuf_addch(sb, '=');
	}
}

/* 'sha256-BASE64' of text, as a CSP source */
static void csp_hash(struct strbuf *sb, const char *text)
{
	struct sha256 c;
	unsigned char dig[32];

	sha256_init(&c);
	sha256_update(&c, text, strlen(text));
	sha256_final(&c, dig);
	strbuf_addstr(sb, "'sha256-");
	base64(sb, dig, sizeof(dig));
	strbuf_addch(sb, '\'');
}

static void txt(struct strbuf *sb, const char *s)
{
	esc_html(sb, s ? s : "");
}

/* <p class="cls">, the plain-text sentence of the regression verdict escaped, </p> */
static void sentence_para(struct strbuf *sb, const char *cls,
			  void (*sentence)(struct strbuf *sb, const struct report_regression *r),
			  const struct report_regression *r)
{
	struct strbuf text = STRBUF_INIT;

	sentence(&text, r);
	strbuf_addf(sb, "<p class=\"%s\">", cls);
	txt(sb, text.buf);
	strbuf_addstr(sb, "</p>\n");
	strbuf_release(&text);
}

static void attr(struct strbuf *sb, const char *name, const char *v)
{
	strbuf_addf(sb, " %s=\"", name);
	if (v)
		esc_html_attr(sb, v, strlen(v));
	strbuf_addch(sb, '"');
}

static void attr_long(struct strbuf *sb, const char *name, long v)
{
	strbuf_addf(sb, " %s=\"%ld\"", name, v);
}

static void pct(struct strbuf *sb, double r)
{
	if (isnan(r))
		strbuf_addstr(sb, "n/a");
	else
		xml_addf_c(sb, "%.1f%%", 100.0 * r);
}

static const char *verdict_word(const char *v)
{
	if (!strcmp(v, "pass"))
		return "PASS";
	if (!strcmp(v, "fail"))
		return "FAIL";
	if (!strcmp(v, "error"))
		return "ERROR";
	return "NOT GATED";
}

static void head(struct strbuf *sb, const struct report_model *m, const char *css,
		 const char *js)
{
	strbuf_addstr(sb, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
			  "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
			  "script-src ");
	csp_hash(sb, js);
	strbuf_addstr(sb, "; style-src ");
	csp_hash(sb, css);
	strbuf_addstr(sb, "; img-src data:; base-uri 'none'; form-action 'none'\">\n"
			  "<meta name=\"referrer\" content=\"no-referrer\">\n"
			  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
			  "<meta name=\"generator\" content=\"evalgate\">\n<title>evalgate ");
	txt(sb, verdict_word(report_verdict(m)));
	strbuf_addstr(sb, " \xc2\xb7 ");
	txt(sb, m->run.target);
	strbuf_addch(sb, '@');
	txt(sb, m->run.version);
	strbuf_addstr(sb, " \xc2\xb7 ");
	txt(sb, m->run.id);
	strbuf_addstr(sb, "</title>\n<style>");
	strbuf_addstr(sb, css);
	strbuf_addstr(sb, "</style>\n</head>\n<body>\n");
}

static void banner(struct strbuf *sb, const struct report_model *m)
{
	const char *v = report_verdict(m);

	strbuf_addf(sb, "<header class=\"banner v-%s\"", v);
	attr(sb, "data-verdict", v);
	strbuf_addf(sb, "><h1>%s</h1><span class=\"sub\">", verdict_word(v));
	txt(sb, m->run.target);
	strbuf_addch(sb, '@');
	txt(sb, m->run.version);
	strbuf_addstr(sb, " \xc2\xb7 model ");
	txt(sb, m->run.model);
	strbuf_addf(sb, "</span><span class=\"sub\">%ld cases: %ld pass, %ld fail, %ld error "
		    "\xc2\xb7 pass rate ", m->cases.n, m->cases.pass, m->cases.fail, m->cases.error);
	pct(sb, report_pass_rate(&m->cases));
	strbuf_addf(sb, " \xc2\xb7 %ld of %zu gates failed</span></header>\n<main>\n",
		    m->gates_failed, m->n_gates);
}

static void meta_item(struct strbuf *sb, const char *k, const char *v)
{
	if (!v || !*v)
		return;
	strbuf_addstr(sb, "<div><dt>");
	txt(sb, k);
	strbuf_addstr(sb, "</dt><dd>");
	txt(sb, v);
	strbuf_addstr(sb, "</dd></div>");
}

static void meta(struct strbuf *sb, const struct report_model *m)
{
	const struct run_info *ri = &m->run;
	struct strbuf t = STRBUF_INIT;

	strbuf_addstr(sb, "<section id=\"meta\"><dl class=\"meta\">");
	meta_item(sb, "run", ri->id);
	meta_item(sb, "target", ri->target);
	meta_item(sb, "version", ri->version);
	meta_item(sb, "model", ri->model);
	meta_item(sb, "git ref", ri->git_ref);
	meta_item(sb, "git commit", ri->git_sha);
	meta_item(sb, "started", ri->started_at);
	meta_item(sb, "finished", ri->finished_at);
	meta_item(sb, "status", run_status_name(ri->status));
	if (ri->status == RUN_BUDGET_EXHAUSTED)
		meta_item(sb, "sample", report_budget_note);
	strbuf_addf(&t, "%ld (%ld results)", m->cases.n, m->results.n);
	meta_item(sb, "cases", t.buf);
	strbuf_reset(&t);
	strbuf_addf(&t, "%ld prompt + %ld completion", m->usage.prompt_tokens,
		    m->usage.completion_tokens);
	meta_item(sb, "tokens", t.buf);
	strbuf_reset(&t);
	if (m->usage.n_cost)
		xml_addf_c(&t, "$%.4f", m->usage.cost_usd);
	else
		strbuf_addstr(&t, "unknown");
	meta_item(sb, "cost", t.buf);
	strbuf_reset(&t);
	xml_addf_c(&t, "%.2f s of calls, %ld from the cache", m->results.latency_ms / 1000.0,
		   m->usage.cached);
	meta_item(sb, "latency", t.buf);
	strbuf_reset(&t);
	if (!isnan(m->usage.ttft_p50)) {
		xml_addf_c(&t, "p50 %.0f ms, p95 %.0f ms; inter-token p50 %.1f ms",
			   m->usage.ttft_p50, m->usage.ttft_p95, m->usage.itl_p50);
		meta_item(sb, "time to first token", t.buf);
		strbuf_reset(&t);
	}
	if (ri->repeats > 1) {
		strbuf_addf(&t, "%d (%s)", ri->repeats,
			    ri->repeat_policy ? ri->repeat_policy : "all");
		meta_item(sb, "repeats", t.buf);
	}
	meta_item(sb, "shard", ri->shard);
	meta_item(sb, "config sha256", ri->config_hash);
	meta_item(sb, "evalgate", ri->evalgate_version);
	strbuf_addstr(sb, "</dl></section>\n");
	strbuf_release(&t);
}

static void gates(struct strbuf *sb, const struct report_model *m)
{
	size_t i;

	strbuf_addf(sb, "<section id=\"gates\"><h2>Gates: %ld of %zu failed</h2>\n",
		    m->gates_failed, m->n_gates);
	if (!m->n_gates) {
		strbuf_addstr(sb, "<p>No gates are configured.</p></section>\n");
		return;
	}
	strbuf_addstr(sb, "<table class=\"gates\"");
	attr_long(sb, "data-total", (long)m->n_gates);
	attr_long(sb, "data-failed", m->gates_failed);
	strbuf_addstr(sb, "><thead><tr><th></th><th>gate</th><th>metric</th><th>scope</th>"
			  "<th class=\"n\">value</th><th class=\"n\">threshold</th>"
			  "<th class=\"n\">n</th><th>95% interval</th></tr></thead><tbody>\n");
	for (i = 0; i < m->n_gates; i++) {
		const struct report_gate *g = &m->gates[i];

		strbuf_addf(sb, "<tr data-pass=\"%d\"><td class=\"%s\">%s</td><td>", g->pass,
			    g->pass ? "ok" : "bad", g->pass ? "PASS" : "FAIL");
		txt(sb, g->name);
		strbuf_addstr(sb, "</td><td>");
		txt(sb, g->metric);
		strbuf_addstr(sb, "</td><td>");
		txt(sb, g->scope);
		strbuf_addstr(sb, "</td><td class=\"n\">");
		xml_add_g4(sb, g->value);
		strbuf_addstr(sb, "</td><td class=\"n\">");
		txt(sb, g->op);
		strbuf_addch(sb, ' ');
		xml_add_g4(sb, g->threshold);
		strbuf_addf(sb, "</td><td class=\"n\">%ld</td><td>", g->n);
		if (!isnan(g->lo) && !isnan(g->hi)) {
			xml_add_g4(sb, g->lo);
			strbuf_addstr(sb, " \xe2\x80\x93 ");
			xml_add_g4(sb, g->hi);
		}
		strbuf_addstr(sb, "</td></tr>\n");
	}
	strbuf_addstr(sb, "</tbody></table></section>\n");
}

/* the judges that scored the run with their calibration, and the gates' warnings about them */
static void calibration(struct strbuf *sb, const struct report_model *m)
{
	struct strbuf t = STRBUF_INIT;
	size_t i;

	if (!m->n_judges)
		return;
	strbuf_addstr(sb, "<section id=\"calibration\"><h2>Judge calibration</h2>\n"
			  "<table class=\"calibration\"><thead><tr><th>judge</th><th>key</th>"
			  "<th>calibration</th></tr></thead><tbody>\n");
	for (i = 0; i < m->n_judges; i++) {
		const struct report_judge *j = &m->judges[i];

		strbuf_reset(&t);
		report_judge_text(&t, j);
		strbuf_addf(sb, "<tr data-calibrated=\"%d\"><td>", j->calibrated);
		txt(sb, j->scorer);
		strbuf_addf(sb, "</td><td><code>%.12s</code></td><td class=\"%s\">", j->key,
			    j->calibrated ? "ok" : "bad");
		txt(sb, t.buf);
		strbuf_addstr(sb, "</td></tr>\n");
	}
	strbuf_addstr(sb, "</tbody></table>\n");
	for (i = 0; i < m->n_gates; i++) {
		const struct report_gate *g = &m->gates[i];

		if (!g->calibration)
			continue;
		strbuf_addstr(sb, "<p class=\"bad\">gate ");
		txt(sb, g->name);
		strbuf_addstr(sb, ": ");
		txt(sb, g->calibration);
		strbuf_addstr(sb, "</p>\n");
	}
	strbuf_addstr(sb, "</section>\n");
	strbuf_release(&t);
}

/* attack success of the adversarial suites: overall, per mutation, per OWASP tag */
static void attacks(struct strbuf *sb, const struct report_model *m)
{
	size_t i;

	if (!m->n_attacks)
		return;
	strbuf_addstr(sb, "<section id=\"attacks\"><h2>Attack success</h2>\n<p>A failed "
			  "adversarial case is an attack that worked; errors are neither.</p>\n"
			  "<table class=\"attacks\"><thead><tr><th>cases</th><th class=\"n\">n</th>"
			  "<th class=\"n\">attacks that worked</th><th class=\"n\">defended</th>"
			  "<th class=\"n\">error</th><th class=\"n\">attack success</th></tr>"
			  "</thead><tbody>\n");
	for (i = 0; i < m->n_attacks; i++) {
		const struct report_attack *a = &m->attacks[i];
		double r = report_attack_rate(&a->c);

		strbuf_addstr(sb, "<tr");
		attr(sb, "data-tag", a->tag);
		strbuf_addstr(sb, "><td>");
		txt(sb, a->tag);
		strbuf_addf(sb, "</td><td class=\"n\">%ld</td><td class=\"n\">%ld</td>"
			    "<td class=\"n\">%ld</td><td class=\"n\">%ld</td><td class=\"n\">",
			    a->c.n, a->c.fail, a->c.pass, a->c.error);
		if (isnan(r))
			strbuf_addstr(sb, "n/a");
		else
			xml_addf_c(sb, "%.1f%%", 100.0 * r);
		strbuf_addstr(sb, "</td></tr>\n");
	}
	strbuf_addstr(sb, "</tbody></table></section>\n");
}

/* a flip's before or after: the status, and the answer under a summary */
static int flip_side(const struct stored_result *r, void *arg)
{
	struct strbuf *sb = arg;
	const char *s = result_status_name(r->row.status);
	const char *text = r->row.output ? r->row.output : r->row.error;
	size_t len = r->row.output ? r->row.output_len : (text ? strlen(text) : 0);
	size_t cut = esc_utf8_cut(text ? text : "", len, REPORT_FLIP_ANSWER);

	strbuf_addf(sb, "<details><summary class=\"%s\">%s</summary><pre>",
		    r->row.status == RESULT_PASS ? "ok" : r->row.status == RESULT_FAIL ? "bad" : "warn",
		    s);
	if (text)
		esc_html_text(sb, text, cut);
	if (cut < len)
		strbuf_addf(sb, "\n[%zu more bytes]", len - cut);
	strbuf_addstr(sb, "</pre></details>");
	return 1;
}

static void regression(struct report_out *o, const struct report_model *m)
{
	const struct report_regression *r = &m->reg;
	struct strbuf *sb = &o->sb;
	size_t i;

	if (!r->present)
		return;
	strbuf_addstr(sb, "<section id=\"regression\"><h2>Regression against the baseline</h2>\n<p>");
	strbuf_addf(sb, "<span class=\"%s\">%s</span> baseline run ", r->pass ? "ok" : "bad",
		    r->pass ? "PASS" : "FAIL");
	txt(sb, r->baseline);
	if (r->baseline_ref) {
		strbuf_addstr(sb, " (");
		txt(sb, r->baseline_ref);
		strbuf_addch(sb, ')');
	}
	if (r->have_base_run) {
		strbuf_addstr(sb, ", ");
		txt(sb, r->base_run.target);
		strbuf_addch(sb, '@');
		txt(sb, r->base_run.version);
		strbuf_addstr(sb, " of ");
		txt(sb, r->base_run.started_at);
	}
	strbuf_addf(sb, ": <b>%ld new failures</b>, %ld fixed, over %ld paired cases; "
		    "McNemar exact p = ", r->new_failures, r->fixed, r->pairs);
	xml_add_g4(sb, r->p_value);
	strbuf_addstr(sb, "; pass-rate difference ");
	if (!isnan(r->diff))
		xml_addf_c(sb, "%+.1f pp", 100.0 * r->diff);
	else
		strbuf_addstr(sb, "n/a");
	if (!isnan(r->diff_lo) && !isnan(r->diff_hi))
		xml_addf_c(sb, " (95%% CI %+.1f to %+.1f pp)", 100.0 * r->diff_lo,
			   100.0 * r->diff_hi);
	strbuf_addf(sb, ". Not paired: %ld changed, %ld only in this run, %ld only in the "
		    "baseline, %ld flaky.</p>\n", r->changed, r->only_in_candidate,
		    r->only_in_baseline, r->flaky_excluded);
	if (r->unjudged > 0) {
		/* the ids escaped as they are added: the sentence is markup already */
		strbuf_addstr(sb, "<p class=\"unjudged\">");
		report_unjudged_sentence(sb, r, txt);
		strbuf_addstr(sb, "</p>\n");
	}
	if (r->discounted > 0)
		sentence_para(sb, "discounted", report_discounted_sentence, r);
	if (r->has_power)
		sentence_para(sb, "power", report_power_sentence, r);
	if (r->n_flips) {
		strbuf_addstr(sb, "<table class=\"flips\"><thead><tr><th>change</th><th>suite</th>"
				  "<th>case</th><th>before (baseline)</th><th>after (this run)</th>"
				  "</tr></thead><tbody>\n");
		for (i = 0; i < r->n_flips; i++) {
			const struct report_flip *f = &r->flips[i];

			strbuf_addf(sb, "<tr><td class=\"%s\">", !strcmp(f->to, "fail") ? "bad" : "ok");
			txt(sb, f->from);
			strbuf_addstr(sb, " \xe2\x86\x92 ");
			txt(sb, f->to);
			strbuf_addstr(sb, "</td><td>");
			txt(sb, f->suite);
			strbuf_addstr(sb, "</td><td>");
			txt(sb, f->case_id);
			strbuf_addstr(sb, "</td><td>");
			report_model_case(m, 1, f->suite, f->case_id, flip_side, sb);
			strbuf_addstr(sb, "</td><td>");
			report_model_case(m, 0, f->suite, f->case_id, flip_side, sb);
			strbuf_addstr(sb, "</td></tr>\n");
			out_flush(o, 0);
		}
		strbuf_addstr(sb, "</tbody></table>\n");
		if (r->flips_truncated)
			strbuf_addstr(sb, "<p class=\"note\">More cases flipped than the comparison "
					  "lists; the first ones are shown.</p>\n");
	}
	if (r->n_unpaired) {
		strbuf_addf(sb, "<details><summary>%zu%s cases could not be paired</summary><ul>",
			    r->n_unpaired, r->unpaired_truncated ? "+" : "");
		for (i = 0; i < r->n_unpaired; i++) {
			strbuf_addstr(sb, "<li>");
			txt(sb, r->unpaired[i].suite);
			strbuf_addch(sb, '/');
			txt(sb, r->unpaired[i].case_id);
			strbuf_addstr(sb, ": ");
			txt(sb, r->unpaired[i].why);
			strbuf_addstr(sb, "</li>");
		}
		strbuf_addstr(sb, "</ul></details>\n");
	}
	strbuf_addstr(sb, "</section>\n");
}

#define TW 360.0   /* trend chart size and plot area */
#define TH 130.0
#define TL 38.0
#define TR 10.0
#define TT 10.0
#define TB 110.0

static double ty(double rate)
{
	return TB - rate * (TB - TT);
}

static void trend_one(struct strbuf *sb, const struct report_suite *s)
{
	double step = s->n_trend > 1 ? (TW - TL - TR) / (double)(s->n_trend - 1) : 0;
	double base = s->has_base ? report_pass_rate(&s->base) : NAN;
	size_t i;

	strbuf_addstr(sb, "<figure><figcaption>");
	txt(sb, s->name);
	strbuf_addf(sb, "</figcaption><svg viewBox=\"0 0 %d %d\" "
		    "width=\"%d\" height=\"%d\" role=\"img\"", (int)TW, (int)TH, (int)TW, (int)TH);
	strbuf_addf(sb, " aria-label=\"pass rate over the last %zu runs\">", s->n_trend);
	xml_addf_c(sb, "<line class=\"grid\" x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\"/>"
		   "<text x=\"2\" y=\"%.1f\">100%%</text>", TL, ty(1), TW - TR, ty(1), ty(1) + 3);
	xml_addf_c(sb, "<line class=\"grid\" x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\"/>"
		   "<text x=\"2\" y=\"%.1f\">50%%</text>", TL, ty(0.5), TW - TR, ty(0.5), ty(0.5) + 3);
	xml_addf_c(sb, "<line class=\"grid\" x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\"/>"
		   "<text x=\"2\" y=\"%.1f\">0%%</text>", TL, ty(0), TW - TR, ty(0), ty(0) + 3);
	if (!isnan(base))
		xml_addf_c(sb, "<line class=\"baseline\" x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" "
			   "y2=\"%.1f\"><title>baseline %.1f%%</title></line>", TL, ty(base),
			   TW - TR, ty(base), 100.0 * base);
	strbuf_addstr(sb, "<polyline class=\"line\" points=\"");
	for (i = 0; i < s->n_trend; i++) {
		double r = report_pass_rate(&s->trend[i].c);

		if (!isnan(r))
			xml_addf_c(sb, "%.1f,%.1f ", TL + step * (double)i, ty(r));
	}
	strbuf_addstr(sb, "\"/>");
	for (i = 0; i < s->n_trend; i++) {
		const struct report_point *p = &s->trend[i];
		double r = report_pass_rate(&p->c);

		if (isnan(r))
			continue;
		xml_addf_c(sb, "<circle class=\"%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"%s\"><title>",
			   p->is_baseline ? "basept" : p->is_current ? "cur" : "pt",
			   TL + step * (double)i, ty(r),
			   p->is_baseline || p->is_current ? "4.5" : "2.5");
		if (p->is_baseline)
			strbuf_addstr(sb, "baseline ");
		if (p->is_current)
			strbuf_addstr(sb, "this run ");
		txt(sb, p->run_id);
		strbuf_addstr(sb, " \xc2\xb7 ");
		txt(sb, p->started_at);
		strbuf_addstr(sb, " \xc2\xb7 ");
		pct(sb, r);
		strbuf_addf(sb, " (%ld of %ld)</title></circle>", p->c.pass, p->c.pass + p->c.fail);
		if (p->is_baseline)
			xml_addf_c(sb, "<text x=\"%.1f\" y=\"%.1f\">baseline</text>",
				   TL + step * (double)i + (i + 1 == s->n_trend ? -40 : 6),
				   ty(r) < TT + 12 ? ty(r) + 14 : ty(r) - 7);
	}
	if (s->n_trend) {
		strbuf_addstr(sb, "<text x=\"38\" y=\"125\">");
		esc_html_text(sb, s->trend[0].started_at, strnlen(s->trend[0].started_at, 10));
		strbuf_addf(sb, "</text><text x=\"%d\" y=\"125\" text-anchor=\"end\">", (int)(TW - TR));
		esc_html_text(sb, s->trend[s->n_trend - 1].started_at,
			      strnlen(s->trend[s->n_trend - 1].started_at, 10));
		strbuf_addstr(sb, "</text>");
	}
	strbuf_addstr(sb, "</svg></figure>\n");
}

static void trend(struct report_out *o, const struct report_model *m)
{
	size_t i;

	strbuf_addf(&o->sb, "<section id=\"trend\"><h2>Pass-rate trend: the last %d runs of ",
		    REPORT_TREND_RUNS);
	txt(&o->sb, m->run.target);
	strbuf_addstr(&o->sb, "</h2><div class=\"trend\">\n");
	for (i = 0; i < m->n_suites; i++) {
		trend_one(&o->sb, &m->suites[i]);
		out_flush(o, 0);
	}
	strbuf_addstr(&o->sb, "</div></section>\n");
}

/* a y coordinate for v of top in a trend-sized chart */
static double cy(double v, double top)
{
	return TH - 20.0 - (top > 0 ? v / top : 0) * (TH - 20.0 - TT);
}

/* one pool's timeline: its allowed concurrency (a step line) and what was in flight */
static void timeline_one(struct strbuf *sb, const struct timeline_pool *p)
{
	double end = p->n_samples ? p->samples[p->n_samples - 1].t : 0;
	double sx = end > 0 ? (TW - TL - TR) / end : 0, top = p->max > 0 ? p->max : 1;
	struct strbuf cap = STRBUF_INIT;
	size_t i;

	/* the summary names the pool as the history has it: escaped */
	timeline_pool_summary(&cap, p);
	strbuf_addstr(sb, "<figure><figcaption>");
	txt(sb, cap.buf);
	strbuf_release(&cap);
	strbuf_addf(sb, "</figcaption><svg class=\"timeline\" viewBox=\"0 0 %d %d\" width=\"%d\" "
		    "height=\"%d\" role=\"img\" aria-label=\"allowed concurrency and requests in "
		    "flight over the run\">", (int)TW, (int)TH, (int)TW, (int)TH);
	xml_addf_c(sb, "<line class=\"grid\" x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\"/>"
		   "<text x=\"2\" y=\"%.1f\">%d</text>", TL, cy(top, top), TW - TR, cy(top, top),
		   cy(top, top) + 3, p->max);
	xml_addf_c(sb, "<line class=\"grid\" x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\"/>"
		   "<text x=\"2\" y=\"%.1f\">0</text>", TL, cy(0, top), TW - TR, cy(0, top),
		   cy(0, top) + 3);
	strbuf_addstr(sb, "<polyline class=\"inflight\" points=\"");
	for (i = 0; i < p->n_samples; i++)
		xml_addf_c(sb, "%.1f,%.1f ", TL + sx * p->samples[i].t,
			   cy(p->samples[i].in_flight, top));
	strbuf_addstr(sb, "\"><title>in flight</title></polyline><polyline class=\"line\" points=\"");
	for (i = 0; i < p->n_samples; i++) {
		if (i)
			xml_addf_c(sb, "%.1f,%.1f ", TL + sx * p->samples[i].t,
				   cy(p->samples[i - 1].limit, top));
		xml_addf_c(sb, "%.1f,%.1f ", TL + sx * p->samples[i].t, cy(p->samples[i].limit, top));
	}
	strbuf_addstr(sb, "\"><title>allowed concurrency</title></polyline>");
	/* a mark where 429s came */
	for (i = 1; i < p->n_samples; i++)
		if (p->samples[i].n429 > p->samples[i - 1].n429)
			xml_addf_c(sb, "<circle class=\"r429\" cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\">"
				   "<title>%ld 429s at %.1f s</title></circle>",
				   TL + sx * p->samples[i].t, cy(0, top),
				   p->samples[i].n429 - p->samples[i - 1].n429, p->samples[i].t);
	xml_addf_c(sb, "<text x=\"38\" y=\"125\">0 s</text><text x=\"%d\" y=\"125\" "
		   "text-anchor=\"end\">%.1f s</text></svg></figure>\n", (int)(TW - TR), end);
}

/* the gateway's pools over the run (ratelimit.h), when the run stored them */
static void timeline(struct strbuf *sb, const struct report_model *m)
{
	size_t i;

	if (!m->timeline.n_pools)
		return;
	strbuf_addstr(sb, "<section id=\"concurrency\"><h2>Concurrency: allowed and in flight"
		      "</h2><div class=\"trend\">\n");
	for (i = 0; i < m->timeline.n_pools; i++)
		timeline_one(sb, &m->timeline.pools[i]);
	strbuf_addstr(sb, "</div></section>\n");
}

static const char *first_reason(const struct stored_result *r, const char **label)
{
	size_t i;

	*label = NULL;
	if (r->row.status == RESULT_ERROR && r->row.error)
		return r->row.error;
	for (i = 0; i < r->n_scores; i++)
		if (!r->scores[i].pass || r->scores[i].error) {
			*label = r->scores[i].scorer ? r->scores[i].scorer : r->scores[i].type;
			return r->scores[i].reason ? r->scores[i].reason : "";
		}
	return NULL;
}

static void preview(struct strbuf *sb, const char *s, size_t len, size_t max)
{
	size_t cut = esc_utf8_cut(s, len, max);

	esc_html_text(sb, s, cut);
	if (cut < len)
		strbuf_addstr(sb, "\xe2\x80\xa6");
}

/* the result's details into the suite's temporary file, when it gets them */
static int add_details(struct html_ctx *c, const struct stored_result *r)
{
	struct jsonw before = c->det_w;
	struct stored_result shown;
	int pass = r->row.status == RESULT_PASS;

	if (pass && c->pass_budget <= 0) {
		c->pass_left_out++;
		return 0;
	}
	/*
	 * The results are read without their case's texts: looked up by a
	 * random hash, they were most of the report's time at a million
	 * results, of which only the few thousand given details show them.
	 */
	shown = *r;
	if (report_model_texts(c->m, r->row.case_hash, &shown.row, &c->texts) < 0) {
		c->read_failed = 1;
		return 0;
	}
	strbuf_reset(&c->tmp);
	if (c->det_n)
		jsonw_newline(&c->det_w);
	report_json_result(&c->det_w, &shown, HTML_MAX_ANSWER);
	if (c->det_bytes + c->tmp.len > HTML_DETAILS_BUDGET) {
		c->det_w = before; /* as if it had not been written */
		c->budget_left_out++;
		return 0;
	}
	if (fwrite(c->tmp.buf, 1, c->tmp.len, c->det) != c->tmp.len)
		c->det_failed = 1;
	c->det_bytes += c->tmp.len;
	if (pass)
		c->pass_budget--;
	return 1;
}

static int html_row(const struct stored_result *r, void *arg)
{
	struct html_ctx *c = arg;
	struct strbuf *sb = &c->o->sb;
	const struct result_row *row = &r->row;
	const char *status = result_status_name(row->status), *label, *why;
	size_t idlen = strlen(row->case_id), cut = esc_utf8_cut(row->case_id, idlen, HTML_ID_MAX);
	int detailed;

	if (row->status == RESULT_PASS ? c->row_pass_budget <= 0 : c->rows_kept >= HTML_MAX_ROWS) {
		c->rows_left_out++;
		return 0;
	}
	if (row->status == RESULT_PASS)
		c->row_pass_budget--;
	c->rows_kept++;
	detailed = add_details(c, r);

	strbuf_addstr(sb, "<tr class=\"case\"");
	strbuf_addf(sb, " data-s=\"%s\"", status);
	if (row->tags) {
		strbuf_addstr(sb, " data-t=\"");
		esc_html_attr(sb, row->tags, esc_utf8_cut(row->tags, strlen(row->tags), HTML_ID_MAX));
		strbuf_addch(sb, '"');
	}
	if (detailed)
		attr_long(sb, "data-d", c->det_n++);
	/* a big suite starts with its first page of rows laid out, the script pages on */
	if (c->row_n++ >= HTML_PAGE)
		strbuf_addstr(sb, " hidden");
	strbuf_addstr(sb, "><td>");
	esc_html_text(sb, row->case_id, cut);
	if (cut < idlen)
		strbuf_addstr(sb, "\xe2\x80\xa6");
	if (row->repeat)
		strbuf_addf(sb, " #%d", row->repeat);
	strbuf_addf(sb, "</td><td>%s</td><td>", status);
	if (!isnan(row->latency_ms))
		xml_addf_c(sb, "%.0f ms", row->latency_ms);
	if (row->stream.streamed && !isnan(row->stream.ttft_ms))
		xml_addf_c(sb, "<br>TTFT %.0f ms", row->stream.ttft_ms);
	strbuf_addstr(sb, "</td><td>");
	if (row->prompt_tokens >= 0 || row->completion_tokens >= 0)
		strbuf_addf(sb, "%ld/%ld", row->prompt_tokens < 0 ? 0 : row->prompt_tokens,
			    row->completion_tokens < 0 ? 0 : row->completion_tokens);
	strbuf_addstr(sb, "</td><td>");
	if (row->has_threshold && row->status != RESULT_ERROR)
		/* the weighted score decided, not every scorer passing */
		strbuf_addf(sb, "weighted score %.3f %s threshold %.3f; ", result_weighted_score(row),
			    row->status == RESULT_PASS ? "&ge;" : "&lt;", row->threshold);
	why = first_reason(r, &label);
	if (why) {
		if (label) {
			txt(sb, label);
			strbuf_addstr(sb, ": ");
		}
		preview(sb, why, strlen(why), HTML_PREVIEW);
	} else if (row->output) {
		preview(sb, row->output, row->output_len, HTML_PREVIEW_PASS);
	}
	strbuf_addstr(sb, "</td></tr>\n");
	out_flush(c->o, 0);
	return c->o->failed || c->det_failed || c->read_failed;
}

/* copy the suite's details after its table, as embedded JSON */
static int copy_details(struct html_ctx *c)
{
	struct strbuf *sb = &c->o->sb;
	char buf[65536];
	size_t n;

	strbuf_addstr(sb, "<script type=\"application/json\" class=\"eg-details\">[");
	if (fflush(c->det) || fseek(c->det, 0, SEEK_SET))
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), c->det)) > 0) {
		strbuf_add(sb, buf, n);
		out_flush(c->o, 0);
	}
	if (ferror(c->det))
		return -1;
	strbuf_addstr(sb, "]</script>\n");
	return 0;
}

static int suite_cases(struct html_ctx *c, size_t i)
{
	const struct report_suite *s = &c->m->suites[i];
	struct strbuf *sb = &c->o->sb;
	int ret = -1;

	strbuf_addstr(sb, "<section class=\"suite\"");
	attr(sb, "data-suite", s->name);
	attr_long(sb, "data-cases", s->cases.n);
	attr_long(sb, "data-pass", s->cases.pass);
	attr_long(sb, "data-fail", s->cases.fail);
	attr_long(sb, "data-error", s->cases.error);
	attr_long(sb, "data-results", s->results.n);
	strbuf_addstr(sb, "><h3>");
	txt(sb, s->name);
	strbuf_addch(sb, '@');
	txt(sb, s->version);
	strbuf_addstr(sb, " <small>(");
	txt(sb, s->kind);
	strbuf_addf(sb, ")</small></h3><p>%ld cases: %ld pass, %ld fail, %ld error; pass rate ",
		    s->cases.n, s->cases.pass, s->cases.fail, s->cases.error);
	pct(sb, report_pass_rate(&s->cases));
	if (s->has_base) {
		strbuf_addstr(sb, " (baseline ");
		pct(sb, report_pass_rate(&s->base));
		strbuf_addch(sb, ')');
	}
	strbuf_addstr(sb, "</p>\n<table class=\"cases\"><thead><tr><th>case</th><th>status</th>"
			  "<th>latency</th><th>tokens in/out</th>"
			  "<th>answer, or why it failed</th></tr></thead><tbody>\n");
	c->det = tmpfile();
	c->det_n = 0;
	jsonw_init(&c->det_w, &c->tmp, JSONW_SCRIPT);
	c->row_n = 0;
	if (!c->det) {
		error("cannot write HTML report %s: no temporary file: %s", c->o->path,
		      strerror(errno));
		return -1;
	}
	if (report_model_results_without_texts(c->m, i, html_row, c) || c->o->failed ||
	    c->read_failed)
		goto out;
	strbuf_addstr(sb, "</tbody></table>\n");
	if (c->det_failed || copy_details(c)) {
		error("cannot write HTML report %s: the temporary file failed", c->o->path);
		goto out;
	}
	strbuf_addstr(sb, "</section>\n");
	ret = 0;
out:
	fclose(c->det);
	c->det = NULL;
	return ret;
}

/* how many rows the table gets: the note before it says how many are left out */
static void rows_plan(struct html_ctx *c)
{
	const struct counts *r = &c->m->results;
	long others = r->fail + r->error, pass = r->pass;

	c->row_pass_budget = others < HTML_MAX_ROWS ? HTML_MAX_ROWS - others : 0;
	c->rows_planned_out = (pass > c->row_pass_budget ? pass - c->row_pass_budget : 0) +
			   (others > HTML_MAX_ROWS ? others - HTML_MAX_ROWS : 0);
}

static void controls(struct strbuf *sb, const struct html_ctx *c, long max_details)
{
	const struct report_model *m = c->m;

	strbuf_addstr(sb, "<section id=\"cases\"><h2>Cases</h2>\n");
	if (c->pass_budget < m->results.pass)
		strbuf_addf(sb, "<p class=\"note\" id=\"details-note\">This run has %ld results. "
			    "Details are kept for every failed or errored result and for the first "
			    "%ld passing ones (--html-max-details %ld); the other passing results "
			    "have a summary row only. The JSON report has every result.</p>\n",
			    m->results.n, c->pass_budget, max_details);
	if (c->rows_planned_out) {
		strbuf_addf(sb, "<p class=\"note\" id=\"rows-note\">This run has %ld results: to keep "
			    "this file usable, the table lists at most %d of them, failed and errored "
			    "ones first, and leaves out %ld (the suites' counts above include them). "
			    "Every result is in the JSON report (<code>evalgate report ",
			    m->results.n, HTML_MAX_ROWS, c->rows_planned_out);
		txt(sb, m->run.id);
		strbuf_addstr(sb, " --json FILE</code>) and in <code>evalgate runs export ");
		txt(sb, m->run.id);
		strbuf_addstr(sb, " FILE</code>.</p>\n");
	}
	strbuf_addstr(sb, "<div class=\"controls\"><label>status <select id=\"f-status\">"
			  "<option value=\"\">all</option><option value=\"pass\">pass</option>"
			  "<option value=\"fail\">fail</option><option value=\"error\">error</option>"
			  "</select></label><label>tag <select id=\"f-tag\"><option value=\"\">all"
			  "</option></select></label><input type=\"search\" id=\"f-search\" "
			  "placeholder=\"search case ids, answers, reasons\" aria-label=\"search\">"
			  "<span id=\"shown\"></span></div>\n");
}

static void footer(struct strbuf *sb, const struct html_ctx *c, long max_details)
{
	struct jsonw w;

	strbuf_addstr(sb, "</section>\n<footer>");
	if (c->budget_left_out)
		strbuf_addf(sb, "<p class=\"note\" id=\"budget-note\">The details of %ld more results "
			    "were left out to keep this file small; the JSON report has them.</p>",
			    c->budget_left_out);
	strbuf_addstr(sb, "<p>Written by evalgate ");
	txt(sb, EG_VERSION);
	strbuf_addstr(sb, " from the run history. This file is self-contained and loads nothing.</p>"
			  "</footer>\n</main>\n<script type=\"application/json\" id=\"eg-summary\">");
	jsonw_init(&w, sb, JSONW_SCRIPT);
	report_json_summary(&w, c->m);
	jsonw_key(&w, "html");
	jsonw_object_begin(&w);
	jsonw_member_int(&w, "max_details", max_details);
	jsonw_member_int(&w, "passing_without_details", c->pass_left_out);
	jsonw_member_int(&w, "left_out_for_size", c->budget_left_out);
	jsonw_member_int(&w, "rows_left_out", c->rows_left_out);
	jsonw_object_end(&w);
	jsonw_object_end(&w);
	strbuf_addstr(sb, "</script>\n");
}

int report_html_write(const struct report_model *m, const char *path, long max_details)
{
	const char *css = report_asset("report.css"), *js = report_asset("report.js");
	struct report_out o;
	struct html_ctx c;
	size_t i;

	if (!css || !js)
		return error("cannot write HTML report %s: its assets are missing", path);
	if (max_details < 0)
		max_details = REPORT_HTML_MAX_DETAILS;
	if (out_open(&o, path, "HTML report"))
		return -1;
	memset(&c, 0, sizeof(c));
	c.o = &o;
	c.m = m;
	strbuf_init(&c.tmp, 0);
	strbuf_init(&c.texts, 0);
	c.pass_budget = max_details - (m->results.fail + m->results.error);
	if (c.pass_budget < 0)
		c.pass_budget = 0;
	rows_plan(&c);
	head(&o.sb, m, css, js);
	banner(&o.sb, m);
	meta(&o.sb, m);
	gates(&o.sb, m);
	calibration(&o.sb, m);
	attacks(&o.sb, m);
	timeline(&o.sb, m);
	regression(&o, m);
	trend(&o, m);
	controls(&o.sb, &c, max_details);
	for (i = 0; i < m->n_suites; i++)
		if (suite_cases(&c, i))
			goto out_abort;
	footer(&o.sb, &c, max_details);
	strbuf_addstr(&o.sb, "<script>");
	strbuf_addstr(&o.sb, js);
	strbuf_addstr(&o.sb, "</script>\n</body></html>\n");
	strbuf_release(&c.tmp);
	strbuf_release(&c.texts);
	return out_commit(&o);
out_abort:
	if (o.failed)
		error("cannot write HTML report %s: %s", path, strerror(o.err));
	strbuf_release(&c.tmp);
	strbuf_release(&c.texts);
	out_abort(&o);
	return -1;
}
