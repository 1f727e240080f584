#include "opts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "xalloc.h"
#include "banned.h"

void opt_list_release(struct opt_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->alloc = 0;
}

static const char default_config[] = "evalgate.json";

void common_opts_init(struct common_opts *c)
{
	c->config = default_config;
	c->history = ".evalgate/history.db";
	c->quiet = 0;
	c->verbose = 0;
	c->color = "auto";
}

int common_opts_config_given(const struct common_opts *c)
{
	return c->config != default_config;
}

int common_opts_apply(struct common_opts *c)
{
	if (strcmp(c->color, "auto") && strcmp(c->color, "always") && strcmp(c->color, "never"))
		return error("--color: expected auto, always or never, not '%s'", c->color);
	eg_verbosity = c->quiet ? -1 : (c->verbose ? 1 : 0);
	return 0;
}

int common_opts_color(const struct common_opts *c, FILE *fp)
{
	if (!strcmp(c->color, "always"))
		return 1;
	if (!strcmp(c->color, "never") || getenv("NO_COLOR"))
		return 0;
	return isatty(fileno(fp));
}

static const struct option *find_long(const struct option *opts, const char *name, size_t len)
{
	for (; opts->kind != OPT_END; opts++)
		if (opts->long_name && strlen(opts->long_name) == len &&
		    !strncmp(opts->long_name, name, len))
			return opts;
	return NULL;
}

static const struct option *find_short(const struct option *opts, char c)
{
	for (; opts->kind != OPT_END; opts++)
		if (opts->short_name == c)
			return opts;
	return NULL;
}

static int set_value(const struct option *o, const char *arg, const char *shown)
{
	switch (o->kind) {
	case OPT_FLAG:
		*(int *)o->value = 1;
		return 0;
	case OPT_COUNT:
		(*(int *)o->value)++;
		return 0;
	case OPT_STRING:
		*(const char **)o->value = arg;
		return 0;
	case OPT_INT: {
		char *end;
		long v;
		errno = 0;
		v = strtol(arg, &end, 10);
		if (errno || end == arg || *end || v < o->min || v > o->max)
			return error("%s: expected a whole number from %ld to %ld, not '%s'", shown,
				     o->min, o->max, arg);
		*(long *)o->value = v;
		return 0;
	}
	case OPT_LIST: {
		struct opt_list *l = o->value;
		XGROW(l->v, l->n + 1, l->alloc);
		l->v[l->n++] = arg;
		return 0;
	}
	case OPT_END:
		break;
	}
	return -1;
}

static int takes_arg(const struct option *o)
{
	return o->kind == OPT_STRING || o->kind == OPT_INT || o->kind == OPT_LIST;
}

int parse_options(int argc, char **argv, const struct option *opts, const char *usage)
{
	int i, nops = 0, only_operands = 0;

	for (i = 1; i < argc; i++) {
		char *a = argv[i];
		const struct option *o;
		const char *arg = NULL;
		char shown[64];

		if (only_operands || a[0] != '-' || !a[1]) {
			argv[nops++] = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			only_operands = 1;
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			print_usage(stdout, usage, opts);
			return -2;
		}
		if (a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			size_t len = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
			o = find_long(opts, a + 2, len);
			if (!o)
				return error("unknown option '--%.*s' (see --help)", (int)len, a + 2);
			snprintf(shown, sizeof(shown), "--%s", o->long_name);
			if (eq) {
				if (!takes_arg(o))
					return error("%s takes no value", shown);
				arg = eq + 1;
			}
		} else {
			if (a[2])
				return error("unknown option '%s' (see --help)", a);
			o = find_short(opts, a[1]);
			if (!o)
				return error("unknown option '%s' (see --help)", a);
			snprintf(shown, sizeof(shown), "-%c", o->short_name);
		}
		if (takes_arg(o) && !arg) {
			if (i + 1 >= argc)
				return error("%s needs a value", shown);
			arg = argv[++i];
		}
		if (set_value(o, arg, shown))
			return -1;
	}
	return nops;
}

void print_usage(FILE *fp, const char *usage, const struct option *opts)
{
	fprintf(fp, "%s\n\n", usage);
	for (; opts->kind != OPT_END; opts++) {
		char left[64];
		int n = 0;

		if (opts->short_name && opts->long_name)
			n = snprintf(left, sizeof(left), "-%c, --%s", opts->short_name,
				     opts->long_name);
		else if (opts->long_name)
			n = snprintf(left, sizeof(left), "    --%s", opts->long_name);
		else
			n = snprintf(left, sizeof(left), "-%c", opts->short_name);
		if (opts->argh && n > 0 && (size_t)n < sizeof(left))
			snprintf(left + n, sizeof(left) - (size_t)n, " %s", opts->argh);
		fprintf(fp, "    %-28s %s\n", left, opts->help);
	}
}
