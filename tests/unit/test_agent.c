/*
 * agent: the fixture matchers, tool calls as replies carry them, the chat
 * target's tools (case > suite > target) and its next-step request, the
 * load-time checks, and the tool scorers over a trajectory.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "case.h"
#include "config.h"
#include "helper.h"
#include "jsonutil.h"
#include "jsonw.h"
#include "scorer.h"
#include "strbuf.h"
#include "target.h"
#include "xalloc.h"
#include "banned.h"

TestSuite(agent_match);
TestSuite(agent_calls);
TestSuite(agent_check, .init = th_stderr_start);
TestSuite(agent_chat, .init = th_tmpdir_setup, .fini = th_tmpdir_teardown);
TestSuite(tool_scorers);

/* ------------------------------------------------------------ matchers */

static int match(const char *matcher, const char *value)
{
	cJSON *m = cJSON_Parse(matcher), *v = cJSON_Parse(value);
	int r;

	cr_assert_not_null(m, "%s", matcher);
	cr_assert_not_null(v, "%s", value);
	r = agent_match(m, v);
	cJSON_Delete(m);
	cJSON_Delete(v);
	return r;
}

Test(agent_match, plain_values_exact_objects_subset)
{
	cr_expect(match("\"A17\"", "\"A17\""));
	cr_expect(!match("\"A17\"", "\"a17\""));
	cr_expect(match("1", "1.0"), "numbers compare by value");
	cr_expect(!match("1", "\"1\""));
	cr_expect(match("{\"a\": 1}", "{\"a\": 1, \"b\": 2}"), "objects: the members given");
	cr_expect(!match("{\"a\": 1, \"c\": 3}", "{\"a\": 1, \"b\": 2}"));
	cr_expect(match("[1, 2]", "[1, 2]"));
	cr_expect(!match("[1, 2]", "[2, 1]"), "arrays are exact unless $subset");
}

Test(agent_match, operators)
{
	cr_expect(match("{\"$regex\": \"^A[0-9]+$\"}", "\"A17\""));
	cr_expect(!match("{\"$regex\": \"^A[0-9]+$\"}", "\"B17\""));
	cr_expect(match("{\"$regex\": \"^[0-9]+$\"}", "42"), "regex on a number's text");
	cr_expect(match("{\"$exact\": {\"a\": 1}}", "{\"a\": 1}"));
	cr_expect(!match("{\"$exact\": {\"a\": 1}}", "{\"a\": 1, \"b\": 2}"));
	cr_expect(match("{\"$subset\": [2]}", "[1, 2, 3]"));
	cr_expect(!match("{\"$subset\": [4]}", "[1, 2, 3]"));
	cr_expect(match("{\"$lte\": 100}", "100"));
	cr_expect(!match("{\"$lt\": 100}", "100"));
	cr_expect(match("{\"$gt\": 1}", "1.5"));
	cr_expect(!match("{\"$gte\": 2}", "1.5"));
	cr_expect(!match("{\"$lte\": 100}", "\"50\""), "bounds want numbers");
}

Test(agent_match, first_matching_fixture)
{
	cJSON *fx = cJSON_Parse("[{\"name\": \"t\", \"match\": {\"id\": \"A\"}, \"result\": 1},"
				"{\"name\": \"t\", \"result\": 2},"
				"{\"name\": \"u\", \"match\": {}, \"result\": 3}]");
	cJSON *a = cJSON_Parse("{\"id\": \"A\"}"), *b = cJSON_Parse("{\"id\": \"B\"}");
	const cJSON *hit;

	hit = agent_fixture_find(fx, "t", a);
	cr_expect_eq(cJSON_GetObjectItem(hit, "result")->valueint, 1);
	hit = agent_fixture_find(fx, "t", b);
	cr_expect_eq(cJSON_GetObjectItem(hit, "result")->valueint, 2);
	hit = agent_fixture_find(fx, "t", NULL);
	cr_expect_eq(cJSON_GetObjectItem(hit, "result")->valueint, 2,
		     "arguments that are not JSON match only a fixture without match");
	hit = agent_fixture_find(fx, "u", NULL);
	cr_expect_eq(cJSON_GetObjectItem(hit, "result")->valueint, 3);
	cr_expect_null(agent_fixture_find(fx, "v", a));
	cJSON_Delete(fx);
	cJSON_Delete(a);
	cJSON_Delete(b);
}

