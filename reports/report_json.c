/* report_json: the JSON report and the summary the HTML report embeds */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "error.h"
#include "escape.h"
#include "export.h"
#include "jsonutil.h"
#include "jsonw.h"
#include "output.h"
#include "report.h"
#include "xalloc.h"
#include "banned.h"

/* stored JSON text as a value; text that does not parse becomes a string */
static void member_json_text(struct jsonw *w, const char *k, const char *text)
{
	cJSON *v;

	jsonw_key(w, k);
	if (!text) {
		jsonw_null(w);
		return;
	}
	v = cJSON_Parse(text);
	if (v)
		json_write_bytes(w, text, strlen(text), v, v); /* a step's NUL and what follows it */
	else
		jsonw_str(w, text);
	cJSON_Delete(v);
}

/* a count that is not known (< 0) as null */
static void member_count(struct jsonw *w, const char *k, long v)
{
	jsonw_key(w, k);
	if (v >= 0)
		jsonw_int(w, v);
	else
		jsonw_null(w);
}

static void counts_obj(struct jsonw *w, const char *k, const struct counts *c)
{
	jsonw_key(w, k);
	jsonw_object_begin(w);
	jsonw_member_int(w, "n", c->n);
	jsonw_member_int(w, "pass", c->pass);
	jsonw_member_int(w, "fail", c->fail);
	jsonw_member_int(w, "error", c->error);
	jsonw_member_num(w, "pass_rate", report_pass_rate(c));
	jsonw_member_num(w, "latency_ms", c->latency_ms);
	jsonw_object_end(w);
}

static void usage_members(struct jsonw *w, const struct usage *u)
{
	jsonw_member_int(w, "prompt_tokens", u->prompt_tokens);
	jsonw_member_int(w, "completion_tokens", u->completion_tokens);
	jsonw_member_num(w, "cost_usd", u->n_cost ? u->cost_usd : NAN);
	jsonw_member_int(w, "cached", u->cached);
	if (!isnan(u->ttft_p50)) {
		jsonw_member_num(w, "ttft_p50_ms", u->ttft_p50);
		jsonw_member_num(w, "ttft_p95_ms", u->ttft_p95);
		jsonw_member_num(w, "itl_p50_ms", u->itl_p50);
		jsonw_member_num(w, "itl_p95_ms", u->itl_p95);
	}
}

static void run_obj(struct jsonw *w, const struct run_info *ri)
{
	jsonw_key(w, "run");
	jsonw_object_begin(w);
	export_run_members(w, ri);
	jsonw_member_str(w, "config_hash", ri->config_hash);
	jsonw_member_str(w, "shard", ri->shard);
	jsonw_member_str(w, "evalgate_version", ri->evalgate_version);
	jsonw_member_int(w, "repeats", ri->repeats > 0 ? ri->repeats : 1);
	jsonw_member_str(w, "repeat_policy", ri->repeat_policy ? ri->repeat_policy : "all");
	jsonw_object_end(w);
}

