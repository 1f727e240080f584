/*
 * Unit tests of the scorers json-schema, levenshtein, rouge-l, contains-any,
 * contains-all and word-count: verdicts, scores, reasons, spec errors with
 * their located messages, and hostile output (1 MB, NUL bytes inside,
 * invalid UTF-8, deep nesting).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "case.h"
#include "helper.h"
#include "scorer.h"
#include "scorer_helper.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

struct eg_loc th_scorer_loc = { "suites/x/suite.json", 9, 3 };
#define LOC_PREFIX "evalgate: suites/x/suite.json:9: scorer 3: "

/* init a spec expected to fail; returns what was printed */
static const char *init_fails(const char *json)
{
	struct scorer s;

	th_stderr_start();
	th_stderr_take();
	cr_assert_eq(th_scorer_init(&s, json), -1, "spec accepted: %s", json);
	return th_stderr_take();
}

/* a verdict and a piece of its reason */
static void expect(const char *spec, const char *out, int pass, const char *reason)
{
	struct scorer s;
	struct score_result r;

	th_scorer_init_ok(&s, spec);
	th_score_str(&s, out, &r);
	cr_expect_eq(r.pass, pass, "%s on \"%s\": pass %d, reason %s", spec, out, r.pass,
		     r.reason);
	cr_expect_eq(r.error, 0, "%s: error: %s", spec, r.reason);
	cr_expect_not_null(strstr(r.reason, reason), "reason \"%s\" lacks \"%s\"", r.reason,
			   reason);
	score_result_release(&r);
	scorer_release(&s);
}

/* n bytes of a repeated pattern */
static char *repeat(const char *unit, size_t n)
{
	size_t k = strlen(unit), i;
	char *p = xmalloc(n + 1);

	for (i = 0; i < n; i++)
		p[i] = unit[i % k];
	p[n] = '\0';
	return p;
}

/* ---- json-schema ---- */

#define ORDER_SCHEMA                                                                     \
	"{\"type\": \"json-schema\", \"schema\": {\"type\": \"object\", \"required\": [\"id\"," \
	" \"items\"], \"properties\": {\"id\": {\"type\": \"integer\", \"minimum\": 1},"     \
	" \"items\": {\"type\": \"array\", \"items\": {\"type\": \"object\", \"properties\":" \
	" {\"sku\": {\"type\": \"string\", \"pattern\": \"^[A-Z]-[0-9]+$\"}}}}}}}"

Test(json_schema, valid_and_invalid_with_pointer_and_keyword)
{
	expect(ORDER_SCHEMA, "{\"id\": 3, \"items\": [{\"sku\": \"A-1\"}]}", 1,
	       "matches the schema");
	expect(ORDER_SCHEMA, "```json\n{\"id\": 3, \"items\": []}\n```", 1, "matches");
	expect(ORDER_SCHEMA, "{\"id\": 3}", 0, "/: required: Missing required property 'items'");
	expect(ORDER_SCHEMA, "{\"id\": 0, \"items\": []}", 0, "/id: minimum:");
	expect(ORDER_SCHEMA, "{\"id\": 2, \"items\": [{\"sku\": \"A-1\"}, {\"sku\": \"b\"}]}", 0,
	       "/items/1/sku: pattern:");
	expect(ORDER_SCHEMA, "{\"id\": \"2\", \"items\": []}", 0, "/id: type:");
	expect(ORDER_SCHEMA, "{\"id\": 2,", 0, "not valid JSON at byte");
	expect(ORDER_SCHEMA, "", 0, "output is empty");
}

Test(json_schema, draft_2020_12_keywords)
{
	expect("{\"type\": \"json-schema\", \"schema\": {\"prefixItems\": [{\"type\": \"integer\"}],"
	       " \"items\": false}}", "[1, 2]", 0, "items");
	expect("{\"type\": \"json-schema\", \"schema\": {\"prefixItems\": [{\"type\": \"integer\"}],"
	       " \"items\": false}}", "[1]", 1, "matches");
	expect("{\"type\": \"json-schema\", \"schema\": {\"dependentRequired\": {\"a\": [\"b\"]}}}",
	       "{\"a\": 1}", 0, "dependencies");
	/* format is an annotation in 2020-12 */
	expect("{\"type\": \"json-schema\", \"schema\": {\"format\": \"date\"}}", "\"not a date\"",
	       1, "matches");
	expect("{\"type\": \"json-schema\", \"schema\": {\"$defs\": {\"n\": {\"type\": \"number\"}},"
	       " \"$ref\": \"#/$defs/n\"}}", "\"x\"", 0, "type");
	/* recursion through a property is no cycle: each step is a deeper value */
	expect("{\"type\": \"json-schema\", \"schema\": {\"type\": \"object\", \"properties\":"
	       " {\"c\": {\"$ref\": \"#\"}}}}", "{\"c\": {\"c\": 1}}", 0, "/c/c: type:");
	expect("{\"type\": \"json-schema\", \"schema\": false}", "1", 0, "does not match");
	expect("{\"type\": \"json-schema\", \"schema\": true}", "1", 1, "matches");
}

