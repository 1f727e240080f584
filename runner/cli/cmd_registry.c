/* registry: register versions, promote them to aliases on evidence, show the audit log */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

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
	" [--force --reason TEXT]\n"
	"       evalgate registry show NAME\n"
	"       evalgate registry list\n"
	"       evalgate registry log [NAME] [--limit N] [--json]";

struct registry_cli {
	struct common_opts common;
	const char *registry;    /* --registry URL */
	const char *meta;        /* --meta JSON */
	const char *alias;       /* --alias */
	const char *run;         /* --run ID */
	const char *reason;      /* --reason TEXT */
	int force;
	int json;
	long limit;
};

static const struct {
	const char *name;
	int min_ops, max_ops;    /* operands after the subcommand */
} subs[] = {
	{ "register", 2, 2 },
	{ "promote", 2, 2 },
	{ "show", 1, 1 },
	{ "list", 0, 0 },
	{ "log", 0, 1 },
};

/* an error code (error.h) */
static int promote(struct registry_cli *o, struct registry *r, const struct eg_config *cfg,
		   char **argv)
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
	h = history_open_ro(o->common.history);
	if (!h)
		return EG_ERR_USAGE;
	req.name = argv[1];
	req.version = argv[2];
	req.alias = o->alias;
	req.run_id = o->run;
	req.rule = cfg ? config_promotion(cfg, o->alias) : NULL;
	req.force = o->force;
	req.reason = o->reason;
	if (!req.rule)
		verbose("no promotion rule for '%s' in the config: no suite or age requirement",
			o->alias);
	rc = registry_promote(r, h, &req);
	history_close(h);
	return rc;
}

int cmd_registry(int argc, char **argv)
{
	struct registry_cli o;
	struct eg_config cfg;
	struct registry *r = NULL;
	int nops, have_cfg = 0, err, rc = EG_EXIT_USAGE;
	size_t i;
	const struct option opts[] = {
		OPT_COMMON(&o.common),
		OPT_STRING_(0, "registry", &o.registry, "URL",
			    "sqlite:PATH or mlflow+http(s)://HOST (default: the config's "
			    "registry, else " REGISTRY_DEFAULT ")"),
		OPT_STRING_(0, "meta", &o.meta, "JSON", "register: metadata, a JSON object"),
		OPT_STRING_(0, "alias", &o.alias, "ALIAS", "promote: the alias to move"),
		OPT_STRING_(0, "run", &o.run, "ID", "promote: the evidence run (default: the best stored one)"),
		OPT_FLAG_(0, "force", &o.force, "promote: even when a rule refuses (needs --reason)"),
		OPT_STRING_(0, "reason", &o.reason, "TEXT", "promote --force: why, for the audit log"),
		OPT_INT_(0, "limit", &o.limit, "N", "log: the last N entries", 1, 1000000000L),
		OPT_FLAG_(0, "json", &o.json, "log: a JSON array"),
		OPT_END_(),
	};

	memset(&o, 0, sizeof(o));
	common_opts_init(&o.common);
	nops = parse_options(argc, argv, opts, usage);
	if (nops == -2)
		return 0;
	if (nops < 0 || common_opts_apply(&o.common))
		return EG_EXIT_USAGE;
	if (nops < 1) {
		print_usage(stderr, usage, opts);
		return EG_EXIT_USAGE;
	}
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (!strcmp(subs[i].name, argv[0]))
			break;
	if (i == sizeof(subs) / sizeof(subs[0])) {
		error("registry: unknown subcommand '%s' (register, promote, show, list, log)",
		      argv[0]);
		return EG_EXIT_USAGE;
	}
	if (nops - 1 < subs[i].min_ops || nops - 1 > subs[i].max_ops) {
		error("registry %s: wrong number of operands", argv[0]);
		print_usage(stderr, usage, opts);
		return EG_EXIT_USAGE;
	}
	/* the config gives the promotion rules and the registry URL; it may be absent */
	have_cfg = config_load_optional(&cfg, o.common.config, common_opts_config_given(&o.common));
	if (have_cfg < 0)
		return EG_EXIT_USAGE;
	r = registry_open(o.registry ? o.registry : have_cfg ? cfg.registry : NULL);
	if (!r)
		goto out;
	if (!strcmp(argv[0], "register"))
		err = registry_register(r, argv[1], argv[2], o.meta);
	else if (!strcmp(argv[0], "promote"))
		err = promote(&o, r, have_cfg ? &cfg : NULL, argv);
	else if (!strcmp(argv[0], "show"))
		err = registry_show(r, argv[1], stdout);
	else if (!strcmp(argv[0], "list"))
		err = registry_list(r, stdout);
	else
		err = registry_log(r, nops > 1 ? argv[1] : NULL, o.limit, o.json, stdout);
	rc = eg_exit_code(err);
	registry_close(r);
out:
	if (have_cfg)
		config_release(&cfg);
	return rc;
}
