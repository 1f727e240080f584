/*
 * mock_gateway: an HTTP server speaking the OpenAI chat-completions protocol,
 * standing in for the model in tests, the demo and the benchmarks.
 *
 * One thread per connection (libmicrohttpd), so a delayed or hanging reply
 * holds only its own connection. Replies are driven by a JSONL script of
 * rules (see tests/mock/README.md); without a matching rule the reply echoes
 * the last user message. Counters live in one hash table under a mutex.
 *
 * Ownership: the struct mock and its rules live for the whole process; each
 * connection's struct request is created by the access handler and freed by
 * the completion callback.
 */
#define _GNU_SOURCE /* POLLRDHUP */

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <pcre2.h>

#include "error.h"
#include "jsonutil.h"
#include "jsonw.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

#define MAX_BODY (64u << 20)          /* request bodies beyond this get 413 */
#define BIG_CONTENT (10u << 20)       /* content bytes of the "big" fault */
#define CREATED 1700000000            /* fixed "created" so replies are deterministic */
#define CONN_TIMEOUT_S 600u           /* idle timeout; hang tests are ended by the client */
#define THREAD_STACK (2u << 20)

enum fault_kind {
	FAULT_NONE = 0,
	FAULT_STATUS,         /* an HTTP error status with OpenAI error JSON */
	FAULT_RESET,          /* close the connection without a response */
	FAULT_HANG,           /* never answer */
	FAULT_TRUNCATED,      /* 200, body cut in the middle of the JSON */
	FAULT_EMPTY_CHOICES,  /* 200, "choices": [] */
	FAULT_BIG,            /* 200, content of BIG_CONTENT bytes */
	FAULT_BAD_JSON,       /* 200, not JSON at all */
	FAULT_NO_CONTENT,     /* 200, message without content */
	FAULT_STREAM_ERROR,   /* streamed: an error event after fault_after chunks, no [DONE] */
	FAULT_STREAM_DROP,    /* streamed: the connection dropped after fault_after chunks */
	FAULT_STREAM_NO_DONE, /* streamed: every chunk but the final [DONE] */
};

struct fault_type {
	const char *name;     /* as written in the script */
	enum fault_kind kind;
	unsigned status;      /* for FAULT_STATUS */
	const char *type;     /* error.type for FAULT_STATUS */
	const char *code;     /* error.code, NULL for null */
};

static const struct fault_type fault_types[] = {
	{ "429", FAULT_STATUS, 429, "requests", "rate_limit_exceeded" },
	{ "500", FAULT_STATUS, 500, "server_error", NULL },
	{ "503", FAULT_STATUS, 503, "server_error", "service_unavailable" },
	{ "408", FAULT_STATUS, 408, "timeout", "request_timeout" },
	{ "401", FAULT_STATUS, 401, "invalid_request_error", "invalid_api_key" },
	{ "403", FAULT_STATUS, 403, "permission_error", "forbidden" },
	{ "reset", FAULT_RESET, 0, NULL, NULL },
	{ "hang", FAULT_HANG, 0, NULL, NULL },
	{ "truncated", FAULT_TRUNCATED, 200, NULL, NULL },
	{ "empty_choices", FAULT_EMPTY_CHOICES, 200, NULL, NULL },
	{ "big", FAULT_BIG, 200, NULL, NULL },
	{ "bad_json", FAULT_BAD_JSON, 200, NULL, NULL },
	{ "no_content", FAULT_NO_CONTENT, 200, NULL, NULL },
	{ "stream_error", FAULT_STREAM_ERROR, 200, NULL, NULL },
	{ "stream_drop", FAULT_STREAM_DROP, 200, NULL, NULL },
	{ "stream_no_done", FAULT_STREAM_NO_DONE, 200, NULL, NULL },
};

struct header {
	char *name;
	char *value;
};

struct rule {
	int line;                     /* in the script, for messages */
	/* match: every field given must match */
	char *case_id;                /* x-evalgate-case, exact */
	char *suite;                  /* x-evalgate-suite, exact */
	char *model;                  /* body model, exact */
	char *match;                  /* substring of the last user message */
	pcre2_code *re;               /* match_re on the last user message */
	long step;                    /* the request's agent step (1 + tool-call rounds before it), 0 any */
	long turn;                    /* the request's conversation turn (its user messages), 0 any */
	/* action */
	char *reply;                  /* may hold {{input}}, and NULs (\u0000 in the script) */
	size_t reply_len;
	char **replies;               /* cycled per case id */
	size_t nr_replies;
	double pass_p;                /* chance of reply, else fail_reply; < 0: always reply */
	char *fail_reply;             /* the other answer when pass_p is given */
	char *finish_reason;          /* "stop" unless given */
	int usage;                    /* 0: omit the usage object */
	long usage_prompt;            /* prompt_tokens to report; -1: the word count */
	long usage_completion;        /* completion_tokens to report; -1: the word count */
	long latency_ms;              /* -1: the --latency-ms default */
	const struct fault_type *fault; /* NULL: none */
	long times;                   /* -1: the fault is permanent */
	char *retry_after;            /* Retry-After value on faults, or NULL */
	long retry_after_ms;          /* retry-after-ms on faults, -1 none */
	struct header *headers;       /* extra response headers */
	size_t nr_headers;
	/* a streamed reply (the request asked for "stream": true) */
	long ttft_ms;                 /* delay before the first content chunk; -1: latency_ms */
	long itl_ms;                  /* delay before each later content chunk */
	long chunks;                  /* content chunks; 0: one per word */
	long fault_after;             /* content chunks sent before a stream fault */
	cJSON *tool_calls;            /* [{name, arguments, id?}]: reply with these calls, or NULL */
};

struct case_entry {
	struct case_entry *next;      /* bucket chain */
	unsigned long count;          /* requests for this case id */
	unsigned long *rule_hits;     /* per rule: requests of this case it matched */
	char key[];                   /* the case id ("" without the header) */
};

struct case_table {
	struct case_entry **buckets;
	size_t nr_buckets;            /* a power of two */
	size_t nr;                    /* entries */
};

struct mock {
	struct rule *rules;
	size_t nr_rules;
	long latency_ms;              /* default reply delay */
	unsigned long seed;           /* --seed: mixed into every pass_p draw */
	char *key;                    /* --require-key, never printed */
	FILE *log;                    /* or NULL */
	pthread_mutex_t log_lock;
	pthread_mutex_t stats_lock;   /* guards total, seq and cases */
	unsigned long total;          /* chat requests since start or /reset */
	unsigned long seq;            /* id of the last reply */
	struct case_table cases;
	int stop_pipe[2];             /* readable once shutdown has begun */
	atomic_int stopping;
	long storm_every;             /* --storm-every N: every Nth chat request is a 429; 0: none */
	long storm_ms;                /* --storm-seconds, as ms from the first chat request */
	atomic_long storm_seen;       /* chat requests counted by the storm */
	atomic_long storm_429;        /* the 429s it sent */
	double storm_start_ms;        /* the first chat request's arrival; 0: none yet (stats_lock) */
	long drop_reused;             /* --drop-reused N: every Nth chat request on a used connection is dropped; 0: none */
	atomic_long reused_seen;      /* chat requests that arrived on a used connection */
	atomic_long dropped;          /* the requests it dropped */
};

/* the events of a streamed reply, sent one piece at a time by stream_reader */
struct stream_plan {
	struct strbuf *pieces;        /* each one or more whole events */
	double start_ms;              /* when the request arrived (now_ms clock) */
	long *at_ms;                  /* when each piece is due, from start_ms */
	size_t n, alloc;
	size_t next;                  /* the piece being sent */
	size_t off;                   /* bytes of it sent */
	size_t drop_at;               /* close the connection at this piece; SIZE_MAX never */
};

/* per connection request state */
struct request {
	struct strbuf body;           /* max MAX_BODY, overflow means 413 */
	double arrived_ms;            /* when its headers arrived (now_ms clock) */
};

enum action {
	ACT_SEND,
	ACT_RESET,
	ACT_HANG,
};

/* what to do with one chat request */
struct outcome {
	enum action action;
	unsigned status;
	const char *content_type;
	struct strbuf body;
	size_t send_len;              /* bytes of body to send, SIZE_MAX for all */
	long delay_ms;
	const struct rule *rule;      /* matched rule or NULL */
	const struct fault_type *fault; /* applied fault or NULL */
	struct stream_plan *stream;   /* a streamed reply, or NULL */
};

static struct mock mock;

/* ---------- small helpers ---------- */

static size_t count_words(const char *s)
{
	size_t n = 0;
	int in_word = 0;

	for (; *s; s++) {
		if (isspace((unsigned char)*s)) {
			in_word = 0;
		} else if (!in_word) {
			in_word = 1;
			n++;
		}
	}
	return n;
}

/* text of a message's content: a string, or the text parts of an array */
static void content_text(const cJSON *content, struct strbuf *out)
{
	const cJSON *part;

	if (cJSON_IsString(content)) {
		strbuf_addstr(out, content->valuestring);
		return;
	}
	if (!cJSON_IsArray(content))
		return;
	cJSON_ArrayForEach(part, content) {
		const cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");

		if (!cJSON_IsString(text))
			continue;
		if (out->len)
			strbuf_addch(out, '\n');
		strbuf_addstr(out, text->valuestring);
	}
}

