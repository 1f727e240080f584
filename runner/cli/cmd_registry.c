/* registry: register versions, promote them to aliases on evidence, show the audit log */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "config.h"
#include "error.h"
#include "history.h"
#include "opts.h"
#include "registry.h"
#include "banned.h"

static const char usage[] =
	"usage: evalgate registry register NAME VERSION [--meta JSON]\n"
	"       evalgate registry promote NAME VERSION --alias ALIAS [--run ID]"
	" [--force --reason TEXT | --bootstrap]\n"
	"       evalgate registry show NAME\n"
	"       evalgate registry list\n"
	"       evalgate registry log [NAME] [--limit N] [--json]";

struct registry_cli {
	const char *registry;    /* --registry URL */
	const char *meta;        /* --meta JSON */
	const char *alias;       /* --alias */
	const char *run;         /* --run ID */
	const char *reason;      /* --reason TEXT */
	int force;
	int bootstrap;           /* --bootstrap: the first promotion to a new alias */
	int json;
	long limit;
	struct registry *r;      /* opened by the subcommand, closed by cmd_registry */
};

/* an error code (error.h) */
static int promote(struct registry_cli *o, struct registry *r, const struct eg_config *cfg,
		   const char *history, char **argv)
{
	struct promote_req req = { 0 };
	struct history *h;
	int rc;

	if (!o->alias)
		return error("registry promote needs --alias ALIAS");
	if (o->force && !o->reason)
		return error("registry promote: --force needs --reason TEXT (it is written to the "
			     "audit log)");
	if (o->reason && !o->force)
		return error("registry promote: --reason goes with --force");
	if (o->bootstrap && o->force)
		return error("registry promote: --bootstrap and --force do not go together");
	/* a repository with no history yet has no evidence: a refusal, not an error */
	if (access(history, F_OK) && errno == ENOENT)
		h = history_open(":memory:");
	else
		h = history_open_ro(history);
	if (!h)
		return EG_ERR_USAGE;
	req.name = argv[1];
	req.version = argv[2];
	req.alias = o->alias;
	req.run_id = o->run;
	req.rule = cfg ? config_promotion(cfg, o->alias) : NULL;
	req.force = o->force;
	req.bootstrap = o->bootstrap;
	req.reason = o->reason;
	if (!req.rule)
		verbose("no promotion rule for '%s' in the config: no suite or age requirement",
			o->alias);
	rc = registry_promote(r, h, &req);
	history_close(h);
	return rc;
}

/*
 * Open the registry of --registry, else the config's, else the default, into
 * o->r (closed by cmd_registry); 0, or -1 after reporting.
 */
static int open_registry(const struct cmd_ctx *ctx, struct registry_cli *o)
{
	o->r = registry_open(o->registry ? o->registry : ctx->have_cfg ? ctx->cfg.registry : NULL);
	return o->r ? 0 : -1;
}

/* the same for show, list and log: nothing is created */
static int open_registry_ro(const struct cmd_ctx *ctx, struct registry_cli *o)
{
	o->r = registry_open_ro(o->registry ? o->registry
					    : ctx->have_cfg ? ctx->cfg.registry : NULL);
	return o->r ? 0 : -1;
}

static int sub_register(struct cmd_ctx *ctx, char **argv, int nops, void *opts)
{
	struct registry_cli *o = opts;

	return open_registry(ctx, o) ? EG_EXIT_USAGE
				     : eg_exit_code(registry_register(o->r, argv[1], argv[2],
								      o->meta));
}

static int sub_promote(struct cmd_ctx *ctx, char **argv, int nops, void *opts)
{
	struct registry_cli *o = opts;
	const struct eg_config *cfg = ctx->have_cfg ? &ctx->cfg : NULL;

	if (open_registry(ctx, o))
		return EG_EXIT_USAGE;
	return eg_exit_code(promote(o, o->r, cfg, ctx->common.history, argv));
}

static int sub_show(struct cmd_ctx *ctx, char **argv, int nops, void *opts)
{
	struct registry_cli *o = opts;

	return open_registry_ro(ctx, o) ? EG_EXIT_USAGE
				     : eg_exit_code(registry_show(o->r, argv[1], stdout));
}

static int sub_list(struct cmd_ctx *ctx, char **argv, int nops, void *opts)
{
	struct registry_cli *o = opts;

	return open_registry_ro(ctx, o) ? EG_EXIT_USAGE : eg_exit_code(registry_list(o->r, stdout));
}

static int sub_log(struct cmd_ctx *ctx, char **argv, int nops, void *opts)
{
	struct registry_cli *o = opts;

	return open_registry_ro(ctx, o) ? EG_EXIT_USAGE
				     : eg_exit_code(registry_log(o->r, nops > 1 ? argv[1] : NULL,
								 o->limit, o->json, stdout));
}

/* the config, when there is one, gives the promotion rules and the registry URL */
static const struct subcommand subs[] = {
	{ "register", sub_register, 2, 2, 0, "NAME VERSION" },
	{ "promote", sub_promote, 2, 2, 0, "NAME VERSION" },
	{ "show", sub_show, 1, 1, 0, "NAME" },
	{ "list", sub_list, 0, 0, 0, "no operands" },
	{ "log", sub_log, 0, 1, 0, "at most a NAME" },
};

int cmd_registry(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct registry_cli o;
	int nops, rc;
	const struct option opts[] = {
		OPT_STRING_(0, "registry", &o.registry, "URL",
			    "sqlite:PATH or mlflow+http(s)://HOST (default: the config's "
			    "registry, else " REGISTRY_DEFAULT ")"),
		OPT_STRING_(0, "meta", &o.meta, "JSON", "register: metadata, a JSON object"),
		OPT_STRING_(0, "alias", &o.alias, "ALIAS", "promote: the alias to move"),
		OPT_STRING_(0, "run", &o.run, "ID", "promote: the evidence run (default: the best stored one)"),
		OPT_FLAG_(0, "force", &o.force, "promote: even when a rule refuses (needs --reason)"),
		OPT_STRING_(0, "reason", &o.reason, "TEXT", "promote --force: why, for the audit log"),
		OPT_FLAG_(0, "bootstrap", &o.bootstrap,
			  "promote: the first promotion to an alias that never pointed anywhere; "
			  "regression gates without a baseline are left out (audited)"),
		OPT_INT_(0, "limit", &o.limit, "N", "log: the last N entries", 1, 1000000000L),
		OPT_FLAG_(0, "json", &o.json, "log: a JSON array"),
		OPT_END_(),
	};

	memset(&o, 0, sizeof(o));
	nops = cmd_start(ctx, argc, argv, opts, usage);
	if (nops < 0)
		return ctx->rc;
	rc = cmd_dispatch(ctx, subs, sizeof(subs) / sizeof(subs[0]), argv, nops, &o);
	if (o.r)
		registry_close(o.r);
	return rc;
}
