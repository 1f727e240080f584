/*
 * variants: the same suites against several targets, prompts or models in
 * one `run` (SPEC 11). A variant is a name and an override merged over the
 * config's target: {"target": {...members...}, "prompt": "FILE"}. They come
 * from `run --variant NAME=JSON-or-FILE` (repeatable), else from the
 * config's "variants" list. Each variant is run in turn, in order, through
 * one gateway client (its connections kept), one response and judge cache
 * and one progress line labelled with its name; each is one stored run,
 * gated on its own. The matrix then sets them side by side: pass rate with
 * its Wilson 95% interval, flips against the first variant, cost and
 * latency p50/p95.
 *
 * Ownership: variants_load fills a struct variants that variants_release
 * frees; variant_config_text returns a string the caller frees.
 */
#ifndef EG_VARIANTS_H
#define EG_VARIANTS_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "history.h"
#include "opts.h"

struct variant {
	char *name;               /* [A-Za-z0-9._-]+, unique */
	cJSON *override;          /* {"target": {...}, "prompt": "..."}, owned */
};

struct variants {
	struct variant *v;
	size_t n, alloc;
};

/* --variant values (opts) when given, else cfg's "variants"; -1 after a located error */
int variants_load(struct variants *vs, const struct eg_config *cfg, const struct opt_list *opts);
void variants_release(struct variants *vs);
/* cfg's document with v merged over its target and without "variants", as JSON text */
char *variant_config_text(const struct eg_config *cfg, const struct variant *v);

struct setup;
struct setup_args;
/* load variant v's setup (the merged config, its target, prompt and suites) into s; -1 after reporting */
int variant_setup(struct setup *s, const struct setup_args *a, const struct eg_config *cfg,
		  const struct variant *v);
/* validate: every variant of cfg loads; -1 after reporting */
int variants_validate(const struct eg_config *cfg, const struct setup_args *a);

/* one variant's run, for the matrix */
struct variant_run {
	const char *name;
	char run_id[64];          /* "" when it could not be stored */
	int exit_code;            /* what the run alone would have exited with */
};

/*
 * The matrix on stdout (unless quiet) and, for each path given, as Markdown,
 * self-contained HTML and JSON. 0, or -1 after reporting.
 */
int variants_matrix(struct history *h, const struct variant_run *runs, size_t n, int quiet,
		    const char *md, const char *html, const char *json);

#endif
