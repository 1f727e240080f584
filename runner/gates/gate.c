/*
 * gate: the one table of gate types, and what every gate shares: parsing
 * the common fields of a config entry, evaluating and storing, the verdict
 * block, the suite check and the verdict.
 */
#include "gate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gate_types.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

/*
 * The table of gate types, in the order the list of known metrics shows
 * them. A row X(foo) names `const struct gate_type gate_foo`, defined in the
 * type's own file (gate_<name>.c; docs/HACKING.md).
 */
#define GATE_TYPES(X)                                                                     \
	X(pass_rate) X(error_rate) X(attack_success_rate) X(judge_error_rate) X(score)    \
	X(latency_ms) X(tokens) X(cost_usd) X(regression) X(drift)                         \
	X(ttft_ms) X(itl_ms) X(scorer_error_rate) X(tool_error_rate) X(steps)               \
	X(judge_kappa) X(delta)

#define GATE_DECLARE(n) extern const struct gate_type gate_##n;
GATE_TYPES(GATE_DECLARE)
#undef GATE_DECLARE

static const struct gate_type *const gate_types[] = {
#define GATE_ROW(n) &gate_##n,
	GATE_TYPES(GATE_ROW)
#undef GATE_ROW
};

#define N_TYPES (sizeof(gate_types) / sizeof(gate_types[0]))

/* the kappa a judge-based gate's judges need when nothing else says (docs/calibration.md) */
#define DEFAULT_MIN_KAPPA 0.6

/* fields every gate may carry, read here rather than by the type */
static const char *const common_fields[] = { "name", "suite", "tag", "metric", "tool",
					     "require_calibration", "min_kappa", NULL };

const char *const gate_limit_fields[] = { "stat", "min", "max", "window", "scorer", NULL };

static const char *const stat_names[] = {
	[STAT_NONE] = "none", [STAT_MEAN] = "mean", [STAT_MIN] = "min", [STAT_MAX] = "max",
	[STAT_P50] = "p50", [STAT_P90] = "p90", [STAT_P95] = "p95", [STAT_P99] = "p99",
};
#define N_STATS (sizeof(stat_names) / sizeof(stat_names[0]))

const char *gate_stat_name(enum gate_stat s)
{
	if ((size_t)s < N_STATS)
		return stat_names[s];
	return "unknown";
}

const struct gate_type *gate_type_find(const char *metric)
{
	size_t i, len;

	for (i = 0; i < N_TYPES; i++) {
		len = strlen(gate_types[i]->name);
		if (gate_types[i]->name[len - 1] == '.' ? !strncmp(metric, gate_types[i]->name, len)
							: !strcmp(metric, gate_types[i]->name))
			return gate_types[i];
	}
	return NULL;
}

static const char *type_shown(const struct gate_type *t)
{
	return t->shown ? t->shown : t->name;
}

/*
 * Judge-based gates: the types whose value follows the scorers' verdicts,
 * so that a judge among the scorers in scope decides it (SPEC 14). The
 * judge_kappa gate is the calibration itself and is not among them.
 */
static int judge_based(const struct gate_type *t)
{
	return t == &gate_pass_rate || t == &gate_attack_success_rate || t == &gate_score ||
	       t == &gate_regression || t == &gate_drift || t == &gate_delta;
}

/* --- parsing --- */

const char *gate_field(const struct gate_parse *p, const char *key, char *buf, size_t size)
{
	if (key)
		snprintf(buf, size, "gates[%d].%s", p->idx, key);
	else
		snprintf(buf, size, "gates[%d]", p->idx);
	return buf;
}

static int unknown_metric(const struct gate_parse *p, const char *metric)
{
	struct strbuf known = STRBUF_INIT;
	char field[64];
	size_t i;
	int ret;

	for (i = 0; i < N_TYPES; i++)
		strbuf_addf(&known, "%s%s", i ? ", " : "", type_shown(gate_types[i]));
	ret = jdoc_error(p->doc, cJSON_GetObjectItem(p->spec, "metric"),
			 gate_field(p, "metric", field, sizeof(field)),
			 "unknown metric '%s' (known: %s)", metric, known.buf);
	strbuf_release(&known);
	return ret;
}

