/*
 * Unit tests of lexical faithfulness: exact arithmetic, the sentence
 * splitter (abbreviations, decimals, line breaks), stop words, stemming,
 * folding, the one-passage rule, reasons, and awkward input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "lexical.h"
#include "xalloc.h"
#include "banned.h"

/* run with a NULL-terminated list of passages; returns the call's result */
static int run(const char *answer, const char *const *ctx, double min, struct lexical_result *r)
{
	size_t n = 0;
	int rc;

	while (ctx && ctx[n])
		n++;
	rc = lexical_faithfulness(answer, answer ? strlen(answer) : 0, (char *const *)ctx, n, min,
				  r);
	if (!rc) {
		cr_assert_not_null(r->reason);
		cr_assert_null(strchr(r->reason, '\n'), "reason is not one line: %s", r->reason);
		cr_assert(r->supported <= r->total);
		cr_assert_eq(r->score, (double)r->supported / (double)r->total);
	}
	return rc;
}

static const char *const returns_ctx[] = {
	"Returns are accepted within 30 days of delivery.",
	"Refunds go back to the original payment method.",
	NULL,
};

Test(lexical, two_of_three)
{
	struct lexical_result r;

	cr_assert_eq(run("Returns are accepted within 30 days. Refunds go to the original "
			 "payment method. The warranty is 5 years.", returns_ctx, 1.0, &r), 0);
	cr_expect_eq(r.supported, 2);
	cr_expect_eq(r.total, 3);
	cr_expect_eq(r.score, 2.0 / 3.0);
	cr_expect_str_eq(r.reason, "unsupported: \"The warranty is 5 years.\" (0/3 words)");
	lexical_result_release(&r);
	cr_expect_null(r.reason);
}

Test(lexical, all_supported)
{
	struct lexical_result r;

	cr_assert_eq(run("Returns are accepted within 30 days! Refunds go back to the original "
			 "payment method?", returns_ctx, 1.0, &r), 0);
	cr_expect_eq(r.score, 1.0);
	cr_expect_str_eq(r.reason, "all 2 sentences supported");
	lexical_result_release(&r);
}

Test(lexical, no_sentences)
{
	struct lexical_result r;

	cr_expect_eq(run("", returns_ctx, 0.5, &r), -1);
	cr_expect_null(r.reason);
	cr_expect_eq(r.total, 0);
	cr_expect_eq(run(NULL, returns_ctx, 0.5, &r), -1);
	cr_expect_eq(run("   \n\n  ", returns_ctx, 0.5, &r), -1);
	cr_expect_eq(run("...!?", returns_ctx, 0.5, &r), -1);
	/* only stop words */
	cr_expect_eq(run("It is what it is. You can't, can you?", returns_ctx, 0.5, &r), -1);
}

Test(lexical, stop_word_sentences_not_counted)
{
	struct lexical_result r;

	cr_assert_eq(run("It is what it is. Returns are accepted. And so on!", returns_ctx, 1.0, &r),
		     0);
	cr_expect_eq(r.total, 1);
	cr_expect_eq(r.supported, 1);
	lexical_result_release(&r);
}

Test(lexical, stemming)
{
	static const char *const ctx[] = { "The refunds were processed quickly.",
					   "Our policies changed; boxes shipped.", NULL };
	struct lexical_result r;

	cr_assert_eq(run("Refund processing is quick. The policy changes. Box shipping.", ctx, 1.0,
			 &r), 0);
	cr_expect_eq(r.supported, 3, "%s", r.reason);
	lexical_result_release(&r);
	/* no stemming across different words */
	cr_assert_eq(run("The boxer shipped.", ctx, 1.0, &r), 0);
	cr_expect_eq(r.supported, 0);
	cr_expect_str_eq(r.reason, "unsupported: \"The boxer shipped.\" (1/2 words)");
	lexical_result_release(&r);
}

Test(lexical, abbreviations_and_decimals)
{
	static const char *const ctx[] = {
		"Clean it with a solvent such as alcohol. It costs 3.5 dollars. "
		"Smith approved the U.S. shipment.", NULL };
	struct lexical_result r;

	cr_assert_eq(run("Use a solvent, e.g. alcohol, to clean it. It costs 3.5 dollars. "
			 "Dr. Smith approved it. J. Smith approved the U.S. shipment.", ctx, 0.6,
			 &r), 0);
	cr_expect_eq(r.total, 4, "%s", r.reason);
	cr_expect_eq(r.supported, 4, "%s", r.reason);
	lexical_result_release(&r);

	/* 35 is not 3.5 */
	cr_assert_eq(run("It costs 35 dollars.", ctx, 1.0, &r), 0);
	cr_expect_eq(r.supported, 0);
	cr_expect_str_eq(r.reason, "unsupported: \"It costs 35 dollars.\" (2/3 words)");
	lexical_result_release(&r);
}

