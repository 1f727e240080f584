#include "template.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "case.h"
#include "error.h"
#include "jsonutil.h"
#include "jsonw.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

static const char known_tags[] = "input, messages, expected, id, context, vars.NAME, prompt";
static const char known_prompt_tags[] = "input, expected, id, context, vars.NAME";

#define TMPL_MAX_DEPTH 32        /* sections open at once */

/* ------------------------------------------------------------ compiling */

/* where a template comes from, to locate its errors */
struct where {
	const struct jdoc *d;    /* a JSON template: its document, */
	const cJSON *node;       /* the string being compiled, */
	const char *field;       /* and its field */
	const char *file;        /* a text template: its file */
	const char *text;        /* and its text, to count lines */
	int prompt;              /* a prompt's template: no {{prompt}} nor {{messages}} */
};

/* the open sections of a template being compiled */
struct sections {
	size_t at[TMPL_MAX_DEPTH];   /* piece index of each open section */
	const char *src[TMPL_MAX_DEPTH]; /* where its tag is in the source */
	size_t n;
};

static int where_line(const struct where *w, const char *at)
{
	const char *p;
	int line = 1;

	if (w->d)
		return jdoc_line(w->d, w->node);
	for (p = w->text; p < at; p++)
		line += *p == '\n';
	return line;
}

__attribute__((format(printf, 3, 4)))
static int where_error(const struct where *w, const char *at, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (w->d)
		return jdoc_error(w->d, w->node, w->field, "%s", msg);
	return error_at(w->file, where_line(w, at), "prompt", "%s", msg);
}

static size_t add_piece(struct tmpl *t, enum tmpl_mode mode, enum tmpl_tag tag, const char *text,
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
		return t->n - 1;
	}
	if (mode == PIECE_TEXT && !len)
		return t->n;
	XGROW(t->p, t->n + 1, t->alloc);
	p = &t->p[t->n++];
	memset(p, 0, sizeof(*p));
	p->mode = mode;
	p->tag = tag;
	p->text = text ? xstrndup(text, len) : NULL;
	p->len = text ? len : 0;
	if (mode != PIECE_TEXT && mode != PIECE_END)
		t->n_tags++;
	return t->n - 1;
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

/* one tag as parsed: {{name}}, {{#name}}, {{^name}} or {{/name}} */
struct tag {
	char sigil;              /* '#', '^', '/' or 0 */
	enum tmpl_tag tag;
	const char *name;        /* the tag's text without the sigil and blanks */
	size_t name_len;
	const char *var;         /* TAG_VAR: the variable's name */
	size_t var_len;
};

/*
 * the tag that opens at s ("{{"): into *tg; returns the length of the whole
 * tag, or 0 after a located error
 */
static size_t parse_tag(const struct where *w, const char *s, struct tag *tg)
{
	static const struct { const char *name; enum tmpl_tag tag; int in_prompt; } tags[] = {
		{ "input", TAG_INPUT, 1 }, { "messages", TAG_MESSAGES, 0 },
		{ "expected", TAG_EXPECTED, 1 }, { "id", TAG_ID, 1 }, { "context", TAG_CONTEXT, 1 },
		{ "prompt", TAG_PROMPT, 0 }, { ".", TAG_DOT, 1 },
	};
	int triple = s[2] == '{';
	const char *a = s + 2 + triple, *end = strstr(a, triple ? "}}}" : "}}"), *b;
	size_t i;

	if (!end)
		return where_error(w, s, "unterminated {{ (a tag ends with }})"), 0;
	b = end;
	memset(tg, 0, sizeof(*tg));
	while (a < b && (*a == ' ' || *a == '\t'))
		a++;
	if (!triple && a < b && strchr("#^/&", *a)) {
		tg->sigil = *a == '&' ? 0 : *a;
		a++;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
	}
	while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
		b--;
	tg->name = a;
	tg->name_len = (size_t)(b - a);
	for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
		if (strlen(tags[i].name) == tg->name_len && !memcmp(tags[i].name, a, tg->name_len) &&
		    (tags[i].in_prompt || !w->prompt)) {
			tg->tag = tags[i].tag;
			goto out_found;
		}
	if (b - a > 5 && !memcmp(a, "vars.", 5) && var_name_ok(a + 5, (size_t)(b - a - 5))) {
		tg->tag = TAG_VAR;
		tg->var = a + 5;
		tg->var_len = (size_t)(b - a - 5);
		goto out_found;
	}
	where_error(w, s, "unknown tag {{%.*s}} (known: %s)", (int)(end - (s + 2 + triple)),
		    s + 2 + triple, w->prompt ? known_prompt_tags : known_tags);
	return 0;
out_found:
	if (tg->sigil && tg->tag != TAG_CONTEXT && tg->tag != TAG_VAR && tg->tag != TAG_INPUT &&
	    tg->tag != TAG_EXPECTED)
		return where_error(w, s, "{{%c%.*s}}: a section is over context, vars.NAME, input "
				   "or expected", tg->sigil, (int)tg->name_len, tg->name), 0;
	return (size_t)(end + 2 + triple - s);
}

