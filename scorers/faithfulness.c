/*
 * faithfulness: is the answer supported by the case's context passages?
 *
 * {"type": "faithfulness", "method": "claims", "threshold": 0.8}
 * {"type": "faithfulness", "method": "lexical", "min_overlap": 0.6}
 *
 *   method       "claims" (default): a judge model breaks the answer into
 *                atomic claims (scorers/prompts/claims_extract.txt), then
 *                judges each against the passages (claims_verify.txt); the
 *                score is supported / total claims, as Ragas defines it. A
 *                claim the passages do not mention is not supported: this
 *                measures support, not the mere absence of contradiction.
 *                "lexical": no model; lexical_faithfulness() (lexical.h)
 *                checks that each sentence of the answer overlaps a passage
 *                by at least min_overlap; the score is its score.
 *   threshold    in [0,1], default 0.8 for both methods: pass when score >=
 *                threshold
 *   min_overlap  lexical only, in (0,1], default 0.6
 *   entities     lexical only, default true: a sentence is supported only
 *                by a passage that also holds each of its numbers, dates,
 *                amounts and capitalised names (LEXICAL_ENTITIES, lexical.h)
 *   model        claims only: the judge model (default judge.model)
 *   params       claims only: request parameters over judge.params
 *
 * Defined outcomes:
 *   - a case without context: error "case has no context" (support cannot
 *     be judged, so it is not a pass);
 *   - claims: an answer with no factual claim (the extraction returns an
 *     empty list): score 1, pass, "no factual claims to check" (nothing in
 *     it is unsupported; this also rules out 0/0);
 *   - claims: a reply that does not parse, or verdicts that do not match the
 *     claims one for one (judge_parse_claim_verdicts), is asked again once
 *     with the _strict prompt; a second failure, or a failed call, is an
 *     error with the raw replies in the detail;
 *   - lexical: an answer with no sentence: score 1, pass, "no sentences".
 *
 * The detail is JSON: {"method", "claims": [...], "verdicts": [{"claim",
 * "verdict", "reason"}], "supported", "total", "score", "threshold",
 * "judge_model", "prompts": {"extract", "extract_strict", "verify",
 * "verify_strict"}, "raw": {...}, "error"} for claims; {"method",
 * "supported", "total", "score", "threshold", "min_overlap", "unsupported",
 * "error"} for lexical.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "judge.h"
#include "jsonw.h"
#include "lexical.h"
#include "scorer.h"
#include "strbuf.h"
#include "case.h"
#include "types.h"
#include "xalloc.h"
#include "banned.h"

#define DEFAULT_THRESHOLD 0.8
#define DEFAULT_MIN_OVERLAP 0.6
#define REASON_QUOTE_MAX 120

enum faith_method {
	FAITH_CLAIMS,
	FAITH_LEXICAL,
};

struct faith_ctx {
	enum faith_method method;
	double threshold;                   /* pass when score >= threshold */
	double min_overlap;                 /* lexical */
	int entities;                       /* lexical: numbers and names must be in the passage */
	const char *model;                  /* claims: borrowed from spec or the config */
	cJSON *spec;                        /* a copy of the spec, owning model and params */
	const cJSON *params;                /* claims: the spec's "params", or NULL */
	struct judge_template extract;      /* claims_extract.txt */
	struct judge_template extract_strict;
	struct judge_template verify;       /* claims_verify.txt */
	struct judge_template verify_strict;
	int recall;                         /* context-recall: the claims are the case's
					       expected answer's, not the output's */
};

enum faith_phase {
	PHASE_EXTRACT,
	PHASE_VERIFY,
};

/* per case, for the claims method */
struct faith_state {
	enum faith_phase phase;
	int strict;                         /* the strict prompt of this phase was asked */
	char *prompt[4];                    /* extract, extract_strict, verify, verify_strict */
	char *raw[4];                       /* the reply to each prompt, or NULL */
	char **claims;                      /* extracted claims */
	size_t n_claims;
	struct claim_verdict *verdicts;     /* n_claims of them once verified, else NULL */
};

enum { P_EXTRACT, P_EXTRACT_STRICT, P_VERIFY, P_VERIFY_STRICT };

static const char *const prompt_keys[4] = { "extract", "extract_strict", "verify",
					    "verify_strict" };

/* the placeholders the claims templates may use */
static const char *const extract_vars[] = { "question", "answer" };
static const char *const verify_vars[] = { "context", "claims", "n_claims" };

static const char *const faith_fields[] = { "method", "threshold", "min_overlap", "model",
					    "params", "entities", NULL };

