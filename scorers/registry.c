/*
 * registry: the one table of scorer types, and what every scorer shares:
 * spec parsing of the common fields, the step driver, result and job
 * lifecycles, the spec field helpers and reason quoting.
 */
#include "scorer.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "jsonutil.h"
#include "strbuf.h"
#include "types.h"
#include "utf8.h"
#include "xalloc.h"
#include "banned.h"

/*
 * The registration table: one row per scorer type, in the order `help` and
 * error messages list them. A row X(foo) names `const struct scorer_type
 * scorer_foo`, defined in the type's own file (docs/HACKING.md).
 */
#define SCORER_TYPES(X)                                                                   \
	X(equals) X(contains) X(icontains) X(starts_with) X(regex) X(json) X(latency)     \
	X(refusal) X(canary) X(pii) X(judge) X(faithfulness) X(exec)                     \
	X(tool_called) X(tool_args) X(tool_sequence) X(tool_f1) X(max_steps)             \
	X(finish_reason) X(retrieval)                                                    \
	X(json_schema) X(levenshtein) X(rouge_l) X(contains_any) X(contains_all)          \
	X(word_count)                                                                    \
	X(similar) X(context_recall) X(context_precision)

#define SCORER_DECLARE(n) extern const struct scorer_type scorer_##n;
SCORER_TYPES(SCORER_DECLARE)
#undef SCORER_DECLARE

static const struct scorer_type *const scorer_types[] = {
#define SCORER_ROW(n) &scorer_##n,
	SCORER_TYPES(SCORER_ROW)
#undef SCORER_ROW
};

#define N_TYPES (sizeof(scorer_types) / sizeof(scorer_types[0]))

/* fields every spec may carry, handled here rather than by the type */
static const char *const common_fields[] = { "type", "name", "negate", "weight", NULL };

const struct scorer_type *scorer_type_find(const char *name)
{
	size_t i;

	if (!name)
		return NULL;
	for (i = 0; i < N_TYPES; i++)
		if (!strcmp(scorer_types[i]->name, name))
			return scorer_types[i];
	return NULL;
}

static char type_names[512];
static pthread_once_t type_names_once = PTHREAD_ONCE_INIT;

static void type_names_build(void)
{
	size_t i, len = 0;

	for (i = 0; i < N_TYPES; i++) {
		int n = snprintf(type_names + len, sizeof(type_names) - len, "%s%s",
				 i ? ", " : "", scorer_types[i]->name);
		if (n < 0 || (size_t)n >= sizeof(type_names) - len)
			break;
		len += (size_t)n;
	}
}

const char *scorer_type_names(void)
{
	pthread_once(&type_names_once, type_names_build);
	return type_names;
}

int scorer_error(const struct eg_loc *loc, const char *type, const char *fmt, ...)
{
	struct strbuf msg = STRBUF_INIT;
	char field[32] = "scorer";
	va_list ap;

	if (loc && loc->index > 0)
		snprintf(field, sizeof(field), "scorer %d", loc->index);
	if (type)
		strbuf_addf(&msg, "%s: ", type);
	va_start(ap, fmt);
	strbuf_vaddf(&msg, fmt, ap);
	va_end(ap);
	error_at(loc ? loc->file : NULL, loc ? loc->line : 0, field, "%s", msg.buf);
	strbuf_release(&msg);
	return -1;
}

int scorer_spec_string(const cJSON *spec, const char *field, const struct eg_loc *loc,
		       const char *type, const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(spec, field);

	if (!v)
		return scorer_error(loc, type, "missing required field \"%s\"", field);
	return scorer_spec_opt_string(spec, field, loc, type, out);
}

int scorer_spec_opt_string(const cJSON *spec, const char *field, const struct eg_loc *loc,
			   const char *type, const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(spec, field);

	if (!v)
		return 0;
	if (!cJSON_IsString(v) || !v->valuestring)
		return scorer_error(loc, type, "field \"%s\" must be a string, not %s",
				    field, json_kind(v));
	*out = v->valuestring;
	return 0;
}

int scorer_spec_opt_number(const cJSON *spec, const char *field, const struct eg_loc *loc,
			   const char *type, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(spec, field);

	if (!v)
		return 0;
	if (!cJSON_IsNumber(v))
		return scorer_error(loc, type, "field \"%s\" must be a number, not %s",
				    field, json_kind(v));
	if (!isfinite(v->valuedouble))
		return scorer_error(loc, type, "field \"%s\" must be a finite number", field);
	*out = v->valuedouble;
	return 0;
}

