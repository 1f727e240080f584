/*
 * registry: promotion rules, the local store and the sqlite backend.
 *
 * The local store is one SQLite file (WAL) with its schema versioned by
 * PRAGMA user_version, like the history: models, versions (metadata JSON),
 * aliases (one version per alias: the primary key is (name, alias)) and the
 * audit log, which triggers keep append-only.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/stat.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>

#include "error.h"
#include "jsonw.h"
#include "registry.h"
#include "registry_backend.h"
#include "sqldb.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

#define MAX_META_BYTES (64u << 10)

static const char *const migrations[] = {
	/* 1: initial schema */
	"CREATE TABLE models ("
	"  name TEXT PRIMARY KEY NOT NULL,"
	"  created_at TEXT NOT NULL"
	");"
	"CREATE TABLE versions ("
	"  name TEXT NOT NULL REFERENCES models(name),"
	"  version TEXT NOT NULL,"
	"  meta TEXT,"                         /* JSON object or NULL */
	"  created_at TEXT NOT NULL,"
	"  PRIMARY KEY (name, version)"
	") WITHOUT ROWID;"
	"CREATE TABLE aliases ("
	"  name TEXT NOT NULL REFERENCES models(name),"
	"  alias TEXT NOT NULL,"
	"  version TEXT NOT NULL,"
	"  run_id TEXT,"                       /* the evidence of the last move */
	"  set_at TEXT NOT NULL,"
	"  PRIMARY KEY (name, alias),"
	"  FOREIGN KEY (name, version) REFERENCES versions(name, version)"
	") WITHOUT ROWID;"
	"CREATE TABLE audit ("
	"  seq INTEGER PRIMARY KEY,"
	"  at TEXT NOT NULL,"
	"  who TEXT NOT NULL,"
	"  action TEXT NOT NULL,"              /* register, promote, refuse, error */
	"  name TEXT NOT NULL,"
	"  version TEXT,"
	"  alias TEXT,"
	"  previous TEXT,"                     /* the version the alias left */
	"  run_id TEXT,"                       /* evidence */
	"  rule TEXT,"                         /* the rule that refused (or was overridden) */
	"  forced INTEGER NOT NULL DEFAULT 0,"
	"  reason TEXT,"
	"  backend TEXT NOT NULL"
	");"
	"CREATE INDEX audit_name ON audit(name, seq);"
	"CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
	"  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
	"CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
	"  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
};
#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* ---------- small helpers ---------- */

static const char *who(void)
{
	const char *v = getenv("GITHUB_ACTOR");

	if (v && *v)
		return v;
	v = getenv("USER");
	return v && *v ? v : "unknown";
}

static int store_open(struct registry *r)
{
	if (sqldb_open(&r->store, "registry", r->db_path, migrations, N_MIGRATIONS))
		return -1;
	/* the audit log is evidence: every promotion is on disk before it is reported */
	return sqldb_exec(&r->store, "PRAGMA synchronous=FULL;");
}

/*
 * For the commands that only read: an existing store is opened read-only; a
 * missing one reads as an empty registry (an in-memory store), so that
 * `registry show` on a new repository creates no file.
 */
static int store_open_ro(struct registry *r)
{
	struct stat st;

	if (!stat(r->db_path, &st))
		return sqldb_open_ro(&r->store, "registry", r->db_path, N_MIGRATIONS);
	if (errno != ENOENT)
		return error("cannot open registry %s: %s", r->db_path, strerror(errno));
	return sqldb_open(&r->store, "registry", ":memory:", migrations, N_MIGRATIONS);
}

/* ---------- the local store ---------- */

int regdb_put_version(struct registry *r, const char *name, const char *version,
		      const char *meta, int *created)
{
	sqlite3_stmt *st = NULL;
	char now[32];
	int ret = -1;

	*created = 0;
	sqldb_now(now, sizeof(now));
	if (sqldb_exec(&r->store, "BEGIN IMMEDIATE"))
		return -1;
	if (sqldb_prepare(&r->store,
			  "INSERT OR IGNORE INTO models (name, created_at) VALUES (?1, ?2)", &st))
		goto out_rollback;
	sqldb_bind_text(st, 1, name);
	sqldb_bind_text(st, 2, now);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sqldb_error(&r->store, "cannot record the model");
		goto out_rollback;
	}
	sqlite3_finalize(st);
	if (sqldb_prepare(&r->store,
			  "INSERT OR IGNORE INTO versions (name, version, meta, created_at) "
			  "VALUES (?1, ?2, ?3, ?4)", &st))
		goto out_rollback;
	sqldb_bind_text(st, 1, name);
	sqldb_bind_text(st, 2, version);
	sqldb_bind_text(st, 3, meta);
	sqldb_bind_text(st, 4, now);
	if (sqldb_step_done(&r->store, st, "cannot record the version"))
		goto out_rollback;
	*created = sqlite3_changes(r->store.db) > 0;
	if (sqldb_exec(&r->store, "COMMIT"))
		goto out_rollback;
	ret = 0;
	goto out;
out_rollback:
	sqldb_rollback(&r->store);
out:
	sqlite3_finalize(st);
	return ret;
}

/*
 * Step a bound one-row query and finalize it: 0 with *text (a copy of its
 * first column, NULL when that is NULL), 1 no row, -1 after reporting what.
 */
