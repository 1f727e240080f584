/*
 * agent: tools, tool fixtures and trajectories (see agent.h).
 */
#include "agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "case.h"
#include "jsonutil.h"
#include "jsonw.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

/* ------------------------------------------------------------ load-time checks */

static int tool_name_ok(const char *s)
{
	size_t n = 0;

	for (; *s; s++, n++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return 0;
	return n >= 1 && n <= 64;
}

int agent_tools_check(const struct jdoc *d, const cJSON *tools, const char *field)
{
	static const char *const tool_keys[] = { "type", "function", NULL };
	static const char *const fn_keys[] = { "name", "description", "parameters", "strict", NULL };
	const cJSON *t;
	int i = 0;

	if (!cJSON_IsArray(tools))
		return jdoc_error(d, tools, field, "expected an array of function tools");
	cJSON_ArrayForEach(t, tools) {
		const cJSON *fn, *params, *ty, *o;
		const char *type = NULL, *name = NULL;
		char f[160];
		int k = 0;

		snprintf(f, sizeof(f), "%s[%d].", field, i);
		if (!cJSON_IsObject(t))
			return jdoc_error(d, t, field, "tool %d: expected an object", i);
		if (jdoc_check_keys(d, t, f, tool_keys) || jdoc_string(d, t, f, "type", 1, &type))
			return -1;
		if (strcmp(type, "function")) {
			snprintf(f, sizeof(f), "%s[%d].type", field, i);
			return jdoc_error(d, t, f, "unknown tool type '%s' (function)", type);
		}
		fn = cJSON_GetObjectItemCaseSensitive(t, "function");
		snprintf(f, sizeof(f), "%s[%d].function", field, i);
		if (!cJSON_IsObject(fn))
			return jdoc_error(d, fn ? fn : t, f, fn ? "expected an object" : "missing");
		snprintf(f, sizeof(f), "%s[%d].function.", field, i);
		if (jdoc_check_keys(d, fn, f, fn_keys) || jdoc_string(d, fn, f, "name", 1, &name))
			return -1;
		snprintf(f, sizeof(f), "%s[%d].function.name", field, i);
		if (!tool_name_ok(name))
			return jdoc_error(d, cJSON_GetObjectItemCaseSensitive(fn, "name"), f,
					  "'%.80s': use 1 to 64 letters, digits, _ and -", name);
		cJSON_ArrayForEach(o, tools) {
			const cJSON *ofn = cJSON_GetObjectItemCaseSensitive(o, "function");
			const cJSON *on = cJSON_GetObjectItemCaseSensitive(ofn, "name");

			if (k++ >= i)
				break;
			if (cJSON_IsString(on) && !strcmp(on->valuestring, name))
				return jdoc_error(d, cJSON_GetObjectItemCaseSensitive(fn, "name"), f,
						  "duplicate tool name '%s' (first at %s[%d])", name,
						  field, k - 1);
		}
		params = cJSON_GetObjectItemCaseSensitive(fn, "parameters");
		snprintf(f, sizeof(f), "%s[%d].function.parameters", field, i);
		if (params && !cJSON_IsObject(params))
			return jdoc_error(d, params, f, "expected a JSON Schema object, found %s",
					  json_kind(params));
		ty = cJSON_GetObjectItemCaseSensitive(params, "type");
		if (ty && !cJSON_IsString(ty) && !cJSON_IsArray(ty))
			return jdoc_error(d, ty, f, "\"type\" must be a string or an array of strings");
		o = cJSON_GetObjectItemCaseSensitive(params, "properties");
		if (o && !cJSON_IsObject(o))
			return jdoc_error(d, o, f, "\"properties\" must be an object");
		o = cJSON_GetObjectItemCaseSensitive(params, "required");
		if (o && !cJSON_IsArray(o))
			return jdoc_error(d, o, f, "\"required\" must be an array of names");
		i++;
	}
	return 0;
}

int agent_tool_choice_check(const struct jdoc *d, const cJSON *v, const char *field)
{
	const cJSON *fn, *name;

	if (cJSON_IsString(v)) {
		if (!strcmp(v->valuestring, "none") || !strcmp(v->valuestring, "auto") ||
		    !strcmp(v->valuestring, "required"))
			return 0;
		return jdoc_error(d, v, field, "unknown choice '%.80s' (none, auto, required or "
				  "{\"type\": \"function\", \"function\": {\"name\": ...}})",
				  v->valuestring);
	}
	fn = cJSON_GetObjectItemCaseSensitive(v, "function");
	name = cJSON_GetObjectItemCaseSensitive(fn, "name");
	if (!cJSON_IsObject(v) || !cJSON_IsString(name))
		return jdoc_error(d, v, field, "expected none, auto, required or "
				  "{\"type\": \"function\", \"function\": {\"name\": ...}}");
	return 0;
}

const char *agent_cmp_op(const char *op)
{
	if (!strcmp(op, "$lt"))
		return "<";
	if (!strcmp(op, "$lte"))
		return "<=";
	if (!strcmp(op, "$gt"))
		return ">";
	if (!strcmp(op, "$gte"))
		return ">=";
	return NULL;
}

/* a matcher's operator, or NULL when it is a plain value */
const cJSON *agent_matcher_op(const cJSON *m, const char **op)
{
	if (!cJSON_IsObject(m) || !m->child || m->child->next || !m->child->string ||
	    m->child->string[0] != '$')
		return NULL;
	*op = m->child->string;
	return m->child;
}

static int matcher_check(const struct jdoc *d, const cJSON *m, const char *field)
{
	const char *op = NULL;
	const cJSON *arg = agent_matcher_op(m, &op), *c;

	if (!arg) {
		if (cJSON_IsObject(m))
			cJSON_ArrayForEach(c, m)
				if (matcher_check(d, c, field))
					return -1;
		return 0;
	}
	if (!strcmp(op, "$exact"))
		return 0;
	if (agent_cmp_op(op)) {
		if (!cJSON_IsNumber(arg))
			return jdoc_error(d, arg, field, "%s takes a number", op);
		return 0;
	}
	if (!strcmp(op, "$subset")) {
		if (!cJSON_IsObject(arg) && !cJSON_IsArray(arg))
			return jdoc_error(d, arg, field, "$subset takes an object or an array");
		return 0;
	}
	if (!strcmp(op, "$regex")) {
		pcre2_code *re;
		int errcode;
		PCRE2_SIZE off;

		if (!cJSON_IsString(arg))
			return jdoc_error(d, arg, field, "$regex takes a string");
		re = pcre2_compile((PCRE2_SPTR)arg->valuestring, PCRE2_ZERO_TERMINATED, PCRE2_UTF,
				   &errcode, &off, NULL);
		if (!re) {
			PCRE2_UCHAR msg[160];

			pcre2_get_error_message(errcode, msg, sizeof(msg));
			return jdoc_error(d, arg, field, "bad $regex at offset %zu: %s", (size_t)off,
					  (const char *)msg);
		}
		pcre2_code_free(re);
		return 0;
	}
	return jdoc_error(d, m, field, "unknown matcher '%s' ($exact, $subset, $regex, $lt, $lte, "
			  "$gt or $gte)", op);
}

int agent_fixtures_check(const struct jdoc *d, const cJSON *v, const char *field)
{
	static const char *const keys[] = { "name", "match", "result", NULL };
	const cJSON *fx;
	int i = 0;

	if (!cJSON_IsArray(v))
		return jdoc_error(d, v, field, "expected an array of {name, match, result}");
	cJSON_ArrayForEach(fx, v) {
		const char *name = NULL;
		const cJSON *m;
		char f[160];

		snprintf(f, sizeof(f), "%s[%d].", field, i);
		if (!cJSON_IsObject(fx))
			return jdoc_error(d, fx, field, "fixture %d: expected an object", i);
		if (jdoc_check_keys(d, fx, f, keys) || jdoc_string(d, fx, f, "name", 1, &name))
			return -1;
		snprintf(f, sizeof(f), "%s[%d].result", field, i);
		if (!cJSON_GetObjectItemCaseSensitive(fx, "result"))
			return jdoc_error(d, fx, f, "missing (a string or any JSON)");
		m = cJSON_GetObjectItemCaseSensitive(fx, "match");
		snprintf(f, sizeof(f), "%s[%d].match", field, i);
		if (m && !cJSON_IsObject(m))
			return jdoc_error(d, m, f, "expected an object of argument matchers");
		if (m && matcher_check(d, m, f))
			return -1;
		i++;
	}
	return 0;
}

int agent_max_steps_check(const struct jdoc *d, const cJSON *v, const char *field)
{
	if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int)v->valuedouble ||
	    v->valueint < 1 || v->valueint > AGENT_MAX_STEPS_LIMIT)
		return jdoc_error(d, v, field, "expected a whole number from 1 to %d",
				  AGENT_MAX_STEPS_LIMIT);
	return 0;
}

