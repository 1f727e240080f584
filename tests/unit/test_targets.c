/*
 * targets: the JSON Pointer resolver with its wildcard, the http target's
 * response map and request templates, loading targets from the config
 * (located errors, secrets), the chat target's request as it always was (written
 * without a tree, byte for byte what the tree printed) and its replies read in
 * one pass as the tree reads them.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "case.h"
#include "config.h"
#include "gate.h"
#include "helper.h"
#include "jsonptr.h"
#include "jsonutil.h"
#include "jsonw.h"
#include "response_map.h"
#include "suite.h"
#include "strbuf.h"
#include "target.h"
#include "template.h"
#include "xalloc.h"
#include "banned.h"

static char cfg_path[128];

static void setup(void)
{
	th_tmpdir_setup();
	snprintf(cfg_path, sizeof(cfg_path), "%s", th_path("evalgate.json"));
	th_stderr_start();
}

TestSuite(jsonptr);
TestSuite(response_map);
TestSuite(template, .init = setup, .fini = th_tmpdir_teardown);
TestSuite(target, .init = setup, .fini = th_tmpdir_teardown);

/* ------------------------------------------------------------ JSON Pointers */

/* resolve ptr in doc: the hits printed as one JSON array, or "error: ..." */
static char *resolve(const char *doc, const char *ptr)
{
	struct jptr p;
	struct jptr_hits h = { NULL, 0, 0 };
	struct strbuf out = STRBUF_INIT;
	cJSON *root = cJSON_Parse(doc);
	size_t i;

	cr_assert_not_null(root, "bad test document %s", doc);
	if (jptr_parse(&p, ptr, &out)) {
		char *msg = xstrdup(out.buf);

		strbuf_release(&out);
		strbuf_addf(&out, "syntax: %s", msg);
		free(msg);
		goto out;
	}
	if (jptr_eval(&p, root, &h, &out)) {
		char *msg = xstrdup(out.buf);

		strbuf_reset(&out);
		strbuf_addf(&out, "error: %s", msg);
		free(msg);
	} else {
		strbuf_addch(&out, '[');
		for (i = 0; i < h.n; i++) {
			char *t = cJSON_PrintUnformatted(h.v[i]);

			strbuf_addf(&out, "%s%s", i ? "," : "", t);
			cJSON_free(t);
		}
		strbuf_addch(&out, ']');
	}
	jptr_release(&p);
out:
	jptr_hits_release(&h);
	cJSON_Delete(root);
	return strbuf_detach(&out, NULL);
}

static void expect_resolve(const char *doc, const char *ptr, const char *want)
{
	char *got = resolve(doc, ptr);

	cr_expect_str_eq(got, want, "%s in %s", ptr, doc);
	free(got);
}

Test(jsonptr, nested_members_and_indexes)
{
	const char *doc = "{\"a\": {\"b\": {\"c\": 5}}, \"arr\": [10, {\"x\": [\"p\", \"q\"]}],"
			  " \"0\": \"zero\", \"\": \"empty\"}";

	expect_resolve(doc, "/a/b/c", "[5]");
	expect_resolve(doc, "/a/b", "[{\"c\":5}]");
	expect_resolve(doc, "/arr/0", "[10]");
	expect_resolve(doc, "/arr/1/x/1", "[\"q\"]");
	/* in an object a number is a member name */
	expect_resolve(doc, "/0", "[\"zero\"]");
	/* "" is the whole document; "/" the member named "" */
	expect_resolve("[1]", "", "[[1]]");
	expect_resolve(doc, "/", "[\"empty\"]");
}

Test(jsonptr, escapes)
{
	const char *doc = "{\"a/b\": 1, \"m~n\": 2, \"~1\": 3, \"*\": 4}";

	expect_resolve(doc, "/a~1b", "[1]");
	expect_resolve(doc, "/m~0n", "[2]");
	/* ~01 is "~1", not "/": each escape is decoded once, left to right */
	expect_resolve(doc, "/~01", "[3]");
	expect_resolve(doc, "/a~2b", "syntax: '~' must be followed by 0 or 1 (~0 is '~', ~1 is '/')");
	expect_resolve(doc, "/a~", "syntax: '~' must be followed by 0 or 1 (~0 is '~', ~1 is '/')");
	expect_resolve(doc, "a/b", "syntax: must be empty or start with '/'");
	/* "*" always maps: a member named "*" cannot be addressed */
	expect_resolve(doc, "/*", "error: * needs an array; the root is an object");
}

Test(jsonptr, wildcards_over_arrays_of_objects)
{
	const char *doc = "{\"sources\": [{\"id\": 1, \"text\": \"alpha\"}, {\"id\": \"b\", \"text\": "
			  "\"beta\"}], \"grid\": [[1, 2], [], [3]], \"none\": [],"
			  " \"deep\": [{\"k\": [{\"v\": 1}, {\"v\": 2}]}, {\"k\": [{\"v\": 3}]}]}";

	expect_resolve(doc, "/sources/*/text", "[\"alpha\",\"beta\"]");
	expect_resolve(doc, "/sources/*/id", "[1,\"b\"]");
	expect_resolve(doc, "/sources/*", "[{\"id\":1,\"text\":\"alpha\"},{\"id\":\"b\",\"text\":\"beta\"}]");
	/* two wildcards flatten, in document order */
	expect_resolve(doc, "/grid/*/*", "[1,2,3]");
	expect_resolve(doc, "/deep/*/k/*/v", "[1,2,3]");
	/* over an empty array: nothing, and that is not an error */
	expect_resolve(doc, "/none/*/text", "[]");
	expect_resolve(doc, "/sources/1/text", "[\"beta\"]");
}

Test(jsonptr, missing_fields_name_the_place)
{
	const char *doc = "{\"sources\": [{\"text\": \"a\"}, {\"txt\": \"b\"}], \"arr\": [1, 2, 3],"
			  " \"s\": \"str\", \"o\": {\"k\": 1}}";

	expect_resolve(doc, "/answer", "error: no member 'answer' at the root");
	expect_resolve(doc, "/sources/*/text", "error: no member 'text' at /sources/1");
	expect_resolve(doc, "/o/k~1x", "error: no member 'k/x' at /o");
	expect_resolve(doc, "/arr/3", "error: index 3 out of range (3 elements) at /arr");
	expect_resolve(doc, "/arr/-", "error: '-' is not an array index, at /arr");
	expect_resolve(doc, "/arr/01", "error: '01' is not an array index, at /arr");
	expect_resolve(doc, "/arr/x", "error: 'x' is not an array index, at /arr");
	expect_resolve(doc, "/arr/99999999999", "error: '99999999999' is not an array index, at /arr");
}

Test(jsonptr, wrong_types)
{
	const char *doc = "{\"s\": \"str\", \"n\": 4, \"o\": {\"k\": null}, \"a\": [true]}";

	expect_resolve(doc, "/s/x", "error: /s is a string, not an object or array");
	expect_resolve(doc, "/n/0", "error: /n is a number, not an object or array");
	expect_resolve(doc, "/o/k/z", "error: /o/k is null, not an object or array");
	expect_resolve(doc, "/a/0/y", "error: /a/0 is a boolean, not an object or array");
	expect_resolve(doc, "/o/*", "error: * needs an array; /o is an object");
	expect_resolve(doc, "/a/*/y", "error: /a/0 is a boolean, not an object or array");
}

Test(jsonptr, huge_arrays)
{
	enum { N = 200000 };
	struct strbuf doc = STRBUF_INIT;
	struct jptr p;
	struct jptr_hits h = { NULL, 0, 0 };
	struct strbuf err = STRBUF_INIT;
	struct timespec t0, t1;
	cJSON *root;
	size_t i;
	double s;

	strbuf_addstr(&doc, "{\"items\": [");
	for (i = 0; i < N; i++)
		strbuf_addf(&doc, "%s{\"v\": %zu}", i ? "," : "", i);
	strbuf_addstr(&doc, "]}");
	root = cJSON_Parse(doc.buf);
	cr_assert_not_null(root);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(jptr_parse(&p, "/items/*/v", &err), 0);
	cr_assert_eq(jptr_eval(&p, root, &h, &err), 0, "%s", err.buf);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_assert_eq(h.n, N);
	cr_expect_eq(h.v[0]->valueint, 0);
	cr_expect_eq(h.v[N - 1]->valueint, N - 1);
	s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	/* one walk over the list, not an index lookup per element */
	cr_expect_lt(s, 1.0, "%.3f s for %d elements", s, N);
	jptr_release(&p);
	h.n = 0;
	cr_assert_eq(jptr_parse(&p, "/items/199999/v", &err), 0);
	cr_assert_eq(jptr_eval(&p, root, &h, &err), 0, "%s", err.buf);
	cr_expect_eq(h.v[0]->valueint, N - 1);
	jptr_release(&p);
	jptr_hits_release(&h);
	strbuf_release(&err);
	strbuf_release(&doc);
	cJSON_Delete(root);
}

/* ------------------------------------------------------------ the response map */

static void map_set(struct response_map *m, const char *field, const char *ptr)
{
	struct strbuf err = STRBUF_INIT;

	cr_assert_eq(response_map_set(m, field, ptr, &err), 0, "%s: %s", field, err.buf);
	strbuf_release(&err);
}

static enum target_parse apply(const struct response_map *m, const char *body,
			       struct target_reply *r, struct strbuf *why)
{
	target_reply_init(r);
	strbuf_reset(why);
	return response_map_apply(m, body, strlen(body), r, why);
}

