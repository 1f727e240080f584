/*
 * gate: the gates of evalgate.json (SPEC 7): one table of gate types, the
 * gates parsed from the config's "gates" array, their evaluation over a
 * stored run, and the verdict that `run` and `gate` print and store.
 *
 * A gate type (struct gate_type) holds the metric's name and function
 * pointers; a gate (struct eg_gate) holds its type, what every gate has
 * (name, scope, limits, its line in the config) and the type's own settings
 * in ctx. The types are registered in one table (gate.c) and each lives in
 * runner/gates/gate_<name>.c (the rates, and the value metrics, are one file
 * per family); gate_types.h is what they share. Adding a type: write its
 * file, add its row to the table.
 *
 * Values come from the history, never from in-memory state, so `run` and a
 * later re-check of a stored run (`evalgate gate ID`) agree.
 *
 * Ownership: gates_load fills a struct gates that gates_release frees; it
 * borrows the config, which must outlive it. A struct gate_result is
 * released with gate_result_release. Strings written into caller buffers
 * are NUL-terminated and truncated to fit.
 */
#ifndef EG_GATE_H
#define EG_GATE_H

#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "history.h"
#include "stats.h"
#include "strbuf.h"

/* the statistic a distribution metric (score, latency_ms, tokens) is gated on */
enum gate_stat {
	STAT_NONE,                  /* the metric takes no stat */
	STAT_MEAN,
	STAT_MIN,
	STAT_MAX,
	STAT_P50,
	STAT_P90,
	STAT_P95,
	STAT_P99,
};
/* "mean", "p95", ...; "none" for STAT_NONE */
const char *gate_stat_name(enum gate_stat s);

struct gate_type;
struct gate_parse;            /* where a gate's spec is read (gate_types.h) */
struct gates;

/* one gate of the config */
struct eg_gate {
	const struct gate_type *type;
	char *name;               /* given, or made from stat, metric and scope */
	char *metric;             /* as written: "pass_rate", "score.judge" */
	char *suite;              /* scope: a suite name, or NULL for global */
	char *tag;                /* scope: a tag, or NULL */
	int line;                 /* line in the config, for messages */
	enum gate_stat stat;      /* STAT_NONE for metrics without one; default STAT_MEAN */
	char *scorer;             /* score.<scorer>: the label after "score."; drift: the
				     scorer whose mean is charted; else NULL */
	int has_min, has_max;     /* the limits, for the types that take them */
	double min, max;
	void *ctx;                /* the type's own settings (regression.h, drift.h), or NULL */
	int require_calibration;  /* -1: as the config's judge.require_calibration; 0; 1 */
	int has_min_kappa;        /* min_kappa was given on the gate */
	double min_kappa;         /* the kappa a judge's calibration must reach for this gate */
};

/* one evaluation of a gate over a run */
struct gate_result {
	struct gate_row row;      /* what is stored; its strings point into the gate, scope and detail */
	struct strbuf scope;      /* "all", "suite:NAME" or "tag:NAME" */
	struct strbuf detail;     /* the row's detail */
	void *state;              /* what the type's print needs beyond the row, or NULL */
	struct strbuf calibration; /* a judge-based gate's judges not calibrated well enough, or empty */
	int uncalibrated;         /* the gate failed for that alone (require_calibration) */
};

struct gate_type {
	const char *name;         /* the metric as written, or a prefix ending in '.' ("score.") */
	const char *shown;        /* in the list of known metrics; NULL: name */
	/* the spec fields the type reads besides name, suite, tag and metric; NULL-terminated */
	const char *const *fields;
	const char *suite_kind;   /* a gate's suite must be of this kind ("adversarial"), or NULL */
	int value_decimals;       /* digits after the point of a value in the verdict block; 0: 4 */
	/*
	 * Read the type's fields of p->spec into g (stat, limits, ctx); name,
	 * metric, scope and line are filled before. -1 after a located error.
	 */
	int (*parse)(struct eg_gate *g, const struct gate_parse *p);
	/*
	 * Fill res->row (value, op, threshold, pass, n, lo, hi) and res->detail
	 * for run_id; name, metric and scope are filled before, lo and hi are
	 * NaN. -1 after reporting a history error.
	 */
	int (*eval)(const struct eg_gate *g, struct history *h, const char *run_id,
		    const struct gates *gs, struct gate_result *res);
	/* the gate's lines in the verdict block; NULL: gate_print_row */
	void (*print)(FILE *out, const struct eg_gate *g, const struct gate_result *res, int color);
	void (*release)(struct eg_gate *g);              /* NULL: free(g->ctx) */
	void (*result_release)(struct gate_result *res); /* NULL: free(res->state) */
};