/* ------------------------------------------------------------ calls */

/* the error of a call whose arguments hold a NUL */
static const char args_nul_error[] = "arguments are not JSON (a NUL in them)";

/* a call's arguments as bytes into sb: -1 when they hold a NUL (then written \u0000) */
static int args_bytes(struct strbuf *sb, const cJSON *args, const char *text, size_t len,
		      const cJSON *root)
{
	struct strbuf raw = STRBUF_INIT;
	size_t i;
	int ret = 0;

	json_string_bytes(&raw, text, len, root, args);
	for (i = 0; i < raw.len; i++) {
		if (raw.buf[i]) {
			strbuf_addch(sb, raw.buf[i]);
		} else {
			strbuf_addstr(sb, "\\u0000");
			ret = -1;
		}
	}
	strbuf_release(&raw);
	return ret;
}

cJSON *agent_calls_normalize(const cJSON *tool_calls)
{
	return agent_calls_normalize_text(tool_calls, NULL, 0, NULL);
}

cJSON *agent_calls_normalize_text(const cJSON *tool_calls, const char *body, size_t len,
				  const cJSON *root)
{
	cJSON *out;
	const cJSON *c;

	if (!cJSON_IsArray(tool_calls) || !cJSON_GetArraySize(tool_calls))
		return NULL;
	out = cJSON_CreateArray();
	cJSON_ArrayForEach(c, tool_calls) {
		const cJSON *fn = cJSON_GetObjectItemCaseSensitive(c, "function");
		const cJSON *src = cJSON_IsObject(fn) ? fn : c;
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "id");
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(src, "name");
		const cJSON *args = cJSON_GetObjectItemCaseSensitive(src, "arguments");
		cJSON *call, *parsed = NULL;
		char *text = NULL;
		int nul = 0;

		if (!cJSON_IsString(name))
			continue; /* not a call */
		call = cJSON_CreateObject();
		cJSON_AddStringToObject(call, "id", cJSON_IsString(id) ? id->valuestring : "");
		cJSON_AddStringToObject(call, "name", name->valuestring);
		if (cJSON_IsString(args) && body) {
			struct strbuf sb = STRBUF_INIT;

			nul = args_bytes(&sb, args, body, len, root);
			text = strbuf_detach(&sb, NULL);
			if (!nul)
				parsed = cJSON_Parse(text);
		} else if (cJSON_IsString(args)) {
			const cJSON *err = cJSON_GetObjectItemCaseSensitive(c, "error");

			text = xstrdup(args->valuestring);
			/* a call normalised before keeps its verdict (a NUL written \u0000 is no JSON) */
			if (cJSON_IsString(err) && !cJSON_GetObjectItemCaseSensitive(c, "args") &&
			    !strcmp(err->valuestring, args_nul_error))
				nul = 1;
			else
				parsed = cJSON_Parse(text);
		} else if (args) {
			/* a target that gave the arguments as JSON rather than as text */
			text = jsonw_print(args, 0);
			parsed = cJSON_Duplicate(args, 1);
		} else {
			text = xstrdup("");
		}
		cJSON_AddStringToObject(call, "arguments", text);
		if (parsed)
			cJSON_AddItemToObject(call, "args", parsed);
		else
			cJSON_AddStringToObject(call, "error",
						nul ? args_nul_error : "arguments are not JSON");
		free(text);
		cJSON_AddItemToArray(out, call);
	}
	if (!out->child) {
		cJSON_Delete(out);
		out = NULL;
	}
	return out;
}

