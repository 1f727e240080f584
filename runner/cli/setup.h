/*
 * setup: what run and validate share before anything is called: the config
 * and its gates, the suites (resolved against the config's directory), the
 * lock check and the case filter. Everything is checked here; any error
 * means exit 2 with nothing written. Ownership: setup_release frees all of it.
 */
#ifndef EG_SETUP_H
#define EG_SETUP_H

#include "config.h"
#include "gate.h"
#include "opts.h"
#include "prompt.h"
#include "suite.h"
#include "target.h"

struct setup {
	struct eg_config cfg;
	int have_cfg;            /* 0 when validate ran without a config */
	struct target target;    /* the config's target, checked by its type (when have_cfg) */
	struct prompt prompt;    /* the target's prompt file (prompt.path NULL: none) */
	struct gates gates;      /* the config's gates (none without a config) */
	struct eg_suite *suites;
	size_t n_suites;
	char *lock_path;         /* suites/suites.lock beside the config */
	struct case_filter filter;
};

struct setup_args {
	const struct common_opts *common;
	const struct opt_list *suite_dirs; /* --suite, or empty for the config's list */
	int config_optional;     /* validate --suite works without a config */
	const struct opt_list *tags;       /* --filter-tag */
	const char *filter_id;   /* --filter-id REGEX or NULL */
	long limit;              /* --limit, 0 none */
	struct shard shard;      /* --shard I/N, count 0 none */
};

int setup_load(struct setup *s, const struct setup_args *a);
/* the same with the config's text given (a variant's merged config, variants.h) */
int setup_load_text(struct setup *s, const struct setup_args *a, const char *text, size_t len);
/*
 * target.prompt of cfg (a file relative to the config's directory) into p;
 * 0 when there is none (p zeroed), -1 after a located error
 */
int setup_target_prompt(const struct eg_config *cfg, struct prompt *p);
void setup_release(struct setup *s);
/*
 * calibrate --samples K: the setups loaded after this call in the process
 * have their judges ask K times per case where a judge's spec sets no
 * samples, in place of the config's judge.samples; 0 undoes it.
 */
void setup_judge_samples(int k);

#endif
