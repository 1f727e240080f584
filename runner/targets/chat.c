/*
 * chat: the default target (SPEC 4, 11): POST {base_url}/chat/completions
 * through the gateway with the gateway's headers and key. The body holds
 * the target's model, the system prompt (the suite's, else the target's),
 * the case's messages or input, and the target's then the suite's params.
 * The model, params and system prompt are read by the config itself. A
 * case rendered with a prompt file sends its rendered messages (a .json
 * prompt) or its rendered text as the user message (the last user message
 * of a case with messages).
 */
#include "target.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "case.h"
#include "config.h"
#include "error.h"
#include "hashmap.h"
#include "jsonutil.h"
#include "jsonw.h"
#include "sha256.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

#define CHAT_MSG_MAX 300         /* bytes of a gateway's message kept in an error */

static const char *const chat_fields[] = { "params", "system", "prompt", "stream", "tools",
					   "tool_choice", "max_steps", NULL };

/* what the chat type reads itself (the config reads the rest) */
struct chat_ctx {
	int stream;                  /* "stream": true: replies come as Server-Sent Events */
	const cJSON *tool_choice;    /* borrowed from the config, or NULL */
};

static int chat_parse(struct target *t, const struct jdoc *d, const cJSON *obj)
{
	const cJSON *tools = cJSON_GetObjectItemCaseSensitive(obj, "tools");
	const cJSON *choice = cJSON_GetObjectItemCaseSensitive(obj, "tool_choice");
	const cJSON *ms = cJSON_GetObjectItemCaseSensitive(obj, "max_steps");
	struct chat_ctx *x;

	if ((tools && agent_tools_check(d, tools, "target.tools")) ||
	    (choice && agent_tool_choice_check(d, choice, "target.tool_choice")) ||
	    (ms && agent_max_steps_check(d, ms, "target.max_steps")))
		return -1;
	x = xcalloc(1, sizeof(*x));
	x->tool_choice = choice;
	t->ctx = x;
	t->tools = tools;
	t->max_steps = ms ? ms->valueint : 0;
	return jdoc_bool(d, obj, "target.", "stream", &x->stream);
}

static void chat_release(struct target *t)
{
	free(t->ctx);
	t->ctx = NULL;
}

/* ------------------------------------------------------------ request */

static void merge_params(cJSON *body, const cJSON *params)
{
	struct hashmap keys;
	const cJSON *p;
	cJSON *b;

	if (!params)
		return;
	/* the body's members by name: a later one replaces an earlier in linear time */
	hashmap_init_str(&keys, 16);
	cJSON_ArrayForEach(b, body)
		*hashmap_put_str(&keys, b->string, strlen(b->string), NULL) = (uint64_t)(uintptr_t)b;
	cJSON_ArrayForEach(p, params) {
		uint64_t *old;
		cJSON *dup;

		if (!strcmp(p->string, "model") || !strcmp(p->string, "messages"))
			continue;
		old = hashmap_get_str(&keys, p->string, strlen(p->string));
		if (old)
			cJSON_Delete(cJSON_DetachItemViaPointer(body, (cJSON *)(uintptr_t)*old));
		dup = cJSON_Duplicate(p, 1);
		cJSON_AddItemToObject(body, p->string, dup);
		*hashmap_put_str(&keys, p->string, strlen(p->string), NULL) = (uint64_t)(uintptr_t)dup;
	}
	hashmap_release(&keys);
}

static cJSON *system_message(const char *system)
{
	cJSON *m = cJSON_CreateObject();

	cJSON_AddStringToObject(m, "role", "system");
	cJSON_AddStringToObject(m, "content", system);
	return m;
}

/* a text prompt rendered for a case with messages takes its last user message's place */
static void replace_last_user(cJSON *msgs, const char *text)
{
	cJSON *m, *last = NULL;

	cJSON_ArrayForEach(m, msgs) {
		const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");

		if (cJSON_IsString(role) && !strcmp(role->valuestring, "user"))
			last = m;
	}
	if (last)
		cJSON_ReplaceItemInObjectCaseSensitive(last, "content", cJSON_CreateString(text));
}

/* tools and tool_choice: the case's, else the suite's, else the target's (SPEC 12) */
static void add_tools(const struct target *t, const struct target_input *in, cJSON *body)
{
	const struct chat_ctx *x = t->ctx;
	const cJSON *tools = in->kase->tools ? in->kase->tools
			     : in->suite_tools ? in->suite_tools : t->tools;
	const cJSON *choice = in->kase->tool_choice ? in->kase->tool_choice
			      : in->suite_tool_choice ? in->suite_tool_choice
			      : x ? x->tool_choice : NULL;

	if (tools) {
		cJSON_DeleteItemFromObjectCaseSensitive(body, "tools");
		cJSON_AddItemToObject(body, "tools", cJSON_Duplicate(tools, 1));
	}
	if (choice) {
		cJSON_DeleteItemFromObjectCaseSensitive(body, "tool_choice");
		cJSON_AddItemToObject(body, "tool_choice", cJSON_Duplicate(choice, 1));
	}
}

