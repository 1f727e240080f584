/*
 * Unit tests of the retrieval scorer: each metric's arithmetic at k,
 * repeated and unknown ids, the defaults of min, a case without expected
 * ids, spec errors, and the suite loader reading the two id lists.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "case.h"
#include "scorer.h"
#include "scorer_helper.h"
#include "suite.h"
#include "xalloc.h"
#include "banned.h"

struct eg_loc th_scorer_loc = { "suites/x/suite.json", 4, 1 };

/* score spec on a case with these NULL-terminated id lists; the result kept in *r */
static void score_ids(const char *spec, const char *const *retrieved, const char *const *expected,
		      struct score_result *r)
{
	struct eg_case c;
	struct scorer s;
	struct score_job job = { .kase = &c, .output = "" };

	memset(&c, 0, sizeof(c));
	c.context_ids = (char **)retrieved;
	while (retrieved && retrieved[c.n_context_ids])
		c.n_context_ids++;
	c.expected_context_ids = (char **)expected;
	while (expected && expected[c.n_expected_context_ids])
		c.n_expected_context_ids++;
	th_scorer_init_ok(&s, spec);
	memset(r, 0, sizeof(*r));
	th_score_job(&s, &job, r);
	scorer_release(&s);
}

static const char *const got[] = { "d7", "d2", "d7", "d9", "d1", NULL };
static const char *const want[] = { "d1", "d2", "d3", NULL };

static double score_of(const char *spec)
{
	struct score_result r;
	double v;

	score_ids(spec, got, want, &r);
	cr_assert(!r.error, "%s", r.reason);
	v = r.score;
	score_result_release(&r);
	return v;
}

Test(retrieval, metrics)
{
	/* ranks after dropping the repeated d7: d7 1, d2 2, d9 3, d1 4 */
	cr_expect_float_eq(score_of("{\"type\": \"retrieval\", \"metric\": \"hit\", \"k\": 1}"), 0,
			   1e-12);
	cr_expect_float_eq(score_of("{\"type\": \"retrieval\", \"metric\": \"hit\", \"k\": 2}"), 1,
			   1e-12);
	cr_expect_float_eq(score_of("{\"type\": \"retrieval\", \"k\": 3}"), 1.0 / 3, 1e-12);
	cr_expect_float_eq(score_of("{\"type\": \"retrieval\"}"), 2.0 / 3, 1e-12);
	cr_expect_float_eq(score_of("{\"type\": \"retrieval\", \"metric\": \"mrr\"}"), 0.5, 1e-12);
	cr_expect_float_eq(score_of("{\"type\": \"retrieval\", \"metric\": \"mrr\", \"k\": 1}"), 0,
			   1e-12);
	cr_expect_float_eq(score_of("{\"type\": \"retrieval\", \"metric\": \"ndcg\", \"k\": 4}"),
			   (1 / log2(3) + 1 / log2(5)) / (1 + 1 / log2(3) + 1 / log2(4)), 1e-12);
	cr_expect_float_eq(score_of("{\"type\": \"retrieval\", \"metric\": \"ndcg\", \"k\": 2}"),
			   (1 / log2(3)) / (1 + 1 / log2(3)), 1e-12);
}

Test(retrieval, pass_and_reason)
{
	struct score_result r;

	score_ids("{\"type\": \"retrieval\", \"metric\": \"recall\", \"k\": 5, \"min\": 0.6}", got,
		  want, &r);
	cr_expect(r.pass);
	cr_expect_str_eq(r.reason, "recall@5 0.667 (min 0.600): 2 of 3 expected among the first 4 "
			 "of 5 retrieved, first at rank 2");
	score_result_release(&r);
	/* hit's default min is 1, the others' 0.5 */
	score_ids("{\"type\": \"retrieval\", \"metric\": \"hit\", \"k\": 1}", got, want, &r);
	cr_expect(!r.pass);
	score_result_release(&r);
	score_ids("{\"type\": \"retrieval\", \"metric\": \"mrr\"}", got, want, &r);
	cr_expect(r.pass);
	score_result_release(&r);
	/* nothing retrieved: 0, a fail, not an error */
	score_ids("{\"type\": \"retrieval\"}", NULL, want, &r);
	cr_expect(!r.error && !r.pass && r.score == 0, "%s", r.reason);
	score_result_release(&r);
	/* nothing expected: an error */
	score_ids("{\"type\": \"retrieval\"}", got, NULL, &r);
	cr_expect(r.error && !r.pass);
	cr_expect_str_eq(r.reason, "case has no expected_context_ids");
	score_result_release(&r);
}

Test(retrieval, hostile_ids)
{
	struct score_result r;
	size_t n = 20000, i;
	char **ids = xcalloc(n + 1, sizeof(char *));
	static const char *const one[] = { "x\xff", NULL };

	for (i = 0; i < n; i++)
		ids[i] = xstrdup(i % 2 ? "x\xff" : "\x01\x02");
	score_ids("{\"type\": \"retrieval\", \"metric\": \"ndcg\", \"k\": 1000}",
		  (const char *const *)ids, one, &r);
	/* the repeats collapse: the expected id is at rank 2 */
	cr_expect(!r.error && r.pass, "%s", r.reason);
	cr_expect_float_eq(r.score, 1 / log2(3), 1e-12, "%s", r.reason);
	score_result_release(&r);
	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

Test(retrieval, spec_errors)
{
	char msg[512];

	cr_expect_eq(th_scorer_try("{\"type\": \"retrieval\", \"metric\": \"map\"}", msg,
				   sizeof(msg)), -1);
	cr_expect(strstr(msg, "scorer 1: retrieval: field \"metric\" must be hit, recall, mrr or "
			 "ndcg, not \"map\""), "%s", msg);
	cr_expect_eq(th_scorer_try("{\"type\": \"retrieval\", \"k\": 0}", msg, sizeof(msg)), -1);
	cr_expect(strstr(msg, "field \"k\" must be a whole number from 1"), "%s", msg);
	cr_expect_eq(th_scorer_try("{\"type\": \"retrieval\", \"k\": 2.5}", msg, sizeof(msg)), -1);
	cr_expect_eq(th_scorer_try("{\"type\": \"retrieval\", \"min\": 1.5}", msg, sizeof(msg)),
		     -1);
	cr_expect(strstr(msg, "field \"min\" must be between 0 and 1"), "%s", msg);
	cr_expect_eq(th_scorer_try("{\"type\": \"retrieval\", \"top_k\": 3}", msg, sizeof(msg)),
		     -1);
	cr_expect(strstr(msg, "unknown field \"top_k\""), "%s", msg);
}
