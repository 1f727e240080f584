/*
 * report_md: the Markdown report (GitHub's step summary and PR comments).
 * Every piece of run or model text goes through esc_md_cell, tables keep a
 * fixed number of rows, and the whole text is cut at a line under the limit
 * with a note, so it is always under 1 MiB.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "escape.h"
#include "output.h"
#include "report.h"
#include "xml.h"
#include "banned.h"

#define MD_CELL 200          /* bytes of text in one table cell */
#define MD_ANSWER 120        /* bytes of an answer in a flip row */
#define MD_MAX_FLIPS 20
#define MD_MAX_FAILED 30
#define MD_MAX_SUITES 100
#define MD_MAX_GATES 100
#define MD_NOTE "\n*The report was cut here to stay under GitHub's 1 MiB limit; " \
	"the HTML and JSON reports have all of it.*\n"

static void cell(struct strbuf *sb, const char *s)
{
	if (s)
		esc_md_cell(sb, s, strlen(s), MD_CELL);
}

static void rate(struct strbuf *sb, double r)
{
	if (isnan(r))
		strbuf_addstr(sb, "n/a");
	else
		xml_addf_c(sb, "%.1f%%", 100.0 * r);
}

static void num(struct strbuf *sb, double v)
{
	if (isnan(v))
		strbuf_addstr(sb, "n/a");
	else
		xml_addf_c(sb, "%.4g", v);
}

static const char *verdict_mark(const char *v)
{
	if (!strcmp(v, "pass"))
		return "\xe2\x9c\x85";      /* check mark */
	if (!strcmp(v, "fail"))
		return "\xe2\x9d\x8c";      /* cross */
	return "\xe2\x9a\xa0\xef\xb8\x8f"; /* warning */
}

static int all_of(const char *s, const char *set)
{
	return s && *s && strspn(s, set) == strlen(s);
}

#define ALNUM "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

/* the CI run's page, from GitHub's variables, when they look right */
static void ci_link(struct strbuf *sb)
{
	const char *server = getenv("GITHUB_SERVER_URL");
	const char *repo = getenv("GITHUB_REPOSITORY");
	const char *id = getenv("GITHUB_RUN_ID");
	const char *attempt = getenv("GITHUB_RUN_ATTEMPT");
	const char *host, *slash;

	if (!server || !repo || !id)
		return;
	if (!strncmp(server, "https://", 8))
		host = server + 8;
	else if (!strncmp(server, "http://", 7))
		host = server + 7;
	else
		return;
	slash = strchr(repo, '/');
	if (!all_of(host, ALNUM ".-:") || !all_of(id, "0123456789") || !slash ||
	    !all_of(repo, ALNUM "_.-/") || strchr(slash + 1, '/'))
		return;
	strbuf_addf(sb, "\n[CI run and artifacts](%s/%s/actions/runs/%s", server, repo, id);
	if (all_of(attempt, "0123456789"))
		strbuf_addf(sb, "/attempts/%s", attempt);
	strbuf_addstr(sb, ")\n");
}

