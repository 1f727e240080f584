/* escape: every context (HTML text, attribute, JSON in <script>, Markdown cell) for any bytes */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

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

Test(escape, html_controls_and_bad_utf8_replaced)
{
	static const char in[] = "a\x01" "b\x7f" "c\x80" "d\xed\xa0\x80" "e\xef\xbf\xbe" "f\xe2\x82";
	char *o = run(esc_html_text, in, sizeof(in) - 1);

	cr_assert(utf8_valid(o, strlen(o), NULL), "output is UTF-8: %s", o);
	cr_assert_str_eq(o, "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd" "d\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
			 "e\xef\xbf\xbd" "f\xef\xbf\xbd\xef\xbf\xbd");
	free(o);
}

Test(escape, html_keeps_valid_utf8_and_nul_is_replaced)
{
	static const char in[] = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\0z";
	char *o = run(esc_html_text, in, sizeof(in) - 1);

	cr_assert_str_eq(o, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbdz");
	free(o);
}

Test(escape, json_is_script_safe)
{
	static const char in[] = "</script><!-- & \xe2\x80\xa8 \xe2\x80\xa9 \"\\\n\x01";
	char *o = run(esc_json, in, sizeof(in) - 1);
	cJSON *v;

	cr_assert_str_eq(o, "\"\\u003c/script\\u003e\\u003c!-- \\u0026 \\u2028 \\u2029 \\\"\\\\\\n\\u0001\"");
	cr_assert_null(strchr(o, '<'));
	cr_assert_null(strchr(o, '>'));
	v = cJSON_Parse(o);
	cr_assert(cJSON_IsString(v));
	cr_assert_str_eq(v->valuestring, "</script><!-- & \xe2\x80\xa8 \xe2\x80\xa9 \"\\\n\x01");
	cJSON_Delete(v);
	free(o);
}

Test(escape, json_invalid_utf8_replaced)
{
	static const char in[] = "x\xff\xfey\xc0\xaf";
	char *o = run(esc_json, in, sizeof(in) - 1);

	cr_assert_str_eq(o, "\"x\xef\xbf\xbd\xef\xbf\xbdy\xef\xbf\xbd\xef\xbf\xbd\"");
	free(o);
}

Test(escape, json_numbers_and_values)
{
	struct strbuf sb = STRBUF_INIT;
	cJSON *v = cJSON_Parse("{\"a\":[1,0.9,-2.5e-7,true,null,\"<b>\"],\"b\":{}}");

	esc_json_num(&sb, NAN);
	strbuf_addch(&sb, ' ');
	esc_json_num(&sb, INFINITY);
	strbuf_addch(&sb, ' ');
	esc_json_num(&sb, 0.1);
	strbuf_addch(&sb, ' ');
	esc_json_num(&sb, 1.0 / 3.0);
	cr_assert_str_eq(sb.buf, "null null 0.1 0.33333333333333331");
	strbuf_reset(&sb);
	esc_json_value(&sb, v);
	cr_assert_str_eq(sb.buf, "{\"a\":[1,0.9,-2.5e-07,true,null,\"\\u003cb\\u003e\"],\"b\":{}}");
	strbuf_reset(&sb);
	esc_json_str(&sb, NULL);
	cr_assert_str_eq(sb.buf, "null");
	cJSON_Delete(v);
	strbuf_release(&sb);
}

Test(escape, md_cell_escapes_table_and_markup)
{
	char *o = md("a | b\nc\r\td `x` *y* _z_ [l](javascript:alert(1)) <img src=x> & @user ~s~ \\", 500);

	cr_assert_str_eq(o, "a \\| b c  d \\`x\\` \\*y\\* \\_z\\_ \\[l\\](javascript:alert(1)) "
			 "&lt;img src=x&gt; &amp; &#64;user \\~s\\~ \\\\");
	cr_assert_null(strchr(o, '\n'));
	cr_assert_null(strchr(o, '<'));
	free(o);
}

Test(escape, md_cell_cuts_at_a_character)
{
	/* 4 bytes fit "ab" and not the 3-byte euro sign that follows */
	char *o = md("ab\xe2\x82\xac" "cd", 4);

	cr_assert_str_eq(o, "ab\xe2\x80\xa6");
	free(o);
	o = md("short", 100);
	cr_assert_str_eq(o, "short");
	free(o);
	o = md("bad \xff byte \x02", 100);
	cr_assert_str_eq(o, "bad \xef\xbf\xbd byte \xef\xbf\xbd");
	free(o);
}

/* every byte value alone, in every context, gives valid UTF-8 with nothing active */
Test(escape, every_byte)
{
	unsigned c;

	for (c = 0; c < 256; c++) {
		char in[1] = { (char)c };
		char *h = run(esc_html_text, in, 1), *a = run(esc_html_attr, in, 1);
		char *j = run(esc_json, in, 1), *m = md_n(in, 1, 10);
		cJSON *v;

		cr_assert(utf8_valid(h, strlen(h), NULL) && utf8_valid(a, strlen(a), NULL) &&
			  utf8_valid(j, strlen(j), NULL) && utf8_valid(m, strlen(m), NULL), "byte %u", c);
		cr_assert(!strpbrk(h, "<>\"'") && !strpbrk(a, "<>\"'\n\t\r"), "byte %u", c);
		v = cJSON_Parse(j);
		cr_assert(!strpbrk(j, "<>&") && cJSON_IsString(v), "byte %u", c);
		if (c >= 0x20 && c < 0x7f)
			cr_assert_eq(v->valuestring[0], (char)c, "byte %u", c);
		cJSON_Delete(v);
		cr_assert(!strpbrk(m, "<>\n\r"), "byte %u", c);
		free(h);
		free(a);
		free(j);
		free(m);
	}
}
