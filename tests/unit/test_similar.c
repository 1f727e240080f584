/*
 * Unit tests of the similar scorer: the cosine, the embeddings reply reader
 * against hostile replies (each with its exact refusal), and the scorer
 * stepped by hand as the runner would (the request, its path, the
 * reference, threshold, errors, spec errors).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "case.h"
#include "scorer.h"
#include "scorer_helper.h"
#include "similar.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

struct eg_loc th_scorer_loc = { "suites/s/suite.json", 3, 1 };

/* ---- cosine ---- */

Test(similar, cosine)
{
	double a[] = { 1, 2, 3 }, b[] = { 2, 4, 6 }, c[] = { -1, -2, -3 }, d[] = { 3, 0, -1 };
	double z[] = { 0, 0, 0 }, x[] = { 1, 0 }, y[] = { 1, 1 };

	cr_expect_float_eq(similar_cosine(a, b, 3), 1, 1e-12, "parallel");
	cr_expect_float_eq(similar_cosine(a, c, 3), -1, 1e-12, "opposite");
	cr_expect_float_eq(similar_cosine(a, d, 3), 0, 1e-12, "orthogonal");
	cr_expect_float_eq(similar_cosine(x, y, 2), 1 / sqrt(2), 1e-12);
	cr_expect(isnan(similar_cosine(a, z, 3)), "a zero vector has no direction");
	cr_expect(isnan(similar_cosine(z, z, 3)));
}

Test(similar, cosine_never_leaves_its_range)
{
	double a[] = { 1e-200, 1e-200 }, b[] = { 1e-200, 1e-200 };
	double big[] = { 1e200, 1e200 };
	double c = similar_cosine(a, b, 2);

	cr_expect(isnan(c) || (c >= -1 && c <= 1), "underflow gives %g", c);
	c = similar_cosine(big, big, 2);
	cr_expect(isnan(c), "an overflowing norm is refused, not %g", c);
}

/* ---- the reply reader ---- */

static int parse(const char *body, double **a, double **b, size_t *dim, struct strbuf *why)
{
	strbuf_reset(why);
	return similar_parse_embeddings(body, a, b, dim, why);
}

Test(similar, parse_good_reply)
{
	struct strbuf why = STRBUF_INIT;
	double *a, *b;
	size_t dim = 0;

	cr_assert_eq(parse("{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,"
			   "\"embedding\":[0.5,-1,2]},{\"index\":1,\"embedding\":[1,2,3e-1]}],"
			   "\"usage\":{\"prompt_tokens\":4}}", &a, &b, &dim, &why), 0, "%s", why.buf);
	cr_expect_eq(dim, 3);
	cr_expect_float_eq(a[0], 0.5, 1e-12);
	cr_expect_float_eq(a[1], -1, 1e-12);
	cr_expect_float_eq(b[2], 0.3, 1e-12);
	free(a);
	free(b);
	/* out of order: placed by index */
	cr_assert_eq(parse("{\"data\":[{\"index\":1,\"embedding\":[7]},{\"index\":0,"
			   "\"embedding\":[9]}]}", &a, &b, &dim, &why), 0, "%s", why.buf);
	cr_expect_float_eq(a[0], 9, 1e-12);
	cr_expect_float_eq(b[0], 7, 1e-12);
	free(a);
	free(b);
	/* no index: in order */
	cr_assert_eq(parse("{\"data\":[{\"embedding\":[1]},{\"embedding\":[2]}]}", &a, &b, &dim,
			   &why), 0, "%s", why.buf);
	cr_expect_float_eq(a[0], 1, 1e-12);
	cr_expect_float_eq(b[0], 2, 1e-12);
	free(a);
	free(b);
	strbuf_release(&why);
}

