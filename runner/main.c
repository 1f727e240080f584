/*
 * main: the command table. A command is a row here and a file
 * runner/cmd_<name>.c; see commands.h for how to add one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "error.h"
#include "banned.h"

static const struct command commands[] = {
	{ "help", cmd_help, "show help for evalgate or a command" },
};

int main(int argc, char **argv)
{
	(void)commands;
	if (argc > 1 && !strcmp(argv[1], "--version")) {
		printf("evalgate %s\n", EG_VERSION);
		return 0;
	}
	return cmd_help(argc - 1, argv + 1);
}