/*
 * The fields of t, or of any type while the metric is not known yet, so
 * that a misspelt field is named before the metric is looked at.
 */
static int check_fields(const struct gate_parse *p, const struct gate_type *t)
{
	const char *allowed[64];
	const char *const *f;
	size_t i, k, n = 0;
	char prefix[64];

	for (f = common_fields; *f; f++)
		allowed[n++] = *f;
	for (i = 0; i < N_TYPES; i++) {
		if (t && gate_types[i] != t)
			continue;
		for (f = gate_types[i]->fields; f && *f; f++) {
			for (k = 0; k < n && strcmp(allowed[k], *f); k++)
				;
			if (k == n && n < sizeof(allowed) / sizeof(*allowed) - 1)
				allowed[n++] = *f;
		}
	}
	allowed[n] = NULL;
	return jdoc_check_keys(p->doc, p->spec, gate_field(p, "", prefix, sizeof(prefix)), allowed);
}

int gate_parse_limits(struct eg_gate *g, const struct gate_parse *p, int has_stat, double hi)
{
	const cJSON *node = cJSON_GetObjectItemCaseSensitive(p->spec, "stat");
	char prefix[64], field[64];
	size_t i;

	gate_field(p, "", prefix, sizeof(prefix));
	gate_field(p, "stat", field, sizeof(field));
	g->has_min = !!cJSON_GetObjectItemCaseSensitive(p->spec, "min");
	g->has_max = !!cJSON_GetObjectItemCaseSensitive(p->spec, "max");
	g->stat = has_stat ? STAT_MEAN : STAT_NONE;
	if (node && !has_stat)
		return jdoc_error(p->doc, node, field, "%s takes no stat (only score.<scorer>, "
				  "latency_ms, tokens, ttft_ms and itl_ms do)", type_shown(g->type));
	if (node && !cJSON_IsString(node))
		return jdoc_error(p->doc, node, field, "expected a string");
	if (node) {
		for (i = STAT_NONE + 1; i < N_STATS; i++)
			if (!strcmp(node->valuestring, stat_names[i]))
				break;
		if (i == N_STATS)
			return jdoc_error(p->doc, node, field, "unknown stat '%s' (known: mean, min, "
					  "max, p50, p90, p95, p99)", node->valuestring);
		g->stat = (enum gate_stat)i;
	}
	if (jdoc_number(p->doc, p->spec, prefix, "min", 0, 0, hi, &g->min) ||
	    jdoc_number(p->doc, p->spec, prefix, "max", 0, 0, hi, &g->max))
		return -1;
	return 0;
}

int gate_parse_bounded(struct eg_gate *g, const struct gate_parse *p, int has_stat, double hi)
{
	char field[64];

	if (gate_parse_limits(g, p, has_stat, hi))
		return -1;
	gate_field(p, NULL, field, sizeof(field));
	if (cJSON_GetObjectItemCaseSensitive(p->spec, "window") ||
	    cJSON_GetObjectItemCaseSensitive(p->spec, "scorer"))
		return jdoc_error(p->doc, p->spec, field, "window and scorer belong to drift gates");
	if (!g->has_min && !g->has_max)
		return jdoc_error(p->doc, p->spec, field, "a gate needs min or max");
	if (g->has_min && g->has_max && g->min > g->max)
		return jdoc_error(p->doc, p->spec, field, "min %g is greater than max %g", g->min,
				  g->max);
	return 0;
}

void gate_name_default(struct eg_gate *g)
{
	struct strbuf sb = STRBUF_INIT;

	if (g->name)
		return;
	if (g->stat != STAT_NONE)
		strbuf_addf(&sb, "%s ", stat_names[g->stat]);
	strbuf_addstr(&sb, g->metric);
	if (g->suite)
		strbuf_addf(&sb, " [suite %s]", g->suite);
	if (g->tag)
		strbuf_addf(&sb, " [tag %s]", g->tag);
	g->name = strbuf_detach(&sb, NULL);
}

