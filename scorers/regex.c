/*
 * regex: the output matches a PCRE2 pattern.
 *
 * {"type": "regex", "pattern": "\\b30 days\\b", "flags": "i"}
 *
 * The pattern is compiled once at load in UTF mode with Unicode properties
 * (PCRE2_UCP: \w, \b and \d know letters beyond ASCII) and
 * PCRE2_MATCH_INVALID_UTF, so an output that is not valid UTF-8 is still
 * searched instead of failing; then JIT-compiled when the platform allows.
 * Flags: i caseless, m multiline, s dot matches newline, x extended.
 *
 * Scoring runs on many threads at once over one compiled pattern: each thread
 * keeps its own match data and JIT stack (scorer_pcre2_match), created on its
 * first match and freed when it exits. A pattern that backtracks without end
 * stops at PCRE2's match limit and the result is a scorer error.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcre2.h>

#include "error.h"
#include "scorer.h"
#include "strbuf.h"
#include "types.h"
#include "utf8.h"
#include "xalloc.h"
#include "banned.h"

struct regex_ctx {
	pcre2_code *code; /* compiled (and JIT-compiled when possible) pattern */
	char *shown;      /* "/pattern/flags" for reasons, quoted and truncated */
};

struct match_tls {
	pcre2_match_data *md;      /* one ovector pair */
	pcre2_match_context *mctx; /* carries the JIT stack */
	pcre2_jit_stack *stack;    /* or NULL */
};

/* JIT stack: starts small, may grow to this for hungry patterns */
#define JIT_STACK_START (32 * 1024)
#define JIT_STACK_MAX (1024 * 1024)

static _Thread_local struct match_tls *match_tls;
static pthread_key_t match_key;
static pthread_once_t match_once = PTHREAD_ONCE_INIT;

static void match_tls_free(void *p)
{
	struct match_tls *t = p;

	if (!t)
		return;
	pcre2_match_data_free(t->md);
	pcre2_match_context_free(t->mctx);
	pcre2_jit_stack_free(t->stack);
	free(t);
}

static void match_key_create(void)
{
	if (pthread_key_create(&match_key, match_tls_free))
		die("cannot create a thread key for regex matching");
}

static struct match_tls *match_tls_get(void)
{
	struct match_tls *t = match_tls;

	if (t)
		return t;
	pthread_once(&match_once, match_key_create);
	t = xcalloc(1, sizeof(*t));
	t->md = pcre2_match_data_create(1, NULL);
	t->mctx = pcre2_match_context_create(NULL);
	t->stack = pcre2_jit_stack_create(JIT_STACK_START, JIT_STACK_MAX, NULL);
	if (!t->md) {
		match_tls_free(t);
		return NULL;
	}
	if (t->mctx && t->stack)
		pcre2_jit_stack_assign(t->mctx, NULL, t->stack);
	pthread_setspecific(match_key, t);
	match_tls = t;
	return t;
}

int scorer_pcre2_match(const pcre2_code *code, const char *subject, size_t len,
		       size_t *start, size_t *end)
{
	struct match_tls *t = match_tls_get();
	PCRE2_SIZE *ov;
	int rc;

	if (!t)
		return PCRE2_ERROR_NOMEMORY;
	if (!subject)
		subject = "";
	rc = pcre2_match(code, (PCRE2_SPTR)subject, len, 0, 0, t->md, t->mctx);
	/* deep backtracking: the interpreter keeps its frames on the heap */
	if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
		rc = pcre2_match(code, (PCRE2_SPTR)subject, len, 0, PCRE2_NO_JIT, t->md,
				 t->mctx);
	if (rc < 0)
		return rc;
	/* rc 0: matched, with more groups than the one ovector pair */
	ov = pcre2_get_ovector_pointer(t->md);
	if (start)
		*start = ov[0] <= ov[1] && ov[1] <= len ? ov[0] : 0;
	if (end)
		*end = ov[0] <= ov[1] && ov[1] <= len ? ov[1] : 0;
	return rc;
}

static const char *const regex_fields[] = { "pattern", "flags", NULL };