static int one_text(struct registry *r, sqlite3_stmt *st, char **text, const char *what)
{
	int rc = sqlite3_step(st), ret = -1;

	if (rc == SQLITE_ROW) {
		if (sqldb_col_text(st, 0))
			*text = xstrdup(sqldb_col_text(st, 0));
		ret = 0;
	} else if (rc == SQLITE_DONE) {
		ret = 1;
	} else {
		sqldb_error(&r->store, what);
	}
	sqlite3_finalize(st);
	return ret;
}

int regdb_get_alias(struct registry *r, const char *name, const char *alias, char **version)
{
	sqlite3_stmt *st = NULL;

	*version = NULL;
	if (sqldb_prepare(&r->store,
			  "SELECT version FROM aliases WHERE name = ?1 AND alias = ?2", &st))
		return -1;
	sqldb_bind_text(st, 1, name);
	sqldb_bind_text(st, 2, alias);
	return one_text(r, st, version, "cannot read aliases");
}

int regdb_set_alias(struct registry *r, const char *name, const char *alias, const char *version,
		    const char *run_id, char **previous)
{
	sqlite3_stmt *st = NULL;
	char now[32];
	int rc, ret = -1;

	*previous = NULL;
	sqldb_now(now, sizeof(now));
	if (sqldb_exec(&r->store, "BEGIN IMMEDIATE"))
		return -1;
	rc = regdb_get_alias(r, name, alias, previous);
	if (rc < 0)
		goto out_rollback;
	if (sqldb_prepare(&r->store, "INSERT INTO aliases (name, alias, version, run_id, set_at) "
			  "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (name, alias) DO UPDATE SET "
			  "version = excluded.version, run_id = excluded.run_id, "
			  "set_at = excluded.set_at", &st))
		goto out_rollback;
	sqldb_bind_text(st, 1, name);
	sqldb_bind_text(st, 2, alias);
	sqldb_bind_text(st, 3, version);
	sqldb_bind_text(st, 4, run_id);
	sqldb_bind_text(st, 5, now);
	if (sqldb_step_done(&r->store, st, "cannot set the alias"))
		goto out_rollback;
	if (sqldb_exec(&r->store, "COMMIT"))
		goto out_rollback;
	ret = 0;
	goto out;
out_rollback:
	sqldb_rollback(&r->store);
	free(*previous);
	*previous = NULL;
out:
	sqlite3_finalize(st);
	return ret;
}

struct audit_entry {
	const char *action, *name, *version, *alias, *previous, *run_id, *rule, *reason;
	int forced;
};

static int audit(struct registry *r, const struct audit_entry *e)
{
	sqlite3_stmt *st = NULL;
	char now[32];
	int ret = 0;

	sqldb_now(now, sizeof(now));
	if (sqldb_prepare(&r->store,
			  "INSERT INTO audit (at, who, action, name, version, alias, previous, "
			  "run_id, rule, forced, reason, backend) "
			  "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", &st))
		return -1;
	sqldb_bind_text(st, 1, now);
	sqldb_bind_text(st, 2, who());
	sqldb_bind_text(st, 3, e->action);
	sqldb_bind_text(st, 4, e->name);
	sqldb_bind_text(st, 5, e->version);
	sqldb_bind_text(st, 6, e->alias);
	sqldb_bind_text(st, 7, e->previous);
	sqldb_bind_text(st, 8, e->run_id);
	sqldb_bind_text(st, 9, e->rule);
	sqlite3_bind_int(st, 10, e->forced);
	sqldb_bind_text(st, 11, e->reason);
	sqldb_bind_text(st, 12, r->be->name);
	if (sqlite3_step(st) != SQLITE_DONE)
		ret = sqldb_error(&r->store, "cannot append to the audit log");
	sqlite3_finalize(st);
	return ret;
}

/* ---------- the sqlite backend: the local store is the registry ---------- */

static int sqlite_open(struct registry *r, const char *rest)
{
	if (!*rest)
		return error("registry '%s': sqlite: needs a path", r->url);
	r->db_path = xstrdup(rest);
	return 0;
}

static void sqlite_close(struct registry *r)
{
}

static int sqlite_register(struct registry *r, const char *name, const char *version,
			   const char *meta, int *created)
{
	return regdb_put_version(r, name, version, meta, created) ? EG_ERR_USAGE : EG_OK;
}

static int sqlite_ensure(struct registry *r, const char *name, const char *version)
{
	int created;

	/* promoting a version evalgate has runs of registers it implicitly */
	return regdb_put_version(r, name, version, NULL, &created) ? EG_ERR_USAGE : EG_OK;
}

static int sqlite_get_alias(struct registry *r, const char *name, const char *alias,
			    char **version)
{
	int rc = regdb_get_alias(r, name, alias, version);

	return rc < 0 ? EG_ERR_USAGE : rc == 1 ? EG_ERR_NOT_FOUND : EG_OK;
}

static int sqlite_set_alias(struct registry *r, const struct promote_req *req,
			    const struct promo_check *ev, char **previous)
{
	return regdb_set_alias(r, req->name, req->alias, req->version, ev->run_id, previous)
		       ? EG_ERR_USAGE : EG_OK;
}

