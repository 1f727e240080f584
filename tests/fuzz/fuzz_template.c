/*
 * libFuzzer target: the template engine (runner/targets/template.c) on a
 * prompt file and on a request body. The input's first line is a case
 * (JSON: input, expected, context, vars); the rest is a template, compiled
 * as plain text (a prompt file) and, when it is JSON, as an http body. It
 * must never crash, leak or recurse without bound; a compiled template
 * renders to NUL-terminated text, or fails saying on one line what the
 * case lacks; a rendered body is JSON again.
 *
 * Built by -DEG_FUZZ=ON (see README.md here); ./dev.sh fuzz runs it on its
 * seeds in corpus/template/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "case.h"
#include "jsonutil.h"
#include "strbuf.h"
#include "template.h"
#include "xalloc.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void case_from(struct eg_case *c, const cJSON *j)
{
	const cJSON *v, *p;
	size_t i = 0;

	memset(c, 0, sizeof(*c));
	c->id = xstrdup("fuzz");
	if (cJSON_IsString(v = cJSON_GetObjectItem(j, "input")))
		c->input = xstrdup(v->valuestring);
	if (cJSON_IsString(v = cJSON_GetObjectItem(j, "expected")))
		c->expected = xstrdup(v->valuestring);
	if (cJSON_IsObject(v = cJSON_GetObjectItem(j, "vars")))
		c->vars = cJSON_Duplicate(v, 1);
	if (cJSON_IsArray(v = cJSON_GetObjectItem(j, "context"))) {
		c->context = xcalloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(char *));
		cJSON_ArrayForEach(p, v)
			if (cJSON_IsString(p))
				c->context[i++] = xstrdup(p->valuestring);
		c->n_context = i;
	}
}

static void case_free(struct eg_case *c)
{
	size_t i;

	free(c->id);
	free(c->input);
	free(c->expected);
	cJSON_Delete(c->vars);
	for (i = 0; i < c->n_context; i++)
		free(c->context[i]);
	free(c->context);
}

/* render t for c: a failure says why on one line; a body renders to JSON */
static void render(const struct tmpl *t, const struct eg_case *c, int json)
{
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;

	if (tmpl_render(t, c, &out, &err)) {
		if (!err.len || memchr(err.buf, '\n', err.len))
			abort();
	} else if (json) {
		cJSON *j = cJSON_ParseWithLength(out.buf, out.len);

		if (!j)
			abort();
		cJSON_Delete(j);
	}
	if (out.buf[out.len] != '\0')
		abort();
	strbuf_release(&out);
	strbuf_release(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	size_t head = nl ? (size_t)(nl - (const char *)data) : size;
	cJSON *kase = cJSON_ParseWithLength((const char *)data, head);
	char *text = xstrndup(nl ? nl + 1 : "", nl ? size - head - 1 : 0);
	size_t len = nl ? size - head - 1 : 0;
	struct eg_case c;
	struct tmpl t;
	struct jdoc d;

	case_from(&c, kase);
	if (!tmpl_compile_text(&t, "p.txt", text, len)) {
		render(&t, &c, 0);
		tmpl_release(&t);
	}
	if (!memchr(text, '\0', len) && !jdoc_parse(&d, "b.json", 1, text, strlen(text))) {
		if (!tmpl_compile_json(&t, &d, d.root, "target.request.body")) {
			render(&t, &c, 1);
			tmpl_release(&t);
		}
		jdoc_release(&d);
	}
	case_free(&c);
	cJSON_Delete(kase);
	free(text);
	return 0;
}
