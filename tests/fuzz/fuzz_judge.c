/*
 * libFuzzer target: judge replies, which are untrusted. The bytes go to the
 * verdict, claims and verdict-list parsers, to the data neutraliser, and as
 * the reply (twice, so through the strict retry) to a judge scorer stepped
 * as the runner steps it. Nothing may crash or leak, a refused reply must
 * leave nothing behind, an accepted verdict must be in range and
 * consistent, a neutralised text must not hold a delimiter tag, and the
 * scorer must end in a complete result that is never both error and pass.
 *
 * Built by -DEG_FUZZ=ON (see README.md here); ./dev.sh fuzz runs it on its
 * seeds in corpus/judge/.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "case.h"
#include "judge.h"
#include "scorer.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct scorer judge;
static struct eg_case kase;
static char *passages[] = { "Returns are accepted within 30 days." };
static int ready;

static void setup(void)
{
	const struct eg_loc loc = { "fuzz", 0, 1 };
	struct scorer_env env = { "judge-model", NULL, 1, "target-model" };
	cJSON *spec;

	scorer_env_set(&env);
	spec = cJSON_Parse("{\"type\":\"judge\",\"rubric\":\"r\",\"samples\":2,\"threshold\":0.5}");
	if (!spec || scorer_init(&judge, spec, &loc))
		abort();
	cJSON_Delete(spec);
	kase.id = "fuzz";
	kase.input = "How long?";
	kase.expected = "30 days";
	kase.context = passages;
	kase.n_context = 1;
	ready = 1;
}

static void check_verdict(const char *text, size_t len)
{
	struct judge_verdict v;
	struct strbuf err = STRBUF_INIT;

	if (judge_parse_verdict(text, len, &v, &err)) {
		if (v.pass || v.reason || !err.len)
			abort();
	} else {
		if (!(v.score >= 0 && v.score <= 1) || (v.pass && v.score < 0.5) ||
		    (!v.pass && v.score >= 0.5) || err.len)
			abort();
	}
	judge_verdict_release(&v);
	strbuf_release(&err);
}

static void check_claims(const char *text, size_t len)
{
	struct strbuf err = STRBUF_INIT;
	struct claim_verdict v[2];
	char **claims;
	size_t n, i;

	if (!judge_parse_claims(text, len, &claims, &n, &err)) {
		if (n > JUDGE_CLAIMS_MAX)
			abort();
		for (i = 0; i < n; i++)
			if (!claims[i])
				abort();
		judge_claims_free(claims, n);
	} else if (claims || n) {
		abort();
	}
	strbuf_reset(&err);
	{
		char *const two[] = { "A is 1.", "B is 2." };
		if (judge_parse_claim_verdicts(text, len, two, 2, v, &err) && (v[0].reason || v[1].reason))
			abort();
		claim_verdicts_release(v, 2);
	}
	strbuf_release(&err);
}

static void check_data(const char *text, size_t len)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p;

	judge_add_data(&sb, text, len);
	if (strlen(sb.buf) != sb.len)
		abort();
	for (p = sb.buf; (p = strchr(p, '<')); p++) {
		const char *b = p + 1;
		size_t n = 0;
		while (*b == ' ' || *b == '\t' || *b == '\n' || *b == '\r' || *b == '\f' || *b == '\v')
			b++;
		if (*b == '/')
			b++;
		while (*b == ' ' || *b == '\t' || *b == '\n' || *b == '\r' || *b == '\f' || *b == '\v')
			b++;
		while ((b[n] >= 'a' && b[n] <= 'z') || (b[n] >= 'A' && b[n] <= 'Z') ||
		       (b[n] >= '0' && b[n] <= '9') || b[n] == '_' || b[n] == '-')
			n++;
		if (n && judge_is_delim_tag(b, n))
			abort();
	}
	strbuf_release(&sb);
}

static void check_scorer(const char *text)
{
	struct score_job job;
	struct score_result r;
	enum score_status st;
	int steps = 0;
	size_t i;

	memset(&job, 0, sizeof(job));
	job.kase = &kase;
	job.output = text;
	job.output_len = strlen(text);
	while ((st = scorer_score(&judge, &job, &r)) == SCORE_WAIT) {
		if (++steps > 3)
			abort();
		for (i = 0; i < job.n_calls; i++)
			job.calls[i].reply = xstrdup(text);
	}
	if (!r.reason || !r.detail || (r.pass && r.error) || !(r.score >= 0 && r.score <= 1))
		abort();
	score_result_release(&r);
	score_job_release(&judge, &job);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the runner hands scorers NUL-terminated replies */
	char *text = xmalloc(size + 1);

	if (!ready)
		setup();
	memcpy(text, data, size);
	text[size] = '\0';
	check_verdict(text, size);
	check_claims(text, size);
	check_data(text, size);
	check_scorer(text);
	free(text);
	return 0;
}
