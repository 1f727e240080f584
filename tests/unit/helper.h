/*
 * helper: what the Criterion unit tests share: a temporary directory per test,
 * stderr capture, reading and writing whole files.
 *
 * Ownership: th_slurp() returns memory the caller frees with free(); every
 * other string returned here belongs to the helper and lives as long as its
 * function says. Nothing returns an error: a helper that cannot do its work
 * fails the test with a Criterion assertion naming the path.
 */
#ifndef EG_TEST_HELPER_H
#define EG_TEST_HELPER_H

#include <stddef.h>

/*
 * The temporary directory, a fixture for a whole suite:
 *   TestSuite(x, .init = th_tmpdir_setup, .fini = th_tmpdir_teardown);
 * or called from a suite's own init and fini that do more. Setup makes a
 * fresh /tmp/eg_test_XXXXXX; teardown removes it and everything below it
 * (symbolic links are removed, never followed) and asserts that it is gone.
 */
void th_tmpdir_setup(void);
void th_tmpdir_teardown(void);
/* the directory's path; valid until th_tmpdir_teardown() */
const char *th_tmpdir(void);
/*
 * "<tmpdir>/<name>" (name may hold slashes; nothing is created); the string
 * lives until th_tmpdir_teardown(), so a test may keep as many as it likes
 */
const char *th_path(const char *name);

/*
 * stderr capture, through Criterion's redirection (cr_redirect_stderr()).
 * th_stderr_start() sends stderr to a pipe from now until the test ends; a
 * second call in the same test changes nothing (nothing written is lost).
 * th_stderr_take() returns what was written since the previous take (or the
 * start): "" when nothing was. The string lives until the next take. The pipe
 * holds 64 KiB: what is written beyond that before a take is lost.
 */
void th_stderr_start(void);
const char *th_stderr_take(void);

/*
 * The whole file at path, NUL-terminated (it may hold other NULs); *len gets
 * its size unless len is NULL. The caller frees it.
 */
char *th_slurp(const char *path, size_t *len);
/* (re)write the file at path with text / len bytes of data / a formatted text */
void th_write(const char *path, const char *text);
void th_write_bytes(const char *path, const void *data, size_t len);
void th_writef(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * An evalgate.json with a gateway, the target (name "bot", model "m"), the
 * gates array and, unless prices is "", the prices member ("\"prices\": {...}").
 * gates is the text inside the array, each line ending in a newline; its first
 * line is line 5 of the file, which located errors are checked against.
 */
void th_write_gates_config(const char *path, const char *gates, const char *prices);

/* how many times needle occurs in hay, without overlaps */
size_t th_count(const char *hay, const char *needle);

#endif
