/*
 * textset: the output holds some or all of a list of strings, or has a
 * number of words in a range.
 *
 * {"type": "contains-any", "values": ["refund", "money back"], "ignore_case": true}
 * {"type": "contains-all", "values": ["order", "2024-05-01"]}
 * {"type": "word-count", "min": 10, "max": 120}
 *
 *   contains-any  pass when one of "values" occurs in the output; score 1 or 0
 *   contains-all  pass when every value occurs; score the share found
 *     values       non-empty list of non-empty strings
 *     ignore_case  default false: byte for byte; true: Unicode case folding
 *                  (PCRE2 caseless literal, as icontains), also on output
 *                  that is not valid UTF-8
 *   word-count    pass when min <= words <= max (either may be left out, not
 *                 both), words counted as words.h says (code points, not bytes)
 */
#define _GNU_SOURCE /* memmem */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <pcre2.h>

#include "jsonutil.h"
#include "scorer.h"
#include "strbuf.h"
#include "types.h"
#include "words.h"
#include "xalloc.h"
#include "banned.h"

/* values named in a reason, at most */
#define TEXTSET_SHOWN 5

struct textset_ctx {
	char **values;       /* as given */
	size_t *lens;        /* their lengths in bytes */
	pcre2_code **folds;  /* ignore_case: one caseless literal per value, else NULL */
	size_t n;            /* number of values, >= 1 */
	int all;             /* contains-all */
};

struct count_ctx {
	double min, max; /* bounds, -1 when absent */
};

static const char *const textset_fields[] = { "values", "ignore_case", NULL };
static const char *const count_fields[] = { "min", "max", NULL };

static void textset_release(struct scorer *s)
{
	struct textset_ctx *ctx = s->ctx;
	size_t i;

	if (!ctx)
		return;
	for (i = 0; i < ctx->n; i++) {
		free(ctx->values[i]);
		if (ctx->folds)
			pcre2_code_free(ctx->folds[i]);
	}
	free(ctx->values);
	free(ctx->lens);
	free(ctx->folds);
	free(ctx);
	s->ctx = NULL;
}

static int compile_fold(struct textset_ctx *ctx, size_t i, const struct eg_loc *loc,
			const char *type)
{
	PCRE2_SIZE erroff;
	int errcode;

	ctx->folds[i] = pcre2_compile((PCRE2_SPTR)ctx->values[i], ctx->lens[i],
				      PCRE2_LITERAL | PCRE2_CASELESS | PCRE2_UTF |
				      PCRE2_MATCH_INVALID_UTF,
				      &errcode, &erroff, NULL);
	if (!ctx->folds[i]) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(errcode, msg, sizeof(msg));
		return scorer_error(loc, type, "field \"values\": item %zu: %s", i + 1,
				    (char *)msg);
	}
	pcre2_jit_compile(ctx->folds[i], PCRE2_JIT_COMPLETE);
	return 0;
}

static int textset_init(struct scorer *s, const cJSON *spec, const struct eg_loc *loc)
{
	const char *type = s->type->name;
	const cJSON *vals = cJSON_GetObjectItemCaseSensitive(spec, "values"), *v;
	struct textset_ctx *ctx;
	int ignore_case = 0;
	size_t n;

	if (scorer_spec_opt_bool(spec, "ignore_case", loc, type, &ignore_case))
		return -1;
	if (!vals)
		return scorer_error(loc, type, "missing required field \"values\"");
	if (!cJSON_IsArray(vals) || !cJSON_GetArraySize(vals))
		return scorer_error(loc, type,
				    "field \"values\" must be a non-empty array of strings, not %s",
				    cJSON_IsArray(vals) ? "an empty array" : json_kind(vals));
	n = (size_t)cJSON_GetArraySize(vals);
	ctx = xcalloc(1, sizeof(*ctx));
	s->ctx = ctx;
	ctx->all = !strcmp(type, "contains-all");
	ctx->values = xcalloc(n, sizeof(*ctx->values));
	ctx->lens = xcalloc(n, sizeof(*ctx->lens));
	if (ignore_case)
		ctx->folds = xcalloc(n, sizeof(*ctx->folds));
	cJSON_ArrayForEach(v, vals) {
		if (!cJSON_IsString(v) || !v->valuestring || !*v->valuestring) {
			scorer_error(loc, type, "field \"values\": item %zu must be a non-empty string",
				     ctx->n + 1);
			goto out_release;
		}
		ctx->lens[ctx->n] = strlen(v->valuestring);
		ctx->values[ctx->n] = xstrdup(v->valuestring);
		ctx->n++;
		if (ignore_case && compile_fold(ctx, ctx->n - 1, loc, type))
			goto out_release;
	}
	return 0;

out_release:
	textset_release(s);
	return -1;
}

/* 1 found, 0 not, -1 a PCRE2 error (rc in *rc) */
static int find(const struct textset_ctx *ctx, size_t i, const char *out, size_t len, int *rc)
{
	if (!ctx->folds)
		return len && memmem(out, len, ctx->values[i], ctx->lens[i]) != NULL;
	*rc = scorer_pcre2_match(ctx->folds[i], out, len, NULL, NULL);
	if (*rc >= 0)
		return 1;
	return *rc == PCRE2_ERROR_NOMATCH ? 0 : -1;
}

