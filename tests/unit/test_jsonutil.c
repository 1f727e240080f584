/* jsonutil: parse errors with lines, duplicate keys, node lines, key checks, typed getters */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"
#include "jsonutil.h"
#include "jsonw.h"
#include "strbuf.h"
#include "trajectory.h"
#include "banned.h"

TestSuite(jsonutil, .init = th_stderr_start);

/* parse text that must fail; the message must contain want */
static void parse_fails(const char *file, int base, const char *text, size_t len, const char *want)
{
	struct jdoc d;
	const char *err;

	cr_assert_eq(jdoc_parse(&d, file, base, text, len), -1, "accepted: %s", text);
	cr_assert_null(d.root);
	err = th_stderr_take();
	cr_assert_not_null(strstr(err, want), "want '%s' in: %s", want, err);
	cr_assert_eq(strncmp(err, "evalgate: ", 10), 0, "%s", err);
	cr_assert_eq(strchr(err, '\n'), err + strlen(err) - 1, "one line only: %s", err);
}

static void parse_ok(struct jdoc *d, const char *text)
{
	cr_assert_eq(jdoc_parse(d, "t.json", 1, text, strlen(text)), 0, "%s", th_stderr_take());
	cr_assert_not_null(d->root);
}

Test(jsonutil, parses_and_keeps_the_text)
{
	struct jdoc d;
	const char *text = "  {\"a\": [1, 2], \"b\": \"x\"}\n\n";

	parse_ok(&d, text);
	cr_assert(cJSON_IsObject(d.root));
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(d.root, "a")), 2);
	cr_assert_eq(d.text, text);
	cr_assert_str_eq(d.file, "t.json");
	jdoc_release(&d);
	cr_assert_null(d.root);
	jdoc_release(&d); /* twice is harmless */
	cr_assert_str_eq(th_stderr_take(), "");
}

Test(jsonutil, syntax_error_names_its_line)
{
	const char *t = "{\n  \"a\": 1,\n  \"b\": tru,\n  \"c\": 3\n}\n";

	parse_fails("f.json", 1, t, strlen(t), "evalgate: f.json:3: invalid JSON near 'tru,'");
	t = "{\n  \"a\": 1,\n\n\n  \"b\" 2\n}";
	parse_fails("f.json", 1, t, strlen(t), "f.json:5: invalid JSON near");
}

Test(jsonutil, syntax_error_with_a_jsonl_line_base)
{
	const char *t = "{\"id\": \"x\", \"input\": }\n";

	parse_fails("cases.jsonl", 17, t, strlen(t), "evalgate: cases.jsonl:17: invalid JSON near '}'");
	/* a line base counts further newlines of the text from there */
	t = "\n{\"a\": ]}";
	parse_fails("cases.jsonl", 40, t, strlen(t), "cases.jsonl:41: invalid JSON near ']}'");
}

Test(jsonutil, unexpected_end)
{
	const char *t = "{\n\"a\": [1,\n2\n";

	parse_fails("f.json", 1, t, strlen(t), "f.json:3: invalid JSON: unexpected end of input");
	/* without a final newline the last token is quoted instead, on the same line */
	parse_fails("f.json", 1, t, strlen(t) - 1, "f.json:3: invalid JSON near '2'");
	parse_fails("f.json", 1, "", 0, "f.json:1: invalid JSON: unexpected end of input");
	parse_fails("f.json", 1, "  \n \n", 5, "f.json:2: invalid JSON: unexpected end of input");
}

Test(jsonutil, near_text_is_cut_at_twenty_bytes)
{
	const char *t = "{\"a\": xxxxxxxxxxyyyyyyyyyyzzzzzzzzzz}";

	parse_fails("f.json", 1, t, strlen(t), "near 'xxxxxxxxxxyyyyyyyyyy'\n");
}

