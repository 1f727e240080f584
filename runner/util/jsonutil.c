#include "jsonutil.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "input.h"
#include "jsonw.h"
#include "utf8.h"
#include "xalloc.h"
#include "banned.h"

int read_file(const char *path, struct strbuf *sb, size_t max)
{
	FILE *fp = input_open(path);
	char buf[65536];
	size_t n;
	int ret = 0;

	if (!fp)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0) {
		if (max && sb->len + n > max) {
			ret = error("%s: larger than %zu bytes", path, max);
			goto out;
		}
		strbuf_add(sb, buf, n);
	}
	if (ferror(fp))
		ret = error("%s: read error: %s", path, strerror(errno));
out:
	fclose(fp);
	return ret;
}

static int line_at(const char *text, size_t off, int base)
{
	int line = base;
	size_t i;

	for (i = 0; i < off && text[i]; i++)
		if (text[i] == '\n')
			line++;
	return line;
}

static int name_cmp(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
	int c = strcmp(x->string, y->string);
	/* equal names: keep document order so the second one is reported */
	return c ? c : (x < y ? -1 : x > y);
}

/*
 * a key given twice in one object is an error: which one would win is a
 * guess; so is a number out of range (cJSON reads 1e999 as infinity, which
 * JSON cannot write back: a stored config would not be the config read)
 */
static int check_duplicates(const struct jdoc *d, const cJSON *v)
{
	const cJSON *c, **keys = NULL;
	size_t n = 0, alloc = 0, i;
	int ret = 0;

	if (cJSON_IsNumber(v) && !isfinite(v->valuedouble))
		return jdoc_error(d, v, v->string, "number out of range");

	for (c = v->child; c; c = c->next)
		if (check_duplicates(d, c))
			return -1;
	if (!cJSON_IsObject(v) || !v->child || !v->child->next)
		return 0;
	for (c = v->child; c; c = c->next) {
		XGROW(keys, n + 1, alloc);
		keys[n++] = c;
	}
	qsort(keys, n, sizeof(*keys), name_cmp);
	for (i = 1; i < n && !ret; i++)
		if (!strcmp(keys[i - 1]->string, keys[i]->string)) {
			const cJSON *later = keys[i - 1];
			for (c = v->child; c; c = c->next)
				if (c == keys[i - 1] || c == keys[i])
					later = c; /* the last of the two in document order */
			ret = jdoc_error(d, later, later->string, "key given twice in one object");
		}
	free(keys);
	return ret;
}

static const char *control_char(const char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && !strchr("\t\n\r", *s)) || *s == 0x7f)
			return s;
	return NULL;
}

int jdoc_check_controls(const struct jdoc *d, const cJSON *v)
{
	const cJSON *c;
	const char *bad;

	if (v->string && (bad = control_char(v->string)))
		return jdoc_error(d, v, NULL, "a key has the control character 0x%02x",
				  (unsigned char)*bad);
	if (cJSON_IsString(v) && (bad = control_char(v->valuestring)))
		return jdoc_error(d, v, v->string,
				  "the control character 0x%02x is not allowed here (a terminal "
				  "would act on it)", (unsigned char)*bad);
	for (c = v->child; c; c = c->next)
		if (jdoc_check_controls(d, c))
			return -1;
	return 0;
}

/*
 * The offset of the first escape cJSON reads as U+0000 in a string of
 * text, or -1: \u0000, and a \u whose four characters are not all hex
 * digits (cJSON takes them for 0 and ends the string there too). A
 * backslash escapes the u only when the run of backslashes before it is
 * odd: "\\u0000" is a backslash and the text u0000.
 */
static long nul_escape(const char *text, size_t len)
{
	const char *p = text, *end = text + len;

	while ((p = memchr(p, 'u', (size_t)(end - p)))) {
		const char *b = p;
		int i;

		while (b > text && b[-1] == '\\')
			b--;
		if ((p - b) % 2 == 0) {
			p++;
			continue;
		}
		for (i = 1; i <= 4 && p + i < end && isxdigit((unsigned char)p[i]); i++)
			;
		if (i <= 4 || !memcmp(p, "u0000", 5))
			return (long)(p - 1 - text);
		p++;
	}
	return -1;
}

/*
 * The key of the member whose string holds offset off (the key itself when
 * the string is one), copied into key; "" when it is an array element.
 */
