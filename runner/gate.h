/*
 * gate: turns a stored run into gate results and a verdict (SPEC 7).
 * Values come from the history, never from in-memory state, so `run` and a
 * later re-check of a stored run agree.
 */
#ifndef EG_GATE_H
#define EG_GATE_H

#include <stdio.h>

#include "config.h"
#include "history.h"
#include "stats.h"


/*
 * Evaluate every configured gate for run_id, store the results with the run,
 * and print the verdict block to out (colour when color). Returns the number
 * of failed gates, or -1 on error.
 */
int gates_apply(struct history *h, const char *run_id, const struct eg_config *cfg, FILE *out,
		int color);

#endif
