/*
 * error: messages for people, on stderr, prefixed "evalgate: ".
 *
 * error() and the eg_err_at() family return -1 so that `return error(...)`
 * reads naturally. Messages are lowercase without a final full stop and name
 * the place at fault as "file:line: field: what" where there is one.
 */
#ifndef EG_ERROR_H
#define EG_ERROR_H

#define EG_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* process-wide verbosity: -1 quiet, 0 normal, 1 verbose */
extern int eg_verbosity;

int error(const char *fmt, ...) EG_PRINTF(1, 2);
void warning(const char *fmt, ...) EG_PRINTF(1, 2);
void info(const char *fmt, ...) EG_PRINTF(1, 2);    /* suppressed by -q */
void verbose(const char *fmt, ...) EG_PRINTF(1, 2); /* only with -v */
_Noreturn void die(const char *fmt, ...) EG_PRINTF(1, 2);

/* "file:line: field: message"; line 0 or field NULL are left out */
int error_at(const char *file, int line, const char *field, const char *fmt, ...)
	EG_PRINTF(4, 5);

/* exit codes of the contract (SPEC 3) */
enum eg_exit {
	EG_EXIT_OK = 0,
	EG_EXIT_GATE = 1,
	EG_EXIT_USAGE = 2,
	EG_EXIT_INFRA = 3,
	EG_EXIT_INTERRUPTED = 130,
};

#endif