Test(jsonutil, invalid_utf8_is_rejected_with_its_byte_and_line)
{
	/* { " a " : \n " \xff: the bad byte is at offset 7, byte 8 counting from 1 */
	const char *t = "{\"a\":\n\"\xff\"}";

	parse_fails("f.json", 1, t, strlen(t), "f.json:2: text is not valid UTF-8 (byte 8)");
	t = "{\"a\": \"\xed\xa0\x80\"}"; /* an encoded surrogate */
	parse_fails("c.jsonl", 9, t, strlen(t), "c.jsonl:9: text is not valid UTF-8 (byte 8)");
	t = "{\"a\": \"\xc0\xaf\"}"; /* overlong */
	parse_fails("f.json", 1, t, strlen(t), "not valid UTF-8 (byte 8)");
}

Test(jsonutil, nul_byte_is_rejected_with_its_byte_and_line)
{
	static const char t[] = "{\"a\":\n\n\"x\0y\"}";

	parse_fails("f.json", 1, t, sizeof(t) - 1, "f.json:3: text contains a NUL byte (byte 10)");
	parse_fails("f.json", 1, "\0{}", 3, "f.json:1: text contains a NUL byte (byte 1)");
	/* a NUL before a later bad byte: the NUL is reported, at its own line */
	parse_fails("f.json", 1, "[\n\"\0\n\xff\"]", 7, "f.json:2: text contains a NUL byte (byte 4)");
}

Test(jsonutil, trailing_text_is_rejected)
{
	const char *t = "{\"a\": 1}\n{\"b\": 2}\n";

	parse_fails("f.json", 1, t, strlen(t), "f.json:2: invalid JSON: unexpected text after the value");
	parse_fails("f.json", 1, "[1] x", 5, "f.json:1: invalid JSON: unexpected text after the value");
	parse_fails("f.json", 5, "\"s\"\n\n,", 6, "f.json:7: invalid JSON: unexpected text after the value");
}

Test(jsonutil, nul_escape_after_the_value_is_trailing_text)
{
	/* not NUL-terminated: the bytes after len must never be read */
	static const char t[] = "{}\n{}\\u0000kn{x";
	char *heap = malloc(sizeof(t) - 1);

	cr_assert_not_null(heap);
	memcpy(heap, t, sizeof(t) - 1);
	parse_fails("f.json", 1, heap, sizeof(t) - 1, "f.json:2: invalid JSON: unexpected text after the value");
	free(heap);
}

Test(jsonutil, nul_escape_in_an_unterminated_buffer_names_its_key)
{
	static const char t[] = "{\"a\": \"x\\u0000\"}";
	char *heap = malloc(sizeof(t) - 1);

	cr_assert_not_null(heap);
	memcpy(heap, t, sizeof(t) - 1);
	parse_fails("f.json", 1, heap, sizeof(t) - 1, "f.json:1: a: a NUL character");
	free(heap);
}

/* cJSON reads a \u with a bad hex digit as U+0000 and cuts the string there */
Test(jsonutil, a_bad_unicode_escape_is_a_nul_too)
{
	parse_fails("f.json", 1, "{\"a\": \"x\\u00zz hidden\"}", 23, "f.json:1: a: a NUL character");
	parse_fails("f.json", 1, "{\"a\": \"x\\useful\"}", 17, "f.json:1: a: a NUL character");
}

Test(jsonutil, trailing_whitespace_is_fine)
{
	struct jdoc d;

	parse_ok(&d, "{\"a\": 1}\r\n\t  \n");
	jdoc_release(&d);
	parse_ok(&d, "42");
	cr_assert(cJSON_IsNumber(d.root));
	jdoc_release(&d);
}

Test(jsonutil, duplicate_key_names_the_later_one)
{
	const char *t = "{\n  \"a\": 1,\n  \"b\": 2,\n  \"a\": 3\n}\n";

	parse_fails("f.json", 1, t, strlen(t), "evalgate: f.json:4: a: key given twice in one object");
	/* nested, and with the later key sorting before others */
	t = "{\"outer\": {\n\"z\": 1,\n\"m\": 2,\n\"z\": [3]\n}}";
	parse_fails("f.json", 1, t, strlen(t), "f.json:4: z: key given twice in one object");
	/* inside an array of objects, in a JSONL line */
	t = "{\"scorers\": [{\"type\": \"x\"}, {\"type\": \"y\", \"type\": \"z\"}]}";
	parse_fails("c.jsonl", 12, t, strlen(t), "c.jsonl:12: type: key given twice in one object");
}

