/*
 * tools: scorers over an agent's trajectory (SPEC 12; agent.h for its form).
 *
 * {"type": "tool-called", "name": "refund_order", "never": true}
 * {"type": "tool-called", "name": "lookup_order", "min": 1, "max": 2}
 *   calls of name counted over every step; min defaults to 1, never is max 0
 * {"type": "tool-args", "tool": "refund_order", "expect": {"amount": {"$lte": 100}},
 *  "mode": "partial", "ignore": ["^note$"], "calls": "all"}
 *   every call of tool (calls "any": at least one) has arguments that are JSON,
 *   valid against the tool's declared parameters (type, required, properties,
 *   enum, additionalProperties false) and matching expect: partial (default)
 *   compares the members expect names; exact wants no other members, except
 *   those whose names match an ignore pattern. The tool must have been called.
 * {"type": "tool-sequence", "sequence": ["lookup_order", "refund_order"], "mode": "in_order"}
 *   exact: the calls are the sequence; in_order: its names appear in this
 *   order, other calls between allowed; subsequence: they appear one after
 *   the other; any_order: each appears (as often as listed), in any order
 * {"type": "tool-f1", "expected": ["lookup_order", {"name": "refund_order",
 *  "args": {"order_id": "A17"}}], "min": 0.8}
 *   precision and recall of the calls against the expected set, F1 as the score
 * {"type": "max-steps", "max": 3}
 *   the loop ended with a final answer within max replies (default: the case's max_steps)
 * {"type": "finish-reason", "expected": "stop"} (or a list of reasons)
 *   the final reply's finish_reason
 *
 * Reasons name the step: "step 3: refund_order called with amount=500, expected <= 100".
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "jsonutil.h"
#include "jsonw.h"
#include "scorer.h"
#include "strbuf.h"
#include "types.h"
#include "xalloc.h"
#include "banned.h"

/* ------------------------------------------------------------ shared */

/* one call of the trajectory, with the step it was made in */
struct call_ref {
	const cJSON *call;
	int step;
	const char *name;
};

/* the calls of a trajectory in order (malloc'd), *n their count */
static struct call_ref *calls_of(const cJSON *trajectory, size_t *n)
{
	struct call_ref *v = NULL;
	size_t alloc = 0;
	const cJSON *st, *c;

	*n = 0;
	cJSON_ArrayForEach(st, trajectory) {
		const cJSON *num = cJSON_GetObjectItemCaseSensitive(st, "step");

		cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(st, "tool_calls")) {
			const cJSON *name = cJSON_GetObjectItemCaseSensitive(c, "name");

			XGROW(v, *n + 1, alloc);
			v[*n].call = c;
			v[*n].step = cJSON_IsNumber(num) ? num->valueint : 0;
			v[*n].name = cJSON_IsString(name) ? name->valuestring : "";
			(*n)++;
		}
	}
	return v;
}

/* JSON value v for a reason: printed, visible, cut */
static void add_value(struct strbuf *sb, const cJSON *v)
{
	char *t = v ? jsonw_print(v, 0) : NULL;

	if (!t) {
		strbuf_addstr(sb, "(none)");
		return;
	}
	esc_visible(sb, t, strlen(t), SCORER_QUOTE_MAX);
	free(t);
}

static void add_name(struct strbuf *sb, const char *name)
{
	esc_visible(sb, name, strlen(name), SCORER_QUOTE_MAX);
}

static void *spec_copy(const cJSON *spec)
{
	return cJSON_Duplicate(spec, 1);
}

static void spec_release(struct scorer *s)
{
	cJSON_Delete(s->ctx);
	s->ctx = NULL;
}

static const cJSON *member(const struct scorer *s, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive((const cJSON *)s->ctx, k);
}

static void result(struct score_result *out, int pass, double score, struct strbuf *reason)
{
	out->pass = pass;
	out->score = score;
	out->reason = strbuf_detach(reason, NULL);
}

