#ifndef EG_COMMANDS_H
#define EG_COMMANDS_H
struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};
int cmd_help(int argc, char **argv);
#endif
