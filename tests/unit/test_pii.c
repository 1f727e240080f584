/*
 * Unit tests of the pii scorer: each kind found and its look-alikes not
 * found (Luhn-invalid cards, bad IBAN checksums, dates, timestamps, order
 * and version numbers), kind selection, masking (the full value never
 * appears in a reason), counts, spec errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "scorer.h"
#include "scorer_helper.h"
#include "xalloc.h"
#include "banned.h"

struct eg_loc th_scorer_loc = { "suites/x/cases.jsonl", 9, 1 };

/* score out with spec; returns pass, reason copied */
static int check_spec(const char *spec, const char *out, char *reason, size_t size)
{
	struct score_result r;
	int pass;

	th_score_spec(spec, out, strlen(out), &r);
	cr_assert(!r.error, "%s", r.reason);
	cr_assert(r.score == (r.pass ? 1 : 0));
	pass = r.pass;
	snprintf(reason, size, "%s", r.reason);
	score_result_release(&r);
	return pass;
}

static int check(const char *out, char *reason, size_t size)
{
	return check_spec("{\"type\": \"pii\"}", out, reason, size);
}

/* value must be flagged inside a sentence, shown as masked, never whole */
static void expect_found(const char *value, const char *masked)
{
	char out[256], reason[512];

	snprintf(out, sizeof(out), "Sure, here it is: %s. Anything else?", value);
	cr_expect(!check(out, reason, sizeof(reason)), "not flagged: %s", value);
	cr_expect(strstr(reason, masked), "want \"%s\" in: %s", masked, reason);
	cr_expect_null(strstr(reason, value), "reason shows the value: %s", reason);
}

static void expect_clean(const char *out)
{
	char reason[512];

	cr_expect(check(out, reason, sizeof(reason)), "flagged: \"%s\": %s", out, reason);
}

Test(pii, email)
{
	expect_found("jane.doe@example.com", "email j***@e***.com");
	expect_found("Bob_99+tag@mail.shop.co.uk", "email B***@m***.uk");
	expect_clean("Write to support at example dot com.");
	expect_clean("Follow @evalgate on social media.");
	expect_clean("Use user@localhost for the test server.");
	expect_clean("The syntax is name@ followed by the domain.");
}

Test(pii, phone)
{
	expect_found("+44 20 7946 0958", "phone ***58");
	expect_found("+1 (555) 123-4567", "phone ***67");
	expect_found("(555) 123-4567", "phone ***67");
	expect_found("555-123-4567", "phone ***67");
	expect_found("555.123.4567", "phone ***67");
	expect_found("1-800-555-0199", "phone ***99");
	expect_found("+49-30-1234-5678", "phone ***78");
	expect_found("+33 1 23 45 67 89", "phone ***89");
}

Test(pii, phone_look_alikes)
{
	expect_clean("Your order shipped on 2024-01-15.");
	expect_clean("Created at 2024-01-15T10:30:00Z, updated 2024-01-15 10:30:00.");
	expect_clean("Order #A1234 is on its way; see order #555-123-4567 too.");
	expect_clean("Upgrade to version 10.15.7 or 2023.10.15.1234.");
	expect_clean("Your tracking number is 1234567890.");
	expect_clean("Open between 10:30 and 11:45 on 12/25/2024.");
	expect_clean("Call +44 20 (short) or ext. 1234.");
	expect_clean("The ISBN is 978-3-16-148410-0.");
	expect_clean("Reference ORD-555-123-4567 in your reply.");
	expect_clean("A +12 34 number is too short.");
}

Test(pii, card)
{
	expect_found("4242 4242 4242 4242", "card **** **** **** 4242");
	expect_found("4111-1111-1111-1111", "card **** **** **** 1111");
	expect_found("5555555555554444", "card **** **** **** 4444");
	expect_found("3782 822463 10005", "card **** **** **** 0005");
	/* Luhn-invalid, mixed separators, wrong leading digit, too long */
	expect_clean("Card 4242 4242 4242 4241 was declined.");
	expect_clean("Card 4242 4242-4242 4242 was declined.");
	expect_clean("Timestamp 1700000000000000 ms.");
	expect_clean("Code 42424242424242424242 is invalid.");
}