/* ------------------------------------------------------------ tool-called */

static const char *const called_fields[] = { "tool", "min", "max", "never", NULL };

/*
 * the tool a spec names: "tool", else "name" as SPEC 12 writes it (which is
 * then the scorer's label too)
 */
static const char *called_tool(const cJSON *spec)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(spec, "tool");

	if (!t)
		t = cJSON_GetObjectItemCaseSensitive(spec, "name");
	return cJSON_IsString(t) ? t->valuestring : NULL;
}

static int called_init(struct scorer *s, const cJSON *spec, const struct eg_loc *loc)
{
	const char *name;
	double min = 1, max = -1;
	int never = 0;

	if (scorer_spec_string(spec, cJSON_GetObjectItemCaseSensitive(spec, "tool") ? "tool" : "name",
			       loc, "tool-called", &name) ||
	    scorer_spec_opt_number(spec, "min", loc, "tool-called", &min) ||
	    scorer_spec_opt_number(spec, "max", loc, "tool-called", &max) ||
	    scorer_spec_opt_bool(spec, "never", loc, "tool-called", &never))
		return -1;
	if (min < 0 || (max >= 0 && max < min && !never))
		return scorer_error(loc, "tool-called", "want 0 <= min <= max");
	if (never && (cJSON_GetObjectItemCaseSensitive(spec, "min") ||
		      cJSON_GetObjectItemCaseSensitive(spec, "max")))
		return scorer_error(loc, "tool-called", "never takes neither min nor max");
	s->ctx = spec_copy(spec);
	return 0;
}

static enum score_status called_score(const struct scorer *s, struct score_job *job,
				      struct score_result *out)
{
	const char *name = called_tool(s->ctx);
	const cJSON *mn = member(s, "min"), *mx = member(s, "max");
	int never = cJSON_IsTrue(member(s, "never"));
	double min = never ? 0 : mn ? mn->valuedouble : 1, max = never ? 0 : mx ? mx->valuedouble : -1;
	struct strbuf r = STRBUF_INIT;
	size_t n, i, count = 0;
	struct call_ref *calls = calls_of(job->trajectory, &n);
	int first = 0;

	for (i = 0; i < n; i++)
		if (!strcmp(calls[i].name, name) && !count++)
			first = calls[i].step;
	if (never && count) {
		strbuf_addf(&r, "step %d: ", first);
		add_name(&r, name);
		strbuf_addf(&r, " called (%zu time%s), expected never", count, count == 1 ? "" : "s");
		result(out, 0, 0, &r);
	} else if ((double)count < min || (max >= 0 && (double)count > max)) {
		add_name(&r, name);
		strbuf_addf(&r, " called %zu time%s, expected ", count, count == 1 ? "" : "s");
		if (max < 0)
			strbuf_addf(&r, "at least %g", min);
		else
			strbuf_addf(&r, "%g to %g", min, max);
		result(out, 0, 0, &r);
	} else {
		add_name(&r, name);
		if (count)
			strbuf_addf(&r, " called %zu time%s, first at step %d", count,
				    count == 1 ? "" : "s", first);
		else
			strbuf_addstr(&r, " not called");
		result(out, 1, 1, &r);
	}
	free(calls);
	return SCORE_DONE;
}

const struct scorer_type scorer_tool_called = {
	.name = "tool-called",
	.init = called_init,
	.score = called_score,
	.release = spec_release,
	.fields = called_fields,
};

/* ------------------------------------------------------------ tool-args */

static const char *const args_fields[] = { "tool", "expect", "mode", "ignore", "calls", NULL };

