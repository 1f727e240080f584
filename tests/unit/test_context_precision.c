/*
 * Unit tests of the context-precision scorer, stepped by hand as the runner
 * would: one judge call per passage holding only the question and that
 * passage (so the cache key is the question and the passage), the share of
 * relevant passages, and errors that never pass.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "case.h"
#include "scorer.h"
#include "scorer_helper.h"
#include "xalloc.h"
#include "banned.h"

struct eg_loc th_scorer_loc = { "suites/r/suite.json", 2, 1 };

static struct eg_case kase;
static char *passages[3] = {
	"Returns are accepted within 30 days of delivery.",
	"Our office is closed on public holidays.",
	"Refunds go to the original payment method.",
};

static void setup(void)
{
	struct scorer_env env = { "judge-model", NULL, 1, "target-model" };

	scorer_env_set(&env);
	memset(&kase, 0, sizeof(kase));
	kase.id = "r1";
	kase.input = "How do returns work?";
	kase.context = passages;
	kase.n_context = 3;
}

TestSuite(ctxprec, .init = setup);

#define YES "{\"reason\":\"about returns\",\"score\":0.9,\"pass\":true}"
#define NO "{\"reason\":\"off topic\",\"score\":0.1,\"pass\":false}"

/* the user message of call i */
static char *user_of(const struct score_job *job, size_t i)
{
	cJSON *b = cJSON_Parse(job->calls[i].body);
	const cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(b, "messages"), 1);
	char *u;

	cr_assert_not_null(m, "%s", job->calls[i].body);
	cr_expect_str_eq(cJSON_GetObjectItemCaseSensitive(b, "model")->valuestring, "judge-model");
	u = xstrdup(cJSON_GetObjectItemCaseSensitive(m, "content")->valuestring);
	cJSON_Delete(b);
	return u;
}

/* score with the replies given (NULL: that call failed); the bodies asked in *bodies */
static void score_with(const char *spec, const char *output, const char *const *replies,
		       struct score_result *r, char **bodies)
{
	struct scorer s;
	struct score_job job;
	size_t i;

	th_scorer_init_ok(&s, spec);
	memset(&job, 0, sizeof(job));
	memset(r, 0, sizeof(*r));
	job.kase = &kase;
	job.output = output;
	job.output_len = strlen(output);
	if (scorer_score(&s, &job, r) == SCORE_WAIT) {
		cr_assert_eq(job.n_calls, kase.n_context);
		for (i = 0; i < job.n_calls; i++) {
			cr_expect_null(job.calls[i].path);
			if (bodies)
				bodies[i] = xstrdup(job.calls[i].body);
			if (replies[i])
				job.calls[i].reply = xstrdup(replies[i]);
			else
				job.calls[i].error = xstrdup("HTTP 503: busy");
		}
		job.step++;
		cr_assert_eq(scorer_score(&s, &job, r), SCORE_DONE);
	}
	score_job_release(&s, &job);
	scorer_release(&s);
}

Test(ctxprec, share_of_relevant_passages)
{
	static const char *const replies[] = { YES, NO, "```json\n" YES "\n```" };
	struct score_result r;
	char *bodies[3];
	cJSON *d;

	score_with("{\"type\":\"context-precision\"}", "ans", replies, &r, bodies);
	cr_expect_eq(r.error, 0);
	cr_expect_float_eq(r.score, 2.0 / 3.0, 1e-12);
	cr_expect_eq(r.pass, 1, "0.67 >= the default 0.5");
	cr_expect_str_eq(r.reason, "2 of 3 retrieved passages relevant to the question "
				   "(score 0.67, threshold 0.50)");
	d = cJSON_Parse(r.detail);
	cr_assert_not_null(d);
	cr_expect_eq(cJSON_GetObjectItemCaseSensitive(d, "relevant")->valuedouble, 2);
	cr_expect(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(d, "passages"), 1), "relevant")));
	cJSON_Delete(d);
	score_result_release(&r);
	for (size_t i = 0; i < 3; i++)
		free(bodies[i]);

	score_with("{\"type\":\"context-precision\",\"threshold\":0.7}", "ans", replies, &r, NULL);
	cr_expect_eq(r.pass, 0);
	score_result_release(&r);
}