/* ------------------------------------------------------------ calls */

Test(agent_calls, normalised_from_both_forms)
{
	cJSON *in = cJSON_Parse("[{\"id\": \"c1\", \"type\": \"function\", \"function\": "
				"{\"name\": \"lookup\", \"arguments\": \"{\\\"id\\\": 7}\"}},"
				"{\"id\": \"c2\", \"function\": {\"name\": \"x\", \"arguments\": \"{bad\"}},"
				"{\"name\": \"y\", \"arguments\": {\"k\": true}}]");
	cJSON *out = agent_calls_normalize(in);
	char *text = jsonw_print(out, 0);

	cr_expect_str_eq(text, "[{\"id\":\"c1\",\"name\":\"lookup\",\"arguments\":\"{\\\"id\\\": 7}\","
			 "\"args\":{\"id\":7}},{\"id\":\"c2\",\"name\":\"x\",\"arguments\":\"{bad\","
			 "\"error\":\"arguments are not JSON\"},{\"id\":\"\",\"name\":\"y\","
			 "\"arguments\":\"{\\\"k\\\":true}\",\"args\":{\"k\":true}}]");
	cr_expect(!agent_call_failed(cJSON_GetArrayItem(out, 0)));
	cr_expect(agent_call_failed(cJSON_GetArrayItem(out, 1)));
	free(text);
	cJSON_Delete(out);
	cJSON_Delete(in);
	in = cJSON_Parse("[]");
	cr_expect_null(agent_calls_normalize(in), "no calls: NULL");
	cJSON_Delete(in);
	in = cJSON_Parse("[{\"tool\": \"search\"}]");
	cr_expect_null(agent_calls_normalize(in), "entries without a name are not calls");
	cJSON_Delete(in);
}

Test(agent_calls, chat_replies_keep_their_calls)
{
	static const char body[] = "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":null,"
				   "\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\",\"function\":"
				   "{\"name\":\"lookup\",\"arguments\":\"{}\"}}]},"
				   "\"finish_reason\":\"tool_calls\"}]}";
	struct target_reply r;
	struct strbuf why = STRBUF_INIT;
	char *extra;

	target_reply_init(&r);
	cr_assert_eq(chat_parse_reply(body, strlen(body), &r, &why), TARGET_REPLY_OK, "%s", why.buf);
	cr_expect_str_eq(r.output, "");
	cr_expect_str_eq(r.finish_reason, "tool_calls");
	cr_expect_str_eq(r.tool_calls, "[{\"id\":\"c1\",\"name\":\"lookup\",\"arguments\":\"{}\","
			 "\"args\":{}}]");
	r.trajectory = xstrdup("[{\"step\":1}]");
	extra = target_reply_extra_json(&r);
	target_reply_release(&r);
	cr_assert_eq(target_reply_extra_load(&r, extra), 0);
	cr_expect_str_eq(r.trajectory, "[{\"step\":1}]", "the trajectory travels with the reply");
	cr_expect_not_null(r.tool_calls);
	free(extra);
	target_reply_release(&r);
	strbuf_release(&why);
}

/* ------------------------------------------------------------ load-time checks */

/* run check on the JSON text; the message it printed, or "" when it passed */
static const char *checked(int (*check)(const struct jdoc *, const cJSON *, const char *),
			   const char *text)
{
	struct jdoc d;

	th_stderr_take();
	cr_assert_eq(jdoc_parse(&d, "cases.jsonl", 3, text, strlen(text)), 0);
	if (!check(&d, d.root, "tools"))
		cr_expect_str_eq(th_stderr_take(), "");
	jdoc_release(&d);
	return th_stderr_take();
}