Test(json_schema, schema_file_relative_to_the_suite)
{
	struct scorer s;
	struct score_result r;
	const char *msg;

	th_tmpdir_setup();
	th_write(th_path("order.json"), "{\"type\": \"object\", \"required\": [\"id\"]}");
	th_write(th_path("broken.json"), "{\"type\": \"object\",\n \"required\": }");
	th_scorer_loc.file = th_path("suite.json");
	th_scorer_init_ok(&s, "{\"type\": \"json-schema\", \"schema\": \"order.json\"}");
	th_score_str(&s, "{\"x\": 1}", &r);
	cr_expect_eq(r.pass, 0);
	cr_expect_not_null(strstr(r.reason, "required"), "%s", r.reason);
	score_result_release(&r);
	scorer_release(&s);

	msg = init_fails("{\"type\": \"json-schema\", \"schema\": \"broken.json\"}");
	cr_expect_not_null(strstr(msg, ":9: scorer 3: json-schema: schema file \""), "%s", msg);
	cr_expect_not_null(strstr(msg, "not valid JSON at byte"), "%s", msg);
	msg = init_fails("{\"type\": \"json-schema\", \"schema\": \"missing.json\"}");
	cr_expect_not_null(strstr(msg, "cannot read schema file"), "%s", msg);
	th_scorer_loc.file = "suites/x/suite.json";
	th_tmpdir_teardown();
}

Test(json_schema, schemas_that_do_not_compile_are_located_errors)
{
	const char *msg;

	msg = init_fails("{\"type\": \"json-schema\", \"schema\": {\"minLength\": \"x\"}}");
	cr_expect_not_null(strstr(msg, LOC_PREFIX "json-schema: field \"schema\": "), "%s", msg);
	msg = init_fails("{\"type\": \"json-schema\", \"schema\": {\"pattern\": \"([a-\"}}");
	cr_expect_not_null(strstr(msg, "not a valid regular expression"), "%s", msg);
	msg = init_fails("{\"type\": \"json-schema\", \"schema\": {\"$ref\": \"#/$defs/none\"}}");
	cr_expect_not_null(strstr(msg, LOC_PREFIX "json-schema: "), "%s", msg);
	msg = init_fails("{\"type\": \"json-schema\", \"schema\": {\"$ref\": \"other.json\"}}");
	cr_expect_not_null(strstr(msg, "only references within the schema"), "%s", msg);
	/* valijson would recurse until the stack overflows */
	msg = init_fails("{\"type\": \"json-schema\", \"schema\": {\"$ref\": \"#\"}}");
	cr_expect_not_null(strstr(msg, "a cycle of references"), "%s", msg);
	msg = init_fails("{\"type\": \"json-schema\", \"schema\": {\"$defs\": {\"a\":"
			 " {\"allOf\": [{\"$ref\": \"#/$defs/b\"}]}, \"b\": {\"not\":"
			 " {\"$ref\": \"#/$defs/a\"}}}, \"properties\": {\"x\":"
			 " {\"$ref\": \"#/$defs/a\"}}}}");
	cr_expect_not_null(strstr(msg, "a cycle of references"), "%s", msg);
	msg = init_fails("{\"type\": \"json-schema\", \"schema\": 3}");
	cr_expect_not_null(strstr(msg, "must be an object, a boolean or a file path, not a number"),
			   "%s", msg);
	msg = init_fails("{\"type\": \"json-schema\"}");
	cr_expect_not_null(strstr(msg, "missing required field \"schema\""), "%s", msg);
	msg = init_fails("{\"type\": \"json-schema\", \"schema\": {}, \"shema\": 1}");
	cr_expect_not_null(strstr(msg, "unknown field \"shema\""), "%s", msg);
}