Test(ctxprec, one_passage_per_call_keyed_by_question_and_passage)
{
	static const char *const replies[] = { YES, YES, YES };
	struct score_result r;
	char *a[3], *b[3];
	size_t i, j;

	score_with("{\"type\":\"context-precision\"}", "first answer", replies, &r, a);
	score_result_release(&r);
	for (i = 0; i < 3; i++) {
		struct score_job job = { 0 };
		char *u;

		job.calls = &(struct score_call){ .body = a[i] };
		job.n_calls = 1;
		u = user_of(&job, 0);
		cr_expect_not_null(strstr(u, "How do returns work?"), "%s", u);
		for (j = 0; j < 3; j++)
			cr_expect_eq(strstr(u, passages[j]) != NULL, i == j,
				     "call %zu holds passage %zu? %s", i, j, u);
		cr_expect_null(strstr(u, "first answer"), "the answer is not in the prompt");
		free(u);
	}
	/* another case, another answer, the passages in another order: the same calls */
	kase.id = "r2";
	passages[0] = "Refunds go to the original payment method.";
	passages[2] = "Returns are accepted within 30 days of delivery.";
	score_with("{\"type\":\"context-precision\"}", "second answer", replies, &r, b);
	score_result_release(&r);
	cr_expect_str_eq(a[0], b[2]);
	cr_expect_str_eq(a[1], b[1]);
	cr_expect_str_eq(a[2], b[0]);
	passages[0] = "Returns are accepted within 30 days of delivery.";
	passages[2] = "Refunds go to the original payment method.";
	for (i = 0; i < 3; i++) {
		free(a[i]);
		free(b[i]);
	}
}

Test(ctxprec, errors_never_pass)
{
	static const char *const failed[] = { YES, NULL, YES };
	static const char *const garbage[] = { YES, YES, "Looks relevant to me!" };
	struct score_result r;
	struct scorer s;
	struct score_job job = { 0 };

	score_with("{\"type\":\"context-precision\",\"threshold\":0}", "x", failed, &r, NULL);
	cr_expect_eq(r.error, 1);
	cr_expect_eq(r.pass, 0);
	cr_expect_str_eq(r.reason, "relevance call for passage 2 failed: HTTP 503: busy");
	score_result_release(&r);

	score_with("{\"type\":\"context-precision\",\"threshold\":0}", "x", garbage, &r, NULL);
	cr_expect_eq(r.error, 1);
	cr_expect_eq(r.pass, 0);
	cr_expect_not_null(strstr(r.reason, "unreadable verdict for passage 3: "), "%s", r.reason);
	score_result_release(&r);

	kase.n_context = 0;
	th_scorer_init_ok(&s, "{\"type\":\"context-precision\"}");
	job.kase = &kase;
	job.output = "x";
	job.output_len = 1;
	cr_assert_eq(scorer_score(&s, &job, &r), SCORE_DONE);
	cr_expect_eq(job.n_calls, 0);
	cr_expect_eq(r.error, 1);
	cr_expect_str_eq(r.reason, "case has no context");
	score_result_release(&r);
	score_job_release(&s, &job);
	scorer_release(&s);
}

Test(ctxprec, spec_errors)
{
	static const char *const specs[] = {
		"{\"type\":\"context-precision\",\"threshold\":1.5}",
		"{\"type\":\"context-precision\",\"method\":\"claims\"}",
		"{\"type\":\"context-precision\",\"params\":3}",
	};
	size_t i;

	for (i = 0; i < 3; i++) {
		char msg[512];

		cr_expect_eq(th_scorer_try(specs[i], msg, sizeof(msg)), -1, "accepted %s",
			     specs[i]);
		cr_expect_not_null(strstr(msg, "suites/r/suite.json:2: scorer 1: context-precision"),
				   "%s", msg);
	}
}
