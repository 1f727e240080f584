/*
 * libFuzzer target: a whole suite directory. The input is suite.json, a line
 * "---cases.jsonl---", then cases.jsonl; without that line there is no
 * cases.jsonl. suite_load and the case reader must never crash or leak,
 * and what suite_load accepts the reader must give back case by case: as
 * many cases as counted, distinct non-empty ids, lines in order, each case
 * hashed, holding an input or messages (online suites: a recorded output),
 * and tagged with the manifest's tags.
 *
 * Built by -DEG_FUZZ=ON (see README.md here); ./dev.sh fuzz runs it on its
 * seeds in corpus/suite/. Rejected suites print their error: run it with
 * -close_fd_mask=2 to silence them.
 */
#define _GNU_SOURCE /* memmem */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "strbuf.h"
#include "suite.h"
#include "xalloc.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char separator[] = "\n---cases.jsonl---\n";

/* the manifest's tags come first in every case's tags */
static int has_suite_tags(const struct eg_suite *s, const struct eg_case *c)
{
	size_t i;

	if (c->n_tags < s->n_tags)
		return 0;
	for (i = 0; i < s->n_tags; i++)
		if (!c->tags[i] || strcmp(c->tags[i], s->tags[i]))
			return 0;
	return 1;
}

static void check_cases(const struct eg_suite *s)
{
	struct case_reader r;
	struct eg_case c;
	char **ids = xcalloc(s->n_cases + 1, sizeof(*ids));
	size_t n = 0, i;
	int rc, line = 0;

	if (case_reader_open(&r, s, NULL))
		abort();
	while ((rc = case_reader_next(&r, &c)) == 1) {
		if (n == s->n_cases || !c.id || !*c.id || c.line <= line ||
		    strlen(c.hash) != 64 || !has_suite_tags(s, &c) ||
		    (s->kind == SUITE_ONLINE ? !c.output : !c.input && !c.messages))
			abort();
		for (i = 0; i < n; i++)
			if (!strcmp(ids[i], c.id))
				abort();
		line = c.line;
		ids[n++] = xstrdup(c.id);
		case_release(&c);
	}
	if (rc != 0 || n != s->n_cases)
		abort();
	case_reader_close(&r);
	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* as a config with a judge model would set it, so model-graded scorers load */
	static const struct scorer_env env = { "judge-model", NULL, 1, "target-model" };
	struct strbuf dir = STRBUF_INIT, path = STRBUF_INIT;
	const char *text = (const char *)data;
	const char *sep = memmem(text, size, separator, sizeof(separator) - 1);
	size_t manifest_len = sep ? (size_t)(sep - text) : size;
	struct eg_suite s;

	scorer_env_set(&env);
	fuzz_dir_make(&dir);
	fuzz_file_write(&path, dir.buf, "suite.json", text, manifest_len);
	if (sep) {
		const char *cases = sep + sizeof(separator) - 1;
		fuzz_file_write(&path, dir.buf, "cases.jsonl", cases, size - (size_t)(cases - text));
	}
	if (suite_load(&s, dir.buf, NULL) == 0) {
		if (!s.n_cases || s.n_selected != s.n_cases || strlen(s.hash) != 64 ||
		    strlen(s.prompt_hash) != 64 || !s.name || !s.version)
			abort();
		check_cases(&s);
	}
	suite_release(&s);
	fuzz_dir_remove(dir.buf);
	strbuf_release(&path);
	strbuf_release(&dir);
	return 0;
}
