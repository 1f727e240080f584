/*
 * sample: drawing an online-sample suite's cases from a traffic log, in one
 * pass and in bounded memory (SPEC 2 `sample`).
 *
 * A log line is one JSON object, either as gateways log calls,
 *   {"request": {"model", "messages": [...]}, "response": {"choices":
 *    [{"message": {"content"}}], "usage"}, "metadata": {...}}
 * or plain,
 *   {"input" (or "messages"), "output", "context", "metadata"}.
 * Each kept line becomes one case line of an online suite: id, input or
 * messages, output (the recorded answer), context when present, metadata,
 * and a tag naming its stratum. The id is "s-" and the first 16 hex digits
 * of the SHA-256 of the line's bytes, so the same traffic gives the same ids
 * (a repeated identical line gets "-2", "-3", ... in the order written).
 *
 * Selection: with rate, each line is kept with that probability (Bernoulli);
 * with n, exactly n lines (or all when fewer) by reservoir sampling
 * (algorithm R). With stratify_by, n is shared among the strata (the
 * distinct values of that field) in proportion to their sizes by largest
 * remainder: the shares add up to n and each is within one case of its exact
 * proportion. The sizes are only known at the end, so every stratum keeps a
 * reservoir of up to n lines: memory is bounded by n x strata (at most
 * SAMPLE_MAX_STRATA strata). Lines matching an "always" rule are kept in
 * addition and are not part of the population sampled from. The random
 * numbers come from one splitmix64 stream seeded with seed and drawn in line
 * order, so a log and a seed always give the same sample.
 *
 * Output: cases are handed to the emit callback as they become final:
 * always-kept and Bernoulli-kept lines during the pass, in log order;
 * reservoir lines at sampler_finish, in log order.
 *
 * Malformed lines (not UTF-8, not JSON, neither format, no recorded answer,
 * over SAMPLE_MAX_LINE bytes) are skipped and counted, with a warning naming
 * file:line for the first few; with strict the first one is an error.
 *
 * Ownership: strings in struct sample_opts are borrowed for the sampler's
 * life; sampler_release frees everything the sampler holds.
 */
#ifndef EG_SAMPLE_H
#define EG_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#define SAMPLE_MAX_LINE (16u << 20)  /* longer log lines are malformed */
#define SAMPLE_MAX_STRATA 4096       /* distinct --stratify-by values */
#define SAMPLE_MAX_WARNINGS 10       /* malformed lines warned about one by one */

struct sample_opts {
	const char *file;            /* the log's name, for messages */
	double rate;                 /* Bernoulli probability in (0, 1], or 0 */
	size_t n;                    /* reservoir size, or 0 (exactly one of rate, n) */
	uint64_t seed;
	const char *stratify_by;     /* field path ("metadata.route"), or NULL */
	const char *const *always;   /* "FIELD=VALUE" rules */
	size_t n_always;
	int strict;                  /* a malformed line is an error, not a skip */
	int (*emit)(const char *line, size_t len, void *arg); /* one case line, no newline; nonzero stops */
	void *emit_arg;
};

struct sample_counts {
	long lines;                  /* lines read, blank ones included */
	long blank;
	long malformed;
	long first_malformed;        /* its line number, or 0 */
	long population;             /* well-formed lines not matched by an always rule */
	long sampled;                /* cases drawn from the population */
	long always;                 /* cases kept by an always rule */
	long strata;                 /* distinct strata seen (1 without stratify_by) */
};

struct sampler;

/* NULL after reporting a bad option (an always rule without '=', ...) */
struct sampler *sampler_new(const struct sample_opts *o);
void sampler_free(struct sampler *s);
/* one log line (without its newline); 0, or -1 after reporting (strict, emit failure, too many strata) */
int sampler_line(struct sampler *s, const char *line, size_t len, long lineno);
/* a line over SAMPLE_MAX_LINE bytes that the reader dropped; same returns */
int sampler_line_too_long(struct sampler *s, long lineno);
/* the end of the log: emits the reservoirs' draw; 0 or -1 */
int sampler_finish(struct sampler *s);
/* read path ("-" for standard input) line by line into s; 0 or -1 after reporting */
int sampler_read_file(struct sampler *s, const char *path);
const struct sample_counts *sampler_counts(const struct sampler *s);
/* stratum i (0 <= i < counts.strata): its value, lines in the population, cases drawn */
void sampler_stratum(const struct sampler *s, size_t i, const char **value, long *seen,
		     long *drawn);

/*
 * Largest-remainder shares of n over sizes[0..k-1] (total = their sum):
 * share[i] = floor(n * sizes[i] / total) plus one for the largest
 * remainders until the shares add up to min(n, total). Ties go to the
 * earlier index. 0, or -1 when n * size would overflow.
 */
int sample_shares(size_t n, const long *sizes, size_t k, long *share);

#endif
