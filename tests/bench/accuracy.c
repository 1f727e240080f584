/*
 * accuracy: precision, recall and F1 of the deterministic scorers on labeled
 * data. A measurement, not a test: it prints figures and fails only when a
 * data set cannot be read.
 *
 *   accuracy [-d DATASETS] [-s SRC] [-v dev|held-out|all] [-q]
 *
 *   SRC       the source tree (default $EG_SRC, else "."): the refusal set
 *             is SRC/tests/data/refusal-labeled.jsonl
 *   DATASETS  the public labeled data (default SRC/../shared/datasets),
 *             read in place, never copied: ext-pii-presidio-synth,
 *             ext-pii-presidio-tests, ext-faith-halueval and garak's refusal
 *             strings (a comparison baseline); a missing one is skipped with
 *             a note
 *   -v HALF   also list the refusal cases the scorer gets wrong in that half,
 *             and the pii and faithfulness (defaults) cases it gets wrong
 *   -q        no per-style and per-encoding breakdowns
 *
 * What counts as positive: refusal: the answer refuses (the scorer with
 * expect true passes); pii: the text holds that kind (the scorer fails);
 * faithfulness: the answer is hallucinated (the scorer fails); canary: the
 * token leaked (the scorer fails). The canary set is generated here,
 * deterministically, with encoders written independently of the scorer's.
 *
 * The refusal set has two halves by id parity: odd ids ("dev") are the ones
 * the phrase inventory may be tuned on, even ids ("held-out") are not.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "case.h"
#include "jsonutil.h"
#include "jsonw.h"
#include "scorer.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

struct tally {
	size_t tp, fp, fn, tn;
	size_t errors; /* scorer errors, counted as predicted negative */
};

static void tally_add(struct tally *t, int label, int predicted)
{
	if (label && predicted)
		t->tp++;
	else if (label)
		t->fn++;
	else if (predicted)
		t->fp++;
	else
		t->tn++;
}

static double ratio(size_t a, size_t b)
{
	return b ? (double)a / (double)b : 0.0;
}

static void tally_print(const char *name, const char *data, const struct tally *t)
{
	double p = ratio(t->tp, t->tp + t->fp), r = ratio(t->tp, t->tp + t->fn);
	double f1 = p + r > 0 ? 2 * p * r / (p + r) : 0.0;

	printf("  %-22s %-22s %5zu %5zu %6.3f %6.3f %6.3f %5zu %5zu", name, data,
	       t->tp + t->fn, t->fp + t->tn, p, r, f1, t->fp, t->fn);
	if (t->errors)
		printf("  (%zu errors)", t->errors);
	putchar('\n');
}

static void table_header(const char *title)
{
	printf("\n%s\n  %-22s %-22s %5s %5s %6s %6s %6s %5s %5s\n", title, "scorer", "data", "pos",
	       "neg", "P", "R", "F1", "FP", "FN");
}

/* one JSONL file as parsed objects; lines that do not parse are skipped and counted */
struct jsonl {
	cJSON **rows;
	size_t n, alloc;
	size_t bad;
};

static int jsonl_read(struct jsonl *j, const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	char *line, *next;

	memset(j, 0, sizeof(*j));
	if (access(path, R_OK))
		return -1;
	if (read_file(path, &sb, 0))
		return -1;
	for (line = sb.buf; line && *line; line = next) {
		cJSON *row;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!*line)
			continue;
		row = cJSON_Parse(line);
		if (!cJSON_IsObject(row)) {
			cJSON_Delete(row);
			j->bad++;
			continue;
		}
		if (j->n == j->alloc) {
			j->alloc = j->alloc ? 2 * j->alloc : 256;
			j->rows = xrealloc(j->rows, j->alloc * sizeof(*j->rows));
		}
		j->rows[j->n++] = row;
	}
	strbuf_release(&sb);
	return 0;
}

static void jsonl_release(struct jsonl *j)
{
	size_t i;

	for (i = 0; i < j->n; i++)
		cJSON_Delete(j->rows[i]);
	free(j->rows);
	memset(j, 0, sizeof(*j));
}

static const char *str_field(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int scorer_from(struct scorer *s, const char *json)
{
	static const struct eg_loc loc = { "accuracy", 0, 1 };
	cJSON *spec = cJSON_Parse(json);
	int rc = spec ? scorer_init(s, spec, &loc) : -1;

	cJSON_Delete(spec);
	return rc;
}

/* score one answer; 1 pass, 0 fail, -1 scorer error */
static int score(const struct scorer *s, const struct eg_case *k, const char *out, size_t len)
{
	struct score_job job;
	struct score_result r;
	int ret;

	memset(&job, 0, sizeof(job));
	memset(&r, 0, sizeof(r));
	job.kase = k;
	job.output = out;
	job.output_len = len;
	if (scorer_score(s, &job, &r) != SCORE_DONE)
		ret = -1;
	else
		ret = r.error ? -1 : r.pass;
	score_result_release(&r);
	score_job_release(s, &job);
	return ret;
}

/* ---- refusal ---- */

/* garak's substrings, matched caselessly anywhere, as garak's StringDetector does */
struct strlist {
	char **v;
	size_t n;
};

static void strlist_release(struct strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int strlist_from(struct strlist *l, const cJSON *arr)
{
	const cJSON *v;

	memset(l, 0, sizeof(*l));
	if (!cJSON_IsArray(arr))
		return -1;
	l->v = xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*l->v));
	cJSON_ArrayForEach(v, arr)
		if (cJSON_IsString(v) && *v->valuestring)
			l->v[l->n++] = xstrdup(v->valuestring);
	return 0;
}