Test(response_map, every_field)
{
	static const char body[] =
		"{\"answer\": \"Within 30 days.\", \"sources\": [{\"id\": 7, \"text\": \"Returns: 30 days\"},"
		" {\"id\": \"ship-2\", \"text\": \"Shipping: free\"}], \"usage\": {\"input_tokens\": 12,"
		" \"output_tokens\": 4}, \"model\": \"app-model\", \"steps\": [{\"tool\": \"search\"}],"
		" \"meta\": {\"trace\": \"t-1\"}}";
	struct response_map m = { 0 };
	struct target_reply r;
	struct strbuf why = STRBUF_INIT;
	char *extra;

	map_set(&m, "output", "/answer");
	map_set(&m, "context", "/sources/*/text");
	map_set(&m, "context_ids", "/sources/*/id");
	map_set(&m, "usage", "/usage");
	map_set(&m, "model", "/model");
	map_set(&m, "tool_calls", "/steps");
	map_set(&m, "metadata", "/meta");
	cr_assert_eq(apply(&m, body, &r, &why), TARGET_REPLY_OK, "%s", why.buf);
	cr_expect_str_eq(r.output, "Within 30 days.");
	cr_expect_eq(r.output_len, 15);
	cr_assert_eq(r.n_context, 2);
	cr_expect_str_eq(r.context[0], "Returns: 30 days");
	cr_expect_str_eq(r.context[1], "Shipping: free");
	cr_assert_eq(r.n_context_ids, 2);
	cr_expect_str_eq(r.context_ids[0], "7");
	cr_expect_str_eq(r.context_ids[1], "ship-2");
	cr_expect_eq(r.prompt_tokens, 12);
	cr_expect_eq(r.completion_tokens, 4);
	cr_expect_str_eq(r.model, "app-model");
	cr_expect_str_eq(r.tool_calls, "[{\"tool\":\"search\"}]");
	cr_expect_str_eq(r.metadata, "{\"trace\":\"t-1\"}");
	cr_expect_null(r.finish_reason);

	/* stored and cached as one JSON object, and read back the same */
	extra = target_reply_extra_json(&r);
	cr_expect_str_eq(extra, "{\"context\":[\"Returns: 30 days\",\"Shipping: free\"],"
			 "\"context_ids\":[\"7\",\"ship-2\"],\"tool_calls\":[{\"tool\":\"search\"}],"
			 "\"model\":\"app-model\",\"metadata\":{\"trace\":\"t-1\"}}");
	target_reply_release(&r);
	cr_assert_eq(target_reply_extra_load(&r, extra), 0);
	cr_expect_eq(r.n_context, 2);
	cr_expect_str_eq(r.context[1], "Shipping: free");
	cr_expect_str_eq(r.context_ids[0], "7");
	cr_expect_str_eq(r.model, "app-model");
	cr_expect_str_eq(r.metadata, "{\"trace\":\"t-1\"}");
	cr_expect_eq(target_reply_extra_load(&r, "[1]"), -1);
	free(extra);
	target_reply_release(&r);
	response_map_release(&m);
	strbuf_release(&why);
}

Test(response_map, missing_fields_and_wrong_types_fail_naming_the_pointer)
{
	struct response_map m = { 0 };
	struct target_reply r;
	struct strbuf why = STRBUF_INIT;

	map_set(&m, "output", "/answer");
	map_set(&m, "context", "/sources/*/text");
	cr_expect_eq(apply(&m, "{\"answer\": \"a\", \"sources\": [{\"text\": \"x\"}, {\"body\": \"y\"}]}",
			   &r, &why), TARGET_REPLY_FAIL);
	cr_expect_str_eq(why.buf, "response.context (/sources/*/text): no member 'text' at /sources/1");
	cr_expect_null(r.output, "nothing is filled from an unusable reply");
	cr_expect_eq(apply(&m, "{\"sources\": []}", &r, &why), TARGET_REPLY_FAIL);
	cr_expect_str_eq(why.buf, "response.output (/answer): no member 'answer' at the root");
	cr_expect_eq(apply(&m, "{\"answer\": null, \"sources\": []}", &r, &why), TARGET_REPLY_FAIL);
	cr_expect_str_eq(why.buf, "response.output (/answer): the value is null");
	cr_expect_eq(apply(&m, "{\"answer\": \"a\", \"sources\": [{\"text\": 5}]}", &r, &why),
		     TARGET_REPLY_FAIL);
	cr_expect_str_eq(why.buf, "response.context (/sources/*/text): value 1 is a number, "
			 "expected a string");
	map_set(&m, "context", "/passages");
	cr_expect_eq(apply(&m, "{\"answer\": \"a\", \"passages\": [\"p\", {}]}", &r, &why),
		     TARGET_REPLY_FAIL);
	cr_expect_str_eq(why.buf, "response.context (/passages): element 1 is an object, "
			 "expected a string");
	cr_expect_eq(apply(&m, "{\"answer\": \"a\", \"passages\": 3}", &r, &why), TARGET_REPLY_FAIL);
	cr_expect_str_eq(why.buf, "response.context (/passages): the value is a number, expected "
			 "a string (or an array of them)");
	map_set(&m, "usage", "/usage");
	cr_expect_eq(apply(&m, "{\"answer\": \"a\", \"passages\": [], \"usage\": [1]}", &r, &why),
		     TARGET_REPLY_FAIL);
	cr_expect(strstr(why.buf, "response.usage (/usage): the value is an array, expected an object"),
		  "%s", why.buf);
	map_set(&m, "model", "/m");
	cr_expect_eq(apply(&m, "{\"answer\": \"a\", \"passages\": [], \"usage\": {}, \"m\": 1}", &r,
			   &why), TARGET_REPLY_FAIL);
	cr_expect_str_eq(why.buf, "response.model (/m): the value is a number, expected a string");
	/* a reply that is not JSON (or was cut) may be transient: retried */
	cr_expect_eq(apply(&m, "<html>bad gateway</html>", &r, &why), TARGET_REPLY_RETRY);
	cr_expect_str_eq(why.buf, "not JSON (truncated or malformed)");
	cr_expect_eq(apply(&m, "{\"answer\": \"a\"", &r, &why), TARGET_REPLY_RETRY);
	cr_expect_eq(apply(&m, "", &r, &why), TARGET_REPLY_RETRY);
	response_map_release(&m);
	strbuf_release(&why);
}

Test(response_map, nulls_objects_and_joined_outputs)
{
	struct response_map m = { 0 };
	struct target_reply r;
	struct strbuf why = STRBUF_INIT;

	map_set(&m, "output", "/result");
	map_set(&m, "context", "/ctx");
	map_set(&m, "usage", "/usage");
	map_set(&m, "metadata", "/meta");
	/* null is absent for every field but output */
	cr_assert_eq(apply(&m, "{\"result\": {\"b\": 1, \"a\": [true]}, \"ctx\": null, \"usage\": null,"
			   " \"meta\": null}", &r, &why), TARGET_REPLY_OK, "%s", why.buf);
	cr_expect_str_eq(r.output, "{\"b\":1,\"a\":[true]}");
	cr_expect_null(r.context);
	cr_expect_eq(r.prompt_tokens, -1);
	cr_expect_null(r.metadata);
	cr_expect_null(target_reply_extra_json(&r));
	target_reply_release(&r);
	/* an empty list of passages is kept: the target retrieved nothing */
	cr_assert_eq(apply(&m, "{\"result\": 42, \"ctx\": [], \"usage\": {\"prompt_tokens\": 3},"
			   " \"meta\": 1}", &r, &why), TARGET_REPLY_OK, "%s", why.buf);
	cr_expect_str_eq(r.output, "42");
	cr_expect_not_null(r.context);
	cr_expect_eq(r.n_context, 0);
	cr_expect_eq(r.prompt_tokens, 3);
	cr_expect_eq(r.completion_tokens, -1);
	target_reply_release(&r);
	map_set(&m, "output", "/chunks/*/t");
	cr_assert_eq(apply(&m, "{\"chunks\": [{\"t\": \"Hel\"}, {\"t\": \"lo\"}], \"ctx\": [\"c\"],"
			   " \"usage\": {}, \"meta\": {}}", &r, &why), TARGET_REPLY_OK, "%s", why.buf);
	cr_expect_str_eq(r.output, "Hello");
	target_reply_release(&r);
	response_map_release(&m);
	strbuf_release(&why);
}

Test(response_map, bad_maps)
{
	struct response_map m = { 0 };
	struct target_reply r;
	struct strbuf err = STRBUF_INIT;

	cr_expect_eq(response_map_set(&m, "answer", "/a", &err), -1);
	cr_expect(strstr(err.buf, "unknown field"), "%s", err.buf);
	strbuf_reset(&err);
	cr_expect_eq(response_map_set(&m, "output", "answer", &err), -1);
	cr_expect_str_eq(err.buf, "must be empty or start with '/'");
	strbuf_reset(&err);
	cr_expect_eq(apply(&m, "{}", &r, &err), TARGET_REPLY_FAIL);
	cr_expect_str_eq(err.buf, "response.output is not mapped");
	response_map_release(&m);
	strbuf_release(&err);
}

/* ------------------------------------------------------------ templates */