const struct registry_backend registry_sqlite_backend = {
	.name = "sqlite",
	.open = sqlite_open,
	.close = sqlite_close,
	.register_version = sqlite_register,
	.ensure_version = sqlite_ensure,
	.get_alias = sqlite_get_alias,
	.set_alias = sqlite_set_alias,
};

/* ---------- opening ---------- */

static struct registry *open_url(const char *url, int readonly)
{
	struct registry *r;
	const char *rest;

	if (!url)
		url = REGISTRY_DEFAULT;
	r = xcalloc(1, sizeof(*r));
	r->url = xstrdup(url);
	if (!strncmp(url, "sqlite:", 7)) {
		r->be = &registry_sqlite_backend;
		rest = url + 7;
	} else if (!strncmp(url, "mlflow+http://", 14) || !strncmp(url, "mlflow+https://", 15)) {
		r->be = &registry_mlflow_backend;
		rest = url + 7;
	} else {
		error("registry '%s': expected sqlite:PATH, mlflow+http://HOST or "
		      "mlflow+https://HOST", url);
		goto out_free;
	}
	if (r->be->open(r, rest))
		goto out_close;
	if (readonly && store_open_ro(r))
		goto out_close;
	if (!readonly && store_open(r))
		goto out_close;
	return r;
out_close:
	registry_close(r);
	return NULL;
out_free:
	free(r->url);
	free(r);
	return NULL;
}

struct registry *registry_open(const char *url)
{
	return open_url(url, 0);
}

struct registry *registry_open_ro(const char *url)
{
	return open_url(url, 1);
}

void registry_close(struct registry *r)
{
	if (!r)
		return;
	if (r->be)
		r->be->close(r);
	sqldb_close(&r->store);
	free(r->db_path);
	free(r->url);
	free(r);
}

const char *registry_kind(const struct registry *r)
{
	return r->be->name;
}

static int name_ok(const char *what, const char *s)
{
	const unsigned char *p;

	if (!*s || strlen(s) > 256)
		return error("registry: %s must be 1 to 256 characters", what);
	for (p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return error("registry: %s must not contain control characters", what);
	return 0;
}

int registry_register(struct registry *r, const char *name, const char *version,
		      const char *meta_json)
{
	struct audit_entry e = { 0 };
	char *meta = NULL;
	int created = 0, rc;

	if (name_ok("a model name", name) || name_ok("a version", version))
		return EG_ERR_USAGE;
	if (meta_json) {
		cJSON *m = cJSON_ParseWithLength(meta_json, strlen(meta_json));

		if (!m || !cJSON_IsObject(m) || strlen(meta_json) > MAX_META_BYTES) {
			cJSON_Delete(m);
			error("registry: --meta: expected a JSON object of at most %u bytes",
			      MAX_META_BYTES);
			return EG_ERR_USAGE;
		}
		meta = jsonw_print(m, 0);
		cJSON_Delete(m);
	}
	rc = r->be->register_version(r, name, version, meta, &created);
	if (rc)
		goto out;
	if (!created) {
		info("%s@%s is already registered", name, version);
		goto out;
	}
	e.action = "register";
	e.name = name;
	e.version = version;
	e.reason = meta;
	if (audit(r, &e)) {
		rc = EG_ERR_USAGE;
		goto out;
	}
	info("registered %s@%s (%s)", name, version, r->be->name);
out:
	free(meta);
	return rc;
}

/* ---------- promotion rules ---------- */

struct brief {
	char *id, *started_at, *verdict;
	enum run_status status;
	int partial;             /* took part of the config's suites or cases: never evidence */
	int waived;              /* bootstrap: failed only regression gates without a baseline */
	char *skipped;           /* those gates' names, comma-separated (when waived) */
};

struct brief_list {
	const char *version;
	struct brief *v;         /* newest first */
	size_t n, alloc;
};

/* the runs of name@version, newest first */
static int collect_runs(struct history *h, const char *name, struct brief_list *l)
{
	struct run_filter f = { .target = name, .version = l->version, .newest_first = 1 };
	struct run_iter it;
	const struct run_info *ri;
	int rc = -1;

	if (!history_runs_begin(h, &f, &it))
		while ((rc = history_runs_next(&it, &ri)) > 0) {
			struct brief *b;

			XGROW(l->v, l->n + 1, l->alloc);
			b = &l->v[l->n++];
			b->id = xstrdup(ri->id);
			b->started_at = xstrdup(ri->started_at ? ri->started_at : "");
			b->verdict = ri->verdict ? xstrdup(ri->verdict) : NULL;
			b->status = ri->status;
			b->partial = ri->partial;
			b->waived = 0;
			b->skipped = NULL;
		}
	history_runs_end(&it);
	return rc < 0 ? -1 : 0;
}

/* what a failed run's gates say to a bootstrap */
struct gate_tally {
	struct strbuf skipped;   /* regression gates that found no baseline */
	int blocked;             /* any other failed gate */
};

static int tally_gate(const struct gate_row *g, void *arg)
{
	struct gate_tally *t = arg;
	cJSON *d, *base;

	if (g->pass)
		return 0;
	d = g->detail ? cJSON_Parse(g->detail) : NULL;
	base = d ? cJSON_GetObjectItemCaseSensitive(d, "baseline") : NULL;
	if (g->metric && !strcmp(g->metric, "regression") && base && cJSON_IsNull(base)) {
		if (t->skipped.len)
			strbuf_addch(&t->skipped, ',');
		strbuf_addstr(&t->skipped, g->name && *g->name ? g->name : "regression");
	} else {
		t->blocked = 1;
	}
	cJSON_Delete(d);
	return 0;
}

/*
 * For a bootstrap: mark the finished runs that failed only regression gates
 * without a baseline as waived (a waived partial run is still no evidence,
 * but no later failure either); -1 when the gates could not be read.
 */
static int waive_unbaselined(struct history *h, struct brief_list *l)
{
	size_t i;
	int ret = 0;

	for (i = 0; i < l->n && !ret; i++) {
		struct brief *b = &l->v[i];
		struct gate_tally t = { STRBUF_INIT, 0 };

		if (!b->verdict || strcmp(b->verdict, "fail") || b->status != RUN_FINISHED)
			continue;
		if (history_gates(h, b->id, tally_gate, &t))
			ret = -1;
		else if (!t.blocked && t.skipped.len) {
			b->waived = 1;
			b->skipped = strbuf_detach(&t.skipped, NULL);
		}
		strbuf_release(&t.skipped);
	}
	return ret;
}

static void brief_list_release(struct brief_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].skipped);
		free(l->v[i].id);
		free(l->v[i].started_at);
		free(l->v[i].verdict);
	}
	free(l->v);
	l->v = NULL;
	l->n = l->alloc = 0;
}

