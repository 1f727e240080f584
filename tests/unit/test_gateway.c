/*
 * Tests for the gateway client: the pure helpers, then live transfers
 * against the mock gateway (EG_MOCK) on loopback.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "error.h"
#include "gateway.h"
#include "helper.h"
#include "jsonw.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

#define KEY "sk-test-5e3cr3t-K3y-0123456789"

/* ------------------------------------------------------------ pure helpers */

Test(gateway_helpers, retry_after_seconds)
{
	time_t now = 1700000000;

	cr_expect_eq(gw_parse_retry_after("1", now), 1000);
	cr_expect_eq(gw_parse_retry_after("0.25", now), 250);
	cr_expect_eq(gw_parse_retry_after(" 2 ", now), 2000);
	cr_expect_eq(gw_parse_retry_after("0", now), 0);
	cr_expect_eq(gw_parse_retry_after("120", now), 120000);
}

Test(gateway_helpers, retry_after_http_date)
{
	char date[64];
	time_t now = 1700000000;
	time_t later = now + 3;
	struct tm tm;

	gmtime_r(&later, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	cr_expect_eq(gw_parse_retry_after(date, now), 3000, "%s", date);
	/* a date in the past means now */
	cr_expect_eq(gw_parse_retry_after(date, now + 10), 0);
	cr_expect_eq(gw_parse_retry_after("Tue, 14 Nov 2023 22:13:23 GMT", 1700000000), 3000);
	/* the obsolete forms a recipient still accepts (RFC 9110 5.6.7) */
	cr_expect_eq(gw_parse_retry_after("Tuesday, 14-Nov-23 22:13:23 GMT", 1700000000), 3000);
	cr_expect_eq(gw_parse_retry_after("Tue Nov 14 22:13:23 2023", 1700000000), 3000);
	cr_expect_eq(gw_parse_retry_after("Tue, 14 Nov 2023 22:13:23 GMT trailing", 1700000000), -1);
	cr_expect_eq(gw_parse_retry_after("Tue, 14 Nov 2023 22:13 GMT", 1700000000), -1);
}

Test(gateway_helpers, retry_after_garbage)
{
	time_t now = 1700000000;

	cr_expect_eq(gw_parse_retry_after("garbage", now), -1);
	cr_expect_eq(gw_parse_retry_after("-1", now), -1);
	cr_expect_eq(gw_parse_retry_after("-0.5", now), -1);
	cr_expect_eq(gw_parse_retry_after("+3", now), -1);
	cr_expect_eq(gw_parse_retry_after("", now), -1);
	cr_expect_eq(gw_parse_retry_after("1e3", now), -1);
	cr_expect_eq(gw_parse_retry_after("12abc", now), -1);
	cr_expect_eq(gw_parse_retry_after(NULL, now), -1);
}

Test(gateway_helpers, backoff_bounds)
{
	static const long cap[] = { 500, 1000, 2000, 4000, 8000, 8000 };
	int a;

	for (a = 1; a <= 6; a++) {
		long hi = gw_backoff_ms(a, 0.999);

		cr_expect_eq(gw_backoff_ms(a, 0), 0, "attempt %d", a);
		cr_expect(hi <= cap[a - 1] && hi >= cap[a - 1] * 99 / 100,
			  "attempt %d: %ld not near %ld", a, hi, cap[a - 1]);
		cr_expect(gw_backoff_ms(a, 0.5) == cap[a - 1] / 2, "attempt %d", a);
	}
	cr_expect_leq(gw_backoff_ms(1000, 0.999), 8000);
	cr_expect_geq(gw_backoff_ms(1000, 0.999), 7900);
	cr_expect_leq(gw_backoff_ms(1, 5.0), 500);
	cr_expect_geq(gw_backoff_ms(1, -1.0), 0);
}

Test(gateway_helpers, status_retryable)
{
	static const long yes[] = { 408, 409, 429, 500, 502, 503, 504 };
	static const long no[] = { 200, 400, 401, 403, 404, 422 };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		cr_expect(gw_status_retryable(yes[i]), "%ld", yes[i]);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		cr_expect_not(gw_status_retryable(no[i]), "%ld", no[i]);
}

static int parse(struct gw_request *req, const char *body)
{
	memset(req, 0, sizeof(*req));
	return gw_parse_reply(req, body, strlen(body));
}

Test(gateway_helpers, parse_normal)
{
	struct gw_request req;

	cr_assert_eq(parse(&req, "{\"id\":\"x\",\"choices\":[{\"index\":0,\"message\":"
			   "{\"role\":\"assistant\",\"content\":\"Paris\"},\"finish_reason\":\"stop\"}],"
			   "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3,\"total_tokens\":15}}"),
		     0);
	cr_expect_str_eq(req.reply.output, "Paris");
	cr_expect_eq(req.reply.output_len, 5);
	cr_expect_str_eq(req.reply.finish_reason, "stop");
	cr_expect_eq(req.reply.prompt_tokens, 12);
	cr_expect_eq(req.reply.completion_tokens, 3);
	cr_expect_null(req.error);
	gw_request_release(&req);
}

Test(gateway_helpers, parse_missing_usage)
{
	struct gw_request req;

	cr_assert_eq(parse(&req, "{\"choices\":[{\"message\":{\"content\":\"ok\"}}]}"), 0);
	cr_expect_str_eq(req.reply.output, "ok");
	cr_expect_null(req.reply.finish_reason);
	cr_expect_eq(req.reply.prompt_tokens, -1);
	cr_expect_eq(req.reply.completion_tokens, -1);
	gw_request_release(&req);
}

Test(gateway_helpers, parse_empty_choices)
{
	struct gw_request req;

	cr_assert_eq(parse(&req, "{\"choices\":[],\"usage\":{\"prompt_tokens\":1}}"), -1);
	cr_expect_str_eq(req.error, "invalid reply: no choices");
	cr_expect_null(req.reply.output);
	gw_request_release(&req);

	cr_assert_eq(parse(&req, "{\"object\":\"chat.completion\"}"), -1);
	cr_expect_str_eq(req.error, "invalid reply: no choices");
	gw_request_release(&req);

	cr_assert_eq(parse(&req, "{\"choices\":[{\"finish_reason\":\"stop\"}]}"), -1);
	cr_expect_not_null(strstr(req.error, "no message"));
	gw_request_release(&req);
}

Test(gateway_helpers, parse_null_content)
{
	struct gw_request req;

	cr_assert_eq(parse(&req, "{\"choices\":[{\"message\":{\"content\":null},"
			   "\"finish_reason\":\"content_filter\"}]}"), 0);
	cr_expect_str_eq(req.reply.output, "");
	cr_expect_eq(req.reply.output_len, 0);
	cr_expect_str_eq(req.reply.finish_reason, "content_filter");
	gw_request_release(&req);

	cr_assert_eq(parse(&req, "{\"choices\":[{\"message\":{\"content\":null,\"tool_calls\":[]},"
			   "\"finish_reason\":\"tool_calls\"}]}"), 0);
	cr_expect_str_eq(req.reply.output, "");
	gw_request_release(&req);

	/* null content with an ordinary finish is a broken reply */
	cr_assert_eq(parse(&req, "{\"choices\":[{\"message\":{\"content\":null},"
			   "\"finish_reason\":\"stop\"}]}"), -1);
	cr_expect_not_null(strstr(req.error, "invalid reply: "));
	gw_request_release(&req);

	cr_assert_eq(parse(&req, "{\"choices\":[{\"message\":{\"content\":null,"
			   "\"refusal\":\"I can't help with that\"},\"finish_reason\":\"stop\"}]}"), 0);
	cr_expect_str_eq(req.reply.output, "I can't help with that");
	gw_request_release(&req);
}

Test(gateway_helpers, parse_not_json)
{
	struct gw_request req;

	cr_assert_eq(parse(&req, "<html>Bad Gateway</html>"), -1);
	cr_expect_not_null(strstr(req.error, "invalid reply: not JSON"));
	gw_request_release(&req);

	cr_assert_eq(parse(&req, "{\"choices\":[{\"message\":{\"content\":\"cut"), -1);
	cr_expect_not_null(strstr(req.error, "invalid reply: "));
	gw_request_release(&req);

	cr_assert_eq(parse(&req, ""), -1);
	cr_expect_not_null(strstr(req.error, "invalid reply: "));
	gw_request_release(&req);

	cr_assert_eq(parse(&req, "[1,2]"), -1);
	gw_request_release(&req);

	cr_assert_eq(parse(&req, "{\"error\":{\"message\":\"upstream\\nfailed\"}}"), -1);
	/* the gateway's text is shown, control characters as escapes */
	cr_expect_str_eq(req.error, "invalid reply: error object in a 2xx reply: upstream\\nfailed");
	gw_request_release(&req);
}

Test(gateway_helpers, parse_unicode)
{
	struct gw_request req;

	cr_assert_eq(parse(&req, "{\"choices\":[{\"message\":{\"content\":"
			   "\"caf\\u00e9 \\u4e2d \\ud83d\\ude00 \\\"q\\\"\\n\"}}]}"), 0);
	cr_expect_str_eq(req.reply.output, "caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80 \"q\"\n");
	cr_expect_eq(req.reply.output_len, strlen("caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80 \"q\"\n"));
	gw_request_release(&req);
}

Test(gateway_helpers, parse_content_parts)
{
	struct gw_request req;

	cr_assert_eq(parse(&req, "{\"choices\":[{\"message\":{\"content\":"
			   "[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"text\",\"text\":\"b\"}]}}]}"),
		     0);
	cr_expect_str_eq(req.reply.output, "ab");
	gw_request_release(&req);
}

/* ------------------------------------------------------------- live tests */

struct mock {
	pid_t pid;
	int port;
	const char *script;           /* the files, in the test's temporary directory */
	const char *port_file;
	const char *log;
	const char *out;
};

static struct mock mock;

/* start the mock with script (JSONL); key may be NULL */
static void mock_start(const char *script, int latency_ms, const char *key)
{
	const char *bin = getenv("EG_MOCK");
	char latency[32];
	double deadline;
	struct timespec ts;
	int i;

	cr_assert(bin && *bin, "EG_MOCK must name the mock gateway binary");
	mock.script = th_path("script.jsonl");
	mock.port_file = th_path("port");
	mock.log = th_path("log.jsonl");
	mock.out = th_path("out");
	th_write(mock.script, script);
	snprintf(latency, sizeof(latency), "%d", latency_ms);

	mock.pid = fork();
	cr_assert_neq(mock.pid, -1);
	if (!mock.pid) {
		const char *argv[16];
		int n = 0, fd = open(mock.out, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		argv[n++] = bin;
		argv[n++] = "--port";
		argv[n++] = "0";
		argv[n++] = "--port-file";
		argv[n++] = mock.port_file;
		argv[n++] = "--script";
		argv[n++] = mock.script;
		argv[n++] = "--latency-ms";
		argv[n++] = latency;
		argv[n++] = "--log";
		argv[n++] = mock.log;
		if (key) {
			argv[n++] = "--require-key";
			argv[n++] = key;
		}
		argv[n] = NULL;
		execv(bin, (char *const *)argv);
		_exit(127);
	}

	clock_gettime(CLOCK_MONOTONIC, &ts);
	deadline = (double)ts.tv_sec + 10;
	for (i = 0;; i++) {
		FILE *fp = fopen(mock.port_file, "r");
		int status;

		if (fp) {
			int ok = fscanf(fp, "%d", &mock.port) == 1;

			fclose(fp);
			if (ok && mock.port > 0)
				break;
		}
		cr_assert_eq(waitpid(mock.pid, &status, WNOHANG), 0,
			     "the mock gateway exited early (see %s)", mock.out);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		cr_assert_lt((double)ts.tv_sec, deadline, "the mock gateway did not start");
		usleep(10000);
	}
}

static void mock_stop(void)
{
	if (mock.pid > 0) {
		kill(mock.pid, SIGTERM);
		waitpid(mock.pid, NULL, 0);
		mock.pid = 0;
	}
}

static void live_fini(void)
{
	mock_stop();
	th_tmpdir_teardown();
}

TestSuite(gateway_live, .init = th_tmpdir_setup, .fini = live_fini, .timeout = 60);

static char base_url[64];

static void cfg_init(struct eg_gateway_cfg *cfg, int port)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%d/v1/", port);
	cfg->base_url = base_url;
	cfg->timeout_s = 10;
	cfg->max_retries = 5;
	cfg->concurrency = 16;
	cfg->max_error_rate = 0.05;
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct tracker {
	int *handed;            /* per request index: times handed back */
	size_t n;
	size_t total;
	struct gw_request *reqs;
};

static void on_done(struct gw_request *req, void *arg)
{
	struct tracker *t = arg;
	size_t i = (size_t)(req - t->reqs);

	cr_assert_lt(i, t->n);
	t->handed[i]++;
	t->total++;
}

/* n requests; case ids are prefix, or prefix and the index when indexed */
static struct gw_request *make_reqs(size_t n, const char *prefix, int indexed, struct tracker *t)
{
	struct gw_request *reqs = xcalloc(n, sizeof(*reqs));
	size_t i;

	for (i = 0; i < n; i++) {
		struct strbuf sb = STRBUF_INIT;
		struct jsonw w;
		char text[64], *case_id = xmalloc(64);

		snprintf(text, sizeof(text), "message %zu", i);
		jsonw_init(&w, &sb, 0);
		jsonw_object_begin(&w);
		jsonw_member_str(&w, "model", "m");
		jsonw_key(&w, "messages");
		jsonw_array_begin(&w);
		jsonw_object_begin(&w);
		jsonw_member_str(&w, "role", "user");
		jsonw_member_str(&w, "content", text);
		jsonw_object_end(&w);
		jsonw_array_end(&w);
		jsonw_object_end(&w);
		reqs[i].body = strbuf_detach(&sb, &reqs[i].body_len);
		if (indexed)
			snprintf(case_id, 64, "%s%zu", prefix, i);
		else
			snprintf(case_id, 64, "%s", prefix);
		reqs[i].case_id = case_id;
		reqs[i].suite = "golden";
		reqs[i].run_id = "run-1";
	}
	t->handed = xcalloc(n, sizeof(*t->handed));
	t->n = n;
	t->total = 0;
	t->reqs = reqs;
	return reqs;
}

static void free_reqs(struct tracker *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		if (t->reqs[i].error)
			cr_expect_null(strstr(t->reqs[i].error, KEY), "key leaked: %s",
				       t->reqs[i].error);
		free((char *)t->reqs[i].case_id);
		gw_request_release(&t->reqs[i]);
	}
	free(t->reqs);
	free(t->handed);
}

/* submit all, poll until everything is back; returns the elapsed seconds */
static double run_all(struct gateway *gw, struct tracker *t, size_t max_running)
{
	double start = mono();
	size_t i;

	for (i = 0; i < t->n; i++)
		gateway_submit(gw, &t->reqs[i]);
	cr_assert_eq(gateway_outstanding(gw), t->n);
	while (gateway_outstanding(gw)) {
		gateway_poll(gw, 200, on_done, t);
		cr_assert_leq(gateway_running(gw), max_running);
		cr_assert_lt(mono() - start, 50.0, "requests did not finish");
	}
	cr_assert_eq(t->total, t->n);
	return mono() - start;
}

/* one request with case id case_id against the running mock */
static double run_one(struct eg_gateway_cfg *cfg, const char *key, const char *case_id,
		      struct tracker *t)
{
	struct gateway *gw = gateway_new(cfg, key);
	double s;

	cr_assert_not_null(gw);
	make_reqs(1, case_id, 0, t);
	s = run_all(gw, t, 16);
	cr_expect_eq(t->handed[0], 1);
	gateway_free(gw);
	return s;
}

/* lines of the mock's log whose "case" is case_id */
static int log_count(const char *case_id)
{
	char line[65536];
	int n = 0;
	FILE *fp = fopen(mock.log, "r");

	if (!fp)
		return 0;
	while (fgets(line, sizeof(line), fp)) {
		cJSON *root = cJSON_Parse(line);
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "case");

		if (cJSON_IsString(c) && !strcmp(c->valuestring, case_id))
			n++;
		cJSON_Delete(root);
	}
	fclose(fp);
	return n;
}

