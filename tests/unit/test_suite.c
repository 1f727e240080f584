/* suite: loading, filters, hashes, the case reader, located errors, suites.lock, canonical JSON */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pcre2.h>

#include "helper.h"
#include "strbuf.h"
#include "jsonutil.h"
#include "suite.h"
#include "banned.h"

static void setup(void)
{
	th_tmpdir_setup();
	th_stderr_start();
}

TestSuite(suite, .init = setup, .fini = th_tmpdir_teardown);

/* (re)write <tmpdir>/name with a manifest and cases; dir receives the suite directory */
static void make_suite(char *dir, size_t size, const char *name, const char *manifest,
		       const char *cases)
{
	char path[256];

	snprintf(dir, size, "%s/%s", th_tmpdir(), name);
	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/suite.json", dir);
	th_write(path, manifest);
	snprintf(path, sizeof(path), "%s/cases.jsonl", dir);
	th_write(path, cases);
}

static const char manifest[] =
	"{\"name\": \"support\", \"version\": \"1.0.0\", \"description\": \"d\",\n"
	" \"scorers\": [{\"type\": \"contains\", \"value\": \"x\"}], \"tags\": [\"support\"]}\n";

static const char cases[] =
	"{\"id\": \"refund-1\", \"input\": \"How do I get a refund?\", \"tags\": [\"billing\"]}\n"
	"{\"id\": \"refund-2\", \"input\": \"Refund window?\", \"tags\": [\"billing\", \"policy\", \"support\"]}\n"
	"\n"
	"{\"id\": \"ship-1\", \"messages\": [{\"role\": \"user\", \"content\": \"Where is it?\"}], \"tags\": [\"shipping\"]}\n"
	"{\"id\": \"ship-2\", \"input\": \"Abroad?\", \"tags\": [\"shipping\"], \"expected\": \"yes\", \"context\": \"one passage\"}\n"
	"{\"id\": \"misc\", \"input\": \"hello\", \"context\": [\"a\", \"b\"], \"metadata\": {\"k\": 1},"
	" \"scorers\": [{\"type\": \"regex\", \"pattern\": \"h\"}]}\n";

static void load_ok(struct eg_suite *s, const char *dir, const struct case_filter *f)
{
	cr_assert_eq(suite_load(s, dir, f), 0, "%s", th_stderr_take());
}

static void *compile_re(const char *pattern)
{
	int err;
	PCRE2_SIZE off;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0, &err, &off, NULL);

	cr_assert_not_null(re, "%s", pattern);
	return re;
}

Test(suite, loads_manifest_and_counts)
{
	struct eg_suite s;
	char dir[128];

	make_suite(dir, sizeof(dir), "a", manifest, cases);
	load_ok(&s, dir, NULL);
	cr_assert_str_eq(s.name, "support");
	cr_assert_str_eq(s.version, "1.0.0");
	cr_assert_eq(s.kind, SUITE_GOLDEN);
	cr_assert_str_eq(suite_kind_name(s.kind), "golden");
	cr_assert_str_eq(s.description, "d");
	cr_assert_null(s.system);
	cr_assert_null(s.params);
	cr_assert_eq(s.n_scorers, 1);
	cr_assert_eq(s.n_tags, 1);
	cr_assert_str_eq(s.tags[0], "support");
	cr_assert_eq(s.n_cases, 5);
	cr_assert_eq(s.n_selected, 5);
	cr_assert_eq(strlen(s.hash), 64);
	cr_assert_eq(strlen(s.prompt_hash), 64);
	cr_assert_str_eq(s.dir, dir);
	cr_assert_not_null(strstr(s.cases_path, "/a/cases.jsonl"));
	suite_release(&s);
	cr_assert_str_eq(th_stderr_take(), "");
}

static size_t selected(const char *dir, const char *const *tags, size_t n_tags, const char *re,
		       size_t limit)
{
	struct case_filter f;
	struct eg_suite s;
	size_t n;

	memset(&f, 0, sizeof(f));
	f.tags = (const char **)tags;
	f.n_tags = n_tags;
	f.id_re = re ? compile_re(re) : NULL;
	f.limit = limit;
	load_ok(&s, dir, &f);
	cr_assert_eq(s.n_cases, 5, "the filter does not change the count of cases");
	n = s.n_selected;
	suite_release(&s);
	pcre2_code_free(f.id_re);
	return n;
}

Test(suite, filters)
{
	static const char *const billing[] = { "billing" };
	static const char *const any[] = { "shipping", "policy" };
	static const char *const manifest_tag[] = { "support" };
	static const char *const none[] = { "nope" };
	char dir[128];

	make_suite(dir, sizeof(dir), "a", manifest, cases);
	cr_assert_eq(selected(dir, NULL, 0, NULL, 0), 5);
	cr_assert_eq(selected(dir, billing, 1, NULL, 0), 2);
	cr_assert_eq(selected(dir, any, 2, NULL, 0), 3, "tags are any-of");
	cr_assert_eq(selected(dir, manifest_tag, 1, NULL, 0), 5, "manifest tags belong to every case");
	cr_assert_eq(selected(dir, none, 1, NULL, 0), 0);
	cr_assert_eq(selected(dir, NULL, 0, "^ship-", 0), 2);
	cr_assert_eq(selected(dir, NULL, 0, "fund", 0), 2, "the regex is not anchored");
	cr_assert_eq(selected(dir, NULL, 0, "^(misc|ship-1)$", 0), 2);
	cr_assert_eq(selected(dir, billing, 1, "-2$", 0), 1, "tags and regex both apply");
	cr_assert_eq(selected(dir, NULL, 0, NULL, 2), 2);
	cr_assert_eq(selected(dir, NULL, 0, NULL, 50), 5);
	cr_assert_eq(selected(dir, any, 2, NULL, 2), 2);
	cr_assert_eq(selected(dir, billing, 1, NULL, 5), 2);
}

