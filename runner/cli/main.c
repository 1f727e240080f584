/*
 * main: find the command (a row of EG_COMMANDS in commands.h and a file
 * runner/cli/cmd_<name>.c) and run it through the dispatcher.
 */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

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

/*
 * Does the command speak HTTP (a model, a judge, a registry)? Those that
 * never do skip libcurl's initialisation (OpenSSL's with it), most of a
 * short command's time after the loading of the libraries.
 */
static int needs_curl(const char *name)
{
	static const char *const offline[] = { "help", "merge", "power", "report", "runs",
					       "validate" };
	size_t i;

	for (i = 0; i < sizeof(offline) / sizeof(offline[0]); i++)
		if (!strcmp(name, offline[i]))
			return 0;
	return 1;
}

int main(int argc, char **argv)
{
	const struct command *c;
	const char *name;
	int rc, curl;

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
	curl = needs_curl(name);
	if (curl && curl_global_init(CURL_GLOBAL_DEFAULT)) {
		error("cannot initialise libcurl");
		return EG_EXIT_INFRA;
	}
	rc = command_run(c, argc - 1, argv + 1);
	if (curl)
		curl_global_cleanup();
	return finish(rc);
}
