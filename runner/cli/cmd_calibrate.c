/*
 * calibrate: how far the suites' judge scorers agree with human labels
 * (SPEC 14). The cases that carry a recorded "output" and a "label" are run
 * like any online suite (`evalgate run` on the labeled suites: the target is
 * never called, the judge calls go through the gateway and the cache), then
 * each judge scorer's verdicts in that run are set against the labels:
 * agreement, Cohen's kappa with its bootstrap interval, base rates, the
 * confusion matrix and the first disagreements. Each judge key's result is
 * stored in the history (calibrations), where the judge_kappa gate finds it.
 *
 * Ownership: everything is freed before cmd_calibrate returns.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "commands.h"
#include "error.h"
#include "history.h"
#include "jsonw.h"
#include "setup.h"
#include "stats.h"
#include "strbuf.h"
#include "suite.h"
#include "xalloc.h"
#include "banned.h"

#define SHOWN_DISAGREEMENTS 10
#define SCORE_BINS 5
#define BOOT_REPS 2000
#define BOOT_SEED 1

static const char usage[] =
	"usage: evalgate calibrate [--config FILE] [--suite DIR]... [--samples K] [--json]\n\n"
	"Runs the judge scorers of the suites over their labeled cases (a recorded\n"
	"\"output\" and a human \"label\": \"pass\", \"fail\" or a score in [0, 1]) and prints,\n"
	"per judge scorer: n, agreement, Cohen's kappa (quadratic-weighted over 5 bins\n"
	"when labels are scores) with its bootstrap 95% interval, base rates, the\n"
	"confusion matrix and the first disagreements; a judge asked several times per\n"
	"case (--samples K, or its samples) also shows how far it agrees with itself.\n"
	"The result is stored in the history under the judge key, for the judge_kappa\n"
	"gate and the judge-based gates' require_calibration.";

/* a labeled case, found again by suite and id in the run's results */
struct labeled {
	char *suite, *id;
	int is_score;             /* the label is a number */
	double value;             /* 1 pass, 0 fail, or the score */
};

/* one judge's verdict on one labeled case */
struct pairing {
	const struct labeled *l;
	int judge_pass;
	double judge_score;
	char *reason;             /* the judge's reason, or NULL */
};

/* a judge scorer (label and key) and its verdicts */
struct judge_tally {
	char *scorer;
	char key[65];
	struct pairing *v;
	size_t n, alloc;
	long errors;              /* labeled cases whose judge result is an error */
	int scores;               /* some label is a score: weighted kappa */
	int k;                    /* samples per case (the first result's count); 0 none yet */
	int *sv;                  /* k verdicts (1 pass, 0 fail) per case whose samples all have one */
	size_t sv_cases, sv_alloc;
};

struct calib {
	struct labeled *cases;
	size_t n_cases, alloc_cases;
	struct judge_tally *j;
	size_t n_j, alloc_j;
};

static void calib_release(struct calib *c)
{
	size_t i, k;

	for (i = 0; i < c->n_cases; i++) {
		free(c->cases[i].suite);
		free(c->cases[i].id);
	}
	free(c->cases);
	for (i = 0; i < c->n_j; i++) {
		for (k = 0; k < c->j[i].n; k++)
			free(c->j[i].v[k].reason);
		free(c->j[i].v);
		free(c->j[i].sv);
		free(c->j[i].scorer);
	}
	free(c->j);
}