static void header(struct strbuf *sb, const struct report_model *m)
{
	const struct run_info *ri = &m->run;
	const char *v = report_verdict(m);
	char up[8];
	size_t i;

	for (i = 0; v[i] && i < sizeof(up) - 1; i++)
		up[i] = (char)(v[i] >= 'a' && v[i] <= 'z' ? v[i] - 32 : v[i]);
	up[i] = '\0';
	strbuf_addstr(sb, "<!-- evalgate-report -->\n");
	strbuf_addf(sb, "## %s evalgate: %s \xc2\xb7 ", verdict_mark(v), up);
	cell(sb, ri->target);
	strbuf_addch(sb, '@');
	cell(sb, ri->version);
	strbuf_addstr(sb, "\n\nrun ");
	cell(sb, ri->id);
	strbuf_addstr(sb, " \xc2\xb7 model ");
	cell(sb, ri->model);
	if (ri->git_ref) {
		strbuf_addstr(sb, " \xc2\xb7 ref ");
		cell(sb, ri->git_ref);
	}
	if (ri->git_sha) {
		strbuf_addstr(sb, " \xc2\xb7 commit ");
		esc_md_cell(sb, ri->git_sha, strlen(ri->git_sha), 12);
	}
	strbuf_addstr(sb, " \xc2\xb7 ");
	cell(sb, ri->started_at);
	strbuf_addf(sb, "\n\n**%ld cases**: %ld pass, %ld fail, %ld error (pass rate ",
		    m->cases.n, m->cases.pass, m->cases.fail, m->cases.error);
	rate(sb, report_pass_rate(&m->cases));
	strbuf_addf(sb, "); %ld results; %ld prompt + %ld completion tokens",
		    m->results.n, m->usage.prompt_tokens, m->usage.completion_tokens);
	if (m->usage.n_cost)
		xml_addf_c(sb, "; cost $%.4f", m->usage.cost_usd);
	if (!isnan(m->usage.ttft_p50))
		xml_addf_c(sb, "; time to first token p50 %.0f ms, p95 %.0f ms", m->usage.ttft_p50,
			   m->usage.ttft_p95);
	if (ri->status != RUN_FINISHED)
		strbuf_addf(sb, "; run %s", run_status_name(ri->status));
	strbuf_addstr(sb, "\n");
	if (ri->status == RUN_BUDGET_EXHAUSTED)
		strbuf_addf(sb, "\n%s\n", report_budget_note);
	ci_link(sb);
}

static void gates(struct strbuf *sb, const struct report_model *m)
{
	size_t i;

	strbuf_addf(sb, "\n### Gates: %ld of %zu failed\n\n", m->gates_failed, m->n_gates);
	if (!m->n_gates) {
		strbuf_addstr(sb, "No gates are configured.\n");
		return;
	}
	strbuf_addstr(sb, "| | gate | scope | value | threshold | n | 95% CI |\n"
			  "| --- | --- | --- | --- | --- | --- | --- |\n");
	for (i = 0; i < m->n_gates && i < MD_MAX_GATES; i++) {
		const struct report_gate *g = &m->gates[i];

		strbuf_addf(sb, "| %s | ", g->pass ? verdict_mark("pass") : verdict_mark("fail"));
		cell(sb, g->name);
		strbuf_addstr(sb, " | ");
		cell(sb, g->scope);
		strbuf_addstr(sb, " | ");
		num(sb, g->value);
		strbuf_addstr(sb, " | ");
		cell(sb, g->op ? g->op : "");
		strbuf_addch(sb, ' ');
		num(sb, g->threshold);
		strbuf_addf(sb, " | %ld | ", g->n);
		if (!isnan(g->lo) && !isnan(g->hi)) {
			num(sb, g->lo);
			strbuf_addstr(sb, "\xe2\x80\x93");
			num(sb, g->hi);
		}
		strbuf_addstr(sb, " |\n");
	}
	if (m->n_gates > MD_MAX_GATES)
		strbuf_addf(sb, "\n%zu more gates are in the HTML and JSON reports.\n",
			    m->n_gates - MD_MAX_GATES);
}

