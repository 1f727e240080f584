#include "sample.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "error.h"
#include "hashmap.h"
#include "jsonw.h"
#include "rng.h"
#include "sha256.h"
#include "strbuf.h"
#include "utf8.h"
#include "xalloc.h"
#include "banned.h"

#define STRATUM_VALUE_MAX 128   /* bytes of a field value that name a stratum */
#define READ_CHUNK (1u << 20)

/* one case waiting in a reservoir */
struct item {
	char *text;                 /* the case object without its id: "{...}" */
	uint64_t key;               /* first 8 bytes of the line's SHA-256 */
	char hex[17];               /* the same as hex, the id's body */
	long lineno;                /* line in the log: output order */
};

struct stratum {
	char *value;                /* the field's value (truncated), "(none)" when absent */
	char *tag;                  /* "<last path part>:<value>", or NULL without stratify_by */
	long seen;                  /* lines of the population in this stratum */
	long drawn;                 /* cases drawn from it */
	struct item *res;           /* the reservoir, up to n items */
	size_t n_res, alloc_res;
};

struct always_rule {
	char *field;                /* path */
	char *value;                /* compared with the field's text */
};

struct sampler {
	struct sample_opts o;
	struct eg_rng rng;          /* the one stream of the sample (splitmix64) */
	struct always_rule *always;
	size_t n_always;
	char *stratum_label;        /* last part of stratify_by, for tags */
	struct stratum *strata;
	size_t n_strata, alloc_strata;
	struct hashmap stratum_index; /* stratum value -> its index in strata */
	struct hashmap id_uses;     /* emitted id key -> times used, for the "-2" of repeated lines */
	struct sample_counts c;
};

/* ---- shares ---- */

int sample_shares(size_t n, const long *sizes, size_t k, long *share)
{
	uint64_t total = 0, want, given = 0, *rem;
	size_t i;
	int ret = -1;

	for (i = 0; i < k; i++)
		total += (uint64_t)sizes[i];
	want = total < n ? total : n;
	rem = xcalloc(k + 1, sizeof(*rem));
	for (i = 0; i < k; i++) {
		uint64_t s = (uint64_t)sizes[i];
		if (s && n > UINT64_MAX / s)
			goto out;
		share[i] = total ? (long)(n * s / total) : 0;
		rem[i] = total ? n * s % total : 0;
		if (total <= n) {
			share[i] = sizes[i];
			rem[i] = 0;
		}
		given += (uint64_t)share[i];
	}
	while (given < want) {
		size_t best = k;
		for (i = 0; i < k; i++)
			if ((uint64_t)share[i] < (uint64_t)sizes[i] &&
			    (best == k || rem[i] > rem[best]))
				best = i;
		if (best == k)
			break;
		share[best]++;
		rem[best] = 0;
		given++;
	}
	ret = 0;
out:
	free(rem);
	return ret;
}

/* ---- fields ---- */

/* the node at a dotted path ("metadata.route", "response.choices.0"), or NULL */
static const cJSON *field_get(const cJSON *root, const char *path)
{
	const cJSON *v = root;
	const char *p = path;

	while (v && *p) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		char key[256];

		if (!len || len >= sizeof(key))
			return NULL;
		memcpy(key, p, len);
		key[len] = '\0';
		if (cJSON_IsArray(v)) {
			char *end;
			long idx;
			errno = 0;
			idx = strtol(key, &end, 10);
			if (*end || errno || idx < 0)
				return NULL;
			v = cJSON_GetArrayItem(v, (int)idx);
		} else if (cJSON_IsObject(v)) {
			v = cJSON_GetObjectItemCaseSensitive(v, key);
		} else {
			return NULL;
		}
		p = dot ? dot + 1 : p + len;
	}
	return v;
}

/* a field's value as text: strings as they are, others as JSON; NULL when absent or null */
static char *value_text(const cJSON *v)
{
	if (!v || cJSON_IsNull(v))
		return NULL;
	if (cJSON_IsString(v))
		return xstrdup(v->valuestring);
	return jsonw_print(v, 0);
}

