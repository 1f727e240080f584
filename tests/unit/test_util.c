/* the utility layer: strbuf, xgrow, sha256 (FIPS 180-4 vectors), utf8 validation, error codes */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "rng.h"
#include "sha256.h"
#include "strbuf.h"
#include "utf8.h"
#include "xalloc.h"
#include "banned.h"

/* ------------------------------------------------------------------ strbuf */

Test(strbuf, init_is_empty_and_never_null)
{
	struct strbuf sb = STRBUF_INIT;
	struct strbuf sb2;

	cr_assert_not_null(sb.buf);
	cr_assert_eq(sb.len, 0);
	cr_assert_eq(sb.alloc, 0);
	cr_assert_str_eq(sb.buf, "");

	strbuf_init(&sb2, 100);
	cr_assert_eq(sb2.len, 0);
	cr_assert_geq(sb2.alloc, 101);
	cr_assert_str_eq(sb2.buf, "");
	strbuf_release(&sb2);
	cr_assert_eq(sb2.alloc, 0);
	cr_assert_str_eq(sb2.buf, "");
}

Test(strbuf, appends_keep_nul_termination_and_embedded_nuls)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, "abc");
	strbuf_addch(&sb, 'd');
	strbuf_add(&sb, "e\0f", 3);
	cr_assert_eq(sb.len, 7);
	cr_assert_eq(memcmp(sb.buf, "abcde\0f", 8), 0); /* including the final NUL */
	cr_assert_eq(sb.buf[sb.len], '\0');
	strbuf_addf(&sb, "-%d-%s", 42, "x");
	cr_assert_eq(sb.len, 12);
	cr_assert_eq(memcmp(sb.buf + 7, "-42-x", 6), 0);
	strbuf_release(&sb);
}

Test(strbuf, addf_longer_than_the_stack_buffer)
{
	struct strbuf sb = STRBUF_INIT;
	char big[1001];
	size_t i;

	memset(big, 'x', 1000);
	big[1000] = '\0';
	strbuf_addstr(&sb, "<");
	strbuf_addf(&sb, "%s|%d", big, 7);
	cr_assert_eq(sb.len, 1 + 1000 + 2);
	cr_assert_eq(sb.buf[0], '<');
	for (i = 1; i <= 1000; i++)
		cr_assert_eq(sb.buf[i], 'x', "byte %zu", i);
	cr_assert_str_eq(sb.buf + 1001, "|7");
	cr_assert_eq(strlen(sb.buf), sb.len);
	strbuf_release(&sb);
}

Test(strbuf, grow_and_reset)
{
	struct strbuf sb = STRBUF_INIT;
	size_t alloc;

	strbuf_grow(&sb, 1000);
	cr_assert_geq(sb.alloc, 1001);
	alloc = sb.alloc;
	strbuf_addstr(&sb, "hello");
	cr_assert_eq(sb.alloc, alloc, "no reallocation within the grown size");
	strbuf_reset(&sb);
	cr_assert_eq(sb.len, 0);
	cr_assert_str_eq(sb.buf, "");
	cr_assert_eq(sb.alloc, alloc, "reset keeps the storage");
	/* many appends: always terminated, length exact */
	for (int i = 0; i < 5000; i++)
		strbuf_addch(&sb, 'a' + i % 26);
	cr_assert_eq(sb.len, 5000);
	cr_assert_eq(strlen(sb.buf), 5000);
	cr_assert_eq(sb.buf[4999], 'a' + 4999 % 26);
	strbuf_release(&sb);
}

Test(strbuf, detach_gives_ownership_and_empties)
{
	struct strbuf sb = STRBUF_INIT;
	size_t len = 99;
	char *p;

	p = strbuf_detach(&sb, &len);
	cr_assert_not_null(p);
	cr_assert_str_eq(p, "");
	cr_assert_eq(len, 0);
	cr_assert_neq(p, strbuf_empty, "the empty detach is a fresh allocation");
	free(p);

	strbuf_addstr(&sb, "owned");
	p = strbuf_detach(&sb, &len);
	cr_assert_str_eq(p, "owned");
	cr_assert_eq(len, 5);
	cr_assert_eq(sb.len, 0);
	cr_assert_eq(sb.alloc, 0);
	cr_assert_str_eq(sb.buf, "");
	/* the strbuf is usable again and does not share p */
	strbuf_addstr(&sb, "again");
	cr_assert_str_eq(p, "owned");
	cr_assert_str_eq(sb.buf, "again");
	free(p);
	strbuf_release(&sb);
}

