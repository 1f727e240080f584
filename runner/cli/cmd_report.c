/* report: write any report of a stored run again */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "error.h"
#include "history.h"
#include "opts.h"
#include "report.h"
#include "banned.h"

static const char usage[] =
	"usage: evalgate report ID|latest [--junit FILE] [--html FILE] [--markdown FILE] "
	"[--json FILE]";

int cmd_report(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct report_request req;
	struct run_info ri;
	const char *summary;
	long max_details = REPORT_HTML_MAX_DETAILS;
	long max_passed = REPORT_JUNIT_MAX_PASSED;
	int nops, no_summary = 0, rc = EG_EXIT_USAGE;
	const struct option opts[] = {
		OPT_STRING_(0, "junit", &req.junit, "FILE", "write the JUnit XML report"),
		OPT_STRING_(0, "html", &req.html, "FILE", "write the self-contained HTML report"),
		OPT_STRING_(0, "markdown", &req.markdown, "FILE", "write the Markdown summary"),
		OPT_STRING_(0, "json", &req.json, "FILE", "write the JSON report (reports/report.schema.json)"),
		OPT_INT_(0, "html-max-details", &max_details, "N",
			 "passing results with details in the HTML (default 5000)", 0, 100000000L),
		OPT_INT_(0, "junit-max-passed", &max_passed, "N",
			 "passing testcases in the JUnit report (default 50000; -1: all)", -1,
			 100000000000L),
		OPT_FLAG_(0, "no-step-summary", &no_summary,
			  "do not append the Markdown to $GITHUB_STEP_SUMMARY"),
		OPT_END_(),
	};

	memset(&req, 0, sizeof(req));
	nops = cmd_start(ctx, argc, argv, opts, usage);
	if (nops < 0)
		return ctx->rc;
	if (nops != 1) {
		error("report takes one run id (or latest); see 'evalgate help report'");
		return EG_EXIT_USAGE;
	}
	summary = getenv("GITHUB_STEP_SUMMARY");
	if (!no_summary && summary && *summary)
		req.step_summary = summary;
	req.html_max_details = max_details;
	req.junit_max_passed = max_passed;
	if (!report_requested(&req)) {
		error("no report asked for: give --junit, --html, --markdown or --json");
		return EG_EXIT_USAGE;
	}
	if (cmd_setup(ctx))
		return ctx->rc;
	/* an unknown or ambiguous id is a usage error; a report not written is not */
	if (history_run_resolve(ctx->h, argv[0], &ri, NULL))
		return rc;
	rc = reports_write(ctx->h, ri.id, &req) ? EG_EXIT_INFRA : EG_EXIT_OK;
	run_info_release(&ri);
	return rc;
}
