/*
 * similarity: how close the output is to a reference text, normalised to
 * [0,1]; pass when the similarity >= threshold.
 *
 * {"type": "levenshtein", "threshold": 0.9}
 * {"type": "rouge-l", "value": "Paris is the capital of France", "threshold": 0.5}
 *
 *   value      the reference; without it, the case's "expected" (a case
 *              with neither is an error)
 *   threshold  in [0,1]; default 0.8 (levenshtein), 0.5 (rouge-l)
 *
 *   levenshtein  1 - d / max(n, m), d the edit distance in code points
 *                (insert, delete, substitute) between the output and the
 *                reference, both without surrounding whitespace; n and m
 *                their lengths in code points. Two empty texts are 1.
 *   rouge-l      the F1 of the longest common subsequence of words (words.h,
 *                ASCII-case-insensitive): P = lcs/n_output, R = lcs/n_ref.
 *
 * Both dynamic programs keep two rows, so memory is linear in the shorter
 * text. Their time is n * m: beyond SIMILARITY_MAX_CELLS cells the scorer
 * does not compute them. When the difference in length alone proves the
 * threshold missed, that is a fail (the score an upper bound, said so in
 * the reason); otherwise an error.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "case.h"
#include "scorer.h"
#include "strbuf.h"
#include "types.h"
#include "words.h"
#include "xalloc.h"
#include "banned.h"

/* most cells (n * m) a distance or LCS is computed over: 2^26, ~0.1 s */
#define SIMILARITY_MAX_CELLS ((uint64_t)1 << 26)

struct sim_ctx {
	char *value;      /* the reference, or NULL: the case's expected */
	double threshold; /* pass when the similarity >= threshold */
};

static const char *const sim_fields[] = { "value", "threshold", NULL };

static int sim_init(struct scorer *s, const cJSON *spec, const struct eg_loc *loc,
		    double threshold)
{
	const char *type = s->type->name;
	const char *value = NULL;
	struct sim_ctx *ctx;

	if (scorer_spec_opt_string(spec, "value", loc, type, &value) ||
	    scorer_spec_opt_number(spec, "threshold", loc, type, &threshold))
		return -1;
	if (threshold < 0 || threshold > 1)
		return scorer_error(loc, type, "field \"threshold\" must be in [0,1], not %g",
				    threshold);
	ctx = xcalloc(1, sizeof(*ctx));
	ctx->value = value ? xstrdup(value) : NULL;
	ctx->threshold = threshold;
	s->ctx = ctx;
	return 0;
}

static int levenshtein_init(struct scorer *s, const cJSON *spec, const struct eg_loc *loc)
{
	return sim_init(s, spec, loc, 0.8);
}

static int rouge_l_init(struct scorer *s, const cJSON *spec, const struct eg_loc *loc)
{
	return sim_init(s, spec, loc, 0.5);
}

static void sim_release(struct scorer *s)
{
	struct sim_ctx *ctx = s->ctx;

	if (!ctx)
		return;
	free(ctx->value);
	free(ctx);
	s->ctx = NULL;
}

/* the reference text, or NULL after filling out with the error */
static const char *reference(const struct sim_ctx *ctx, const struct score_job *job,
			     struct score_result *out)
{
	if (ctx->value)
		return ctx->value;
	if (job->kase && job->kase->expected)
		return job->kase->expected;
	out->error = 1;
	out->reason = xstrdup("no \"value\" given and the case has no \"expected\"");
	return NULL;
}

static void trim(const char **b, const char **e)
{
	while (*b < *e && scorer_isspace((unsigned char)**b))
		(*b)++;
	while (*e > *b && scorer_isspace((unsigned char)(*e)[-1]))
		(*e)--;
}

/* edit distance of a (n) and b (m), m <= n, in two rows of m + 1 */
static size_t edit_distance(const uint32_t *a, size_t n, const uint32_t *b, size_t m)
{
	size_t *prev = xmalloc((m + 1) * sizeof(*prev));
	size_t *cur = xmalloc((m + 1) * sizeof(*cur));
	size_t i, j, d;

	for (j = 0; j <= m; j++)
		prev[j] = j;
	for (i = 1; i <= n; i++) {
		size_t *t;
		cur[0] = i;
		for (j = 1; j <= m; j++) {
			size_t best = prev[j - 1] + (a[i - 1] != b[j - 1]);
			if (prev[j] + 1 < best)
				best = prev[j] + 1;
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;
			cur[j] = best;
		}
		t = prev;
		prev = cur;
		cur = t;
	}
	d = prev[m];
	free(prev);
	free(cur);
	return d;
}

/* longest common subsequence of a (n) and b (m), m <= n, in two rows of m + 1 */
static size_t lcs_length(const uint64_t *a, size_t n, const uint64_t *b, size_t m)
{
	size_t *prev = xcalloc(m + 1, sizeof(*prev));
	size_t *cur = xcalloc(m + 1, sizeof(*cur));
	size_t i, j, l;

	for (i = 1; i <= n; i++) {
		size_t *t;
		for (j = 1; j <= m; j++) {
			if (a[i - 1] == b[j - 1])
				cur[j] = prev[j - 1] + 1;
			else
				cur[j] = prev[j] > cur[j - 1] ? prev[j] : cur[j - 1];
		}
		t = prev;
		prev = cur;
		cur = t;
	}
	l = prev[m];
	free(prev);
	free(cur);
	return l;
}