/* tmpl with {{input}} as the last user message and {{tool_result}} as the last tool message */
static void replace_input_n(struct strbuf *out, const char *tmpl, size_t len, const char *input,
			    const char *tool_result)
{
	static const char tag[] = "{{input}}", ttag[] = "{{tool_result}}";
	const char *p, *q, *e = tmpl + len;

	for (;;) {
		p = memmem(tmpl, (size_t)(e - tmpl), tag, sizeof(tag) - 1);
		q = memmem(tmpl, (size_t)(e - tmpl), ttag, sizeof(ttag) - 1);
		if (!p && !q)
			break;
		if (p && (!q || p < q)) {
			strbuf_add(out, tmpl, (size_t)(p - tmpl));
			strbuf_addstr(out, input);
			tmpl = p + sizeof(tag) - 1;
		} else {
			strbuf_add(out, tmpl, (size_t)(q - tmpl));
			strbuf_addstr(out, tool_result ? tool_result : "");
			tmpl = q + sizeof(ttag) - 1;
		}
	}
	strbuf_add(out, tmpl, (size_t)(e - tmpl));
}

static void replace_input(struct strbuf *out, const char *tmpl, const char *input,
			  const char *tool_result)
{
	replace_input_n(out, tmpl, strlen(tmpl), input, tool_result);
}

/* a JSON string of len bytes of s: a raw value when it holds a NUL, which cJSON would cut */
static cJSON *string_node(const char *s, size_t len)
{
	struct strbuf sb = STRBUF_INIT;
	cJSON *v;

	if (!memchr(s, '\0', len))
		return cJSON_CreateString(s);
	jsonw_add_str(&sb, s, len, 0);
	v = cJSON_CreateRaw(sb.buf);
	strbuf_release(&sb);
	return v;
}

/* a rule's tool_calls as OpenAI sends them: ids call_SEQ_N, arguments as text */
static cJSON *tool_calls_json(const cJSON *calls, unsigned long seq)
{
	cJSON *arr = cJSON_CreateArray();
	const cJSON *c;
	int i = 0;

	cJSON_ArrayForEach(c, calls) {
		cJSON *tc = cJSON_CreateObject(), *fn = cJSON_CreateObject();
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "id");
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(c, "name");
		const cJSON *args = cJSON_GetObjectItemCaseSensitive(c, "arguments");
		char buf[64];

		snprintf(buf, sizeof(buf), "call_%lu_%d", seq, i++);
		cJSON_AddStringToObject(tc, "id", cJSON_IsString(id) ? id->valuestring : buf);
		cJSON_AddStringToObject(tc, "type", "function");
		cJSON_AddStringToObject(fn, "name", cJSON_IsString(name) ? name->valuestring : "");
		if (cJSON_IsString(args)) {
			cJSON_AddStringToObject(fn, "arguments", args->valuestring);
		} else {
			char *t = args ? cJSON_PrintUnformatted(args) : NULL;

			cJSON_AddStringToObject(fn, "arguments", t ? t : "{}");
			cJSON_free(t);
		}
		cJSON_AddItemToObject(tc, "function", fn);
		cJSON_AddItemToArray(arr, tc);
	}
	return arr;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/*
 * Sleep ms milliseconds or until shutdown begins, whichever is first.
 * Returns 0 when the time ran out, -1 on shutdown.
 */
static int wait_ms(long ms)
{
	double end = now_ms() + (double)ms;
	struct pollfd pfd = { .fd = mock.stop_pipe[0], .events = POLLIN };

	for (;;) {
		double left = end - now_ms();

		if (atomic_load(&mock.stopping))
			return -1;
		if (left <= 0)
			return 0;
		if (left > 1000)
			left = 1000;
		if (poll(&pfd, 1, (int)left + (left > (int)left)) > 0)
			return -1;
	}
}

/* Wait until the client closes the connection or shutdown begins. */
static void hang(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci;
	struct pollfd pfd[2];
	nfds_t n = 1;

	pfd[0].fd = mock.stop_pipe[0];
	pfd[0].events = POLLIN;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci) {
		pfd[1].fd = ci->connect_fd;
		pfd[1].events = POLLRDHUP; /* peer closed; HUP and ERR are implied */
		n = 2;
	}
	while (!atomic_load(&mock.stopping)) {
		int r = poll(pfd, n, 1000);

		if (r < 0 && errno != EINTR)
			break;
		if (r > 0)
			break;
	}
}

/* ---------- counters ---------- */

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static void case_table_grow(struct case_table *t)
{
	size_t n = t->nr_buckets ? t->nr_buckets * 2 : 256;
	struct case_entry **b = xcalloc(n, sizeof(*b));
	size_t i;

	for (i = 0; i < t->nr_buckets; i++) {
		struct case_entry *e = t->buckets[i], *next;

		for (; e; e = next) {
			size_t j = hash_str(e->key) & (n - 1);

			next = e->next;
			e->next = b[j];
			b[j] = e;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nr_buckets = n;
}

static struct case_entry *case_table_get(struct case_table *t, const char *key)
{
	struct case_entry *e;
	size_t i, len;

	if (t->nr >= t->nr_buckets)
		case_table_grow(t);
	i = hash_str(key) & (t->nr_buckets - 1);
	for (e = t->buckets[i]; e; e = e->next)
		if (!strcmp(e->key, key))
			return e;
	len = strlen(key);
	e = xmalloc(sizeof(*e) + len + 1);
	memcpy(e->key, key, len + 1);
	e->count = 0;
	e->rule_hits = xcalloc(mock.nr_rules ? mock.nr_rules : 1, sizeof(*e->rule_hits));
	e->next = t->buckets[i];
	t->buckets[i] = e;
	t->nr++;
	return e;
}

static void case_table_release(struct case_table *t)
{
	size_t i;

	for (i = 0; i < t->nr_buckets; i++) {
		struct case_entry *e = t->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e->rule_hits);
			free(e);
		}
	}
	free(t->buckets);
	t->buckets = NULL;
	t->nr_buckets = 0;
	t->nr = 0;
}

/*
 * Count one chat request for case_id; rule is the index of the matched
 * rule or -1. Sets the reply id, the 1-based attempt for the case and how
 * many earlier requests of the case the rule matched.
 */
static void count_request(const char *case_id, long rule, unsigned long *seq,
			  unsigned long *attempt, unsigned long *rule_hits)
{
	struct case_entry *e;

	pthread_mutex_lock(&mock.stats_lock);
	e = case_table_get(&mock.cases, case_id);
	mock.total++;
	*seq = ++mock.seq;
	*attempt = ++e->count;
	*rule_hits = 0;
	if (rule >= 0)
		*rule_hits = e->rule_hits[rule]++;
	pthread_mutex_unlock(&mock.stats_lock);
}

static int cmp_entries(const void *a, const void *b)
{
	const struct case_entry *const *x = a, *const *y = b;

	return strcmp((*x)->key, (*y)->key);
}

static char *stats_json(void)
{
	cJSON *root = cJSON_CreateObject(), *by = cJSON_CreateObject();
	struct case_entry **all;
	size_t i, n = 0;
	char *out;

	pthread_mutex_lock(&mock.stats_lock);
	all = xcalloc(mock.cases.nr ? mock.cases.nr : 1, sizeof(*all));
	for (i = 0; i < mock.cases.nr_buckets; i++) {
		struct case_entry *e;

		for (e = mock.cases.buckets[i]; e; e = e->next)
			all[n++] = e;
	}
	qsort(all, n, sizeof(*all), cmp_entries);
	cJSON_AddNumberToObject(root, "requests", (double)mock.total);
	cJSON_AddNumberToObject(root, "storm_429", (double)atomic_load(&mock.storm_429));
	cJSON_AddNumberToObject(root, "dropped", (double)atomic_load(&mock.dropped));
	for (i = 0; i < n; i++)
		cJSON_AddNumberToObject(by, all[i]->key, (double)all[i]->count);
	pthread_mutex_unlock(&mock.stats_lock);
	free(all);
	cJSON_AddItemToObject(root, "by_case", by);
	out = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return out;
}

static void stats_reset(void)
{
	pthread_mutex_lock(&mock.stats_lock);
	case_table_release(&mock.cases);
	mock.total = 0;
	mock.seq = 0;
	pthread_mutex_unlock(&mock.stats_lock);
	atomic_store(&mock.dropped, 0);
}

/* ---------- replies ---------- */

static void add_json(struct strbuf *out, cJSON *root)
{
	char *s = cJSON_PrintUnformatted(root);

	if (!s) {
		strbuf_addstr(out, "{}");
		return;
	}
	strbuf_addstr(out, s);
	cJSON_free(s);
}

static void error_json(struct strbuf *out, const char *message, const char *type,
		       const char *code)
{
	cJSON *root = cJSON_CreateObject(), *err = cJSON_CreateObject();

	cJSON_AddStringToObject(err, "message", message);
	cJSON_AddStringToObject(err, "type", type);
	cJSON_AddNullToObject(err, "param");
	if (code)
		cJSON_AddStringToObject(err, "code", code);
	else
		cJSON_AddNullToObject(err, "code");
	cJSON_AddItemToObject(root, "error", err);
	add_json(out, root);
	cJSON_Delete(root);
}

static void outcome_error(struct outcome *o, unsigned status, const char *message,
			  const char *type, const char *code)
{
	o->status = status;
	strbuf_reset(&o->body);
	error_json(&o->body, message, type, code);
}

