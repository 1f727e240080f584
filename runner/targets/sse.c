/*
 * sse: the event-stream parser and the reading of a streamed reply.
 */
#include "sse.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "jsonutil.h"
#include "jsonw.h"
#include "target.h"
#include "xalloc.h"
#include "banned.h"

#define SSE_MSG_MAX 300          /* bytes of a mid-stream error's message kept */

/* ------------------------------------------------------------ the parser */

void sse_parser_init(struct sse_parser *p)
{
	memset(p, 0, sizeof(*p));
	strbuf_init(&p->line, 0);
	strbuf_init(&p->data, 0);
	strbuf_init(&p->type, 0);
}

void sse_parser_release(struct sse_parser *p)
{
	strbuf_release(&p->line);
	strbuf_release(&p->data);
	strbuf_release(&p->type);
	p->after_cr = 0;
	p->has_data = 0;
}

/* an empty line: the event so far, if it has data */
static int dispatch(struct sse_parser *p, sse_event_fn fn, void *arg)
{
	int rc = 0;

	if (p->has_data) {
		/* the data's last LF is not part of it */
		p->data.buf[--p->data.len] = '\0';
		rc = fn(p->type.len ? p->type.buf : "message", p->data.buf, p->data.len, arg);
	}
	strbuf_reset(&p->data);
	strbuf_reset(&p->type);
	p->has_data = 0;
	return rc;
}

/* one complete line (without its end) */
static int take_line(struct sse_parser *p, sse_event_fn fn, void *arg)
{
	const char *l = p->line.buf, *colon;
	size_t n = p->line.len, name_len;
	const char *value;
	size_t value_len;

	if (!n)
		return dispatch(p, fn, arg);
	if (l[0] == ':')
		return 0;
	colon = memchr(l, ':', n);
	name_len = colon ? (size_t)(colon - l) : n;
	value = colon ? colon + 1 : l + n;
	value_len = n - (size_t)(value - l);
	if (value_len && *value == ' ') {
		value++;
		value_len--;
	}
	if (name_len == 4 && !memcmp(l, "data", 4)) {
		strbuf_add(&p->data, value, value_len);
		strbuf_addch(&p->data, '\n');
		p->has_data = 1;
	} else if (name_len == 5 && !memcmp(l, "event", 5)) {
		strbuf_reset(&p->type);
		strbuf_add(&p->type, value, value_len);
	}
	return 0;
}

int sse_parser_feed(struct sse_parser *p, const char *buf, size_t len, sse_event_fn fn,
		    void *arg)
{
	const char *end = buf + len;
	int rc;

	while (buf < end) {
		const char *cr, *lf, *eol;
		size_t span;

		if (p->after_cr) {
			p->after_cr = 0;
			if (*buf == '\n') {
				buf++;
				continue;
			}
		}
		span = (size_t)(end - buf);
		cr = memchr(buf, '\r', span);
		lf = memchr(buf, '\n', cr ? (size_t)(cr - buf) : span);
		eol = lf ? lf : cr;
		if (!eol) {
			strbuf_add(&p->line, buf, span);
			break;
		}
		strbuf_add(&p->line, buf, (size_t)(eol - buf));
		p->after_cr = *eol == '\r';
		buf = eol + 1;
		rc = take_line(p, fn, arg);
		strbuf_reset(&p->line);
		if (rc)
			return rc;
	}
	return 0;
}

/* ------------------------------------------------------------ the stream */

void sse_stream_init(struct sse_stream *s, size_t max)
{
	memset(s, 0, sizeof(*s));
	sse_parser_init(&s->parser);
	strbuf_init(&s->text, 0);
	/* a line or an event without end is bounded like the answer */
	s->text.max = s->parser.line.max = s->parser.data.max = max;
	s->prompt_tokens = -1;
	s->completion_tokens = -1;
}