static void suite_obj(struct jsonw *w, const struct report_suite *s)
{
	size_t i;

	jsonw_object_begin(w);
	jsonw_member_str(w, "name", s->name);
	jsonw_member_str(w, "version", s->version);
	jsonw_member_str(w, "kind", s->kind);
	jsonw_member_str(w, "hash", s->hash);
	counts_obj(w, "cases", &s->cases);
	counts_obj(w, "results", &s->results);
	usage_members(w, &s->usage);
	jsonw_key(w, "baseline");
	if (s->has_base) {
		jsonw_object_begin(w);
		counts_obj(w, "cases", &s->base);
		jsonw_member_num(w, "pass_rate_delta",
				 report_pass_rate(&s->cases) - report_pass_rate(&s->base));
		jsonw_member_int(w, "new_failures", s->flips_new);
		jsonw_member_int(w, "fixed", s->flips_fixed);
		jsonw_object_end(w);
	} else {
		jsonw_null(w);
	}
	jsonw_key(w, "trend");
	jsonw_array_begin(w);
	for (i = 0; i < s->n_trend; i++) {
		const struct report_point *p = &s->trend[i];

		jsonw_object_begin(w);
		jsonw_member_str(w, "run_id", p->run_id);
		jsonw_member_str(w, "started_at", p->started_at);
		jsonw_member_int(w, "n", p->c.n);
		jsonw_member_int(w, "pass", p->c.pass);
		jsonw_member_int(w, "fail", p->c.fail);
		jsonw_member_int(w, "error", p->c.error);
		jsonw_member_num(w, "pass_rate", report_pass_rate(&p->c));
		jsonw_member_bool(w, "current", p->is_current);
		jsonw_member_bool(w, "baseline", p->is_baseline);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
	jsonw_object_end(w);
}

static void gate_obj(struct jsonw *w, const struct report_gate *g)
{
	jsonw_object_begin(w);
	jsonw_member_str(w, "name", g->name);
	jsonw_member_str(w, "metric", g->metric);
	jsonw_member_str(w, "scope", g->scope);
	jsonw_member_num(w, "value", g->value);
	jsonw_member_str(w, "op", g->op);
	jsonw_member_num(w, "threshold", g->threshold);
	jsonw_member_bool(w, "pass", g->pass);
	jsonw_member_num(w, "lo", g->lo);
	jsonw_member_num(w, "hi", g->hi);
	jsonw_member_int(w, "n", g->n);
	member_json_text(w, "detail", g->detail);
	jsonw_object_end(w);
}

/* the first stored result of a case: its status and answer */
struct side {
	struct jsonw *w;
	int found;
};

static int side_one(const struct stored_result *r, void *arg)
{
	struct side *s = arg;
	size_t cut;

	s->found = 1;
	jsonw_object_begin(s->w);
	jsonw_member_str(s->w, "status", result_status_name(r->row.status));
	jsonw_key(s->w, "output");
	if (r->row.output) {
		cut = esc_utf8_cut(r->row.output, r->row.output_len, REPORT_FLIP_ANSWER);
		jsonw_strn(s->w, r->row.output, cut);
		jsonw_member_int(s->w, "output_truncated", (long long)(r->row.output_len - cut));
	} else {
		jsonw_null(s->w);
	}
	jsonw_member_str(s->w, "error", r->row.error);
	jsonw_object_end(s->w);
	return 1;
}

static void side_obj(struct jsonw *w, const char *k, const struct report_model *m, int base,
		     const struct report_flip *fl)
{
	struct side s = { w, 0 };

	jsonw_key(w, k);
	report_model_case(m, base, fl->suite, fl->case_id, side_one, &s);
	if (!s.found)
		jsonw_null(w);
}

static void regression_obj(struct jsonw *w, const struct report_model *m)
{
	const struct report_regression *r = &m->reg;
	size_t i;

	jsonw_key(w, "regression");
	if (!r->present) {
		jsonw_null(w);
		return;
	}
	jsonw_object_begin(w);
	jsonw_member_bool(w, "pass", r->pass);
	jsonw_member_str(w, "baseline", r->baseline);
	jsonw_member_str(w, "baseline_ref", r->baseline_ref);
	jsonw_member_bool(w, "baseline_in_history", r->have_base_run);
	if (r->have_base_run) {
		jsonw_member_str(w, "baseline_started_at", r->base_run.started_at);
		jsonw_member_str(w, "baseline_version", r->base_run.version);
		jsonw_member_str(w, "baseline_model", r->base_run.model);
	}
	jsonw_member_int(w, "pairs", r->pairs);
	jsonw_member_int(w, "new_failures", r->new_failures);
	jsonw_member_int(w, "fixed", r->fixed);
	jsonw_member_num(w, "p_value", r->p_value);
	jsonw_member_num(w, "diff", r->diff);
	jsonw_member_num(w, "diff_lo", r->diff_lo);
	jsonw_member_num(w, "diff_hi", r->diff_hi);
	jsonw_member_num(w, "alpha", r->alpha);
	jsonw_member_num(w, "max_new_failures", r->max_new_failures);
	jsonw_member_int(w, "only_in_candidate", r->only_in_candidate);
	jsonw_member_int(w, "only_in_baseline", r->only_in_baseline);
	jsonw_member_int(w, "changed", r->changed);
	jsonw_member_int(w, "flaky_excluded", r->flaky_excluded);
	jsonw_key(w, "flips");
	jsonw_array_begin(w);
	for (i = 0; i < r->n_flips; i++) {
		const struct report_flip *fl = &r->flips[i];

		jsonw_object_begin(w);
		jsonw_member_str(w, "suite", fl->suite);
		jsonw_member_str(w, "case_id", fl->case_id);
		jsonw_member_str(w, "from", fl->from);
		jsonw_member_str(w, "to", fl->to);
		side_obj(w, "before", m, 1, fl);
		side_obj(w, "after", m, 0, fl);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
	jsonw_member_bool(w, "flips_truncated", r->flips_truncated);
	jsonw_key(w, "unpaired");
	jsonw_array_begin(w);
	for (i = 0; i < r->n_unpaired; i++) {
		jsonw_object_begin(w);
		jsonw_member_str(w, "suite", r->unpaired[i].suite);
		jsonw_member_str(w, "case_id", r->unpaired[i].case_id);
		jsonw_member_str(w, "why", r->unpaired[i].why);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
	jsonw_member_bool(w, "unpaired_truncated", r->unpaired_truncated);
	jsonw_object_end(w);
}

void report_json_summary(struct jsonw *w, const struct report_model *m)
{
	size_t i;

	jsonw_object_begin(w);
	jsonw_member_int(w, "schema_version", REPORT_SCHEMA_VERSION);
	jsonw_member_str(w, "verdict", report_verdict(m));
	run_obj(w, &m->run);
	jsonw_key(w, "totals");
	jsonw_object_begin(w);
	counts_obj(w, "cases", &m->cases);
	counts_obj(w, "results", &m->results);
	usage_members(w, &m->usage);
	jsonw_member_int(w, "gates", (long long)m->n_gates);
	jsonw_member_int(w, "gates_failed", m->gates_failed);
	jsonw_object_end(w);
	jsonw_key(w, "suites");
	jsonw_array_begin(w);
	for (i = 0; i < m->n_suites; i++)
		suite_obj(w, &m->suites[i]);
	jsonw_array_end(w);
	jsonw_key(w, "gates");
	jsonw_array_begin(w);
	for (i = 0; i < m->n_gates; i++)
		gate_obj(w, &m->gates[i]);
	jsonw_array_end(w);
	regression_obj(w, m);
	if (m->n_attacks) {
		jsonw_key(w, "attacks");
		jsonw_array_begin(w);
		for (i = 0; i < m->n_attacks; i++) {
			const struct report_attack *a = &m->attacks[i];

			jsonw_object_begin(w);
			jsonw_member_str(w, "tag", a->tag);
			jsonw_member_int(w, "n", a->c.n);
			jsonw_member_int(w, "succeeded", a->c.fail);
			jsonw_member_int(w, "defended", a->c.pass);
			jsonw_member_int(w, "error", a->c.error);
			jsonw_member_num(w, "attack_success", report_attack_rate(&a->c));
			jsonw_object_end(w);
		}
		jsonw_array_end(w);
	}
}

/* the comma-separated tags as an array of the non-empty ones */
static void tags_array(struct jsonw *w, const char *tags)
{
	const char *p = tags;

	jsonw_key(w, "tags");
	jsonw_array_begin(w);
	while (p && *p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if (len)
			jsonw_strn(w, p, len);
		p = comma ? comma + 1 : NULL;
	}
	jsonw_array_end(w);
}

void report_json_result(struct jsonw *w, const struct stored_result *r, size_t max_output)
{
	const struct result_row *row = &r->row;
	size_t i;

	jsonw_object_begin(w);
	jsonw_member_str(w, "suite", row->suite);
	jsonw_member_str(w, "case_id", row->case_id);
	jsonw_member_str(w, "case_hash", row->case_hash);
	jsonw_member_int(w, "repeat", row->repeat);
	jsonw_member_str(w, "status", result_status_name(row->status));
	tags_array(w, row->tags);
	member_json_text(w, "input", row->input);
	member_json_text(w, "context", row->context);
	jsonw_member_str(w, "expected", row->expected);
	member_json_text(w, "retrieved", row->target_reply);
	jsonw_key(w, "output");
	if (row->output) {
		size_t cut = max_output ? esc_utf8_cut(row->output, row->output_len, max_output)
					: row->output_len;

		jsonw_strn(w, row->output, cut);
		if (cut < row->output_len)
			jsonw_member_int(w, "output_truncated", (long long)(row->output_len - cut));
	} else {
		jsonw_null(w);
	}
	jsonw_member_str(w, "error", row->error);
	jsonw_member_str(w, "finish_reason", row->finish_reason);
	jsonw_member_num(w, "latency_ms", row->latency_ms);
	if (row->stream.streamed) {
		jsonw_key(w, "stream");
		jsonw_object_begin(w);
		jsonw_member_num(w, "ttft_ms", row->stream.ttft_ms);
		jsonw_member_num(w, "itl_ms", row->stream.itl_ms);
		jsonw_member_num(w, "itl_p50_ms", row->stream.itl_p50_ms);
		jsonw_member_num(w, "itl_p95_ms", row->stream.itl_p95_ms);
		jsonw_member_num(w, "tokens_per_s", row->stream.tokens_per_s);
		jsonw_object_end(w);
	}
	member_count(w, "prompt_tokens", row->prompt_tokens);
	member_count(w, "completion_tokens", row->completion_tokens);
	jsonw_member_num(w, "cost_usd", row->cost_usd);
	jsonw_member_int(w, "attempts", row->attempts);
	jsonw_member_bool(w, "cached", row->cached);
	/* the weighted mean of the scores; it decided pass when threshold is not null */
	jsonw_member_num(w, "score", result_weighted_score(row));
	jsonw_member_num(w, "threshold", row->has_threshold ? row->threshold : NAN);
	jsonw_key(w, "scores");
	jsonw_array_begin(w);
	for (i = 0; i < r->n_scores; i++) {
		const struct score_row *sc = &r->scores[i];

		jsonw_object_begin(w);
		jsonw_member_str(w, "scorer", sc->scorer);
		jsonw_member_str(w, "type", sc->type);
		jsonw_member_num(w, "score", sc->score);
		jsonw_member_bool(w, "pass", sc->pass);
		jsonw_member_bool(w, "error", sc->error);
		jsonw_member_str(w, "reason", sc->reason);
		member_json_text(w, "detail", sc->detail);
		jsonw_member_int(w, "calls", sc->calls);
		jsonw_member_num(w, "weight", sc->weight > 0 ? sc->weight : 1);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
	jsonw_object_end(w);
}

struct json_ctx {
	struct report_out *o;
	struct jsonw *w;
};

static int json_result(const struct stored_result *r, void *arg)
{
	struct json_ctx *c = arg;

	jsonw_newline(c->w);
	report_json_result(c->w, r, 0);
	out_flush(c->o, 0);
	return c->o->failed;
}

int report_json_write(const struct report_model *m, const char *path)
{
	struct report_out o;
	struct json_ctx c;
	struct jsonw w;
	size_t i;

	if (out_open(&o, path, "JSON report"))
		return -1;
	/* script-safe like the summary the HTML report embeds: one text for both */
	jsonw_init(&w, &o.sb, JSONW_SCRIPT);
	c.o = &o;
	c.w = &w;
	report_json_summary(&w, m);
	jsonw_key(&w, "results");
	jsonw_array_begin(&w);
	for (i = 0; i < m->n_suites; i++)
		if (report_model_results(m, i, json_result, &c) || o.failed)
			goto out_abort;
	jsonw_newline(&w);
	jsonw_array_end(&w);
	jsonw_object_end(&w);
	strbuf_addch(&o.sb, '\n');
	return out_commit(&o);
out_abort:
	if (!o.failed)
		error("cannot write JSON report %s: reading the history failed", path);
	else
		error("cannot write JSON report %s: %s", path, strerror(o.err));
	out_abort(&o);
	return -1;
}
