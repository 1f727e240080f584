/*
 * gate_kappa: judge_kappa, whether the judges that scored the run were
 * calibrated against human labels (SPEC 14). Each judge scorer result names
 * its judge key (the detail's "judge_key"); the gate takes, for every key in
 * scope, the newest calibration `evalgate calibrate` stored for it. The value
 * is the lowest kappa among them; it fails when a key was never calibrated
 * (undefined value), when a kappa is undefined, or when it is under min.
 */
#include "gate_types.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"
#include "banned.h"

#define CALIBRATION_NAMED 3      /* judge keys a calibration note names; the rest are counted */

/* a judge key of the run */
struct judge_key {
	char key[65];            /* SHA-256 hex */
	char *scorer;            /* the first scorer label (by label) with it */
	int calibrated;          /* 0: never calibrated (cal is unset) */
	struct calibration cal;  /* its newest calibration */
};

/* the judge keys of the run in scope, in (scorer label, key) order */
struct judge_keys {
	struct judge_key *v;
	size_t n, alloc;
};

static int collect_key(const char *scorer, const char *key, void *arg)
{
	struct judge_keys *k = arg;
	struct judge_key *j;

	if (strlen(key) != 64)
		return 0;
	XGROW(k->v, k->n + 1, k->alloc);
	j = &k->v[k->n++];
	memset(j, 0, sizeof(*j));
	memcpy(j->key, key, 65);
	j->scorer = xstrdup(scorer ? scorer : "judge");
	return 0;
}

static void judge_keys_release(struct judge_keys *k)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		free(k->v[i].scorer);
	free(k->v);
}

/*
 * The judge keys of the judge results of run_id in g's scope (only the
 * scorer only_scorer's unless NULL), each with its newest calibration, into
 * k (released by the caller, also on error). 0, or -1 after reporting a
 * history error.
 */
static int judge_keys_load(struct judge_keys *k, const struct eg_gate *g,
			   const char *only_scorer, struct history *h, const char *run_id)
{
	size_t i;
	int rc;

	if (history_run_judge_keys(h, run_id, g->suite, g->tag, only_scorer, collect_key, k))
		return -1;
	for (i = 0; i < k->n; i++) {
		rc = history_calibration_newest(h, k->v[i].key, &k->v[i].cal);
		if (rc < 0)
			return -1;
		k->v[i].calibrated = !rc;
	}
	return 0;
}

int gate_calibration_note(const struct eg_gate *g, struct history *h, const char *run_id,
			  double min_kappa, struct strbuf *note)
{
	struct judge_keys k = { 0 };
	int ret = -1;
	size_t i, named = 0, more = 0;

	if (judge_keys_load(&k, g, g->scorer, h, run_id))
		goto out;
	for (i = 0; i < k.n; i++) {
		const struct judge_key *j = &k.v[i];

		if (j->calibrated && j->cal.kappa >= min_kappa)
			continue;
		/* a suite of per-case rubrics has a key a case: the line names a few */
		if (named == CALIBRATION_NAMED) {
			more++;
			continue;
		}
		named++;
		if (note->len)
			strbuf_addstr(note, "; ");
		if (!j->calibrated)
			strbuf_addf(note, "scorer %s (key %.12s) was never calibrated (evalgate "
				    "calibrate)", j->scorer, j->key);
		else if (isnan(j->cal.kappa))
			strbuf_addf(note, "scorer %s (key %.12s): its kappa is undefined "
				    "(n %ld, %s)", j->scorer, j->key, j->cal.n, j->cal.created_at);
		else
			strbuf_addf(note, "scorer %s (key %.12s): kappa %.3f under %g (n %ld, %s)",
				    j->scorer, j->key, j->cal.kappa, min_kappa, j->cal.n,
				    j->cal.created_at);
	}
	if (more)
		strbuf_addf(note, "; and %zu more judge key%s (the report's judge calibration "
			    "section lists every one)", more, more == 1 ? "" : "s");
	ret = 0;
out:
	judge_keys_release(&k);
	return ret;
}

static int kappa_parse(struct eg_gate *g, const struct gate_parse *p)
{
	char buf[64];

	if (gate_parse_bounded(g, p, 0, 1))
		return -1;
	if (!g->has_min || g->has_max)
		return jdoc_error(p->doc, p->spec, gate_field(p, NULL, buf, sizeof(buf)),
				  "judge_kappa takes \"min\" (the lowest kappa accepted) and no \"max\"");
	return 0;
}

static int kappa_eval(const struct eg_gate *g, struct history *h, const char *run_id,
		      const struct gates *gs, struct gate_result *res)
{
	struct judge_keys k = { 0 };
	struct gate_row *row = &res->row;
	double lowest = INFINITY;
	int ret = -1, missing = 0;
	size_t i;

	if (judge_keys_load(&k, g, NULL, h, run_id))
		goto out;
	for (i = 0; i < k.n; i++) {
		const struct judge_key *j = &k.v[i];

		if (i)
			strbuf_addstr(&res->detail, "; ");
		if (!j->calibrated) {
			missing = 1;
			strbuf_addf(&res->detail, "scorer %s (key %.12s) was never calibrated "
				    "(evalgate calibrate)", j->scorer, j->key);
			continue;
		}
		strbuf_addf(&res->detail, "scorer %s: kappa %.3f (95%% %.3f to %.3f, n %ld, %s)",
			    j->scorer, j->cal.kappa, j->cal.lo, j->cal.hi, j->cal.n,
			    j->cal.created_at);
		if (isnan(j->cal.kappa))
			missing = 1;
		else if (j->cal.kappa < lowest)
			lowest = j->cal.kappa;
	}
	if (!k.n)
		strbuf_addf(&res->detail, "no judge scorer result in scope %s", res->scope.buf);
	row->n = (long)k.n;
	row->value = !k.n || missing ? NAN : lowest;
	gate_detail_cut(&res->detail);
	gate_check_limits(g, row);
	ret = 0;
out:
	judge_keys_release(&k);
	return ret;
}

const struct gate_type gate_judge_kappa = {
	.name = "judge_kappa",
	.fields = gate_limit_fields,
	.parse = kappa_parse,
	.eval = kappa_eval,
};