Test(jsonutil, same_key_in_different_objects_is_fine)
{
	struct jdoc d;

	parse_ok(&d, "{\"a\": {\"x\": 1}, \"b\": {\"x\": 2}, \"c\": [{\"x\": 3}, {\"x\": 4}]}");
	jdoc_release(&d);
	cr_assert_str_eq(th_stderr_take(), "");
}

static const char nested_doc[] =
	"{\n"                                   /* 1 */
	"  \"a\": 1,\n"                         /* 2 */
	"  \"tricky\": \"}{\\\"[,\\n]\",\n"     /* 3: braces and escapes inside a string */
	"  \"o\": {\n"                          /* 4 */
	"    \"x\": [\n"                        /* 5 */
	"      10,\n"                           /* 6 */
	"      {\"deep\": true,\n"              /* 7 */
	"       \"deeper\": {\"k\": null}}\n"   /* 8 */
	"    ],\n"                              /* 9 */
	"    \"y\": \"s\"\n"                    /* 10 */
	"  },\n"                                /* 11 */
	"  \"arr\": [\n"                        /* 12 */
	"    \"first\",\n"                      /* 13 */
	"\n"                                    /* 14 */
	"    \"second\"\n"                      /* 15 */
	"  ]\n"                                 /* 16 */
	"}\n";

static void check_lines(int base)
{
	struct jdoc d;
	const cJSON *o, *x, *arr;

	cr_assert_eq(jdoc_parse(&d, "n.json", base, nested_doc, sizeof(nested_doc) - 1), 0);
	o = cJSON_GetObjectItem(d.root, "o");
	x = cJSON_GetObjectItem(o, "x");
	arr = cJSON_GetObjectItem(d.root, "arr");
	cr_assert_eq(jdoc_line(&d, d.root), base);
	cr_assert_eq(jdoc_line(&d, cJSON_GetObjectItem(d.root, "a")), base + 1);
	cr_assert_eq(jdoc_line(&d, cJSON_GetObjectItem(d.root, "tricky")), base + 2);
	cr_assert_eq(jdoc_line(&d, o), base + 3);
	cr_assert_eq(jdoc_line(&d, x), base + 4);
	cr_assert_eq(jdoc_line(&d, cJSON_GetArrayItem(x, 0)), base + 5);
	cr_assert_eq(jdoc_line(&d, cJSON_GetArrayItem(x, 1)), base + 6);
	cr_assert_eq(jdoc_line(&d, cJSON_GetObjectItem(cJSON_GetArrayItem(x, 1), "deep")), base + 6);
	cr_assert_eq(jdoc_line(&d, cJSON_GetObjectItem(cJSON_GetArrayItem(x, 1), "deeper")), base + 7);
	cr_assert_eq(jdoc_line(&d, cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(x, 1),
									     "deeper"), "k")),
		     base + 7);
	cr_assert_eq(jdoc_line(&d, cJSON_GetObjectItem(o, "y")), base + 9);
	cr_assert_eq(jdoc_line(&d, arr), base + 11);
	cr_assert_eq(jdoc_line(&d, cJSON_GetArrayItem(arr, 0)), base + 12);
	cr_assert_eq(jdoc_line(&d, cJSON_GetArrayItem(arr, 1)), base + 14);
	/* a node from another tree, and NULL, give the base line */
	{
		cJSON *other = cJSON_CreateNumber(1);
		cr_assert_eq(jdoc_line(&d, other), base);
		cr_assert_eq(jdoc_line(&d, NULL), base);
		cJSON_Delete(other);
	}
	jdoc_release(&d);
}