struct seen {
	int n;
	char ids[8][32];
	int lines[8];
};

static void read_all(const struct eg_suite *s, const struct case_filter *f, struct seen *out)
{
	struct case_reader r;
	struct eg_case c;
	int rc;

	memset(out, 0, sizeof(*out));
	cr_assert_eq(case_reader_open(&r, s, f), 0);
	while ((rc = case_reader_next(&r, &c)) == 1) {
		cr_assert_lt(out->n, 8);
		snprintf(out->ids[out->n], sizeof(out->ids[0]), "%s", c.id);
		out->lines[out->n] = c.line;
		out->n++;
		case_release(&c);
	}
	cr_assert_eq(rc, 0);
	case_reader_close(&r);
}

Test(suite, reader_streams_the_cases_load_counted)
{
	static const char *const any[] = { "shipping", "policy" };
	struct case_filter f;
	struct eg_suite s;
	struct seen seen;
	char dir[128];

	make_suite(dir, sizeof(dir), "a", manifest, cases);
	load_ok(&s, dir, NULL);
	read_all(&s, NULL, &seen);
	cr_assert_eq((size_t)seen.n, s.n_selected);
	cr_assert_str_eq(seen.ids[0], "refund-1");
	cr_assert_str_eq(seen.ids[4], "misc");
	cr_assert_eq(seen.lines[0], 1);
	cr_assert_eq(seen.lines[2], 4, "blank lines still count");
	cr_assert_eq(seen.lines[4], 6);
	suite_release(&s);

	memset(&f, 0, sizeof(f));
	f.tags = (const char **)any;
	f.n_tags = 2;
	load_ok(&s, dir, &f);
	read_all(&s, &f, &seen);
	cr_assert_eq((size_t)seen.n, s.n_selected);
	cr_assert_eq(seen.n, 3);
	cr_assert_str_eq(seen.ids[0], "refund-2");
	cr_assert_str_eq(seen.ids[1], "ship-1");
	cr_assert_str_eq(seen.ids[2], "ship-2");
	cr_assert_eq(seen.lines[1], 4);
	suite_release(&s);

	f.limit = 2;
	f.id_re = compile_re("^ship");
	load_ok(&s, dir, &f);
	read_all(&s, &f, &seen);
	cr_assert_eq((size_t)seen.n, s.n_selected);
	cr_assert_eq(seen.n, 2);
	cr_assert_str_eq(seen.ids[0], "ship-1");
	cr_assert_str_eq(seen.ids[1], "ship-2");
	suite_release(&s);
	pcre2_code_free(f.id_re);
}

Test(suite, reader_fills_every_field)
{
	struct case_reader r;
	struct eg_suite s;
	struct eg_case c;
	char dir[128];

	make_suite(dir, sizeof(dir), "a", manifest, cases);
	load_ok(&s, dir, NULL);
	cr_assert_eq(case_reader_open(&r, &s, NULL), 0);

	cr_assert_eq(case_reader_next(&r, &c), 1);
	cr_assert_str_eq(c.input, "How do I get a refund?");
	cr_assert_null(c.messages);
	cr_assert_null(c.expected);
	cr_assert_null(c.output);
	cr_assert_eq(c.n_context, 0);
	cr_assert_eq(c.n_scorers, 0);
	cr_assert_eq(c.n_tags, 2);
	cr_assert_str_eq(c.tags[0], "support", "manifest tags first");
	cr_assert_str_eq(c.tags[1], "billing");
	cr_assert_eq(strlen(c.hash), 64);
	case_release(&c);

	cr_assert_eq(case_reader_next(&r, &c), 1);
	cr_assert_eq(c.n_tags, 3, "a tag given twice is kept once");
	cr_assert_str_eq(c.tags[2], "policy");
	case_release(&c);

	cr_assert_eq(case_reader_next(&r, &c), 1);
	cr_assert_null(c.input);
	cr_assert(cJSON_IsArray(c.messages));
	cr_assert_eq(cJSON_GetArraySize(c.messages), 1);
	case_release(&c);

	cr_assert_eq(case_reader_next(&r, &c), 1);
	cr_assert_str_eq(c.expected, "yes");
	cr_assert_eq(c.n_context, 1, "a context string is one passage");
	cr_assert_str_eq(c.context[0], "one passage");
	case_release(&c);

	cr_assert_eq(case_reader_next(&r, &c), 1);
	cr_assert_eq(c.n_context, 2);
	cr_assert_str_eq(c.context[1], "b");
	cr_assert_eq(c.n_scorers, 1);
	case_release(&c);

	cr_assert_eq(case_reader_next(&r, &c), 0);
	cr_assert_eq(case_reader_next(&r, &c), 0, "the end stays the end");
	case_reader_close(&r);
	suite_release(&s);
}

static void suite_hash(const char *name, const char *m, const char *c, char out[65])
{
	struct eg_suite s;
	char dir[128];

	make_suite(dir, sizeof(dir), name, m, c);
	load_ok(&s, dir, NULL);
	memcpy(out, s.hash, 65);
	suite_release(&s);
}