Test(json_schema, hostile_output)
{
	struct scorer s;
	struct score_result r;
	struct strbuf big = STRBUF_INIT;
	char *deep;
	size_t i;

	th_scorer_init_ok(&s, "{\"type\": \"json-schema\", \"schema\": {\"type\": \"array\","
			      " \"items\": {\"type\": \"string\", \"maxLength\": 3}}}");
	/* 1 MB: a valid array of short strings, then one too long */
	strbuf_addch(&big, '[');
	for (i = 0; big.len < (1u << 20); i++)
		strbuf_addstr(&big, i ? ",\"abc\"" : "\"abc\"");
	strbuf_addstr(&big, "]");
	th_score_bytes(&s, big.buf, big.len, &r);
	cr_expect_eq(r.pass, 1, "%s", r.reason);
	score_result_release(&r);
	big.buf[big.len - 1] = ',';
	strbuf_addstr(&big, "\"abcd\"]");
	th_score_bytes(&s, big.buf, big.len, &r);
	cr_expect_eq(r.pass, 0);
	cr_expect_not_null(strstr(r.reason, "maxLength"), "%s", r.reason);
	score_result_release(&r);

	/* a NUL inside: the bytes after it are not ignored */
	th_score_bytes(&s, "[\"a\"]\0[1]", 9, &r);
	cr_expect_eq(r.pass, 0);
	cr_expect_eq(r.error, 0);
	score_result_release(&r);
	th_score_bytes(&s, "[\"a\0b\"]", 7, &r);
	cr_expect_eq(r.pass, 0, "%s", r.reason);
	score_result_release(&r);
	/* a number no double holds */
	th_score_str(&s, "[1e999]", &r);
	cr_expect_eq(r.pass, 0);
	cr_expect_not_null(strstr(r.reason, "not valid JSON"), "%s", r.reason);
	score_result_release(&r);
	/* invalid UTF-8 is not JSON */
	th_score_str(&s, "[\"\xff\xfe\"]", &r);
	cr_expect_eq(r.pass, 0);
	cr_expect_not_null(strstr(r.reason, "not valid JSON"), "%s", r.reason);
	score_result_release(&r);
	/* too deep: no verdict */
	deep = repeat("[", 100000);
	th_score_str(&s, deep, &r);
	cr_expect_eq(r.error, 1);
	cr_expect_not_null(strstr(r.reason, "nested deeper than"), "%s", r.reason);
	score_result_release(&r);
	free(deep);
	scorer_release(&s);
	strbuf_release(&big);
}

Test(json_schema, long_string_under_a_pattern_is_an_error_not_a_crash)
{
	struct scorer s;
	struct score_result r;
	struct strbuf out = STRBUF_INIT;
	char *a = repeat("a", 1u << 20);

	th_scorer_init_ok(&s, "{\"type\": \"json-schema\", \"schema\": {\"properties\": {\"x\":"
			      " {\"pattern\": \"^a*$\"}}}}");
	strbuf_addf(&out, "{\"x\": \"%s\"}", a);
	th_score_bytes(&s, out.buf, out.len, &r);
	cr_expect_eq(r.error, 1);
	cr_expect_not_null(strstr(r.reason, "/x: a string longer than"), "%s", r.reason);
	score_result_release(&r);
	th_score_str(&s, "{\"x\": \"aaa\"}", &r);
	cr_expect_eq(r.pass, 1, "%s", r.reason);
	score_result_release(&r);
	scorer_release(&s);
	strbuf_release(&out);
	free(a);
}

/* ---- levenshtein and rouge-l ---- */

Test(levenshtein, scores)
{
	struct scorer s;
	struct score_result r;

	th_scorer_init_ok(&s,
			  "{\"type\": \"levenshtein\", \"value\": \"kitten\", \"threshold\": 0.5}");
	th_score_str(&s, "sitting", &r);
	/* distance 3 over 7 code points */
	cr_expect_float_eq(r.score, 1 - 3.0 / 7, 1e-9, "%f", r.score);
	cr_expect_eq(r.pass, 1);
	score_result_release(&r);
	th_score_str(&s, "  kitten\n", &r);
	cr_expect_float_eq(r.score, 1, 1e-9);
	score_result_release(&r);
	th_score_str(&s, "dog", &r);
	cr_expect_eq(r.pass, 0);
	cr_expect_not_null(strstr(r.reason, "< threshold 0.500"), "%s", r.reason);
	score_result_release(&r);
	scorer_release(&s);

	/* code points, not bytes: one substitution of a 2-byte letter */
	th_scorer_init_ok(&s, "{\"type\": \"levenshtein\", \"value\": \"caf\xc3\xa9\"}");
	th_score_str(&s, "cafe", &r);
	cr_expect_float_eq(r.score, 0.75, 1e-9, "%f", r.score);
	cr_expect_not_null(strstr(r.reason, "(4 and 4 code points)"), "%s", r.reason);
	score_result_release(&r);
	scorer_release(&s);
}