static void key_at(const char *text, size_t len, size_t off, char *key, size_t size)
{
	size_t i = off, start, kend;

	key[0] = '\0';
	/* back to the string's opening quote: a quote with an even run of backslashes */
	while (i > 0) {
		size_t b = --i;

		if (text[i] != '"')
			continue;
		while (b > 0 && text[b - 1] == '\\')
			b--;
		if ((i - b) % 2 == 0)
			break;
	}
	start = i;
	while (i > 0 && strchr(" \t\r\n", text[i - 1]))
		i--;
	if (i == 0 || text[i - 1] != ':') {
		/* not a value: the string is a key, or an array element */
		for (kend = off; kend < len && text[kend] != '"'; kend++)
			;
		i = kend + 1;
		while (i < len && strchr(" \t\r\n", text[i]))
			i++;
		if (i < len && text[i] == ':' && text[start] == '"')
			snprintf(key, size, "%.*s", (int)(kend - start - 1), text + start + 1);
		return;
	}
	i--;
	while (i > 0 && strchr(" \t\r\n", text[i - 1]))
		i--;
	if (i == 0 || text[i - 1] != '"')
		return;
	kend = --i;
	while (i > 0 && text[i - 1] != '"')
		i--;
	snprintf(key, size, "%.*s", (int)(kend - i), text + i);
}

int jdoc_parse(struct jdoc *d, const char *file, int line_base, const char *text, size_t len)
{
	const char *end = NULL, *nul;
	size_t bad;
	long nul_at;

	d->file = file;
	d->line_base = line_base;
	d->text = text;
	d->len = len;
	d->root = NULL;
	/* NUL first: line_at() stops counting lines at one */
	nul = memchr(text, '\0', len);
	if (nul)
		return error_at(file, line_at(text, (size_t)(nul - text), line_base), NULL,
				"text contains a NUL byte (byte %zu)", (size_t)(nul - text) + 1);
	if (!utf8_valid(text, len, &bad))
		return error_at(file, line_at(text, bad, line_base), NULL,
				"text is not valid UTF-8 (byte %zu)", bad + 1);
	d->root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (!d->root) {
		size_t off = end ? (size_t)(end - text) : 0;
		char near[32];
		size_t k = 0;

		if (off > len)
			off = len;
		while (k < 20 && off + k < len && text[off + k] != '\n') {
			near[k] = text[off + k];
			k++;
		}
		near[k] = '\0';
		if (off >= len || !k)
			return error_at(file, line_at(text, off, line_base), NULL,
					"invalid JSON: unexpected end of input");
		return error_at(file, line_at(text, off, line_base), NULL,
				"invalid JSON near '%s'", near);
	}
	/* cJSON would cut such a string at the NUL: what follows it would be lost
	 * (only the parsed value: text after it is reported as such below) */
	nul_at = nul_escape(text, end && (size_t)(end - text) < len ? (size_t)(end - text) : len);
	if (nul_at >= 0) {
		char key[64];

		key_at(text, len, (size_t)nul_at, key, sizeof(key));
		cJSON_Delete(d->root);
		d->root = NULL;
		return error_at(file, line_at(text, (size_t)nul_at, line_base), key[0] ? key : NULL,
				"a NUL character (\\u0000) is not allowed in text");
	}
	if (check_duplicates(d, d->root)) {
		cJSON_Delete(d->root);
		d->root = NULL;
		return -1;
	}
	/* trailing garbage after the value */
	while (end && (size_t)(end - text) < len && strchr(" \t\r\n", *end))
		end++;
	if (end && (size_t)(end - text) < len) {
		cJSON_Delete(d->root);
		d->root = NULL;
		return error_at(file, line_at(text, (size_t)(end - text), line_base), NULL,
				"invalid JSON: unexpected text after the value");
	}
	return 0;
}

void jdoc_release(struct jdoc *d)
{
	cJSON_Delete(d->root);
	d->root = NULL;
}

/* --- locating a node in the text: a minimal scanner that follows cJSON's order --- */

/* what cJSON skips between tokens: every byte up to the space, control bytes included */
static const char *skip_ws(const char *p, const char *e)
{
	while (p < e && (unsigned char)*p <= ' ')
		p++;
	return p;
}

static const char *skip_string(const char *p, const char *e)
{
	p++; /* opening quote */
	while (p < e && *p != '"') {
		if (*p == '\\')
			p++;
		p++;
	}
	return p < e ? p + 1 : e;
}

