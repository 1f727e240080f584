/*
 * The mock gateway, tested as a black box: each test starts the binary from
 * $EG_MOCK with its own script, talks to it over HTTP with libcurl and stops
 * it in the fixture's fini.
 */
#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"
#include "jsonw.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

extern char **environ;

struct server {
	pid_t pid;                    /* 0 when not running */
	unsigned port;
	const char *path[6];          /* script, port, log, out, err, spare: in the temp dir */
};

enum { P_SCRIPT, P_PORT, P_LOG, P_OUT, P_ERR, P_SPARE };

static struct server srv;

struct reply {
	CURLcode rc;
	long status;
	struct strbuf body;
	struct strbuf headers;        /* raw response header lines */
	cJSON *json;                  /* parsed body or NULL */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void setup(void)
{
	static const char *names[] = { "script.jsonl", "port", "log.jsonl", "out.txt",
				       "err.txt", "spare" };
	size_t i;

	memset(&srv, 0, sizeof(srv));
	th_tmpdir_setup();
	for (i = 0; i < 6; i++)
		srv.path[i] = th_path(names[i]);
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* SIGTERM, wait up to timeout_s; returns the wait status, or -1 after SIGKILL */
static int stop_server(double timeout_s)
{
	double end = now_s() + timeout_s;
	int status = -1;

	if (srv.pid <= 0)
		return -1;
	kill(srv.pid, SIGTERM);
	while (now_s() < end) {
		pid_t r = waitpid(srv.pid, &status, WNOHANG);

		if (r == srv.pid) {
			srv.pid = 0;
			return status;
		}
		sleep_ms(5);
	}
	kill(srv.pid, SIGKILL);
	waitpid(srv.pid, &status, 0);
	srv.pid = 0;
	return -1;
}

static void teardown(void)
{
	int running = srv.pid > 0;
	int status = stop_server(5);

	/* a clean exit also means no sanitizer report from the mock */
	if (running)
		cr_expect(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
			  "the mock did not exit cleanly (wait status %d)", status);
	th_tmpdir_teardown();
	curl_global_cleanup();
}

TestSuite(mock, .init = setup, .fini = teardown, .timeout = 60);

/* spawn the mock with argv[1..] = args (NULL-terminated); returns the pid */
static pid_t spawn_mock(const char **args)
{
	const char *bin = getenv("EG_MOCK");
	posix_spawn_file_actions_t fa;
	const char *argv[32];
	size_t n = 0;
	pid_t pid;

	cr_assert_not_null(bin, "EG_MOCK is not set");
	argv[n++] = bin;
	for (; *args && n < 31; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, srv.path[P_OUT], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_addopen(&fa, 2, srv.path[P_ERR], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert_eq(posix_spawn(&pid, bin, &fa, NULL, (char *const *)argv, environ), 0,
		     "cannot start %s", bin);
	posix_spawn_file_actions_destroy(&fa);
	return pid;
}

/*
 * Start the server with script text (NULL: no script) and extra options
 * (NULL-terminated), and wait up to 5 s for the port file.
 */
static void start_server(const char *script, ...)
{
	const char *args[24];
	size_t n = 0;
	double end = now_s() + 5;
	va_list ap;
	const char *a;

	args[n++] = "--port-file";
	args[n++] = srv.path[P_PORT];
	if (script) {
		th_write(srv.path[P_SCRIPT], script);
		args[n++] = "--script";
		args[n++] = srv.path[P_SCRIPT];
	}
	va_start(ap, script);
	while ((a = va_arg(ap, const char *)) && n < 23)
		args[n++] = a;
	va_end(ap);
	args[n] = NULL;
	srv.pid = spawn_mock(args);
	while (now_s() < end) {
		char *text = access(srv.path[P_PORT], F_OK) ? NULL : th_slurp(srv.path[P_PORT], NULL);
		int status;

		if (text && *text) {
			srv.port = (unsigned)strtoul(text, NULL, 10);
			free(text);
			break;
		}
		free(text);
		if (waitpid(srv.pid, &status, WNOHANG) == srv.pid) {
			char *err = th_slurp(srv.path[P_ERR], NULL);

			srv.pid = 0;
			cr_assert_fail("the mock exited early: %s", err);
		}
		sleep_ms(10);
	}
	cr_assert(srv.port > 0 && srv.port < 65536, "no port file within 5 s");
}

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
	strbuf_add(arg, p, size * n);
	return size * n;
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	return size * n;
}

static void reply_release(struct reply *r)
{
	strbuf_release(&r->body);
	strbuf_release(&r->headers);
	cJSON_Delete(r->json);
	r->json = NULL;
}

struct req_opts {
	const char *method;           /* default: POST when body, else GET */
	const char *path;             /* default /v1/chat/completions */
	const char *body;
	const char *case_id;
	const char *suite;
	const char *run;              /* x-evalgate-run */
	const char *key;              /* Authorization: Bearer key */
	long timeout_ms;              /* default 10 s */
};

/* one request on handle h (a new one when NULL) */
static void request_on(CURL *h, const struct req_opts *o, struct reply *r)
{
	struct curl_slist *hdrs = NULL;
	struct strbuf url = STRBUF_INIT, line = STRBUF_INIT;
	CURL *e = h ? h : curl_easy_init();

	memset(r, 0, sizeof(*r));
	strbuf_init(&r->body, 0);
	strbuf_init(&r->headers, 0);
	strbuf_addf(&url, "http://127.0.0.1:%u%s", srv.port,
		    o->path ? o->path : "/v1/chat/completions");
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	if (o->case_id) {
		strbuf_addf(&line, "x-evalgate-case: %s", o->case_id);
		hdrs = curl_slist_append(hdrs, line.buf);
		strbuf_reset(&line);
	}
	if (o->suite) {
		strbuf_addf(&line, "x-evalgate-suite: %s", o->suite);
		hdrs = curl_slist_append(hdrs, line.buf);
		strbuf_reset(&line);
	}
	if (o->run) {
		strbuf_addf(&line, "x-evalgate-run: %s", o->run);
		hdrs = curl_slist_append(hdrs, line.buf);
		strbuf_reset(&line);
	}
	if (o->key) {
		strbuf_addf(&line, "Authorization: Bearer %s", o->key);
		hdrs = curl_slist_append(hdrs, line.buf);
		strbuf_reset(&line);
	}
	curl_easy_setopt(e, CURLOPT_URL, url.buf);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, collect);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, &r->headers);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->timeout_ms ? o->timeout_ms : 10000L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	if (o->body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, o->body);
	} else {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, o->method);
	r->rc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
	r->json = cJSON_ParseWithLength(r->body.buf, r->body.len);
	curl_slist_free_all(hdrs);
	if (!h)
		curl_easy_cleanup(e);
	strbuf_release(&url);
	strbuf_release(&line);
}