/* the usage object of a reply with this content, added to root */
static void usage_json(cJSON *root, const char *content, enum fault_kind kind,
		       size_t prompt_words, long usage_prompt, long usage_completion)
{
	cJSON *u = cJSON_AddObjectToObject(root, "usage");
	size_t c = kind == FAULT_EMPTY_CHOICES || kind == FAULT_NO_CONTENT ?
		   0 : count_words(content);

	if (usage_prompt >= 0)
		prompt_words = (size_t)usage_prompt;
	if (usage_completion >= 0)
		c = (size_t)usage_completion;

	cJSON_AddNumberToObject(u, "prompt_tokens", (double)prompt_words);
	cJSON_AddNumberToObject(u, "completion_tokens", (double)c);
	cJSON_AddNumberToObject(u, "total_tokens", (double)(prompt_words + c));
}

static void completion_json(struct strbuf *out, unsigned long seq, const char *model,
			    const char *content, size_t content_len, const cJSON *tool_calls, enum fault_kind kind,
			    const char *finish_reason, int usage, size_t prompt_words,
			    long usage_prompt, long usage_completion)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *choices = cJSON_AddArrayToObject(root, "choices");
	char id[64];

	snprintf(id, sizeof(id), "chatcmpl-mock-%lu", seq);
	/* keep the usual key order: id, object, created, model, choices, usage */
	cJSON_DetachItemViaPointer(root, choices);
	cJSON_AddStringToObject(root, "id", id);
	cJSON_AddStringToObject(root, "object", "chat.completion");
	cJSON_AddNumberToObject(root, "created", CREATED);
	cJSON_AddStringToObject(root, "model", model);
	cJSON_AddItemToObject(root, "choices", choices);
	if (kind != FAULT_EMPTY_CHOICES) {
		cJSON *choice = cJSON_CreateObject();
		cJSON *msg = cJSON_CreateObject();

		cJSON_AddNumberToObject(choice, "index", 0);
		cJSON_AddStringToObject(msg, "role", "assistant");
		if (tool_calls && !*content)
			cJSON_AddNullToObject(msg, "content");
		else if (kind != FAULT_NO_CONTENT)
			cJSON_AddItemToObject(msg, "content", string_node(content, content_len));
		if (tool_calls)
			cJSON_AddItemToObject(msg, "tool_calls", tool_calls_json(tool_calls, seq));
		cJSON_AddItemToObject(choice, "message", msg);
		cJSON_AddStringToObject(choice, "finish_reason", finish_reason);
		cJSON_AddItemToArray(choices, choice);
	}
	if (usage)
		usage_json(root, content, kind, prompt_words, usage_prompt, usage_completion);
	add_json(out, root);
	cJSON_Delete(root);
}

static char *big_content(void)
{
	static const char words[] = "lorem ipsum dolor sit amet ";
	char *s = xmalloc(BIG_CONTENT + 1);
	size_t i;

	for (i = 0; i < BIG_CONTENT; i++)
		s[i] = words[i % (sizeof(words) - 1)];
	s[BIG_CONTENT - 1] = '.';
	s[BIG_CONTENT] = '\0';
	return s;
}

/* ---------- rules ---------- */

static int rule_matches(const struct rule *r, const char *case_id, const char *suite,
			const char *model, const char *user, long step, long turn)
{
	int ok = 1;

	if (r->step && r->step != step)
		return 0;
	if (r->turn && r->turn != turn)
		return 0;
	if (r->case_id && strcmp(r->case_id, case_id))
		return 0;
	if (r->suite && strcmp(r->suite, suite))
		return 0;
	if (r->model && strcmp(r->model, model))
		return 0;
	if (r->match && !strstr(user, r->match))
		return 0;
	if (r->re) {
		pcre2_match_data *md = pcre2_match_data_create_from_pattern(r->re, NULL);

		if (!md)
			return 0;
		ok = pcre2_match(r->re, (PCRE2_SPTR)user, strlen(user), 0, 0, md, NULL) >= 0;
		pcre2_match_data_free(md);
	}
	return ok;
}

static long find_rule(const char *case_id, const char *suite, const char *model,
		      const char *user, long step, long turn)
{
	size_t i;

	for (i = 0; i < mock.nr_rules; i++)
		if (rule_matches(&mock.rules[i], case_id, suite, model, user, step, turn))
			return (long)i;
	return -1;
}

static void rule_release(struct rule *r)
{
	size_t i;

	free(r->case_id);
	free(r->suite);
	free(r->model);
	free(r->match);
	pcre2_code_free(r->re);
	free(r->reply);
	free(r->fail_reply);
	for (i = 0; i < r->nr_replies; i++)
		free(r->replies[i]);
	free(r->replies);
	free(r->finish_reason);
	free(r->retry_after);
	for (i = 0; i < r->nr_headers; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	cJSON_Delete(r->tool_calls);
}

static int get_string(const char *file, int line, const cJSON *v, char **dst)
{
	if (!cJSON_IsString(v))
		return error_at(file, line, v->string, "must be a string");
	*dst = xstrdup(v->valuestring);
	return 0;
}

/* a string with its NULs (\u0000) from the rule's text */
static int get_bytes(const char *file, int line, const char *text, const cJSON *root,
		     const cJSON *v, char **dst, size_t *len)
{
	struct strbuf sb = STRBUF_INIT;

	if (!cJSON_IsString(v))
		return error_at(file, line, v->string, "must be a string");
	json_string_bytes(&sb, text, strlen(text), root, v);
	*dst = strbuf_detach(&sb, len);
	return 0;
}

static int get_bool(const char *file, int line, const cJSON *v, int *dst)
{
	if (!cJSON_IsBool(v))
		return error_at(file, line, v->string, "must be true or false");
	*dst = cJSON_IsTrue(v);
	return 0;
}

static int get_count(const char *file, int line, const cJSON *v, long max, long *dst)
{
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > (double)max ||
	    v->valuedouble != (double)(long)v->valuedouble)
		return error_at(file, line, v->string,
				"must be a whole number from 0 to %ld", max);
	*dst = (long)v->valuedouble;
	return 0;
}

/* usage: false to leave it out, or {"prompt_tokens": N, "completion_tokens": M} */
static int parse_usage(const char *file, int line, const cJSON *v, struct rule *r)
{
	const cJSON *c;

	if (!cJSON_IsObject(v))
		return get_bool(file, line, v, &r->usage);
	cJSON_ArrayForEach(c, v) {
		if (!strcmp(c->string, "prompt_tokens")) {
			if (get_count(file, line, c, 1000000000L, &r->usage_prompt))
				return -1;
		} else if (!strcmp(c->string, "completion_tokens")) {
			if (get_count(file, line, c, 1000000000L, &r->usage_completion))
				return -1;
		} else {
			return error_at(file, line, "usage", "unknown field '%s' (prompt_tokens, "
					"completion_tokens)", c->string);
		}
	}
	return 0;
}

static int parse_fault(const char *file, int line, const cJSON *v, struct rule *r)
{
	size_t i;

	if (!cJSON_IsString(v))
		return error_at(file, line, "fault", "must be a string");
	for (i = 0; i < sizeof(fault_types) / sizeof(fault_types[0]); i++) {
		if (!strcmp(fault_types[i].name, v->valuestring)) {
			r->fault = &fault_types[i];
			return 0;
		}
	}
	return error_at(file, line, "fault", "unknown fault '%s'", v->valuestring);
}

static int parse_regex(const char *file, int line, const cJSON *v, struct rule *r)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	int code;

	if (!cJSON_IsString(v))
		return error_at(file, line, "match_re", "must be a string");
	r->re = pcre2_compile((PCRE2_SPTR)v->valuestring, PCRE2_ZERO_TERMINATED,
			      PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &code, &off, NULL);
	if (!r->re) {
		pcre2_get_error_message(code, msg, sizeof(msg));
		return error_at(file, line, "match_re", "%s at offset %zu", (char *)msg,
				(size_t)off);
	}
	return 0;
}

static int parse_pass_p(const char *file, int line, const cJSON *v, struct rule *r)
{
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 1))
		return error_at(file, line, "pass_p", "must be a probability from 0 to 1");
	r->pass_p = v->valuedouble;
	return 0;
}

static int parse_replies(const char *file, int line, const cJSON *v, struct rule *r)
{
	const cJSON *item;
	int n = cJSON_GetArraySize(v);

	if (!cJSON_IsArray(v) || n == 0)
		return error_at(file, line, "replies", "must be a non-empty array of strings");
	r->replies = xcalloc((size_t)n, sizeof(*r->replies));
	cJSON_ArrayForEach(item, v) {
		if (!cJSON_IsString(item))
			return error_at(file, line, "replies", "must be a non-empty array of strings");
		r->replies[r->nr_replies++] = xstrdup(item->valuestring);
	}
	return 0;
}

static int parse_headers(const char *file, int line, const cJSON *v, struct rule *r)
{
	const cJSON *item;
	int n = cJSON_GetArraySize(v);

	if (!cJSON_IsObject(v))
		return error_at(file, line, "headers", "must be an object of strings");
	r->headers = xcalloc(n ? (size_t)n : 1, sizeof(*r->headers));
	cJSON_ArrayForEach(item, v) {
		if (!cJSON_IsString(item) || !*item->string ||
		    strpbrk(item->string, "\r\n: ") || strpbrk(item->valuestring, "\r\n"))
			return error_at(file, line, "headers",
					"must map header names to one-line strings");
		r->headers[r->nr_headers].name = xstrdup(item->string);
		r->headers[r->nr_headers].value = xstrdup(item->valuestring);
		r->nr_headers++;
	}
	return 0;
}

