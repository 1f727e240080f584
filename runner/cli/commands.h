/*
 * commands: the command table's row type and every command's entry point.
 *
 * To add a command:
 *   1. write runner/cmd_<name>.c with int cmd_<name>(int argc, char **argv)
 *      (argv[0] is the command name; return an exit code of SPEC 3),
 *   2. declare it below,
 *   3. add its row to commands[] in runner/main.c (kept in alphabetical order),
 *   4. describe its options in its own struct option table: `evalgate help
 *      <name>` prints that table.
 */
#ifndef EG_COMMANDS_H
#define EG_COMMANDS_H

struct command {
	const char *name;                 /* as typed after "evalgate" */
	int (*fn)(int argc, char **argv); /* returns the exit code */
	const char *summary;              /* one line for `evalgate help` */
};

/* the table, for help */
extern const struct command eg_commands[];
extern const unsigned eg_n_commands;

struct common_opts;

int cmd_gate(int argc, char **argv);
/* the body of `gate ID` and `runs gate ID`: options already parsed */
int cmd_gate_run(const struct common_opts *common, const char *ref);
int cmd_compare(int argc, char **argv);
int cmd_help(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_registry(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_runs(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_validate(int argc, char **argv);

#endif