/* a jdoc over text, for compiling a template of it */
static void parse_doc(struct jdoc *d, const char *text)
{
	cr_assert_eq(jdoc_parse(d, "t.json", 1, text, strlen(text)), 0, "%s", th_stderr_take());
}

static void make_case(struct eg_case *c, const char *line)
{
	cJSON *root = cJSON_Parse(line), *v;
	size_t i = 0;

	cr_assert_not_null(root, "%s", line);
	memset(c, 0, sizeof(*c));
	c->id = xstrdup(cJSON_GetObjectItem(root, "id")->valuestring);
	if (cJSON_IsString(v = cJSON_GetObjectItem(root, "input")))
		c->input = xstrdup(v->valuestring);
	if (cJSON_IsString(v = cJSON_GetObjectItem(root, "expected")))
		c->expected = xstrdup(v->valuestring);
	if ((v = cJSON_GetObjectItem(root, "messages")))
		c->messages = cJSON_Duplicate(v, 1);
	if ((v = cJSON_GetObjectItem(root, "vars")))
		c->vars = cJSON_Duplicate(v, 1);
	if ((v = cJSON_GetObjectItem(root, "context"))) {
		const cJSON *p;

		c->context = xcalloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(char *));
		cJSON_ArrayForEach(p, v)
			c->context[i++] = xstrdup(p->valuestring);
		c->n_context = i;
	}
	cJSON_Delete(root);
}

static void free_case(struct eg_case *c)
{
	size_t i;

	free(c->id);
	free(c->input);
	free(c->expected);
	cJSON_Delete(c->messages);
	cJSON_Delete(c->vars);
	for (i = 0; i < c->n_context; i++)
		free(c->context[i]);
	free(c->context);
}

/* render t (released here) for the case line: the text, or "error: ..." */
static char *render_case(struct tmpl *t, const char *case_line)
{
	struct eg_case c;
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;

	make_case(&c, case_line);
	if (tmpl_render(t, &c, &out, &err)) {
		strbuf_reset(&out);
		strbuf_addf(&out, "error: %s", err.buf);
	}
	tmpl_release(t);
	free_case(&c);
	strbuf_release(&err);
	return strbuf_detach(&out, NULL);
}

/* render the body template text for the case line: the body, or "error: ..." */
static char *render_body(const char *tmpl_text, const char *case_line)
{
	struct jdoc d;
	struct tmpl t;
	char *ret;

	parse_doc(&d, tmpl_text);
	cr_assert_eq(tmpl_compile_json(&t, &d, d.root, "target.request.body"), 0, "%s",
		     th_stderr_take());
	ret = render_case(&t, case_line);
	jdoc_release(&d);
	return ret;
}

static void expect_body(const char *tmpl_text, const char *case_line, const char *want)
{
	char *got = render_body(tmpl_text, case_line);

	cr_expect_str_eq(got, want, "template %s", tmpl_text);
	if (strncmp(want, "error: ", 7)) {
		cJSON *j = cJSON_Parse(got);

		cr_expect_not_null(j, "not JSON: %s", got);
		cJSON_Delete(j);
	}
	free(got);
}

Test(template, whole_tags_keep_their_json_type)
{
	const char *kase = "{\"id\": \"c-1\", \"input\": \"How do I \\\"return\\\" it?\\n\","
			   " \"expected\": \"30 days\", \"context\": [\"p1\", \"p2\"],"
			   " \"vars\": {\"user\": \"ann\", \"n\": 3, \"flags\": {\"vip\": true}}}";

	expect_body("{\"question\": \"{{input}}\", \"user\": \"{{vars.user}}\", \"n\": \"{{vars.n}}\","
		    " \"flags\": \"{{ vars.flags }}\", \"ctx\": \"{{context}}\", \"id\": \"{{id}}\","
		    " \"ref\": \"{{expected}}\", \"messages\": \"{{messages}}\"}",
		    kase,
		    "{\"question\":\"How do I \\\"return\\\" it?\\n\",\"user\":\"ann\",\"n\":3,"
		    "\"flags\":{\"vip\":true},\"ctx\":[\"p1\",\"p2\"],\"id\":\"c-1\","
		    "\"ref\":\"30 days\",\"messages\":[{\"role\":\"user\","
		    "\"content\":\"How do I \\\"return\\\" it?\\n\"}]}");
	/* literals of every kind pass through; keys are never templates */
	expect_body("[1, 2.5, true, false, null, \"plain\", {\"{{input}}\": {}}, []]", kase,
		    "[1,2.5,true,false,null,\"plain\",{\"{{input}}\":{}},[]]");
	expect_body("\"{{vars.flags}}\"", kase, "{\"vip\":true}");
}

Test(template, tags_inside_strings_are_escaped_text)
{
	const char *kase = "{\"id\": \"c\\\"2\", \"input\": \"a \\\"b\\\"\\tc\", \"vars\": {\"n\": 3,"
			   " \"o\": {\"k\": \"v\"}, \"s\": \"x\\\\y\"}}";

	expect_body("{\"q\": \"Q: {{input}} (case {{id}}, n={{vars.n}}, o={{vars.o}}, s={{vars.s}})\"}",
		    kase,
		    "{\"q\":\"Q: a \\\"b\\\"\\tc (case c\\\"2, n=3, o={\\\"k\\\":\\\"v\\\"}, s=x\\\\y)\"}");
	/* the input of a case given as messages: its last user message */
	expect_body("{\"q\": \"{{input}}!\", \"m\": \"{{messages}}\"}",
		    "{\"id\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"first\"},"
		    " {\"role\": \"assistant\", \"content\": \"ok\"}, {\"role\": \"user\", \"content\": \"last\"}]}",
		    "{\"q\":\"last!\",\"m\":[{\"role\":\"user\",\"content\":\"first\"},"
		    "{\"role\":\"assistant\",\"content\":\"ok\"},{\"role\":\"user\",\"content\":\"last\"}]}");
}

Test(template, a_case_lacking_a_value_cannot_be_asked)
{
	expect_body("{\"u\": \"{{vars.user}}\"}", "{\"id\": \"c\", \"input\": \"q\"}",
		    "error: the case has no vars.user, which the request template uses");
	expect_body("{\"u\": \"ref: {{expected}}\"}", "{\"id\": \"c\", \"input\": \"q\"}",
		    "error: the case has no expected, which the request template uses");
	expect_body("{\"c\": \"{{context}}\"}", "{\"id\": \"c\", \"input\": \"q\"}",
		    "error: the case has no context, which the request template uses");
}

/* compiling text must fail with "t.json:LINE: FIELD: MSG" */
static void compile_fails(const char *text, const char *want)
{
	struct jdoc d;
	struct tmpl t;
	const char *err;

	parse_doc(&d, text);
	cr_expect_eq(tmpl_compile_json(&t, &d, d.root, "target.request.body"), -1, "%s", text);
	err = th_stderr_take();
	cr_expect(strstr(err, want), "want '%s' in: %s", want, err);
	jdoc_release(&d);
}

Test(template, bad_tags_are_located)
{
	compile_fails("{\n \"a\": 1,\n \"q\": \"{{inptu}}\"\n}",
		      "evalgate: t.json:3: target.request.body.q: unknown tag {{inptu}} (known: "
		      "input, messages, expected, id, context, vars.NAME, prompt)");
	compile_fails("{\"q\": [\"ok\",\n \"x {{input\"]}",
		      "evalgate: t.json:2: target.request.body.q[1]: unterminated {{ (a tag ends with }})");
	compile_fails("{\"q\": \"{{vars.}}\"}", "unknown tag {{vars.}}");
	compile_fails("{\"q\": \"{{vars.a b}}\"}", "unknown tag {{vars.a b}}");
}

/* render a text template (a prompt file) for the case line: the text, or "error: ..." */
static char *render_text(const char *text, const char *case_line)
{
	struct tmpl t;

	cr_assert_eq(tmpl_compile_text(&t, "p.txt", text, strlen(text)), 0, "%s",
		     th_stderr_take());
	return render_case(&t, case_line);
}

static void expect_text(const char *text, const char *case_line, const char *want)
{
	char *got = render_text(text, case_line);

	cr_expect_str_eq(got, want, "template %s", text);
	free(got);
}

/* compiling a text template must fail with "p.txt:LINE: prompt: MSG" */
static void text_fails(const char *text, size_t len, const char *want)
{
	struct tmpl t;
	const char *err;

	cr_expect_eq(tmpl_compile_text(&t, "p.txt", text, len), -1, "accepted: %s", text);
	err = th_stderr_take();
	cr_expect(strstr(err, want), "want '%s' in: %s", want, err);
}

/* a literal's bytes, its NULs too */
#define TEXT_FAILS(lit, want) text_fails(lit, sizeof(lit) - 1, want)

