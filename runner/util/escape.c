#include "escape.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "xml.h"
#include "banned.h"

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

/*
 * the character at s[i]: its length in bytes (0 for a byte that is not valid
 * UTF-8, which the caller replaces and skips)
 */
static size_t char_at(const char *s, size_t len, size_t i)
{
	if ((unsigned char)s[i] < 0x80)
		return 1;
	return utf8_valid_prefix(s + i, len - i);
}

/* U+FFFE and U+FFFF: valid UTF-8, but not characters any of our formats may carry */
static int noncharacter(const unsigned char *p, size_t n)
{
	return n == 3 && p[0] == 0xef && p[1] == 0xbf && p[2] >= 0xbe;
}

void esc_html_text(struct strbuf *sb, const char *s, size_t len)
{
	markup_escape(sb, s, len, 0, "&#39;");
}

void esc_html_attr(struct strbuf *sb, const char *s, size_t len)
{
	markup_escape(sb, s, len, 1, "&#39;");
}

void esc_html(struct strbuf *sb, const char *s)
{
	if (s)
		markup_escape(sb, s, strlen(s), 0, "&#39;");
}

void esc_json(struct strbuf *sb, const char *str, size_t len)
{
	strbuf_add_json_str_for(sb, str, len, 1);
}

void esc_json_str(struct strbuf *sb, const char *s)
{
	if (s)
		esc_json(sb, s, strlen(s));
	else
		strbuf_addstr(sb, "null");
}

void esc_json_num(struct strbuf *sb, double v)
{
	struct strbuf t = STRBUF_INIT;

	if (!isfinite(v)) {
		strbuf_addstr(sb, "null");
		return;
	}
	/* the shortest of 15 or 17 digits that reads back exactly */
	xml_addf_c(&t, "%.15g", v);
	if (strtod(t.buf, NULL) != v) {
		strbuf_reset(&t);
		xml_addf_c(&t, "%.17g", v);
	}
	strbuf_add(sb, t.buf, t.len);
	strbuf_release(&t);
}

void esc_json_value(struct strbuf *sb, const cJSON *v)
{
	const cJSON *c;
	int first = 1;

	if (!v || cJSON_IsNull(v) || cJSON_IsInvalid(v)) {
		strbuf_addstr(sb, "null");
	} else if (cJSON_IsTrue(v)) {
		strbuf_addstr(sb, "true");
	} else if (cJSON_IsFalse(v)) {
		strbuf_addstr(sb, "false");
	} else if (cJSON_IsNumber(v)) {
		esc_json_num(sb, v->valuedouble);
	} else if (cJSON_IsString(v) || cJSON_IsRaw(v)) {
		esc_json_str(sb, v->valuestring ? v->valuestring : "");
	} else if (cJSON_IsArray(v)) {
		strbuf_addch(sb, '[');
		cJSON_ArrayForEach(c, v) {
			if (!first)
				strbuf_addch(sb, ',');
			first = 0;
			esc_json_value(sb, c);
		}
		strbuf_addch(sb, ']');
	} else if (cJSON_IsObject(v)) {
		strbuf_addch(sb, '{');
		cJSON_ArrayForEach(c, v) {
			if (!first)
				strbuf_addch(sb, ',');
			first = 0;
			esc_json_str(sb, c->string ? c->string : "");
			strbuf_addch(sb, ':');
			esc_json_value(sb, c);
		}
		strbuf_addch(sb, '}');
	} else {
		strbuf_addstr(sb, "null");
	}
}

void esc_md_cell(struct strbuf *sb, const char *str, size_t len, size_t max)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t cut = esc_utf8_cut(str, len, max);
	size_t i = 0;

	while (i < cut) {
		unsigned char c = s[i];
		size_t n = char_at(str, cut, i);

		if (!n || noncharacter(s + i, n)) {
			strbuf_addstr(sb, REPLACEMENT);
			i += n ? n : 1;
			continue;
		}
		if (n > 1) {
			strbuf_add(sb, str + i, n);
			i += n;
			continue;
		}
		switch (c) {
		case '|':
		case '\\':
		case '`':
		case '*':
		case '_':
		case '[':
		case ']':
		case '~':
			strbuf_addch(sb, '\\');
			strbuf_addch(sb, c);
			break;
		case '<':
			strbuf_addstr(sb, "&lt;");
			break;
		case '>':
			strbuf_addstr(sb, "&gt;");
			break;
		case '&':
			strbuf_addstr(sb, "&amp;");
			break;
		case '@':
			strbuf_addstr(sb, "&#64;");
			break;
		case '\n':
		case '\r':
		case '\t':
			strbuf_addch(sb, ' ');
			break;
		default:
			if (c < 0x20 || c == 0x7f)
				strbuf_addstr(sb, REPLACEMENT);
			else
				strbuf_addch(sb, c);
		}
		i++;
	}
	if (cut < len)
		strbuf_addstr(sb, "\xe2\x80\xa6"); /* U+2026 */
}

size_t esc_utf8_cut(const char *s, size_t len, size_t max)
{
	return xml_utf8_cut(s, len, max);
}
