/*
 * fuzz_util: the scratch files of the fuzz targets that read from disk.
 *
 * Each input gets a fresh directory (under $TMPDIR, else /dev/shm when it
 * exists, else /tmp) that fuzz_dir_remove deletes with everything in it, so
 * a run leaves nothing behind. Failures to create or write abort: they are
 * faults of the machine, not findings.
 * Ownership: the strbufs are the caller's (initialised, released by it).
 */
#ifndef EG_FUZZ_UTIL_H
#define EG_FUZZ_UTIL_H

#include <stddef.h>

#include "strbuf.h"

/* make a fresh directory; its path goes into dir (reset first) */
void fuzz_dir_make(struct strbuf *dir);
/* write size bytes to dir/name (path: the file's path, reset first) */
void fuzz_file_write(struct strbuf *path, const char *dir, const char *name, const void *data,
		     size_t size);
/* the bytes of path into sb (reset first) */
void fuzz_file_read(struct strbuf *sb, const char *path);
/* delete dir and the files in it (it holds no subdirectories) */
void fuzz_dir_remove(const char *dir);

#endif