static void faith_release(struct scorer *s)
{
	struct faith_ctx *ctx = s->ctx;

	if (!ctx)
		return;
	cJSON_Delete(ctx->spec);
	judge_template_release(&ctx->extract);
	judge_template_release(&ctx->extract_strict);
	judge_template_release(&ctx->verify);
	judge_template_release(&ctx->verify_strict);
	free(ctx);
	s->ctx = NULL;
}

static int faith_init(struct scorer *s, const cJSON *spec, const struct eg_loc *loc)
{
	const char *type = s->type ? s->type->name : "faithfulness", *method = "claims";
	double threshold = DEFAULT_THRESHOLD, min_overlap = DEFAULT_MIN_OVERLAP;
	int entities = 1;
	struct faith_ctx *ctx;

	if (scorer_spec_opt_string(spec, "method", loc, type, &method) ||
	    scorer_spec_opt_number(spec, "threshold", loc, type, &threshold) ||
	    scorer_spec_opt_number(spec, "min_overlap", loc, type, &min_overlap) ||
	    scorer_spec_opt_bool(spec, "entities", loc, type, &entities))
		return -1;
	if (strcmp(method, "claims") && strcmp(method, "lexical")) {
		struct strbuf q = STRBUF_INIT;
		esc_visible(&q, method, strlen(method), SCORER_QUOTE_MAX);
		scorer_error(loc, type,
			     "field \"method\" must be \"claims\" or \"lexical\", not \"%s\"", q.buf);
		strbuf_release(&q);
		return -1;
	}
	if (threshold < 0 || threshold > 1)
		return scorer_error(loc, type,
				    "field \"threshold\" must be between 0 and 1, not %g", threshold);
	if (!strcmp(method, "claims")) {
		if (cJSON_GetObjectItemCaseSensitive(spec, "min_overlap"))
			return scorer_error(loc, type,
					    "field \"min_overlap\" applies only to method \"lexical\"");
		if (cJSON_GetObjectItemCaseSensitive(spec, "entities"))
			return scorer_error(loc, "faithfulness",
					    "field \"entities\" applies only to method \"lexical\"");
	} else {
		if (min_overlap <= 0 || min_overlap > 1)
			return scorer_error(loc, type,
					    "field \"min_overlap\" must be more than 0 and at most 1, not %g",
					    min_overlap);
		if (cJSON_GetObjectItemCaseSensitive(spec, "model") ||
		    cJSON_GetObjectItemCaseSensitive(spec, "params"))
			return scorer_error(loc, type,
					    "fields \"model\" and \"params\" apply only to method \"claims\"");
	}

	ctx = xcalloc(1, sizeof(*ctx));
	s->ctx = ctx;
	ctx->method = strcmp(method, "claims") ? FAITH_LEXICAL : FAITH_CLAIMS;
	ctx->threshold = threshold;
	ctx->min_overlap = min_overlap;
	ctx->entities = entities;
	if (ctx->method == FAITH_LEXICAL)
		return 0;

	if (judge_template_load(&ctx->extract, "claims_extract") ||
	    judge_template_load(&ctx->extract_strict, "claims_extract_strict") ||
	    judge_template_load(&ctx->verify, "claims_verify") ||
	    judge_template_load(&ctx->verify_strict, "claims_verify_strict") ||
	    judge_template_check(&ctx->extract, extract_vars, 2) ||
	    judge_template_check(&ctx->extract_strict, extract_vars, 2) ||
	    judge_template_check(&ctx->verify, verify_vars, 3) ||
	    judge_template_check(&ctx->verify_strict, verify_vars, 3)) {
		scorer_error(loc, type,
			     "prompt templates claims_extract.txt and claims_verify.txt (and their _strict variants) are missing or malformed");
		goto out_release;
	}
	ctx->spec = cJSON_Duplicate(spec, 1);
	if (!ctx->spec)
		die("out of memory copying a scorer spec");
	if (judge_spec_model(ctx->spec, loc, type, &ctx->model) ||
	    judge_spec_params(ctx->spec, loc, type, &ctx->params))
		goto out_release;
	return 0;

out_release:
	faith_release(s);
	return -1;
}

static void faith_job_release(const struct scorer *s, struct score_job *job)
{
	struct faith_state *st = job->state;
	size_t i;

	if (!st)
		return;
	for (i = 0; i < 4; i++) {
		free(st->prompt[i]);
		free(st->raw[i]);
	}
	if (st->verdicts) {
		claim_verdicts_release(st->verdicts, st->n_claims);
		free(st->verdicts);
	}
	judge_claims_free(st->claims, st->n_claims);
	free(st);
	job->state = NULL;
}

