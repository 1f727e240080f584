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