static void suites(struct strbuf *sb, const struct report_model *m)
{
	size_t i;

	strbuf_addstr(sb, "\n### Suites\n\n| suite | cases | pass | fail | error | pass rate |"
			  " baseline | \xce\x94 |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n");
	for (i = 0; i < m->n_suites && i < MD_MAX_SUITES; i++) {
		const struct report_suite *s = &m->suites[i];
		double d = report_pass_rate(&s->cases) - report_pass_rate(&s->base);

		strbuf_addstr(sb, "| ");
		cell(sb, s->name);
		strbuf_addch(sb, '@');
		cell(sb, s->version);
		strbuf_addf(sb, " | %ld | %ld | %ld | %ld | ", s->cases.n, s->cases.pass,
			    s->cases.fail, s->cases.error);
		rate(sb, report_pass_rate(&s->cases));
		strbuf_addstr(sb, " | ");
		if (s->has_base) {
			rate(sb, report_pass_rate(&s->base));
			strbuf_addstr(sb, " | ");
			if (isnan(d))
				strbuf_addstr(sb, "n/a");
			else
				xml_addf_c(sb, "%+.1f pp", 100.0 * d);
			if (s->flips_new || s->flips_fixed)
				strbuf_addf(sb, " (%ld new failures, %ld fixed)", s->flips_new,
					    s->flips_fixed);
		} else {
			strbuf_addstr(sb, "\xe2\x80\x93 | \xe2\x80\x93");
		}
		strbuf_addstr(sb, " |\n");
	}
	if (m->n_suites > MD_MAX_SUITES)
		strbuf_addf(sb, "\n%zu more suites are in the HTML and JSON reports.\n",
			    m->n_suites - MD_MAX_SUITES);
}

static int answer_cell(const struct stored_result *r, void *arg)
{
	struct strbuf *sb = arg;

	strbuf_addf(sb, "%s: ", result_status_name(r->row.status));
	if (r->row.output)
		esc_md_cell(sb, r->row.output, r->row.output_len, MD_ANSWER);
	else if (r->row.error)
		esc_md_cell(sb, r->row.error, strlen(r->row.error), MD_ANSWER);
	return 1;
}

static void regression(struct strbuf *sb, const struct report_model *m)
{
	const struct report_regression *r = &m->reg;
	size_t i;

	if (!r->present)
		return;
	strbuf_addf(sb, "\n### %s Regression against baseline ",
		    r->pass ? verdict_mark("pass") : verdict_mark("fail"));
	cell(sb, r->baseline);
	if (r->baseline_ref) {
		strbuf_addstr(sb, " (");
		cell(sb, r->baseline_ref);
		strbuf_addch(sb, ')');
	}
	strbuf_addf(sb, "\n\n**%ld new failures**, %ld fixed, over %ld paired cases; "
		    "McNemar p = ", r->new_failures, r->fixed, r->pairs);
	num(sb, r->p_value);
	strbuf_addstr(sb, "; pass-rate difference ");
	if (isnan(r->diff))
		strbuf_addstr(sb, "n/a");
	else
		xml_addf_c(sb, "%+.1f pp", 100.0 * r->diff);
	if (!isnan(r->diff_lo) && !isnan(r->diff_hi))
		xml_addf_c(sb, " (95%% CI %+.1f to %+.1f pp)", 100.0 * r->diff_lo,
			   100.0 * r->diff_hi);
	strbuf_addf(sb, ". Not paired: %ld changed, %ld only in this run, %ld only in the "
		    "baseline, %ld flaky.\n", r->changed, r->only_in_candidate, r->only_in_baseline,
		    r->flaky_excluded);
	if (r->unjudged > 0) {
		strbuf_addch(sb, '\n');
		report_unjudged_sentence(sb, r, cell);
		strbuf_addch(sb, '\n');
	}
	if (r->discounted > 0) {
		strbuf_addch(sb, '\n');
		report_discounted_sentence(sb, r);
		strbuf_addch(sb, '\n');
	}
	if (r->has_power) {
		strbuf_addch(sb, '\n');
		report_power_sentence(sb, r);
		strbuf_addch(sb, '\n');
	}
	if (!r->n_flips)
		return;
	strbuf_addstr(sb, "\n| change | suite | case | before | after |\n"
			  "| --- | --- | --- | --- | --- |\n");
	for (i = 0; i < r->n_flips && i < MD_MAX_FLIPS; i++) {
		const struct report_flip *f = &r->flips[i];

		strbuf_addstr(sb, "| ");
		cell(sb, f->from);
		strbuf_addstr(sb, " \xe2\x86\x92 ");
		cell(sb, f->to);
		strbuf_addstr(sb, " | ");
		cell(sb, f->suite);
		strbuf_addstr(sb, " | ");
		cell(sb, f->case_id);
		strbuf_addstr(sb, " | ");
		report_model_case(m, 1, f->suite, f->case_id, answer_cell, sb);
		strbuf_addstr(sb, " | ");
		report_model_case(m, 0, f->suite, f->case_id, answer_cell, sb);
		strbuf_addstr(sb, " |\n");
	}
	if (r->n_flips > MD_MAX_FLIPS || r->flips_truncated)
		strbuf_addf(sb, "\n%s flipped cases are in the HTML and JSON reports.\n",
			    r->flips_truncated ? "More" : "The other");
}

