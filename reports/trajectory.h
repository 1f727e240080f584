/*
 * trajectory: an agent run's steps (SPEC 12) as plain text for the reports
 * that show text (JUnit system-out, Markdown), one line a step or call:
 *   step 1 (tool_calls)
 *     call lookup_order({"order_id":"A17"}) -> SHIPPED
 *   step 2 (stop): the order has shipped
 * Untrusted text is made visible (esc_visible) and cut; the caller escapes
 * for its format. Ownership: appends to the caller's strbuf.
 */
#ifndef EG_REPORT_TRAJECTORY_H
#define EG_REPORT_TRAJECTORY_H

struct strbuf;

/* the trajectory in a stored result's target_reply JSON (NULL: none); 0 when there is none */
int trajectory_text(struct strbuf *sb, const char *target_reply);

#endif