/* one entry of "gates": the common fields here, the rest by its type */
static int parse_gate(const struct gate_parse *p, struct eg_gate *g)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(p->spec, "metric");
	const struct gate_type *t = cJSON_IsString(m) ? gate_type_find(m->valuestring) : NULL;
	const char *name = NULL, *suite = NULL, *tag = NULL, *metric = NULL, *tool = NULL;
	char prefix[64], field[64];
	struct strbuf tool_tag = STRBUF_INIT;
	int ret = -1;

	gate_field(p, "", prefix, sizeof(prefix));
	if (check_fields(p, t) ||
	    jdoc_string(p->doc, p->spec, prefix, "name", 0, &name) ||
	    jdoc_string(p->doc, p->spec, prefix, "suite", 0, &suite) ||
	    jdoc_string(p->doc, p->spec, prefix, "tag", 0, &tag) ||
	    jdoc_string(p->doc, p->spec, prefix, "tool", 0, &tool) ||
	    jdoc_string(p->doc, p->spec, prefix, "metric", 1, &metric))
		return -1;
	if (!t)
		return unknown_metric(p, metric);
	if (tool && (tag || !*tool || strchr(tool, ',')))
		return jdoc_error(p->doc, cJSON_GetObjectItemCaseSensitive(p->spec, "tool"),
				  gate_field(p, "tool", field, sizeof(field)),
				  tag ? "give either tool or tag, not both (tool is the tag tool:NAME)"
				      : "expected a tool name");
	if (tool) {
		/* the cases whose trajectory called the tool: their results carry the tag */
		strbuf_addf(&tool_tag, "tool:%s", tool);
		tag = tool_tag.buf;
	}
	if (suite && tag) {
		jdoc_error(p->doc, p->spec, gate_field(p, NULL, field, sizeof(field)),
			   "give either suite or %s, not both", tool ? "tool" : "tag");
		goto out;
	}
	if (name && !*name) {
		jdoc_error(p->doc, cJSON_GetObjectItemCaseSensitive(p->spec, "name"),
			   gate_field(p, "name", field, sizeof(field)),
			   "an empty name (leave it out to have one made from the metric and scope)");
		goto out;
	}
	g->type = t;
	g->name = name ? xstrdup(name) : NULL;
	g->metric = xstrdup(metric);
	g->suite = suite ? xstrdup(suite) : NULL;
	g->tag = tag ? xstrdup(tag) : NULL;
	g->line = jdoc_line(p->doc, p->spec);
	g->require_calibration = -1;
	if (jdoc_bool(p->doc, p->spec, prefix, "require_calibration", &g->require_calibration) ||
	    jdoc_number(p->doc, p->spec, prefix, "min_kappa", 0, -1, 1, &g->min_kappa))
		goto out;
	g->has_min_kappa = cJSON_GetObjectItemCaseSensitive(p->spec, "min_kappa") != NULL;
	if ((g->require_calibration >= 0 || g->has_min_kappa) && !judge_based(t)) {
		jdoc_error(p->doc, p->spec, gate_field(p, NULL, field, sizeof(field)),
			   "require_calibration and min_kappa belong to judge-based gates "
			   "(pass_rate, attack_success_rate, score.<scorer>, regression, "
			   "drift, delta), not to %s", type_shown(t));
		goto out;
	}
	if (t->parse(g, p))
		goto out;
	gate_name_default(g);
	ret = 0;
out:
	strbuf_release(&tool_tag);
	return ret;
}

static void gate_release(struct eg_gate *g)
{
	if (g->type && g->type->release)
		g->type->release(g);
	else
		free(g->ctx);
	free(g->name);
	free(g->metric);
	free(g->suite);
	free(g->tag);
	free(g->scorer);
	memset(g, 0, sizeof(*g));
}

