#include "prompt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "case.h"
#include "error.h"
#include "jsonutil.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

#define PROMPT_MAX_BYTES (1u << 20)

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

/* a .json prompt: a non-empty array of {role, content} with string contents */
static int check_messages(const struct jdoc *d)
{
	static const char *const keys[] = { "role", "content", "name", NULL };
	static const char *const roles[] = { "system", "user", "assistant", "developer", NULL };
	const cJSON *m;
	int i = 0;

	if (!cJSON_IsArray(d->root) || !cJSON_GetArraySize(d->root))
		return jdoc_error(d, d->root, "prompt",
				  "expected a non-empty array of {\"role\", \"content\"} messages");
	cJSON_ArrayForEach(m, d->root) {
		const char *role = NULL, *content = NULL;
		const char *const *r;
		char f[48];

		snprintf(f, sizeof(f), "[%d].", i++);
		if (!cJSON_IsObject(m))
			return jdoc_error(d, m, "prompt", "message %d: expected an object", i - 1);
		if (jdoc_check_keys(d, m, f, keys) || jdoc_string(d, m, f, "role", 1, &role) ||
		    jdoc_string(d, m, f, "content", 1, &content))
			return -1;
		for (r = roles; *r && strcmp(*r, role); r++)
			;
		if (!*r)
			return jdoc_error(d, cJSON_GetObjectItem(m, "role"), "role",
					  "unknown role '%s' (system, user, assistant, developer)",
					  role);
	}
	return 0;
}

int prompt_load(struct prompt *p, const char *path)
{
	struct strbuf text = STRBUF_INIT;
	struct jdoc d = { 0 };
	int ret = -1;

	memset(p, 0, sizeof(*p));
	p->path = xstrdup(path);
	p->chat = ends_with(path, ".json");
	if (read_file(path, &text, PROMPT_MAX_BYTES))
		goto out;
	if (!p->chat) {
		ret = tmpl_compile_text(&p->t, path, text.buf, text.len);
		goto out;
	}
	if (jdoc_parse(&d, path, 1, text.buf, text.len) || check_messages(&d) ||
	    tmpl_compile_prompt_json(&p->t, &d, d.root, "prompt"))
		goto out;
	ret = 0;
out:
	jdoc_release(&d);
	strbuf_release(&text);
	if (ret)
		prompt_release(p);
	return ret;
}

int prompt_render(const struct prompt *p, struct eg_case *c, struct strbuf *err)
{
	struct strbuf out = STRBUF_INIT;
	int ret = -1;

	if (tmpl_render(&p->t, c, &out, err))
		goto out;
	if (!p->chat) {
		c->prompt = strbuf_detach(&out, NULL);
		ret = 0;
		goto out;
	}
	c->prompt_messages = cJSON_ParseWithLength(out.buf, out.len);
	if (!c->prompt_messages)
		die("%s: the rendered prompt is not JSON", p->path);
	ret = 0;
out:
	strbuf_release(&out);
	return ret;
}

void prompt_case_text(const struct eg_case *c, struct strbuf *out)
{
	char *canon;

	if (c->prompt) {
		strbuf_addstr(out, c->prompt);
		return;
	}
	if (!c->prompt_messages)
		return;
	canon = json_canonical(c->prompt_messages);
	strbuf_addstr(out, canon);
	free(canon);
}

void prompt_release(struct prompt *p)
{
	free(p->path);
	tmpl_release(&p->t);
	memset(p, 0, sizeof(*p));
}