static void request(const struct req_opts *o, struct reply *r)
{
	request_on(NULL, o, r);
}

/* a chat body with a system message and one user message */
static char *chat_body(const char *model, const char *user)
{
	struct strbuf sb = STRBUF_INIT;
	struct jsonw w;

	jsonw_init(&w, &sb, 0);
	jsonw_object_begin(&w);
	jsonw_member_str(&w, "model", model);
	jsonw_key(&w, "messages");
	jsonw_array_begin(&w);
	jsonw_object_begin(&w);
	jsonw_member_str(&w, "role", "system");
	jsonw_member_str(&w, "content", "be brief");
	jsonw_object_end(&w);
	jsonw_object_begin(&w);
	jsonw_member_str(&w, "role", "user");
	jsonw_member_str(&w, "content", user);
	jsonw_object_end(&w);
	jsonw_array_end(&w);
	jsonw_member_int(&w, "temperature", 0);
	jsonw_object_end(&w);
	return strbuf_detach(&sb, NULL);
}

/* POST a chat request for case_id with user text; reply in r */
static void chat(const char *case_id, const char *user, struct reply *r)
{
	char *body = chat_body("gpt-test", user);
	struct req_opts o = { .body = body, .case_id = case_id };

	request(&o, r);
	free(body);
}

static const char *content_of(const struct reply *r)
{
	const cJSON *c = cJSON_GetObjectItem(r->json, "choices");
	const cJSON *m = cJSON_GetObjectItem(cJSON_GetArrayItem(c, 0), "message");
	const cJSON *s = cJSON_GetObjectItem(m, "content");

	return cJSON_IsString(s) ? s->valuestring : NULL;
}

static double num_at(const cJSON *obj, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItem(obj, a);

	if (b)
		v = cJSON_GetObjectItem(v, b);
	cr_assert(cJSON_IsNumber(v), "%s.%s is not a number", a, b ? b : "");
	return v->valuedouble;
}