static int args_init(struct scorer *s, const cJSON *spec, const struct eg_loc *loc)
{
	const char *tool, *mode = "partial", *calls = "all";
	const cJSON *expect = cJSON_GetObjectItemCaseSensitive(spec, "expect");
	const cJSON *ignore = cJSON_GetObjectItemCaseSensitive(spec, "ignore"), *p;

	if (scorer_spec_string(spec, "tool", loc, "tool-args", &tool) ||
	    scorer_spec_opt_string(spec, "mode", loc, "tool-args", &mode) ||
	    scorer_spec_opt_string(spec, "calls", loc, "tool-args", &calls))
		return -1;
	if (expect && !cJSON_IsObject(expect))
		return scorer_error(loc, "tool-args", "\"expect\" must be an object of argument matchers");
	if (strcmp(mode, "partial") && strcmp(mode, "exact"))
		return scorer_error(loc, "tool-args", "unknown mode '%s' (partial or exact)", mode);
	if (strcmp(calls, "all") && strcmp(calls, "any"))
		return scorer_error(loc, "tool-args", "unknown calls '%s' (all or any)", calls);
	if (ignore && !cJSON_IsArray(ignore))
		return scorer_error(loc, "tool-args", "\"ignore\" must be an array of patterns");
	cJSON_ArrayForEach(p, ignore) {
		pcre2_code *re;
		int errcode;
		PCRE2_SIZE off;

		if (!cJSON_IsString(p))
			return scorer_error(loc, "tool-args", "\"ignore\" must be an array of patterns");
		re = pcre2_compile((PCRE2_SPTR)p->valuestring, PCRE2_ZERO_TERMINATED, PCRE2_UTF,
				   &errcode, &off, NULL);
		if (!re)
			return scorer_error(loc, "tool-args", "bad ignore pattern '%s'", p->valuestring);
		pcre2_code_free(re);
	}
	s->ctx = spec_copy(spec);
	return 0;
}

static int ignored(const cJSON *ignore, const char *name)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, ignore) {
		int errcode, rc;
		PCRE2_SIZE off;
		pcre2_code *re = pcre2_compile((PCRE2_SPTR)p->valuestring, PCRE2_ZERO_TERMINATED,
					       PCRE2_UTF, &errcode, &off, NULL);

		if (!re)
			continue;
		rc = scorer_pcre2_match(re, name, strlen(name), NULL, NULL);
		pcre2_code_free(re);
		if (rc >= 0)
			return 1;
	}
	return 0;
}

static int type_is(const cJSON *v, const char *type)
{
	if (!strcmp(type, "object"))
		return cJSON_IsObject(v);
	if (!strcmp(type, "array"))
		return cJSON_IsArray(v);
	if (!strcmp(type, "string"))
		return cJSON_IsString(v);
	if (!strcmp(type, "number"))
		return cJSON_IsNumber(v);
	if (!strcmp(type, "integer"))
		return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble);
	if (!strcmp(type, "boolean"))
		return cJSON_IsBool(v);
	if (!strcmp(type, "null"))
		return cJSON_IsNull(v);
	return 1;
}

/*
 * A minimal structural check of v against schema: type, required,
 * properties, items, enum and additionalProperties false. The first
 * problem into why (at path), 0 when none.
 */