Test(jsonutil, line_of_nested_members)
{
	check_lines(1);
}

Test(jsonutil, line_of_nested_members_with_a_line_base)
{
	check_lines(100);
}

Test(jsonutil, jdoc_error_formats_file_line_field)
{
	struct jdoc d;
	const char *t = "{\n\"a\": {\n\"b\": 5}}";

	cr_assert_eq(jdoc_parse(&d, "e.json", 1, t, strlen(t)), 0);
	cr_assert_eq(jdoc_error(&d, cJSON_GetObjectItem(cJSON_GetObjectItem(d.root, "a"), "b"),
				"a.b", "bad value %d", 5), -1);
	cr_assert_str_eq(th_stderr_take(), "evalgate: e.json:3: a.b: bad value 5\n");
	cr_assert_eq(jdoc_error(&d, d.root, NULL, "whole"), -1);
	cr_assert_str_eq(th_stderr_take(), "evalgate: e.json:1: whole\n");
	jdoc_release(&d);
}

static const char *const allowed[] = { "name", "version", NULL };

Test(jsonutil, check_keys)
{
	struct jdoc d;
	const char *t = "{\"name\": 1,\n\"version\": 2}";

	cr_assert_eq(jdoc_parse(&d, "k.json", 1, t, strlen(t)), 0);
	cr_assert_eq(jdoc_check_keys(&d, d.root, "target.", allowed), 0);
	cr_assert_str_eq(th_stderr_take(), "");
	jdoc_release(&d);

	t = "{\"name\": 1,\n\"version\": 2,\n\"Name\": 3,\n\"extra\": 4}";
	cr_assert_eq(jdoc_parse(&d, "k.json", 1, t, strlen(t)), 0);
	cr_assert_eq(jdoc_check_keys(&d, d.root, "target.", allowed), -1);
	/* keys are case-sensitive; the first unknown one is reported */
	cr_assert_str_eq(th_stderr_take(), "evalgate: k.json:3: target.Name: unknown field\n");
	cr_assert_eq(jdoc_check_keys(&d, d.root, NULL, allowed), -1);
	cr_assert_str_eq(th_stderr_take(), "evalgate: k.json:3: Name: unknown field\n");
	jdoc_release(&d);
}

static const char getter_doc[] =
	"{\n"                        /* 1 */
	"  \"s\": \"str\",\n"        /* 2 */
	"  \"n\": 2.5,\n"            /* 3 */
	"  \"b\": true,\n"           /* 4 */
	"  \"f\": false,\n"          /* 5 */
	"  \"arr\": [\"x\", \"y\"],\n" /* 6 */
	"  \"mixed\": [\"x\",\n"     /* 7 */
	"     3],\n"                 /* 8 */
	"  \"num_as_str\": \"5\",\n" /* 9 */
	"  \"nul\": null\n"          /* 10 */
	"}\n";

static void getter_doc_parse(struct jdoc *d)
{
	cr_assert_eq(jdoc_parse(d, "g.json", 1, getter_doc, sizeof(getter_doc) - 1), 0);
}

Test(jsonutil, string_getter)
{
	struct jdoc d;
	const char *s = "untouched";

	getter_doc_parse(&d);
	cr_assert_eq(jdoc_string(&d, d.root, "p.", "s", 1, &s), 0);
	cr_assert_str_eq(s, "str");
	s = "untouched";
	cr_assert_eq(jdoc_string(&d, d.root, "p.", "absent", 0, &s), 0);
	cr_assert_str_eq(s, "untouched", "an absent optional leaves *out");
	cr_assert_str_eq(th_stderr_take(), "");
	cr_assert_eq(jdoc_string(&d, d.root, "p.", "absent", 1, &s), -1);
	cr_assert_str_eq(th_stderr_take(), "evalgate: g.json:1: p.absent: missing (a string is required)\n");
	cr_assert_eq(jdoc_string(&d, d.root, "p.", "n", 0, &s), -1);
	cr_assert_str_eq(th_stderr_take(), "evalgate: g.json:3: p.n: expected a string\n");
	cr_assert_eq(jdoc_string(&d, d.root, "", "nul", 0, &s), -1);
	cr_assert_str_eq(th_stderr_take(), "evalgate: g.json:10: nul: expected a string\n");
	cr_assert_str_eq(s, "untouched");
	jdoc_release(&d);
}

