/*
 * input: opening the files people give evalgate (configs, suites, locks,
 * traffic logs) so that a FIFO, a device or a directory is refused before
 * anything blocks on it or reads it without end, and reading their lines with
 * a cap, so that one endless line cannot take all memory.
 *
 * Ownership: input_open returns a FILE the caller fcloses; input_getline grows
 * *line like getline(3), freed by the caller.
 */
#ifndef EG_INPUT_H
#define EG_INPUT_H

#include <stdio.h>
#include <sys/types.h>

/* the longest line of a JSONL input (cases.jsonl, traffic logs): 16 MiB */
#define INPUT_LINE_MAX ((size_t)16 << 20)

/* fopen(path, "rb") of a regular file; NULL after reporting "PATH: ..." */
FILE *input_open(const char *path);
/*
 * getline(3) with a cap: the length read (newline included), -1 at end of
 * file or on a read error (ferror tells), -2 when the line is longer than cap
 * bytes (the rest of the line is not read; stop reading the file).
 */
ssize_t input_getline(char **line, size_t *alloc, FILE *fp, size_t cap);

#endif
