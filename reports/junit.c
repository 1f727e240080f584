#include "junit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "history.h"
#include "output.h"
#include "strbuf.h"
#include "trajectory.h"
#include "xalloc.h"
#include "xml.h"
#include "banned.h"


struct junit_suite {
	char *name, *version, *hash, *kind;
	struct counts counts; /* results of this suite */
};

struct junit_suites {
	struct junit_suite *v;
	size_t n, alloc;
};

struct gate_totals {
	long n, failed;
};

/* the writer of the testcases, with what is left of --junit-max-passed */
struct junit_out {
	struct report_out *w;
	long passed_left;     /* passing testcases still to write; -1: no limit */
};

/* seconds with three decimals and a '.', from milliseconds; NaN and negatives are 0 */
static void add_seconds(struct strbuf *sb, double ms)
{
	if (!(ms >= 0) || isinf(ms))
		ms = 0;
	xml_addf_c(sb, "%.3f", ms / 1000.0);
}

static void add_attr_seconds(struct strbuf *sb, double ms)
{
	strbuf_addstr(sb, " time=\"");
	add_seconds(sb, ms);
	strbuf_addch(sb, '"');
}

static void add_attr_long(struct strbuf *sb, const char *name, long v)
{
	strbuf_addf(sb, " %s=\"%ld\"", name, v);
}

/* an attribute holding at most JUNIT_MAX_MESSAGE bytes of s, marked when cut */
static void add_attr_message(struct strbuf *sb, const char *s, size_t len)
{
	size_t cut = xml_utf8_cut(s, len, JUNIT_MAX_MESSAGE);

	strbuf_addstr(sb, " message=\"");
	xml_escape_attr(sb, s, cut);
	if (cut < len)
		strbuf_addstr(sb, "...");
	strbuf_addch(sb, '"');
}

/* element text holding at most JUNIT_MAX_OUTPUT bytes of s, with a note when cut */
static void add_text_truncated(struct strbuf *sb, const char *s, size_t len)
{
	size_t cut = xml_utf8_cut(s, len, JUNIT_MAX_OUTPUT);

	xml_escape_text(sb, s, cut);
	if (cut < len)
		strbuf_addf(sb, "\n[truncated %zu bytes]", len - cut);
}

static void add_property(struct strbuf *sb, const char *name, const char *value)
{
	if (!value)
		return;
	strbuf_addstr(sb, "      <property");
	xml_add_attr(sb, "name", name);
	xml_add_attr(sb, "value", value);
	strbuf_addstr(sb, "/>\n");
}

static int collect_suite(const struct run_suite *s, void *arg)
{
	struct junit_suites *ss = arg;
	struct junit_suite *js;

	XGROW(ss->v, ss->n + 1, ss->alloc);
	js = &ss->v[ss->n++];
	memset(js, 0, sizeof(*js));
	js->name = xstrdup(s->name ? s->name : "");
	js->version = s->version ? xstrdup(s->version) : NULL;
	js->hash = s->hash ? xstrdup(s->hash) : NULL;
	js->kind = s->kind ? xstrdup(s->kind) : NULL;
	return 0;
}

static void suites_release(struct junit_suites *ss)
{
	size_t i;

	for (i = 0; i < ss->n; i++) {
		free(ss->v[i].name);
		free(ss->v[i].version);
		free(ss->v[i].hash);
		free(ss->v[i].kind);
	}
	free(ss->v);
}

static int count_gate(const struct gate_row *g, void *arg)
{
	struct gate_totals *t = arg;

	t->n++;
	if (!g->pass)
		t->failed++;
	return 0;
}

static void add_failure(struct strbuf *sb, const struct stored_result *r)
{
	struct strbuf msg = STRBUF_INIT, text = STRBUF_INIT;
	size_t i;

	for (i = 0; i < r->n_scores; i++) {
		const struct score_row *sc = &r->scores[i];
		const char *label = sc->scorer ? sc->scorer : (sc->type ? sc->type : "scorer");

		strbuf_addf(&text, "%s: %s ", label, sc->pass && !sc->error ? "pass" : "FAIL");
		xml_add_g4(&text, sc->score);
		if (sc->error)
			strbuf_addstr(&text, " (scorer error)");
		if (sc->reason && *sc->reason)
			strbuf_addf(&text, " %s", sc->reason);
		strbuf_addch(&text, '\n');
		if (sc->pass && !sc->error)
			continue;
		/* the message names the failed scorers; stop once it is long enough */
		if (msg.len > JUNIT_MAX_MESSAGE)
			continue;
		if (msg.len)
			strbuf_addstr(&msg, "; ");
		strbuf_addstr(&msg, label);
		if (sc->reason && *sc->reason)
			strbuf_addf(&msg, ": %s", sc->reason);
	}
	if (!msg.len)
		strbuf_addstr(&msg, "case failed");
	strbuf_addstr(sb, "      <failure");
	add_attr_message(sb, msg.buf, msg.len);
	strbuf_addstr(sb, " type=\"scorer\">");
	add_text_truncated(sb, text.buf, text.len);
	strbuf_addstr(sb, "</failure>\n");
	strbuf_release(&msg);
	strbuf_release(&text);
}

