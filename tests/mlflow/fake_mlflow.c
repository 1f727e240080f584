/*
 * fake_mlflow: an HTTP server answering the part of the MLflow Model
 * Registry REST API (2.0) that evalgate uses, with MLflow's documented
 * request and response shapes, for the registry tests. MLflow itself cannot
 * be installed here.
 *
 * Endpoints under /api/2.0/mlflow/: registered-models/create (POST),
 * registered-models/get (GET), model-versions/create (POST; versions are
 * numbered 1, 2, ... per model), model-versions/get (GET),
 * model-versions/set-tag (POST), registered-models/alias (POST, GET,
 * DELETE). Errors are {"error_code", "message"} with MLflow's statuses
 * (RESOURCE_DOES_NOT_EXIST 404, RESOURCE_ALREADY_EXISTS and
 * INVALID_PARAMETER_VALUE 400, UNAUTHENTICATED 401, PERMISSION_DENIED 403).
 * GET /fake/state dumps the whole state as JSON (not logged).
 *
 * Options:
 *   --port N, --port-file FILE   as the mock gateway
 *   --log FILE                   one JSON line per API request:
 *                                {"method","path","query","body","auth"}
 *   --fail METHOD:ENDPOINT=CODE:STATUS   answer that request with an MLflow
 *                                error (repeatable); CODE "html" sends a
 *                                non-JSON page instead
 *   --require-token TOKEN        expect Authorization: Bearer TOKEN, else 401
 *
 * One server thread (libmicrohttpd's internal polling thread) owns all the
 * state, so nothing is locked. Ownership: the state lives in one cJSON tree
 * for the whole process; each connection's body buffer is freed by the
 * completion callback.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "error.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

#define API "/api/2.0/mlflow/"
#define MAX_BODY (1u << 20)
#define MAX_FAILS 16
#define TIMESTAMP 1700000000000.0     /* fixed, so replies are deterministic */

struct fail_rule {
	char *method;                 /* "POST" */
	char *endpoint;               /* "registered-models/alias" */
	char *code;                   /* "PERMISSION_DENIED" or "html" */
	unsigned status;
};

static struct {
	cJSON *models;                /* name -> {"next": n, "versions": {v: mv}, "aliases": {a: v}} */
	FILE *log;
	const char *token;
	struct fail_rule fails[MAX_FAILS];
	size_t n_fails;
} fake;

struct reply {
	unsigned status;
	struct strbuf body;
	const char *content_type;
};

/* ---------- replies ---------- */

static void reply_json(struct reply *rp, unsigned status, cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);

	rp->status = status;
	strbuf_reset(&rp->body);
	strbuf_addstr(&rp->body, s);
	cJSON_free(s);
	cJSON_Delete(j);
}

static void reply_error(struct reply *rp, unsigned status, const char *code, const char *fmt, ...)
	EG_PRINTF(4, 5);

static void reply_error(struct reply *rp, unsigned status, const char *code, const char *fmt, ...)
{
	struct strbuf msg = STRBUF_INIT;
	cJSON *j = cJSON_CreateObject();
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&msg, fmt, ap);
	va_end(ap);
	cJSON_AddStringToObject(j, "error_code", code);
	cJSON_AddStringToObject(j, "message", msg.buf);
	strbuf_release(&msg);
	reply_json(rp, status, j);
}

/* ---------- the model registry ---------- */

static const char *str_field(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static cJSON *model_get(const char *name)
{
	return name ? cJSON_GetObjectItemCaseSensitive(fake.models, name) : NULL;
}

static cJSON *version_get(const char *name, const char *version)
{
	cJSON *m = model_get(name);

	if (!m || !version)
		return NULL;
	return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "versions"),
						version);
}

/* a ModelVersion as MLflow returns it: tags and aliases as lists */
static cJSON *version_json(const char *name, const char *version)
{
	cJSON *mv = version_get(name, version), *m = model_get(name);
	cJSON *out = cJSON_CreateObject(), *tags = cJSON_CreateArray();
	cJSON *aliases = cJSON_CreateArray(), *t;

	cJSON_AddStringToObject(out, "name", name);
	cJSON_AddStringToObject(out, "version", version);
	cJSON_AddNumberToObject(out, "creation_timestamp", TIMESTAMP);
	cJSON_AddNumberToObject(out, "last_updated_timestamp", TIMESTAMP);
	cJSON_AddStringToObject(out, "source", str_field(mv, "source"));
	if (str_field(mv, "run_id"))
		cJSON_AddStringToObject(out, "run_id", str_field(mv, "run_id"));
	cJSON_AddStringToObject(out, "current_stage", "None");
	cJSON_AddStringToObject(out, "status", "READY");
	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(mv, "tags")) {
		cJSON *tag = cJSON_CreateObject();

		cJSON_AddStringToObject(tag, "key", t->string);
		cJSON_AddStringToObject(tag, "value", t->valuestring);
		cJSON_AddItemToArray(tags, tag);
	}
	cJSON_AddItemToObject(out, "tags", tags);
	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(m, "aliases"))
		if (cJSON_IsString(t) && !strcmp(t->valuestring, version))
			cJSON_AddItemToArray(aliases, cJSON_CreateString(t->string));
	cJSON_AddItemToObject(out, "aliases", aliases);
	return out;
}

