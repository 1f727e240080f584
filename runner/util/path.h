/*
 * path: the directory of a file path, and a path resolved against a directory,
 * for the files a config or suite names relative to itself.
 *
 * Ownership: both return a malloc'd string the caller frees.
 */
#ifndef EG_PATH_H
#define EG_PATH_H

/* the directory part of path: "." when there is none, "/" for a file in / */
char *path_dir(const char *path);

/* p when it is absolute or base is ".", else base/p */
char *path_resolve(const char *base, const char *p);

#endif
