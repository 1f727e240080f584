/*
 * scorer_helper: what the scorer unit tests share: a scorer made from a spec
 * written as JSON text, a spec error caught with what it printed, one output
 * scored with the checks every finished result must pass.
 *
 * A test program that uses these helpers defines the place its specs are said
 * to come from, which the located messages it checks name:
 *   struct eg_loc th_scorer_loc = { "suites/x/cases.jsonl", 17, 2 };
 * (it may change it between tests: Criterion runs each test in a process).
 *
 * Ownership: results are the caller's (score_result_release()); scorers made
 * here are the caller's (scorer_release()). Nothing returns an error but the
 * scorer's own init: a helper whose work fails fails the test with a Criterion
 * assertion naming the spec.
 */
#ifndef EG_TEST_SCORER_HELPER_H
#define EG_TEST_SCORER_HELPER_H

#include <stddef.h>

#include "scorer.h"

/* defined by the test program: the place scorer_init() is given */
extern struct eg_loc th_scorer_loc;

/* the latency the th_score_*() helpers give a job (only the latency scorer reads it) */
#define TH_LATENCY_MS 100

/*
 * scorer_init() of s from json at th_scorer_loc; returns what it returns.
 * The test fails when json is not JSON (a mistake in the test, not a spec error).
 */
int th_scorer_init(struct scorer *s, const char *json);
/* th_scorer_init() that must succeed */
void th_scorer_init_ok(struct scorer *s, const char *json);
/*
 * th_scorer_init() of a scorer released again at once, with what it printed
 * on stderr (th_stderr_take()) copied to msg (size bytes, truncated); returns
 * what scorer_init() returned
 */
int th_scorer_try(const char *json, char *msg, size_t size);

/*
 * Score job with s in one step (s must not wait on a call), then release the
 * job: the caller fills output, output_len, kase, latency_ms (and the rest of
 * the job, zero otherwise). The test fails unless r has a one-line reason and a
 * score in [0, 1].
 */
void th_score_job(const struct scorer *s, struct score_job *job, struct score_result *r);
/* th_score_job() of len bytes of out (NULs allowed), no case, TH_LATENCY_MS */
void th_score_bytes(const struct scorer *s, const char *out, size_t len, struct score_result *r);
/* th_score_bytes() of a NUL-terminated out */
void th_score_str(const struct scorer *s, const char *out, struct score_result *r);
/* th_score_bytes() with a scorer made from json (th_scorer_init_ok()) and released again */
void th_score_spec(const char *json, const char *out, size_t len, struct score_result *r);

#endif
