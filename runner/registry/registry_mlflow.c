/*
 * registry_mlflow: the MLflow Model Registry backend (REST API 2.0).
 *
 * URL: mlflow+http(s)://HOST[:PORT][/PREFIX][?db=PATH]. Requests go to
 * BASE/api/2.0/mlflow/ENDPOINT: GET with query parameters, POST with a JSON
 * body, one libcurl easy handle per registry. A bearer token is taken from
 * MLFLOW_TRACKING_TOKEN when set; it is never printed. MLflow's error JSON
 * ({"error_code", "message"}) is reported as "mlflow METHOD ENDPOINT:
 * CODE: message (HTTP status)"; every MLflow or transport failure is an
 * infrastructure error (EG_ERR_INFRA, exit 3).
 *
 * The requests, in order:
 *   register NAME V: POST registered-models/create (RESOURCE_ALREADY_EXISTS
 *     is fine), GET model-versions/get; when absent POST model-versions/create
 *   promote:  GET model-versions/get, GET registered-models/alias (the old
 *     holder), POST model-versions/set-tag for evalgate.run_id,
 *     evalgate.verdict and evalgate.suites, POST registered-models/alias
 *   alias:    GET registered-models/alias
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "curl_load.h"
#include "error.h"
#include "escape.h"
#include "jsonw.h"
#include "registry.h"
#include "registry_backend.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

#define MLFLOW_DB_DEFAULT ".evalgate/registry-mlflow.db"
#define MAX_REPLY_BYTES (4u << 20)
#define TIMEOUT_S 30L
#define CONNECT_TIMEOUT_S 10L
#define MAX_TAG_VALUE 5000    /* MLflow's limit on a tag value */

struct mlflow {
	char *base;               /* http(s)://host[:port][/prefix], no trailing slash */
	CURL *curl;               /* reused between requests */
};

struct mlflow_reply {
	long status;              /* HTTP status, 0 when none arrived */
	cJSON *json;              /* the parsed body, or NULL */
	char code[64];            /* MLflow's error_code, "" when none */
	struct strbuf msg;        /* what went wrong, for people */
	int unreachable;          /* no connection could be made: the server is down or unknown */
};

static void reply_init(struct mlflow_reply *rp)
{
	memset(rp, 0, sizeof(*rp));
	strbuf_init(&rp->msg, 0);
}

static void reply_release(struct mlflow_reply *rp)
{
	cJSON_Delete(rp->json);
	strbuf_release(&rp->msg);
	reply_init(rp);
}

static size_t write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct strbuf *sb = arg;

	strbuf_add(sb, data, size * n);
	return sb->overflow ? 0 : size * n;
}

/*
 * One request. query: NULL-terminated key, value pairs for GET; body: JSON
 * for POST. Returns 0 on a 2xx reply, 1 when MLflow answered an error
 * (rp->code, rp->msg), -1 when no usable reply came (rp->msg).
 */