/*
 * a parsed tag at src into t as a piece of mode; sections open and close
 * on st. -1 after a located error
 */
static int add_tag(struct tmpl *t, const struct where *w, struct sections *st, const char *src,
		   const struct tag *tg, enum tmpl_mode mode)
{
	size_t i;

	if (tg->sigil == '/') {
		const struct tmpl_piece *open;

		if (!st->n)
			return where_error(w, src, "{{/%.*s}} closes no section", (int)tg->name_len,
					   tg->name);
		open = &t->p[st->at[st->n - 1]];
		if (open->tag != tg->tag || (tg->tag == TAG_VAR &&
		    (open->len != tg->var_len || memcmp(open->text, tg->var, tg->var_len))))
			return where_error(w, src, "{{/%.*s}} closes the section opened at line %d, "
					   "which it does not name", (int)tg->name_len, tg->name,
					   open->line);
		i = add_piece(t, PIECE_END, tg->tag, NULL, 0);
		t->p[st->at[--st->n]].end = i;
		t->p[i].line = where_line(w, src);
		return 0;
	}
	if (tg->tag == TAG_DOT && !st->n)
		return where_error(w, src, "{{.}} outside a section (it is the item of a section)");
	if (tg->sigil && st->n == TMPL_MAX_DEPTH)
		return where_error(w, src, "sections nested more than %d deep", TMPL_MAX_DEPTH);
	i = add_piece(t, tg->sigil == '#' ? PIECE_SECTION : tg->sigil == '^' ? PIECE_INVERTED : mode,
		      tg->tag, tg->var, tg->var_len);
	t->p[i].line = where_line(w, src);
	if (tg->sigil) {
		st->src[st->n] = src;
		st->at[st->n++] = i;
	}
	return 0;
}

static int sections_closed(const struct tmpl *t, const struct where *w, const struct sections *st)
{
	const struct tmpl_piece *open;

	if (!st->n)
		return 0;
	open = &t->p[st->at[st->n - 1]];
	return where_error(w, st->src[st->n - 1], "unclosed section {{%c%s%s}} (no {{/...}} after it)",
			   open->mode == PIECE_SECTION ? '#' : '^',
			   open->tag == TAG_VAR ? "vars." : open->tag == TAG_CONTEXT ? "context"
			   : open->tag == TAG_INPUT ? "input" : "expected",
			   open->tag == TAG_VAR ? open->text : "");
}

/* a string of a body (mode PIECE_STRING) or a URL (PIECE_URL) */
static int compile_string(struct tmpl *t, const struct where *w, const char *s,
			  enum tmpl_mode mode)
{
	struct strbuf lit = STRBUF_INIT;
	struct sections st = { .n = 0 };
	struct tag tg;
	size_t n;
	int ret = -1;