static const char *skip_value(const char *p, const char *e)
{
	int depth = 0;

	p = skip_ws(p, e);
	do {
		if (p >= e)
			return e;
		if (*p == '"') {
			p = skip_string(p, e);
			continue;
		}
		if (*p == '{' || *p == '[')
			depth++;
		else if (*p == '}' || *p == ']')
			depth--;
		else if (!depth) {
			while (p < e && !strchr(",}] \t\r\n", *p))
				p++;
			return p;
		}
		p++;
	} while (depth > 0);
	return p;
}

/* find the path from root to node; returns depth or -1 */
static int find_path(const cJSON *cur, const cJSON *node, const cJSON **path, int depth, int max)
{
	const cJSON *c;

	if (cur == node)
		return depth;
	if (depth >= max)
		return -1;
	for (c = cur->child; c; c = c->next) {
		int r;
		path[depth] = c;
		r = find_path(c, node, path, depth + 1, max);
		if (r >= 0)
			return r;
	}
	return -1;
}

/*
 * Walk text along the path of node in the tree root parsed from it: *at is
 * where node starts (its key for an object member), *val where its value
 * starts; 0 when the walk reached node, -1 when it stopped short (*at is
 * then the last place reached).
 */
static int walk_to(const char *text, size_t len, const cJSON *root, const cJSON *node,
		   const char **at, const char **val)
{
	const cJSON *path[64];
	const char *p = text, *e = text + len;
	const cJSON *parent = root;
	int depth, i;

	*at = *val = text;
	depth = find_path(root, node, path, 0, 64);
	if (depth < 0)
		return -1;
	if (len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
		p += 3; /* cJSON skips a byte order mark */
	p = skip_ws(p, e);
	*at = *val = p;
	for (i = 0; i < depth; i++) {
		const cJSON *c;
		int is_obj = cJSON_IsObject(parent);

		if (p >= e || (*p != '{' && *p != '['))
			return -1;
		p++;
		for (c = parent->child; c; c = c->next) {
			p = skip_ws(p, e);
			*at = p;
			if (is_obj) {
				p = skip_string(p, e);
				p = skip_ws(p, e);
				if (p < e && *p == ':')
					p++;
			}
			p = skip_ws(p, e);
			if (c == path[i])
				break;
			p = skip_value(p, e);
			p = skip_ws(p, e);
			if (p < e && *p == ',')
				p++;
		}
		if (!c)
			return -1;
		*val = p;
		parent = path[i];
	}
	return 0;
}

int jdoc_line(const struct jdoc *d, const cJSON *node)
{
	const char *at, *val;

	if (!d->root || !node)
		return d->line_base;
	walk_to(d->text, d->len, d->root, node, &at, &val);
	return line_at(d->text, (size_t)(at - d->text), d->line_base);
}

void json_add_code_point(struct strbuf *out, unsigned long cp)
{
	if (cp < 0x80) {
		strbuf_addch(out, (char)cp);
	} else if (cp < 0x800) {
		strbuf_addch(out, (char)(0xc0 | (cp >> 6)));
		strbuf_addch(out, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		strbuf_addch(out, (char)(0xe0 | (cp >> 12)));
		strbuf_addch(out, (char)(0x80 | ((cp >> 6) & 0x3f)));
		strbuf_addch(out, (char)(0x80 | (cp & 0x3f)));
	} else {
		strbuf_addch(out, (char)(0xf0 | (cp >> 18)));
		strbuf_addch(out, (char)(0x80 | ((cp >> 12) & 0x3f)));
		strbuf_addch(out, (char)(0x80 | ((cp >> 6) & 0x3f)));
		strbuf_addch(out, (char)(0x80 | (cp & 0x3f)));
	}
}

long json_hex4(const char *p, const char *e)
{
	long v = 0;
	int i;

	if (e - p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		int c = (unsigned char)p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/*
 * The string token at p (its opening quote; e the text's end) decoded as
 * cJSON decodes it, \u0000 included: a \u with a bad hex digit is U+0000
 * to cJSON too; escapes cJSON refuses (a lone surrogate, an unknown letter)
 * never reach here and are decoded as U+FFFD and the letter.
 */
static void decode_string(struct strbuf *out, const char *p, const char *e)
{
	p++;
	while (p < e && *p != '"') {
		const char *s = p;
		long cp, lo;

		while (p < e && *p != '"' && *p != '\\')
			p++;
		strbuf_add(out, s, (size_t)(p - s));
		if (p >= e || *p == '"' || ++p >= e)
			break;
		switch (*p++) {
		case 'b':
			strbuf_addch(out, '\b');
			break;
		case 'f':
			strbuf_addch(out, '\f');
			break;
		case 'n':
			strbuf_addch(out, '\n');
			break;
		case 'r':
			strbuf_addch(out, '\r');
			break;
		case 't':
			strbuf_addch(out, '\t');
			break;
		case 'u':
			if (e - p < 4) {
				p = e;
				break;
			}
			cp = json_hex4(p, e);
			if (cp < 0)
				cp = 0; /* as cJSON's parse_hex4 reads it */
			p += 4;
			if (cp >= 0xd800 && cp <= 0xdbff && e - p >= 6 && p[0] == '\\' && p[1] == 'u' &&
			    (lo = json_hex4(p + 2, e)) >= 0xdc00 && lo <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				p += 6;
			} else if (cp >= 0xd800 && cp <= 0xdfff) {
				cp = 0xfffd;
			}
			json_add_code_point(out, (unsigned long)cp);
			break;
		default:
			strbuf_addch(out, p[-1]); /* " \\ / */
		}
	}
}

int json_text_has_nul(const char *text, size_t len)
{
	/* a raw NUL inside a string is not JSON, but cJSON takes it and ends the string there */
	return text && (memchr(text, '\0', len) || nul_escape(text, len) >= 0);
}

void json_string_bytes(struct strbuf *out, const char *text, size_t len, const cJSON *root,
		       const cJSON *v)
{
	const char *at, *val;

	if (!cJSON_IsString(v) || !v->valuestring)
		return;
	if (!json_text_has_nul(text, len) ||
	    walk_to(text, len, root, v, &at, &val) || val >= text + len || *val != '"') {
		strbuf_addstr(out, v->valuestring);
		return;
	}
	decode_string(out, val, text + len);
}

static void write_bytes(struct jsonw *w, const char *text, size_t len, const cJSON *root,
			const cJSON *v, struct strbuf *tmp)
{
	const cJSON *c;

	if (cJSON_IsString(v)) {
		strbuf_reset(tmp);
		json_string_bytes(tmp, text, len, root, v);
		jsonw_strn(w, tmp->buf, tmp->len);
	} else if (cJSON_IsObject(v)) {
		jsonw_object_begin(w);
		for (c = v->child; c; c = c->next) {
			jsonw_key(w, c->string ? c->string : "");
			write_bytes(w, text, len, root, c, tmp);
		}
		jsonw_object_end(w);
	} else if (cJSON_IsArray(v)) {
		jsonw_array_begin(w);
		for (c = v->child; c; c = c->next)
			write_bytes(w, text, len, root, c, tmp);
		jsonw_array_end(w);
	} else {
		jsonw_cjson(w, v);
	}
}

void json_write_bytes(struct jsonw *w, const char *text, size_t len, const cJSON *root,
		      const cJSON *v)
{
	struct strbuf tmp = STRBUF_INIT;

	if (!v || !json_text_has_nul(text, len)) {
		jsonw_cjson(w, v);
		return;
	}
	write_bytes(w, text, len, root, v, &tmp);
	strbuf_release(&tmp);
}

char *json_print_bytes(const char *text, size_t len, const cJSON *root, const cJSON *v)
{
	struct strbuf sb = STRBUF_INIT;
	struct jsonw w;

	jsonw_init(&w, &sb, 0);
	json_write_bytes(&w, text, len, root, v);
	return strbuf_detach(&sb, NULL);
}

int jdoc_error(const struct jdoc *d, const cJSON *node, const char *field, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return error_at(d->file, jdoc_line(d, node), field, "%s", msg);
}

static void field_name(char *buf, size_t n, const char *prefix, const char *key)
{
	snprintf(buf, n, "%s%s", prefix ? prefix : "", key);
}

int jdoc_check_keys(const struct jdoc *d, const cJSON *obj, const char *prefix,
		    const char *const *allowed)
{
	const cJSON *c;

	for (c = obj->child; c; c = c->next) {
		const char *const *a;
		char f[256];

		for (a = allowed; *a; a++)
			if (!strcmp(*a, c->string))
				break;
		if (*a)
			continue;
		field_name(f, sizeof(f), prefix, c->string);
		return jdoc_error(d, c, f, "unknown field");
	}
	return 0;
}

int jdoc_string(const struct jdoc *d, const cJSON *obj, const char *prefix, const char *key,
		int required, const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	char f[256];

	if (v && cJSON_IsString(v)) {
		*out = v->valuestring;
		return 0;
	}
	if (!v && !required)
		return 0;
	/* the field's name only for a message: a case's fields are read a few times per case */
	field_name(f, sizeof(f), prefix, key);
	if (!v)
		return jdoc_error(d, obj, f, "missing (a string is required)");
	return jdoc_error(d, v, f, "expected a string");
}

int jdoc_number(const struct jdoc *d, const cJSON *obj, const char *prefix, const char *key,
		int required, double lo, double hi, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	char f[256];

	if (v && cJSON_IsNumber(v) && v->valuedouble >= lo && v->valuedouble <= hi) {
		*out = v->valuedouble;
		return 0;
	}
	if (!v && !required)
		return 0;
	field_name(f, sizeof(f), prefix, key);
	if (!v)
		return jdoc_error(d, obj, f, "missing (a number is required)");
	if (!cJSON_IsNumber(v))
		return jdoc_error(d, v, f, "expected a number");
	return jdoc_error(d, v, f, "%g is out of range [%g, %g]", v->valuedouble, lo, hi);
}

int jdoc_bool(const struct jdoc *d, const cJSON *obj, const char *prefix, const char *key,
	      int *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	char f[256];

	if (!v)
		return 0;
	field_name(f, sizeof(f), prefix, key);
	if (!cJSON_IsBool(v))
		return jdoc_error(d, v, f, "expected true or false");
	*out = cJSON_IsTrue(v);
	return 0;
}

int jdoc_string_array(const struct jdoc *d, const cJSON *obj, const char *prefix, const char *key,
		      const char ***out, size_t *n)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key), *c;
	char f[256];
	size_t i = 0;

	*out = NULL;
	*n = 0;
	if (!v)
		return 0;
	field_name(f, sizeof(f), prefix, key);
	if (!cJSON_IsArray(v))
		return jdoc_error(d, v, f, "expected an array of strings");
	cJSON_ArrayForEach(c, v)
		if (!cJSON_IsString(c))
			return jdoc_error(d, c, f, "expected an array of strings");
	*out = xcalloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(char *));
	cJSON_ArrayForEach(c, v)
		(*out)[i++] = c->valuestring;
	*n = i;
	return 0;
}

const char *json_kind(const cJSON *v)
{
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNull(v))
		return "null";
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsObject(v))
		return "an object";
	return "invalid";
}

