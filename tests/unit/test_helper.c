/* helper: the unit tests' own fixture and file helpers (tests/unit/helper.h) */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helper.h"
#include "banned.h"

TestSuite(helper, .init = th_tmpdir_setup, .fini = th_tmpdir_teardown);

Test(helper, tmpdir_and_paths)
{
	const char *first = th_path("a.txt");
	char want[256], nested[256];
	struct stat st;
	int i;

	cr_assert_eq(stat(th_tmpdir(), &st), 0);
	cr_assert(S_ISDIR(st.st_mode));
	cr_assert_eq(strncmp(th_tmpdir(), "/tmp/eg_test_", 13), 0, "%s", th_tmpdir());
	snprintf(want, sizeof(want), "%s/a.txt", th_tmpdir());
	snprintf(nested, sizeof(nested), "%s/x/y.db", th_tmpdir());
	cr_assert_str_eq(first, want);
	cr_assert_str_eq(th_path("x/y.db"), nested);
	cr_assert_neq(access(nested, F_OK), 0, "th_path creates nothing");
	/* every string stays valid until the teardown */
	for (i = 0; i < 100; i++)
		cr_assert_neq(th_path("other"), first);
	cr_assert_str_eq(first, want);
}

/* the teardown removes files, directories and links, never what a link points to */
Test(helper_dir, teardown_removes_the_tree)
{
	char dir[64], outside[64], sub[128];

	snprintf(outside, sizeof(outside), "/tmp/eg_test_outside_XXXXXX");
	cr_assert_not_null(mkdtemp(outside));
	th_tmpdir_setup();
	snprintf(dir, sizeof(dir), "%s", th_tmpdir());
	snprintf(sub, sizeof(sub), "%s/d/e", dir);
	cr_assert_eq(mkdir(th_path("d"), 0700), 0);
	cr_assert_eq(mkdir(sub, 0700), 0);
	th_write(th_path("d/e/f.txt"), "f");
	th_write(th_path("top.txt"), "t");
	cr_assert_eq(symlink(outside, th_path("link")), 0);
	th_tmpdir_teardown();
	cr_assert_neq(access(dir, F_OK), 0, "%s is still there", dir);
	cr_assert_eq(access(outside, F_OK), 0, "the link was followed");
	cr_assert_eq(rmdir(outside), 0);
	/* a second directory is a new one */
	th_tmpdir_setup();
	cr_assert_str_neq(th_tmpdir(), "");
	th_tmpdir_teardown();
}

Test(helper, stderr_take_returns_what_came_since_the_last)
{
	char big[10000];
	const char *got;

	th_stderr_start();
	cr_assert_str_eq(th_stderr_take(), "");
	fprintf(stderr, "one\n");
	fputs("two", stderr);
	cr_assert_str_eq(th_stderr_take(), "one\ntwo");
	cr_assert_str_eq(th_stderr_take(), "");
	/* a second start loses nothing */
	fputs("kept", stderr);
	th_stderr_start();
	cr_assert_str_eq(th_stderr_take(), "kept");
	/* more than one read's worth */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	fputs(big, stderr);
	got = th_stderr_take();
	cr_assert_eq(strlen(got), sizeof(big) - 1);
	cr_assert_str_eq(got, big);
}

Test(helper, write_and_slurp)
{
	static const char bytes[] = "a\0b\n\xff";
	const char *path = th_path("f.bin");
	size_t len;
	char *text;

	th_write_bytes(path, bytes, sizeof(bytes) - 1);
	text = th_slurp(path, &len);
	cr_assert_eq(len, sizeof(bytes) - 1);
	cr_assert_eq(memcmp(text, bytes, len), 0);
	cr_assert_eq(text[len], '\0');
	free(text);

	th_write(path, "short");
	text = th_slurp(path, &len);
	cr_assert_eq(len, 5, "the file is rewritten, not added to");
	cr_assert_str_eq(text, "short");
	free(text);

	th_writef(path, "%s=%d\n", "n", 42);
	text = th_slurp(path, NULL);
	cr_assert_str_eq(text, "n=42\n");
	free(text);

	th_write(path, "");
	text = th_slurp(path, &len);
	cr_assert_eq(len, 0);
	cr_assert_str_eq(text, "");
	free(text);
}

Test(helper, count_without_overlaps)
{
	cr_assert_eq(th_count("aaaa", "aa"), 2);
	cr_assert_eq(th_count("abcabc", "bc"), 2);
	cr_assert_eq(th_count("abc", "x"), 0);
	cr_assert_eq(th_count("", "x"), 0);
}

Test(helper, gates_config_layout)
{
	const char *path = th_path("evalgate.json");
	char *text;

	th_write_gates_config(path, "    {\"metric\": \"pass_rate\"}\n", "");
	text = th_slurp(path, NULL);
	cr_assert_str_eq(text, "{\n"
			 "  \"gateway\": {\"base_url\": \"http://h\"},\n"
			 "  \"target\": {\"name\": \"bot\", \"version\": \"v1\", \"model\": \"m\"},\n"
			 "  \"gates\": [\n"
			 "    {\"metric\": \"pass_rate\"}\n"
			 "  ]\n"
			 "}\n");
	free(text);
	th_write_gates_config(path, "", "\"prices\": {}");
	text = th_slurp(path, NULL);
	cr_assert_not_null(strstr(text, "  \"gates\": [\n  ],\n  \"prices\": {}\n}\n"), "%s", text);
	free(text);
}
