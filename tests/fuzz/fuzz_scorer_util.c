/*
 * fuzz_scorer_util: see fuzz_scorer_util.h.
 */
#include "fuzz_scorer_util.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"
#include "banned.h"

void fuzz_scorers_init(struct scorer *scorers, const char *const *specs, size_t n)
{
	const struct eg_loc loc = { "fuzz", 0, 1 };
	size_t i;

	for (i = 0; i < n; i++) {
		cJSON *spec = cJSON_Parse(specs[i]);
		if (!spec || scorer_init(&scorers[i], spec, &loc))
			abort();
		cJSON_Delete(spec);
	}
}

void fuzz_scorers_run(const struct scorer *scorers, size_t n, const uint8_t *data, size_t size)
{
	/* the runner hands scorers a NUL-terminated copy of the output */
	char *out = xmalloc(size + 1);
	size_t i;

	memcpy(out, data, size);
	out[size] = '\0';
	for (i = 0; i < n; i++) {
		struct score_job job;
		struct score_result r;

		memset(&job, 0, sizeof(job));
		memset(&r, 0, sizeof(r));
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
}