static int lower_ascii(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int contains_caseless(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay; hay++) {
		size_t i;
		for (i = 0; i < n && hay[i]; i++)
			if (lower_ascii((unsigned char)hay[i]) != lower_ascii((unsigned char)needle[i]))
				break;
		if (i == n)
			return 1;
	}
	return 0;
}

static int strlist_any(const struct strlist *l, const char *text)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (contains_caseless(text, l->v[i]))
			return 1;
	return 0;
}

/* the half of a refusal case: 0 dev (odd id), 1 held-out (even id) */
static int refusal_half(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	return n && (id[n - 1] - '0') % 2 == 0;
}

#define MAX_STYLES 32

struct style_count {
	const char *style; /* borrowed from the parsed rows */
	int label;
	size_t n, predicted;
};

static void style_add(struct style_count *st, size_t *n_st, const char *style, int label,
		      int predicted)
{
	size_t i;

	for (i = 0; i < *n_st; i++)
		if (!strcmp(st[i].style, style) && st[i].label == label)
			break;
	if (i == *n_st) {
		if (*n_st == MAX_STYLES)
			return;
		st[i].style = style;
		st[i].label = label;
		st[i].n = st[i].predicted = 0;
		(*n_st)++;
	}
	st[i].n++;
	st[i].predicted += predicted != 0;
}

static const char *const half_names[] = { "dev", "held-out", "all" };

static int run_refusal(const char *src, const char *datasets, int verbose_half, int quiet)
{
	struct strbuf path = STRBUF_INIT;
	struct jsonl set;
	struct strlist prefixes = { 0 }, bypass = { 0 };
	struct tally t[3][3];
	struct style_count st[MAX_STYLES];
	size_t n_st = 0, i;
	struct scorer s;
	int have_garak = 0, ret = -1, k;

	memset(t, 0, sizeof(t));
	strbuf_addf(&path, "%s/tests/data/refusal-labeled.jsonl", src);
	if (jsonl_read(&set, path.buf)) {
		fprintf(stderr, "accuracy: %s: cannot read the refusal set\n", path.buf);
		goto out_path;
	}
	strbuf_reset(&path);
	strbuf_addf(&path, "%s/garak_mitigation_strings.json", datasets);
	if (!access(path.buf, R_OK)) {
		struct strbuf text = STRBUF_INIT;
		cJSON *g = NULL;

		if (!read_file(path.buf, &text, 0))
			g = cJSON_Parse(text.buf);
		have_garak = g &&
			!strlist_from(&prefixes, cJSON_GetObjectItemCaseSensitive(g, "Prefixes")) &&
			!strlist_from(&bypass, cJSON_GetObjectItemCaseSensitive(g, "MitigationBypass"));
		cJSON_Delete(g);
		strbuf_release(&text);
	}
	if (scorer_from(&s, "{\"type\": \"refusal\", \"expect\": true}"))
		goto out_set;

	for (i = 0; i < set.n; i++) {
		const cJSON *row = set.rows[i];
		const cJSON *md = cJSON_GetObjectItemCaseSensitive(row, "metadata");
		const char *id = str_field(row, "id"), *out = str_field(row, "output");
		const char *label = str_field(md, "label"), *style = str_field(md, "style");
		int half, pos, pred[3];

		if (!id || !out || !label) {
			set.bad++;
			continue;
		}
		half = refusal_half(id);
		pos = !strcmp(label, "refusal");
		pred[0] = score(&s, NULL, out, strlen(out));
		pred[1] = have_garak && strlist_any(&prefixes, out);
		pred[2] = have_garak && strlist_any(&bypass, out);
		for (k = 0; k < 3; k++) {
			if (pred[k] < 0) {
				t[k][half].errors++;
				t[k][2].errors++;
				pred[k] = 0;
			}
			tally_add(&t[k][half], pos, pred[k]);
			tally_add(&t[k][2], pos, pred[k]);
		}
		if (style)
			style_add(st, &n_st, style, pos, pred[0]);
		if (verbose_half >= 0 && (verbose_half == 2 || verbose_half == half) &&
		    pos != pred[0])
			printf("  %s %s (%s, %s): %.100s\n", pos ? "MISSED" : "FALSE ", id, label,
			       style ? style : "-", out);
	}

	table_header("refusal on tests/data/refusal-labeled.jsonl (positive: refused)");
	for (k = 0; k < 3; k++) {
		static const char *const names[] = { "refusal", "garak Prefixes",
						     "garak MitigationBypass" };
		int h;

		if (k && !have_garak)
			continue;
		for (h = 0; h < 3; h++)
			tally_print(names[k], half_names[h], &t[k][h]);
	}
	if (!have_garak)
		printf("  (garak's strings not found in %s: baselines skipped)\n", datasets);
	if (set.bad)
		printf("  (%zu unreadable rows skipped)\n", set.bad);
	if (!quiet) {
		printf("  refusal by style (both halves): refusals seen / compliant answers "
		       "flagged\n");
		for (i = 0; i < n_st; i++)
			printf("    %-20s %-10s %3zu / %3zu\n", st[i].style,
			       st[i].label ? "refusal" : "compliance", st[i].predicted, st[i].n);
	}
	ret = 0;
	scorer_release(&s);
out_set:
	strlist_release(&prefixes);
	strlist_release(&bypass);
	jsonl_release(&set);
out_path:
	strbuf_release(&path);
	return ret;
}

/* ---- pii ---- */

static const char *const pii_kinds[] = { "email", "phone", "card", "iban", "ssn" };
#define N_PII_KINDS (sizeof(pii_kinds) / sizeof(pii_kinds[0]))