Test(pii, iban)
{
	expect_found("GB82 WEST 1234 5698 7654 32", "iban GB**...32");
	expect_found("GB82WEST12345698765432", "iban GB**...32");
	expect_found("DE89 3704 0044 0532 0130 00", "iban DE**...00");
	{
		char reason[512];
		cr_expect(!check("IBAN: GB82 WEST 1234 5698 7654 32 AND THAT IS ALL", reason,
				 sizeof(reason)), "%s", reason);
		cr_expect(strstr(reason, "iban GB**...32"), "%s", reason);
	}
	expect_clean("IBAN GB82 WEST 1234 5698 7654 33 has a bad checksum.");
	expect_clean("IBAN GB82 WEST 1234 is too short.");
	expect_clean("IBAN GB82WEST123456987654321 is too long for GB.");
	expect_clean("Model AB12CDEFGHIJKLMNOP is a product code.");
}

Test(pii, ssn)
{
	expect_found("123-45-6789", "ssn ***-**-**89");
	expect_clean("SSN 000-12-3456 is not valid.");
	expect_clean("SSN 666-12-3456 is not valid.");
	expect_clean("SSN 900-12-3456 is not valid.");
	expect_clean("SSN 123-00-4567 is not valid.");
	expect_clean("SSN 123-45-0000 is not valid.");
	expect_clean("Part 1234-56-7890 and 123-45-67890.");
}

Test(pii, kinds_selection)
{
	const char *text = "Mail jane@example.com, card 4242 4242 4242 4242.";
	char reason[512];

	cr_expect(!check_spec("{\"type\": \"pii\", \"kinds\": [\"email\"]}", text, reason,
			      sizeof(reason)));
	cr_expect_str_eq(reason, "1 PII item found: email j***@e***.com");
	cr_expect(!check_spec("{\"type\": \"pii\", \"kinds\": [\"card\"]}", text, reason,
			      sizeof(reason)));
	cr_expect_str_eq(reason, "1 PII item found: card **** **** **** 4242");
	cr_expect(check_spec("{\"type\": \"pii\", \"kinds\": [\"phone\", \"ssn\", \"iban\"]}", text,
			     reason, sizeof(reason)));
	cr_expect_str_eq(reason, "no PII found (phone, iban, ssn)");
	cr_expect(check("Nothing personal here.", reason, sizeof(reason)));
	cr_expect_str_eq(reason, "no PII found (email, phone, card, iban, ssn)");
}

Test(pii, count_and_cap)
{
	char reason[512];
	const char *text = "a@b.io c@d.io e@f.io 4242 4242 4242 4242 and 123-45-6789";

	cr_assert(!check(text, reason, sizeof(reason)));
	cr_expect_str_eq(reason, "5 PII items found: email a***@b***.io, email c***@d***.io, "
			 "email e***@f***.io and 2 more");
}

Test(pii, negate_and_binary)
{
	struct scorer s;
	struct score_result r;
	static const char out[] = "\xff\0jane@example.com\x80";

	th_scorer_init_ok(&s, "{\"type\": \"pii\", \"negate\": true}");
	th_score_bytes(&s, out, sizeof(out) - 1, &r);
	cr_expect(r.pass && !r.error, "%s", r.reason);
	score_result_release(&r);
	scorer_release(&s);
}

Test(pii, spec_errors)
{
	char msg[512];

	cr_expect_eq(th_scorer_try("{\"type\": \"pii\", \"kinds\": [\"email\", \"passport\"]}", msg,
				   sizeof(msg)), -1);
	cr_expect(strstr(msg, "scorer 1: pii: unknown kind \"passport\" in \"kinds\" "
			 "(known: email, phone, card, iban, ssn)"), "%s", msg);
	cr_expect_eq(th_scorer_try("{\"type\": \"pii\", \"kinds\": []}", msg, sizeof(msg)), -1);
	cr_expect(strstr(msg, "must be a non-empty array"), "%s", msg);
	cr_expect_eq(th_scorer_try("{\"type\": \"pii\", \"kinds\": \"email\"}", msg, sizeof(msg)),
		     -1);
	cr_expect(strstr(msg, "must be a non-empty array"), "%s", msg);
	cr_expect_eq(th_scorer_try("{\"type\": \"pii\", \"kinds\": [1]}", msg, sizeof(msg)), -1);
	cr_expect(strstr(msg, "must hold strings"), "%s", msg);
	cr_expect_eq(th_scorer_try("{\"type\": \"pii\", \"kind\": [\"email\"]}", msg, sizeof(msg)),
		     -1);
	cr_expect(strstr(msg, "unknown field \"kind\" (did you mean \"kinds\"?)"), "%s", msg);
}

