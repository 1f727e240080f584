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

/* the judge keys (and a scorer label of each) seen in the run */
struct judge_keys {
	char (*key)[65];
	char **scorer;
	size_t n, alloc_key, alloc_scorer;
	const char *tag;          /* only results with this tag, or NULL */
	const char *only_scorer;  /* only the results of the scorer labelled so, or NULL */
};

/* is tag one of the comma-separated tags? */
static int has_tag(const char *tags, const char *tag)
{
	size_t len = strlen(tag);
	const char *p = tags;

	while (p && *p) {
		size_t n = strcspn(p, ",");

		if (n == len && !strncmp(p, tag, len))
			return 1;
		p += n + (p[n] == ',');
	}
	return 0;
}

static int collect_key(const struct stored_result *r, void *arg)
{
	struct judge_keys *k = arg;
	size_t i, j;

	if (k->tag && !has_tag(r->row.tags, k->tag))
		return 0;
	for (i = 0; i < r->n_scores; i++) {
		const struct score_row *sr = &r->scores[i];
		cJSON *d;
		const cJSON *key;

		if (strcmp(sr->type, "judge") || !sr->detail ||
		    (k->only_scorer && strcmp(sr->scorer, k->only_scorer)))
			continue;
		d = cJSON_Parse(sr->detail);
		key = cJSON_GetObjectItemCaseSensitive(d, "judge_key");
		if (cJSON_IsString(key) && strlen(key->valuestring) == 64) {
			for (j = 0; j < k->n && strcmp(k->key[j], key->valuestring); j++)
				;
			if (j == k->n) {
				XGROW(k->key, k->n + 1, k->alloc_key);
				XGROW(k->scorer, k->n + 1, k->alloc_scorer);
				memcpy(k->key[k->n], key->valuestring, 65);
				k->scorer[k->n++] = xstrdup(sr->scorer);
			}
		}
		cJSON_Delete(d);
	}
	return 0;
}

static void judge_keys_release(struct judge_keys *k)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		free(k->scorer[i]);
	free(k->scorer);
	free(k->key);
}

int gate_calibration_note(const struct eg_gate *g, struct history *h, const char *run_id,
			  double min_kappa, struct strbuf *note)
{
	struct judge_keys k = { 0 };
	int ret = -1;
	size_t i;

	k.tag = g->tag;
	k.only_scorer = g->scorer;
	if (history_results_all(h, run_id, g->suite, collect_key, &k))
		goto out;
	for (i = 0; i < k.n; i++) {
		struct calibration c;
		int rc = history_calibration_newest(h, k.key[i], &c);

		if (rc < 0)
			goto out;
		if (!rc && c.kappa >= min_kappa)
			continue;
		if (note->len)
			strbuf_addstr(note, "; ");
		if (rc)
			strbuf_addf(note, "judge %s (key %.12s) was never calibrated (evalgate "
				    "calibrate)", k.scorer[i], k.key[i]);
		else if (isnan(c.kappa))
			strbuf_addf(note, "judge %s (key %.12s): its kappa is undefined (n %ld, %s)",
				    k.scorer[i], k.key[i], c.n, c.created_at);
		else
			strbuf_addf(note, "judge %s (key %.12s): kappa %.3f under %g (n %ld, %s)",
				    k.scorer[i], k.key[i], c.kappa, min_kappa, c.n, c.created_at);
	}
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

	k.tag = g->tag;
	if (history_results_all(h, run_id, g->suite, collect_key, &k))
		goto out;
	for (i = 0; i < k.n; i++) {
		struct calibration c;
		int rc = history_calibration_newest(h, k.key[i], &c);

		if (rc < 0)
			goto out;
		if (i)
			strbuf_addstr(&res->detail, "; ");
		if (rc) {
			missing = 1;
			strbuf_addf(&res->detail, "judge %s (key %.12s) was never calibrated "
				    "(evalgate calibrate)", k.scorer[i], k.key[i]);
			continue;
		}
		strbuf_addf(&res->detail, "judge %s: kappa %.3f (95%% %.3f to %.3f, n %ld, %s)",
			    k.scorer[i], c.kappa, c.lo, c.hi, c.n, c.created_at);
		if (isnan(c.kappa))
			missing = 1;
		else if (c.kappa < lowest)
			lowest = c.kappa;
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
