/* junit: well-formed XML for any bytes, counts, truncation, gates, atomic write */
#include <criterion/criterion.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helper.h"
#include "history.h"
#include "junit.h"
#include "strbuf.h"
#include "xml.h"
#include "banned.h"

TestSuite(junit, .init = th_tmpdir_setup, .fini = th_tmpdir_teardown);

static void assert_xmllint_ok(const char *path)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "xmllint --noout '%s'", path);
	cr_assert_eq(system(cmd), 0, "xmllint rejected %s", path);
}

/* the integer value of attribute attr in the start tag that begins with anchor */
static long attr_long(const char *doc, const char *anchor, const char *attr)
{
	const char *p = strstr(doc, anchor);
	const char *end, *a;
	char key[64];

	cr_assert_not_null(p, "no %s", anchor);
	end = strchr(p, '>');
	cr_assert_not_null(end);
	snprintf(key, sizeof(key), " %s=\"", attr);
	a = strstr(p, key);
	cr_assert(a && a < end, "no %s in %s", attr, anchor);
	return strtol(a + strlen(key), NULL, 10);
}

static struct result_row mkrow(const char *suite, const char *case_id, enum result_status st,
			       const char *out, size_t out_len)
{
	struct result_row r;

	memset(&r, 0, sizeof(r));
	r.suite = suite;
	r.case_id = case_id;
	r.status = st;
	r.output = out;
	r.output_len = out_len;
	r.latency_ms = 1234.5678;
	r.prompt_tokens = -1;
	r.completion_tokens = -1;
	r.attempts = 1;
	r.cost_usd = NAN;
	return r;
}

#define BIG (1024 * 1024)

static struct history *make_history(const char *run_id)
{
	static const char nasty[] = "ctl\x01\x1b\x0b end ]]> <script>&amp;\"' \xef\xbf\xbe\r\n";
	static const char invalid[] = "bad \xff\xfe trunc \xe2\x82 sur \xed\xa0\x80 nul\0x ok \xc3\xa9";
	const char *path;
	struct history *h;
	struct run_info ri;
	struct result_row r;
	struct score_row sc[3];
	struct gate_row g;
	char *big;

	path = th_path("history.db");
	h = history_open(path);
	cr_assert_not_null(h);
	memset(&ri, 0, sizeof(ri));
	ri.id = (char *)run_id;
	ri.started_at = (char *)"2026-11-23T12:08:03Z";
	ri.target = (char *)"bot <&>";
	ri.model = (char *)"gpt-\x01test";
	ri.version = (char *)"v2";
	ri.git_sha = (char *)"deadbeef";
	cr_assert_eq(history_run_begin(h, &ri), 0);
	cr_assert_eq(history_run_suite(h, run_id, "golden", "2", "sha-golden", "golden"), 0);
	cr_assert_eq(history_run_suite(h, run_id, "adv", "1", "sha-adv", "adversarial"), 0);

	memset(sc, 0, sizeof(sc));
	sc[0].scorer = "regex \"x\"";
	sc[0].type = "regex";
	sc[0].score = 0;
	sc[0].pass = 0;
	sc[0].reason = "no match for \xff <b>";
	sc[1].scorer = "judge";
	sc[1].type = "llm_judge";
	sc[1].score = 0.875;
	sc[1].pass = 1;
	sc[1].reason = "fine";
	sc[2].scorer = "faith";
	sc[2].type = "faithfulness";
	sc[2].score = NAN;
	sc[2].pass = 0;
	sc[2].error = 1;
	sc[2].reason = "judge call failed";

	big = malloc(BIG);
	cr_assert_not_null(big);
	memset(big, 'x', BIG);
	memcpy(big + 4095, "\xc3\xa9", 2); /* a 2-byte character straddles the cut */