Test(strbuf, max_refuses_growth_and_overflow_is_sticky)
{
	struct strbuf sb = STRBUF_INIT;
	char big[600];

	sb.max = 8;
	strbuf_addstr(&sb, "12345");
	strbuf_addstr(&sb, "678");
	cr_assert_eq(sb.len, 8, "exactly max fits");
	cr_assert_eq(sb.overflow, 0);
	strbuf_addch(&sb, '9');
	cr_assert_eq(sb.overflow, 1);
	cr_assert_eq(sb.len, 8, "the refused append is dropped whole");
	cr_assert_str_eq(sb.buf, "12345678");
	strbuf_reset(&sb);
	cr_assert_eq(sb.overflow, 0);

	/* a refused append does not stop later ones that fit, the flag stays */
	strbuf_addstr(&sb, "abcdefghij");
	cr_assert_eq(sb.overflow, 1);
	cr_assert_eq(sb.len, 0);
	strbuf_addstr(&sb, "ab");
	cr_assert_str_eq(sb.buf, "ab");
	cr_assert_eq(sb.overflow, 1);

	/* both paths of addf respect max: short and longer than the stack buffer */
	strbuf_reset(&sb);
	strbuf_addf(&sb, "%s", "123456789");
	cr_assert_eq(sb.overflow, 1);
	cr_assert_eq(sb.len, 0);
	strbuf_reset(&sb);
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	strbuf_addf(&sb, "%s", big);
	cr_assert_eq(sb.overflow, 1);
	cr_assert_eq(sb.len, 0);

	/* release keeps the limit */
	strbuf_release(&sb);
	cr_assert_eq(sb.max, 8);
	strbuf_addstr(&sb, "123456789");
	cr_assert_eq(sb.overflow, 1);
	strbuf_release(&sb);
}

/* ------------------------------------------------------------------ xalloc */

Test(xalloc, xgrow_grows_only_when_needed_and_keeps_contents)
{
	int *arr = NULL;
	size_t alloc = 0, i, prev;

	xgrow(&arr, sizeof(*arr), 0, &alloc);
	cr_assert_null(arr, "no need, no allocation");
	cr_assert_eq(alloc, 0);

	XGROW(arr, 1, alloc);
	cr_assert_not_null(arr);
	cr_assert_geq(alloc, 1);
	for (i = 0; i < 10000; i++) {
		XGROW(arr, i + 1, alloc);
		cr_assert_geq(alloc, i + 1);
		arr[i] = (int)i * 3;
	}
	for (i = 0; i < 10000; i++)
		cr_assert_eq(arr[i], (int)i * 3, "element %zu", i);

	prev = alloc;
	XGROW(arr, prev, alloc);
	cr_assert_eq(alloc, prev, "need == alloc does not grow");
	XGROW(arr, 5, alloc);
	cr_assert_eq(alloc, prev, "never shrinks");

	/* one big jump straight to the need */
	XGROW(arr, prev * 10, alloc);
	cr_assert_geq(alloc, prev * 10);
	arr[prev * 10 - 1] = 7;
	cr_assert_eq(arr[9999], 9999 * 3);
	free(arr);
}

Test(xalloc, xgrow_element_size)
{
	struct big { char b[100]; } *arr = NULL;
	size_t alloc = 0;

	XGROW(arr, 3, alloc);
	cr_assert_geq(alloc, 3);
	memset(arr, 0xab, alloc * sizeof(*arr)); /* ASan checks the size really is alloc * elt */
	free(arr);
}

Test(xalloc, dup_functions)
{
	char *a = xstrdup("hello"), *b = xstrndup("hello", 3), *c = xmalloc(0), *d = xcalloc(4, 8);
	size_t i;

	cr_assert_str_eq(a, "hello");
	cr_assert_str_eq(b, "hel");
	cr_assert_not_null(c, "xmalloc(0) still returns a pointer");
	for (i = 0; i < 32; i++)
		cr_assert_eq(d[i], 0);
	free(a);
	free(b);
	free(c);
	free(d);
}

/* ------------------------------------------------------------------ sha256 */

static void check_hex(const char *msg, size_t len, const char *want)
{
	char hex[65];

	sha256_hex(msg, len, hex);
	cr_assert_str_eq(hex, want, "length %zu", len);
}

