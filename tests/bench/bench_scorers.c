/*
 * bench_scorers: time the CPU-bound safety scorers on a realistic case: a
 * 2 KB answer and five 1 KB context passages, generated deterministically
 * (the answer reuses passage sentences, rewords some and invents others,
 * with dates, prices, order and version numbers mixed in). Reports the
 * median over ROUNDS rounds of the mean CPU microseconds per case (process
 * CPU time, so that other work on the machine does not count).
 *
 * A second table times the scorers json-schema, levenshtein, rouge-l,
 * contains-any, contains-all and word-count on a 1 KB answer: the first
 * 1 KB of that answer (for json-schema a 1 KB JSON order with a schema of
 * types, required keys, bounds and a pattern), the similarity scorers
 * against a 1 KB reference made of reworded passage sentences.
 *
 *   bench_scorers [ITERATIONS [ROUNDS]]      defaults 20000 and 5
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lexical.h"
#include "scorer.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

#define N_PASSAGES 5
#define PASSAGE_BYTES 1024
#define ANSWER_BYTES 2048
#define MAX_ROUNDS 15
#define SHORT_BYTES 1024

static const char *const vocab[] = {
	"order", "refund", "return", "shipping", "delivery", "warranty", "account", "password",
	"customer", "support", "store", "item", "package", "tracking", "address", "payment",
	"card", "invoice", "discount", "coupon", "price", "product", "battery", "charger",
	"replacement", "exchange", "policy", "days", "weeks", "business", "receipt", "label",
	"courier", "carrier", "express", "standard", "international", "domestic", "member",
	"loyalty", "points", "expire", "months", "subscription", "cancel", "renew", "plan",
	"monthly", "annual", "fee", "free", "cost", "taxes", "region", "country", "warehouse",
	"stock", "available", "backorder", "preorder", "release", "model", "version", "update",
	"firmware", "device", "screen", "repair", "damage", "water", "accidental", "coverage",
	"claim", "approved", "denied", "processed", "pending", "confirmed", "shipped", "arrives",
	"within", "after", "before", "the", "a", "is", "are", "to", "of", "and", "your", "our",
	"we", "you", "can", "will", "be", "for", "on", "in", "with", "by", "from", "this",
	"that", "it", "usually", "only", "also", "please", "contact", "team", "email", "phone",
	"chat", "hours", "weekend", "holiday", "opened", "unopened", "original", "condition",
	"packaging", "gift", "wrap", "message", "note", "size", "colour", "fit",
};

#define N_VOCAB (sizeof(vocab) / sizeof(vocab[0]))

/* words no passage holds: invented details */
static const char *const invented[] = {
	"lifetime", "platinum", "drone", "satellite", "helicopter", "overnight", "guaranteed",
	"unlimited", "cashback", "voucher", "lottery", "insurance", "theft", "fire", "flood",
	"robot", "butler", "concierge", "diamond", "titanium",
};

#define N_INVENTED (sizeof(invented) / sizeof(invented[0]))

static unsigned long rng = 88172645463325252UL;

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

/*
 * One sentence of 8 to 15 words, sometimes with a number-like detail; when
 * made up, about half of its words are invented ones.
 */
static void sentence(struct strbuf *sb, int made_up)
{
	unsigned n = 8 + rnd(8), i;

	for (i = 0; i < n; i++) {
		const char *w = made_up && rnd(2) ? invented[rnd(N_INVENTED)] : vocab[rnd(N_VOCAB)];
		if (!i) {
			strbuf_addch(sb, w[0] - 'a' + 'A');
			strbuf_addstr(sb, w + 1);
		} else {
			strbuf_addch(sb, ' ');
			strbuf_addstr(sb, w);
		}
	}
	switch (rnd(8)) {
	case 0: strbuf_addf(sb, " on 2024-%02u-%02u", 1 + rnd(12), 1 + rnd(28)); break;
	case 1: strbuf_addf(sb, " for $%u.%02u", rnd(500), rnd(100)); break;
	case 2: strbuf_addf(sb, " under order #A%u", 1000 + rnd(9000)); break;
	case 3: strbuf_addf(sb, " since version %u.%u.%u", rnd(20), rnd(10), rnd(100)); break;
	case 4: strbuf_addf(sb, " within %u days", 1 + rnd(60)); break;
	default: break;
	}
	strbuf_addstr(sb, rnd(6) ? ". " : "! ");
}

/* the process's CPU time: a loaded machine slows the wall clock, not this */
static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct bench_case {
	char *passages[N_PASSAGES];
	char *answer;
	size_t answer_len;
};

