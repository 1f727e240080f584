/* utf8: validation of UTF-8 byte strings (RFC 3629: no overlongs, no surrogates, <= U+10FFFF). */
#ifndef EG_UTF8_H
#define EG_UTF8_H

#include <stddef.h>

/* length (1-4) of the valid UTF-8 sequence at the start of s, or 0 when invalid */
size_t utf8_valid_prefix(const char *s, size_t len);
/* 1 when all len bytes are valid UTF-8; else 0 and *bad (if given) = offset of the first bad byte */
int utf8_valid(const char *s, size_t len, size_t *bad);

#endif