/* out: a POST of body (which it takes) to the gateway's chat/completions */
static void post_request(const struct target *t, struct target_request *out, cJSON *body)
{
	const struct chat_ctx *x = t->ctx;

	memset(out, 0, sizeof(*out));
	out->method = TARGET_POST;
	out->stream = x && x->stream;
	out->body = jsonw_print(body, 0);
	cJSON_Delete(body);
	if (!out->body)
		die("out of memory building a request");
	out->body_len = strlen(out->body);
}

static int chat_build_request(const struct target *t, const struct target_input *in,
			      struct target_request *out, struct strbuf *err)
{
	const struct eg_target *tg = &t->cfg->target;
	const struct eg_case *c = in->kase;
	const char *system = in->system ? in->system : tg->system;
	const cJSON *given = c->prompt_messages ? c->prompt_messages : c->messages;
	const struct chat_ctx *x = t->ctx;
	cJSON *body = cJSON_CreateObject(), *msgs;

	cJSON_AddStringToObject(body, "model", tg->model);
	if (given) {
		msgs = cJSON_Duplicate(given, 1);
		if (c->prompt)
			replace_last_user(msgs, c->prompt);
		if (system) {
			const cJSON *first = cJSON_GetArrayItem(msgs, 0);
			const cJSON *role = cJSON_GetObjectItemCaseSensitive(first, "role");

			if (!cJSON_IsString(role) || strcmp(role->valuestring, "system"))
				cJSON_InsertItemInArray(msgs, 0, system_message(system));
		}
	} else {
		cJSON *m;

		msgs = cJSON_CreateArray();
		if (system)
			cJSON_AddItemToArray(msgs, system_message(system));
		m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "role", "user");
		cJSON_AddStringToObject(m, "content", c->prompt ? c->prompt : c->input);
		cJSON_AddItemToArray(msgs, m);
	}
	cJSON_AddItemToObject(body, "messages", msgs);
	if (x && x->stream) {
		/* the usage comes in a last chunk only when asked for */
		cJSON_AddTrueToObject(body, "stream");
		cJSON_AddTrueToObject(cJSON_AddObjectToObject(body, "stream_options"),
				      "include_usage");
	}
	merge_params(body, tg->params);
	merge_params(body, in->suite_params);
	add_tools(t, in, body);
	post_request(t, out, body);
	return 0;
}

void chat_cache_key(const char *base_url, const char *body, int sample, char out[65])
{
	struct sha256 h;
	unsigned char dig[32];
	cJSON *j = cJSON_Parse(body);
	char *canon = json_canonical(j);

	sha256_init(&h);
	sha256_update(&h, base_url, strlen(base_url));
	sha256_update(&h, "\n", 1);
	sha256_update(&h, canon, strlen(canon));
	if (sample) {
		char tag[32];
		int n = snprintf(tag, sizeof(tag), "\nsample %d", sample);

		sha256_update(&h, tag, (size_t)n);
	}
	sha256_final(&h, dig);
	sha256_to_hex(dig, out);
	free(canon);
	cJSON_Delete(j);
}

/* base path and the canonical body (model, params, messages): the key the cache always had */
static void chat_request_key(const struct target *t, const struct target_request *rq,
			     char out[65])
{
	chat_cache_key(t->cfg->gateway.base_url, rq->body, 0, out);
}

static void chat_describe(const struct target *t, struct strbuf *out)
{
	const struct chat_ctx *x = t->ctx;

	strbuf_addf(out, "(model %s) via %s%s", t->cfg->target.model,
		    t->cfg->gateway.base_url ? t->cfg->gateway.base_url : "an unset gateway.base_url",
		    x && x->stream ? ", streamed" : "");
}

/* ------------------------------------------------------------ reply */

/* concatenated "text" of an array of content parts into sb (NULs kept); -1 when a part has none */
static int content_parts(struct strbuf *sb, const char *body, size_t len, const cJSON *root,
			 const cJSON *arr)
{
	const cJSON *part;

	cJSON_ArrayForEach(part, arr) {
		const cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");

		if (!cJSON_IsString(text))
			return -1;
		json_string_bytes(sb, body, len, root, text);
	}
	return 0;
}

