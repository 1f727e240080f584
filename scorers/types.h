/*
 * types: private to scorers/. Small helpers the scorer implementations share.
 *
 * Adding a type: write scorers/<family>.c defining a const struct scorer_type
 * scorer_<name>, and add X(<name>) to SCORER_TYPES in registry.c.
 *
 * Reasons quote untrusted text with esc_visible() (escape.h), at most
 * SCORER_QUOTE_MAX bytes of it.
 *
 * Ownership: scorer_pcre2_match() keeps its per-thread state to itself.
 */
#ifndef EG_SCORER_TYPES_H
#define EG_SCORER_TYPES_H

#include <stddef.h>

#include <pcre2.h>

#include "escape.h"
#include "scorer.h"

struct strbuf;

/* longest piece of output or spec value quoted in a reason, in bytes */
#define SCORER_QUOTE_MAX 80

/* ASCII whitespace, as trimmed by the text scorers */
int scorer_isspace(int c);

/*
 * Match a compiled pattern against len bytes of subject, from any thread:
 * match data and JIT stack are the calling thread's own, created on first
 * use and freed when it exits. When the JIT runs out of stack the
 * interpreter tries again. Returns what pcre2_match returns (>= 0 matched,
 * PCRE2_ERROR_NOMATCH, or another error for pcre2_get_error_message); on a
 * match *start and *end (if given) delimit it.
 */
int scorer_pcre2_match(const pcre2_code *code, const char *subject, size_t len,
		       size_t *start, size_t *end);

/*
 * Narrow [*b, *e) to the JSON text of a model's answer: without surrounding
 * whitespace and a Markdown code fence (```json ... ```). json.c.
 */
void scorer_json_unfence(const char **b, const char **e);

#endif