/* the first logged request's header name (any case), malloc'd, or NULL */
static char *log_header(const char *name)
{
	char line[65536], *v = NULL;
	FILE *fp = fopen(mock.log, "r");

	if (!fp)
		return NULL;
	if (fgets(line, sizeof(line), fp)) {
		cJSON *root = cJSON_Parse(line);
		const cJSON *h = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "headers"), name);

		if (cJSON_IsString(h))
			v = xstrdup(h->valuestring);
		cJSON_Delete(root);
	}
	fclose(fp);
	return v;
}

Test(gateway_live, hundred_requests_at_concurrency_16)
{
	struct eg_gateway_cfg cfg;
	struct tracker t;
	struct gateway *gw;
	char name[32];
	double s;
	size_t i;

	mock_start("", 50, KEY);
	cfg_init(&cfg, mock.port);
	gw = gateway_new(&cfg, KEY);
	cr_assert_not_null(gw);
	make_reqs(100, "case-", 1, &t);
	s = run_all(gw, &t, 16);
	/* 100 requests of 50 ms, 16 at a time: at least 7 rounds */
	cr_expect_geq(s, 0.33, "finished in %.3f s: more than 16 at once?", s);
	for (i = 0; i < 100; i++) {
		char expect[64];

		snprintf(expect, sizeof(expect), "echo: message %zu", i);
		cr_expect_eq(t.handed[i], 1, "request %zu handed back %d times", i, t.handed[i]);
		cr_expect(t.reqs[i].ok, "request %zu: %s", i, t.reqs[i].error);
		cr_expect_eq(t.reqs[i].http_status, 200);
		cr_expect_eq(t.reqs[i].attempts, 1);
		cr_expect_str_eq(t.reqs[i].reply.output, expect);
		cr_expect_geq(t.reqs[i].reply.prompt_tokens, 0);
		cr_expect_geq(t.reqs[i].latency_ms, 40.0);
		snprintf(name, sizeof(name), "case-%zu", i);
		cr_expect_eq(log_count(name), 1, "%s reached the gateway %d times", name,
			     log_count(name));
	}
	cr_expect_eq(gateway_outstanding(gw), 0);
	cr_expect_eq(gateway_running(gw), 0);
	/* keep-alive: the 16 connections of the first round carry the rest */
	cr_expect_leq(gateway_connections(gw), 16, "%zu connections for 100 requests",
		      gateway_connections(gw));
	cr_expect_geq(gateway_connections(gw), 2);
	gateway_free(gw);
	free_reqs(&t);
}