/* gate results are stored and reported by name: two gates cannot share one */
static int name_taken(const struct gates *gs, const struct gate_parse *p)
{
	const char *name = gs->v[gs->n - 1].name;
	char prefix[64];
	size_t i;

	/* default names may repeat (two drift gates of one suite); given ones may not */
	if (!cJSON_GetObjectItemCaseSensitive(p->spec, "name"))
		return 0;
	for (i = 0; i + 1 < gs->n; i++)
		if (!strcmp(gs->v[i].name, name)) {
			gate_field(p, "name", prefix, sizeof(prefix));
			return jdoc_error(p->doc, p->spec, prefix,
					  "'%s' is also the name of gates[%zu]; give each gate its "
					  "own name", name, i);
		}
	return 0;
}

int gates_load(struct gates *gs, const struct eg_config *cfg)
{
	struct gate_parse p;
	struct jdoc doc;
	const cJSON *c;

	memset(gs, 0, sizeof(*gs));
	gs->cfg = cfg;
	if (!cfg->gates)
		return 0;
	config_jdoc(cfg, &doc);
	memset(&p, 0, sizeof(p));
	p.doc = &doc;
	p.cfg = cfg;
	gs->v = xcalloc((size_t)cJSON_GetArraySize(cfg->gates) + 1, sizeof(*gs->v));
	cJSON_ArrayForEach(c, cfg->gates) {
		p.spec = c;
		gs->n++; /* a half-parsed gate is released too */
		if (parse_gate(&p, &gs->v[gs->n - 1]) || name_taken(gs, &p)) {
			gates_release(gs);
			return -1;
		}
		p.idx++;
	}
	return 0;
}

void gates_release(struct gates *gs)
{
	size_t i;

	for (i = 0; i < gs->n; i++)
		gate_release(&gs->v[i]);
	free(gs->v);
	memset(gs, 0, sizeof(*gs));
}

/* --- evaluation --- */

static void scope_of(const struct eg_gate *g, struct strbuf *sb)
{
	strbuf_reset(sb);
	if (g->suite)
		strbuf_addf(sb, "suite:%s", g->suite);
	else if (g->tag)
		strbuf_addf(sb, "tag:%s", g->tag);
	else
		strbuf_addstr(sb, "all");
}

void gate_check_limits(const struct eg_gate *g, struct gate_row *row)
{
	/* an undefined value (NaN) fails every comparison: a gate over nothing fails */
	row->pass = 1;
	if (g->has_min) {
		row->op = ">=";
		row->threshold = g->min;
		if (!(row->value >= g->min))
			row->pass = 0;
	}
	if (g->has_max) {
		if (!g->has_min) {
			row->op = "<=";
			row->threshold = g->max;
		}
		if (!(row->value <= g->max))
			row->pass = 0;
	}
}

void gate_detail_cut(struct strbuf *detail)
{
	if (detail->len < GATE_DETAIL_MAX)
		return;
	detail->len = GATE_DETAIL_MAX - 1;
	detail->buf[detail->len] = '\0';
}

/*
 * The kappa a judge-based gate asks of its judges: the gate's min_kappa,
 * else the config's judge.min_kappa, else the min of the first judge_kappa
 * gate over every suite or over the gate's suite, else DEFAULT_MIN_KAPPA.
 */
static double min_kappa_of(const struct eg_gate *g, const struct gates *gs)
{
	size_t i;

	if (g->has_min_kappa)
		return g->min_kappa;
	if (gs->cfg && gs->cfg->judge.has_min_kappa)
		return gs->cfg->judge.min_kappa;
	for (i = 0; i < gs->n; i++) {
		const struct eg_gate *k = &gs->v[i];

		if (k->type == &gate_judge_kappa && !k->tag &&
		    (!k->suite || (g->suite && !strcmp(k->suite, g->suite))))
			return k->min;
	}
	return DEFAULT_MIN_KAPPA;
}

/*
 * A judge-based gate whose judges are not calibrated well enough: the
 * reason joins the detail (a member "calibration" of a JSON detail), as a
 * warning, or failing the gate under require_calibration (the gate's, else
 * the config's judge.require_calibration).
 */
