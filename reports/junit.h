/*
 * junit: the JUnit XML report of one stored run (SPEC 10).
 *
 * A <testsuite> per suite of the run with a <testcase> per result (named by
 * the case id; repeat r >= 1 of a case is "id#r", so names stay unique), then a
 * "gates" <testsuite> with a <testcase> per gate result. Results are streamed
 * from the history one at a time, so memory does not grow with the run.
 * Answers are truncated to JUNIT_MAX_OUTPUT bytes; the document is
 * well-formed whatever bytes the model returned.
 *
 * The file is written to PATH.tmp, synced and renamed over PATH: a failed
 * write leaves no file (and an older PATH untouched).
 *
 * Ownership: the history handle and strings are borrowed.
 */
#ifndef EG_JUNIT_H
#define EG_JUNIT_H

struct history;

#define JUNIT_MAX_OUTPUT 4096   /* bytes of an answer kept in <system-out> */
#define JUNIT_MAX_MESSAGE 500   /* bytes of a failure/error message attribute */

/* run_id may be an id, a unique prefix or "latest"; 0, or -1 after an error naming path */
int junit_write(struct history *h, const char *run_id, const char *path);

#endif