static int alias_valid(const char *a)
{
	const char *p;

	if (!strcasecmp(a, "latest"))
		return 0;
	for (p = a; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			return 0;
	if ((a[0] == 'v' || a[0] == 'V') && a[1]) {
		for (p = a + 1; *p >= '0' && *p <= '9'; p++)
			;
		if (!*p)
			return 0;
	}
	return 1;
}

static void create_model(const cJSON *body, struct reply *rp)
{
	const char *name = str_field(body, "name");
	cJSON *m, *out, *rm;

	if (!name || !*name) {
		reply_error(rp, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'name'.");
		return;
	}
	if (model_get(name)) {
		reply_error(rp, 400, "RESOURCE_ALREADY_EXISTS", "Registered Model (name=%s) already exists.", name);
		return;
	}
	m = cJSON_CreateObject();
	cJSON_AddNumberToObject(m, "next", 1);
	cJSON_AddItemToObject(m, "versions", cJSON_CreateObject());
	cJSON_AddItemToObject(m, "aliases", cJSON_CreateObject());
	cJSON_AddItemToObject(fake.models, name, m);
	out = cJSON_CreateObject();
	rm = cJSON_AddObjectToObject(out, "registered_model");
	cJSON_AddStringToObject(rm, "name", name);
	cJSON_AddNumberToObject(rm, "creation_timestamp", TIMESTAMP);
	cJSON_AddNumberToObject(rm, "last_updated_timestamp", TIMESTAMP);
	reply_json(rp, 200, out);
}

static void get_model(const cJSON *query, struct reply *rp)
{
	const char *name = str_field(query, "name");
	cJSON *m = model_get(name), *out, *rm, *aliases, *a;

	if (!m) {
		reply_error(rp, 404, "RESOURCE_DOES_NOT_EXIST", "Registered Model with name=%s not found", name ? name : "");
		return;
	}
	out = cJSON_CreateObject();
	rm = cJSON_AddObjectToObject(out, "registered_model");
	cJSON_AddStringToObject(rm, "name", name);
	cJSON_AddNumberToObject(rm, "creation_timestamp", TIMESTAMP);
	aliases = cJSON_AddArrayToObject(rm, "aliases");
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(m, "aliases")) {
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "alias", a->string);
		cJSON_AddStringToObject(e, "version", a->valuestring);
		cJSON_AddItemToArray(aliases, e);
	}
	reply_json(rp, 200, out);
}

static void create_version(const cJSON *body, struct reply *rp)
{
	const char *name = str_field(body, "name"), *source = str_field(body, "source");
	cJSON *m = model_get(name), *mv, *next, *out, *t, *tags;
	char version[32];

	if (!name || !source) {
		reply_error(rp, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter '%s'.",
			    name ? "source" : "name");
		return;
	}
	if (!m) {
		reply_error(rp, 404, "RESOURCE_DOES_NOT_EXIST", "Registered Model with name=%s not found", name);
		return;
	}
	next = cJSON_GetObjectItemCaseSensitive(m, "next");
	snprintf(version, sizeof(version), "%d", next->valueint);
	cJSON_SetNumberValue(next, next->valueint + 1);
	mv = cJSON_CreateObject();
	cJSON_AddStringToObject(mv, "source", source);
	if (str_field(body, "run_id"))
		cJSON_AddStringToObject(mv, "run_id", str_field(body, "run_id"));
	tags = cJSON_AddObjectToObject(mv, "tags");
	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(body, "tags"))
		if (str_field(t, "key") && str_field(t, "value"))
			cJSON_AddStringToObject(tags, str_field(t, "key"), str_field(t, "value"));
	cJSON_AddItemToObject(cJSON_GetObjectItemCaseSensitive(m, "versions"), version, mv);
	out = cJSON_CreateObject();
	cJSON_AddItemToObject(out, "model_version", version_json(name, version));
	reply_json(rp, 200, out);
}

