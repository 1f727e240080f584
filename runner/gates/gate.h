/*
 * gate: turns a stored run into gate results and a verdict (SPEC 7).
 * Values come from the history, never from in-memory state, so `run` and a
 * later re-check of a stored run (`evalgate gate ID`) agree.
 *
 * Ownership: nothing here keeps a pointer after it returns; strings written
 * into caller buffers are NUL-terminated and truncated to fit.
 */
#ifndef EG_GATE_H
#define EG_GATE_H

#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "history.h"
#include "stats.h"

/*
 * Evaluate every configured gate for run_id, store the results with the run
 * (appended to any stored before), and print the verdict block to out (none
 * when out is NULL; colour when color). Returns the number of failed gates,
 * or -1 on error.
 */
int gates_apply(struct history *h, const char *run_id, const struct eg_config *cfg, FILE *out,
		int color);

/*
 * Check that every gate's suite is one of a run's suites (names[i], of kind
 * kinds[i]: "golden", "adversarial", "online"; with all 0 a suite not among
 * them is let be), and that attack_success_rate gates name adversarial
 * suites. Errors name the config file and the gate's line; -1 after
 * reporting the first.
 */
int gates_check_suites(const struct eg_config *cfg, const char *const *names,
		       const char *const *kinds, size_t n, int all);

/* a gate value as the verdict block prints it for metric (as written): "0.9000", "812.0" */
void gate_format_value(const char *metric, double v, char *buf, size_t size);

#endif