/* s cut to at most max bytes on a UTF-8 boundary (s is valid UTF-8) */
static void utf8_cut(char *s, size_t max)
{
	size_t len = strlen(s), i = 0;

	if (len <= max)
		return;
	while (i < len) {
		size_t k = utf8_valid_prefix(s + i, len - i);
		if (!k || i + k > max)
			break;
		i += k;
	}
	s[i] = '\0';
}

/* ---- one log line as a case ---- */

struct log_case {
	const char *input;          /* plain format's input, or NULL */
	const cJSON *messages;      /* request.messages or plain messages, or NULL */
	const char *output;         /* the recorded answer */
	const cJSON *context;       /* string or array of strings, or NULL */
	const cJSON *metadata;      /* object, or NULL */
};

static const char *check_messages(const cJSON *m)
{
	static const char *const roles[] = { "system", "user", "assistant", "tool", "developer",
					     NULL };
	const cJSON *msg;

	if (!cJSON_IsArray(m) || !cJSON_GetArraySize(m))
		return "messages: expected a non-empty array";
	cJSON_ArrayForEach(msg, m) {
		const cJSON *role = cJSON_GetObjectItemCaseSensitive(msg, "role");
		const cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
		const char *const *r;

		if (!cJSON_IsObject(msg) || !cJSON_IsString(role))
			return "messages: each message needs a role";
		for (r = roles; *r && strcmp(*r, role->valuestring); r++)
			;
		if (!*r)
			return "messages: unknown role";
		if (content && !cJSON_IsString(content) && !cJSON_IsArray(content) &&
		    !cJSON_IsNull(content))
			return "messages: content must be a string or an array of parts";
	}
	return NULL;
}

/* fill lc from a parsed line; NULL, or why the line cannot be a case */
static const char *extract(const cJSON *root, struct log_case *lc)
{
	const cJSON *v;
	const char *why;

	memset(lc, 0, sizeof(*lc));
	if (!cJSON_IsObject(root))
		return "expected a JSON object";
	if (cJSON_GetObjectItemCaseSensitive(root, "request") ||
	    cJSON_GetObjectItemCaseSensitive(root, "response")) {
		const cJSON *req = cJSON_GetObjectItemCaseSensitive(root, "request");
		const cJSON *resp = cJSON_GetObjectItemCaseSensitive(root, "response");

		if (!cJSON_IsObject(req))
			return "request: expected an object";
		lc->messages = cJSON_GetObjectItemCaseSensitive(req, "messages");
		if (!lc->messages)
			return "request.messages: missing";
		if ((why = check_messages(lc->messages)))
			return why;
		if (!cJSON_IsObject(resp))
			return "response: expected an object";
		if (cJSON_GetObjectItemCaseSensitive(resp, "error"))
			return "response: the call failed, no recorded answer";
		v = field_get(resp, "choices.0.message.content");
		if (!cJSON_IsString(v))
			return "response.choices[0].message.content: no text answer";
		lc->output = v->valuestring;
	} else {
		v = cJSON_GetObjectItemCaseSensitive(root, "input");
		lc->messages = cJSON_GetObjectItemCaseSensitive(root, "messages");
		if (v && lc->messages)
			return "give input or messages, not both";
		if (v) {
			if (!cJSON_IsString(v))
				return "input: expected a string";
			lc->input = v->valuestring;
		} else if (lc->messages) {
			if ((why = check_messages(lc->messages)))
				return why;
		} else {
			return "neither {request, response} nor {input, output}";
		}
		v = cJSON_GetObjectItemCaseSensitive(root, "output");
		if (!cJSON_IsString(v))
			return "output: missing or not a string (no recorded answer)";
		lc->output = v->valuestring;
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "context");
	if (v && !cJSON_IsNull(v)) {
		const cJSON *p;
		if (cJSON_IsArray(v)) {
			cJSON_ArrayForEach(p, v)
				if (!cJSON_IsString(p))
					return "context: expected a string or an array of strings";
		} else if (!cJSON_IsString(v)) {
			return "context: expected a string or an array of strings";
		}
		lc->context = v;
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "metadata");
	if (v && !cJSON_IsNull(v)) {
		if (!cJSON_IsObject(v))
			return "metadata: expected an object";
		lc->metadata = v;
	}
	return NULL;
}

