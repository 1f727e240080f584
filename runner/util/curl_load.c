/*
 * curl_load: libcurl opened on first use (see curl_load.h for why and the
 * rules of the macros).
 */
#include "curl_load.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "xalloc.h"
#include "banned.h"

struct eg_curl_api eg_curl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int loaded;             /* eg_curl is filled and libcurl initialised */
static char load_error[512];   /* why not, for people */

static void load(void)
{
	CURLcode (*global_init)(long);
	const char *missing = NULL;
	void *h;

	/*
	 * lazy binding, as when the binary linked libcurl: RTLD_NOW would bind
	 * every symbol of OpenSSL and the rest now, about 1 ms of CPU more. A
	 * function of the table that libcurl lacks is found here all the same.
	 */
	h = dlopen(EG_CURL_SONAME, RTLD_LAZY | RTLD_LOCAL);
	if (!h) {
		snprintf(load_error, sizeof(load_error), "%s", dlerror());
		return;
	}
#define EG_CURL_SYM_(name)                                                                     \
	eg_curl.name = (__typeof__(eg_curl.name))(uintptr_t)dlsym(h, "curl_" #name);           \
	if (!eg_curl.name && !missing)                                                         \
		missing = "curl_" #name;
	EG_CURL_API(EG_CURL_SYM_)
#undef EG_CURL_SYM_
	global_init = (CURLcode (*)(long))(uintptr_t)dlsym(h, "curl_global_init");
	if (!global_init && !missing)
		missing = "curl_global_init";
	if (missing) {
		snprintf(load_error, sizeof(load_error), "it has no function %s", missing);
		goto out_clear;
	}
	if (global_init(CURL_GLOBAL_DEFAULT)) {
		snprintf(load_error, sizeof(load_error), "curl_global_init failed");
		goto out_clear;
	}
	loaded = 1;
	return;
out_clear:
	/* nothing may call into a library that is half there */
	memset(&eg_curl, 0, sizeof(eg_curl));
	dlclose(h);
}

int eg_curl_load(void)
{
	pthread_once(&load_once, load);
	if (loaded)
		return 0;
	return error("cannot load libcurl (%s): %s; install libcurl4", EG_CURL_SONAME,
		     load_error);
}

CURLcode eg_curl_global_init(long flags)
{
	/* load() initialised it with CURL_GLOBAL_DEFAULT, what every caller asks */
	(void)flags;
	return eg_curl_load() ? CURLE_FAILED_INIT : CURLE_OK;
}

void eg_curl_global_cleanup(void)
{
	/* libcurl stays initialised for the other users until the process exits */
}

struct curl_slist *eg_curl_slist_append(struct curl_slist *list, const char *s)
{
	struct curl_slist *n = xmalloc(sizeof(*n)), *last;

	n->data = xstrdup(s);
	n->next = NULL;
	if (!list)
		return n;
	for (last = list; last->next; last = last->next)
		;
	last->next = n;
	return list;
}

void eg_curl_slist_free_all(struct curl_slist *list)
{
	while (list) {
		struct curl_slist *next = list->next;

		free(list->data);
		free(list);
		list = next;
	}
}
