/*
 * case: one case of a suite as the scorers see it (SPEC 5). The suite loader
 * (runner/suite.c) fills it; scorers read it through scorer_ctx.kase.
 * Ownership: case_release (suite.h) frees what a case holds.
 */
#ifndef EG_CASE_H
#define EG_CASE_H

#include <stddef.h>

#include <cjson/cJSON.h>

struct scorer;

/* one scripted user turn of a conversation (SPEC 12, "turns") */
struct eg_turn {
	char *user;               /* the user's message */
	struct scorer *scorers;   /* scored against this turn's final answer; labels "turnN.x" */
	size_t n_scorers;
};

/* a simulated user (SPEC 12, "simulate"): its turns come from a model */
struct eg_simulate {
	char *persona;            /* who the user is */
	char *goal;               /* what the user wants done */
	char *model;              /* or NULL: the config's judge model */
	int max_turns;            /* user turns at most, the opening one included */
};

struct eg_case {
	char *id;                 /* unique within the suite */
	int line;                 /* 1-based line in cases.jsonl */
	char *input;              /* user message, or NULL when messages is used */
	cJSON *messages;          /* array of {role, content}, or NULL */
	char **context;           /* retrieved passages */
	size_t n_context;
	char **context_ids;       /* ids of the retrieved passages: the case's own (online
				     suites), else what the target returned; may be NULL */
	size_t n_context_ids;
	char **expected_context_ids; /* ids retrieval should find (the retrieval scorer) */
	size_t n_expected_context_ids;
	char *expected;           /* reference answer or NULL */
	char **tags;              /* the case's tags plus the manifest's */
	size_t n_tags;
	char *output;             /* recorded answer (online suites) or NULL */
	cJSON *label;             /* a human's verdict on output: "pass", "fail" or a number in
				     [0, 1] (evalgate calibrate), or NULL */
	cJSON *vars;              /* the case's "vars" object (request templates), or NULL */
	char *prompt;             /* its rendered text prompt (the target's or suite's), or NULL */
	cJSON *prompt_messages;   /* its rendered .json prompt (an array of messages), or NULL */
	cJSON *tools;             /* "tools" (OpenAI function tools), or NULL: the suite's */
	cJSON *tool_choice;       /* or NULL: the suite's */
	cJSON *tool_results;      /* fixtures answering tool calls (agent.h), or NULL */
	cJSON *default_tool_result; /* the result of a call no fixture matches, or NULL: an error */
	int max_steps;            /* replies the agent loop asks for at most; 0: the suite's */
	long max_tokens_total;    /* tokens the agent loop may use (all steps); 0: the suite's */
	struct eg_turn *turns;    /* scripted user turns, or NULL; input is turns[0].user */
	size_t n_turns;
	struct eg_simulate *simulate; /* a simulated user, or NULL; input is its opening turn */
	struct scorer *scorers;   /* the case's own scorers (the manifest's are in the suite) */
	size_t n_scorers;
	char hash[65];            /* SHA-256 of the case's canonical content, the suite's
				     system prompt, params and scorers, and its rendered prompt */
	int has_threshold;        /* 1: the case passes when its weighted score >= threshold */
	double threshold;         /* in [0,1]: the case's "threshold", else the suite's */
};

/*
 * The members a worker process reads of case k (SPEC 11), written into the
 * open object of w: "input" or "messages", then "vars" and "context" when
 * the case has them.
 */
struct jsonw;
void case_json_members(struct jsonw *w, const struct eg_case *k);

#endif
