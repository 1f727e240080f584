/*
 * rescore: score a stored run's answers again with the current suites'
 * scorers, into a new run linked to it; the target is never called, the
 * scorers' model calls (judge, claims) go through the gateway and the cache.
 * It is `run --rescore RUN`: the same reports, gates and exit codes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "error.h"
#include "xalloc.h"
#include "banned.h"

static const char usage[] =
	"usage: evalgate rescore RUN [--config FILE] [--suite DIR]... [--junit FILE] [options]\n\n"
	"RUN is a run id, a unique prefix of one or 'latest'. Each case of the current\n"
	"suites that RUN holds is scored again on the answer RUN stored for it (every\n"
	"repeat); the new run records that it re-scored RUN, and `evalgate compare RUN NEW`\n"
	"then shows flips that come from scoring alone. The options are those of\n"
	"`evalgate run` (see `evalgate run --help`) except --resume, --repeat,\n"
	"--cache-only and --dry-run.";

int cmd_rescore(struct cmd_ctx *ctx, int argc, char **argv)
{
	char **args;
	int i, rc;

	if (argc < 2 || argv[1][0] == '-') {
		int help = argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"));

		if (help) {
			puts(usage);
			return EG_EXIT_OK;
		}
		error("rescore: the first argument is the run to score again (see --help)");
		return EG_EXIT_USAGE;
	}
	args = xcalloc((size_t)argc + 2, sizeof(*args));
	args[0] = argv[0];
	args[1] = (char *)"--rescore";
	for (i = 1; i < argc; i++)
		args[i + 1] = argv[i];
	rc = cmd_run(ctx, argc + 1, args);
	free(args);
	return rc;
}