Test(suite, suite_hash_ignores_layout_and_follows_content)
{
	char a[65], b[65], c[65], d[65], e[65], f[65];

	suite_hash("a", manifest, cases, a);
	/* same content: keys reordered, whitespace changed, extra blank lines, CRLF */
	suite_hash("b",
		   "{ \"tags\":[\"support\"],\"scorers\":[{\"value\":\"x\",\"type\":\"contains\"}],\n\n"
		   "\"version\":\"1.0.0\",\"name\":\"support\",\"description\":\"d\" }",
		   "{\"input\":\"How do I get a refund?\",\"id\":\"refund-1\",\"tags\":[\"billing\"]}\r\n"
		   "\n\n"
		   "  {\"tags\": [\"billing\", \"policy\", \"support\"], \"id\": \"refund-2\", \"input\": \"Refund window?\"}\n"
		   "{\"tags\":[\"shipping\"],\"id\":\"ship-1\",\"messages\":[{\"content\":\"Where is it?\",\"role\":\"user\"}]}\n"
		   "{\"context\":\"one passage\",\"expected\":\"yes\",\"tags\":[\"shipping\"],\"input\":\"Abroad?\",\"id\":\"ship-2\"}\n"
		   "{\"scorers\":[{\"pattern\":\"h\",\"type\":\"regex\"}],\"metadata\":{\"k\":1.0},\"context\":[\"a\",\"b\"],"
		   "\"input\":\"hello\",\"id\":\"misc\"}", b);
	cr_assert_str_eq(a, b);

	/* a case's content changed */
	{
		struct strbuf sb = STRBUF_INIT;
		strbuf_addstr(&sb, cases);
		sb.buf[strstr(sb.buf, "Abroad?") - sb.buf] = 'a';
		suite_hash("c", manifest, sb.buf, c);
		strbuf_release(&sb);
	}
	cr_assert_str_neq(a, c);
	/* the manifest changed (even only its description) */
	{
		struct strbuf sb = STRBUF_INIT;
		strbuf_addstr(&sb, manifest);
		sb.buf[strstr(sb.buf, "\"d\"") - sb.buf + 1] = 'e';
		suite_hash("d", sb.buf, cases, d);
		strbuf_release(&sb);
	}
	cr_assert_str_neq(a, d);
	/* a case added */
	{
		struct strbuf sb = STRBUF_INIT;
		strbuf_addstr(&sb, cases);
		strbuf_addstr(&sb, "{\"id\": \"new\", \"input\": \"x\"}\n");
		suite_hash("e", manifest, sb.buf, e);
		strbuf_release(&sb);
	}
	cr_assert_str_neq(a, e);
	/* two cases swapped: order is content */
	suite_hash("f", manifest,
		   "{\"id\": \"refund-2\", \"input\": \"Refund window?\", \"tags\": [\"billing\", \"policy\", \"support\"]}\n"
		   "{\"id\": \"refund-1\", \"input\": \"How do I get a refund?\", \"tags\": [\"billing\"]}\n"
		   "{\"id\": \"ship-1\", \"messages\": [{\"role\": \"user\", \"content\": \"Where is it?\"}], \"tags\": [\"shipping\"]}\n"
		   "{\"id\": \"ship-2\", \"input\": \"Abroad?\", \"tags\": [\"shipping\"], \"expected\": \"yes\", \"context\": \"one passage\"}\n"
		   "{\"id\": \"misc\", \"input\": \"hello\", \"context\": [\"a\", \"b\"], \"metadata\": {\"k\": 1},"
		   " \"scorers\": [{\"type\": \"regex\", \"pattern\": \"h\"}]}\n", f);
	cr_assert_str_neq(a, f);
}

/* the hash of case id in a suite made of m and c */
static void case_hash_of(const char *name, const char *m, const char *c, const char *id,
			 char out[65])
{
	struct case_reader r;
	struct eg_suite s;
	struct eg_case k;
	char dir[128];
	int found = 0;

	make_suite(dir, sizeof(dir), name, m, c);
	load_ok(&s, dir, NULL);
	cr_assert_eq(case_reader_open(&r, &s, NULL), 0);
	while (case_reader_next(&r, &k) == 1) {
		if (!strcmp(k.id, id)) {
			memcpy(out, k.hash, 65);
			found = 1;
		}
		case_release(&k);
	}
	case_reader_close(&r);
	suite_release(&s);
	cr_assert(found, "%s", id);
}

#define M_HEAD "{\"name\": \"s\", \"version\": \"1\", \"scorers\": [{\"type\": \"contains\", \"value\": \"x\"}]"
#define CASE_A "{\"id\": \"a\", \"input\": \"question a\", \"tags\": [\"t\"]}\n"

