/*
 * libFuzzer target: a JSON Schema and an instance for the json-schema
 * scorer. The input is the schema's file, a line "---", then the model
 * output. The schema is loaded as a suite's schema file (a load error is
 * fine: it must be reported, not crash); when it loads, the output is
 * scored, which must never crash, leak or leave its result incomplete.
 *
 * Built by -DEG_FUZZ=ON (see README.md here); ./dev.sh fuzz runs it on its
 * seeds in corpus/json_schema/.
 */
#define _GNU_SOURCE /* memmem */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fuzz_util.h"
#include "scorer.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *sep = memmem(data, size, "\n---\n", 5);
	size_t schema_len = sep ? (size_t)(sep - (const char *)data) : size;
	size_t out_len = sep ? size - schema_len - 5 : 0;
	struct strbuf dir = STRBUF_INIT, path = STRBUF_INIT, suite = STRBUF_INIT;
	struct eg_loc loc = { NULL, 3, 1 };
	struct scorer s;
	cJSON *spec;
	char *out;

	eg_verbosity = -1;
	fuzz_dir_make(&dir);
	fuzz_file_write(&path, dir.buf, "schema.json", data, schema_len);
	strbuf_addf(&suite, "%s/suite.json", dir.buf);
	loc.file = suite.buf;
	spec = cJSON_CreateObject();
	cJSON_AddStringToObject(spec, "type", "json-schema");
	cJSON_AddStringToObject(spec, "schema", "schema.json");
	if (!scorer_init(&s, spec, &loc)) {
		struct score_job job;
		struct score_result r;

		/* the runner hands scorers a NUL-terminated copy of the output */
		out = xmalloc(out_len + 1);
		memcpy(out, sep ? sep + 5 : "", out_len);
		out[out_len] = '\0';
		memset(&job, 0, sizeof(job));
		job.output = out;
		job.output_len = out_len;
		if (scorer_score(&s, &job, &r) != SCORE_DONE || !r.reason ||
		    strchr(r.reason, '\n') || !(r.score >= 0 && r.score <= 1) ||
		    (r.pass && r.error))
			abort();
		score_result_release(&r);
		score_job_release(&s, &job);
		scorer_release(&s);
		free(out);
	}
	cJSON_Delete(spec);
	fuzz_dir_remove(dir.buf);
	strbuf_release(&dir);
	strbuf_release(&path);
	strbuf_release(&suite);
	return 0;
}