static char *claims_detail(const struct faith_ctx *ctx, const struct faith_state *st,
			   size_t supported, const struct score_result *out, const char *error)
{
	struct strbuf d = STRBUF_INIT;
	struct jsonw w;
	size_t i;

	jsonw_init(&w, &d, 0);
	jsonw_object_begin(&w);
	jsonw_member_str(&w, "method", "claims");
	jsonw_key(&w, "claims");
	jsonw_array_begin(&w);
	for (i = 0; st && i < st->n_claims; i++)
		jsonw_str(&w, st->claims[i]);
	jsonw_array_end(&w);
	jsonw_key(&w, "verdicts");
	jsonw_array_begin(&w);
	for (i = 0; st && st->verdicts && i < st->n_claims; i++) {
		jsonw_object_begin(&w);
		jsonw_member_str(&w, "claim", st->claims[i]);
		jsonw_member_str(&w, "verdict",
				 st->verdicts[i].supported ? "supported" : "not supported");
		jsonw_member_str(&w, "reason", st->verdicts[i].reason);
		jsonw_object_end(&w);
	}
	jsonw_array_end(&w);
	jsonw_member_int(&w, "supported", (long long)supported);
	jsonw_member_int(&w, "total", st ? (long long)st->n_claims : 0);
	jsonw_member_num(&w, "score", error ? NAN : out->score);
	jsonw_member_num(&w, "threshold", ctx->threshold);
	jsonw_member_str(&w, "judge_model", ctx->model);
	jsonw_key(&w, "prompts");
	jsonw_object_begin(&w);
	for (i = 0; st && i < 4; i++)
		if (st->prompt[i])
			jsonw_member_str(&w, prompt_keys[i], st->prompt[i]);
	jsonw_object_end(&w);
	jsonw_key(&w, "raw");
	jsonw_object_begin(&w);
	for (i = 0; st && i < 4; i++)
		if (st->raw[i])
			jsonw_member_str(&w, prompt_keys[i], st->raw[i]);
	jsonw_object_end(&w);
	jsonw_member_str(&w, "error", error);
	jsonw_object_end(&w);
	return strbuf_detach(&d, NULL);
}

/* an error result: reason is the message, the detail keeps what was seen */
static enum score_status claims_error(const struct faith_ctx *ctx, const struct faith_state *st,
				      struct score_result *out, const char *msg)
{
	out->error = 1;
	out->score = 0;
	out->pass = 0;
	out->reason = xstrdup(msg);
	out->detail = claims_detail(ctx, st, 0, out, msg);
	return SCORE_DONE;
}

static char *render(const struct judge_template *t, const struct judge_var *vars, size_t n)
{
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;

	if (judge_render(t->user, vars, n, &out, &err))
		die("prompt template of the faithfulness scorer: %s", err.buf);
	strbuf_release(&err);
	return strbuf_detach(&out, NULL);
}

static void ask(const struct faith_ctx *ctx, struct faith_state *st, struct score_job *job,
		int which)
{
	const struct judge_template *t[4] = { &ctx->extract, &ctx->extract_strict, &ctx->verify,
					      &ctx->verify_strict };
	struct strbuf a = STRBUF_INIT, q = STRBUF_INIT, c = STRBUF_INIT, cl = STRBUF_INIT;
	char n[32];
	size_t i;

	if (which == P_EXTRACT || which == P_EXTRACT_STRICT) {
		struct judge_var vars[2];
		judge_add_question(&q, job->kase);
		if (ctx->recall)
			judge_add_data(&a, job->kase->expected, strlen(job->kase->expected));
		else if (job->output)
			judge_add_data(&a, job->output, job->output_len);
		vars[0] = (struct judge_var){ "question", q.buf };
		vars[1] = (struct judge_var){ "answer", a.buf };
		st->prompt[which] = render(t[which], vars, 2);
	} else {
		struct judge_var vars[3];
		judge_add_context(&c, job->kase);
		for (i = 0; i < st->n_claims; i++) {
			if (i)
				strbuf_addch(&cl, '\n');
			strbuf_addf(&cl, "<claim n=\"%zu\">", i + 1);
			judge_add_data(&cl, st->claims[i], strlen(st->claims[i]));
			strbuf_addstr(&cl, "</claim>");
		}
		snprintf(n, sizeof(n), "%zu", st->n_claims);
		vars[0] = (struct judge_var){ "context", c.buf };
		vars[1] = (struct judge_var){ "claims", cl.buf };
		vars[2] = (struct judge_var){ "n_claims", n };
		st->prompt[which] = render(t[which], vars, 3);
	}
	score_job_request(job, judge_body(ctx->model, ctx->params, t[which]->system,
					  st->prompt[which]));
	strbuf_release(&a);
	strbuf_release(&q);
	strbuf_release(&c);
	strbuf_release(&cl);
}