static int parse_retry_after(const char *file, int line, const cJSON *v, struct rule *r)
{
	char buf[64];

	if (cJSON_IsNumber(v) && v->valuedouble >= 0) {
		snprintf(buf, sizeof(buf), "%g", v->valuedouble);
		r->retry_after = xstrdup(buf);
		return 0;
	}
	if (!cJSON_IsString(v) || strpbrk(v->valuestring, "\r\n"))
		return error_at(file, line, "retry_after", "must be a one-line string");
	r->retry_after = xstrdup(v->valuestring);
	return 0;
}

static int parse_rule(const char *file, int line, const char *text, struct rule *r)
{
	cJSON *root = cJSON_Parse(text);
	const cJSON *v;
	int ret = 0;

	memset(r, 0, sizeof(*r));
	r->line = line;
	r->usage = 1;
	r->usage_prompt = r->usage_completion = -1;
	r->latency_ms = -1;
	r->times = -1;
	r->retry_after_ms = -1;
	r->ttft_ms = -1;
	r->fault_after = 1;
	r->pass_p = -1;
	if (!cJSON_IsObject(root)) {
		ret = error_at(file, line, NULL, "not a JSON object");
		goto out_free_json;
	}
	cJSON_ArrayForEach(v, root) {
		const char *k = v->string;

		if (!strcmp(k, "case"))
			ret = get_string(file, line, v, &r->case_id);
		else if (!strcmp(k, "suite"))
			ret = get_string(file, line, v, &r->suite);
		else if (!strcmp(k, "model"))
			ret = get_string(file, line, v, &r->model);
		else if (!strcmp(k, "match"))
			ret = get_string(file, line, v, &r->match);
		else if (!strcmp(k, "match_re"))
			ret = parse_regex(file, line, v, r);
		else if (!strcmp(k, "reply"))
			ret = get_bytes(file, line, text, root, v, &r->reply, &r->reply_len);
		else if (!strcmp(k, "replies"))
			ret = parse_replies(file, line, v, r);
		else if (!strcmp(k, "pass_p"))
			ret = parse_pass_p(file, line, v, r);
		else if (!strcmp(k, "fail_reply"))
			ret = get_string(file, line, v, &r->fail_reply);
		else if (!strcmp(k, "finish_reason"))
			ret = get_string(file, line, v, &r->finish_reason);
		else if (!strcmp(k, "usage"))
			ret = parse_usage(file, line, v, r);
		else if (!strcmp(k, "latency_ms"))
			ret = get_count(file, line, v, 3600000, &r->latency_ms);
		else if (!strcmp(k, "fault"))
			ret = parse_fault(file, line, v, r);
		else if (!strcmp(k, "times"))
			ret = get_count(file, line, v, LONG_MAX / 2, &r->times);
		else if (!strcmp(k, "retry_after"))
			ret = parse_retry_after(file, line, v, r);
		else if (!strcmp(k, "retry_after_ms"))
			ret = get_count(file, line, v, 3600000, &r->retry_after_ms);
		else if (!strcmp(k, "headers"))
			ret = parse_headers(file, line, v, r);
		else if (!strcmp(k, "ttft_ms"))
			ret = get_count(file, line, v, 3600000, &r->ttft_ms);
		else if (!strcmp(k, "itl_ms"))
			ret = get_count(file, line, v, 3600000, &r->itl_ms);
		else if (!strcmp(k, "chunks"))
			ret = get_count(file, line, v, 1000000, &r->chunks);
		else if (!strcmp(k, "fault_after"))
			ret = get_count(file, line, v, 1000000, &r->fault_after);
		else if (!strcmp(k, "step"))
			ret = get_count(file, line, v, 100000, &r->step);
		else if (!strcmp(k, "turn"))
			ret = get_count(file, line, v, 100000, &r->turn);
		else if (!strcmp(k, "tool_calls")) {
			if (!cJSON_IsArray(v))
				ret = error_at(file, line, k, "expected an array of {name, arguments}");
			else
				r->tool_calls = cJSON_Duplicate(v, 1);
		}
		else
			ret = error_at(file, line, k, "unknown field");
		if (ret)
			goto out_free_json;
	}
	if (r->reply && r->replies)
		ret = error_at(file, line, "replies", "give either reply or replies, not both");
	else if (r->times >= 0 && !r->fault)
		ret = error_at(file, line, "times", "needs a fault");
	else if (r->pass_p >= 0 && !r->reply)
		ret = error_at(file, line, "pass_p", "needs a reply");
	else if (r->fail_reply && r->pass_p < 0)
		ret = error_at(file, line, "fail_reply", "needs pass_p");
	if (r->finish_reason && strpbrk(r->finish_reason, "\r\n"))
		ret = error_at(file, line, "finish_reason", "must be one line");
out_free_json:
	cJSON_Delete(root);
	return ret;
}

static int load_script(const char *file)
{
	FILE *fp = fopen(file, "r");
	char *line = NULL;
	size_t cap = 0, alloc = 0;
	ssize_t len;
	int lineno = 0, ret = 0;

	if (!fp)
		return error("cannot open script %s: %s", file, strerror(errno));
	while ((len = getline(&line, &cap, fp)) >= 0) {
		const char *p = line;
		struct rule r;

		lineno++;
		if ((size_t)len != strlen(line)) {
			ret = error_at(file, lineno, NULL, "NUL byte in line");
			break;
		}
		while (isspace((unsigned char)*p))
			p++;
		if (!*p || *p == '#')
			continue;
		if (parse_rule(file, lineno, p, &r)) {
			rule_release(&r);
			ret = -1;
			break;
		}
		XGROW(mock.rules, mock.nr_rules + 1, alloc);
		mock.rules[mock.nr_rules++] = r;
	}
	if (!ret && ferror(fp))
		ret = error("cannot read script %s: %s", file, strerror(errno));
	free(line);
	fclose(fp);
	return ret;
}

/* ---------- the chat endpoint ---------- */

struct chat_info {
	const char *case_id;
	const char *suite;
	const char *run;
	char *model;                  /* "" when absent */
	char *user;                   /* last user message, "" when none */
	int stream;                   /* the body asked for "stream": true */
	int include_usage;            /* and stream_options.include_usage */
	double arrived_ms;            /* when the request's headers arrived (now_ms clock) */
	char *tool_result;            /* last tool message, or NULL */
	struct strbuf assistant;      /* the assistant messages' contents: JSON strings
					 (NULs as \u0000), comma-separated */
	long step;                    /* 1 + assistant messages with tool_calls */
	long turn;                    /* user messages */
	char *roles;                  /* the messages' roles, comma-separated */
	int authorized;
	unsigned long attempt;
};

static const char *header_or_empty(struct MHD_Connection *conn, const char *name)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);

	return v ? v : "";
}

static int check_key(struct MHD_Connection *conn)
{
	const char *auth;
	size_t klen;

	if (!mock.key)
		return 1;
	auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	if (!auth || strncasecmp(auth, "Bearer ", 7))
		return 0;
	auth += 7;
	while (*auth == ' ')
		auth++;
	klen = strlen(mock.key);
	return !strncmp(auth, mock.key, klen) && auth[klen] == '\0';
}

/* parse the body; on failure fill o with a 400 and return -1 */
static int parse_chat(struct request *req, struct chat_info *ci, size_t *prompt_words,
		      struct outcome *o)
{
	cJSON *root, *msgs, *model, *m;
	struct strbuf user = STRBUF_INIT, roles = STRBUF_INIT;
	size_t words = 0;
	int ret = -1;

	root = cJSON_ParseWithLength(req->body.buf, req->body.len);
	if (!cJSON_IsObject(root)) {
		outcome_error(o, 400, "We could not parse the JSON body of your request.",
			      "invalid_request_error", NULL);
		goto out_free_json;
	}
	ci->stream = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "stream"));
	ci->include_usage = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(root, "stream_options"), "include_usage"));
	model = cJSON_GetObjectItemCaseSensitive(root, "model");
	if (cJSON_IsString(model))
		ci->model = xstrdup(model->valuestring);
	msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
	if (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) == 0) {
		outcome_error(o, 400, "'messages' must be a non-empty array",
			      "invalid_request_error", NULL);
		goto out_free_json;
	}
	if (!ci->model) {
		outcome_error(o, 400, "you must provide a model parameter",
			      "invalid_request_error", NULL);
		goto out_free_json;
	}
	cJSON_ArrayForEach(m, msgs) {
		const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
		struct strbuf text = STRBUF_INIT;

		if (!cJSON_IsObject(m) || !cJSON_IsString(role)) {
			outcome_error(o, 400, "each message needs a string 'role'",
				      "invalid_request_error", NULL);
			goto out_free_json;
		}
		content_text(cJSON_GetObjectItemCaseSensitive(m, "content"), &text);
		words += count_words(text.buf);
		if (!strcmp(role->valuestring, "assistant") &&
		    cJSON_GetObjectItemCaseSensitive(m, "tool_calls"))
			ci->step++;
		if (!strcmp(role->valuestring, "assistant")) {
			struct strbuf a = STRBUF_INIT;

			/* logged with its NULs: what the client sent back of the model's text */
			json_string_bytes(&a, req->body.buf, req->body.len, root,
					  cJSON_GetObjectItemCaseSensitive(m, "content"));
			if (ci->assistant.len)
				strbuf_addch(&ci->assistant, ',');
			jsonw_add_str(&ci->assistant, a.buf, a.len, 0);
			strbuf_release(&a);
		}
		strbuf_addf(&roles, "%s%s", roles.len ? "," : "", role->valuestring);
		if (!strcmp(role->valuestring, "user")) {
			ci->turn++;
			strbuf_release(&user);
			user = text;
		} else if (!strcmp(role->valuestring, "tool")) {
			free(ci->tool_result);
			ci->tool_result = strbuf_detach(&text, NULL);
		} else {
			strbuf_release(&text);
		}
	}
	ci->user = strbuf_detach(&user, NULL);
	ci->roles = strbuf_detach(&roles, NULL);
	*prompt_words = words;
	ret = 0;
