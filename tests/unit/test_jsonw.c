/* jsonw: the JSON writer's strings, numbers, structure, cJSON values and layouts */
#include <criterion/criterion.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "jsonw.h"
#include "strbuf.h"
#include "utf8.h"
#include "banned.h"

static char *str(const char *s, size_t len, unsigned flags)
{
	struct strbuf sb = STRBUF_INIT;
	struct jsonw w;

	jsonw_init(&w, &sb, flags);
	jsonw_strn(&w, s, len);
	return strbuf_detach(&sb, NULL);
}

static void check_str(const char *in, size_t len, const char *want)
{
	char *o = str(in, len, 0);

	cr_assert_str_eq(o, want);
	free(o);
}

static char *num(double v)
{
	struct strbuf sb = STRBUF_INIT;
	struct jsonw w;

	jsonw_init(&w, &sb, 0);
	jsonw_num(&w, v);
	return strbuf_detach(&sb, NULL);
}

static void check_num(double v, const char *want)
{
	char *o = num(v);

	cr_assert_str_eq(o, want, "%.17g", v);
	if (isfinite(v))
		cr_assert(strtod(o, NULL) == v, "%s reads back", o);
	free(o);
}

Test(jsonw, string_escapes)
{
	check_str("", 0, "\"\"");
	check_str("plain", 5, "\"plain\"");
	check_str("a\"b\\c", 5, "\"a\\\"b\\\\c\"");
	check_str("\n\r\t", 3, "\"\\n\\r\\t\"");
	check_str("\x01\x1f\x7f", 3, "\"\\u0001\\u001f\\u007f\"");
	check_str("a\0b", 3, "\"a\\u0000b\"");
	/* valid UTF-8 passes through, invalid bytes become U+FFFD one by one */
	check_str("caf\xc3\xa9 \xf0\x9f\x98\x80", 10, "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"");
	check_str("x\xffy", 3, "\"x\xef\xbf\xbdy\"");
	check_str("\xed\xa0\x80", 3, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	check_str("\xc3", 1, "\"\xef\xbf\xbd\"");
	/* len is respected: bytes after it are not read */
	check_str("abcdef", 3, "\"abc\"");
	/* without JSONW_SCRIPT, markup characters stay as they are */
	check_str("<a>&\xe2\x80\xa8", 7, "\"<a>&\xe2\x80\xa8\"");
}

Test(jsonw, script_safe_strings)
{
	static const char in[] = "</script><!-- & \xe2\x80\xa8 \xe2\x80\xa9 \"\\\n\x01";
	char *o = str(in, sizeof(in) - 1, JSONW_SCRIPT);
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

/* every byte value alone gives a JSON string that parses, and nothing active with JSONW_SCRIPT */
Test(jsonw, every_byte)
{
	unsigned c;

	for (c = 0; c < 256; c++) {
		char in[1] = { (char)c };
		char *j = str(in, 1, JSONW_SCRIPT);
		cJSON *v = cJSON_Parse(j);

		cr_assert(utf8_valid(j, strlen(j), NULL), "byte %u", c);
		cr_assert(!strpbrk(j, "<>&") && cJSON_IsString(v), "byte %u", c);
		if (c >= 0x20 && c < 0x7f)
			cr_assert_eq(v->valuestring[0], (char)c, "byte %u", c);
		cJSON_Delete(v);
		free(j);
	}
}

Test(jsonw, numbers_shortest_that_reads_back)
{
	check_num(NAN, "null");
	check_num(INFINITY, "null");
	check_num(-INFINITY, "null");
	check_num(0, "0");
	check_num(-0.0, "-0");
	check_num(3, "3");
	check_num(-42, "-42");
	check_num(0.1, "0.1");
	check_num(0.5, "0.5");
	check_num(2.5e-7, "2.5e-07");
	check_num(1e21, "1e+21");
	check_num(123456789012345.0, "123456789012345");
	/* 16 digits where 15 do not read back, 17 where 16 do not */
	check_num(1.0 / 3.0, "0.3333333333333333");
	check_num(0.1 + 0.2, "0.30000000000000004");
	check_num(2.0 / 3.0, "0.6666666666666666");
	check_num(1.0000000000000002e300, "1.0000000000000002e+300");
}

Test(jsonw, numbers_ignore_the_decimal_comma_of_the_locale)
{
	static const char *const comma[] = { "de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "de_DE", NULL };
	size_t i;
	char *o;

	for (i = 0; comma[i]; i++)
		if (setlocale(LC_ALL, comma[i]))
			break;
	o = num(1.0 / 3.0);
	cr_assert_str_eq(o, "0.3333333333333333");
	free(o);
	o = num(0.25);
	cr_assert_str_eq(o, "0.25");
	free(o);
	setlocale(LC_ALL, "C");
}

Test(jsonw, format_num_alone)
{
	char buf[JSONW_NUM_MAX];

	cr_assert_eq(jsonw_format_num(buf, 0.1), 3);
	cr_assert_str_eq(buf, "0.1");
	cr_assert_eq(jsonw_format_num(buf, NAN), 4);
	cr_assert_str_eq(buf, "null");
	jsonw_format_num(buf, -1.7976931348623157e308);
	cr_assert_str_eq(buf, "-1.7976931348623157e+308");
}

Test(jsonw, commas_and_nesting)
{
	struct strbuf sb = STRBUF_INIT;
	struct jsonw w;

	jsonw_init(&w, &sb, 0);
	jsonw_object_begin(&w);
	jsonw_member_str(&w, "id", "r1");
	jsonw_member_str(&w, "none", NULL);
	jsonw_member_int(&w, "n", -7);
	jsonw_member_bool(&w, "ok", 1);
	jsonw_member_num(&w, "rate", 0.75);
	jsonw_key(&w, "empty");
	jsonw_object_begin(&w);
	jsonw_object_end(&w);
	jsonw_key(&w, "list");
	jsonw_array_begin(&w);
	jsonw_int(&w, 1);
	jsonw_array_begin(&w);
	jsonw_array_end(&w);
	jsonw_object_begin(&w);
	jsonw_member_bool(&w, "f", 0);
	jsonw_object_end(&w);
	jsonw_null(&w);
	jsonw_raw(&w, "{\"x\":1}", 7);
	jsonw_array_end(&w);
	jsonw_object_end(&w);
	cr_assert_str_eq(sb.buf, "{\"id\":\"r1\",\"none\":null,\"n\":-7,\"ok\":true,\"rate\":0.75,"
			 "\"empty\":{},\"list\":[1,[],{\"f\":false},null,{\"x\":1}]}");
	strbuf_release(&sb);
}

Test(jsonw, newline_before_items_and_the_closing_bracket)
{
	struct strbuf sb = STRBUF_INIT;
	struct jsonw w;

	jsonw_init(&w, &sb, 0);
	jsonw_object_begin(&w);
	jsonw_member_int(&w, "a", 1);
	jsonw_newline(&w);
	jsonw_key(&w, "rows");
	jsonw_array_begin(&w);
	jsonw_newline(&w);
	jsonw_int(&w, 1);
	/* the buffer may be flushed between items: the state is the writer's */
	strbuf_addstr(&sb, "|");
	jsonw_newline(&w);
	jsonw_int(&w, 2);
	jsonw_newline(&w);
	jsonw_array_end(&w);
	jsonw_object_end(&w);
	cr_assert_str_eq(sb.buf, "{\"a\":1,\n\"rows\":[\n1|,\n2\n]}");
	strbuf_release(&sb);
}

Test(jsonw, pretty)
{
	struct strbuf sb = STRBUF_INIT;
	cJSON *v = cJSON_Parse("{\"name\":\"s\",\"tags\":[\"a\",\"b\"],\"params\":{},\"list\":[],"
			       "\"scorers\":[{\"type\":\"latency\",\"max_ms\":4000}]}");
	struct jsonw w;

	jsonw_init(&w, &sb, JSONW_PRETTY);
	jsonw_cjson(&w, v);
	cr_assert_str_eq(sb.buf, "{\n"
				 "  \"name\": \"s\",\n"
				 "  \"tags\": [\n"
				 "    \"a\",\n"
				 "    \"b\"\n"
				 "  ],\n"
				 "  \"params\": {},\n"
				 "  \"list\": [],\n"
				 "  \"scorers\": [\n"
				 "    {\n"
				 "      \"type\": \"latency\",\n"
				 "      \"max_ms\": 4000\n"
				 "    }\n"
				 "  ]\n"
				 "}");
	cJSON_Delete(v);
	strbuf_release(&sb);
}

Test(jsonw, cjson_values_in_document_order)
{
	cJSON *v = cJSON_Parse("{\"b\":[1,0.9,-2.5e-7,true,false,null,\"<b>\"],\"a\":{},\"c\":1e400}");
	char *o;

	cr_assert_not_null(v);
	o = jsonw_print(v, JSONW_SCRIPT);
	cr_assert_str_eq(o, "{\"b\":[1,0.9,-2.5e-07,true,false,null,\"\\u003cb\\u003e\"],\"a\":{},"
			 "\"c\":null}");
	free(o);
	o = jsonw_print(NULL, 0);
	cr_assert_str_eq(o, "null");
	free(o);
	cJSON_Delete(v);
}