static int schema_check(const cJSON *schema, const cJSON *v, const char *path, struct strbuf *why)
{
	const cJSON *ty = cJSON_GetObjectItemCaseSensitive(schema, "type");
	const cJSON *en = cJSON_GetObjectItemCaseSensitive(schema, "enum");
	const cJSON *props = cJSON_GetObjectItemCaseSensitive(schema, "properties");
	const cJSON *req = cJSON_GetObjectItemCaseSensitive(schema, "required");
	const cJSON *addl = cJSON_GetObjectItemCaseSensitive(schema, "additionalProperties");
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(schema, "items");
	const cJSON *types = cJSON_IsArray(ty) ? ty : NULL, *c;
	int ok = !ty;

	if (cJSON_IsString(ty))
		ok = type_is(v, ty->valuestring);
	cJSON_ArrayForEach(c, types)
		if (cJSON_IsString(c) && type_is(v, c->valuestring))
			ok = 1;
	if (!ok) {
		strbuf_addf(why, "%s is %s, expected ", *path ? path : "arguments", json_kind(v));
		add_value(why, ty);
		return -1;
	}
	if (cJSON_IsArray(en)) {
		ok = 0;
		cJSON_ArrayForEach(c, en)
			ok |= cJSON_Compare(c, v, 1);
		if (!ok) {
			strbuf_addf(why, "%s=", *path ? path : "arguments");
			add_value(why, v);
			strbuf_addstr(why, ", expected one of ");
			add_value(why, en);
			return -1;
		}
	}
	if (cJSON_IsObject(v)) {
		cJSON_ArrayForEach(c, req)
			if (cJSON_IsString(c) && !cJSON_GetObjectItemCaseSensitive(v, c->valuestring)) {
				strbuf_addf(why, "%s%s", *path ? path : "", *path ? "." : "");
				add_name(why, c->valuestring);
				strbuf_addstr(why, " missing (required)");
				return -1;
			}
		cJSON_ArrayForEach(c, v) {
			const cJSON *sub = cJSON_GetObjectItemCaseSensitive(props, c->string);
			struct strbuf p = STRBUF_INIT;
			int rc = 0;

			strbuf_addf(&p, "%s%s%s", path, *path ? "." : "", c->string);
			if (sub)
				rc = schema_check(sub, c, p.buf, why);
			else if (cJSON_IsFalse(addl)) {
				add_name(why, p.buf);
				strbuf_addstr(why, " is not a declared parameter");
				rc = -1;
			}
			strbuf_release(&p);
			if (rc)
				return -1;
		}
	}
	if (cJSON_IsArray(v) && cJSON_IsObject(items)) {
		int i = 0;

		cJSON_ArrayForEach(c, v) {
			struct strbuf p = STRBUF_INIT;
			int rc;

			strbuf_addf(&p, "%s[%d]", path, i++);
			rc = schema_check(items, c, p.buf, why);
			strbuf_release(&p);
			if (rc)
				return -1;
		}
	}
	return 0;
}

/* "amount=500, expected <= 100" for the first member of expect args does not match */
static int expect_check(const cJSON *expect, const cJSON *args, int exact, const cJSON *ignore,
			struct strbuf *why)
{
	const cJSON *e, *a;

	cJSON_ArrayForEach(e, expect) {
		const cJSON *have = cJSON_GetObjectItemCaseSensitive(args, e->string);
		const char *op = NULL;
		const cJSON *arg;

		if (agent_match(e, have))
			continue;
		add_name(why, e->string);
		strbuf_addch(why, '=');
		add_value(why, have);
		strbuf_addstr(why, ", expected ");
		arg = agent_matcher_op(e, &op);
		if (arg && agent_cmp_op(op)) {
			strbuf_addf(why, "%s ", agent_cmp_op(op));
			add_value(why, arg);
		} else if (arg && !strcmp(op, "$regex")) {
			strbuf_addstr(why, "to match ");
			add_value(why, arg);
		} else {
			add_value(why, arg ? arg : e);
		}
		return -1;
	}
	if (!exact)
		return 0;
	cJSON_ArrayForEach(a, args)
		if (!cJSON_GetObjectItemCaseSensitive(expect, a->string) && !ignored(ignore, a->string)) {
			add_name(why, a->string);
			strbuf_addstr(why, " given, not expected");
			return -1;
		}
	return 0;
}

static enum score_status args_score(const struct scorer *s, struct score_job *job,
				    struct score_result *out)
{
	const char *tool = member(s, "tool")->valuestring;
	const cJSON *expect = member(s, "expect"), *mode = member(s, "mode");
	const cJSON *calls_m = member(s, "calls");
	int exact = cJSON_IsString(mode) && !strcmp(mode->valuestring, "exact");
	int any = cJSON_IsString(calls_m) && !strcmp(calls_m->valuestring, "any");
	const cJSON *decl = agent_tool_find(job->tools, tool);
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(decl, "parameters");
	struct strbuf r = STRBUF_INIT, first_bad = STRBUF_INIT;
	size_t n, i, seen = 0, good = 0;
	struct call_ref *calls = calls_of(job->trajectory, &n);

