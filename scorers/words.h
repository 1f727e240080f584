/*
 * words: UTF-8 text as code points and as words, for the similarity and
 * counting scorers (similarity.c, textset.c). Private to scorers/.
 *
 * Any bytes are accepted: a byte that does not start a valid UTF-8
 * sequence (NUL included) is one code point of its own, U+FFFD, so invalid
 * text is measured, never rejected. A word is a maximal run of letters
 * and digits: ASCII letters and digits, and every code point from U+0080
 * up except the Unicode space and punctuation blocks (U+0080-U+00BF,
 * U+2000-U+206F, U+3000-U+303F, U+FE30-U+FE4F, U+FF00-U+FF0F) and U+FFFD.
 *
 * Ownership: the arrays returned are malloc'd, the caller frees them.
 */
#ifndef EG_SCORER_WORDS_H
#define EG_SCORER_WORDS_H

#include <stddef.h>
#include <stdint.h>

/* the code points of len bytes; *n receives their count */
uint64_t *words_codepoints(const char *s, size_t len, size_t *n);

/* the words of len bytes, each as a 64-bit hash of its ASCII-lowercased bytes */
uint64_t *words_hashes(const char *s, size_t len, size_t *n);

/* the number of words in len bytes, allocating nothing */
size_t words_count(const char *s, size_t len);

#endif
