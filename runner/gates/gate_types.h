/*
 * gate_types: private to runner/gates/. What the gate types (gate_<name>.c)
 * share: where a spec is read, and the helpers their parse, eval and print
 * use.
 *
 * Adding a type: write runner/gates/gate_<name>.c defining a const struct
 * gate_type gate_<name>, and add X(<name>) to GATE_TYPES in gate.c.
 *
 * Ownership: the helpers fill the gate or row they are given; nothing is
 * kept after they return.
 */
#ifndef EG_GATE_TYPES_H
#define EG_GATE_TYPES_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "gate.h"
#include "jsonutil.h"

/* where a gate's spec is read, for type->parse and the parse helpers */
struct gate_parse {
	const struct jdoc *doc;   /* the config, for located errors */
	const cJSON *spec;        /* the gate's object */
	int idx;                  /* its index in "gates": fields are named gates[idx].KEY */
	const struct eg_config *cfg; /* the rest of the config (prices, target) */
};

/* the fields of the gates with limits (gate_parse_limits); window and scorer are drift's */
extern const char *const gate_limit_fields[];

/* "gates[idx].KEY" into buf, for located errors; key "" gives the prefix "gates[idx].",
 * key NULL the gate itself "gates[idx]" */
const char *gate_field(const struct gate_parse *p, const char *key, char *buf, size_t size);
/* "stat", "min" and "max" of the spec: a stat only when has_stat (default mean); limits in [0, hi] */
int gate_parse_limits(struct eg_gate *g, const struct gate_parse *p, int has_stat, double hi);
/*
 * gate_parse_limits, then what every gate with limits needs: neither window
 * nor scorer (drift's), min or max or both, and min <= max
 */
int gate_parse_bounded(struct eg_gate *g, const struct gate_parse *p, int has_stat, double hi);
/* the name of a gate the config does not name: "[STAT ]METRIC[ [suite S]][ [tag T]]" */
void gate_name_default(struct eg_gate *g);

/* the stat s of v[0..n-1] (mean for STAT_NONE); sorts v; NaN when n == 0 (gate_values.c) */
double gate_stat_of(enum gate_stat s, double *v, size_t n);

/* op, threshold and pass of row from the gate's min and max; an undefined value fails */
void gate_check_limits(const struct eg_gate *g, struct gate_row *row);
/* details of the gates with limits are cut to GATE_DETAIL_MAX - 1 bytes, as they always were */
#define GATE_DETAIL_MAX 1024
void gate_detail_cut(struct strbuf *detail);

 /*
 * The judges behind a judge-based gate (SPEC 14; gate_kappa.c): for every
 * judge key among the judge results in g's scope (only g->scorer's when it
 * names one), the newest calibration; those never calibrated, with an
 * undefined kappa or a kappa under min_kappa are described in note
 * ("scorer J (key K) was never calibrated ...", "; " between them), the
 * others not at all. 0, or -1 after reporting a history error.
 */
int gate_calibration_note(const struct eg_gate *g, struct history *h, const char *run_id,
			  double min_kappa, struct strbuf *note);

/* "  PASS  NAME..." (green or red when color): how every gate line starts */
void gate_print_head(FILE *out, const struct eg_gate *g, int pass, int color);
/* the default print: the value, the limit, the detail and any interval; a second limit below */
void gate_print_row(FILE *out, const struct eg_gate *g, const struct gate_result *res, int color);

#endif