static enum score_status claims_done(const struct faith_ctx *ctx, const struct faith_state *st,
				     struct score_result *out)
{
	struct strbuf r = STRBUF_INIT;
	size_t i, supported = 0;
	const char *unsupported = NULL;

	for (i = 0; i < st->n_claims; i++) {
		if (st->verdicts[i].supported)
			supported++;
		else if (!unsupported)
			unsupported = st->claims[i];
	}
	out->score = (double)supported / (double)st->n_claims;
	out->pass = out->score >= ctx->threshold;
	strbuf_addf(&r, "%zu of %zu %sclaims supported by the context (score %.2f, threshold %.2f)",
		    supported, st->n_claims, ctx->recall ? "expected answer's " : "", out->score,
		    ctx->threshold);
	if (unsupported) {
		strbuf_addstr(&r, "; not supported: \"");
		esc_visible(&r, unsupported, strlen(unsupported), REASON_QUOTE_MAX);
		strbuf_addch(&r, '"');
	}
	out->reason = strbuf_detach(&r, NULL);
	out->detail = claims_detail(ctx, st, supported, out, NULL);
	return SCORE_DONE;
}

static enum score_status claims_step(const struct faith_ctx *ctx, struct score_job *job,
				     struct score_result *out)
{
	struct faith_state *st = job->state;
	struct strbuf err = STRBUF_INIT, msg = STRBUF_INIT;
	const struct score_call *c;
	const char *what;
	enum score_status ret;
	int slot;

	if (!st) {
		st = xcalloc(1, sizeof(*st));
		job->state = st;
		ask(ctx, st, job, P_EXTRACT);
		return SCORE_WAIT;
	}
	c = job->n_calls ? &job->calls[0] : NULL;
	slot = (st->phase == PHASE_EXTRACT ? P_EXTRACT : P_VERIFY) + st->strict;
	what = st->phase == PHASE_EXTRACT ? "claims extraction" : "claims verification";
	if (!c || c->error || !c->reply) {
		const char *e = c && c->error ? c->error : "no reply";
		strbuf_addf(&msg, "%s call failed: ", what);
		esc_visible(&msg, e, strlen(e), REASON_QUOTE_MAX);
		ret = claims_error(ctx, st, out, msg.buf);
		goto out;
	}
	st->raw[slot] = xstrdup(c->reply);

	if (st->phase == PHASE_EXTRACT) {
		if (judge_parse_claims(c->reply, strlen(c->reply), &st->claims, &st->n_claims,
				       &err))
			goto unusable;
		if (!st->n_claims) {
			out->score = 1;
			out->pass = 1;
			out->reason = xstrdup("no factual claims to check");
			out->detail = claims_detail(ctx, st, 0, out, NULL);
			ret = SCORE_DONE;
			goto out;
		}
		st->phase = PHASE_VERIFY;
		st->strict = 0;
		ask(ctx, st, job, P_VERIFY);
		ret = SCORE_WAIT;
		goto out;
	}

	st->verdicts = xcalloc(st->n_claims, sizeof(*st->verdicts));
	if (judge_parse_claim_verdicts(c->reply, strlen(c->reply), st->claims, st->n_claims,
				       st->verdicts, &err)) {
		free(st->verdicts);
		st->verdicts = NULL;
		goto unusable;
	}
	ret = claims_done(ctx, st, out);
	goto out;

unusable:
	if (!st->strict) {
		st->strict = 1;
		ask(ctx, st, job, slot + 1);
		ret = SCORE_WAIT;
		goto out;
	}
	strbuf_addf(&msg, "%s reply unusable after a stricter retry: %s (reply \"", what, err.buf);
	esc_visible(&msg, c->reply, strlen(c->reply), SCORER_QUOTE_MAX);
	strbuf_addstr(&msg, "\")");
	ret = claims_error(ctx, st, out, msg.buf);
out:
	strbuf_release(&err);
	strbuf_release(&msg);
	return ret;
}