static int mlflow_call(struct mlflow *m, const char *method, const char *endpoint,
		       const char *const *query, const cJSON *body, struct mlflow_reply *rp)
{
	struct strbuf url = STRBUF_INIT, resp = STRBUF_INIT, auth = STRBUF_INIT;
	struct curl_slist *hdrs = NULL;
	const char *token = getenv("MLFLOW_TRACKING_TOKEN");
	char errbuf[CURL_ERROR_SIZE] = "";
	char *text = NULL;
	CURLcode cc;
	int ret = -1;
	size_t i;

	reply_release(rp);
	resp.max = MAX_REPLY_BYTES;
	strbuf_addf(&url, "%s/api/2.0/mlflow/%s", m->base, endpoint);
	for (i = 0; query && query[i]; i += 2) {
		char *k = curl_easy_escape(m->curl, query[i], 0);
		char *v = curl_easy_escape(m->curl, query[i + 1], 0);

		strbuf_addf(&url, "%c%s=%s", i ? '&' : '?', k ? k : "", v ? v : "");
		curl_free(k);
		curl_free(v);
	}
	curl_easy_reset(m->curl);
	curl_easy_setopt(m->curl, CURLOPT_URL, url.buf);
	curl_easy_setopt(m->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(m->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(m->curl, CURLOPT_TIMEOUT, TIMEOUT_S);
	curl_easy_setopt(m->curl, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
	curl_easy_setopt(m->curl, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(m->curl, CURLOPT_WRITEDATA, &resp);
	curl_easy_setopt(m->curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(m->curl, CURLOPT_USERAGENT, "evalgate/" EG_VERSION);
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	if (token && *token) {
		strbuf_addf(&auth, "Authorization: Bearer %s", token);
		hdrs = curl_slist_append(hdrs, auth.buf);
	}
	if (body) {
		text = jsonw_print(body, 0);
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(m->curl, CURLOPT_POSTFIELDS, text);
		curl_easy_setopt(m->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(text));
	}
	if (strcmp(method, body ? "POST" : "GET"))
		curl_easy_setopt(m->curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(m->curl, CURLOPT_HTTPHEADER, hdrs);
	verbose("mlflow: %s %s", method, url.buf);

	cc = curl_easy_perform(m->curl);
	if (cc != CURLE_OK) {
		if (resp.overflow)
			strbuf_addf(&rp->msg, "the reply is over %u bytes", MAX_REPLY_BYTES);
		else
			strbuf_addf(&rp->msg, "%s", *errbuf ? errbuf : curl_easy_strerror(cc));
		rp->unreachable = cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
				  cc == CURLE_COULDNT_RESOLVE_PROXY;
		goto out;
	}
	curl_easy_getinfo(m->curl, CURLINFO_RESPONSE_CODE, &rp->status);
	rp->json = cJSON_ParseWithLength(resp.buf, resp.len);
	if (rp->status >= 200 && rp->status < 300) {
		if (!cJSON_IsObject(rp->json)) {
			strbuf_addf(&rp->msg, "the reply is not a JSON object (HTTP %ld)",
				    rp->status);
			goto out;
		}
		ret = 0;
		goto out;
	}
	{
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(rp->json, "error_code");
		const cJSON *msg = cJSON_GetObjectItemCaseSensitive(rp->json, "message");

		if (cJSON_IsString(code)) {
			struct strbuf c = STRBUF_INIT;
			size_t n;

			esc_visible(&c, code->valuestring, strlen(code->valuestring),
				    sizeof(rp->code) - 4);
			n = esc_utf8_cut(c.buf, c.len, sizeof(rp->code) - 1);
			memcpy(rp->code, c.buf, n);
			rp->code[n] = '\0';
			strbuf_release(&c);
		}
		strbuf_addf(&rp->msg, "%s: ", *rp->code ? rp->code : "error");
		if (cJSON_IsString(msg))
			esc_visible(&rp->msg, msg->valuestring, strlen(msg->valuestring), 500);
		else if (!rp->json && resp.len)
			esc_visible(&rp->msg, resp.buf, resp.len, 200);
		else if (!rp->json)
			strbuf_addstr(&rp->msg, "(empty reply)");
		else
			strbuf_addstr(&rp->msg, "(no message)");
		strbuf_addf(&rp->msg, " (HTTP %ld)", rp->status);
		ret = 1;
	}
out:
	curl_slist_free_all(hdrs);
	free(text);
	strbuf_release(&auth);
	strbuf_release(&url);
	strbuf_release(&resp);
	return ret;
}

/* report a failed call; returns EG_ERR_INFRA */
static int call_failed(struct registry *r, const char *method, const char *endpoint,
		       const struct mlflow_reply *rp)
{
	const struct mlflow *m = r->ctx;

	if (rp->unreachable)
		error("mlflow %s %s: the MLflow server at %s could not be reached: %s", method,
		      endpoint, m->base, rp->msg.buf);
	else
		error("mlflow %s %s at %s: %s", method, endpoint, m->base, rp->msg.buf);
	return EG_ERR_INFRA;
}

static int version_ok(const char *version)
{
	const char *p;

	for (p = version; isdigit((unsigned char)*p); p++)
		;
	if (*version && !*p && strlen(version) < 19)
		return 0;
	error("mlflow: version '%s': MLflow model versions are numbers (1, 2, ...)", version);
	return EG_ERR_USAGE;
}

static int mlflow_open(struct registry *r, const char *rest)
{
	struct mlflow *m = xcalloc(1, sizeof(*m));
	const char *q = strchr(rest, '?'), *host;
	size_t len = q ? (size_t)(q - rest) : strlen(rest);

	r->ctx = m;
	host = strstr(rest, "://") + 3;  /* registry_open checked the scheme */
	if (host >= rest + len || *host == '/')
		return error("registry '%s': no host in the URL", r->url);
	while (len && rest[len - 1] == '/')
		len--;
	m->base = xstrndup(rest, len);
	if (q) {
		if (strncmp(q, "?db=", 4) || !q[4])
			return error("registry '%s': the only parameter is ?db=PATH", r->url);
		r->db_path = xstrdup(q + 4);
	} else {
		r->db_path = xstrdup(MLFLOW_DB_DEFAULT);
	}
	if (eg_curl_load())
		return -1;
	m->curl = curl_easy_init();
	if (!m->curl)
		return error("mlflow: cannot initialise libcurl");
	return 0;
}

static void mlflow_close(struct registry *r)
{
	struct mlflow *m = r->ctx;

	if (!m)
		return;
	if (m->curl)
		curl_easy_cleanup(m->curl);
	free(m->base);
	free(m);
	r->ctx = NULL;
}

/* GET model-versions/get: 0 found, EG_ERR_NOT_FOUND for RESOURCE_DOES_NOT_EXIST, else an error */
static int get_version(struct registry *r, const char *name, const char *version,
		       struct mlflow_reply *rp)
{
	const char *const query[] = { "name", name, "version", version, NULL };
	int rc = mlflow_call(r->ctx, "GET", "model-versions/get", query, NULL, rp);

	if (rc == 1 && !strcmp(rp->code, "RESOURCE_DOES_NOT_EXIST"))
		return EG_ERR_NOT_FOUND;
	if (rc)
		return call_failed(r, "GET", "model-versions/get", rp);
	return EG_OK;
}

static int mlflow_register(struct registry *r, const char *name, const char *version,
			   const char *meta, int *created)
{
	struct mlflow_reply rp;
	cJSON *body = cJSON_CreateObject(), *mj = NULL;
	const cJSON *src, *got;
	struct strbuf source = STRBUF_INIT;
	int rc;

	*created = 0;
	reply_init(&rp);
	rc = version_ok(version);
	if (rc)
		goto out;
	cJSON_AddStringToObject(body, "name", name);
	rc = mlflow_call(r->ctx, "POST", "registered-models/create", NULL, body, &rp);
	if (rc == 1 && !strcmp(rp.code, "RESOURCE_ALREADY_EXISTS"))
		rc = 0;
	if (rc) {
		rc = call_failed(r, "POST", "registered-models/create", &rp);
		goto out;
	}
	rc = get_version(r, name, version, &rp);
	if (rc == EG_ERR_NOT_FOUND) {
		/* MLflow numbers new versions itself: create, then check the number */
		mj = meta ? cJSON_Parse(meta) : NULL;
		src = cJSON_GetObjectItemCaseSensitive(mj, "source");
		if (cJSON_IsString(src) && *src->valuestring)
			strbuf_addstr(&source, src->valuestring);
		else
			strbuf_addf(&source, "evalgate:%s/%s", name, version);
		cJSON_AddStringToObject(body, "source", source.buf);
		rc = mlflow_call(r->ctx, "POST", "model-versions/create", NULL, body, &rp);
		if (rc) {
			rc = call_failed(r, "POST", "model-versions/create", &rp);
			goto out;
		}
		got = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(rp.json, "model_version"), "version");
		if (!cJSON_IsString(got) || version_ok(got->valuestring)) {
			error("mlflow POST model-versions/create: the reply has no model_version.version");
			rc = EG_ERR_INFRA;
			goto out;
		}
		if (strcmp(got->valuestring, version)) {
			error("mlflow numbered the new version of %s %s, not %s (MLflow assigns "
			      "version numbers; register %s %s to record it)", name,
			      got->valuestring, version, name, got->valuestring);
			rc = EG_ERR_USAGE;
			goto out;
		}
	} else if (rc) {
		goto out;
	}
	rc = regdb_put_version(r, name, version, meta, created) ? EG_ERR_USAGE : EG_OK;
out:
	cJSON_Delete(mj);
	cJSON_Delete(body);
	strbuf_release(&source);
	reply_release(&rp);
	return rc;
}

static int mlflow_ensure(struct registry *r, const char *name, const char *version)
{
	struct mlflow_reply rp;
	int rc, created;

	reply_init(&rp);
	rc = version_ok(version);
	if (!rc)
		rc = get_version(r, name, version, &rp);
	if (rc == EG_ERR_NOT_FOUND) {
		error("mlflow: %s version %s is not in the MLflow registry at %s: %s", name,
		      version, ((struct mlflow *)r->ctx)->base, rp.msg.buf);
		rc = EG_ERR_INFRA;
	}
	if (!rc && regdb_put_version(r, name, version, NULL, &created))
		rc = EG_ERR_USAGE;
	reply_release(&rp);
	return rc;
}

static int mlflow_get_alias(struct registry *r, const char *name, const char *alias,
			    char **version)
{
	const char *const query[] = { "name", name, "alias", alias, NULL };
	struct mlflow_reply rp;
	const cJSON *v;
	int rc;

	*version = NULL;
	reply_init(&rp);
	rc = mlflow_call(r->ctx, "GET", "registered-models/alias", query, NULL, &rp);
	if (rc == 1 && !strcmp(rp.code, "RESOURCE_DOES_NOT_EXIST")) {
		rc = EG_ERR_NOT_FOUND;
		goto out;
	}
	if (rc) {
		rc = call_failed(r, "GET", "registered-models/alias", &rp);
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(rp.json, "model_version"), "version");
	if (!cJSON_IsString(v) || !*v->valuestring || strlen(v->valuestring) > 64) {
		error("mlflow GET registered-models/alias: the reply has no model_version.version");
		rc = EG_ERR_INFRA;
		goto out;
	}
	*version = xstrdup(v->valuestring);
	rc = EG_OK;
out:
	reply_release(&rp);
	return rc;
}

static int set_tag(struct registry *r, const struct promote_req *req, const char *key,
		   const char *value, struct mlflow_reply *rp)
{
	cJSON *body = cJSON_CreateObject();
	char *v = xstrndup(value, strnlen(value, MAX_TAG_VALUE));
	int rc;

	cJSON_AddStringToObject(body, "name", req->name);
	cJSON_AddStringToObject(body, "version", req->version);
	cJSON_AddStringToObject(body, "key", key);
	cJSON_AddStringToObject(body, "value", v);
	rc = mlflow_call(r->ctx, "POST", "model-versions/set-tag", NULL, body, rp);
	if (rc)
		rc = call_failed(r, "POST", "model-versions/set-tag", rp);
	cJSON_Delete(body);
	free(v);
	return rc;
}

static int mlflow_set_alias(struct registry *r, const struct promote_req *req,
			    const struct promo_check *ev, char **previous)
{
	struct mlflow_reply rp;
	cJSON *body = NULL;
	char *local_prev = NULL;
	int rc;

	*previous = NULL;
	reply_init(&rp);
	rc = mlflow_get_alias(r, req->name, req->alias, previous);
	if (rc == EG_ERR_NOT_FOUND)
		rc = EG_OK;
	if (rc)
		goto out;
	if ((rc = set_tag(r, req, "evalgate.run_id", ev->run_id ? ev->run_id : "none", &rp)) ||
	    (rc = set_tag(r, req, "evalgate.verdict",
			  ev->allowed ? (req->bootstrap ? "bootstrap" : ev->verdict ? ev->verdict : "none")
				  : "forced", &rp)) ||
	    (rc = set_tag(r, req, "evalgate.suites", ev->suites ? ev->suites : "", &rp)))
		goto out;
	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "name", req->name);
	cJSON_AddStringToObject(body, "alias", req->alias);
	cJSON_AddStringToObject(body, "version", req->version);
	rc = mlflow_call(r->ctx, "POST", "registered-models/alias", NULL, body, &rp);
	if (rc) {
		rc = call_failed(r, "POST", "registered-models/alias", &rp);
		goto out;
	}
	/* the local record mirrors what MLflow now holds */
	if (regdb_set_alias(r, req->name, req->alias, req->version, ev->run_id, &local_prev))
		rc = EG_ERR_USAGE;
out:
	free(local_prev);
	cJSON_Delete(body);
	reply_release(&rp);
	return rc;
}

const struct registry_backend registry_mlflow_backend = {
	.name = "mlflow",
	.open = mlflow_open,
	.close = mlflow_close,
	.register_version = mlflow_register,
	.ensure_version = mlflow_ensure,
	.get_alias = mlflow_get_alias,
	.set_alias = mlflow_set_alias,
};
