/*
 * text: plain comparisons of the output with a fixed string "value".
 *
 *   equals       the output is the value. Surrounding ASCII whitespace of
 *                both is ignored unless "trim": false, since models often
 *                end with a newline; the comparison is byte for byte.
 *   contains     the value occurs in the output, byte for byte.
 *   icontains    the same, ignoring case: ASCII folding for ASCII values;
 *                Unicode case folding (PCRE2 literal, caseless, UTF) for a
 *                value with other letters, so "RÉSUMÉ" finds "résumé". An
 *                output that is not valid UTF-8 is still searched.
 *   starts-with  the output begins with the value, after leading whitespace
 *                (and a byte order mark) of both.
 *
 * The value must be a non-empty string. Scoring allocates nothing but the
 * reason.
 */
#define _GNU_SOURCE /* memmem */

#include <stdlib.h>
#include <string.h>

#include <pcre2.h>

#include "scorer.h"
#include "strbuf.h"
#include "types.h"
#include "utf8.h"
#include "xalloc.h"
#include "banned.h"

struct text_ctx {
	char *value;      /* as compared: trimmed for equals and starts-with */
	size_t len;       /* of value, > 0 */
	int trim;         /* equals: ignore surrounding whitespace of the output */
	int ascii;        /* icontains: the value is ASCII, fold bytes */
	pcre2_code *fold; /* icontains: caseless literal, or NULL when not needed */
	char *shown;      /* the value quoted for reasons */
};

static const char *const value_fields[] = { "value", NULL };
static const char *const equals_fields[] = { "value", "trim", NULL };

static const char *skip_space(const char *s, const char *end)
{
	if (end - s >= 3 && !memcmp(s, "\xef\xbb\xbf", 3))
		s += 3;
	while (s < end && scorer_isspace((unsigned char)*s))
		s++;
	return s;
}

static const char *rskip_space(const char *s, const char *end)
{
	while (end > s && scorer_isspace((unsigned char)end[-1]))
		end--;
	return end;
}

static unsigned char ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int has_non_ascii(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 1;
	return 0;
}

/*
 * Two ASCII letters have case partners outside ASCII under Unicode folding:
 * k (KELVIN SIGN) and s (LATIN SMALL LETTER LONG S).
 */
static int has_wide_fold(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = ascii_lower((unsigned char)s[i]);
		if (c == 'k' || c == 's')
			return 1;
	}
	return 0;
}

static int text_init_common(struct scorer *s, const cJSON *spec, const struct eg_loc *loc,
			    struct text_ctx **out)
{
	const char *type = s->type->name;
	const char *value = NULL;
	struct text_ctx *ctx;
	struct strbuf shown = STRBUF_INIT;

	*out = NULL;
	if (scorer_spec_string(spec, "value", loc, type, &value))
		return -1;
	if (!*value)
		return scorer_error(loc, type, "field \"value\" must not be empty");
	ctx = xcalloc(1, sizeof(*ctx));
	ctx->len = strlen(value);
	ctx->value = xstrndup(value, ctx->len);
	esc_visible(&shown, value, ctx->len, SCORER_QUOTE_MAX);
	ctx->shown = strbuf_detach(&shown, NULL);
	*out = ctx;
	return 0;
}

static void text_release(struct scorer *s)
{
	struct text_ctx *ctx = s->ctx;

	if (!ctx)
		return;
	pcre2_code_free(ctx->fold);
	free(ctx->value);
	free(ctx->shown);
	free(ctx);
	s->ctx = NULL;
}

/* keep only [start, end) of ctx->value */
static int text_narrow(struct scorer *s, struct text_ctx *ctx, const char *start,
		       const char *end, const struct eg_loc *loc)
{
	struct strbuf shown = STRBUF_INIT;

	if (start == end) {
		scorer_error(loc, s->type->name, "field \"value\" is only whitespace");
		text_release(s);
		return -1;
	}
	ctx->len = (size_t)(end - start);
	memmove(ctx->value, start, ctx->len);
	ctx->value[ctx->len] = '\0';
	esc_visible(&shown, ctx->value, ctx->len, SCORER_QUOTE_MAX);
	free(ctx->shown);
	ctx->shown = strbuf_detach(&shown, NULL);
	return 0;
}