static int brief_passed(const struct brief *b)
{
	return b->verdict && (!strcmp(b->verdict, "pass") || b->waived) &&
	       b->status == RUN_FINISHED && !b->partial;
}

static int brief_failed(const struct brief *b)
{
	return b->verdict && !strcmp(b->verdict, "fail") && !b->waived;
}

struct suite_names {
	struct strbuf list;      /* comma-separated */
};

static int collect_suite(const struct run_suite *s, void *arg)
{
	struct suite_names *sn = arg;

	if (s->n_cases <= 0)
		return 0;
	if (sn->list.len)
		strbuf_addch(&sn->list, ',');
	strbuf_addstr(&sn->list, s->name);
	return 0;
}

static int list_has(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	while (*p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if (len == n && !memcmp(p, name, n))
			return 1;
		if (!comma)
			break;
		p = comma + 1;
	}
	return 0;
}

/* seconds since the epoch of "YYYY-MM-DDTHH:MM:SS[.fff]Z"; -1 when unreadable */
static time_t parse_iso(const char *s)
{
	struct tm tm;
	int y, mo, d, h, mi, sec, n = 0;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || !n)
		return (time_t)-1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return (time_t)-1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	return timegm(&tm);
}

/*
 * Check one passing candidate (index i of l, newest first): suites, age,
 * later failures. Fills out (refusal or evidence); returns 1 when allowed.
 */
static int check_candidate(struct history *h, const char *name, const char *version,
			   const struct brief_list *l, size_t i, const struct eg_promotion *rule,
			   time_t now, struct promo_check *out)
{
	const struct brief *b = &l->v[i];
	struct suite_names sn = { STRBUF_INIT };
	struct strbuf missing = STRBUF_INIT;
	size_t k;
	int ok = 0;

	out->run_id = xstrdup(b->id);
	out->verdict = b->verdict ? xstrdup(b->verdict) : NULL;
	out->skipped = b->skipped ? xstrdup(b->skipped) : NULL;
	if (history_run_suites(h, b->id, collect_suite, &sn)) {
		ok = -1;
		goto out;
	}
	out->suites = xstrdup(sn.list.buf);
	for (k = 0; rule && k < rule->n_require_suites; k++)
		if (!list_has(sn.list.buf, rule->require_suites[k])) {
			if (missing.len)
				strbuf_addstr(&missing, ", ");
			strbuf_addstr(&missing, rule->require_suites[k]);
		}
	if (missing.len) {
		out->rule = "suites";
		strbuf_addf(&out->reason, "run %s did not cover the suite%s %s that alias '%s' "
			    "requires (it ran: %s)", b->id, strchr(missing.buf, ',') ? "s" : "",
			    missing.buf, rule->alias, sn.list.len ? sn.list.buf : "none");
		goto out;
	}
	if (rule && rule->max_age_days >= 0) {
		time_t t = parse_iso(b->started_at);
		double age = t == (time_t)-1 ? INFINITY : difftime(now, t) / 86400.0;

		if (age > rule->max_age_days) {
			out->rule = "max_age_days";
			strbuf_addf(&out->reason, "run %s started %s, %.1f days ago, over "
				    "max_age_days %g of alias '%s'", b->id, b->started_at, age,
				    rule->max_age_days, rule->alias);
			goto out;
		}
	}
	for (k = i; k-- > 0;)
		if (brief_failed(&l->v[k])) {
			out->rule = "later_failure";
			strbuf_addf(&out->reason, "run %s of %s@%s failed after run %s passed",
				    l->v[k].id, name, version, b->id);
			goto out;
		}
	out->rule = NULL;
	if (b->waived)
		strbuf_addf(&out->reason, "run %s of %s@%s passed every gate but the regression "
			    "gate%s %s, left out: no baseline before the first promotion", b->id,
			    name, version, strchr(b->skipped, ',') ? "s" : "", b->skipped);
	else
		strbuf_addf(&out->reason, "run %s of %s@%s passed every gate", b->id, name,
			    version);
	if (rule && rule->n_require_suites)
		strbuf_addf(&out->reason, ", covered %s", sn.list.buf);
	ok = 1;
out:
	strbuf_release(&sn.list);
	strbuf_release(&missing);
	return ok;
}

