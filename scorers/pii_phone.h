/*
 * pii_phone: phone numbers in text through libphonenumber (the C++ library
 * every phone detector leans on), behind a C interface. scorers/pii.c is
 * its one user.
 *
 * libphonenumber brings protobuf, ICU, abseil and libstdc++: some twenty
 * shared objects that would cost every command their loading. So the C++
 * side (pii_phone.cc) is a module of its own, pii_phone.so, installed in
 * <libdir>/evalgate/ (beside the binary in a build tree), that
 * pii_phone_load.c opens on first use. A program that links pii_phone.cc
 * itself (the unit tests, the fuzz targets) uses it without the module.
 *
 * Ownership: the caller owns text and regions; the scanner keeps nothing
 * between calls and is safe to call from many threads at once.
 */
#ifndef EG_PII_PHONE_H
#define EG_PII_PHONE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* one phone number found: byte offsets into the text, end exclusive */
struct pii_phone_match {
	size_t begin, end;
	char digits[24]; /* national significant number, NUL-terminated */
};

/*
 * Called once per number found, in text order; return non-zero to stop
 * the scan.
 */
typedef int (*pii_phone_fn)(const struct pii_phone_match *m, void *data);

/* 1 when the run of digits and separators s[0..n) is certainly no phone */
typedef int (*pii_phone_skip_fn)(const char *s, size_t n);

/*
 * Find the numbers libphonenumber's matcher reports at leniency VALID
 * when the text is read as written in any of the n regions (ISO 3166
 * two-letter codes, upper case). The matcher only reads the runs of
 * digits and separators holding 7 digits or more (the first 1000 of
 * them), and not those skip (may be NULL) refuses. A number met in several regions is reported
 * once. Any bytes may be passed: NUL and invalid UTF-8 are read as spaces.
 * 0 on success, -1 when the library failed (out of memory).
 */
int pii_phone_scan(const char *text, size_t len, const char *const *regions, size_t n,
		   pii_phone_skip_fn skip, pii_phone_fn fn, void *data);

/* 1 when libphonenumber knows the region code (e.g. "US", "GB"), else 0 */
int pii_phone_region_ok(const char *region);

/*
 * Load the phone library if it is not yet (thread-safe; the first call
 * decides). 0 when it is ready; -1 when the module cannot be loaded, and
 * *why then says why (a static string naming the module). The two
 * functions above call this themselves; pii.c calls it first to report a
 * missing module as an error in the suite rather than in every result.
 */
int pii_phone_load(const char **why);

/* the module's entry points (pii_phone.cc), which the two above call */
int pii_phone_impl_scan(const char *text, size_t len, const char *const *regions, size_t n,
			pii_phone_skip_fn skip, pii_phone_fn fn, void *data);
int pii_phone_impl_region_ok(const char *region);

#ifdef __cplusplus
}
#endif

#endif
