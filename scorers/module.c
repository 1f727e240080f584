#include "module.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "path.h"
#include "strbuf.h"
#include "banned.h"

#ifndef EG_PKGLIBDIR_REL
#define EG_PKGLIBDIR_REL "../lib/evalgate"
#endif
#ifndef EG_PKGLIBDIR
#define EG_PKGLIBDIR "/usr/lib/evalgate"
#endif

/*
 * dlopen dir/file; NULL when it cannot be. The reason goes to err when
 * the file is there (a missing library of its own, say) and err is still
 * empty, the directory to tried when it is not.
 */
static void *open_in(const char *dir, const char *file, const char *what,
		     struct strbuf *tried, char *err, size_t size)
{
	struct strbuf p = STRBUF_INIT;
	void *h = NULL;

	strbuf_addf(&p, "%s/%s", dir, file);
	if (access(p.buf, F_OK)) {
		strbuf_addf(tried, "%s%s", tried->len ? ", " : "", dir);
		goto out;
	}
	h = dlopen(p.buf, RTLD_NOW | RTLD_LOCAL);
	if (!h && !err[0])
		snprintf(err, size, "cannot load the %s module: %s", what, dlerror());
out:
	strbuf_release(&p);
	return h;
}

void *module_open(const char *file, const char *what, char *err, size_t size)
{
	struct strbuf exe = STRBUF_INIT, dir = STRBUF_INIT, tried = STRBUF_INIT;
	void *h = NULL;
	char *bindir = NULL;
	ssize_t n;

	err[0] = '\0';
	strbuf_grow(&exe, 4096);
	n = readlink("/proc/self/exe", exe.buf, exe.alloc - 1);
	if (n > 0) {
		exe.buf[n] = '\0';
		exe.len = (size_t)n;
		bindir = path_dir(exe.buf);
		strbuf_addf(&dir, "%s/%s", bindir, EG_PKGLIBDIR_REL);
		if (!(h = open_in(bindir, file, what, &tried, err, size)))
			h = open_in(dir.buf, file, what, &tried, err, size);
	}
	if (!h)
		h = open_in(EG_PKGLIBDIR, file, what, &tried, err, size);
	if (!h && !err[0])
		snprintf(err, size, "the %s module %s is not installed (looked in %s)", what, file,
			 tried.buf);
	free(bindir);
	strbuf_release(&tried);
	strbuf_release(&dir);
	strbuf_release(&exe);
	return h;
}

void *module_sym(void *h, const char *name, const char *file, const char *what, char *err,
		 size_t size)
{
	void *f = dlsym(h, name);

	if (!f)
		snprintf(err, size, "%s is not evalgate's %s module", file, what);
	return f;
}