void sse_stream_release(struct sse_stream *s)
{
	sse_parser_release(&s->parser);
	strbuf_release(&s->text);
	free(s->error);
	free(s->finish_reason);
	free(s->model);
	cJSON_Delete(s->tool_calls);
	free(s->times);
	memset(s, 0, sizeof(*s));
}

static void set_str(char **dst, const cJSON *v)
{
	if (!cJSON_IsString(v))
		return;
	free(*dst);
	*dst = xstrdup(v->valuestring);
}

static void stream_error(struct sse_stream *s, const cJSON *err, const char *data, size_t len)
{
	struct strbuf sb = STRBUF_INIT;
	const cJSON *m = cJSON_IsString(err) ? err : cJSON_GetObjectItemCaseSensitive(err, "message");

	if (s->error)
		return;
	if (cJSON_IsString(m))
		target_add_untrusted(&sb, m->valuestring, strlen(m->valuestring), SSE_MSG_MAX);
	else
		target_add_untrusted(&sb, data, len, SSE_MSG_MAX);
	s->error = strbuf_detach(&sb, NULL);
}

/* a tool call delta {index, id, type, function: {name, arguments}} merged into s->tool_calls */
static void merge_tool_call(struct sse_stream *s, const cJSON *d)
{
	const cJSON *idx = cJSON_GetObjectItemCaseSensitive(d, "index");
	const cJSON *fn = cJSON_GetObjectItemCaseSensitive(d, "function"), *v;
	cJSON *call, *cfn;
	int i = cJSON_IsNumber(idx) && idx->valuedouble >= 0 && idx->valuedouble < 1024
		? (int)idx->valuedouble : 0;

	if (!s->tool_calls)
		s->tool_calls = cJSON_CreateArray();
	while (cJSON_GetArraySize(s->tool_calls) <= i) {
		call = cJSON_CreateObject();
		cJSON_AddObjectToObject(call, "function");
		cJSON_AddItemToArray(s->tool_calls, call);
	}
	call = cJSON_GetArrayItem(s->tool_calls, i);
	cfn = cJSON_GetObjectItemCaseSensitive(call, "function");
	if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(d, "id")) &&
	    !cJSON_GetObjectItemCaseSensitive(call, "id"))
		cJSON_AddStringToObject(call, "id", v->valuestring);
	if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(d, "type")) &&
	    !cJSON_GetObjectItemCaseSensitive(call, "type"))
		cJSON_AddStringToObject(call, "type", v->valuestring);
	if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(fn, "name")) &&
	    !cJSON_GetObjectItemCaseSensitive(cfn, "name"))
		cJSON_AddStringToObject(cfn, "name", v->valuestring);
	if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(fn, "arguments"))) {
		cJSON *old = cJSON_GetObjectItemCaseSensitive(cfn, "arguments");
		struct strbuf sb = STRBUF_INIT;

		if (cJSON_IsString(old))
			strbuf_addstr(&sb, old->valuestring);
		strbuf_addstr(&sb, v->valuestring);
		cJSON_DeleteItemFromObjectCaseSensitive(cfn, "arguments");
		cJSON_AddStringToObject(cfn, "arguments", sb.buf);
		strbuf_release(&sb);
	}
}

/* the string v of the event (data, len) appended to s->text, NULs kept: 1 when it was not empty */
static int add_text(struct sse_stream *s, const char *data, size_t len, const cJSON *root,
		    const cJSON *v)
{
	size_t was = s->text.len;

	json_string_bytes(&s->text, data, len, root, v);
	return s->text.len > was;
}

