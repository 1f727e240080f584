/*
 * main: the command table. A command is a row here and a file
 * runner/cmd_<name>.c; commands.h says how to add one.
 */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "commands.h"
#include "error.h"
#include "banned.h"

const struct command eg_commands[] = {
	{ "compare", cmd_compare, "compare two stored runs: pass rates, flips, McNemar p, scores" },
	{ "gate", cmd_gate, "apply the configured gates to a stored run again" },
	{ "help", cmd_help, "show help for evalgate or a command" },
	{ "merge", cmd_merge, "merge the histories of a sharded run into one run" },
	{ "registry", cmd_registry, "register versions, promote them to aliases on evidence, audit log" },
	{ "report", cmd_report, "write any report of a stored run again" },
	{ "run", cmd_run, "run suites through the gateway, score, store, report, gate" },
	{ "runs", cmd_runs, "list, show, export and import stored runs" },
	{ "sample", cmd_sample, "draw an online-sample suite from a traffic log" },
	{ "validate", cmd_validate, "check the config and suites without calling a model" },
};
const unsigned eg_n_commands = sizeof(eg_commands) / sizeof(eg_commands[0]);

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
	const char *name;
	unsigned i;
	int rc;

	setlocale(LC_ALL, "C");
	if (argc < 2) {
		cmd_help(1, argv);
		return EG_EXIT_USAGE;
	}
	name = argv[1];
	if (!strcmp(name, "--version") || !strcmp(name, "version")) {
		printf("evalgate %s\n", EG_VERSION);
		return finish(0);
	}
	if (!strcmp(name, "--help") || !strcmp(name, "-h"))
		name = "help";
	for (i = 0; i < eg_n_commands; i++)
		if (!strcmp(eg_commands[i].name, name))
			break;
	if (i == eg_n_commands) {
		error("'%s' is not a command; see 'evalgate help'", name);
		return EG_EXIT_USAGE;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		error("cannot initialise libcurl");
		return EG_EXIT_INFRA;
	}
	rc = eg_commands[i].fn(argc - 1, argv + 1);
	curl_global_cleanup();
	return finish(rc);
}
