/* validate: check the config and suites without calling any model; --lock rewrites suites.lock */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "error.h"
#include "opts.h"
#include "setup.h"
#include "variants.h"
#include "banned.h"

static const char usage[] = "usage: evalgate validate [--config FILE] [--suite DIR]... [--lock]";

/* what a gate names inside the suites: a scorer label (score.X, drift) or a tag */
struct gate_ref {
	const char *scorer;       /* the label looked for, or NULL */
	const char *tag;          /* the tag looked for, or NULL */
	int found_scorer, found_tag;
};

static void ref_scorers(struct gate_ref *r, const struct scorer *sc, size_t n)
{
	size_t i;

	for (i = 0; r->scorer && i < n; i++)
		if (!strcmp(sc[i].label, r->scorer))
			r->found_scorer = 1;
}

static void ref_tags(struct gate_ref *r, char *const *tags, size_t n)
{
	size_t i;

	for (i = 0; r->tag && i < n; i++)
		if (!strcmp(tags[i], r->tag))
			r->found_tag = 1;
}

/* look for r's scorer and tag in the suite: its manifest, then its cases; -1 on error */
static int ref_in_suite(struct gate_ref *r, const struct eg_suite *su)
{
	struct case_reader cr;
	struct eg_case c;
	int rc;

	ref_scorers(r, su->scorers, su->n_scorers);
	ref_tags(r, su->tags, su->n_tags);
	if ((!r->scorer || r->found_scorer) && (!r->tag || r->found_tag))
		return 0;
	if (case_reader_open(&cr, su, NULL))
		return -1;
	while ((rc = case_reader_next(&cr, &c)) > 0) {
		ref_scorers(r, c.scorers, c.n_scorers);
		ref_tags(r, c.tags, c.n_tags);
		case_release(&c);
	}
	case_reader_close(&cr);
	return rc < 0 ? -1 : 0;
}

/*
 * A gate's scorer label and tag must exist in the suites it looks at, so a
 * typo fails here rather than at run time; -1 after reporting each gate.
 */
static int gate_refs_check(const struct setup *s)
{
	size_t i, k;
	int ret = 0;

	for (i = 0; i < s->gates.n; i++) {
		const struct eg_gate *g = &s->gates.v[i];
		struct gate_ref r = { g->scorer, g->tag, 0, 0 };

		if (!r.scorer && !r.tag)
			continue;
		for (k = 0; k < s->n_suites; k++) {
			if (g->suite && strcmp(g->suite, s->suites[k].name))
				continue;
			if (ref_in_suite(&r, &s->suites[k]))
				return -1;
		}
		if (r.scorer && !r.found_scorer)
			ret = error_at(s->cfg.path, g->line, "gates", "gate '%s': no scorer is "
				       "labelled '%s' in %s%s", g->name, r.scorer,
				       g->suite ? "suite " : "the config's suites",
				       g->suite ? g->suite : "");
		if (r.tag && !r.found_tag)
			ret = error_at(s->cfg.path, g->line, "gates", "gate '%s': no case of the "
				       "config's suites has tag '%s'", g->name, r.tag);
	}
	return ret;
}

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
	/* with --suite, the gates may look at suites not loaded: only the whole list is checked */
	if (s.have_cfg && !suites.n && gate_refs_check(&s))
		goto out_setup;
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