Test(levenshtein, expected_of_the_case_and_its_absence)
{
	struct scorer s;
	struct score_result r;
	struct eg_case kase;
	struct score_job job = { .kase = &kase, .output = "Paris", .output_len = 5 };

	memset(&kase, 0, sizeof(kase));
	th_scorer_init_ok(&s, "{\"type\": \"levenshtein\"}");
	kase.expected = "Paris";
	th_score_job(&s, &job, &r);
	cr_expect_eq(r.pass, 1);
	score_result_release(&r);
	kase.expected = NULL;
	job = (struct score_job){ .kase = &kase, .output = "Paris", .output_len = 5 };
	th_score_job(&s, &job, &r);
	cr_expect_eq(r.error, 1);
	cr_expect_not_null(strstr(r.reason, "no \"value\""), "%s", r.reason);
	score_result_release(&r);
	scorer_release(&s);
}

Test(levenshtein, hostile_output)
{
	struct scorer s;
	struct score_result r;
	char *a = repeat("abcdefghij", 100000), *b = repeat("abcdefghiJ", 100000);
	char *big = repeat("x\xff", 1u << 20);
	struct strbuf spec = STRBUF_INIT;

	/* two 100 KB texts: beyond the cell cap, and not decidable by length */
	strbuf_addf(&spec, "{\"type\": \"levenshtein\", \"value\": \"%s\"}", a);
	th_scorer_init_ok(&s, spec.buf);
	th_score_bytes(&s, b, strlen(b), &r);
	cr_expect_eq(r.error, 1);
	cr_expect_not_null(strstr(r.reason, "cells computed"), "%s", r.reason);
	score_result_release(&r);
	/* 1 MB of invalid UTF-8 against 100 KB: the lengths decide */
	th_score_bytes(&s, big, strlen(big), &r);
	cr_expect_eq(r.error, 0, "%s", r.reason);
	cr_expect_eq(r.pass, 0);
	cr_expect_not_null(strstr(r.reason, "at most"), "%s", r.reason);
	score_result_release(&r);
	scorer_release(&s);
	strbuf_release(&spec);

	/* NUL bytes are code points like any other */
	th_scorer_init_ok(&s, "{\"type\": \"levenshtein\", \"value\": \"ab\", \"threshold\": 1}");
	th_score_bytes(&s, "a\0b", 3, &r);
	cr_expect_float_eq(r.score, 2.0 / 3, 1e-9, "%f", r.score);
	score_result_release(&r);
	th_score_bytes(&s, "a\xff", 2, &r);
	cr_expect_float_eq(r.score, 0.5, 1e-9, "%f", r.score);
	score_result_release(&r);
	scorer_release(&s);
	free(a);
	free(b);
	free(big);
}

Test(rouge_l, scores)
{
	struct scorer s;
	struct score_result r;

	th_scorer_init_ok(&s, "{\"type\": \"rouge-l\", \"value\": \"the cat sat on the mat\"}");
	/* LCS "the cat the mat" = 4 of 6 and 4 of 5 */
	th_score_str(&s, "The cat saw the mat", &r);
	cr_expect_float_eq(r.score, 2 * (4.0 / 5) * (4.0 / 6) / (4.0 / 5 + 4.0 / 6), 1e-9, "%f",
			   r.score);
	cr_expect_eq(r.pass, 1);
	score_result_release(&r);
	th_score_str(&s, "dogs bark", &r);
	cr_expect_float_eq(r.score, 0, 1e-9);
	cr_expect_eq(r.pass, 0);
	score_result_release(&r);
	th_score_str(&s, "", &r);
	cr_expect_eq(r.pass, 0);
	score_result_release(&r);
	scorer_release(&s);

	cr_expect_str_eq(init_fails("{\"type\": \"rouge-l\", \"threshold\": 2}"),
			 LOC_PREFIX "rouge-l: field \"threshold\" must be in [0,1], not 2\n");
}

