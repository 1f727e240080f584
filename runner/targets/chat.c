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

/*
 * The body is written once, straight into the request's buffer: no tree is
 * built. It is {"model", "messages", then the members below in their order},
 * and that order is the one the body always had: "stream" and
 * "stream_options" when streamed, then the target's params, then the suite's
 * (a key given again leaves its place and goes last, "model" and "messages"
 * are never replaced), then tools and tool_choice (SPEC 12), which also go
 * last when given.
 */
struct member {
	const char *key;             /* borrowed */
	const cJSON *value;          /* borrowed; NULL: raw holds the value */
	const char *raw;             /* the value as JSON text when value is NULL */
	int gone;                    /* replaced by a later member of the same key */
};

struct members {
	struct member *v;
	size_t n, alloc;
	struct hashmap keys;         /* key -> its live member's index: linear in the params */
	int hashed;                  /* keys was initialised */
};

static void members_put(struct members *ms, const char *key, const cJSON *value, const char *raw)
{
	uint64_t *slot;
	int added;

	if (!ms->hashed) {
		hashmap_init_str(&ms->keys, 16);
		ms->hashed = 1;
	}
	slot = hashmap_put_str(&ms->keys, key, strlen(key), &added);
	if (!added)
		ms->v[*slot].gone = 1;
	*slot = ms->n;
	XGROW(ms->v, ms->n + 1, ms->alloc);
	ms->v[ms->n].key = key;
	ms->v[ms->n].value = value;
	ms->v[ms->n].raw = raw;
	ms->v[ms->n].gone = 0;
	ms->n++;
}

static void members_release(struct members *ms)
{
	free(ms->v);
	if (ms->hashed)
		hashmap_release(&ms->keys);
}

static void merge_params(struct members *ms, const cJSON *params)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, params) {
		if (!strcmp(p->string, "model") || !strcmp(p->string, "messages"))
			continue;
		members_put(ms, p->string, p, NULL);
	}
}

/* tools and tool_choice: the case's, else the suite's, else the target's (SPEC 12) */
static void add_tools(const struct target *t, const struct target_input *in, struct members *ms)
{
	const struct chat_ctx *x = t->ctx;
	const cJSON *tools = in->kase->tools ? in->kase->tools
			     : in->suite_tools ? in->suite_tools : t->tools;
	const cJSON *choice = in->kase->tool_choice ? in->kase->tool_choice
			      : in->suite_tool_choice ? in->suite_tool_choice
			      : x ? x->tool_choice : NULL;

	if (tools)
		members_put(ms, "tools", tools, NULL);
	if (choice)
		members_put(ms, "tool_choice", choice, NULL);
}

static void write_text_message(struct jsonw *w, const char *role, const char *content)
{
	jsonw_object_begin(w);
	jsonw_member_str(w, "role", role);
	/* a message without text has no content (as a tree without the member) */
	if (content)
		jsonw_member_str(w, "content", content);
	jsonw_object_end(w);
}

/* whether message m's (first) role is the string role */
static int has_role(const cJSON *m, const char *role)
{
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(m, "role");

	return cJSON_IsString(r) && !strcmp(r->valuestring, role);
}

/*
 * The case's messages (or its rendered ones); a text prompt rendered for a
 * case with messages takes its last user message's content (the first
 * "content" member; a message without one is left as it is).
 */
