/* report_json: the JSON report and the summary the HTML report embeds */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "error.h"
#include "escape.h"
#include "output.h"
#include "report.h"
#include "xalloc.h"
#include "banned.h"

static void key(struct strbuf *sb, const char *k, int *first)
{
	if (!*first)
		strbuf_addch(sb, ',');
	*first = 0;
	esc_json_str(sb, k);
	strbuf_addch(sb, ':');
}

static void k_str(struct strbuf *sb, const char *k, const char *v, int *first)
{
	key(sb, k, first);
	esc_json_str(sb, v);
}

static void k_long(struct strbuf *sb, const char *k, long v, int *first)
{
	key(sb, k, first);
	strbuf_addf(sb, "%ld", v);
}

static void k_num(struct strbuf *sb, const char *k, double v, int *first)
{
	key(sb, k, first);
	esc_json_num(sb, v);
}

static void k_bool(struct strbuf *sb, const char *k, int v, int *first)
{
	key(sb, k, first);
	strbuf_addstr(sb, v ? "true" : "false");
}

/* stored JSON text as a value; text that does not parse becomes a string */
static void k_json_text(struct strbuf *sb, const char *k, const char *text, int *first)
{
	cJSON *v;

	key(sb, k, first);
	if (!text) {
		strbuf_addstr(sb, "null");
		return;
	}
	v = cJSON_Parse(text);
	if (v)
		esc_json_value(sb, v);
	else
		esc_json_str(sb, text);
	cJSON_Delete(v);
}

static void counts_obj(struct strbuf *sb, const struct counts *c)
{
	int f = 1;

	strbuf_addch(sb, '{');
	k_long(sb, "n", c->n, &f);
	k_long(sb, "pass", c->pass, &f);
	k_long(sb, "fail", c->fail, &f);
	k_long(sb, "error", c->error, &f);
	k_num(sb, "pass_rate", report_pass_rate(c), &f);
	k_num(sb, "latency_ms", c->latency_ms, &f);
	strbuf_addch(sb, '}');
}

static void usage_members(struct strbuf *sb, const struct usage *u, int *f)
{
	k_long(sb, "prompt_tokens", u->prompt_tokens, f);
	k_long(sb, "completion_tokens", u->completion_tokens, f);
	k_num(sb, "cost_usd", u->n_cost ? u->cost_usd : NAN, f);
	k_long(sb, "cached", u->cached, f);
}

static void run_obj(struct strbuf *sb, const struct run_info *ri)
{
	int f = 1;

	strbuf_addch(sb, '{');
	k_str(sb, "id", ri->id, &f);
	k_str(sb, "started_at", ri->started_at, &f);
	k_str(sb, "finished_at", ri->finished_at, &f);
	k_str(sb, "status", run_status_name(ri->status), &f);
	k_str(sb, "verdict", ri->verdict, &f);
	k_str(sb, "target", ri->target, &f);
	k_str(sb, "version", ri->version, &f);
	k_str(sb, "model", ri->model, &f);
	k_str(sb, "git_sha", ri->git_sha, &f);
	k_str(sb, "git_ref", ri->git_ref, &f);
	k_str(sb, "config_hash", ri->config_hash, &f);
	k_str(sb, "shard", ri->shard, &f);
	k_str(sb, "evalgate_version", ri->evalgate_version, &f);
	k_long(sb, "repeats", ri->repeats > 0 ? ri->repeats : 1, &f);
	k_str(sb, "repeat_policy", ri->repeat_policy ? ri->repeat_policy : "all", &f);
	strbuf_addch(sb, '}');
}

