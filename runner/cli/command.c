/*
 * command: the dispatcher's shared set-up. Every command's prologue (the
 * common options, -q/-v/--color, the config, its gates, the history) and
 * epilogue live here once; commands.h says what each flag does.
 */
#include "commands.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "history.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

#define EG_COMMAND_ROW(n, s, summary) { #n, cmd_##n, (s), (summary) },
const struct command eg_commands[] = {
	EG_COMMANDS(EG_COMMAND_ROW)
};
#undef EG_COMMAND_ROW
const unsigned eg_n_commands = sizeof(eg_commands) / sizeof(eg_commands[0]);

const struct command *command_find(const char *name)
{
	unsigned i;

	for (i = 0; i < eg_n_commands; i++)
		if (!strcmp(eg_commands[i].name, name))
			return &eg_commands[i];
	return NULL;
}

int command_run(const struct command *c, int argc, char **argv)
{
	struct cmd_ctx ctx;
	int rc;

	memset(&ctx, 0, sizeof(ctx));
	ctx.name = c->name;
	ctx.setup = c->setup;
	common_opts_init(&ctx.common);
	rc = c->fn(&ctx, argc, argv);
	cmd_finish(&ctx);
	return rc;
}

int cmd_start(struct cmd_ctx *ctx, int argc, char **argv, const struct option *opts,
	      const char *usage)
{
	const struct option common[] = { OPT_COMMON(&ctx->common), OPT_END_() };
	const size_t n_common = sizeof(common) / sizeof(common[0]) - 1;
	struct option *all;
	size_t n = 0;
	int nops;

	while (opts[n].kind != OPT_END)
		n++;
	all = xmalloc((n_common + n + 1) * sizeof(*all));
	memcpy(all, common, n_common * sizeof(*all));
	memcpy(all + n_common, opts, (n + 1) * sizeof(*all));
	nops = parse_options(argc, argv, all, usage);
	free(all);
	ctx->rc = nops == -2 ? EG_EXIT_OK : EG_EXIT_USAGE;
	if (nops < 0 || common_opts_apply(&ctx->common))
		return -1;
	return nops;
}

/* the history must exist for every command but run, merge and import */
static int history_exists(const char *path)
{
	if (!access(path, F_OK))
		return 1;
	error("history %s: %s", path, strerror(errno));
	return 0;
}

int cmd_setup(struct cmd_ctx *ctx)
{
	unsigned f = ctx->setup;

	ctx->rc = EG_EXIT_USAGE;
	if (f & CMD_CONFIG) {
		if (config_load(&ctx->cfg, ctx->common.config))
			return -1;
		ctx->have_cfg = 1;
	} else if (f & CMD_CONFIG_OPTIONAL) {
		ctx->have_cfg = config_load_optional(&ctx->cfg, ctx->common.config,
						     common_opts_config_given(&ctx->common));
		if (ctx->have_cfg < 0) {
			ctx->have_cfg = 0;
			return -1;
		}
	}
	if ((f & CMD_GATES) && gates_load(&ctx->gates, &ctx->cfg))
		return -1;
	if (f & (CMD_HISTORY_WRITE | CMD_HISTORY_CREATE)) {
		if (!(f & CMD_HISTORY_CREATE) && !history_exists(ctx->common.history))
			return -1;
		ctx->h = history_open(ctx->common.history);
	} else if (f & CMD_HISTORY) {
		ctx->h = history_open_ro(ctx->common.history);
	}
	if ((f & (CMD_HISTORY | CMD_HISTORY_WRITE | CMD_HISTORY_CREATE)) && !ctx->h)
		return -1;
	ctx->rc = EG_EXIT_OK;
	return 0;
}

void cmd_finish(struct cmd_ctx *ctx)
{
	if (ctx->h)
		history_close(ctx->h);
	ctx->h = NULL;
	if (ctx->setup & CMD_GATES)
		gates_release(&ctx->gates);
	if (ctx->have_cfg)
		config_release(&ctx->cfg);
	ctx->have_cfg = 0;
	ctx->setup = 0;
}

int cmd_dispatch(struct cmd_ctx *ctx, const struct subcommand *subs, size_t n, char **argv,
		 int nops, void *opts)
{
	const struct subcommand *sub = NULL;
	struct strbuf names = STRBUF_INIT;
	size_t i;

	for (i = 0; i < n; i++) {
		strbuf_addf(&names, "%s%s", i ? ", " : "", subs[i].name);
		if (nops > 0 && !strcmp(argv[0], subs[i].name))
			sub = &subs[i];
	}
	if (!sub) {
		if (nops > 0)
			error("%s: unknown subcommand '%s' (%s)", ctx->name, argv[0], names.buf);
		else
			error("%s needs a subcommand (%s); see 'evalgate help %s'", ctx->name,
			      names.buf, ctx->name);
		strbuf_release(&names);
		return EG_EXIT_USAGE;
	}
	strbuf_release(&names);
	if (nops - 1 < sub->min_ops || nops - 1 > sub->max_ops) {
		error("%s %s takes %s", ctx->name, sub->name, sub->ops);
		return EG_EXIT_USAGE;
	}
	ctx->setup |= sub->setup;
	if (cmd_setup(ctx))
		return ctx->rc;
	return sub->fn(ctx, argv, nops, opts);
}
