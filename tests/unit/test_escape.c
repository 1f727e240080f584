/* escape: every context (HTML text, attribute, visible text, Markdown cell) for any bytes */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "strbuf.h"
#include "utf8.h"
#include "banned.h"

static char *run(void (*fn)(struct strbuf *, const char *, size_t), const char *s, size_t len)
{
	struct strbuf sb = STRBUF_INIT;

	fn(&sb, s, len);
	return strbuf_detach(&sb, NULL);
}

static char *md_n(const char *s, size_t len, size_t max)
{
	struct strbuf sb = STRBUF_INIT;

	esc_md_cell(&sb, s, len, max);
	return strbuf_detach(&sb, NULL);
}

static char *md(const char *s, size_t max)
{
	return md_n(s, strlen(s), max);
}

Test(escape, html_text_entities)
{
	char *o = run(esc_html_text, "<script>alert('x')</script> & \"q\"", 33);

	cr_assert_str_eq(o, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
	free(o);
	o = run(esc_html_text, "a\tb\nc\rd", 7);
	cr_assert_str_eq(o, "a\tb\nc&#13;d");
	free(o);
}

Test(escape, html_attr_breaks_out_of_nothing)
{
	static const char in[] = "\" onerror=\"alert(1)\" x='\t\n";
	char *o = run(esc_html_attr, in, sizeof(in) - 1);

	cr_assert_str_eq(o, "&quot; onerror=&quot;alert(1)&quot; x=&#39;&#9;&#10;");
	cr_assert_null(strchr(o, '"'));
	cr_assert_null(strchr(o, '<'));
	free(o);
}

Test(escape, html_controls_shown_and_bad_utf8_replaced)
{
	static const char in[] = "a\x01" "b\x7f" "c\x80" "d\xed\xa0\x80" "e\xef\xbf\xbe" "f\xe2\x82";
	char *o = run(esc_html_text, in, sizeof(in) - 1);

	cr_assert(utf8_valid(o, strlen(o), NULL), "output is UTF-8: %s", o);
	cr_assert_str_eq(o, "a\\x01" "b\\x7f" "c\xef\xbf\xbd" "d\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
			 "e\xef\xbf\xbd" "f\xef\xbf\xbd\xef\xbf\xbd");
	free(o);
}

Test(escape, html_keeps_valid_utf8_and_shows_a_nul_as_esc_visible_does)
{
	static const char in[] = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\0z";
	char *o = run(esc_html_text, in, sizeof(in) - 1);
	struct strbuf v = STRBUF_INIT;

	cr_assert_str_eq(o, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\\x00z");
	/* one convention: the terminal and Markdown show it the same way */
	esc_visible(&v, "\0z", 2, 100);
	cr_assert_str_eq(v.buf, "\\x00z");
	strbuf_release(&v);
	free(o);
}

Test(escape, md_cell_escapes_table_and_markup)
{
	char *o = md("a | b\nc\r\td `x` *y* _z_ [l](javascript:alert(1)) <img src=x> & @user ~s~ \\", 500);

	/* line breaks are shown as \n (escaped for Markdown), not obeyed */
	cr_assert_str_eq(o, "a \\| b\\\\nc\\\\r\\\\td \\`x\\` \\*y\\* \\_z\\_ \\[l\\](javascript:alert(1)) "
			 "&lt;img src=x&gt; &amp; &#64;user \\~s\\~ \\\\");
	cr_assert_null(strchr(o, '\n'));
	cr_assert_null(strchr(o, '<'));
	cr_assert_null(strchr(o, '@'));
	free(o);
	o = md("# title ![img](x) @here", 500);
	cr_assert_str_eq(o, "\\# title \\!\\[img\\](x) &#64;here");
	free(o);
	/* a bidi override is shown, not obeyed */
	o = md("x\xe2\x80\xaey", 500);
	cr_assert_str_eq(o, "x\\\\u202ey");
	free(o);
}

Test(escape, md_cell_cuts_at_a_character)
{
	/* 4 bytes fit "ab" and not the 3-byte euro sign that follows */
	char *o = md("ab\xe2\x82\xac" "cd", 4);

	cr_assert_str_eq(o, "ab...");
	free(o);
	o = md("short", 100);
	cr_assert_str_eq(o, "short");
	free(o);
	o = md("bad \xff byte \x02", 100);
	cr_assert_str_eq(o, "bad \\\\xff byte \\\\x02");
	free(o);
}

Test(escape, visible_text)
{
	static const char bidi[] = "x\xe2\x80\xaey\xc2\x85z\xe2\x80\xa8\xe2\x80\xa9\xef\xbb\xbf\xef\xbf\xbe";
	struct strbuf sb = STRBUF_INIT;

	esc_visible(&sb, "a\nb\tc\r\x01\x7f", 8, 200);
	cr_assert_str_eq(sb.buf, "a\\nb\\tc\\r\\x01\\x7f");
	strbuf_reset(&sb);
	esc_visible(&sb, "ok \xff\xfe caf\xc3\xa9", 11, 200);
	cr_assert_str_eq(sb.buf, "ok \\xff\\xfe caf\xc3\xa9");
	strbuf_reset(&sb);
	/* bidi controls, C1 controls, line separators, BOM, noncharacters are shown, not obeyed */
	esc_visible(&sb, bidi, strlen(bidi), 200);
	cr_assert_str_eq(sb.buf, "x\\u202ey\\u0085z\\u2028\\u2029\\ufeff\\ufffe");
	strbuf_reset(&sb);
	/* truncation never splits a character */
	esc_visible(&sb, "abc\xc3\xa9z", 6, 4);
	cr_assert_str_eq(sb.buf, "abc...");
	strbuf_reset(&sb);
	esc_visible(&sb, "abc\xc3\xa9z", 6, 5);
	cr_assert_str_eq(sb.buf, "abc\xc3\xa9...");
	strbuf_reset(&sb);
	esc_visible(&sb, "abc", 3, 3);
	cr_assert_str_eq(sb.buf, "abc");
	strbuf_reset(&sb);
	esc_visible(&sb, "a\0b", 3, 10);
	cr_assert_str_eq(sb.buf, "a\\x00b");
	strbuf_release(&sb);
}

/* every byte value alone, in every context, gives valid UTF-8 with nothing active */
Test(escape, every_byte)
{
	unsigned c;

	for (c = 0; c < 256; c++) {
		char in[1] = { (char)c };
		char *h = run(esc_html_text, in, 1), *a = run(esc_html_attr, in, 1);
		char *m = md_n(in, 1, 10);
		struct strbuf v = STRBUF_INIT;

		esc_visible(&v, in, 1, 10);
		cr_assert(utf8_valid(h, strlen(h), NULL) && utf8_valid(a, strlen(a), NULL) &&
			  utf8_valid(m, strlen(m), NULL) && utf8_valid(v.buf, v.len, NULL),
			  "byte %u", c);
		cr_assert(!strpbrk(h, "<>\"'") && !strpbrk(a, "<>\"'\n\t\r"), "byte %u", c);
		cr_assert(!strpbrk(m, "<>@\n\r"), "byte %u", c);
		/* visible text is printable ASCII or the byte itself when that is printable */
		cr_assert(v.len == 1 ? c >= 0x20 && c < 0x7f : v.buf[0] == '\\', "byte %u", c);
		strbuf_release(&v);
		free(h);
		free(a);
		free(m);
	}
}
