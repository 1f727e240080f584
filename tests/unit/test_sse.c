/*
 * test_sse: the event-stream parser and the reading of streamed replies,
 * fed a recorded stream whole, in every 2-way split and byte by byte.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sse.h"
#include "strbuf.h"
#include "target.h"

/* an OpenAI stream as a gateway sends it: role, content, a tool call, finish, usage, [DONE] */
static const char recorded[] =
	": keep-alive comment\r\n"
	"\r\n"
	"data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-x\","
	"\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
	"\"finish_reason\":null}]}\r\n"
	"\r\n"
	"data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-x\","
	"\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n"
	"event: message\n"
	"id: 7\n"
	"data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-x\","
	"\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo \xc3\xa9t\xc3\xa9\"},"
	"\"finish_reason\":null}]}\r\r"
	"data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-x\","
	"\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\","
	"\"type\":\"function\",\"function\":{\"name\":\"lookup\",\"arguments\":\"{\\\"q\\\":\"}}]},"
	"\"finish_reason\":null}]}\n\n"
	"data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-x\","
	"\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
	"\"function\":{\"arguments\":\"1}\"}}]},\"finish_reason\":null}]}\n\n"
	"data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-x\","
	"\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n"
	"data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-x\","
	"\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":5}}\n\n"
	"data: [DONE]\n\n";

/* feed the stream in pieces cut at the offsets in cuts (ascending), each piece at time t */
static void feed_cut(struct sse_stream *s, const char *buf, size_t len, const size_t *cuts,
		     size_t n_cuts)
{
	size_t i, start = 0;

	for (i = 0; i <= n_cuts; i++) {
		size_t end = i < n_cuts ? cuts[i] : len;

		cr_assert_eq(sse_stream_feed(s, buf + start, end - start, (double)i), 0);
		start = end;
	}
}

static void check_recorded(struct sse_stream *s, const char *how)
{
	struct target_reply r;
	struct strbuf why = STRBUF_INIT;

	target_reply_init(&r);
	cr_assert_eq(sse_stream_reply(s, &r, &why), 0, "%s: %s", how, why.buf);
	cr_assert_str_eq(r.output, "Hello \xc3\xa9t\xc3\xa9", "%s", how);
	cr_assert_eq(r.output_len, strlen("Hello \xc3\xa9t\xc3\xa9"));
	cr_assert_str_eq(r.finish_reason, "tool_calls", "%s", how);
	cr_assert_str_eq(r.model, "gpt-x", "%s", how);
	cr_assert_eq(r.prompt_tokens, 11, "%s", how);
	cr_assert_eq(r.completion_tokens, 5, "%s", how);
	cr_assert_str_eq(r.tool_calls, "[{\"function\":{\"name\":\"lookup\",\"arguments\":"
			 "\"{\\\"q\\\":1}\"},\"id\":\"call_1\",\"type\":\"function\"}]", "%s", how);
	/* two content chunks and two tool call chunks; the role chunk has no content */
	cr_assert_eq(s->n_times, 4, "%s: %zu", how, s->n_times);
	target_reply_release(&r);
	strbuf_release(&why);
}

Test(sse, recorded_stream_whole)
{
	struct sse_stream s;

	sse_stream_init(&s, 0);
	feed_cut(&s, recorded, sizeof(recorded) - 1, NULL, 0);
	check_recorded(&s, "whole");
	sse_stream_release(&s);
}

Test(sse, recorded_stream_every_two_way_split)
{
	size_t len = sizeof(recorded) - 1, cut;

	for (cut = 0; cut <= len; cut++) {
		struct sse_stream s;
		char how[32];

		snprintf(how, sizeof(how), "split at %zu", cut);
		sse_stream_init(&s, 0);
		feed_cut(&s, recorded, len, &cut, 1);
		check_recorded(&s, how);
		sse_stream_release(&s);
	}
}

Test(sse, recorded_stream_byte_by_byte)
{
	size_t len = sizeof(recorded) - 1, i;
	struct sse_stream s;

	sse_stream_init(&s, 0);
	for (i = 0; i < len; i++)
		cr_assert_eq(sse_stream_feed(&s, recorded + i, 1, (double)i), 0);
	check_recorded(&s, "byte by byte");
	sse_stream_release(&s);
}

