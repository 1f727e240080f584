#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int eg_verbosity;

static void vreport(const char *prefix, const char *fmt, va_list ap)
{
	fputs("evalgate: ", stderr);
	if (prefix)
		fputs(prefix, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(NULL, fmt, ap);
	va_end(ap);
	return -1;
}

void warning(const char *fmt, ...)
{
	va_list ap;

	if (eg_verbosity < 0)
		return;
	va_start(ap, fmt);
	vreport("warning: ", fmt, ap);
	va_end(ap);
}

void info(const char *fmt, ...)
{
	va_list ap;

	if (eg_verbosity < 0)
		return;
	va_start(ap, fmt);
	vreport(NULL, fmt, ap);
	va_end(ap);
}

void verbose(const char *fmt, ...)
{
	va_list ap;

	if (eg_verbosity < 1)
		return;
	va_start(ap, fmt);
	vreport(NULL, fmt, ap);
	va_end(ap);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(NULL, fmt, ap);
	va_end(ap);
	exit(EG_EXIT_USAGE);
}

int error_at(const char *file, int line, const char *field, const char *fmt, ...)
{
	va_list ap;

	fputs("evalgate: ", stderr);
	if (file) {
		fputs(file, stderr);
		if (line > 0)
			fprintf(stderr, ":%d", line);
		fputs(": ", stderr);
	}
	if (field)
		fprintf(stderr, "%s: ", field);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

/* the codes of EG_ERR_MAP, with success first */
static const struct eg_err_info {
	int code;          /* enum eg_err */
	int exit;          /* its exit code */
	const char *name;  /* "EG_ERR_INFRA" */
	const char *text;  /* what it means */
} eg_errs[] = {
	{ EG_OK, EG_EXIT_OK, "EG_OK", "success" },
#define EG_ERR_INFO_(name, value, exit, text) { value, exit, "EG_ERR_" #name, text },
	EG_ERR_MAP(EG_ERR_INFO_)
#undef EG_ERR_INFO_
};

static const struct eg_err_info *err_info(int err)
{
	size_t i;

	for (i = 0; i < sizeof(eg_errs) / sizeof(eg_errs[0]); i++)
		if (eg_errs[i].code == err)
			return &eg_errs[i];
	return NULL;
}

int eg_exit_code(int err)
{
	const struct eg_err_info *e = err_info(err);

	return e ? e->exit : EG_EXIT_USAGE;
}

const char *eg_err_name(int err)
{
	const struct eg_err_info *e = err_info(err);

	return e ? e->name : "unknown error";
}

const char *eg_strerror(int err)
{
	const struct eg_err_info *e = err_info(err);

	return e ? e->text : "unknown error";
}