const cJSON *agent_tool_find(const cJSON *tools, const char *name)
{
	const cJSON *t;

	cJSON_ArrayForEach(t, tools) {
		const cJSON *fn = cJSON_GetObjectItemCaseSensitive(t, "function");
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(fn, "name");

		if (cJSON_IsString(n) && !strcmp(n->valuestring, name))
			return fn;
	}
	return NULL;
}

static int regex_match(const char *pattern, const char *s)
{
	int errcode, rc;
	PCRE2_SIZE off;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF,
				       &errcode, &off, NULL);
	pcre2_match_data *md;

	if (!re)
		return 0;
	md = pcre2_match_data_create_from_pattern(re, NULL);
	rc = pcre2_match(re, (PCRE2_SPTR)s, strlen(s), 0, 0, md, NULL);
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	return rc >= 0;
}

/* every member (object) or element (array) of want is in have */
static int subset(const cJSON *want, const cJSON *have)
{
	const cJSON *w, *h;

	if (cJSON_IsObject(want)) {
		if (!cJSON_IsObject(have))
			return 0;
		cJSON_ArrayForEach(w, want)
			if (!agent_match(w, cJSON_GetObjectItemCaseSensitive(have, w->string)))
				return 0;
		return 1;
	}
	if (cJSON_IsArray(want)) {
		if (!cJSON_IsArray(have))
			return 0;
		cJSON_ArrayForEach(w, want) {
			int found = 0;

			cJSON_ArrayForEach(h, have)
				if ((found = agent_match(w, h)))
					break;
			if (!found)
				return 0;
		}
		return 1;
	}
	return agent_match(want, have);
}