Test(similar, parse_hostile_replies)
{
	static const struct {
		const char *body;
		const char *why;
	} cases[] = {
		{ "", "not a JSON object" },
		{ "[1,2]", "not a JSON object" },
		{ "{\"data\":[{\"embedding\":[1]},{\"embedding\":[1]}]", "not a JSON object" },
		{ "{\"error\":{\"message\":\"no\"}}", "no \"data\" array of 2" },
		{ "{\"data\":{}}", "no \"data\" array of 2" },
		{ "{\"data\":[{\"embedding\":[1]}]}", "no \"data\" array of 2" },
		{ "{\"data\":[{\"embedding\":[1]},{\"embedding\":[1]},{\"embedding\":[1]}]}",
		  "no \"data\" array of 2" },
		{ "{\"data\":[{\"embedding\":[1,2]},{\"embedding\":[1,2,3]}]}",
		  "differ in dimension (2 and 3)" },
		{ "{\"data\":[{\"embedding\":[]},{\"embedding\":[]}]}", "0 dimensions" },
		{ "{\"data\":[{\"embedding\":[1,NaN]},{\"embedding\":[1,2]}]}", "not a JSON object" },
		{ "{\"data\":[{\"embedding\":[1,1e999]},{\"embedding\":[1,2]}]}",
		  "element 1 is not a finite number" },
		{ "{\"data\":[{\"embedding\":[1,\"2\"]},{\"embedding\":[1,2]}]}",
		  "element 1 is not a finite number" },
		{ "{\"data\":[{\"embedding\":[1,null]},{\"embedding\":[1,2]}]}",
		  "element 1 is not a finite number" },
		{ "{\"data\":[{\"embedding\":\"AAAA\"},{\"embedding\":[1]}]}",
		  "an \"embedding\" is not an array" },
		{ "{\"data\":[{},{\"embedding\":[1]}]}", "an \"embedding\" is not an array" },
		{ "{\"data\":[1,2]}", "an \"embedding\" is not an array" },
		{ "{\"data\":[{\"index\":0,\"embedding\":[1]},{\"index\":0,\"embedding\":[2]}]}",
		  "two embeddings have index 0" },
		{ "{\"data\":[{\"index\":2,\"embedding\":[1]},{\"index\":0,\"embedding\":[2]}]}",
		  "\"index\" is not 0 or 1" },
		{ "{\"data\":[{\"index\":0.5,\"embedding\":[1]},{\"embedding\":[2]}]}",
		  "\"index\" is not 0 or 1" },
		{ "{\"data\":[{\"index\":\"0\",\"embedding\":[1]},{\"embedding\":[2]}]}",
		  "\"index\" is not 0 or 1" },
	};
	struct strbuf why = STRBUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		double *a = (double *)1, *b = (double *)1;
		size_t dim = 0;

		cr_expect_eq(parse(cases[i].body, &a, &b, &dim, &why), -1, "accepted: %s",
			     cases[i].body);
		cr_expect_null(a, "%s", cases[i].body);
		cr_expect_null(b, "%s", cases[i].body);
		cr_expect_not_null(strstr(why.buf, cases[i].why), "%s: said \"%s\", not \"%s\"",
				   cases[i].body, why.buf, cases[i].why);
	}
	strbuf_release(&why);
}

Test(similar, parse_too_many_dimensions)
{
	struct strbuf body = STRBUF_INIT, why = STRBUF_INIT;
	double *a, *b;
	size_t i, dim;

	strbuf_addstr(&body, "{\"data\":[{\"embedding\":[1]},{\"embedding\":[0");
	for (i = 0; i < SIMILAR_MAX_DIM; i++)
		strbuf_addstr(&body, ",0");
	strbuf_addstr(&body, "]}]}");
	cr_expect_eq(parse(body.buf, &a, &b, &dim, &why), -1);
	cr_expect_not_null(strstr(why.buf, "65537 dimensions"), "%s", why.buf);
	strbuf_release(&body);
	strbuf_release(&why);
}

/* ---- the scorer, stepped by hand ---- */

static struct eg_case kase;

static void setup(void)
{
	memset(&kase, 0, sizeof(kase));
	kase.id = "c1";
	kase.input = "How long do I have to return an item?";
	kase.expected = "Returns within 30 days";
}

TestSuite(similar_scorer, .init = setup);

/* step the scorer once with answer, then with reply (NULL: the call failed) */
static void score_with(const char *spec, const char *answer, const char *reply,
		       struct score_result *r, cJSON **body)
{
	struct scorer s;
	struct score_job job;

	th_scorer_init_ok(&s, spec);
	memset(&job, 0, sizeof(job));
	memset(r, 0, sizeof(*r));
	job.kase = &kase;
	job.output = answer;
	job.output_len = strlen(answer);
	if (scorer_score(&s, &job, r) == SCORE_WAIT) {
		cr_assert_eq(job.n_calls, 1);
		cr_expect_str_eq(job.calls[0].path, "/embeddings");
		cr_expect_null(job.calls[0].command);
		if (body)
			*body = cJSON_Parse(job.calls[0].body);
		if (reply)
			job.calls[0].reply = xstrdup(reply);
		else
			job.calls[0].error = xstrdup("HTTP 500: down");
		job.step++;
		cr_assert_eq(scorer_score(&s, &job, r), SCORE_DONE);
	}
	score_job_release(&s, &job);
	scorer_release(&s);
}

#define TWO(a, b) "{\"data\":[{\"index\":0,\"embedding\":" a "},{\"index\":1,\"embedding\":" b "}]}"

Test(similar_scorer, request_and_pass)
{
	struct score_result r;
	cJSON *body = NULL, *in;

	score_with("{\"type\":\"similar\"}", "You have 30 days.", TWO("[1,0]", "[1,0.1]"), &r, &body);
	cr_assert_not_null(body);
	cr_expect_str_eq(cJSON_GetObjectItemCaseSensitive(body, "model")->valuestring,
			 "text-embedding-3-small");
	in = cJSON_GetObjectItemCaseSensitive(body, "input");
	cr_assert_eq(cJSON_GetArraySize(in), 2);
	cr_expect_str_eq(cJSON_GetArrayItem(in, 0)->valuestring, "You have 30 days.");
	cr_expect_str_eq(cJSON_GetArrayItem(in, 1)->valuestring, "Returns within 30 days");
	cJSON_Delete(body);
	cr_expect_eq(r.error, 0);
	cr_expect_eq(r.pass, 1);
	cr_expect_float_eq(r.score, 1 / sqrt(1.01), 1e-9);
	cr_expect_str_eq(r.reason, "cosine similarity 0.995 >= threshold 0.8");
	score_result_release(&r);
}

