/* scorer_helper: the scorer unit tests' shared helpers (see scorer_helper.h) */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "helper.h"
#include "scorer_helper.h"
#include "banned.h"

int th_scorer_init(struct scorer *s, const char *json)
{
	cJSON *spec = cJSON_Parse(json);
	int rc;

	cr_assert_not_null(spec, "test spec is not JSON: %s", json);
	rc = scorer_init(s, spec, &th_scorer_loc);
	cJSON_Delete(spec);
	return rc;
}

void th_scorer_init_ok(struct scorer *s, const char *json)
{
	cr_assert_eq(th_scorer_init(s, json), 0, "init failed: %s", json);
}

int th_scorer_try(const char *json, char *msg, size_t size)
{
	struct scorer s;
	int rc;

	th_stderr_start();
	th_stderr_take();
	rc = th_scorer_init(&s, json);
	if (!rc)
		scorer_release(&s);
	snprintf(msg, size, "%s", th_stderr_take());
	return rc;
}

void th_score_job(const struct scorer *s, struct score_job *job, struct score_result *r)
{
	cr_assert_eq(scorer_score(s, job, r), SCORE_DONE, "the scorer asked for a call");
	score_job_release(s, job);
	cr_assert_not_null(r->reason);
	cr_assert_null(strchr(r->reason, '\n'), "reason is not one line: %s", r->reason);
	cr_assert(r->score >= 0 && r->score <= 1, "score %g out of [0, 1]", r->score);
}

void th_score_bytes(const struct scorer *s, const char *out, size_t len, struct score_result *r)
{
	struct score_job job;

	memset(&job, 0, sizeof(job));
	job.output = out;
	job.output_len = len;
	job.latency_ms = TH_LATENCY_MS;
	th_score_job(s, &job, r);
}

void th_score_str(const struct scorer *s, const char *out, struct score_result *r)
{
	th_score_bytes(s, out, strlen(out), r);
}

void th_score_spec(const char *json, const char *out, size_t len, struct score_result *r)
{
	struct scorer s;

	th_scorer_init_ok(&s, json);
	th_score_bytes(&s, out, len, r);
	scorer_release(&s);
}