/* the labeled cases of the suites; *used[i] set for the suites holding any */
static int read_labels(struct calib *c, const struct setup *s, int *used)
{
	size_t i;

	for (i = 0; i < s->n_suites; i++) {
		struct case_reader rd;
		struct eg_case k;
		int rc;

		if (case_reader_open(&rd, &s->suites[i], &s->filter))
			return -1;
		while ((rc = case_reader_next(&rd, &k)) == 1) {
			if (k.label && k.output) {
				struct labeled *l;

				XGROW(c->cases, c->n_cases + 1, c->alloc_cases);
				l = &c->cases[c->n_cases++];
				l->suite = xstrdup(s->suites[i].name);
				l->id = xstrdup(k.id);
				l->is_score = cJSON_IsNumber(k.label);
				l->value = l->is_score ? k.label->valuedouble
						       : !strcmp(k.label->valuestring, "pass");
				used[i] = 1;
			}
			case_release(&k);
		}
		case_reader_close(&rd);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static const struct labeled *find_label(const struct calib *c, const char *suite, const char *id)
{
	size_t i;

	for (i = 0; i < c->n_cases; i++)
		if (!strcmp(c->cases[i].suite, suite) && !strcmp(c->cases[i].id, id))
			return &c->cases[i];
	return NULL;
}

static struct judge_tally *tally_for(struct calib *c, const char *scorer, const char *key)
{
	struct judge_tally *t;
	size_t i;

	for (i = 0; i < c->n_j; i++)
		if (!strcmp(c->j[i].scorer, scorer) && !strcmp(c->j[i].key, key))
			return &c->j[i];
	XGROW(c->j, c->n_j + 1, c->alloc_j);
	t = &c->j[c->n_j++];
	memset(t, 0, sizeof(*t));
	t->scorer = xstrdup(scorer);
	snprintf(t->key, sizeof(t->key), "%s", key);
	return t;
}

/*
 * The verdicts of the samples of one judge result (the detail's "samples")
 * into t->sv, when there are the judge's k of them, each with a verdict
 */
static void take_samples(struct judge_tally *t, const cJSON *detail)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(detail, "samples"), *e;
	int n = cJSON_GetArraySize(arr), i = 0;

	if (!cJSON_IsArray(arr) || n < 2 || (t->k && n != t->k))
		return;
	cJSON_ArrayForEach(e, arr)
		if (!cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(e, "pass")))
			return;
	t->k = n;
	XGROW(t->sv, (t->sv_cases + 1) * (size_t)n, t->sv_alloc);
	cJSON_ArrayForEach(e, arr)
		t->sv[t->sv_cases * (size_t)n + (size_t)i++] =
			cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "pass"));
	t->sv_cases++;
}

static int take_result(const struct stored_result *r, void *arg)
{
	struct calib *c = arg;
	const struct labeled *l = find_label(c, r->row.suite, r->row.case_id);
	size_t i;

	if (!l || r->row.repeat)
		return 0;
	for (i = 0; i < r->n_scores; i++) {
		const struct score_row *sr = &r->scores[i];
		cJSON *d;
		const cJSON *key;
		struct judge_tally *t;

		if (strcmp(sr->type, "judge") || !sr->detail)
			continue;
		d = cJSON_Parse(sr->detail);
		key = cJSON_GetObjectItemCaseSensitive(d, "judge_key");
		if (cJSON_IsString(key)) {
			t = tally_for(c, sr->scorer, key->valuestring);
			t->scores |= l->is_score;
			if (sr->error) {
				t->errors++;
			} else {
				XGROW(t->v, t->n + 1, t->alloc);
				t->v[t->n].l = l;
				t->v[t->n].judge_pass = sr->pass;
				t->v[t->n].judge_score = sr->score;
				t->v[t->n].reason = sr->reason ? xstrdup(sr->reason) : NULL;
				t->n++;
				take_samples(t, d);
			}
		}
		cJSON_Delete(d);
	}
	return 0;
}

static int score_bin(double v)
{
	int b = (int)floor(v * SCORE_BINS);

	return b < 0 ? 0 : b >= SCORE_BINS ? SCORE_BINS - 1 : b;
}

static int human_pass(const struct labeled *l)
{
	return l->is_score ? l->value >= 0.5 : l->value > 0.5;
}

/* what was measured of one judge */
struct measure {
	long cm[2][2];            /* [human pass][judge pass] */
	long agree;
	double kappa, lo, hi;
	struct stats_consistency self; /* over t->sv; NaN fields when k < 2 */
};