Test(lexical, line_breaks_split)
{
	struct lexical_result r;

	cr_assert_eq(run("- Returns accepted within 30 days\n- Free gift wrapping\n", returns_ctx,
			 1.0, &r), 0);
	cr_expect_eq(r.total, 2);
	cr_expect_eq(r.supported, 1);
	cr_expect_str_eq(r.reason, "unsupported: \"- Free gift wrapping\" (0/3 words)");
	lexical_result_release(&r);
}

Test(lexical, invented_detail)
{
	static const char *const ctx[] = { "The warranty lasts two years and covers parts.", NULL };
	struct lexical_result r;

	cr_assert_eq(run("The warranty lasts two years. It covers water damage and theft.", ctx,
			 1.0, &r), 0);
	cr_expect_eq(r.supported, 1);
	cr_expect_eq(r.total, 2);
	cr_expect_str_eq(r.reason,
			 "unsupported: \"It covers water damage and theft.\" (1/4 words)");
	lexical_result_release(&r);
}

Test(lexical, one_passage_rule)
{
	static const char *const ctx[] = { "The warranty lasts two years.", "It covers water damage.",
					   NULL };
	struct lexical_result r;

	cr_assert_eq(run("The warranty covers water damage for two years.", ctx, 0.6, &r), 0);
	cr_expect_eq(r.supported, 0);
	cr_expect_str_eq(r.reason, "unsupported: \"The warranty covers water damage for two "
			 "years.\" (3/6 words)");
	lexical_result_release(&r);
	cr_assert_eq(run("The warranty covers water damage for two years.", ctx, 0.5, &r), 0);
	cr_expect_eq(r.supported, 1);
	lexical_result_release(&r);
}

Test(lexical, folding_and_apostrophes)
{
	static const char *const ctx[] = { "Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e served daily at "
					   "Anna\u2019s bistro.", NULL };
	struct lexical_result r;

	cr_assert_eq(run("CAF\u00c9 CREME BRULEE served daily at Anna's bistro.", ctx, 1.0, &r), 0);
	cr_expect_eq(r.supported, 1, "%s", r.reason);
	lexical_result_release(&r);
}

Test(lexical, overlap_threshold)
{
	static const char *const ctx[] = { "The fee is 3.5 percent.", NULL };
	struct lexical_result r;

	/* fee, 35, percent: 2 of 3 */
	cr_assert_eq(run("The fee is 35 percent.", ctx, 0.66, &r), 0);
	cr_expect_eq(r.supported, 1);
	lexical_result_release(&r);
	cr_assert_eq(run("The fee is 35 percent.", ctx, 2.0 / 3.0, &r), 0);
	cr_expect_eq(r.supported, 1);
	lexical_result_release(&r);
	cr_assert_eq(run("The fee is 35 percent.", ctx, 0.67, &r), 0);
	cr_expect_eq(r.supported, 0);
	lexical_result_release(&r);
	cr_assert_eq(run("Nothing matches here.", ctx, 0.0, &r), 0);
	cr_expect_eq(r.score, 1.0);
	lexical_result_release(&r);
}

Test(lexical, no_context)
{
	struct lexical_result r;

	cr_assert_eq(run("Returns are accepted.", NULL, 0.5, &r), 0);
	cr_expect_eq(r.score, 0.0);
	lexical_result_release(&r);
}

Test(lexical, many_unsupported)
{
	struct lexical_result r;

	cr_assert_eq(run("Alpha beta. Gamma delta. Epsilon zeta. Eta theta. Iota kappa.",
			 returns_ctx, 0.5, &r), 0);
	cr_expect_eq(r.total, 5);
	cr_expect_eq(r.supported, 0);
	cr_expect_str_eq(r.reason, "unsupported: \"Alpha beta.\" (0/2 words); \"Gamma delta.\" "
			 "(0/2 words); \"Epsilon zeta.\" (0/2 words); and 2 more");
	lexical_result_release(&r);
}

Test(lexical, awkward_bytes)
{
	static const char *const ctx[] = { "caf\xff\xfe bar \xc3", NULL };
	struct lexical_result r;
	char *big = xmalloc(256 * 1024 + 1);
	unsigned x = 12345;
	size_t i;
	int rc;

	for (i = 0; i < 256 * 1024; i++) {
		x = x * 1103515245u + 12345u;
		big[i] = (char)(x >> 16);
		if (!big[i])
			big[i] = ' ';
	}
	big[256 * 1024] = '\0';
	rc = run(big, ctx, 0.5, &r);
	if (!rc) {
		cr_expect(r.score >= 0 && r.score <= 1);
		lexical_result_release(&r);
	}
	cr_assert_eq(lexical_faithfulness(big, 256 * 1024, (char *const *)&big, 1, 0.5, &r), 0);
	cr_expect_eq(r.score, 1.0, "the answer is its own context: %s", r.reason);
	lexical_result_release(&r);
	free(big);
}