static int need_version(const char *name, const char *version, struct reply *rp)
{
	if (!name || !version) {
		reply_error(rp, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter '%s'.",
			    name ? "version" : "name");
		return -1;
	}
	if (!version_get(name, version)) {
		reply_error(rp, 404, "RESOURCE_DOES_NOT_EXIST", "Model Version (name=%s, version=%s) not found",
			    name, version);
		return -1;
	}
	return 0;
}

static void get_version(const cJSON *query, struct reply *rp)
{
	const char *name = str_field(query, "name"), *version = str_field(query, "version");
	cJSON *out;

	if (need_version(name, version, rp))
		return;
	out = cJSON_CreateObject();
	cJSON_AddItemToObject(out, "model_version", version_json(name, version));
	reply_json(rp, 200, out);
}

static void set_tag(const cJSON *body, struct reply *rp)
{
	const char *name = str_field(body, "name"), *version = str_field(body, "version");
	const char *key = str_field(body, "key"), *value = str_field(body, "value");
	cJSON *tags;

	if (need_version(name, version, rp))
		return;
	if (!key || !*key || !value) {
		reply_error(rp, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter '%s'.",
			    key && *key ? "value" : "key");
		return;
	}
	tags = cJSON_GetObjectItemCaseSensitive(version_get(name, version), "tags");
	cJSON_DeleteItemFromObjectCaseSensitive(tags, key);
	cJSON_AddStringToObject(tags, key, value);
	reply_json(rp, 200, cJSON_CreateObject());
}

static void set_alias(const cJSON *body, struct reply *rp)
{
	const char *name = str_field(body, "name"), *version = str_field(body, "version");
	const char *alias = str_field(body, "alias");
	cJSON *aliases;

	if (need_version(name, version, rp))
		return;
	if (!alias || !alias_valid(alias)) {
		reply_error(rp, 400, "INVALID_PARAMETER_VALUE", "Invalid alias name: '%s'.", alias ? alias : "");
		return;
	}
	aliases = cJSON_GetObjectItemCaseSensitive(model_get(name), "aliases");
	cJSON_DeleteItemFromObjectCaseSensitive(aliases, alias);
	cJSON_AddStringToObject(aliases, alias, version);
	reply_json(rp, 200, cJSON_CreateObject());
}

static void get_alias(const cJSON *query, struct reply *rp)
{
	const char *name = str_field(query, "name"), *alias = str_field(query, "alias");
	cJSON *m = model_get(name), *v, *out;

	if (!m) {
		reply_error(rp, 404, "RESOURCE_DOES_NOT_EXIST", "Registered Model with name=%s not found", name ? name : "");
		return;
	}
	v = alias ? cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "aliases"), alias) : NULL;
	if (!v) {
		reply_error(rp, 404, "RESOURCE_DOES_NOT_EXIST", "Registered model alias %s not found.", alias ? alias : "");
		return;
	}
	out = cJSON_CreateObject();
	cJSON_AddItemToObject(out, "model_version", version_json(name, v->valuestring));
	reply_json(rp, 200, out);
}

static void delete_alias(const cJSON *body, struct reply *rp)
{
	const char *name = str_field(body, "name"), *alias = str_field(body, "alias");
	cJSON *m = model_get(name);

	if (!m || !alias) {
		reply_error(rp, 404, "RESOURCE_DOES_NOT_EXIST", "Registered Model with name=%s not found", name ? name : "");
		return;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "aliases"), alias);
	reply_json(rp, 200, cJSON_CreateObject());
}

static const struct endpoint {
	const char *method;
	const char *path;             /* after API */
	int takes_body;               /* 1: JSON body; 0: query parameters */
	void (*fn)(const cJSON *args, struct reply *rp);
} endpoints[] = {
	{ "POST", "registered-models/create", 1, create_model },
	{ "GET", "registered-models/get", 0, get_model },
	{ "POST", "model-versions/create", 1, create_version },
	{ "GET", "model-versions/get", 0, get_version },
	{ "POST", "model-versions/set-tag", 1, set_tag },
	{ "POST", "registered-models/alias", 1, set_alias },
	{ "GET", "registered-models/alias", 0, get_alias },
	{ "DELETE", "registered-models/alias", 1, delete_alias },
};

/* ---------- HTTP ---------- */

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
			       const char *value)
{
	cJSON *q = cls;

	if (key && !cJSON_GetObjectItemCaseSensitive(q, key))
		cJSON_AddStringToObject(q, key, value ? value : "");
	return MHD_YES;
}