static void case_build(struct bench_case *c)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	for (i = 0; i < N_PASSAGES; i++) {
		while (sb.len < PASSAGE_BYTES - 120)
			sentence(&sb, 0);
		c->passages[i] = strbuf_detach(&sb, NULL);
	}
	/* the answer: passage sentences copied whole or in part, and invented ones */
	while (sb.len < ANSWER_BYTES - 120) {
		const char *p = c->passages[rnd(N_PASSAGES)];
		size_t plen = strlen(p), at = rnd((unsigned)plen), end;

		if (rnd(3)) {
			while (at && p[at - 1] != ' ')
				at--;
			end = at + 60 + rnd(60);
			if (end > plen)
				end = plen;
			strbuf_add(&sb, p + at, end - at);
			strbuf_addstr(&sb, ". ");
		} else {
			sentence(&sb, 1);
		}
	}
	c->answer_len = sb.len;
	c->answer = strbuf_detach(&sb, NULL);
}

static void case_release(struct bench_case *c)
{
	size_t i;

	for (i = 0; i < N_PASSAGES; i++)
		free(c->passages[i]);
	free(c->answer);
}

static double time_lexical(const struct bench_case *c, long iters)
{
	double t0 = now_us(), sink = 0;
	long i;

	for (i = 0; i < iters; i++) {
		struct lexical_result r;
		if (!lexical_faithfulness(c->answer, c->answer_len, c->passages, N_PASSAGES, 0.6,
					  &r))
			sink += r.score;
		lexical_result_release(&r);
	}
	if (sink < 0)
		puts("impossible");
	return (now_us() - t0) / (double)iters;
}

static double time_scorer(const struct scorer *s, const struct bench_case *c, long iters)
{
	double t0 = now_us();
	long i;

	for (i = 0; i < iters; i++) {
		struct score_job job;
		struct score_result r;

		memset(&job, 0, sizeof(job));
		job.output = c->answer;
		job.output_len = c->answer_len;
		scorer_score(s, &job, &r);
		score_result_release(&r);
		score_job_release(s, &job);
	}
	return (now_us() - t0) / (double)iters;
}