/* ---- LEXICAL_ENTITIES: numbers, names and negations must be in the passage ---- */

static const char *const film_ctx[] = {
	"The Green Hornet is a 1966 series starring Van Williams, with Bruce Lee as Kato. "
	"It ran for 26 episodes and cost $1,500,000 to make; filming began on 05 June 1966.",
	"Dallas is a city in Texas.",
	NULL,
};

/* 1 when supported with entities, the reason copied */
static int run_ent(const char *answer, double min, char *reason, size_t size)
{
	struct lexical_result r;
	int ok;

	cr_assert_eq(lexical_faithfulness_flags(answer, strlen(answer), (char *const *)film_ctx, 2,
						min, LEXICAL_ENTITIES, &r), 0);
	cr_assert_not_null(r.reason);
	cr_assert_null(strchr(r.reason, '\n'));
	ok = r.supported == r.total;
	snprintf(reason, size, "%s", r.reason);
	lexical_result_release(&r);
	return ok;
}

Test(lexical, entities)
{
	char reason[512];

	cr_expect(run_ent("Bruce Lee played Kato in the 1966 series The Green Hornet.", 0.6, reason,
			  sizeof(reason)), "%s", reason);
	cr_expect(run_ent("It cost 1500000 dollars and began on 5 June 1966.", 0.5, reason,
			  sizeof(reason)), "%s", reason);
	/* a swapped year: the words overlap, the number is not there */
	cr_expect(!run_ent("Bruce Lee played Kato in the 1967 series The Green Hornet.", 0.6, reason,
			   sizeof(reason)));
	cr_expect(strstr(reason, "\"1967\" not in the context"), "%s", reason);
	/* a swapped name */
	cr_expect(!run_ent("Jackie Chan played Kato in the 1966 series The Green Hornet.", 0.6,
			   reason, sizeof(reason)));
	cr_expect(strstr(reason, "\"Jackie\" not in the context"), "%s", reason);
	/* names of another passage do not help: one passage holds them all */
	cr_expect(!run_ent("Bruce Lee played Kato in Dallas in 1966.", 0.5, reason, sizeof(reason)));
	/* a negation the passage does not have; "No," opening an answer is none */
	cr_expect(!run_ent("Bruce Lee did not play Kato in the 1966 series.", 0.6, reason,
			   sizeof(reason)));
	cr_expect(strstr(reason, "\"not\" not in the context"), "%s", reason);
	cr_expect(run_ent("No, Bruce Lee played Kato in the 1966 series.", 0.6, reason,
			  sizeof(reason)), "%s", reason);
}

Test(lexical, entities_off_is_the_old_call)
{
	struct lexical_result a, b;
	const char *answer = "Jackie Chan played Kato in the 1967 series The Green Hornet.";

	cr_assert_eq(lexical_faithfulness(answer, strlen(answer), (char *const *)film_ctx, 2, 0.6,
					  &a), 0);
	cr_assert_eq(lexical_faithfulness_flags(answer, strlen(answer), (char *const *)film_ctx, 2,
						0.6, 0, &b), 0);
	cr_expect_eq(a.supported, b.supported);
	cr_expect_eq(a.total, b.total);
	cr_expect_str_eq(a.reason, b.reason);
	lexical_result_release(&a);
	lexical_result_release(&b);
}

Test(lexical, entities_hostile)
{
	struct lexical_result r;
	size_t n = 1u << 20, i;
	char *big = xmalloc(n + 1), *passage = xmalloc(n + 1);
	const char *ctx[] = { passage, NULL };

	/* capitalised words, digits, NUL, invalid UTF-8; the passage the same but NUL */
	static const char unit[] = "Ab 12 Not. \0\xff\xc3 Cd 0\n";

	for (i = 0; i < n; i++) {
		big[i] = unit[i % (sizeof(unit) - 1)];
		passage[i] = big[i] ? big[i] : ' ';
	}
	big[n] = passage[n] = '\0';
	cr_assert_eq(lexical_faithfulness_flags(big, n, (char *const *)ctx, 1, 0.6,
						LEXICAL_ENTITIES, &r), 0);
	cr_expect(r.total > 0);
	cr_expect_eq(r.supported, r.total, "%s", r.reason);
	lexical_result_release(&r);
	free(big);
	free(passage);
}