Test(suite, case_hash_depends_on_the_case_and_the_prompt_only)
{
	char base[65], h[65];

	case_hash_of("base", M_HEAD "}", CASE_A "{\"id\": \"b\", \"input\": \"q b\"}\n", "a", base);
	/* other cases changed, removed, added: same */
	case_hash_of("h1", M_HEAD "}", CASE_A "{\"id\": \"b\", \"input\": \"other\"}\n", "a", h);
	cr_assert_str_eq(base, h);
	case_hash_of("h2", M_HEAD "}", "{\"id\": \"z\", \"input\": \"z\"}\n" CASE_A, "a", h);
	cr_assert_str_eq(base, h);
	/* layout of the case itself: same */
	case_hash_of("h3", M_HEAD "}", "{ \"tags\":[\"t\"], \"input\":\"question a\", \"id\":\"a\" }\n", "a", h);
	cr_assert_str_eq(base, h);
	/* the manifest's description and version are not part of the prompt: same */
	case_hash_of("h4", "{\"name\": \"s\", \"version\": \"2\", \"description\": \"new\","
		     " \"scorers\": [{\"type\": \"contains\", \"value\": \"x\"}]}", CASE_A, "a", h);
	cr_assert_str_eq(base, h);
	/* the suite system prompt: different */
	case_hash_of("h5", M_HEAD ", \"system\": \"You are terse.\"}", CASE_A, "a", h);
	cr_assert_str_neq(base, h);
	/* the suite params: different */
	case_hash_of("h6", M_HEAD ", \"params\": {\"temperature\": 0.5}}", CASE_A, "a", h);
	cr_assert_str_neq(base, h);
	/* the manifest scorers: different */
	case_hash_of("h7", "{\"name\": \"s\", \"version\": \"1\", \"scorers\": [{\"type\": \"contains\", \"value\": \"y\"}]}",
		     CASE_A, "a", h);
	cr_assert_str_neq(base, h);
	/* the case's own content: different */
	case_hash_of("h8", M_HEAD "}", "{\"id\": \"a\", \"input\": \"question A\", \"tags\": [\"t\"]}\n", "a", h);
	cr_assert_str_neq(base, h);
	case_hash_of("h9", M_HEAD "}", "{\"id\": \"a\", \"input\": \"question a\", \"tags\": [\"t\", \"u\"]}\n", "a", h);
	cr_assert_str_neq(base, h);
}

/* a suite whose cases.jsonl is line 1 valid, then bad on line 2; must fail with msg at line */
static void case_fails_m(const char *m, const char *bad, int line, const char *msg)
{
	struct eg_suite s;
	struct strbuf c = STRBUF_INIT;
	char dir[128], want[1024];
	const char *err;

	strbuf_addstr(&c, "{\"id\": \"ok\", \"input\": \"fine\"}\n");
	strbuf_addstr(&c, bad);
	strbuf_addch(&c, '\n');
	make_suite(dir, sizeof(dir), "bad", m, c.buf);
	strbuf_release(&c);
	cr_assert_eq(suite_load(&s, dir, NULL), -1, "accepted: %s", bad);
	suite_release(&s);
	err = th_stderr_take();
	snprintf(want, sizeof(want), "evalgate: %s/cases.jsonl:%d: %s", dir, line, msg);
	cr_assert_not_null(strstr(err, want), "want '%s' in: %s", want, err);
	cr_assert_eq(strchr(err, '\n'), err + strlen(err) - 1, "one message: %s", err);
}

static void case_fails(const char *bad, const char *msg)
{
	case_fails_m(manifest, bad, 2, msg);
}

Test(suite, case_validation_errors)
{
	char long_id[400];

	case_fails("{\"id\": \"x\", \"input\": }", "invalid JSON near '}'");
	case_fails("{\"id\": \"x\", \"input\": \"y\"} {}", "invalid JSON: unexpected text after the value");
	case_fails("[1, 2]", "expected a JSON object (one case a line)");
	case_fails("{\"id\": \"x\", \"input\": \"y\", \"inputs\": 1}", "inputs: unknown field");
	case_fails("{\"id\": \"x\", \"id\": \"y\", \"input\": \"y\"}", "id: key given twice in one object");
	case_fails("{\"input\": \"y\"}", "id: missing (a string is required)");
	case_fails("{\"id\": 7, \"input\": \"y\"}", "id: expected a string");
	case_fails("{\"id\": \"\", \"input\": \"y\"}",
		   "id: must be 1 to 256 characters without control characters");
	case_fails("{\"id\": \"a\\u0001b\", \"input\": \"y\"}",
		   "id: must be 1 to 256 characters without control characters");
	memset(long_id, 0, sizeof(long_id));
	snprintf(long_id, sizeof(long_id), "{\"id\": \"%0257d\", \"input\": \"y\"}", 0);
	case_fails(long_id, "id: must be 1 to 256 characters without control characters");
	case_fails("{\"id\": \"x\", \"input\": 5}", "input: expected a string");
	case_fails("{\"id\": \"x\"}", "input: missing (give input or messages)");
	case_fails("{\"id\": \"x\", \"input\": \"y\", \"messages\": [{\"role\": \"user\", \"content\": \"c\"}]}",
		   "messages: give input or messages, not both");
	case_fails("{\"id\": \"x\", \"messages\": []}",
		   "messages: expected a non-empty array of {role, content}");
	case_fails("{\"id\": \"x\", \"messages\": {\"role\": \"user\"}}",
		   "messages: expected a non-empty array of {role, content}");
	case_fails("{\"id\": \"x\", \"messages\": [\"hi\"]}", "messages: message 0: expected an object");
	case_fails("{\"id\": \"x\", \"messages\": [{\"content\": \"c\"}]}",
		   "messages[0].role: missing (a string is required)");
	case_fails("{\"id\": \"x\", \"messages\": [{\"role\": \"user\", \"content\": \"c\"}, {\"role\": \"robot\", \"content\": \"c\"}]}",
		   "messages[1].role: unknown role 'robot' (system, user, assistant, tool, developer)");
	case_fails("{\"id\": \"x\", \"messages\": [{\"role\": \"user\"}]}", "messages[0].content: missing");
	case_fails("{\"id\": \"x\", \"messages\": [{\"role\": \"user\", \"content\": 3}]}",
		   "messages[0].content: expected a string or an array of parts");
	case_fails("{\"id\": \"x\", \"messages\": [{\"role\": \"user\", \"content\": \"c\", \"extra\": 1}]}",
		   "messages[0].extra: unknown field");
	case_fails("{\"id\": \"x\", \"input\": \"y\", \"output\": \"recorded\"}",
		   "output: recorded answers belong to online suites only (this suite is golden)");
	case_fails("{\"id\": \"x\", \"input\": \"y\", \"output\": 1}", "output: expected a string");
	case_fails("{\"id\": \"x\", \"input\": \"y\", \"expected\": []}", "expected: expected a string");
	case_fails("{\"id\": \"x\", \"input\": \"y\", \"tags\": \"t\"}", "tags: expected an array of strings");
	case_fails("{\"id\": \"x\", \"input\": \"y\", \"tags\": [\"t\", 1]}", "tags: expected an array of strings");
	case_fails("{\"id\": \"x\", \"input\": \"y\", \"context\": 1}", "context: expected an array of strings");
	case_fails("{\"id\": \"x\", \"input\": \"y\", \"context\": [\"a\", null]}",
		   "context: expected an array of strings");
	case_fails("{\"id\": \"x\", \"input\": \"y\", \"metadata\": [1]}", "metadata: expected an object");
	case_fails("{\"id\": \"x\", \"input\": \"y\", \"scorers\": {}}",
		   "scorers: expected an array of scorer objects");
	case_fails("{\"id\": \"x\", \"input\": \"y\", \"scorers\": [\"regex\"]}", "scorer 1: expected an object");
	case_fails("{\"id\": \"x\", \"input\": \"y\", \"scorers\": [{\"type\": \"contains\", \"value\": \"a\"}, {\"type\": \"regex\", \"pattern\": \"(a\"}]}",
		   "scorer 2: regex: ");
	case_fails("{\"id\": \"x\", \"input\": \"y\", \"scorers\": [{\"type\": \"nope\"}]}",
		   "scorer 1: unknown scorer type \"nope\"");
	case_fails("{\"id\": \"x\", \"input\": \"y\xff\"}", "text is not valid UTF-8 (byte 24)");
}

