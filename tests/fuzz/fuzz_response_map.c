/*
 * libFuzzer target: the http target's response map (JSON Pointers with "*")
 * over an application's reply. The input's first line holds the pointers of
 * output, context, context_ids, tool_calls, usage, model and metadata,
 * separated by tabs (an empty or missing one is left unmapped; output
 * defaults to /answer); the rest is the reply body. It must never crash or
 * leak; a usable reply fills a NUL-terminated output, NULL-terminated
 * passage and id lists and extras that read back as they were written; an
 * unusable one leaves the reply empty and says why on one line.
 *
 * Built by -DEG_FUZZ=ON (see README.md here); ./dev.sh fuzz runs it on its
 * seeds in corpus/response_map/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "response_map.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_list(char **v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++)
		if (!v[i])
			abort();
	if (v[n])
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	size_t head = nl ? (size_t)(nl - (const char *)data) : size;
	char *line = xstrndup((const char *)data, head);
	/* the gateway hands the parser its own copy of the body, not NUL-terminated */
	size_t body_len = nl ? size - head - 1 : 0;
	char *body = xmalloc(body_len ? body_len : 1);
	struct response_map m;
	struct target_reply r;
	struct strbuf why = STRBUF_INIT;
	enum target_parse rc;
	char *p = line;
	int f;

	memcpy(body, nl ? nl + 1 : "", body_len);
	memset(&m, 0, sizeof(m));
	for (f = 0; f < N_RESP_FIELDS && p; f++) {
		char *tab = strchr(p, '\t');

		if (tab)
			*tab = '\0';
		if (*p || f == RESP_OUTPUT)
			response_map_set(&m, response_field_name((enum response_field)f),
					 *p ? p : "/answer", &why);
		strbuf_reset(&why);
		p = tab ? tab + 1 : NULL;
	}
	target_reply_init(&r);
	rc = response_map_apply(&m, body, body_len, &r, &why);
	if (rc == TARGET_REPLY_OK) {
		char *extra;

		/* an answer is bytes: a NUL may stand inside it, and one always ends it */
		if (!r.output || r.output[r.output_len] || strlen(r.output) > r.output_len || why.len)
			abort();
		check_list(r.context, r.n_context);
		check_list(r.context_ids, r.n_context_ids);
		extra = target_reply_extra_json(&r);
		if (extra) {
			struct target_reply back;

			target_reply_init(&back);
			if (target_reply_extra_load(&back, extra) || back.n_context != r.n_context ||
			    back.n_context_ids != r.n_context_ids)
				abort();
			target_reply_release(&back);
		}
		free(extra);
	} else {
		if ((rc != TARGET_REPLY_FAIL && rc != TARGET_REPLY_RETRY) || !why.len ||
		    memchr(why.buf, '\n', why.len) || r.output || r.context || r.tool_calls)
			abort();
	}
	target_reply_release(&r);
	if (r.output || r.context || r.context_ids || r.model || r.metadata)
		abort();
	response_map_release(&m);
	strbuf_release(&why);
	free(body);
	free(line);
	return 0;
}
