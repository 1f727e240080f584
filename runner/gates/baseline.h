/*
 * baseline: the references a regression gate, `run --baseline` and
 * `evalgate compare` name a baseline run by, and their resolution to a
 * stored run (SPEC 2 `compare`, SPEC 7 `regression`).
 *
 * A baseline reference is a run id (or a unique prefix of one), "latest"
 * (the newest complete run of the candidate's target, other than the
 * candidate: finished, not partial, verdict not "error"), "latest:GITREF"
 * (the same, among runs whose stored git ref is
 * GITREF) or "alias:NAME" (a registry alias; resolved by the registry).
 *
 * Ownership: strings passed in are borrowed; a resolved struct run_info
 * belongs to the caller (run_info_release).
 */
#ifndef EG_BASELINE_H
#define EG_BASELINE_H

#include "history.h"
#include "strbuf.h"

/* a baseline reference (run id, latest, latest:GITREF, alias:NAME): 1 when well formed;
 * else 0 and *why says what is wrong */
int baseline_ref_valid(const char *ref, const char **why);

struct baseline_query {
	const char *ref;          /* as written: id, prefix, latest, latest:GITREF, alias:NAME */
	const char *target;       /* latest* look among runs of this target; NULL: any */
	const char *exclude_id;   /* the candidate, never its own baseline; or NULL */
	const char *registry;     /* the config's registry spec, for alias:NAME; or NULL */
};

/*
 * Resolve q->ref to a stored run: 0 found (out filled; release with
 * run_info_release), 1 no such run (why says which and why; out empty),
 * -1 a history error (reported).
 */
int baseline_resolve(struct history *h, const struct baseline_query *q, struct run_info *out,
		     struct strbuf *why);
/*
 * "alias:NAME": the latest passing run of q->target at the version that holds
 * the alias in the registry q->registry (NULL: the default); as baseline_resolve.
 */
int baseline_resolve_alias(struct history *h, const struct baseline_query *q, const char *name,
			   struct run_info *out, struct strbuf *why);

/*
 * The candidate run_id (into cand, which must exist) and the baseline ref
 * names for it (into base): a newest run of the candidate's target other
 * than the candidate; registry as in baseline_query. As baseline_resolve;
 * -1 also when the candidate is not found. Release both either way.
 */
int baseline_for_run(struct history *h, const char *ref, const char *run_id,
		     const char *registry, struct run_info *cand, struct run_info *base,
		     struct strbuf *why);

#endif
