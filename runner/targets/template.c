#include "template.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "case.h"
#include "jsonutil.h"
#include "jsonw.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

static const char known_tags[] = "input, messages, expected, id, context, vars.NAME";

/* ------------------------------------------------------------ compiling */

static void add_piece(struct tmpl *t, enum tmpl_mode mode, enum tmpl_tag tag, const char *text,
		      size_t len)
{
	struct tmpl_piece *p;

	/* literal text joins the literal before it */
	if (mode == PIECE_TEXT && t->n && t->p[t->n - 1].mode == PIECE_TEXT) {
		p = &t->p[t->n - 1];
		p->text = xrealloc(p->text, p->len + len + 1);
		memcpy(p->text + p->len, text, len);
		p->len += len;
		p->text[p->len] = '\0';
		return;
	}
	if (mode == PIECE_TEXT && !len)
		return;
	XGROW(t->p, t->n + 1, t->alloc);
	p = &t->p[t->n++];
	p->mode = mode;
	p->tag = tag;
	p->text = text ? xstrndup(text, len) : NULL;
	p->len = text ? len : 0;
	if (mode != PIECE_TEXT)
		t->n_tags++;
}

static void add_text(struct tmpl *t, const char *s)
{
	add_piece(t, PIECE_TEXT, TAG_INPUT, s, strlen(s));
}

/* s as the inside of a JSON string literal (no quotes) */
static void add_json_inner(struct strbuf *sb, const char *s, size_t len)
{
	size_t at = sb->len;

	jsonw_add_str(sb, s, len, 0);
	memmove(sb->buf + at, sb->buf + at + 1, sb->len - at - 2);
	sb->len -= 2;
	sb->buf[sb->len] = '\0';
}

static int var_name_ok(const char *s, size_t len)
{
	size_t i;

	if (!len)
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return 0;
	return 1;
}

/*
 * the tag between "{{" at s and the "}}" that ends it: *tag (and the
 * variable's name in *name, its length in *name_len); returns the length of the whole tag,
 * or 0 after a located error
 */
static size_t parse_tag(const struct jdoc *d, const cJSON *node, const char *field, const char *s,
			enum tmpl_tag *tag, const char **name, size_t *name_len)
{
	static const struct { const char *name; enum tmpl_tag tag; } tags[] = {
		{ "input", TAG_INPUT }, { "messages", TAG_MESSAGES }, { "expected", TAG_EXPECTED },
		{ "id", TAG_ID }, { "context", TAG_CONTEXT },
	};
	const char *end = strstr(s + 2, "}}"), *a = s + 2, *b;
	size_t i;

	if (!end) {
		jdoc_error(d, node, field, "unterminated {{ (a tag ends with }})");
		return 0;
	}
	b = end;
	while (a < b && (*a == ' ' || *a == '\t'))
		a++;
	while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
		b--;
	*name = NULL;
	*name_len = 0;
	for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
		if (strlen(tags[i].name) == (size_t)(b - a) && !memcmp(tags[i].name, a, (size_t)(b - a))) {
			*tag = tags[i].tag;
			return (size_t)(end + 2 - s);
		}
	if (b - a > 5 && !memcmp(a, "vars.", 5) && var_name_ok(a + 5, (size_t)(b - a - 5))) {
		*tag = TAG_VAR;
		*name = a + 5;
		*name_len = (size_t)(b - a - 5);
		return (size_t)(end + 2 - s);
	}
	jdoc_error(d, node, field, "unknown tag {{%.*s}} (known: %s)", (int)(end - (s + 2)), s + 2,
		   known_tags);
	return 0;
}

