/*
 * history_attacks: what the reports need of adversarial runs: the tags
 * (mutation:NAME, owasp:LLMnn) their cases carry, to count attack success
 * per mutation and per tag (SPEC 14).
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "history_impl.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int history_run_tags(struct history *h, const char *run_id, const char *kind,
		     const char *prefix, int (*fn)(const char *tag, void *arg), void *arg)
{
	sqlite3_stmt *st = NULL;
	char **tags = NULL;
	size_t n = 0, alloc = 0, i, plen = strlen(prefix);
	int rc, ret = -1;

	if (sqldb_prepare(&h->db, "SELECT DISTINCT r.tags FROM results r "
			  "JOIN run_suites s ON s.run_id = r.run_id AND s.name = r.suite "
			  "WHERE r.run_id = ?1 AND r.tags IS NOT NULL "
			  "AND (?2 IS NULL OR s.kind = ?2)", &st))
		return -1;
	sqldb_bind_text(st, 1, run_id);
	sqldb_bind_text(st, 2, kind);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *p = sqldb_col_text(st, 0);

		while (p && *p) {
			const char *end = strchr(p, ',');
			size_t len = end ? (size_t)(end - p) : strlen(p);

			if (len >= plen && !strncmp(p, prefix, plen)) {
				XGROW(tags, n + 1, alloc);
				tags[n++] = xstrndup(p, len);
			}
			p = end ? end + 1 : NULL;
		}
	}
	if (rc != SQLITE_DONE) {
		sqldb_error(&h->db, "cannot read the tags of the run");
		goto out;
	}
	if (n)
		qsort(tags, n, sizeof(*tags), str_cmp);
	ret = 0;
	for (i = 0; i < n; i++)
		if ((!i || strcmp(tags[i], tags[i - 1])) && fn(tags[i], arg))
			break;
out:
	for (i = 0; i < n; i++)
		free(tags[i]);
	free(tags);
	sqlite3_finalize(st);
	return ret;
}