/*
 * Fill out from the similarity (exact, or an upper bound when bound is
 * set); unit names what n and m count.
 */
static void verdict(const struct sim_ctx *ctx, struct score_result *out, const char *what,
		    double sim, int bound, size_t n, size_t m, const char *unit)
{
	struct strbuf r = STRBUF_INIT;

	out->score = sim;
	out->pass = !bound && sim >= ctx->threshold;
	strbuf_addf(&r, "%s similarity %s%.3f %s threshold %.3f (%zu and %zu %s)", what,
		    bound ? "at most " : "", sim, out->pass ? ">=" : "<", ctx->threshold, n, m,
		    unit);
	if (bound)
		strbuf_addstr(&r, "; too long to compute exactly");
	out->reason = strbuf_detach(&r, NULL);
}

static void too_long(struct score_result *out, const char *what, size_t n, size_t m,
		     const char *unit)
{
	struct strbuf r = STRBUF_INIT;

	out->error = 1;
	strbuf_addf(&r, "%s: %zu x %zu %s is more than the %llu cells computed", what, n, m,
		    unit, (unsigned long long)SIMILARITY_MAX_CELLS);
	out->reason = strbuf_detach(&r, NULL);
}

static enum score_status levenshtein_score(const struct scorer *s, struct score_job *job,
					   struct score_result *out)
{
	const struct sim_ctx *ctx = s->ctx;
	const char *ref = reference(ctx, job, out);
	const char *ob = job->output ? job->output : "", *rb;
	const char *oe = ob + (job->output ? job->output_len : 0), *re;
	uint32_t *a, *b;
	size_t n, m, longer, shorter;

	if (!ref)
		return SCORE_DONE;
	rb = ref;
	re = ref + strlen(ref);
	trim(&ob, &oe);
	trim(&rb, &re);
	a = words_codepoints(ob, (size_t)(oe - ob), &n);
	b = words_codepoints(rb, (size_t)(re - rb), &m);
	longer = n > m ? n : m;
	shorter = n > m ? m : n;
	if (!longer) {
		verdict(ctx, out, "levenshtein", 1, 0, n, m, "code points");
	} else if ((uint64_t)n * m <= SIMILARITY_MAX_CELLS) {
		size_t d = n >= m ? edit_distance(a, n, b, m) : edit_distance(b, m, a, n);
		verdict(ctx, out, "levenshtein", 1 - (double)d / (double)longer, 0, n, m,
			"code points");
	} else if (1 - (double)(longer - shorter) / (double)longer < ctx->threshold) {
		verdict(ctx, out, "levenshtein", 1 - (double)(longer - shorter) / (double)longer,
			1, n, m, "code points");
	} else {
		too_long(out, "levenshtein", n, m, "code points");
	}
	free(a);
	free(b);
	return SCORE_DONE;
}

static enum score_status rouge_l_score(const struct scorer *s, struct score_job *job,
				       struct score_result *out)
{
	const struct sim_ctx *ctx = s->ctx;
	const char *ref = reference(ctx, job, out);
	uint64_t *a, *b;
	size_t n, m, longer, shorter;

	if (!ref)
		return SCORE_DONE;
	a = words_hashes(job->output ? job->output : "", job->output ? job->output_len : 0, &n);
	b = words_hashes(ref, strlen(ref), &m);
	longer = n > m ? n : m;
	shorter = n > m ? m : n;
	if (!longer) {
		verdict(ctx, out, "rouge-l", 1, 0, n, m, "words");
	} else if (!shorter) {
		verdict(ctx, out, "rouge-l", 0, 0, n, m, "words");
	} else if ((uint64_t)n * m <= SIMILARITY_MAX_CELLS) {
		size_t l = n >= m ? lcs_length(a, n, b, m) : lcs_length(b, m, a, n);
		double p = (double)l / (double)n, rc = (double)l / (double)m;
		verdict(ctx, out, "rouge-l", l ? 2 * p * rc / (p + rc) : 0, 0, n, m, "words");
	} else if (2.0 * (double)shorter / (double)(n + m) < ctx->threshold) {
		/* lcs <= shorter, so F1 <= 2 * shorter / (n + m) */
		verdict(ctx, out, "rouge-l", 2.0 * (double)shorter / (double)(n + m), 1, n, m,
			"words");
	} else {
		too_long(out, "rouge-l", n, m, "words");
	}
	free(a);
	free(b);
	return SCORE_DONE;
}

const struct scorer_type scorer_levenshtein = {
	.name = "levenshtein",
	.init = levenshtein_init,
	.score = levenshtein_score,
	.release = sim_release,
	.fields = sim_fields,
};

const struct scorer_type scorer_rouge_l = {
	.name = "rouge-l",
	.init = rouge_l_init,
	.score = rouge_l_score,
	.release = sim_release,
	.fields = sim_fields,
};
