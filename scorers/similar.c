/*
 * similar: cosine similarity of the embeddings of the output and a
 * reference, through the gateway's POST {base_url}/embeddings (OpenAI
 * format), with the same retries and response cache as every other call.
 *
 * {"type": "similar", "model": "text-embedding-3-small", "threshold": 0.8,
 *  "value": "reference text"}
 *
 * The reference is "value", else the case's "expected" (a case with
 * neither is a scorer error). One request embeds both texts
 * ({"model", "input": [output, reference]}). Score: the cosine, clamped
 * to [0, 1]; pass: cosine >= threshold. A reply without two finite
 * embeddings of one dimension is a scorer error, never a pass.
 */
#include "similar.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "case.h"
#include "jsonw.h"
#include "scorer.h"
#include "strbuf.h"
#include "types.h"
#include "xalloc.h"
#include "banned.h"

#define SIMILAR_DEFAULT_MODEL "text-embedding-3-small"

static const char *const similar_fields[] = { "model", "threshold", "value", NULL };

struct similar_scorer {
	char *model;     /* embeddings model sent in each request */
	double threshold; /* pass when cosine >= threshold, in [-1, 1] */
	char *value;     /* the reference text, or NULL: the case's expected */
};

double similar_cosine(const double *a, const double *b, size_t n)
{
	double dot = 0, na = 0, nb = 0, c;
	size_t i;

	for (i = 0; i < n; i++) {
		dot += a[i] * b[i];
		na += a[i] * a[i];
		nb += b[i] * b[i];
	}
	if (!(na > 0) || !(nb > 0) || !isfinite(na) || !isfinite(nb) || !isfinite(dot))
		return NAN;
	c = dot / (sqrt(na) * sqrt(nb));
	if (c > 1)
		c = 1;
	if (c < -1)
		c = -1;
	return c;
}

/* one "embedding" array into a fresh vector; its length in *n; -1 with why */
static int read_vector(const cJSON *emb, double **out, size_t *n, struct strbuf *why)
{
	const cJSON *x;
	size_t i = 0, len;

	if (!cJSON_IsArray(emb)) {
		strbuf_addstr(why, "an \"embedding\" is not an array");
		return -1;
	}
	len = (size_t)cJSON_GetArraySize(emb);
	if (!len || len > SIMILAR_MAX_DIM) {
		strbuf_addf(why, "an embedding has %zu dimensions (expected 1 to %d)", len,
			    SIMILAR_MAX_DIM);
		return -1;
	}
	*out = xcalloc(len, sizeof(**out));
	cJSON_ArrayForEach(x, emb) {
		if (!cJSON_IsNumber(x) || !isfinite(x->valuedouble)) {
			strbuf_addf(why, "embedding element %zu is not a finite number", i);
			return -1;
		}
		(*out)[i++] = x->valuedouble;
	}
	*n = len;
	return 0;
}

int similar_parse_embeddings(const char *body, double **a, double **b, size_t *dim,
			     struct strbuf *why)
{
	cJSON *root = cJSON_Parse(body);
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data"), *item;
	double *vec[2] = { NULL, NULL };
	size_t len[2] = { 0, 0 }, pos = 0;
	int ret = -1;

	*a = *b = NULL;
	if (!cJSON_IsObject(root)) {
		strbuf_addstr(why, "the embeddings reply is not a JSON object");
		goto out;
	}
	if (!cJSON_IsArray(data) || cJSON_GetArraySize(data) != 2) {
		strbuf_addstr(why, "the embeddings reply has no \"data\" array of 2 embeddings");
		goto out;
	}
	cJSON_ArrayForEach(item, data) {
		const cJSON *idx = cJSON_GetObjectItemCaseSensitive(item, "index");
		size_t at = pos;

		if (idx) {
			if (!cJSON_IsNumber(idx) || (idx->valuedouble != 0 && idx->valuedouble != 1)) {
				strbuf_addstr(why, "an embedding's \"index\" is not 0 or 1");
				goto out;
			}
			at = (size_t)idx->valuedouble;
		}
		if (vec[at]) {
			strbuf_addf(why, "two embeddings have index %zu", at);
			goto out;
		}
		if (read_vector(cJSON_GetObjectItemCaseSensitive(item, "embedding"), &vec[at],
				&len[at], why))
			goto out;
		pos++;
	}
	if (len[0] != len[1]) {
		strbuf_addf(why, "the embeddings differ in dimension (%zu and %zu)", len[0], len[1]);
		goto out;
	}
	*a = vec[0];
	*b = vec[1];
	vec[0] = vec[1] = NULL;
	*dim = len[0];
	ret = 0;
out:
	free(vec[0]);
	free(vec[1]);
	cJSON_Delete(root);
	return ret;
}