int agent_match(const cJSON *matcher, const cJSON *value)
{
	const char *op = NULL;
	const cJSON *arg = agent_matcher_op(matcher, &op);

	if (!value)
		return 0;
	if (arg) {
		if (!strcmp(op, "$exact"))
			return cJSON_Compare(arg, value, 1);
		if (!strcmp(op, "$subset"))
			return subset(arg, value);
		if (agent_cmp_op(op)) {
			double a = arg->valuedouble, v = value->valuedouble;

			if (!cJSON_IsNumber(value))
				return 0;
			return strlen(op) == 3 ? (op[1] == 'l' ? v < a : v > a)
					       : (op[1] == 'l' ? v <= a : v >= a);
		}
		if (!strcmp(op, "$regex")) {
			char *text;
			int ok;

			if (cJSON_IsString(value))
				return regex_match(arg->valuestring, value->valuestring);
			text = jsonw_print(value, 0);
			ok = text && regex_match(arg->valuestring, text);
			free(text);
			return ok;
		}
		return 0;
	}
	if (cJSON_IsObject(matcher))
		return subset(matcher, value);
	if (cJSON_IsNumber(matcher) && cJSON_IsNumber(value))
		return matcher->valuedouble == value->valuedouble;
	return cJSON_Compare(matcher, value, 1);
}