/* events as "type|data;" for the parser tests */
static int collect(const char *type, const char *data, size_t len, void *arg)
{
	struct strbuf *sb = arg;

	strbuf_addf(sb, "%s|", type);
	strbuf_add(sb, data, len);
	strbuf_addch(sb, ';');
	return 0;
}

static void parse_all(const char *in, const char *want)
{
	struct sse_parser p;
	struct strbuf got = STRBUF_INIT;

	sse_parser_init(&p);
	cr_assert_eq(sse_parser_feed(&p, in, strlen(in), collect, &got), 0);
	cr_assert_str_eq(got.buf, want, "input %s", in);
	sse_parser_release(&p);
	strbuf_release(&got);
}

Test(sse, parser_follows_the_event_stream_rules)
{
	/* multi-line data joined by LF; one leading space dropped, a second kept */
	parse_all("data: a\ndata:  b\ndata:c\n\n", "message|a\n b\nc;");
	/* the three line ends; CRLF is one */
	parse_all("data: x\r\n\r\ndata: y\r\rdata: z\n\n", "message|x;message|y;message|z;");
	/* comments, unknown fields, id and retry are ignored; event names the type */
	parse_all(":c\nid: 1\nretry: 5\nfoo: bar\nevent: error\ndata: {}\n\n", "error|{};");
	/* the type is reset after each event; an event without data is not dispatched */
	parse_all("event: x\n\ndata: d\n\n", "message|d;");
	/* "data" without a colon is an empty data line */
	parse_all("data\n\n", "message|;");
	/* an unterminated event at the end is not dispatched */
	parse_all("data: half", "");
}

static int stop_at_first(const char *type, const char *data, size_t len, void *arg)
{
	(*(int *)arg)++;
	return 7;
}

Test(sse, parser_stops_when_the_callback_says_so)
{
	struct sse_parser p;
	int calls = 0;

	sse_parser_init(&p);
	cr_assert_eq(sse_parser_feed(&p, "data: 1\n\ndata: 2\n\n", 18, stop_at_first, &calls), 7);
	cr_assert_eq(calls, 1);
	sse_parser_release(&p);
}

static int stream_fails(const char *in, const char *why_want)
{
	struct sse_stream s;
	struct target_reply r;
	struct strbuf why = STRBUF_INIT;
	int rc;

	sse_stream_init(&s, 0);
	target_reply_init(&r);
	cr_assert_eq(sse_stream_feed(&s, in, strlen(in), 1.0), 0);
	rc = sse_stream_reply(&s, &r, &why);
	if (why_want)
		cr_assert_str_eq(why.buf, why_want);
	target_reply_release(&r);
	strbuf_release(&why);
	sse_stream_release(&s);
	return rc;
}

#define CHUNK(content) "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" content "\"}}]}\n\n"

Test(sse, stream_errors)
{
	cr_assert_eq(stream_fails(CHUNK("a") "data: {\"error\":{\"message\":\"overloaded\\n\"}}\n\n",
				  "error event mid-stream: overloaded"), -1);
	cr_assert_eq(stream_fails(CHUNK("a") "event: error\ndata: gone\n\n",
				  "error event mid-stream: gone"), -1);
	cr_assert_eq(stream_fails(CHUNK("a") CHUNK("b"),
				  "the stream ended without [DONE] (cut short)"), -1);
	cr_assert_eq(stream_fails(": nothing\n\n", "the stream held no event"), -1);
	/* after [DONE] nothing counts, not even an error */
	cr_assert_eq(stream_fails(CHUNK("a") "data: [DONE]\n\ndata: {\"error\":\"late\"}\n\n", NULL),
		     0);
}

Test(sse, plain_data_events_concatenate)
{
	struct sse_stream s;
	struct target_reply r;
	struct strbuf why = STRBUF_INIT;
	static const char in[] = "data: {\"answer\": \ndata: \"hi\"}\n\ndata: !\n\n";

	sse_stream_init(&s, 0);
	target_reply_init(&r);
	cr_assert_eq(sse_stream_feed(&s, in, sizeof(in) - 1, 1.0), 0);
	cr_assert_eq(sse_stream_reply(&s, &r, &why), 0, "%s", why.buf);
	cr_assert_str_eq(r.output, "{\"answer\": \n\"hi\"}!");
	cr_assert_eq(r.completion_tokens, -1);
	target_reply_release(&r);
	strbuf_release(&why);
	sse_stream_release(&s);
}