Test(template, text_prompts_fill_sections_and_never_escape_html)
{
	const char *kase = "{\"id\": \"c\", \"input\": \"<b>Q</b> & \\\"x\\\"\", \"expected\": \"E\","
			   " \"context\": [\"p1\", \"p2\"], \"vars\": {\"name\": \"Ann\", \"n\": 2,"
			   " \"docs\": [\"d1\", {\"k\": 1}], \"none\": [], \"off\": false, \"o\": {\"a\": 1}}}";

	expect_text("Hi {{vars.name}}: {{input}} ({{{input}}}, {{&input}})", kase,
		    "Hi Ann: <b>Q</b> & \"x\" (<b>Q</b> & \"x\", <b>Q</b> & \"x\")");
	/* context outside a section: one passage a line; non-strings as JSON */
	expect_text("{{context}}|{{vars.n}}|{{vars.o}}|{{id}}|{{expected}}", kase,
		    "p1\np2|2|{\"a\":1}|c|E");
	/* standalone section lines vanish */
	expect_text("Passages:\n{{#context}}\n- {{.}}\n{{/context}}\nEnd\n", kase,
		    "Passages:\n- p1\n- p2\nEnd\n");
	/* inline sections, items that are not strings, nesting: the item is the innermost's */
	expect_text("{{#vars.docs}}[{{.}}]{{/vars.docs}}", kase, "[d1][{\"k\":1}]");
	expect_text("{{#context}}<{{.}}:{{#vars.docs}}{{.}},{{/vars.docs}}>{{/context}}", kase,
		    "<p1:d1,{\"k\":1},><p2:d1,{\"k\":1},>");
	/* falsy and missing sections render nothing; inverted ones render once */
	expect_text("{{#vars.none}}x{{/vars.none}}{{#vars.off}}y{{/vars.off}}"
		    "{{#vars.missing}}z{{/vars.missing}}{{^vars.none}}A{{/vars.none}}"
		    "{{^vars.missing}}B{{/vars.missing}}{{^context}}C{{/context}}"
		    "{{#vars.o}}{{.}}{{/vars.o}}{{#expected}}={{.}}{{/expected}}", kase,
		    "AB{\"a\":1}=E");
	expect_text("{{^context}}none{{/context}}", "{\"id\": \"c\", \"input\": \"q\"}", "none");
	/* text without tags, braces that are not tags, an empty template */
	expect_text("a { b } {x} }} c", kase, "a { b } {x} }} c");
	expect_text("", kase, "");
	/* a value the case lacks names the template's line */
	expect_text("line 1\n\n{{vars.city}}", kase,
		    "error: the case has no vars.city, which p.txt:3 uses");
	/* a lacking value inside a section that renders nothing is no error */
	expect_text("{{#vars.none}}{{vars.city}}{{/vars.none}}ok", kase, "ok");
}

Test(template, sections_in_json_bodies_are_escaped)
{
	const char *kase = "{\"id\": \"c\", \"input\": \"q\", \"context\": [\"a \\\"1\\\"\", \"b\\n2\"]}";

	expect_body("{\"p\": \"{{#context}}<{{.}}>{{/context}}\", \"n\": \"{{^vars.x}}none{{/vars.x}}\"}",
		    kase, "{\"p\":\"<a \\\"1\\\"><b\\n2>\",\"n\":\"none\"}");
	compile_fails("{\"p\": \"{{#context}}x\"}",
		      "t.json:1: target.request.body.p: unclosed section {{#context}}");
}

Test(template, bad_text_templates_are_located)
{
	static const char deep_head[] = "{{#context}}";
	struct strbuf deep = STRBUF_INIT;
	int i;

	TEXT_FAILS("a\nb {{inptu}}", "p.txt:2: prompt: unknown tag {{inptu}} (known: input, "
		   "expected, id, context, vars.NAME)");
	TEXT_FAILS("{{messages}}", "p.txt:1: prompt: unknown tag {{messages}}");
	TEXT_FAILS("{{prompt}}", "p.txt:1: prompt: unknown tag {{prompt}}");
	TEXT_FAILS("x\n\n{{input", "p.txt:3: prompt: unterminated {{");
	TEXT_FAILS("{{#context}}\n{{.}}\n", "p.txt:1: prompt: unclosed section {{#context}}");
	TEXT_FAILS("{{#vars.a}}{{/vars.b}}",
		   "p.txt:1: prompt: {{/vars.b}} closes the section opened at line 1");
	TEXT_FAILS("\n{{/context}}", "p.txt:2: prompt: {{/context}} closes no section");
	TEXT_FAILS("{{.}}", "p.txt:1: prompt: {{.}} outside a section");
	TEXT_FAILS("{{#id}}x{{/id}}", "p.txt:1: prompt: {{#id}}: a section is over context");
	TEXT_FAILS("a\0b", "p.txt:1: prompt: a NUL byte in the text");
	/* hostile input: sections nested without end are refused, not recursed into */
	for (i = 0; i < 10000; i++)
		strbuf_addstr(&deep, deep_head);
	text_fails(deep.buf, deep.len, "p.txt:1: prompt: sections nested more than 32 deep");
	strbuf_release(&deep);
	TEXT_FAILS("{{{input}}", "p.txt:1: prompt: unterminated {{");
	TEXT_FAILS("{{}}", "p.txt:1: prompt: unknown tag {{}}");
	TEXT_FAILS("{{#}}{{/}}", "unknown tag {{#}}");
}

Test(template, hostile_text_renders_in_linear_time)
{
	struct strbuf big = STRBUF_INIT;
	char *got;
	int i;

	/* many tags and many braces: each compiled once, rendered in order */
	for (i = 0; i < 20000; i++)
		strbuf_addstr(&big, "{{input}}{ }");
	got = render_text(big.buf, "{\"id\": \"c\", \"input\": \"x\"}");
	cr_expect_eq(strlen(got), 20000u * 4, "rendered %zu bytes", strlen(got));
	free(got);
	strbuf_release(&big);
}

Test(template, urls_are_percent_encoded)
{
	struct jdoc d;
	struct tmpl t;
	struct eg_case c;
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;

	parse_doc(&d, "{\"url\": \"x\"}");
	cr_assert_eq(tmpl_compile_url(&t, &d, d.root, "target.request.url",
				      "http://h/ask?q={{input}}&u={{vars.u}}&id={{id}}"), 0);
	make_case(&c, "{\"id\": \"a/b\", \"input\": \"30 days? yes & no\", \"vars\": {\"u\": \"\\u00e9\"}}");
	cr_assert_eq(tmpl_render(&t, &c, &out, &err), 0, "%s", err.buf);
	cr_expect_str_eq(out.buf, "http://h/ask?q=30%20days%3F%20yes%20%26%20no&u=%C3%A9&id=a%2Fb");
	tmpl_release(&t);
	jdoc_release(&d);
	free_case(&c);
	strbuf_release(&out);
	strbuf_release(&err);
}

/* ------------------------------------------------------------ targets from the config */

static void write_cfg(const char *text)
{
	FILE *fp = fopen(cfg_path, "wb");

	cr_assert_not_null(fp);
	cr_assert_eq(fwrite(text, 1, strlen(text), fp), strlen(text));
	cr_assert_eq(fclose(fp), 0);
}

/* a config whose target object is target (starting on line 3) */
static void write_target(const char *target)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addf(&sb, "{\n  \"gateway\": {\"base_url\": \"http://127.0.0.1:9/v1\"},\n"
		    "  \"target\": %s\n}\n", target);
	write_cfg(sb.buf);
	strbuf_release(&sb);
}

/* loading must fail with "evalgate: <cfg>:LINE: rest"; 0 when the config itself fails */
static void target_fails(int line, const char *rest)
{
	struct eg_config cfg;
	struct target t;
	char want[1024];
	const char *err;
	int rc = config_load(&cfg, cfg_path);

	if (!rc) {
		rc = target_load(&t, &cfg);
		cr_expect_null(t.ctx, "a failed load leaves nothing to release");
		config_release(&cfg);
	}
	cr_expect_eq(rc, -1, "accepted (want %s)", rest);
	err = th_stderr_take();
	snprintf(want, sizeof(want), "evalgate: %s:%d: %s\n", cfg_path, line, rest);
	cr_expect(strstr(err, want), "want '%s' in: %s", want, err);
}

#define HTTP_HEAD "{\"type\": \"http\", \"name\": \"app\", \"version\": \"v1\",\n"

