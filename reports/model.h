/*
 * model: the one report model every writer reads (JUnit aside, which reads
 * the history the same way), so HTML, Markdown and JSON never disagree.
 *
 * report_model_build() reads from the history, in memory: the run, its
 * suites with their case counts (each case's verdict over its repeats),
 * result counts, usage, the gates, the regression gate's comparison with
 * the baseline (parsed from the gate's stored detail, with the baseline's
 * per-suite counts) and each suite's pass-rate trend over the last
 * REPORT_TREND_RUNS runs of the same target. All of that is small. The
 * results themselves are never loaded at once: writers stream them with
 * report_model_results() and report_model_case().
 *
 * Ownership: the model owns every string in it and borrows the history
 * handle, which must stay open until report_model_release().
 */
#ifndef EG_MODEL_H
#define EG_MODEL_H

#include <stddef.h>

#include "history.h"
#include "strbuf.h"

#define REPORT_TREND_RUNS 30     /* runs of the same target in a trend */
#define REPORT_MAX_FLIPS 200     /* flips and unpaired cases kept from the detail */
#define REPORT_MAX_UNJUDGED 10   /* unjudged cases named next to the regression verdict */

struct report_point {
	char *run_id;
	char *started_at;
	struct counts c;             /* that run's case counts for the suite */
	int is_current;              /* the reported run */
	int is_baseline;             /* the regression gate's baseline */
};

struct report_suite {
	char *name, *version, *hash, *kind;
	struct counts cases;         /* case verdicts (over repeats) */
	struct counts results;       /* stored results, every repeat (JUnit's counts) */
	struct usage usage;
	int has_base;                /* the baseline run has this suite */
	struct counts base;          /* the baseline run's case counts */
	long flips_new, flips_fixed; /* flips of this suite listed in the detail */
	struct report_point *trend;  /* oldest first */
	size_t n_trend;
};

struct report_gate {
	char *name, *metric, *scope, *op;
	double value, threshold, lo, hi; /* NaN when undefined */
	int pass;
	long n;
	char *detail;                /* as stored (JSON or text), or NULL */
	char *calibration;           /* a judge-based gate's calibration warning or failure, or NULL */
};

struct report_flip {
	char *suite, *case_id;
	char *from, *to;             /* "pass", "fail" */
};

struct report_unpaired {
	char *suite, *case_id;
	char *why;                   /* "changed", "only_in_baseline", "only_in_candidate" */
};

struct report_regression {
	int present;                 /* the run has a regression gate with a readable detail */
	int pass;                    /* that gate's verdict */
	char *baseline;              /* baseline run id */
	char *baseline_ref;          /* as the config wrote it, or NULL */
	int have_base_run;           /* the baseline run is in this history */
	struct run_info base_run;
	long pairs, new_failures, fixed;
	long only_in_candidate, only_in_baseline, changed, flaky_excluded;
	double p_value, diff, diff_lo, diff_hi; /* NaN when absent */
	double alpha, max_new_failures;         /* NaN when not configured */
	struct report_flip *flips;   /* new failures first, then fixed */
	size_t n_flips;
	int flips_truncated;
	struct report_unpaired *unpaired;
	size_t n_unpaired;
	int unpaired_truncated;
	/* cases no baseline run judged (detail "unjudged", the first of "unjudged_cases") */
	long unjudged;
	struct report_unpaired *unjudged_cases; /* why "unjudged" */
	size_t n_unjudged_cases;
	/* flips flip confirmation discounted as flaky in the history (detail "confirm") */
	long discounted;
	double flaky_p;              /* the estimate under which a case is flaky; NaN: none */
	/* the gate's estimate by simulation (detail "power"); has_power 0 without one */
	int has_power;
	long power_runs, power_n, power_prs;
	double false_block, power, power_drop; /* shares of the simulated PRs; the drop */
};

/* attack success of the adversarial suites over the cases of one tag */
struct report_attack {
	char *tag;                   /* "mutation:rot13", "owasp:LLM01"; "all" for every case */
	struct counts c;             /* adversarial case verdicts: a fail is an attack that worked */
};

