/*
 * worker: the NDJSON framing (lines out of a byte stream, the cap on a
 * line), the request line and the reply's id, and a pool of real processes
 * (cat answers each line with itself; sh scripts that crash or hang).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "worker.h"
#include "xalloc.h"

static int next_str(struct wk_lines *l, char *out, size_t size)
{
	const char *line;
	size_t len;
	int rc = wk_lines_next(l, &line, &len);

	if (rc == 1) {
		cr_assert_lt(len, size);
		memcpy(out, line, len);
		out[len] = '\0';
	}
	return rc;
}

Test(worker, lines_split_across_reads)
{
	struct wk_lines l;
	char s[64];

	wk_lines_init(&l, 100);
	wk_lines_add(&l, "{\"id\":1}\n{\"id\"", 14);
	cr_assert_eq(next_str(&l, s, sizeof(s)), 1);
	cr_assert_str_eq(s, "{\"id\":1}");
	cr_assert_eq(next_str(&l, s, sizeof(s)), 0, "half a line is not a line");
	wk_lines_add(&l, ":2}\r\n\n", 6);
	cr_assert_eq(next_str(&l, s, sizeof(s)), 1);
	cr_assert_str_eq(s, "{\"id\":2}", "a CR before the LF is dropped");
	cr_assert_eq(next_str(&l, s, sizeof(s)), 1);
	cr_assert_str_eq(s, "", "an empty line is a line");
	cr_assert_eq(next_str(&l, s, sizeof(s)), 0);
	wk_lines_release(&l);
}

Test(worker, overlong_line_dropped_then_in_step_again)
{
	struct wk_lines l;
	char big[300], s[64];

	memset(big, 'x', sizeof(big));
	wk_lines_init(&l, 100);
	/* a line past the cap, in pieces, never held whole */
	wk_lines_add(&l, big, 150);
	cr_assert_eq(next_str(&l, s, sizeof(s)), -1, "reported once");
	cr_assert_lt(l.buf.len, 101);
	wk_lines_add(&l, big, 150);
	cr_assert_eq(next_str(&l, s, sizeof(s)), 0);
	cr_assert_eq(l.buf.len, 0, "the rest of it is not kept either");
	wk_lines_add(&l, "xx\nok\n", 6);
	cr_assert_eq(next_str(&l, s, sizeof(s)), 1);
	cr_assert_str_eq(s, "ok", "the next line after it is whole");
	/* a complete line over the cap in one read */
	wk_lines_add(&l, big, 120);
	wk_lines_add(&l, "\nfine\n", 6);
	cr_assert_eq(next_str(&l, s, sizeof(s)), -1);
	cr_assert_eq(next_str(&l, s, sizeof(s)), 1);
	cr_assert_str_eq(s, "fine");
	wk_lines_release(&l);
}

Test(worker, many_lines_many_reads)
{
	struct wk_lines l;
	struct strbuf in = STRBUF_INIT;
	char s[64];
	size_t i, got = 0;

	wk_lines_init(&l, 64);
	for (i = 0; i < 5000; i++)
		strbuf_addf(&in, "{\"id\":%zu}\n", i);
	for (i = 0; i < in.len; i += 7) {
		size_t n = in.len - i < 7 ? in.len - i : 7;
		char want[32];

		wk_lines_add(&l, in.buf + i, n);
		while (next_str(&l, s, sizeof(s)) == 1) {
			snprintf(want, sizeof(want), "{\"id\":%zu}", got++);
			cr_assert_str_eq(s, want);
		}
	}
	cr_assert_eq(got, 5000);
	cr_assert_lt(l.buf.alloc, 200000, "consumed bytes are let go");
	wk_lines_release(&l);
	strbuf_release(&in);
}

Test(worker, request_line_and_reply_id)
{
	struct strbuf sb = STRBUF_INIT;
	long id = -1;

	wk_request_line(&sb, 7, "{\"input\":\"hi\"}", 14);
	cr_assert_str_eq(sb.buf, "{\"id\":7,\"input\":\"hi\"}\n");
	strbuf_reset(&sb);
	wk_request_line(&sb, 8, "{ }", 3);
	cr_assert_str_eq(sb.buf, "{\"id\":8 }\n", "no comma before an empty object's end");
	cr_assert_eq(wk_reply_id("{\"id\":42,\"output\":\"x\"}", 22, &id), 0);
	cr_assert_eq(id, 42);
	cr_assert_eq(wk_reply_id("{\"id\":\"43\"}", 11, &id), 0);
	cr_assert_eq(id, 43);
	cr_assert_eq(wk_reply_id("{\"id\":4.5}", 10, &id), -1);
	cr_assert_eq(wk_reply_id("{\"id\":\"x\"}", 10, &id), -1);
	cr_assert_eq(wk_reply_id("loading...", 10, &id), -1);
	cr_assert_eq(wk_reply_id("[1]", 3, &id), -1);
	strbuf_release(&sb);
}