static void suite_obj(struct strbuf *sb, const struct report_suite *s)
{
	size_t i;
	int f = 1;

	strbuf_addch(sb, '{');
	k_str(sb, "name", s->name, &f);
	k_str(sb, "version", s->version, &f);
	k_str(sb, "kind", s->kind, &f);
	k_str(sb, "hash", s->hash, &f);
	key(sb, "cases", &f);
	counts_obj(sb, &s->cases);
	key(sb, "results", &f);
	counts_obj(sb, &s->results);
	usage_members(sb, &s->usage, &f);
	key(sb, "baseline", &f);
	if (s->has_base) {
		int g = 1;

		strbuf_addch(sb, '{');
		key(sb, "cases", &g);
		counts_obj(sb, &s->base);
		k_num(sb, "pass_rate_delta",
		      report_pass_rate(&s->cases) - report_pass_rate(&s->base), &g);
		k_long(sb, "new_failures", s->flips_new, &g);
		k_long(sb, "fixed", s->flips_fixed, &g);
		strbuf_addch(sb, '}');
	} else {
		strbuf_addstr(sb, "null");
	}
	key(sb, "trend", &f);
	strbuf_addch(sb, '[');
	for (i = 0; i < s->n_trend; i++) {
		const struct report_point *p = &s->trend[i];
		int g = 1;

		if (i)
			strbuf_addch(sb, ',');
		strbuf_addch(sb, '{');
		k_str(sb, "run_id", p->run_id, &g);
		k_str(sb, "started_at", p->started_at, &g);
		k_long(sb, "n", p->c.n, &g);
		k_long(sb, "pass", p->c.pass, &g);
		k_long(sb, "fail", p->c.fail, &g);
		k_long(sb, "error", p->c.error, &g);
		k_num(sb, "pass_rate", report_pass_rate(&p->c), &g);
		k_bool(sb, "current", p->is_current, &g);
		k_bool(sb, "baseline", p->is_baseline, &g);
		strbuf_addch(sb, '}');
	}
	strbuf_addstr(sb, "]}");
}

static void gate_obj(struct strbuf *sb, const struct report_gate *g)
{
	int f = 1;

	strbuf_addch(sb, '{');
	k_str(sb, "name", g->name, &f);
	k_str(sb, "metric", g->metric, &f);
	k_str(sb, "scope", g->scope, &f);
	k_num(sb, "value", g->value, &f);
	k_str(sb, "op", g->op, &f);
	k_num(sb, "threshold", g->threshold, &f);
	k_bool(sb, "pass", g->pass, &f);
	k_num(sb, "lo", g->lo, &f);
	k_num(sb, "hi", g->hi, &f);
	k_long(sb, "n", g->n, &f);
	k_json_text(sb, "detail", g->detail, &f);
	strbuf_addch(sb, '}');
}

/* the first stored result of a case: its status and answer */
struct side {
	struct strbuf *sb;
	int found;
};

static int side_one(const struct stored_result *r, void *arg)
{
	struct side *s = arg;
	size_t cut;
	int f = 1;

	s->found = 1;
	strbuf_addch(s->sb, '{');
	k_str(s->sb, "status", result_status_name(r->row.status), &f);
	key(s->sb, "output", &f);
	if (r->row.output) {
		cut = esc_utf8_cut(r->row.output, r->row.output_len, REPORT_FLIP_ANSWER);
		esc_json(s->sb, r->row.output, cut);
		k_long(s->sb, "output_truncated", (long)(r->row.output_len - cut), &f);
	} else {
		strbuf_addstr(s->sb, "null");
	}
	k_str(s->sb, "error", r->row.error, &f);
	strbuf_addch(s->sb, '}');
	return 1;
}

static void side_obj(struct strbuf *sb, const struct report_model *m, int base,
		     const struct report_flip *fl)
{
	struct side s = { sb, 0 };

	report_model_case(m, base, fl->suite, fl->case_id, side_one, &s);
	if (!s.found)
		strbuf_addstr(sb, "null");
}