	cr_assert_eq(history_batch_begin(h), 0);
	r = mkrow("golden", "id \"with\" 'quotes' & <tags>", RESULT_PASS, nasty, sizeof(nasty) - 1);
	cr_assert_eq(history_add_result(h, run_id, &r), 0);
	r = mkrow("golden", "invalid-utf8", RESULT_FAIL, invalid, sizeof(invalid) - 1);
	r.scores = sc;
	r.n_scores = 3;
	cr_assert_eq(history_add_result(h, run_id, &r), 0);
	r = mkrow("golden", "call-error", RESULT_ERROR, NULL, 0);
	r.error = "HTTP 500 \x01 <oops> ]]>";
	cr_assert_eq(history_add_result(h, run_id, &r), 0);
	r = mkrow("golden", "big", RESULT_PASS, big, BIG);
	cr_assert_eq(history_add_result(h, run_id, &r), 0);
	r = mkrow("golden", "rep", RESULT_PASS, "a", 1);
	cr_assert_eq(history_add_result(h, run_id, &r), 0);
	r.repeat = 1;
	r.status = RESULT_FAIL;
	cr_assert_eq(history_add_result(h, run_id, &r), 0);
	r = mkrow("adv", "inj-1", RESULT_FAIL, "leaked", 6);
	r.latency_ms = 500;
	cr_assert_eq(history_add_result(h, run_id, &r), 0);
	r = mkrow("adv", "inj-2", RESULT_PASS, "refused", 7);
	r.latency_ms = NAN;
	cr_assert_eq(history_add_result(h, run_id, &r), 0);
	cr_assert_eq(history_batch_commit(h), 0);
	free(big);

	memset(&g, 0, sizeof(g));
	g.name = "golden pass rate";
	g.metric = "pass_rate";
	g.scope = "suite:golden";
	g.value = 0.5;
	g.op = ">=";
	g.threshold = 0.95;
	g.pass = 0;
	g.lo = 0.2;
	g.hi = 0.8;
	g.n = 6;
	cr_assert_eq(history_add_gate(h, run_id, &g), 0);
	g.name = "errors \x02";
	g.metric = "error_rate";
	g.scope = "all";
	g.value = 0.125;
	g.op = "<=";
	g.threshold = 0.5;
	g.pass = 1;
	g.lo = g.hi = NAN;
	cr_assert_eq(history_add_gate(h, run_id, &g), 0);
	g.name = "empty scope";
	g.value = NAN;
	g.pass = 0;
	g.detail = "no cases <matched>";
	cr_assert_eq(history_add_gate(h, run_id, &g), 0);
	cr_assert_eq(history_run_finish(h, run_id, RUN_FINISHED, "fail"), 0);
	return h;
}

