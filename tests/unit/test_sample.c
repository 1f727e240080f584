/* sample: the traffic-log sampler: formats, reproducibility, shares, always rules, bad lines */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "helper.h"
#include "sample.h"
#include "sha256.h"
#include "strbuf.h"
#include "banned.h"

/* the emitted cases, one a line */
struct out {
	struct strbuf text;
	long n;
};

static int collect(const char *line, size_t len, void *arg)
{
	struct out *o = arg;

	strbuf_add(&o->text, line, len);
	strbuf_addch(&o->text, '\n');
	o->n++;
	return 0;
}

static const char *const routes[] = { "billing", "shipping", "returns" };

/*
 * line i of a generated log: every third line gateway-style, the others
 * plain; routes 60/30/10 per cent; thumbs-down on every 50th line
 */
static void log_line(struct strbuf *sb, int i)
{
	const char *route = routes[(i % 10) < 6 ? 0 : (i % 10) < 9 ? 1 : 2];
	int fb = i % 50 == 0 ? -1 : 1;

	strbuf_reset(sb);
	if (i % 3 == 0)
		strbuf_addf(sb, "{\"request\": {\"model\": \"m\", \"messages\": [{\"role\": \"user\", "
			    "\"content\": \"question %d\"}]}, \"response\": {\"choices\": [{\"message\": "
			    "{\"role\": \"assistant\", \"content\": \"answer %d\"}}], \"usage\": "
			    "{\"prompt_tokens\": 2}}, \"metadata\": {\"route\": \"%s\", \"feedback\": %d}}",
			    i, i, route, fb);
	else
		strbuf_addf(sb, "{\"input\": \"q %d\", \"output\": \"a %d\", \"context\": [\"c\"], "
			    "\"metadata\": {\"route\": \"%s\", \"feedback\": %d}}", i, i, route, fb);
}

static void opts_init(struct sample_opts *o, struct out *out)
{
	memset(o, 0, sizeof(*o));
	o->file = "log.jsonl";
	o->emit = collect;
	o->emit_arg = out;
}

/* run the sampler over lines 1..nlines of the generated log */
static void run_log(const struct sample_opts *o, int nlines, struct sample_counts *counts)
{
	struct strbuf sb = STRBUF_INIT;
	struct sampler *s = sampler_new(o);
	int i;

	cr_assert_not_null(s);
	for (i = 1; i <= nlines; i++) {
		log_line(&sb, i);
		cr_assert_eq(sampler_line(s, sb.buf, sb.len, i), 0);
	}
	cr_assert_eq(sampler_finish(s), 0);
	if (counts)
		*counts = *sampler_counts(s);
	sampler_free(s);
	strbuf_release(&sb);
}

Test(sample, reproducible_for_a_seed_and_different_for_another)
{
	struct out a = { STRBUF_INIT, 0 }, b = { STRBUF_INIT, 0 }, c = { STRBUF_INIT, 0 };
	struct sample_opts o;

	opts_init(&o, &a);
	o.n = 40;
	o.seed = 7;
	run_log(&o, 1000, NULL);
	o.emit_arg = &b;
	run_log(&o, 1000, NULL);
	o.emit_arg = &c;
	o.seed = 8;
	run_log(&o, 1000, NULL);
	cr_assert_eq(a.n, 40);
	cr_assert_eq(c.n, 40);
	cr_assert_str_eq(a.text.buf, b.text.buf);
	cr_assert_str_neq(a.text.buf, c.text.buf);
	strbuf_release(&a.text);
	strbuf_release(&b.text);
	strbuf_release(&c.text);
}

Test(sample, reservoir_is_uniform)
{
	/* n = 3 of 12 lines over 3000 seeds: each line is drawn about 750 times */
	long hits[13] = { 0 };
	struct out o = { STRBUF_INIT, 0 };
	struct sample_opts so;
	uint64_t seed;
	int i;

	opts_init(&so, &o);
	so.n = 3;
	for (seed = 1; seed <= 3000; seed++) {
		strbuf_reset(&o.text);
		so.seed = seed;
		run_log(&so, 12, NULL);
		for (i = 1; i <= 12; i++) {
			char needle[32];
			snprintf(needle, sizeof(needle), i % 3 ? "\"q %d\"" : "question %d\"", i);
			hits[i] += th_count(o.text.buf, needle);
		}
	}
	for (i = 1; i <= 12; i++)
		cr_assert(hits[i] > 650 && hits[i] < 850, "line %d drawn %ld times", i, hits[i]);
	strbuf_release(&o.text);
}

