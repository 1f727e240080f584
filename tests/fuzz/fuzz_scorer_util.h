/*
 * fuzz_scorer_util: what the targets fuzzing a scorer on model output share:
 * scorers built once from a list of specs, then each input scored by all of
 * them, aborting when a result is incomplete (no reason, a reason of more
 * than one line, a score outside [0,1], a pass that is also an error).
 * Ownership: the scorers live until the process ends (libFuzzer's way).
 */
#ifndef EG_FUZZ_SCORER_UTIL_H
#define EG_FUZZ_SCORER_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "scorer.h"

/* build scorers[0..n) from specs; aborts when one does not load */
void fuzz_scorers_init(struct scorer *scorers, const char *const *specs, size_t n);
/* score a NUL-terminated copy of data with each of scorers[0..n) */
void fuzz_scorers_run(const struct scorer *scorers, size_t n, const uint8_t *data, size_t size);

#endif
