/*
 * trajectory: an agent run's steps (SPEC 12) as plain text for what shows
 * text (the JUnit report, the judge's prompt), one line a step or call:
 *   step 1 (tool_calls)
 *     call lookup_order({"order_id":"A17"}) -> SHIPPED
 *   step 2 (stop): the order has shipped
 * A conversation's turn opens with a line "turn 2 user: <the user's message>".
 * Untrusted text is made visible (esc_visible) and cut; the caller escapes
 * for its format. Ownership: appends to the caller's strbuf.
 */
#ifndef EG_REPORT_TRAJECTORY_H
#define EG_REPORT_TRAJECTORY_H

#include <stddef.h>

#include <cjson/cJSON.h>

struct strbuf;

/* the steps of a trajectory (a JSON array, or NULL) appended to sb; how many there were */
int trajectory_text(struct strbuf *sb, const cJSON *trajectory);
/*
 * the same for trajectory, a node of root (the tree cJSON parsed from text,
 * len bytes): its strings are read as bytes (json_string_bytes), so a step's
 * content shows its NULs (\x00) and what follows them
 */
int trajectory_text_bytes(struct strbuf *sb, const char *text, size_t len, const cJSON *root,
			  const cJSON *trajectory);
/*
 * the trajectory traj (an array of steps) as JSON text, malloc'd, with the
 * content of step i written from contents[i] (its bytes, NULs kept) for
 * i < n, and the k-th call "result" over the steps from results[k] for
 * k < n_results (results may be NULL): cJSON's strings end at a NUL, the
 * model's and the tools' text does not
 */
char *trajectory_print(const cJSON *traj, const struct strbuf *contents, size_t n,
		       const struct strbuf *results, size_t n_results);
/* the same for the trajectory in a stored result's target_reply JSON (NULL: none) */
int trajectory_text_stored(struct strbuf *sb, const char *target_reply);
/*
 * the tool calls of the trajectory in a stored result's target_reply, for
 * comparing two runs: "name(canonical args), ..." in order (arguments that
 * are not JSON as sent), raw (the caller escapes); how many, -1 without a
 * trajectory
 */
int trajectory_calls_stored(struct strbuf *sb, const char *target_reply);

#endif
