/*
 * merge: combine the histories of a sharded run (`run --shard I/N` on N
 * machines) into one run in the --history database.
 *
 * Each input contributes its newest sharded run. The shards must agree on
 * everything that makes their results comparable: the config hash, the
 * repeat settings, the shard count and every suite's name, version and
 * content hash; each index 1..N must appear once (--allow-partial accepts
 * missing ones) and no case may come from two shards. Any disagreement is a
 * usage error (exit 2) and nothing is written. The merged run gets a new id,
 * no shard, every result and score of the shards, and the status "finished"
 * ("interrupted" when a shard was interrupted or never finished, "failed"
 * when a shard failed); it is written in one transaction. Gates are not
 * applied here: `evalgate gate ID` does that for the merged run.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "error.h"
#include "hashmap.h"
#include "history.h"
#include "opts.h"
#include "run.h"
#include "shard.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

static const char usage[] =
	"usage: evalgate merge SHARD.db... [--history OUT] [--allow-partial]";

struct suite_rec {
	char *name, *version, *hash, *kind;
};

/* one input database and the sharded run taken from it */
struct merge_src {
	const char *path;              /* as given */
	struct history *h;             /* read-only */
	struct run_info ri;            /* its newest sharded run */
	struct shard sh;               /* parsed ri.shard */
	struct suite_rec *suites;      /* the run's suites, in name order */
	size_t n_suites, suites_alloc;
};

/*
 * record in seen (a string map on "suite\0id") that the case comes from
 * source src; returns src when it is new or already came from src (a
 * repeat), else the other source
 */
static unsigned case_seen(struct hashmap *seen, const char *suite, const char *id, unsigned src)
{
	struct strbuf key = STRBUF_INIT;
	uint64_t *from;
	int added;

	strbuf_addstr(&key, suite);
	strbuf_addch(&key, '\0');
	strbuf_addstr(&key, id);
	from = hashmap_put_str(seen, key.buf, key.len, &added);
	if (added)
		*from = src;
	strbuf_release(&key);
	return (unsigned)*from;
}

static int eq_null(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return !strcmp(a, b);
}

static const char *or_none(const char *s)
{
	return s ? s : "(none)";
}

static void merge_src_release(struct merge_src *m)
{
	size_t i;

	for (i = 0; i < m->n_suites; i++) {
		free(m->suites[i].name);
		free(m->suites[i].version);
		free(m->suites[i].hash);
		free(m->suites[i].kind);
	}
	free(m->suites);
	run_info_release(&m->ri);
	history_close(m->h);
	memset(m, 0, sizeof(*m));
}

static int take_suite(const struct run_suite *s, void *arg)
{
	struct merge_src *m = arg;
	struct suite_rec *r;

	XGROW(m->suites, m->n_suites + 1, m->suites_alloc);
	r = &m->suites[m->n_suites++];
	r->name = xstrdup(s->name ? s->name : "");
	r->version = s->version ? xstrdup(s->version) : NULL;
	r->hash = s->hash ? xstrdup(s->hash) : NULL;
	r->kind = s->kind ? xstrdup(s->kind) : NULL;
	return 0;
}

/* open one input and read its sharded run and suites */
static int load_src(struct merge_src *m, const char *path)
{
	struct run_filter newest_shard = { .sharded = 1, .newest_first = 1 };
	int rc;

	memset(m, 0, sizeof(*m));
	m->path = path;
	m->h = history_open_ro(path);
	if (!m->h)
		return -1;
	rc = history_run_first(m->h, &newest_shard, &m->ri);
	if (rc < 0)
		return -1;
	if (rc)
		return error("%s: no sharded run in this history (make one with run --shard I/N)",
			     path);
	if (shard_parse(m->ri.shard, &m->sh))
		return error("%s: run %s has an unreadable shard '%s'", path, m->ri.id, m->ri.shard);
	return history_run_suites(m->h, m->ri.id, take_suite, m);
}

static int same_suites(const struct merge_src *a, const struct merge_src *b)
{
	size_t i, k;

	for (i = 0; i < b->n_suites; i++) {
		const struct suite_rec *s = &b->suites[i];

		for (k = 0; k < a->n_suites && strcmp(a->suites[k].name, s->name); k++)
			;
		if (k == a->n_suites)
			return error("%s: suite %s is not in %s: shards of different suite lists "
				     "cannot be merged", b->path, s->name, a->path);
		if (!eq_null(a->suites[k].version, s->version) || !eq_null(a->suites[k].hash, s->hash))
			return error("%s: suite %s is version %s, sha256 %.12s, but in %s version %s, "
				     "sha256 %.12s: shards of different suite contents cannot be merged",
				     b->path, s->name, or_none(s->version), or_none(s->hash), a->path,
				     or_none(a->suites[k].version), or_none(a->suites[k].hash));
	}
	for (k = 0; k < a->n_suites; k++) {
		for (i = 0; i < b->n_suites && strcmp(b->suites[i].name, a->suites[k].name); i++)
			;
		if (i == b->n_suites)
			return error("%s: suite %s is not in %s: shards of different suite lists "
				     "cannot be merged", a->path, a->suites[k].name, b->path);
	}
	return 0;
}

