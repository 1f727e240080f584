#include "xml.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>

#include "utf8.h"
#include "banned.h"

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

const char *markup_entity(int c)
{
	switch (c) {
	case '&':
		return "&amp;";
	case '<':
		return "&lt;";
	case '>':
		return "&gt;";
	case '"':
		return "&quot;";
	}
	return NULL;
}

void markup_escape(struct strbuf *sb, const char *str, size_t len, int attr, const char *apos)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	strbuf_grow(sb, len + len / 8);
	while (i < len) {
		unsigned char c = s[i];
		size_t n;

		if (c < 0x80) {
			const char *entity = markup_entity(c);

			if (entity) {
				strbuf_addstr(sb, entity);
				i++;
				continue;
			}
			switch (c) {
			case '\'':
				strbuf_addstr(sb, apos);
				break;
			case '\t':
				strbuf_addstr(sb, attr ? "&#9;" : "\t");
				break;
			case '\n':
				strbuf_addstr(sb, attr ? "&#10;" : "\n");
				break;
			case '\r':
				strbuf_addstr(sb, "&#13;"); /* a raw CR would be read as LF */
				break;
			default:
				/* shown as escape.h's esc_visible shows them: a NUL is \x00 */
				if (c < 0x20 || c == 0x7f)
					strbuf_addf(sb, "\\x%02x", c);
				else
					strbuf_addch(sb, c);
			}
			i++;
			continue;
		}
		n = utf8_valid_prefix(str + i, len - i);
		if (!n) {
			strbuf_addstr(sb, REPLACEMENT);
			i++;
			continue;
		}
		/* U+FFFE and U+FFFF are valid UTF-8 but not XML characters */
		if (n == 3 && c == 0xef && s[i + 1] == 0xbf && s[i + 2] >= 0xbe)
			strbuf_addstr(sb, REPLACEMENT);
		else
			strbuf_add(sb, str + i, n);
		i += n;
	}
}

void xml_escape_text(struct strbuf *sb, const char *s, size_t len)
{
	markup_escape(sb, s, len, 0, "&apos;");
}

void xml_escape_attr(struct strbuf *sb, const char *s, size_t len)
{
	markup_escape(sb, s, len, 1, "&apos;");
}

void xml_add_attr(struct strbuf *sb, const char *name, const char *value)
{
	strbuf_addch(sb, ' ');
	strbuf_addstr(sb, name);
	strbuf_addstr(sb, "=\"");
	if (value)
		xml_escape_attr(sb, value, strlen(value));
	strbuf_addch(sb, '"');
}

size_t xml_utf8_cut(const char *s, size_t len, size_t max)
{
	size_t i = 0;

	if (len <= max)
		return len;
	while (i < max) {
		size_t n = utf8_valid_prefix(s + i, len - i);

		if (!n)
			n = 1; /* an invalid byte stands alone */
		if (i + n > max)
			break;
		i += n;
	}
	return i;
}

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
	c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

locale_t xml_c_locale(void)
{
	pthread_once(&c_locale_once, c_locale_init);
	return c_locale;
}

void xml_addf_c(struct strbuf *sb, const char *fmt, ...)
{
	locale_t c = xml_c_locale(), old = (locale_t)0;
	va_list ap;

	if (c)
		old = uselocale(c);
	va_start(ap, fmt);
	strbuf_vaddf(sb, fmt, ap);
	va_end(ap);
	if (c)
		uselocale(old);
}

void xml_add_g4(struct strbuf *sb, double v)
{
	if (isnan(v))
		strbuf_addstr(sb, "n/a");
	else
		xml_addf_c(sb, "%.4g", v);
}