static const char *str_at(const cJSON *obj, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItem(obj, a);

	if (b)
		v = cJSON_GetObjectItem(v, b);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* value of response header name (lower case) or NULL; caller frees */
static char *header_value(const struct reply *r, const char *name)
{
	const char *p = r->headers.buf;
	size_t nlen = strlen(name);

	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t i;

		for (i = 0; i < nlen && p[i] && tolower((unsigned char)p[i]) == name[i]; i++)
			;
		if (i == nlen && p[i] == ':') {
			const char *v = p + nlen + 1;
			size_t len;

			while (*v == ' ')
				v++;
			len = eol ? (size_t)(eol - v) : strlen(v);
			while (len && (v[len - 1] == '\r' || v[len - 1] == ' '))
				len--;
			return xstrndup(v, len);
		}
		p = eol ? eol + 1 : NULL;
	}
	return NULL;
}

Test(mock, default_echo_reply_shape_and_usage)
{
	struct reply r;
	const cJSON *choice;
	char *out, expect[64];

	start_server(NULL, NULL);
	chat("c1", "hi there", &r);
	cr_assert_eq(r.rc, CURLE_OK);
	cr_assert_eq(r.status, 200);
	cr_assert_not_null(r.json, "body is not JSON: %s", r.body.buf);
	cr_assert_eq(strncmp(str_at(r.json, "id", NULL), "chatcmpl-mock-", 14), 0);
	cr_assert_str_eq(str_at(r.json, "object", NULL), "chat.completion");
	cr_assert_str_eq(str_at(r.json, "model", NULL), "gpt-test");
	cr_assert(num_at(r.json, "created", NULL) > 0);
	choice = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "choices"), 0);
	cr_assert_not_null(choice);
	cr_assert_eq(num_at(choice, "index", NULL), 0);
	cr_assert_str_eq(str_at(choice, "message", "role"), "assistant");
	cr_assert_str_eq(content_of(&r), "echo: hi there");
	cr_assert_str_eq(str_at(choice, "finish_reason", NULL), "stop");
	/* prompt: "be brief" + "hi there"; reply: "echo: hi there" */
	cr_assert_eq(num_at(r.json, "usage", "prompt_tokens"), 4);
	cr_assert_eq(num_at(r.json, "usage", "completion_tokens"), 3);
	cr_assert_eq(num_at(r.json, "usage", "total_tokens"), 7);
	reply_release(&r);

	out = th_slurp(srv.path[P_OUT], NULL);
	snprintf(expect, sizeof(expect), "listening on 127.0.0.1:%u\n", srv.port);
	cr_assert_str_eq(out, expect);
	free(out);
}

