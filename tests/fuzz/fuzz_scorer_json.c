/*
 * libFuzzer target: model output fed to the json scorer, which must never
 * crash, leak or leave its result incomplete whatever the bytes.
 *
 * Built by -DEG_FUZZ=ON (see README.md here); ./dev.sh fuzz runs it on its
 * seeds in corpus/scorer_json/.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_scorer_util.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const specs[] = {
	"{\"type\":\"json\"}",
	"{\"type\":\"json\",\"required\":[\"id\",\"a\"]}",
	"{\"type\":\"json\",\"path\":\"a.b.0.c\",\"equals\":{\"x\":[1,\"y\",null]}}",
	"{\"type\":\"json\",\"path\":\"0.1\",\"negate\":true}",
	"{\"type\":\"json\",\"equals\":[1,2.5,\"\\u00e9\"]}",
};

#define N_SPECS (sizeof(specs) / sizeof(specs[0]))

static struct scorer scorers[N_SPECS];
static int ready;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ready) {
		fuzz_scorers_init(scorers, specs, N_SPECS);
		ready = 1;
	}
	fuzz_scorers_run(scorers, N_SPECS, data, size);
	return 0;
}
