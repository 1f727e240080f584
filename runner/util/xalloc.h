/*
 * xalloc: allocation that never returns NULL.
 *
 * Ownership: every pointer returned here belongs to the caller, who frees it
 * with free(). On exhaustion the process prints a message and exits (70).
 */
#ifndef EG_XALLOC_H
#define EG_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* grow *arr (element size elt) so that it holds at least need elements */
void xgrow(void *arrp, size_t elt, size_t need, size_t *alloc);

#define XGROW(arr, need, alloc) xgrow(&(arr), sizeof(*(arr)), (need), &(alloc))

#endif