Test(mock, both_paths_serve_chat)
{
	char *body = chat_body("m", "x");
	struct req_opts o = { .path = "/chat/completions", .body = body };
	struct reply r;

	start_server(NULL, NULL);
	request(&o, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(content_of(&r), "echo: x");
	reply_release(&r);
	free(body);
}

Test(mock, reply_by_case_header)
{
	struct reply r;

	start_server("# capitals\n\n{\"case\":\"c1\",\"reply\":\"Paris\"}\n", NULL);
	chat("c1", "capital of France?", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(content_of(&r), "Paris");
	cr_assert_eq(num_at(r.json, "usage", "completion_tokens"), 1);
	reply_release(&r);
	chat("c2", "capital of France?", &r);
	cr_assert_str_eq(content_of(&r), "echo: capital of France?");
	reply_release(&r);
}

Test(mock, scripted_usage_counts)
{
	struct reply r;

	start_server("{\"case\":\"c1\",\"reply\":\"Paris\",\"usage\":{\"prompt_tokens\":120,\"completion_tokens\":30}}\n"
		     "{\"case\":\"c2\",\"reply\":\"Lyon is nice\",\"usage\":{\"prompt_tokens\":7}}\n", NULL);
	chat("c1", "capital of France?", &r);
	cr_assert_eq(num_at(r.json, "usage", "prompt_tokens"), 120);
	cr_assert_eq(num_at(r.json, "usage", "completion_tokens"), 30);
	cr_assert_eq(num_at(r.json, "usage", "total_tokens"), 150);
	reply_release(&r);
	/* a count left out is the word count */
	chat("c2", "capital of France?", &r);
	cr_assert_eq(num_at(r.json, "usage", "prompt_tokens"), 7);
	cr_assert_eq(num_at(r.json, "usage", "completion_tokens"), 3);
	reply_release(&r);
}

Test(mock, input_substitution_and_match)
{
	struct reply r;

	start_server("{\"match\":\"capital\",\"reply\":\"you said {{input}}, {{input}}\"}\n"
		     "{\"match_re\":\"^[0-9]+ \\\\+ [0-9]+$\",\"reply\":\"a sum\"}\n"
		     "{\"model\":\"other\",\"reply\":\"other model\"}\n", NULL);
	chat("a", "the capital", &r);
	cr_assert_str_eq(content_of(&r), "you said the capital, the capital");
	reply_release(&r);
	chat("a", "12 + 30", &r);
	cr_assert_str_eq(content_of(&r), "a sum");
	reply_release(&r);
	chat("a", "x 12 + 30", &r);
	cr_assert_str_eq(content_of(&r), "echo: x 12 + 30");
	reply_release(&r);
}

Test(mock, replies_cycle_per_case)
{
	static const char *expect[] = { "a", "b", "c", "a", "b" };
	struct reply r;
	size_t i;

	start_server("{\"match\":\"q\",\"replies\":[\"a\",\"b\",\"c\"],"
		     "\"finish_reason\":\"length\",\"usage\":false}\n", NULL);
	for (i = 0; i < 5; i++) {
		chat("one", "q", &r);
		cr_assert_str_eq(content_of(&r), expect[i], "request %zu", i);
		cr_assert_null(cJSON_GetObjectItem(r.json, "usage"));
		cr_assert_str_eq(str_at(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "choices"), 0),
					"finish_reason", NULL), "length");
		reply_release(&r);
	}
	chat("two", "q", &r);
	cr_assert_str_eq(content_of(&r), "a");
	reply_release(&r);
}

/*
 * the pass_p draws of case c over runs r0..r{n-1} (one request each, or
 * two per run when twice), as a string of '1' (reply) and '0' (fail_reply)
 */
static void pass_draws(const char *case_id, size_t n, int twice, char *out)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		char run[32], *body = chat_body("gpt-test", "q");
		struct req_opts o = { .body = body, .case_id = case_id, .run = run };
		int j;

		snprintf(run, sizeof(run), "r%zu", i);
		for (j = 0; j <= twice; j++) {
			struct reply r;
			const char *c;

			request(&o, &r);
			c = content_of(&r);
			cr_assert_not_null(c);
			cr_assert(!strcmp(c, "right") || !strcmp(c, "no: q"), "content %s", c);
			out[k++] = !strcmp(c, "right") ? '1' : '0';
			reply_release(&r);
		}
		free(body);
	}
	out[k] = 0;
}

/* a new mock process with the script and --seed seed */
static void restart_server(const char *script, const char *seed)
{
	cr_assert_neq(stop_server(5), -1);
	unlink(srv.path[P_PORT]);
	srv.port = 0;
	start_server(script, "--seed", seed, NULL);
}

static size_t ones(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '1';
	return n;
}

Test(mock, pass_p_draws_per_run_case_and_attempt)
{
	static const char script[] =
		"{\"case\":\"half\",\"reply\":\"right\",\"pass_p\":0.5,\"fail_reply\":\"no: {{input}}\"}\n"
		"{\"case\":\"p8\",\"reply\":\"right\",\"pass_p\":0.8,\"fail_reply\":\"no: {{input}}\"}\n"
		"{\"case\":\"never\",\"reply\":\"right\",\"pass_p\":0,\"fail_reply\":\"no: {{input}}\"}\n"
		"{\"case\":\"always\",\"reply\":\"right\",\"pass_p\":1,\"fail_reply\":\"no: {{input}}\"}\n";
	char a[401], b[401], c[401], d[801];
	size_t i, same = 0;

	start_server(script, "--seed", "7", NULL);
	pass_draws("p8", 400, 0, a);
	/* 320 expected, sd 8 */
	cr_assert(ones(a) >= 280 && ones(a) <= 360, "p=0.8: %zu of 400", ones(a));
	pass_draws("never", 50, 0, b);
	cr_assert_eq(ones(b), 0);
	pass_draws("always", 50, 0, b);
	cr_assert_eq(ones(b), 50);
	pass_draws("half", 64, 0, b);
	/* a second request of a case in the same run is a fresh draw */
	pass_draws("half", 200, 1, d);
	for (i = 0; i < 200; i++)
		same += d[2 * i] == d[2 * i + 1];
	cr_assert(same > 60 && same < 140, "repeats agree %zu of 200 times", same);
	restart_server(script, "7");
	/* the same seed, runs, case and attempts draw the same; another seed does not */
	pass_draws("half", 64, 0, c);
	cr_assert_str_eq(c, b);
	restart_server(script, "8");
	pass_draws("half", 64, 0, c);
	cr_assert_str_neq(c, b);
}