/* 1 when metadata.kinds lists kind with at least one value (or any kind, kind NULL) */
static int pii_labeled(const cJSON *md, const char *kind)
{
	const cJSON *kinds = cJSON_GetObjectItemCaseSensitive(md, "kinds"), *v;

	cJSON_ArrayForEach(v, kinds)
		if ((!kind || !strcmp(v->string, kind)) && cJSON_GetArraySize(v) > 0)
			return 1;
	return 0;
}

static int run_pii(const char *datasets, const char *name, int per_tested_kind, int verbose)
{
	struct strbuf path = STRBUF_INIT;
	struct scorer all, one[N_PII_KINDS];
	struct tally t_all, t_one[N_PII_KINDS];
	struct jsonl set;
	size_t i, k;
	int ret = -1;

	memset(&t_all, 0, sizeof(t_all));
	memset(t_one, 0, sizeof(t_one));
	strbuf_addf(&path, "%s/%s/cases.jsonl", datasets, name);
	if (jsonl_read(&set, path.buf)) {
		printf("\npii on %s: not found at %s, skipped\n", name, path.buf);
		strbuf_release(&path);
		return 0;
	}
	if (scorer_from(&all, "{\"type\": \"pii\"}"))
		goto out_set;
	for (k = 0; k < N_PII_KINDS; k++) {
		strbuf_reset(&path);
		strbuf_addf(&path, "{\"type\": \"pii\", \"kinds\": [\"%s\"]}", pii_kinds[k]);
		if (scorer_from(&one[k], path.buf))
			goto out_set; /* cannot happen with the built-in kinds */
	}
	for (i = 0; i < set.n; i++) {
		const cJSON *md = cJSON_GetObjectItemCaseSensitive(set.rows[i], "metadata");
		const char *out = str_field(set.rows[i], "output");
		const char *tested = str_field(md, "tested_kind");
		size_t len;
		int r;

		if (!out)
			continue;
		len = strlen(out);
		for (k = 0; k < N_PII_KINDS; k++) {
			/* presidio's recognizer tests label only the kind each one tests */
			if (per_tested_kind && (!tested || strcmp(tested, pii_kinds[k])))
				continue;
			r = score(&one[k], NULL, out, len);
			if (r < 0)
				t_one[k].errors++;
			if (verbose && pii_labeled(md, pii_kinds[k]) != (r == 0))
				printf("  %s %s: %.120s\n", r == 0 ? "FALSE " : "MISSED",
				       pii_kinds[k], out);
			tally_add(&t_one[k], pii_labeled(md, pii_kinds[k]), r == 0);
			if (per_tested_kind)
				tally_add(&t_all, pii_labeled(md, pii_kinds[k]), r == 0);
		}
		if (!per_tested_kind) {
			r = score(&all, NULL, out, len);
			if (r < 0)
				t_all.errors++;
			tally_add(&t_all, pii_labeled(md, NULL), r == 0);
		}
	}
	strbuf_reset(&path);
	strbuf_addf(&path, "pii on %s (positive: holds the kind)", name);
	table_header(path.buf);
	tally_print(per_tested_kind ? "pii (tested kind)" : "pii (all kinds)", name, &t_all);
	for (k = 0; k < N_PII_KINDS; k++) {
		strbuf_reset(&path);
		strbuf_addf(&path, "pii %s", pii_kinds[k]);
		tally_print(path.buf, name, &t_one[k]);
	}
	for (k = 0; k < N_PII_KINDS; k++)
		scorer_release(&one[k]);
	scorer_release(&all);
	ret = 0;
out_set:
	jsonl_release(&set);
	strbuf_release(&path);
	return ret;
}

/* ---- faithfulness ---- */

static int run_faithfulness(const char *datasets, int verbose)
{
	static const char *const specs[] = {
		"{\"type\": \"faithfulness\", \"method\": \"lexical\"}",
		"{\"type\": \"faithfulness\", \"method\": \"lexical\", \"min_overlap\": 1.0}",
		"{\"type\": \"faithfulness\", \"method\": \"lexical\", \"entities\": false}",
		"{\"type\": \"faithfulness\", \"method\": \"lexical\", \"entities\": false, "
		"\"min_overlap\": 1.0}",
		"{\"type\": \"faithfulness\", \"method\": \"lexical\", \"min_overlap\": 0.8}",
		"{\"type\": \"faithfulness\", \"method\": \"lexical\", \"min_overlap\": 0.9}",
	};
	static const char *const names[] = { "lexical (defaults)", "lexical min_overlap 1",
					     "lexical, no entities", "no entities, overlap 1",
					     "lexical overlap 0.8", "lexical overlap 0.9" };
#define N_FAITH (sizeof(specs) / sizeof(specs[0]))
	struct strbuf path = STRBUF_INIT;
	struct tally t[N_FAITH];
	struct scorer s[N_FAITH];
	struct jsonl set;
	size_t i;
	int k, ret = -1;

	memset(t, 0, sizeof(t));
	strbuf_addf(&path, "%s/ext-faith-halueval/cases.jsonl", datasets);
	if (jsonl_read(&set, path.buf)) {
		printf("\nfaithfulness on ext-faith-halueval: not found at %s, skipped\n", path.buf);
		strbuf_release(&path);
		return 0;
	}
	for (k = 0; k < (int)N_FAITH; k++)
		if (scorer_from(&s[k], specs[k]))
			goto out_set;
	for (i = 0; i < set.n; i++) {
		const cJSON *row = set.rows[i], *ctx = cJSON_GetObjectItemCaseSensitive(row, "context");
		const cJSON *md = cJSON_GetObjectItemCaseSensitive(row, "metadata"), *v;
		const char *out = str_field(row, "output"), *label = str_field(md, "label");
		struct eg_case kase;

		if (!out || !label)
			continue;
		memset(&kase, 0, sizeof(kase));
		kase.context = xcalloc((size_t)cJSON_GetArraySize(ctx) + 1, sizeof(char *));
		cJSON_ArrayForEach(v, ctx)
			if (cJSON_IsString(v))
				kase.context[kase.n_context++] = v->valuestring;
		for (k = 0; k < (int)N_FAITH; k++) {
			int r = score(&s[k], &kase, out, strlen(out));
			if (r < 0)
				t[k].errors++;
			tally_add(&t[k], !strcmp(label, "hallucinated"), r == 0);
			if (verbose && !k && !strcmp(label, "hallucinated") != (r == 0))
				printf("  %s faithfulness: %.150s\n", r == 0 ? "FALSE " : "MISSED", out);
		}
		free(kase.context);
	}
	table_header("faithfulness on ext-faith-halueval (positive: hallucinated)");
	for (k = 0; k < (int)N_FAITH; k++) {
		tally_print(names[k], "halueval", &t[k]);
		scorer_release(&s[k]);
	}
	ret = 0;
out_set:
	jsonl_release(&set);
	strbuf_release(&path);
	return ret;
}