Test(rouge_l, hostile_output)
{
	struct scorer s;
	struct score_result r;
	char *big = repeat("word \xc3\xa9t\xc3\xa9 \xff\0", 1u << 20);

	th_scorer_init_ok(&s, "{\"type\": \"rouge-l\", \"value\": \"word \xc3\xa9t\xc3\xa9\"}");
	th_score_bytes(&s, big, 1u << 20, &r);
	cr_expect_eq(r.error, 0, "%s", r.reason);
	cr_expect_eq(r.pass, 0);
	score_result_release(&r);
	th_score_bytes(&s, "WORD\0\xc3\xa9t\xc3\xa9", 10, &r);
	cr_expect_float_eq(r.score, 1, 1e-9, "%s", r.reason);
	score_result_release(&r);
	scorer_release(&s);
	free(big);
}

/* ---- contains-any, contains-all, word-count ---- */

Test(contains, any_and_all)
{
	expect("{\"type\": \"contains-any\", \"values\": [\"refund\", \"money back\"]}",
	       "you get your money back", 1, "output contains \"money back\"");
	expect("{\"type\": \"contains-any\", \"values\": [\"refund\", \"money back\"]}",
	       "Refund", 0, "none of the 2 values: \"refund\", \"money back\"");
	expect("{\"type\": \"contains-any\", \"values\": [\"refund\"], \"ignore_case\": true}",
	       "REFUND", 1, "(ignoring case)");
	expect("{\"type\": \"contains-any\", \"values\": [\"R\xc3\x89SUM\xc3\x89\"],"
	       " \"ignore_case\": true}", "un r\xc3\xa9sum\xc3\xa9", 1, "contains");
	expect("{\"type\": \"contains-all\", \"values\": [\"a\", \"b\", \"c\"]}", "a c", 0,
	       "lacks 1 of 3 values: \"b\"");
	expect("{\"type\": \"contains-all\", \"values\": [\"a\", \"b\"]}", "ba", 1,
	       "all 2 values");
}

Test(contains, share_and_hostile_output)
{
	struct scorer s;
	struct score_result r;
	char *big = repeat("\xff\xfe" "abc", 1u << 20);

	th_scorer_init_ok(&s, "{\"type\": \"contains-all\", \"values\": [\"x\", \"ABC\", \"zz\"],"
			      " \"ignore_case\": true}");
	th_score_bytes(&s, big, strlen(big), &r);
	cr_expect_eq(r.error, 0, "%s", r.reason);
	cr_expect_float_eq(r.score, 1.0 / 3, 1e-9, "%f %s", r.score, r.reason);
	score_result_release(&r);
	scorer_release(&s);
	free(big);

	th_scorer_init_ok(&s, "{\"type\": \"contains-any\", \"values\": [\"needle\"]}");
	th_score_bytes(&s, "\0\0needle", 8, &r);
	cr_expect_eq(r.pass, 1, "a NUL does not end the output: %s", r.reason);
	score_result_release(&r);
	scorer_release(&s);

	cr_expect_str_eq(init_fails("{\"type\": \"contains-any\", \"values\": []}"),
			 LOC_PREFIX "contains-any: field \"values\" must be a non-empty array of"
				    " strings, not an empty array\n");
	cr_expect_str_eq(init_fails("{\"type\": \"contains-all\", \"values\": [\"a\", \"\"]}"),
			 LOC_PREFIX "contains-all: field \"values\": item 2 must be a non-empty"
				    " string\n");
}

Test(word_count, counts_words_not_bytes)
{
	struct scorer s;
	struct score_result r;
	char *big = repeat("mot \xff ", 1u << 20);

	expect("{\"type\": \"word-count\", \"min\": 2, \"max\": 3}", "one, two; three!", 1,
	       "3 words");
	expect("{\"type\": \"word-count\", \"max\": 2}", "\xc3\xa9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac"
	       " caf\xc3\xa9", 0, "3 words, more than 2");
	expect("{\"type\": \"word-count\", \"min\": 1}", " \t ", 0, "0 words, fewer than 1");
	th_scorer_init_ok(&s, "{\"type\": \"word-count\", \"min\": 2}");
	th_score_bytes(&s, "a\0b", 3, &r);
	cr_expect_eq(r.pass, 1, "a NUL separates words: %s", r.reason);
	score_result_release(&r);
	th_score_bytes(&s, big, strlen(big), &r);
	cr_expect_not_null(strstr(r.reason, "174763 words"), "%s", r.reason);
	score_result_release(&r);
	scorer_release(&s);
	free(big);

	cr_expect_str_eq(init_fails("{\"type\": \"word-count\"}"),
			 LOC_PREFIX "word-count: give \"min\", \"max\" or both\n");
	cr_expect_str_eq(init_fails("{\"type\": \"word-count\", \"min\": 3, \"max\": 2}"),
			 LOC_PREFIX "word-count: \"min\" 3 is more than \"max\" 2\n");
	cr_expect_str_eq(init_fails("{\"type\": \"word-count\", \"min\": 1.5}"),
			 LOC_PREFIX "word-count: field \"min\" must be a whole number >= 0, not 1.5\n");
}