Test(agent_check, tools)
{
	cr_expect_str_eq(checked(agent_tools_check, "[{\"type\": \"function\", \"function\": "
				 "{\"name\": \"a-b_9\", \"parameters\": {\"type\": \"object\"}}}]"), "");
	cr_expect_str_eq(checked(agent_tools_check, "{}"),
			 "evalgate: cases.jsonl:3: tools: expected an array of function tools\n");
	cr_expect_str_eq(checked(agent_tools_check, "[{\"type\": \"function\", \"function\": "
				 "{\"name\": \"a b\"}}]"),
			 "evalgate: cases.jsonl:3: tools[0].function.name: 'a b': use 1 to 64 "
			 "letters, digits, _ and -\n");
	cr_expect_str_eq(checked(agent_tools_check, "[{\"type\": \"function\", \"function\": "
				 "{\"name\": \"t\", \"parameters\": \"object\"}}]"),
			 "evalgate: cases.jsonl:3: tools[0].function.parameters: expected a JSON "
			 "Schema object, found a string\n");
	cr_expect_str_eq(checked(agent_tools_check, "[{\"type\": \"function\", \"function\": {\"name\": \"t\"}},\n"
				 "{\"type\": \"function\", \"function\": {\"name\": \"t\"}}]"),
			 "evalgate: cases.jsonl:4: tools[1].function.name: duplicate tool name 't' "
			 "(first at tools[0])\n");
	cr_expect_str_eq(checked(agent_tools_check, "[{\"type\": \"retrieval\"}]"),
			 "evalgate: cases.jsonl:3: tools[0].type: unknown tool type 'retrieval' "
			 "(function)\n");
}

Test(agent_check, fixtures_and_choice)
{
	cr_expect_str_eq(checked(agent_fixtures_check, "[{\"name\": \"t\", \"match\": {\"a\": "
				 "{\"$lte\": 3}, \"b\": {\"$regex\": \"^x\"}}, \"result\": {\"ok\": 1}}]"), "");
	cr_expect_str_eq(checked(agent_fixtures_check, "[{\"name\": \"t\"}]"),
			 "evalgate: cases.jsonl:3: tools[0].result: missing (a string or any JSON)\n");
	cr_expect_str_eq(checked(agent_fixtures_check, "[{\"name\": \"t\", \"match\": {\"a\": "
				 "{\"$near\": 3}}, \"result\": 1}]"),
			 "evalgate: cases.jsonl:3: tools[0].match: unknown matcher '$near' ($exact, "
			 "$subset, $regex, $lt, $lte, $gt or $gte)\n");
	cr_expect_str_eq(checked(agent_tool_choice_check, "\"required\""), "");
	cr_expect_str_eq(checked(agent_tool_choice_check, "{\"type\": \"function\", \"function\": "
				 "{\"name\": \"t\"}}"), "");
	cr_expect_neq(strlen(checked(agent_tool_choice_check, "\"always\"")), 0);
	cr_expect_str_eq(checked(agent_max_steps_check, "0"),
			 "evalgate: cases.jsonl:3: tools: expected a whole number from 1 to 1000\n");
}

/* ------------------------------------------------------------ the chat target */

static void load_chat(struct eg_config *cfg, struct target *t, const char *extra)
{
	const char *path = th_path("evalgate.json");

	th_writef(path, "{\"gateway\": {\"base_url\": \"http://127.0.0.1:9/v1\"},\n"
		  "\"target\": {\"name\": \"bot\", \"version\": \"1\", \"model\": \"m\"%s}}\n", extra);
	cr_assert_eq(config_load(cfg, path), 0);
	cr_assert_eq(target_load(t, cfg), 0);
}

#define TOOL(n) "{\"type\": \"function\", \"function\": {\"name\": \"" n "\"}}"