Test(gateway_live, headers_sent)
{
	struct eg_gateway_cfg cfg;
	struct eg_header extra = { "x-team", "search\r\nx-evil: 1" };
	struct tracker t;
	char *v;

	mock_start("", 0, KEY);
	cfg_init(&cfg, mock.port);
	cfg.headers = &extra;
	cfg.n_headers = 1;
	run_one(&cfg, KEY, "c\r\nx-injected: yes", &t);
	cr_expect(t.reqs[0].ok, "%s", t.reqs[0].error);

	v = log_header("x-evalgate-case");
	cr_expect_str_eq(v, "c  x-injected: yes");
	free(v);
	cr_expect_null(log_header("x-injected"));
	cr_expect_null(log_header("x-evil"));
	v = log_header("x-evalgate-suite");
	cr_expect_str_eq(v, "golden");
	free(v);
	v = log_header("x-evalgate-run");
	cr_expect_str_eq(v, "run-1");
	free(v);
	v = log_header("x-evalgate-repeat");
	cr_expect_str_eq(v, "0");
	free(v);
	v = log_header("x-team");
	cr_expect_str_eq(v, "search  x-evil: 1");
	free(v);
	v = log_header("user-agent");
	cr_expect_str_eq(v, "evalgate/" EG_VERSION);
	free(v);
	v = log_header("content-type");
	cr_expect_str_eq(v, "application/json");
	free(v);
	v = log_header("accept");
	cr_expect_str_eq(v, "application/json");
	free(v);
	free_reqs(&t);
}

