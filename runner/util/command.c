/*
 * command: the key of a worker command, and its release.
 */
#include "command.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sha256.h"
#include "strbuf.h"
#include "banned.h"

#define CMD_FILE_MAX ((long)64 << 20) /* a larger argv file is keyed by its name only */

static void add_field(struct sha256 *h, const char *s)
{
	sha256_update(h, s, strlen(s) + 1); /* the NUL separates fields */
}

/* the contents of path (relative to dir) when it is a regular file */
static void add_file(struct sha256 *h, const char *dir, const char *path)
{
	struct strbuf full = STRBUF_INIT;
	struct stat st;
	char buf[65536];
	size_t n;
	FILE *f;

	if (dir && path[0] != '/')
		strbuf_addf(&full, "%s/", dir);
	strbuf_addstr(&full, path);
	if (stat(full.buf, &st) || !S_ISREG(st.st_mode) || st.st_size > CMD_FILE_MAX)
		goto out;
	f = fopen(full.buf, "rb");
	if (!f)
		goto out;
	sha256_update(h, "file\n", 5);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sha256_update(h, buf, n);
	fclose(f);
out:
	strbuf_release(&full);
}

void eg_command_set_key(struct eg_command *c, char *const *env_written, size_t n)
{
	struct sha256 h;
	unsigned char dig[32];
	size_t i;

	sha256_init(&h);
	sha256_update(&h, "command\n", 8);
	for (i = 0; c->argv[i]; i++)
		add_field(&h, c->argv[i]);
	sha256_update(&h, "env\n", 4);
	if (env_written) {
		for (i = 0; i < n; i++)
			add_field(&h, env_written[i]);
	} else {
		for (i = 0; c->env && c->env[i]; i++)
			add_field(&h, c->env[i]);
	}
	sha256_update(&h, "dir\n", 4);
	add_field(&h, c->dir ? c->dir : "");
	for (i = 0; c->argv[i]; i++)
		add_file(&h, c->dir, c->argv[i]);
	sha256_final(&h, dig);
	sha256_to_hex(dig, c->key);
}

static void free_strv(char **v, int wipe)
{
	size_t i;

	for (i = 0; v && v[i]; i++) {
		if (wipe)
			explicit_bzero(v[i], strlen(v[i]));
		free(v[i]);
	}
	free(v);
}

void eg_command_release(struct eg_command *c)
{
	size_t i;

	free_strv(c->argv, 0);
	free_strv(c->env, 1);
	free(c->dir);
	for (i = 0; i < c->n_secrets; i++) {
		explicit_bzero(c->secrets[i], strlen(c->secrets[i]));
		free(c->secrets[i]);
	}
	free(c->secrets);
	memset(c, 0, sizeof(*c));
}
