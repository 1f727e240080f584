/*
 * libFuzzer target: the text scorers levenshtein, rouge-l, contains-any,
 * contains-all and word-count. The input's first line is the case's
 * expected answer (the similarity scorers' reference), the rest the model
 * output; any bytes (NUL, invalid UTF-8) must score without a crash, a leak
 * or an incomplete result, and a similarity of a text with itself is 1.
 *
 * Built by -DEG_FUZZ=ON (see README.md here); ./dev.sh fuzz runs it on its
 * seeds in corpus/scorer_text/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "case.h"
#include "scorer.h"
#include "xalloc.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const specs[] = {
	"{\"type\":\"levenshtein\"}",
	"{\"type\":\"rouge-l\",\"threshold\":0.3}",
	"{\"type\":\"levenshtein\",\"value\":\"caf\\u00e9 au lait\",\"negate\":true}",
	"{\"type\":\"contains-any\",\"values\":[\"a\",\"\\u00c9T\\u00c9\",\"\\u212a\"],"
	"\"ignore_case\":true}",
	"{\"type\":\"contains-all\",\"values\":[\"ab\",\"\\u00e9\",\"xyz\"]}",
	"{\"type\":\"word-count\",\"min\":1,\"max\":40}",
};

#define N_SPECS (sizeof(specs) / sizeof(specs[0]))

static struct scorer scorers[N_SPECS];
static int ready;

static void setup(void)
{
	const struct eg_loc loc = { "fuzz", 0, 1 };
	size_t i;

	for (i = 0; i < N_SPECS; i++) {
		cJSON *spec = cJSON_Parse(specs[i]);
		if (!spec || scorer_init(&scorers[i], spec, &loc))
			abort();
		cJSON_Delete(spec);
	}
	ready = 1;
}

static void score(const struct scorer *s, const struct eg_case *kase, const char *out,
		  size_t len, struct score_result *r)
{
	struct score_job job;

	memset(&job, 0, sizeof(job));
	job.kase = kase;
	job.output = out;
	job.output_len = len;
	if (scorer_score(s, &job, r) != SCORE_DONE || !r->reason || strchr(r->reason, '\n') ||
	    !(r->score >= 0 && r->score <= 1) || (r->pass && r->error))
		abort();
	score_job_release(s, &job);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t ref_len = nl ? (size_t)(nl - data) : 0, out_len = size - (nl ? ref_len + 1 : 0);
	struct eg_case kase;
	char *ref, *out;
	size_t i;

	if (!ready)
		setup();
	/* the case's expected is a C string: it ends at a NUL */
	ref = xstrndup((const char *)data, ref_len);
	out = xmalloc(out_len + 1);
	memcpy(out, data + size - out_len, out_len);
	out[out_len] = '\0';
	memset(&kase, 0, sizeof(kase));
	kase.expected = ref;
	for (i = 0; i < N_SPECS; i++) {
		struct score_result r;
		score(&scorers[i], &kase, out, out_len, &r);
		score_result_release(&r);
	}
	/* a text against itself: similarity 1, unless too long to compute */
	for (i = 0; i < 2; i++) {
		struct score_result r;
		score(&scorers[i], &kase, ref, strlen(ref), &r);
		if (!r.error && r.score != 1)
			abort();
		score_result_release(&r);
	}
	free(ref);
	free(out);
	return 0;
}