const cJSON *agent_fixture_find(const cJSON *fixtures, const char *name, const cJSON *args)
{
	const cJSON *fx;

	cJSON_ArrayForEach(fx, fixtures) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(fx, "name");
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(fx, "match");

		if (!cJSON_IsString(n) || strcmp(n->valuestring, name))
			continue;
		if (!m || !m->child || (args && subset(m, args)))
			return fx;
	}
	return NULL;
}

char *agent_result_text(const cJSON *result)
{
	char *p, *s;

	if (cJSON_IsString(result))
		return xstrdup(result->valuestring);
	p = jsonw_print(result, 0);
	s = xstrdup(p ? p : "null");
	free(p);
	return s;
}

int agent_call_failed(const cJSON *call)
{
	return cJSON_GetObjectItemCaseSensitive(call, "error") != NULL ||
	       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(call, "undeclared")) ||
	       cJSON_GetObjectItemCaseSensitive(call, "result_error") != NULL;
}

/* ------------------------------------------------------------ conversations */

cJSON *agent_turn_steps(const cJSON *trajectory, int turn)
{
	cJSON *out = cJSON_CreateArray();
	const cJSON *st;

	cJSON_ArrayForEach(st, trajectory) {
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(st, "turn");

		if (cJSON_IsNumber(t) && t->valueint == turn)
			cJSON_AddItemToArray(out, cJSON_Duplicate(st, 1));
	}
	return out;
}

void agent_transcript(struct strbuf *sb, const cJSON *trajectory)
{
	const cJSON *st;

	cJSON_ArrayForEach(st, trajectory) {
		const cJSON *user = cJSON_GetObjectItemCaseSensitive(st, "user");
		const cJSON *content = cJSON_GetObjectItemCaseSensitive(st, "content");

		if (cJSON_IsString(user))
			strbuf_addf(sb, "User: %s\n", user->valuestring);
		/* the turn's answer: a reply without calls (the steps with calls are the agent's work) */
		if (cJSON_IsString(content) && *content->valuestring &&
		    !cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(st, "tool_calls")))
			strbuf_addf(sb, "Assistant: %s\n", content->valuestring);
	}
}

char *agent_user_request(const struct eg_simulate *sim, const char *model, const cJSON *params,
			 const cJSON *trajectory)
{
	struct strbuf sys = STRBUF_INIT, user = STRBUF_INIT;
	cJSON *body = cJSON_CreateObject(), *msgs, *m, *p;
	char *text;

	strbuf_addf(&sys, "You play a user talking to an assistant, to test it.\n"
		    "Persona: %s\nGoal: %s\n"
		    "Write only the user's next message, in the persona's voice, as the user would "
		    "type it. When the goal is reached, or cannot be reached, answer exactly "
		    AGENT_USER_STOP " and nothing else.", sim->persona, sim->goal);
	strbuf_addstr(&user, "The conversation so far:\n\n");
	agent_transcript(&user, trajectory);
	strbuf_addstr(&user, "\nWrite the user's next message.");
	cJSON_AddStringToObject(body, "model", model);
	msgs = cJSON_AddArrayToObject(body, "messages");
	m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "role", "system");
	cJSON_AddStringToObject(m, "content", sys.buf);
	cJSON_AddItemToArray(msgs, m);
	m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "role", "user");
	cJSON_AddStringToObject(m, "content", user.buf);
	cJSON_AddItemToArray(msgs, m);
	cJSON_ArrayForEach(p, params)
		if (strcmp(p->string, "temperature") && strcmp(p->string, "model") &&
		    strcmp(p->string, "messages"))
			cJSON_AddItemToObject(body, p->string, cJSON_Duplicate(p, 1));
	cJSON_AddNumberToObject(body, "temperature", 0);
	text = jsonw_print(body, 0);
	cJSON_Delete(body);
	strbuf_release(&sys);
	strbuf_release(&user);
	return text;
}

int agent_user_stops(const char *reply)
{
	return !reply || !*reply || strstr(reply, AGENT_USER_STOP) != NULL;
}

/* ------------------------------------------------------------ trajectories from applications */