static void log_request(const char *method, const char *url, const cJSON *query,
			const struct strbuf *body, int auth)
{
	cJSON *line = cJSON_CreateObject(), *b = NULL;
	char *s;

	if (!fake.log)
		goto out;
	cJSON_AddStringToObject(line, "method", method);
	cJSON_AddStringToObject(line, "path", url);
	cJSON_AddItemToObject(line, "query", cJSON_Duplicate(query, 1));
	if (body->len)
		b = cJSON_ParseWithLength(body->buf, body->len);
	if (!b)
		b = body->len ? cJSON_CreateString(body->buf) : cJSON_CreateNull();
	cJSON_AddItemToObject(line, "body", b);
	cJSON_AddBoolToObject(line, "auth", auth);
	s = cJSON_PrintUnformatted(line);
	fprintf(fake.log, "%s\n", s);
	fflush(fake.log);
	cJSON_free(s);
out:
	cJSON_Delete(line);
}

static int auth_ok(struct MHD_Connection *conn, int *present)
{
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	struct strbuf want = STRBUF_INIT;
	int ok;

	*present = h != NULL;
	if (!fake.token)
		return 1;
	strbuf_addf(&want, "Bearer %s", fake.token);
	ok = h && !strcmp(h, want.buf);
	strbuf_release(&want);
	return ok;
}

static void handle(struct MHD_Connection *conn, const char *url, const char *method,
		   const struct strbuf *body, struct reply *rp)
{
	cJSON *query = cJSON_CreateObject(), *args = NULL;
	const char *ep = url + strlen(API);
	int known_path = 0, auth, ok;
	size_t i;

	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, add_arg, query);
	ok = auth_ok(conn, &auth);
	log_request(method, url, query, body, auth);
	if (!ok) {
		reply_error(rp, 401, "UNAUTHENTICATED", "You are not authenticated. Please provide a valid token.");
		goto out;
	}
	for (i = 0; i < fake.n_fails; i++)
		if (!strcmp(fake.fails[i].method, method) && !strcmp(fake.fails[i].endpoint, ep)) {
			if (!strcmp(fake.fails[i].code, "html")) {
				rp->status = fake.fails[i].status;
				rp->content_type = "text/html";
				strbuf_addstr(&rp->body, "<html><body><h1>Bad Gateway</h1></body></html>");
			} else {
				reply_error(rp, fake.fails[i].status, fake.fails[i].code,
					    "fake failure of %s %s", method, ep);
			}
			goto out;
		}
	for (i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++) {
		if (strcmp(endpoints[i].path, ep))
			continue;
		known_path = 1;
		if (strcmp(endpoints[i].method, method))
			continue;
		if (endpoints[i].takes_body) {
			args = body->len ? cJSON_ParseWithLength(body->buf, body->len) : NULL;
			if (!cJSON_IsObject(args)) {
				reply_error(rp, 400, "MALFORMED_REQUEST", "The request body is not a JSON object.");
				goto out;
			}
			endpoints[i].fn(args, rp);
		} else {
			endpoints[i].fn(query, rp);
		}
		goto out;
	}
	if (known_path)
		reply_error(rp, 405, "BAD_REQUEST", "Method %s not allowed for %s", method, url);
	else
		reply_error(rp, 404, "ENDPOINT_NOT_FOUND", "No API endpoint %s", url);
out:
	cJSON_Delete(args);
	cJSON_Delete(query);
}

