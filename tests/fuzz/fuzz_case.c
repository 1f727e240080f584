/*
 * libFuzzer target: one line of cases.jsonl, loaded as a suite with a fixed
 * manifest. suite_load (and the case reader on what it accepts) must never
 * crash or leak, whatever the bytes.
 *
 * Built by -DEG_FUZZ=ON (see README.md here); ./dev.sh fuzz runs it on its
 * seeds in corpus/case/. Rejected cases print their error: run it with
 * -close_fd_mask=2 to silence them.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "strbuf.h"
#include "suite.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char manifest[] =
	"{\"name\": \"fuzz\", \"version\": \"1\", \"tags\": [\"m\"],"
	" \"scorers\": [{\"type\": \"icontains\", \"value\": \"x\"}]}\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* as a config with a judge model would set it, so model-graded scorers load */
	static const struct scorer_env env = { "judge-model", NULL, 1, "target-model" };
	struct strbuf dir = STRBUF_INIT, path = STRBUF_INIT, line = STRBUF_INIT;
	struct eg_suite s;
	size_t i;

	/* one line: newlines in the input become spaces */
	for (i = 0; i < size; i++)
		strbuf_addch(&line, data[i] == '\n' ? ' ' : (char)data[i]);
	strbuf_addch(&line, '\n');
	scorer_env_set(&env);
	fuzz_dir_make(&dir);
	fuzz_file_write(&path, dir.buf, "suite.json", manifest, sizeof(manifest) - 1);
	fuzz_file_write(&path, dir.buf, "cases.jsonl", line.buf, line.len);

	if (suite_load(&s, dir.buf, NULL) == 0) {
		struct case_reader r;
		struct eg_case c;
		int n = 0, rc;

		if (s.n_cases != 1 || s.n_selected != 1 || strlen(s.hash) != 64)
			abort();
		if (case_reader_open(&r, &s, NULL))
			abort();
		while ((rc = case_reader_next(&r, &c)) == 1) {
			/* what suite_load accepted, the reader accepts the same way */
			if (!c.id || !*c.id || c.line != 1 || strlen(c.hash) != 64 ||
			    (!c.input && !c.messages) || c.n_tags < 1 || strcmp(c.tags[0], "m"))
				abort();
			case_release(&c);
			n++;
		}
		if (rc != 0 || n != 1)
			abort();
		case_reader_close(&r);
	}
	suite_release(&s);
	fuzz_dir_remove(dir.buf);
	strbuf_release(&line);
	strbuf_release(&path);
	strbuf_release(&dir);
	return 0;
}
