/*
 * latency: the target call answered in time.
 *
 * {"type": "latency", "max_ms": 4000}
 *
 * Passes when the case's latency is at most max_ms, with score 1; a slower
 * answer scores max_ms / latency, so 2x too slow scores 0.5. A case without
 * a measured latency (negative or not a number) is a scorer error.
 */
#include <math.h>
#include <stdlib.h>

#include "scorer.h"
#include "strbuf.h"
#include "types.h"
#include "xalloc.h"
#include "banned.h"

struct latency_ctx {
	double max_ms; /* > 0 */
};

static const char *const latency_fields[] = { "max_ms", NULL };

static int latency_init(struct scorer *s, const cJSON *spec, const struct eg_loc *loc)
{
	struct latency_ctx *ctx;
	double max_ms = -1;

	if (!cJSON_GetObjectItemCaseSensitive(spec, "max_ms"))
		return scorer_error(loc, "latency", "missing required field \"max_ms\"");
	if (scorer_spec_opt_number(spec, "max_ms", loc, "latency", &max_ms))
		return -1;
	if (!(max_ms > 0))
		return scorer_error(loc, "latency", "field \"max_ms\" must be positive, not %g",
				    max_ms);
	ctx = xmalloc(sizeof(*ctx));
	ctx->max_ms = max_ms;
	s->ctx = ctx;
	return 0;
}

/* whole milliseconds, or one decimal when there is a fraction */
static void add_ms(struct strbuf *sb, double ms)
{
	strbuf_addf(sb, ms == floor(ms) ? "%.0f ms" : "%.1f ms", ms);
}

static enum score_status latency_score(const struct scorer *s, struct score_job *job,
				       struct score_result *out)
{
	const struct latency_ctx *ctx = s->ctx;
	double ms = job->latency_ms;
	struct strbuf r = STRBUF_INIT;

	if (isnan(ms) || ms < 0) {
		out->error = 1;
		out->reason = xstrdup("latency was not measured");
		return SCORE_DONE;
	}
	out->pass = ms <= ctx->max_ms;
	out->score = out->pass ? 1 : ctx->max_ms / ms;
	strbuf_addstr(&r, "latency ");
	add_ms(&r, ms);
	strbuf_addstr(&r, out->pass ? " <= max " : " > max ");
	add_ms(&r, ctx->max_ms);
	out->reason = strbuf_detach(&r, NULL);
	return SCORE_DONE;
}

static void latency_release(struct scorer *s)
{
	free(s->ctx);
	s->ctx = NULL;
}

const struct scorer_type scorer_latency = {
	.name = "latency",
	.init = latency_init,
	.score = latency_score,
	.release = latency_release,
	.fields = latency_fields,
};
