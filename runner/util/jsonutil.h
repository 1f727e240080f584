/*
 * jsonutil: reading JSON documents written by people, with errors that name
 * the file, the line and the field.
 *
 * A struct jdoc holds the text and the parsed tree of one document; nodes
 * borrowed from it live as long as the jdoc. Lines are found by walking the
 * text along the node's path, so a field deep inside the document is
 * reported at its own line.
 */
#ifndef EG_JSONUTIL_H
#define EG_JSONUTIL_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "strbuf.h"

struct jdoc {
	const char *file;  /* for messages */
	int line_base;     /* line of the text's first line (1 for a file, N for a JSONL line) */
	const char *text;  /* NUL-terminated, borrowed */
	size_t len;
	cJSON *root;       /* owned */
};

/* read a whole file into sb (max bytes; 0 = no limit); -1 after reporting */
int read_file(const char *path, struct strbuf *sb, size_t max);

/* "a string", "a number", "a boolean", "null", "an array", "an object": for messages */
const char *json_kind(const cJSON *v);
/*
 * Parse text as one JSON value: checks UTF-8 first, then syntax; on error
 * reports "file:line: invalid JSON: ... near 'xxx'" (or "... not UTF-8 at
 * byte N") and returns -1.
 */
int jdoc_parse(struct jdoc *d, const char *file, int line_base, const char *text, size_t len);
void jdoc_release(struct jdoc *d);
/*
 * Refuse control characters other than tab, newline and CR in the strings and
 * keys of v (configs and suite manifests: names and prompts that reach a
 * terminal); -1 after reporting the first.
 */
int jdoc_check_controls(const struct jdoc *d, const cJSON *v);
/* the line of node in the document (its key, for object members) */
int jdoc_line(const struct jdoc *d, const cJSON *node);
/* "file:line: field: message" for node; returns -1 */
int jdoc_error(const struct jdoc *d, const cJSON *node, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * Check that obj is an object whose keys are all in allowed (NULL-terminated);
 * reports the first unknown key as "field: unknown field 'k'" with
 * prefix "gateway." etc. -1 on error.
 */
int jdoc_check_keys(const struct jdoc *d, const cJSON *obj, const char *prefix,
		    const char *const *allowed);

/* typed member access; "field" in messages is prefix + key. Optional getters leave *out when absent. */
int jdoc_string(const struct jdoc *d, const cJSON *obj, const char *prefix, const char *key,
		int required, const char **out);
int jdoc_number(const struct jdoc *d, const cJSON *obj, const char *prefix, const char *key,
		int required, double lo, double hi, double *out);
int jdoc_bool(const struct jdoc *d, const cJSON *obj, const char *prefix, const char *key,
	      int *out);
/* array of strings; *out is malloc'd array of borrowed pointers, *n its length */
int jdoc_string_array(const struct jdoc *d, const cJSON *obj, const char *prefix, const char *key,
		      const char ***out, size_t *n);

/*
 * Strings as bytes. cJSON ends a string at a \u0000 escape (it keeps C
 * strings), so what follows the NUL would be lost. json_string_bytes
 * appends to out the whole value of the string node v of root, the tree
 * cJSON parsed from text (len bytes): when text holds a \u0000 (or a
 * NUL byte, which cJSON takes inside a string) the string is decoded again
 * from its token in the text, NULs kept; otherwise it is v->valuestring.
 * Anything but a string appends nothing.
 */
void json_string_bytes(struct strbuf *out, const char *text, size_t len, const cJSON *root,
		       const cJSON *v);
/* the UTF-8 of code point cp appended to out (a \uXXXX escape decoded) */
void json_add_code_point(struct strbuf *out, unsigned long cp);
/* the 4 hex digits at p (e the text's end) as a number, -1 when they are not */
long json_hex4(const char *p, const char *e);
/* whether text (len bytes) holds a \u0000 escape or a NUL byte, so that some string may hold a NUL */
int json_text_has_nul(const char *text, size_t len);

struct jsonw;
/*
 * v, a node of root (the tree cJSON parsed from text, len bytes), written to
 * w as jsonw_cjson() writes it, but its strings as bytes (json_string_bytes):
 * a \u0000 in text is written \u0000 again and what follows it is kept.
 * Object keys are written as cJSON holds them. Nodes added to the tree after
 * the parse at the end of an array are written as cJSON holds them.
 */
void json_write_bytes(struct jsonw *w, const char *text, size_t len, const cJSON *root,
		      const cJSON *v);
/* the same as a whole JSON text, malloc'd */
char *json_print_bytes(const char *text, size_t len, const cJSON *root, const cJSON *v);

/*
 * canonical JSON for hashing, malloc'd: object keys sorted, no whitespace,
 * strings as jsonw writes them, whole numbers under 1e15 as integers and
 * other numbers as %.17g (a rule of its own: the hashes are stored)
 */
char *json_canonical(const cJSON *v);

#endif