	for (i = 0; i < n; i++) {
		const cJSON *args = cJSON_GetObjectItemCaseSensitive(calls[i].call, "args");
		struct strbuf why = STRBUF_INIT;

		if (strcmp(calls[i].name, tool))
			continue;
		seen++;
		if (!args)
			strbuf_addstr(&why, "arguments are not JSON");
		else if (!params || !schema_check(params, args, "", &why))
			if (expect)
				expect_check(expect, args, exact, member(s, "ignore"), &why);
		if (!why.len)
			good++;
		else if (!first_bad.len) {
			strbuf_addf(&first_bad, "step %d: ", calls[i].step);
			add_name(&first_bad, tool);
			strbuf_addstr(&first_bad, " called with ");
			strbuf_add(&first_bad, why.buf, why.len);
		}
		strbuf_release(&why);
	}
	if (!seen) {
		add_name(&r, tool);
		strbuf_addstr(&r, " never called");
		result(out, 0, 0, &r);
	} else if (any ? good > 0 : good == seen) {
		strbuf_addf(&r, "%zu of %zu call%s of ", good, seen, seen == 1 ? "" : "s");
		add_name(&r, tool);
		strbuf_addstr(&r, " as expected");
		result(out, 1, 1, &r);
	} else {
		result(out, 0, (double)good / (double)seen, &first_bad);
	}
	strbuf_release(&first_bad);
	strbuf_release(&r);
	free(calls);
	return SCORE_DONE;
}

const struct scorer_type scorer_tool_args = {
	.name = "tool-args",
	.init = args_init,
	.score = args_score,
	.release = spec_release,
	.fields = args_fields,
};

/* ------------------------------------------------------------ tool-sequence */

static const char *const seq_fields[] = { "sequence", "mode", NULL };
static const char *const seq_modes[] = { "exact", "in_order", "any_order", "subsequence", NULL };

static int string_array(const cJSON *a)
{
	const cJSON *c;

	if (!cJSON_IsArray(a))
		return 0;
	cJSON_ArrayForEach(c, a)
		if (!cJSON_IsString(c))
			return 0;
	return 1;
}

static int seq_init(struct scorer *s, const cJSON *spec, const struct eg_loc *loc)
{
	const char *mode = "in_order";
	const char *const *m;

	if (!string_array(cJSON_GetObjectItemCaseSensitive(spec, "sequence")))
		return scorer_error(loc, "tool-sequence", "\"sequence\" must be an array of tool names");
	if (scorer_spec_opt_string(spec, "mode", loc, "tool-sequence", &mode))
		return -1;
	for (m = seq_modes; *m && strcmp(*m, mode); m++)
		;
	if (!*m)
		return scorer_error(loc, "tool-sequence",
				    "unknown mode '%s' (exact, in_order, any_order or subsequence)", mode);
	s->ctx = spec_copy(spec);
	return 0;
}

static enum score_status seq_score(const struct scorer *s, struct score_job *job,
				   struct score_result *out)
{
	const cJSON *seq = member(s, "sequence"), *mode_j = member(s, "mode"), *e;
	const char *mode = cJSON_IsString(mode_j) ? mode_j->valuestring : "in_order";
	size_t n, i, k = 0, want = (size_t)cJSON_GetArraySize(seq);
	struct call_ref *calls = calls_of(job->trajectory, &n);
	struct strbuf r = STRBUF_INIT;
	unsigned char *used = xcalloc(n + 1, 1);
	int ok = 1;