static void measure(const struct judge_tally *t, struct measure *m)
{
	size_t k = t->scores ? SCORE_BINS : 2, i;
	long *cm = xcalloc(k * k, sizeof(long));
	int *a = xcalloc(t->n + 1, sizeof(int)), *b = xcalloc(t->n + 1, sizeof(int));

	memset(m, 0, sizeof(*m));
	for (i = 0; i < t->n; i++) {
		const struct pairing *p = &t->v[i];
		int hp = human_pass(p->l);

		m->cm[hp][p->judge_pass]++;
		m->agree += hp == p->judge_pass;
		if (t->scores) {
			a[i] = score_bin(p->l->is_score ? p->l->value : hp);
			b[i] = score_bin(p->judge_score);
		} else {
			a[i] = hp;
			b[i] = p->judge_pass;
		}
		cm[a[i] * k + b[i]]++;
	}
	m->kappa = stats_kappa(cm, k, t->scores);
	stats_kappa_boot95(a, b, t->n, k, t->scores, BOOT_SEED, BOOT_REPS, &m->lo, &m->hi);
	stats_self_consistency(t->sv, t->sv_cases, (size_t)t->k, 2, &m->self);
	free(cm);
	free(a);
	free(b);
}

static void label_text(const struct labeled *l, char *buf, size_t size)
{
	if (l->is_score)
		snprintf(buf, size, "%g", l->value);
	else
		snprintf(buf, size, "%s", l->value > 0.5 ? "pass" : "fail");
}

static void print_text(const struct judge_tally *t, const struct measure *m)
{
	size_t i, shown = 0;
	double n = (double)t->n;

	printf("scorer %s (key %.12s)\n", t->scorer, t->key);
	printf("  n: %zu labeled cases", t->n);
	if (t->errors)
		printf(" (%ld more left out: the judge errored)", t->errors);
	printf("\n  agreement: %.3f\n", t->n ? (double)m->agree / n : NAN);
	printf("  kappa%s: %.3f (95%% interval %.3f to %.3f)\n",
	       t->scores ? " (quadratic-weighted, 5 bins)" : "", m->kappa, m->lo, m->hi);
	printf("  base rates: human pass %.3f, judge pass %.3f\n",
	       t->n ? (double)(m->cm[1][0] + m->cm[1][1]) / n : NAN,
	       t->n ? (double)(m->cm[0][1] + m->cm[1][1]) / n : NAN);
	printf("  confusion (human x judge): pass/pass %ld, pass/fail %ld, fail/pass %ld, "
	       "fail/fail %ld\n", m->cm[1][1], m->cm[1][0], m->cm[0][1], m->cm[0][0]);
	if (t->k >= 2)
		printf("  self-consistency (%d samples, %zu cases): all agree %.3f, pairwise "
		       "agreement %.3f, Fleiss' kappa %.3f\n", t->k, t->sv_cases,
		       m->self.all_agree, m->self.pairwise, m->self.fleiss);
	for (i = 0; i < t->n && shown < SHOWN_DISAGREEMENTS; i++) {
		const struct pairing *p = &t->v[i];
		char lab[32];

		if (human_pass(p->l) == p->judge_pass)
			continue;
		if (!shown++)
			printf("  disagreements (first %d):\n", SHOWN_DISAGREEMENTS);
		label_text(p->l, lab, sizeof(lab));
		printf("    %s/%s: label %s, judge %s (%.2f): %s\n", p->l->suite, p->l->id, lab,
		       p->judge_pass ? "pass" : "fail", p->judge_score, p->reason ? p->reason : "");
	}
}