static void write_messages(struct jsonw *w, const cJSON *given, const char *prompt,
			   const char *system)
{
	const cJSON *m, *last = NULL, *c;

	if (prompt)
		cJSON_ArrayForEach(m, given)
			if (has_role(m, "user"))
				last = m;
	jsonw_array_begin(w);
	if (system && !has_role(cJSON_GetArrayItem(given, 0), "system"))
		write_text_message(w, "system", system);
	cJSON_ArrayForEach(m, given) {
		const cJSON *content = NULL;

		if (m != last) {
			jsonw_cjson(w, m);
			continue;
		}
		content = cJSON_GetObjectItemCaseSensitive(m, "content");
		jsonw_object_begin(w);
		cJSON_ArrayForEach(c, m) {
			jsonw_key(w, c->string ? c->string : "");
			if (c == content)
				jsonw_str(w, prompt);
			else
				jsonw_cjson(w, c);
		}
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
}

static int chat_build_request(const struct target *t, const struct target_input *in,
			      struct target_request *out, struct strbuf *err)
{
	const struct eg_target *tg = &t->cfg->target;
	const struct eg_case *c = in->kase;
	const char *system = in->system ? in->system : tg->system;
	const cJSON *given = c->prompt_messages ? c->prompt_messages : c->messages;
	const struct chat_ctx *x = t->ctx;
	struct members ms = { 0 };
	struct strbuf sb = STRBUF_INIT;
	struct jsonw w;
	size_t i;

	(void)err;
	if (x && x->stream) {
		/* the usage comes in a last chunk only when asked for */
		members_put(&ms, "stream", NULL, "true");
		members_put(&ms, "stream_options", NULL, "{\"include_usage\":true}");
	}
	merge_params(&ms, tg->params);
	merge_params(&ms, in->suite_params);
	add_tools(t, in, &ms);

	jsonw_init(&w, &sb, 0);
	jsonw_object_begin(&w);
	if (tg->model)
		jsonw_member_str(&w, "model", tg->model);
	jsonw_key(&w, "messages");
	if (given) {
		write_messages(&w, given, c->prompt, system);
	} else {
		jsonw_array_begin(&w);
		if (system)
			write_text_message(&w, "system", system);
		write_text_message(&w, "user", c->prompt ? c->prompt : c->input);
		jsonw_array_end(&w);
	}
	for (i = 0; i < ms.n; i++) {
		if (ms.v[i].gone)
			continue;
		jsonw_key(&w, ms.v[i].key);
		if (ms.v[i].value)
			jsonw_cjson(&w, ms.v[i].value);
		else
			jsonw_raw(&w, ms.v[i].raw, strlen(ms.v[i].raw));
	}
	jsonw_object_end(&w);
	members_release(&ms);

	memset(out, 0, sizeof(*out));
	out->method = TARGET_POST;
	out->stream = x && x->stream;
	out->body = strbuf_detach(&sb, &out->body_len);
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

/*
 * The single pass. A reply of the common shape is read without a tree: an
 * object whose "error" (if any) is null, whose first choice is an object
 * with a "message" object holding a string "content" and no "tool_calls",
 * and whose "finish_reason" and "usage" counts (whole numbers) are read on
 * the way. The text must be strict JSON all through (what cJSON reads the
 * same way): whitespace of space, tab, CR and LF, strings without raw
 * control bytes, keys without escapes, strict numbers of at most 63 bytes,
 * nesting under FAST_DEPTH. Anything else, and any key of interest given
 * in a form it does not take, sends the reply to the tree, so both readings
 * agree on every input (tests/fuzz/fuzz_reply.c runs both). As cJSON does,
 * the first of duplicate keys counts.
 */
#define FAST_DEPTH 128

struct scan {
	const char *p, *e;           /* the next byte, the end of the body */
	int depth;                   /* containers open */
};

static void scan_ws(struct scan *s)
{
	while (s->p < s->e && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
		s->p++;
}

/* the next byte (after whitespace) is c: taken; else -1 */
static int scan_byte(struct scan *s, int c)
{
	scan_ws(s);
	if (s->p >= s->e || *s->p != c)
		return -1;
	s->p++;
	return 0;
}

/*
 * A string token (after whitespace): decoded into out (NULs kept) when out
 * is not NULL; *raw and *raw_len its bytes between the quotes when it has no
 * escape (else *raw is NULL); -1 when it is not a string this reader takes.
 */
static int scan_string(struct scan *s, struct strbuf *out, const char **raw, size_t *raw_len)
{
	const char *start;
	int escaped = 0;

	if (scan_byte(s, '"'))
		return -1;
	start = s->p;
	for (;;) {
		const char *run = s->p;
		long cp, lo;

		while (s->p < s->e && (unsigned char)*s->p >= 0x20 && *s->p != '"' && *s->p != '\\')
			s->p++;
		if (out)
			strbuf_add(out, run, (size_t)(s->p - run));
		if (s->p >= s->e || (unsigned char)*s->p < 0x20)
			return -1;
		if (*s->p == '"')
			break;
		escaped = 1;
		if (s->e - s->p < 2)
			return -1;
		s->p += 2;
		switch (s->p[-1]) {
		case '"': case '\\': case '/':
			if (out)
				strbuf_addch(out, s->p[-1]);
			continue;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			cp = json_hex4(s->p, s->e);
			if (cp < 0 || (cp >= 0xdc00 && cp <= 0xdfff))
				return -1;
			s->p += 4;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				/* a high surrogate: its low one must follow */
				if (s->e - s->p < 6 || s->p[0] != '\\' || s->p[1] != 'u')
					return -1;
				lo = json_hex4(s->p + 2, s->e);
				if (lo < 0xdc00 || lo > 0xdfff)
					return -1;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				s->p += 6;
			}
			break;
		default:
			return -1;
		}
		if (out)
			json_add_code_point(out, (unsigned long)cp);
	}
	if (raw) {
		*raw = escaped ? NULL : start;
		*raw_len = (size_t)(s->p - start);
	}
	s->p++;
	return 0;
}

/*
 * A strict number (after whitespace); *whole its value when it is a whole
 * number of at most 15 digits (exact as a double), else -1
 */
static int scan_number(struct scan *s, long *whole)
{
	const char *start, *p;
	int digits_only = 1;

	scan_ws(s);
	start = p = s->p;
	if (p < s->e && *p == '-') {
		p++;
		digits_only = 0;
	}
	if (p >= s->e || *p < '0' || *p > '9')
		return -1;
	if (*p == '0')
		p++;
	else
		while (p < s->e && *p >= '0' && *p <= '9')
			p++;
	if (p < s->e && *p == '.') {
		digits_only = 0;
		if (++p >= s->e || *p < '0' || *p > '9')
			return -1;
		while (p < s->e && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < s->e && (*p == 'e' || *p == 'E')) {
		digits_only = 0;
		if (++p < s->e && (*p == '+' || *p == '-'))
			p++;
		if (p >= s->e || *p < '0' || *p > '9')
			return -1;
		while (p < s->e && *p >= '0' && *p <= '9')
			p++;
	}
	/* cJSON reads at most 63 bytes of a number */
	if (p - start > 63)
		return -1;
	*whole = -1;
	if (digits_only && p - start <= 15) {
		const char *d;

		*whole = 0;
		for (d = start; d < p; d++)
			*whole = *whole * 10 + (*d - '0');
	}
	s->p = p;
	return 0;
}

static int scan_literal(struct scan *s, const char *lit, size_t n)
{
	scan_ws(s);
	if ((size_t)(s->e - s->p) < n || memcmp(s->p, lit, n))
		return -1;
	s->p += n;
	return 0;
}

static int scan_value(struct scan *s);

/* the members (or elements) of the container just opened, to its close */
static int scan_rest(struct scan *s, int close)
{
	scan_ws(s);
	if (s->p < s->e && *s->p == close) {
		s->p++;
		return 0;
	}
	for (;;) {
		if (close == '}' && (scan_string(s, NULL, NULL, NULL) || scan_byte(s, ':')))
			return -1;
		if (scan_value(s))
			return -1;
		scan_ws(s);
		if (s->p >= s->e)
			return -1;
		if (*s->p++ == close)
			return 0;
		if (s->p[-1] != ',')
			return -1;
	}
}

/* any value, checked and skipped */
static int scan_value(struct scan *s)
{
	long whole;
	int ret;

	scan_ws(s);
	if (s->p >= s->e)
		return -1;
	switch (*s->p) {
	case '"':
		return scan_string(s, NULL, NULL, NULL);
	case '{':
	case '[':
		if (++s->depth >= FAST_DEPTH)
			return -1;
		ret = scan_rest(s, *s->p++ == '{' ? '}' : ']');
		s->depth--;
		return ret;
	case 't':
		return scan_literal(s, "true", 4);
	case 'f':
		return scan_literal(s, "false", 5);
	case 'n':
		return scan_literal(s, "null", 4);
	default:
		return scan_number(s, &whole);
	}
}

/* the key of the next member (after whitespace), and its colon; -1 when escaped */
static int scan_key(struct scan *s, const char **key, size_t *len)
{
	if (scan_string(s, NULL, key, len) || !*key)
		return -1;
	return scan_byte(s, ':');
}

/* after a member: 1 at the object's close, 0 before the next member, -1 otherwise */
static int scan_next(struct scan *s)
{
	scan_ws(s);
	if (s->p >= s->e)
		return -1;
	s->p++;
	return s->p[-1] == '}' ? 1 : s->p[-1] == ',' ? 0 : -1;
}

/* an object opened (after whitespace): 1 when it is empty (and closed), 0, or -1 */
static int scan_object_begin(struct scan *s)
{
	if (scan_byte(s, '{'))
		return -1;
	scan_ws(s);
	if (s->p < s->e && *s->p == '}') {
		s->p++;
		return 1;
	}
	return 0;
}

#define KEY_IS(k, n, lit) ((n) == sizeof(lit) - 1 && !memcmp((k), (lit), sizeof(lit) - 1))

/* what the single pass found */
struct fast_reply {
	struct strbuf text;          /* the content, decoded */
	int has_content;             /* the message's first "content" was a string */
	struct strbuf finish;        /* the first choice's finish_reason */
	int has_finish;
	long prompt_tokens, completion_tokens;
};

/* the value of a token count: a whole number, or anything else (-1) */
static int scan_count(struct scan *s, long *out)
{
	scan_ws(s);
	*out = -1;
	if (s->p < s->e && (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))) {
		/* a number the tree reads otherwise (a fraction, a sign) goes to the tree */
		if (scan_number(s, out) || *out < 0)
			return -1;
		return 0;
	}
	return scan_value(s);
}

static int scan_usage(struct scan *s, struct fast_reply *f)
{
	int seen_prompt = 0, seen_completion = 0, r;

	scan_ws(s);
	if (s->p >= s->e || *s->p != '{')
		return scan_value(s); /* not an object: no counts */
	if ((r = scan_object_begin(s)))
		return r < 0 ? -1 : 0;
	do {
		const char *k;
		size_t n;

		if (scan_key(s, &k, &n))
			return -1;
		if (!seen_prompt && KEY_IS(k, n, "prompt_tokens")) {
			seen_prompt = 1;
			r = scan_count(s, &f->prompt_tokens);
		} else if (!seen_completion && KEY_IS(k, n, "completion_tokens")) {
			seen_completion = 1;
			r = scan_count(s, &f->completion_tokens);
		} else {
			r = scan_value(s);
		}
		if (r)
			return -1;
	} while (!(r = scan_next(s)));
	return r < 0 ? -1 : 0;
}

static int scan_message(struct scan *s, struct fast_reply *f)
{
	int seen_content = 0, r;

	if ((r = scan_object_begin(s)))
		return -1; /* not an object, or no content */
	do {
		const char *k;
		size_t n;

		if (scan_key(s, &k, &n) || KEY_IS(k, n, "tool_calls"))
			return -1;
		if (!seen_content && KEY_IS(k, n, "content")) {
			seen_content = 1;
			/* content parts, a refusal, null: the tree */
			if (scan_string(s, &f->text, NULL, NULL))
				return -1;
			f->has_content = 1;
		} else if (scan_value(s)) {
			return -1;
		}
	} while (!(r = scan_next(s)));
	return r < 0 || !f->has_content ? -1 : 0;
}

static int scan_choice(struct scan *s, struct fast_reply *f)
{
	int seen_message = 0, seen_finish = 0, r;

	if ((r = scan_object_begin(s)))
		return -1;
	do {
		const char *k;
		size_t n;

		if (scan_key(s, &k, &n))
			return -1;
		if (!seen_message && KEY_IS(k, n, "message")) {
			seen_message = 1;
			r = scan_message(s, f);
		} else if (!seen_finish && KEY_IS(k, n, "finish_reason")) {
			seen_finish = 1;
			scan_ws(s);
			if (s->p < s->e && *s->p == '"') {
				r = scan_string(s, &f->finish, NULL, NULL);
				/* a NUL ends the tree's C string: the tree says what it keeps */
				if (!r && memchr(f->finish.buf, '\0', f->finish.len))
					r = -1;
				f->has_finish = 1;
			} else {
				r = scan_value(s);
			}
		} else {
			r = scan_value(s);
		}
		if (r)
			return -1;
	} while (!(r = scan_next(s)));
	return r < 0 || !seen_message ? -1 : 0;
}

static int scan_choices(struct scan *s, struct fast_reply *f)
{
	if (scan_byte(s, '[') || scan_choice(s, f))
		return -1;
	/* the other choices are checked and skipped */
	for (;;) {
		scan_ws(s);
		if (s->p >= s->e)
			return -1;
		if (*s->p++ == ']')
			return 0;
		if (s->p[-1] != ',' || scan_value(s))
			return -1;
	}
}

int chat_parse_reply_fast(const char *body, size_t len, struct target_reply *out)
{
	struct scan s = { body, body + len, 0 };
	struct fast_reply f = { STRBUF_INIT, 0, STRBUF_INIT, 0, -1, -1 };
	int seen_error = 0, seen_choices = 0, seen_usage = 0, r, ret = 1;

	if (!body || !len || scan_object_begin(&s))
		goto out;
	do {
		const char *k;
		size_t n;

		if (scan_key(&s, &k, &n))
			goto out;
		if (!seen_error && KEY_IS(k, n, "error")) {
			/* an error object: the tree says what it holds */
			seen_error = 1;
			r = scan_literal(&s, "null", 4);
		} else if (!seen_choices && KEY_IS(k, n, "choices")) {
			seen_choices = 1;
			r = scan_choices(&s, &f);
		} else if (!seen_usage && KEY_IS(k, n, "usage")) {
			seen_usage = 1;
			r = scan_usage(&s, &f);
		} else {
			r = scan_value(&s);
		}
		if (r)
			goto out;
	} while (!(r = scan_next(&s)));
	scan_ws(&s);
	if (r < 0 || !seen_choices || s.p != s.e)
		goto out;

	target_reply_release(out);
	out->output = strbuf_detach(&f.text, &out->output_len);
	out->finish_reason = f.has_finish ? strbuf_detach(&f.finish, NULL) : NULL;
	out->prompt_tokens = f.prompt_tokens;
	out->completion_tokens = f.completion_tokens;
	ret = 0;
out:
	strbuf_release(&f.text);
	strbuf_release(&f.finish);
	return ret;
}

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

enum target_parse chat_parse_reply_tree(const char *body, size_t len, struct target_reply *out,
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

enum target_parse chat_parse_reply(const char *body, size_t len, struct target_reply *out,
				   struct strbuf *why)
{
	if (!chat_parse_reply_fast(body, len, out))
		return TARGET_REPLY_OK;
	return chat_parse_reply_tree(body, len, out, why);
}

static enum target_parse chat_target_reply(const struct target *t, const char *body, size_t len,
					   struct target_reply *out, struct strbuf *why)
{
	return chat_parse_reply(body, len, out, why);
}

/* ------------------------------------------------------------ the agent loop */

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