Test(suite, case_with_a_nul_byte)
{
	struct eg_suite s;
	char dir[128], path[256], want[512];
	static const char c[] = "{\"id\": \"a\", \"input\": \"x\"}\n{\"id\": \"b\", \"input\": \"x\0y\"}\n";
	const char *err;

	make_suite(dir, sizeof(dir), "nul", manifest, "");
	snprintf(path, sizeof(path), "%s/cases.jsonl", dir);
	th_write_bytes(path, c, sizeof(c) - 1);
	cr_assert_eq(suite_load(&s, dir, NULL), -1);
	suite_release(&s);
	err = th_stderr_take();
	snprintf(want, sizeof(want), "%s:2: text contains a NUL byte (byte 24)", path);
	cr_assert_not_null(strstr(err, want), "want '%s' in: %s", want, err);
}

Test(suite, no_scorer_anywhere)
{
	case_fails_m("{\"name\": \"s\", \"version\": \"1\"}", "{\"id\": \"x\", \"input\": \"y\"}", 1,
		     "scorers: no scorer for this case (none in the manifest either)");
}

Test(suite, online_suites_need_recorded_output)
{
	static const char online[] = "{\"name\": \"o\", \"version\": \"1\", \"kind\": \"online\","
				     " \"scorers\": [{\"type\": \"contains\", \"value\": \"x\"}]}";
	struct case_reader r;
	struct eg_suite s;
	struct eg_case c;
	char dir[128];

	/* the first line of case_fails_m has no output, so it is the one reported */
	case_fails_m(online, "{\"id\": \"x\", \"output\": \"y\"}", 1,
		     "output: missing (online suites score recorded answers)");

	make_suite(dir, sizeof(dir), "on", online, "{\"id\": \"x\", \"output\": \"recorded\"}\n");
	load_ok(&s, dir, NULL);
	cr_assert_eq(s.kind, SUITE_ONLINE);
	cr_assert_eq(case_reader_open(&r, &s, NULL), 0);
	cr_assert_eq(case_reader_next(&r, &c), 1);
	cr_assert_str_eq(c.output, "recorded");
	cr_assert_null(c.input);
	case_release(&c);
	case_reader_close(&r);
	suite_release(&s);
}

Test(suite, duplicate_ids)
{
	struct eg_suite s;
	char dir[128], want[512];
	const char *err;

	make_suite(dir, sizeof(dir), "dup", manifest,
		   "{\"id\": \"a\", \"input\": \"x\"}\n"
		   "{\"id\": \"b\", \"input\": \"x\"}\n"
		   "\n"
		   "{\"id\": \"a\", \"input\": \"other\"}\n");
	cr_assert_eq(suite_load(&s, dir, NULL), -1);
	suite_release(&s);
	err = th_stderr_take();
	snprintf(want, sizeof(want), "evalgate: %s/cases.jsonl:4: id: duplicate case id 'a' (first on line 1)\n", dir);
	cr_assert_str_eq(err, want);
}

