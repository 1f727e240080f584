/*
 * scorer: the one interface every scorer implements, and the one table that
 * registers them (scorers/registry.c).
 *
 * A scorer type (struct scorer_type) holds the name and function pointers; a
 * scorer instance (struct scorer) holds its type and a private ctx built once
 * at load by type->init from the JSON spec. Instances are read-only after
 * init, so one instance is scored from many threads at once.
 *
 * Scoring is a step function so that scorers which call a model (judge,
 * faithfulness) need no threads of their own: type->score either finishes
 * (SCORE_DONE, *out filled) or asks for gateway calls (SCORE_WAIT after one or
 * more score_job_request()); the runner performs the calls through the same
 * gateway client, retries and cache as the target, then calls type->score
 * again with the replies in job->replies. Per-case state lives in job->state,
 * freed by type->job_release.
 *
 * Ownership: out->reason and out->detail are malloc'd by the scorer and owned
 * by the result afterwards (score_result_release frees them).
 */
#ifndef EG_SCORER_H
#define EG_SCORER_H

#include <stddef.h>

#include <cjson/cJSON.h>

struct eg_case;
struct eg_command;

/* where a scorer spec sits, for error messages: "file:line: scorer N: type: what" */
struct eg_loc {
	const char *file; /* suite.json or cases.jsonl path */
	int line;         /* 1-based, 0 when unknown */
	int index;        /* 1-based index of the scorer within its list */
};

struct score_result {
	double score; /* in [0,1] */
	int pass;     /* 1 pass, 0 fail */
	int error;    /* 1: the scorer could not reach a verdict (counts as case error) */
	char *reason; /* one line for people, malloc'd, never NULL once scored */
	char *detail; /* optional JSON text (judge prompt, claims), malloc'd or NULL */
};

/* a gateway call a scorer asked for, and its reply */
struct score_call {
	char *body;      /* request JSON (model, messages, params), malloc'd by the scorer */
	int sample;      /* sample index: part of the cache key, so n identical asks are n answers */
	char *reply;     /* answer content, malloc'd by the runner, NULL on error */
	char *error;     /* why the call failed, malloc'd by the runner, or NULL */
	const struct eg_command *command; /* NULL: a gateway call (body is a chat request); else
					     body is one request line for this command's workers
					     (runner/worker.h) and reply their reply line */
	const char *path; /* NULL: chat/completions, reply the answer's content; else a
			     static path under the gateway's base_url ("/embeddings"), body
			     sent there as is and reply the whole JSON reply body; the path
			     is part of the cache key */
};

struct score_job {
	const struct eg_case *kase; /* the case: input, expected, context, tags */
	const char *output;         /* the model's answer; any bytes, NUL-terminated */
	size_t output_len;
	double latency_ms;          /* of the target call (every step of an agent loop) */
	const char *finish_reason;  /* of the final reply, or NULL */
	const cJSON *trajectory;    /* the steps and their tool calls (agent.h), or NULL */
	const char *trajectory_json; /* the JSON text trajectory was parsed from (its strings
					read as bytes: json_string_bytes), or NULL */
	const cJSON *tools;         /* the tools the case declared (case, suite or target), or NULL */
	int max_steps;              /* the agent loop's limit for this case */
	void *state;                /* the scorer's own per-case state */
	struct score_call *calls;   /* calls asked for in the last step */
	size_t n_calls, alloc_calls;
	int step;                   /* 0 on the first call of type->score */
};

enum score_status {
	SCORE_DONE = 0,
	SCORE_WAIT = 1,
};

struct scorer;

