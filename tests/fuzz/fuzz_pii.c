/*
 * libFuzzer target: model output fed to the pii scorer (its patterns, the
 * phone library behind scorers/pii_phone.h, the IBAN, card and date checks,
 * an allow list), which must never crash, leak or leave its result
 * incomplete whatever the bytes.
 *
 * Built by -DEG_FUZZ=ON (see README.md here); ./dev.sh fuzz runs it on its
 * seeds in corpus/pii/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scorer.h"
#include "xalloc.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const specs[] = {
	"{\"type\":\"pii\"}",
	"{\"type\":\"pii\",\"kinds\":[\"phone\"],\"regions\":[\"US\",\"ES\",\"JP\",\"BR\"]}",
	"{\"type\":\"pii\",\"allow\":[\"support@example.com\",\"1-800-222-1222\",\"/.*@example\\\\.org/\"]}",
	"{\"type\":\"pii\",\"kinds\":[\"iban\",\"card\"],\"negate\":true}",
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the runner hands scorers a NUL-terminated copy of the output */
	char *out = xmalloc(size + 1);
	size_t i;

	if (!ready)
		setup();
	memcpy(out, data, size);
	out[size] = '\0';
	for (i = 0; i < N_SPECS; i++) {
		struct score_job job;
		struct score_result r;

		memset(&job, 0, sizeof(job));
		job.output = out;
		job.output_len = size;
		if (scorer_score(&scorers[i], &job, &r) != SCORE_DONE || !r.reason ||
		    strchr(r.reason, '\n') || !(r.score >= 0 && r.score <= 1) ||
		    (r.pass && r.error))
			abort();
		score_result_release(&r);
		score_job_release(&scorers[i], &job);
	}
	free(out);
	return 0;
}