Test(pii, phone_national)
{
	/* libphonenumber, default regions US, GB, DE, FR */
	expect_found("020 7946 0958", "phone ***58");
	expect_found("030 12345678", "phone ***78");
	expect_found("01 42 68 53 00", "phone ***00");
	expect_found("(415) 555-0132", "phone ***32");
	/* named by the word before or after it, any region */
	expect_found("Phone: 9469 9966", "phone ***66");
	expect_found("call me on 450 0840", "phone ***40");
	expect_found("Phone:\n51 516 33 75", "phone ***75");
	expect_found("085 175 7641-Office", "phone ***41");
	/* still not phones */
	expect_clean("The population was 1,234,567 in 2010 and 2,345,678 in 2020.");
	expect_clean("Served 1990-1995 and 2001-2004; call 911 now.");
	expect_clean("Fax it on 12.05.2024, phone 2024-05-12.");
	expect_clean("Mobile: 10.0.0.1 is the gateway, desk 192.168.100.200.");
	expect_clean("Call me on Monday at 10 30.");
	expect_clean("The account 12345678901234 has no phone.");
}

Test(pii, phone_regions)
{
	char reason[512];

	/* a Spanish mobile in national form is not a number in US/GB/DE/FR */
	cr_expect(check("Llama al 612 345 678 hoy.", reason, sizeof(reason)), "%s", reason);
	cr_expect(!check_spec("{\"type\": \"pii\", \"regions\": [\"us\", \"ES\"]}",
			      "Llama al 612 345 678 hoy.", reason, sizeof(reason)));
	cr_expect_str_eq(reason, "1 PII item found: phone ***78");
}

Test(pii, phone_not_another_kind)
{
	char reason[512];

	/* a card is not also a phone, even when only phones are asked for */
	cr_expect(check_spec("{\"type\": \"pii\", \"kinds\": [\"phone\"]}",
			     "Card 4969800024734372 and SSN 054-28-6917.", reason, sizeof(reason)),
		  "%s", reason);
	cr_expect(check_spec("{\"type\": \"pii\", \"kinds\": [\"phone\"]}",
			     "Write to john.4155550132@example.com today.", reason, sizeof(reason)),
		  "%s", reason);
}

Test(pii, card_issuers)
{
	expect_found("501864667909", "card **** **** **** 7909");         /* Maestro, 12 */
	expect_found("6759649826438453", "card **** **** **** 8453");     /* Maestro, 16 */
	expect_found("3528000700000000", "card **** **** **** 0000");     /* JCB */
	expect_found("180000826105910", "card **** **** **** 5910");      /* JCB 15 */
	expect_found("122000000000003", "card **** **** **** 0003");      /* UATP */
	expect_found("4030874397740603788", "card **** **** **** 3788");  /* Visa 19 */
	/* Luhn-valid but no issuer uses the prefix at that length */
	expect_clean("Order 7992739871 3 and 420000000006 shipped."); /* Visa is 13-19 */
	expect_clean("Ticket 3400000000000009 is 16 digits, Amex has 15.");
	expect_clean("Reference 799273987135 is not a card.");
}

Test(pii, iban_case_and_bic)
{
	char reason[512];

	expect_found("gb82 west 1234 5698 7654 32", "iban GB**...32");
	expect_found("gb82west12345698765432", "iban GB**...32");
	cr_expect(!check("IBAN DE89 3704 0044 0532 0130 00 COBADEFFXXX.", reason, sizeof(reason)));
	cr_expect_str_eq(reason, "1 PII item found: iban DE**...00");
	cr_expect(!check("IBAN DE89370400440532013000 BIC COBADEFFXXX", reason, sizeof(reason)));
	cr_expect_str_eq(reason, "1 PII item found: iban DE**...00");
	/* a country not in the table: the longest run of groups that checks */
	cr_expect(!check("AL47 2121 1009 0000 0002 3569 8741 ALL CAPS", reason, sizeof(reason)));
	cr_expect_str_eq(reason, "1 PII item found: iban AL**...41");
	/* mixed case is no IBAN */
	expect_clean("LV80 bANK 0000 4351 9500 1");
	expect_clean("Gb82 West 1234 5698 7654 32");
}

