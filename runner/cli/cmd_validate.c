/* validate: check the config and suites without calling any model; --lock rewrites suites.lock */
#include <stdio.h>

#include "commands.h"
#include "error.h"
#include "opts.h"
#include "setup.h"
#include "variants.h"
#include "banned.h"

static const char usage[] = "usage: evalgate validate [--config FILE] [--suite DIR]... [--lock]";

int cmd_validate(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct opt_list suites = { 0 };
	struct setup s;
	struct setup_args sa = { 0 };
	int lock = 0, rc = EG_EXIT_USAGE, nops;
	size_t i, cases = 0;
	const struct option opts[] = {
		OPT_LIST_(0, "suite", &suites, "DIR", "a suite directory (repeatable; default: the config's list)"),
		OPT_FLAG_(0, "lock", &lock, "write suites/suites.lock from the suites as they are now"),
		OPT_END_(),
	};

	nops = cmd_start(ctx, argc, argv, opts, usage);
	if (nops < 0) {
		rc = ctx->rc;
		goto out;
	}
	if (nops > 0) {
		error("validate takes no operands ('%s'); use --suite DIR", argv[0]);
		goto out;
	}
	sa.common = &ctx->common;
	sa.suite_dirs = &suites;
	sa.config_optional = 1;
	if (setup_load(&s, &sa) || (s.have_cfg && variants_validate(&s.cfg, &sa)))
		goto out_setup;
	if (lock) {
		if (lock_write(s.lock_path, s.suites, s.n_suites))
			goto out_setup;
	} else if (lock_check(s.lock_path, s.suites, s.n_suites)) {
		goto out_setup;
	}
	for (i = 0; i < s.n_suites; i++) {
		cases += s.suites[i].n_cases;
		info("%s@%s (%s): %zu cases, sha256 %.12s", s.suites[i].name, s.suites[i].version,
		     suite_kind_name(s.suites[i].kind), s.suites[i].n_cases, s.suites[i].hash);
	}
	if (lock)
		info("wrote %s", s.lock_path);
	if (s.have_cfg && s.cfg.gateway.unresolved)
		warning("%s; run needs it", s.cfg.gateway.unresolved);
	info("ok: %s%zu suite%s, %zu cases", s.have_cfg ? "config, " : "", s.n_suites, s.n_suites == 1 ? "" : "s", cases);
	rc = 0;
out_setup:
	setup_release(&s);
out:
	opt_list_release(&suites);
	return rc;
}