Test(sample, output_is_in_log_order)
{
	struct out o = { STRBUF_INIT, 0 };
	struct sample_opts so;
	const char *p;
	long last = 0;

	opts_init(&so, &o);
	so.n = 30;
	so.seed = 3;
	run_log(&so, 500, NULL);
	for (p = o.text.buf; *p; p = strchr(p, '\n') + 1) {
		const char *q = strstr(p, "q ");
		const char *r = strstr(p, "question ");
		const char *nl = strchr(p, '\n');
		long v = (q && q < nl) ? atol(q + 2) : atol(r + 9);
		cr_assert_gt(v, last);
		last = v;
	}
	strbuf_release(&o.text);
}

Test(sample, shares_by_largest_remainder)
{
	long sizes[] = { 5, 3, 2 }, share[3];
	long big[] = { 587, 308, 98, 7 }, bshare[4];
	long one[] = { 10 }, oshare[1];
	size_t n;

	cr_assert_eq(sample_shares(4, sizes, 3, share), 0);
	/* exact 2, 1.2, 0.8: floors 2, 1, 0, the largest remainder (0.8) gets the last */
	cr_assert_eq(share[0], 2);
	cr_assert_eq(share[1], 1);
	cr_assert_eq(share[2], 1);
	for (n = 1; n <= 1000; n += 37) {
		long sum = 0;
		size_t i;
		cr_assert_eq(sample_shares(n, big, 4, bshare), 0);
		for (i = 0; i < 4; i++) {
			double exact = (double)n * (double)big[i] / 1000.0;
			cr_assert_lt(fabs((double)bshare[i] - exact), 1.0, "n=%zu stratum %zu", n, i);
			sum += bshare[i];
		}
		cr_assert_eq(sum, (long)n);
	}
	/* more wanted than there are: everything */
	cr_assert_eq(sample_shares(50, sizes, 3, share), 0);
	cr_assert(share[0] == 5 && share[1] == 3 && share[2] == 2);
	cr_assert_eq(sample_shares(4, one, 1, oshare), 0);
	cr_assert_eq(oshare[0], 4);
}

Test(sample, stratified_shares_within_one_case)
{
	struct out o = { STRBUF_INIT, 0 };
	struct strbuf sb = STRBUF_INIT;
	struct sample_opts so;
	size_t n;

	opts_init(&so, &o);
	so.stratify_by = "metadata.route";
	for (n = 7; n <= 307; n += 50) {
		long got[3], seen[3] = { 0 }, sum = 0;
		struct sampler *s;
		int i;

		strbuf_reset(&o.text);
		o.n = 0;
		so.n = n;
		so.seed = n;
		s = sampler_new(&so);
		cr_assert_not_null(s);
		for (i = 1; i <= 997; i++) {
			log_line(&sb, i);
			cr_assert_eq(sampler_line(s, sb.buf, sb.len, i), 0);
			seen[(i % 10) < 6 ? 0 : (i % 10) < 9 ? 1 : 2]++;
		}
		cr_assert_eq(sampler_finish(s), 0);
		cr_assert_eq(sampler_counts(s)->strata, 3);
		cr_assert_eq(sampler_counts(s)->sampled, (long)n);
		cr_assert_eq(o.n, (long)n);
		for (i = 0; i < 3; i++) {
			char tag[40];
			snprintf(tag, sizeof(tag), "\"tags\":[\"route:%s\"]", routes[i]);
			got[i] = th_count(o.text.buf, tag);
			sum += got[i];
		}
		cr_assert_eq(sum, (long)n);
		for (i = 0; i < 3; i++) {
			double exact = (double)n * (double)seen[i] / 997.0;
			const char *v;
			long st_seen, st_drawn;
			size_t k;

			cr_assert_lt(fabs((double)got[i] - exact), 1.0, "n=%zu %s: %ld vs %.2f", n,
				     routes[i], got[i], exact);
			/* the sampler's own account agrees */
			for (k = 0; k < 3; k++) {
				sampler_stratum(s, k, &v, &st_seen, &st_drawn);
				if (!strcmp(v, routes[i]))
					break;
			}
			cr_assert_lt(k, 3);
			cr_assert_eq(st_seen, seen[i]);
			cr_assert_eq(st_drawn, got[i]);
		}
		sampler_free(s);
	}
	strbuf_release(&sb);
	strbuf_release(&o.text);
}