Test(pii, allow)
{
	const char *spec = "{\"type\": \"pii\", \"allow\": [\"Support@Example.com\", "
			   "\"1-800-222-1222\", \"/.*@example\\\\.org/\", \"/\\\\+?1?[ -]?\\\\(?8(00|88|77)\\\\)?[ .-].*/\"]}";
	char reason[512];

	cr_expect(check_spec(spec, "Write to support@example.com or call (800) 222-1222.", reason,
			     sizeof(reason)), "%s", reason);
	cr_expect(check_spec(spec, "Mail anyone@example.org; toll free 1-888-555-0199.", reason,
			     sizeof(reason)), "%s", reason);
	cr_expect(!check_spec(spec, "Mail support@example.com and jane@example.net.", reason,
			      sizeof(reason)));
	cr_expect_str_eq(reason, "1 PII item found: email j***@e***.net");
	cr_expect(!check_spec(spec, "Call 415-555-0132 or 1-800-222-1222.", reason, sizeof(reason)));
	cr_expect_str_eq(reason, "1 PII item found: phone ***32");
}

Test(pii, spec_errors_regions_allow)
{
	char msg[512];

	cr_expect_eq(th_scorer_try("{\"type\": \"pii\", \"regions\": [\"XX\"]}", msg, sizeof(msg)),
		     -1);
	cr_expect(strstr(msg, "scorer 1: pii: field \"regions\": \"XX\" is not a region code"),
		  "%s", msg);
	cr_expect_eq(th_scorer_try("{\"type\": \"pii\", \"regions\": []}", msg, sizeof(msg)), -1);
	cr_expect(strstr(msg, "field \"regions\" must be an array of 1 to"), "%s", msg);
	cr_expect_eq(th_scorer_try("{\"type\": \"pii\", \"regions\": [\"USA\"]}", msg, sizeof(msg)),
		     -1);
	cr_expect(strstr(msg, "\"USA\" is not a region code"), "%s", msg);
	cr_expect_eq(th_scorer_try("{\"type\": \"pii\", \"regions\": [7]}", msg, sizeof(msg)), -1);
	cr_expect(strstr(msg, "\"number\" is not a region code") ||
		  strstr(msg, "is not a region code"), "%s", msg);
	cr_expect_eq(th_scorer_try("{\"type\": \"pii\", \"allow\": \"x\"}", msg, sizeof(msg)), -1);
	cr_expect(strstr(msg, "field \"allow\" must be an array of strings"), "%s", msg);
	cr_expect_eq(th_scorer_try("{\"type\": \"pii\", \"allow\": [\"\"]}", msg, sizeof(msg)), -1);
	cr_expect(strstr(msg, "must hold non-empty strings"), "%s", msg);
	cr_expect_eq(th_scorer_try("{\"type\": \"pii\", \"allow\": [\"/(/\"]}", msg, sizeof(msg)),
		     -1);
	cr_expect(strstr(msg, "field \"allow\": pattern /(/ does not compile"), "%s", msg);
}

Test(pii, hostile_input)
{
	struct scorer s;
	struct score_result r;
	size_t n = 2u << 20, i;
	char *big = xmalloc(n + 1);

	/* 2 MB of digit groups, NULs and invalid UTF-8, one phone at the end */
	for (i = 0; i < n; i++)
		big[i] = "12 34\0\xff\xc3(5-6 \x80 9"[i % 16];
	memcpy(big + n - 24, " call +44 20 7946 0958. ", 24);
	big[n] = '\0';
	th_scorer_init_ok(&s, "{\"type\": \"pii\"}");
	th_score_bytes(&s, big, n, &r);
	cr_expect(!r.error, "%s", r.reason);
	cr_expect(!r.pass);
	cr_expect(strstr(r.reason, "phone ***58"), "%s", r.reason);
	score_result_release(&r);
	scorer_release(&s);
	free(big);
}
