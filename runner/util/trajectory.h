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

struct strbuf;

#include <cjson/cJSON.h>

/* the steps of a trajectory (a JSON array, or NULL) appended to sb; how many there were */
int trajectory_text(struct strbuf *sb, const cJSON *trajectory);
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