/* the case object without its id, as one line of JSON; malloc'd */
static char *build_case(const struct log_case *lc, const char *tag, int always)
{
	cJSON *o = cJSON_CreateObject(), *msgs, *m;
	const cJSON *src;
	char *text;

	if (lc->input) {
		cJSON_AddStringToObject(o, "input", lc->input);
	} else {
		/* only the fields a case accepts; a null content (tool calls) becomes "" */
		msgs = cJSON_AddArrayToObject(o, "messages");
		cJSON_ArrayForEach(src, lc->messages) {
			const cJSON *content = cJSON_GetObjectItemCaseSensitive(src, "content");
			const cJSON *name = cJSON_GetObjectItemCaseSensitive(src, "name");

			m = cJSON_CreateObject();
			cJSON_AddStringToObject(m, "role",
				cJSON_GetObjectItemCaseSensitive(src, "role")->valuestring);
			if (content && !cJSON_IsNull(content))
				cJSON_AddItemToObject(m, "content", cJSON_Duplicate(content, 1));
			else
				cJSON_AddStringToObject(m, "content", "");
			if (cJSON_IsString(name))
				cJSON_AddStringToObject(m, "name", name->valuestring);
			cJSON_AddItemToArray(msgs, m);
		}
	}
	cJSON_AddStringToObject(o, "output", lc->output);
	if (lc->context)
		cJSON_AddItemToObject(o, "context", cJSON_Duplicate(lc->context, 1));
	if (lc->metadata)
		cJSON_AddItemToObject(o, "metadata", cJSON_Duplicate(lc->metadata, 1));
	if (tag || always) {
		cJSON *tags = cJSON_AddArrayToObject(o, "tags");
		if (tag)
			cJSON_AddItemToArray(tags, cJSON_CreateString(tag));
		if (always)
			cJSON_AddItemToArray(tags, cJSON_CreateString("always"));
	}
	text = jsonw_print(o, 0);
	cJSON_Delete(o);
	return text;
}

static void line_key(const char *line, size_t len, struct item *it)
{
	unsigned char dig[32];
	char hex[65];
	struct sha256 h;
	size_t i;

	sha256_init(&h);
	sha256_update(&h, line, len);
	sha256_final(&h, dig);
	sha256_to_hex(dig, hex);
	memcpy(it->hex, hex, 16);
	it->hex[16] = '\0';
	it->key = 0;
	for (i = 0; i < 8; i++)
		it->key = (it->key << 8) | dig[i];
	if (!it->key)
		it->key = 1;
}

/* ---- emitting ---- */

static int emit_item(struct sampler *s, const struct item *it)
{
	struct strbuf sb = STRBUF_INIT, id = STRBUF_INIT;
	unsigned use = (unsigned)++*hashmap_put(&s->id_uses, it->key, NULL);
	struct jsonw w;
	int rc;

	strbuf_addf(&id, "s-%s", it->hex);
	if (use > 1)
		strbuf_addf(&id, "-%u", use);
	/* the id first, then the members of the case object it->text */
	jsonw_init(&w, &sb, 0);
	jsonw_object_begin(&w);
	jsonw_member_str(&w, "id", id.buf);
	jsonw_raw(&w, it->text + 1, strlen(it->text) - 2);
	jsonw_object_end(&w);
	rc = s->o.emit ? s->o.emit(sb.buf, sb.len, s->o.emit_arg) : 0;
	strbuf_release(&id);
	strbuf_release(&sb);
	if (rc)
		return error("%s: cannot write the sampled cases", s->o.file);
	return 0;
}

/* ---- strata ---- */

/* the stratum of value (taking ownership of value); NULL after reporting too many */
static struct stratum *stratum_of(struct sampler *s, char *value, long lineno)
{
	const uint64_t *known = hashmap_get_str(&s->stratum_index, value, strlen(value));
	struct stratum *st;