out_free_json:
	strbuf_release(&user);
	strbuf_release(&roles);
	cJSON_Delete(root);
	return ret;
}

/* ---------- streamed replies ---------- */

static void plan_add(struct stream_plan *sp, long at_ms, cJSON *event)
{
	char *text;

	if (sp->n == sp->alloc) {
		sp->alloc = sp->alloc ? 2 * sp->alloc : 16;
		sp->pieces = xrealloc(sp->pieces, sp->alloc * sizeof(*sp->pieces));
		sp->at_ms = xrealloc(sp->at_ms, sp->alloc * sizeof(*sp->at_ms));
	}
	strbuf_init(&sp->pieces[sp->n], 0);
	sp->at_ms[sp->n] = at_ms;
	if (event) {
		text = cJSON_PrintUnformatted(event);
		strbuf_addf(&sp->pieces[sp->n], "data: %s\n\n", text ? text : "{}");
		cJSON_free(text);
		cJSON_Delete(event);
	}
	sp->n++;
}

static void plan_free(struct stream_plan *sp)
{
	size_t i;

	if (!sp)
		return;
	for (i = 0; i < sp->n; i++)
		strbuf_release(&sp->pieces[i]);
	free(sp->pieces);
	free(sp->at_ms);
	free(sp);
}

/* a chat.completion.chunk with one choice holding delta (or none when delta is NULL) */
static cJSON *chunk_json(unsigned long seq, const char *model, cJSON *delta, const char *finish)
{
	cJSON *root = cJSON_CreateObject(), *choices, *choice;
	char id[64];

	snprintf(id, sizeof(id), "chatcmpl-mock-%lu", seq);
	cJSON_AddStringToObject(root, "id", id);
	cJSON_AddStringToObject(root, "object", "chat.completion.chunk");
	cJSON_AddNumberToObject(root, "created", CREATED);
	cJSON_AddStringToObject(root, "model", model);
	choices = cJSON_AddArrayToObject(root, "choices");
	if (!delta)
		return root;
	choice = cJSON_CreateObject();
	cJSON_AddNumberToObject(choice, "index", 0);
	cJSON_AddItemToObject(choice, "delta", delta);
	if (finish)
		cJSON_AddStringToObject(choice, "finish_reason", finish);
	else
		cJSON_AddNullToObject(choice, "finish_reason");
	cJSON_AddItemToArray(choices, choice);
	return root;
}

static cJSON *content_delta(const char *text, size_t len)
{
	cJSON *d = cJSON_CreateObject();
	char *t = xstrndup(text, len);

	cJSON_AddItemToObject(d, "content", string_node(t, len));
	free(t);
	return d;
}

/* end of the n-th of chunks near-equal pieces of text (len bytes), on a UTF-8 boundary */
static size_t piece_end(const char *text, size_t len, long chunks, long i)
{
	size_t e = (size_t)((double)len * (double)(i + 1) / (double)chunks);

	while (e < len && ((unsigned char)text[e] & 0xC0) == 0x80)
		e++;
	return e;
}

/*
 * the content chunks of text: chunks near-equal pieces, or one per word (with
 * its spaces), the first due at first_ms, each later one later_ms after the
 * one before; returns when the last is due
 */
static long plan_content(struct stream_plan *sp, const struct rule *r, unsigned long seq,
			 const char *model, const char *text, size_t len, long first_ms,
			 long later_ms, long stop_after)
{
	long at = first_ms;
	size_t start = 0, end;
	long chunks = r ? r->chunks : 0, i;

	for (i = 0; start < len && i < stop_after; i++) {
		if (chunks > 0) {
			end = piece_end(text, len, chunks, i);
		} else {
			end = start;
			while (end < len && text[end] != ' ')
				end++;
			while (end < len && text[end] == ' ')
				end++;
		}
		if (end <= start)
			continue;
		at = first_ms + i * later_ms;
		plan_add(sp, at, chunk_json(seq, model, content_delta(text + start, end - start), NULL));
		start = end;
	}
	return at;
}

/* the whole stream of a reply: role, content chunks, finish, usage, [DONE]; or its fault */
static struct stream_plan *plan_stream(const struct rule *r, unsigned long seq,
				       const struct chat_info *ci, const char *text, size_t len,
				       enum fault_kind kind, const char *finish, cJSON *usage,
				       long delay_ms, double start_ms)
{
	struct stream_plan *sp = xcalloc(1, sizeof(*sp));
	long first = r && r->ttft_ms >= 0 ? r->ttft_ms : delay_ms;
	long later = r ? r->itl_ms : 0;
	int faulty = kind == FAULT_STREAM_ERROR || kind == FAULT_STREAM_DROP;
	long stop = faulty ? (r ? r->fault_after : 1) : LONG_MAX;
	cJSON *d = cJSON_CreateObject();
	long last;

	sp->start_ms = start_ms;
	sp->drop_at = SIZE_MAX;
	cJSON_AddStringToObject(d, "role", "assistant");
	cJSON_AddStringToObject(d, "content", "");
	plan_add(sp, 0, chunk_json(seq, ci->model, d, NULL));
	last = plan_content(sp, r, seq, ci->model, text, len, first, later, stop);
	if (kind == FAULT_STREAM_ERROR) {
		cJSON *e = cJSON_CreateObject(), *err = cJSON_AddObjectToObject(e, "error");

		cJSON_AddStringToObject(err, "message", "mock stream error");
		cJSON_AddStringToObject(err, "type", "server_error");
		plan_add(sp, last + later, e);
	} else if (kind == FAULT_STREAM_DROP) {
		sp->drop_at = sp->n;
		plan_add(sp, last + later, NULL);
	} else {
		plan_add(sp, last, chunk_json(seq, ci->model, cJSON_CreateObject(), finish));
		if (usage) {
			cJSON *u = chunk_json(seq, ci->model, NULL, NULL);

			cJSON_AddItemToObject(u, "usage", usage);
			usage = NULL;
			plan_add(sp, last, u);
		}
		if (kind != FAULT_STREAM_NO_DONE) {
			plan_add(sp, last, NULL);
			strbuf_addstr(&sp->pieces[sp->n - 1], "data: [DONE]\n\n");
		}
	}
	cJSON_Delete(usage);
	return sp;
}

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream_plan *sp = cls;
	size_t n;

	if (sp->next == sp->n)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (sp->next == sp->drop_at)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (!sp->off) {
		/* due times count from the request's arrival: processing it takes none of them */
		double wait = sp->start_ms + (double)sp->at_ms[sp->next] - now_ms();

		if (wait > 0 && wait_ms((long)wait + (wait > (double)(long)wait)))
			return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	n = sp->pieces[sp->next].len - sp->off;
	if (n > max)
		n = max;
	memcpy(buf, sp->pieces[sp->next].buf + sp->off, n);
	sp->off += n;
	if (sp->off == sp->pieces[sp->next].len) {
		sp->next++;
		sp->off = 0;
	}
	return (ssize_t)n;
}

static void stream_free(void *cls)
{
	plan_free(cls);
}

/*
 * whether a pass_p rule sends its reply to this request: a uniform draw from
 * a hash of --seed, the run id, the case id and the case's attempt, so each
 * run (and each repeat) draws afresh and the same inputs draw the same
 */
static int draw_pass(const struct rule *r, const struct chat_info *ci)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	char num[64];
	const char *parts[4];
	size_t i;

	snprintf(num, sizeof(num), "%lu/%lu", mock.seed, ci->attempt);
	parts[0] = num;
	parts[1] = ci->run;
	parts[2] = ci->case_id;
	parts[3] = NULL;
	for (i = 0; parts[i]; i++) {
		const unsigned char *p = (const unsigned char *)parts[i];

		for (; *p; p++)
			h = (h ^ *p) * 0x100000001b3ULL;
		h = (h ^ 0xff) * 0x100000001b3ULL; /* a separator no header holds */
	}
	/* splitmix64's finalizer spreads FNV's weak low bits */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return (double)(h >> 11) * 0x1.0p-53 < r->pass_p;
}