Test(similar_scorer, value_model_threshold)
{
	struct score_result r;
	cJSON *body = NULL;

	score_with("{\"type\":\"similar\",\"model\":\"emb-x\",\"value\":\"ref text\","
		   "\"threshold\":0.999}", "out", TWO("[1,0]", "[1,0.1]"), &r, &body);
	cr_assert_not_null(body);
	cr_expect_str_eq(cJSON_GetObjectItemCaseSensitive(body, "model")->valuestring, "emb-x");
	cr_expect_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(body, "input"), 1)
				 ->valuestring, "ref text");
	cJSON_Delete(body);
	cr_expect_eq(r.error, 0);
	cr_expect_eq(r.pass, 0, "0.995 is below the threshold");
	cr_expect_str_eq(r.reason, "cosine similarity 0.995 < threshold 0.999");
	score_result_release(&r);
}

Test(similar_scorer, opposite_scores_zero)
{
	struct score_result r;

	score_with("{\"type\":\"similar\",\"threshold\":-1}", "x", TWO("[1,0]", "[-1,0]"), &r,
		   NULL);
	cr_expect_eq(r.error, 0);
	cr_expect_float_eq(r.score, 0, 1e-12, "the score stays in [0, 1]");
	cr_expect_eq(r.pass, 1, "cosine -1 >= threshold -1");
	score_result_release(&r);
	score_with("{\"type\":\"similar\"}", "x", TWO("[1,0]", "[0,-1]"), &r, NULL);
	cr_expect_eq(r.pass, 0);
	cr_expect_float_eq(r.score, 0, 1e-12);
	score_result_release(&r);
}

Test(similar_scorer, errors_never_pass)
{
	static const struct {
		const char *reply; /* NULL: the call failed */
		const char *reason;
	} cases[] = {
		{ NULL, "the embeddings call failed: HTTP 500: down" },
		{ "{}", "invalid embeddings reply: the embeddings reply has no \"data\"" },
		{ TWO("[1,2]", "[1]"), "invalid embeddings reply: the embeddings differ in dimension" },
		{ TWO("[0,0]", "[1,1]"), "an embedding has zero or overflowing length" },
		{ TWO("[1e300,1e300]", "[1,1]"), "an embedding has zero or overflowing length" },
	};
	struct score_result r;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		score_with("{\"type\":\"similar\",\"threshold\":-1}", "x", cases[i].reply, &r,
			   NULL);
		cr_expect_eq(r.error, 1, "%s", r.reason);
		cr_expect_eq(r.pass, 0, "%s", r.reason);
		cr_expect_not_null(strstr(r.reason, cases[i].reason), "\"%s\" lacks \"%s\"",
				   r.reason, cases[i].reason);
		score_result_release(&r);
	}
}

Test(similar_scorer, no_reference_makes_no_call)
{
	struct scorer s;
	struct score_job job;
	struct score_result r = { 0 };

	kase.expected = NULL;
	th_scorer_init_ok(&s, "{\"type\":\"similar\"}");
	memset(&job, 0, sizeof(job));
	job.kase = &kase;
	job.output = "x";
	job.output_len = 1;
	cr_assert_eq(scorer_score(&s, &job, &r), SCORE_DONE);
	cr_expect_eq(job.n_calls, 0);
	cr_expect_eq(r.error, 1);
	cr_expect_not_null(strstr(r.reason, "no reference"), "%s", r.reason);
	score_result_release(&r);
	score_job_release(&s, &job);
	scorer_release(&s);
}

Test(similar_scorer, spec_errors)
{
	static const struct {
		const char *spec;
		const char *msg;
	} cases[] = {
		{ "{\"type\":\"similar\",\"threshold\":1.5}", "\"threshold\" must be from -1 to 1" },
		{ "{\"type\":\"similar\",\"threshold\":\"high\"}", "threshold" },
		{ "{\"type\":\"similar\",\"model\":\"\"}", "\"model\" must not be empty" },
		{ "{\"type\":\"similar\",\"model\":3}", "model" },
		{ "{\"type\":\"similar\",\"value\":[]}", "value" },
		{ "{\"type\":\"similar\",\"treshold\":0.5}", "treshold" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char msg[512];

		cr_expect_eq(th_scorer_try(cases[i].spec, msg, sizeof(msg)),
			     -1, "accepted %s", cases[i].spec);
		cr_expect_not_null(strstr(msg, cases[i].msg), "%s: %s", cases[i].spec, msg);
		cr_expect_not_null(strstr(msg, "suites/s/suite.json:3: scorer 1: similar"), "%s", msg);
	}
}
