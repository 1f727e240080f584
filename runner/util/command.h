/*
 * command: a program run as long-lived worker processes that speak NDJSON
 * (the exec target, the exec scorer). The target or scorer that reads it
 * from its config builds it; the run core spawns it (runner/worker.h).
 *
 * Ownership: a struct eg_command owns every pointer it holds
 * (eg_command_release frees them and wipes the secrets).
 */
#ifndef EG_COMMAND_H
#define EG_COMMAND_H

#include <stddef.h>

struct eg_command {
	char **argv;          /* the program and its arguments, NULL-terminated, argv[0] non-empty */
	char **env;           /* NAME=VALUE set for the workers, NULL-terminated, or NULL */
	char *dir;            /* working directory of the workers, or NULL: evalgate's own */
	int workers;          /* processes to run; 0: one */
	double timeout_s;     /* per call; 0: the gateway's timeout */
	char **secrets;       /* values redacted from every error (env values taken from the
				 environment), n_secrets of them */
	size_t n_secrets;
	char key[65];         /* SHA-256 of argv, env as written, dir and the contents of the
				 files argv names (eg_command_set_key): what decides the answers */
};

/*
 * Fill c->key from argv, the env entries as written (env_written, n of them:
 * "NAME=VALUE" before expansion; NULL to use c->env) and dir, and the bytes of
 * every argv element that names a regular file (relative to dir), so that an
 * edit of the worker's script changes the key.
 */
void eg_command_set_key(struct eg_command *c, char *const *env_written, size_t n);
void eg_command_release(struct eg_command *c);

#endif