	if (!strcmp(mode, "exact")) {
		ok = n == want;
		for (i = 0; ok && i < n; i++)
			ok = !strcmp(calls[i].name, cJSON_GetArrayItem(seq, (int)i)->valuestring);
	} else if (!strcmp(mode, "in_order")) {
		e = seq->child;
		for (i = 0; i < n && e; i++)
			if (!strcmp(calls[i].name, e->valuestring))
				e = e->next, k++;
		ok = !e;
	} else if (!strcmp(mode, "subsequence")) {
		ok = want == 0;
		for (i = 0; !ok && i + want <= n; i++) {
			ok = 1;
			for (k = 0; ok && k < want; k++)
				ok = !strcmp(calls[i + k].name,
					     cJSON_GetArrayItem(seq, (int)k)->valuestring);
		}
	} else {
		cJSON_ArrayForEach(e, seq) {
			for (i = 0; i < n && (used[i] || strcmp(calls[i].name, e->valuestring)); i++)
				;
			if (i == n) {
				ok = 0;
				break;
			}
			used[i] = 1;
			k++;
		}
	}
	strbuf_addf(&r, "%s: calls [", mode);
	for (i = 0; i < n; i++) {
		if (i)
			strbuf_addstr(&r, ", ");
		add_name(&r, calls[i].name);
	}
	strbuf_addstr(&r, ok ? "] match " : "] do not match ");
	add_value(&r, seq);
	result(out, ok, ok ? 1 : want ? (double)k / (double)want : 0, &r);
	free(used);
	free(calls);
	return SCORE_DONE;
}

const struct scorer_type scorer_tool_sequence = {
	.name = "tool-sequence",
	.init = seq_init,
	.score = seq_score,
	.release = spec_release,
	.fields = seq_fields,
};

/* ------------------------------------------------------------ tool-f1 */

static const char *const f1_fields[] = { "expected", "min", NULL };

static int f1_init(struct scorer *s, const cJSON *spec, const struct eg_loc *loc)
{
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(spec, "expected"), *e;
	double min = 1;

	if (!cJSON_IsArray(exp))
		return scorer_error(loc, "tool-f1", "\"expected\" must be an array of tool names "
				    "or {name, args}");
	cJSON_ArrayForEach(e, exp) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");

		if (!cJSON_IsString(e) && !cJSON_IsString(name))
			return scorer_error(loc, "tool-f1", "\"expected\" must be an array of tool "
					    "names or {name, args}");
	}
	if (scorer_spec_opt_number(spec, "min", loc, "tool-f1", &min))
		return -1;
	if (min < 0 || min > 1)
		return scorer_error(loc, "tool-f1", "\"min\" must be in [0, 1]");
	s->ctx = spec_copy(spec);
	return 0;
}

static int f1_matches(const cJSON *e, const struct call_ref *c)
{
	const cJSON *name = cJSON_IsString(e) ? e : cJSON_GetObjectItemCaseSensitive(e, "name");
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(e, "args");

	if (strcmp(name->valuestring, c->name))
		return 0;
	return !args || agent_match(args, cJSON_GetObjectItemCaseSensitive(c->call, "args"));
}

static enum score_status f1_score(const struct scorer *s, struct score_job *job,
				  struct score_result *out)
{
	const cJSON *exp = member(s, "expected"), *mn = member(s, "min"), *e;
	double min = mn ? mn->valuedouble : 1, p, rc, f1;
	size_t n, i, want = (size_t)cJSON_GetArraySize(exp), hit = 0;
	struct call_ref *calls = calls_of(job->trajectory, &n);
	unsigned char *used = xcalloc(n + 1, 1);
	struct strbuf r = STRBUF_INIT;

	cJSON_ArrayForEach(e, exp) {
		for (i = 0; i < n && (used[i] || !f1_matches(e, &calls[i])); i++)
			;
		if (i < n) {
			used[i] = 1;
			hit++;
		}
	}
	p = n ? (double)hit / (double)n : want ? 0 : 1;
	rc = want ? (double)hit / (double)want : 1;
	f1 = p + rc > 0 ? 2 * p * rc / (p + rc) : 0;
	strbuf_addf(&r, "precision %.3g (%zu of %zu calls expected), recall %.3g (%zu of %zu), "
		    "F1 %.3g %s %.3g", p, hit, n, rc, hit, want, f1, f1 >= min ? ">=" : "<", min);
	result(out, f1 >= min, f1, &r);
	free(used);
	free(calls);
	return SCORE_DONE;
}

