/*
 * target: what a run calls for each case (SPEC 11). One file per target
 * type (chat.c, http.c), one registration table (targets.c), the same shape
 * as the scorers: a type (struct target_type) holds the name and function
 * pointers, a target (struct target) holds its type and the private ctx the
 * type's parse built from the config's "target" object.
 *
 * For each case the run core asks build_request for a request (method, URL,
 * body), sends it through its transport, which adds the x-evalgate-*
 * headers and owns retries, backoff, the rate limit and timeouts, and hands
 * a 2xx reply body to parse_reply, which fills a struct target_reply (the
 * answer, the retrieved context and its ids, tool calls, usage, model,
 * metadata) or says why the reply cannot be used. The response cache key is
 * type->cache_key over the type and the rendered request. The scheduler,
 * the cache, the history and the reports are the same for every type.
 *
 * Adding a type: a file runner/targets/<name>.c defining a const struct
 * target_type, an extern line below and a row in targets.c.
 *
 * Transport. Every type today speaks HTTP through the gateway client
 * (runner/gateway.c, one curl multi handle): http_headers says which headers
 * a type's requests carry (chat: none of its own, so the gateway's, API key
 * included; http: the target's, never the gateway's key). A type that does
 * not speak HTTP (exec: long-lived workers reading JSON lines on stdin) adds
 * a transport beside the gateway client with the same five operations the
 * run core uses today (submit, poll, outstanding, wakeup, cancel_all over a
 * struct gw_request), and a field here naming it; the run loop then drives
 * that transport for target calls (its pipes can be waited on with the
 * curl multi handle's extra file descriptors) while the scorers' model
 * calls stay on the gateway. build_request still renders the line to send,
 * parse_reply still reads the reply and cache_key still keys it, so nothing
 * else in the run changes.
 *
 * Ownership: a struct target is filled by target_load and freed by
 * target_release; it borrows the config, which must outlive it. A target
 * is read-only after target_load, so several threads may use it at once.
 * A struct target_request and a struct target_reply own every pointer they
 * hold (target_request_release, target_reply_release).
 */
#ifndef EG_TARGET_H
#define EG_TARGET_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "stats.h"

struct eg_case;
struct eg_command;
struct eg_config;
struct eg_header;
struct jdoc;
struct strbuf;

struct target;

enum target_method {
	TARGET_POST,
	TARGET_GET,
};

/* what a type turns into the request for one case */
struct target_input {
	const struct eg_case *kase;
	const char *system;          /* the suite's system prompt, or NULL: the target's */
	const cJSON *suite_params;   /* the suite's model params (object), or NULL */
	const cJSON *suite_tools;    /* the suite's tools, or NULL (the case's win, then these) */
	const cJSON *suite_tool_choice; /* or NULL */
};

struct target_request {
	enum target_method method;
	char *url;                   /* NULL: the gateway's {base_url}/chat/completions */
	char *body;                  /* NULL for a GET */
	size_t body_len;
	int stream;                  /* 1: the reply is read as Server-Sent Events (sse.h) */
};

/* a reply as the run keeps it; counts of -1 are unknown */
struct target_reply {
	char *output;                /* the answer, NUL-terminated (may hold NULs before it) */
	size_t output_len;
	char *finish_reason;         /* or NULL */
	long prompt_tokens;
	long completion_tokens;
	char *model;                 /* the model the reply names, or NULL */
	char **context;              /* passages the target retrieved */
	size_t n_context;
	char **context_ids;          /* their ids, as the target gave them */
	size_t n_context_ids;
	char *tool_calls;            /* JSON text, or NULL (chat: the calls normalised, agent.h) */
	char *metadata;              /* JSON text, or NULL */
	struct stream_stats stream;  /* a streamed reply's timing; zeroed: not streamed */
	char *trajectory;            /* JSON text: the agent loop's steps (agent.h), or NULL */
};

enum target_parse {
	TARGET_REPLY_OK = 0,
	TARGET_REPLY_RETRY,          /* unreadable (not JSON, truncated...): may be transient, retried */
	TARGET_REPLY_FAIL,           /* readable but unusable (a mapped field missing): the case errors */
};

