#include "variants.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "error.h"
#include "escape.h"
#include "jsonutil.h"
#include "jsonw.h"
#include "output.h"
#include "setup.h"
#include "stats.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

static const char *const variant_keys[] = { "name", "target", "prompt", NULL };

static int name_ok(const char *s)
{
	if (!*s || strlen(s) > 64)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._-", *s))
			return 0;
	return 1;
}

/*
 * check the override o (of variant name) and add it, taking o; errors
 * are named after where
 */
static int add_variant(struct variants *vs, const char *where, const char *name, cJSON *o)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "target");
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "prompt");
	const char *bad = NULL;
	size_t i;

	if (!name_ok(name))
		bad = "a variant's name is 1 to 64 letters, digits, '.', '_' or '-'";
	else if (!cJSON_IsObject(o))
		bad = "expected an object {\"target\": {...}, \"prompt\": \"FILE\"}";
	else if (t && !cJSON_IsObject(t))
		bad = "target: expected an object of target fields";
	else if (p && (!cJSON_IsString(p) || !*p->valuestring))
		bad = "prompt: expected a file name (relative to the config)";
	else if (t && (cJSON_GetObjectItemCaseSensitive(t, "name") ||
		       cJSON_GetObjectItemCaseSensitive(t, "type")))
		bad = "target: a variant keeps the target's name and type";
	for (i = 0; !bad && i < vs->n; i++)
		if (!strcmp(vs->v[i].name, name))
			bad = "the name is used by an earlier variant";
	if (!bad)
		for (t = o->child; t && !bad; t = t->next)
			if (strcmp(t->string, "target") && strcmp(t->string, "prompt"))
				bad = "unknown field (a variant has target and prompt)";
	if (bad) {
		cJSON_Delete(o);
		return error("%s: variant '%s': %s", where, name, bad);
	}
	XGROW(vs->v, vs->n + 1, vs->alloc);
	vs->v[vs->n].name = xstrdup(name);
	vs->v[vs->n++].override = o;
	return 0;
}

/* --variant NAME=JSON (an object) or NAME=FILE (holding one) */
static int option_variant(struct variants *vs, const char *arg)
{
	const char *eq = strchr(arg, '=');
	struct strbuf text = STRBUF_INIT;
	char *name;
	cJSON *o;
	int ret = -1;

	if (!eq)
		return error("--variant %s: expected NAME=JSON or NAME=FILE", arg);
	name = xstrndup(arg, (size_t)(eq - arg));
	if (eq[1] == '{')
		strbuf_addstr(&text, eq + 1);
	else if (read_file(eq + 1, &text, 1u << 20))
		goto out;
	o = cJSON_ParseWithLength(text.buf, text.len);
	if (!o) {
		error("--variant %s: %s is not JSON", name, eq[1] == '{' ? "the override" : eq + 1);
		goto out;
	}
	ret = add_variant(vs, "--variant", name, o);
out:
	free(name);
	strbuf_release(&text);
	return ret;
}

int variants_load(struct variants *vs, const struct eg_config *cfg, const struct opt_list *opts)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(cfg->root, "variants"), *c;
	struct jdoc d;
	size_t i;

	memset(vs, 0, sizeof(*vs));
	if (opts->n) {
		for (i = 0; i < opts->n; i++)
			if (option_variant(vs, opts->v[i]))
				goto out_fail;
		return 0;
	}
	if (!list)
		return 0;
	config_jdoc(cfg, &d);
	if (!cJSON_IsArray(list)) {
		jdoc_error(&d, list, "variants", "expected an array of {name, target, prompt}");
		goto out_fail;
	}
	cJSON_ArrayForEach(c, list) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(c, "name");
		struct strbuf where = STRBUF_INIT;
		cJSON *o;
		int rc;

		if (!cJSON_IsObject(c) || !cJSON_IsString(name)) {
			jdoc_error(&d, c, "variants", "expected an object with a \"name\"");
			goto out_fail;
		}
		if (jdoc_check_keys(&d, c, "variants[].", variant_keys))
			goto out_fail;
		o = cJSON_Duplicate(c, 1);
		cJSON_DeleteItemFromObjectCaseSensitive(o, "name");
		strbuf_addf(&where, "%s:%d", cfg->path, jdoc_line(&d, c));
		rc = add_variant(vs, where.buf, name->valuestring, o);
		strbuf_release(&where);
		if (rc)
			goto out_fail;
	}
	return 0;
