/*
 * prompt: a prompt file of a target or a suite (SPEC 11), compiled once at
 * load by the template engine (template.h) and rendered for each case.
 *
 * A file whose name ends in .json is a list of {role, content} messages
 * whose contents hold tags; any other file is text that becomes the user
 * message. Tags: {{input}}, {{expected}}, {{id}}, {{vars.NAME}},
 * {{context}} and sections ({{#context}}...{{.}}...{{/context}},
 * {{^NAME}}...{{/NAME}}). Nothing is HTML-escaped.
 *
 * Ownership: prompt_load fills a struct prompt that prompt_release frees.
 */
#ifndef EG_PROMPT_H
#define EG_PROMPT_H

#include "template.h"

struct eg_case;
struct strbuf;

struct prompt {
	char *path;              /* the file, as messages name it */
	int chat;                /* 1: a .json list of messages; 0: text, the user message */
	struct tmpl t;
};

/* read and compile path; -1 after a located error ("file:line: prompt: what") */
int prompt_load(struct prompt *p, const char *path);
/*
 * render p for c into c->prompt (text) or c->prompt_messages (a .json
 * prompt); -1 with err saying what the case lacks and the line using it
 */
int prompt_render(const struct prompt *p, struct eg_case *c, struct strbuf *err);
/* the rendered prompt of c as canonical text for its hash; "" when none */
void prompt_case_text(const struct eg_case *c, struct strbuf *out);
void prompt_release(struct prompt *p);

#endif