static void regression_obj(struct strbuf *sb, const struct report_model *m)
{
	const struct report_regression *r = &m->reg;
	size_t i;
	int f = 1;

	if (!r->present) {
		strbuf_addstr(sb, "null");
		return;
	}
	strbuf_addch(sb, '{');
	k_bool(sb, "pass", r->pass, &f);
	k_str(sb, "baseline", r->baseline, &f);
	k_str(sb, "baseline_ref", r->baseline_ref, &f);
	k_bool(sb, "baseline_in_history", r->have_base_run, &f);
	if (r->have_base_run) {
		k_str(sb, "baseline_started_at", r->base_run.started_at, &f);
		k_str(sb, "baseline_version", r->base_run.version, &f);
		k_str(sb, "baseline_model", r->base_run.model, &f);
	}
	k_long(sb, "pairs", r->pairs, &f);
	k_long(sb, "new_failures", r->new_failures, &f);
	k_long(sb, "fixed", r->fixed, &f);
	k_num(sb, "p_value", r->p_value, &f);
	k_num(sb, "diff", r->diff, &f);
	k_num(sb, "diff_lo", r->diff_lo, &f);
	k_num(sb, "diff_hi", r->diff_hi, &f);
	k_num(sb, "alpha", r->alpha, &f);
	k_num(sb, "max_new_failures", r->max_new_failures, &f);
	k_long(sb, "only_in_candidate", r->only_in_candidate, &f);
	k_long(sb, "only_in_baseline", r->only_in_baseline, &f);
	k_long(sb, "changed", r->changed, &f);
	k_long(sb, "flaky_excluded", r->flaky_excluded, &f);
	key(sb, "flips", &f);
	strbuf_addch(sb, '[');
	for (i = 0; i < r->n_flips; i++) {
		const struct report_flip *fl = &r->flips[i];
		int g = 1;

		if (i)
			strbuf_addch(sb, ',');
		strbuf_addch(sb, '{');
		k_str(sb, "suite", fl->suite, &g);
		k_str(sb, "case_id", fl->case_id, &g);
		k_str(sb, "from", fl->from, &g);
		k_str(sb, "to", fl->to, &g);
		key(sb, "before", &g);
		side_obj(sb, m, 1, fl);
		key(sb, "after", &g);
		side_obj(sb, m, 0, fl);
		strbuf_addch(sb, '}');
	}
	strbuf_addch(sb, ']');
	k_bool(sb, "flips_truncated", r->flips_truncated, &f);
	key(sb, "unpaired", &f);
	strbuf_addch(sb, '[');
	for (i = 0; i < r->n_unpaired; i++) {
		int g = 1;

		if (i)
			strbuf_addch(sb, ',');
		strbuf_addch(sb, '{');
		k_str(sb, "suite", r->unpaired[i].suite, &g);
		k_str(sb, "case_id", r->unpaired[i].case_id, &g);
		k_str(sb, "why", r->unpaired[i].why, &g);
		strbuf_addch(sb, '}');
	}
	strbuf_addch(sb, ']');
	k_bool(sb, "unpaired_truncated", r->unpaired_truncated, &f);
	strbuf_addch(sb, '}');
}

void report_json_summary(struct strbuf *sb, const struct report_model *m)
{
	size_t i;
	int f = 1;

	strbuf_addch(sb, '{');
	k_long(sb, "schema_version", REPORT_SCHEMA_VERSION, &f);
	k_str(sb, "verdict", report_verdict(m), &f);
	key(sb, "run", &f);
	run_obj(sb, &m->run);
	key(sb, "totals", &f);
	{
		int g = 1;

		strbuf_addch(sb, '{');
		key(sb, "cases", &g);
		counts_obj(sb, &m->cases);
		key(sb, "results", &g);
		counts_obj(sb, &m->results);
		usage_members(sb, &m->usage, &g);
		k_long(sb, "gates", (long)m->n_gates, &g);
		k_long(sb, "gates_failed", m->gates_failed, &g);
		strbuf_addch(sb, '}');
	}
	key(sb, "suites", &f);
	strbuf_addch(sb, '[');
	for (i = 0; i < m->n_suites; i++) {
		if (i)
			strbuf_addch(sb, ',');
		suite_obj(sb, &m->suites[i]);
	}
	strbuf_addch(sb, ']');
	key(sb, "gates", &f);
	strbuf_addch(sb, '[');
	for (i = 0; i < m->n_gates; i++) {
		if (i)
			strbuf_addch(sb, ',');
		gate_obj(sb, &m->gates[i]);
	}
	strbuf_addch(sb, ']');
	key(sb, "regression", &f);
	regression_obj(sb, m);
}

static void tags_array(struct strbuf *sb, const char *tags)
{
	const char *p = tags;
	int first = 1;

	strbuf_addch(sb, '[');
	while (p && *p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if (len) {
			if (!first)
				strbuf_addch(sb, ',');
			first = 0;
			esc_json(sb, p, len);
		}
		p = comma ? comma + 1 : NULL;
	}
	strbuf_addch(sb, ']');
}

