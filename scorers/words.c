/*
 * words: code points and words of UTF-8 text (words.h).
 */
#include "words.h"

#include <stdlib.h>

#include "utf8.h"
#include "xalloc.h"
#include "banned.h"

/* the code point at s (len > 0) and its length in bytes; U+FFFD when invalid */
static uint32_t decode(const unsigned char *s, size_t len, size_t *used)
{
	size_t n;

	if (s[0] < 0x80) {
		*used = 1;
		return s[0];
	}
	n = utf8_valid_prefix((const char *)s, len);

	*used = n ? n : 1;
	switch (n) {
	case 1: return s[0];
	case 2: return (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
	case 3: return (uint32_t)(s[0] & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
	case 4:
		return (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3f) << 12 |
		       (uint32_t)(s[2] & 0x3f) << 6 | (s[3] & 0x3f);
	default: return 0xfffd;
	}
}

/* c decoded from used bytes; an invalid byte (U+FFFD from one byte) is no letter */
static int is_word(uint32_t c)
{
	if (c < 0x80)
		return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
	return !(c <= 0xbf || (c >= 0x2000 && c <= 0x206f) || (c >= 0x3000 && c <= 0x303f) ||
		 (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff0f) || c == 0xfffd);
}

uint64_t *words_codepoints(const char *s, size_t len, size_t *n)
{
	const unsigned char *p = (const unsigned char *)s;
	uint64_t *cp = xmalloc((len + 1) * sizeof(*cp));
	size_t i = 0, k = 0, used;

	while (i < len) {
		cp[k++] = decode(p + i, len - i, &used);
		i += used;
	}
	*n = k;
	return cp;
}

/*
 * Walk the words of s: calls per word with [start, end) in bytes when out
 * is given (hashing it), and returns the count.
 */
static size_t walk(const char *s, size_t len, uint64_t *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, count = 0, used;
	uint64_t h = 0;
	int in_word = 0;

	while (i < len) {
		uint32_t c = decode(p + i, len - i, &used);

		if (is_word(c)) {
			size_t j;
			if (!in_word) {
				in_word = 1;
				h = 14695981039346656037ULL; /* FNV-1a */
			}
			for (j = 0; j < used; j++) {
				unsigned char b = p[i + j];
				if (b >= 'A' && b <= 'Z')
					b += 'a' - 'A';
				h = (h ^ b) * 1099511628211ULL;
			}
		} else if (in_word) {
			in_word = 0;
			if (out)
				out[count] = h;
			count++;
		}
		i += used;
	}
	if (in_word) {
		if (out)
			out[count] = h;
		count++;
	}
	return count;
}

uint64_t *words_hashes(const char *s, size_t len, size_t *n)
{
	size_t count = walk(s, len, NULL);
	uint64_t *w = xmalloc((count + 1) * sizeof(*w));

	*n = walk(s, len, w);
	return w;
}

size_t words_count(const char *s, size_t len)
{
	return walk(s, len, NULL);
}