int scorer_spec_opt_bool(const cJSON *spec, const char *field, const struct eg_loc *loc,
			 const char *type, int *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(spec, field);

	if (!v)
		return 0;
	if (!cJSON_IsBool(v))
		return scorer_error(loc, type, "field \"%s\" must be true or false, not %s",
				    field, json_kind(v));
	*out = cJSON_IsTrue(v);
	return 0;
}

static int in_list(const char *const *list, const char *s)
{
	for (; list && *list; list++)
		if (!strcmp(*list, s))
			return 1;
	return 0;
}

/* Levenshtein distance capped at 3: enough to spot a typo */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[33], i, j;

	if (la > 32 || lb > 32)
		return 3;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb] < 3 ? row[lb] : 3;
}

static const char *closest_field(const char *name, const char *const *fields)
{
	const char *const *lists[2] = { common_fields, fields };
	const char *best = NULL;
	size_t best_d = 3, i;

	for (i = 0; i < 2; i++) {
		const char *const *f;
		for (f = lists[i]; f && *f; f++) {
			size_t d = edit_distance(name, *f);
			if (d < best_d) {
				best_d = d;
				best = *f;
			}
		}
	}
	return best;
}

static int check_fields(const cJSON *spec, const struct scorer_type *t,
			const struct eg_loc *loc)
{
	const cJSON *f, *g;

	cJSON_ArrayForEach(f, spec) {
		const char *hint;

		for (g = spec->child; g != f; g = g->next)
			if (!strcmp(g->string, f->string))
				return scorer_error(loc, t->name, "duplicate field \"%s\"",
						    f->string);
		if (in_list(common_fields, f->string) || !t->fields ||
		    in_list(t->fields, f->string))
			continue;
		hint = closest_field(f->string, t->fields);
		if (hint)
			return scorer_error(loc, t->name,
					    "unknown field \"%s\" (did you mean \"%s\"?)",
					    f->string, hint);
		return scorer_error(loc, t->name, "unknown field \"%s\"", f->string);
	}
	return 0;
}

int scorer_init(struct scorer *s, const cJSON *spec, const struct eg_loc *loc)
{
	const struct scorer_type *t;
	const cJSON *tv;
	const char *name = NULL;
	int negate = 0;
	double weight = 1;

	memset(s, 0, sizeof(*s));
	if (!cJSON_IsObject(spec))
		return scorer_error(loc, NULL, "a scorer must be an object, not %s",
				    json_kind(spec));
	tv = cJSON_GetObjectItemCaseSensitive(spec, "type");
	if (!tv)
		return scorer_error(loc, NULL, "missing required field \"type\" (one of: %s)",
				    scorer_type_names());
	if (!cJSON_IsString(tv) || !tv->valuestring)
		return scorer_error(loc, NULL, "field \"type\" must be a string, not %s",
				    json_kind(tv));
	t = scorer_type_find(tv->valuestring);
	if (!t) {
		struct strbuf q = STRBUF_INIT;
		esc_visible(&q, tv->valuestring, strlen(tv->valuestring), SCORER_QUOTE_MAX);
		scorer_error(loc, NULL, "unknown scorer type \"%s\" (known: %s)", q.buf,
			     scorer_type_names());
		strbuf_release(&q);
		return -1;
	}
	if (check_fields(spec, t, loc) ||
	    scorer_spec_opt_string(spec, "name", loc, t->name, &name) ||
	    scorer_spec_opt_bool(spec, "negate", loc, t->name, &negate) ||
	    scorer_spec_opt_number(spec, "weight", loc, t->name, &weight))
		return -1;
	if (name && !*name)
		return scorer_error(loc, t->name, "field \"name\" must not be empty");
	if (!(weight > 0))
		return scorer_error(loc, t->name, "field \"weight\" must be more than 0, not %g",
				    weight);

	s->type = t;
	s->negate = negate;
	s->weight = weight;
	s->label = xstrdup(name ? name : t->name);
	if (t->init(s, spec, loc))
		goto out_free_label;
	return 0;

out_free_label:
	free(s->label);
	memset(s, 0, sizeof(*s));
	return -1;
}

void scorer_release(struct scorer *s)
{
	if (s->type && s->type->release)
		s->type->release(s);
	free(s->label);
	memset(s, 0, sizeof(*s));
}

