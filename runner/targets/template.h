/*
 * template: the http target's request templates (SPEC 11), compiled once at
 * load and rendered for each case.
 *
 * A template is a JSON body whose string values hold tags, or a URL:
 *   {{input}}      the case's input (or the last user message of its messages)
 *   {{messages}}   the case's messages (or one user message holding its input)
 *   {{expected}}   its reference answer
 *   {{id}}         its id
 *   {{context}}    its own context passages (an array of strings)
 *   {{vars.NAME}}  its "vars" member NAME, any JSON value
 * Blanks inside the braces are allowed ({{ input }}). In a body, a string
 * that is exactly one tag becomes the value with its JSON type ("{{messages}}"
 * an array, "{{vars.n}}" a number); a tag inside a longer string becomes the
 * value's text (a string as is, anything else as compact JSON), escaped for
 * the string. In a URL the text is percent-encoded. A case that lacks a
 * value a template uses cannot be asked: rendering fails and says which.
 *
 * Ownership: tmpl_compile_* fill a struct tmpl that tmpl_release frees.
 */
#ifndef EG_TEMPLATE_H
#define EG_TEMPLATE_H

#include <stddef.h>

#include <cjson/cJSON.h>

struct eg_case;
struct jdoc;
struct strbuf;

enum tmpl_tag {
	TAG_INPUT,
	TAG_MESSAGES,
	TAG_EXPECTED,
	TAG_ID,
	TAG_CONTEXT,
	TAG_VAR,
};

enum tmpl_mode {
	PIECE_TEXT,              /* literal text, written as is */
	PIECE_VALUE,             /* a whole JSON value */
	PIECE_STRING,            /* text inside a JSON string, escaped */
	PIECE_URL,               /* text in a URL, percent-encoded */
};

struct tmpl_piece {
	enum tmpl_mode mode;
	enum tmpl_tag tag;       /* not PIECE_TEXT */
	char *text;              /* PIECE_TEXT: the text; TAG_VAR: the variable's name */
	size_t len;              /* of text */
};

struct tmpl {
	struct tmpl_piece *p;
	size_t n, alloc;
	size_t n_tags;           /* pieces that are tags */
};

/* a JSON body; errors name field (e.g. "target.request.body") and the member at fault */
int tmpl_compile_json(struct tmpl *t, const struct jdoc *d, const cJSON *v, const char *field);
/* a URL (already expanded from the environment); errors are reported at node */
int tmpl_compile_url(struct tmpl *t, const struct jdoc *d, const cJSON *node, const char *field,
		     const char *url);
/* append the template filled from c to out; -1 with err naming what the case lacks */
int tmpl_render(const struct tmpl *t, const struct eg_case *c, struct strbuf *out,
		struct strbuf *err);
void tmpl_release(struct tmpl *t);

#endif
