#include "jsonw.h"

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "xml.h"
#include "banned.h"

void jsonw_init(struct jsonw *w, struct strbuf *sb, unsigned flags)
{
	memset(w, 0, sizeof(*w));
	w->sb = sb;
	w->flags = flags;
}

static void indent(struct jsonw *w)
{
	int i;

	strbuf_addch(w->sb, '\n');
	for (i = 0; i < w->depth; i++)
		strbuf_addstr(w->sb, "  ");
}

/* what goes before a member or an element: the comma and the line break */
static void item(struct jsonw *w)
{
	if (w->comma)
		strbuf_addch(w->sb, ',');
	if ((w->flags & JSONW_PRETTY) && w->depth > 0)
		indent(w);
	else if (w->newline)
		strbuf_addch(w->sb, '\n');
	w->newline = 0;
}

static void value_begin(struct jsonw *w)
{
	if (w->after_key)
		w->after_key = 0;
	else
		item(w);
}

static void value_end(struct jsonw *w)
{
	w->comma = 1;
}

static void container_begin(struct jsonw *w, int c)
{
	value_begin(w);
	strbuf_addch(w->sb, c);
	w->depth++;
	w->comma = 0;
}

static void container_end(struct jsonw *w, int c)
{
	w->depth--;
	if ((w->flags & JSONW_PRETTY) && w->comma)
		indent(w);
	else if (w->newline)
		strbuf_addch(w->sb, '\n');
	w->newline = 0;
	strbuf_addch(w->sb, c);
	value_end(w);
}

void jsonw_object_begin(struct jsonw *w)
{
	container_begin(w, '{');
}

void jsonw_object_end(struct jsonw *w)
{
	container_end(w, '}');
}

void jsonw_array_begin(struct jsonw *w)
{
	container_begin(w, '[');
}

void jsonw_array_end(struct jsonw *w)
{
	container_end(w, ']');
}

void jsonw_newline(struct jsonw *w)
{
	w->newline = 1;
}

/* the string rule of the header; s is any bytes */
static void add_string(struct strbuf *sb, const char *str, size_t len, int in_script)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, plain;

	strbuf_grow(sb, len + 2);
	strbuf_addch(sb, '"');
	while (i < len) {
		unsigned char c = s[i];
		size_t n;

		/* a run of bytes written as they are */
		for (plain = i; plain < len; plain++) {
			c = s[plain];
			if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\' ||
			    (in_script && (c == '<' || c == '>' || c == '&')))
				break;
		}
		if (plain > i) {
			strbuf_add(sb, str + i, plain - i);
			i = plain;
			continue;
		}
		if (c < 0x80) {
			switch (c) {
			case '"': strbuf_addstr(sb, "\\\""); break;
			case '\\': strbuf_addstr(sb, "\\\\"); break;
			case '\n': strbuf_addstr(sb, "\\n"); break;
			case '\r': strbuf_addstr(sb, "\\r"); break;
			case '\t': strbuf_addstr(sb, "\\t"); break;
			default: {
				char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
				strbuf_add(sb, e, sizeof(e));
			}
			}
			i++;
			continue;
		}
		n = utf8_valid_prefix(str + i, len - i);
		if (!n) {
			strbuf_addstr(sb, "\xef\xbf\xbd");
			i++;
		} else if (in_script && n == 3 && c == 0xe2 && s[i + 1] == 0x80 &&
			   (s[i + 2] == 0xa8 || s[i + 2] == 0xa9)) {
			/* U+2028 and U+2029 end a line in older JavaScript */
			strbuf_addstr(sb, s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029");
			i += n;
		} else {
			strbuf_add(sb, str + i, n);
			i += n;
		}
	}
	strbuf_addch(sb, '"');
}

void jsonw_key(struct jsonw *w, const char *key)
{
	item(w);
	add_string(w->sb, key, strlen(key), w->flags & JSONW_SCRIPT);
	strbuf_addstr(w->sb, (w->flags & JSONW_PRETTY) ? ": " : ":");
	w->after_key = 1;
}