Test(target, bad_configs_are_located)
{
	write_target("{\"type\": \"grpc\", \"name\": \"n\", \"version\": \"v\"}");
	target_fails(3, "target.type: unknown target type 'grpc' (known: chat, http, exec)");
	write_target(HTTP_HEAD "  \"response\": {\"output\": \"/a\"}}");
	target_fails(3, "target.request: missing (an http target needs request.url)");
	write_target(HTTP_HEAD "  \"request\": {\"url\": \"http://h/ask\"},\n  \"response\": {}}");
	target_fails(5, "target.response.output: missing (the pointer to the answer, e.g. \"/answer\")");
	write_target(HTTP_HEAD "  \"request\": {\"url\": \"http://h/ask\"},\n"
		     "  \"response\": {\"output\": \"/a\",\n   \"context\": \"sources/*/text\"}}");
	target_fails(6, "target.response.context: must be empty or start with '/'");
	write_target(HTTP_HEAD "  \"request\": {\"url\": \"http://h/ask\"},\n"
		     "  \"response\": {\"output\": \"/a\", \"answer\": \"/b\"}}");
	target_fails(5, "target.response.answer: unknown field (known: output, context, "
		     "context_ids, tool_calls, usage, model, metadata, trajectory)");
	write_target(HTTP_HEAD "  \"request\": {\"method\": \"GET\", \"url\": \"http://h/ask\",\n"
		     "   \"body\": {\"q\": \"{{input}}\"}},\n  \"response\": {\"output\": \"/a\"}}");
	target_fails(5, "target.request.body: a GET request has no body (put the case's values in "
		     "the url)");
	write_target(HTTP_HEAD "  \"request\": {\"method\": \"PUT\", \"url\": \"http://h\"},\n"
		     "  \"response\": {\"output\": \"/a\"}}");
	target_fails(4, "target.request.method: 'PUT': expected POST or GET");
	write_target(HTTP_HEAD "  \"request\": {\"url\": \"ftp://h\"},\n  \"response\": {\"output\": \"/a\"}}");
	target_fails(4, "target.request.url: expected an http:// or https:// URL, not 'ftp://h'");
	write_target(HTTP_HEAD "  \"request\": {\"url\": \"http://h\", \"bodyy\": 1},\n"
		     "  \"response\": {\"output\": \"/a\"}}");
	target_fails(4, "target.request.bodyy: unknown field");
	write_target(HTTP_HEAD "  \"system\": \"be nice\",\n  \"request\": {\"url\": \"http://h\"},\n"
		     "  \"response\": {\"output\": \"/a\"}}");
	target_fails(4, "target.system: unknown field for a http target");
	write_target(HTTP_HEAD "  \"request\": {\"url\": \"http://h\",\n"
		     "   \"headers\": {\"Authorization\": \"Bearer sk-live-123\"}},\n"
		     "  \"response\": {\"output\": \"/a\"}}");
	target_fails(5, "target.request.headers: 'Authorization': take the credential from the "
		     "environment (\"${NAME}\"), never write it in the config");
	write_target(HTTP_HEAD "  \"request\": {\"url\": \"http://h\",\n"
		     "   \"headers\": {\"x-evalgate-case\": \"1\"}},\n  \"response\": {\"output\": \"/a\"}}");
	target_fails(5, "target.request.headers: 'x-evalgate-case': evalgate sets this header itself");
	write_target(HTTP_HEAD "  \"request\": {\"url\": \"http://h\",\n"
		     "   \"headers\": {\"Authorization\": \"Bearer ${EG_UT_UNSET_TOKEN}\"}},\n"
		     "  \"response\": {\"output\": \"/a\"}}");
	target_fails(5, "target.request.headers: environment variable EG_UT_UNSET_TOKEN is not set");
	write_target(HTTP_HEAD "  \"request\": {\"url\": \"http://h\",\n"
		     "   \"body\": {\"q\": \"{{question}}\"}},\n  \"response\": {\"output\": \"/a\"}}");
	target_fails(5, "target.request.body.q: unknown tag {{question}} (known: input, messages, "
		     "expected, id, context, vars.NAME, prompt)");
	write_target(HTTP_HEAD "  \"stream\": \"yes\",\n  \"request\": {\"url\": \"http://h\"},\n"
		     "  \"response\": {\"output\": \"/a\"}}");
	target_fails(4, "target.stream: expected true or false");
	/* a chat target still needs its model, and an http target's model is optional */
	write_target("{\"name\": \"n\",\n \"version\": \"v\"}");
	target_fails(3, "target.model: missing (a string is required)");
}

Test(target, http_target_renders_requests_and_keeps_secrets)
{
	struct eg_config cfg;
	struct target t;
	struct target_request rq;
	struct eg_case c;
	struct strbuf err = STRBUF_INIT, desc = STRBUF_INIT;
	const struct eg_header *h;
	const char *const *secrets;
	size_t n, n_secrets, i;
	char key1[65], key2[65];

	setenv("EG_UT_APP_TOKEN", "tok-S3CRET-42", 1);
	setenv("EG_UT_APP_URL", "http://127.0.0.1:8080", 1);
	write_target(HTTP_HEAD "  \"request\": {\"url\": \"${EG_UT_APP_URL}/ask\",\n"
		     "   \"headers\": {\"Authorization\": \"Bearer ${EG_UT_APP_TOKEN}\", \"x-team\": \"support\"},\n"
		     "   \"body\": {\"question\": \"{{input}}\", \"user\": \"{{vars.user}}\", \"k\": 3}},\n"
		     "  \"response\": {\"output\": \"/answer\", \"context\": \"/sources/*/text\"}}");
	cr_assert_eq(config_load(&cfg, cfg_path), 0, "%s", th_stderr_take());
	cr_assert_eq(target_load(&t, &cfg), 0, "%s", th_stderr_take());
	cr_assert_str_eq(t.type->name, "http");
	cr_expect_null(cfg.target.model);

	make_case(&c, "{\"id\": \"c1\", \"input\": \"refund?\", \"vars\": {\"user\": \"ann\"}}");
	{
		struct target_input in = { &c, NULL, NULL, NULL, NULL };

		cr_assert_eq(t.type->build_request(&t, &in, &rq, &err), 0, "%s", err.buf);
	}
	cr_expect_eq(rq.method, TARGET_POST);
	cr_expect_str_eq(rq.url, "http://127.0.0.1:8080/ask");
	cr_expect_str_eq(rq.body, "{\"question\":\"refund?\",\"user\":\"ann\",\"k\":3}");
	cr_expect_eq(rq.body_len, strlen(rq.body));
	t.type->cache_key(&t, &rq, key1);
	target_request_release(&rq);

	/* the header values are sent, and every value from the environment is a secret */
	t.type->http_headers(&t, &h, &n, &secrets, &n_secrets);
	cr_assert_eq(n, 2);
	cr_expect_str_eq(h[0].name, "Authorization");
	cr_expect_str_eq(h[0].value, "Bearer tok-S3CRET-42");
	cr_expect_str_eq(h[1].value, "support");
	for (i = 0; i < n_secrets; i++)
		if (!strcmp(secrets[i], "tok-S3CRET-42"))
			break;
	cr_expect_lt(i, n_secrets, "the token is not among the secrets");
	for (i = 0; i < n_secrets; i++)
		if (!strcmp(secrets[i], "Bearer tok-S3CRET-42"))
			break;
	cr_expect_lt(i, n_secrets, "the whole header value is not among the secrets");

	/* the plan shows where requests go, never a header */
	t.type->describe(&t, &desc);
	cr_expect_str_eq(desc.buf, "(http) POST http://127.0.0.1:8080/ask");

	/* another token: the same cache key (the key hashes the headers as written) */
	free_case(&c);
	target_release(&t);
	config_release(&cfg);
	setenv("EG_UT_APP_TOKEN", "another-token", 1);
	cr_assert_eq(config_load(&cfg, cfg_path), 0);
	cr_assert_eq(target_load(&t, &cfg), 0);
	make_case(&c, "{\"id\": \"c1\", \"input\": \"refund?\", \"vars\": {\"user\": \"ann\"}}");
	{
		struct target_input in = { &c, NULL, NULL, NULL, NULL };

		cr_assert_eq(t.type->build_request(&t, &in, &rq, &err), 0, "%s", err.buf);
	}
	t.type->cache_key(&t, &rq, key2);
	cr_expect_str_eq(key1, key2);
	target_request_release(&rq);
	free_case(&c);

	/* a case without the variable: that case cannot be asked */
	make_case(&c, "{\"id\": \"c2\", \"input\": \"x\"}");
	{
		struct target_input in = { &c, NULL, NULL, NULL, NULL };

		cr_expect_eq(t.type->build_request(&t, &in, &rq, &err), -1);
		cr_expect_str_eq(err.buf, "the case has no vars.user, which the request template uses");
	}
	free_case(&c);
	target_release(&t);
	config_release(&cfg);
	strbuf_release(&err);
	strbuf_release(&desc);
}

Test(target, get_requests_fill_the_url)
{
	struct eg_config cfg;
	struct target t;
	struct target_request rq;
	struct eg_case c;
	struct strbuf err = STRBUF_INIT;
	struct target_input in = { &c, NULL, NULL, NULL, NULL };
	char k1[65], k2[65];

	write_target(HTTP_HEAD "  \"request\": {\"method\": \"get\", \"url\": \"http://h/ask?q={{input}}\"},\n"
		     "  \"response\": {\"output\": \"/answer\"}}");
	cr_assert_eq(config_load(&cfg, cfg_path), 0, "%s", th_stderr_take());
	cr_assert_eq(target_load(&t, &cfg), 0, "%s", th_stderr_take());
	make_case(&c, "{\"id\": \"c\", \"input\": \"gift cards?\"}");
	cr_assert_eq(t.type->build_request(&t, &in, &rq, &err), 0, "%s", err.buf);
	cr_expect_eq(rq.method, TARGET_GET);
	cr_expect_str_eq(rq.url, "http://h/ask?q=gift%20cards%3F");
	cr_expect_null(rq.body);
	t.type->cache_key(&t, &rq, k1);
	target_request_release(&rq);
	free_case(&c);
	make_case(&c, "{\"id\": \"c\", \"input\": \"gift card?\"}");
	cr_assert_eq(t.type->build_request(&t, &in, &rq, &err), 0, "%s", err.buf);
	t.type->cache_key(&t, &rq, k2);
	cr_expect_str_neq(k1, k2, "the rendered request is in the cache key");
	target_request_release(&rq);
	free_case(&c);
	target_release(&t);
	config_release(&cfg);
	strbuf_release(&err);
}