static void add_value(struct strbuf *r, const struct textset_ctx *ctx, size_t i, int first)
{
	strbuf_addstr(r, first ? "\"" : ", \"");
	esc_visible(r, ctx->values[i], ctx->lens[i], SCORER_QUOTE_MAX);
	strbuf_addch(r, '"');
}

static enum score_status textset_score(const struct scorer *s, struct score_job *job,
				       struct score_result *out)
{
	const struct textset_ctx *ctx = s->ctx;
	const char *text = job->output ? job->output : "";
	size_t len = job->output ? job->output_len : 0;
	struct strbuf r = STRBUF_INIT, missing = STRBUF_INIT;
	size_t i, found = 0, n_missing = 0;
	int rc = 0;

	for (i = 0; i < ctx->n; i++) {
		int f = find(ctx, i, text, len, &rc);
		if (f < 0) {
			PCRE2_UCHAR msg[256];
			pcre2_get_error_message(rc, msg, sizeof(msg));
			out->error = 1;
			strbuf_addf(&r, "%s: %s", s->type->name, (char *)msg);
			goto out;
		}
		if (f) {
			found++;
			if (!ctx->all) {
				out->pass = 1;
				out->score = 1;
				strbuf_addstr(&r, "output contains ");
				add_value(&r, ctx, i, 1);
				goto out;
			}
		} else if (n_missing++ < TEXTSET_SHOWN) {
			add_value(&missing, ctx, i, n_missing == 1);
		}
	}
	if (!ctx->all) {
		strbuf_addf(&r, "output contains none of the %zu values: ", ctx->n);
		strbuf_addstr(&r, missing.buf);
	} else if (found == ctx->n) {
		out->pass = 1;
		out->score = 1;
		strbuf_addf(&r, "output contains all %zu values", ctx->n);
	} else {
		out->score = (double)found / (double)ctx->n;
		strbuf_addf(&r, "output lacks %zu of %zu values: %s", n_missing, ctx->n,
			    missing.buf);
	}
	if (n_missing > TEXTSET_SHOWN)
		strbuf_addstr(&r, ", ...");
out:
	if (ctx->folds && !out->error)
		strbuf_addstr(&r, " (ignoring case)");
	strbuf_release(&missing);
	out->reason = strbuf_detach(&r, NULL);
	return SCORE_DONE;
}

static int count_bound(const cJSON *spec, const char *field, const struct eg_loc *loc,
		       double *out)
{
	*out = -1;
	if (scorer_spec_opt_number(spec, field, loc, "word-count", out))
		return -1;
	if (cJSON_GetObjectItemCaseSensitive(spec, field) && (*out < 0 || *out != floor(*out)))
		return scorer_error(loc, "word-count",
				    "field \"%s\" must be a whole number >= 0, not %g", field, *out);
	return 0;
}

static int word_count_init(struct scorer *s, const cJSON *spec, const struct eg_loc *loc)
{
	struct count_ctx c;

	if (count_bound(spec, "min", loc, &c.min) || count_bound(spec, "max", loc, &c.max))
		return -1;
	if (c.min < 0 && c.max < 0)
		return scorer_error(loc, "word-count", "give \"min\", \"max\" or both");
	if (c.max >= 0 && c.min > c.max)
		return scorer_error(loc, "word-count", "\"min\" %g is more than \"max\" %g", c.min,
				    c.max);
	s->ctx = xmalloc(sizeof(c));
	memcpy(s->ctx, &c, sizeof(c));
	return 0;
}

static void word_count_release(struct scorer *s)
{
	free(s->ctx);
	s->ctx = NULL;
}

static enum score_status word_count_score(const struct scorer *s, struct score_job *job,
					  struct score_result *out)
{
	const struct count_ctx *c = s->ctx;
	size_t n = words_count(job->output ? job->output : "", job->output ? job->output_len : 0);
	struct strbuf r = STRBUF_INIT;

	if (c->min >= 0 && (double)n < c->min) {
		strbuf_addf(&r, "output has %zu word%s, fewer than %.0f", n, n == 1 ? "" : "s",
			    c->min);
	} else if (c->max >= 0 && (double)n > c->max) {
		strbuf_addf(&r, "output has %zu word%s, more than %.0f", n, n == 1 ? "" : "s",
			    c->max);
	} else {
		out->pass = 1;
		out->score = 1;
		strbuf_addf(&r, "output has %zu word%s", n, n == 1 ? "" : "s");
		if (c->min >= 0)
			strbuf_addf(&r, ", at least %.0f", c->min);
		if (c->max >= 0)
			strbuf_addf(&r, ", at most %.0f", c->max);
	}
	out->reason = strbuf_detach(&r, NULL);
	return SCORE_DONE;
}

const struct scorer_type scorer_contains_any = {
	.name = "contains-any",
	.init = textset_init,
	.score = textset_score,
	.release = textset_release,
	.fields = textset_fields,
};

const struct scorer_type scorer_contains_all = {
	.name = "contains-all",
	.init = textset_init,
	.score = textset_score,
	.release = textset_release,
	.fields = textset_fields,
};

const struct scorer_type scorer_word_count = {
	.name = "word-count",
	.init = word_count_init,
	.score = word_count_score,
	.release = word_count_release,
	.fields = count_fields,
};
