#include "escape.h"

#include <string.h>

#include "utf8.h"
#include "xml.h"
#include "banned.h"

/* the character at s[i]: its length in bytes (0 for a byte that is not valid UTF-8) */
static size_t char_at(const char *s, size_t len, size_t i)
{
	if ((unsigned char)s[i] < 0x80)
		return 1;
	return utf8_valid_prefix(s + i, len - i);
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

/*
 * code points shown as \uXXXX: C1 controls, line and paragraph separators,
 * bidi controls and marks, the byte order mark, and the noncharacters
 * U+FFFE and U+FFFF
 */
static int invisible(unsigned cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
	       cp == 0xfeff || cp == 0xfffe || cp == 0xffff;
}

/* the code point of the valid k-byte UTF-8 sequence at s */
static unsigned decode(const unsigned char *s, size_t k)
{
	unsigned cp;
	size_t i;

	if (k == 1)
		return s[0];
	cp = s[0] & (0xff >> (k + 1));
	for (i = 1; i < k; i++)
		cp = (cp << 6) | (s[i] & 0x3f);
	return cp;
}

void esc_visible(struct strbuf *sb, const char *s, size_t len, size_t max)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < len) {
		unsigned char c = u[i];

		k = char_at(s, len, i);
		if (i + (k ? k : 1) > max) {
			strbuf_addstr(sb, "...");
			break;
		}
		if (!k) {
			strbuf_addf(sb, "\\x%02x", c);
			i++;
		} else if (k == 1 && (c < 0x20 || c == 0x7f)) {
			if (c == '\n')
				strbuf_addstr(sb, "\\n");
			else if (c == '\t')
				strbuf_addstr(sb, "\\t");
			else if (c == '\r')
				strbuf_addstr(sb, "\\r");
			else
				strbuf_addf(sb, "\\x%02x", c);
			i++;
		} else if (k > 1 && invisible(decode(u + i, k))) {
			strbuf_addf(sb, "\\u%04x", decode(u + i, k));
			i += k;
		} else {
			strbuf_add(sb, s + i, k);
			i += k;
		}
	}
}

void esc_md_cell(struct strbuf *sb, const char *s, size_t len, size_t max)
{
	struct strbuf v = STRBUF_INIT;
	size_t i;

	esc_visible(&v, s, len, max);
	strbuf_grow(sb, v.len + v.len / 8);
	for (i = 0; i < v.len; i++) {
		char c = v.buf[i];

		if (c == '<' || c == '>' || c == '&') {
			strbuf_addstr(sb, markup_entity(c));
		} else if (c == '@') {
			strbuf_addstr(sb, "&#64;"); /* no mentions */
		} else if (c && strchr("\\`*_[]|#~!", c)) {
			strbuf_addch(sb, '\\');
			strbuf_addch(sb, c);
		} else {
			strbuf_addch(sb, c);
		}
	}
	strbuf_release(&v);
}

size_t esc_utf8_cut(const char *s, size_t len, size_t max)
{
	return xml_utf8_cut(s, len, max);
}