Test(mock, rate_limit_with_retry_after_then_success)
{
	struct reply r;
	char *ra, *ms;
	int i;

	start_server("{\"case\":\"rl\",\"fault\":\"429\",\"times\":2,\"retry_after\":\"1\","
		     "\"retry_after_ms\":250,\"reply\":\"ok now\"}\n", NULL);
	for (i = 0; i < 2; i++) {
		chat("rl", "q", &r);
		cr_assert_eq(r.status, 429);
		ra = header_value(&r, "retry-after");
		ms = header_value(&r, "retry-after-ms");
		cr_assert_str_eq(ra, "1");
		cr_assert_str_eq(ms, "250");
		free(ra);
		free(ms);
		cr_assert_str_eq(str_at(r.json, "error", "message"), "mock fault 429");
		cr_assert_str_eq(str_at(r.json, "error", "code"), "rate_limit_exceeded");
		reply_release(&r);
	}
	chat("rl", "q", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(content_of(&r), "ok now");
	cr_assert_null(header_value(&r, "retry-after"));
	reply_release(&r);
	chat("rl", "q", &r);
	cr_assert_eq(r.status, 200);
	reply_release(&r);
}

Test(mock, times_count_per_case)
{
	struct reply r;

	start_server("{\"fault\":\"503\",\"times\":1}\n", NULL);
	chat("a", "q", &r);
	cr_assert_eq(r.status, 503);
	reply_release(&r);
	chat("b", "q", &r);
	cr_assert_eq(r.status, 503);
	reply_release(&r);
	chat("a", "q", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(content_of(&r), "echo: q");
	reply_release(&r);
}

Test(mock, permanent_500_and_other_status_faults)
{
	static const struct { const char *fault; long status; } t[] = {
		{ "500", 500 }, { "503", 503 }, { "408", 408 }, { "401", 401 }, { "403", 403 },
	};
	struct reply r;
	size_t i;
	int k;

	start_server("{\"case\":\"500\",\"fault\":\"500\"}\n{\"case\":\"503\",\"fault\":\"503\"}\n"
		     "{\"case\":\"408\",\"fault\":\"408\"}\n{\"case\":\"401\",\"fault\":\"401\"}\n"
		     "{\"case\":\"403\",\"fault\":\"403\"}\n", NULL);
	for (k = 0; k < 3; k++) {
		chat("500", "q", &r);
		cr_assert_eq(r.status, 500);
		cr_assert_str_eq(str_at(r.json, "error", "type"), "server_error");
		cr_assert_str_eq(str_at(r.json, "error", "message"), "mock fault 500");
		reply_release(&r);
	}
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		chat(t[i].fault, "q", &r);
		cr_assert_eq(r.status, t[i].status, "fault %s", t[i].fault);
		cr_assert_not_null(str_at(r.json, "error", "message"));
		reply_release(&r);
	}
}

Test(mock, reset_closes_without_reply)
{
	struct reply r;

	start_server("{\"case\":\"rs\",\"fault\":\"reset\"}\n", NULL);
	chat("rs", "q", &r);
	cr_assert_neq(r.rc, CURLE_OK);
	cr_assert_eq(r.status, 0);
	cr_assert_eq(r.body.len, 0);
	reply_release(&r);
	chat("ok", "q", &r);
	cr_assert_eq(r.status, 200);
	reply_release(&r);
}

Test(mock, truncated_body_is_not_json)
{
	struct reply r;

	start_server("{\"case\":\"tr\",\"fault\":\"truncated\"}\n", NULL);
	chat("tr", "q", &r);
	cr_assert_eq(r.rc, CURLE_OK);
	cr_assert_eq(r.status, 200);
	cr_assert_gt(r.body.len, 10);
	cr_assert_null(r.json);
	cr_assert_eq(strncmp(r.body.buf, "{\"id\":", 6), 0);
	reply_release(&r);
}

Test(mock, big_reply_is_over_ten_million_bytes)
{
	struct reply r;

	start_server("{\"case\":\"big\",\"fault\":\"big\"}\n", NULL);
	chat("big", "q", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_gt(r.body.len, 10000000);
	cr_assert_not_null(r.json);
	cr_assert_eq(strlen(content_of(&r)), 10u << 20);
	reply_release(&r);
}

Test(mock, shape_faults)
{
	struct reply r;
	const cJSON *msg;

	start_server("{\"case\":\"e\",\"fault\":\"empty_choices\"}\n"
		     "{\"case\":\"b\",\"fault\":\"bad_json\"}\n"
		     "{\"case\":\"n\",\"fault\":\"no_content\"}\n", NULL);
	chat("e", "q", &r);
	cr_assert_eq(r.status, 200);
	cr_assert(cJSON_IsArray(cJSON_GetObjectItem(r.json, "choices")));
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "choices")), 0);
	reply_release(&r);
	chat("b", "q", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_gt(r.body.len, 0);
	cr_assert_null(r.json);
	reply_release(&r);
	chat("n", "q", &r);
	cr_assert_eq(r.status, 200);
	msg = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "choices"), 0),
				  "message");
	cr_assert_not_null(msg);
	cr_assert_null(cJSON_GetObjectItem(msg, "content"));
	reply_release(&r);
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

