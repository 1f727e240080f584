/*
 * commands: the command table, what the dispatcher sets up for a command
 * before it runs and releases after, and every command's entry point.
 *
 * To add a command:
 *   1. write runner/cli/cmd_<name>.c with
 *      int cmd_<name>(struct cmd_ctx *ctx, int argc, char **argv)
 *      (argv[0] is the first argument after the command's name's own
 *      argv[0]; return an exit code of SPEC 3): declare its options in a
 *      struct option table (the common ones are added for it) and call
 *      cmd_start(), then cmd_setup() once its operands are checked,
 *   2. add X(<name>, CMD_..., "one-line summary") to EG_COMMANDS below
 *      (kept in alphabetical order; `evalgate help` lists them so).
 * A command with subcommands (runs, registry) keeps a struct subcommand
 * table and hands it to cmd_dispatch().
 *
 * Ownership: the dispatcher owns the struct cmd_ctx; what cmd_setup() loads
 * or opens into it (config, gates, history) is released by cmd_finish()
 * after the command returns, so commands never free it.
 */
#ifndef EG_COMMANDS_H
#define EG_COMMANDS_H

#include "config.h"
#include "gate.h"
#include "opts.h"

/* what cmd_setup() does for a command (or subcommand), in this order */
enum cmd_setup_flags {
	CMD_CONFIG = 1 << 0,          /* load --config; a missing file is an error */
	CMD_CONFIG_OPTIONAL = 1 << 1, /* load --config when it exists or was given */
	CMD_GATES = 1 << 2,           /* parse the config's gates (needs CMD_CONFIG) */
	CMD_HISTORY = 1 << 3,         /* open --history read-only; it must exist */
	CMD_HISTORY_WRITE = 1 << 4,   /* open --history for writing; it must exist */
	CMD_HISTORY_CREATE = 1 << 5,  /* open --history for writing, creating it */
};

struct history;

struct cmd_ctx {
	const char *name;             /* the command as typed */
	unsigned setup;               /* enum cmd_setup_flags for cmd_setup() */
	int rc;                       /* exit code when cmd_start/cmd_setup return -1 */
	struct common_opts common;    /* --config, --history, -q, -v, --color */
	struct eg_config cfg;         /* loaded when have_cfg */
	int have_cfg;
	struct gates gates;           /* parsed when CMD_GATES (zeroed otherwise) */
	struct history *h;            /* opened when CMD_HISTORY*, else NULL */
};

/*
 * Parse argv (argv[0] is the command's name) with the common options and
 * opts, print the usage on -h, apply -q/-v/--color. Returns the number of
 * operands (moved to the front of argv), or -1 when the command must end
 * now with the exit code ctx->rc (0 after --help, 2 after an error).
 */
int cmd_start(struct cmd_ctx *ctx, int argc, char **argv, const struct option *opts,
	      const char *usage);
/* do what ctx->setup asks; 0, or -1 with ctx->rc set (after reporting) */
int cmd_setup(struct cmd_ctx *ctx);
/* release what cmd_setup() loaded and opened */
void cmd_finish(struct cmd_ctx *ctx);

/* a subcommand: its operands (after its name) and what it needs set up */
struct subcommand {
	const char *name;
	int (*fn)(struct cmd_ctx *ctx, char **argv, int nops, void *opts); /* an exit code */
	int min_ops, max_ops;         /* operands after the subcommand's name */
	unsigned setup;               /* enum cmd_setup_flags, added to the command's */
	const char *ops;              /* what the operands are, for the message */
};

/*
 * The one subcommand dispatcher: find argv[0] (of nops operands) in subs,
 * check its operand count, set it up and run it with opts (the command's
 * parsed options). Unknown subcommands and wrong counts are usage errors.
 */
int cmd_dispatch(struct cmd_ctx *ctx, const struct subcommand *subs, size_t n, char **argv,
		 int nops, void *opts);

/* the command table: X(name, setup flags, summary) */
#define EG_COMMANDS(X)                                                                          \
	X(calibrate, 0, "measure the judge scorers against human labels (Cohen's kappa)") \
	X(compare, CMD_CONFIG_OPTIONAL | CMD_HISTORY,                                           \
	  "compare two stored runs: pass rates, flips, McNemar p, scores")                      \
	X(gate, CMD_CONFIG | CMD_GATES | CMD_HISTORY_WRITE,                                     \
	  "apply the configured gates to a stored run again")                                   \
	X(help, 0, "show help for evalgate or a command")                                       \
	X(merge, 0, "merge the histories of a sharded run into one run")                        \
	X(registry, CMD_CONFIG_OPTIONAL,                                                        \
	  "register versions, promote them to aliases on evidence, audit log")                  \
	X(report, CMD_HISTORY, "write any report of a stored run again")                        \
	X(rescore, 0, "score a stored run's answers again with the current scorers (no target calls)") \
	X(run, 0, "run suites through the gateway, score, store, report, gate")                 \
	X(runs, 0, "list, show, export and import stored runs")                                 \
	X(sample, CMD_CONFIG_OPTIONAL, "draw an online-sample suite from a traffic log")                          \
	X(validate, 0, "check the config and suites without calling a model")                   \
	X(power, CMD_CONFIG_OPTIONAL | CMD_HISTORY,                                             \
	  "estimate the regression gate's false-block rate and power from the history")

#define EG_COMMAND_DECLARE(name, setup, summary) \
	int cmd_##name(struct cmd_ctx *ctx, int argc, char **argv);
EG_COMMANDS(EG_COMMAND_DECLARE)
#undef EG_COMMAND_DECLARE

struct command {
	const char *name;             /* as typed after "evalgate" */
	int (*fn)(struct cmd_ctx *ctx, int argc, char **argv); /* returns the exit code */
	unsigned setup;               /* enum cmd_setup_flags */
	const char *summary;          /* one line for `evalgate help` */
};

/* the table, for help */
extern const struct command eg_commands[];
extern const unsigned eg_n_commands;
const struct command *command_find(const char *name);
/* run a command: set up its ctx, call it, release what was set up */
int command_run(const struct command *c, int argc, char **argv);

/* the body of `gate ID` and `runs gate ID`, after the config, gates and history are set up */
int cmd_gate_run(struct cmd_ctx *ctx, const char *ref);

#endif