/* every refusal of the header comment; 0 when the shards can be merged */
static int check_sources(struct merge_src *src, size_t n, int allow_partial, const char *out)
{
	const struct merge_src *first = &src[0];
	struct strbuf missing = STRBUF_INIT;
	unsigned count = first->sh.count;
	size_t *owner = NULL, i, k, n_missing = 0;
	int ret = -1;

	for (i = 0; i < n; i++) {
		const struct merge_src *m = &src[i];

		if (m->sh.count != count) {
			error("%s is shard %s but %s is shard %s: the shard counts differ", first->path,
			      first->ri.shard, m->path, m->ri.shard);
			goto out;
		}
		if (!eq_null(m->ri.config_hash, first->ri.config_hash)) {
			error("%s: run %s was made with config %.12s but %s's run %s with config %.12s: "
			      "shards of different configs cannot be merged", m->path, m->ri.id,
			      or_none(m->ri.config_hash), first->path, first->ri.id,
			      or_none(first->ri.config_hash));
			goto out;
		}
		if (m->ri.repeats != first->ri.repeats ||
		    !eq_null(m->ri.repeat_policy, first->ri.repeat_policy)) {
			error("%s: run %s repeats cases %d times (%s) but %s's run %s %d times (%s): "
			      "shards of different repeat settings cannot be merged", m->path, m->ri.id,
			      m->ri.repeats, or_none(m->ri.repeat_policy), first->path, first->ri.id,
			      first->ri.repeats, or_none(first->ri.repeat_policy));
			goto out;
		}
		if (i && same_suites(first, m))
			goto out;
	}
	/* owner[j]: 1 + the input holding shard j + 1, 0 when none does */
	owner = xcalloc(count, sizeof(*owner));
	for (i = 0; i < n; i++) {
		k = src[i].sh.index - 1;
		if (owner[k]) {
			error("%s and %s are both shard %s (runs %s and %s)", src[owner[k] - 1].path,
			      src[i].path, src[i].ri.shard, src[owner[k] - 1].ri.id, src[i].ri.id);
			goto out;
		}
		owner[k] = i + 1;
	}
	for (k = 0; k < count; k++)
		if (!owner[k]) {
			if (n_missing < 8)
				strbuf_addf(&missing, "%s%zu/%u", n_missing ? ", " : "", k + 1, count);
			n_missing++;
		}
	if (n_missing) {
		if (!allow_partial) {
			error("shard%s %s%s %s missing: merge needs every shard 1..%u "
			      "(--allow-partial merges the others)", n_missing == 1 ? "" : "s",
			      missing.buf, n_missing > 8 ? " and more" : "",
			      n_missing == 1 ? "is" : "are", count);
			goto out;
		}
		warning("merging %zu of %u shards: shard%s %s%s missing (--allow-partial)", n, count,
			n_missing == 1 ? "" : "s", missing.buf, n_missing > 8 ? " and more" : "");
	}
	for (i = 0; i < n; i++) {
		char *a = realpath(src[i].path, NULL), *b = realpath(out, NULL);
		int same = a && b && !strcmp(a, b);

		free(a);
		free(b);
		if (same) {
			error("--history %s is one of the shards; merge into another file", out);
			goto out;
		}
	}
	ret = 0;
out:
	free(owner);
	strbuf_release(&missing);
	return ret;
}

struct copy_ctx {
	struct history *out;
	const char *run_id;            /* the merged run */
	struct merge_src *src;         /* every input */
	unsigned cur;                  /* the input being copied */
	struct hashmap seen;           /* the source of each case copied */
	long copied;
	int failed;
};

static int copy_result(const struct stored_result *r, void *arg)
{
	struct copy_ctx *c = arg;
	unsigned from = case_seen(&c->seen, r->row.suite, r->row.case_id, c->cur);

	if (from != c->cur) {
		error("case %s/%s is in shard %s (%s) and in shard %s (%s): a case may be in one "
		      "shard only", r->row.suite, r->row.case_id, c->src[from].ri.shard,
		      c->src[from].path, c->src[c->cur].ri.shard, c->src[c->cur].path);
		c->failed = 1;
		return 1;
	}
	if (history_add_result(c->out, c->run_id, &r->row)) {
		c->failed = 1;
		return 1;
	}
	c->copied++;
	return 0;
}

static enum run_status merged_status(const struct merge_src *src, size_t n)
{
	enum run_status st = RUN_FINISHED;
	size_t i;