/* a call's or result's value as text: a string as is, other JSON as its text (malloc'd) */
static char *value_text(const cJSON *v)
{
	return cJSON_IsString(v) ? xstrdup(v->valuestring) : jsonw_print(v, 0);
}

/*
 * the results an application gave with its calls (call "result", else the
 * step's tool_results[i]); each result's node appended to src when there is one
 */
static void take_results(cJSON *calls, const cJSON *given, const cJSON *step_results,
			 struct agent_results *src)
{
	const cJSON *g;
	cJSON *c = calls ? calls->child : NULL;
	int i = 0;

	cJSON_ArrayForEach(g, given) {
		const cJSON *fn = cJSON_GetObjectItemCaseSensitive(g, "function");
		const cJSON *res = cJSON_GetObjectItemCaseSensitive(g, "result");
		const cJSON *sr = cJSON_GetArrayItem(step_results, i);
		char *text;

		if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(cJSON_IsObject(fn) ? fn : g,
								     "name")))
			continue; /* agent_calls_normalize left it out */
		if (!res && sr)
			res = cJSON_IsObject(sr) && cJSON_GetObjectItemCaseSensitive(sr, "content")
			      ? cJSON_GetObjectItemCaseSensitive(sr, "content") : sr;
		if (res && !cJSON_IsNull(res) && c) {
			text = value_text(res);
			cJSON_AddStringToObject(c, "result", text);
			free(text);
			if (src) {
				XGROW(src->nodes, src->n + 1, src->alloc);
				src->nodes[src->n++] = res;
			}
		}
		c = c ? c->next : NULL;
		i++;
	}
}

const cJSON *agent_step_text(const cJSON *step)
{
	static const char *const text_keys[] = { "content", "assistant", "text", NULL };
	const cJSON *text = NULL;
	size_t k;

	for (k = 0; text_keys[k] && !cJSON_IsString(text); k++)
		text = cJSON_GetObjectItemCaseSensitive(step, text_keys[k]);
	return cJSON_IsString(text) ? text : NULL;
}

cJSON *agent_trajectory_normalize(const cJSON *steps, struct strbuf *why,
				  struct agent_results *results)
{
	cJSON *out;
	const cJSON *st;
	int n = 0;

	if (!cJSON_IsArray(steps)) {
		strbuf_addf(why, "the value is %s, expected an array of steps", json_kind(steps));
		return NULL;
	}
	out = cJSON_CreateArray();
	cJSON_ArrayForEach(st, steps) {
		const cJSON *given = cJSON_GetObjectItemCaseSensitive(st, "tool_calls");
		const cJSON *fr = cJSON_GetObjectItemCaseSensitive(st, "finish_reason");
		const cJSON *text;
		cJSON *step, *calls;

		n++;
		if (!cJSON_IsObject(st)) {
			strbuf_addf(why, "step %d is %s, expected an object", n, json_kind(st));
			cJSON_Delete(out);
			return NULL;
		}
		text = agent_step_text(st);
		if (given && !cJSON_IsArray(given) && !cJSON_IsNull(given)) {
			strbuf_addf(why, "step %d: tool_calls is %s, expected an array", n,
				    json_kind(given));
			cJSON_Delete(out);
			return NULL;
		}
		calls = agent_calls_normalize(given);
		take_results(calls, given, cJSON_GetObjectItemCaseSensitive(st, "tool_results"),
			     results);
		step = cJSON_CreateObject();
		cJSON_AddNumberToObject(step, "step", n);
		cJSON_AddStringToObject(step, "content", text ? text->valuestring : "");
		cJSON_AddStringToObject(step, "finish_reason", cJSON_IsString(fr) ? fr->valuestring
							       : calls ? "tool_calls" : "stop");
		if (calls)
			cJSON_AddItemToObject(step, "tool_calls", calls);
		cJSON_AddItemToArray(out, step);
	}
	return out;
}
