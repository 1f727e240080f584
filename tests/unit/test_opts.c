/* opts: the option table parser and the usage it prints */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "helper.h"
#include "opts.h"
#include "banned.h"

TestSuite(opts, .init = th_stderr_start);

struct vals {
	int flag, count;
	const char *str;
	long num;
	struct opt_list list;
};

#define USAGE "evalgate test [options] [FILE...]"

static int parse(struct vals *v, char **argv)
{
	const struct option opts[] = {
		OPT_FLAG_('q', "quiet", &v->flag, "say less"),
		OPT_COUNT_('v', "verbose", &v->count, "say more"),
		OPT_STRING_('c', "config", &v->str, "FILE", "config file"),
		OPT_INT_('n', "number", &v->num, "N", "how many", 1, 100),
		OPT_LIST_('t', "tag", &v->list, "TAG", "a tag (repeatable)"),
		OPT_FLAG_(0, "dry-run", &v->flag, "call nothing"),
		OPT_END_(),
	};
	int argc = 0;

	while (argv[argc])
		argc++;
	return parse_options(argc, argv, opts, USAGE);
}

static void vals_init(struct vals *v)
{
	memset(v, 0, sizeof(*v));
	v->num = -5;
}

Test(opts, nothing_given)
{
	char *argv[] = { "cmd", NULL };
	struct vals v;

	vals_init(&v);
	cr_assert_eq(parse(&v, argv), 0);
	cr_assert_eq(v.flag, 0);
	cr_assert_eq(v.count, 0);
	cr_assert_null(v.str);
	cr_assert_eq(v.num, -5, "an absent int keeps its default");
	cr_assert_eq(v.list.n, 0);
}

Test(opts, flags_and_counts)
{
	char *argv[] = { "cmd", "-v", "--verbose", "-q", "-v", NULL };
	char *argv2[] = { "cmd", "--dry-run", NULL };
	struct vals v;

	vals_init(&v);
	cr_assert_eq(parse(&v, argv), 0);
	cr_assert_eq(v.flag, 1);
	cr_assert_eq(v.count, 3);
	vals_init(&v);
	cr_assert_eq(parse(&v, argv2), 0, "%s", th_stderr_take());
	cr_assert_eq(v.flag, 1);
}

Test(opts, strings_last_one_wins)
{
	char *argv[] = { "cmd", "--config", "a.json", "-c", "b.json", "--config=c.json", NULL };
	char *argv2[] = { "cmd", "--config=", NULL };
	char *argv3[] = { "cmd", "--config=x=y", NULL };
	struct vals v;

	vals_init(&v);
	cr_assert_eq(parse(&v, argv), 0);
	cr_assert_str_eq(v.str, "c.json");
	cr_assert_eq(v.str, argv[5] + strlen("--config="), "values point into argv");
	vals_init(&v);
	cr_assert_eq(parse(&v, argv2), 0);
	cr_assert_str_eq(v.str, "", "an empty value is a value");
	vals_init(&v);
	cr_assert_eq(parse(&v, argv3), 0);
	cr_assert_str_eq(v.str, "x=y", "only the first = separates");
}

Test(opts, a_value_may_look_like_an_option)
{
	char *argv[] = { "cmd", "--config", "-q", NULL };
	struct vals v;

	vals_init(&v);
	cr_assert_eq(parse(&v, argv), 0);
	cr_assert_str_eq(v.str, "-q");
	cr_assert_eq(v.flag, 0);
}

Test(opts, ints_in_range)
{
	char *argv[] = { "cmd", "--number", "1", NULL };
	char *argv2[] = { "cmd", "--number=100", NULL };
	char *argv3[] = { "cmd", "-n", "42", NULL };
	struct vals v;

	vals_init(&v);
	cr_assert_eq(parse(&v, argv), 0);
	cr_assert_eq(v.num, 1);
	cr_assert_eq(parse(&v, argv2), 0);
	cr_assert_eq(v.num, 100);
	cr_assert_eq(parse(&v, argv3), 0);
	cr_assert_eq(v.num, 42);
}

