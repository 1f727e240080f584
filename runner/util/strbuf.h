/*
 * strbuf: a growable byte string.
 *
 * Rules: sb.buf is never NULL and always NUL-terminated (it points to a static
 * empty string until the first append). Bytes may include NUL; sb.len counts
 * them. After strbuf_detach() the caller owns the storage and the strbuf is
 * empty again. strbuf_release() frees the contents and leaves an empty strbuf.
 * A strbuf with max > 0 refuses to grow past max bytes: the append is dropped
 * and sb.overflow is set (sticky), so a caller checks once at the end.
 */
#ifndef EG_STRBUF_H
#define EG_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	size_t len;   /* bytes used, excluding the terminating NUL */
	size_t alloc; /* bytes allocated, 0 while buf is the static empty string */
	size_t max;   /* 0 = unbounded, else most bytes ever held */
	int overflow; /* set when an append was refused by max */
	char *buf;    /* never NULL */
};

extern char strbuf_empty[];
#define STRBUF_INIT { 0, 0, 0, 0, strbuf_empty }

void strbuf_init(struct strbuf *sb, size_t hint);
void strbuf_release(struct strbuf *sb);
char *strbuf_detach(struct strbuf *sb, size_t *len);
void strbuf_grow(struct strbuf *sb, size_t extra);
void strbuf_reset(struct strbuf *sb);
void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_addstr(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, int c);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap);

#endif