struct failed_ctx {
	struct strbuf *sb;
	long shown, more;
};

static int failed_row(const struct stored_result *r, void *arg)
{
	struct failed_ctx *c = arg;
	struct strbuf *sb = c->sb;
	size_t i;

	if (r->row.status == RESULT_PASS)
		return 0;
	if (c->shown >= MD_MAX_FAILED)
		return 1;
	c->shown++;
	strbuf_addstr(sb, "| ");
	cell(sb, r->row.suite);
	strbuf_addstr(sb, " | ");
	cell(sb, r->row.case_id);
	if (r->row.repeat)
		strbuf_addf(sb, " (repeat %d)", r->row.repeat);
	strbuf_addf(sb, " | %s | ", result_status_name(r->row.status));
	if (r->row.has_threshold && r->row.status == RESULT_FAIL)
		/* the weighted score decided, not every scorer passing */
		strbuf_addf(sb, "weighted score %.3f < threshold %.3f; ",
			    result_weighted_score(&r->row), r->row.threshold);
	if (r->row.status == RESULT_ERROR && r->row.error) {
		cell(sb, r->row.error);
	} else {
		for (i = 0; i < r->n_scores; i++) {
			const struct score_row *s = &r->scores[i];

			if (s->pass && !s->error)
				continue;
			cell(sb, s->scorer ? s->scorer : s->type);
			strbuf_addstr(sb, ": ");
			cell(sb, s->reason);
			break;
		}
	}
	strbuf_addstr(sb, " |\n");
	return 0;
}

static void failed(struct strbuf *sb, const struct report_model *m)
{
	struct failed_ctx c = { sb, 0, 0 };
	size_t i;

	if (!m->results.fail && !m->results.error)
		return;
	strbuf_addstr(sb, "\n### Failed cases\n\n| suite | case | status | why |\n"
			  "| --- | --- | --- | --- |\n");
	for (i = 0; i < m->n_suites && c.shown < MD_MAX_FAILED; i++)
		report_model_failed(m, i, failed_row, &c);
	c.more = m->results.fail + m->results.error - c.shown;
	if (c.more > 0)
		strbuf_addf(sb, "\n%ld more failed or errored results are in the HTML and JSON "
			    "reports.\n", c.more);
}

/* attack success of the adversarial suites: overall, per mutation, per OWASP tag */
static void attacks(struct strbuf *sb, const struct report_model *m)
{
	size_t i;

	if (!m->n_attacks)
		return;
	strbuf_addstr(sb, "\n### Attack success\n\nA failed adversarial case is an attack that "
			  "worked; errors are neither.\n\n| cases | n | attacks that worked | "
			  "defended | error | attack success |\n| --- | --- | --- | --- | --- | --- |\n");
	for (i = 0; i < m->n_attacks; i++) {
		const struct report_attack *a = &m->attacks[i];

		strbuf_addstr(sb, "| ");
		cell(sb, a->tag);
		strbuf_addf(sb, " | %ld | %ld | %ld | %ld | ", a->c.n, a->c.fail, a->c.pass,
			    a->c.error);
		rate(sb, report_attack_rate(&a->c));
		strbuf_addstr(sb, " |\n");
	}
}