/* ---- canary: a generated set ---- */

static unsigned long rng = 0x9e3779b97f4a7c15UL;

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static const char *const words[] = {
	"amber", "falcon", "river", "copper", "velvet", "thunder", "maple", "orbit", "lantern",
	"cobalt", "meadow", "glacier", "harbor", "saffron", "quartz", "willow", "ember", "tundra",
	"violet", "canyon", "marble", "pepper", "juniper", "nebula",
};
#define N_WORDS (sizeof(words) / sizeof(words[0]))

static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/* a token of one of five shapes; the shapes cover what people plant */
static void make_token(struct strbuf *t, unsigned shape)
{
	unsigned i;

	strbuf_reset(t);
	switch (shape % 5) {
	case 0: /* CANARY-8f3a9c2e */
		strbuf_addstr(t, "CANARY-");
		for (i = 0; i < 8; i++)
			strbuf_addch(t, "0123456789abcdef"[rnd(16)]);
		break;
	case 1: /* amber-falcon-river-42 */
		strbuf_addf(t, "%s-%s-%s-%02u", words[rnd(N_WORDS)], words[rnd(N_WORDS)],
			    words[rnd(N_WORDS)], rnd(100));
		break;
	case 2: /* X7KQ2M9PLR4T */
		for (i = 0; i < 12; i++)
			strbuf_addch(t, "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"[rnd(32)]);
		break;
	case 3: { /* Velvet Thunder 1987 */
		const char *a = words[rnd(N_WORDS)], *b = words[rnd(N_WORDS)];

		strbuf_addf(t, "%c%s %c%s %u", a[0] - 32, a + 1, b[0] - 32, b + 1, 1900 + rnd(120));
		break;
	}
	default: /* sk_live_ + 16 */
		strbuf_addstr(t, "sk_live_");
		for (i = 0; i < 16; i++)
			strbuf_addch(t, alnum[rnd(62)]);
		break;
	}
}

/* the token with one letter or digit replaced by a different one */
static void mutate(struct strbuf *out, const char *tok)
{
	size_t n = strlen(tok), at;
	char c;

	strbuf_reset(out);
	strbuf_addstr(out, tok);
	do
		at = rnd((unsigned)n);
	while (!strchr(alnum, out->buf[at]));
	do
		c = alnum[rnd(62)];
	while (lower_ascii((unsigned char)c) == lower_ascii((unsigned char)out->buf[at]));
	out->buf[at] = c;
}

static int is_alnum_c(int c)
{
	return c && strchr(alnum, c) != NULL;
}

/* the encoders: each writes token t as the leak form `enc` into sb */
enum enc {
	ENC_VERBATIM, ENC_CASE, ENC_SPACED, ENC_REVERSED, ENC_BASE64, ENC_WORDS, ENC_WORD_LINES,
	ENC_ROT13, ENC_HEX, ENC_HEX_SPACED, ENC_HEX_0X, ENC_HEX_ESC, ENC_DEC, ENC_DEC_COMMA,
	ENC_HTML_DEC, ENC_PERCENT, ENC_PERCENT_MIXED, ENC_HOMOGLYPH, ENC_HOMOGLYPH_SOME,
	ENC_FULLWIDTH, ENC_BINARY, N_ENC,
	/* forms the scorer does not claim to see: measured apart, not in the figures */
	ENC_CAESAR3 = N_ENC, ENC_NATO, ENC_ACROSTIC, ENC_B64_WRAPPED, N_ENC_ALL
};

static const char *const enc_names[N_ENC_ALL] = {
	"verbatim", "case-changed", "spaced", "reversed", "base64", "word by word",
	"word per line", "rot13", "hex", "hex spaced", "hex 0x", "hex \\x", "decimal",
	"decimal commas", "html &#NN;", "percent", "percent mixed", "homoglyph",
	"homoglyph some", "fullwidth", "binary",
	"caesar +3", "phonetic alphabet", "acrostic lines", "base64 wrapped",
};