static void set_reason(struct score_result *out, const char *prefix, const char *fallback)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, prefix);
	strbuf_addstr(&sb, out->reason ? out->reason : fallback);
	free(out->reason);
	out->reason = strbuf_detach(&sb, NULL);
}

/* drop the first n calls (those answered for the step that just ran) */
static void drop_calls(struct score_job *job, size_t n)
{
	size_t i;

	if (!job->n_calls)
		return;
	for (i = 0; i < n && i < job->n_calls; i++) {
		free(job->calls[i].body);
		free(job->calls[i].reply);
		free(job->calls[i].error);
	}
	if (n > job->n_calls)
		n = job->n_calls;
	memmove(job->calls, job->calls + n, (job->n_calls - n) * sizeof(*job->calls));
	job->n_calls -= n;
}

/*
 * One step. While type->score runs, job->calls holds the calls asked for in
 * the previous step with their replies; calls it asks for now are appended
 * after them. Once it returns, the answered calls are dropped, so that on
 * SCORE_WAIT job->calls holds exactly the new calls for the runner to make.
 * job->step counts the steps taken and is advanced here.
 */
enum score_status scorer_score(const struct scorer *s, struct score_job *job,
			       struct score_result *out)
{
	size_t answered = job->n_calls;
	enum score_status st;

	memset(out, 0, sizeof(*out));
	st = s->type->score(s, job, out);
	drop_calls(job, answered);
	job->step++;

	if (st == SCORE_WAIT) {
		if (job->n_calls)
			return SCORE_WAIT;
		/* waiting for nothing would never end */
		score_result_release(out);
		out->error = 1;
		out->reason = xstrdup("scorer waited without asking for a call");
		return SCORE_DONE;
	}

	if (isnan(out->score)) {
		out->score = 0;
		out->error = 1;
		set_reason(out, "score is not a number: ", "no reason given");
	} else if (out->score < 0) {
		out->score = 0;
	} else if (out->score > 1) {
		out->score = 1;
	}
	out->pass = out->pass ? 1 : 0;
	if (out->error) {
		/* an error is never a pass, negated or not */
		out->pass = 0;
		out->score = 0;
	} else if (s->negate) {
		out->pass = !out->pass;
		out->score = 1 - out->score;
		set_reason(out, "negated: ", out->pass ? "fail" : "pass");
	}
	if (!out->reason)
		out->reason = xstrdup(out->error ? "error" : out->pass ? "pass" : "fail");
	return SCORE_DONE;
}

void score_job_release(const struct scorer *s, struct score_job *job)
{
	if (s && s->type && s->type->job_release)
		s->type->job_release(s, job);
	drop_calls(job, job->n_calls);
	free(job->calls);
	job->calls = NULL;
	job->n_calls = job->alloc_calls = 0;
	job->state = NULL;
}

void score_job_request_sample(struct score_job *job, char *body, int sample)
{
	XGROW(job->calls, job->n_calls + 1, job->alloc_calls);
	job->calls[job->n_calls].body = body;
	job->calls[job->n_calls].sample = sample;
	job->calls[job->n_calls].reply = NULL;
	job->calls[job->n_calls].error = NULL;
	job->calls[job->n_calls].command = NULL;
	job->calls[job->n_calls].path = NULL;
	job->n_calls++;
}

void score_job_request_command(struct score_job *job, char *body, const struct eg_command *cmd)
{
	score_job_request_sample(job, body, 0);
	job->calls[job->n_calls - 1].command = cmd;
}

void score_job_request_path(struct score_job *job, char *body, const char *path)
{
	score_job_request_sample(job, body, 0);
	job->calls[job->n_calls - 1].path = path;
}

void score_job_request(struct score_job *job, char *body)
{
	score_job_request_sample(job, body, 0);
}

void score_result_release(struct score_result *r)
{
	free(r->reason);
	free(r->detail);
	r->reason = NULL;
	r->detail = NULL;
}

double scorer_weighted_score(const struct scorer *const *s, const struct score_result *r,
			     size_t n)
{
	double sum = 0, total = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		sum += s[i]->weight * r[i].score;
		total += s[i]->weight;
	}
	return total > 0 ? sum / total : 0;
}

int scorer_isspace(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static struct scorer_env env = { NULL, NULL, 1, NULL };

void scorer_env_set(const struct scorer_env *e)
{
	env = *e;
	if (env.judge_samples < 1)
		env.judge_samples = 1;
}

const struct scorer_env *scorer_env(void)
{
	return &env;
}