/* --- canonical JSON --- */

static int key_cmp(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
	return strcmp(x->string, y->string);
}

/*
 * the canonical number rule, older than jsonw's and kept as it is: the text
 * is hashed, and the hashes are stored in histories and caches
 */
static void canon_num(struct jsonw *w, double d)
{
	char buf[64];

	/* range first: converting an out-of-range double to an integer is undefined */
	if (d > -1e15 && d < 1e15 && d == (double)(long long)d)
		snprintf(buf, sizeof(buf), "%lld", (long long)d);
	else
		snprintf(buf, sizeof(buf), "%.17g", d);
	jsonw_raw(w, buf, strlen(buf));
}

static void canon(struct jsonw *w, const cJSON *v)
{
	const cJSON *c;

	if (cJSON_IsObject(v)) {
		const cJSON **keys = NULL;
		size_t n = 0, alloc = 0, i;
		cJSON_ArrayForEach(c, v) {
			XGROW(keys, n + 1, alloc);
			keys[n++] = c;
		}
		if (n > 1)
			qsort(keys, n, sizeof(*keys), key_cmp);
		jsonw_object_begin(w);
		for (i = 0; i < n; i++) {
			jsonw_key(w, keys[i]->string);
			canon(w, keys[i]);
		}
		jsonw_object_end(w);
		free(keys);
	} else if (cJSON_IsArray(v)) {
		jsonw_array_begin(w);
		cJSON_ArrayForEach(c, v)
			canon(w, c);
		jsonw_array_end(w);
	} else if (cJSON_IsNumber(v)) {
		canon_num(w, v->valuedouble);
	} else {
		jsonw_cjson(w, v);
	}
}

char *json_canonical(const cJSON *v)
{
	struct strbuf sb = STRBUF_INIT;
	struct jsonw w;

	jsonw_init(&w, &sb, 0);
	canon(&w, v);
	return strbuf_detach(&sb, NULL);
}