static int check_named_run(struct history *h, const char *name, const char *version,
			   const struct brief_list *l, const struct eg_promotion *rule,
			   const char *run_id, time_t now, struct promo_check *out)
{
	struct run_info ri;
	size_t i;
	int rc;

	rc = history_run_resolve(h, run_id, &ri, NULL);
	if (rc < 0)
		return -1;
	if (rc) {
		out->rule = "evidence";
		strbuf_addf(&out->reason, "run '%s' is not in the history", run_id);
		return 0;
	}
	out->run_id = xstrdup(ri.id);
	out->verdict = ri.verdict ? xstrdup(ri.verdict) : NULL;
	if (!ri.target || strcmp(ri.target, name) || !ri.version || strcmp(ri.version, version)) {
		out->rule = "evidence";
		strbuf_addf(&out->reason, "run %s is of %s@%s, not %s@%s", ri.id,
			    ri.target ? ri.target : "?", ri.version ? ri.version : "?", name,
			    version);
		run_info_release(&ri);
		return 0;
	}
	run_info_release(&ri);
	for (i = 0; i < l->n && strcmp(l->v[i].id, out->run_id); i++)
		;
	if (i == l->n) {
		out->rule = "evidence";
		strbuf_addf(&out->reason, "run %s is not among the runs of %s@%s", out->run_id,
			    name, version);
		return 0;
	}
	if (l->v[i].partial) {
		out->rule = "evidence";
		strbuf_addf(&out->reason, "run %s is partial (--suite, --filter-*, --limit or "
			    "--shard): only a run over the whole config is evidence", l->v[i].id);
		return 0;
	}
	if (!brief_passed(&l->v[i])) {
		out->rule = "gates";
		strbuf_addf(&out->reason, "run %s did not pass every gate (verdict %s, status %s)",
			    l->v[i].id, l->v[i].verdict ? l->v[i].verdict : "none",
			    run_status_name(l->v[i].status));
		return 0;
	}
	/* the candidate check fills the evidence fields itself */
	free(out->run_id);
	free(out->verdict);
	out->run_id = out->verdict = NULL;
	rc = check_candidate(h, name, version, l, i, rule, now, out);
	if (rc > 0)
		out->allowed = 1;
	return rc < 0 ? -1 : 0;
}

static void promo_check_init(struct promo_check *c)
{
	memset(c, 0, sizeof(*c));
	strbuf_init(&c->reason, 0);
}

/* registry_check; with bootstrap, runs failed only by baseline-less regression gates count */
static int check_runs(struct history *h, const char *name, const char *version,
		      const struct eg_promotion *rule, const char *run_id, time_t now,
		      int bootstrap, struct promo_check *out)
{
	struct brief_list l = { version, NULL, 0, 0 };
	int have = 0, ret = -1;
	size_t i;

	promo_check_init(out);
	if (!now)
		now = time(NULL);
	if (collect_runs(h, name, &l))
		goto out;
	if (bootstrap && waive_unbaselined(h, &l))
		goto out;
	if (run_id) {
		ret = check_named_run(h, name, version, &l, rule, run_id, now, out);
		goto out;
	}
	if (!l.n) {
		out->rule = "evidence";
		strbuf_addf(&out->reason, "no stored run of %s@%s", name, version);
		ret = 0;
		goto out;
	}
	/* any passing run for which every rule holds will do; else the newest one's refusal */
	for (i = 0; i < l.n; i++) {
		struct promo_check cur;
		int rc, stale;

		if (!brief_passed(&l.v[i]))
			continue;
		promo_check_init(&cur);
		rc = check_candidate(h, name, version, &l, i, rule, now, &cur);
		if (rc < 0) {
			promo_check_release(&cur);
			goto out;
		}
		stale = cur.rule && !strcmp(cur.rule, "max_age_days");
		if (rc > 0 || !have) {
			promo_check_release(out);
			*out = cur;
			have = 1;
		} else {
			promo_check_release(&cur);
		}
		if (rc > 0) {
			out->allowed = 1;
			break;
		}
		if (stale)
			break;  /* every older run is older still */
	}
	if (!have) {
		out->rule = "gates";
		out->run_id = xstrdup(l.v[0].id);
		out->verdict = l.v[0].verdict ? xstrdup(l.v[0].verdict) : NULL;
		strbuf_addf(&out->reason, "no run of %s@%s passed every gate%s (newest: "
			    "run %s, verdict %s)", name, version,
			    bootstrap ? " but regression gates without a baseline" : "", l.v[0].id,
			    l.v[0].verdict ? l.v[0].verdict : "none");
	}
	ret = 0;
out:
	brief_list_release(&l);
	return ret;
}

int registry_check(struct history *h, const char *name, const char *version,
		   const struct eg_promotion *rule, const char *run_id, time_t now,
		   struct promo_check *out)
{
	return check_runs(h, name, version, rule, run_id, now, 0, out);
}

void promo_check_release(struct promo_check *c)
{
	free(c->run_id);
	free(c->verdict);
	free(c->suites);
	free(c->skipped);
	strbuf_release(&c->reason);
	c->run_id = c->verdict = c->suites = c->skipped = NULL;
	c->rule = NULL;
	c->allowed = 0;
}