out_fail:
	variants_release(vs);
	return -1;
}

void variants_release(struct variants *vs)
{
	size_t i;

	for (i = 0; i < vs->n; i++) {
		free(vs->v[i].name);
		cJSON_Delete(vs->v[i].override);
	}
	free(vs->v);
	memset(vs, 0, sizeof(*vs));
}

char *variant_config_text(const struct eg_config *cfg, const struct variant *v)
{
	cJSON *root = cJSON_Duplicate(cfg->root, 1), *target;
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(v->override, "target"), *m;
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(v->override, "prompt");
	char *text, *ret;

	cJSON_DeleteItemFromObjectCaseSensitive(root, "variants");
	target = cJSON_GetObjectItemCaseSensitive(root, "target");
	cJSON_ArrayForEach(m, t) {
		cJSON_DeleteItemFromObjectCaseSensitive(target, m->string);
		cJSON_AddItemToObject(target, m->string, cJSON_Duplicate(m, 1));
	}
	if (p) {
		cJSON_DeleteItemFromObjectCaseSensitive(target, "prompt");
		cJSON_AddStringToObject(target, "prompt", p->valuestring);
	}
	text = jsonw_print(root, JSONW_PRETTY);
	cJSON_Delete(root);
	if (!text)
		die("out of memory writing a variant's config");
	ret = xstrdup(text);
	cJSON_free(text);
	return ret;
}

int variant_setup(struct setup *s, const struct setup_args *a, const struct eg_config *cfg,
		  const struct variant *v)
{
	char *text = variant_config_text(cfg, v);
	int ret = setup_load_text(s, a, text, strlen(text));

	free(text);
	if (ret)
		error("variant '%s': its config (the target with the override merged over it) is "
		      "not valid", v->name);
	return ret;
}

int variants_validate(const struct eg_config *cfg, const struct setup_args *a)
{
	static const struct opt_list none = { NULL, 0, 0 };
	struct variants vs;
	size_t i;
	int ret = 0;

	if (variants_load(&vs, cfg, &none))
		return -1;
	for (i = 0; i < vs.n && !ret; i++) {
		struct setup s;

		ret = variant_setup(&s, a, cfg, &vs.v[i]);
		setup_release(&s);
	}
	variants_release(&vs);
	return ret;
}

/* ------------------------------------------------------------ the matrix */

struct mrow {
	const struct variant_run *run;
	struct counts c;
	double rate, lo, hi;      /* pass / (pass + fail) and its Wilson 95% interval; NaN: none */
	long pairs, new_failures, fixed, changed; /* against the first variant */
	double cost, p50, p95;    /* NaN when unknown */
};

static int mrow_fill(struct history *h, const struct variant_run *first,
		     const struct variant_run *run, struct mrow *m)
{
	struct compare_opts co = { 0 };
	struct compare_result cr = { 0 };
	struct usage u;
	long scored;

	memset(m, 0, sizeof(*m));
	m->run = run;
	m->rate = m->lo = m->hi = m->cost = m->p50 = m->p95 = NAN;
	if (!run->run_id[0])
		return 0;
	if (history_counts(h, run->run_id, NULL, NULL, &m->c) ||
	    history_usage(h, run->run_id, NULL, &u))
		return -1;
	scored = m->c.pass + m->c.fail;
	if (scored) {
		m->rate = (double)m->c.pass / (double)scored;
		wilson95(m->c.pass, scored, &m->lo, &m->hi);
	}
	m->cost = u.n_cost ? u.cost_usd : NAN;
	m->p50 = u.latency_p50;
	m->p95 = u.latency_p95;
	if (run != first && first->run_id[0]) {
		if (compare_runs(h, first->run_id, run->run_id, &co, &cr))
			return -1;
		m->pairs = cr.all.pairs;
		m->new_failures = cr.all.new_failures;
		m->fixed = cr.all.fixed;
		m->changed = cr.all.changed;
		compare_result_release(&cr);
	}
	return 0;
}

/* a number or "-" */
static void cell_num(struct strbuf *sb, double v, int decimals)
{
	if (isnan(v))
		strbuf_addch(sb, '-');
	else
		strbuf_addf(sb, "%.*f", decimals, v);
}

