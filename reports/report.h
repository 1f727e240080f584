/*
 * report: the HTML, Markdown and JSON reports of a stored run, and the one
 * entry point that writes any of the four formats (JUnit included) for
 * `run` and `report`.
 *
 * Every writer reads one struct report_model (model.h), streams the results
 * from the history and writes its file atomically (output.h). The JSON
 * summary (run, totals, suites, gates, regression) is one function used by
 * the JSON report and embedded in the HTML report, so their counts are the
 * same numbers.
 *
 * Ownership: everything passed in is borrowed.
 */
#ifndef EG_REPORT_H
#define EG_REPORT_H

#include <stddef.h>

#include "history.h"
#include "jsonw.h"
#include "model.h"
#include "strbuf.h"

#define REPORT_SCHEMA_VERSION 1
#define REPORT_HTML_MAX_DETAILS 5000      /* default --html-max-details */
#define REPORT_JUNIT_MAX_PASSED 50000     /* default --junit-max-passed */
#define REPORT_MD_MAX (1024 * 1024 - 1024) /* Markdown stays under GitHub's 1 MiB */
#define REPORT_FLIP_ANSWER 2000           /* bytes of a before/after answer shown for a flip */

struct report_request {
	const char *junit, *html, *markdown, *json; /* paths, or NULL */
	const char *step_summary;     /* append the Markdown here ($GITHUB_STEP_SUMMARY), or NULL */
	long html_max_details;        /* passing results with details in the HTML; <0: default */
	long junit_max_passed;        /* passing testcases in the JUnit report; -1: all */
};

/* 1 when req asks for any report */
int report_requested(const struct report_request *req);
/* write every report req asks for; 0, or -1 when any could not be written (each reported) */
int reports_write(struct history *h, const char *run_id, const struct report_request *req);

int report_json_write(const struct report_model *m, const char *path);
int report_html_write(const struct report_model *m, const char *path, long max_details);
int report_md_write(const struct report_model *m, const char *path);
/* append the Markdown to path (opened O_APPEND), keeping the file under REPORT_MD_MAX */
int report_md_append(const struct report_model *m, const char *path);
/* the Markdown in sb, at most max bytes */
void report_md_render(struct strbuf *sb, const struct report_model *m, size_t max);

/*
 * the summary object {"schema_version", "run", "totals", "suites", "gates",
 * "regression"}, left open: the caller adds its members and ends it
 */
void report_json_summary(struct jsonw *w, const struct report_model *m);
/* one result as a JSON object; the answer cut at max_output bytes (0: whole) */
void report_json_result(struct jsonw *w, const struct stored_result *r, size_t max_output);

#endif