Test(junit, well_formed_counts_and_truncation)
{
	const char *id = "20261123T120803Z-3f9a1c";
	const char *path;
	char tmp[160];
	struct history *h = make_history(id);
	size_t len, i;
	char *doc;

	path = th_path("junit.xml");
	cr_assert_eq(junit_write(h, id, path, -1), 0);
	history_close(h);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	cr_assert_neq(access(tmp, F_OK), 0, "temporary file left behind");
	assert_xmllint_ok(path);

	doc = th_slurp(path, &len);
	cr_assert_eq(strncmp(doc, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>", 38), 0);
	/* 8 results + 3 gates; 3 failed results + 2 failed gates; 1 error */
	cr_assert_eq(attr_long(doc, "<testsuites", "tests"), 11);
	cr_assert_eq(attr_long(doc, "<testsuites", "failures"), 5);
	cr_assert_eq(attr_long(doc, "<testsuites", "errors"), 1);
	cr_assert_eq(attr_long(doc, "<testsuite name=\"golden@2\"", "tests"), 6);
	cr_assert_eq(attr_long(doc, "<testsuite name=\"golden@2\"", "failures"), 2);
	cr_assert_eq(attr_long(doc, "<testsuite name=\"golden@2\"", "errors"), 1);
	cr_assert_eq(attr_long(doc, "<testsuite name=\"adv@1\"", "tests"), 2);
	cr_assert_eq(attr_long(doc, "<testsuite name=\"adv@1\"", "failures"), 1);
	cr_assert_eq(attr_long(doc, "<testsuite name=\"gates\"", "tests"), 3);
	cr_assert_eq(attr_long(doc, "<testsuite name=\"gates\"", "failures"), 2);
	cr_assert_eq(th_count(doc, "<testcase "), 11);
	cr_assert_eq(th_count(doc, "<failure "), 5);
	cr_assert_eq(th_count(doc, "<error "), 1);

	/* times: seconds with a dot; golden sums six latencies of 1234.5678 ms */
	cr_assert_not_null(strstr(doc, "<testsuite name=\"golden@2\" tests=\"6\" failures=\"2\" "
				  "errors=\"1\" skipped=\"0\" time=\"7.407\" "
				  "timestamp=\"2026-11-23T12:08:03Z\">"), "%.600s", doc);
	cr_assert_not_null(strstr(doc, "name=\"invalid-utf8\" time=\"1.235\""));
	cr_assert_not_null(strstr(doc, "name=\"inj-2\" time=\"0.000\""));

	/* names, properties and repeats */
	cr_assert_not_null(strstr(doc, "classname=\"golden\" name=\"id &quot;with&quot; "
				  "&apos;quotes&apos; &amp; &lt;tags&gt;\""));
	cr_assert_not_null(strstr(doc, "name=\"rep\" time="));
	cr_assert_not_null(strstr(doc, "name=\"rep#1\" time="));
	cr_assert_not_null(strstr(doc, "<property name=\"run_id\" value=\"20261123T120803Z-3f9a1c\"/>"));
	cr_assert_not_null(strstr(doc, "<property name=\"suite_hash\" value=\"sha-golden\"/>"));
	cr_assert_not_null(strstr(doc, "<property name=\"target\" value=\"bot &lt;&amp;&gt;\"/>"));
	cr_assert_not_null(strstr(doc, "<property name=\"git_sha\" value=\"deadbeef\"/>"));
	cr_assert_null(strstr(doc, "name=\"git_ref\""));

	/* failure names the failed scorers, lists every scorer */
	cr_assert_not_null(strstr(doc, "<failure message=\"regex &quot;x&quot;: no match for "
				  "\xef\xbf\xbd &lt;b&gt;; faith: judge call failed\" type=\"scorer\">"),
			   "%s", strstr(doc, "<failure"));
	cr_assert_not_null(strstr(doc, "judge: pass 0.875 fine\n"));
	cr_assert_not_null(strstr(doc, "faith: FAIL n/a (scorer error) judge call failed"));
	cr_assert_not_null(strstr(doc, "<error message=\"HTTP 500 \\x01 &lt;oops&gt; ]]&gt;\" "
				  "type=\"call\">"));

	/* the 1 MiB answer is cut at a character boundary with a note */
	cr_assert_not_null(strstr(doc, "xxx\n[truncated 1044481 bytes]</system-out>"));
	cr_assert_lt(len, 64 * 1024);

	/* nothing XML forbids made it through */
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)doc[i];
		cr_assert(c >= 0x20 || c == '\n' || c == '\t', "byte 0x%02x at %zu", c, i);
		cr_assert(c != 0xff && c != 0xfe);
	}
	cr_assert_null(strstr(doc, "\xed\xa0\x80"));
	cr_assert_null(strstr(doc, "\xef\xbf\xbe"));
	cr_assert_not_null(strstr(doc, "ctl\\x01\\x1b\\x0b end ]]&gt; "
				  "&lt;script&gt;&amp;amp;&quot;&apos; \xef\xbf\xbd&#13;\n"));

	/* gates */
	cr_assert_not_null(strstr(doc, "<testcase classname=\"gates\" name=\"golden pass rate\" "
				  "time=\"0.000\">\n      <failure message=\"value 0.5 &gt;= "
				  "threshold 0.95\" type=\"gate\">"));
	cr_assert_not_null(strstr(doc, "name=\"errors \\x02\" time=\"0.000\">\n    </testcase>"));
	cr_assert_not_null(strstr(doc, "<failure message=\"value n/a &lt;= threshold 0.5\""));
	cr_assert_not_null(strstr(doc, "no cases &lt;matched&gt;"));
	free(doc);
}

Test(junit, run_reference_and_missing_run)
{
	const char *id = "20261123T120803Z-3f9a1c";
	const char *path;
	struct history *h = make_history(id);
	char *doc;

	path = th_path("latest.xml");
	cr_assert_eq(junit_write(h, "latest", path, -1), 0);
	doc = th_slurp(path, NULL);
	cr_assert_not_null(strstr(doc, "value=\"20261123T120803Z-3f9a1c\""));
	free(doc);
	path = th_path("none.xml");
	th_stderr_start();
	cr_assert_eq(junit_write(h, "nope", path, -1), -1);
	cr_assert_neq(access(path, F_OK), 0);
	history_close(h);
}