/* a judge that scored the run (one judge key) and its newest calibration */
struct report_judge {
	char *scorer;                /* the judge scorer's label (the first, by label, with the key) */
	char key[65];                /* the judge key */
	int calibrated;              /* cal holds the key's newest calibration */
	struct calibration cal;      /* its scorer is NULL */
};

struct report_model {
	struct history *h;           /* borrowed */
	struct run_info run;
	struct report_suite *suites; /* name order */
	size_t n_suites;
	struct counts cases;         /* over every suite */
	struct counts results;
	struct usage usage;
	struct report_gate *gates;   /* in the order the run applied them */
	size_t n_gates;
	long gates_failed;
	struct report_regression reg;
	/* adversarial suites: "all", then per mutation, then per OWASP tag; none without them */
	struct report_attack *attacks;
	size_t n_attacks;
	struct report_judge *judges; /* the run's judge keys, by scorer label; none without judges */
	size_t n_judges;
	struct run_timeline timeline; /* the gateway's concurrency timeline; no pools when not stored */
};

/* ref: a run id, a unique prefix or "latest"; 0, or -1 after an error */
int report_model_build(struct report_model *m, struct history *h, const char *ref);
void report_model_release(struct report_model *m);

/* "pass", "fail", "error" (an unfinished run), or "none" (not gated yet) */
const char *report_verdict(const struct report_model *m);
/* what a report says of a run stopped at its spend cap (status budget_exhausted) */
extern const char report_budget_note[];
/*
 * attack success: failed / (passed + failed) of adversarial cases, NaN when
 * both are 0; errors are neither breaches nor defences and are shown apart
 */
double report_attack_rate(const struct counts *c);
/*
 * A judge's calibration in one line of plain text (writers escape it):
 * "kappa 0.583 (95% interval -0.087 to 1.000), n 10, agreement 0.800,
 * self-consistency over 3 samples: all agree 0.700, pairwise 0.800, Fleiss'
 * kappa 0.593; 2026-12-06T18:30:01Z", or "never calibrated (evalgate calibrate)"
 */
void report_judge_text(struct strbuf *sb, const struct report_judge *j);
/*
 * "This gate blocks about 3% of unchanged PRs; it catches a 5-point drop 85%
 * of the time (...)." into sb: plain text, no markup; nothing without an estimate
 */
void report_power_sentence(struct strbuf *sb, const struct report_regression *r);
/*
 * "2 cases unjudged (errored in the baseline and in every older run): s/a,
 * s/b." into sb, each "suite/case_id" appended by esc (the report's escaper);
 * nothing when none was unjudged
 */
void report_unjudged_sentence(struct strbuf *sb, const struct report_regression *r,
			      void (*esc)(struct strbuf *sb, const char *s));
/* "3 flips on cases flaky in the history (p < 0.78) discounted." (plain text); or nothing */
void report_discounted_sentence(struct strbuf *sb, const struct report_regression *r);
/* passed / (passed + failed), NaN when both are 0 */
double report_pass_rate(const struct counts *c);

/* stream the stored results of suite i of the run, in report order */
int report_model_results(const struct report_model *m, size_t i,
			 int (*fn)(const struct stored_result *r, void *arg), void *arg);
/*
 * the same without the cases' texts (input, context, expected NULL), which
 * report_model_texts() looks up for the few results that show them
 */
int report_model_results_without_texts(const struct report_model *m, size_t i,
				       int (*fn)(const struct stored_result *r, void *arg),
				       void *arg);
/* a result's case texts into row (see history_case_texts): 0, 1 when none, -1 */
int report_model_texts(const struct report_model *m, const char *case_hash,
		       struct result_row *row, struct strbuf *mem);
/* the same, only the failed and errored results */
int report_model_failed(const struct report_model *m, size_t i,
			int (*fn)(const struct stored_result *r, void *arg), void *arg);
/* stream the results of one case in the run (base 0) or in the baseline run (base 1) */
int report_model_case(const struct report_model *m, int base, const char *suite,
		      const char *case_id,
		      int (*fn)(const struct stored_result *r, void *arg), void *arg);

#endif