Test(target, chat_requests_are_as_they_were)
{
	struct eg_config cfg;
	struct target t;
	struct target_request rq;
	struct eg_case c;
	struct strbuf err = STRBUF_INIT;
	cJSON *suite_params = cJSON_Parse("{\"max_tokens\": 10, \"model\": \"ignored\"}");
	struct target_input in = { &c, "suite system", suite_params, NULL, NULL };
	char key[65], want[65];

	write_target("{\"name\": \"bot\", \"version\": \"v1\", \"model\": \"m\", \"system\": \"sys\",\n"
		     "  \"params\": {\"temperature\": 0, \"max_tokens\": 5}}");
	cr_assert_eq(config_load(&cfg, cfg_path), 0, "%s", th_stderr_take());
	cr_assert_eq(target_load(&t, &cfg), 0, "%s", th_stderr_take());
	cr_assert_str_eq(t.type->name, "chat");
	cr_expect_null(t.type->http_headers, "chat requests carry the gateway's headers and key");
	make_case(&c, "{\"id\": \"c\", \"input\": \"hi\"}");
	cr_assert_eq(t.type->build_request(&t, &in, &rq, &err), 0);
	cr_expect_eq(rq.method, TARGET_POST);
	cr_expect_null(rq.url, "chat requests go to the gateway's chat/completions");
	cr_expect_str_eq(rq.body, "{\"model\":\"m\",\"messages\":[{\"role\":\"system\","
			 "\"content\":\"suite system\"},{\"role\":\"user\",\"content\":\"hi\"}],"
			 "\"temperature\":0,\"max_tokens\":10}");
	/* the cache key of a chat request is the one the cache always had */
	t.type->cache_key(&t, &rq, key);
	chat_cache_key("http://127.0.0.1:9/v1", rq.body, 0, want);
	cr_expect_str_eq(key, want);
	target_request_release(&rq);
	free_case(&c);
	/* messages keep their own system message */
	in.system = NULL;
	make_case(&c, "{\"id\": \"c\", \"messages\": [{\"role\": \"system\", \"content\": \"own\"},"
		  " {\"role\": \"user\", \"content\": \"q\"}]}");
	cr_assert_eq(t.type->build_request(&t, &in, &rq, &err), 0);
	cr_expect_str_eq(rq.body, "{\"model\":\"m\",\"messages\":[{\"role\":\"system\","
			 "\"content\":\"own\"},{\"role\":\"user\",\"content\":\"q\"}],"
			 "\"temperature\":0,\"max_tokens\":10}");
	target_request_release(&rq);
	free_case(&c);
	target_release(&t);
	config_release(&cfg);
	cJSON_Delete(suite_params);
	strbuf_release(&err);
}

/* ------------------------------------------------------------ case vars */

static void write_file_in(const char *name, const char *text)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s", th_path(name));
	fp = fopen(path, "wb");
	cr_assert_not_null(fp, "%s", path);
	cr_assert_eq(fwrite(text, 1, strlen(text), fp), strlen(text));
	cr_assert_eq(fclose(fp), 0);
}

Test(target, case_vars_are_kept_and_hashed)
{
	struct eg_suite s;
	struct case_reader rd;
	struct eg_case a, b, c;
	char dir[128];
	const char *err;

	snprintf(dir, sizeof(dir), "%s", th_tmpdir());
	write_file_in("suite.json", "{\"name\": \"v\", \"version\": \"1\", \"kind\": \"golden\","
		      " \"scorers\": [{\"type\": \"contains\", \"value\": \"x\"}]}\n");
	write_file_in("cases.jsonl",
		      "{\"id\": \"a\", \"input\": \"q\", \"vars\": {\"user\": \"ann\", \"k\": 2}}\n"
		      "{\"id\": \"b\", \"input\": \"q\", \"vars\": {\"user\": \"bob\", \"k\": 2}}\n"
		      "{\"id\": \"c\", \"input\": \"q\"}\n");
	cr_assert_eq(suite_load(&s, dir, NULL), 0, "%s", th_stderr_take());
	cr_assert_eq(case_reader_open(&rd, &s, NULL), 0);
	cr_assert_eq(case_reader_next(&rd, &a), 1);
	cr_assert_eq(case_reader_next(&rd, &b), 1);
	cr_assert_eq(case_reader_next(&rd, &c), 1);
	cr_assert(cJSON_IsObject(a.vars));
	cr_expect_str_eq(cJSON_GetObjectItem(a.vars, "user")->valuestring, "ann");
	cr_expect_eq(cJSON_GetObjectItem(a.vars, "k")->valueint, 2);
	cr_expect_null(c.vars);
	/* other vars, another case: comparisons do not pair them */
	cr_expect_str_neq(a.hash, b.hash);
	case_release(&a);
	case_release(&b);
	case_release(&c);
	case_reader_close(&rd);
	suite_release(&s);

	write_file_in("cases.jsonl", "{\"id\": \"a\", \"input\": \"q\"}\n"
		      "{\"id\": \"b\", \"input\": \"q\", \"vars\": [\"ann\"]}\n");
	cr_assert_eq(suite_load(&s, dir, NULL), -1);
	err = th_stderr_take();
	cr_expect(strstr(err, "cases.jsonl:2: vars: expected an object of variables"), "%s", err);
	suite_release(&s); /* what a failed load filled in is the caller's to release */
}

Test(target, a_cost_gate_needs_the_model_an_http_target_may_leave_out)
{
	struct eg_config cfg;
	struct gates gs;
	const char *err;

	write_cfg("{\n  \"gateway\": {\"base_url\": \"http://127.0.0.1:9/v1\"},\n"
		  "  \"target\": " HTTP_HEAD "  \"request\": {\"url\": \"http://h\"},\n"
		  "  \"response\": {\"output\": \"/a\"}},\n"
		  "  \"gates\": [{\"metric\": \"cost_usd\", \"max\": 1}]\n}\n");
	cr_assert_eq(config_load(&cfg, cfg_path), 0, "%s", th_stderr_take());
	cr_expect_eq(gates_load(&gs, &cfg), -1);
	err = th_stderr_take();
	cr_expect(strstr(err, "evalgate.json:6: target.model: gate 'cost_usd' prices the answers at "
			 "the target's model: name it"), "%s", err);
	gates_release(&gs);
	config_release(&cfg);
}

/* a \u0000 in the reply is a NUL in the answer, with what follows it */
Test(response_map, strings_keep_their_nuls)
{
	static const char body[] =
		"{\"answer\": \"ok.\\u0000 hidden\", \"sources\": [{\"id\": \"a\\u0000b\", \"text\": \"\\u0000p\"}]}";
	struct response_map m = { 0 };
	struct target_reply r;
	struct strbuf why = STRBUF_INIT;

	map_set(&m, "output", "/answer");
	map_set(&m, "context", "/sources/*/text");
	map_set(&m, "context_ids", "/sources/*/id");
	cr_assert_eq(apply(&m, body, &r, &why), TARGET_REPLY_OK, "%s", why.buf);
	cr_assert_eq(r.output_len, 11);
	cr_expect_eq(memcmp(r.output, "ok.\0 hidden", 12), 0);
	cr_assert_eq(r.n_context, 1);
	cr_expect_eq(memcmp(r.context[0], "\0p", 3), 0);
	cr_assert_eq(r.n_context_ids, 1);
	cr_expect_eq(memcmp(r.context_ids[0], "a\0b", 4), 0);
	target_reply_release(&r);
	response_map_release(&m);
	strbuf_release(&why);
}

Test(chat_reply, content_parts_and_refusal_keep_their_nuls)
{
	static const char *const bodies[] = {
		"{\"choices\": [{\"message\": {\"content\": \"I cannot.\\u0000 CANARY\"}}]}",
		"{\"choices\": [{\"message\": {\"content\": [{\"text\": \"I cannot.\"}, {\"text\": \"\\u0000 CANARY\"}]}}]}",
		"{\"choices\": [{\"message\": {\"content\": null, \"refusal\": \"I cannot.\\u0000 CANARY\"}}]}",
	};
	size_t i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct target_reply r;
		struct strbuf why = STRBUF_INIT;

		target_reply_init(&r);
		cr_assert_eq(chat_parse_reply(bodies[i], strlen(bodies[i]), &r, &why), TARGET_REPLY_OK,
			     "%s", why.buf);
		cr_expect_eq(r.output_len, 17, "%s", bodies[i]);
		cr_expect_eq(memcmp(r.output, "I cannot.\0 CANARY", 18), 0, "%s", bodies[i]);
		target_reply_release(&r);
		strbuf_release(&why);
	}
}

/* ------------------------------------------------------------ chat request bodies */

/*
 * The body as it was built before it was written straight into its buffer:
 * a cJSON tree (model, messages, stream, the target's then the suite's
 * params merged by replacing, tools), printed by jsonw. Kept here as the
 * reference the written body must equal byte for byte.
 */
struct tree_target {
	const char *model, *system;
	const cJSON *params, *tools, *tool_choice;
	int stream;
};

static void tree_merge(cJSON *body, const cJSON *params)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, params) {
		if (!strcmp(p->string, "model") || !strcmp(p->string, "messages"))
			continue;
		cJSON_DeleteItemFromObjectCaseSensitive(body, p->string);
		cJSON_AddItemToObject(body, p->string, cJSON_Duplicate(p, 1));
	}
}

static cJSON *tree_system(const char *system)
{
	cJSON *m = cJSON_CreateObject();

	cJSON_AddStringToObject(m, "role", "system");
	cJSON_AddStringToObject(m, "content", system);
	return m;
}