/* an OpenAI chunk (the event data, len bytes): 1 when it carried content or a tool call */
static int take_chunk(struct sse_stream *s, const cJSON *root, const char *data, size_t len)
{
	const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
	const cJSON *choice = cJSON_GetArrayItem(choices, 0);
	const cJSON *delta = cJSON_GetObjectItemCaseSensitive(choice, "delta");
	const cJSON *usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
	const cJSON *v, *tc;
	int content = 0;

	s->chunks++;
	set_str(&s->model, cJSON_GetObjectItemCaseSensitive(root, "model"));
	set_str(&s->finish_reason, cJSON_GetObjectItemCaseSensitive(choice, "finish_reason"));
	if (cJSON_IsObject(usage)) {
		s->prompt_tokens = target_token_count(usage, "prompt_tokens");
		s->completion_tokens = target_token_count(usage, "completion_tokens");
	}
	if (add_text(s, data, len, root, cJSON_GetObjectItemCaseSensitive(delta, "content")))
		content = 1;
	if (add_text(s, data, len, root, cJSON_GetObjectItemCaseSensitive(delta, "refusal")))
		content = 1;
	tc = cJSON_GetObjectItemCaseSensitive(delta, "tool_calls");
	if (cJSON_IsArray(tc) && cJSON_GetArraySize(tc)) {
		cJSON_ArrayForEach(v, tc)
			merge_tool_call(s, v);
		content = 1;
	}
	return content;
}

static int is_chunk(const cJSON *root)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, "object");
	const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");

	if (cJSON_IsString(o) && !strcmp(o->valuestring, "chat.completion.chunk"))
		return 1;
	return cJSON_IsArray(choices) &&
	       (!cJSON_GetArraySize(choices) ||
		cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(choices, 0), "delta"));
}

static int on_event(const char *type, const char *data, size_t len, void *arg)
{
	struct sse_stream *s = arg;
	const cJSON *err;
	cJSON *root;
	int content = 0;

	if (s->done || s->error)
		return 0;
	if (len == 6 && !memcmp(data, "[DONE]", 6)) {
		s->done = 1;
		return 0;
	}
	root = cJSON_ParseWithLength(data, len);
	err = cJSON_GetObjectItemCaseSensitive(root, "error");
	if (!strcmp(type, "error") || (cJSON_IsObject(root) && err && !cJSON_IsNull(err))) {
		stream_error(s, err, data, len);
	} else if (cJSON_IsObject(root) && is_chunk(root)) {
		content = take_chunk(s, root, data, len);
	} else if (len) {
		strbuf_add(&s->text, data, len);
		s->plain++;
		content = 1;
	}
	cJSON_Delete(root);
	if (content) {
		XGROW(s->times, s->n_times + 1, s->alloc_times);
		s->times[s->n_times++] = s->now;
	}
	return s->text.overflow ? -1 : 0;
}

int sse_stream_feed(struct sse_stream *s, const char *buf, size_t len, double now)
{
	s->now = now;
	if (sse_parser_feed(&s->parser, buf, len, on_event, s))
		return -1;
	return s->parser.line.overflow || s->parser.data.overflow ? -1 : 0;
}

int sse_stream_reply(struct sse_stream *s, struct target_reply *out, struct strbuf *why)
{
	if (s->error) {
		strbuf_addf(why, "error event mid-stream: %s", s->error);
		return -1;
	}
	if (s->chunks && !s->done) {
		strbuf_addstr(why, "the stream ended without [DONE] (cut short)");
		return -1;
	}
	if (!s->chunks && !s->plain) {
		strbuf_addstr(why, "the stream held no event");
		return -1;
	}
	target_reply_release(out);
	out->output = strbuf_detach(&s->text, &out->output_len);
	out->finish_reason = s->finish_reason;
	s->finish_reason = NULL;
	out->model = s->model;
	s->model = NULL;
	out->prompt_tokens = s->prompt_tokens;
	out->completion_tokens = s->completion_tokens;
	if (s->tool_calls) {
		out->tool_calls = jsonw_print(s->tool_calls, 0);
		if (!out->tool_calls)
			die("out of memory");
	}
	return 0;
}

void sse_stream_stats(const struct sse_stream *s, double send_s, struct stream_stats *out)
{
	stream_stats_compute(out, send_s, s->times, s->n_times, s->completion_tokens);
}
