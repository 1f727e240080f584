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

#include "fuzz_scorer_util.h"
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ready) {
		fuzz_scorers_init(scorers, specs, N_SPECS);
		ready = 1;
	}
	fuzz_scorers_run(scorers, N_SPECS, data, size);
	return 0;
}
