/*
 * template: the one template engine (SPEC 11): the http target's request
 * templates and the prompt files of a target or suite (prompt.h), compiled
 * once at load and rendered for each case.
 *
 * A template is a JSON body whose string values hold tags, a URL, or plain
 * text (a prompt file). Tags:
 *   {{input}}      the case's input (or the last user message of its messages)
 *   {{messages}}   the case's messages (or one user message holding its input)
 *   {{expected}}   its reference answer
 *   {{id}}         its id
 *   {{context}}    its own context passages (an array of strings)
 *   {{vars.NAME}}  its "vars" member NAME, any JSON value
 *   {{prompt}}     the case's rendered prompt (request templates only): its
 *                  text, or its messages (an array) for a .json prompt
 *   {{#NAME}}...{{/NAME}}  a section over context or vars.NAME: repeated for
 *                  each item of a list ({{.}} is the item), once for any other
 *                  truthy value, not at all for a missing, false, null, 0,
 *                  "" or empty value; sections nest
 *   {{^NAME}}...{{/NAME}}  inverted: once when the section would not render
 *   {{{x}}}, {{&x}}  the same as {{x}}: nothing is ever HTML-escaped
 * Blanks inside the braces are allowed ({{ input }}). In a body, a string
 * that is exactly one tag becomes the value with its JSON type ("{{messages}}"
 * an array, "{{vars.n}}" a number); a tag inside a longer string becomes the
 * value's text (a string as is, anything else as compact JSON), escaped for
 * the string. In a URL the text is percent-encoded. In plain text a value is
 * written as is (a string's characters; context's passages one per line;
 * anything else compact JSON). A section opened in a JSON string or a URL
 * closes in it. A case that lacks a value a tag outside a section uses cannot
 * be asked: rendering fails and says which, naming the tag's line.
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
	TAG_PROMPT,
	TAG_DOT,                 /* {{.}}: the item of the innermost section */
};

enum tmpl_mode {
	PIECE_TEXT,              /* literal text, written as is */
	PIECE_VALUE,             /* a whole JSON value */
	PIECE_STRING,            /* text inside a JSON string, escaped */
	PIECE_URL,               /* text in a URL, percent-encoded */
	PIECE_RAW,               /* text of a plain-text template, written as is */
	PIECE_SECTION,           /* {{#tag}}: the pieces up to end, for each item */
	PIECE_INVERTED,          /* {{^tag}}: the pieces up to end, when there is no item */
	PIECE_END,               /* {{/tag}} */
};

struct tmpl_piece {
	enum tmpl_mode mode;
	enum tmpl_tag tag;       /* not PIECE_TEXT */
	char *text;              /* PIECE_TEXT: the text; TAG_VAR: the variable's name */
	size_t len;              /* of text */
	size_t end;              /* PIECE_SECTION, PIECE_INVERTED: index of its PIECE_END */
	int line;                /* of the tag in its file, 0 when unknown */
};

struct tmpl {
	struct tmpl_piece *p;
	size_t n, alloc;
	size_t n_tags;           /* pieces that are tags */
	char *origin;            /* the file, for messages; NULL: "the request template" */
};

/* a JSON body; errors name field (e.g. "target.request.body") and the member at fault */
int tmpl_compile_json(struct tmpl *t, const struct jdoc *d, const cJSON *v, const char *field);
/* a URL (already expanded from the environment); errors are reported at node */
int tmpl_compile_url(struct tmpl *t, const struct jdoc *d, const cJSON *node, const char *field,
		     const char *url);
/*
 * plain text (a prompt file): text of len bytes read from file (line 1 is
 * its first line). {{prompt}} and {{messages}} are not tags of a prompt.
 * Errors are "file:line: prompt: what"; t->origin is file.
 */
int tmpl_compile_text(struct tmpl *t, const char *file, const char *text, size_t len);
/*
 * a JSON template read from file (a .json prompt): like tmpl_compile_json
 * without {{prompt}} and {{messages}}; errors name field; t->origin is file
 */
int tmpl_compile_prompt_json(struct tmpl *t, const struct jdoc *d, const cJSON *v,
			     const char *field);
/* append the template filled from c to out; -1 with err naming what the case lacks */
int tmpl_render(const struct tmpl *t, const struct eg_case *c, struct strbuf *out,
		struct strbuf *err);
void tmpl_release(struct tmpl *t);

#endif