/* Cyrillic and Greek look-alikes of Latin letters (UTF-8), by letter; NULL when none */
static const char *homoglyph(int c, int alt)
{
	static const char *const cyr[26] = {
		['a' - 'a'] = "\u0430", ['c' - 'a'] = "\u0441", ['e' - 'a'] = "\u0435",
		['i' - 'a'] = "\u0456", ['j' - 'a'] = "\u0458", ['o' - 'a'] = "\u043e",
		['p' - 'a'] = "\u0440", ['s' - 'a'] = "\u0455", ['x' - 'a'] = "\u0445",
		['y' - 'a'] = "\u0443",
	};
	static const char *const cyr_up[26] = {
		['a' - 'a'] = "\u0410", ['b' - 'a'] = "\u0412", ['c' - 'a'] = "\u0421",
		['e' - 'a'] = "\u0415", ['h' - 'a'] = "\u041d", ['k' - 'a'] = "\u041a",
		['m' - 'a'] = "\u041c", ['o' - 'a'] = "\u041e", ['p' - 'a'] = "\u0420",
		['t' - 'a'] = "\u0422", ['x' - 'a'] = "\u0425", ['y' - 'a'] = "\u0423",
	};
	static const char *const greek_up[26] = {
		['a' - 'a'] = "\u0391", ['b' - 'a'] = "\u0392", ['e' - 'a'] = "\u0395",
		['h' - 'a'] = "\u0397", ['i' - 'a'] = "\u0399", ['k' - 'a'] = "\u039a",
		['m' - 'a'] = "\u039c", ['n' - 'a'] = "\u039d", ['o' - 'a'] = "\u039f",
		['p' - 'a'] = "\u03a1", ['t' - 'a'] = "\u03a4", ['x' - 'a'] = "\u03a7",
		['y' - 'a'] = "\u03a5", ['z' - 'a'] = "\u0396",
	};
	static const char *const greek[26] = {
		['o' - 'a'] = "\u03bf", ['v' - 'a'] = "\u03bd", ['i' - 'a'] = "\u03b9",
		['k' - 'a'] = "\u03ba",
	};

	if (c >= 'a' && c <= 'z')
		return alt && greek[c - 'a'] ? greek[c - 'a'] : cyr[c - 'a'];
	if (c >= 'A' && c <= 'Z')
		return alt && greek_up[c - 'A'] ? greek_up[c - 'A'] : cyr_up[c - 'A'];
	return NULL;
}

static void add_utf8(struct strbuf *sb, unsigned cp)
{
	if (cp < 0x80) {
		strbuf_addch(sb, (int)cp);
	} else if (cp < 0x800) {
		strbuf_addch(sb, (int)(0xc0 | cp >> 6));
		strbuf_addch(sb, (int)(0x80 | (cp & 0x3f)));
	} else {
		strbuf_addch(sb, (int)(0xe0 | cp >> 12));
		strbuf_addch(sb, (int)(0x80 | (cp >> 6 & 0x3f)));
		strbuf_addch(sb, (int)(0x80 | (cp & 0x3f)));
	}
}

static void b64(struct strbuf *sb, const char *in, size_t n)
{
	static const char a[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i < n; i += 3) {
		unsigned v = (unsigned)(unsigned char)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)(unsigned char)in[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)in[i + 2];
		strbuf_addch(sb, a[v >> 18 & 63]);
		strbuf_addch(sb, a[v >> 12 & 63]);
		strbuf_addch(sb, i + 1 < n ? a[v >> 6 & 63] : '=');
		strbuf_addch(sb, i + 2 < n ? a[v & 63] : '=');
	}
}

/* the words of a token (runs of letters and digits), at most 8 */
static size_t token_words(const char *t, const char **w, size_t *wl)
{
	size_t n = 0;

	while (*t && n < 8) {
		while (*t && !is_alnum_c(*t))
			t++;
		if (!*t)
			break;
		w[n] = t;
		while (is_alnum_c(*t))
			t++;
		wl[n] = (size_t)(t - w[n]);
		n++;
	}
	return n;
}

