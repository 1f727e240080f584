/*
 * jsonw: the one JSON writer. Every JSON text evalgate writes (reports,
 * exports, gate and scorer details, command output, stored case texts,
 * request bodies) goes through it, so strings and numbers follow one set of
 * rules wherever they appear:
 *
 *   strings  valid UTF-8 is kept as it is; a byte that is not part of valid
 *            UTF-8 (encoded surrogates included) becomes U+FFFD; " and \
 *            are escaped, and so are the controls U+0000..U+001F and DEL
 *            (\n \r \t, the others \u00XX). With JSONW_SCRIPT also < > &
 *            (\u003c \u003e \u0026) and U+2028, U+2029, so the text can sit
 *            inside an HTML <script> element: no "</script>", no "<!--".
 *   numbers  the shortest of %.15g, %.16g and %.17g (in the C locale,
 *            whatever LC_NUMERIC says) that reads back as the same double:
 *            0.1 is 0.1, 1/3 is 0.3333333333333333; NaN and the infinities
 *            are null. Integers given as integers are written whole.
 *   cJSON    a parsed value is written in document order by the same rules
 *            (a raw value as a string; an invalid one as null).
 *
 * json_canonical() (jsonutil.h) writes its strings through this module but
 * keeps its own number rule: it feeds hashes stored in histories and caches.
 *
 * A struct jsonw appends to a strbuf it borrows and places the commas: a
 * member or element after another one at the same level is preceded by ','.
 * No stack is kept, so the caller closes what it opened with the matching
 * *_end call:
 *
 *     struct jsonw w;
 *     jsonw_init(&w, &sb, 0);
 *     jsonw_object_begin(&w);
 *     jsonw_member_str(&w, "id", id);      "id":"..." (NULL: null)
 *     jsonw_key(&w, "n");
 *     jsonw_array_begin(&w);
 *     jsonw_int(&w, 1);
 *     jsonw_array_end(&w);
 *     jsonw_object_end(&w);                {"id":"...","n":[1]}
 *
 * JSONW_PRETTY puts every member and element on its own line, indented by
 * two spaces a level, with a space after each colon (for files people
 * read). jsonw_newline() asks for one line break before the next member,
 * element or closing bracket of a compact text (a document of one row a
 * line).
 *
 * The strbuf may be emptied between calls (a streaming writer flushing it):
 * the writer's state does not depend on what the buffer holds.
 *
 * Ownership: the writer borrows the strbuf; strings passed in are borrowed;
 * jsonw_print() returns malloc'd text the caller frees.
 */
#ifndef EG_JSONW_H
#define EG_JSONW_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "strbuf.h"

enum jsonw_flags {
	JSONW_SCRIPT = 1 << 0, /* strings safe inside an HTML <script> element */
	JSONW_PRETTY = 1 << 1, /* one member or element a line, indented */
};

struct jsonw {
	struct strbuf *sb; /* where the text goes (borrowed) */
	unsigned flags;    /* enum jsonw_flags */
	int depth;         /* containers open */
	int comma;         /* a member or element was written at this level */
	int after_key;     /* a key was written and its value is due */
	int newline;       /* jsonw_newline() was asked for */
};

void jsonw_init(struct jsonw *w, struct strbuf *sb, unsigned flags);

void jsonw_object_begin(struct jsonw *w);
void jsonw_object_end(struct jsonw *w);
void jsonw_array_begin(struct jsonw *w);
void jsonw_array_end(struct jsonw *w);
/* the key of the next member of the object being written */
void jsonw_key(struct jsonw *w, const char *key);

/* values */
void jsonw_str(struct jsonw *w, const char *s); /* NULL: null */
void jsonw_strn(struct jsonw *w, const char *s, size_t len);
void jsonw_num(struct jsonw *w, double v);
void jsonw_int(struct jsonw *w, long long v);
void jsonw_bool(struct jsonw *w, int v);
void jsonw_null(struct jsonw *w);
void jsonw_cjson(struct jsonw *w, const cJSON *v); /* NULL: null */
/*
 * JSON text written before (by this module), copied as it is: the next value,
 * or inside an object the next members (their text without the braces)
 */
void jsonw_raw(struct jsonw *w, const char *json, size_t len);

/* a key and its value in one call */
void jsonw_member_str(struct jsonw *w, const char *key, const char *s);
void jsonw_member_num(struct jsonw *w, const char *key, double v);
void jsonw_member_int(struct jsonw *w, const char *key, long long v);
void jsonw_member_bool(struct jsonw *w, const char *key, int v);

/* the next member, element or closing bracket starts on a new line */
void jsonw_newline(struct jsonw *w);

/* one JSON string (len bytes of s) appended to sb, by the same rules (flags as for jsonw_init) */
void jsonw_add_str(struct strbuf *sb, const char *s, size_t len, unsigned flags);

/* v as a whole JSON text, malloc'd (flags as for jsonw_init) */
char *jsonw_print(const cJSON *v, unsigned flags);

/*
 * The number rule on its own: v into buf (at least JSONW_NUM_MAX bytes), "null"
 * when not finite; returns the length.
 */
#define JSONW_NUM_MAX 32
size_t jsonw_format_num(char *buf, double v);

#endif