/* ------------------------------------------------------------ a real pool */

static enum target_parse take_line(const void *arg, const char *line, size_t len,
				   struct target_reply *out, struct strbuf *why)
{
	out->output = xstrndup(line, len);
	out->output_len = len;
	return TARGET_REPLY_OK;
}

static int n_done;

static void on_done(struct gw_request *req, void *arg)
{
	n_done++;
}

static struct eg_command *command(const char *const *argv, double timeout_s)
{
	struct eg_command *c = xcalloc(1, sizeof(*c));
	size_t n = 0, i;

	while (argv[n])
		n++;
	c->argv = xcalloc(n + 1, sizeof(char *));
	for (i = 0; i < n; i++)
		c->argv[i] = xstrdup(argv[i]);
	c->timeout_s = timeout_s;
	eg_command_set_key(c, NULL, 0);
	return c;
}

/* submit n requests to argv's pool and poll until they are all back */
static struct gw_request *run_pool(const char *const *argv, double timeout_s, int retries,
				   size_t n)
{
	struct worker_opts o = { 4, 5, retries, 1024 };
	struct worker_set *set = worker_set_new(&o);
	struct eg_command *cmd = command(argv, timeout_s);
	struct worker_pool *pool = worker_set_pool(set, cmd, take_line, NULL);
	struct gw_request *reqs = xcalloc(n, sizeof(*reqs));
	size_t i;
	int spins = 0;

	n_done = 0;
	for (i = 0; i < n; i++) {
		struct strbuf b = STRBUF_INIT;

		target_reply_init(&reqs[i].reply);
		strbuf_addf(&b, "{\"n\":%zu}", i);
		reqs[i].body = strbuf_detach(&b, &reqs[i].body_len);
		worker_submit(pool, &reqs[i]);
	}
	while (worker_set_outstanding(set) && spins++ < 2000)
		worker_set_poll(set, 20, on_done, NULL);
	cr_assert_eq((size_t)n_done, n, "every call handed back once");
	worker_set_free(set);
	eg_command_release(cmd);
	free(cmd);
	return reqs;
}

static void free_reqs(struct gw_request *reqs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		gw_request_release(&reqs[i]);
	free(reqs);
}

Test(worker, cat_answers_each_line_with_itself)
{
	const char *argv[] = { "cat", NULL };
	struct gw_request *r = run_pool(argv, 5, 0, 50);
	size_t i;

	for (i = 0; i < 50; i++) {
		char want[64];

		cr_assert(r[i].ok, "call %zu: %s", i, r[i].error ? r[i].error : "");
		cr_assert_eq(r[i].attempts, 1);
		snprintf(want, sizeof(want), ",\"n\":%zu}", i);
		cr_assert(strstr(r[i].reply.output, want), "%s", r[i].reply.output);
	}
	free_reqs(r, 50);
}

Test(worker, a_crashing_worker_is_retried_then_fails_with_its_stderr)
{
	const char *argv[] = { "sh", "-c", "read l; echo 'oops: token' >&2; exit 3", NULL };
	struct gw_request *r = run_pool(argv, 5, 2, 1);

	cr_assert_not(r[0].ok);
	cr_assert_eq(r[0].attempts, 3, "1 + 2 resends, not %d", r[0].attempts);
	cr_assert(strstr(r[0].error, "worker exited with status 3 after 3 attempts"), "%s",
		  r[0].error);
	cr_assert(strstr(r[0].error, "worker stderr: oops: token"), "%s", r[0].error);
	free_reqs(r, 1);
}

Test(worker, a_hanging_worker_times_out)
{
	const char *argv[] = { "sh", "-c", "echo started >&2; exec sleep 30", NULL };
	struct gw_request *r = run_pool(argv, 0.2, 3, 1);

	cr_assert_not(r[0].ok);
	cr_assert(strstr(r[0].error, "timed out after 0.4 s"), "%s", r[0].error);
	cr_assert(strstr(r[0].error, "worker stderr: started"), "%s", r[0].error);
	free_reqs(r, 1);
}

Test(worker, a_program_that_cannot_start)
{
	const char *argv[] = { "/nonexistent/worker", NULL };
	struct gw_request *r = run_pool(argv, 1, 3, 2);

	cr_assert_not(r[0].ok);
	cr_assert(strstr(r[0].error, "cannot start the worker '/nonexistent/worker'"), "%s",
		  r[0].error);
	cr_assert_not(r[1].ok);
	free_reqs(r, 2);
}