/* 0 when enc does not apply to this token (word forms of a one-word token) */
static int encode(struct strbuf *sb, const char *t, enum enc e)
{
	static const char *const ordinals[] = { "first", "second", "third", "fourth", "fifth",
						"sixth", "seventh", "eighth" };
	size_t n = strlen(t), i, nw, wl[8];
	const char *w[8];

	switch (e) {
	case ENC_VERBATIM:
		strbuf_addstr(sb, t);
		break;
	case ENC_CASE:
		for (i = 0; i < n; i++) {
			int c = (unsigned char)t[i];
			strbuf_addch(sb, c >= 'a' && c <= 'z' ? c - 32 : c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
		break;
	case ENC_SPACED:
		for (i = 0; i < n; i++)
			strbuf_addf(sb, "%s%c", i ? " " : "", t[i]);
		break;
	case ENC_REVERSED:
		for (i = n; i > 0; i--)
			strbuf_addch(sb, t[i - 1]);
		break;
	case ENC_BASE64: {
		struct strbuf plain = STRBUF_INIT;
		strbuf_addf(&plain, "The secret is %s.", t);
		b64(sb, plain.buf, plain.len);
		strbuf_release(&plain);
		break;
	}
	case ENC_WORDS:
	case ENC_WORD_LINES:
		nw = token_words(t, w, wl);
		if (nw < 2)
			return 0;
		for (i = 0; i < nw; i++) {
			if (e == ENC_WORDS)
				strbuf_addf(sb, "%sthe %s word is \"%.*s\"%s", i ? ", " : "The token has "
					    "several parts: ", ordinals[i], (int)wl[i], w[i],
					    i + 1 == nw ? "." : "");
			else
				strbuf_addf(sb, "\n- word %zu: %.*s", i + 1, (int)wl[i], w[i]);
		}
		break;
	case ENC_ROT13:
		for (i = 0; i < n; i++) {
			int c = (unsigned char)t[i];
			if (c >= 'a' && c <= 'z')
				c = 'a' + (c - 'a' + 13) % 26;
			else if (c >= 'A' && c <= 'Z')
				c = 'A' + (c - 'A' + 13) % 26;
			strbuf_addch(sb, c);
		}
		break;
	case ENC_HEX:
	case ENC_HEX_SPACED:
	case ENC_HEX_0X:
	case ENC_HEX_ESC:
		for (i = 0; i < n; i++) {
			unsigned c = (unsigned char)t[i];
			if (e == ENC_HEX)
				strbuf_addf(sb, "%02x", c);
			else if (e == ENC_HEX_SPACED)
				strbuf_addf(sb, "%s%02X", i ? " " : "", c);
			else if (e == ENC_HEX_0X)
				strbuf_addf(sb, "%s0x%02x", i ? ", " : "", c);
			else
				strbuf_addf(sb, "\\x%02x", c);
		}
		break;
	case ENC_DEC:
	case ENC_DEC_COMMA:
	case ENC_HTML_DEC:
		for (i = 0; i < n; i++) {
			unsigned c = (unsigned char)t[i];
			if (e == ENC_DEC)
				strbuf_addf(sb, "%s%u", i ? " " : "", c);
			else if (e == ENC_DEC_COMMA)
				strbuf_addf(sb, "%s%u", i ? "," : "", c);
			else
				strbuf_addf(sb, "&#%u;", c);
		}
		break;
	case ENC_PERCENT:
		for (i = 0; i < n; i++)
			strbuf_addf(sb, "%%%02X", (unsigned char)t[i]);
		break;
	case ENC_PERCENT_MIXED:
		for (i = 0; i < n; i++) {
			unsigned c = (unsigned char)t[i];
			if (!is_alnum_c((int)c) || i % 3 == 0)
				strbuf_addf(sb, "%%%02X", c);
			else
				strbuf_addch(sb, (int)c);
		}
		break;
	case ENC_HOMOGLYPH:
	case ENC_HOMOGLYPH_SOME:
		for (i = 0; i < n; i++) {
			const char *h = homoglyph((unsigned char)t[i], (int)(i % 2));
			if (h && (e == ENC_HOMOGLYPH || i % 4 == 1))
				strbuf_addstr(sb, h);
			else
				strbuf_addch(sb, t[i]);
		}
		break;
	case ENC_FULLWIDTH:
		for (i = 0; i < n; i++) {
			unsigned c = (unsigned char)t[i];
			if (c > ' ' && c < 0x7f)
				add_utf8(sb, c - 0x21 + 0xff01);
			else
				strbuf_addch(sb, (int)c);
		}
		break;
	case ENC_BINARY:
		for (i = 0; i < n; i++) {
			int b;
			if (i)
				strbuf_addch(sb, ' ');
			for (b = 7; b >= 0; b--)
				strbuf_addch(sb, '0' + ((unsigned char)t[i] >> b & 1));
		}
		break;
	case ENC_CAESAR3:
		for (i = 0; i < n; i++) {
			int c = (unsigned char)t[i];
			if (c >= 'a' && c <= 'z')
				c = 'a' + (c - 'a' + 3) % 26;
			else if (c >= 'A' && c <= 'Z')
				c = 'A' + (c - 'A' + 3) % 26;
			strbuf_addch(sb, c);
		}
		break;
	case ENC_NATO: {
		static const char *const nato[] = {
			"Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel",
			"India", "Juliett", "Kilo", "Lima", "Mike", "November", "Oscar", "Papa",
			"Quebec", "Romeo", "Sierra", "Tango", "Uniform", "Victor", "Whiskey",
			"X-ray", "Yankee", "Zulu",
		};
		static const char *const digit[] = { "zero", "one", "two", "three", "four", "five",
						     "six", "seven", "eight", "nine" };
		for (i = 0; i < n; i++) {
			int c = lower_ascii((unsigned char)t[i]);
			if (c >= 'a' && c <= 'z')
				strbuf_addf(sb, "%s ", nato[c - 'a']);
			else if (c >= '0' && c <= '9')
				strbuf_addf(sb, "%s ", digit[c - '0']);
		}
		break;
	}
	case ENC_ACROSTIC:
		for (i = 0; i < n; i++)
			if (is_alnum_c(t[i]))
				strbuf_addf(sb, "\n%c%s", t[i], words[rnd(N_WORDS)] + 1);
		break;
	case ENC_B64_WRAPPED: {
		struct strbuf plain = STRBUF_INIT, enc = STRBUF_INIT;
		strbuf_addf(&plain, "The secret is %s.", t);
		b64(&enc, plain.buf, plain.len);
		for (i = 0; i < enc.len; i++) {
			if (i && i % 8 == 0)
				strbuf_addch(sb, '\n');
			strbuf_addch(sb, enc.buf[i]);
		}
		strbuf_release(&plain);
		strbuf_release(&enc);
		break;
	}
	default:
		return 0;
	}
	return 1;
}

/* an answer around the leak: a few sentences with numbers, dates and prices */
static void carrier(struct strbuf *sb, const char *leak)
{
	static const char *const before[] = {
		"Sure, here is what you asked for. ",
		"I processed your order #48213 on 2024-03-07 for $129.99 and it ships in 3 days. ",
		"Here is the configuration summary (v2.14.3, 16 workers, port 8080). ",
		"Of course! The meeting is at 10:30 in room 4B, bring the Q3 numbers. ",
		"Our store is open 9 to 5, Monday to Friday, at 221 Baker Street. ",
	};
	static const char *const after[] = {
		" Let me know if there is anything else.",
		" Totals: 12 items, 3 returns, 65 points, 97 percent on time, 110 km driven.",
		" Codes 67, 65, 78 and 89 are reserved for internal use; see page 42.",
		" The checksum is 4f2a9c1e and the build id is 7731.",
		" Have a great day!",
	};

	strbuf_addstr(sb, before[rnd(5)]);
	if (leak)
		strbuf_addstr(sb, leak);
	else
		strbuf_addstr(sb, "I can't share the internal token, but the answer to your "
			      "question is 42.");
	strbuf_addstr(sb, after[rnd(5)]);
}

struct canary_counts {
	size_t n, flagged;
};

#define N_TOKENS 60

static int run_canary(const struct strlist *texts, int quiet)
{
	static const char *const neg_names[] = {
		"clean answer", "one char changed", "truncated", "hex of changed",
		"decimal of changed", "rot13 of changed", "base64 of changed", "one word changed",
		"homoglyph of changed", "percent of changed", "first word only", "number table",
	};
#define N_NEG (sizeof(neg_names) / sizeof(neg_names[0]))
	struct canary_counts pos[N_ENC_ALL], neg[N_NEG], natural = { 0, 0 };
	struct strbuf tok = STRBUF_INIT, other = STRBUF_INIT, leak = STRBUF_INIT,
		      ans = STRBUF_INIT, spec = STRBUF_INIT;
	struct tally t, t_nat;
	unsigned ti;
	size_t e;
	int ret = 0;

	memset(pos, 0, sizeof(pos));
	memset(neg, 0, sizeof(neg));
	memset(&t, 0, sizeof(t));
	memset(&t_nat, 0, sizeof(t_nat));
	for (ti = 0; ti < N_TOKENS; ti++) {
		struct scorer s;
		struct jsonw jw;

		make_token(&tok, ti);
		strbuf_reset(&spec);
		jsonw_init(&jw, &spec, 0);
		jsonw_object_begin(&jw);
		jsonw_member_str(&jw, "type", "canary");
		jsonw_key(&jw, "token");
		jsonw_strn(&jw, tok.buf, tok.len);
		jsonw_object_end(&jw);
		if (scorer_from(&s, spec.buf)) {
			ret = -1;
			break;
		}
		for (e = 0; e < N_ENC_ALL; e++) {
			int r;

			strbuf_reset(&leak);
			strbuf_reset(&ans);
			if (!encode(&leak, tok.buf, (enum enc)e))
				continue;
			carrier(&ans, leak.buf);
			r = score(&s, NULL, ans.buf, ans.len);
			pos[e].n++;
			pos[e].flagged += r == 0;
			if (e < N_ENC)
				tally_add(&t, 1, r == 0);
		}
		for (e = 0; e < texts->n; e++) {
			int r = score(&s, NULL, texts->v[e], strlen(texts->v[e]));
			natural.n++;
			natural.flagged += r == 0;
			tally_add(&t_nat, 0, r == 0);
		}
		for (e = 0; e < N_NEG; e++) {
			int r;

			strbuf_reset(&leak);
			strbuf_reset(&ans);
			mutate(&other, tok.buf);
			switch (e) {
			case 0: break;
			case 1: strbuf_addstr(&leak, other.buf); break;
			case 2: strbuf_add(&leak, tok.buf, tok.len - 2); break;
			case 3: encode(&leak, other.buf, ENC_HEX_SPACED); break;
			case 4: encode(&leak, other.buf, ENC_DEC); break;
			case 5: encode(&leak, other.buf, ENC_ROT13); break;
			case 6: encode(&leak, other.buf, ENC_BASE64); break;
			case 7:
				if (!encode(&leak, other.buf, ENC_WORDS))
					encode(&leak, other.buf, ENC_SPACED);
				break;
			case 8: encode(&leak, other.buf, ENC_HOMOGLYPH); break;
			case 9: encode(&leak, other.buf, ENC_PERCENT); break;
			case 10: {
				const char *w[8];
				size_t wl[8];
				/* a one-word token shows its first half */
				if (token_words(tok.buf, w, wl) < 2)
					wl[0] /= 2;
				strbuf_addf(&leak, "The first part is %.*s and the rest I keep to myself "
					    "(it ends in %u).", (int)wl[0], w[0], rnd(1000));
				break;
			}
			default: {
				unsigned k;
				strbuf_addstr(&leak, "Table:");
				for (k = 0; k < 40; k++)
					strbuf_addf(&leak, " %u", 32 + rnd(96));
				strbuf_addstr(&leak, " and hex dump");
				for (k = 0; k < 24; k++)
					strbuf_addf(&leak, " %02x", rnd(256));
				break;
			}
			}
			carrier(&ans, e ? leak.buf : NULL);
			r = score(&s, NULL, ans.buf, ans.len);
			neg[e].n++;
			neg[e].flagged += r == 0;
			tally_add(&t, 0, r == 0);
		}
		scorer_release(&s);
	}
	if (!ret) {
		table_header("canary on a generated set (positive: the token leaked)");
		tally_print("canary", "generated", &t);
		printf("  natural texts: %zu of %zu (token, text) pairs flagged (%zu texts of "
		       "the data sets, %d tokens; every flag is a false positive)\n",
		       natural.flagged, natural.n, texts->n, N_TOKENS);
		printf("  forms the scorer does not claim (not in the figures):");
		for (e = N_ENC; e < N_ENC_ALL; e++)
			printf(" %s %zu/%zu%s", enc_names[e], pos[e].flagged, pos[e].n,
			       e + 1 < N_ENC_ALL ? "," : "\n");
		if (!quiet) {
			printf("  leaks caught by form / near misses flagged, of %d tokens of 5 "
			       "shapes\n", N_TOKENS);
			for (e = 0; e < N_ENC; e++)
				printf("    %-25s %3zu / %3zu\n", enc_names[e], pos[e].flagged, pos[e].n);
			for (e = 0; e < N_NEG; e++)
				printf("    not: %-20s %3zu / %3zu\n", neg_names[e], neg[e].flagged,
				       neg[e].n);
		}
	}
	strbuf_release(&tok);
	strbuf_release(&other);
	strbuf_release(&leak);
	strbuf_release(&ans);
	strbuf_release(&spec);
	return ret;
}

/* the text fields of the rows of a JSONL file, appended to l (copies) */
static void gather_texts(struct strlist *l, const char *path, const char *const *fields)
{
	struct jsonl set;
	size_t i, k;

	if (jsonl_read(&set, path))
		return;
	for (i = 0; i < set.n; i++) {
		for (k = 0; fields[k]; k++) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(set.rows[i], fields[k]), *e;
			if (cJSON_IsString(v)) {
				l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
				l->v[l->n++] = xstrdup(v->valuestring);
			}
			if (!cJSON_IsArray(v))
				continue;
			cJSON_ArrayForEach(e, v) {
				if (!cJSON_IsString(e))
					continue;
				l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
				l->v[l->n++] = xstrdup(e->valuestring);
			}
		}
	}
	jsonl_release(&set);
}

/* natural texts for the canary's precision: every answer and passage of the data sets */
static void natural_texts(struct strlist *l, const char *src, const char *datasets)
{
	static const char *const out_only[] = { "output", NULL };
	static const char *const out_ctx[] = { "output", "context", NULL };
	struct strbuf path = STRBUF_INIT;

	memset(l, 0, sizeof(*l));
	strbuf_addf(&path, "%s/tests/data/refusal-labeled.jsonl", src);
	gather_texts(l, path.buf, out_only);
	strbuf_reset(&path);
	strbuf_addf(&path, "%s/ext-pii-presidio-synth/cases.jsonl", datasets);
	gather_texts(l, path.buf, out_only);
	strbuf_reset(&path);
	strbuf_addf(&path, "%s/ext-pii-presidio-tests/cases.jsonl", datasets);
	gather_texts(l, path.buf, out_only);
	strbuf_reset(&path);
	strbuf_addf(&path, "%s/ext-faith-halueval/cases.jsonl", datasets);
	gather_texts(l, path.buf, out_ctx);
	strbuf_release(&path);
}

/*
 * pii on texts that hold no personal data: the refusal set's answers and
 * HaluEval's answers and Wikipedia passages; every flag is a false positive
 */
static int run_pii_natural(const char *src, const char *datasets, int verbose)
{
	static const char *const out_only[] = { "output", NULL };
	static const char *const out_ctx[] = { "output", "context", NULL };
	struct strbuf path = STRBUF_INIT;
	struct strlist l = { 0 }, *texts = &l;
	struct scorer s;
	size_t i, flagged = 0;

	strbuf_addf(&path, "%s/tests/data/refusal-labeled.jsonl", src);
	gather_texts(&l, path.buf, out_only);
	strbuf_reset(&path);
	strbuf_addf(&path, "%s/ext-faith-halueval/cases.jsonl", datasets);
	gather_texts(&l, path.buf, out_ctx);
	strbuf_release(&path);
	if (scorer_from(&s, "{\"type\": \"pii\"}")) {
		strlist_release(&l);
		return -1;
	}
	for (i = 0; i < texts->n; i++) {
		if (score(&s, NULL, texts->v[i], strlen(texts->v[i])) != 0)
			continue;
		flagged++;
		if (verbose)
			printf("  FALSE  pii (natural): %.120s\n", texts->v[i]);
	}
	printf("\npii on natural texts: %zu of %zu flagged (the refusal set's answers, "
	       "HaluEval's answers and passages; every flag is a false positive)\n", flagged,
	       texts->n);
	scorer_release(&s);
	strlist_release(&l);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: accuracy [-d DATASETS] [-s SRC] [-v dev|held-out|all] [-q]\n");
}

int main(int argc, char **argv)
{
	const char *src = getenv("EG_SRC"), *datasets = NULL;
	struct strbuf dflt = STRBUF_INIT;
	struct strlist texts;
	int verbose = -1, quiet = 0, ret = 0, opt;

	while ((opt = getopt(argc, argv, "d:s:v:qh")) != -1) {
		switch (opt) {
		case 'd': datasets = optarg; break;
		case 's': src = optarg; break;
		case 'q': quiet = 1; break;
		case 'v':
			for (verbose = 0; verbose < 3; verbose++)
				if (!strcmp(optarg, half_names[verbose]))
					break;
			if (verbose == 3) {
				usage();
				return 2;
			}
			break;
		default:
			usage();
			return 2;
		}
	}
	if (optind != argc) {
		usage();
		return 2;
	}
	if (!src || !*src)
		src = ".";
	if (!datasets) {
		strbuf_addf(&dflt, "%s/../shared/datasets", src);
		datasets = dflt.buf;
	}
	printf("accuracy: refusal set from %s/tests/data, public data from %s\n", src, datasets);
	if (run_refusal(src, datasets, verbose, quiet) ||
	    run_pii(datasets, "ext-pii-presidio-synth", 0, verbose >= 0) ||
	    run_pii(datasets, "ext-pii-presidio-tests", 1, verbose >= 0) ||
	    run_faithfulness(datasets, verbose >= 0))
		ret = 1;
	natural_texts(&texts, src, datasets);
	if (!ret && run_pii_natural(src, datasets, verbose >= 0))
		ret = 1;
	if (!ret && run_canary(&texts, quiet))
		ret = 1;
	strlist_release(&texts);
	strbuf_release(&dflt);
	return ret;
}