Test(agent_chat, tools_case_then_suite_then_target)
{
	struct eg_config cfg;
	struct target t;
	struct target_request rq;
	struct strbuf err = STRBUF_INIT;
	struct eg_case c = { 0 };
	cJSON *suite_tools = cJSON_Parse("[" TOOL("suite_tool") "]");
	struct target_input in = { &c, NULL, NULL, NULL, NULL };

	load_chat(&cfg, &t, ", \"tools\": [" TOOL("target_tool") "], \"tool_choice\": \"auto\", "
		  "\"max_steps\": 5");
	cr_expect_eq(t.max_steps, 5);
	c.id = "c";
	c.input = "hi";
	cr_assert_eq(t.type->build_request(&t, &in, &rq, &err), 0);
	cr_expect_not_null(strstr(rq.body, "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":"
				  "\"target_tool\"}}],\"tool_choice\":\"auto\""), "%s", rq.body);
	target_request_release(&rq);
	in.suite_tools = suite_tools;
	cr_assert_eq(t.type->build_request(&t, &in, &rq, &err), 0);
	cr_expect_not_null(strstr(rq.body, "suite_tool"), "%s", rq.body);
	cr_expect_null(strstr(rq.body, "target_tool"), "%s", rq.body);
	target_request_release(&rq);
	c.tools = cJSON_Parse("[" TOOL("case_tool") "]");
	c.tool_choice = cJSON_Parse("\"none\"");
	cr_assert_eq(t.type->build_request(&t, &in, &rq, &err), 0);
	cr_expect_not_null(strstr(rq.body, "\"name\":\"case_tool\"}}],\"tool_choice\":\"none\""),
			   "%s", rq.body);
	target_request_release(&rq);
	cJSON_Delete(c.tools);
	cJSON_Delete(c.tool_choice);
	cJSON_Delete(suite_tools);
	target_release(&t);
	config_release(&cfg);
	strbuf_release(&err);
}

Test(agent_chat, the_next_step_extends_the_conversation)
{
	struct eg_config cfg;
	struct target t;
	struct target_request rq, next;
	struct target_reply reply;
	struct strbuf err = STRBUF_INIT;
	struct eg_case c = { 0 };
	struct target_input in = { &c, NULL, NULL, NULL, NULL };
	cJSON *results = cJSON_Parse("[{\"tool_call_id\": \"c1\", \"content\": \"SHIPPED\"}]");

	load_chat(&cfg, &t, "");
	c.id = "c";
	c.input = "where?";
	cr_assert_eq(t.type->build_request(&t, &in, &rq, &err), 0);
	target_reply_init(&reply);
	reply.output = xstrdup("");
	reply.tool_calls = xstrdup("[{\"id\":\"c1\",\"name\":\"lookup\",\"arguments\":\"{\\\"id\\\":1}\"}]");
	cr_assert_not_null(t.type->continue_request);
	cr_assert_eq(t.type->continue_request(&t, &rq, &reply, results, &next, &err), 0, "%s", err.buf);
	cr_expect_str_eq(next.body, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
			 "\"where?\"},{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":"
			 "\"c1\",\"type\":\"function\",\"function\":{\"name\":\"lookup\",\"arguments\":"
			 "\"{\\\"id\\\":1}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":"
			 "\"SHIPPED\"}]}");
	target_request_release(&next);
	target_request_release(&rq);
	target_reply_release(&reply);
	cJSON_Delete(results);
	target_release(&t);
	config_release(&cfg);
	strbuf_release(&err);
}

/* ------------------------------------------------------------ the scorers */

/* lookup(A17) at step 1, then refund(A17, 500) and lookup(B2) at step 2, then the answer */
static const char trajectory[] =
	"[{\"step\": 1, \"tool_calls\": [{\"name\": \"lookup\", \"arguments\": \"{}\", "
	"\"args\": {\"id\": \"A17\"}}]},"
	" {\"step\": 2, \"tool_calls\": [{\"name\": \"refund\", \"arguments\": \"{}\", "
	"\"args\": {\"id\": \"A17\", \"amount\": 500}}, {\"name\": \"lookup\", \"arguments\": \"{}\", "
	"\"args\": {\"id\": \"B2\"}}]},"
	" {\"step\": 3, \"content\": \"done\", \"finish_reason\": \"stop\"}]";

static const char tools[] =
	"[{\"type\": \"function\", \"function\": {\"name\": \"refund\", \"parameters\": {\"type\": "
	"\"object\", \"properties\": {\"id\": {\"type\": \"string\"}, \"amount\": {\"type\": "
	"\"number\"}, \"reason\": {\"enum\": [\"broken\", \"late\"]}}, \"required\": [\"id\"]}}}]";

struct scored {
	int pass;
	double score;
	char reason[512];
};

