/*
 * registry: model versions, aliases and evidence-based promotion (SPEC 9).
 *
 * A registry is a backend behind one interface (struct registry_backend):
 *   sqlite:PATH                 embedded, the default (.evalgate/registry.db)
 *   mlflow+http(s)://HOST[:PORT] the MLflow Model Registry REST API
 * Both keep the append-only audit log (and a record of versions and
 * aliases) in a local SQLite file; for MLflow that file is
 * .evalgate/registry-mlflow.db unless "?db=PATH" ends the URL.
 *
 * Promotion rules are evaluated locally against the run history before the
 * backend is touched: a refused promotion sends nothing to MLflow.
 *
 * Return values: functions documented as returning an error code return
 * EG_OK or, after printing the reason, a negative enum eg_err (error.h):
 * EG_ERR_REFUSED when a promotion rule refused, EG_ERR_USAGE for a bad
 * argument or a local store error, EG_ERR_NOT_FOUND for what is not
 * there, EG_ERR_INFRA when the remote registry could not be used. The
 * commands map them to exit codes with eg_exit_code().
 * Lookups follow history.h: 0 found, 1 not found, and -1 on error; those
 * that return an error code say not found with EG_ERR_NOT_FOUND instead.
 *
 * Ownership: registry_open returns a handle freed by registry_close; strings
 * passed in are borrowed; char ** outputs and struct promo_check contents
 * belong to the caller (free / promo_check_release).
 */
#ifndef EG_REGISTRY_H
#define EG_REGISTRY_H

#include <stdio.h>
#include <time.h>

#include "config.h"
#include "history.h"
#include "strbuf.h"

#define REGISTRY_DEFAULT CONFIG_REGISTRY_DEFAULT

struct registry;

/* what a promotion rule check found */
struct promo_check {
	int allowed;             /* every rule held */
	const char *rule;        /* the refusing rule (static string), NULL when allowed */
	char *run_id;            /* the evidence run (or the run that refused), or NULL */
	char *verdict;           /* that run's verdict, or NULL */
	char *suites;            /* that run's suites, comma-separated, or NULL */
	char *skipped;           /* bootstrap: the regression gates of that run left out for
				    want of a baseline, comma-separated, or NULL */
	struct strbuf reason;    /* one line for people: why it was refused or allowed */
};
void promo_check_release(struct promo_check *c);

/*
 * Check the promotion rules of SPEC 9 for name@version against the history:
 * a stored run of name@version (run_id, or any when NULL) passed every gate,
 * covered rule's require_suites, is not older than rule's max_age_days at
 * now, and no later run of that version failed. rule may be NULL (no suite
 * or age requirement). Rule names: "evidence", "gates", "suites",
 * "max_age_days", "later_failure". Returns 0 (see out->allowed) or -1 when
 * the history could not be read.
 */
int registry_check(struct history *h, const char *name, const char *version,
		   const struct eg_promotion *rule, const char *run_id, time_t now,
		   struct promo_check *out);

/* open by URL (NULL: REGISTRY_DEFAULT); NULL after reporting a bad URL or store */
struct registry *registry_open(const char *url);
/* the same for reading only: never creates a file; a missing sqlite store is empty */
struct registry *registry_open_ro(const char *url);
void registry_close(struct registry *r);
/* the backend's scheme name: "sqlite" or "mlflow" */
const char *registry_kind(const struct registry *r);

/* register name@version with optional metadata (a JSON object); returns an error code */
int registry_register(struct registry *r, const char *name, const char *version,
		      const char *meta_json);

struct promote_req {
	const char *name, *version, *alias;
	const char *run_id;      /* evidence run, or NULL: the best stored one */
	const struct eg_promotion *rule; /* or NULL */
	int force;               /* promote even when a rule refuses */
	int bootstrap;           /* the first promotion to an alias that never pointed
				    anywhere: a regression gate that failed only because it
				    had no baseline does not count against the evidence run */
	const char *reason;      /* required with force */
	time_t now;              /* 0: the current time */
};
/*
 * Check the rules, then point alias at version (moving it from any other
 * version). Refusals, forced and plain promotions are all audited. Returns
 * an error code; EG_ERR_REFUSED when refused (the refusing rule is printed).
 * With req->bootstrap the alias must never have pointed anywhere (else rule
 * "bootstrap" refuses) and the evidence run may have failed only regression
 * gates that found no baseline; the audit action is "bootstrap" and its
 * reason names the gates left out.
 */
int registry_promote(struct registry *r, struct history *h, const struct promote_req *req);

/*
 * The version holding alias for name: EG_OK with *version malloc'd,
 * EG_ERR_NOT_FOUND (not reported) when the alias is not set, or another
 * error code after reporting.
 */
int registry_alias_version(struct registry *r, const char *name, const char *alias,
			   char **version);

/* listings for `registry show|list|log`, printed to out; return an error code */
int registry_show(struct registry *r, const char *name, FILE *out);
int registry_list(struct registry *r, FILE *out);
/* audit entries oldest first; name may be NULL (all models); limit 0: all */
int registry_log(struct registry *r, const char *name, long limit, int json, FILE *out);

/*
 * Baseline resolver for `alias:NAME` references: the latest passing run (in
 * h) of target at the version that holds alias in the registry at url (NULL:
 * REGISTRY_DEFAULT); when that version has none and the alias was
 * bootstrapped to it, the bootstrap's evidence run (when it is in h). 0 with *run_id malloc'd; 1 when there is none (alias
 * unset, no passing run: why says which); -1 after reporting a store error.
 */
int registry_resolve_alias(const char *url, const char *target, struct history *h,
			   const char *alias, char **run_id, struct strbuf *why);

/*
 * `run --promote ALIAS`: promote cfg's target with run_id as evidence, using
 * the history file at history_path; returns an error code.
 */
int registry_run_promote(const struct eg_config *cfg, const char *history_path,
			 const char *run_id, const char *alias);

#endif