/* the gates of one config */
struct gates {
	struct eg_gate *v;        /* in config order */
	size_t n;
	const struct eg_config *cfg; /* borrowed: its path for messages, its registry */
	const char *baseline_override; /* run --baseline REF for every regression gate; borrowed */
	int suites_narrowed;      /* run --suite: gates on suites outside the run are skipped */
	const struct run_tally *tally; /* the run's counts made once (gates_apply_tallied), or
				     NULL: each gate counts in the history; borrowed */
};

/* the type of metric (as written), or NULL when no type takes it */
const struct gate_type *gate_type_find(const char *metric);

/*
 * Parse cfg->gates, each entry through its type, with errors located in the
 * config ("evalgate.json:7: gates[1].stat: ..."). 0, or -1 after reporting
 * the first error (gs then holds nothing to release).
 */
int gates_load(struct gates *gs, const struct eg_config *cfg);
void gates_release(struct gates *gs);

/*
 * Evaluate every gate for run_id, store the results with the run (appended
 * to any stored before), and print the verdict block to out (none when out
 * is NULL; colour when color). Returns the number of failed gates, or -1 on
 * error.
 */
int gates_apply(struct history *h, const char *run_id, const struct gates *gs, FILE *out,
		int color);
/*
 * gates_apply with the run's tally (history_run_tally, made after its last
 * result): the gates that need only counts of the whole run or of a suite
 * (pass_rate, error_rate, scorer_error_rate, the implicit scorer-error gate)
 * take them from it rather than reading the results again
 */
int gates_apply_tallied(struct history *h, const char *run_id, const struct gates *gs,
			const struct run_tally *tally, FILE *out, int color);
/* evaluate one gate of gs for run_id into res (release it either way); -1 after reporting */
int gate_eval(const struct eg_gate *g, struct history *h, const char *run_id,
	      const struct gates *gs, struct gate_result *res);
void gate_result_release(const struct eg_gate *g, struct gate_result *res);

/*
 * Check that every gate's suite is one of a run's suites (names[i], of kind
 * kinds[i]: "golden", "adversarial", "online"; with all 0 a suite not among
 * them is let be), and of the kind its type asks for. Errors name the config
 * file and the gate's line; -1 after reporting the first.
 */
int gates_check_suites(const struct gates *gs, const char *const *names,
		       const char *const *kinds, size_t n, int all);

/* a gate value as the verdict block prints it for metric (as written): "0.9000", "812.0" */
void gate_format_value(const char *metric, double v, char *buf, size_t size);

/* --- the verdict --- */

enum gate_verdict {
	VERDICT_PASS,             /* every gate passed */
	VERDICT_FAIL,             /* a gate failed */
	VERDICT_ERROR,            /* the run did not finish, or too many of its results errored */
};

/*
 * The stored results of a run by status, for gates_verdict: error counts the
 * call errors only (the gateway's), not the results that errored in a scorer
 * (gated by scorer_error_rate). -1 after reporting.
 */
int gates_gateway_counts(struct history *h, const char *run_id, struct counts *c);
/* the same from the run's tally */
void gates_tally_gateway_counts(const struct run_tally *t, struct counts *c);
/*
 * The verdict of a run with `failed` failed gates: an error when the run did
 * not finish (status) or when the share of errored results in c (NULL: not
 * known) is over max_error_rate, whatever its gates say; *why then says
 * which (the run status name, or "error rate").
 */
enum gate_verdict gates_verdict(enum run_status status, const struct counts *c,
				double max_error_rate, int failed, const char **why);
/* "pass", "fail" or "error", as stored with the run */
const char *gate_verdict_name(enum gate_verdict v);
/*
 * The last line of `run` and `gate`: "verdict: PASS", "verdict: FAIL (F of
 * N gates failed)" (in colour when color), or "verdict: ERROR (reason)".
 */
void gates_print_verdict(FILE *out, enum gate_verdict v, const char *reason, int failed,
			 size_t n_gates, int color);

#endif
