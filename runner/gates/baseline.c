#include "baseline.h"

#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "banned.h"

int baseline_ref_valid(const char *ref, const char **why)
{
	const char *p;

	*why = NULL;
	if (!ref || !*ref)
		*why = "empty baseline reference";
	else if (!strncmp(ref, "latest:", 7) && !ref[7])
		*why = "latest: needs a git ref, e.g. latest:main";
	else if (!strncmp(ref, "alias:", 6) && !ref[6])
		*why = "alias: needs an alias name, e.g. alias:production";
	else if (strncmp(ref, "latest:", 7) && strncmp(ref, "alias:", 6) && strcmp(ref, "latest")) {
		for (p = ref; *p; p++)
			if (*p == ':' || (unsigned char)*p <= ' ' || *p == 0x7f)
				break;
		if (*p == ':')
			*why = "expected a run id, latest, latest:GITREF or alias:NAME";
		else if (*p)
			*why = "a run id has no spaces or control characters";
	}
	return *why == NULL;
}

int baseline_resolve_alias(struct history *h, const struct baseline_query *q, const char *name,
			   struct run_info *out, struct strbuf *why)
{
	char *run_id = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!q->target) {
		strbuf_addf(why, "baseline 'alias:%s': an alias names a version of a target, and "
			    "the candidate run has none", name);
		return 1;
	}
	rc = registry_resolve_alias(q->registry, q->target, h, name, &run_id, why);
	if (rc)
		return rc;
	rc = history_run_resolve(h, run_id, out, why);
	free(run_id);
	return rc; /* the run was just found: only a race ends in 1 */
}

static void describe_target(struct strbuf *why, const struct baseline_query *q)
{
	if (q->target)
		strbuf_addf(why, " of target '%s'", q->target);
	if (q->exclude_id)
		strbuf_addf(why, " other than run %s", q->exclude_id);
}

int baseline_resolve(struct history *h, const struct baseline_query *q, struct run_info *out,
		     struct strbuf *why)
{
	struct strbuf not_found;
	const char *bad;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!baseline_ref_valid(q->ref, &bad)) {
		strbuf_addf(why, "baseline '%s': %s", q->ref ? q->ref : "", bad);
		return 1;
	}
	if (!strncmp(q->ref, "alias:", 6))
		return baseline_resolve_alias(h, q, q->ref + 6, out, why);
	if (!strcmp(q->ref, "latest") || !strncmp(q->ref, "latest:", 7)) {
		const char *git_ref = q->ref[6] == ':' ? q->ref + 7 : NULL;
		struct run_filter f = { .target = q->target, .git_ref = git_ref,
					.status = "finished", .exclude_id = q->exclude_id,
					.newest_first = 1, .complete = 1 };

		rc = history_run_first(h, &f, out);
		if (rc <= 0)
			return rc;
		strbuf_addf(why, "baseline '%s': no finished run", q->ref);
		describe_target(why, q);
		if (git_ref)
			strbuf_addf(why, " with git ref '%s'", git_ref);
		strbuf_addstr(why, " in the history");
		return 1;
	}
	strbuf_init(&not_found, 0);
	rc = history_run_resolve(h, q->ref, out, &not_found);
	if (rc > 0)
		strbuf_addf(why, "baseline '%s': %s", q->ref, not_found.buf);
	strbuf_release(&not_found);
	return rc;
}

int baseline_for_run(struct history *h, const char *ref, const char *run_id,
		     const char *registry, struct run_info *cand, struct run_info *base,
		     struct strbuf *why)
{
	struct baseline_query q;

	memset(base, 0, sizeof(*base));
	memset(cand, 0, sizeof(*cand));
	if (history_run_resolve(h, run_id, cand, NULL))
		return -1; /* the candidate is the run being gated: not finding it is an error */
	memset(&q, 0, sizeof(q));
	q.ref = ref;
	q.target = cand->target;
	q.exclude_id = cand->id;
	q.registry = registry;
	return baseline_resolve(h, &q, base, why);
}