Test(mock, require_key_and_log_without_key)
{
	static const char *keys[] = { NULL, "wrong-key", "sk-mock-secret-42" };
	static const int authorized[] = { 0, 0, 1 };
	static const long status[] = { 401, 401, 200 };
	char *body = chat_body("m", "hello");
	char *log, *line, *save = NULL;
	struct reply r;
	size_t i;

	start_server(NULL, "--require-key", "sk-mock-secret-42", "--log", srv.path[P_LOG], NULL);
	for (i = 0; i < 3; i++) {
		struct req_opts o = { .body = body, .case_id = "k", .suite = "s1", .key = keys[i] };

		request(&o, &r);
		cr_assert_eq(r.status, status[i], "request %zu", i);
		if (status[i] == 401) {
			cr_assert_str_eq(str_at(r.json, "error", "message"),
					 "Incorrect API key provided");
			cr_assert_str_eq(str_at(r.json, "error", "type"), "invalid_request_error");
			cr_assert_str_eq(str_at(r.json, "error", "code"), "invalid_api_key");
		} else {
			cr_assert_str_eq(content_of(&r), "echo: hello");
		}
		reply_release(&r);
	}
	free(body);

	log = th_slurp(srv.path[P_LOG], NULL);
	cr_assert_eq(count_lines(log), 3, "log: %s", log);
	cr_assert_null(strstr(log, "sk-mock-secret-42"));
	cr_assert_null(strstr(log, "wrong-key"));
	for (i = 0, line = strtok_r(log, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save), i++) {
		cJSON *j = cJSON_Parse(line);
		const cJSON *h = cJSON_GetObjectItem(j, "headers");

		cr_assert_not_null(j, "log line is not JSON: %s", line);
		cr_assert_str_eq(str_at(j, "path", NULL), "/v1/chat/completions");
		cr_assert_str_eq(str_at(j, "case", NULL), "k");
		cr_assert_str_eq(str_at(j, "suite", NULL), "s1");
		cr_assert_eq(cJSON_IsTrue(cJSON_GetObjectItem(j, "authorized")), authorized[i]);
		cr_assert_eq(num_at(j, "status", NULL), status[i]);
		cr_assert_eq(num_at(j, "attempt", NULL), (double)(i + 1));
		cr_assert_null(cJSON_GetObjectItem(h, "authorization"));
		cr_assert_str_eq(str_at(h, "x-evalgate-case", NULL), "k");
		if (authorized[i]) {
			cr_assert_str_eq(str_at(j, "model", NULL), "m");
			cr_assert_str_eq(str_at(j, "user", NULL), "hello");
		}
		cJSON_Delete(j);
	}
	free(log);
}