static void cell_rate(struct strbuf *sb, const struct mrow *m)
{
	if (isnan(m->rate)) {
		strbuf_addch(sb, '-');
		return;
	}
	strbuf_addf(sb, "%.1f%% [%.1f, %.1f]", 100 * m->rate, 100 * m->lo, 100 * m->hi);
}

static void cell_flips(struct strbuf *sb, const struct mrow *m, int first)
{
	if (first)
		strbuf_addstr(sb, "(reference)");
	else if (!m->run->run_id[0])
		strbuf_addch(sb, '-');
	else
		strbuf_addf(sb, "-%ld +%ld of %ld pairs (%ld changed)", m->new_failures, m->fixed,
			    m->pairs, m->changed);
}

static const char *const columns[] = { "variant", "run", "cases", "pass rate [95% CI]", "error",
				       "flips vs first", "cost USD", "p50 ms", "p95 ms", "exit" };
#define N_COLUMNS (sizeof(columns) / sizeof(columns[0]))

/* the cells of a row, each a string in cells[] (released by the caller) */
static void row_cells(const struct mrow *m, int first, struct strbuf cells[N_COLUMNS])
{
	size_t i;

	for (i = 0; i < N_COLUMNS; i++)
		strbuf_init(&cells[i], 0);
	strbuf_addstr(&cells[0], m->run->name);
	strbuf_addstr(&cells[1], m->run->run_id[0] ? m->run->run_id : "(not stored)");
	strbuf_addf(&cells[2], "%ld", m->c.n);
	cell_rate(&cells[3], m);
	strbuf_addf(&cells[4], "%ld", m->c.error);
	cell_flips(&cells[5], m, first);
	cell_num(&cells[6], m->cost, 4);
	cell_num(&cells[7], m->p50, 0);
	cell_num(&cells[8], m->p95, 0);
	strbuf_addf(&cells[9], "%d", m->run->exit_code);
}

static void release_cells(struct strbuf cells[N_COLUMNS])
{
	size_t i;

	for (i = 0; i < N_COLUMNS; i++)
		strbuf_release(&cells[i]);
}

static void print_terminal(const struct mrow *rows, size_t n)
{
	struct strbuf cells[N_COLUMNS];
	size_t i;

	printf("variants: %zu runs; flips are against %s (-new failures +fixed)\n", n,
	       rows[0].run->name);
	for (i = 0; i < n; i++) {
		row_cells(&rows[i], i == 0, cells);
		printf("  %-16s %-26s %5s cases  %-22s %3s error  %-32s cost %-8s p50 %-6s p95 %-6s exit %s\n",
		       cells[0].buf, cells[1].buf, cells[2].buf, cells[3].buf, cells[4].buf,
		       cells[5].buf, cells[6].buf, cells[7].buf, cells[8].buf, cells[9].buf);
		release_cells(cells);
	}
}

static void add_markdown(struct strbuf *sb, const struct mrow *rows, size_t n)
{
	struct strbuf cells[N_COLUMNS];
	size_t i, k;

	strbuf_addf(sb, "## Variants\n\n%zu runs of the same suites; flips are against `", n);
	esc_md_cell(sb, rows[0].run->name, strlen(rows[0].run->name), 200);
	strbuf_addstr(sb, "` (-new failures +fixed).\n\n|");
	for (k = 0; k < N_COLUMNS; k++)
		strbuf_addf(sb, " %s |", columns[k]);
	strbuf_addstr(sb, "\n|");
	for (k = 0; k < N_COLUMNS; k++)
		strbuf_addstr(sb, k < 2 ? " --- |" : " ---: |");
	strbuf_addch(sb, '\n');
	for (i = 0; i < n; i++) {
		row_cells(&rows[i], i == 0, cells);
		strbuf_addch(sb, '|');
		for (k = 0; k < N_COLUMNS; k++) {
			strbuf_addch(sb, ' ');
			esc_md_cell(sb, cells[k].buf, cells[k].len, 200);
			strbuf_addstr(sb, " |");
		}
		strbuf_addch(sb, '\n');
		release_cells(cells);
	}
}