static int equals_init(struct scorer *s, const cJSON *spec, const struct eg_loc *loc)
{
	struct text_ctx *ctx;
	int trim = 1;

	if (scorer_spec_opt_bool(spec, "trim", loc, "equals", &trim) ||
	    text_init_common(s, spec, loc, &ctx))
		return -1;
	s->ctx = ctx;
	ctx->trim = trim;
	if (trim) {
		const char *end = ctx->value + ctx->len;
		const char *b = skip_space(ctx->value, end);
		return text_narrow(s, ctx, b, rskip_space(b, end), loc);
	}
	return 0;
}

static int contains_init(struct scorer *s, const cJSON *spec, const struct eg_loc *loc)
{
	struct text_ctx *ctx;

	if (text_init_common(s, spec, loc, &ctx))
		return -1;
	s->ctx = ctx;
	return 0;
}

static int starts_with_init(struct scorer *s, const cJSON *spec, const struct eg_loc *loc)
{
	struct text_ctx *ctx;
	const char *end;

	if (text_init_common(s, spec, loc, &ctx))
		return -1;
	s->ctx = ctx;
	end = ctx->value + ctx->len;
	return text_narrow(s, ctx, skip_space(ctx->value, end), end, loc);
}

static int icontains_init(struct scorer *s, const cJSON *spec, const struct eg_loc *loc)
{
	struct text_ctx *ctx;
	size_t i, bad;
	PCRE2_SIZE erroff;
	int errcode;

	if (text_init_common(s, spec, loc, &ctx))
		return -1;
	s->ctx = ctx;
	ctx->ascii = !has_non_ascii(ctx->value, ctx->len);
	if (ctx->ascii) {
		for (i = 0; i < ctx->len; i++)
			ctx->value[i] = (char)ascii_lower((unsigned char)ctx->value[i]);
		if (!has_wide_fold(ctx->value, ctx->len))
			return 0;
	} else if (!utf8_valid(ctx->value, ctx->len, &bad)) {
		scorer_error(loc, "icontains", "field \"value\" is not valid UTF-8 (byte %zu)", bad);
		goto out_release;
	}
	ctx->fold = pcre2_compile((PCRE2_SPTR)ctx->value, ctx->len,
				  PCRE2_LITERAL | PCRE2_CASELESS | PCRE2_UTF |
				  PCRE2_MATCH_INVALID_UTF,
				  &errcode, &erroff, NULL);
	if (!ctx->fold) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(errcode, msg, sizeof(msg));
		scorer_error(loc, "icontains", "%s at offset %zu", (char *)msg, (size_t)erroff);
		goto out_release;
	}
	pcre2_jit_compile(ctx->fold, PCRE2_JIT_COMPLETE);
	return 0;

out_release:
	text_release(s);
	return -1;
}

static void reason_value(struct score_result *out, const char *what,
			 const struct text_ctx *ctx, const char *tail)
{
	struct strbuf r = STRBUF_INIT;

	strbuf_addf(&r, "%s \"%s\"%s", what, ctx->shown, tail);
	out->reason = strbuf_detach(&r, NULL);
}

static enum score_status equals_score(const struct scorer *s, struct score_job *job,
				      struct score_result *out)
{
	const struct text_ctx *ctx = s->ctx;
	const char *b = job->output ? job->output : "";
	const char *e = b + (job->output ? job->output_len : 0);
	struct strbuf r = STRBUF_INIT;
	size_t n, i;

	if (ctx->trim) {
		b = skip_space(b, e);
		e = rskip_space(b, e);
	}
	n = (size_t)(e - b);
	if (n == ctx->len && !memcmp(b, ctx->value, n)) {
		out->pass = 1;
		out->score = 1;
		reason_value(out, "output equals", ctx, "");
		return SCORE_DONE;
	}
	if (!n) {
		reason_value(out, "output is empty, expected", ctx, "");
		return SCORE_DONE;
	}
	for (i = 0; i < n && i < ctx->len && b[i] == ctx->value[i]; i++)
		;
	strbuf_addstr(&r, "output \"");
	esc_visible(&r, b, n, SCORER_QUOTE_MAX);
	strbuf_addf(&r, "\" does not equal \"%s\" (differs at byte %zu)", ctx->shown, i);
	out->reason = strbuf_detach(&r, NULL);
	return SCORE_DONE;
}

