#include "jsonptr.h"

#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

int jptr_parse(struct jptr *p, const char *text, struct strbuf *err)
{
	const char *s = text;
	size_t alloc = 0;

	memset(p, 0, sizeof(*p));
	p->text = xstrdup(text);
	if (*s && *s != '/') {
		strbuf_addstr(err, "must be empty or start with '/'");
		goto out_fail;
	}
	while (*s == '/') {
		struct strbuf tok = STRBUF_INIT;

		for (s++; *s && *s != '/'; s++) {
			if (*s != '~') {
				strbuf_addch(&tok, *s);
				continue;
			}
			if (s[1] != '0' && s[1] != '1') {
				strbuf_release(&tok);
				strbuf_addstr(err, "'~' must be followed by 0 or 1 (~0 is '~', ~1 is '/')");
				goto out_fail;
			}
			strbuf_addch(&tok, s[1] == '0' ? '~' : '/');
			s++;
		}
		XGROW(p->tok, p->n + 1, alloc);
		if (tok.len == 1 && tok.buf[0] == '*') {
			strbuf_release(&tok);
			p->tok[p->n++] = NULL;
			p->n_wild++;
		} else {
			p->tok[p->n++] = strbuf_detach(&tok, NULL);
		}
	}
	return 0;

out_fail:
	jptr_release(p);
	return -1;
}

void jptr_release(struct jptr *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		free(p->tok[i]);
	free(p->tok);
	free(p->text);
	memset(p, 0, sizeof(*p));
}

void jptr_hits_release(struct jptr_hits *h)
{
	free(h->v);
	memset(h, 0, sizeof(*h));
}

/* the place reached after the first depth tokens, wildcards by the index taken */
static void add_place(struct strbuf *sb, const struct jptr *p, size_t depth, const size_t *idx)
{
	size_t i;

	if (!depth) {
		strbuf_addstr(sb, "the root");
		return;
	}
	for (i = 0; i < depth; i++) {
		const char *t = p->tok[i];

		strbuf_addch(sb, '/');
		if (!t) {
			strbuf_addf(sb, "%zu", idx[i]);
			continue;
		}
		for (; *t; t++) {
			if (*t == '~')
				strbuf_addstr(sb, "~0");
			else if (*t == '/')
				strbuf_addstr(sb, "~1");
			else
				strbuf_addch(sb, *t);
		}
	}
}

/* a decimal array index without a leading zero; -1 when tok is not one */
static long parse_index(const char *tok)
{
	long v = 0;
	const char *s;

	if (!*tok || (tok[0] == '0' && tok[1]) || strlen(tok) > 9)
		return -1;
	for (s = tok; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

struct walk {
	const struct jptr *p;
	size_t *idx;             /* per token: the element a "*" is in */
	struct jptr_hits *out;
	struct strbuf *err;
};

static int walk(struct walk *w, size_t depth, const cJSON *v)
{
	const struct jptr *p = w->p;
	const char *tok;
	const cJSON *c;
	long k, n;

	if (depth == p->n) {
		XGROW(w->out->v, w->out->n + 1, w->out->alloc);
		w->out->v[w->out->n++] = v;
		return 0;
	}
	tok = p->tok[depth];
	if (!tok) {
		if (!cJSON_IsArray(v)) {
			strbuf_addstr(w->err, "* needs an array; ");
			add_place(w->err, p, depth, w->idx);
			strbuf_addf(w->err, " is %s", json_kind(v));
			return -1;
		}
		w->idx[depth] = 0;
		for (c = v->child; c; c = c->next, w->idx[depth]++)
			if (walk(w, depth + 1, c))
				return -1;
		return 0;
	}
	if (cJSON_IsObject(v)) {
		c = cJSON_GetObjectItemCaseSensitive(v, tok);
		if (!c) {
			strbuf_addf(w->err, "no member '%s' at ", tok);
			add_place(w->err, p, depth, w->idx);
			return -1;
		}
		return walk(w, depth + 1, c);
	}
	if (cJSON_IsArray(v)) {
		k = parse_index(tok);
		if (k < 0) {
			strbuf_addf(w->err, "'%s' is not an array index, at ", tok);
			add_place(w->err, p, depth, w->idx);
			return -1;
		}
		for (c = v->child, n = 0; c && n < k; c = c->next, n++)
			;
		if (!c) {
			strbuf_addf(w->err, "index %ld out of range (%d element%s) at ", k,
				    cJSON_GetArraySize(v), cJSON_GetArraySize(v) == 1 ? "" : "s");
			add_place(w->err, p, depth, w->idx);
			return -1;
		}
		return walk(w, depth + 1, c);
	}
	add_place(w->err, p, depth, w->idx);
	strbuf_addf(w->err, " is %s, not an object or array", json_kind(v));
	return -1;
}

int jptr_eval(const struct jptr *p, const cJSON *root, struct jptr_hits *out,
	      struct strbuf *err)
{
	struct walk w = { p, xcalloc(p->n + 1, sizeof(size_t)), out, err };
	int ret = walk(&w, 0, root);

	free(w.idx);
	return ret;
}