Test(suite, duplicate_ids_in_a_large_suite)
{
	struct strbuf c = STRBUF_INIT;
	struct eg_suite s;
	char dir[128], want[512];
	const char *err;
	int i;

	/* enough ids to grow the id set several times */
	for (i = 0; i < 5000; i++)
		strbuf_addf(&c, "{\"id\": \"case-%d\", \"input\": \"q\"}\n", i);
	make_suite(dir, sizeof(dir), "big", manifest, c.buf);
	load_ok(&s, dir, NULL);
	cr_assert_eq(s.n_cases, 5000);
	suite_release(&s);

	strbuf_addstr(&c, "{\"id\": \"case-1234\", \"input\": \"again\"}\n");
	make_suite(dir, sizeof(dir), "big", manifest, c.buf);
	strbuf_release(&c);
	cr_assert_eq(suite_load(&s, dir, NULL), -1);
	suite_release(&s);
	err = th_stderr_take();
	snprintf(want, sizeof(want), "%s/cases.jsonl:5001: id: duplicate case id 'case-1234' (first on line 1235)", dir);
	cr_assert_not_null(strstr(err, want), "want '%s' in: %s", want, err);
}

Test(suite, empty_and_missing_cases)
{
	struct eg_suite s;
	char dir[128], path[256], want[512];
	const char *err;

	make_suite(dir, sizeof(dir), "empty", manifest, "\n  \n\t\n");
	cr_assert_eq(suite_load(&s, dir, NULL), -1);
	suite_release(&s);
	err = th_stderr_take();
	snprintf(want, sizeof(want), "evalgate: %s/cases.jsonl: the suite has no cases\n", dir);
	cr_assert_str_eq(err, want);

	snprintf(path, sizeof(path), "%s/cases.jsonl", dir);
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(suite_load(&s, dir, NULL), -1);
	suite_release(&s);
	err = th_stderr_take();
	snprintf(want, sizeof(want), "%s: cannot open", path);
	cr_assert_not_null(strstr(err, want), "%s", err);

	snprintf(path, sizeof(path), "%s/nowhere", th_tmpdir());
	cr_assert_eq(suite_load(&s, path, NULL), -1);
	suite_release(&s);
	err = th_stderr_take();
	cr_assert_not_null(strstr(err, "nowhere/suite.json: cannot open"), "%s", err);
}

Test(suite, last_line_without_newline_and_crlf)
{
	struct eg_suite s;
	char dir[128];

	make_suite(dir, sizeof(dir), "crlf", manifest,
		   "{\"id\": \"a\", \"input\": \"x\"}\r\n{\"id\": \"b\", \"input\": \"x\"}");
	load_ok(&s, dir, NULL);
	cr_assert_eq(s.n_cases, 2);
	suite_release(&s);
}

static void manifest_fails(const char *m, int line, const char *msg)
{
	struct eg_suite s;
	char dir[128], want[1024];
	const char *err;

	make_suite(dir, sizeof(dir), "m", m, "{\"id\": \"a\", \"input\": \"x\"}\n");
	cr_assert_eq(suite_load(&s, dir, NULL), -1, "accepted: %s", m);
	suite_release(&s);
	err = th_stderr_take();
	snprintf(want, sizeof(want), "evalgate: %s/suite.json:%d: %s", dir, line, msg);
	cr_assert_not_null(strstr(err, want), "want '%s' in: %s", want, err);
}

Test(suite, manifest_errors)
{
	manifest_fails("{\"version\": \"1\"}", 1, "name: missing (a string is required)");
	manifest_fails("{\n\"name\": \"a b\",\n\"version\": \"1\"}", 2, "name: 'a b': use letters, digits and . _ - /");
	manifest_fails("{\"name\": \"a\",\n\"version\": \"\"}", 2, "version: must not be empty");
	manifest_fails("{\"name\": \"a\", \"version\": \"1\",\n\"kind\": \"gold\"}", 2,
		       "kind: unknown kind 'gold' (golden, adversarial or online)");
	manifest_fails("{\"name\": \"a\", \"version\": \"1\",\n\n\"params\": []}", 3, "params: expected an object");
	manifest_fails("{\"name\": \"a\", \"version\": \"1\",\n\"cases\": []}", 2, "cases: unknown field");
	manifest_fails("{\"name\": \"a\", \"version\": \"1\", \"scorers\": [\n{\"type\": \"contains\", \"value\": \"v\"},\n"
		       "{\"type\": \"regex\", \"pattern\": \"[\"}]}", 3, "scorer 2: regex: ");
	manifest_fails("[]", 1, "expected a JSON object");
}

/* --- suites.lock --- */

