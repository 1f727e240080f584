/*
 * pii_phone_load: open the phone module (pii_phone.so, see pii_phone.h) on
 * first use, so that the commands and suites that check no phone number
 * never load libphonenumber and its dependencies.
 *
 * The module is looked for, in order: beside the binary (a build tree),
 * at <bindir>/EG_PKGLIBDIR_REL (an installed tree, wherever it was moved
 * or unpacked), at EG_PKGLIBDIR (the configured install path).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "path.h"
#include "pii_phone.h"
#include "strbuf.h"
#include "banned.h"

#ifndef EG_PHONE_MODULE
#define EG_PHONE_MODULE "pii_phone.so"
#endif
#ifndef EG_PKGLIBDIR_REL
#define EG_PKGLIBDIR_REL "../lib/evalgate"
#endif
#ifndef EG_PKGLIBDIR
#define EG_PKGLIBDIR "/usr/lib/evalgate"
#endif

/* the entry points, when the program links pii_phone.cc itself */
#pragma weak pii_phone_impl_scan
#pragma weak pii_phone_impl_region_ok

typedef int (*scan_fn)(const char *, size_t, const char *const *, size_t, pii_phone_skip_fn,
		       pii_phone_fn, void *);
typedef int (*region_ok_fn)(const char *);

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static scan_fn scan;           /* the module's pii_phone_impl_scan, or NULL */
static region_ok_fn region_ok; /* the module's pii_phone_impl_region_ok, or NULL */
static char load_error[1024];  /* why the module could not be loaded */

/*
 * dlopen dir/EG_PHONE_MODULE; NULL when it cannot be. The reason goes to
 * load_error when the file is there (a missing library of its own, say),
 * and the directory to tried.
 */
static void *open_in(const char *dir, struct strbuf *tried)
{
	struct strbuf p = STRBUF_INIT;
	void *h = NULL;

	strbuf_addf(&p, "%s/%s", dir, EG_PHONE_MODULE);
	if (access(p.buf, F_OK)) {
		strbuf_addf(tried, "%s%s", tried->len ? ", " : "", dir);
		goto out;
	}
	h = dlopen(p.buf, RTLD_NOW | RTLD_LOCAL);
	if (!h && !load_error[0])
		snprintf(load_error, sizeof(load_error), "cannot load the phone number module: %s",
			 dlerror());
out:
	strbuf_release(&p);
	return h;
}

static void load(void)
{
	struct strbuf exe = STRBUF_INIT, dir = STRBUF_INIT, tried = STRBUF_INIT;
	void *h = NULL;
	char *bindir = NULL;
	ssize_t n;

	if (pii_phone_impl_scan && pii_phone_impl_region_ok) {
		scan = pii_phone_impl_scan;
		region_ok = pii_phone_impl_region_ok;
		return;
	}
	strbuf_grow(&exe, 4096);
	n = readlink("/proc/self/exe", exe.buf, exe.alloc - 1);
	if (n > 0) {
		exe.buf[n] = '\0';
		exe.len = (size_t)n;
		bindir = path_dir(exe.buf);
		strbuf_addf(&dir, "%s/%s", bindir, EG_PKGLIBDIR_REL);
		if (!(h = open_in(bindir, &tried)))
			h = open_in(dir.buf, &tried);
	}
	if (!h)
		h = open_in(EG_PKGLIBDIR, &tried);
	if (!h) {
		if (!load_error[0])
			snprintf(load_error, sizeof(load_error),
				 "the phone number module %s is not installed (looked in %s)",
				 EG_PHONE_MODULE, tried.buf);
		goto out;
	}
	scan = (scan_fn)(uintptr_t)dlsym(h, "pii_phone_impl_scan");
	region_ok = (region_ok_fn)(uintptr_t)dlsym(h, "pii_phone_impl_region_ok");
	if (!scan || !region_ok) {
		snprintf(load_error, sizeof(load_error), "%s is not evalgate's phone number module",
			 EG_PHONE_MODULE);
		scan = NULL;
		region_ok = NULL;
		dlclose(h);
	}
out:
	free(bindir);
	strbuf_release(&tried);
	strbuf_release(&dir);
	strbuf_release(&exe);
}

int pii_phone_load(const char **why)
{
	pthread_once(&load_once, load);
	if (scan)
		return 0;
	if (why)
		*why = load_error;
	return -1;
}

int pii_phone_scan(const char *text, size_t len, const char *const *regions, size_t n,
		   pii_phone_skip_fn skip, pii_phone_fn fn, void *data)
{
	if (pii_phone_load(NULL))
		return -1;
	return scan(text, len, regions, n, skip, fn, data);
}

int pii_phone_region_ok(const char *region)
{
	return !pii_phone_load(NULL) && region_ok(region);
}