const struct scorer_type scorer_tool_f1 = {
	.name = "tool-f1",
	.init = f1_init,
	.score = f1_score,
	.release = spec_release,
	.fields = f1_fields,
};

/* ------------------------------------------------------------ max-steps */

static const char *const steps_fields[] = { "max", NULL };

static int steps_init(struct scorer *s, const cJSON *spec, const struct eg_loc *loc)
{
	double max = 0;

	if (scorer_spec_opt_number(spec, "max", loc, "max-steps", &max))
		return -1;
	if (cJSON_GetObjectItemCaseSensitive(spec, "max") && (max < 1 || max != floor(max)))
		return scorer_error(loc, "max-steps", "\"max\" must be a whole number >= 1");
	s->ctx = spec_copy(spec);
	return 0;
}

static enum score_status steps_score(const struct scorer *s, struct score_job *job,
				     struct score_result *out)
{
	const cJSON *mx = member(s, "max");
	int max = mx ? mx->valueint : job->max_steps;
	int steps = job->trajectory ? cJSON_GetArraySize(job->trajectory) : 1;
	const cJSON *last = cJSON_GetArrayItem(job->trajectory, steps - 1);
	int stopped = cJSON_GetObjectItemCaseSensitive(last, "stopped") != NULL;
	struct strbuf r = STRBUF_INIT;

	if (stopped)
		strbuf_addf(&r, "step %d: stopped at max_steps %d without a final answer", steps,
			    job->max_steps);
	else
		strbuf_addf(&r, "%d step%s %s max %d", steps, steps == 1 ? "" : "s",
			    steps <= max ? "<=" : ">", max);
	result(out, !stopped && steps <= max, !stopped && steps <= max ? 1 : 0, &r);
	return SCORE_DONE;
}

const struct scorer_type scorer_max_steps = {
	.name = "max-steps",
	.init = steps_init,
	.score = steps_score,
	.release = spec_release,
	.fields = steps_fields,
};

/* ------------------------------------------------------------ finish-reason */

static const char *const finish_fields[] = { "expected", NULL };

static int finish_init(struct scorer *s, const cJSON *spec, const struct eg_loc *loc)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(spec, "expected");

	if (!cJSON_IsString(e) && !(string_array(e) && cJSON_GetArraySize(e)))
		return scorer_error(loc, "finish-reason", "\"expected\" must be a reason or a "
				    "non-empty list of reasons");
	s->ctx = spec_copy(spec);
	return 0;
}

static enum score_status finish_score(const struct scorer *s, struct score_job *job,
				      struct score_result *out)
{
	const cJSON *e = member(s, "expected"), *c;
	const cJSON *list = cJSON_IsArray(e) ? e : NULL;
	const char *fr = job->finish_reason;
	struct strbuf r = STRBUF_INIT;
	int ok = 0;

	if (cJSON_IsString(e))
		ok = fr && !strcmp(fr, e->valuestring);
	cJSON_ArrayForEach(c, list)
		ok |= fr && !strcmp(fr, c->valuestring);
	strbuf_addstr(&r, "finish_reason ");
	if (fr) {
		strbuf_addch(&r, '"');
		add_name(&r, fr);
		strbuf_addch(&r, '"');
	} else {
		strbuf_addstr(&r, "unknown");
	}
	strbuf_addstr(&r, ok ? ", as expected: " : ", expected ");
	add_value(&r, e);
	result(out, ok, ok, &r);
	return SCORE_DONE;
}

const struct scorer_type scorer_finish_reason = {
	.name = "finish-reason",
	.init = finish_init,
	.score = finish_score,
	.release = spec_release,
	.fields = finish_fields,
};