static void build_reply(const struct rule *r, unsigned long k, unsigned long seq,
			const struct chat_info *ci, size_t prompt_words, struct outcome *o)
{
	struct strbuf text = STRBUF_INIT;
	enum fault_kind kind = o->fault ? o->fault->kind : FAULT_NONE;
	const char *fr = r && r->finish_reason ? r->finish_reason : "stop";
	int usage = r ? r->usage : 1;
	char *big = NULL;

	o->status = 200;
	if (kind == FAULT_STATUS) {
		char msg[64];

		snprintf(msg, sizeof(msg), "mock fault %u", o->fault->status);
		outcome_error(o, o->fault->status, msg, o->fault->type, o->fault->code);
		return;
	}
	if (kind == FAULT_RESET || kind == FAULT_HANG) {
		o->action = kind == FAULT_RESET ? ACT_RESET : ACT_HANG;
		o->status = 0;
		return;
	}
	if (kind == FAULT_BAD_JSON) {
		o->content_type = "text/plain";
		strbuf_addstr(&o->body, "this is not JSON {\"choices\": [");
		return;
	}
	if (kind == FAULT_BIG)
		big = big_content();
	else if (r && r->replies)
		replace_input(&text, r->replies[k % r->nr_replies], ci->user, ci->tool_result);
	else if (r && r->reply && r->pass_p >= 0 && !draw_pass(r, ci))
		replace_input(&text, r->fail_reply ? r->fail_reply : "wrong", ci->user, ci->tool_result);
	else if (r && r->reply)
		replace_input_n(&text, r->reply, r->reply_len, ci->user, ci->tool_result);
	else if (!r || !r->tool_calls)
		strbuf_addf(&text, "echo: %s", ci->user);
	if (r && r->tool_calls && !r->finish_reason)
		fr = "tool_calls";
	if (ci->stream && (kind == FAULT_NONE || kind >= FAULT_STREAM_ERROR)) {
		cJSON *u = NULL;

		if (usage && ci->include_usage) {
			cJSON *tmp = cJSON_CreateObject();

			usage_json(tmp, text.buf, kind, prompt_words, r ? r->usage_prompt : -1,
				   r ? r->usage_completion : -1);
			u = cJSON_DetachItemFromObjectCaseSensitive(tmp, "usage");
			cJSON_Delete(tmp);
		}
		o->stream = plan_stream(r, seq, ci, text.buf, text.len, kind, fr, u, o->delay_ms,
					ci->arrived_ms);
		o->delay_ms = 0;
		strbuf_release(&text);
		return;
	}
	completion_json(&o->body, seq, ci->model, big ? big : text.buf, big ? strlen(big) : text.len,
			r ? r->tool_calls : NULL,
			kind, fr, usage,
			prompt_words, r ? r->usage_prompt : -1, r ? r->usage_completion : -1);
	if (kind == FAULT_TRUNCATED)
		o->send_len = o->body.len / 2;
	free(big);
	strbuf_release(&text);
}

static enum MHD_Result add_header_cb(void *cls, enum MHD_ValueKind kind, const char *key,
				     const char *value)
{
	cJSON *obj = cls, *old;
	char name[256];
	size_t i;

	if (!key)
		return MHD_YES;
	for (i = 0; key[i] && i < sizeof(name) - 1; i++)
		name[i] = (char)tolower((unsigned char)key[i]);
	name[i] = '\0';
	if (!strcmp(name, "authorization") || !strcmp(name, "proxy-authorization"))
		return MHD_YES;
	if (!value)
		value = "";
	if (mock.key && *mock.key && strstr(value, mock.key))
		value = "[redacted]";
	old = cJSON_GetObjectItemCaseSensitive(obj, name);
	if (cJSON_IsString(old)) {
		struct strbuf sb = STRBUF_INIT;

		strbuf_addf(&sb, "%s, %s", old->valuestring, value);
		cJSON_ReplaceItemInObjectCaseSensitive(obj, name, cJSON_CreateString(sb.buf));
		strbuf_release(&sb);
	} else {
		cJSON_AddStringToObject(obj, name, value);
	}
	return MHD_YES;
}

static void log_request(struct MHD_Connection *conn, const char *path,
			const struct chat_info *ci, const struct outcome *o)
{
	cJSON *root, *headers;
	char *line;

	if (!mock.log)
		return;
	root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "path", path);
	cJSON_AddStringToObject(root, "case", ci->case_id);
	cJSON_AddStringToObject(root, "suite", ci->suite);
	cJSON_AddStringToObject(root, "run", ci->run);
	cJSON_AddStringToObject(root, "model", ci->model ? ci->model : "");
	cJSON_AddStringToObject(root, "user", ci->user ? ci->user : "");
	cJSON_AddStringToObject(root, "roles", ci->roles ? ci->roles : "");
	cJSON_AddBoolToObject(root, "authorized", ci->authorized);
	if (ci->assistant.len) {
		struct strbuf a = STRBUF_INIT;

		strbuf_addf(&a, "[%s]", ci->assistant.buf);
		cJSON_AddItemToObject(root, "assistant", cJSON_CreateRaw(a.buf));
		strbuf_release(&a);
	}
	headers = cJSON_AddObjectToObject(root, "headers");
	MHD_get_connection_values(conn, MHD_HEADER_KIND, add_header_cb, headers);
	cJSON_AddNumberToObject(root, "status", o->status);
	cJSON_AddNumberToObject(root, "attempt", (double)ci->attempt);
	if (o->fault)
		cJSON_AddStringToObject(root, "fault", o->fault->name);
	else
		cJSON_AddNullToObject(root, "fault");
	line = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!line)
		return;
	pthread_mutex_lock(&mock.log_lock);
	fputs(line, mock.log);
	fputc('\n', mock.log);
	fflush(mock.log);
	pthread_mutex_unlock(&mock.log_lock);
	cJSON_free(line);
}

static void handle_chat(struct MHD_Connection *conn, const char *path,
			struct request *req, struct outcome *o)
{
	struct chat_info ci = { 0 };
	unsigned long seq, hits;
	size_t prompt_words = 0;
	long rule = -1;
	const struct rule *r = NULL;

	strbuf_init(&ci.assistant, 0);
	ci.case_id = header_or_empty(conn, "x-evalgate-case");
	ci.suite = header_or_empty(conn, "x-evalgate-suite");
	ci.run = header_or_empty(conn, "x-evalgate-run");
	ci.authorized = check_key(conn);
	ci.arrived_ms = req->arrived_ms;
	o->delay_ms = mock.latency_ms;

	if (req->body.overflow) {
		outcome_error(o, 413, "request body too large", "invalid_request_error", NULL);
	} else if (!ci.authorized) {
		outcome_error(o, 401, "Incorrect API key provided", "invalid_request_error",
			      "invalid_api_key");
	} else if (!parse_chat(req, &ci, &prompt_words, o)) {
		rule = find_rule(ci.case_id, ci.suite, ci.model, ci.user, ci.step + 1, ci.turn);
	}
	count_request(ci.case_id, rule, &seq, &ci.attempt, &hits);
	if (o->status == 0) {
		if (rule >= 0) {
			r = &mock.rules[rule];
			o->rule = r;
			if (r->latency_ms >= 0)
				o->delay_ms = r->latency_ms;
			if (r->fault && (r->times < 0 || hits < (unsigned long)r->times))
				o->fault = r->fault;
		}
		build_reply(r, ci.attempt - 1, seq, &ci, prompt_words, o);
	}
	log_request(conn, path, &ci, o);
	free(ci.model);
	free(ci.user);
	free(ci.roles);
	free(ci.tool_result);
	strbuf_release(&ci.assistant);
}

/* ---------- embeddings ---------- */

#define EMBED_DIM 64

/*
 * A deterministic embedding of text: a bag of its lower-cased ASCII words,
 * each hashed (FNV-1a) to a dimension and a sign, normalised to length 1;
 * text without words is the first unit vector. Texts sharing most words
 * have a cosine near 1.
 */
static void embed_text(const char *text, double v[EMBED_DIM])
{
	const unsigned char *p = (const unsigned char *)text;
	double norm = 0;
	size_t i;

	memset(v, 0, EMBED_DIM * sizeof(*v));
	while (*p) {
		uint32_t h = 2166136261u;

		if (!isalnum(*p)) {
			p++;
			continue;
		}
		for (; *p && isalnum(*p); p++)
			h = (h ^ (uint32_t)tolower(*p)) * 16777619u;
		v[h % EMBED_DIM] += (h >> 16) & 1 ? 1 : -1;
	}
	for (i = 0; i < EMBED_DIM; i++)
		norm += v[i] * v[i];
	if (norm == 0) {
		v[0] = 1;
		return;
	}
	norm = sqrt(norm);
	for (i = 0; i < EMBED_DIM; i++)
		v[i] /= norm;
}

/* the embedding of text as item index of data, cut to its first dim dimensions */
static void add_embedding(cJSON *data, const char *text, int index, int dim)
{
	double v[EMBED_DIM];
	cJSON *item = cJSON_CreateObject();

	embed_text(text, v);
	cJSON_AddStringToObject(item, "object", "embedding");
	cJSON_AddNumberToObject(item, "index", index);
	cJSON_AddItemToObject(item, "embedding", cJSON_CreateDoubleArray(v, dim));
	cJSON_AddItemToArray(data, item);
}

/*
 * POST /embeddings: {"model", "input": string or array of strings}. The
 * model "mock-embedding-bad" answers with embeddings of differing
 * dimensions, for tests of hostile replies.
 */
static void handle_embeddings(struct MHD_Connection *conn, const char *path,
			      struct request *req, struct outcome *o)
{
	struct chat_info ci = { 0 };
	cJSON *root = NULL, *reply, *data;
	const cJSON *input, *model, *s, *list;
	char *text;
	int n = 0;