struct target_type {
	const char *name;
	/*
	 * NULL-terminated list of the config fields the type takes besides
	 * the common "type", "name", "version" and "model"; target_load
	 * rejects any other field so that a typo is an error
	 */
	const char *const *fields;
	/* build t->ctx from the config's target object obj; located errors (jdoc_error), -1 */
	int (*parse)(struct target *t, const struct jdoc *d, const cJSON *obj);
	void (*release)(struct target *t);                                   /* may be NULL */
	/* the request for one case; -1 with err set when the case cannot be asked (it errors) */
	int (*build_request)(const struct target *t, const struct target_input *in,
			     struct target_request *out, struct strbuf *err);
	/* read a 2xx reply body (len bytes, not NUL-terminated) into out; why says what is wrong */
	enum target_parse (*parse_reply)(const struct target *t, const char *body, size_t len,
					 struct target_reply *out, struct strbuf *why);
	/*
	 * may be NULL: a streamed reply's answer, read from its events into r
	 * (output the accumulated text, usage from OpenAI chunks), read again
	 * by the type (http: the response map over the text when it is JSON)
	 */
	enum target_parse (*parse_stream)(const struct target *t, struct target_reply *r,
					  struct strbuf *why);
	/* SHA-256 (hex) of what decides the answer: the type and the rendered request */
	void (*cache_key)(const struct target *t, const struct target_request *rq, char out[65]);
	/*
	 * HTTP types: the headers every request carries besides the
	 * x-evalgate-* ones, and the values (secrets) to redact from every
	 * error; NULL: the gateway's own headers, its API key included
	 */
	void (*http_headers)(const struct target *t, const struct eg_header **headers, size_t *n,
			     const char *const **secrets, size_t *n_secrets);
	/* the plan's line after "target NAME@VERSION " (run --dry-run): where requests go; never a secret */
	void (*describe)(const struct target *t, struct strbuf *out);
	/*
	 * Types that run the application as worker processes (exec): the
	 * command the run's worker pool (runner/worker.h) spawns; each
	 * request body is then one NDJSON line and each reply line goes to
	 * parse_reply. NULL: the type speaks HTTP through the gateway.
	 */
	const struct eg_command *(*command)(const struct target *t);
	/*
	 * The agent loop (SPEC 12): the request of the next step, from the
	 * previous request, its reply (whose tool_calls are normalised) and the
	 * tool messages answering them (an array of {tool_call_id, content}),
	 * or, in a conversation, the next user message ({role, content});
	 * -1 with err set. NULL: the type has no agent loop.
	 */
	int (*continue_request)(const struct target *t, const struct target_request *prev,
				const struct target_reply *reply, const cJSON *results,
				struct target_request *out, struct strbuf *err);
};

struct target {
	const struct target_type *type;
	const struct eg_config *cfg; /* borrowed */
	void *ctx;                   /* the type's private data */
	const cJSON *tools;          /* the target's tools (SPEC 12), or NULL; set by the type's parse */
	int max_steps;               /* the target's agent loop limit, 0: the default */
};

/*
 * The registration table (targets.c): one row per type. A row X(foo) names
 * `const struct target_type target_foo`, defined in runner/targets/foo.c.
 */
#define TARGET_TYPES(X) X(chat) X(http) X(exec)

#define TARGET_DECLARE(n) extern const struct target_type target_##n;
TARGET_TYPES(TARGET_DECLARE)
#undef TARGET_DECLARE

/* the type named name, or NULL */
const struct target_type *target_type_find(const char *name);
/* comma-separated names of every type, for messages */
const char *target_type_names(void);

/* the config's target (cfg->target.type) parsed by its type; -1 after a located error */
int target_load(struct target *t, const struct eg_config *cfg);
void target_release(struct target *t);

void target_request_release(struct target_request *rq);
void target_reply_init(struct target_reply *r);
void target_reply_release(struct target_reply *r);
/* move everything from src to dst (dst released first); src is left empty */
void target_reply_move(struct target_reply *dst, struct target_reply *src);

/*
 * What a reply held besides the answer, finish reason and token counts, as
 * one JSON object {"context", "context_ids", "tool_calls", "model",
 * "metadata", "trajectory"} (members that are unknown are left out) for the history and
 * the cache; NULL when there is nothing. _load reads it back into r
 * (-1 when json is not such an object).
 */
char *target_reply_extra_json(const struct target_reply *r);
int target_reply_extra_load(struct target_reply *r, const char *json);

/*
 * Append len bytes of untrusted text (a reply, an error message) for a
 * one-line message, made visible (esc_visible: control bytes and invalid UTF-8
 * as escapes, at most max bytes), without trailing space or line breaks.
 */
void target_add_untrusted(struct strbuf *sb, const char *s, size_t len, size_t max);

/*
 * For parse_reply: the body parsed as JSON, or NULL with why ("empty body",
 * "not JSON (truncated or malformed)"): such a reply is TARGET_REPLY_RETRY.
 * The caller frees the tree with cJSON_Delete.
 */
cJSON *target_reply_json(const char *body, size_t len, struct strbuf *why);
/* member name of obj as a token count, -1 when it is not a count */
long target_token_count(const cJSON *obj, const char *name);

/*
 * chat/completions (chat.c), for the gateway client and the scorers' model
 * calls as well as the chat type: read a reply body, and the cache key of a
 * request body sent to base_url (sample: a scorer's sample index, 0 for none)
 */
enum target_parse chat_parse_reply(const char *body, size_t len, struct target_reply *out,
				   struct strbuf *why);
void chat_cache_key(const char *base_url, const char *body, int sample, char out[65]);
/*
 * chat_parse_reply's two readings, for the tests and the fuzzer: the single
 * pass over the common shape (0 with out filled; 1 when the reply is not of
 * that shape, out untouched) and the tree, which reads every reply
 */
int chat_parse_reply_fast(const char *body, size_t len, struct target_reply *out);
enum target_parse chat_parse_reply_tree(const char *body, size_t len, struct target_reply *out,
					struct strbuf *why);

#endif