Test(mock, stats_count_and_reset)
{
	struct req_opts get = { .path = "/stats" };
	struct req_opts reset = { .path = "/reset", .body = "" };
	struct reply r;
	int i;

	start_server(NULL, NULL);
	for (i = 0; i < 3; i++) {
		chat("c1", "q", &r);
		reply_release(&r);
	}
	chat("c2", "q", &r);
	reply_release(&r);
	request(&get, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(num_at(r.json, "requests", NULL), 4);
	cr_assert_eq(num_at(r.json, "by_case", "c1"), 3);
	cr_assert_eq(num_at(r.json, "by_case", "c2"), 1);
	reply_release(&r);
	request(&reset, &r);
	cr_assert_eq(r.status, 200);
	reply_release(&r);
	request(&get, &r);
	cr_assert_eq(num_at(r.json, "requests", NULL), 0);
	cr_assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "by_case"), "c1"));
	reply_release(&r);
}

Test(mock, bad_requests_and_routes)
{
	struct req_opts bad = { .body = "{\"model\":\"m\",\"messages\":[" };
	struct req_opts nomsg = { .body = "{\"model\":\"m\"}" };
	struct req_opts notarr = { .body = "{\"model\":\"m\",\"messages\":{}}" };
	struct req_opts health = { .path = "/health" };
	struct req_opts unknown = { .path = "/v1/nothing" };
	struct req_opts getchat = { .path = "/v1/chat/completions" };
	struct reply r;

	start_server(NULL, NULL);
	request(&bad, &r);
	cr_assert_eq(r.status, 400);
	cr_assert_not_null(str_at(r.json, "error", "message"));
	reply_release(&r);
	request(&nomsg, &r);
	cr_assert_eq(r.status, 400);
	reply_release(&r);
	request(&notarr, &r);
	cr_assert_eq(r.status, 400);
	reply_release(&r);
	request(&health, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body.buf, "ok");
	reply_release(&r);
	request(&unknown, &r);
	cr_assert_eq(r.status, 404);
	reply_release(&r);
	request(&getchat, &r);
	cr_assert_eq(r.status, 405);
	reply_release(&r);
}

Test(mock, latency_global_and_per_rule)
{
	struct reply r;
	double t0;

	start_server("{\"case\":\"fast\",\"latency_ms\":0}\n", "--latency-ms", "300", NULL);
	t0 = now_s();
	chat("slow", "q", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_geq(now_s() - t0, 0.29);
	reply_release(&r);
	t0 = now_s();
	chat("fast", "q", &r);
	cr_assert_eq(r.status, 200);
	cr_assert_lt(now_s() - t0, 0.25);
	reply_release(&r);
}

Test(mock, keep_alive_reuses_the_connection)
{
	CURL *h;
	char *body = chat_body("m", "q");
	struct req_opts o = { .body = body, .case_id = "ka" };
	struct reply r;
	long connects = -1;
	int i;

	start_server(NULL, NULL);
	h = curl_easy_init();
	for (i = 0; i < 3; i++) {
		request_on(h, &o, &r);
		cr_assert_eq(r.status, 200);
		curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
		cr_assert_eq(connects, i == 0 ? 1 : 0, "request %d opened %ld connections",
			     i, connects);
		reply_release(&r);
	}
	curl_easy_cleanup(h);
	free(body);
}

Test(mock, hang_is_ended_by_the_client)
{
	char *body = chat_body("m", "q");
	struct req_opts o = { .body = body, .case_id = "h", .timeout_ms = 300 };
	struct req_opts health = { .path = "/health" };
	struct reply r;

	start_server("{\"case\":\"h\",\"fault\":\"hang\"}\n", NULL);
	request(&o, &r);
	cr_assert_eq(r.rc, CURLE_OPERATION_TIMEDOUT);
	reply_release(&r);
	request(&health, &r);
	cr_assert_eq(r.status, 200);
	reply_release(&r);
	free(body);
}

static void *hang_client(void *arg)
{
	struct reply *r = arg;
	char *body = chat_body("m", "q");
	struct req_opts o = { .body = body, .case_id = "h", .timeout_ms = 10000 };

	request(&o, r);
	free(body);
	return NULL;
}

Test(mock, sigterm_exits_zero_with_a_hanging_request)
{
	struct req_opts stats = { .path = "/stats" };
	struct reply hr, r;
	pthread_t t;
	double t0, end;
	int status, seen = 0;

	start_server("{\"case\":\"h\",\"fault\":\"hang\"}\n", NULL);
	cr_assert_eq(pthread_create(&t, NULL, hang_client, &hr), 0);
	for (end = now_s() + 5; !seen && now_s() < end; sleep_ms(10)) {
		request(&stats, &r);
		seen = r.json && num_at(r.json, "requests", NULL) == 1;
		reply_release(&r);
	}
	cr_assert(seen, "the hanging request never arrived");
	t0 = now_s();
	status = stop_server(2);
	cr_assert_neq(status, -1, "the mock did not exit within 2 s");
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "wait status %d", status);
	cr_assert_lt(now_s() - t0, 2);
	pthread_join(t, NULL);
	cr_assert_neq(hr.rc, CURLE_OK);
	cr_assert_lt(now_s() - t0, 5, "the client was not released");
	reply_release(&hr);
}