static int check_calibration(const struct eg_gate *g, struct history *h, const char *run_id,
			     const struct gates *gs, struct gate_result *res)
{
	int require = g->require_calibration >= 0 ? g->require_calibration
						  : gs->cfg && gs->cfg->judge.require_calibration;
	struct strbuf why = STRBUF_INIT;
	cJSON *d;
	int ret = -1;

	if (!judge_based(g->type))
		return 0;
	if (gate_calibration_note(g, h, run_id, min_kappa_of(g, gs), &why))
		goto out;
	ret = 0;
	if (!why.len)
		goto out;
	strbuf_addf(&res->calibration, "%s: %s",
		    require ? "require_calibration" : "calibration warning", why.buf);
	if (require && res->row.pass) {
		res->row.pass = 0;
		res->uncalibrated = 1;
	}
	d = res->detail.len && res->detail.buf[0] == '{' ? cJSON_Parse(res->detail.buf) : NULL;
	if (cJSON_IsObject(d)) {
		char *text;

		cJSON_AddStringToObject(d, "calibration", res->calibration.buf);
		text = cJSON_PrintUnformatted(d);
		if (!text)
			die("out of memory");
		strbuf_reset(&res->detail);
		strbuf_addstr(&res->detail, text);
		cJSON_free(text);
	} else {
		strbuf_addf(&res->detail, "%s%s", res->detail.len ? "; " : "", res->calibration.buf);
	}
	cJSON_Delete(d);
out:
	strbuf_release(&why);
	return ret;
}

int gate_eval(const struct eg_gate *g, struct history *h, const char *run_id,
	      const struct gates *gs, struct gate_result *res)
{
	memset(res, 0, sizeof(*res));
	strbuf_init(&res->scope, 0);
	strbuf_init(&res->detail, 0);
	strbuf_init(&res->calibration, 0);
	scope_of(g, &res->scope);
	res->row.name = g->name;
	res->row.metric = g->metric;
	res->row.scope = res->scope.buf;
	res->row.lo = res->row.hi = NAN;
	if (g->type->eval(g, h, run_id, gs, res) || check_calibration(g, h, run_id, gs, res))
		return -1;
	res->row.detail = res->detail.buf;
	return 0;
}

void gate_result_release(const struct eg_gate *g, struct gate_result *res)
{
	if (g->type->result_release)
		g->type->result_release(res);
	else
		free(res->state);
	strbuf_release(&res->scope);
	strbuf_release(&res->detail);
	strbuf_release(&res->calibration);
	memset(res, 0, sizeof(*res));
}

/* --- the verdict block --- */

void gate_format_value(const char *metric, double v, char *buf, size_t size)
{
	const struct gate_type *t = metric ? gate_type_find(metric) : NULL;

	if (isnan(v))
		snprintf(buf, size, "n/a");
	else
		snprintf(buf, size, "%.*f", t && t->value_decimals ? t->value_decimals : 4, v);
}

void gate_print_head(FILE *out, const struct eg_gate *g, int pass, int color)
{
	const char *red = color ? "\033[31m" : "", *green = color ? "\033[32m" : "",
		   *reset = color ? "\033[0m" : "";

	fprintf(out, "  %s%s%s  %-36s ", pass ? green : red, pass ? "PASS" : "FAIL", reset,
		g->name);
}