static enum MHD_Result send_reply(struct MHD_Connection *conn, struct reply *rp)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t len = rp->body.len;
	char *buf = strbuf_detach(&rp->body, NULL);

	resp = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", rp->content_type);
	ret = MHD_queue_response(conn, rp->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version,
				 const char *upload_data, size_t *upload_data_size,
				 void **con_cls)
{
	struct strbuf *body = *con_cls;
	struct reply rp = { 200, STRBUF_INIT, "application/json" };
	enum MHD_Result ret;

	if (!body) {
		body = xmalloc(sizeof(*body));
		strbuf_init(body, 0);
		body->max = MAX_BODY;
		*con_cls = body;
		return MHD_YES;
	}
	if (*upload_data_size) {
		strbuf_add(body, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (body->overflow)
		reply_error(&rp, 413, "INVALID_PARAMETER_VALUE", "request body too large");
	else if (!strcmp(url, "/fake/state") && !strcmp(method, "GET"))
		reply_json(&rp, 200, cJSON_Duplicate(fake.models, 1));
	else if (!strncmp(url, API, strlen(API)))
		handle(conn, url, method, body, &rp);
	else
		reply_error(&rp, 404, "ENDPOINT_NOT_FOUND", "No API endpoint %s", url);
	ret = send_reply(conn, &rp);
	strbuf_release(&rp.body);
	return ret;
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct strbuf *body = *con_cls;

	if (!body)
		return;
	strbuf_release(body);
	free(body);
	*con_cls = NULL;
}

/* ---------- command line ---------- */

static int parse_fail(const char *arg)
{
	struct fail_rule *f;
	const char *colon = strchr(arg, ':'), *eq = strchr(arg, '='), *c2;
	char *end;
	long status;

	if (fake.n_fails == MAX_FAILS)
		return error("--fail: at most %d rules", MAX_FAILS);
	if (!colon || !eq || eq < colon || !(c2 = strchr(eq, ':')))
		return error("--fail: expected METHOD:ENDPOINT=CODE:STATUS, not '%s'", arg);
	status = strtol(c2 + 1, &end, 10);
	if (*end || status < 400 || status > 599)
		return error("--fail: '%s': STATUS must be 400 to 599", arg);
	f = &fake.fails[fake.n_fails++];
	f->method = xstrndup(arg, (size_t)(colon - arg));
	f->endpoint = xstrndup(colon + 1, (size_t)(eq - colon - 1));
	f->code = xstrndup(eq + 1, (size_t)(c2 - eq - 1));
	f->status = (unsigned)status;
	return 0;
}

static int write_port_file(const char *file, unsigned port)
{
	struct strbuf tmp = STRBUF_INIT;
	FILE *fp;
	int ret = 0;

	strbuf_addf(&tmp, "%s.tmp", file);
	fp = fopen(tmp.buf, "w");
	if (!fp || fprintf(fp, "%u\n", port) < 0 || fclose(fp) || rename(tmp.buf, file))
		ret = error("cannot write %s: %s", file, strerror(errno));
	strbuf_release(&tmp);
	return ret;
}

static void usage(FILE *fp)
{
	fputs("usage: fake_mlflow [--port N] [--port-file FILE] [--log FILE]\n"
	      "                   [--fail METHOD:ENDPOINT=CODE:STATUS]... [--require-token TOKEN]\n",
	      fp);
}

int main(int argc, char **argv)
{
	const char *port_file = NULL, *log_path = NULL;
	long port = 0;
	struct MHD_Daemon *d = NULL;
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	const union MHD_DaemonInfo *di;
	sigset_t sigs;
	int i, sig, ret = 2;

	fake.models = cJSON_CreateObject();
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			ret = 0;
			goto out;
		}
		if (!v) {
			usage(stderr);
			error("%s needs a value", a);
			goto out;
		}
		i++;
		if (!strcmp(a, "--port")) {
			char *end;

			port = strtol(v, &end, 10);
			if (*end || port < 0 || port > 65535) {
				error("--port: expected 0 to 65535");
				goto out;
			}
		} else if (!strcmp(a, "--port-file")) {
			port_file = v;
		} else if (!strcmp(a, "--log")) {
			log_path = v;
		} else if (!strcmp(a, "--require-token")) {
			fake.token = v;
		} else if (!strcmp(a, "--fail")) {
			if (parse_fail(v))
				goto out;
		} else {
			usage(stderr);
			error("unknown option '%s'", a);
			goto out;
		}
	}
	if (log_path && !(fake.log = fopen(log_path, "a"))) {
		error("cannot open %s: %s", log_path, strerror(errno));
		goto out;
	}
	/* the server thread inherits the blocked signals; this thread waits for them */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ret = 1;
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)port, NULL, NULL,
			     access_cb, NULL, MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&sa,
			     MHD_OPTION_NOTIFY_COMPLETED, completed_cb, NULL, MHD_OPTION_END);
	if (!d) {
		error("cannot listen on 127.0.0.1:%ld", port);
		goto out_close;
	}
	di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_LISTEN_FD);
	if (!di || getsockname(di->listen_fd, (struct sockaddr *)&sa, &salen)) {
		error("cannot find the listening port");
		goto out_stop;
	}
	if (port_file && write_port_file(port_file, ntohs(sa.sin_port)))
		goto out_stop;
	while (sigwait(&sigs, &sig))
		;
	ret = 0;
out_stop:
	MHD_stop_daemon(d);
out_close:
	if (fake.log)
		fclose(fake.log);
out:
	for (i = 0; i < (int)fake.n_fails; i++) {
		free(fake.fails[i].method);
		free(fake.fails[i].endpoint);
		free(fake.fails[i].code);
	}
	cJSON_Delete(fake.models);
	return ret;
}