Test(sse, the_answer_is_capped)
{
	struct sse_stream s;

#define X40 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	/* each event's line fits in 100 bytes, the third one's text does not */
	sse_stream_init(&s, 100);
	cr_assert_eq(sse_stream_feed(&s, CHUNK(X40), strlen(CHUNK(X40)), 0), 0);
	cr_assert_eq(sse_stream_feed(&s, CHUNK(X40), strlen(CHUNK(X40)), 0), 0);
	cr_assert_eq(sse_stream_feed(&s, CHUNK(X40), strlen(CHUNK(X40)), 0), -1);
	sse_stream_release(&s);
}

Test(sse, timing_from_the_chunk_times)
{
	struct sse_stream s;
	struct stream_stats st;
	static const char in[] = CHUNK("a") CHUNK("b") CHUNK("c") CHUNK("d");
	size_t per = strlen(CHUNK("a"));
	int i;

	sse_stream_init(&s, 0);
	/* sent at 10.0 s; chunks at 10.2, 10.21, 10.23, 10.26 */
	for (i = 0; i < 4; i++) {
		static const double t[] = { 10.2, 10.21, 10.23, 10.26 };

		cr_assert_eq(sse_stream_feed(&s, in + (size_t)i * per, per, t[i]), 0);
	}
	sse_stream_stats(&s, 10.0, &st);
	cr_assert_eq(st.streamed, 1);
	cr_assert_float_eq(st.ttft_ms, 200.0, 1e-6);
	cr_assert_float_eq(st.itl_ms, 20.0, 1e-6);
	cr_assert_float_eq(st.itl_p50_ms, 20.0, 1e-6);
	cr_assert_float_eq(st.itl_p95_ms, 29.0, 1e-6);
	/* 4 chunks counted as tokens without usage, over 0.26 s */
	cr_assert_float_eq(st.tokens_per_s, 4 / 0.26, 1e-6);
	sse_stream_release(&s);

	stream_stats_compute(&st, 1.0, NULL, 0, 5);
	cr_assert_eq(st.streamed, 1);
	cr_assert(isnan(st.ttft_ms) && isnan(st.itl_ms) && isnan(st.tokens_per_s));
}

Test(sse, a_line_without_end_is_capped)
{
	struct sse_stream s;
	char buf[64];

	memset(buf, 'x', sizeof(buf));
	memcpy(buf, "data: ", 6);
	sse_stream_init(&s, 16);
	cr_assert_eq(sse_stream_feed(&s, buf, 10, 0), 0);
	cr_assert_eq(sse_stream_feed(&s, buf + 10, sizeof(buf) - 10, 0), -1);
	sse_stream_release(&s);
}

/* a \u0000 in a delta is a NUL in the answer; a delta that is only a NUL counts */
Test(sse, deltas_keep_their_nuls)
{
	static const char in[] =
		"data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"delta\":{\"content\":\"that.\\u0000 \"}}]}\n\n"
		"data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"delta\":{\"content\":\"\\u0000\"}}]}\n\n"
		"data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"delta\":{\"content\":\"secret\"}}]}\n\n"
		"data: [DONE]\n\n";
	struct sse_stream s;
	struct target_reply r;
	struct strbuf why = STRBUF_INIT;

	sse_stream_init(&s, 0);
	target_reply_init(&r);
	cr_assert_eq(sse_stream_feed(&s, in, sizeof(in) - 1, 1.0), 0);
	cr_assert_eq(sse_stream_reply(&s, &r, &why), 0, "%s", why.buf);
	cr_assert_eq(r.output_len, 14);
	cr_expect_eq(memcmp(r.output, "that.\0 \0secret", 15), 0);
	target_reply_release(&r);
	strbuf_release(&why);
	sse_stream_release(&s);
}
