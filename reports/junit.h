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
 * Every failure and error is a testcase; passing results only up to a limit
 * (--junit-max-passed, REPORT_JUNIT_MAX_PASSED by default), so a million-case
 * run does not make a 200 MB file. A suite whose passing results were cut
 * says how many in the property evalgate.passed_omitted and in its
 * <system-out>; its tests attribute counts the testcases in the file, which
 * is what consumers that count testcases find.
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

/*
 * run_id may be an id, a unique prefix or "latest"; at most max_passed passing
 * testcases (-1: all); 0, or -1 after an error naming path
 */
int junit_write(struct history *h, const char *run_id, const char *path, long max_passed);

#endif
