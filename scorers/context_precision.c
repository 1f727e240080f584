/*
 * context-precision: the share of the retrieved passages a judge model finds
 * relevant to the question.
 *
 * {"type": "context-precision", "threshold": 0.5, "model": "...", "params": {}}
 *
 * One judge call per passage of the case's context (the case's own, or what
 * the target retrieved), rendered from scorers/prompts/context_relevance.txt
 * with the question and that one passage only: the call, and so its cache
 * key, depends on the question and the passage alone, so a passage
 * retrieved again for the same question is never asked twice. Each reply
 * is a verdict read by judge_parse_verdict() (judge.h); "pass" says the
 * passage is relevant. Score: relevant passages / passages; pass: score >=
 * threshold (default 0.5). A case without context, a failed call or an
 * unreadable verdict is an error, never a pass. The detail is JSON:
 * {"relevant", "total", "score", "threshold", "judge_model", "passages":
 * [{"relevant", "reason", "raw"}], "error"}.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "case.h"
#include "error.h"
#include "judge.h"
#include "jsonw.h"
#include "scorer.h"
#include "strbuf.h"
#include "types.h"
#include "xalloc.h"
#include "banned.h"

#define PREC_DEFAULT_THRESHOLD 0.5
#define PREC_REASON_QUOTE_MAX 120

static const char *const prec_fields[] = { "threshold", "model", "params", NULL };
static const char *const prec_vars[] = { "question", "passage" };

struct prec_ctx {
	double threshold;              /* pass when score >= threshold */
	const char *model;             /* borrowed from spec or the config */
	const cJSON *params;           /* the spec's "params", or NULL */
	cJSON *spec;                   /* a copy of the spec, owning model and params */
	struct judge_template tmpl;    /* context_relevance.txt */
};

static void prec_release(struct scorer *s)
{
	struct prec_ctx *ctx = s->ctx;

	if (!ctx)
		return;
	cJSON_Delete(ctx->spec);
	judge_template_release(&ctx->tmpl);
	free(ctx);
	s->ctx = NULL;
}

static int prec_init(struct scorer *s, const cJSON *spec, const struct eg_loc *loc)
{
	struct prec_ctx *ctx = xcalloc(1, sizeof(*ctx));

	s->ctx = ctx;
	ctx->threshold = PREC_DEFAULT_THRESHOLD;
	if (scorer_spec_opt_number(spec, "threshold", loc, "context-precision", &ctx->threshold))
		goto out_release;
	if (!(ctx->threshold >= 0 && ctx->threshold <= 1)) {
		scorer_error(loc, "context-precision",
			     "field \"threshold\" must be between 0 and 1, not %g", ctx->threshold);
		goto out_release;
	}
	if (judge_template_load(&ctx->tmpl, "context_relevance") ||
	    judge_template_check(&ctx->tmpl, prec_vars, 2)) {
		scorer_error(loc, "context-precision",
			     "prompt template context_relevance.txt is missing or malformed");
		goto out_release;
	}
	ctx->spec = cJSON_Duplicate(spec, 1);
	if (!ctx->spec)
		die("out of memory copying a scorer spec");
	if (judge_spec_model(ctx->spec, loc, "context-precision", &ctx->model) ||
	    judge_spec_params(ctx->spec, loc, "context-precision", &ctx->params))
		goto out_release;
	return 0;

out_release:
	prec_release(s);
	return -1;
}

static char *passage_body(const struct prec_ctx *ctx, const struct eg_case *k, size_t i)
{
	struct strbuf q = STRBUF_INIT, p = STRBUF_INIT, user = STRBUF_INIT, err = STRBUF_INIT;
	struct judge_var vars[2];
	char *body;

	judge_add_question(&q, k);
	judge_add_data(&p, k->context[i], strlen(k->context[i]));
	vars[0] = (struct judge_var){ "question", q.buf };
	vars[1] = (struct judge_var){ "passage", p.buf };
	if (judge_render(ctx->tmpl.user, vars, 2, &user, &err))
		die("prompt template of the context-precision scorer: %s", err.buf);
	body = judge_body(ctx->model, ctx->params, ctx->tmpl.system, user.buf);
	strbuf_release(&q);
	strbuf_release(&p);
	strbuf_release(&user);
	strbuf_release(&err);
	return body;
}

static enum score_status prec_score(const struct scorer *s, struct score_job *job,
				    struct score_result *out)
{
	const struct prec_ctx *ctx = s->ctx;
	const struct eg_case *k = job->kase;
	struct strbuf reason = STRBUF_INIT, d = STRBUF_INIT, why = STRBUF_INIT;
	struct jsonw w;
	size_t i, relevant = 0;
	const char *error = NULL;

	if (!k->n_context) {
		error = "case has no context";
	} else if (job->step == 0) {
		for (i = 0; i < k->n_context; i++)
			score_job_request(job, passage_body(ctx, k, i));
		return SCORE_WAIT;
	}
	jsonw_init(&w, &d, 0);
	jsonw_object_begin(&w);
	jsonw_key(&w, "passages");
	jsonw_array_begin(&w);
	for (i = 0; !error && i < job->n_calls; i++) {
		const struct score_call *c = &job->calls[i];
		struct judge_verdict v = { 0 };

		jsonw_object_begin(&w);
		if (!c->reply) {
			const char *e = c->error ? c->error : "no reply";

			strbuf_addf(&why, "relevance call for passage %zu failed: ", i + 1);
			esc_visible(&why, e, strlen(e), PREC_REASON_QUOTE_MAX);
			error = why.buf;
			jsonw_member_str(&w, "raw", NULL);
			jsonw_object_end(&w);
			continue;
		}
		strbuf_addf(&why, "unreadable verdict for passage %zu: ", i + 1);
		if (judge_parse_verdict(c->reply, strlen(c->reply), &v, &why)) {
			error = why.buf;
		} else {
			strbuf_reset(&why);
			relevant += v.pass ? 1 : 0;
			jsonw_member_bool(&w, "relevant", v.pass);
			jsonw_member_str(&w, "reason", v.reason);
		}
		jsonw_member_str(&w, "raw", c->reply);
		jsonw_object_end(&w);
		judge_verdict_release(&v);
	}
	jsonw_array_end(&w);
	if (!error) {
		out->score = (double)relevant / (double)k->n_context;
		out->pass = out->score >= ctx->threshold;
		strbuf_addf(&reason, "%zu of %zu retrieved passages relevant to the question "
			    "(score %.2f, threshold %.2f)", relevant, k->n_context, out->score,
			    ctx->threshold);
	} else {
		out->score = 0;
		out->pass = 0;
		out->error = 1;
		strbuf_addstr(&reason, error);
	}
	jsonw_member_int(&w, "relevant", (long long)relevant);
	jsonw_member_int(&w, "total", (long long)k->n_context);
	jsonw_member_num(&w, "score", error ? NAN : out->score);
	jsonw_member_num(&w, "threshold", ctx->threshold);
	jsonw_member_str(&w, "judge_model", ctx->model);
	jsonw_member_str(&w, "error", error);
	jsonw_object_end(&w);
	out->reason = strbuf_detach(&reason, NULL);
	out->detail = strbuf_detach(&d, NULL);
	strbuf_release(&why);
	return SCORE_DONE;
}

const struct scorer_type scorer_context_precision = {
	.name = "context-precision",
	.init = prec_init,
	.score = prec_score,
	.release = prec_release,
	.fields = prec_fields,
};
