/*
 * jsonptr: JSON Pointers (RFC 6901) with a wildcard, for the http target's
 * response map.
 *
 * "" is the whole document; "/a/b" walks member a, then b; "~1" in a token
 * stands for '/' and "~0" for '~'. In an array, a token is an index (decimal,
 * no leading zero; "-" names no element, so it never resolves). A token that
 * is exactly "*" maps over an array: the rest of the pointer is resolved in
 * each element, and the values found are collected in document order (a
 * second "*" flattens). A member literally named "*" cannot be addressed.
 *
 * Ownership: jptr_parse fills a struct jptr that jptr_release frees. The
 * values jptr_eval collects are borrowed from the document; the array
 * holding them is freed by jptr_hits_release.
 */
#ifndef EG_JSONPTR_H
#define EG_JSONPTR_H

#include <stddef.h>

#include <cjson/cJSON.h>

struct strbuf;

struct jptr {
	char *text;          /* as written, for messages */
	char **tok;          /* unescaped reference tokens; NULL for a "*" */
	size_t n;
	size_t n_wild;       /* how many "*" tokens */
};

struct jptr_hits {
	const cJSON **v;     /* the values reached, borrowed */
	size_t n, alloc;
};

/* 0 ok; -1 with a description in err (syntax: "must start with '/'", bad "~" escapes) */
int jptr_parse(struct jptr *p, const char *text, struct strbuf *err);
void jptr_release(struct jptr *p);

/*
 * Resolve p in root, appending what it reaches to out: one value without a
 * wildcard; zero or more with one. -1 when it does not resolve, with err
 * saying where: "no member 'x' at /a/0", "index 4 out of range (3 elements)
 * at /a", "/a/b is a string, not an object or array", "* needs an array;
 * /a is an object". out then holds what was collected before.
 */
int jptr_eval(const struct jptr *p, const cJSON *root, struct jptr_hits *out,
	      struct strbuf *err);
void jptr_hits_release(struct jptr_hits *h);

#endif