Test(gateway_live, retry_after_429_recovers)
{
	struct eg_gateway_cfg cfg;
	struct tracker t;
	const char *err;
	double s;

	mock_start("{\"case\":\"c1\",\"fault\":\"429\",\"times\":2,\"retry_after\":\"0.1\"}\n", 0,
		   KEY);
	cfg_init(&cfg, mock.port);
	eg_verbosity = 1;
	th_stderr_start();
	s = run_one(&cfg, KEY, "c1", &t);
	err = th_stderr_take();
	eg_verbosity = 0;

	cr_expect(t.reqs[0].ok, "%s", t.reqs[0].error);
	cr_expect_eq(t.reqs[0].attempts, 3);
	cr_expect_str_eq(t.reqs[0].reply.output, "echo: message 0");
	cr_expect_null(t.reqs[0].error);
	cr_expect_geq(s, 0.2);
	cr_expect_eq(log_count("c1"), 3);
	cr_expect_not_null(strstr(err, "retry 1/5 for case c1 in 0.100 s: HTTP 429"), "%s", err);
	cr_expect_not_null(strstr(err, "retry 2/5 for case c1 in 0.100 s: HTTP 429"), "%s", err);
	cr_expect_null(strstr(err, KEY));
	free_reqs(&t);
}

Test(gateway_live, retry_after_ms_wins)
{
	struct eg_gateway_cfg cfg;
	struct tracker t;
	double s;

	mock_start("{\"case\":\"c1\",\"fault\":\"503\",\"times\":1,\"retry_after\":\"100\","
		   "\"retry_after_ms\":300}\n", 0, KEY);
	cfg_init(&cfg, mock.port);
	s = run_one(&cfg, KEY, "c1", &t);
	cr_expect(t.reqs[0].ok, "%s", t.reqs[0].error);
	cr_expect_eq(t.reqs[0].attempts, 2);
	cr_expect_geq(s, 0.29);
	cr_expect_lt(s, 5.0);
	free_reqs(&t);
}

Test(gateway_live, reset_recovers)
{
	struct eg_gateway_cfg cfg;
	struct tracker t;

	mock_start("{\"case\":\"c2\",\"fault\":\"reset\",\"times\":1}\n", 0, KEY);
	cfg_init(&cfg, mock.port);
	run_one(&cfg, KEY, "c2", &t);
	cr_expect(t.reqs[0].ok, "%s", t.reqs[0].error);
	cr_expect_eq(t.reqs[0].attempts, 2);
	cr_expect_str_eq(t.reqs[0].reply.output, "echo: message 0");
	free_reqs(&t);
}

Test(gateway_live, unauthorized_is_fatal)
{
	struct eg_gateway_cfg cfg;
	struct tracker t;

	mock_start("{\"case\":\"c3\",\"fault\":\"401\"}\n", 0, KEY);
	cfg_init(&cfg, mock.port);
	run_one(&cfg, KEY, "c3", &t);
	cr_expect_not(t.reqs[0].ok);
	cr_expect(t.reqs[0].fatal);
	cr_expect_eq(t.reqs[0].attempts, 1);
	cr_expect_eq(t.reqs[0].http_status, 401);
	cr_assert_not_null(t.reqs[0].error);
	cr_expect_eq(strncmp(t.reqs[0].error, "gateway refused the credentials (HTTP 401): ",
			     strlen("gateway refused the credentials (HTTP 401): ")), 0,
		     "%s", t.reqs[0].error);
	cr_expect_gt(strlen(t.reqs[0].error), strlen("gateway refused the credentials (HTTP 401): "));
	cr_expect_eq(log_count("c3"), 1);
	free_reqs(&t);
}

Test(gateway_live, wrong_key_is_fatal_and_not_shown)
{
	struct eg_gateway_cfg cfg;
	struct tracker t;
	const char *wrong = "sk-wrong-" KEY;

	mock_start("", 0, KEY);
	cfg_init(&cfg, mock.port);
	run_one(&cfg, wrong, "c1", &t);
	cr_expect_not(t.reqs[0].ok);
	cr_expect(t.reqs[0].fatal);
	cr_expect_eq(t.reqs[0].attempts, 1);
	cr_assert_not_null(t.reqs[0].error);
	cr_expect_not_null(strstr(t.reqs[0].error, "(HTTP 401)"));
	cr_expect_null(strstr(t.reqs[0].error, wrong));
	free_reqs(&t);

	/* and without any key */
	run_one(&cfg, NULL, "c2", &t);
	cr_expect(t.reqs[0].fatal);
	free_reqs(&t);
}

Test(gateway_live, forbidden_is_fatal)
{
	struct eg_gateway_cfg cfg;
	struct tracker t;

	mock_start("{\"case\":\"c3\",\"fault\":\"403\"}\n", 0, NULL);
	cfg_init(&cfg, mock.port);
	run_one(&cfg, NULL, "c3", &t);
	cr_expect(t.reqs[0].fatal);
	cr_expect_eq(t.reqs[0].attempts, 1);
	cr_expect_not_null(strstr(t.reqs[0].error, "(HTTP 403)"));
	free_reqs(&t);
}

Test(gateway_live, big_body_fails)
{
	struct eg_gateway_cfg cfg;
	struct tracker t;

	mock_start("{\"case\":\"c4\",\"fault\":\"big\"}\n", 0, KEY);
	cfg_init(&cfg, mock.port);
	cfg.max_response_bytes = 1 << 20;
	run_one(&cfg, KEY, "c4", &t);
	cr_expect_not(t.reqs[0].ok);
	cr_expect_not(t.reqs[0].fatal);
	cr_expect_eq(t.reqs[0].attempts, 1);
	cr_expect_null(t.reqs[0].reply.output);
	cr_expect_str_eq(t.reqs[0].error, "response larger than max_response_bytes (1048576)");
	cr_expect_eq(log_count("c4"), 1);
	free_reqs(&t);
}

