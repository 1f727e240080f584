/*
 * types: private to scorers/. The scorer types that registry.c lists in its
 * table, and small helpers the implementations share.
 *
 * Adding a type: write scorers/<family>.c defining a const struct scorer_type,
 * declare it here, add one row to the table in registry.c.
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

extern const struct scorer_type scorer_equals;
extern const struct scorer_type scorer_contains;
extern const struct scorer_type scorer_icontains;
extern const struct scorer_type scorer_starts_with;
extern const struct scorer_type scorer_regex;
extern const struct scorer_type scorer_json;
extern const struct scorer_type scorer_latency;
extern const struct scorer_type scorer_refusal;
extern const struct scorer_type scorer_canary;
extern const struct scorer_type scorer_pii;
extern const struct scorer_type scorer_judge;
extern const struct scorer_type scorer_faithfulness;

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

#endif