static int scorer_from(struct scorer *s, const char *json)
{
	static const struct eg_loc loc = { "bench", 0, 1 };
	cJSON *spec = cJSON_Parse(json);
	int rc = spec ? scorer_init(s, spec, &loc) : -1;

	cJSON_Delete(spec);
	return rc;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* a 1 KB JSON order, valid against ORDER_SCHEMA */
static char *json_order(void)
{
	struct strbuf sb = STRBUF_INIT;
	unsigned i;

	strbuf_addstr(&sb, "{\"id\": 4711, \"customer\": \"c-1234\", \"items\": [");
	for (i = 0; sb.len < SHORT_BYTES - 80; i++)
		strbuf_addf(&sb, "%s{\"sku\": \"A-%u\", \"qty\": %u, \"price\": %u.%02u}",
			    i ? ", " : "", 100 + rnd(900), 1 + rnd(9), rnd(500), rnd(100));
	strbuf_addstr(&sb, "], \"note\": \"leave at the door\"}");
	return strbuf_detach(&sb, NULL);
}

#define ORDER_SCHEMA                                                                        \
	"{\"type\": \"object\", \"required\": [\"id\", \"customer\", \"items\"],"           \
	" \"properties\": {\"id\": {\"type\": \"integer\", \"minimum\": 1},"                 \
	" \"customer\": {\"type\": \"string\", \"pattern\": \"^c-[0-9]+$\"},"                \
	" \"items\": {\"type\": \"array\", \"minItems\": 1, \"items\": {\"type\": \"object\","  \
	" \"required\": [\"sku\", \"qty\"], \"properties\": {\"sku\": {\"type\": \"string\"},"  \
	" \"qty\": {\"type\": \"integer\", \"minimum\": 1}, \"price\": {\"type\": \"number\"}}," \
	" \"additionalProperties\": false}}, \"note\": {\"type\": \"string\", \"maxLength\": 200}}}"

/* the first n bytes of s or less, cut after a word */
static char *prefix(const char *s, size_t n)
{
	size_t len = strlen(s);

	if (len > n) {
		len = n;
		while (len && s[len - 1] != ' ')
			len--;
	}
	return xstrndup(s, len);
}

/* the second table: the scorers on a 1 KB answer */
static int bench_short(const struct bench_case *c, long iters, int rounds)
{
	static const char *const names[] = { "json-schema", "levenshtein", "rouge-l",
					     "contains-any", "contains-all", "word-count" };
	enum { N_SHORT = sizeof(names) / sizeof(names[0]) };
	struct strbuf ref = STRBUF_INIT, spec = STRBUF_INIT;
	struct bench_case one = *c;
	char *answer = prefix(c->answer, SHORT_BYTES), *order = json_order(), *refp;
	int k, i, ret = 0;

	while (ref.len < SHORT_BYTES + 200)
		sentence(&ref, 0);
	refp = prefix(ref.buf, SHORT_BYTES);
	printf("\n1 KB answer (%zu bytes; JSON %zu bytes; reference %zu bytes)\n", strlen(answer),
	       strlen(order), strlen(refp));
	printf("%-12s %12s %12s %12s\n", "scorer", "median us", "min us", "max us");
	for (k = 0; k < N_SHORT && !ret; k++) {
		double t[MAX_ROUNDS];
		struct scorer s;

		strbuf_reset(&spec);
		switch (k) {
		case 0: strbuf_addstr(&spec, "{\"type\": \"json-schema\", \"schema\": " ORDER_SCHEMA "}"); break;
		case 1: case 2: strbuf_addf(&spec, "{\"type\": \"%s\", \"value\": \"%s\"}", names[k], refp); break;
		case 3: strbuf_addstr(&spec, "{\"type\": \"contains-any\", \"values\": [\"lifetime\", \"robot\", \"butler\", \"Refund\"], \"ignore_case\": true}"); break;
		case 4: strbuf_addstr(&spec, "{\"type\": \"contains-all\", \"values\": [\"order\", \"refund\", \"days\", \"support\"], \"ignore_case\": true}"); break;
		default: strbuf_addstr(&spec, "{\"type\": \"word-count\", \"min\": 50, \"max\": 300}"); break;
		}
		if (scorer_from(&s, spec.buf)) {
			ret = 1;
			break;
		}
		one.answer = k ? answer : order;
		one.answer_len = strlen(one.answer);
		for (i = 0; i < rounds; i++)
			t[i] = time_scorer(&s, &one, iters);
		qsort(t, (size_t)rounds, sizeof(*t), cmp_double);
		printf("%-12s %12.2f %12.2f %12.2f\n", names[k], median(t, rounds), t[0],
		       t[rounds - 1]);
		scorer_release(&s);
	}
	free(answer);
	free(order);
	free(refp);
	strbuf_release(&ref);
	strbuf_release(&spec);
	return ret;
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "lexical", "pii", "refusal", "canary" };
	static const char *const specs[] = {
		NULL,
		"{\"type\": \"pii\"}",
		"{\"type\": \"refusal\", \"expect\": false}",
		"{\"type\": \"canary\", \"token\": \"CANARY-8f3a9c2e\"}",
	};
	long iters = argc > 1 ? atol(argv[1]) : 20000;
	int rounds = argc > 2 ? atoi(argv[2]) : 5, k, i;
	struct lexical_result lr;
	struct bench_case c;
	struct scorer s[4];

	if (iters < 1 || rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: bench_scorers [ITERATIONS [ROUNDS <= %d]]\n", MAX_ROUNDS);
		return 2;
	}
	case_build(&c);
	for (k = 1; k < 4; k++)
		if (scorer_from(&s[k], specs[k]))
			return 1;
	if (lexical_faithfulness(c.answer, c.answer_len, c.passages, N_PASSAGES, 0.6, &lr))
		return 1;
	printf("case: answer %zu bytes, %d passages of about %d bytes; lexical %zu/%zu sentences "
	       "supported\n", c.answer_len, N_PASSAGES, PASSAGE_BYTES, lr.supported, lr.total);
	lexical_result_release(&lr);
	printf("%-8s %12s %12s %12s   (%ld iterations x %d rounds)\n", "scorer", "median us",
	       "min us", "max us", iters, rounds);
	for (k = 0; k < 4; k++) {
		double t[MAX_ROUNDS];
		for (i = 0; i < rounds; i++)
			t[i] = k ? time_scorer(&s[k], &c, iters) : time_lexical(&c, iters);
		qsort(t, (size_t)rounds, sizeof(*t), cmp_double);
		printf("%-8s %12.2f %12.2f %12.2f\n", names[k], median(t, rounds), t[0],
		       t[rounds - 1]);
	}
	for (k = 1; k < 4; k++)
		scorer_release(&s[k]);
	k = bench_short(&c, iters, rounds);
	case_release(&c);
	return k;
}
