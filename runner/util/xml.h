/*
 * xml: escaping that keeps an XML 1.0 document well-formed for any bytes.
 *
 * The C0 controls XML 1.0 forbids (all but tab, LF and CR) and DEL are
 * shown as the text \xHH (a NUL is \x00), as esc_visible (escape.h) shows
 * them; U+FFFE, U+FFFF and every byte that is not part of valid UTF-8
 * (including encoded surrogates) become U+FFFD. Text escaping turns & < > " ' into
 * entities; attribute escaping also turns tab, LF and CR into character
 * references so that attribute-value normalisation keeps them.
 *
 * Ownership: the functions append to a strbuf the caller owns; input strings
 * are borrowed.
 */
#ifndef EG_XML_H
#define EG_XML_H

#include <locale.h>
#include <stddef.h>

#include "strbuf.h"

/*
 * The escaping shared by XML and HTML: & < > " as entities, ' as apos ("&apos;"
 * in XML, "&#39;" in HTML), CR as &#13;, TAB and LF as character references
 * in attributes, other control characters as \xHH, invalid UTF-8 and
 * U+FFFE/U+FFFF as U+FFFD.
 */
void markup_escape(struct strbuf *sb, const char *s, size_t len, int attr, const char *apos);
/* the entity of & < > and ", NULL for any other character */
const char *markup_entity(int c);
void xml_escape_text(struct strbuf *sb, const char *s, size_t len);
void xml_escape_attr(struct strbuf *sb, const char *s, size_t len);
/* append ` name="value"` with value escaped; a NULL value appends an empty one */
void xml_add_attr(struct strbuf *sb, const char *name, const char *value);

/* the longest prefix of s, at most max bytes, that does not cut a UTF-8 sequence */
size_t xml_utf8_cut(const char *s, size_t len, size_t max);

/* printf under the C locale whatever LC_NUMERIC says: decimals always use '.' */
void xml_addf_c(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* the C locale for uselocale() around number formatting; (locale_t)0 when it cannot be made */
locale_t xml_c_locale(void);
/* v to 4 significant digits ("%.4g" in the C locale), "n/a" for NaN */
void xml_add_g4(struct strbuf *sb, double v);

#endif
