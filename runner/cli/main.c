/*
 * main: find the command (a row of EG_COMMANDS in commands.h and a file
 * runner/cli/cmd_<name>.c) and run it through the dispatcher.
 */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "error.h"
#include "banned.h"

static int finish(int rc)
{
	/* a report or listing that did not reach its destination is an error */
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "evalgate: could not write to standard output\n");
		return rc ? rc : EG_EXIT_USAGE;
	}
	return rc;
}

int main(int argc, char **argv)
{
	const struct command *c;
	const char *name;
	int rc;

	setlocale(LC_ALL, "C");
	if (argc < 2) {
		command_run(command_find("help"), 1, argv);
		return EG_EXIT_USAGE;
	}
	name = argv[1];
	if (!strcmp(name, "--version") || !strcmp(name, "version")) {
		printf("evalgate %s\n", EG_VERSION);
		return finish(0);
	}
	if (!strcmp(name, "--help") || !strcmp(name, "-h"))
		name = "help";
	c = command_find(name);
	if (!c) {
		error("'%s' is not a command; see 'evalgate help'", name);
		return EG_EXIT_USAGE;
	}
	/* no libcurl here: what speaks HTTP loads it when it starts (curl_load.h) */
	rc = command_run(c, argc - 1, argv + 1);
	return finish(rc);
}