/* ---------- promotion ---------- */

/*
 * The audit's run_id of the newest entry of action for name's alias (at
 * version, when not NULL): 0 with *run_id (may stay NULL: no run recorded),
 * 1 none, -1 after reporting.
 */
static int audit_find(struct registry *r, const char *action, const char *name,
		      const char *alias, const char *version, char **run_id)
{
	sqlite3_stmt *st = NULL;

	*run_id = NULL;
	if (sqldb_prepare(&r->store,
			  "SELECT run_id FROM audit WHERE action = ?1 AND name = ?2 AND alias = ?3 "
			  "AND (?4 IS NULL OR version = ?4) ORDER BY seq DESC LIMIT 1", &st))
		return -1;
	sqldb_bind_text(st, 1, action);
	sqldb_bind_text(st, 2, name);
	sqldb_bind_text(st, 3, alias);
	sqldb_bind_text(st, 4, version);
	return one_text(r, st, run_id, "cannot read the audit log");
}

/*
 * Whether the alias has ever pointed anywhere (it does now, or the audit log
 * has a promotion or bootstrap to it): EG_OK with *said set to a sentence
 * when it has (empty when not), or an error code.
 */
static int alias_history(struct registry *r, const char *name, const char *alias,
			 struct strbuf *said)
{
	static const char *const moves[] = { "promote", "bootstrap" };
	char *holder = NULL, *run = NULL;
	size_t i;
	int rc, ret;

	ret = r->be->get_alias(r, name, alias, &holder);
	if (ret == EG_OK)
		strbuf_addf(said, "alias '%s' of %s already points at %s", alias, name, holder);
	if (ret != EG_ERR_NOT_FOUND)
		goto out;
	ret = EG_OK;
	for (i = 0; i < sizeof(moves) / sizeof(moves[0]) && !said->len; i++) {
		rc = audit_find(r, moves[i], name, alias, NULL, &run);
		free(run);
		if (rc < 0) {
			ret = EG_ERR_USAGE;
			break;
		}
		if (!rc)
			strbuf_addf(said, "alias '%s' of %s was set before (the audit log has a "
				    "%s to it)", alias, name, moves[i]);
	}
out:
	free(holder);
	return ret;
}

int registry_promote(struct registry *r, struct history *h, const struct promote_req *req)
{
	struct promo_check ev;
	struct audit_entry e = { 0 };
	struct strbuf was = STRBUF_INIT;
	char *previous = NULL;
	int rc;

	if (name_ok("a model name", req->name) || name_ok("a version", req->version))
		return EG_ERR_USAGE;
	if (!promotion_alias_ok(req->alias)) {
		error("registry: '%s' is not an alias name (letters, digits, _ and -; "
		      "not 'latest' nor v<digits>)", req->alias);
		return EG_ERR_USAGE;
	}
	if (req->force && (!req->reason || !*req->reason)) {
		error("registry: --force needs --reason TEXT (it is written to the audit log)");
		return EG_ERR_USAGE;
	}
	if (req->force && req->bootstrap) {
		error("registry: --bootstrap and --force do not go together");
		return EG_ERR_USAGE;
	}
	if (req->bootstrap && (rc = alias_history(r, req->name, req->alias, &was)))
		goto out_was;
	if (was.len) {
		/* a bootstrap is for an alias that never pointed anywhere */
		promo_check_init(&ev);
		ev.rule = "bootstrap";
		strbuf_addf(&ev.reason, "%s: --bootstrap is only for the first promotion; promote "
			    "on evidence against its baseline, or --force --reason", was.buf);
	} else if (check_runs(h, req->name, req->version, req->rule, req->run_id, req->now,
			      req->bootstrap, &ev)) {
		rc = EG_ERR_USAGE;
		goto out_was;
	}
	e.name = req->name;
	e.version = req->version;
	e.alias = req->alias;
	e.run_id = ev.run_id;
	e.rule = ev.rule;
	if (!ev.allowed && !req->force) {
		e.action = "refuse";
		e.reason = ev.reason.buf;
		rc = audit(r, &e) ? EG_ERR_USAGE : EG_ERR_REFUSED;
		error("promotion of %s@%s to '%s' refused by rule '%s': %s", req->name,
		      req->version, req->alias, ev.rule, ev.reason.buf);
		goto out;
	}
	if (!ev.allowed)
		warning("rule '%s' would refuse: %s; promoting anyway (--force: %s)", ev.rule,
			ev.reason.buf, req->reason);
	rc = r->be->ensure_version(r, req->name, req->version);
	if (!rc)
		rc = r->be->set_alias(r, req, &ev, &previous);
	if (rc) {
		e.action = "error";
		e.reason = "the registry backend failed; see the error output of this command";
		audit(r, &e);
		goto out;
	}
	e.action = req->bootstrap ? "bootstrap" : "promote";
	e.previous = previous;
	e.forced = req->force && !ev.allowed;
	e.reason = e.forced ? req->reason : (req->reason ? req->reason : ev.reason.buf);
	if (audit(r, &e)) {
		rc = EG_ERR_USAGE;
		goto out;
	}
	if (eg_verbosity >= 0) {
		printf("%s %s@%s to '%s'", req->bootstrap ? "bootstrapped" : "promoted", req->name,
		       req->version, req->alias);
		if (previous && strcmp(previous, req->version))
			printf(" (moved from %s)", previous);
		if (ev.run_id)
			printf(" on evidence of run %s", ev.run_id);
		if (ev.skipped)
			printf(" (left out, no baseline yet: %s)", ev.skipped);
		if (e.forced)
			printf(" (forced)");
		putchar('\n');
	}
out:
	free(previous);
	promo_check_release(&ev);
out_was:
	strbuf_release(&was);
	return rc;
}

