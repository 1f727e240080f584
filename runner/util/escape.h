/*
 * escape: text from a model or a suite made safe for each place a report
 * puts it. Every function reads any bytes: a byte that is not part of valid
 * UTF-8 (including encoded surrogates) becomes U+FFFD, and so do control
 * characters a format cannot carry, so no report ever holds raw invalid
 * UTF-8.
 *
 *   esc_html_text  element content: & < > " ' as entities; tab, LF and CR
 *                  kept; other C0 controls, DEL, U+FFFE and U+FFFF replaced
 *   esc_html_attr  a double-quoted attribute value: as text, and tab, LF
 *                  and CR as character references
 *   esc_json       a JSON string literal, quotes included, that is also safe
 *                  inside <script type="application/json">: < > & and
 *                  U+2028, U+2029 become \u003c \u003e \u0026 \u2028 \u2029,
 *                  so no "</script>" or "<!--" can appear in it
 *   esc_json_value a parsed JSON value written back with esc_json strings
 *                  (non-finite numbers become null)
 *   esc_md_cell    one cell of a Markdown table: | \ ` * _ [ ] ~ escaped
 *                  with a backslash, < > & as entities, @ as &#64; (no
 *                  mentions), line breaks and tabs as spaces; at most max
 *                  bytes of the input (cut at a character boundary and
 *                  marked with an ellipsis)
 *
 * Ownership: the functions append to a strbuf the caller owns; inputs are
 * borrowed.
 */
#ifndef EG_ESCAPE_H
#define EG_ESCAPE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "strbuf.h"

void esc_html_text(struct strbuf *sb, const char *s, size_t len);
void esc_html_attr(struct strbuf *sb, const char *s, size_t len);
/* the same for a NUL-terminated string; NULL appends nothing */
void esc_html(struct strbuf *sb, const char *s);

void esc_json(struct strbuf *sb, const char *s, size_t len);
/* a NUL-terminated string, or null for NULL */
void esc_json_str(struct strbuf *sb, const char *s);
void esc_json_value(struct strbuf *sb, const cJSON *v);
/* a number under the C locale with up to 17 significant digits; NaN and infinities are null */
void esc_json_num(struct strbuf *sb, double v);

void esc_md_cell(struct strbuf *sb, const char *s, size_t len, size_t max);

/* the longest prefix of s, at most max bytes, that does not cut a UTF-8 sequence */
size_t esc_utf8_cut(const char *s, size_t len, size_t max);

#endif