static void json_judge(struct jsonw *w, const struct judge_tally *t, const struct measure *m)
{
	size_t i, shown = 0;
	double n = (double)t->n;

	jsonw_object_begin(w);
	jsonw_member_str(w, "scorer", t->scorer);
	jsonw_member_str(w, "judge_key", t->key);
	jsonw_member_int(w, "n", (long long)t->n);
	jsonw_member_int(w, "errors", t->errors);
	jsonw_member_bool(w, "weighted", t->scores);
	jsonw_member_num(w, "agreement", t->n ? (double)m->agree / n : NAN);
	jsonw_member_num(w, "kappa", m->kappa);
	jsonw_member_num(w, "kappa_lo", m->lo);
	jsonw_member_num(w, "kappa_hi", m->hi);
	jsonw_member_num(w, "human_pass_rate",
			 t->n ? (double)(m->cm[1][0] + m->cm[1][1]) / n : NAN);
	jsonw_member_num(w, "judge_pass_rate",
			 t->n ? (double)(m->cm[0][1] + m->cm[1][1]) / n : NAN);
	jsonw_key(w, "confusion");
	jsonw_object_begin(w);
	jsonw_member_int(w, "pass_pass", m->cm[1][1]);
	jsonw_member_int(w, "pass_fail", m->cm[1][0]);
	jsonw_member_int(w, "fail_pass", m->cm[0][1]);
	jsonw_member_int(w, "fail_fail", m->cm[0][0]);
	jsonw_object_end(w);
	jsonw_member_int(w, "samples", t->k >= 2 ? t->k : 1);
	jsonw_key(w, "self_consistency");
	if (t->k >= 2) {
		jsonw_object_begin(w);
		jsonw_member_int(w, "cases", (long long)t->sv_cases);
		jsonw_member_num(w, "all_agree", m->self.all_agree);
		jsonw_member_num(w, "pairwise", m->self.pairwise);
		jsonw_member_num(w, "fleiss_kappa", m->self.fleiss);
		jsonw_object_end(w);
	} else {
		jsonw_null(w);
	}
	jsonw_key(w, "disagreements");
	jsonw_array_begin(w);
	for (i = 0; i < t->n && shown < SHOWN_DISAGREEMENTS; i++) {
		const struct pairing *p = &t->v[i];
		char lab[32];

		if (human_pass(p->l) == p->judge_pass)
			continue;
		shown++;
		label_text(p->l, lab, sizeof(lab));
		jsonw_object_begin(w);
		jsonw_member_str(w, "suite", p->l->suite);
		jsonw_member_str(w, "case", p->l->id);
		jsonw_member_str(w, "label", lab);
		jsonw_member_str(w, "judge", p->judge_pass ? "pass" : "fail");
		jsonw_member_num(w, "judge_score", p->judge_score);
		jsonw_member_str(w, "reason", p->reason);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
	jsonw_object_end(w);
}

/*
 * `evalgate run` over the labeled suites, its stdout sent to stderr (what
 * calibrate prints is its own); the run's id into run_id. An exit code.
 */
static int run_labeled(struct cmd_ctx *ctx, const struct setup *s, const int *used,
		       char *run_id, size_t size)
{
	struct cmd_ctx rc_ctx;
	struct strbuf idfile = STRBUF_INIT;
	const char **args = xcalloc(2 * s->n_suites + 10, sizeof(*args));
	int n = 0, rc = EG_EXIT_INFRA, saved = -1;
	size_t i;
	FILE *fp;

	args[n++] = "run";
	for (i = 0; i < s->n_suites; i++)
		if (used[i]) {
			args[n++] = "--suite";
			args[n++] = s->suites[i].dir;
		}
	args[n++] = "--config";
	args[n++] = ctx->common.config;
	args[n++] = "--history";
	args[n++] = ctx->common.history;
	strbuf_addf(&idfile, "%s.calibrate-%ld", ctx->common.history, (long)getpid());
	args[n++] = "--run-id-file";
	args[n++] = idfile.buf;
	args[n++] = "-q";
	memset(&rc_ctx, 0, sizeof(rc_ctx));
	rc_ctx.name = "run";
	rc_ctx.common = ctx->common;
	fflush(stdout);
	saved = dup(1);
	if (saved < 0 || dup2(2, 1) < 0) {
		error("calibrate: cannot redirect the run's output");
		goto out;
	}
	rc = cmd_run(&rc_ctx, n, (char **)args);
	fflush(stdout);
	dup2(saved, 1);
	if (rc != EG_EXIT_OK && rc != EG_EXIT_GATE)
		goto out;
	rc = EG_EXIT_INFRA;
	fp = fopen(idfile.buf, "r");
	if (!fp || !fgets(run_id, (int)size, fp)) {
		error("calibrate: the run stored no id in %s", idfile.buf);
	} else {
		run_id[strcspn(run_id, "\n")] = 0;
		rc = EG_EXIT_OK;
	}
	if (fp)
		fclose(fp);
	unlink(idfile.buf);
out:
	if (saved >= 0)
		close(saved);
	strbuf_release(&idfile);
	free(args);
	return rc;
}

/* measure, print and store every judge of c; an exit code */
static int report(struct calib *c, const char *history, const char *run_id, int json)
{
	struct history *h = history_open(history);
	struct strbuf sb = STRBUF_INIT;
	struct jsonw w;
	int rc = EG_EXIT_USAGE;
	size_t i;

	if (!h)
		return EG_EXIT_USAGE;
	if (history_results_all(h, run_id, NULL, take_result, c))
		goto out;
	if (!c->n_j) {
		error("calibrate: no judge scorer scored the labeled cases (run %s)", run_id);
		goto out;
	}
	jsonw_init(&w, &sb, 0);
	jsonw_object_begin(&w);
	jsonw_member_str(&w, "run_id", run_id);
	jsonw_key(&w, "judges");
	jsonw_array_begin(&w);
	for (i = 0; i < c->n_j; i++) {
		struct measure m;
		struct calibration cal;

		measure(&c->j[i], &m);
		memset(&cal, 0, sizeof(cal));
		snprintf(cal.judge_key, sizeof(cal.judge_key), "%s", c->j[i].key);
		snprintf(cal.run_id, sizeof(cal.run_id), "%s", run_id);
		cal.scorer = c->j[i].scorer;
		cal.kappa = m.kappa;
		cal.lo = m.lo;
		cal.hi = m.hi;
		cal.n = (long)c->j[i].n;
		cal.agreement = c->j[i].n ? (double)m.agree / (double)c->j[i].n : NAN;
		cal.samples = c->j[i].k >= 2 ? c->j[i].k : 1;
		cal.self_all_agree = m.self.all_agree;
		cal.self_pairwise = m.self.pairwise;
		cal.self_fleiss = m.self.fleiss;
		if (history_add_calibration(h, &cal))
			goto out;
		if (json)
			json_judge(&w, &c->j[i], &m);
		else
			print_text(&c->j[i], &m);
	}
	jsonw_array_end(&w);
	jsonw_object_end(&w);
	if (json)
		printf("%s\n", sb.buf);
	else
		printf("stored in %s (run %s)\n", history, run_id);
	rc = EG_EXIT_OK;
out:
	strbuf_release(&sb);
	history_close(h);
	return rc;
}

int cmd_calibrate(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct opt_list suites = { 0 };
	struct setup_args sa;
	struct setup s;
	struct calib c;
	int json = 0, nops, rc = EG_EXIT_USAGE, *used = NULL;
	long samples = 0;
	char run_id[64];
	struct option opts[] = {
		OPT_LIST_(0, "suite", &suites, "DIR", "only this suite (repeatable); default: the config's suites"),
		OPT_INT_(0, "samples", &samples, "K", "ask each judge K times per case (where its spec sets no samples; "
			 "the verdict is the majority) and measure its self-consistency", 1, 25),
		OPT_FLAG_(0, "json", &json, "print the result as JSON"),
		OPT_END_(),
	};

	memset(&c, 0, sizeof(c));
	memset(&sa, 0, sizeof(sa));
	nops = cmd_start(ctx, argc, argv, opts, usage);
	if (nops < 0) {
		rc = ctx->rc;
		goto out_opts;
	}
	if (nops > 0) {
		error("calibrate takes no operands ('%s'); use --suite DIR", argv[0]);
		goto out_opts;
	}
	sa.common = &ctx->common;
	sa.suite_dirs = &suites;
	if (setup_load(&s, &sa))
		goto out_setup;
	used = xcalloc(s.n_suites + 1, sizeof(int));
	if (read_labels(&c, &s, used))
		goto out_setup;
	if (!c.n_cases) {
		error("calibrate: no labeled case (a case with \"output\" and \"label\") in the suites");
		goto out_setup;
	}
	setup_judge_samples((int)samples);
	rc = run_labeled(ctx, &s, used, run_id, sizeof(run_id));
	setup_judge_samples(0);
	if (rc == EG_EXIT_OK)
		rc = report(&c, ctx->common.history, run_id, json);
out_setup:
	free(used);
	calib_release(&c);
	setup_release(&s);
out_opts:
	opt_list_release(&suites);
	return rc;
}