Test(sha256, fips_180_vectors)
{
	check_hex("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	check_hex("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	check_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	check_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
		  112, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

/* padding boundaries: 55 bytes fit one block with the length, 56 need two */
Test(sha256, padding_boundaries)
{
	static const struct {
		size_t n;
		const char *hex;
	} v[] = {
		{ 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318" },
		{ 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a" },
		{ 63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34" },
		{ 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb" },
		{ 65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0" },
		{ 119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb" },
		{ 128, "6836cf13bac400e9105071cd6af47084dfacad4e5e302c94bfed24e013afb73e" },
	};
	char a[128];
	size_t i;

	memset(a, 'a', sizeof(a));
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		check_hex(a, v[i].n, v[i].hex);
}

Test(sha256, one_million_a_streamed_in_odd_chunks)
{
	static const size_t chunks[] = { 1, 3, 7, 13, 55, 56, 63, 64, 65, 127, 1000, 4099 };
	struct sha256 c;
	unsigned char dig[32];
	char hex[65], *buf;
	size_t done = 0, k = 0;

	buf = xmalloc(4099);
	memset(buf, 'a', 4099);
	sha256_init(&c);
	while (done < 1000000) {
		size_t n = chunks[k++ % (sizeof(chunks) / sizeof(chunks[0]))];
		if (n > 1000000 - done)
			n = 1000000 - done;
		sha256_update(&c, buf, n);
		done += n;
	}
	sha256_final(&c, dig);
	sha256_to_hex(dig, hex);
	cr_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(buf);
}

/* the CPU's SHA instructions (where it has them) and the portable rounds agree */
Test(sha256, accelerated_and_portable_agree)
{
	unsigned char buf[1100];
	char fast[65], slow[65];
	uint32_t x = 2463534242u;
	size_t i, n;

	for (i = 0; i < sizeof(buf); i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (unsigned char)x;
	}
	for (n = 0; n <= sizeof(buf); n += n < 200 ? 1 : 97) {
		sha256_portable(0);
		sha256_hex(buf, n, fast);
		sha256_portable(1);
		sha256_hex(buf, n, slow);
		sha256_portable(0);
		cr_assert_str_eq(fast, slow, "length %zu", n);
	}
	/* the portable rounds still give the FIPS 180-4 digests */
	sha256_portable(1);
	sha256_hex("abc", 3, slow);
	sha256_portable(0);
	cr_assert_str_eq(slow, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

Test(sha256, zero_length_updates_and_raw_digest)
{
	static const unsigned char abc[32] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae,
		0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61,
		0xf2, 0x00, 0x15, 0xad,
	};
	struct sha256 c;
	unsigned char dig[32];

	sha256_init(&c);
	sha256_update(&c, "", 0);
	sha256_update(&c, "a", 1);
	sha256_update(&c, "", 0);
	sha256_update(&c, "bc", 2);
	sha256_final(&c, dig);
	cr_assert_eq(memcmp(dig, abc, 32), 0);
}

/* ------------------------------------------------------------------ utf8 */

struct utf8_case {
	const char *s;
	size_t len;
	size_t prefix;  /* expected utf8_valid_prefix */
	const char *what;
};

#define U(s, p, w) { s, sizeof(s) - 1, p, w }

static const struct utf8_case utf8_cases[] = {
	/* valid, at the edges of each length */
	U("a", 1, "ascii"),
	U("\x7f", 1, "DEL"),
	U("\xc2\x80", 2, "U+0080"),
	U("\xdf\xbf", 2, "U+07FF"),
	U("\xe0\xa0\x80", 3, "U+0800"),
	U("\xed\x9f\xbf", 3, "U+D7FF"),
	U("\xee\x80\x80", 3, "U+E000"),
	U("\xef\xbf\xbf", 3, "U+FFFF"),
	U("\xf0\x90\x80\x80", 4, "U+10000"),
	U("\xf4\x8f\xbf\xbf", 4, "U+10FFFF"),
	U("\xc3\xa9xyz", 2, "prefix only"),
	/* overlong forms */
	U("\xc0\x80", 0, "overlong NUL"),
	U("\xc0\xaf", 0, "overlong /"),
	U("\xc1\xbf", 0, "overlong U+007F"),
	U("\xe0\x80\x80", 0, "overlong 3-byte NUL"),
	U("\xe0\x9f\xbf", 0, "overlong U+07FF"),
	U("\xf0\x80\x80\x80", 0, "overlong 4-byte NUL"),
	U("\xf0\x8f\xbf\xbf", 0, "overlong U+FFFF"),
	/* surrogates */
	U("\xed\xa0\x80", 0, "U+D800"),
	U("\xed\xaf\xbf", 0, "U+DBFF"),
	U("\xed\xb0\x80", 0, "U+DC00"),
	U("\xed\xbf\xbf", 0, "U+DFFF"),
	/* beyond U+10FFFF */
	U("\xf4\x90\x80\x80", 0, "U+110000"),
	U("\xf5\x80\x80\x80", 0, "lead F5"),
	U("\xf7\xbf\xbf\xbf", 0, "U+1FFFFF"),
	U("\xf8\x88\x80\x80\x80", 0, "5-byte form"),
	U("\xfc\x84\x80\x80\x80\x80", 0, "6-byte form"),
	U("\xfe", 0, "FE"),
	U("\xff", 0, "FF"),
	/* lone continuation bytes */
	U("\x80", 0, "lone 80"),
	U("\xbf", 0, "lone BF"),
	/* truncated sequences */
	U("\xc3", 0, "2-byte, 1 given"),
	U("\xe2\x82", 0, "3-byte, 2 given"),
	U("\xe2", 0, "3-byte, 1 given"),
	U("\xf0\x9f\x98", 0, "4-byte, 3 given"),
	U("\xf0\x9f", 0, "4-byte, 2 given"),
	/* bad continuation */
	U("\xc3\x28", 0, "2-byte, ASCII second"),
	U("\xc3\xc3\xa9", 0, "2-byte, lead as second"),
	U("\xe2\x28\xa1", 0, "3-byte, bad second"),
	U("\xe2\x82\x28", 0, "3-byte, bad third"),
	U("\xf0\x28\x8c\xbc", 0, "4-byte, bad second"),
	U("\xf0\x90\x28\xbc", 0, "4-byte, bad third"),
	U("\xf0\x90\x8c\x28", 0, "4-byte, bad fourth"),
};

Test(utf8, valid_prefix_table)
{
	size_t i;

	for (i = 0; i < sizeof(utf8_cases) / sizeof(utf8_cases[0]); i++) {
		const struct utf8_case *t = &utf8_cases[i];
		size_t bad = 12345;
		int ok;

		cr_assert_eq(utf8_valid_prefix(t->s, t->len), t->prefix, "%s", t->what);
		ok = utf8_valid(t->s, t->len, &bad);
		if (t->prefix == t->len) {
			cr_assert_eq(ok, 1, "%s", t->what);
		} else if (!t->prefix) {
			cr_assert_eq(ok, 0, "%s", t->what);
			cr_assert_eq(bad, 0, "%s", t->what);
		}
	}
}

Test(utf8, valid_prefix_respects_len)
{
	/* a valid sequence cut by len is invalid */
	cr_assert_eq(utf8_valid_prefix("\xc3\xa9", 1), 0);
	cr_assert_eq(utf8_valid_prefix("\xe2\x82\xac", 2), 0);
	cr_assert_eq(utf8_valid_prefix("\xf0\x9f\x98\x80", 3), 0);
	cr_assert_eq(utf8_valid_prefix("a", 0), 0);
	cr_assert_eq(utf8_valid("\xe2\x82\xac", 2, NULL), 0);
	cr_assert_eq(utf8_valid("\xe2\x82\xac", 3, NULL), 1);
}

Test(utf8, valid_reports_first_bad_offset)
{
	size_t bad = 0;

	cr_assert_eq(utf8_valid("", 0, &bad), 1);
	cr_assert_eq(utf8_valid("plain ascii\n", 12, NULL), 1);
	cr_assert_eq(utf8_valid("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 15, &bad), 1);
	cr_assert_eq(utf8_valid("ab\xc3(", 4, &bad), 0);
	cr_assert_eq(bad, 2);
	cr_assert_eq(utf8_valid("h\xc3\xa9llo\xff", 7, &bad), 0);
	cr_assert_eq(bad, 6);
	/* the first of several bad bytes */
	cr_assert_eq(utf8_valid("ok\xed\xa0\x80\xff", 6, &bad), 0);
	cr_assert_eq(bad, 2);
	/* truncated at the very end */
	cr_assert_eq(utf8_valid("abc\xf0\x9f\x98", 6, &bad), 0);
	cr_assert_eq(bad, 3);
	/* an embedded NUL is valid UTF-8 */
	cr_assert_eq(utf8_valid("a\0b", 3, &bad), 1);
}

/* ------------------------------------------------------------------ error codes */

Test(error, codes_map_to_the_exit_codes_of_the_contract)
{
	cr_assert_eq(eg_exit_code(EG_OK), EG_EXIT_OK);
	cr_assert_eq(eg_exit_code(EG_ERR_REFUSED), EG_EXIT_GATE);
	cr_assert_eq(eg_exit_code(EG_ERR_USAGE), EG_EXIT_USAGE);
	cr_assert_eq(eg_exit_code(EG_ERR_NOT_FOUND), EG_EXIT_USAGE);
	cr_assert_eq(eg_exit_code(EG_ERR_INFRA), EG_EXIT_INFRA);
	/* what error() returns is a usage error; an unknown code is one too */
	cr_assert_eq(EG_ERR_USAGE, -1);
	cr_assert_eq(eg_exit_code(-1000), EG_EXIT_USAGE);
}

Test(error, names_and_messages_come_from_one_list)
{
	cr_assert_str_eq(eg_err_name(EG_ERR_INFRA), "EG_ERR_INFRA");
	cr_assert_str_eq(eg_err_name(EG_OK), "EG_OK");
	cr_assert_str_eq(eg_err_name(-1000), "unknown error");
	cr_assert_str_eq(eg_strerror(EG_ERR_REFUSED), "refused by a rule");
	cr_assert_str_eq(eg_strerror(EG_OK), "success");
	cr_assert_str_eq(eg_strerror(7), "unknown error");
}

/* --- rng --- */

Test(rng, is_splitmix64)
{
	struct eg_rng r;

	/* reference values of splitmix64 seeded with 0 */
	eg_rng_init(&r, 0);
	cr_assert_eq(eg_rng_next(&r), 0xe220a8397b1dcdafull);
	cr_assert_eq(eg_rng_next(&r), 0x6e789e6aa1b965f4ull);
	cr_assert_eq(eg_rng_next(&r), 0x06c45d188009454full);
	eg_rng_init(&r, 42);
	for (int i = 0; i < 1000; i++)
		cr_assert_lt(eg_rng_below(&r, 7), 7);
}

/* --- rng: binomial draws --- */

/* the mean and variance of k draws of Binomial(n, p) stay within 5 standard errors */
static void binomial_moments(uint64_t n, double p, int k)
{
	struct eg_rng r;
	double sum = 0, sq = 0, mean, var, want_var = (double)n * p * (1 - p);
	int i;

	eg_rng_init(&r, 42);
	for (i = 0; i < k; i++) {
		uint64_t x = eg_rng_binomial(&r, n, p);

		cr_assert_leq(x, n);
		sum += (double)x;
		sq += (double)x * (double)x;
	}
	mean = sum / k;
	var = sq / k - mean * mean;
	cr_assert_leq(fabs(mean - (double)n * p), 5 * sqrt(want_var / k) + 1e-9,
		      "n %llu p %g: mean %g, want %g", (unsigned long long)n, p, mean, (double)n * p);
	/* the variance of the sample variance is about 2 var^2 / k for a near-normal law */
	cr_assert_leq(fabs(var - want_var), 5 * want_var * sqrt(2.0 / k) + 0.02,
		      "n %llu p %g: variance %g, want %g", (unsigned long long)n, p, var, want_var);
}

Test(rng, binomial_matches_its_moments_and_its_edges)
{
	struct eg_rng r;

	binomial_moments(10, 0.3, 20000);
	binomial_moments(1000, 0.03, 20000);
	binomial_moments(1000000, 0.0291, 2000);
	binomial_moments(500, 0.98, 20000);   /* the failures are drawn: n - Binomial(n, 0.02) */
	binomial_moments(1, 0.5, 20000);
	eg_rng_init(&r, 1);
	cr_assert_eq(eg_rng_binomial(&r, 1000, 0), 0);
	cr_assert_eq(eg_rng_binomial(&r, 1000, -0.5), 0, "clamped");
	cr_assert_eq(eg_rng_binomial(&r, 1000, 1), 1000);
	cr_assert_eq(eg_rng_binomial(&r, 1000, 1.5), 1000, "clamped");
	cr_assert_eq(eg_rng_binomial(&r, 0, 0.5), 0);
	cr_assert_eq(eg_rng_binomial(&r, 1000, NAN), 0, "no rate, no success");
}