Test(gateway_live, hang_times_out)
{
	struct eg_gateway_cfg cfg;
	struct tracker t;
	double s;

	mock_start("{\"case\":\"c5\",\"fault\":\"hang\"}\n", 0, KEY);
	cfg_init(&cfg, mock.port);
	cfg.timeout_s = 0.5;
	cfg.max_retries = 1;
	s = run_one(&cfg, KEY, "c5", &t);
	cr_expect_not(t.reqs[0].ok);
	cr_expect_eq(t.reqs[0].attempts, 2);
	cr_expect_eq(t.reqs[0].http_status, 0);
	cr_assert_not_null(t.reqs[0].error);
	cr_expect_eq(strncmp(t.reqs[0].error, "timed out after 2 attempts: ", 28), 0, "%s",
		     t.reqs[0].error);
	cr_expect_geq(s, 1.0);
	cr_expect_lt(s, 4.0);
	free_reqs(&t);
}

Test(gateway_live, truncated_then_success)
{
	struct eg_gateway_cfg cfg;
	struct tracker t;

	mock_start("{\"case\":\"c6\",\"fault\":\"truncated\",\"times\":1}\n", 0, KEY);
	cfg_init(&cfg, mock.port);
	run_one(&cfg, KEY, "c6", &t);
	cr_expect(t.reqs[0].ok, "%s", t.reqs[0].error);
	cr_expect_eq(t.reqs[0].attempts, 2);
	cr_expect_str_eq(t.reqs[0].reply.output, "echo: message 0");
	free_reqs(&t);
}

Test(gateway_live, invalid_reply_runs_out)
{
	struct eg_gateway_cfg cfg;
	struct tracker t;

	mock_start("{\"case\":\"c7\",\"fault\":\"empty_choices\"}\n", 0, KEY);
	cfg_init(&cfg, mock.port);
	cfg.max_retries = 2;
	run_one(&cfg, KEY, "c7", &t);
	cr_expect_not(t.reqs[0].ok);
	cr_expect_eq(t.reqs[0].attempts, 3);
	cr_expect_str_eq(t.reqs[0].error, "invalid reply after 3 attempts: no choices");
	cr_expect_eq(log_count("c7"), 3);
	free_reqs(&t);
}

Test(gateway_live, server_error_runs_out)
{
	struct eg_gateway_cfg cfg;
	struct tracker t;

	mock_start("{\"case\":\"c8\",\"fault\":\"500\"}\n", 0, KEY);
	cfg_init(&cfg, mock.port);
	cfg.max_retries = 2;
	run_one(&cfg, KEY, "c8", &t);
	cr_expect_not(t.reqs[0].ok);
	cr_expect_not(t.reqs[0].fatal);
	cr_expect_eq(t.reqs[0].attempts, 3);
	cr_expect_eq(t.reqs[0].http_status, 500);
	cr_assert_not_null(t.reqs[0].error);
	cr_expect_eq(strncmp(t.reqs[0].error, "HTTP 500 after 3 attempts: ", 27), 0, "%s",
		     t.reqs[0].error);
	cr_expect_gt(strlen(t.reqs[0].error), 27);
	free_reqs(&t);
}

Test(gateway_live, should_retry_header_wins)
{
	struct eg_gateway_cfg cfg;
	struct tracker t;

	mock_start("{\"case\":\"no\",\"fault\":\"503\",\"headers\":{\"x-should-retry\":\"false\"}}\n"
		   "{\"case\":\"yes\",\"fault\":\"403\",\"times\":1,"
		   "\"headers\":{\"x-should-retry\":\"true\"}}\n", 0, KEY);
	cfg_init(&cfg, mock.port);
	run_one(&cfg, KEY, "no", &t);
	cr_expect_not(t.reqs[0].ok);
	cr_expect_eq(t.reqs[0].attempts, 1);
	cr_expect_eq(strncmp(t.reqs[0].error, "HTTP 503: ", 10), 0, "%s", t.reqs[0].error);
	free_reqs(&t);
	/* 401 and 403 are never retried, whatever the header says */
	run_one(&cfg, KEY, "yes", &t);
	cr_expect(t.reqs[0].fatal);
	cr_expect_eq(t.reqs[0].attempts, 1);
	free_reqs(&t);
}

Test(gateway_live, connection_refused)
{
	struct eg_gateway_cfg cfg;
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	struct tracker t;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	/* a port that was free a moment ago */
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	cfg_init(&cfg, ntohs(sa.sin_port));
	cfg.max_retries = 1;
	run_one(&cfg, KEY, "c1", &t);
	cr_expect_not(t.reqs[0].ok);
	cr_expect_not(t.reqs[0].fatal);
	cr_expect_eq(t.reqs[0].attempts, 2);
	cr_expect_eq(t.reqs[0].http_status, 0);
	cr_assert_not_null(t.reqs[0].error);
	cr_expect_eq(strncmp(t.reqs[0].error, "connection failed after 2 attempts: ", 36), 0,
		     "%s", t.reqs[0].error);
	free_reqs(&t);
}

Test(gateway_live, rps_limits_starts)
{
	struct eg_gateway_cfg cfg;
	struct tracker t;
	struct gateway *gw;
	double s;
	size_t i;

	mock_start("", 0, KEY);
	cfg_init(&cfg, mock.port);
	cfg.rps = 20;
	gw = gateway_new(&cfg, KEY);
	make_reqs(10, "r", 1, &t);
	s = run_all(gw, &t, 16);
	/* burst 1, then one start every 50 ms */
	cr_expect_geq(s, 0.44, "10 requests at 20 rps in %.3f s", s);
	cr_expect_lt(s, 3.0);
	for (i = 0; i < 10; i++)
		cr_expect(t.reqs[i].ok, "%s", t.reqs[i].error);
	gateway_free(gw);
	free_reqs(&t);
}

static void expect_cancelled(struct gw_request *req, void *arg)
{
	on_done(req, arg);
	cr_expect_not(req->ok);
	cr_expect_str_eq(req->error, "cancelled");
}

Test(gateway_live, cancel_all_hands_back_everything)
{
	struct eg_gateway_cfg cfg;
	struct tracker t, t2;
	struct gateway *gw;
	size_t i;

	mock_start("{\"case\":\"slow\",\"latency_ms\":3000}\n", 0, KEY);
	cfg_init(&cfg, mock.port);
	cfg.concurrency = 4;
	gw = gateway_new(&cfg, KEY);
	make_reqs(20, "slow", 0, &t);
	for (i = 0; i < 20; i++)
		gateway_submit(gw, &t.reqs[i]);
	cr_expect_eq(gateway_poll(gw, 300, on_done, &t), 0);
	cr_expect_eq(gateway_running(gw), 4);
	cr_expect_eq(gateway_outstanding(gw), 20);
	gateway_cancel_all(gw, expect_cancelled, &t);
	cr_expect_eq(t.total, 20);
	for (i = 0; i < 20; i++)
		cr_expect_eq(t.handed[i], 1);
	cr_expect_eq(gateway_outstanding(gw), 0);
	cr_expect_eq(gateway_running(gw), 0);

	/* the gateway still works afterwards */
	make_reqs(3, "fast-", 1, &t2);
	run_all(gw, &t2, 4);
	for (i = 0; i < 3; i++)
		cr_expect(t2.reqs[i].ok, "%s", t2.reqs[i].error);
	gateway_free(gw);
	free_reqs(&t);
	free_reqs(&t2);
}

