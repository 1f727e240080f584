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
	EG_EXIT_BUDGET = 4,      /* the run stopped at its spend cap (run --max-cost-usd/--max-tokens) */
	EG_EXIT_INTERRUPTED = 130,
};

/*
 * What went wrong, as library code returns it: 0 is success, an error is
 * negative and already reported. Commands turn one into their exit code
 * with eg_exit_code(), the only place that maps the two. EG_ERR_USAGE is
 * -1, what error() returns, so a library's plain `return error(...)` is a
 * usage, config or local store error (exit 2).
 *
 * Append only: never renumber or remove a code.
 *   XX(name, value, exit code, what it means)
 */
#define EG_ERR_MAP(XX)                                                                  \
	XX(USAGE, -1, EG_EXIT_USAGE, "usage, config or local store error")              \
	XX(INFRA, -2, EG_EXIT_INFRA, "a remote service could not be used")              \
	XX(REFUSED, -3, EG_EXIT_GATE, "refused by a rule")                              \
	XX(NOT_FOUND, -4, EG_EXIT_USAGE, "not found")                                   \
	XX(BUDGET, -5, EG_EXIT_BUDGET, "stopped at its spend cap")

enum eg_err {
	EG_OK = 0,
#define EG_ERR_ENUM_(name, value, exit, text) EG_ERR_##name = value,
	EG_ERR_MAP(EG_ERR_ENUM_)
#undef EG_ERR_ENUM_
};

/* the exit code of SPEC 3 for err (0 for EG_OK; EG_EXIT_USAGE for a code not in the map) */
int eg_exit_code(int err);
/* "EG_ERR_INFRA", and what it means; "EG_OK" and "success" for 0, "unknown error" when not in the map */
const char *eg_err_name(int err);
const char *eg_strerror(int err);

#endif
