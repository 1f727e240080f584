/*
 * types: private to scorers/. The scorer types that registry.c lists in its
 * table, and small helpers the implementations share.
 *
 * Adding a type: write scorers/<family>.c defining a const struct scorer_type,
 * declare it here, add one row to the table in registry.c.
 *
 * Ownership: scorer_quote() and scorer_match_data() allocate nothing the
 * caller frees; the match data belongs to the calling thread and is reused by
 * its next call.
 */
#ifndef EG_SCORER_TYPES_H
#define EG_SCORER_TYPES_H

#include <stddef.h>

#include <pcre2.h>

#include "scorer.h"

struct strbuf;

extern const struct scorer_type scorer_equals;
extern const struct scorer_type scorer_contains;
extern const struct scorer_type scorer_icontains;
extern const struct scorer_type scorer_starts_with;
extern const struct scorer_type scorer_regex;
extern const struct scorer_type scorer_json;
extern const struct scorer_type scorer_latency;

/* longest piece of output or spec value quoted in a reason, in bytes */
#define SCORER_QUOTE_MAX 80

/*
 * Append s (any bytes) to sb for a one-line reason: at most max source bytes,
 * cut at a UTF-8 boundary and followed by "..." when cut; control characters,
 * line separators and invalid UTF-8 become escapes such as \n and \xff.
 */
void scorer_quote(struct strbuf *sb, const char *s, size_t len, size_t max);

/* ASCII whitespace, as trimmed by the text scorers */
int scorer_isspace(int c);

/*
 * The calling thread's PCRE2 match data (one ovector pair: enough to learn
 * whether and where a pattern matched) and match context (with a JIT stack),
 * created on first use and freed when the thread exits. *mctx may be NULL
 * when the JIT stack could not be created; pcre2_match accepts that.
 */
pcre2_match_data *scorer_match_data(pcre2_match_context **mctx);

#endif
