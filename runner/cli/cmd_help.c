#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "error.h"
#include "banned.h"

int cmd_help(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct command *c;
	unsigned i;

	if (argc > 1) {
		char *sub[] = { argv[1], (char *)"--help", NULL };
		c = command_find(argv[1]);
		if (c && strcmp(argv[1], "help"))
			return command_run(c, 2, sub);
		if (strcmp(argv[1], "help"))
			return error("'%s' is not a command; see 'evalgate help'", argv[1]) ? EG_EXIT_USAGE : 0;
	}
	puts("usage: evalgate COMMAND [options]\n"
	     "       evalgate help COMMAND\n"
	     "       evalgate --version\n\n"
	     "commands:");
	for (i = 0; i < eg_n_commands; i++)
		printf("    %-10s %s\n", eg_commands[i].name, eg_commands[i].summary);
	puts("\nexit codes: 0 every gate passed, 1 a gate failed, 2 usage/config/suite error,\n"
	     "            3 gateway unusable, 4 stopped at the spend cap (--max-cost-usd, --max-tokens),\n"
	     "            130 interrupted (results so far are stored)");
	return 0;
}