Test(sample, always_lines_are_kept_in_addition)
{
	struct out o = { STRBUF_INIT, 0 };
	struct sample_opts so;
	struct sample_counts c;
	const char *always[] = { "metadata.feedback=-1", "metadata.route=nosuch" };
	int i;

	opts_init(&so, &o);
	so.n = 10;
	so.seed = 1;
	so.always = always;
	so.n_always = 2;
	so.stratify_by = "metadata.route";
	run_log(&so, 1000, &c);
	/* lines 50, 100, ..., 1000 have feedback -1 */
	cr_assert_eq(c.always, 20);
	cr_assert_eq(c.population, 980);
	cr_assert_eq(c.sampled, 10);
	cr_assert_eq(o.n, 30);
	cr_assert_eq(th_count(o.text.buf, "\"always\"]"), 20);
	cr_assert_eq(th_count(o.text.buf, "\"feedback\":-1"), 20);
	for (i = 50; i <= 1000; i += 50) {
		char needle[32];
		snprintf(needle, sizeof(needle), i % 3 ? "\"q %d\"" : "question %d\"", i);
		cr_assert_eq(th_count(o.text.buf, needle), 1, "line %d", i);
	}
	/* the always lines carry their stratum tag too */
	cr_assert_eq(th_count(o.text.buf, "\"tags\":[\"route:billing\",\"always\"]"), 20);
	strbuf_release(&o.text);
}

Test(sample, bad_always_rule)
{
	struct sample_opts so;
	const char *always[] = { "metadata.feedback" };

	opts_init(&so, NULL);
	so.n = 1;
	so.always = always;
	so.n_always = 1;
	th_stderr_start();
	cr_assert_null(sampler_new(&so));
	cr_assert_str_eq(th_stderr_take(), "evalgate: --always 'metadata.feedback': expected FIELD=VALUE\n");
}

Test(sample, bernoulli_rate)
{
	struct out o = { STRBUF_INIT, 0 };
	struct sample_opts so;
	struct sample_counts c;

	opts_init(&so, &o);
	so.rate = 0.25;
	so.seed = 11;
	run_log(&so, 4000, &c);
	cr_assert(o.n > 900 && o.n < 1100, "%ld kept", o.n);
	cr_assert_eq(c.sampled, o.n);
	strbuf_reset(&o.text);
	o.n = 0;
	so.rate = 1;
	run_log(&so, 300, NULL);
	cr_assert_eq(o.n, 300);
	strbuf_release(&o.text);
}

/* the one case written for a single log line */
static char *one_case(const char *line)
{
	struct out o = { STRBUF_INIT, 0 };
	struct sample_opts so;
	struct sampler *s;

	opts_init(&so, &o);
	so.n = 5;
	s = sampler_new(&so);
	cr_assert_not_null(s);
	cr_assert_eq(sampler_line(s, line, strlen(line), 1), 0);
	cr_assert_eq(sampler_finish(s), 0);
	sampler_free(s);
	return strbuf_detach(&o.text, NULL);
}

static void expect_id(const char *line, const char *got)
{
	char hex[65], want[40];

	sha256_hex(line, strlen(line), hex);
	snprintf(want, sizeof(want), "{\"id\":\"s-%.16s\",", hex);
	cr_assert(!strncmp(got, want, strlen(want)), "%s", got);
}

Test(sample, gateway_format)
{
	const char *line = "{\"request\": {\"model\": \"gpt\", \"temperature\": 0, \"messages\": ["
			   "{\"role\": \"system\", \"content\": \"be brief\"},"
			   "{\"role\": \"user\", \"content\": \"hi\"},"
			   "{\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"t\"}]},"
			   "{\"role\": \"tool\", \"content\": \"42\", \"tool_call_id\": \"t\"}]},"
			   " \"response\": {\"id\": \"x\", \"choices\": [{\"index\": 0, \"message\": "
			   "{\"role\": \"assistant\", \"content\": \"It is 42.\"}, \"finish_reason\": \"stop\"}],"
			   " \"usage\": {\"total_tokens\": 9}}, \"metadata\": {\"route\": \"r\"}}";
	char *c = one_case(line);

	expect_id(line, c);
	cr_assert_str_eq(strchr(c, ',') + 1,
			 "\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},"
			 "{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":\"\"},"
			 "{\"role\":\"tool\",\"content\":\"42\"}],\"output\":\"It is 42.\","
			 "\"metadata\":{\"route\":\"r\"}}\n");
	free(c);
}

