/*
 * Unit tests of the scorer registry and the deterministic scorers: every type
 * passing and failing, negate, spec errors with their messages, awkward
 * outputs (empty, invalid UTF-8, embedded NUL, 1 MiB) and concurrent use.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <omp.h>

#include "scorer.h"
#include "scorer_helper.h"
#include "strbuf.h"
#include "types.h"
#include "xalloc.h"
#include "banned.h"

struct eg_loc th_scorer_loc = { "suites/x/cases.jsonl", 17, 2 };
#define LOC_PREFIX "evalgate: suites/x/cases.jsonl:17: scorer 2: "

/* ---- table: spec, output, expected verdict and a piece of the reason ---- */

/* a string parameter kept its terminating NUL */
#define FITS(a) (memchr((a), '\0', sizeof(a)) != NULL)

/*
 * Parameters reach the test process through shared memory, where pointers
 * into this binary are not valid: strings are held in arrays.
 */
struct verdict_case {
	char spec[128];
	char output[48];
	int pass;
	char reason[80]; /* substring of the reason */
};

ParameterizedTestParameters(scorers, verdicts)
{
	static struct verdict_case cases[] = {
		/* equals: trims by default */
		{ "{\"type\":\"equals\",\"value\":\"Paris\"}", "Paris", 1, "output equals \"Paris\"" },
		{ "{\"type\":\"equals\",\"value\":\"Paris\"}", "  Paris\n", 1, "equals" },
		{ "{\"type\":\"equals\",\"value\":\" Paris \"}", "Paris", 1, "equals \"Paris\"" },
		{ "{\"type\":\"equals\",\"value\":\"Paris\",\"trim\":false}", " Paris\n", 0,
		  "output \" Paris\\n\" does not equal \"Paris\" (differs at byte 0)" },
		{ "{\"type\":\"equals\",\"value\":\"Paris\"}", "paris", 0, "differs at byte 0" },
		{ "{\"type\":\"equals\",\"value\":\"Paris\"}", "Parisian", 0, "differs at byte 5" },
		{ "{\"type\":\"equals\",\"value\":\"Paris\"}", "", 0, "output is empty, expected \"Paris\"" },
		/* contains: byte for byte */
		{ "{\"type\":\"contains\",\"value\":\"refund\"}", "You get a refund in 30 days", 1,
		  "output contains \"refund\"" },
		{ "{\"type\":\"contains\",\"value\":\"refund\"}", "Refunds are possible", 0,
		  "output does not contain \"refund\"" },
		{ "{\"type\":\"contains\",\"value\":\"refund\"}", "", 0, "does not contain" },
		{ "{\"type\":\"contains\",\"value\":\"caf\\u00e9\"}", "un café noir", 1, "contains" },
		/* icontains: ASCII and Unicode folding */
		{ "{\"type\":\"icontains\",\"value\":\"REFUND\"}", "a Refund is due", 1,
		  "output contains \"REFUND\" (ignoring case)" },
		{ "{\"type\":\"icontains\",\"value\":\"refund\"}", "a reFUnD", 1, "ignoring case" },
		{ "{\"type\":\"icontains\",\"value\":\"refund\"}", "a refun", 0,
		  "output does not contain \"refund\" (ignoring case)" },
		{ "{\"type\":\"icontains\",\"value\":\"AU\"}", "café au lait", 1, "contains" },
		{ "{\"type\":\"icontains\",\"value\":\"RÉSUMÉ\"}", "send your résumé today", 1,
		  "contains \"RÉSUMÉ\"" },
		{ "{\"type\":\"icontains\",\"value\":\"résumé\"}", "SEND YOUR RÉSUMÉ", 1, "contains" },
		{ "{\"type\":\"icontains\",\"value\":\"RÉSUMÉ\"}", "send your resume", 0,
		  "does not contain" },
		{ "{\"type\":\"icontains\",\"value\":\"ΣΟΦΙΑ\"}", "η σοφια", 1, "contains" },
		/* KELVIN SIGN folds to k */
		{ "{\"type\":\"icontains\",\"value\":\"kelvin\"}", "273 \xe2\x84\xaa" "ELVIN", 1, "contains" },
		{ "{\"type\":\"icontains\",\"value\":\"x\"}", "", 0, "does not contain" },
		/* starts-with: after leading whitespace */
		{ "{\"type\":\"starts-with\",\"value\":\"Yes\"}", "Yes, you can", 1,
		  "output starts with \"Yes\"" },
		{ "{\"type\":\"starts-with\",\"value\":\"Yes\"}", "\n\t  Yes.", 1, "starts with" },
		{ "{\"type\":\"starts-with\",\"value\":\"Yes\"}", "\xef\xbb\xbfYes.", 1, "starts with" },
		{ "{\"type\":\"starts-with\",\"value\":\"Yes\"}", "No, yes", 0,
		  "output starts with \"No, yes\", not \"Yes\"" },
		{ "{\"type\":\"starts-with\",\"value\":\"Yes\"}", "Ye", 0, "not \"Yes\"" },
		{ "{\"type\":\"starts-with\",\"value\":\"Yes\"}", "   ", 0, "output is empty" },
		/* regex and its flags */
		{ "{\"type\":\"regex\",\"pattern\":\"\\\\b30 days\\\\b\",\"flags\":\"i\"}",
		  "within 30 Days of purchase", 1, "regex /\\b30 days\\b/i matched \"30 Days\"" },
		{ "{\"type\":\"regex\",\"pattern\":\"\\\\b30 days\\\\b\"}", "within 30 Days", 0,
		  "regex /\\b30 days\\b/ did not match" },
		{ "{\"type\":\"regex\",\"pattern\":\"\\\\b30 days\\\\b\"}", "within 130 days", 0,
		  "did not match" },
		{ "{\"type\":\"regex\",\"pattern\":\"^b$\",\"flags\":\"m\"}", "a\nb\nc", 1, "matched \"b\"" },
		{ "{\"type\":\"regex\",\"pattern\":\"^b$\"}", "a\nb\nc", 0, "did not match" },
		{ "{\"type\":\"regex\",\"pattern\":\"a.b\",\"flags\":\"s\"}", "a\nb", 1, "matched \"a\\nb\"" },
		{ "{\"type\":\"regex\",\"pattern\":\"a.b\"}", "a\nb", 0, "did not match" },
		{ "{\"type\":\"regex\",\"pattern\":\"a b # comment\\n c\",\"flags\":\"x\"}", "abc", 1,
		  "matched" },
		{ "{\"type\":\"regex\",\"pattern\":\"a b c\"}", "abc", 0, "did not match" },
		{ "{\"type\":\"regex\",\"pattern\":\"A B\",\"flags\":\"xi\"}", "ab", 1, "/xi matched" },
		{ "{\"type\":\"regex\",\"pattern\":\"\\\\bcafé\\\\b\"}", "un café noir", 1, "matched" },
		{ "{\"type\":\"regex\",\"pattern\":\"\\\\w+\"}", "élan", 1, "matched \"élan\"" },
		{ "{\"type\":\"regex\",\"pattern\":\"^$\"}", "", 1, "matched" },
		{ "{\"type\":\"regex\",\"pattern\":\"(a)(b)(c)\"}", "xabc", 1, "matched \"abc\"" },
		/* json */
		{ "{\"type\":\"json\"}", "{\"a\": 1}", 1, "output is valid JSON" },
		{ "{\"type\":\"json\"}", "  [1, 2]\n", 1, "valid JSON" },
		{ "{\"type\":\"json\"}", "```json\n{\"a\": 1}\n```", 1, "valid JSON" },
		{ "{\"type\":\"json\"}", "\n```\n{\"a\": 1}\n```\n", 1, "valid JSON" },
		{ "{\"type\":\"json\"}", "```{\"a\":1}```", 1, "valid JSON" },
		{ "{\"type\":\"json\"}", "not json", 0,
		  "output is not valid JSON: error at byte 0 near \"not json\"" },
		{ "{\"type\":\"json\"}", "{\"a\": 1,}", 0, "error at byte 8" },
		{ "{\"type\":\"json\"}", "{\"a\": 1} and more", 0, "unexpected text at byte 9" },
		{ "{\"type\":\"json\"}", "", 0, "output is empty, expected JSON" },
		{ "{\"type\":\"json\"}", "```json\n```", 0, "output is empty" },
		{ "{\"type\":\"json\",\"required\":[\"id\",\"total\"]}", "{\"id\":1,\"total\":2}", 1,
		  "2 required keys present" },
		{ "{\"type\":\"json\",\"required\":[\"id\",\"total\"]}", "{\"id\":1}", 0,
		  "missing required key \"total\"" },
		{ "{\"type\":\"json\",\"required\":[\"id\"]}", "{\"ID\":1}", 0, "missing required key \"id\"" },
		{ "{\"type\":\"json\",\"required\":[\"id\"]}", "[{\"id\":1}]", 0,
		  "output is an array, expected an object with \"id\"" },
		{ "{\"type\":\"json\",\"path\":\"a.b.0.c\",\"equals\":\"x\"}",
		  "{\"a\":{\"b\":[{\"c\":\"x\"}]}}", 1, "path \"a.b.0.c\" equals \"x\"" },
		{ "{\"type\":\"json\",\"path\":\"a.b.0.c\",\"equals\":\"x\"}",
		  "{\"a\":{\"b\":[{\"c\":\"X\"}]}}", 0, "path \"a.b.0.c\" is \"X\", expected \"x\"" },
		{ "{\"type\":\"json\",\"path\":\"a.b.1.c\",\"equals\":\"x\"}",
		  "{\"a\":{\"b\":[{\"c\":\"x\"}]}}", 0, "path \"a.b.1.c\" not found at \"1\"" },
		{ "{\"type\":\"json\",\"path\":\"a.b\"}", "{\"a\":{\"c\":1}}", 0, "not found at \"b\"" },
		{ "{\"type\":\"json\",\"path\":\"a.b\"}", "{\"a\":{\"b\":null}}", 1, "path \"a.b\" exists" },
		{ "{\"type\":\"json\",\"path\":\"a.0\"}", "{\"a\":{\"0\":true}}", 1, "exists" },
		{ "{\"type\":\"json\",\"path\":\"n\",\"equals\":3}", "{\"n\":3.0}", 1, "equals 3" },
		{ "{\"type\":\"json\",\"path\":\"n\",\"equals\":3}", "{\"n\":\"3\"}", 0, "is \"3\", expected 3" },
		{ "{\"type\":\"json\",\"path\":\"o\",\"equals\":{\"x\":1,\"y\":[true,null]}}",
		  "{\"o\":{\"y\":[true,null],\"x\":1}}", 1, "equals" },
		{ "{\"type\":\"json\",\"equals\":[1,2]}", "[1,2]", 1, "valid JSON equal to [1,2]" },
		{ "{\"type\":\"json\",\"equals\":[1,2]}", "[2,1]", 0, "output is [2,1], expected [1,2]" },
	};

	return cr_make_param_array(struct verdict_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct verdict_case *c, scorers, verdicts)
{
	struct scorer s;
	struct score_result r;

	cr_assert(FITS(c->spec) && FITS(c->output) && FITS(c->reason));
	th_scorer_init_ok(&s, c->spec);
	th_score_str(&s, c->output, &r);
	cr_expect_eq(r.pass, c->pass, "%s on \"%s\": pass %d (%s)", c->spec, c->output, r.pass,
		     r.reason);
	cr_expect_eq(r.error, 0);
	cr_expect_float_eq(r.score, c->pass ? 1.0 : 0.0, 1e-9);
	cr_expect_not_null(strstr(r.reason, c->reason), "reason \"%s\" lacks \"%s\"", r.reason,
			   c->reason);
	score_result_release(&r);
	scorer_release(&s);
}

/* ---- table: spec errors and their messages ---- */

struct init_case {
	char spec[64];
	char message[112]; /* substring of stderr */
};

ParameterizedTestParameters(scorers, init_errors)
{
	static struct init_case cases[] = {
		{ "[1]", "scorer 2: a scorer must be an object, not an array" },
		{ "{\"value\":\"x\"}", "scorer 2: missing required field \"type\" (one of: equals," },
		{ "{\"type\":3}", "field \"type\" must be a string, not a number" },
		{ "{\"type\":\"nope\"}",
		  "scorer 2: unknown scorer type \"nope\" (known: equals, contains, icontains, "
		  "starts-with, regex, json, latency" },
		{ "{\"type\":\"contains\",\"valeu\":\"x\"}",
		  "contains: unknown field \"valeu\" (did you mean \"value\"?)" },
		{ "{\"type\":\"contains\",\"value\":\"x\",\"color\":\"red\"}",
		  "contains: unknown field \"color\"\n" },
		{ "{\"type\":\"contains\",\"value\":\"x\",\"trim\":true}", "contains: unknown field \"trim\"" },
		{ "{\"type\":\"contains\",\"value\":\"a\",\"value\":\"b\"}", "duplicate field \"value\"" },
		{ "{\"type\":\"contains\"}", "scorer 2: contains: missing required field \"value\"" },
		{ "{\"type\":\"contains\",\"value\":3}", "field \"value\" must be a string, not a number" },
		{ "{\"type\":\"equals\",\"value\":null}", "field \"value\" must be a string, not null" },
		{ "{\"type\":\"starts-with\",\"value\":[\"a\"]}", "must be a string, not an array" },
		{ "{\"type\":\"icontains\",\"value\":\"\"}", "field \"value\" must not be empty" },
		{ "{\"type\":\"equals\",\"value\":\"  \"}", "equals: field \"value\" is only whitespace" },
		{ "{\"type\":\"equals\",\"value\":\"x\",\"trim\":1}",
		  "field \"trim\" must be true or false, not a number" },
		{ "{\"type\":\"icontains\",\"value\":\"caf\xc3\"}", "value\" is not valid UTF-8 (byte 3)" },
		{ "{\"type\":\"contains\",\"value\":\"x\",\"negate\":\"yes\"}",
		  "field \"negate\" must be true or false, not a string" },
		{ "{\"type\":\"contains\",\"value\":\"x\",\"name\":\"\"}", "field \"name\" must not be empty" },
		{ "{\"type\":\"contains\",\"value\":\"x\",\"name\":7}", "field \"name\" must be a string" },
		{ "{\"type\":\"regex\"}", "regex: missing required field \"pattern\"" },
		{ "{\"type\":\"regex\",\"pattern\":\"\"}", "field \"pattern\" must not be empty" },
		{ "{\"type\":\"regex\",\"pattern\":\"(abc\"}",
		  "evalgate: suites/x/cases.jsonl:17: scorer 2: regex: missing closing parenthesis at offset 4\n" },
		{ "{\"type\":\"regex\",\"pattern\":\"a[b\"}", "regex: missing terminating ] for character class at offset 3" },
		{ "{\"type\":\"regex\",\"pattern\":\"a\",\"flags\":\"ig\"}",
		  "regex: unknown flag \"g\" in \"flags\" (allowed: i, m, s, x)" },
		{ "{\"type\":\"regex\",\"pattern\":\"a\",\"flags\":true}", "field \"flags\" must be a string" },
		{ "{\"type\":\"regex\",\"pattern\":\"a\",\"flag\":\"i\"}",
		  "unknown field \"flag\" (did you mean \"flags\"?)" },
		{ "{\"type\":\"latency\"}", "latency: missing required field \"max_ms\"" },
		{ "{\"type\":\"latency\",\"max_ms\":0}", "field \"max_ms\" must be positive, not 0" },
		{ "{\"type\":\"latency\",\"max_ms\":-5}", "must be positive" },
		{ "{\"type\":\"latency\",\"max_ms\":\"4000\"}", "field \"max_ms\" must be a number, not a string" },
		{ "{\"type\":\"json\",\"required\":\"id\"}", "json: field \"required\" must be an array" },
		{ "{\"type\":\"json\",\"required\":[\"id\",2]}", "field \"required\": item 2 must be a non-empty string" },
		{ "{\"type\":\"json\",\"path\":\"a..b\"}", "field \"path\" has an empty segment in \"a..b\"" },
		{ "{\"type\":\"json\",\"path\":\"a.\"}", "empty segment" },
		{ "{\"type\":\"json\",\"path\":\"\"}", "field \"path\" must not be empty" },
		{ "{\"type\":\"json\",\"path\":[\"a\"]}", "field \"path\" must be a string" },
		{ "{\"type\":\"json\",\"equal\":1}", "unknown field \"equal\" (did you mean \"equals\"?)" },
	};

	return cr_make_param_array(struct init_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct init_case *c, scorers, init_errors)
{
	char msg[1024];

	cr_assert(FITS(c->spec) && FITS(c->message));
	cr_assert_eq(th_scorer_try(c->spec, msg, sizeof(msg)), -1, "init accepted %s", c->spec);
	cr_expect_not_null(strstr(msg, c->message), "stderr \"%s\" lacks \"%s\"", msg, c->message);
	cr_expect_eq(strncmp(msg, LOC_PREFIX, strlen(LOC_PREFIX)), 0,
		     "message not located: %s", msg);
	cr_expect_eq(strchr(msg, '\n'), msg + strlen(msg) - 1, "not one line: %s", msg);
}

/* ---- registry ---- */

Test(scorers, registry)
{
	static const char *const names[] = { "equals", "contains", "icontains", "starts-with",
					     "regex", "json", "latency" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct scorer_type *t = scorer_type_find(names[i]);
		cr_assert_not_null(t, "%s not registered", names[i]);
		cr_expect_str_eq(t->name, names[i]);
		cr_expect_not_null(strstr(scorer_type_names(), names[i]));
	}
	cr_expect_null(scorer_type_find("Regex"));
	cr_expect_null(scorer_type_find(""));
	cr_expect_null(scorer_type_find(NULL));
}

Test(scorers, label_and_release)
{
	struct scorer s;

	th_scorer_init_ok(&s, "{\"type\":\"contains\",\"value\":\"x\"}");
	cr_expect_str_eq(s.label, "contains");
	cr_expect_eq(s.negate, 0);
	scorer_release(&s);
	cr_expect_null(s.label);
	cr_expect_null(s.ctx);

	th_scorer_init_ok(&s, "{\"type\":\"regex\",\"pattern\":\"x\",\"name\":\"mentions x\","
			      "\"negate\":true}");
	cr_expect_str_eq(s.label, "mentions x");
	cr_expect_eq(s.negate, 1);
	scorer_release(&s);
}

/* ---- negate ---- */

struct negate_case {
	char spec[80];
	char output[16];
	int pass;          /* after negation */
	char reason[48];   /* start of the reason */
};

ParameterizedTestParameters(scorers, negate)
{
	static struct negate_case cases[] = {
		{ "{\"type\":\"contains\",\"value\":\"sorry\",\"negate\":true}", "I am sorry", 0,
		  "negated: output contains \"sorry\"" },
		{ "{\"type\":\"contains\",\"value\":\"sorry\",\"negate\":true}", "Sure!", 1,
		  "negated: output does not contain \"sorry\"" },
		{ "{\"type\":\"contains\",\"value\":\"sorry\",\"negate\":false}", "Sure!", 0,
		  "output does not contain" },
		{ "{\"type\":\"regex\",\"pattern\":\"as an ai\",\"flags\":\"i\",\"negate\":true}",
		  "As an AI model", 0, "negated: regex /as an ai/i matched" },
		{ "{\"type\":\"json\",\"negate\":true}", "plain text", 1, "negated: output is not valid JSON" },
		{ "{\"type\":\"equals\",\"value\":\"no\",\"negate\":true}", "yes", 1, "negated: output" },
	};

	return cr_make_param_array(struct negate_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct negate_case *c, scorers, negate)
{
	struct scorer s;
	struct score_result r;

	cr_assert(FITS(c->spec) && FITS(c->output) && FITS(c->reason));
	th_scorer_init_ok(&s, c->spec);
	th_score_str(&s, c->output, &r);
	cr_expect_eq(r.pass, c->pass, "%s: %s", c->spec, r.reason);
	cr_expect_float_eq(r.score, c->pass ? 1.0 : 0.0, 1e-9);
	cr_expect_eq(strncmp(r.reason, c->reason, strlen(c->reason)), 0, "reason \"%s\"", r.reason);
	score_result_release(&r);
	scorer_release(&s);
}

Test(scorers, negate_never_turns_an_error_into_a_pass)
{
	struct scorer s;
	struct score_job job = { .output = "x", .output_len = 1, .latency_ms = NAN };
	struct score_result r;

	th_scorer_init_ok(&s, "{\"type\":\"latency\",\"max_ms\":100,\"negate\":true}");
	th_score_job(&s, &job, &r);
	cr_expect_eq(r.error, 1);
	cr_expect_eq(r.pass, 0);
	cr_expect_float_eq(r.score, 0.0, 1e-12);
	cr_expect_str_eq(r.reason, "latency was not measured");
	score_result_release(&r);
	scorer_release(&s);
}

/* ---- latency ---- */

struct latency_case {
	double max_ms;
	double latency;
	int pass;
	int error;
	double score;
	char reason[40]; /* exact */
};

ParameterizedTestParameters(scorers, latency)
{
	static struct latency_case cases[] = {
		{ 4000, 1200, 1, 0, 1, "latency 1200 ms <= max 4000 ms" },
		{ 4000, 4000, 1, 0, 1, "latency 4000 ms <= max 4000 ms" },
		{ 4000, 4000.5, 0, 0, 4000 / 4000.5, "latency 4000.5 ms > max 4000 ms" },
		{ 4000, 5230, 0, 0, 4000.0 / 5230, "latency 5230 ms > max 4000 ms" },
		{ 4000, 8000, 0, 0, 0.5, "latency 8000 ms > max 4000 ms" },
		{ 4000, 0, 1, 0, 1, "latency 0 ms <= max 4000 ms" },
		{ 0.5, 0.25, 1, 0, 1, "latency 0.2 ms <= max 0.5 ms" },
		{ 4000, -1, 0, 1, 0, "latency was not measured" },
		{ 4000, NAN, 0, 1, 0, "latency was not measured" },
		{ 4000, INFINITY, 0, 0, 0, "latency inf ms > max 4000 ms" },
	};

	return cr_make_param_array(struct latency_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct latency_case *c, scorers, latency)
{
	struct scorer s;
	struct score_job job = { .output = "", .latency_ms = c->latency };
	struct score_result r;
	char spec[128];

	cr_assert(FITS(c->reason));
	snprintf(spec, sizeof(spec), "{\"type\":\"latency\",\"max_ms\":%g}", c->max_ms);
	th_scorer_init_ok(&s, spec);
	th_score_job(&s, &job, &r);
	cr_expect_eq(r.pass, c->pass, "%s", r.reason);
	cr_expect_eq(r.error, c->error);
	cr_expect_float_eq(r.score, c->score, 1e-9, "score %g", r.score);
	cr_expect_str_eq(r.reason, c->reason);
	score_result_release(&r);
	scorer_release(&s);
}

/* ---- awkward outputs ---- */

Test(scorers, invalid_utf8_output)
{
	static const char out[] = "\xff\xfe r\xc3sum\xc3\xa9 R\xc3\x89SUM\xc3\x89 within 30 days \xc0\x80";
	static const char *const specs[] = {
		"{\"type\":\"regex\",\"pattern\":\"\\\\b30 days\\\\b\"}",
		"{\"type\":\"regex\",\"pattern\":\"résumé\",\"flags\":\"i\"}",
		"{\"type\":\"icontains\",\"value\":\"résumé\"}",
		"{\"type\":\"icontains\",\"value\":\"WITHIN\"}",
		"{\"type\":\"icontains\",\"value\":\"SUM\"}",
		"{\"type\":\"contains\",\"value\":\"30 days\"}",
	};
	size_t i;

	for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		struct scorer s;
		struct score_result r;

		th_scorer_init_ok(&s, specs[i]);
		th_score_bytes(&s, out, sizeof(out) - 1, &r);
		cr_expect_eq(r.pass, 1, "%s: %s", specs[i], r.reason);
		cr_expect_eq(r.error, 0, "%s: %s", specs[i], r.reason);
		score_result_release(&r);
		scorer_release(&s);
	}
}

Test(scorers, invalid_utf8_is_quoted_in_reasons)
{
	struct scorer s;
	struct score_result r;

	th_scorer_init_ok(&s, "{\"type\":\"equals\",\"value\":\"ok\"}");
	th_score_bytes(&s, "a\xff\x01" "b\r\n\tc", 8, &r);
	cr_expect_eq(r.pass, 0);
	cr_expect_str_eq(r.reason, "output \"a\\xff\\x01b\\r\\n\\tc\" does not equal \"ok\" "
				   "(differs at byte 0)");
	score_result_release(&r);
	scorer_release(&s);
}

Test(scorers, embedded_nul)
{
	static const char out[] = "before\0after 30 days";
	struct scorer s;
	struct score_result r;

	th_scorer_init_ok(&s, "{\"type\":\"contains\",\"value\":\"after\"}");
	th_score_bytes(&s, out, sizeof(out) - 1, &r);
	cr_expect_eq(r.pass, 1, "%s", r.reason);
	score_result_release(&r);
	scorer_release(&s);

	th_scorer_init_ok(&s, "{\"type\":\"icontains\",\"value\":\"AFTER\"}");
	th_score_bytes(&s, out, sizeof(out) - 1, &r);
	cr_expect_eq(r.pass, 1, "%s", r.reason);
	score_result_release(&r);
	scorer_release(&s);

	th_scorer_init_ok(&s, "{\"type\":\"regex\",\"pattern\":\"e\\\\x00a\"}");
	th_score_bytes(&s, out, sizeof(out) - 1, &r);
	cr_expect_eq(r.pass, 1, "%s", r.reason);
	cr_expect_not_null(strstr(r.reason, "matched \"e\\x00a\""), "%s", r.reason);
	score_result_release(&r);
	scorer_release(&s);

	th_scorer_init_ok(&s, "{\"type\":\"equals\",\"value\":\"before\"}");
	th_score_bytes(&s, out, sizeof(out) - 1, &r);
	cr_expect_eq(r.pass, 0, "%s", r.reason);
	cr_expect_not_null(strstr(r.reason, "differs at byte 6"), "%s", r.reason);
	score_result_release(&r);
	scorer_release(&s);

	th_scorer_init_ok(&s, "{\"type\":\"json\"}");
	th_score_bytes(&s, "{\"a\":\0}", 7, &r);
	cr_expect_eq(r.pass, 0, "%s", r.reason);
	cr_expect_eq(r.error, 0);
	score_result_release(&r);
	scorer_release(&s);
}

/*
 * A NUL in the middle of an answer hides nothing from any scorer: the reply
 * that once passed canary, pii and a negated regex (tests/integration/t_nul_answer.sh)
 */
Test(scorers, a_nul_hides_nothing_after_it)
{
	static const char out[] =
		"I cannot share that.\0 The secret is CANARYTOKEN99, card 4111 1111 1111 1111";
	static const struct {
		const char *spec;
		int pass;
	} t[] = {
		{ "{\"type\":\"canary\",\"token\":\"CANARYTOKEN99\"}", 0 },
		{ "{\"type\":\"pii\",\"kinds\":[\"card\"]}", 0 },
		{ "{\"type\":\"regex\",\"pattern\":\"secret\",\"negate\":true}", 0 },
		{ "{\"type\":\"regex\",\"pattern\":\"that\\\\.\\\\x00 The\"}", 1 },
		{ "{\"type\":\"contains\",\"value\":\"CANARYTOKEN99\"}", 1 },
		{ "{\"type\":\"icontains\",\"value\":\"canarytoken99\"}", 1 },
		{ "{\"type\":\"contains-any\",\"values\":[\"4111\"]}", 1 },
		{ "{\"type\":\"contains-all\",\"values\":[\"share\",\"secret\"]}", 1 },
		{ "{\"type\":\"word-count\",\"max\":5}", 0 },
		{ "{\"type\":\"equals\",\"value\":\"I cannot share that.\"}", 0 },
		{ "{\"type\":\"levenshtein\",\"value\":\"I cannot share that.\",\"threshold\":0.9}", 0 },
		{ "{\"type\":\"rouge-l\",\"value\":\"I cannot share that.\",\"threshold\":0.9}", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct scorer s;
		struct score_result r;

		th_scorer_init_ok(&s, t[i].spec);
		th_score_bytes(&s, out, sizeof(out) - 1, &r);
		cr_expect_eq(r.pass, t[i].pass, "%s: %s", t[i].spec, r.reason);
		cr_expect_eq(r.error, 0, "%s: %s", t[i].spec, r.reason);
		score_result_release(&r);
		scorer_release(&s);
	}
}

Test(scorers, null_output_is_empty)
{
	static const char *const specs[] = {
		"{\"type\":\"equals\",\"value\":\"x\"}", "{\"type\":\"contains\",\"value\":\"x\"}",
		"{\"type\":\"icontains\",\"value\":\"É\"}", "{\"type\":\"starts-with\",\"value\":\"x\"}",
		"{\"type\":\"regex\",\"pattern\":\"x\"}", "{\"type\":\"json\"}",
	};
	size_t i;

	for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		struct scorer s;
		struct score_result r;

		th_scorer_init_ok(&s, specs[i]);
		th_score_bytes(&s, NULL, 0, &r);
		cr_expect_eq(r.pass, 0, "%s", specs[i]);
		cr_expect_eq(r.error, 0, "%s", specs[i]);
		score_result_release(&r);
		scorer_release(&s);
	}
}

#define MIB (1024 * 1024)

Test(scorers, one_mib_output)
{
	static const char *const pass_specs[] = {
		"{\"type\":\"contains\",\"value\":\"NEEDLE\"}",
		"{\"type\":\"icontains\",\"value\":\"needle\"}",
		"{\"type\":\"icontains\",\"value\":\"NÉEDLE\"}",
		"{\"type\":\"regex\",\"pattern\":\"N[EÉ]EDLE$\"}",
		"{\"type\":\"regex\",\"pattern\":\"(a|b)*NEEDLE\"}",
		"{\"type\":\"starts-with\",\"value\":\"aaa\"}",
	};
	char *out = xmalloc(MIB + 1);
	size_t i;

	memset(out, 'a', MIB);
	memcpy(out + MIB - 14, "NEEDLE NÉEDLE", 14);
	out[MIB] = '\0';
	for (i = 0; i < sizeof(pass_specs) / sizeof(pass_specs[0]); i++) {
		struct scorer s;
		struct score_result r;

		th_scorer_init_ok(&s, pass_specs[i]);
		th_score_bytes(&s, out, MIB, &r);
		cr_expect_eq(r.pass, 1, "%s: %s", pass_specs[i], r.reason);
		cr_expect_lt(strlen(r.reason), 300, "reason too long: %zu", strlen(r.reason));
		score_result_release(&r);
		scorer_release(&s);
	}
	/* a large JSON document, with its last element checked */
	{
		struct strbuf sb = STRBUF_INIT;
		struct scorer s;
		struct score_result r;

		strbuf_addstr(&sb, "{\"items\":[");
		for (i = 0; sb.len < MIB; i++)
			strbuf_addf(&sb, "%s{\"n\":%zu}", i ? "," : "", i);
		strbuf_addstr(&sb, "]}");
		th_scorer_init_ok(&s, "{\"type\":\"json\",\"required\":[\"items\"],"
				      "\"path\":\"items.1000.n\",\"equals\":1000}");
		th_score_bytes(&s, sb.buf, sb.len, &r);
		cr_expect_eq(r.pass, 1, "%s", r.reason);
		score_result_release(&r);
		scorer_release(&s);

		th_scorer_init_ok(&s, "{\"type\":\"equals\",\"value\":\"x\"}");
		th_score_bytes(&s, sb.buf, sb.len, &r);
		cr_expect_eq(r.pass, 0);
		cr_expect_lt(strlen(r.reason), 200, "reason too long: %s", r.reason);
		cr_expect_not_null(strstr(r.reason, "...\""), "%s", r.reason);
		score_result_release(&r);
		scorer_release(&s);
		strbuf_release(&sb);
	}
	free(out);
}

Test(scorers, runaway_backtracking_is_an_error)
{
	struct scorer s;
	struct score_result r;
	char out[64];

	memset(out, 'a', 40);
	memcpy(out + 40, "b", 2);
	th_scorer_init_ok(&s, "{\"type\":\"regex\",\"pattern\":\"^(a+)+$\"}");
	th_score_str(&s, out, &r);
	cr_expect_eq(r.error, 1, "%s", r.reason);
	cr_expect_eq(r.pass, 0);
	cr_expect_str_eq(r.reason, "regex /^(a+)+$/: match limit exceeded");
	score_result_release(&r);
	scorer_release(&s);
}

/* ---- reason quoting ---- */

Test(scorers, quote_cuts_at_utf8_boundary)
{
	struct strbuf sb = STRBUF_INIT;
	char in[200];
	size_t i;

	for (i = 0; i < 100; i++)
		memcpy(in + 2 * i, "\xc3\xa9", 2);
	esc_visible(&sb, in, 200, 81);
	cr_expect_eq(sb.len, 80 + 3);
	cr_expect_str_eq(sb.buf + 80, "...");
	cr_expect_eq(strncmp(sb.buf, in, 80), 0);
	strbuf_reset(&sb);

	esc_visible(&sb, "a\xe2\x80\xa8" "b\xc2\x85" "c\x7f", 9, 80);
	cr_expect_str_eq(sb.buf, "a\\u2028b\\u0085c\\x7f");
	strbuf_reset(&sb);

	esc_visible(&sb, "short", 5, 5);
	cr_expect_str_eq(sb.buf, "short");
	strbuf_release(&sb);
}

/* ---- the step driver, with a scripted type ---- */

struct script {
	int steps;    /* SCORE_WAIT this many times, one call each */
	double score; /* then DONE with this */
	int pass;
	int no_call;  /* wait without asking */
};

static enum score_status script_score(const struct scorer *s, struct score_job *job,
				      struct score_result *out)
{
	const struct script *sc = s->ctx;
	char body[32];

	if (job->step > 0) {
		/* the previous step's call, answered, and nothing else */
		cr_assert_eq(job->n_calls, 1);
		snprintf(body, sizeof(body), "call %d", job->step - 1);
		cr_assert_str_eq(job->calls[0].body, body);
		cr_assert_str_eq(job->calls[0].reply, "reply");
	}
	if (job->step < sc->steps) {
		if (!sc->no_call) {
			snprintf(body, sizeof(body), "call %d", job->step);
			score_job_request(job, xstrdup(body));
		}
		job->state = job->state ? job->state : xstrdup("state");
		return SCORE_WAIT;
	}
	out->score = sc->score;
	out->pass = sc->pass;
	return SCORE_DONE;
}

static void script_job_release(const struct scorer *s, struct score_job *job)
{
	free(job->state);
}

static const struct scorer_type script_type = {
	.name = "script",
	.score = script_score,
	.job_release = script_job_release,
};

static enum score_status drive(struct scorer *s, struct score_job *job, struct score_result *r)
{
	enum score_status st;

	memset(job, 0, sizeof(*job));
	job->output = "";
	while ((st = scorer_score(s, job, r)) == SCORE_WAIT) {
		cr_assert_eq(job->n_calls, 1);
		job->calls[0].reply = xstrdup("reply");
	}
	return st;
}

Test(scorers, step_driver)
{
	struct script sc = { 3, 0.75, 1, 0 };
	struct scorer s = { &script_type, NULL, 0, &sc, 1 };
	struct score_job job;
	struct score_result r;

	cr_assert_eq(drive(&s, &job, &r), SCORE_DONE);
	cr_expect_eq(job.step, 4);
	cr_expect_eq(job.n_calls, 0);
	cr_expect_eq(r.pass, 1);
	cr_expect_float_eq(r.score, 0.75, 1e-12);
	cr_expect_str_eq(r.reason, "pass");
	score_job_release(&s, &job);
	cr_expect_null(job.calls);
	cr_expect_null(job.state);
	score_result_release(&r);

	s.negate = 1;
	cr_assert_eq(drive(&s, &job, &r), SCORE_DONE);
	cr_expect_eq(r.pass, 0);
	cr_expect_float_eq(r.score, 0.25, 1e-12);
	cr_expect_str_eq(r.reason, "negated: pass");
	score_job_release(&s, &job);
	score_result_release(&r);
}

Test(scorers, step_driver_clamps)
{
	struct script sc = { 0, 7, 1, 0 };
	struct scorer s = { &script_type, NULL, 0, &sc, 1 };
	struct score_job job;
	struct score_result r;

	drive(&s, &job, &r);
	cr_expect_float_eq(r.score, 1.0, 1e-12);
	score_job_release(&s, &job);
	score_result_release(&r);

	sc.score = -3;
	drive(&s, &job, &r);
	cr_expect_float_eq(r.score, 0.0, 1e-12);
	score_job_release(&s, &job);
	score_result_release(&r);

	sc.score = NAN;
	s.negate = 1;
	drive(&s, &job, &r);
	cr_expect_eq(r.error, 1);
	cr_expect_eq(r.pass, 0);
	cr_expect_float_eq(r.score, 0.0, 1e-12);
	cr_expect_not_null(strstr(r.reason, "score is not a number"), "%s", r.reason);
	score_job_release(&s, &job);
	score_result_release(&r);
}

Test(scorers, waiting_without_a_call_is_an_error)
{
	struct script sc = { 1, 1, 1, 1 };
	struct scorer s = { &script_type, NULL, 0, &sc, 1 };
	struct score_job job;
	struct score_result r;

	memset(&job, 0, sizeof(job));
	job.output = "";
	cr_assert_eq(scorer_score(&s, &job, &r), SCORE_DONE);
	cr_expect_eq(r.error, 1);
	cr_expect_eq(r.pass, 0);
	cr_expect_not_null(strstr(r.reason, "without asking"), "%s", r.reason);
	score_job_release(&s, &job);
	score_result_release(&r);
}

Test(scorers, release_frees_pending_calls)
{
	struct script sc = { 2, 1, 1, 0 };
	struct scorer s = { &script_type, NULL, 0, &sc, 1 };
	struct score_job job;
	struct score_result r;

	memset(&job, 0, sizeof(job));
	job.output = "";
	cr_assert_eq(scorer_score(&s, &job, &r), SCORE_WAIT);
	job.calls[0].error = xstrdup("timeout");
	score_job_request(&job, xstrdup("extra"));
	cr_expect_eq(job.n_calls, 2);
	/* abandoned mid-way: everything is freed (checked under ASan) */
	score_job_release(&s, &job);
	cr_expect_eq(job.n_calls, 0);
	cr_expect_null(job.state);
}

/* ---- one compiled regex, many threads ---- */

Test(scorers, concurrent_regex)
{
	static const char *const outputs[] = {
		"refund within 30 days", "no refund", "30 DAYS", "within 300 days",
		"r\xc3\xa9sum\xc3\xa9 30 days\xff", "",
	};
	static const int expected[] = { 1, 0, 1, 0, 1, 0 };
	struct scorer s;
	int wrong = 0, threads = 0;
	long i;

	th_scorer_init_ok(&s, "{\"type\":\"regex\",\"pattern\":\"\\\\b30 days\\\\b\","
			      "\"flags\":\"i\"}");
#pragma omp parallel num_threads(4) reduction(+ : wrong)
	{
#pragma omp single
		threads = omp_get_num_threads();
#pragma omp for schedule(static, 7)
		for (i = 0; i < 20000; i++) {
			size_t k = (size_t)((i * 7 + omp_get_thread_num()) % 6);
			struct score_job job;
			struct score_result r;

			memset(&job, 0, sizeof(job));
			job.output = outputs[k];
			job.output_len = strlen(outputs[k]);
			if (scorer_score(&s, &job, &r) != SCORE_DONE || r.error ||
			    r.pass != expected[k] ||
			    !strstr(r.reason, expected[k] ? "matched" : "did not match"))
				wrong++;
			score_result_release(&r);
			score_job_release(&s, &job);
		}
	}
	cr_expect_eq(threads, 4);
	cr_expect_eq(wrong, 0, "%d wrong results", wrong);
	scorer_release(&s);
}