static struct scored score(const char *spec_text)
{
	struct eg_loc loc = { "suite.json", 1, 1 };
	cJSON *spec = cJSON_Parse(spec_text), *traj = cJSON_Parse(trajectory);
	cJSON *decl = cJSON_Parse(tools);
	struct scorer s;
	struct score_job job;
	struct score_result res = { 0 };
	struct scored out;

	cr_assert_not_null(spec, "%s", spec_text);
	cr_assert_eq(scorer_init(&s, spec, &loc), 0, "%s", spec_text);
	memset(&job, 0, sizeof(job));
	job.output = "done";
	job.output_len = 4;
	job.finish_reason = "stop";
	job.trajectory = traj;
	job.tools = decl;
	job.max_steps = 8;
	cr_assert_eq(scorer_score(&s, &job, &res), SCORE_DONE);
	cr_assert_not(res.error, "%s", res.reason);
	out.pass = res.pass;
	out.score = res.score;
	snprintf(out.reason, sizeof(out.reason), "%s", res.reason);
	score_result_release(&res);
	score_job_release(&s, &job);
	scorer_release(&s);
	cJSON_Delete(spec);
	cJSON_Delete(traj);
	cJSON_Delete(decl);
	return out;
}

Test(tool_scorers, tool_called)
{
	struct scored r = score("{\"type\": \"tool-called\", \"tool\": \"refund\", \"never\": true}");

	cr_expect_not(r.pass);
	cr_expect_str_eq(r.reason, "step 2: refund called (1 time), expected never");
	r = score("{\"type\": \"tool-called\", \"name\": \"lookup\", \"min\": 2, \"max\": 2}");
	cr_expect(r.pass, "%s", r.reason);
	r = score("{\"type\": \"tool-called\", \"tool\": \"lookup\", \"max\": 1}");
	cr_expect_not(r.pass);
	cr_expect_str_eq(r.reason, "lookup called 2 times, expected 1 to 1");
	r = score("{\"type\": \"tool-called\", \"tool\": \"cancel\", \"never\": true}");
	cr_expect(r.pass);
}

Test(tool_scorers, tool_args)
{
	struct scored r = score("{\"type\": \"tool-args\", \"tool\": \"refund\", "
				"\"expect\": {\"amount\": {\"$lte\": 100}}}");

	cr_expect_not(r.pass);
	cr_expect_str_eq(r.reason, "step 2: refund called with amount=500, expected <= 100");
	r = score("{\"type\": \"tool-args\", \"tool\": \"refund\", \"expect\": {\"id\": \"A17\"}}");
	cr_expect(r.pass, "%s", r.reason);
	r = score("{\"type\": \"tool-args\", \"tool\": \"refund\", \"expect\": {\"id\": \"A17\"}, "
		  "\"mode\": \"exact\"}");
	cr_expect_str_eq(r.reason, "step 2: refund called with amount given, not expected");
	r = score("{\"type\": \"tool-args\", \"tool\": \"refund\", \"expect\": {\"id\": \"A17\"}, "
		  "\"mode\": \"exact\", \"ignore\": [\"^amo\"]}");
	cr_expect(r.pass, "%s", r.reason);
	r = score("{\"type\": \"tool-args\", \"tool\": \"lookup\", \"expect\": {\"id\": \"B2\"}}");
	cr_expect_not(r.pass);
	cr_expect_float_eq(r.score, 0.5, 1e-9);
	cr_expect_str_eq(r.reason, "step 1: lookup called with id=\"A17\", expected \"B2\"");
	r = score("{\"type\": \"tool-args\", \"tool\": \"lookup\", \"expect\": {\"id\": \"B2\"}, "
		  "\"calls\": \"any\"}");
	cr_expect(r.pass, "%s", r.reason);
	r = score("{\"type\": \"tool-args\", \"tool\": \"cancel\"}");
	cr_expect_str_eq(r.reason, "cancel never called");
}