	/* a body string that is one tag and nothing else keeps the value's JSON type */
	if (mode == PIECE_STRING && s[0] == '{' && s[1] == '{' && s[2] != '{') {
		const char *end = strstr(s + 2, "}}");

		if (end && !end[2]) {
			n = parse_tag(w, s, &tg);
			if (!n)
				goto out;
			if (!tg.sigil && tg.tag != TAG_DOT) {
				n = add_piece(t, PIECE_VALUE, tg.tag, tg.var, tg.var_len);
				t->p[n].line = where_line(w, s);
				ret = 0;
				goto out;
			}
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
		n = parse_tag(w, open, &tg);
		if (!n || add_tag(t, w, &st, open, &tg, mode))
			goto out;
		s = open + n;
	}
	if (sections_closed(t, w, &st))
		goto out;
	if (mode == PIECE_STRING)
		add_text(t, "\"");
	ret = 0;
out:
	strbuf_release(&lit);
	return ret;
}

static int compile_node(struct tmpl *t, struct where *w, const cJSON *v, struct strbuf *field)
{
	const cJSON *c;
	size_t at = field->len;
	int i = 0, ret = 0;
	char *text;

	if (cJSON_IsString(v)) {
		w->node = v;
		w->field = field->buf;
		return compile_string(t, w, v->valuestring, PIECE_STRING);
	}
	if (!cJSON_IsObject(v) && !cJSON_IsArray(v)) {
		text = jsonw_print(v, 0);
		if (!text)
			return jdoc_error(w->d, v, field->buf, "cannot be written as JSON");
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
		ret = compile_node(t, w, c, field);
		field->len = at;
		field->buf[at] = '\0';
	}
	add_text(t, cJSON_IsObject(v) ? "}" : "]");
	return ret;
}

static int compile_json(struct tmpl *t, const struct jdoc *d, const cJSON *v, const char *field,
			int prompt)
{
	struct where w = { .d = d, .prompt = prompt };
	struct strbuf f = STRBUF_INIT;
	int ret;

	memset(t, 0, sizeof(*t));
	strbuf_addstr(&f, field);
	ret = compile_node(t, &w, v, &f);
	strbuf_release(&f);
	if (ret)
		tmpl_release(t);
	return ret;
}

int tmpl_compile_json(struct tmpl *t, const struct jdoc *d, const cJSON *v, const char *field)
{
	return compile_json(t, d, v, field, 0);
}

int tmpl_compile_prompt_json(struct tmpl *t, const struct jdoc *d, const cJSON *v,
			     const char *field)
{
	if (compile_json(t, d, v, field, 1))
		return -1;
	t->origin = xstrdup(d->file);
	return 0;
}

int tmpl_compile_url(struct tmpl *t, const struct jdoc *d, const cJSON *node, const char *field,
		     const char *url)
{
	struct where w = { .d = d, .node = node, .field = field };

	memset(t, 0, sizeof(*t));
	if (compile_string(t, &w, url, PIECE_URL)) {
		tmpl_release(t);
		return -1;
	}
	return 0;
}

/*
 * A section tag alone on its line (blanks around it) takes the line with it,
 * as Mustache's standalone tags do: *from is moved back over the blanks
 * before the tag and *after past the line's end. 1 when it is standalone.
 */
static int standalone(const char *text, const char **before_end, const char **after)
{
	const char *a = *before_end, *b = *after;

	while (a > text && (a[-1] == ' ' || a[-1] == '\t'))
		a--;
	if (a > text && a[-1] != '\n')
		return 0;
	while (*b == ' ' || *b == '\t' || *b == '\r')
		b++;
	if (*b && *b != '\n')
		return 0;
	*before_end = a;
	*after = *b ? b + 1 : b;
	return 1;
}

int tmpl_compile_text(struct tmpl *t, const char *file, const char *text, size_t len)
{
	struct where w = { .file = file, .text = text, .prompt = 1 };
	struct sections st = { .n = 0 };
	const char *s = text;
	struct tag tg;
	int ret = -1;

	memset(t, 0, sizeof(*t));
	t->origin = xstrdup(file);
	if (strlen(text) != len) {
		error_at(file, where_line(&w, text + strlen(text)), "prompt",
			 "a NUL byte in the text");
		goto out;
	}
	while (*s) {
		const char *open = strstr(s, "{{"), *lit_end, *next;
		size_t n;

		if (!open) {
			add_piece(t, PIECE_TEXT, TAG_INPUT, s, strlen(s));
			break;
		}
		n = parse_tag(&w, open, &tg);
		if (!n)
			goto out;
		lit_end = open;
		next = open + n;
		if (tg.sigil)
			standalone(text, &lit_end, &next);
		add_piece(t, PIECE_TEXT, TAG_INPUT, s, (size_t)(lit_end - s));
		if (add_tag(t, &w, &st, open, &tg, PIECE_RAW))
			goto out;
		s = next;
	}
	if (sections_closed(t, &w, &st))
		goto out;
	ret = 0;
out:
	if (ret)
		tmpl_release(t);
	return ret;
}

void tmpl_release(struct tmpl *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->p[i].text);
	free(t->p);
	free(t->origin);
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

/* the item of a section: a passage of the context or a JSON value */
struct item {
	const char *s;
	const cJSON *j;
};

static void add_lacks(struct strbuf *err, const struct tmpl *t, const struct tmpl_piece *p)
{
	if (p->tag == TAG_VAR)
		strbuf_addf(err, "the case has no vars.%s, which ", p->text);
	else
		strbuf_addf(err, "the case has no %s, which ",
			    p->tag == TAG_INPUT ? "input" : p->tag == TAG_EXPECTED ? "expected"
			    : p->tag == TAG_MESSAGES ? "input or messages"
			    : p->tag == TAG_PROMPT ? "prompt (set prompt on the target or the suite)"
			    : "context");
	if (t->origin)
		strbuf_addf(err, "%s:%d uses", t->origin, p->line);
	else
		strbuf_addstr(err, "the request template uses");
}

/*
 * the value of a tag: as JSON into sb, or (as_text) as text: a string's
 * characters, anything else its JSON (raw: context a passage a line);
 * -1 with err when the case lacks it
 */
static int tag_value(const struct tmpl *t, const struct tmpl_piece *p, const struct eg_case *c,
		     const struct item *dot, int as_text, struct strbuf *sb, struct strbuf *err)
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
	case TAG_DOT:
		if (dot->s) {
			s = dot->s;
			break;
		}
		if (as_text && cJSON_IsString(dot->j))
			strbuf_addstr(sb, dot->j->valuestring);
		else
			add_cjson(sb, dot->j);
		return 0;
	case TAG_PROMPT:
		if (c->prompt_messages) {
			add_cjson(sb, c->prompt_messages);
			return 0;
		}
		s = c->prompt;
		if (!s)
			goto out_lacks;
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
		if (p->mode == PIECE_RAW) {
			for (i = 0; i < c->n_context; i++)
				strbuf_addf(sb, "%s%s", i ? "\n" : "", c->context[i]);
			return 0;
		}
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
	add_lacks(err, t, p);
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

static int json_truthy(const cJSON *v)
{
	if (!v || cJSON_IsNull(v) || cJSON_IsFalse(v))
		return 0;
	if (cJSON_IsNumber(v))
		return v->valuedouble != 0;
	if (cJSON_IsString(v))
		return v->valuestring[0] != '\0';
	if (cJSON_IsArray(v) || cJSON_IsObject(v))
		return v->child != NULL;
	return 1;
}

static int render_range(const struct tmpl *t, size_t from, size_t to, const struct eg_case *c,
			const struct item *dot, struct strbuf *out, struct strbuf *err);

/* a section (or an inverted one) at t->p[i] over what the case holds */
static int render_section(const struct tmpl *t, size_t i, const struct eg_case *c,
			  const struct item *dot, struct strbuf *out, struct strbuf *err)
{
	const struct tmpl_piece *p = &t->p[i];
	const char *s = NULL;
	const cJSON *v = NULL, *e;
	struct item it = { NULL, NULL };
	size_t k, n_items = 0;
	int ret = 0;

	switch (p->tag) {
	case TAG_CONTEXT:
		n_items = c->context ? c->n_context : 0;
		break;
	case TAG_INPUT:
	case TAG_EXPECTED:
		s = p->tag == TAG_INPUT ? case_input(c) : c->expected;
		n_items = s && *s;
		break;
	case TAG_VAR:
		v = case_var(c, p);
		n_items = cJSON_IsArray(v) ? (size_t)cJSON_GetArraySize(v) : (size_t)json_truthy(v);
		break;
	default:
		break;
	}
	if (p->mode == PIECE_INVERTED)
		return n_items ? 0 : render_range(t, i + 1, p->end, c, dot, out, err);
	if (p->tag == TAG_CONTEXT) {
		for (k = 0; k < n_items && !ret; k++) {
			it.s = c->context[k];
			ret = render_range(t, i + 1, p->end, c, &it, out, err);
		}
	} else if (s) {
		if (n_items) {
			it.s = s;
			ret = render_range(t, i + 1, p->end, c, &it, out, err);
		}
	} else if (cJSON_IsArray(v)) {
		cJSON_ArrayForEach(e, v) {
			it.j = e;
			ret = render_range(t, i + 1, p->end, c, &it, out, err);
			if (ret)
				break;
		}
	} else if (n_items) {
		it.j = v;
		ret = render_range(t, i + 1, p->end, c, &it, out, err);
	}
	return ret;
}

static int render_range(const struct tmpl *t, size_t from, size_t to, const struct eg_case *c,
			const struct item *dot, struct strbuf *out, struct strbuf *err)
{
	struct strbuf tmp = STRBUF_INIT;
	size_t i;
	int ret = -1;

	for (i = from; i < to; i++) {
		const struct tmpl_piece *p = &t->p[i];

		switch (p->mode) {
		case PIECE_TEXT:
			strbuf_add(out, p->text, p->len);
			break;
		case PIECE_VALUE:
			if (tag_value(t, p, c, dot, 0, out, err))
				goto out;
			break;
		case PIECE_RAW:
			if (tag_value(t, p, c, dot, 1, out, err))
				goto out;
			break;
		case PIECE_STRING:
		case PIECE_URL:
			strbuf_reset(&tmp);
			if (tag_value(t, p, c, dot, 1, &tmp, err))
				goto out;
			if (p->mode == PIECE_STRING)
				add_json_inner(out, tmp.buf, tmp.len);
			else
				add_percent_encoded(out, tmp.buf, tmp.len);
			break;
		case PIECE_SECTION:
		case PIECE_INVERTED:
			if (render_section(t, i, c, dot, out, err))
				goto out;
			i = p->end;
			break;
		case PIECE_END:
			break;
		}
	}
	ret = 0;
out:
	strbuf_release(&tmp);
	return ret;
}

int tmpl_render(const struct tmpl *t, const struct eg_case *c, struct strbuf *out,
		struct strbuf *err)
{
	static const struct item none = { NULL, NULL };

	return render_range(t, 0, t->n, c, &none, out, err);
}