	ci.case_id = header_or_empty(conn, "x-evalgate-case");
	ci.suite = header_or_empty(conn, "x-evalgate-suite");
	ci.run = header_or_empty(conn, "x-evalgate-run");
	ci.authorized = check_key(conn);
	ci.attempt = 1;
	o->status = 200;
	if (req->body.overflow) {
		outcome_error(o, 413, "request body too large", "invalid_request_error", NULL);
		goto out;
	}
	if (!ci.authorized) {
		outcome_error(o, 401, "Incorrect API key provided", "invalid_request_error",
			      "invalid_api_key");
		goto out;
	}
	root = cJSON_ParseWithLength(req->body.buf, req->body.len);
	model = cJSON_GetObjectItemCaseSensitive(root, "model");
	input = cJSON_GetObjectItemCaseSensitive(root, "input");
	if (!cJSON_IsString(model) || !(cJSON_IsString(input) || cJSON_IsArray(input))) {
		outcome_error(o, 400, "an embeddings request needs a string 'model' and an 'input'",
			      "invalid_request_error", NULL);
		goto out;
	}
	ci.model = xstrdup(model->valuestring);
	reply = cJSON_CreateObject();
	cJSON_AddStringToObject(reply, "object", "list");
	data = cJSON_AddArrayToObject(reply, "data");
	if (cJSON_IsString(input))
		add_embedding(data, input->valuestring, n++, EMBED_DIM);
	list = cJSON_IsArray(input) ? input : NULL;
	cJSON_ArrayForEach(s, list) {
		int dim = n && !strcmp(ci.model, "mock-embedding-bad") ? EMBED_DIM / 2 : EMBED_DIM;

		add_embedding(data, cJSON_IsString(s) ? s->valuestring : "", n++, dim);
	}
	cJSON_AddStringToObject(reply, "model", ci.model);
	{
		cJSON *usage = cJSON_AddObjectToObject(reply, "usage");

		cJSON_AddNumberToObject(usage, "prompt_tokens", 2 * n);
		cJSON_AddNumberToObject(usage, "total_tokens", 2 * n);
	}
	text = cJSON_PrintUnformatted(reply);
	cJSON_Delete(reply);
	strbuf_addstr(&o->body, text);
	cJSON_free(text);
out:
	log_request(conn, path, &ci, o);
	cJSON_Delete(root);
	free(ci.model);
}

/* ---------- HTTP plumbing ---------- */

static enum MHD_Result send_buf(struct MHD_Connection *conn, unsigned status,
				const char *content_type, struct strbuf *body, size_t len,
				const struct outcome *o)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char *buf;
	size_t i;

	if (len > body->len)
		len = body->len;
	buf = strbuf_detach(body, NULL);
	resp = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", content_type);
	if (o && o->fault && o->rule) {
		const struct rule *r = o->rule;

		if (r->retry_after)
			MHD_add_response_header(resp, "Retry-After", r->retry_after);
		if (r->retry_after_ms >= 0) {
			char ms[32];

			snprintf(ms, sizeof(ms), "%ld", r->retry_after_ms);
			MHD_add_response_header(resp, "retry-after-ms", ms);
		}
	}
	if (o && o->rule)
		for (i = 0; i < o->rule->nr_headers; i++)
			MHD_add_response_header(resp, o->rule->headers[i].name,
						o->rule->headers[i].value);
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* o->stream as a text/event-stream reply, each piece after its delay (the plan is the response's) */
static enum MHD_Result send_stream(struct MHD_Connection *conn, struct outcome *o)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t i;

	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_reader,
						 o->stream, stream_free);
	if (!resp)
		return MHD_NO;
	o->stream = NULL;
	MHD_add_response_header(resp, "Content-Type", "text/event-stream");
	MHD_add_response_header(resp, "Cache-Control", "no-cache");
	if (o->rule)
		for (i = 0; i < o->rule->nr_headers; i++)
			MHD_add_response_header(resp, o->rule->headers[i].name,
						o->rule->headers[i].value);
	ret = MHD_queue_response(conn, 200, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned status,
				 const char *content_type, const char *text)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, text);
	return send_buf(conn, status, content_type, &sb, sb.len, NULL);
}

static enum MHD_Result send_error(struct MHD_Connection *conn, unsigned status,
				  const char *message)
{
	struct strbuf sb = STRBUF_INIT;

	error_json(&sb, message, "invalid_request_error", NULL);
	return send_buf(conn, status, "application/json", &sb, sb.len, NULL);
}

static int is_chat_path(const char *url)
{
	return !strcmp(url, "/v1/chat/completions") || !strcmp(url, "/chat/completions");
}

static int is_embeddings_path(const char *url)
{
	return !strcmp(url, "/v1/embeddings") || !strcmp(url, "/embeddings");
}

/*
 * The 429 storm (--storm-every N --storm-seconds S): for S seconds from the
 * first chat request, every Nth one is refused with 429, Retry-After: 1 and
 * x-ratelimit headers saying the request quota is spent for a second.
 */
static int storm_hits(const struct request *req)
{
	double start;
	long n;

	if (mock.storm_every <= 0)
		return 0;
	pthread_mutex_lock(&mock.stats_lock);
	if (!mock.storm_start_ms)
		mock.storm_start_ms = req->arrived_ms;
	start = mock.storm_start_ms;
	pthread_mutex_unlock(&mock.stats_lock);
	if (req->arrived_ms - start >= (double)mock.storm_ms)
		return 0;
	n = atomic_fetch_add(&mock.storm_seen, 1) + 1;
	return n % mock.storm_every == 0;
}

static enum MHD_Result send_storm_429(struct MHD_Connection *conn)
{
	struct MHD_Response *resp;
	struct strbuf sb = STRBUF_INIT;
	enum MHD_Result ret;
	char *buf;
	size_t len;

	atomic_fetch_add(&mock.storm_429, 1);
	error_json(&sb, "Rate limit reached for requests", "requests", "rate_limit_exceeded");
	len = sb.len;
	buf = strbuf_detach(&sb, NULL);
	resp = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "application/json");
	MHD_add_response_header(resp, "Retry-After", "1");
	MHD_add_response_header(resp, "x-ratelimit-limit-requests", "60");
	MHD_add_response_header(resp, "x-ratelimit-remaining-requests", "0");
	MHD_add_response_header(resp, "x-ratelimit-reset-requests", "1s");
	ret = MHD_queue_response(conn, 429, resp);
	MHD_destroy_response(resp);
	return ret;
}

/*
 * --drop-reused N: every Nth chat request that arrives on a connection which
 * has already carried a request is dropped (the connection is closed without
 * a reply), as a server closing an idle keep-alive connection does. The
 * dropped request counts in "requests" and "dropped" of /stats.
 */
static int drop_hits(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci;
	unsigned long *served;
	long n;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (!ci || !ci->socket_context)
		return 0;
	served = ci->socket_context;
	if ((*served)++ == 0 || mock.drop_reused <= 0)
		return 0;
	n = atomic_fetch_add(&mock.reused_seen, 1) + 1;
	if (n % mock.drop_reused)
		return 0;
	atomic_fetch_add(&mock.dropped, 1);
	pthread_mutex_lock(&mock.stats_lock);
	mock.total++;
	pthread_mutex_unlock(&mock.stats_lock);
	return 1;
}

/* a connection's requests so far, kept in its socket context */
static void connection_cb(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		*socket_context = xcalloc(1, sizeof(unsigned long));
	} else {
		free(*socket_context);
		*socket_context = NULL;
	}
}