/* run the mock with a script that must be refused; stderr must name file:line */
static void expect_bad_script(const char *script, const char *where_line)
{
	const char *args[] = { "--script", srv.path[P_SCRIPT], NULL };
	char *err, where[256];
	int status;
	pid_t pid;

	th_write(srv.path[P_SCRIPT], script);
	pid = spawn_mock(args);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 2, "wait status %d", status);
	err = th_slurp(srv.path[P_ERR], NULL);
	snprintf(where, sizeof(where), "%s:%s", srv.path[P_SCRIPT], where_line);
	cr_assert_not_null(strstr(err, where), "stderr: %s", err);
	free(err);
}

Test(mock, bad_script_lines_are_startup_errors)
{
	expect_bad_script("{\"reply\":\"x\"}\n# fine\n{\"reply\": \n", "3: not a JSON object");
	expect_bad_script("\n{\"fault\":\"explode\"}\n", "2: fault: unknown fault");
	expect_bad_script("{\"match_re\":\"(\"}\n", "1: match_re: ");
	expect_bad_script("{\"repyl\":\"typo\"}\n", "1: repyl: unknown field");
	expect_bad_script("{\"replies\":[]}\n", "1: replies: ");
	expect_bad_script("{\"fault\":\"429\",\"times\":-1}\n", "1: times: ");
	expect_bad_script("{\"usage\":{\"prompt\":1}}\n", "1: usage: unknown field 'prompt'");
	expect_bad_script("{\"usage\":{\"prompt_tokens\":-1}}\n", "1: prompt_tokens: ");
	expect_bad_script("{\"usage\":1}\n", "1: usage: must be true or false");
	expect_bad_script("{\"pass_p\":0.5}\n", "1: pass_p: needs a reply");
	expect_bad_script("{\"reply\":\"x\",\"pass_p\":1.5}\n", "1: pass_p: must be a probability");
	expect_bad_script("{\"reply\":\"x\",\"fail_reply\":\"y\"}\n", "1: fail_reply: needs pass_p");
}

Test(mock, many_concurrent_delayed_connections)
{
	enum { N = 300 };
	static const char body[] = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
	CURLM *m = curl_multi_init();
	CURL *e[N];
	struct strbuf url = STRBUF_INIT;
	int running = 1, ok = 0, i, q;
	double t0;
	CURLMsg *msg;

	start_server(NULL, "--latency-ms", "200", NULL);
	strbuf_addf(&url, "http://127.0.0.1:%u/v1/chat/completions", srv.port);
	for (i = 0; i < N; i++) {
		e[i] = curl_easy_init();
		curl_easy_setopt(e[i], CURLOPT_URL, url.buf);
		curl_easy_setopt(e[i], CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(e[i], CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(e[i], CURLOPT_TIMEOUT, 20L);
		curl_multi_add_handle(m, e[i]);
	}
	t0 = now_s();
	while (running) {
		curl_multi_perform(m, &running);
		while ((msg = curl_multi_info_read(m, &q))) {
			long status = 0;

			curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
			ok += msg->data.result == CURLE_OK && status == 200;
		}
		if (running)
			curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	/* all held at once: far less than N x 200 ms */
	cr_assert_lt(now_s() - t0, 5);
	cr_assert_eq(ok, N);
	for (i = 0; i < N; i++) {
		curl_multi_remove_handle(m, e[i]);
		curl_easy_cleanup(e[i]);
	}
	curl_multi_cleanup(m);
	strbuf_release(&url);
}
