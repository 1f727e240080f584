/*
 * registry_backend: the interface a registry backend implements, and the
 * local store (SQLite) every backend keeps its records and audit log in.
 * Internal to runner/registry*.c.
 *
 * A backend is a struct of function pointers (one static instance per
 * backend); its state hangs off struct registry's ctx. Functions documented
 * as returning an error code return EG_OK or an enum eg_err (error.h) after
 * printing the reason.
 *
 * Ownership: char ** outputs are malloc'd and belong to the caller.
 */
#ifndef EG_REGISTRY_BACKEND_H
#define EG_REGISTRY_BACKEND_H

#include "sqldb.h"

#include "registry.h"

struct registry;

struct registry_backend {
	const char *name;        /* "sqlite", "mlflow" */
	/* parse the URL after the scheme, set up ctx and r->db_path; -1 after reporting */
	int (*open)(struct registry *r, const char *rest);
	void (*close)(struct registry *r);
	/* make name@version known (meta: JSON text or NULL); *created: it was new; error code */
	int (*register_version)(struct registry *r, const char *name, const char *version,
				const char *meta, int *created);
	/* before a promotion: the version must exist (or be created); error code */
	int (*ensure_version)(struct registry *r, const char *name, const char *version);
	/* EG_OK with *version, EG_ERR_NOT_FOUND unset (not reported), or another error code */
	int (*get_alias)(struct registry *r, const char *name, const char *alias, char **version);
	/* move the alias, recording the evidence; *previous: the old holder or NULL; error code */
	int (*set_alias)(struct registry *r, const struct promote_req *req,
			 const struct promo_check *ev, char **previous);
};

struct registry {
	const struct registry_backend *be;
	char *url;               /* as given */
	char *db_path;           /* the local store's file, as the backend's URL gives it */
	struct sqldb store;      /* the local store */
	void *ctx;               /* backend state */
};

extern const struct registry_backend registry_sqlite_backend;
extern const struct registry_backend registry_mlflow_backend;

/* --- the local store (registry.c) --- */

/* record name@version (idempotent); *created set when it was new; -1 after reporting */
int regdb_put_version(struct registry *r, const char *name, const char *version,
		      const char *meta, int *created);
/* a lookup (history.h): 0 with *version, 1 unset, -1 after reporting */
int regdb_get_alias(struct registry *r, const char *name, const char *alias, char **version);
/* point alias at version, *previous gets the old holder; -1 after reporting */
int regdb_set_alias(struct registry *r, const char *name, const char *alias, const char *version,
		    const char *run_id, char **previous);

#endif