/* ---- the bit-parallel programs against the plain dynamic programs ---- */

static size_t naive_distance(const char *a, size_t n, const char *b, size_t m)
{
	size_t *d = xmalloc((n + 1) * (m + 1) * sizeof(*d)), i, j, r;

	for (i = 0; i <= n; i++)
		for (j = 0; j <= m; j++) {
			size_t best;
			if (!i || !j) {
				d[i * (m + 1) + j] = i + j;
				continue;
			}
			best = d[(i - 1) * (m + 1) + j - 1] + (a[i - 1] != b[j - 1]);
			if (d[(i - 1) * (m + 1) + j] + 1 < best)
				best = d[(i - 1) * (m + 1) + j] + 1;
			if (d[i * (m + 1) + j - 1] + 1 < best)
				best = d[i * (m + 1) + j - 1] + 1;
			d[i * (m + 1) + j] = best;
		}
	r = d[n * (m + 1) + m];
	free(d);
	return r;
}

static size_t naive_lcs(const char *a, size_t n, const char *b, size_t m)
{
	size_t *d = xcalloc((n + 1) * (m + 1), sizeof(*d)), i, j, r;

	for (i = 1; i <= n; i++)
		for (j = 1; j <= m; j++) {
			size_t up = d[(i - 1) * (m + 1) + j], left = d[i * (m + 1) + j - 1];
			d[i * (m + 1) + j] = a[i - 1] == b[j - 1] ? d[(i - 1) * (m + 1) + j - 1] + 1
								 : up > left ? up : left;
		}
	r = d[n * (m + 1) + m];
	free(d);
	return r;
}

static unsigned long test_rng = 12345;

static unsigned rnd(unsigned n)
{
	test_rng = test_rng * 6364136223846793005UL + 1442695040888963407UL;
	return (unsigned)((test_rng >> 33) % n);
}

/* random texts over a 4-letter alphabet, lengths across the 64-bit word edges */
Test(similarity, bit_parallel_equals_the_plain_program)
{
	int round;

	for (round = 0; round < 300; round++) {
		size_t n = 1 + rnd(200), m = 1 + rnd(200), i, longer = n > m ? n : m;
		char a[201], b[201], words_a[401], words_b[401];
		struct strbuf spec = STRBUF_INIT;
		struct scorer s;
		struct score_result r;
		double want, p, rc;
		size_t l;

		for (i = 0; i < n; i++) {
			a[i] = (char)('a' + rnd(4));
			words_a[2 * i] = a[i];
			words_a[2 * i + 1] = ' ';
		}
		for (i = 0; i < m; i++) {
			b[i] = (char)('a' + rnd(4));
			words_b[2 * i] = b[i];
			words_b[2 * i + 1] = ' ';
		}
		a[n] = b[m] = words_a[2 * n] = words_b[2 * m] = '\0';

		strbuf_addf(&spec, "{\"type\": \"levenshtein\", \"value\": \"%s\"}", b);
		th_scorer_init_ok(&s, spec.buf);
		th_score_bytes(&s, a, n, &r);
		want = 1 - (double)naive_distance(a, n, b, m) / (double)longer;
		cr_assert_float_eq(r.score, want, 1e-9, "levenshtein %s / %s: %f, want %f", a, b,
				   r.score, want);
		score_result_release(&r);
		scorer_release(&s);

		strbuf_reset(&spec);
		strbuf_addf(&spec, "{\"type\": \"rouge-l\", \"value\": \"%s\"}", words_b);
		th_scorer_init_ok(&s, spec.buf);
		th_score_bytes(&s, words_a, 2 * n, &r);
		l = naive_lcs(a, n, b, m);
		p = (double)l / (double)n;
		rc = (double)l / (double)m;
		want = l ? 2 * p * rc / (p + rc) : 0;
		cr_assert_float_eq(r.score, want, 1e-9, "rouge-l %s / %s: %f, want %f", words_a,
				   words_b, r.score, want);
		score_result_release(&r);
		scorer_release(&s);
		strbuf_release(&spec);
	}
}