void jsonw_strn(struct jsonw *w, const char *s, size_t len)
{
	value_begin(w);
	add_string(w->sb, s, len, w->flags & JSONW_SCRIPT);
	value_end(w);
}

void jsonw_str(struct jsonw *w, const char *s)
{
	if (s)
		jsonw_strn(w, s, strlen(s));
	else
		jsonw_null(w);
}

void jsonw_raw(struct jsonw *w, const char *json, size_t len)
{
	value_begin(w);
	strbuf_add(w->sb, json, len);
	value_end(w);
}

size_t jsonw_format_num(char *buf, double v)
{
	locale_t c = xml_c_locale(), old = (locale_t)0;
	int prec;

	if (!isfinite(v)) {
		memcpy(buf, "null", 5);
		return 4;
	}
	if (c)
		old = uselocale(c);
	for (prec = 15; prec < 17; prec++) {
		snprintf(buf, JSONW_NUM_MAX, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	if (prec == 17)
		snprintf(buf, JSONW_NUM_MAX, "%.17g", v);
	if (c)
		uselocale(old);
	return strlen(buf);
}

void jsonw_num(struct jsonw *w, double v)
{
	char buf[JSONW_NUM_MAX];
	size_t len = jsonw_format_num(buf, v);

	jsonw_raw(w, buf, len);
}

void jsonw_int(struct jsonw *w, long long v)
{
	value_begin(w);
	strbuf_addf(w->sb, "%lld", v);
	value_end(w);
}

void jsonw_bool(struct jsonw *w, int v)
{
	jsonw_raw(w, v ? "true" : "false", v ? 4 : 5);
}

void jsonw_null(struct jsonw *w)
{
	jsonw_raw(w, "null", 4);
}

void jsonw_cjson(struct jsonw *w, const cJSON *v)
{
	const cJSON *c;

	if (!v || cJSON_IsNull(v) || cJSON_IsInvalid(v)) {
		jsonw_null(w);
	} else if (cJSON_IsBool(v)) {
		jsonw_bool(w, cJSON_IsTrue(v));
	} else if (cJSON_IsNumber(v)) {
		jsonw_num(w, v->valuedouble);
	} else if (cJSON_IsString(v) || cJSON_IsRaw(v)) {
		jsonw_str(w, v->valuestring ? v->valuestring : "");
	} else if (cJSON_IsArray(v)) {
		jsonw_array_begin(w);
		cJSON_ArrayForEach(c, v)
			jsonw_cjson(w, c);
		jsonw_array_end(w);
	} else if (cJSON_IsObject(v)) {
		jsonw_object_begin(w);
		cJSON_ArrayForEach(c, v) {
			jsonw_key(w, c->string ? c->string : "");
			jsonw_cjson(w, c);
		}
		jsonw_object_end(w);
	} else {
		jsonw_null(w);
	}
}

void jsonw_member_str(struct jsonw *w, const char *key, const char *s)
{
	jsonw_key(w, key);
	jsonw_str(w, s);
}

void jsonw_member_num(struct jsonw *w, const char *key, double v)
{
	jsonw_key(w, key);
	jsonw_num(w, v);
}

void jsonw_member_int(struct jsonw *w, const char *key, long long v)
{
	jsonw_key(w, key);
	jsonw_int(w, v);
}

void jsonw_member_bool(struct jsonw *w, const char *key, int v)
{
	jsonw_key(w, key);
	jsonw_bool(w, v);
}

void jsonw_add_str(struct strbuf *sb, const char *s, size_t len, unsigned flags)
{
	struct jsonw w;

	jsonw_init(&w, sb, flags);
	jsonw_strn(&w, s, len);
}

char *jsonw_print(const cJSON *v, unsigned flags)
{
	struct strbuf sb = STRBUF_INIT;
	struct jsonw w;

	jsonw_init(&w, &sb, flags);
	jsonw_cjson(&w, v);
	return strbuf_detach(&sb, NULL);
}
