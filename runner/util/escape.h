/*
 * escape: text from a model or a suite made safe for each place a report
 * puts it. Every function reads any bytes and writes valid UTF-8: the HTML
 * escapers replace a byte that is not part of valid UTF-8 (including
 * encoded surrogates) with U+FFFD; esc_visible and esc_md_cell show it as
 * an escape. No report ever holds raw invalid UTF-8. A control character
 * (a NUL in an answer above all) is shown the same way everywhere, as
 * \xHH: \x00 for a NUL (JSON has its own \u0000).
 *
 *   esc_html_text  element content: & < > " ' as entities; tab, LF and CR
 *                  kept; other C0 controls and DEL as \xHH; U+FFFE and
 *                  U+FFFF replaced
 *   esc_html_attr  a double-quoted attribute value: as text, and tab, LF
 *                  and CR as character references
 *   esc_visible    one line of plain text that shows what the bytes are:
 *                  \n \r \t for those, \xHH for other C0 controls, DEL
 *                  and bytes that are not valid UTF-8, \uXXXX for C1
 *                  controls, line and paragraph separators, bidi and
 *                  invisible format characters and U+FFFE, U+FFFF; at most
 *                  max bytes of the input, cut at a character boundary and
 *                  marked "..."
 *   esc_md_cell    one cell of a Markdown table: the text made visible as
 *                  by esc_visible, then \ ` * _ [ ] | # ~ ! escaped with a
 *                  backslash, < > & as entities and @ as &#64; (no
 *                  mentions)
 *
 * JSON has its own writer, jsonw.h.
 *
 * Ownership: the functions append to a strbuf the caller owns; inputs are
 * borrowed.
 */
#ifndef EG_ESCAPE_H
#define EG_ESCAPE_H

#include <stddef.h>

#include "strbuf.h"

void esc_html_text(struct strbuf *sb, const char *s, size_t len);
void esc_html_attr(struct strbuf *sb, const char *s, size_t len);
/* the same for a NUL-terminated string; NULL appends nothing */
void esc_html(struct strbuf *sb, const char *s);

void esc_visible(struct strbuf *sb, const char *s, size_t len, size_t max);
void esc_md_cell(struct strbuf *sb, const char *s, size_t len, size_t max);

/* the longest prefix of s, at most max bytes, that does not cut a UTF-8 sequence */
size_t esc_utf8_cut(const char *s, size_t len, size_t max);

#endif
