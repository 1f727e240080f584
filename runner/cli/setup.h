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
#include "suite.h"

struct setup {
	struct eg_config cfg;
	int have_cfg;            /* 0 when validate ran without a config */
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
void setup_release(struct setup *s);

#endif
