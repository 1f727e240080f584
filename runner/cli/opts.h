/*
 * opts: options are declared in a table, not parsed by hand; the same table
 * prints the help text, so the two cannot drift apart.
 *
 * Ownership: string values point into argv (never freed); list values are a
 * malloc'd array of pointers into argv, freed with opt_list_release.
 */
#ifndef EG_OPTS_H
#define EG_OPTS_H

#include <stddef.h>
#include <stdio.h>

enum opt_kind {
	OPT_END,
	OPT_FLAG,   /* int *: set to 1 */
	OPT_COUNT,  /* int *: +1 each time (e.g. -v) */
	OPT_STRING, /* const char **: last one wins */
	OPT_INT,    /* long *: decimal, checked range [min,max] */
	OPT_LIST,   /* struct opt_list *: repeatable */
};

struct opt_list {
	const char **v; /* values in order */
	size_t n;       /* how many */
	size_t alloc;   /* allocated slots */
};
void opt_list_release(struct opt_list *l);

struct option {
	enum opt_kind kind;
	char short_name;       /* 0 when none */
	const char *long_name; /* without the leading "--" */
	void *value;           /* where the value goes; see enum opt_kind */
	const char *argh;      /* argument name in help, NULL for flags */
	const char *help;
	long min, max;         /* OPT_INT range */
};

#define OPT_FLAG_(s, l, v, h) { OPT_FLAG, (s), (l), (v), NULL, (h), 0, 0 }
#define OPT_COUNT_(s, l, v, h) { OPT_COUNT, (s), (l), (v), NULL, (h), 0, 0 }
#define OPT_STRING_(s, l, v, a, h) { OPT_STRING, (s), (l), (v), (a), (h), 0, 0 }
#define OPT_INT_(s, l, v, a, h, lo, hi) { OPT_INT, (s), (l), (v), (a), (h), (lo), (hi) }
#define OPT_LIST_(s, l, v, a, h) { OPT_LIST, (s), (l), (v), (a), (h), 0, 0 }
#define OPT_END_() { OPT_END, 0, NULL, NULL, NULL, NULL, 0, 0 }

/* options shared by every command (SPEC 2) */
struct common_opts {
	const char *config;  /* --config, default ./evalgate.json */
	const char *history; /* --history, default .evalgate/history.db */
	int quiet;           /* -q */
	int verbose;         /* -v */
	const char *color;   /* auto|always|never */
};
#define OPT_COMMON(c)                                                                     \
	OPT_STRING_(0, "config", &(c)->config, "FILE", "config file (default ./evalgate.json)"), \
	OPT_STRING_(0, "history", &(c)->history, "FILE",                                  \
		    "history database (default .evalgate/history.db)"),                   \
	OPT_FLAG_('q', "quiet", &(c)->quiet, "print only errors and the verdict"),        \
	OPT_COUNT_('v', "verbose", &(c)->verbose, "print more (retries, cache hits)"),    \
	OPT_STRING_(0, "color", &(c)->color, "WHEN", "auto, always or never")

void common_opts_init(struct common_opts *c);
/* apply -q/-v to the process (eg_verbosity); -1 on a bad --color */
/* 1 when --config was given (then a missing file is an error), 0 for the default */
int common_opts_config_given(const struct common_opts *c);
int common_opts_apply(struct common_opts *c);
/* 1 when colour should be used on fp */
int common_opts_color(const struct common_opts *c, FILE *fp);

/*
 * Parse argv (argv[0] is the command name). Options may come before or after
 * operands; "--" ends options. Operands are moved to the front of argv and
 * their count returned; -1 after an error message (the caller exits 2).
 * "-h"/"--help" prints the usage and returns -2.
 */
int parse_options(int argc, char **argv, const struct option *opts, const char *usage);
void print_usage(FILE *fp, const char *usage, const struct option *opts);

#endif