/* a string of a body (mode PIECE_STRING) or a URL (PIECE_URL) */
static int compile_string(struct tmpl *t, const struct jdoc *d, const cJSON *node,
			  const char *field, const char *s, enum tmpl_mode mode)
{
	struct strbuf lit = STRBUF_INIT;
	enum tmpl_tag tag;
	const char *name;
	size_t name_len, n;
	int ret = -1;

	/* a body string that is one tag and nothing else keeps the value's JSON type */
	if (mode == PIECE_STRING && s[0] == '{' && s[1] == '{') {
		const char *end = strstr(s + 2, "}}");

		if (end && !end[2]) {
			n = parse_tag(d, node, field, s, &tag, &name, &name_len);
			if (!n)
				goto out;
			add_piece(t, PIECE_VALUE, tag, name, name_len);
			ret = 0;
			goto out;
		}
	}
	if (mode == PIECE_STRING)
		add_text(t, "\"");
	while (*s) {
		const char *open = strstr(s, "{{");
		size_t len = open ? (size_t)(open - s) : strlen(s);

		strbuf_reset(&lit);
		if (mode == PIECE_STRING)
			add_json_inner(&lit, s, len);
		else
			strbuf_add(&lit, s, len);
		add_piece(t, PIECE_TEXT, TAG_INPUT, lit.buf, lit.len);
		if (!open)
			break;
		n = parse_tag(d, node, field, open, &tag, &name, &name_len);
		if (!n)
			goto out;
		add_piece(t, mode, tag, name, name_len);
		s = open + n;
	}
	if (mode == PIECE_STRING)
		add_text(t, "\"");
	ret = 0;
out:
	strbuf_release(&lit);
	return ret;
}

static int compile_node(struct tmpl *t, const struct jdoc *d, const cJSON *v, struct strbuf *field)
{
	const cJSON *c;
	size_t at = field->len;
	int i = 0, ret = 0;
	char *text;

	if (cJSON_IsString(v))
		return compile_string(t, d, v, field->buf, v->valuestring, PIECE_STRING);
	if (!cJSON_IsObject(v) && !cJSON_IsArray(v)) {
		text = jsonw_print(v, 0);
		if (!text)
			return jdoc_error(d, v, field->buf, "cannot be written as JSON");
		add_text(t, text);
		cJSON_free(text);
		return 0;
	}
	add_text(t, cJSON_IsObject(v) ? "{" : "[");
	for (c = v->child; c && !ret; c = c->next, i++) {
		if (i)
			add_text(t, ",");
		if (cJSON_IsObject(v)) {
			struct strbuf key = STRBUF_INIT;

			jsonw_add_str(&key, c->string, strlen(c->string), 0);
			strbuf_addch(&key, ':');
			add_piece(t, PIECE_TEXT, TAG_INPUT, key.buf, key.len);
			strbuf_release(&key);
			strbuf_addf(field, ".%s", c->string);
		} else {
			strbuf_addf(field, "[%d]", i);
		}
		ret = compile_node(t, d, c, field);
		field->len = at;
		field->buf[at] = '\0';
	}
	add_text(t, cJSON_IsObject(v) ? "}" : "]");
	return ret;
}

int tmpl_compile_json(struct tmpl *t, const struct jdoc *d, const cJSON *v, const char *field)
{
	struct strbuf f = STRBUF_INIT;
	int ret;

	memset(t, 0, sizeof(*t));
	strbuf_addstr(&f, field);
	ret = compile_node(t, d, v, &f);
	strbuf_release(&f);
	if (ret)
		tmpl_release(t);
	return ret;
}

int tmpl_compile_url(struct tmpl *t, const struct jdoc *d, const cJSON *node, const char *field,
		     const char *url)
{
	memset(t, 0, sizeof(*t));
	if (compile_string(t, d, node, field, url, PIECE_URL)) {
		tmpl_release(t);
		return -1;
	}
	return 0;
}

void tmpl_release(struct tmpl *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->p[i].text);
	free(t->p);
	memset(t, 0, sizeof(*t));
}

/* ------------------------------------------------------------ rendering */

/* the case's input, or the content of the last user message that is a string */
static const char *case_input(const struct eg_case *c)
{
	const cJSON *m, *last = NULL;

	if (c->input)
		return c->input;
	cJSON_ArrayForEach(m, c->messages) {
		const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
		const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");

		if (cJSON_IsString(role) && !strcmp(role->valuestring, "user") &&
		    cJSON_IsString(content))
			last = content;
	}
	return last ? last->valuestring : NULL;
}