/*
 * A cold start does not open every connection before the first request goes
 * out: new connections are opened a few at a time, each batch's requests
 * sent before the next batch connects.
 */
Test(gateway_live, cold_start_opens_connections_a_few_at_a_time)
{
	struct eg_gateway_cfg cfg;
	struct tracker t;
	struct gateway *gw;
	size_t i, first;
	int polls = 0;

	mock_start("{\"case\":\"slow\",\"latency_ms\":3000}\n", 0, KEY);
	cfg_init(&cfg, mock.port);
	cfg.concurrency = 64;
	gw = gateway_new(&cfg, KEY);
	make_reqs(64, "slow", 0, &t);
	for (i = 0; i < 64; i++)
		gateway_submit(gw, &t.reqs[i]);
	gateway_poll(gw, 0, on_done, &t);
	first = gateway_running(gw);
	cr_expect_gt(first, 0);
	cr_expect_lt(first, 64, "all %zu connections opened in one turn", first);
	/* the rest follow in the next turns, without waiting for a reply */
	while (gateway_running(gw) < 64 && polls++ < 100)
		gateway_poll(gw, 10, on_done, &t);
	cr_expect_eq(gateway_running(gw), 64);
	cr_expect_eq(t.total, 0);
	gateway_cancel_all(gw, on_done, &t);
	cr_expect_eq(t.total, 64);
	gateway_free(gw);
	free_reqs(&t);
}

static void *wake_later(void *arg)
{
	usleep(100000);
	gateway_wakeup(arg);
	return NULL;
}

Test(gateway_live, wakeup_ends_poll)
{
	struct eg_gateway_cfg cfg;
	struct gateway *gw;
	pthread_t th;
	double start;

	cfg_init(&cfg, 9);
	gw = gateway_new(&cfg, KEY);
	cr_assert_not_null(gw);
	start = mono();
	cr_assert_eq(pthread_create(&th, NULL, wake_later, gw), 0);
	cr_expect_eq(gateway_poll(gw, 5000, on_done, NULL), 0);
	cr_expect_lt(mono() - start, 2.0);
	cr_expect_geq(mono() - start, 0.05);
	pthread_join(th, NULL);
	gateway_free(gw);
}

/* 1 when text holds a run of 8 or more bytes of key */
static int holds_piece(const char *text, size_t len, const char *key)
{
	size_t klen = strlen(key), i, j, n;

	for (i = 0; i < len; i++)
		for (j = 0; j + 8 <= klen; j++) {
			for (n = 0; i + n < len && j + n < klen && text[i + n] == key[j + n]; n++)
				;
			if (n >= 8)
				return 1;
		}
	return 0;
}

/*
 * An error reply that echoes the key, at every offset of a long message:
 * no piece of 8 or more of its bytes survives, whether the cut at 300 bytes
 * falls before, inside or after it; a second, shorter route secret likewise.
 */
Test(gateway_helpers, error_text_redacts_before_the_cut)
{
	const char *key = "sk-live-0123456789abcdefXYZW";
	const char *token = "tok_9f8e7d6c5b";
	const char *secrets[] = { key, token };
	struct strbuf text = STRBUF_INIT, out = STRBUF_INIT;
	size_t off, redacted = 0;

	for (off = 0; off < 700; off++) {
		strbuf_reset(&text);
		strbuf_reset(&out);
		while (text.len < off)
			strbuf_addch(&text, 'a' + (char)(text.len % 26));
		strbuf_addf(&text, "%s then %s", key, token);
		strbuf_addstr(&text, " invalid api key");
		gw_error_text(&out, text.buf, text.len, secrets, 2, 300);
		cr_assert_leq(out.len, 300 + 16, "offset %zu: %zu bytes", off, out.len);
		cr_assert(!holds_piece(out.buf, out.len, key), "offset %zu: %s", off, out.buf);
		cr_assert(!holds_piece(out.buf, out.len, token), "offset %zu: %s", off, out.buf);
		redacted += strstr(out.buf, "[redacted]") != NULL;
	}
	/* wherever the key starts before the cut, the message says it was redacted */
	cr_assert_geq(redacted, 290);
	/* a key behind a NUL byte is found too */
	strbuf_reset(&text);
	strbuf_reset(&out);
	strbuf_add(&text, "x\0y ", 4);
	strbuf_addstr(&text, key);
	gw_error_text(&out, text.buf, text.len, secrets, 1, 300);
	cr_assert(!holds_piece(out.buf, out.len, key), "%s", out.buf);
	/* a gateway that echoes only part of the key ("sk-live-0123456789ab...") */
	strbuf_reset(&out);
	gw_error_text(&out, "Incorrect API key provided: sk-live-0123456789ab****", 52, secrets, 2,
		      300);
	cr_assert(!holds_piece(out.buf, out.len, key), "%s", out.buf);
	cr_assert_not_null(strstr(out.buf, "Incorrect API key provided: [redacted]"), "%s", out.buf);
	/* the text of a message that holds no secret is kept */
	strbuf_reset(&out);
	gw_error_text(&out, "model overloaded", 16, secrets, 2, 300);
	cr_assert_str_eq(out.buf, "model overloaded");
	strbuf_release(&text);
	strbuf_release(&out);
}