	if (known) {
		free(value);
		return &s->strata[*known];
	}
	if (s->n_strata == SAMPLE_MAX_STRATA) {
		error_at(s->o.file, (int)lineno, s->o.stratify_by,
			 "more than %d distinct values; stratify by a coarser field",
			 SAMPLE_MAX_STRATA);
		free(value);
		return NULL;
	}
	XGROW(s->strata, s->n_strata + 1, s->alloc_strata);
	st = &s->strata[s->n_strata];
	memset(st, 0, sizeof(*st));
	st->value = value;
	if (s->stratum_label) {
		struct strbuf tag = STRBUF_INIT;
		strbuf_addf(&tag, "%s:%s", s->stratum_label, value);
		st->tag = strbuf_detach(&tag, NULL);
	}
	*hashmap_put_str(&s->stratum_index, value, strlen(value), NULL) = s->n_strata++;
	s->c.strata = (long)s->n_strata;
	return st;
}

/* ---- the sampler ---- */

struct sampler *sampler_new(const struct sample_opts *o)
{
	struct sampler *s = xcalloc(1, sizeof(*s));
	size_t i;

	hashmap_init_str(&s->stratum_index, 0);
	hashmap_init(&s->id_uses, 0);
	s->o = *o;
	eg_rng_init(&s->rng, o->seed);
	if ((o->rate > 0) == (o->n > 0) || o->rate > 1) {
		error("give either a rate in (0, 1] or a sample size");
		goto fail;
	}
	s->always = xcalloc(o->n_always + 1, sizeof(*s->always));
	for (i = 0; i < o->n_always; i++) {
		const char *eq = strchr(o->always[i], '=');
		if (!eq || eq == o->always[i]) {
			error("--always '%s': expected FIELD=VALUE", o->always[i]);
			goto fail;
		}
		s->always[i].field = xstrndup(o->always[i], (size_t)(eq - o->always[i]));
		s->always[i].value = xstrdup(eq + 1);
		s->n_always = i + 1;
	}
	if (o->stratify_by) {
		const char *last = strrchr(o->stratify_by, '.');
		if (!*o->stratify_by || o->stratify_by[strlen(o->stratify_by) - 1] == '.') {
			error("--stratify-by '%s': expected a field path like metadata.route",
			      o->stratify_by);
			goto fail;
		}
		s->stratum_label = xstrdup(last ? last + 1 : o->stratify_by);
	}
	return s;
fail:
	sampler_free(s);
	return NULL;
}

void sampler_free(struct sampler *s)
{
	size_t i, k;

	if (!s)
		return;
	for (i = 0; i < s->n_always; i++) {
		free(s->always[i].field);
		free(s->always[i].value);
	}
	free(s->always);
	for (i = 0; i < s->n_strata; i++) {
		for (k = 0; k < s->strata[i].n_res; k++)
			free(s->strata[i].res[k].text);
		free(s->strata[i].res);
		free(s->strata[i].value);
		free(s->strata[i].tag);
	}
	free(s->strata);
	hashmap_release(&s->stratum_index);
	free(s->stratum_label);
	hashmap_release(&s->id_uses);
	free(s);
}

static int malformed(struct sampler *s, long lineno, const char *fmt, ...)
	EG_PRINTF(3, 4);

static int malformed(struct sampler *s, long lineno, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s->o.strict)
		return error_at(s->o.file, (int)lineno, NULL, "%s (malformed line; --strict)", msg);
	if (!s->c.malformed++)
		s->c.first_malformed = lineno;
	if (s->c.malformed <= SAMPLE_MAX_WARNINGS)
		warning("%s:%ld: %s; line skipped", s->o.file, lineno, msg);
	return 0;
}

int sampler_line_too_long(struct sampler *s, long lineno)
{
	s->c.lines++;
	return malformed(s, lineno, "line longer than %u bytes", SAMPLE_MAX_LINE);
}