static enum MHD_Result answer(struct MHD_Connection *conn, const char *url,
			      const char *method, struct request *req)
{
	struct outcome o = { 0 };
	enum MHD_Result ret = MHD_NO;
	int post = !strcmp(method, "POST"), get = !strcmp(method, "GET");

	if (is_chat_path(url) && post && drop_hits(conn)) {
		ret = MHD_NO;
	} else if (is_chat_path(url) && post && storm_hits(req)) {
		ret = send_storm_429(conn);
	} else if (is_chat_path(url) && post) {
		o.action = ACT_SEND;
		o.send_len = SIZE_MAX;
		o.content_type = "application/json";
		handle_chat(conn, url, req, &o);
		if (o.action == ACT_HANG) {
			hang(conn);
			goto out_release;
		}
		if (o.delay_ms > 0 && wait_ms(o.delay_ms))
			goto out_release;
		if (o.action == ACT_RESET)
			goto out_release;
		if (o.stream) {
			ret = send_stream(conn, &o);
			goto out_release;
		}
		ret = send_buf(conn, o.status, o.content_type, &o.body, o.send_len, &o);
	} else if (is_embeddings_path(url) && post) {
		o.content_type = "application/json";
		handle_embeddings(conn, url, req, &o);
		ret = send_buf(conn, o.status, o.content_type, &o.body, o.body.len, &o);
	} else if (!strcmp(url, "/health") && get) {
		ret = send_text(conn, 200, "text/plain", "ok");
	} else if (!strcmp(url, "/stats") && get) {
		char *s = stats_json();

		ret = send_text(conn, 200, "application/json", s ? s : "{}");
		cJSON_free(s);
	} else if (!strcmp(url, "/reset") && post) {
		stats_reset();
		ret = send_text(conn, 200, "application/json", "{\"reset\":true}");
	} else if (is_chat_path(url) || is_embeddings_path(url) || !strcmp(url, "/health") || !strcmp(url, "/stats") ||
		   !strcmp(url, "/reset")) {
		ret = send_error(conn, 405, "method not allowed");
	} else {
		ret = send_error(conn, 404, "unknown path");
	}
out_release:
	plan_free(o.stream);
	strbuf_release(&o.body);
	return ret;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version,
				 const char *upload_data, size_t *upload_data_size,
				 void **con_cls)
{
	struct request *req = *con_cls;

	if (!req) {
		req = xmalloc(sizeof(*req));
		req->arrived_ms = now_ms();
		strbuf_init(&req->body, 0);
		req->body.max = MAX_BODY;
		*con_cls = req;
		if (*upload_data_size == 0)
			return MHD_YES;
	}
	if (*upload_data_size) {
		strbuf_add(&req->body, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (atomic_load(&mock.stopping))
		return MHD_NO;
	return answer(conn, url, method, req);
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct request *req = *con_cls;

	if (!req)
		return;
	strbuf_release(&req->body);
	free(req);
	*con_cls = NULL;
}

/* ---------- command line ---------- */

struct options {
	long port;
	const char *port_file;
	const char *script;
	long latency_ms;
	const char *key;
	const char *log;
	long max_conn;
	long seed;
	long storm_every;
	long storm_seconds;
	long drop_reused;
};

enum opt_kind { OPT_STRING, OPT_NUMBER };

struct option_spec {
	const char *name;
	enum opt_kind kind;
	size_t offset;                /* in struct options */
	long min, max;                /* for numbers */
	const char *help;
};

#define OPT_AT(field) offsetof(struct options, field)

static const struct option_spec option_specs[] = {
	{ "--port", OPT_NUMBER, OPT_AT(port), 0, 65535, "port on 127.0.0.1, 0 picks a free one" },
	{ "--port-file", OPT_STRING, OPT_AT(port_file), 0, 0, "write the port here once listening" },
	{ "--script", OPT_STRING, OPT_AT(script), 0, 0, "JSONL rules" },
	{ "--latency-ms", OPT_NUMBER, OPT_AT(latency_ms), 0, 3600000, "delay of every reply" },
	{ "--require-key", OPT_STRING, OPT_AT(key), 0, 0, "expect Authorization: Bearer KEY" },
	{ "--log", OPT_STRING, OPT_AT(log), 0, 0, "append one JSON line per chat request" },
	{ "--max-conn", OPT_NUMBER, OPT_AT(max_conn), 1, 1000000, "connection limit" },
	{ "--seed", OPT_NUMBER, OPT_AT(seed), 0, LONG_MAX, "seed of the pass_p draws" },
	{ "--storm-every", OPT_NUMBER, OPT_AT(storm_every), 1, 1000000, "every Nth chat request is a 429 (storm)" },
	{ "--storm-seconds", OPT_NUMBER, OPT_AT(storm_seconds), 0, 3600, "the storm's length from the first chat request" },
	{ "--drop-reused", OPT_NUMBER, OPT_AT(drop_reused), 1, 1000000, "drop every Nth chat request on a used connection" },
};

#define NR_OPTIONS (sizeof(option_specs) / sizeof(option_specs[0]))

static void usage(FILE *fp)
{
	size_t i;

	fputs("usage: mock_gateway [options]\n", fp);
	for (i = 0; i < NR_OPTIONS; i++)
		fprintf(fp, "  %-14s %-4s %s\n", option_specs[i].name,
			option_specs[i].kind == OPT_NUMBER ? "N" : "ARG", option_specs[i].help);
}

static int set_option(struct options *opts, const struct option_spec *spec, const char *arg)
{
	char *base = (char *)opts + spec->offset;
	char *end;
	long v;

	if (spec->kind == OPT_STRING) {
		memcpy(base, &arg, sizeof(arg));
		return 0;
	}
	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < spec->min || v > spec->max)
		return error("%s: expected a whole number from %ld to %ld, got '%s'",
			     spec->name, spec->min, spec->max, arg);
	memcpy(base, &v, sizeof(v));
	return 0;
}

static int parse_options(int argc, char **argv, struct options *opts)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *eq = strchr(a, '=');
		size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
		const struct option_spec *spec = NULL;
		size_t j;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			exit(0);
		}
		for (j = 0; j < NR_OPTIONS; j++)
			if (strlen(option_specs[j].name) == nlen &&
			    !strncmp(option_specs[j].name, a, nlen))
				spec = &option_specs[j];
		if (!spec) {
			usage(stderr);
			return error("unknown option '%s'", a);
		}
		if (eq) {
			a = eq + 1;
		} else if (++i < argc) {
			a = argv[i];
		} else {
			return error("%s needs a value", spec->name);
		}
		if (set_option(opts, spec, a))
			return -1;
	}
	return 0;
}

static int write_port_file(const char *file, unsigned port)
{
	struct strbuf tmp = STRBUF_INIT;
	FILE *fp;
	int ret = 0;

	strbuf_addf(&tmp, "%s.tmp.%ld", file, (long)getpid());
	fp = fopen(tmp.buf, "w");
	if (!fp) {
		ret = error("cannot write %s: %s", tmp.buf, strerror(errno));
		goto out_release;
	}
	fprintf(fp, "%u\n", port);
	if (fclose(fp)) {
		ret = error("cannot write %s: %s", tmp.buf, strerror(errno));
		goto out_unlink;
	}
	if (rename(tmp.buf, file)) {
		ret = error("cannot rename %s to %s: %s", tmp.buf, file, strerror(errno));
		goto out_unlink;
	}
	goto out_release;
out_unlink:
	unlink(tmp.buf);
out_release:
	strbuf_release(&tmp);
	return ret;
}

static void raise_fd_limit(long want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)want) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (rlim_t)want ?
			      (rlim_t)want : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* SIGINT, SIGTERM: begin shutdown; only async-signal-safe calls here */
static void on_signal(int sig)
{
	int saved = errno;
	ssize_t n;

	atomic_store(&mock.stopping, 1);
	n = write(mock.stop_pipe[1], "x", 1); /* fails only when full: already signalled */
	(void)n;
	errno = saved;
}

static unsigned bound_port(struct MHD_Daemon *d)
{
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_LISTEN_FD);
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	if (!di || getsockname(di->listen_fd, (struct sockaddr *)&sa, &len))
		return 0;
	return ntohs(sa.sin_port);
}

int main(int argc, char **argv)
{
	struct options opts = { .port = 0, .max_conn = 2048 };
	struct MHD_Daemon *d;
	struct sockaddr_in sa;
	struct sigaction act;
	struct pollfd pfd;
	sigset_t sigs;
	unsigned port;
	int ret = 2;

	if (parse_options(argc, argv, &opts))
		goto out;
	mock.latency_ms = opts.latency_ms;
	mock.seed = (unsigned long)opts.seed;
	mock.storm_every = opts.storm_every;
	mock.drop_reused = opts.drop_reused;
	mock.storm_ms = (opts.storm_seconds ? opts.storm_seconds : 10) * 1000;
	if (opts.key)
		mock.key = xstrdup(opts.key);
	pthread_mutex_init(&mock.log_lock, NULL);
	pthread_mutex_init(&mock.stats_lock, NULL);
	if (opts.script && load_script(opts.script))
		goto out_free_rules;
	if (opts.log && !(mock.log = fopen(opts.log, "a"))) {
		error("cannot open log %s: %s", opts.log, strerror(errno));
		goto out_free_rules;
	}
	ret = 1;
	if (pipe(mock.stop_pipe)) {
		error("pipe: %s", strerror(errno));
		goto out_close_log;
	}
	raise_fd_limit(opts.max_conn + 64);

	/*
	 * Server threads inherit a mask blocking SIGINT and SIGTERM, so the
	 * handler runs in this thread, which unblocks them once the daemon runs.
	 */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	memset(&act, 0, sizeof(act));
	act.sa_handler = on_signal;
	sigemptyset(&act.sa_mask);
	sigaction(SIGINT, &act, NULL);
	sigaction(SIGTERM, &act, NULL);
	signal(SIGPIPE, SIG_IGN);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)opts.port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD,
			     (uint16_t)opts.port, NULL, NULL, access_cb, NULL,
			     MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&sa,
			     MHD_OPTION_CONNECTION_LIMIT, (unsigned int)opts.max_conn,
			     MHD_OPTION_CONNECTION_TIMEOUT, CONN_TIMEOUT_S,
			     MHD_OPTION_LISTEN_BACKLOG_SIZE, 4096u,
			     MHD_OPTION_THREAD_STACK_SIZE, (size_t)THREAD_STACK,
			     MHD_OPTION_NOTIFY_COMPLETED, completed_cb, NULL,
			     MHD_OPTION_NOTIFY_CONNECTION, connection_cb, NULL,
			     MHD_OPTION_END);
	if (!d) {
		error("cannot listen on 127.0.0.1:%ld", opts.port);
		goto out_close_pipe;
	}
	port = bound_port(d);
	if (!port) {
		error("cannot find the listening port: %s", strerror(errno));
		goto out_stop;
	}
	printf("listening on 127.0.0.1:%u\n", port);
	if (fflush(stdout)) {
		error("cannot write to stdout: %s", strerror(errno));
		goto out_stop;
	}
	if (opts.port_file && write_port_file(opts.port_file, port))
		goto out_stop;

	pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
	pfd.fd = mock.stop_pipe[0];
	pfd.events = POLLIN;
	while (poll(&pfd, 1, -1) <= 0)
		;
	ret = 0;
out_stop:
	if (!atomic_exchange(&mock.stopping, 1) && write(mock.stop_pipe[1], "x", 1) != 1)
		ret = error("cannot signal shutdown: %s", strerror(errno));
	MHD_stop_daemon(d);
out_close_pipe:
	close(mock.stop_pipe[0]);
	close(mock.stop_pipe[1]);
out_close_log:
	if (mock.log && fclose(mock.log)) {
		error("cannot write log %s: %s", opts.log, strerror(errno));
		ret = 1;
	}
out_free_rules:
	while (mock.nr_rules)
		rule_release(&mock.rules[--mock.nr_rules]);
	free(mock.rules);
	case_table_release(&mock.cases);
	free(mock.key);
out:
	return ret;
}