/* the scorers' pool full of slow calls leaves the target's pool its own slots */
Test(gateway_live, pools_do_not_starve_each_other)
{
	struct eg_gateway_cfg cfg;
	struct tracker t;
	struct gateway *gw;
	double start;
	size_t i, fast_done = 0;

	mock_start("{\"case\":\"slow\",\"latency_ms\":1500}\n", 0, KEY);
	cfg_init(&cfg, mock.port);
	cfg.concurrency = 2;
	cfg.scorer_concurrency = 2;
	gw = gateway_new(&cfg, KEY);
	cr_assert_not_null(gw);
	make_reqs(8, "slow", 0, &t);
	for (i = 4; i < 8; i++)
		snprintf((char *)t.reqs[i].case_id, 64, "fast%zu", i);
	start = mono();
	/* the slow scorer calls are queued first */
	for (i = 0; i < 8; i++) {
		t.reqs[i].pool = i < 4 ? GW_POOL_SCORER : GW_POOL_TARGET;
		gateway_submit(gw, &t.reqs[i]);
	}
	while (fast_done < 4) {
		gateway_poll(gw, 100, on_done, &t);
		cr_assert_leq(gateway_running(gw), 4);
		for (fast_done = 0, i = 4; i < 8; i++)
			fast_done += (size_t)t.handed[i];
		cr_assert_lt(mono() - start, 5.0);
	}
	cr_expect_lt(mono() - start, 1.2, "the target's calls waited %.3f s behind the scorers'",
		     mono() - start);
	for (i = 0; i < 4; i++)
		cr_expect_eq(t.handed[i], 0, "slow call %zu is not back yet", i);
	while (gateway_outstanding(gw))
		gateway_poll(gw, 200, on_done, &t);
	for (i = 0; i < 8; i++)
		cr_expect(t.reqs[i].ok, "request %zu: %s", i, t.reqs[i].error);
	cr_expect_geq(mono() - start, 2.9, "the scorers' 4 slow calls ran 2 at a time");
	gateway_free(gw);
	free_reqs(&t);
}

/* a 429 halves the pool's allowed concurrency; the other pool keeps its own */
Test(gateway_live, a_429_halves_the_pool_limit)
{
	struct eg_gateway_cfg cfg;
	struct tracker t;
	struct gateway *gw;
	struct strbuf sb = STRBUF_INIT;

	mock_start("{\"case\":\"c1\",\"fault\":\"429\",\"times\":1,\"retry_after\":\"0.05\"}\n", 0,
		   KEY);
	cfg_init(&cfg, mock.port);
	cfg.concurrency = 8;
	cfg.scorer_concurrency = 6;
	gw = gateway_new(&cfg, KEY);
	cr_assert_not_null(gw);
	gateway_timeline_begin(gw);
	make_reqs(1, "c1", 0, &t);
	run_all(gw, &t, 14);
	cr_expect(t.reqs[0].ok, "%s", t.reqs[0].error);
	cr_expect_eq(t.reqs[0].attempts, 2, "the 429 was retried");
	cr_expect_eq(gateway_pool_limit(gw, GW_POOL_TARGET), 4);
	cr_expect_eq(gateway_pool_limit(gw, GW_POOL_SCORER), 6);
	gateway_timeline_json(gw, &sb);
	cr_expect_not_null(strstr(sb.buf, "\"name\":\"target\",\"max\":8,\"min_limit\":4,\"n429\":1,"
				  "\"backoffs\":1,\"requests\":2"), "%s", sb.buf);
	cr_expect_null(strstr(sb.buf, "scorer"), "an unused pool is left out: %s", sb.buf);
	strbuf_release(&sb);
	gateway_free(gw);
	free_reqs(&t);
}

/* ------------------------------------------------- a scripted raw server */

/*
 * A loopback TCP server speaking whatever bytes a test scripts: for each
 * request it reads (up to the end of its head and Content-Length bytes of
 * body), it writes the next scripted reply, then closes the connection when
 * that reply says so. It sees what no HTTP library would let a server do:
 * a keep-alive connection closed while idle, a reply without a length, a
 * malformed reply.
 */
struct raw_reply {
	const char *bytes;
	int close_after;        /* close the connection after writing it */
};

struct raw_server {
	int listen_fd;
	int port;
	const struct raw_reply *replies;
	size_t n_replies;
	size_t served;
	int connections;
	char first_request[4096]; /* the head and body of the first request read */
	pthread_t thread;
};

/* one request off fd into buf: 1 read, 0 the peer closed first */
static int raw_read_request(int fd, char *buf, size_t size)
{
	size_t len = 0;

	for (;;) {
		char *end;
		ssize_t n = read(fd, buf + len, size - 1 - len);

		if (n <= 0)
			return 0;
		len += (size_t)n;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end) {
			const char *cl = strstr(buf, "Content-Length: ");
			size_t body = cl && cl < end ? strtoul(cl + 16, NULL, 10) : 0;

			if (len >= (size_t)(end + 4 - buf) + body)
				return 1;
		}
		if (len + 1 >= size)
			return 1;
	}
}

static void *raw_serve(void *arg)
{
	struct raw_server *s = arg;
	char buf[65536];

	while (s->served < s->n_replies) {
		int fd = accept(s->listen_fd, NULL, NULL);

		if (fd < 0)
			break;
		s->connections++;
		while (s->served < s->n_replies && raw_read_request(fd, buf, sizeof(buf))) {
			const struct raw_reply *r = &s->replies[s->served];

			if (!s->served)
				memcpy(s->first_request, buf, sizeof(s->first_request) - 1);
			s->served++;
			if (write(fd, r->bytes, strlen(r->bytes)) < 0)
				break;
			if (r->close_after)
				break;
		}
		close(fd);
	}
	return NULL;
}

static void raw_start(struct raw_server *s, const struct raw_reply *replies, size_t n)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int one = 1;

	memset(s, 0, sizeof(*s));
	s->replies = replies;
	s->n_replies = n;
	s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(s->listen_fd, 8), 0);
	cr_assert_eq(getsockname(s->listen_fd, (struct sockaddr *)&sa, &len), 0);
	s->port = ntohs(sa.sin_port);
	cr_assert_eq(pthread_create(&s->thread, NULL, raw_serve, s), 0);
}

static void raw_stop(struct raw_server *s)
{
	shutdown(s->listen_fd, SHUT_RDWR);
	close(s->listen_fd);
	pthread_join(s->thread, NULL);
}

#define RAW_OK(len, body, extra) "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" extra \
	"Content-Length: " #len "\r\n\r\n" body
#define CHAT_OK(text) "{\"choices\":[{\"message\":{\"content\":\"" text "\"},\"finish_reason\":\"stop\"}]}"

/* n requests one after the other on one gateway (one slot), each polled to its end */
static void raw_run(struct eg_gateway_cfg *cfg, struct tracker *t, size_t n)
{
	struct gateway *gw = gateway_new(cfg, KEY);
	size_t i;

	cr_assert_not_null(gw);
	make_reqs(n, "raw", 0, t);
	for (i = 0; i < n; i++) {
		gateway_submit(gw, &t->reqs[i]);
		while (gateway_outstanding(gw))
			gateway_poll(gw, 200, on_done, t);
		/* the server's close of an idle connection has arrived before the next request */
		usleep(50000);
	}
	gateway_free(gw);
}

/*
 * One scripted exchange: the server started on its n_replies replies,
 * n_requests sent one after the other on one slot with max_retries retries
 * (through libcurl or the built-in client), the server stopped. What the
 * server saw stays in *s, the requests in *t, for the test to check.
 */
