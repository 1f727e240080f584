/*
 * agent: tools, tool fixtures and trajectories (SPEC 12), shared by the
 * suite loader, the chat target, the run's agent loop and the tool scorers.
 *
 * A call, as stored (normalised from the OpenAI form):
 *   {"id": "call_1", "name": "lookup_order", "arguments": "<text as sent>",
 *    "args": <the arguments parsed>, or "error": "arguments are not JSON",
 *    "result": "<what evalgate answered>", "result_error": "<why none>"}
 * A trajectory is a JSON array of steps, one per model reply:
 *   {"step": 1, "content": "...", "finish_reason": "tool_calls",
 *    "tool_calls": [call, ...]}
 * A fixture: {"name": "lookup_order", "match": {field: matcher},
 *             "result": "text" or any JSON}.
 * A matcher is a JSON value compared exactly (objects: every member given
 * must match, others are ignored), or {"$regex": "pattern"}, {"$exact": v},
 * {"$subset": {...}}, or a bound {"$lt"|"$lte"|"$gt"|"$gte": number}.
 *
 * Ownership: a function returning cJSON * or char * gives it to the caller;
 * const cJSON * results are borrowed from the arguments.
 */
#ifndef EG_AGENT_H
#define EG_AGENT_H

#include <cjson/cJSON.h>

struct eg_simulate;
struct jdoc;
struct strbuf;

#define AGENT_MAX_STEPS_DEFAULT 8
#define AGENT_MAX_STEPS_LIMIT 1000

/*
 * Load-time checks, each reporting "file:line: field...: what" through
 * jdoc_error and returning -1: tools (an array of function tools with
 * unique names matching [a-zA-Z0-9_-]{1,64} and parameters a JSON Schema
 * object), tool_choice ("none", "auto", "required" or {"type": "function",
 * "function": {"name"}}), tool_results (fixtures as above) and max_steps.
 */
int agent_tools_check(const struct jdoc *d, const cJSON *tools, const char *field);
int agent_tool_choice_check(const struct jdoc *d, const cJSON *v, const char *field);
int agent_fixtures_check(const struct jdoc *d, const cJSON *v, const char *field);
int agent_max_steps_check(const struct jdoc *d, const cJSON *v, const char *field);

/*
 * the normalised calls of a reply's tool_calls array (either form; entries
 * without a name are not calls); NULL when it holds none
 */
cJSON *agent_calls_normalize(const cJSON *tool_calls);
/*
 * the same for tool_calls in the tree root parsed from text (len bytes):
 * arguments are read as bytes (json_string_bytes), and arguments holding a
 * NUL, which JSON text cannot, are an error with each NUL written \u0000
 * in "arguments", so that nothing after it is hidden
 */
cJSON *agent_calls_normalize_text(const cJSON *tool_calls, const char *text, size_t len,
				  const cJSON *root);
/* the declared tool (its "function" object) named name, or NULL */
const cJSON *agent_tool_find(const cJSON *tools, const char *name);
/* the first fixture answering a call of name with args (NULL: not JSON), or NULL */
const cJSON *agent_fixture_find(const cJSON *fixtures, const char *name, const cJSON *args);
/* a fixture's result as the content of a tool message (malloc'd) */
char *agent_result_text(const cJSON *result);
/* whether value matches matcher (see above) */
int agent_match(const cJSON *matcher, const cJSON *value);
/* the operator member of a matcher ({"$op": arg}) with *op set, or NULL for a plain value */
const cJSON *agent_matcher_op(const cJSON *m, const char **op);
/* "<", "<=", ">", ">=" for $lt, $lte, $gt, $gte; NULL for other operators */
const char *agent_cmp_op(const char *op);
/* whether a stored call is an error: arguments not JSON, an undeclared tool, or no result */
int agent_call_failed(const cJSON *call);

/*
 * An application's own trajectory (http and exec targets: the response
 * map's "trajectory") in the stored form: an array of steps, each an object
 * with the assistant's text ("content", or "assistant" or "text"), its
 * "tool_calls" (either form, agent_calls_normalize) each with the "result"
 * the application got, or the step's "tool_results" (strings, JSON, or
 * {"content"}) in the order of its calls, and an optional "finish_reason"
 * (default "tool_calls" for a step with calls, else "stop"). NULL with why
 * when it is not such an array.
 */
/* the nodes of steps the calls' "result"s were taken from, in their order in the steps */
struct agent_results {
	const cJSON **nodes;  /* points into the steps given; malloc'd array, the caller frees */
	size_t n, alloc;
};
/* with results non-NULL, where each "result" came from is appended to it */
cJSON *agent_trajectory_normalize(const cJSON *steps, struct strbuf *why,
				  struct agent_results *results);
/* the node of such a step's text ("content", else "assistant", else "text"), or NULL */
const cJSON *agent_step_text(const cJSON *step);

/*
 * Conversations (SPEC 12, "turns" and "simulate"). A conversation's steps
 * carry "turn" (1-based), and the first step of a turn "user" (the user's
 * message that opened it).
 */
/* the user's answer that ends a simulated conversation (a reply containing it) */
#define AGENT_USER_STOP "###STOP###"
/* copies of the steps of turn (1-based) */
cJSON *agent_turn_steps(const cJSON *trajectory, int turn);
/* "User: ...\nAssistant: ...\n" lines of a conversation: the users' messages and the answers */
void agent_transcript(struct strbuf *sb, const cJSON *trajectory);
/*
 * the chat request (malloc'd JSON text) asking model, as the simulated user
 * sim, for the user's next message after the conversation in trajectory; at
 * temperature 0, other params from params (the judge's), if any
 */
char *agent_user_request(const struct eg_simulate *sim, const char *model, const cJSON *params,
			 const cJSON *trajectory);
/* whether a simulated user's reply ends the conversation (empty, or AGENT_USER_STOP) */
int agent_user_stops(const char *reply);

#endif
