/*
 * lexical: deterministic faithfulness of an answer to its context passages,
 * by word overlap, with no model call.
 *
 * The answer is split into sentences; a sentence is supported when at least
 * min_overlap (0..1) of its distinct content words appear in ONE passage.
 * Sentences without content words are not counted. score = supported / total.
 *
 * Ownership: the inputs are borrowed for the call only; out->reason is
 * malloc'd by lexical_faithfulness() and freed by lexical_result_release().
 * The functions keep no state between calls and are safe from many threads.
 */
#ifndef EG_LEXICAL_H
#define EG_LEXICAL_H

#include <stddef.h>

struct lexical_result {
	double score;     /* supported / total, in [0,1] */
	size_t supported; /* sentences with enough overlap with one passage */
	size_t total;     /* sentences with at least one content word */
	char *reason;     /* malloc'd: the unsupported sentences, one line */
};

/* 0 ok, -1 when the answer has no sentence with a content word (out->reason NULL) */
int lexical_faithfulness(const char *answer, size_t len, char *const *context, size_t n_context,
			 double min_overlap, struct lexical_result *out);

/*
 * LEXICAL_ENTITIES: a sentence is supported only by a passage that also
 * holds every entity of the sentence: each word with a digit (numbers,
 * amounts, years, the parts of a date: "1,500", "05" and "5" are one) and
 * each capitalised content word (names, months, places; the sentence's
 * first word too). The reason names the first entity the best passage
 * lacks.
 */
#define LEXICAL_ENTITIES 1u

/* lexical_faithfulness() with flags (LEXICAL_*); flags 0 is the same call */
int lexical_faithfulness_flags(const char *answer, size_t len, char *const *context,
			       size_t n_context, double min_overlap, unsigned flags,
			       struct lexical_result *out);
void lexical_result_release(struct lexical_result *r);

#endif