static enum score_status contains_score(const struct scorer *s, struct score_job *job,
					struct score_result *out)
{
	const struct text_ctx *ctx = s->ctx;
	size_t len = job->output ? job->output_len : 0;

	if (len && memmem(job->output, len, ctx->value, ctx->len)) {
		out->pass = 1;
		out->score = 1;
		reason_value(out, "output contains", ctx, "");
	} else {
		reason_value(out, "output does not contain", ctx, "");
	}
	return SCORE_DONE;
}

/* ASCII caseless search; needle is lower case */
static int ascii_find(const char *hay, size_t n, const char *needle, size_t m)
{
	const unsigned char *h = (const unsigned char *)hay;
	const unsigned char *p = (const unsigned char *)needle;
	unsigned char first = p[0], first_up = first;
	size_t i, j;

	if (m > n)
		return 0;
	if (first >= 'a' && first <= 'z')
		first_up = first - ('a' - 'A');
	for (i = 0; i + m <= n; i++) {
		if (h[i] != first && h[i] != first_up)
			continue;
		for (j = 1; j < m && ascii_lower(h[i + j]) == p[j]; j++)
			;
		if (j == m)
			return 1;
	}
	return 0;
}

static enum score_status icontains_score(const struct scorer *s, struct score_job *job,
					 struct score_result *out)
{
	const struct text_ctx *ctx = s->ctx;
	const char *subject = job->output ? job->output : "";
	size_t len = job->output ? job->output_len : 0;
	int found = 0;

	if (ctx->ascii)
		found = ascii_find(subject, len, ctx->value, ctx->len);
	if (!found && ctx->fold && (!ctx->ascii || has_non_ascii(subject, len))) {
		int rc = scorer_pcre2_match(ctx->fold, subject, len, NULL, NULL);

		if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
			PCRE2_UCHAR msg[256];
			struct strbuf r = STRBUF_INIT;
			pcre2_get_error_message(rc, msg, sizeof(msg));
			out->error = 1;
			strbuf_addf(&r, "icontains \"%s\": %s", ctx->shown, (char *)msg);
			out->reason = strbuf_detach(&r, NULL);
			return SCORE_DONE;
		}
		found = rc >= 0;
	}
	if (found) {
		out->pass = 1;
		out->score = 1;
		reason_value(out, "output contains", ctx, " (ignoring case)");
	} else {
		reason_value(out, "output does not contain", ctx, " (ignoring case)");
	}
	return SCORE_DONE;
}

static enum score_status starts_with_score(const struct scorer *s, struct score_job *job,
					   struct score_result *out)
{
	const struct text_ctx *ctx = s->ctx;
	const char *b = job->output ? job->output : "";
	const char *e = b + (job->output ? job->output_len : 0);
	struct strbuf r = STRBUF_INIT;

	b = skip_space(b, e);
	if ((size_t)(e - b) >= ctx->len && !memcmp(b, ctx->value, ctx->len)) {
		out->pass = 1;
		out->score = 1;
		reason_value(out, "output starts with", ctx, "");
		return SCORE_DONE;
	}
	if (b == e) {
		reason_value(out, "output is empty, expected it to start with", ctx, "");
		return SCORE_DONE;
	}
	strbuf_addstr(&r, "output starts with \"");
	esc_visible(&r, b, (size_t)(e - b), SCORER_QUOTE_MAX / 2);
	strbuf_addf(&r, "\", not \"%s\"", ctx->shown);
	out->reason = strbuf_detach(&r, NULL);
	return SCORE_DONE;
}

const struct scorer_type scorer_equals = {
	.name = "equals",
	.init = equals_init,
	.score = equals_score,
	.release = text_release,
	.fields = equals_fields,
};

const struct scorer_type scorer_contains = {
	.name = "contains",
	.init = contains_init,
	.score = contains_score,
	.release = text_release,
	.fields = value_fields,
};

const struct scorer_type scorer_icontains = {
	.name = "icontains",
	.init = icontains_init,
	.score = icontains_score,
	.release = text_release,
	.fields = value_fields,
};

const struct scorer_type scorer_starts_with = {
	.name = "starts-with",
	.init = starts_with_init,
	.score = starts_with_score,
	.release = text_release,
	.fields = value_fields,
};