static void add_error(struct strbuf *sb, const struct stored_result *r)
{
	const char *e = r->row.error && *r->row.error ? r->row.error : "call failed";
	size_t len = strlen(e);

	strbuf_addstr(sb, "      <error");
	add_attr_message(sb, e, len);
	strbuf_addstr(sb, " type=\"call\">");
	add_text_truncated(sb, e, len);
	strbuf_addstr(sb, "</error>\n");
}

static int write_case(const struct stored_result *r, void *arg)
{
	struct junit_out *jo = arg;
	struct report_out *w = jo->w;
	struct strbuf *sb = &w->sb;
	const struct result_row *row = &r->row;

	if (row->status == RESULT_PASS && jo->passed_left >= 0) {
		if (!jo->passed_left)
			return 0;
		jo->passed_left--;
	}
	strbuf_addstr(sb, "    <testcase");
	xml_add_attr(sb, "classname", row->suite);
	strbuf_addstr(sb, " name=\"");
	xml_escape_attr(sb, row->case_id, strlen(row->case_id));
	/* repeats of a case keep their names unique: id, id#1, id#2, ... */
	if (row->repeat > 0)
		strbuf_addf(sb, "#%d", row->repeat);
	strbuf_addch(sb, '"');
	add_attr_seconds(sb, row->latency_ms);
	strbuf_addstr(sb, ">\n");
	if (row->status == RESULT_FAIL)
		add_failure(sb, r);
	else if (row->status == RESULT_ERROR)
		add_error(sb, r);
	if (row->output) {
		struct strbuf traj = STRBUF_INIT;

		strbuf_addstr(sb, "      <system-out>");
		add_text_truncated(sb, row->output, row->output_len);
		if (trajectory_text_stored(&traj, row->target_reply)) {
			strbuf_addstr(sb, "\n--- trajectory ---\n");
			add_text_truncated(sb, traj.buf, traj.len);
		}
		strbuf_release(&traj);
		strbuf_addstr(sb, "</system-out>\n");
	}
	strbuf_addstr(sb, "    </testcase>\n");
	out_flush(w, 0);
	return w->failed;
}

static void suite_open(struct strbuf *sb, const char *name, long tests, long failures,
		       long errors, double ms, const char *timestamp)
{
	strbuf_addstr(sb, "  <testsuite");
	xml_add_attr(sb, "name", name);
	add_attr_long(sb, "tests", tests);
	add_attr_long(sb, "failures", failures);
	add_attr_long(sb, "errors", errors);
	strbuf_addstr(sb, " skipped=\"0\"");
	add_attr_seconds(sb, ms);
	xml_add_attr(sb, "timestamp", timestamp);
	strbuf_addstr(sb, ">\n");
}

/* passing results of js that the limit left in jo keeps out of the file */
static long passed_omitted(const struct junit_suite *js, struct junit_out *jo)
{
	long passed = js->counts.n - js->counts.fail - js->counts.error, shown;

	if (jo->passed_left < 0 || passed <= 0)
		return 0;
	shown = passed < jo->passed_left ? passed : jo->passed_left;
	return passed - shown;
}

static int write_suite(struct history *h, const struct run_info *ri,
		       const struct junit_suite *js, struct junit_out *jo)
{
	struct report_out *w = jo->w;
	struct strbuf *sb = &w->sb;
	struct strbuf label = STRBUF_INIT, omitted_text = STRBUF_INIT;
	long omitted = passed_omitted(js, jo);
	int ret;

	strbuf_addstr(&label, js->name);
	if (js->version)
		strbuf_addf(&label, "@%s", js->version);
	/* tests counts the testcases in the file, as consumers count them */
	suite_open(sb, label.buf, js->counts.n - omitted, js->counts.fail, js->counts.error,
		   js->counts.latency_ms, ri->started_at);
	strbuf_addstr(sb, "    <properties>\n");
	add_property(sb, "run_id", ri->id);
	add_property(sb, "target", ri->target);
	add_property(sb, "model", ri->model);
	add_property(sb, "version", ri->version);
	add_property(sb, "suite_hash", js->hash);
	add_property(sb, "suite_kind", js->kind);
	add_property(sb, "git_sha", ri->git_sha);
	add_property(sb, "git_ref", ri->git_ref);
	add_property(sb, "evalgate_version", ri->evalgate_version);
	if (omitted) {
		strbuf_addf(&omitted_text, "%ld", omitted);
		add_property(sb, "evalgate.passed_omitted", omitted_text.buf);
	}
	strbuf_addstr(sb, "    </properties>\n");
	ret = history_results_without_texts(h, ri->id, js->name, write_case, jo);
	if (omitted)
		strbuf_addf(sb, "    <system-out>%ld passing results of this suite are not in this "
			    "file (--junit-max-passed); every failure and error is. The JSON "
			    "report and `evalgate runs export` hold every result.</system-out>\n",
			    omitted);
	strbuf_addstr(sb, "  </testsuite>\n");
	out_flush(w, 0);
	strbuf_release(&omitted_text);
	strbuf_release(&label);
	return ret;
}