Test(tool_scorers, tool_args_checks_the_declared_schema)
{
	cJSON *traj = cJSON_Parse("[{\"step\": 4, \"tool_calls\": [{\"name\": \"refund\", "
				  "\"arguments\": \"{}\", \"args\": {\"amount\": \"lots\", "
				  "\"reason\": \"bored\"}}]}]");
	cJSON *decl = cJSON_Parse(tools), *spec = cJSON_Parse("{\"type\": \"tool-args\", "
							      "\"tool\": \"refund\"}");
	cJSON *args = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(
		cJSON_GetArrayItem(traj, 0), "tool_calls"), 0), "args");
	struct eg_loc loc = { "suite.json", 1, 1 };
	struct scorer s;
	struct score_job job = { 0 };
	struct score_result res = { 0 };

	cr_assert_eq(scorer_init(&s, spec, &loc), 0);
	job.trajectory = traj;
	job.tools = decl;
	scorer_score(&s, &job, &res);
	cr_expect_str_eq(res.reason, "step 4: refund called with id missing (required)");
	score_result_release(&res);
	cJSON_AddStringToObject(args, "id", "A1");
	memset(&res, 0, sizeof(res));
	scorer_score(&s, &job, &res);
	cr_expect_str_eq(res.reason, "step 4: refund called with amount is a string, expected \"number\"");
	score_result_release(&res);
	cJSON_ReplaceItemInObject(args, "amount", cJSON_CreateNumber(3));
	memset(&res, 0, sizeof(res));
	scorer_score(&s, &job, &res);
	cr_expect_str_eq(res.reason, "step 4: refund called with reason=\"bored\", expected one of "
			 "[\"broken\",\"late\"]");
	score_result_release(&res);
	scorer_release(&s);
	cJSON_Delete(spec);
	cJSON_Delete(decl);
	cJSON_Delete(traj);
}

/* arrays, not pointers: Criterion copies the parameters into each test's process */
struct seq_case {
	char mode[16];
	char sequence[64];
	int pass;
};

