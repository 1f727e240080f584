/* report: one entry point writing the reports a command asks for */
#include <stdlib.h>

#include "error.h"
#include "junit.h"
#include "report.h"
#include "banned.h"

int report_requested(const struct report_request *req)
{
	return req->junit || req->html || req->markdown || req->json || req->step_summary;
}

int reports_write(struct history *h, const char *run_id, const struct report_request *req)
{
	struct report_model m;
	int ret = 0;

	if (req->junit && junit_write(h, run_id, req->junit, req->junit_max_passed))
		ret = -1;
	if (!req->html && !req->markdown && !req->json && !req->step_summary)
		return ret;
	if (report_model_build(&m, h, run_id))
		return -1;
	if (req->json && report_json_write(&m, req->json))
		ret = -1;
	if (req->html && report_html_write(&m, req->html, req->html_max_details))
		ret = -1;
	if (req->markdown && report_md_write(&m, req->markdown))
		ret = -1;
	if (req->step_summary && report_md_append(&m, req->step_summary))
		ret = -1;
	report_model_release(&m);
	return ret;
}