Test(jsonutil, number_getter)
{
	struct jdoc d;
	double v = -7;

	getter_doc_parse(&d);
	cr_assert_eq(jdoc_number(&d, d.root, "p.", "n", 1, 0, 10, &v), 0);
	cr_assert_float_eq(v, 2.5, 1e-12);
	v = -7;
	cr_assert_eq(jdoc_number(&d, d.root, "p.", "absent", 0, 0, 10, &v), 0);
	cr_assert_float_eq(v, -7, 1e-12);
	/* the bounds are inclusive */
	cr_assert_eq(jdoc_number(&d, d.root, "p.", "n", 1, 2.5, 2.5, &v), 0);
	cr_assert_str_eq(th_stderr_take(), "");
	v = -7;
	cr_assert_eq(jdoc_number(&d, d.root, "p.", "absent", 1, 0, 10, &v), -1);
	cr_assert_str_eq(th_stderr_take(), "evalgate: g.json:1: p.absent: missing (a number is required)\n");
	cr_assert_eq(jdoc_number(&d, d.root, "p.", "num_as_str", 1, 0, 10, &v), -1);
	cr_assert_str_eq(th_stderr_take(), "evalgate: g.json:9: p.num_as_str: expected a number\n");
	cr_assert_eq(jdoc_number(&d, d.root, "p.", "n", 1, 3, 10, &v), -1);
	cr_assert_str_eq(th_stderr_take(), "evalgate: g.json:3: p.n: 2.5 is out of range [3, 10]\n");
	cr_assert_eq(jdoc_number(&d, d.root, "p.", "n", 1, 0, 1, &v), -1);
	cr_assert_str_eq(th_stderr_take(), "evalgate: g.json:3: p.n: 2.5 is out of range [0, 1]\n");
	cr_assert_float_eq(v, -7, 1e-12, "*out is left on error");
	jdoc_release(&d);
}

Test(jsonutil, bool_getter)
{
	struct jdoc d;
	int b = 7;

	getter_doc_parse(&d);
	cr_assert_eq(jdoc_bool(&d, d.root, "p.", "b", &b), 0);
	cr_assert_eq(b, 1);
	cr_assert_eq(jdoc_bool(&d, d.root, "p.", "f", &b), 0);
	cr_assert_eq(b, 0);
	b = 7;
	cr_assert_eq(jdoc_bool(&d, d.root, "p.", "absent", &b), 0);
	cr_assert_eq(b, 7);
	cr_assert_str_eq(th_stderr_take(), "");
	cr_assert_eq(jdoc_bool(&d, d.root, "p.", "s", &b), -1);
	cr_assert_str_eq(th_stderr_take(), "evalgate: g.json:2: p.s: expected true or false\n");
	cr_assert_eq(jdoc_bool(&d, d.root, "p.", "n", &b), -1);
	cr_assert_str_eq(th_stderr_take(), "evalgate: g.json:3: p.n: expected true or false\n");
	cr_assert_eq(b, 7);
	jdoc_release(&d);
}

