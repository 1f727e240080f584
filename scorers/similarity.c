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
 * Both are computed bit-parallel, 64 cells of the n x m table at a time,
 * with memory linear in n + m (at most distinct symbols x m / 64 words for
 * the pattern bits). Their time is still n * m / 64: beyond
 * SIMILARITY_MAX_CELLS cells the scorer does not compute them. When the difference in length alone proves the
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

/* most cells (n * m) a distance or LCS is computed over: 2^26, a few ms */
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

/*
 * Both distances are bit-parallel over the shorter text b (m symbols, in
 * ceil(m / 64) words): Myers' edit distance (J. ACM 46(3), 1999, the
 * multi-word form) and the LCS bit-vector of Crochemore et al. (IPL 80,
 * 2001). For each symbol of b, peq holds the bit vector of its positions;
 * a hash table finds it for a symbol of a, absent meaning all zeros.
 */
struct peq {
	uint64_t *keys;   /* table of distinct symbols of b, open addressing */
	uint32_t *slot;   /* their row in bits + 1; 0: empty */
	size_t mask;      /* table size - 1 */
	uint64_t *bits;   /* n_sym rows of words each */
	const uint64_t *ascii[128]; /* the rows of symbols below 128, or NULL */
	size_t words;     /* ceil(m / 64) */
};

static size_t peq_hash(uint64_t k, size_t mask)
{
	return (size_t)((k * 0x9e3779b97f4a7c15ULL) >> 17) & mask;
}

static void peq_build(struct peq *p, const uint64_t *b, size_t m)
{
	size_t size = 16, i, n_sym = 0;

	memset(p->ascii, 0, sizeof(p->ascii));
	while (size < 2 * m)
		size *= 2;
	p->mask = size - 1;
	p->words = (m + 63) / 64;
	p->keys = xcalloc(size, sizeof(*p->keys));
	p->slot = xcalloc(size, sizeof(*p->slot));
	/* first the distinct symbols, then their rows: memory n_sym * words */
	for (i = 0; i < m; i++) {
		size_t h = peq_hash(b[i], p->mask);
		while (p->slot[h] && p->keys[h] != b[i])
			h = (h + 1) & p->mask;
		if (!p->slot[h]) {
			p->keys[h] = b[i];
			p->slot[h] = (uint32_t)++n_sym;
		}
	}
	p->bits = xcalloc(n_sym * p->words, sizeof(*p->bits));
	for (i = 0; i < m; i++) {
		size_t h = peq_hash(b[i], p->mask);
		while (p->keys[h] != b[i])
			h = (h + 1) & p->mask;
		p->bits[(p->slot[h] - 1) * p->words + i / 64] |= (uint64_t)1 << (i % 64);
		if (b[i] < 128)
			p->ascii[b[i]] = p->bits + (p->slot[h] - 1) * p->words;
	}
}

/* the bit vector of symbol k, or NULL when b does not hold it */
static const uint64_t *peq_find(const struct peq *p, uint64_t k)
{
	size_t h;

	if (k < 128)
		return p->ascii[k];
	h = peq_hash(k, p->mask);
	while (p->slot[h]) {
		if (p->keys[h] == k)
			return p->bits + (p->slot[h] - 1) * p->words;
		h = (h + 1) & p->mask;
	}
	return NULL;
}

static void peq_release(struct peq *p)
{
	free(p->keys);
	free(p->slot);
	free(p->bits);
}

/*
 * edit distance of a (n) and b (m), 0 < m <= n: Myers' blocks without
 * branches (the horizontal deltas carried from word to word as two bits,
 * Hyyro's form); a symbol b does not hold reads a row of zeros
 */
static size_t myers_distance(const uint64_t *a, size_t n, const uint64_t *b, size_t m)
{
	struct peq p;
	uint64_t *pv, *mv, *zero;
	uint64_t last = (uint64_t)1 << ((m - 1) % 64);
	size_t i, w, d = m, words;

	peq_build(&p, b, m);
	words = p.words;
	pv = xmalloc(words * sizeof(*pv));
	mv = xcalloc(2 * words, sizeof(*mv));
	zero = mv + words;
	for (w = 0; w < words; w++)
		pv[w] = ~(uint64_t)0;
	for (i = 0; i < n; i++) {
		const uint64_t *eq = peq_find(&p, a[i]);
		uint64_t hp_in = 1, hn_in = 0; /* the top row grows by one per symbol of a */

		if (!eq)
			eq = zero;
		for (w = 0; w < words; w++) {
			uint64_t e = eq[w], vp = pv[w], vn = mv[w];
			uint64_t x = e | hn_in;
			uint64_t d0 = (((x & vp) + vp) ^ vp) | x | vn;
			uint64_t hp = vn | ~(d0 | vp), hn = d0 & vp;
			uint64_t hp_out, hn_out;

			if (w + 1 < words) {
				hp_out = hp >> 63;
				hn_out = hn >> 63;
			} else {
				hp_out = (hp & last) != 0;
				hn_out = (hn & last) != 0;
			}
			hp = (hp << 1) | hp_in;
			hn = (hn << 1) | hn_in;
			pv[w] = hn | ~(d0 | hp);
			mv[w] = hp & d0;
			hp_in = hp_out;
			hn_in = hn_out;
		}
		d = d + (size_t)hp_in - (size_t)hn_in;
	}
	free(pv);
	free(mv);
	peq_release(&p);
	return d;
}

/*
 * edit distance of a (n) and b (m), 0 < m <= n: what both share at the
 * start and the end costs nothing and is left out first
 */
static size_t edit_distance(const uint64_t *a, size_t n, const uint64_t *b, size_t m)
{
	while (m && a[0] == b[0]) {
		a++;
		b++;
		n--;
		m--;
	}
	while (m && a[n - 1] == b[m - 1]) {
		n--;
		m--;
	}
	return m ? myers_distance(a, n, b, m) : n;
}

/* longest common subsequence of a (n) and b (m), 0 < m <= n */
static size_t lcs_length(const uint64_t *a, size_t n, const uint64_t *b, size_t m)
{
	struct peq p;
	uint64_t *v;
	size_t i, w, l = 0;

	peq_build(&p, b, m);
	v = xmalloc(p.words * sizeof(*v));
	for (w = 0; w < p.words; w++)
		v[w] = ~(uint64_t)0;
	for (i = 0; i < n; i++) {
		const uint64_t *eq = peq_find(&p, a[i]);
		uint64_t carry = 0;

		if (!eq)
			continue; /* V & M is zero: V stays */
		for (w = 0; w < p.words; w++) {
			uint64_t u = v[w] & eq[w], t = v[w] + u, sum = t + carry;
			carry = (t < v[w]) | (sum < t);
			v[w] = sum | (v[w] & ~eq[w]);
		}
	}
	for (i = 0; i < m; i++)
		l += !(v[i / 64] >> (i % 64) & 1);
	free(v);
	peq_release(&p);
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
	uint64_t *a, *b;
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
	} else if (!shorter) {
		verdict(ctx, out, "levenshtein", 0, 0, n, m, "code points");
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
