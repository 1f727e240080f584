/*
 * pii_phone_load: open the phone module (pii_phone.so, see pii_phone.h) on
 * first use, so that the commands and suites that check no phone number
 * never load libphonenumber and its dependencies. Where it is looked for:
 * module.h.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "module.h"
#include "pii_phone.h"
#include "banned.h"

#ifndef EG_PHONE_MODULE
#define EG_PHONE_MODULE "pii_phone.so"
#endif
#define PHONE_WHAT "phone number"

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

static void load(void)
{
	void *h;

	if (pii_phone_impl_scan && pii_phone_impl_region_ok) {
		scan = pii_phone_impl_scan;
		region_ok = pii_phone_impl_region_ok;
		return;
	}
	h = module_open(EG_PHONE_MODULE, PHONE_WHAT, load_error, sizeof(load_error));
	if (!h)
		return;
	scan = (scan_fn)(uintptr_t)module_sym(h, "pii_phone_impl_scan", EG_PHONE_MODULE,
					      PHONE_WHAT, load_error, sizeof(load_error));
	region_ok = (region_ok_fn)(uintptr_t)module_sym(h, "pii_phone_impl_region_ok",
							EG_PHONE_MODULE, PHONE_WHAT, load_error,
							sizeof(load_error));
	if (!scan || !region_ok) {
		scan = NULL;
		region_ok = NULL;
		dlclose(h);
	}
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