Test(sample, plain_format)
{
	const char *line = "{\"input\": \"What is the fee?\", \"output\": \"5 EUR\", "
			   "\"context\": [\"fees: 5 EUR\"], \"metadata\": {\"user\": \"u1\"}}";
	const char *line2 = "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], "
			    "\"output\": \"y\", \"context\": \"one passage\"}";
	char *c = one_case(line), *c2 = one_case(line2);

	expect_id(line, c);
	cr_assert_str_eq(strchr(c, ',') + 1,
			 "\"input\":\"What is the fee?\",\"output\":\"5 EUR\","
			 "\"context\":[\"fees: 5 EUR\"],\"metadata\":{\"user\":\"u1\"}}\n");
	cr_assert_str_eq(strchr(c2, ',') + 1,
			 "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"output\":\"y\","
			 "\"context\":\"one passage\"}\n");
	free(c);
	free(c2);
}

Test(sample, repeated_lines_get_distinct_ids)
{
	const char *line = "{\"input\": \"a\", \"output\": \"b\"}";
	struct out o = { STRBUF_INIT, 0 };
	struct sample_opts so;
	struct sampler *s;
	char hex[65], want[80];

	opts_init(&so, &o);
	so.rate = 1;
	s = sampler_new(&so);
	cr_assert_eq(sampler_line(s, line, strlen(line), 1), 0);
	cr_assert_eq(sampler_line(s, line, strlen(line), 2), 0);
	cr_assert_eq(sampler_finish(s), 0);
	sampler_free(s);
	sha256_hex(line, strlen(line), hex);
	snprintf(want, sizeof(want), "\"id\":\"s-%.16s\",", hex);
	cr_assert_eq(th_count(o.text.buf, want), 1);
	snprintf(want, sizeof(want), "\"id\":\"s-%.16s-2\",", hex);
	cr_assert_eq(th_count(o.text.buf, want), 1);
	strbuf_release(&o.text);
}

static const char *const bad_lines[] = {
	"not json at all",
	"{\"input\": \"x\", \"output\": \"\xff\xfe\"}",
	"[1, 2]",
	"{\"input\": \"x\"}",
	"{\"request\": {\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}, "
	"\"response\": {\"error\": {\"message\": \"rate limited\"}}}",
	"{\"request\": {\"messages\": [{\"role\": \"wizard\", \"content\": \"x\"}]}, "
	"\"response\": {\"choices\": [{\"message\": {\"content\": \"y\"}}]}}",
	"{\"input\": \"x\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"output\": \"y\"}",
	"{\"input\": \"x\", \"output\": \"y\", \"context\": [1]}",
	"{\"input\": \"x\", \"output\": \"y\", \"metadata\": \"m\"}",
	"{\"something\": \"else\"}",
};
#define N_BAD (sizeof(bad_lines) / sizeof(bad_lines[0]))

