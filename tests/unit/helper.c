/* helper: the unit tests' shared fixture and file helpers (see helper.h) */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helper.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

static char tmpdir[64];          /* "" outside setup ... teardown */
static char **paths;             /* th_path()'s strings, freed by teardown */
static size_t n_paths, alloc_paths;
static int stderr_started;       /* th_stderr_start() ran in this test */

void th_tmpdir_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/eg_test_XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (remove(path)) {
		cr_log_error("cannot remove %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

void th_tmpdir_teardown(void)
{
	size_t i;

	cr_assert(tmpdir[0], "th_tmpdir_teardown() without th_tmpdir_setup()");
	for (i = 0; i < n_paths; i++)
		free(paths[i]);
	free(paths);
	paths = NULL;
	n_paths = alloc_paths = 0;
	cr_assert_eq(nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS), 0,
		     "cannot remove %s", tmpdir);
	cr_assert_neq(access(tmpdir, F_OK), 0, "%s is still there", tmpdir);
	tmpdir[0] = '\0';
}

const char *th_tmpdir(void)
{
	cr_assert(tmpdir[0], "no temporary directory: the suite needs .init = th_tmpdir_setup");
	return tmpdir;
}

const char *th_path(const char *name)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addf(&sb, "%s/%s", th_tmpdir(), name);
	XGROW(paths, n_paths + 1, alloc_paths);
	paths[n_paths] = strbuf_detach(&sb, NULL);
	return paths[n_paths++];
}

void th_stderr_start(void)
{
	if (!stderr_started)
		cr_redirect_stderr();
	stderr_started = 1;
}

const char *th_stderr_take(void)
{
	static struct strbuf taken = STRBUF_INIT;
	char buf[4096];
	size_t n;
	FILE *f;

	cr_assert(stderr_started, "th_stderr_take() before th_stderr_start()");
	fflush(stderr);
	f = cr_get_redirected_stderr();
	strbuf_reset(&taken);
	/* the pipe does not block: a short read means it is empty for now */
	clearerr(f);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(&taken, buf, n);
	clearerr(f);
	return taken.buf;
}

char *th_slurp(const char *path, size_t *len)
{
	struct strbuf sb = STRBUF_INIT;
	FILE *f = fopen(path, "rb");
	char buf[65536];
	size_t n;

	cr_assert_not_null(f, "cannot open %s: %s", path, strerror(errno));
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(&sb, buf, n);
	cr_assert_eq(ferror(f), 0, "cannot read %s", path);
	fclose(f);
	return strbuf_detach(&sb, len);
}

void th_write_bytes(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f, "cannot write %s: %s", path, strerror(errno));
	cr_assert_eq(fwrite(data, 1, len, f), len, "cannot write %s", path);
	cr_assert_eq(fclose(f), 0, "cannot write %s", path);
}

void th_write(const char *path, const char *text)
{
	th_write_bytes(path, text, strlen(text));
}

void th_writef(const char *path, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	th_write_bytes(path, sb.buf, sb.len);
	strbuf_release(&sb);
}

void th_write_gates_config(const char *path, const char *gates, const char *prices)
{
	th_writef(path,
		  "{\n"
		  "  \"gateway\": {\"base_url\": \"http://h\"},\n"
		  "  \"target\": {\"name\": \"bot\", \"version\": \"v1\", \"model\": \"m\"},\n"
		  "  \"gates\": [\n"
		  "%s"
		  "  ]%s%s\n"
		  "}\n",
		  gates, *prices ? ",\n  " : "", prices);
}

size_t th_count(const char *hay, const char *needle)
{
	size_t n = 0, len = strlen(needle);

	cr_assert_gt(len, 0, "th_count() of an empty needle");
	while ((hay = strstr(hay, needle))) {
		n++;
		hay += len;
	}
	return n;
}