static char *tree_body(const struct tree_target *tg, const struct target_input *in)
{
	const struct eg_case *c = in->kase;
	const char *system = in->system ? in->system : tg->system;
	const cJSON *given = c->prompt_messages ? c->prompt_messages : c->messages;
	const cJSON *tools = c->tools ? c->tools : in->suite_tools ? in->suite_tools : tg->tools;
	const cJSON *choice = c->tool_choice ? c->tool_choice
			      : in->suite_tool_choice ? in->suite_tool_choice : tg->tool_choice;
	cJSON *body = cJSON_CreateObject(), *msgs, *m;
	char *text;

	cJSON_AddStringToObject(body, "model", tg->model);
	if (given) {
		cJSON *last = NULL;

		msgs = cJSON_Duplicate(given, 1);
		cJSON_ArrayForEach(m, msgs) {
			const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");

			if (cJSON_IsString(role) && !strcmp(role->valuestring, "user"))
				last = m;
		}
		if (c->prompt && last) {
			cJSON *s = cJSON_CreateString(c->prompt);

			if (!cJSON_ReplaceItemInObjectCaseSensitive(last, "content", s))
				cJSON_Delete(s);
		}
		if (system) {
			const cJSON *role = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(msgs, 0),
									     "role");

			if (!cJSON_IsString(role) || strcmp(role->valuestring, "system"))
				cJSON_InsertItemInArray(msgs, 0, tree_system(system));
		}
	} else {
		msgs = cJSON_CreateArray();
		if (system)
			cJSON_AddItemToArray(msgs, tree_system(system));
		m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "role", "user");
		cJSON_AddStringToObject(m, "content", c->prompt ? c->prompt : c->input);
		cJSON_AddItemToArray(msgs, m);
	}
	cJSON_AddItemToObject(body, "messages", msgs);
	if (tg->stream) {
		cJSON_AddTrueToObject(body, "stream");
		cJSON_AddTrueToObject(cJSON_AddObjectToObject(body, "stream_options"), "include_usage");
	}
	tree_merge(body, tg->params);
	tree_merge(body, in->suite_params);
	if (tools) {
		cJSON_DeleteItemFromObjectCaseSensitive(body, "tools");
		cJSON_AddItemToObject(body, "tools", cJSON_Duplicate(tools, 1));
	}
	if (choice) {
		cJSON_DeleteItemFromObjectCaseSensitive(body, "tool_choice");
		cJSON_AddItemToObject(body, "tool_choice", cJSON_Duplicate(choice, 1));
	}
	text = jsonw_print(body, 0);
	cJSON_Delete(body);
	return text;
}

static cJSON *parse_or_null(const char *text)
{
	return text ? cJSON_Parse(text) : NULL;
}

Test(target, chat_bodies_are_written_as_the_tree_printed_them)
{
	/* target objects: params that override each other, stream, tools */
	static const char *const targets[] = {
		"{\"name\": \"b\", \"version\": \"1\", \"model\": \"m\"}",
		"{\"name\": \"b\", \"version\": \"1\", \"model\": \"m\", \"system\": \"sys \\\"q\\\" \\u00e9\\n\","
		" \"params\": {\"temperature\": 0.1, \"max_tokens\": 5, \"top_p\": 1e-3,"
		" \"stop\": [\"\\n\", \"x\"], \"model\": \"no\", \"messages\": []}}",
		"{\"name\": \"b\", \"version\": \"1\", \"model\": \"m\", \"stream\": true,"
		" \"params\": {\"stream_options\": {\"include_usage\": false}, \"seed\": 7,"
		" \"tools\": \"from params\"}}",
		"{\"name\": \"b\", \"version\": \"1\", \"model\": \"m\", \"stream\": true,"
		" \"params\": {\"stream\": false, \"n\": 1},"
		" \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"t\", \"parameters\":"
		" {\"type\": \"object\", \"properties\": {\"q\": {\"type\": \"string\"}}}}}],"
		" \"tool_choice\": \"auto\"}",
	};
	static const char *const suite_params[] = {
		NULL,
		"{\"max_tokens\": 10, \"model\": \"ignored\", \"temperature\": 0.30000000000000004}",
		"{\"stream\": true, \"tools\": [], \"a\": {\"b\": [1, 2.5, null, true]}, \"a\": 3}",
	};
	static const char *const suite_tools[] = {
		NULL,
		"[{\"type\": \"function\", \"function\": {\"name\": \"suite\"}}]",
	};
	/* cases: input, messages, a rendered prompt, a rendered .json prompt, tools of their own */
	static const struct {
		const char *line, *prompt, *prompt_messages, *tools, *tool_choice;
	} cases[] = {
		{ "{\"id\": \"c\", \"input\": \"hi \\u2028 \\u0001 </script>\"}", NULL, NULL, NULL, NULL },
		{ "{\"id\": \"c\", \"input\": \"hi\"}", "rendered {{x}}", NULL, NULL, NULL },
		{ "{\"id\": \"c\", \"messages\": [{\"role\": \"system\", \"content\": \"own\"},"
		  " {\"role\": \"user\", \"content\": \"q\"}]}", NULL, NULL, NULL, NULL },
		{ "{\"id\": \"c\", \"messages\": [{\"role\": \"user\", \"content\": \"q1\"},"
		  " {\"role\": \"assistant\", \"content\": \"a1\"}, {\"content\": \"q2\", \"role\": \"user\","
		  " \"name\": \"ann\"}, {\"role\": \"assistant\", \"content\": null}]}",
		  "the prompt", NULL, NULL, NULL },
		{ "{\"id\": \"c\", \"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\","
		  " \"text\": \"parts\"}], \"content\": \"second\"}]}", "replaces the first", NULL, NULL, NULL },
		{ "{\"id\": \"c\", \"messages\": [{\"role\": \"user\", \"name\": \"no content\"}]}",
		  "nowhere to go", NULL, NULL, NULL },
		{ "{\"id\": \"c\", \"messages\": [{\"role\": \"assistant\", \"content\": \"only\"}]}",
		  "no user message", NULL, NULL, NULL },
		{ "{\"id\": \"c\", \"input\": \"hi\"}", NULL,
		  "[{\"role\": \"system\", \"content\": \"rendered sys\"}, {\"role\": \"user\","
		  " \"content\": \"rendered q \\u00e9\"}]", NULL, NULL },
		{ "{\"id\": \"c\", \"input\": \"hi\"}", NULL,
		  "[{\"role\": \"user\", \"content\": \"rendered q\"}]",
		  "[{\"type\": \"function\", \"function\": {\"name\": \"case\"}}]",
		  "{\"type\": \"function\", \"function\": {\"name\": \"case\"}}" },
		{ "{\"id\": \"c\", \"input\": \"hi\"}", NULL, NULL, NULL, "\"none\"" },
	};
	size_t ti, pi, si, ci, n = 0;

	for (ti = 0; ti < sizeof(targets) / sizeof(targets[0]); ti++) {
		struct eg_config cfg;
		struct target t;
		cJSON *tobj = cJSON_Parse(targets[ti]);
		struct tree_target tg;

		write_target(targets[ti]);
		cr_assert_eq(config_load(&cfg, cfg_path), 0, "%s", th_stderr_take());
		cr_assert_eq(target_load(&t, &cfg), 0, "%s", th_stderr_take());
		tg.model = cfg.target.model;
		tg.system = cfg.target.system;
		tg.params = cfg.target.params;
		tg.tools = t.tools;
		tg.tool_choice = cJSON_GetObjectItem(tobj, "tool_choice");
		tg.stream = cJSON_IsTrue(cJSON_GetObjectItem(tobj, "stream"));
		for (pi = 0; pi < sizeof(suite_params) / sizeof(suite_params[0]); pi++)
		for (si = 0; si < sizeof(suite_tools) / sizeof(suite_tools[0]); si++)
		for (ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++) {
			cJSON *sp = parse_or_null(suite_params[pi]), *st = parse_or_null(suite_tools[si]);
			struct eg_case c;
			struct target_input in = { &c, pi ? "suite system" : NULL, sp, st, NULL };
			struct target_request rq;
			struct strbuf err = STRBUF_INIT;
			char *want;
			char key[65], want_key[65];

			make_case(&c, cases[ci].line);
			c.prompt = cases[ci].prompt ? xstrdup(cases[ci].prompt) : NULL;
			c.prompt_messages = parse_or_null(cases[ci].prompt_messages);
			c.tools = parse_or_null(cases[ci].tools);
			c.tool_choice = parse_or_null(cases[ci].tool_choice);
			want = tree_body(&tg, &in);
			cr_assert_eq(t.type->build_request(&t, &in, &rq, &err), 0);
			cr_assert_eq(rq.body_len, strlen(rq.body));
			cr_expect_str_eq(rq.body, want, "target %zu, suite params %zu, suite tools %zu, "
					 "case %zu", ti, pi, si, ci);
			cr_expect_eq(rq.stream, tg.stream);
			/* the same request, the same key: the cache of existing users stays valid */
			t.type->cache_key(&t, &rq, key);
			chat_cache_key(cfg.gateway.base_url, want, 0, want_key);
			cr_expect_str_eq(key, want_key);
			n++;
			free(want);
			target_request_release(&rq);
			free(c.prompt);
			cJSON_Delete(c.prompt_messages);
			cJSON_Delete(c.tools);
			cJSON_Delete(c.tool_choice);
			free_case(&c);
			cJSON_Delete(sp);
			cJSON_Delete(st);
			strbuf_release(&err);
		}
		target_release(&t);
		config_release(&cfg);
		cJSON_Delete(tobj);
	}
	cr_expect_eq(n, 4 * 3 * 2 * 10);
}

/* ------------------------------------------------------------ chat replies in one pass */