struct scorer_type {
	const char *name;
	/* build s->ctx from spec; report errors with error_at() naming loc, return -1 */
	int (*init)(struct scorer *s, const cJSON *spec, const struct eg_loc *loc);
	/* one step of scoring; see the header comment */
	enum score_status (*score)(const struct scorer *s, struct score_job *job,
				   struct score_result *out);
	void (*job_release)(const struct scorer *s, struct score_job *job); /* may be NULL */
	void (*release)(struct scorer *s);                                   /* may be NULL */
	/*
	 * NULL-terminated list of the spec fields the type accepts besides the
	 * common "type", "name", "negate" and "weight"; scorer_init rejects any other
	 * field so that a typo is an error. NULL: the type checks its own.
	 */
	const char *const *fields;
};

struct scorer {
	const struct scorer_type *type;
	char *label; /* shown in reports: the type name, or the spec's "name" */
	int negate;  /* the spec's "negate": invert pass (and score) */
	void *ctx;   /* type's private data */
	double weight; /* the spec's "weight" (> 0, default 1): share in the case's weighted score */
};

/*
 * What scorers may read of the run's configuration. The runner sets it once,
 * before any suite is loaded (so type->init can read it), and it is
 * read-only afterwards. Strings are borrowed from the config.
 */
struct scorer_env {
	const char *judge_model;   /* config judge.model, or NULL */
	const cJSON *judge_params; /* config judge.params (object), or NULL */
	int judge_samples;         /* config judge.samples, >= 1 */
	const char *target_model;  /* config target.model, or NULL (validate without config) */
};
void scorer_env_set(const struct scorer_env *env);
/* never NULL: zeroed (judge_samples 1) until set */
const struct scorer_env *scorer_env(void);

/* find a type by name in the registration table; NULL when unknown */
const struct scorer_type *scorer_type_find(const char *name);
/* comma-separated list of every registered type name, for messages */
const char *scorer_type_names(void);

/* parse one spec object ({"type": ..., ...}); -1 after reporting the error */
int scorer_init(struct scorer *s, const cJSON *spec, const struct eg_loc *loc);
void scorer_release(struct scorer *s);
/* run steps until done or waiting; applies negate on DONE */
enum score_status scorer_score(const struct scorer *s, struct score_job *job,
			       struct score_result *out);
void score_job_release(const struct scorer *s, struct score_job *job);
/* ask the runner for a gateway call; takes ownership of body */
void score_job_request(struct score_job *job, char *body);
/* ask the runner to send body (a JSON object) to cmd's worker processes; takes body */
void score_job_request_command(struct score_job *job, char *body, const struct eg_command *cmd);
/* ask the runner to POST body to {base_url}{path} (path static, e.g. "/embeddings"); takes body */
void score_job_request_path(struct score_job *job, char *body, const char *path);
/* the same, for sample number `sample` of a repeated ask */
void score_job_request_sample(struct score_job *job, char *body, int sample);

/*
 * Prompt templates live as files in scorers/prompts/ and are compiled into
 * the binary (CMake generates the table). NULL when there is no such file.
 */
const char *scorer_prompt(const char *name);
void score_result_release(struct score_result *r);
/* sum of weight x score over sum of weight, of n scorers and their results; 0 when n is 0 */
double scorer_weighted_score(const struct scorer *const *s, const struct score_result *r,
			     size_t n);

/*
 * Helpers for type->init: fetch a field of the spec with a clear error.
 * They return 0 on success, -1 after error_at(loc...). "optional" variants
 * leave *out untouched when the field is absent.
 */
int scorer_spec_string(const cJSON *spec, const char *field, const struct eg_loc *loc,
		       const char *type, const char **out);
int scorer_spec_opt_string(const cJSON *spec, const char *field, const struct eg_loc *loc,
			   const char *type, const char **out);
int scorer_spec_opt_number(const cJSON *spec, const char *field, const struct eg_loc *loc,
			   const char *type, double *out);
int scorer_spec_opt_bool(const cJSON *spec, const char *field, const struct eg_loc *loc,
			 const char *type, int *out);
/* report an error for this scorer: "file:line: scorer N: type: msg" */
int scorer_error(const struct eg_loc *loc, const char *type, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