Test(sample, malformed_lines_are_skipped_and_counted)
{
	struct out o = { STRBUF_INIT, 0 };
	struct sample_opts so;
	struct sampler *s;
	const char *good = "{\"input\": \"x\", \"output\": \"y\"}";
	size_t i;

	opts_init(&so, &o);
	so.n = 100;
	s = sampler_new(&so);
	th_stderr_start();
	cr_assert_eq(sampler_line(s, good, strlen(good), 1), 0);
	cr_assert_eq(sampler_line(s, "   ", 3, 2), 0);
	for (i = 0; i < N_BAD; i++)
		cr_assert_eq(sampler_line(s, bad_lines[i], strlen(bad_lines[i]), (long)i + 3), 0,
			     "%s", bad_lines[i]);
	cr_assert_eq(sampler_finish(s), 0);
	cr_assert_eq(sampler_counts(s)->malformed, (long)N_BAD);
	cr_assert_eq(sampler_counts(s)->first_malformed, 3);
	cr_assert_eq(sampler_counts(s)->blank, 1);
	cr_assert_eq(sampler_counts(s)->population, 1);
	cr_assert_eq(o.n, 1);
	sampler_free(s);
	cr_assert_str_eq(th_stderr_take(),
		"evalgate: warning: log.jsonl:3: invalid JSON; line skipped\n"
		"evalgate: warning: log.jsonl:4: not UTF-8 at byte 27; line skipped\n"
		"evalgate: warning: log.jsonl:5: expected a JSON object; line skipped\n"
		"evalgate: warning: log.jsonl:6: output: missing or not a string (no recorded answer); line skipped\n"
		"evalgate: warning: log.jsonl:7: response: the call failed, no recorded answer; line skipped\n"
		"evalgate: warning: log.jsonl:8: messages: unknown role; line skipped\n"
		"evalgate: warning: log.jsonl:9: give input or messages, not both; line skipped\n"
		"evalgate: warning: log.jsonl:10: context: expected a string or an array of strings; line skipped\n"
		"evalgate: warning: log.jsonl:11: metadata: expected an object; line skipped\n"
		"evalgate: warning: log.jsonl:12: neither {request, response} nor {input, output}; line skipped\n");
	strbuf_release(&o.text);
}

Test(sample, strict_fails_on_the_first_malformed_line)
{
	struct sample_opts so;
	struct sampler *s;

	opts_init(&so, NULL);
	so.n = 5;
	so.strict = 1;
	s = sampler_new(&so);
	th_stderr_start();
	cr_assert_eq(sampler_line(s, "{\"input\": \"x\", \"output\": \"y\"}", 30, 1), 0);
	cr_assert_eq(sampler_line(s, "{oops", 5, 2), -1);
	sampler_free(s);
	cr_assert_str_eq(th_stderr_take(), "evalgate: log.jsonl:2: invalid JSON (malformed line; --strict)\n");
}

Test(sample, too_many_strata)
{
	struct sample_opts so;
	struct sampler *s;
	char line[96];
	int i, rc = 0;

	opts_init(&so, NULL);
	so.n = 1;
	so.stratify_by = "metadata.user";
	s = sampler_new(&so);
	th_stderr_start();
	for (i = 0; i <= SAMPLE_MAX_STRATA && !rc; i++) {
		snprintf(line, sizeof(line),
			 "{\"input\": \"x\", \"output\": \"y\", \"metadata\": {\"user\": %d}}", i);
		rc = sampler_line(s, line, strlen(line), i + 1);
	}
	cr_assert_eq(rc, -1);
	cr_assert_eq(i, SAMPLE_MAX_STRATA + 1);
	sampler_free(s);
}

Test(sample, reads_files_with_crlf_no_final_newline_and_long_lines)
{
	char path[] = "/tmp/eg_sample_XXXXXX";
	int fd = mkstemp(path);
	FILE *fp;
	struct out o = { STRBUF_INIT, 0 };
	struct sample_opts so;
	struct sampler *s;
	size_t i;

	cr_assert_geq(fd, 0);
	fp = fdopen(fd, "w");
	fputs("{\"input\": \"a\", \"output\": \"1\"}\r\n", fp);
	/* a line over the limit, then good lines */
	fputs("{\"input\": \"", fp);
	for (i = 0; i < SAMPLE_MAX_LINE / 64 + 1; i++)
		fputs("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", fp);
	fputs("\", \"output\": \"2\"}\n", fp);
	fputs("\n{\"input\": \"c\", \"output\": \"3\"}", fp);
	cr_assert_eq(fclose(fp), 0);
	opts_init(&so, &o);
	so.n = 10;
	s = sampler_new(&so);
	th_stderr_start();
	cr_assert_eq(sampler_read_file(s, path), 0);
	cr_assert_eq(sampler_finish(s), 0);
	cr_assert_eq(sampler_counts(s)->lines, 4);
	cr_assert_eq(sampler_counts(s)->malformed, 1);
	cr_assert_eq(sampler_counts(s)->first_malformed, 2);
	cr_assert_eq(sampler_counts(s)->blank, 1);
	cr_assert_eq(o.n, 2);
	cr_assert_eq(th_count(o.text.buf, "\"input\":\"a\",\"output\":\"1\""), 1);
	cr_assert_eq(th_count(o.text.buf, "\"input\":\"c\",\"output\":\"3\""), 1);
	sampler_free(s);
	unlink(path);
	strbuf_release(&o.text);
}