static int matches_always(const struct sampler *s, const cJSON *root)
{
	size_t i;
	int hit = 0;

	for (i = 0; i < s->n_always && !hit; i++) {
		char *t = value_text(field_get(root, s->always[i].field));
		hit = t && !strcmp(t, s->always[i].value);
		free(t);
	}
	return hit;
}

int sampler_line(struct sampler *s, const char *line, size_t len, long lineno)
{
	cJSON *root = NULL;
	struct log_case lc;
	struct stratum *st;
	struct item it;
	const char *why;
	size_t bad, i;
	int ret = -1;

	s->c.lines++;
	while (len && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	for (i = 0; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	if (i == len) {
		s->c.blank++;
		return 0;
	}
	if (!utf8_valid(line, len, &bad)) {
		ret = malformed(s, lineno, "not UTF-8 at byte %zu", bad + 1);
		goto out;
	}
	root = cJSON_ParseWithLength(line, len);
	if (!root) {
		ret = malformed(s, lineno, "invalid JSON");
		goto out;
	}
	if ((why = extract(root, &lc))) {
		ret = malformed(s, lineno, "%s", why);
		goto out;
	}
	memset(&it, 0, sizeof(it));
	it.lineno = lineno;
	if (matches_always(s, root)) {
		char *tag = NULL;

		s->c.always++;
		line_key(line, len, &it);
		if (s->o.stratify_by) {
			/* its stratum's tag too, without counting it in the stratum */
			char *v = value_text(field_get(root, s->o.stratify_by));
			struct strbuf sb = STRBUF_INIT;
			if (v)
				utf8_cut(v, STRATUM_VALUE_MAX);
			strbuf_addf(&sb, "%s:%s", s->stratum_label, v ? v : "(none)");
			tag = strbuf_detach(&sb, NULL);
			free(v);
		}
		it.text = build_case(&lc, tag, 1);
		free(tag);
		ret = emit_item(s, &it);
		free(it.text);
		goto out;
	}
	s->c.population++;
	if (s->o.stratify_by) {
		char *v = value_text(field_get(root, s->o.stratify_by));
		if (!v)
			v = xstrdup("(none)");
		utf8_cut(v, STRATUM_VALUE_MAX);
		st = stratum_of(s, v, lineno);
	} else {
		st = s->n_strata ? &s->strata[0] : stratum_of(s, xstrdup(""), lineno);
	}
	if (!st)
		goto out;
	st->seen++;
	if (s->o.rate > 0) {
		if (eg_rng_uniform(&s->rng) < s->o.rate) {
			line_key(line, len, &it);
			it.text = build_case(&lc, st->tag, 0);
			st->drawn++;
			s->c.sampled++;
			ret = emit_item(s, &it);
			free(it.text);
			goto out;
		}
	} else if (st->n_res < s->o.n) {
		/* algorithm R: the first n fill the reservoir */
		line_key(line, len, &it);
		it.text = build_case(&lc, st->tag, 0);
		XGROW(st->res, st->n_res + 1, st->alloc_res);
		st->res[st->n_res++] = it;
	} else {
		/* then line number `seen` replaces a random slot with probability n/seen */
		uint64_t j = eg_rng_below(&s->rng, (uint64_t)st->seen);
		if (j < s->o.n) {
			line_key(line, len, &it);
			it.text = build_case(&lc, st->tag, 0);
			free(st->res[j].text);
			st->res[j] = it;
		}
	}
	ret = 0;
out:
	cJSON_Delete(root);
	return ret;
}

static int by_line(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	return (x->lineno > y->lineno) - (x->lineno < y->lineno);
}

int sampler_finish(struct sampler *s)
{
	long *sizes, *share;
	struct item *all = NULL;
	size_t n_all = 0, alloc_all = 0, i, k;
	int ret = -1;

	if (s->c.malformed > SAMPLE_MAX_WARNINGS)
		warning("%s: %ld more malformed lines skipped", s->o.file,
			s->c.malformed - SAMPLE_MAX_WARNINGS);
	if (s->o.rate > 0)
		return 0;
	sizes = xcalloc(s->n_strata + 1, sizeof(*sizes));
	share = xcalloc(s->n_strata + 1, sizeof(*share));
	for (i = 0; i < s->n_strata; i++)
		sizes[i] = s->strata[i].seen;
	if (sample_shares(s->o.n, sizes, s->n_strata, share)) {
		error("%s: sample size times stratum size overflows", s->o.file);
		goto out;
	}
	for (i = 0; i < s->n_strata; i++) {
		struct stratum *st = &s->strata[i];
		size_t want = (size_t)share[i];

		/*
		 * the reservoir is a uniform sample of the stratum, so a uniform
		 * subset of it (partial Fisher-Yates) is one of the stratum
		 */
		for (k = 0; k < want && k < st->n_res; k++) {
			size_t j = k + (size_t)eg_rng_below(&s->rng, st->n_res - k);
			struct item t = st->res[k];
			st->res[k] = st->res[j];
			st->res[j] = t;
		}
		for (k = 0; k < st->n_res; k++) {
			if (k < want) {
				XGROW(all, n_all + 1, alloc_all);
				all[n_all++] = st->res[k];
			} else {
				free(st->res[k].text);
			}
		}
		st->drawn = (long)(want < st->n_res ? want : st->n_res);
		s->c.sampled += st->drawn;
		st->n_res = 0;
	}
	qsort(all, n_all, sizeof(*all), by_line);
	for (i = 0; i < n_all; i++)
		if (emit_item(s, &all[i]))
			goto out;
	ret = 0;
out:
	for (i = 0; i < n_all; i++)
		free(all[i].text);
	free(all);
	free(sizes);
	free(share);
	return ret;
}

int sampler_read_file(struct sampler *s, const char *path)
{
	FILE *fp = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	char *buf;
	size_t cap = READ_CHUNK, start = 0, end = 0;
	long lineno = 0;
	int eof = 0, skipping = 0, ret = -1;

	if (!fp)
		return error("%s: cannot open: %s", path, strerror(errno));
	buf = xmalloc(cap);
	for (;;) {
		char *nl = memchr(buf + start, '\n', end - start);
		size_t got;

		if (nl) {
			size_t len = (size_t)(nl - (buf + start));
			lineno++;
			if (skipping) {
				skipping = 0;
				if (sampler_line_too_long(s, lineno))
					goto out;
			} else if (sampler_line(s, buf + start, len, lineno)) {
				goto out;
			}
			start += len + 1;
			continue;
		}
		if (eof) {
			if (skipping || end > start) {
				lineno++;
				if (skipping ? sampler_line_too_long(s, lineno)
					     : sampler_line(s, buf + start, end - start, lineno))
					goto out;
			}
			break;
		}
		/* no newline in [start, end): make room and read more */
		if (start) {
			memmove(buf, buf + start, end - start);
			end -= start;
			start = 0;
		}
		if (end == cap) {
			if (cap == SAMPLE_MAX_LINE + 1) {
				/* over the limit: drop what we have, keep looking for the newline */
				skipping = 1;
				end = 0;
			} else {
				cap = cap * 2 < SAMPLE_MAX_LINE + 1 ? cap * 2 : SAMPLE_MAX_LINE + 1;
				buf = xrealloc(buf, cap);
			}
		}
		got = fread(buf + end, 1, cap - end, fp);
		end += got;
		if (got == 0) {
			if (ferror(fp)) {
				error("%s: cannot read: %s", path, strerror(errno));
				goto out;
			}
			eof = 1;
		}
	}
	ret = 0;
out:
	free(buf);
	if (fp != stdin)
		fclose(fp);
	return ret;
}

const struct sample_counts *sampler_counts(const struct sampler *s)
{
	return &s->c;
}

void sampler_stratum(const struct sampler *s, size_t i, const char **value, long *seen,
		     long *drawn)
{
	*value = s->strata[i].value;
	*seen = s->strata[i].seen;
	*drawn = s->strata[i].drawn;
}