void gate_print_row(FILE *out, const struct eg_gate *g, const struct gate_result *res, int color)
{
	const struct gate_row *row = &res->row;
	char value[64];

	gate_format_value(row->metric, row->value, value, sizeof(value));
	gate_print_head(out, g, row->pass, color);
	/* a failed gate shows the rule it broke, never a condition that reads as held */
	if (row->pass || res->uncalibrated)
		fprintf(out, "%10s %s %-8.10g  (%s", value, row->op, row->threshold, row->detail);
	else if (isnan(row->value))
		fprintf(out, "%10s, no value to hold to %s %.10g  (%s", value, row->op,
			row->threshold, row->detail);
	else if (g->has_min && g->has_max && row->value >= g->min)
		fprintf(out, "%10s > %.10g allowed  (%s", value, g->max, row->detail);
	else if (row->op && !strcmp(row->op, ">="))
		fprintf(out, "%10s < %.10g required  (%s", value, row->threshold, row->detail);
	else
		fprintf(out, "%10s > %.10g allowed  (%s", value, row->threshold, row->detail);
	if (!isnan(row->lo))
		fprintf(out, ", 95%% CI %.3f-%.3f", row->lo, row->hi);
	fputs(")\n", out);
	if (g->has_min && g->has_max)
		fprintf(out, "        (and <= %.10g)\n", g->max);
}

struct suite_lookup {
	const char *name;
	int found;
};

static int find_suite(const struct run_suite *s, void *arg)
{
	struct suite_lookup *l = arg;

	l->found = !strcmp(s->name, l->name);
	return l->found;
}

/* is there a gate of this type among gs? */
static int has_type(const struct gates *gs, const struct gate_type *t)
{
	size_t i;

	for (i = 0; i < gs->n && gs->v[i].type != t; i++)
		;
	return i < gs->n;
}

/*
 * Scorer errors are not the gateway's (gateway.max_error_rate), yet they
 * never pass unseen: without a scorer_error_rate gate of its own, a run
 * whose results errored in a scorer more often than max_error_rate fails a
 * gate made for it, stored and printed like the configured ones. 1 when it
 * failed, 0 when it held (nothing stored), -1 on error.
 */
static int implicit_scorer_errors(struct history *h, const char *run_id,
				  const struct gates *gs, FILE *out, int color)
{
	char name[] = "scorer_error_rate (implicit)", metric[] = "scorer_error_rate";
	struct eg_gate g;
	struct gate_result res;
	int ret = -1;

	if (!gs->cfg || has_type(gs, &gate_scorer_error_rate))
		return 0;
	memset(&g, 0, sizeof(g));
	g.type = &gate_scorer_error_rate;
	g.name = name;
	g.metric = metric;
	g.has_max = 1;
	g.max = gs->cfg->gateway.max_error_rate;
	if (gate_eval(&g, h, run_id, gs, &res))
		goto out;
	ret = 0;
	if (!res.row.pass && res.row.n > 0) {
		strbuf_addf(&res.detail, "; over gateway.max_error_rate, and no scorer_error_rate "
			    "gate is configured");
		res.row.detail = res.detail.buf;
		ret = history_add_gate(h, run_id, &res.row) ? -1 : 1;
		if (ret > 0 && out)
			gate_print_row(out, &g, &res, color);
	}
out:
	gate_result_release(&g, &res);
	return ret;
}

int gates_apply(struct history *h, const char *run_id, const struct gates *gs, FILE *out,
		int color)
{
	return gates_apply_tallied(h, run_id, gs, NULL, out, color);
}