static void add_html(struct strbuf *sb, const struct mrow *rows, size_t n)
{
	struct strbuf cells[N_COLUMNS];
	size_t i, k;

	strbuf_addstr(sb, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		      "<title>evalgate variants</title><style>body{font:14px system-ui,sans-serif;"
		      "margin:2em}table{border-collapse:collapse}th,td{border:1px solid #ccc;"
		      "padding:4px 8px;text-align:right}th:first-child,td:first-child,"
		      "td:nth-child(2){text-align:left}</style></head><body>\n<h1>Variants</h1>\n<p>");
	strbuf_addf(sb, "%zu runs of the same suites; flips are against ", n);
	esc_html(sb, rows[0].run->name);
	strbuf_addstr(sb, " (-new failures +fixed).</p>\n<table><thead><tr>");
	for (k = 0; k < N_COLUMNS; k++) {
		strbuf_addstr(sb, "<th>");
		esc_html(sb, columns[k]);
		strbuf_addstr(sb, "</th>");
	}
	strbuf_addstr(sb, "</tr></thead><tbody>\n");
	for (i = 0; i < n; i++) {
		row_cells(&rows[i], i == 0, cells);
		strbuf_addstr(sb, "<tr>");
		for (k = 0; k < N_COLUMNS; k++) {
			strbuf_addstr(sb, "<td>");
			esc_html_text(sb, cells[k].buf, cells[k].len);
			strbuf_addstr(sb, "</td>");
		}
		strbuf_addstr(sb, "</tr>\n");
		release_cells(cells);
	}
	strbuf_addstr(sb, "</tbody></table>\n</body></html>\n");
}

static void add_json(struct strbuf *sb, const struct mrow *rows, size_t n)
{
	struct jsonw w;
	size_t i;

	jsonw_init(&w, sb, JSONW_PRETTY);
	jsonw_object_begin(&w);
	jsonw_member_str(&w, "reference", rows[0].run->name);
	jsonw_key(&w, "variants");
	jsonw_array_begin(&w);
	for (i = 0; i < n; i++) {
		const struct mrow *m = &rows[i];

		jsonw_object_begin(&w);
		jsonw_member_str(&w, "name", m->run->name);
		jsonw_member_str(&w, "run_id", m->run->run_id[0] ? m->run->run_id : NULL);
		jsonw_member_int(&w, "cases", m->c.n);
		jsonw_member_int(&w, "pass", m->c.pass);
		jsonw_member_int(&w, "fail", m->c.fail);
		jsonw_member_int(&w, "error", m->c.error);
		jsonw_member_num(&w, "pass_rate", m->rate);
		jsonw_member_num(&w, "pass_rate_lo", m->lo);
		jsonw_member_num(&w, "pass_rate_hi", m->hi);
		if (i) {
			jsonw_member_int(&w, "pairs", m->pairs);
			jsonw_member_int(&w, "new_failures", m->new_failures);
			jsonw_member_int(&w, "fixed", m->fixed);
			jsonw_member_int(&w, "changed", m->changed);
		}
		jsonw_member_num(&w, "cost_usd", m->cost);
		jsonw_member_num(&w, "latency_p50_ms", m->p50);
		jsonw_member_num(&w, "latency_p95_ms", m->p95);
		jsonw_member_int(&w, "exit_code", m->run->exit_code);
		jsonw_object_end(&w);
	}
	jsonw_array_end(&w);
	jsonw_object_end(&w);
	strbuf_addch(sb, '\n');
}

static int write_one(const char *path, const char *what, const struct mrow *rows, size_t n,
		     void (*add)(struct strbuf *, const struct mrow *, size_t))
{
	struct report_out out;

	if (!path)
		return 0;
	if (out_open(&out, path, what))
		return -1;
	add(&out.sb, rows, n);
	return out_commit(&out);
}

int variants_matrix(struct history *h, const struct variant_run *runs, size_t n, int quiet,
		    const char *md, const char *html, const char *json)
{
	struct mrow *rows = xcalloc(n ? n : 1, sizeof(*rows));
	size_t i;
	int ret = -1;

	if (!n)
		goto out_ok;
	for (i = 0; i < n; i++)
		if (mrow_fill(h, &runs[0], &runs[i], &rows[i]))
			goto out;
	if (!quiet)
		print_terminal(rows, n);
	if (write_one(md, "Markdown matrix", rows, n, add_markdown) ||
	    write_one(html, "HTML matrix", rows, n, add_html) ||
	    write_one(json, "JSON matrix", rows, n, add_json))
		goto out;
out_ok:
	ret = 0;
out:
	free(rows);
	return ret;
}
