#include <stdio.h>
#include "commands.h"
int cmd_help(int argc, char **argv)
{
	(void)argc; (void)argv;
	puts("usage: evalgate COMMAND [options]");
	return 0;
}
