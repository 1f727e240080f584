/*
 * libFuzzer target: one line of cases.jsonl, loaded as a suite with a fixed
 * manifest. suite_load (and the case reader on what it accepts) must never
 * crash or leak, whatever the bytes.
 *
 * Not built by CMake. Build and run, from the source tree:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
 *     -DPCRE2_CODE_UNIT_WIDTH=8 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Irunner -Iscorers \
 *     tests/fuzz/fuzz_case.c runner/suite.c runner/jsonutil.c runner/sha256.c \
 *     runner/strbuf.c runner/xalloc.c runner/error.c runner/utf8.c \
 *     scorers/registry.c scorers/json.c scorers/text.c scorers/regex.c scorers/latency.c \
 *     -lcjson -lpcre2-8 -lm -o fuzz_case
 *   ./fuzz_case -max_len=4096 -close_fd_mask=2 corpus/
 * (-close_fd_mask=2 silences the error messages of rejected cases.)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "strbuf.h"
#include "suite.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char manifest[] =
	"{\"name\": \"fuzz\", \"version\": \"1\", \"tags\": [\"m\"],"
	" \"scorers\": [{\"type\": \"icontains\", \"value\": \"x\"}]}\n";

static void write_file(const char *path, const void *data, size_t size, int one_line)
{
	FILE *fp = fopen(path, "wb");
	const uint8_t *p = data;
	size_t i;

	if (!fp)
		abort();
	for (i = 0; i < size; i++)
		fputc(one_line && p[i] == '\n' ? ' ' : p[i], fp);
	if (one_line)
		fputc('\n', fp);
	if (fclose(fp))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char dir[] = "/tmp/eg_fuzz_case_XXXXXX";
	struct strbuf manifest_path = STRBUF_INIT, cases_path = STRBUF_INIT;
	struct eg_suite s;

	/* a fresh directory for each input, removed after it: nothing is left behind */
	if (!mkdtemp(dir))
		abort();
	strbuf_addf(&manifest_path, "%s/suite.json", dir);
	strbuf_addf(&cases_path, "%s/cases.jsonl", dir);
	write_file(manifest_path.buf, manifest, sizeof(manifest) - 1, 0);
	/* one line: newlines in the input become spaces */
	write_file(cases_path.buf, data, size, 1);

	if (suite_load(&s, dir, NULL) == 0) {
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
	unlink(cases_path.buf);
	unlink(manifest_path.buf);
	rmdir(dir);
	strbuf_release(&cases_path);
	strbuf_release(&manifest_path);
	return 0;
}
