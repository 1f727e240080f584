/* input: see input.h */
#include "input.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "xalloc.h"
#include "banned.h"

static const char *file_kind(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	if (S_ISSOCK(m))
		return "a socket";
	return "not a regular file";
}

FILE *input_open(const char *path)
{
	struct stat st;
	FILE *fp;

	/* stat first: opening a FIFO for reading blocks until a writer comes */
	if (stat(path, &st)) {
		error("%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		error("%s: is %s; evalgate reads regular files only", path, file_kind(st.st_mode));
		return NULL;
	}
	fp = fopen(path, "rb");
	if (!fp) {
		error("%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	/* the name may have been swapped between stat and open */
	if (fstat(fileno(fp), &st) || !S_ISREG(st.st_mode)) {
		error("%s: is %s; evalgate reads regular files only", path, file_kind(st.st_mode));
		fclose(fp);
		return NULL;
	}
	return fp;
}

ssize_t input_getline(char **line, size_t *alloc, FILE *fp, size_t cap)
{
	size_t n = 0;
	int c;

	flockfile(fp);
	while ((c = getc_unlocked(fp)) != EOF) {
		if (n + 2 > *alloc) {
			*alloc = *alloc ? *alloc * 2 : 256;
			*line = xrealloc(*line, *alloc);
		}
		(*line)[n++] = (char)c;
		if (c == '\n')
			break;
		if (n > cap) {
			funlockfile(fp);
			return -2;
		}
	}
	funlockfile(fp);
	if (!n)
		return -1;
	(*line)[n] = '\0';
	return (ssize_t)n;
}
