/*
 * export: one stored run as a self-contained JSON document, and back.
 *
 * The document ("format": "evalgate-run", "schema_version": 1) holds every
 * column of the run's rows in runs, run_suites, results, scores and gates,
 * read from the tables themselves, so columns that later migrations add
 * travel without a change here. Values: NULL is null, INTEGER a JSON
 * integer, REAL a JSON number written with a fraction or an exponent (the
 * shortest text that reads back exactly, jsonw's rule; 2 is 2.0),
 * +-infinity {"real": "inf"} / {"real": "-inf"},
 * TEXT and BLOB a JSON string when their bytes are valid UTF-8 (NUL included,
 * as \u0000) and {"base64": "..."} otherwise. On import a string or a
 * base64 value goes into a column declared BLOB as a BLOB and elsewhere as
 * TEXT, which is how evalgate stores them, so the stored bytes and types come
 * back exactly.
 *
 * Both directions stream: export writes row by row, import parses the file
 * incrementally and inserts row by row inside one transaction, so memory does
 * not grow with the number of results.
 *
 * Ownership: paths and run references are borrowed; *imported_id is
 * malloc'd and freed by the caller.
 */
#ifndef EG_EXPORT_H
#define EG_EXPORT_H

#include "jsonw.h"

struct history;
struct run_info;

#define EXPORT_FORMAT "evalgate-run"
#define EXPORT_SCHEMA_VERSION 2 /* 2: case_texts */

/*
 * Write the run ref (an id, a unique prefix or "latest") to path ("-":
 * standard output) through a temporary file renamed into place; -1 after
 * reporting.
 */
int run_export(struct history *h, const char *ref, const char *path);

/*
 * Read an export from path ("-": standard input) into the history in one
 * transaction: all or nothing. A run id already in the history is refused
 * unless replace is set (the old run and its rows are deleted first). On
 * success *imported_id (when not NULL) is the run id; -1 after reporting.
 */
int run_import(struct history *h, const char *path, int replace, char **imported_id);

/*
 * The members every JSON view of a run (runs --json, the JSON report)
 * starts with: id, started_at, finished_at, status, verdict, target,
 * version, model, git_sha, git_ref; into the object being written.
 */
void export_run_members(struct jsonw *w, const struct run_info *ri);

#endif