static const cJSON *case_var(const struct eg_case *c, const struct tmpl_piece *p)
{
	const cJSON *v;

	cJSON_ArrayForEach(v, c->vars)
		if (strlen(v->string) == p->len && !memcmp(v->string, p->text, p->len))
			return v;
	return NULL;
}

static void add_cjson(struct strbuf *sb, const cJSON *v)
{
	char *text;

	if (cJSON_IsString(v)) {
		jsonw_add_str(sb, v->valuestring, strlen(v->valuestring), 0);
		return;
	}
	text = jsonw_print(v, 0);
	strbuf_addstr(sb, text ? text : "null");
	cJSON_free(text);
}

/*
 * the value of a tag: as JSON into sb, or (as_text) as text: a string's
 * characters, anything else its JSON; -1 with err when the case lacks it
 */
static int tag_value(const struct tmpl_piece *p, const struct eg_case *c, int as_text,
		     struct strbuf *sb, struct strbuf *err)
{
	const char *s = NULL;
	const cJSON *v;
	size_t i;

	switch (p->tag) {
	case TAG_INPUT:
		s = case_input(c);
		if (!s)
			goto out_lacks;
		break;
	case TAG_EXPECTED:
		s = c->expected;
		if (!s)
			goto out_lacks;
		break;
	case TAG_ID:
		s = c->id;
		break;
	case TAG_MESSAGES:
		if (c->messages) {
			add_cjson(sb, c->messages);
			return 0;
		}
		if (!c->input)
			goto out_lacks;
		strbuf_addstr(sb, "[{\"role\":\"user\",\"content\":");
		jsonw_add_str(sb, c->input, strlen(c->input), 0);
		strbuf_addstr(sb, "}]");
		return 0;
	case TAG_CONTEXT:
		if (!c->context)
			goto out_lacks;
		strbuf_addch(sb, '[');
		for (i = 0; i < c->n_context; i++) {
			if (i)
				strbuf_addch(sb, ',');
			jsonw_add_str(sb, c->context[i], strlen(c->context[i]), 0);
		}
		strbuf_addch(sb, ']');
		return 0;
	case TAG_VAR:
		v = case_var(c, p);
		if (!v)
			goto out_lacks;
		if (as_text && cJSON_IsString(v))
			strbuf_addstr(sb, v->valuestring);
		else
			add_cjson(sb, v);
		return 0;
	}
	if (as_text)
		strbuf_addstr(sb, s);
	else
		jsonw_add_str(sb, s, strlen(s), 0);
	return 0;

out_lacks:
	if (p->tag == TAG_VAR)
		strbuf_addf(err, "the case has no vars.%s, which the request template uses", p->text);
	else
		strbuf_addf(err, "the case has no %s, which the request template uses",
			    p->tag == TAG_INPUT ? "input" : p->tag == TAG_EXPECTED ? "expected"
			    : p->tag == TAG_MESSAGES ? "input or messages" : "context");
	return -1;
}

static void add_percent_encoded(struct strbuf *sb, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
			strbuf_addch(sb, c);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			strbuf_add(sb, e, sizeof(e));
		}
	}
}

int tmpl_render(const struct tmpl *t, const struct eg_case *c, struct strbuf *out,
		struct strbuf *err)
{
	struct strbuf tmp = STRBUF_INIT;
	size_t i;
	int ret = -1;

	for (i = 0; i < t->n; i++) {
		const struct tmpl_piece *p = &t->p[i];

		switch (p->mode) {
		case PIECE_TEXT:
			strbuf_add(out, p->text, p->len);
			break;
		case PIECE_VALUE:
			if (tag_value(p, c, 0, out, err))
				goto out;
			break;
		case PIECE_STRING:
		case PIECE_URL:
			strbuf_reset(&tmp);
			if (tag_value(p, c, 1, &tmp, err))
				goto out;
			if (p->mode == PIECE_STRING)
				add_json_inner(out, tmp.buf, tmp.len);
			else
				add_percent_encoded(out, tmp.buf, tmp.len);
			break;
		}
	}
	ret = 0;
out:
	strbuf_release(&tmp);
	return ret;
}
