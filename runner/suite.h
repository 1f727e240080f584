/*
 * suite: loading and validating a suite directory (suite.json + cases.jsonl),
 * its content hash, and streaming its cases.
 *
 * A suite is validated in full at load (every case parsed, every scorer
 * compiled, ids checked for duplicates) but its cases are not kept: the run
 * reads them again one at a time through a case_reader, so memory does not
 * grow with the suite. Ownership: suite_load fills a struct eg_suite that
 * suite_release frees; case_reader_next fills a struct eg_case that
 * case_release frees (the reader does not keep it).
 *
 * A suite with "mutations" (adversarial only) holds, after each case of its
 * file, one variant per mutation (mutate.h): id "CASEID~NAME", the tag
 * "mutation:NAME" added, the same line; filters, limits and shards see the
 * variants as cases of their own. Case ids of such a suite may not hold '~'.
 */
#ifndef EG_SUITE_H
#define EG_SUITE_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "case.h"
#include "prompt.h"
#include "mutate.h"
#include "scorer.h"
#include "shard.h"

enum suite_kind {
	SUITE_GOLDEN,
	SUITE_ADVERSARIAL,
	SUITE_ONLINE,
};

const char *suite_kind_name(enum suite_kind k);

struct eg_suite {
	char *dir;                /* as given */
	char *manifest_path;      /* dir/suite.json */
	char *cases_path;         /* dir/cases.jsonl */
	char *name;
	char *version;
	enum suite_kind kind;
	char *description;        /* or NULL */
	char *system;             /* suite system prompt or NULL */
	cJSON *params;            /* suite model params (object) or NULL */
	cJSON *tools;             /* tools for every case (SPEC 12), or NULL: the target's */
	cJSON *tool_choice;       /* or NULL */
	cJSON *default_tool_result; /* the result of a call no fixture matches, or NULL */
	int max_steps;            /* agent loop steps, 0: the target's */
	long max_tokens_total;    /* agent loop tokens (prompt + completion, all steps), 0: none */
	struct scorer *scorers;   /* the manifest's scorers, applied to every case */
	size_t n_scorers;
	char **tags;              /* manifest tags, given to every case */
	size_t n_tags;
	int has_threshold;        /* 1: the manifest's "threshold" holds for cases without their own */
	double threshold;         /* in [0,1]: a case passes when its weighted score >= threshold */
	size_t n_cases;           /* every case in the file */
	size_t n_selected;        /* cases the filter keeps */
	char hash[65];            /* SHA-256 of the canonical content (manifest + cases) */
	char prompt_hash[65];     /* SHA-256 of what every case shares: system, params, scorers */
	struct prompt own_prompt; /* the manifest's "prompt" file (own_prompt.path NULL: none) */
	const struct prompt *prompt; /* the prompt its cases are rendered with: its own, else the
					target's (borrowed: outlives the suite), else NULL */
	const struct mutation **mutations; /* adversarial suites: "mutations", in manifest order */
	size_t n_mutations;
	unsigned long long seed;  /* "seed" of the mutations (0 when not given) */
};

/* which cases a run takes; a zeroed filter takes all */
struct case_filter {
	const char **tags;        /* keep a case having any of these tags (none: keep all) */
	size_t n_tags;
	void *id_re;              /* compiled pcre2_code* on case ids, or NULL */
	size_t limit;             /* at most this many per suite, 0 = no limit */
	struct shard shard;       /* only the cases of this shard (count 0: all) */
};

/* 0 ok; -1 after reporting "file:line: field: what"; either way suite_release frees what s holds */
int suite_load(struct eg_suite *s, const char *dir, const struct case_filter *f);
/*
 * the same, the cases rendered with target_prompt (the target's prompt file,
 * or NULL) unless the manifest names its own: a case lacking a value the
 * prompt uses is a load error naming the case's line and the prompt's. The
 * rendered prompt is part of each case's hash and of the suite's.
 */
int suite_load_prompted(struct eg_suite *s, const char *dir, const struct case_filter *f,
			const struct prompt *target_prompt);
void suite_release(struct eg_suite *s);
int case_filter_match(const struct case_filter *f, const struct eg_case *c);

struct case_reader {
	const struct eg_suite *suite;
	const struct case_filter *filter;
	FILE *fp;
	char *line;              /* getline buffer */
	size_t line_alloc;
	int lineno;
	size_t taken;            /* cases returned so far */
	size_t line_len;         /* of the line read last */
	size_t mut_next;         /* the next mutation of that line's case; n_mutations: none left */
	off_t off;               /* bytes of the file read so far */
	off_t line_off;          /* where the line read last starts */
};

/* where a case is in its suite's file: case_reader_at reads it again from there */
struct case_pos {
	off_t off;               /* the line's offset in cases.jsonl */
	int line;                /* its number, from 1 */
	size_t mut;              /* 0: the line's case; k + 1: its variant by mutation k */
};

int case_reader_open(struct case_reader *r, const struct eg_suite *s, const struct case_filter *f);
/* 1 and *c filled, 0 at the end, -1 on error (reported) */
int case_reader_next(struct case_reader *r, struct eg_case *c);
void case_reader_close(struct case_reader *r);
/* where the case case_reader_next returned last is */
void case_reader_pos(const struct case_reader *r, struct case_pos *pos);
/*
 * the case at pos (from case_reader_pos on a reader of the same suite), read
 * again without the filter: 1 and *c filled, -1 on error (reported, also when
 * the file changed and the line is no longer there)
 */
int case_reader_at(struct case_reader *r, const struct case_pos *pos, struct eg_case *c);
void case_release(struct eg_case *c);

/*
 * suites.lock: one line per suite, "name version sha256 dir", sorted by name.
 * lock_check returns 0 when every loaded suite agrees with the lock (a suite
 * missing from the lock is a warning), -1 after reporting each suite whose
 * content changed while its version did not.
 */
int lock_check(const char *lock_path, struct eg_suite *suites, size_t n);
/*
 * Rewrite the lock with the suites' lines (others keep theirs); -1 after
 * reporting, the lock unchanged, when it cannot be read or written or when a
 * suite's content changed while its version did not.
 */
int lock_write(const char *lock_path, struct eg_suite *suites, size_t n);

#endif