	for (i = 0; i < n; i++) {
		if (src[i].ri.status == RUN_FAILED)
			return RUN_FAILED;
		/* a shard stopped at its spend cap makes the merged run one too */
		if (src[i].ri.status == RUN_BUDGET_EXHAUSTED)
			st = RUN_BUDGET_EXHAUSTED;
		else if (src[i].ri.status != RUN_FINISHED && st == RUN_FINISHED)
			st = RUN_INTERRUPTED;
	}
	return st;
}

/* write the merged run into out in one transaction; -1 (rolled back) on error */
static int write_merged(struct history *out, struct merge_src *src, size_t n, char *run_id,
			size_t run_id_size)
{
	struct copy_ctx c;
	struct run_info ri;
	const char *started = src[0].ri.started_at;
	size_t i, k;
	int ret = -1;

	memset(&c, 0, sizeof(c));
	hashmap_init_str(&c.seen, 0);
	for (i = 1; i < n; i++)
		if (src[i].ri.started_at && (!started || strcmp(src[i].ri.started_at, started) < 0))
			started = src[i].ri.started_at;
	run_id_new(run_id, run_id_size);
	ri = src[0].ri;                /* borrowed strings: target, config hash, git ... */
	ri.id = run_id;
	ri.started_at = (char *)started;
	ri.finished_at = NULL;
	ri.status = RUN_RUNNING;
	ri.verdict = NULL;
	ri.shard = NULL;
	ri.evalgate_version = (char *)EG_VERSION;
	if (history_batch_begin(out))
		return -1;
	if (history_run_begin(out, &ri))
		goto out_rollback;
	for (k = 0; k < src[0].n_suites; k++) {
		const struct suite_rec *s = &src[0].suites[k];

		if (history_run_suite(out, run_id, s->name, s->version, s->hash, s->kind))
			goto out_rollback;
	}
	c.out = out;
	c.run_id = run_id;
	c.src = src;
	for (i = 0; i < n; i++) {
		c.cur = (unsigned)i;
		for (k = 0; k < src[i].n_suites; k++)
			if (history_results(src[i].h, src[i].ri.id, src[i].suites[k].name, copy_result,
					    &c) || c.failed)
				goto out_rollback;
		verbose("%s: shard %s, run %s: copied", src[i].path, src[i].ri.shard, src[i].ri.id);
	}
	if (history_run_finish(out, run_id, merged_status(src, n), NULL))
		goto out_rollback;
	if (history_batch_commit(out))
		goto out;
	ret = 0;
	goto out;
out_rollback:
	history_batch_rollback(out);
out:
	hashmap_release(&c.seen);
	return ret;
}

int cmd_merge(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct merge_src *src = NULL;
	struct history *out = NULL;
	struct run_info ri;
	char run_id[64];
	int allow_partial = 0, nops, rc = EG_EXIT_USAGE;
	size_t i, n = 0;
	const struct option opts[] = {
		OPT_FLAG_(0, "allow-partial", &allow_partial,
			  "merge even when some shards are missing (the run covers fewer cases)"),
		OPT_END_(),
	};

	nops = cmd_start(ctx, argc, argv, opts, usage);
	if (nops < 0)
		return ctx->rc;
	if (nops == 0) {
		error("merge needs the shard histories to merge (evalgate merge A.db B.db ...)");
		print_usage(stderr, usage, opts);
		return EG_EXIT_USAGE;
	}
	if (nops > SHARD_MAX) {
		error("merge takes at most %d shard histories", SHARD_MAX);
		return EG_EXIT_USAGE;
	}
	src = xcalloc((size_t)nops, sizeof(*src));
	for (n = 0; n < (size_t)nops; n++) {
		if (load_src(&src[n], argv[n])) {
			n++;
			goto out;
		}
		verbose("%s: run %s, shard %s, %ld cases", argv[n], src[n].ri.id, src[n].ri.shard,
			src[n].ri.n_cases);
	}
	if (check_sources(src, n, allow_partial, ctx->common.history))
		goto out;
	out = history_open(ctx->common.history);
	if (!out)
		goto out;
	if (write_merged(out, src, n, run_id, sizeof(run_id)))
		goto out;
	if (history_run_resolve(out, run_id, &ri, NULL))
		goto out;
	if (eg_verbosity < 0) {
		printf("%s\n", run_id);
	} else {
		printf("merged %zu shard%s of %u into run %s in %s\n", n, n == 1 ? "" : "s",
		       src[0].sh.count, run_id, ctx->common.history);
		printf("  %ld cases: %ld pass, %ld fail, %ld error; status %s\n", ri.n_cases,
		       ri.n_pass, ri.n_fail, ri.n_error, run_status_name(ri.status));
		printf("apply the gates with: evalgate gate %s --history %s\n", run_id,
		       ctx->common.history);
	}
	run_info_release(&ri);
	rc = 0;
out:
	history_close(out);
	for (i = 0; i < n; i++)
		merge_src_release(&src[i]);
	free(src);
	return rc;
}