static int write_gate(const struct gate_row *g, void *arg)
{
	struct report_out *w = arg;
	struct strbuf *sb = &w->sb;
	const char *name = g->name ? g->name : (g->metric ? g->metric : "gate");

	strbuf_addstr(sb, "    <testcase classname=\"gates\"");
	xml_add_attr(sb, "name", name);
	strbuf_addstr(sb, " time=\"0.000\">\n");
	if (!g->pass) {
		struct strbuf msg = STRBUF_INIT, text = STRBUF_INIT;

		strbuf_addstr(&msg, "value ");
		xml_add_g4(&msg, g->value);
		strbuf_addf(&msg, " %s threshold ", g->op ? g->op : "?");
		xml_add_g4(&msg, g->threshold);

		strbuf_addf(&text, "metric: %s\nscope: %s\nn: %ld\n",
			    g->metric ? g->metric : "", g->scope ? g->scope : "all", g->n);
		if (!isnan(g->lo) && !isnan(g->hi)) {
			strbuf_addstr(&text, "95% interval: ");
			xml_add_g4(&text, g->lo);
			strbuf_addstr(&text, " .. ");
			xml_add_g4(&text, g->hi);
			strbuf_addch(&text, '\n');
		}
		if (g->detail)
			strbuf_addf(&text, "%s\n", g->detail);

		strbuf_addstr(sb, "      <failure");
		add_attr_message(sb, msg.buf, msg.len);
		strbuf_addstr(sb, " type=\"gate\">");
		add_text_truncated(sb, text.buf, text.len);
		strbuf_addstr(sb, "</failure>\n");
		strbuf_release(&msg);
		strbuf_release(&text);
	}
	strbuf_addstr(sb, "    </testcase>\n");
	out_flush(w, 0);
	return w->failed;
}

static int write_document(struct history *h, const struct run_info *ri,
			  const struct junit_suites *ss, const struct gate_totals *gt,
			  struct report_out *w, long max_passed)
{
	struct strbuf *sb = &w->sb;
	struct counts total = { 0, 0, 0, 0, 0 };
	struct junit_out jo = { w, max_passed < 0 ? -1 : max_passed };
	struct junit_out left = jo;
	size_t i;

	for (i = 0; i < ss->n; i++) {
		long omitted = passed_omitted(&ss->v[i], &left);

		/* spend the limit as the suites will */
		if (left.passed_left >= 0)
			left.passed_left -= ss->v[i].counts.n - ss->v[i].counts.fail -
					    ss->v[i].counts.error - omitted;
		total.n += ss->v[i].counts.n - omitted;
		total.fail += ss->v[i].counts.fail;
		total.error += ss->v[i].counts.error;
		total.latency_ms += ss->v[i].counts.latency_ms;
	}
	strbuf_addstr(sb, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"evalgate\"");
	add_attr_long(sb, "tests", total.n + gt->n);
	add_attr_long(sb, "failures", total.fail + gt->failed);
	add_attr_long(sb, "errors", total.error);
	add_attr_seconds(sb, total.latency_ms);
	strbuf_addstr(sb, ">\n");
	for (i = 0; i < ss->n; i++)
		if (write_suite(h, ri, &ss->v[i], &jo))
			return -1;
	suite_open(sb, "gates", gt->n, gt->failed, 0, 0, ri->started_at);
	if (history_gates(h, ri->id, write_gate, w))
		return -1;
	strbuf_addstr(sb, "  </testsuite>\n</testsuites>\n");
	out_flush(w, 1);
	return 0;
}

int junit_write(struct history *h, const char *run_id, const char *path, long max_passed)
{
	struct report_out w;
	struct junit_suites ss = { NULL, 0, 0 };
	struct gate_totals gt = { 0, 0 };
	struct run_info ri;
	size_t i;
	int ret = -1;

	if (history_run_resolve(h, run_id, &ri, NULL))
		goto out;
	if (history_run_suites(h, ri.id, collect_suite, &ss))
		goto out_run;
	for (i = 0; i < ss.n; i++)
		if (history_result_counts(h, ri.id, ss.v[i].name, &ss.v[i].counts))
			goto out_run;
	if (history_gates(h, ri.id, count_gate, &gt))
		goto out_run;

	if (out_open(&w, path, "JUnit report"))
		goto out_run;
	if (write_document(h, &ri, &ss, &gt, &w, max_passed)) {
		error("cannot write JUnit report %s: reading the history failed", path);
		out_abort(&w);
		goto out_run;
	}
	ret = out_commit(&w);
out_run:
	run_info_release(&ri);
out:
	suites_release(&ss);
	return ret;
}