static int parse_flags(const char *flags, const struct eg_loc *loc, uint32_t *opts)
{
	size_t len = strlen(flags), i = 0;

	while (i < len) {
		size_t n;

		switch (flags[i]) {
		case 'i': *opts |= PCRE2_CASELESS; i++; continue;
		case 'm': *opts |= PCRE2_MULTILINE; i++; continue;
		case 's': *opts |= PCRE2_DOTALL; i++; continue;
		case 'x': *opts |= PCRE2_EXTENDED; i++; continue;
		default:
			break;
		}
		n = utf8_valid_prefix(flags + i, len - i);
		{
			struct strbuf q = STRBUF_INIT;
			esc_visible(&q, flags + i, n ? n : 1, 8);
			scorer_error(loc, "regex", "unknown flag \"%s\" in \"flags\" (allowed: i, m, s, x)",
				     q.buf);
			strbuf_release(&q);
		}
		return -1;
	}
	return 0;
}

static int regex_init(struct scorer *s, const cJSON *spec, const struct eg_loc *loc)
{
	const char *pattern = NULL, *flags = "";
	uint32_t opts = PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF | PCRE2_NEVER_BACKSLASH_C;
	struct regex_ctx *ctx;
	struct strbuf shown = STRBUF_INIT;
	PCRE2_SIZE erroff;
	int errcode;

	if (scorer_spec_string(spec, "pattern", loc, "regex", &pattern) ||
	    scorer_spec_opt_string(spec, "flags", loc, "regex", &flags))
		return -1;
	if (!*pattern)
		return scorer_error(loc, "regex", "field \"pattern\" must not be empty");
	if (parse_flags(flags, loc, &opts))
		return -1;

	ctx = xcalloc(1, sizeof(*ctx));
	ctx->code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, opts, &errcode,
				  &erroff, NULL);
	if (!ctx->code) {
		PCRE2_UCHAR msg[256];
		if (pcre2_get_error_message(errcode, msg, sizeof(msg)) < 0)
			snprintf((char *)msg, sizeof(msg), "error %d", errcode);
		scorer_error(loc, "regex", "%s at offset %zu", (char *)msg, (size_t)erroff);
		goto out_free_ctx;
	}
	/* without JIT the interpreter still matches, only slower */
	if (pcre2_jit_compile(ctx->code, PCRE2_JIT_COMPLETE))
		verbose("regex: JIT not available for /%s/, using the interpreter", pattern);

	strbuf_addch(&shown, '/');
	esc_visible(&shown, pattern, strlen(pattern), SCORER_QUOTE_MAX);
	strbuf_addch(&shown, '/');
	strbuf_addstr(&shown, flags);
	ctx->shown = strbuf_detach(&shown, NULL);
	s->ctx = ctx;
	return 0;

out_free_ctx:
	free(ctx);
	return -1;
}

static enum score_status regex_score(const struct scorer *s, struct score_job *job,
				     struct score_result *out)
{
	const struct regex_ctx *ctx = s->ctx;
	const char *subject = job->output ? job->output : "";
	size_t len = job->output ? job->output_len : 0;
	struct strbuf r = STRBUF_INIT;
	size_t start = 0, end = 0;
	int rc;

	rc = scorer_pcre2_match(ctx->code, subject, len, &start, &end);
	if (rc >= 0) {
		out->pass = 1;
		out->score = 1;
		strbuf_addf(&r, "regex %s matched \"", ctx->shown);
		esc_visible(&r, subject + start, end - start, SCORER_QUOTE_MAX);
		strbuf_addch(&r, '"');
	} else if (rc == PCRE2_ERROR_NOMATCH) {
		strbuf_addf(&r, "regex %s did not match", ctx->shown);
	} else {
		PCRE2_UCHAR msg[256];
		if (pcre2_get_error_message(rc, msg, sizeof(msg)) < 0)
			snprintf((char *)msg, sizeof(msg), "error %d", rc);
		out->error = 1;
		strbuf_addf(&r, "regex %s: %s", ctx->shown, (char *)msg);
	}
	out->reason = strbuf_detach(&r, NULL);
	return SCORE_DONE;
}

static void regex_release(struct scorer *s)
{
	struct regex_ctx *ctx = s->ctx;

	if (!ctx)
		return;
	pcre2_code_free(ctx->code);
	free(ctx->shown);
	free(ctx);
	s->ctx = NULL;
}

const struct scorer_type scorer_regex = {
	.name = "regex",
	.init = regex_init,
	.score = regex_score,
	.release = regex_release,
	.fields = regex_fields,
};