static void int_fails(const char *opt, const char *val, const char *want)
{
	char *argv[] = { "cmd", (char *)opt, (char *)val, NULL };
	struct vals v;
	const char *err;

	vals_init(&v);
	cr_assert_eq(parse(&v, argv), -1, "accepted %s %s", opt, val);
	cr_assert_eq(v.num, -5, "not stored");
	err = th_stderr_take();
	cr_assert_str_eq(err, want);
}

Test(opts, int_errors)
{
	int_fails("--number", "0", "evalgate: --number: expected a whole number from 1 to 100, not '0'\n");
	int_fails("--number", "101", "evalgate: --number: expected a whole number from 1 to 100, not '101'\n");
	int_fails("--number", "-3", "evalgate: --number: expected a whole number from 1 to 100, not '-3'\n");
	int_fails("--number", "5x", "evalgate: --number: expected a whole number from 1 to 100, not '5x'\n");
	int_fails("--number", "2.5", "evalgate: --number: expected a whole number from 1 to 100, not '2.5'\n");
	int_fails("--number", "", "evalgate: --number: expected a whole number from 1 to 100, not ''\n");
	int_fails("--number", "99999999999999999999999",
		  "evalgate: --number: expected a whole number from 1 to 100, not '99999999999999999999999'\n");
	int_fails("-n", "abc", "evalgate: -n: expected a whole number from 1 to 100, not 'abc'\n");
}

Test(opts, lists_keep_order)
{
	char *argv[] = { "cmd", "--tag", "a", "--tag=b", "-t", "c", "--tag", "a", NULL };
	struct vals v;

	vals_init(&v);
	cr_assert_eq(parse(&v, argv), 0);
	cr_assert_eq(v.list.n, 4);
	cr_assert_str_eq(v.list.v[0], "a");
	cr_assert_str_eq(v.list.v[1], "b");
	cr_assert_str_eq(v.list.v[2], "c");
	cr_assert_str_eq(v.list.v[3], "a");
	opt_list_release(&v.list);
	cr_assert_null(v.list.v);
	cr_assert_eq(v.list.n, 0);
	cr_assert_eq(v.list.alloc, 0);
}

Test(opts, operands_interleaved_with_options)
{
	char *argv[] = { "cmd", "one", "-q", "two", "--config", "x", "three", "-", "--tag=t", NULL };
	struct vals v;

	vals_init(&v);
	cr_assert_eq(parse(&v, argv), 4);
	cr_assert_str_eq(argv[0], "one");
	cr_assert_str_eq(argv[1], "two");
	cr_assert_str_eq(argv[2], "three");
	cr_assert_str_eq(argv[3], "-", "a lone dash is an operand");
	cr_assert_eq(v.flag, 1);
	cr_assert_str_eq(v.str, "x");
	cr_assert_eq(v.list.n, 1);
	opt_list_release(&v.list);
}

Test(opts, double_dash_ends_options)
{
	char *argv[] = { "cmd", "a", "--", "-q", "--tag", "--", "b", NULL };
	struct vals v;

	vals_init(&v);
	cr_assert_eq(parse(&v, argv), 5);
	cr_assert_str_eq(argv[0], "a");
	cr_assert_str_eq(argv[1], "-q");
	cr_assert_str_eq(argv[2], "--tag");
	cr_assert_str_eq(argv[3], "--", "a second -- is an operand");
	cr_assert_str_eq(argv[4], "b");
	cr_assert_eq(v.flag, 0);
	cr_assert_eq(v.list.n, 0);
}

static void parse_fails(char **argv, const char *want)
{
	struct vals v;

	vals_init(&v);
	cr_assert_eq(parse(&v, argv), -1);
	cr_assert_str_eq(th_stderr_take(), want);
	opt_list_release(&v.list);
}