/* an "error" member's message, sanitized, after why */
static void add_error_message(struct strbuf *why, const cJSON *err)
{
	const cJSON *m = cJSON_IsString(err) ? err : cJSON_GetObjectItemCaseSensitive(err, "message");

	if (!cJSON_IsString(m))
		return;
	strbuf_addstr(why, ": ");
	target_add_untrusted(why, m->valuestring, strlen(m->valuestring), CHAT_MSG_MAX);
}

enum target_parse chat_parse_reply(const char *body, size_t len, struct target_reply *out,
				   struct strbuf *why)
{
	const cJSON *choices, *choice, *message, *content, *finish, *usage, *err;
	const char *bad = NULL;
	struct strbuf text = STRBUF_INIT;
	cJSON *root, *calls = NULL;

	root = target_reply_json(body, len, why);
	if (!root)
		return TARGET_REPLY_RETRY;
	if (!cJSON_IsObject(root)) {
		bad = "not a JSON object";
		goto out_free_root;
	}
	err = cJSON_GetObjectItemCaseSensitive(root, "error");
	if (err && !cJSON_IsNull(err)) {
		strbuf_addstr(why, "error object in a 2xx reply");
		add_error_message(why, err);
		goto out_free_root;
	}
	choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
	if (!cJSON_IsArray(choices) || !cJSON_GetArraySize(choices)) {
		bad = "no choices";
		goto out_free_root;
	}
	choice = cJSON_GetArrayItem(choices, 0);
	if (!cJSON_IsObject(choice)) {
		bad = "first choice is not an object";
		goto out_free_root;
	}
	message = cJSON_GetObjectItemCaseSensitive(choice, "message");
	if (!cJSON_IsObject(message)) {
		bad = "no message in the first choice";
		goto out_free_root;
	}
	finish = cJSON_GetObjectItemCaseSensitive(choice, "finish_reason");
	if (!cJSON_IsString(finish))
		finish = NULL;
	/* the calls are kept, never dropped (SPEC 12) */
	calls = agent_calls_normalize_text(cJSON_GetObjectItemCaseSensitive(message, "tool_calls"),
					   body, len, root);
	content = cJSON_GetObjectItemCaseSensitive(message, "content");
	/* the answer is bytes: a \u0000 in it is kept with what follows (json_string_bytes) */
	if (cJSON_IsString(content)) {
		json_string_bytes(&text, body, len, root, content);
	} else if (cJSON_IsArray(content)) {
		if (content_parts(&text, body, len, root, content)) {
			bad = "content parts without text";
			goto out_free_root;
		}
	} else if (content && !cJSON_IsNull(content)) {
		bad = "content is not a string";
		goto out_free_root;
	} else {
		const cJSON *refusal = cJSON_GetObjectItemCaseSensitive(message, "refusal");

		if (cJSON_IsString(refusal))
			json_string_bytes(&text, body, len, root, refusal);
		else if (!calls && !(finish && (!strcmp(finish->valuestring, "tool_calls") ||
						!strcmp(finish->valuestring, "function_call") ||
						!strcmp(finish->valuestring, "content_filter")))) {
			bad = "no content in the first choice";
			goto out_free_root;
		}
		/* else no text: an empty answer */
	}

	target_reply_release(out);
	out->output = strbuf_detach(&text, &out->output_len);
	out->finish_reason = finish ? xstrdup(finish->valuestring) : NULL;
	usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
	out->prompt_tokens = target_token_count(usage, "prompt_tokens");
	out->completion_tokens = target_token_count(usage, "completion_tokens");
	if (calls)
		out->tool_calls = jsonw_print(calls, 0);
	cJSON_Delete(calls);
	cJSON_Delete(root);
	return TARGET_REPLY_OK;

out_free_root:
	if (bad)
		strbuf_addstr(why, bad);
	strbuf_release(&text);
	cJSON_Delete(calls);
	cJSON_Delete(root);
	/* every unusable chat reply is retried, as it always was */
	return TARGET_REPLY_RETRY;
}

static enum target_parse chat_target_reply(const struct target *t, const char *body, size_t len,
					   struct target_reply *out, struct strbuf *why)
{
	return chat_parse_reply(body, len, out, why);
}

/* ------------------------------------------------------------ the agent loop */