Test(suite, lock_write_then_check)
{
	struct eg_suite s;
	const char *lock;
	char dir[128], line[512], *text;
	const char *err;

	lock = th_path("suites.lock");
	make_suite(dir, sizeof(dir), "a", manifest, cases);
	load_ok(&s, dir, NULL);

	/* no lock yet: a warning, not an error */
	cr_assert_eq(lock_check(lock, &s, 1), 0);
	err = th_stderr_take();
	cr_assert_not_null(strstr(err, "warning: "), "%s", err);
	cr_assert_not_null(strstr(err, "suites.lock: no lock file"), "%s", err);

	cr_assert_eq(lock_write(lock, &s, 1), 0);
	text = th_slurp(lock, NULL);
	snprintf(line, sizeof(line), "\nsupport 1.0.0 %s %s\n", s.hash, dir);
	cr_assert_not_null(strstr(text, line), "%s", text);
	cr_assert_eq(text[0], '#');
	free(text);
	snprintf(line, sizeof(line), "%s.tmp", lock);
	cr_assert_neq(access(line, F_OK), 0, "no temporary file is left");

	/* unchanged: fine and silent */
	cr_assert_eq(lock_check(lock, &s, 1), 0);
	cr_assert_str_eq(th_stderr_take(), "");
	suite_release(&s);

	/* content changed, version the same: refused */
	make_suite(dir, sizeof(dir), "a", manifest, "{\"id\": \"only\", \"input\": \"changed\"}\n");
	load_ok(&s, dir, NULL);
	cr_assert_eq(lock_check(lock, &s, 1), -1);
	err = th_stderr_take();
	cr_assert_not_null(strstr(err, "suite support changed but its version is still 1.0.0"), "%s", err);
	cr_assert_not_null(strstr(err, "suite.json"), "names the manifest to edit: %s", err);
	/* and locking it is refused too: the lock keeps the old content's hash */
	text = th_slurp(lock, NULL);
	cr_assert_eq(lock_write(lock, &s, 1), -1);
	err = th_stderr_take();
	cr_assert_not_null(strstr(err, "suite support changed but its version is still 1.0.0"), "%s", err);
	{
		char *after = th_slurp(lock, NULL);

		cr_assert_str_eq(after, text, "the lock is unchanged");
		free(after);
	}
	free(text);
	cr_assert_eq(lock_check(lock, &s, 1), -1, "still refused after --lock");
	th_stderr_take();
	suite_release(&s);

	/* version bumped: accepted, with a reminder to rewrite the lock */
	make_suite(dir, sizeof(dir), "a",
		   "{\"name\": \"support\", \"version\": \"1.1.0\","
		   " \"scorers\": [{\"type\": \"contains\", \"value\": \"x\"}]}",
		   "{\"id\": \"only\", \"input\": \"changed\"}\n");
	load_ok(&s, dir, NULL);
	cr_assert_eq(lock_check(lock, &s, 1), 0);
	err = th_stderr_take();
	cr_assert_not_null(strstr(err, "suite support is now 1.1.0 (lock has 1.0.0)"), "%s", err);

	/* rewriting replaces the suite's line */
	cr_assert_eq(lock_write(lock, &s, 1), 0);
	text = th_slurp(lock, NULL);
	cr_assert_null(strstr(text, "1.0.0"), "%s", text);
	snprintf(line, sizeof(line), "\nsupport 1.1.0 %s %s\n", s.hash, dir);
	cr_assert_not_null(strstr(text, line), "%s", text);
	free(text);
	cr_assert_eq(lock_check(lock, &s, 1), 0);
	cr_assert_str_eq(th_stderr_take(), "");
	suite_release(&s);
}

Test(suite, lock_write_keeps_suites_not_loaded)
{
	struct eg_suite a, b;
	const char *lock;
	char da[128], db[128], la[512], lb[512], *text;
	const char *pa, *pb;

	lock = th_path("suites.lock");
	make_suite(da, sizeof(da), "zeta", "{\"name\": \"zeta\", \"version\": \"3\","
		   " \"scorers\": [{\"type\": \"contains\", \"value\": \"x\"}]}", CASE_A);
	make_suite(db, sizeof(db), "alpha", "{\"name\": \"alpha\", \"version\": \"7\","
		   " \"scorers\": [{\"type\": \"contains\", \"value\": \"x\"}]}", CASE_A);
	load_ok(&a, da, NULL);
	load_ok(&b, db, NULL);
	cr_assert_eq(lock_write(lock, &a, 1), 0);
	cr_assert_eq(lock_write(lock, &b, 1), 0);
	text = th_slurp(lock, NULL);
	snprintf(la, sizeof(la), "zeta 3 %s %s\n", a.hash, da);
	snprintf(lb, sizeof(lb), "alpha 7 %s %s\n", b.hash, db);
	pa = strstr(text, la);
	pb = strstr(text, lb);
	cr_assert_not_null(pa, "the suite not loaded keeps its line: %s", text);
	cr_assert_not_null(pb, "%s", text);
	cr_assert_lt(pb, pa, "sorted by name: %s", text);
	free(text);
	/* both agree with the lock */
	cr_assert_eq(lock_check(lock, &a, 1), 0);
	cr_assert_eq(lock_check(lock, &b, 1), 0);
	cr_assert_str_eq(th_stderr_take(), "");
	suite_release(&a);
	suite_release(&b);
}

Test(suite, lock_check_warns_about_unknown_suites_and_rejects_bad_lines)
{
	struct eg_suite s;
	const char *lock;
	char dir[128], bad[256];
	const char *err;

	lock = th_path("suites.lock");
	make_suite(dir, sizeof(dir), "a", manifest, cases);
	load_ok(&s, dir, NULL);

	th_write(lock, "# comment\nother 1 0123456789012345678901234567890123456789012345678901234567890123 d\n");
	cr_assert_eq(lock_check(lock, &s, 1), 0);
	err = th_stderr_take();
	cr_assert_not_null(strstr(err, "suite support@1.0.0 is not in the lock"), "%s", err);

	snprintf(bad, sizeof(bad), "# comment\n\nsupport 1.0.0 abc %s\n", dir);
	th_write(lock, bad);
	cr_assert_eq(lock_check(lock, &s, 1), -1);
	err = th_stderr_take();
	cr_assert_not_null(strstr(err, "suites.lock:3: expected 'name version sha256 dir'"), "%s", err);
	/* lock_write refuses to drop a lock it cannot read */
	cr_assert_eq(lock_write(lock, &s, 1), -1);
	th_stderr_take();
	suite_release(&s);
}