ParameterizedTestParameters(tool_scorers, tool_sequence)
{
	/* the calls are lookup, refund, lookup */
	static struct seq_case cases[] = {
		{ "exact", "[\"lookup\", \"refund\", \"lookup\"]", 1 },
		{ "exact", "[\"lookup\", \"refund\"]", 0 },
		{ "in_order", "[\"lookup\", \"lookup\"]", 1 },
		{ "in_order", "[\"refund\", \"refund\"]", 0 },
		{ "subsequence", "[\"refund\", \"lookup\"]", 1 },
		{ "subsequence", "[\"lookup\", \"lookup\"]", 0 },
		{ "any_order", "[\"refund\", \"lookup\", \"lookup\"]", 1 },
		{ "any_order", "[\"refund\", \"refund\"]", 0 },
	};

	return cr_make_param_array(struct seq_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct seq_case *c, tool_scorers, tool_sequence)
{
	char spec[256];
	struct scored r;

	snprintf(spec, sizeof(spec), "{\"type\": \"tool-sequence\", \"mode\": \"%s\", "
		 "\"sequence\": %s}", c->mode, c->sequence);
	r = score(spec);
	cr_expect_eq(r.pass, c->pass, "%s: %s", spec, r.reason);
}

Test(tool_scorers, tool_f1_max_steps_finish_reason)
{
	struct scored r = score("{\"type\": \"tool-f1\", \"expected\": [\"lookup\", "
				"{\"name\": \"refund\", \"args\": {\"id\": \"A17\"}}], \"min\": 0.8}");

	/* 2 of 3 calls expected, both expected calls made: P 2/3, R 1, F1 0.8 */
	cr_expect_float_eq(r.score, 0.8, 1e-9);
	cr_expect(r.pass, "%s", r.reason);
	r = score("{\"type\": \"tool-f1\", \"expected\": [\"cancel\"]}");
	cr_expect_float_eq(r.score, 0, 1e-9);
	r = score("{\"type\": \"max-steps\", \"max\": 3}");
	cr_expect(r.pass, "%s", r.reason);
	r = score("{\"type\": \"max-steps\", \"max\": 2}");
	cr_expect_str_eq(r.reason, "3 steps > max 2");
	r = score("{\"type\": \"finish-reason\", \"expected\": [\"stop\", \"length\"]}");
	cr_expect(r.pass, "%s", r.reason);
	r = score("{\"type\": \"finish-reason\", \"expected\": \"length\"}");
	cr_expect_str_eq(r.reason, "finish_reason \"stop\", expected \"length\"");
}

Test(tool_scorers, the_judge_sees_the_trajectory)
{
	struct eg_loc loc = { "suite.json", 1, 1 };
	cJSON *spec = cJSON_Parse("{\"type\": \"judge\", \"rubric\": \"no refunds\", \"model\": \"j\"}");
	cJSON *traj = cJSON_Parse(trajectory);
	struct eg_case c = { 0 };
	struct scorer s;
	struct score_job job;
	struct score_result res = { 0 };

	c.id = "c";
	c.input = "refund A17";
	cr_assert_eq(scorer_init(&s, spec, &loc), 0);
	memset(&job, 0, sizeof(job));
	job.kase = &c;
	job.output = "done";
	job.output_len = 4;
	job.trajectory = traj;
	cr_assert_eq(scorer_score(&s, &job, &res), SCORE_WAIT);
	cr_assert_geq(job.n_calls, 1);
	cr_expect_not_null(strstr(job.calls[0].body, "<trajectory>\\nstep 1\\n  call lookup({})\\n"
				  "step 2\\n  call refund({})\\n  call lookup({})\\n"
				  "step 3 (stop): done\\n</trajectory>"),
			   "%s", job.calls[0].body);
	score_job_release(&s, &job);
	job.trajectory = NULL;
	cr_assert_eq(scorer_score(&s, &job, &res), SCORE_WAIT);
	cr_expect_null(strstr(job.calls[0].body, "<trajectory>"), "no trajectory, no section");
	score_job_release(&s, &job);
	scorer_release(&s);
	cJSON_Delete(spec);
	cJSON_Delete(traj);
}

TestSuite(agent_conversation);

/* an application's steps in the stored form: texts, calls in either form, their results */
Test(agent_conversation, trajectory_normalize)
{
	cJSON *in = cJSON_Parse(
		"[{\"assistant\": \"looking\", \"tool_calls\": [{\"name\": \"lookup\", \"arguments\": {\"id\": 1},"
		"   \"result\": {\"status\": \"ok\"}},"
		"  {\"function\": {\"name\": \"refund\", \"arguments\": \"{bad\"}}],"
		"  \"tool_results\": [\"unused\", \"REFUNDED\"]},"
		" {\"content\": \"done\"}]");
	struct strbuf why = STRBUF_INIT;
	cJSON *out = agent_trajectory_normalize(in, &why, NULL);
	char *text;

	cr_assert_not_null(out, "%s", why.buf);
	text = jsonw_print(out, 0);
	cr_assert_str_eq(text,
		"[{\"step\":1,\"content\":\"looking\",\"finish_reason\":\"tool_calls\",\"tool_calls\":["
		"{\"id\":\"\",\"name\":\"lookup\",\"arguments\":\"{\\\"id\\\":1}\",\"args\":{\"id\":1},"
		"\"result\":\"{\\\"status\\\":\\\"ok\\\"}\"},"
		"{\"id\":\"\",\"name\":\"refund\",\"arguments\":\"{bad\",\"error\":\"arguments are not JSON\","
		"\"result\":\"REFUNDED\"}]},"
		"{\"step\":2,\"content\":\"done\",\"finish_reason\":\"stop\"}]");
	free(text);
	cJSON_Delete(out);
	cJSON_Delete(in);
	in = cJSON_Parse("[{\"content\": \"a\"}, 3]");
	cr_assert_null(agent_trajectory_normalize(in, &why, NULL));
	cr_assert_str_eq(why.buf, "step 2 is a number, expected an object");
	cJSON_Delete(in);
	strbuf_reset(&why);
	in = cJSON_Parse("{\"steps\": []}");
	cr_assert_null(agent_trajectory_normalize(in, &why, NULL));
	cr_assert_str_eq(why.buf, "the value is an object, expected an array of steps");
	cJSON_Delete(in);
	strbuf_release(&why);
}

/* a turn's steps, the transcript the simulated user sees, its request and its stop token */
Test(agent_conversation, turns_and_the_simulated_user)
{
	cJSON *traj = cJSON_Parse(
		"[{\"step\": 1, \"turn\": 1, \"user\": \"hi\", \"content\": \"Hello\"},"
		" {\"step\": 2, \"turn\": 2, \"user\": \"order A1\", \"content\": \"\","
		"  \"tool_calls\": [{\"name\": \"lookup\"}]},"
		" {\"step\": 3, \"turn\": 2, \"content\": \"shipped\"}]");
	struct eg_simulate sim = { (char *)"a shopper", (char *)"find A1", NULL, 3 };
	cJSON *params = cJSON_Parse("{\"temperature\": 0.7, \"max_tokens\": 50}");
	struct strbuf sb = STRBUF_INIT;
	cJSON *steps = agent_turn_steps(traj, 2), *body;
	char *req;

	cr_assert_eq(cJSON_GetArraySize(steps), 2);
	cr_assert_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(steps, 0), "step")->valueint, 2);
	cJSON_Delete(steps);
	steps = agent_turn_steps(traj, 3);
	cr_assert_eq(cJSON_GetArraySize(steps), 0);
	cJSON_Delete(steps);
	agent_transcript(&sb, traj);
	cr_assert_str_eq(sb.buf, "User: hi\nAssistant: Hello\nUser: order A1\nAssistant: shipped\n");
	req = agent_user_request(&sim, "sim-model", params, traj);
	body = cJSON_Parse(req);
	cr_assert_str_eq(cJSON_GetObjectItem(body, "model")->valuestring, "sim-model");
	cr_assert_eq(cJSON_GetObjectItem(body, "temperature")->valuedouble, 0);
	cr_assert_eq(cJSON_GetObjectItem(body, "max_tokens")->valueint, 50);
	cr_assert_not_null(strstr(cJSON_GetArrayItem(cJSON_GetObjectItem(body, "messages"), 0)
				  ->child->next->valuestring, "Persona: a shopper\nGoal: find A1\n"));
	cr_assert_not_null(strstr(cJSON_GetArrayItem(cJSON_GetObjectItem(body, "messages"), 1)
				  ->child->next->valuestring, "Assistant: shipped\n"));
	cr_assert(agent_user_stops("###STOP###"));
	cr_assert(agent_user_stops("ok, thanks. ###STOP###"));
	cr_assert(agent_user_stops(""));
	cr_assert_not(agent_user_stops("where is it?"));
	free(req);
	cJSON_Delete(body);
	cJSON_Delete(params);
	cJSON_Delete(traj);
	strbuf_release(&sb);
}

