/*
 * sse: Server-Sent Events read incrementally (SPEC 11, "Streaming"), as the
 * bytes of a reply arrive in whatever pieces the transport hands over.
 *
 * struct sse_parser is the event-stream format of the HTML standard: lines
 * end in CRLF, LF or CR (a CRLF may be split between two pieces); a line
 * starting with ':' is a comment; "data:" lines accumulate (joined by LF)
 * until an empty line dispatches the event; "event:" names it; "id:" and
 * "retry:" are ignored. An event without data is not dispatched, nor is one
 * left unterminated when the stream ends.
 *
 * struct sse_stream reads the events of a streamed reply into an answer:
 * OpenAI chat.completion.chunk objects (delta content, tool call deltas,
 * refusal, finish_reason, model, usage in the last chunk) or plain data
 * events whose concatenation is the answer; "[DONE]" ends the stream; an
 * "error" object or an "event: error" is a mid-stream error. It records the
 * arrival time of every chunk that carried content or a tool call, for
 * TTFT and the inter-token latency.
 *
 * Ownership: both structs own their buffers (sse_parser_release,
 * sse_stream_release); the data passed to an event callback is valid only
 * during the call.
 */
#ifndef EG_SSE_H
#define EG_SSE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "stats.h"
#include "strbuf.h"

struct target_reply;

/* an event: its type ("message" unless named) and its data (len bytes, NUL-terminated) */
typedef int (*sse_event_fn)(const char *type, const char *data, size_t len, void *arg);

struct sse_parser {
	struct strbuf line;      /* the line being read (split across pieces) */
	struct strbuf data;      /* the event's data lines so far, each followed by LF */
	struct strbuf type;      /* the event's "event:" value, or empty */
	int after_cr;            /* the last byte was CR: an LF right after it ends nothing */
	int has_data;            /* a data line was seen for this event */
};

void sse_parser_init(struct sse_parser *p);
void sse_parser_release(struct sse_parser *p);
/*
 * Feed len bytes; fn is called for each event completed. Returns 0, or the
 * first nonzero value fn returned (the rest of buf is then not read).
 */
int sse_parser_feed(struct sse_parser *p, const char *buf, size_t len, sse_event_fn fn,
		    void *arg);

struct sse_stream {
	struct sse_parser parser;
	struct strbuf text;      /* the answer so far: content deltas or plain data */
	int chunks;              /* OpenAI chunks seen */
	int plain;               /* plain data events seen */
	int done;                /* "[DONE]" seen: later events are ignored */
	char *error;             /* a mid-stream error's message (sanitized), or NULL */
	char *finish_reason;     /* or NULL */
	char *model;             /* or NULL */
	long prompt_tokens;      /* from the usage chunk; -1 unknown */
	long completion_tokens;
	cJSON *tool_calls;       /* array accumulated from tool call deltas, or NULL */
	double *times;           /* arrival times of the chunks with content (seconds) */
	size_t n_times, alloc_times;
	double now;              /* the arrival time of the piece being fed */
};

/* max: the most bytes of text, of a line and of an event's data (0: no limit); past it the stream fails */
void sse_stream_init(struct sse_stream *s, size_t max);
void sse_stream_release(struct sse_stream *s);
/* len bytes that arrived at now (seconds); -1 when the answer, a line or an event grew past max */
int sse_stream_feed(struct sse_stream *s, const char *buf, size_t len, double now);
/*
 * The stream's answer into out (released first): text as output, finish
 * reason, model, usage and tool calls. 0; -1 with why set when the stream
 * failed (a mid-stream error, no "[DONE]" after OpenAI chunks, nothing at
 * all): such a stream may be transient and is retried.
 */
int sse_stream_reply(struct sse_stream *s, struct target_reply *out, struct strbuf *why);
/* the timing of the stream from the request's send time (seconds, same clock) */
void sse_stream_stats(const struct sse_stream *s, double send_s, struct stream_stats *out);

#endif