/* --- canonical JSON --- */

static void check_canon(const char *in, const char *want)
{
	cJSON *v = cJSON_Parse(in);
	char *c;

	cr_assert_not_null(v, "%s", in);
	c = json_canonical(v);
	cr_assert_str_eq(c, want, "from %s", in);
	free(c);
	cJSON_Delete(v);
}

Test(suite, json_canonical)
{
	check_canon("{}", "{}");
	check_canon("[]", "[]");
	check_canon(" { \"b\" : 1 , \"a\" : [ true , false , null , \"x\" ] } ",
		    "{\"a\":[true,false,null,\"x\"],\"b\":1}");
	check_canon("{\"c\": {\"z\": 1, \"y\": {\"b\": 2, \"a\": 3}}, \"B\": 0, \"a\": 0}",
		    "{\"B\":0,\"a\":0,\"c\":{\"y\":{\"a\":3,\"b\":2},\"z\":1}}");
	check_canon("[3, 1, 2]", "[3,1,2]");
	/* strings are escaped the same way whatever the input escapes were */
	check_canon("\"a\\\"b\\n\\u0001\\u00e9\\/\"", "\"a\\\"b\\n\\u0001\xc3\xa9/\"");
	/* numbers: integers without a fraction, others with 17 digits */
	check_canon("[1.0, -0, 0, -3, 12345678901234, 100e-2]", "[1,0,0,-3,12345678901234,1]");
	check_canon("[0.1, 1.5, -2.25]", "[0.10000000000000001,1.5,-2.25]");
	check_canon("[1e15, 1e20, -1e20, 1e300, 2.5e-7]",
		    "[1000000000000000,1e+20,-1e+20,1.0000000000000001e+300,2.4999999999999999e-07]");
}

Test(suite, context_id_lists)
{
	static const char ids_cases[] =
		"{\"id\": \"r1\", \"input\": \"q\", \"expected_context_ids\": [\"d1\", \"d2\"]}\n"
		"{\"id\": \"r2\", \"input\": \"q\", \"context_ids\": [\"d3\"], \"expected_context_ids\": []}\n";
	struct eg_suite s;
	struct case_reader r;
	struct eg_case c;
	char dir[128];

	make_suite(dir, sizeof(dir), "ids", manifest, ids_cases);
	load_ok(&s, dir, NULL);
	cr_assert_eq(case_reader_open(&r, &s, NULL), 0);
	cr_assert_eq(case_reader_next(&r, &c), 1);
	cr_expect_eq(c.n_expected_context_ids, 2);
	cr_expect_str_eq(c.expected_context_ids[1], "d2");
	cr_expect_null(c.context_ids);
	case_release(&c);
	cr_assert_eq(case_reader_next(&r, &c), 1);
	cr_expect_eq(c.n_context_ids, 1);
	cr_expect_str_eq(c.context_ids[0], "d3");
	cr_expect_eq(c.n_expected_context_ids, 0);
	case_release(&c);
	case_reader_close(&r);
	suite_release(&s);

	make_suite(dir, sizeof(dir), "bad", manifest,
		   "{\"id\": \"r1\", \"input\": \"q\", \"expected_context_ids\": [\"d1\", 2]}\n");
	cr_expect_neq(suite_load(&s, dir, NULL), 0);
	cr_expect(strstr(th_stderr_take(), "expected_context_ids"));
	suite_release(&s); /* a failed load is released too (suite.h) */
}

Test(suite, labels_of_recorded_outputs)
{
	static const char online[] = "{\"name\": \"o\", \"version\": \"1\", \"kind\": \"online\","
				     " \"scorers\": [{\"type\": \"contains\", \"value\": \"x\"}]}";
	struct case_reader r;
	struct eg_suite s;
	struct eg_case c;
	char dir[128];

	case_fails("{\"id\": \"x\", \"input\": \"y\", \"label\": \"maybe\"}",
		   "label: expected \"pass\", \"fail\" or a score from 0 to 1");
	case_fails("{\"id\": \"x\", \"input\": \"y\", \"label\": 1.5}",
		   "label: expected \"pass\", \"fail\" or a score from 0 to 1");
	case_fails("{\"id\": \"x\", \"input\": \"y\", \"label\": \"pass\"}",
		   "label: labels a recorded output: give \"output\" too");

	make_suite(dir, sizeof(dir), "lab", online,
		   "{\"id\": \"a\", \"output\": \"o\", \"label\": \"fail\"}\n"
		   "{\"id\": \"b\", \"output\": \"o\", \"label\": 0.25}\n"
		   "{\"id\": \"c\", \"output\": \"o\"}\n");
	load_ok(&s, dir, NULL);
	cr_assert_eq(case_reader_open(&r, &s, NULL), 0);
	cr_assert_eq(case_reader_next(&r, &c), 1);
	cr_assert_str_eq(c.label->valuestring, "fail");
	case_release(&c);
	cr_assert_eq(case_reader_next(&r, &c), 1);
	cr_assert_float_eq(c.label->valuedouble, 0.25, 1e-12);
	case_release(&c);
	cr_assert_eq(case_reader_next(&r, &c), 1);
	cr_assert_null(c.label);
	case_release(&c);
	case_reader_close(&r);
	suite_release(&s);
}