static char *lexical_detail(const struct faith_ctx *ctx, const struct lexical_result *lr,
			    const struct score_result *out, const char *error)
{
	struct strbuf d = STRBUF_INIT;
	struct jsonw w;

	jsonw_init(&w, &d, 0);
	jsonw_object_begin(&w);
	jsonw_member_str(&w, "method", "lexical");
	jsonw_member_int(&w, "supported", lr ? (long long)lr->supported : 0);
	jsonw_member_int(&w, "total", lr ? (long long)lr->total : 0);
	jsonw_member_num(&w, "score", error ? NAN : out->score);
	jsonw_member_num(&w, "threshold", ctx->threshold);
	jsonw_member_num(&w, "min_overlap", ctx->min_overlap);
	jsonw_member_bool(&w, "entities", ctx->entities);
	jsonw_member_str(&w, "unsupported",
			 lr && lr->reason && *lr->reason ? lr->reason : NULL);
	jsonw_member_str(&w, "error", error);
	jsonw_object_end(&w);
	return strbuf_detach(&d, NULL);
}

static enum score_status lexical_step(const struct faith_ctx *ctx, struct score_job *job,
				      struct score_result *out)
{
	struct lexical_result lr;
	struct strbuf r = STRBUF_INIT;
	const char *answer = job->output ? job->output : "";
	int rc;

	memset(&lr, 0, sizeof(lr));
	rc = lexical_faithfulness_flags(answer, job->output ? job->output_len : 0,
					job->kase->context, job->kase->n_context, ctx->min_overlap,
					ctx->entities ? LEXICAL_ENTITIES : 0, &lr);
	if (rc < 0) {
		out->score = 1;
		out->pass = 1;
		out->reason = xstrdup("no sentences");
		out->detail = lexical_detail(ctx, NULL, out, NULL);
		goto out;
	}
	if (!isfinite(lr.score) || lr.score < 0 || lr.score > 1) {
		out->error = 1;
		out->reason = xstrdup("lexical faithfulness gave no valid score");
		out->detail = lexical_detail(ctx, &lr, out, out->reason);
		goto out;
	}
	out->score = lr.score;
	out->pass = lr.score >= ctx->threshold;
	strbuf_addf(&r, "%zu of %zu sentences supported by the context (score %.2f, threshold %.2f)",
		    lr.supported, lr.total, lr.score, ctx->threshold);
	if (lr.reason && *lr.reason) {
		/* lexical's reason names its sentences ("unsupported: \"...\" (3/8 words)") */
		strbuf_addstr(&r, "; ");
		esc_visible(&r, lr.reason, strlen(lr.reason), REASON_QUOTE_MAX);
	}
	out->reason = strbuf_detach(&r, NULL);
	out->detail = lexical_detail(ctx, &lr, out, NULL);
out:
	lexical_result_release(&lr);
	return SCORE_DONE;
}

static enum score_status faith_score(const struct scorer *s, struct score_job *job,
				     struct score_result *out)
{
	const struct faith_ctx *ctx = s->ctx;

	if (!job->kase || !job->kase->n_context || (ctx->recall && !job->kase->expected)) {
		const char *msg = job->kase && job->kase->n_context ? "case has no expected answer"
								    : "case has no context";
		out->error = 1;
		out->reason = xstrdup(msg);
		out->detail = ctx->method == FAITH_LEXICAL ? lexical_detail(ctx, NULL, out, msg)
							   : claims_detail(ctx, NULL, 0, out, msg);
		return SCORE_DONE;
	}
	if (ctx->method == FAITH_LEXICAL)
		return lexical_step(ctx, job, out);
	return claims_step(ctx, job, out);
}

static const char *const recall_fields[] = { "threshold", "model", "params", NULL };

static int recall_init(struct scorer *s, const cJSON *spec, const struct eg_loc *loc)
{
	if (faith_init(s, spec, loc))
		return -1;
	((struct faith_ctx *)s->ctx)->recall = 1;
	return 0;
}

/*
 * context-recall: the share of the case's expected answer's claims that the
 * retrieved context supports (Ragas' context recall), through the claims
 * machinery above with the expected answer in the answer's place.
 */
const struct scorer_type scorer_context_recall = {
	.name = "context-recall",
	.init = recall_init,
	.score = faith_score,
	.job_release = faith_job_release,
	.release = faith_release,
	.fields = recall_fields,
};

const struct scorer_type scorer_faithfulness = {
	.name = "faithfulness",
	.init = faith_init,
	.score = faith_score,
	.job_release = faith_job_release,
	.release = faith_release,
	.fields = faith_fields,
};
