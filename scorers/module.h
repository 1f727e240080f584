/*
 * module: open one of evalgate's own shared modules, the C++ parts that
 * every command would otherwise pay for at start-up (pii_phone.so,
 * json_schema.so): a command loads one only when a scorer needs it.
 *
 * A module is looked for, in order: beside the binary (a build tree), at
 * <bindir>/EG_PKGLIBDIR_REL (an installed tree, wherever it was moved or
 * unpacked), at EG_PKGLIBDIR (the configured install path).
 *
 * Ownership: the handle is kept for the life of the process (never
 * closed by the caller once its symbols are in use).
 */
#ifndef EG_MODULE_H
#define EG_MODULE_H

#include <stddef.h>

/*
 * dlopen the module file (e.g. "pii_phone.so"); NULL when it cannot be,
 * with err (size bytes) saying why for a person: "cannot load the WHAT
 * module: ..." when the file is there but does not load, "the WHAT module
 * FILE is not installed (looked in DIR, DIR, DIR)" when it is nowhere.
 */
void *module_open(const char *file, const char *what, char *err, size_t size);

/*
 * the function name of module h, or NULL (with err saying FILE is not
 * evalgate's WHAT module)
 */
void *module_sym(void *h, const char *name, const char *file, const char *what, char *err,
		 size_t size);

#endif