/* arguments with a NUL are not JSON: the call is an error and nothing after the NUL is lost */
Test(agent, arguments_with_a_nul_are_an_error_and_kept_whole)
{
	static const char body[] = "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":null,"
				   "\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\",\"function\":"
				   "{\"name\":\"lookup\",\"arguments\":\"{\\\"q\\\":1}\\u0000rm -rf\"}}]},"
				   "\"finish_reason\":\"tool_calls\"}]}";
	struct target_reply r;
	struct strbuf why = STRBUF_INIT;

	target_reply_init(&r);
	cr_assert_eq(chat_parse_reply(body, strlen(body), &r, &why), TARGET_REPLY_OK, "%s", why.buf);
	cr_expect_str_eq(r.tool_calls, "[{\"id\":\"c1\",\"name\":\"lookup\",\"arguments\":"
			 "\"{\\\"q\\\":1}\\\\u0000rm -rf\",\"error\":\"arguments are not JSON (a NUL in them)\"}]");
	/* normalised again (the agent loop's trajectory): still an error */
	{
		cJSON *given = cJSON_Parse(r.tool_calls), *again = agent_calls_normalize(given);
		const cJSON *call = cJSON_GetArrayItem(again, 0);

		cr_expect_null(cJSON_GetObjectItemCaseSensitive(call, "args"));
		cr_expect_str_eq(cJSON_GetObjectItemCaseSensitive(call, "error")->valuestring,
				 "arguments are not JSON (a NUL in them)");
		cJSON_Delete(again);
		cJSON_Delete(given);
	}
	target_reply_release(&r);
	strbuf_release(&why);
}