static void raw_case(struct raw_server *s, const struct raw_reply *replies, size_t n_replies,
		     size_t n_requests, int max_retries, int libcurl, struct tracker *t)
{
	struct eg_gateway_cfg cfg;

	raw_start(s, replies, n_replies);
	cfg_init(&cfg, s->port);
	cfg.concurrency = 1;
	cfg.max_retries = max_retries;
	cfg.http_libcurl = libcurl;
	raw_run(&cfg, t, n_requests);
	raw_stop(s);
}

static void stale_keepalive_is_sent_again(int libcurl)
{
	static const struct raw_reply replies[] = {
		{ RAW_OK(76, CHAT_OK("first answer!"), ""), 1 },
		{ RAW_OK(76, CHAT_OK("later answer!"), ""), 0 },
	};
	struct raw_server s;
	struct tracker t;

	raw_case(&s, replies, 2, 2, 0, libcurl, &t);
	cr_expect(t.reqs[0].ok, "%s", t.reqs[0].error);
	cr_expect_str_eq(t.reqs[0].reply.output, "first answer!");
	/* with no retries allowed, only the re-send on a new connection saves the second */
	cr_expect(t.reqs[1].ok, "%s", t.reqs[1].error);
	cr_expect_str_eq(t.reqs[1].reply.output, "later answer!");
	cr_expect_eq(s.connections, 2);
	cr_expect_eq(s.served, 2);
	/* the built-in path found out by sending (no liveness poll before each request) */
	if (!libcurl)
		cr_expect_eq(t.reqs[1].attempts, 2);
	free_reqs(&t);
}

Test(gateway_raw, idle_connection_closed_by_the_server_is_not_an_error)
{
	stale_keepalive_is_sent_again(0);
}

Test(gateway_raw, idle_connection_closed_by_the_server_libcurl)
{
	stale_keepalive_is_sent_again(1);
}

static void request_head_as_sent(int libcurl)
{
	static const struct raw_reply replies[] = {
		{ RAW_OK(76, CHAT_OK("first answer!"), ""), 0 },
	};
	struct raw_server s;
	struct tracker t;
	char host[64];

	raw_case(&s, replies, 1, 1, 5, libcurl, &t);
	cr_expect(t.reqs[0].ok, "%s", t.reqs[0].error);
	snprintf(host, sizeof(host), "\r\nHost: 127.0.0.1:%d\r\n", s.port);
	cr_expect_eq(strncmp(s.first_request, "POST /v1/chat/completions HTTP/1.1\r\n", 36), 0,
		     "%s", s.first_request);
	cr_expect_not_null(strstr(s.first_request, host), "%s", s.first_request);
	cr_expect_not_null(strstr(s.first_request, "\r\nAuthorization: Bearer " KEY "\r\n"));
	cr_expect_not_null(strstr(s.first_request, "\r\nContent-Type: application/json\r\n"));
	cr_expect_not_null(strstr(s.first_request, "\r\nx-evalgate-case: raw\r\n"));
	cr_expect_not_null(strstr(s.first_request, "\r\nUser-Agent: evalgate/"));
	cr_expect_null(strstr(s.first_request, "Expect:"), "%s", s.first_request);
	cr_expect_null(strstr(s.first_request, "x-www-form-urlencoded"), "%s", s.first_request);
	/* the body follows the head whole */
	cr_expect_not_null(strstr(s.first_request, "\r\n\r\n{\"model\":\"m\""), "%s", s.first_request);
	free_reqs(&t);
}

/* both paths put the same request on the wire */
Test(gateway_raw, request_head)
{
	request_head_as_sent(0);
}

Test(gateway_raw, request_head_libcurl)
{
	request_head_as_sent(1);
}

/* Connection: close, a chunked reply, a reply read to the close: all answers, one attempt each */
Test(gateway_raw, reply_framings)
{
	static const struct raw_reply replies[] = {
		{ RAW_OK(76, CHAT_OK("first answer!"), "Connection: close\r\n"), 1 },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "a;ext=1\r\n{\"choices\"\r\n3a\r\n:[{\"message\":{\"content\":\"chunked\"},"
		  "\"finish_reason\":null}]}\r\n0\r\nx-trailer: 1\r\n\r\n", 0 },
		{ "HTTP/1.0 200 OK\r\n\r\n" CHAT_OK("to the end"), 1 },
	};
	struct raw_server s;
	struct tracker t;
	size_t i;

	raw_case(&s, replies, 3, 3, 0, 0, &t);
	for (i = 0; i < 3; i++) {
		cr_expect(t.reqs[i].ok, "request %zu: %s", i, t.reqs[i].error);
		cr_expect_eq(t.reqs[i].attempts, 1);
		cr_expect_eq(t.reqs[i].http_status, 200);
	}
	cr_expect_str_eq(t.reqs[0].reply.output, "first answer!");
	cr_expect_str_eq(t.reqs[1].reply.output, "chunked");
	cr_expect_str_eq(t.reqs[2].reply.output, "to the end");
	/* the first closed its connection, the chunked one kept it for the third */
	cr_expect_eq(s.connections, 2);
	free_reqs(&t);
}

/* a reply that is not HTTP fails the request with what was wrong, and is not retried */
Test(gateway_raw, malformed_reply_fails)
{
	static const struct raw_reply replies[] = {
		{ "HTTP/1.1 2xx nonsense\r\n\r\n", 1 },
		{ RAW_OK(76, CHAT_OK("first answer!"), ""), 1 },
	};
	struct raw_server s;
	struct tracker t;

	/* retries allowed: still one attempt */
	raw_case(&s, replies, 2, 1, 5, 0, &t);
	cr_expect_not(t.reqs[0].ok);
	cr_expect_eq(t.reqs[0].attempts, 1);
	cr_assert_not_null(t.reqs[0].error);
	cr_expect_eq(strncmp(t.reqs[0].error, "transfer failed: ", 17), 0, "%s", t.reqs[0].error);
	cr_expect_eq(s.served, 1);
	free_reqs(&t);
}

/* a reply cut before its length is a retryable failure, and the retry gets the answer */
Test(gateway_raw, cut_reply_is_retried)
{
	static const struct raw_reply replies[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Length: 76\r\n\r\n{\"choices\":", 1 },
		{ RAW_OK(76, CHAT_OK("first answer!"), ""), 0 },
	};
	struct raw_server s;
	struct tracker t;

	raw_case(&s, replies, 2, 1, 1, 0, &t);
	cr_expect(t.reqs[0].ok, "%s", t.reqs[0].error);
	cr_expect_eq(t.reqs[0].attempts, 2);
	cr_expect_str_eq(t.reqs[0].reply.output, "first answer!");
	free_reqs(&t);
}