/* the judges that scored the run with their calibration, and the gates' warnings about them */
static void calibration(struct strbuf *sb, const struct report_model *m)
{
	struct strbuf t = STRBUF_INIT;
	size_t i;

	if (!m->n_judges)
		return;
	strbuf_addstr(sb, "\n### Judge calibration\n\n| judge | key | calibration |\n"
			  "| --- | --- | --- |\n");
	for (i = 0; i < m->n_judges; i++) {
		const struct report_judge *j = &m->judges[i];

		strbuf_reset(&t);
		report_judge_text(&t, j);
		strbuf_addf(sb, "| %s", j->calibrated ? "" : "\xe2\x9a\xa0\xef\xb8\x8f ");
		cell(sb, j->scorer);
		strbuf_addf(sb, " | `%.12s` | ", j->key);
		cell(sb, t.buf);
		strbuf_addstr(sb, " |\n");
	}
	for (i = 0; i < m->n_gates; i++) {
		const struct report_gate *g = &m->gates[i];

		if (!g->calibration)
			continue;
		strbuf_addstr(sb, "\n- \xe2\x9a\xa0\xef\xb8\x8f gate ");
		cell(sb, g->name);
		strbuf_addstr(sb, ": ");
		cell(sb, g->calibration);
	}
	strbuf_addch(sb, '\n');
	strbuf_release(&t);
}

void report_md_render(struct strbuf *sb, const struct report_model *m, size_t max)
{
	size_t start = sb->len, note = strlen(MD_NOTE);

	header(sb, m);
	gates(sb, m);
	if (sb->len - start <= max)
		calibration(sb, m);
	if (sb->len - start <= max)
		suites(sb, m);
	if (sb->len - start <= max)
		attacks(sb, m);
	if (sb->len - start <= max)
		regression(sb, m);
	if (sb->len - start <= max)
		failed(sb, m);
	if (sb->len - start > max) {
		size_t keep = max > note ? max - note : 0;
		const char *nl;

		/* cut after the last whole line that fits, then say so */
		sb->buf[start + keep] = '\0';
		nl = strrchr(sb->buf + start, '\n');
		sb->len = nl ? (size_t)(nl - sb->buf) + 1 : start;
		sb->buf[sb->len] = '\0';
		if (sb->len - start + note <= max)
			strbuf_addstr(sb, MD_NOTE);
	}
}

int report_md_write(const struct report_model *m, const char *path)
{
	struct report_out o;

	if (out_open(&o, path, "Markdown report"))
		return -1;
	report_md_render(&o.sb, m, REPORT_MD_MAX);
	return out_commit(&o);
}

int report_md_append(const struct report_model *m, const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	struct stat st;
	size_t room;
	ssize_t n;
	int fd, ret = -1;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0)
		return error("cannot write the step summary %s: %s", path, strerror(errno));
	room = REPORT_MD_MAX;
	if (!fstat(fd, &st) && st.st_size > 0)
		room = (size_t)st.st_size >= REPORT_MD_MAX ? 0 : REPORT_MD_MAX - (size_t)st.st_size;
	if (room < 1024) {
		warning("the step summary %s is nearly 1 MiB already; the report is not added",
			path);
		ret = 0;
		goto out;
	}
	strbuf_addch(&sb, '\n');
	report_md_render(&sb, m, room - 1);
	n = write(fd, sb.buf, sb.len);
	if (n < 0 || (size_t)n != sb.len) {
		error("cannot write the step summary %s: %s", path,
		      n < 0 ? strerror(errno) : "short write");
		goto out;
	}
	ret = 0;
out:
	if (close(fd) && !ret)
		ret = error("cannot write the step summary %s: %s", path, strerror(errno));
	strbuf_release(&sb);
	return ret;
}