static void similar_release(struct scorer *s)
{
	struct similar_scorer *x = s->ctx;

	if (!x)
		return;
	free(x->model);
	free(x->value);
	free(x);
	s->ctx = NULL;
}

static int similar_init(struct scorer *s, const cJSON *spec, const struct eg_loc *loc)
{
	struct similar_scorer *x = xcalloc(1, sizeof(*x));
	const char *model = SIMILAR_DEFAULT_MODEL, *value = NULL;

	s->ctx = x;
	x->threshold = 0.8;
	if (scorer_spec_opt_string(spec, "model", loc, "similar", &model) ||
	    scorer_spec_opt_string(spec, "value", loc, "similar", &value) ||
	    scorer_spec_opt_number(spec, "threshold", loc, "similar", &x->threshold))
		goto out_release;
	if (!*model) {
		scorer_error(loc, "similar", "field \"model\" must not be empty");
		goto out_release;
	}
	if (!(x->threshold >= -1 && x->threshold <= 1)) {
		scorer_error(loc, "similar", "field \"threshold\" must be from -1 to 1");
		goto out_release;
	}
	x->model = xstrdup(model);
	x->value = value ? xstrdup(value) : NULL;
	return 0;

out_release:
	similar_release(s);
	return -1;
}

static char *request_body(const struct similar_scorer *x, const struct score_job *job,
			  const char *ref)
{
	struct strbuf sb = STRBUF_INIT;
	struct jsonw w;

	jsonw_init(&w, &sb, 0);
	jsonw_object_begin(&w);
	jsonw_member_str(&w, "model", x->model);
	jsonw_key(&w, "input");
	jsonw_array_begin(&w);
	jsonw_strn(&w, job->output ? job->output : "", job->output ? job->output_len : 0);
	jsonw_str(&w, ref);
	jsonw_array_end(&w);
	jsonw_object_end(&w);
	return strbuf_detach(&sb, NULL);
}

static enum score_status similar_score(const struct scorer *s, struct score_job *job,
				       struct score_result *out)
{
	const struct similar_scorer *x = s->ctx;
	const char *ref = x->value ? x->value : job->kase->expected;
	const struct score_call *c = job->n_calls ? &job->calls[0] : NULL;
	struct strbuf sb = STRBUF_INIT;
	double *a = NULL, *b = NULL, cos;
	size_t dim = 0;

	if (!ref) {
		strbuf_addstr(&sb, "no reference: the scorer has no \"value\" and the case no "
			      "\"expected\"");
		goto out_error;
	}
	if (job->step == 0) {
		score_job_request_path(job, request_body(x, job, ref), "/embeddings");
		return SCORE_WAIT;
	}
	if (!c || !c->reply) {
		strbuf_addstr(&sb, "the embeddings call failed: ");
		strbuf_addstr(&sb, c && c->error ? c->error : "no reply");
		goto out_error;
	}
	strbuf_addstr(&sb, "invalid embeddings reply: ");
	if (similar_parse_embeddings(c->reply, &a, &b, &dim, &sb))
		goto out_error;
	cos = similar_cosine(a, b, dim);
	if (isnan(cos)) {
		strbuf_addstr(&sb, "an embedding has zero or overflowing length");
		goto out_error;
	}
	strbuf_reset(&sb);
	out->score = cos > 0 ? cos : 0;
	out->pass = cos >= x->threshold;
	strbuf_addf(&sb, "cosine similarity %.3f %s threshold %.3g", cos,
		    out->pass ? ">=" : "<", x->threshold);
	out->reason = strbuf_detach(&sb, NULL);
	goto out;
out_error:
	out->score = 0;
	out->pass = 0;
	out->error = 1;
	out->reason = strbuf_detach(&sb, NULL);
out:
	free(a);
	free(b);
	return SCORE_DONE;
}

const struct scorer_type scorer_similar = {
	.name = "similar",
	.init = similar_init,
	.score = similar_score,
	.release = similar_release,
	.fields = similar_fields,
};
