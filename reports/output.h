/*
 * output: a report file written atomically. Output collects in a strbuf and
 * goes to PATH.tmp in 64 KiB pieces; out_commit() syncs it and renames it
 * over PATH, so a failed write never leaves half a report (and an older PATH
 * stays as it was). Write errors are sticky and reported once, at commit.
 *
 * Ownership: struct report_out owns its buffer, file and names; out_commit()
 * and out_abort() release them (one of the two must be called after a
 * successful out_open()). The caller appends to o->sb directly and calls
 * out_flush() now and then.
 */
#ifndef EG_OUTPUT_H
#define EG_OUTPUT_H

#include <stdio.h>

#include "strbuf.h"

struct report_out {
	struct strbuf sb;    /* pending output: append here */
	FILE *f;             /* the temporary file */
	char *path, *tmp;    /* PATH and PATH.tmp */
	const char *what;    /* "HTML report", for messages */
	int failed;          /* a write failed (sticky) */
	int err;             /* errno of that failure */
	size_t written;      /* bytes written to the file so far */
};

/* 0, or -1 after an error naming what and path */
int out_open(struct report_out *o, const char *path, const char *what);
/* write the buffer out once it holds 64 KiB (always when force) */
void out_flush(struct report_out *o, int force);
/* bytes produced so far (written plus pending) */
size_t out_size(const struct report_out *o);
/* flush, sync, close and rename into place; 0, or -1 after an error (no file left) */
int out_commit(struct report_out *o);
/* drop everything: the temporary file is removed */
void out_abort(struct report_out *o);

#endif
