#include "fuzz_util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "banned.h"

void fuzz_dir_make(struct strbuf *dir)
{
	const char *base = getenv("TMPDIR");

	if (!base || !*base)
		base = access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm";
	strbuf_reset(dir);
	strbuf_addf(dir, "%s/eg_fuzz_XXXXXX", base);
	if (!mkdtemp(dir->buf))
		abort();
}

void fuzz_file_write(struct strbuf *path, const char *dir, const char *name, const void *data,
		     size_t size)
{
	FILE *fp;

	strbuf_reset(path);
	strbuf_addf(path, "%s/%s", dir, name);
	fp = fopen(path->buf, "wb");
	if (!fp || (size && fwrite(data, 1, size, fp) != size))
		abort();
	if (fclose(fp))
		abort();
}

void fuzz_file_read(struct strbuf *sb, const char *path)
{
	char buf[4096];
	FILE *fp = fopen(path, "rb");
	size_t n;

	if (!fp)
		abort();
	strbuf_reset(sb);
	while ((n = fread(buf, 1, sizeof(buf), fp)))
		strbuf_add(sb, buf, n);
	if (ferror(fp))
		abort();
	fclose(fp);
}

void fuzz_dir_remove(const char *dir)
{
	struct strbuf path = STRBUF_INIT;
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		abort();
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		strbuf_reset(&path);
		strbuf_addf(&path, "%s/%s", dir, e->d_name);
		if (unlink(path.buf))
			abort();
	}
	closedir(d);
	if (rmdir(dir))
		abort();
	strbuf_release(&path);
}