Test(jsonutil, string_array_getter)
{
	struct jdoc d;
	const char **v = (const char **)1;
	size_t n = 99;

	getter_doc_parse(&d);
	cr_assert_eq(jdoc_string_array(&d, d.root, "p.", "arr", &v, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(v[0], "x");
	cr_assert_str_eq(v[1], "y");
	cr_assert_null(v[2], "NULL-terminated");
	free(v);
	cr_assert_eq(jdoc_string_array(&d, d.root, "p.", "absent", &v, &n), 0);
	cr_assert_null(v);
	cr_assert_eq(n, 0);
	cr_assert_str_eq(th_stderr_take(), "");
	cr_assert_eq(jdoc_string_array(&d, d.root, "p.", "s", &v, &n), -1);
	cr_assert_str_eq(th_stderr_take(), "evalgate: g.json:2: p.s: expected an array of strings\n");
	/* the bad element is named at its own line */
	cr_assert_eq(jdoc_string_array(&d, d.root, "p.", "mixed", &v, &n), -1);
	cr_assert_str_eq(th_stderr_take(), "evalgate: g.json:8: p.mixed: expected an array of strings\n");
	cr_assert_null(v);
	cr_assert_eq(n, 0);
	jdoc_release(&d);
}

static void file_setup(void)
{
	th_tmpdir_setup();
	th_stderr_start();
}

Test(jsonutil_file, read_file_limits_and_errors, .init = file_setup, .fini = th_tmpdir_teardown)
{
	struct strbuf sb = STRBUF_INIT;
	char path[128];
	FILE *fp;
	const char *err;

	snprintf(path, sizeof(path), "%s", th_path("f.json"));
	fp = fopen(path, "wb");
	cr_assert_not_null(fp);
	fwrite("0123456789", 1, 10, fp);
	fclose(fp);

	cr_assert_eq(read_file(path, &sb, 0), 0);
	cr_assert_eq(sb.len, 10);
	cr_assert_str_eq(sb.buf, "0123456789");
	strbuf_reset(&sb);
	cr_assert_eq(read_file(path, &sb, 10), 0, "a file of exactly max bytes is read");
	strbuf_reset(&sb);
	cr_assert_eq(read_file(path, &sb, 9), -1);
	err = th_stderr_take();
	cr_assert_not_null(strstr(err, "f.json: larger than 9 bytes"), "%s", err);

	snprintf(path, sizeof(path), "%s", th_path("missing.json"));
	cr_assert_eq(read_file(path, &sb, 0), -1);
	err = th_stderr_take();
	cr_assert_not_null(strstr(err, "missing.json: cannot open: No such file"), "%s", err);
	strbuf_release(&sb);
}

/* the bytes of the string at member key of text's top object */
static size_t bytes_of(const char *text, const char *key, struct strbuf *out)
{
	cJSON *root = cJSON_ParseWithLength(text, strlen(text));

	cr_assert_not_null(root, "%s", text);
	strbuf_reset(out);
	json_string_bytes(out, text, strlen(text), root, cJSON_GetObjectItemCaseSensitive(root, key));
	cJSON_Delete(root);
	return out->len;
}

Test(jsonutil, string_bytes_keep_a_nul_and_what_follows)
{
	struct strbuf sb = STRBUF_INIT;
	static const char want[] = "I cannot.\0 The secret \"q\" \\ /\n\t\b\f\r \xc3\xa9\xf0\x9f\x98\x80\0";

	cr_expect(json_text_has_nul("\"a\\u0000\"", 9));
	cr_expect(!json_text_has_nul("\"a\\\\u0000\"", 10), "an escaped backslash, then u0000");
	cr_assert_eq(bytes_of("{\"a\": 1, \"x\": \"I cannot.\\u0000 The secret \\\"q\\\" \\\\ \\/"
			      "\\n\\t\\b\\f\\r \\u00e9\\ud83d\\ude00\\u0000\"}", "x", &sb),
		     sizeof(want) - 1);
	cr_expect_eq(memcmp(sb.buf, want, sizeof(want) - 1), 0);
	/* nested, after other members holding NULs and brackets in strings */
	cr_assert_eq(bytes_of("{\"k\\u0000\": \"[{\", \"v\": [\"\\u0000\", {\"y\": \"}]\"}],"
			      " \"x\": \"a\\u0000b\"}", "x", &sb), 3);
	cr_expect_eq(memcmp(sb.buf, "a\0b", 3), 0);
	/* the first of two equal keys, as cJSON reads it */
	cr_assert_eq(bytes_of("{\"x\": \"1\\u00002\", \"x\": \"3\\u00004\"}", "x", &sb), 3);
	cr_expect_eq(memcmp(sb.buf, "1\0" "2", 3), 0);
	/* no \u0000 in the text: the tree's string; a byte order mark before the value */
	cr_assert_eq(bytes_of("{\"x\": \"plain \\u00e9\"}", "x", &sb), 8);
	cr_expect_str_eq(sb.buf, "plain \xc3\xa9");
	cr_assert_eq(bytes_of("\xef\xbb\xbf{\"y\": \"\\u0000\", \"x\": \"p\\u0000q\"}", "x", &sb), 3);
	cr_expect_eq(memcmp(sb.buf, "p\0q", 3), 0);
	/* a \u with a bad hex digit is a NUL to cJSON too: what follows it is kept */
	cr_expect(json_text_has_nul("\"a\\u00zzb\"", 10));
	cr_assert_eq(bytes_of("{\"x\": \"a\\u00zzb\"}", "x", &sb), 3);
	cr_expect_eq(memcmp(sb.buf, "a\0b", 3), 0);
	/* a raw NUL byte in a string (not JSON, but cJSON takes it): kept with what follows */
	{
		static const char raw[] = "{\"x\": \"a\0b\"}";
		cJSON *root = cJSON_ParseWithLength(raw, sizeof(raw) - 1);

		cr_assert_not_null(root);
		cr_expect(json_text_has_nul(raw, sizeof(raw) - 1));
		strbuf_reset(&sb);
		json_string_bytes(&sb, raw, sizeof(raw) - 1, root,
				  cJSON_GetObjectItemCaseSensitive(root, "x"));
		cr_expect_eq(sb.len, 3);
		cr_expect_eq(memcmp(sb.buf, "a\0b", 3), 0);
		cJSON_Delete(root);
	}
	/* not a string: nothing */
	cr_expect_eq(bytes_of("{\"x\": 1, \"y\": \"\\u0000\"}", "x", &sb), 0);
	strbuf_release(&sb);
}

Test(jsonutil, print_bytes_writes_a_tree_with_its_strings_nuls)
{
	static const char text[] =
		"{\"a\": \"x\\u0000y\", \"b\": [1, \"p\\u0000q\", {\"c\": null}], \"d\": true}";
	cJSON *root = cJSON_Parse(text), *b;
	char *out;

	cr_assert_not_null(root);
	out = json_print_bytes(text, strlen(text), root, root);
	cr_expect_str_eq(out, "{\"a\":\"x\\u0000y\",\"b\":[1,\"p\\u0000q\",{\"c\":null}],\"d\":true}");
	free(out);
	/* a node inside, and an element added at the end of an array after the parse */
	b = cJSON_GetObjectItemCaseSensitive(root, "b");
	cJSON_AddItemToArray(b, cJSON_CreateString("z"));
	out = json_print_bytes(text, strlen(text), root, b);
	cr_expect_str_eq(out, "[1,\"p\\u0000q\",{\"c\":null},\"z\"]");
	free(out);
	cJSON_Delete(root);
	/* without a NUL in the text: as jsonw writes the tree */
	root = cJSON_Parse("{\"a\": \"\\u00e9\", \"n\": 0.1}");
	out = json_print_bytes("{\"a\": \"\\u00e9\", \"n\": 0.1}", 24, root, root);
	cr_expect_str_eq(out, "{\"a\":\"\xc3\xa9\",\"n\":0.1}");
	free(out);
	cJSON_Delete(root);
}

Test(trajectory, print_writes_each_steps_content_from_its_bytes)
{
	cJSON *traj = cJSON_Parse("[{\"step\": 1, \"content\": \"I will\", \"tool_calls\": "
				  "[{\"name\": \"f\"}]}, {\"step\": 2, \"content\": \"done\"}]");
	struct strbuf c[2] = { STRBUF_INIT, STRBUF_INIT };
	char *out;

	cr_assert_not_null(traj);
	strbuf_add(&c[0], "I will\0 secret", 14);
	strbuf_addstr(&c[1], "done");
	out = trajectory_print(traj, c, 2, NULL, 0);
	cr_expect_str_eq(out, "[{\"step\":1,\"content\":\"I will\\u0000 secret\",\"tool_calls\":"
			      "[{\"name\":\"f\"}]},{\"step\":2,\"content\":\"done\"}]");
	free(out);
	/* steps past n are written from the tree */
	out = trajectory_print(traj, c, 1, NULL, 0);
	cr_expect_str_eq(out, "[{\"step\":1,\"content\":\"I will\\u0000 secret\",\"tool_calls\":"
			      "[{\"name\":\"f\"}]},{\"step\":2,\"content\":\"done\"}]");
	free(out);
	strbuf_release(&c[0]);
	strbuf_release(&c[1]);
	cJSON_Delete(traj);
}

Test(trajectory, print_writes_each_calls_result_from_its_bytes)
{
	cJSON *traj = cJSON_Parse("[{\"step\": 1, \"content\": \"a\", \"tool_calls\": "
				  "[{\"name\": \"f\", \"result\": \"R1\"}, {\"name\": \"g\"}, "
				  "{\"name\": \"h\", \"result\": \"R3\"}]}, {\"step\": 2, "
				  "\"content\": \"b\", \"tool_calls\": [{\"name\": \"f\", "
				  "\"result\": \"R4\"}]}]");
	struct strbuf c[2] = { STRBUF_INIT, STRBUF_INIT }, r[2] = { STRBUF_INIT, STRBUF_INIT };
	char *out;

	cr_assert_not_null(traj);
	strbuf_addstr(&c[0], "a");
	strbuf_addstr(&c[1], "b");
	strbuf_add(&r[0], "R1\0 x", 5);
	strbuf_add(&r[1], "R3\0 y", 5);
	/* results in order over the steps' calls that have one; past n_results from the tree */
	out = trajectory_print(traj, c, 2, r, 2);
	cr_expect_str_eq(out, "[{\"step\":1,\"content\":\"a\",\"tool_calls\":[{\"name\":\"f\","
			      "\"result\":\"R1\\u0000 x\"},{\"name\":\"g\"},{\"name\":\"h\","
			      "\"result\":\"R3\\u0000 y\"}]},{\"step\":2,\"content\":\"b\","
			      "\"tool_calls\":[{\"name\":\"f\",\"result\":\"R4\"}]}]");
	free(out);
	strbuf_release(&c[0]);
	strbuf_release(&c[1]);
	strbuf_release(&r[0]);
	strbuf_release(&r[1]);
	cJSON_Delete(traj);
}

Test(trajectory, text_shows_a_steps_nul_and_what_follows)
{
	static const char reply[] =
		"{\"trajectory\": [{\"step\": 1, \"content\": \"look.\\u0000 CANARY\", "
		"\"finish_reason\": \"tool_calls\", \"tool_calls\": [{\"name\": \"f\", "
		"\"arguments\": \"{}\", \"result\": \"R\\u0000S\"}]}, "
		"{\"step\": 2, \"content\": \"\\u0000\"}, {\"step\": 3, \"content\": \"\"}]}";
	struct strbuf sb = STRBUF_INIT;
	cJSON *root = cJSON_Parse(reply);

	cr_expect_eq(trajectory_text_stored(&sb, reply), 3);
	cr_expect_str_eq(sb.buf, "step 1 (tool_calls): look.\\x00 CANARY\n"
				 "  call f({}) -> R\\x00S\n"
				 "step 2: \\x00\n"
				 "step 3\n");
	/* the tree alone ends a string at its NUL */
	strbuf_reset(&sb);
	cr_expect_eq(trajectory_text(&sb, cJSON_GetObjectItemCaseSensitive(root, "trajectory")), 3);
	cr_expect_str_eq(sb.buf, "step 1 (tool_calls): look.\n  call f({}) -> R\nstep 2\nstep 3\n");
	strbuf_release(&sb);
	cJSON_Delete(root);
}