void report_json_result(struct strbuf *sb, const struct stored_result *r, size_t max_output)
{
	const struct result_row *row = &r->row;
	size_t i;
	int f = 1;

	strbuf_addch(sb, '{');
	k_str(sb, "suite", row->suite, &f);
	k_str(sb, "case_id", row->case_id, &f);
	k_str(sb, "case_hash", row->case_hash, &f);
	k_long(sb, "repeat", row->repeat, &f);
	k_str(sb, "status", result_status_name(row->status), &f);
	key(sb, "tags", &f);
	tags_array(sb, row->tags);
	k_json_text(sb, "input", row->input, &f);
	k_json_text(sb, "context", row->context, &f);
	k_str(sb, "expected", row->expected, &f);
	k_json_text(sb, "retrieved", row->target_reply, &f);
	key(sb, "output", &f);
	if (row->output) {
		size_t cut = max_output ? esc_utf8_cut(row->output, row->output_len, max_output)
					: row->output_len;

		esc_json(sb, row->output, cut);
		if (cut < row->output_len)
			k_long(sb, "output_truncated", (long)(row->output_len - cut), &f);
	} else {
		strbuf_addstr(sb, "null");
	}
	k_str(sb, "error", row->error, &f);
	k_str(sb, "finish_reason", row->finish_reason, &f);
	k_num(sb, "latency_ms", row->latency_ms, &f);
	key(sb, "prompt_tokens", &f);
	if (row->prompt_tokens >= 0)
		strbuf_addf(sb, "%ld", row->prompt_tokens);
	else
		strbuf_addstr(sb, "null");
	key(sb, "completion_tokens", &f);
	if (row->completion_tokens >= 0)
		strbuf_addf(sb, "%ld", row->completion_tokens);
	else
		strbuf_addstr(sb, "null");
	k_num(sb, "cost_usd", row->cost_usd, &f);
	k_long(sb, "attempts", row->attempts, &f);
	k_bool(sb, "cached", row->cached, &f);
	key(sb, "scores", &f);
	strbuf_addch(sb, '[');
	for (i = 0; i < r->n_scores; i++) {
		const struct score_row *sc = &r->scores[i];
		int g = 1;

		if (i)
			strbuf_addch(sb, ',');
		strbuf_addch(sb, '{');
		k_str(sb, "scorer", sc->scorer, &g);
		k_str(sb, "type", sc->type, &g);
		k_num(sb, "score", sc->score, &g);
		k_bool(sb, "pass", sc->pass, &g);
		k_bool(sb, "error", sc->error, &g);
		k_str(sb, "reason", sc->reason, &g);
		k_json_text(sb, "detail", sc->detail, &g);
		k_long(sb, "calls", sc->calls, &g);
		strbuf_addch(sb, '}');
	}
	strbuf_addstr(sb, "]}");
}

struct json_ctx {
	struct report_out *o;
	long n;
};

static int json_result(const struct stored_result *r, void *arg)
{
	struct json_ctx *c = arg;

	strbuf_addstr(&c->o->sb, c->n++ ? ",\n" : "\n");
	report_json_result(&c->o->sb, r, 0);
	out_flush(c->o, 0);
	return c->o->failed;
}

int report_json_write(const struct report_model *m, const char *path)
{
	struct report_out o;
	struct json_ctx c;
	size_t i;

	if (out_open(&o, path, "JSON report"))
		return -1;
	c.o = &o;
	c.n = 0;
	report_json_summary(&o.sb, m);
	strbuf_addstr(&o.sb, ",\"results\":[");
	for (i = 0; i < m->n_suites; i++)
		if (report_model_results(m, i, json_result, &c) || o.failed)
			goto out_abort;
	strbuf_addstr(&o.sb, "\n]}\n");
	return out_commit(&o);
out_abort:
	if (!o.failed)
		error("cannot write JSON report %s: reading the history failed", path);
	else
		error("cannot write JSON report %s: %s", path, strerror(o.err));
	out_abort(&o);
	return -1;
}