/* the assistant message that asked for the calls, as the model sent it */
static cJSON *assistant_message(const struct target_reply *reply)
{
	cJSON *m = cJSON_CreateObject(), *arr = cJSON_CreateArray();
	cJSON *calls = reply->tool_calls ? cJSON_Parse(reply->tool_calls) : NULL;
	const cJSON *c;

	cJSON_AddStringToObject(m, "role", "assistant");
	if (reply->output && reply->output_len)
		cJSON_AddStringToObject(m, "content", reply->output);
	else
		cJSON_AddNullToObject(m, "content");
	cJSON_ArrayForEach(c, calls) {
		cJSON *tc = cJSON_CreateObject(), *fn = cJSON_CreateObject();
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "id");
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(c, "name");
		const cJSON *args = cJSON_GetObjectItemCaseSensitive(c, "arguments");

		cJSON_AddStringToObject(tc, "id", cJSON_IsString(id) ? id->valuestring : "");
		cJSON_AddStringToObject(tc, "type", "function");
		cJSON_AddStringToObject(fn, "name", cJSON_IsString(name) ? name->valuestring : "");
		cJSON_AddStringToObject(fn, "arguments", cJSON_IsString(args) ? args->valuestring : "");
		cJSON_AddItemToObject(tc, "function", fn);
		cJSON_AddItemToArray(arr, tc);
	}
	/* a conversation's answer that asked for nothing */
	if (cJSON_GetArraySize(arr))
		cJSON_AddItemToObject(m, "tool_calls", arr);
	else
		cJSON_Delete(arr);
	cJSON_Delete(calls);
	return m;
}

/*
 * The next request's body, body (parsed from prev's) with the assistant
 * message asst (assistant_message) and the results appended to msgs, as JSON
 * text whose strings keep their NULs: the earlier messages' read again from
 * prev's text, asst's content from the reply's bytes.
 */
static char *body_bytes(const struct target_request *prev, const cJSON *body, const cJSON *msgs,
			const cJSON *asst, const struct target_reply *reply)
{
	struct strbuf sb = STRBUF_INIT;
	struct jsonw w;
	const cJSON *m, *e, *a;

	jsonw_init(&w, &sb, 0);
	jsonw_object_begin(&w);
	cJSON_ArrayForEach(m, body) {
		jsonw_key(&w, m->string ? m->string : "");
		if (m != msgs) {
			json_write_bytes(&w, prev->body, prev->body_len, body, m);
			continue;
		}
		jsonw_array_begin(&w);
		cJSON_ArrayForEach(e, msgs) {
			if (e != asst) {
				json_write_bytes(&w, prev->body, prev->body_len, body, e);
				continue;
			}
			jsonw_object_begin(&w);
			cJSON_ArrayForEach(a, asst) {
				jsonw_key(&w, a->string);
				if (!strcmp(a->string, "content") && cJSON_IsString(a))
					jsonw_strn(&w, reply->output, reply->output_len);
				else
					jsonw_cjson(&w, a);
			}
			jsonw_object_end(&w);
		}
		jsonw_array_end(&w);
	}
	jsonw_object_end(&w);
	return strbuf_detach(&sb, NULL);
}

static int chat_continue_request(const struct target *t, const struct target_request *prev,
				 const struct target_reply *reply, const cJSON *results,
				 struct target_request *out, struct strbuf *err)
{
	cJSON *body = cJSON_Parse(prev->body);
	cJSON *msgs = cJSON_GetObjectItemCaseSensitive(body, "messages"), *asst;
	const cJSON *r;
	char *bytes = NULL;

	(void)t;
	if (!cJSON_IsArray(msgs)) {
		cJSON_Delete(body);
		strbuf_addstr(err, "the previous request has no messages");
		return -1;
	}
	asst = assistant_message(reply);
	cJSON_AddItemToArray(msgs, asst);
	cJSON_ArrayForEach(r, results) {
		cJSON *m = cJSON_CreateObject();

		if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(r, "role"))) {
			/* a conversation's next user turn */
			cJSON_AddItemToObject(m, "role", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(r, "role"), 1));
			cJSON_AddItemToObject(m, "content",
					      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(r, "content"), 1));
			cJSON_AddItemToArray(msgs, m);
			continue;
		}
		cJSON_AddStringToObject(m, "role", "tool");
		cJSON_AddItemToObject(m, "tool_call_id",
				      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(r, "tool_call_id"), 1));
		cJSON_AddItemToObject(m, "content",
				      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(r, "content"), 1));
		cJSON_AddItemToArray(msgs, m);
	}
	/* cJSON's strings end at a NUL: the model's text and the earlier messages do not */
	if (json_text_has_nul(prev->body, prev->body_len) ||
	    (reply->output && memchr(reply->output, '\0', reply->output_len)))
		bytes = body_bytes(prev, body, msgs, asst, reply);
	post_request(t, out, body);
	if (bytes) {
		free(out->body);
		out->body = bytes;
		out->body_len = strlen(bytes);
	}
	out->url = prev->url ? xstrdup(prev->url) : NULL;
	return 0;
}

const struct target_type target_chat = {
	.name = "chat",
	.fields = chat_fields,
	.parse = chat_parse,
	.release = chat_release,
	.continue_request = chat_continue_request,
	.build_request = chat_build_request,
	.parse_reply = chat_target_reply,
	.cache_key = chat_request_key,
	.describe = chat_describe,
};