Test(opts, unknown_options)
{
	char *a1[] = { "cmd", "--nope", NULL };
	char *a2[] = { "cmd", "--nope=3", NULL };
	char *a3[] = { "cmd", "-x", NULL };
	char *a4[] = { "cmd", "-qv", NULL };
	char *a5[] = { "cmd", "--quie", NULL };
	char *a6[] = { "cmd", "--quiet", "--Quiet", NULL };

	parse_fails(a1, "evalgate: unknown option '--nope' (see --help)\n");
	parse_fails(a2, "evalgate: unknown option '--nope' (see --help)\n");
	parse_fails(a3, "evalgate: unknown option '-x' (see --help)\n");
	parse_fails(a4, "evalgate: unknown option '-qv' (see --help)\n");
	parse_fails(a5, "evalgate: unknown option '--quie' (see --help)\n");
	parse_fails(a6, "evalgate: unknown option '--Quiet' (see --help)\n");
}

Test(opts, missing_and_unwanted_values)
{
	char *a1[] = { "cmd", "--config", NULL };
	char *a2[] = { "cmd", "-n", NULL };
	char *a3[] = { "cmd", "x", "--tag", NULL };
	char *a4[] = { "cmd", "--quiet=1", NULL };
	char *a5[] = { "cmd", "--verbose=", NULL };

	parse_fails(a1, "evalgate: --config needs a value\n");
	parse_fails(a2, "evalgate: -n needs a value\n");
	parse_fails(a3, "evalgate: --tag needs a value\n");
	parse_fails(a4, "evalgate: --quiet takes no value\n");
	parse_fails(a5, "evalgate: --verbose takes no value\n");
}

Test(opts, help_returns_minus_two_and_prints_usage)
{
	char *a1[] = { "cmd", "-q", "-h", "--nope", NULL };
	char *a2[] = { "cmd", "x", "--help", NULL };
	char out[4096];
	struct vals v;
	FILE *f;
	size_t n;

	cr_redirect_stdout();
	vals_init(&v);
	cr_assert_eq(parse(&v, a1), -2, "-h wins over a later unknown option");
	cr_assert_eq(parse(&v, a2), -2);
	fflush(stdout);
	f = cr_get_redirected_stdout();
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	cr_assert_eq(strncmp(out, USAGE "\n\n", strlen(USAGE) + 2), 0, "%s", out);
	cr_assert_not_null(strstr(out, "-q, --quiet "), "%s", out);
	cr_assert_not_null(strstr(out, "-c, --config FILE "), "%s", out);
	cr_assert_not_null(strstr(out, "-n, --number N "), "%s", out);
	cr_assert_not_null(strstr(out, "        --dry-run "), "%s", out);
	cr_assert_not_null(strstr(out, " a tag (repeatable)\n"), "%s", out);
	cr_assert_not_null(strstr(out + 10, USAGE), "printed twice: %s", out);
	cr_assert_str_eq(th_stderr_take(), "");
}

Test(opts, common_options)
{
	struct common_opts c;
	const struct option opts[] = { OPT_COMMON(&c), OPT_END_() };
	char *argv[] = { "cmd", "--config", "e.json", "--history=h.db", "-v", "--color", "never", NULL };
	char *argv2[] = { "cmd", "-q", "--color=sometimes", NULL };

	common_opts_init(&c);
	cr_assert_str_eq(c.config, "evalgate.json");
	cr_assert_str_eq(c.history, ".evalgate/history.db");
	cr_assert_str_eq(c.color, "auto");
	cr_assert_eq(parse_options(7, argv, opts, "u"), 0);
	cr_assert_str_eq(c.config, "e.json");
	cr_assert_str_eq(c.history, "h.db");
	cr_assert_eq(common_opts_apply(&c), 0);
	cr_assert_eq(eg_verbosity, 1);
	cr_assert_eq(common_opts_color(&c, stderr), 0);

	common_opts_init(&c);
	cr_assert_eq(parse_options(3, argv2, opts, "u"), 0);
	cr_assert_eq(common_opts_apply(&c), -1);
	cr_assert_str_eq(th_stderr_take(), "evalgate: --color: expected auto, always or never, not 'sometimes'\n");
	c.color = "always";
	cr_assert_eq(common_opts_apply(&c), 0);
	cr_assert_eq(eg_verbosity, -1, "-q");
	cr_assert_eq(common_opts_color(&c, stderr), 1);
}