int registry_alias_version(struct registry *r, const char *name, const char *alias,
			   char **version)
{
	*version = NULL;
	return r->be->get_alias(r, name, alias, version);
}

/* ---------- listings ---------- */

int registry_show(struct registry *r, const char *name, FILE *out)
{
	sqlite3_stmt *st = NULL;
	int rc, n = 0, ret = EG_ERR_USAGE;

	if (sqldb_prepare(&r->store,
			  "SELECT version, created_at, meta FROM versions WHERE name = ?1 "
			  "ORDER BY created_at, version", &st))
		return EG_ERR_USAGE;
	sqldb_bind_text(st, 1, name);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *meta = sqldb_col_text(st, 2);

		if (!n++)
			fprintf(out, "model %s (%s registry)\nversions\n", name, r->be->name);
		fprintf(out, "  %-16s registered %s%s%s\n", sqldb_col_text(st, 0),
			sqldb_col_text(st, 1), meta ? "  " : "", meta ? meta : "");
	}
	if (rc != SQLITE_DONE) {
		sqldb_error(&r->store, "cannot read versions");
		goto out;
	}
	sqlite3_finalize(st);
	if (sqldb_prepare(&r->store,
			  "SELECT alias, version, run_id, set_at FROM aliases WHERE name = ?1 "
			  "ORDER BY alias", &st))
		goto out;
	sqldb_bind_text(st, 1, name);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char *version = NULL;
		const char *alias = sqldb_col_text(st, 0);
		int grc;

		n++;
		if (!strcmp(r->be->name, "sqlite")) {
			version = xstrdup(sqldb_col_text(st, 1));
		} else {
			/* the remote registry is the authority on where an alias points */
			grc = r->be->get_alias(r, name, alias, &version);
			if (grc && grc != EG_ERR_NOT_FOUND) {
				ret = grc;
				goto out;
			}
		}
		fprintf(out, "  alias %-16s -> %s  (set %s, evidence run %s)\n", alias,
			version ? version : "(unset)", sqldb_col_text(st, 3),
			sqldb_col_text(st, 2) ? sqldb_col_text(st, 2) : "none");
		free(version);
	}
	if (rc != SQLITE_DONE) {
		sqldb_error(&r->store, "cannot read aliases");
		goto out;
	}
	if (!n && strcmp(r->be->name, "sqlite")) {
		char *version = NULL;

		/* nothing kept here: a remote registry that cannot be asked is no answer */
		ret = r->be->get_alias(r, name, "production", &version);
		free(version);
		if (ret && ret != EG_ERR_NOT_FOUND)
			goto out;
	}
	if (!n) {
		error("registry %s: no model '%s'", r->db_path, name);
		ret = EG_ERR_NOT_FOUND;
		goto out;
	}
	ret = EG_OK;
out:
	sqlite3_finalize(st);
	return ret;
}

int registry_list(struct registry *r, FILE *out)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = EG_ERR_USAGE;

	if (sqldb_prepare(&r->store,
			  "SELECT m.name, (SELECT count(*) FROM versions v WHERE v.name = m.name), "
			  "(SELECT group_concat(alias || '=' || version, ' ') FROM "
			  "(SELECT alias, version FROM aliases a WHERE a.name = m.name "
			  "ORDER BY alias)) "
			  "FROM models m ORDER BY m.name", &st))
		return EG_ERR_USAGE;
	fprintf(out, "%-32s %8s  %s\n", "model", "versions", "aliases");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fprintf(out, "%-32s %8d  %s\n", sqldb_col_text(st, 0), sqlite3_column_int(st, 1),
			sqldb_col_text(st, 2) ? sqldb_col_text(st, 2) : "-");
	if (rc != SQLITE_DONE) {
		sqldb_error(&r->store, "cannot list models");
		goto out;
	}
	ret = EG_OK;
out:
	sqlite3_finalize(st);
	return ret;
}