Test(junit, write_is_atomic)
{
	const char *id = "r1";
	const char *path, *err;
	char tmp[180];
	struct history *h = make_history(id);
	char *doc;

	th_stderr_start();
	/* a directory that does not exist: -1, an error naming the path, no file */
	path = th_path("no/such/dir/junit.xml");
	cr_assert_eq(junit_write(h, id, path, -1), -1);
	cr_assert_neq(access(path, F_OK), 0);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	cr_assert_neq(access(tmp, F_OK), 0);
	err = th_stderr_take();
	cr_assert_neq(*err, '\0');
	cr_assert_not_null(strstr(err, path), "%s", err);

	/* a failed write leaves the previous report as it was */
	path = th_path("junit.xml");
	th_write(path, "old");
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	cr_assert_eq(mkdir(tmp, 0700), 0);
	cr_assert_eq(junit_write(h, id, path, -1), -1);
	doc = th_slurp(path, NULL);
	cr_assert_str_eq(doc, "old");
	free(doc);

	/* a full disk is an error too */
	if (access("/dev/full", W_OK) == 0) {
		cr_assert_eq(rmdir(tmp), 0);
		cr_assert_eq(symlink("/dev/full", tmp), 0);
		cr_assert_eq(junit_write(h, id, path, -1), -1);
		doc = th_slurp(path, NULL);
		cr_assert_str_eq(doc, "old");
		free(doc);
	}
	history_close(h);
}

Test(junit, escaping_functions)
{
	struct strbuf sb = STRBUF_INIT;

	xml_escape_text(&sb, "a<b>&\"'\t\n\r", 10);
	cr_assert_str_eq(sb.buf, "a&lt;b&gt;&amp;&quot;&apos;\t\n&#13;");
	strbuf_reset(&sb);
	xml_escape_attr(&sb, "\t\n\r", 3);
	cr_assert_str_eq(sb.buf, "&#9;&#10;&#13;");
	strbuf_reset(&sb);
	/* controls shown as esc_visible shows them (escape.h): a NUL is \x00, never cut */
	xml_escape_text(&sb, "\x00\x01\x1f\x7f!", 5);
	cr_assert_str_eq(sb.buf, "\\x00\\x01\\x1f\\x7f!");
	strbuf_reset(&sb);
	/* U+FFFE, U+FFFF out; U+FFFD, U+FDD0 and a 4-byte character stay */
	xml_escape_text(&sb, "\xef\xbf\xbe\xef\xbf\xbf\xef\xbf\xbd\xef\xb7\x90\xf0\x9f\x98\x80", 16);
	cr_assert_str_eq(sb.buf, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xb7\x90\xf0\x9f\x98\x80");
	strbuf_reset(&sb);
	/* a surrogate and a truncated sequence */
	xml_escape_text(&sb, "\xed\xa0\x80!\xe2\x82", 6);
	cr_assert_eq(th_count(sb.buf, "\xef\xbf\xbd"), 5);
	cr_assert_not_null(strstr(sb.buf, "!"));
	strbuf_reset(&sb);
	xml_add_attr(&sb, "n", NULL);
	cr_assert_str_eq(sb.buf, " n=\"\"");
	strbuf_release(&sb);

	cr_assert_eq(xml_utf8_cut("a\xc3\xa9", 3, 2), 1);
	cr_assert_eq(xml_utf8_cut("a\xc3\xa9", 3, 3), 3);
	cr_assert_eq(xml_utf8_cut("ab", 2, 10), 2);
	cr_assert_eq(xml_utf8_cut("\xff\xff\xff", 3, 2), 2);
}

Test(junit, decimals_ignore_the_locale)
{
	struct strbuf sb = STRBUF_INIT;
	/* locales that write a decimal comma, when the machine has one */
	static const char *const comma[] = { "de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "C.UTF-8" };
	size_t i;

	for (i = 0; i < sizeof(comma) / sizeof(comma[0]); i++)
		if (setlocale(LC_ALL, comma[i]))
			break;
	xml_addf_c(&sb, "%.3f|%.4g|%.3f", 1.5, 0.125, 1234.5678 / 1000);
	cr_assert_str_eq(sb.buf, "1.500|0.125|1.235");
	setlocale(LC_ALL, "C");
	strbuf_release(&sb);
}

Test(junit, any_bytes_stay_well_formed)
{
	struct strbuf sb = STRBUF_INIT;
	const char *path;
	char bytes[4096];
	unsigned int seed = 12345;
	size_t i;

	for (i = 0; i < sizeof(bytes); i++) {
		seed = seed * 1103515245u + 12345u;
		bytes[i] = i < 256 ? (char)i : (char)(seed >> 16);
	}
	strbuf_addstr(&sb, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<r");
	strbuf_addstr(&sb, " a=\"");
	xml_escape_attr(&sb, bytes, sizeof(bytes));
	strbuf_addstr(&sb, "\">");
	xml_escape_text(&sb, bytes, sizeof(bytes));
	strbuf_addstr(&sb, "</r>\n");
	path = th_path("bytes.xml");
	th_write_bytes(path, sb.buf, sb.len);
	assert_xmllint_ok(path);
	strbuf_release(&sb);
}