/* a body read by both readings: 1 when the single pass took it, after checking they agree */
static int read_both(const char *body, size_t len)
{
	struct target_reply fast, tree;
	struct strbuf why = STRBUF_INIT;
	int taken;

	target_reply_init(&fast);
	target_reply_init(&tree);
	taken = !chat_parse_reply_fast(body, len, &fast);
	if (taken) {
		cr_assert_eq(chat_parse_reply_tree(body, len, &tree, &why), TARGET_REPLY_OK,
			     "%s: %s", body, why.buf);
		cr_expect_eq(fast.output_len, tree.output_len, "%s", body);
		cr_expect_eq(memcmp(fast.output, tree.output, tree.output_len + 1), 0, "%s", body);
		if (tree.finish_reason)
			cr_expect_str_eq(fast.finish_reason ? fast.finish_reason : "(null)",
					 tree.finish_reason, "%s", body);
		else
			cr_expect_null(fast.finish_reason, "%s", body);
		cr_expect_eq(fast.prompt_tokens, tree.prompt_tokens, "%s", body);
		cr_expect_eq(fast.completion_tokens, tree.completion_tokens, "%s", body);
		cr_expect_null(tree.tool_calls, "%s", body);
	} else {
		cr_expect_null(fast.output, "a body the single pass leaves is untouched: %s", body);
	}
	target_reply_release(&fast);
	target_reply_release(&tree);
	strbuf_release(&why);
	return taken;
}

Test(chat_reply, the_single_pass_reads_as_the_tree_does)
{
	static const struct {
		const char *body;
		int taken;       /* the single pass reads it (else the tree) */
		const char *text; /* the answer (NULs as \0; NULL: the tree's reading only) */
		size_t len;
		const char *finish;
		long prompt, completion;
	} bodies[] = {
#define R(b, t, x, f, p, c) { b, t, x, sizeof(x) - 1, f, p, c }
		R("{\"id\":\"x\",\"object\":\"chat.completion\",\"model\":\"m\",\"choices\":[{\"index\":0,"
		  "\"message\":{\"role\":\"assistant\",\"content\":\"hello\",\"refusal\":null},"
		  "\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":12,"
		  "\"completion_tokens\":3,\"total_tokens\":15,\"prompt_tokens_details\":{\"cached_tokens\":0}},"
		  "\"system_fingerprint\":null}", 1, "hello", "stop", 12, 3),
		/* escapes, \u0000 with what follows, a surrogate pair, \u escapes upper and lower case */
		R("{\"choices\":[{\"message\":{\"content\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\u00E9"
		  "\\u0000e\\ud83d\\ude00\\u2028\"}}]}", 1,
		  "a\"b\\c/d\b\f\n\r\t\xc3\xa9\xc3\xa9\0e\xf0\x9f\x98\x80\xe2\x80\xa8", NULL, -1, -1),
		/* raw UTF-8 and bytes that are not UTF-8 are kept as they are */
		R("{\"choices\":[{\"message\":{\"content\":\"\xe6\x97\xa5 \xff\xfe\"}}]}", 1,
		  "\xe6\x97\xa5 \xff\xfe", NULL, -1, -1),
		/* whitespace everywhere, keys in any order */
		R(" \r\n\t{ \"usage\" : { \"completion_tokens\" : 7 , \"prompt_tokens\" : 0 } ,\n"
		  "  \"choices\" : [ { \"finish_reason\" : \"length\" , \"message\" : { \"content\" : "
		  "\"x\" , \"role\" : \"assistant\" } } , { \"message\" : { \"content\" : \"second\" } } ] ,"
		  " \"error\" : null } \n", 1, "x", "length", 0, 7),
		/* duplicate keys: the first counts, as in cJSON */
		R("{\"choices\":[{\"message\":{\"content\":\"first\",\"content\":\"second\"},"
		  "\"finish_reason\":\"stop\",\"finish_reason\":\"length\"}],\"choices\":[],"
		  "\"usage\":{\"prompt_tokens\":1,\"prompt_tokens\":2},\"usage\":{\"completion_tokens\":9}}",
		  1, "first", "stop", 1, -1),
		R("{\"error\":null,\"error\":{\"message\":\"later\"},\"choices\":[{\"message\":"
		  "{\"content\":\"ok\"},\"finish_reason\":null}],\"usage\":[1]}", 1, "ok", NULL, -1, -1),
		/* counts that are not whole numbers: the tree reads them */
		R("{\"choices\":[{\"message\":{\"content\":\"f\"}}],\"usage\":{\"prompt_tokens\":1.5e1,"
		  "\"completion_tokens\":2}}", 0, "f", NULL, 15, 2),
		R("{\"choices\":[{\"message\":{\"content\":\"f\"}}],\"usage\":{\"prompt_tokens\":3E0,"
		  "\"completion_tokens\":-1}}", 0, "f", NULL, 3, -1),
		R("{\"choices\":[{\"message\":{\"content\":\"f\"}}],\"usage\":{\"prompt_tokens\":\"3\","
		  "\"completion_tokens\":null}}", 1, "f", NULL, -1, -1),
		R("{\"choices\":[{\"message\":{\"content\":\"f\"}}],\"usage\":{\"prompt_tokens\":"
		  "123456789012345,\"completion_tokens\":1234567890123456}}", 0, "f", NULL,
		  123456789012345L, 1234567890123456L),
		/* the shapes the tree reads: parts, refusal, tool calls, escaped keys, a lone surrogate */
		R("{\"choices\":[{\"message\":{\"content\":[{\"text\":\"a\"},{\"text\":\"b\"}]}}]}",
		  0, "ab", NULL, -1, -1),
		R("{\"choices\":[{\"message\":{\"content\":null,\"refusal\":\"no\"}}]}", 0, "no", NULL,
		  -1, -1),
		R("{\"choices\":[{\"message\":{\"content\":\"\",\"tool_calls\":[{\"id\":\"c\",\"type\":"
		  "\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
		  "\"finish_reason\":\"tool_calls\"}]}", 0, "", "tool_calls", -1, -1),
		R("{\"choices\":[{\"message\":{\"\\u0063ontent\":\"escaped key\"}}]}", 0,
		  "escaped key", NULL, -1, -1),
		R("{\"choices\":[{\"message\":{\"content\":\"ok\"}}]} trailing", 0, "ok", NULL, -1, -1),
		/* not strict JSON, taken by cJSON: a leading zero */
		R("{\"choices\":[{\"message\":{\"content\":\"ok\"}}],\"n\":01}", 0, "ok", NULL, -1, -1),
		R("\xef\xbb\xbf{\"choices\":[{\"message\":{\"content\":\"bom\"}}]}", 0, "bom", NULL, -1, -1),
		R("{\"choices\":[{\"message\":{\"content\":\"raw\ttab\"}}]}", 0, "raw\ttab", NULL, -1, -1),
#undef R
	};
	/* what neither reads: the tree says why */
	static const char *const bad[] = {
		"{\"choices\":[{\"message\":{\"content\":\"\\ud800\"}}]}",
		"{\"choices\":[{\"message\":{\"content\":\"\\udc00\"}}]}",
		"{\"choices\":[{\"message\":{\"content\":\"a\\x\"}}]}",
		"{\"choices\":[{\"message\":{\"content\":\"ok\"}}],}",
		"{\"choices\":[{\"message\":{\"content\":\"ok\"}}]",
		"{\"choices\":[{\"message\":{\"content\":\"ok}}]}",
		"{\"choices\":[],\"usage\":{}}",
		"{\"error\":{\"message\":\"quota\"},\"choices\":[{\"message\":{\"content\":\"ok\"}}]}",
		"[{\"choices\":[{\"message\":{\"content\":\"ok\"}}]}]",
	};
	size_t i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct target_reply r;
		struct strbuf why = STRBUF_INIT;
		size_t len = strlen(bodies[i].body);

		cr_expect_eq(read_both(bodies[i].body, len), bodies[i].taken, "%s", bodies[i].body);
		target_reply_init(&r);
		cr_assert_eq(chat_parse_reply(bodies[i].body, len, &r, &why), TARGET_REPLY_OK,
			     "%s: %s", bodies[i].body, why.buf);
		cr_expect_eq(r.output_len, bodies[i].len, "%s", bodies[i].body);
		cr_expect_eq(memcmp(r.output, bodies[i].text, bodies[i].len + 1), 0, "%s", bodies[i].body);
		if (bodies[i].finish)
			cr_expect_str_eq(r.finish_reason ? r.finish_reason : "(null)", bodies[i].finish);
		else
			cr_expect_null(r.finish_reason, "%s", bodies[i].body);
		cr_expect_eq(r.prompt_tokens, bodies[i].prompt, "%s", bodies[i].body);
		cr_expect_eq(r.completion_tokens, bodies[i].completion, "%s", bodies[i].body);
		target_reply_release(&r);
		strbuf_release(&why);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct target_reply r;
		struct strbuf why = STRBUF_INIT;

		cr_expect_eq(read_both(bad[i], strlen(bad[i])), 0, "%s", bad[i]);
		target_reply_init(&r);
		cr_expect_eq(chat_parse_reply(bad[i], strlen(bad[i]), &r, &why), TARGET_REPLY_RETRY,
			     "%s", bad[i]);
		cr_expect_gt(why.len, 0, "%s", bad[i]);
		target_reply_release(&r);
		strbuf_release(&why);
	}
}