int registry_log(struct registry *r, const char *name, long limit, int json, FILE *out)
{
	static const char *const cols[] = { "seq", "at", "who", "action", "name", "version",
					    "alias", "previous", "run_id", "rule", "forced",
					    "reason", "backend" };
	struct strbuf sb = STRBUF_INIT;
	struct jsonw w;
	sqlite3_stmt *st = NULL;
	int rc, ret = EG_ERR_USAGE;

	if (sqldb_prepare(&r->store,
			  "SELECT seq, at, who, action, name, version, alias, previous, run_id, "
			  "rule, forced, reason, backend FROM (SELECT * FROM audit "
			  "WHERE ?1 IS NULL OR name = ?1 ORDER BY seq DESC LIMIT ?2) ORDER BY seq",
			  &st))
		return EG_ERR_USAGE;
	sqldb_bind_text(st, 1, name);
	sqlite3_bind_int64(st, 2, limit > 0 ? limit : -1);
	/* the JSON array is written as it goes, an entry at a time */
	jsonw_init(&w, &sb, 0);
	if (json)
		jsonw_array_begin(&w);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		size_t i;

		if (json) {
			jsonw_object_begin(&w);
			for (i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
				if (i == 0 || i == 10)
					jsonw_member_int(&w, cols[i],
							 (long long)sqlite3_column_int64(st, (int)i));
				else
					jsonw_member_str(&w, cols[i], sqldb_col_text(st, (int)i));
			jsonw_object_end(&w);
			fputs(sb.buf, out);
			strbuf_reset(&sb);
			continue;
		}
		fprintf(out, "%s  %-10s %-8s %s@%s", sqldb_col_text(st, 1), sqldb_col_text(st, 2),
			sqldb_col_text(st, 3), sqldb_col_text(st, 4),
			sqldb_col_text(st, 5) ? sqldb_col_text(st, 5) : "-");
		if (sqldb_col_text(st, 6))
			fprintf(out, " alias %s", sqldb_col_text(st, 6));
		if (sqldb_col_text(st, 7))
			fprintf(out, " (was %s)", sqldb_col_text(st, 7));
		if (sqldb_col_text(st, 8))
			fprintf(out, " run %s", sqldb_col_text(st, 8));
		if (sqlite3_column_int(st, 10))
			fprintf(out, " FORCED");
		if (sqldb_col_text(st, 9))
			fprintf(out, " rule %s", sqldb_col_text(st, 9));
		if (sqldb_col_text(st, 11))
			fprintf(out, ": %s", sqldb_col_text(st, 11));
		fputc('\n', out);
	}
	if (json) {
		jsonw_array_end(&w);
		fprintf(out, "%s\n", sb.buf);
	}
	if (rc != SQLITE_DONE) {
		sqldb_error(&r->store, "cannot read the audit log");
		goto out;
	}
	ret = EG_OK;
out:
	strbuf_release(&sb);
	sqlite3_finalize(st);
	return ret;
}

/* ---------- for run and the baseline resolver ---------- */

/*
 * An alias bootstrapped to version, whose version has no passing run yet: its
 * baseline is the bootstrap's evidence run, when h holds it as a finished,
 * complete run of target@version. 0 with *run_id, 1 none, -1 after reporting.
 */
static int bootstrap_evidence(struct registry *r, struct history *h, const char *target,
			      const char *alias, const char *version, char **run_id)
{
	struct run_info ri;
	char *id = NULL;
	int rc, ret = 1;

	rc = audit_find(r, "bootstrap", target, alias, version, &id);
	if (rc || !id)
		goto out;
	rc = history_run_resolve(h, id, &ri, NULL);
	if (rc < 0) {
		ret = -1;
		goto out;
	}
	if (rc)
		goto out;
	if (!strcmp(ri.id, id) && ri.status == RUN_FINISHED && !ri.partial && ri.target &&
	    !strcmp(ri.target, target) && ri.version && !strcmp(ri.version, version)) {
		*run_id = ri.id;
		ri.id = NULL;
		ret = 0;
	}
	run_info_release(&ri);
out:
	free(id);
	return rc < 0 ? -1 : ret;
}

int registry_resolve_alias(const char *url, const char *target, struct history *h,
			   const char *alias, char **run_id, struct strbuf *why)
{
	struct registry *r;
	struct run_filter f = { .target = target, .status = "finished", .verdict = "pass",
				.newest_first = 1, .complete = 1 };
	struct run_info ri;
	char *version = NULL;
	int rc, ret = -1;

	*run_id = NULL;
	r = registry_open_ro(url);
	if (!r)
		return -1;
	rc = registry_alias_version(r, target, alias, &version);
	if (rc == EG_ERR_NOT_FOUND) {
		strbuf_addf(why, "baseline 'alias:%s': the alias '%s' of %s is not set in the %s "
			    "registry", alias, alias, target, r->be->name);
		ret = 1;
	}
	if (rc)
		goto out;
	f.version = version;
	rc = history_run_first(h, &f, &ri);
	if (rc < 0)
		goto out;
	if (rc) {
		rc = bootstrap_evidence(r, h, target, alias, version, run_id);
		if (rc <= 0) {
			ret = rc;
			goto out;
		}
		strbuf_addf(why, "baseline 'alias:%s': %s@%s holds the alias but has no passing "
			    "run in the history", alias, target, version);
		ret = 1;
		goto out;
	}
	*run_id = ri.id;
	ri.id = NULL;
	run_info_release(&ri);
	ret = 0;
out:
	free(version);
	registry_close(r);
	return ret;
}

int registry_run_promote(const struct eg_config *cfg, const char *history_path,
			 const char *run_id, const char *alias)
{
	struct promote_req req = { 0 };
	struct registry *r;
	struct history *h;
	int rc = EG_ERR_USAGE;

	h = history_open_ro(history_path);
	if (!h)
		return EG_ERR_USAGE;
	r = registry_open(cfg->registry);
	if (!r)
		goto out_history;
	req.name = cfg->target.name;
	req.version = cfg->target.version;
	req.alias = alias;
	req.run_id = run_id;
	req.rule = config_promotion(cfg, alias);
	rc = registry_promote(r, h, &req);
	registry_close(r);
out_history:
	history_close(h);
	return rc;
}