int gates_apply_tallied(struct history *h, const char *run_id, const struct gates *in,
			const struct run_tally *tally, FILE *out, int color)
{
	struct gates tallied = *in, *gs = &tallied;
	const char *bold = color ? "\033[1m" : "", *reset = color ? "\033[0m" : "";
	size_t i, skipped = 0;
	int failed = 0, implicit;

	tallied.tally = tally;
	if (gs->n && out)
		fprintf(out, "%sgates%s\n", bold, reset);
	for (i = 0; i < gs->n; i++) {
		const struct eg_gate *g = &gs->v[i];
		struct gate_result res;
		int rc;

		if (g->suite && gs->suites_narrowed) {
			/* a run narrowed with --suite: the other suites' gates do not apply */
			struct suite_lookup l = { g->suite, 0 };

			if (history_run_suites(h, run_id, find_suite, &l)) {
				failed = -1;
				break;
			}
			if (!l.found) {
				if (out)
					fprintf(out, "  SKIP  %-36s (suite %s is not in this run)\n",
						g->name, g->suite);
				skipped++;
				continue;
			}
		}
		rc = gate_eval(g, h, run_id, gs, &res);
		if (!rc)
			rc = history_add_gate(h, run_id, &res.row);
		if (!rc) {
			failed += !res.row.pass;
			if (out)
				(g->type->print ? g->type->print : gate_print_row)(out, g, &res, color);
			/* the default print shows it in the detail; the types' own may not */
			if (out && g->type->print && res.calibration.len)
				fprintf(out, "        %s\n", res.calibration.buf);
		}
		gate_result_release(g, &res);
		if (rc) {
			failed = -1;
			break;
		}
	}
	if (failed < 0)
		return failed;
	if (gs->n && skipped == gs->n) {
		/* nothing was gated: that is not a pass */
		if (out)
			fprintf(out, "  %sFAIL%s  no gate applied: all %zu gates were skipped (their "
				"suites are not in this run)\n", color ? "\033[31m" : "", reset,
				gs->n);
		failed++;
	}
	implicit = implicit_scorer_errors(h, run_id, gs, out, color);
	return implicit < 0 ? -1 : failed + implicit;
}

int gates_check_suites(const struct gates *gs, const char *const *names,
		       const char *const *kinds, size_t n, int all)
{
	size_t i, k;

	for (i = 0; i < gs->n; i++) {
		const struct eg_gate *g = &gs->v[i];
		const char *want = g->type->suite_kind;

		if (!g->suite)
			continue;
		for (k = 0; k < n && strcmp(names[k], g->suite); k++)
			;
		if (k == n && !all)
			continue;
		if (k == n)
			return error_at(gs->cfg->path, g->line, "gates",
					"gate '%s' names suite '%s', which is not among the run's suites",
					g->name, g->suite);
		if (want && (!kinds[k] || strcmp(kinds[k], want)))
			return error_at(gs->cfg->path, g->line, "gates",
					"gate '%s': %s needs an %s suite, and %s is %s", g->name,
					type_shown(g->type), want, g->suite,
					kinds[k] ? kinds[k] : "of unknown kind");
	}
	return 0;
}

/* --- the verdict --- */

int gates_gateway_counts(struct history *h, const char *run_id, struct counts *c)
{
	long n, scorer_errors;

	if (history_result_counts(h, run_id, NULL, c) ||
	    history_scorer_error_counts(h, run_id, NULL, NULL, &n, &scorer_errors))
		return -1;
	c->error -= scorer_errors;
	return 0;
}

void gates_tally_gateway_counts(const struct run_tally *t, struct counts *c)
{
	*c = t->results;
	c->error -= t->scorer_errors;
}

enum gate_verdict gates_verdict(enum run_status status, const struct counts *c,
				double max_error_rate, int failed, const char **why)
{
	*why = NULL;
	if (status != RUN_FINISHED) {
		*why = run_status_name(status);
		return VERDICT_ERROR;
	}
	if (c && c->n && (double)c->error / (double)c->n > max_error_rate) {
		*why = "error rate";
		return VERDICT_ERROR;
	}
	return failed ? VERDICT_FAIL : VERDICT_PASS;
}

const char *gate_verdict_name(enum gate_verdict v)
{
	switch (v) {
	case VERDICT_PASS:
		return "pass";
	case VERDICT_FAIL:
		return "fail";
	case VERDICT_ERROR:
		break;
	}
	return "error";
}

void gates_print_verdict(FILE *out, enum gate_verdict v, const char *reason, int failed,
			 size_t n_gates, int color)
{
	int fail = v == VERDICT_FAIL;

	if (v == VERDICT_ERROR) {
		fprintf(out, "verdict: ERROR (%s)\n", reason);
		return;
	}
	fprintf(out, "verdict: %s%s%s", color ? (fail ? "\033[1;31m" : "\033[1;32m") : "",
		fail ? "FAIL" : "PASS", color ? "\033[0m" : "");
	if (fail)
		fprintf(out, " (%d of %zu gates failed)", failed, n_gates);
	fputc('\n', out);
}
