/*
 * http: the application behind its own HTTP API (SPEC 11). The request is a
 * template (template.h): a URL and a JSON body filled from each case, sent
 * with the target's own headers (never the gateway's key); the reply is read
 * by the response map (response_map.h).
 *
 * Secrets: a header value may come from the environment (${NAME}); such a
 * value, and every environment value in it, is a secret: kept only in memory
 * to be sent, redacted from every error, never stored (the cache key hashes
 * the headers as written in the config, not their values) and never
 * printed. Credentials (Authorization, Cookie, API key headers) must come
 * from the environment.
 */
#include "target.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "jsonutil.h"
#include "response_map.h"
#include "sha256.h"
#include "strbuf.h"
#include "template.h"
#include "xalloc.h"
#include "banned.h"

static const char *const http_fields[] = { "request", "response", "stream", "prompt", NULL };
static const char *const request_keys[] = { "method", "url", "headers", "body", NULL };

/* headers that carry credentials: their values must come from the environment */
static const char *const credential_headers[] = { "authorization", "proxy-authorization",
						  "cookie", "x-api-key", "api-key", NULL };
/* headers evalgate writes itself */
static const char *const reserved_headers[] = { "content-length", "transfer-encoding", "host",
						"expect", NULL };

struct http_ctx {
	enum target_method method;
	char *url;                   /* expanded from the environment, tags not filled */
	struct tmpl url_tmpl;
	int has_body;
	struct tmpl body;
	struct eg_header *headers;   /* expanded values: secrets among them */
	size_t n_headers;
	char **secrets;              /* values never to show */
	size_t n_secrets;
	char *headers_key;           /* the headers as written, canonical JSON, for the cache key */
	struct response_map map;
	int stream;                  /* "stream": true: replies come as Server-Sent Events */
};

static int in_list(const char *const *list, const char *name)
{
	for (; *list; list++)
		if (!strcasecmp(*list, name))
			return 1;
	return 0;
}

static int parse_headers(struct http_ctx *x, const struct jdoc *d, const cJSON *h)
{
	const cJSON *c;
	char *canon;

	if (!h)
		return 0;
	if (!cJSON_IsObject(h))
		return jdoc_error(d, h, "target.request.headers", "expected an object of strings");
	x->headers = xcalloc((size_t)cJSON_GetArraySize(h) + 1, sizeof(*x->headers));
	cJSON_ArrayForEach(c, h) {
		struct eg_header *hd = &x->headers[x->n_headers];
		size_t first_secret = x->n_secrets;
		int from_env;

		if (!cJSON_IsString(c) || !config_header_ok(c->string, c->valuestring))
			return jdoc_error(d, c, "target.request.headers",
					  "'%s': expected a header name and a one-line string value",
					  c->string);
		if (in_list(reserved_headers, c->string) || !strncasecmp(c->string, "x-evalgate-", 11))
			return jdoc_error(d, c, "target.request.headers",
					  "'%s': evalgate sets this header itself", c->string);
		from_env = strstr(c->valuestring, "${") != NULL;
		if (in_list(credential_headers, c->string) && !from_env)
			return jdoc_error(d, c, "target.request.headers",
					  "'%s': take the credential from the environment "
					  "(\"${NAME}\"), never write it in the config", c->string);
		hd->value = config_expand_env(d, c, "target.request.headers", c->valuestring,
					      &x->secrets, &x->n_secrets);
		if (!hd->value)
			return -1;
		hd->name = xstrdup(c->string);
		x->n_headers++;
		if (!config_header_ok(hd->name, hd->value))
			return jdoc_error(d, c, "target.request.headers",
					  "'%s': the expanded value spans lines", c->string);
		/* the whole value too: a server may echo "Bearer <token>" */
		if (from_env && x->n_secrets > first_secret) {
			x->secrets = xrealloc(x->secrets, (x->n_secrets + 1) * sizeof(*x->secrets));
			x->secrets[x->n_secrets++] = xstrdup(hd->value);
		}
	}
	canon = json_canonical(h);
	x->headers_key = canon;
	return 0;
}

/* request of the target object obj */
static int parse_request(struct http_ctx *x, const struct jdoc *d, const cJSON *obj,
			 const cJSON *rq)
{
	const char *method = "POST", *url = NULL;
	const cJSON *body;

	if (!cJSON_IsObject(rq))
		return jdoc_error(d, rq ? rq : obj, "target.request",
				  rq ? "expected an object {method, url, headers, body}"
				     : "missing (an http target needs request.url)");
	if (jdoc_check_keys(d, rq, "target.request.", request_keys) ||
	    jdoc_string(d, rq, "target.request.", "method", 0, &method) ||
	    jdoc_string(d, rq, "target.request.", "url", 1, &url))
		return -1;
	if (!strcasecmp(method, "POST"))
		x->method = TARGET_POST;
	else if (!strcasecmp(method, "GET"))
		x->method = TARGET_GET;
	else
		return jdoc_error(d, cJSON_GetObjectItem(rq, "method"), "target.request.method",
				  "'%s': expected POST or GET", method);
	x->url = config_expand_env(d, cJSON_GetObjectItem(rq, "url"), "target.request.url", url,
				   NULL, NULL);
	if (!x->url)
		return -1;
	if (strncmp(x->url, "http://", 7) && strncmp(x->url, "https://", 8))
		return jdoc_error(d, cJSON_GetObjectItem(rq, "url"), "target.request.url",
				  "expected an http:// or https:// URL, not '%s'", url);
	if (tmpl_compile_url(&x->url_tmpl, d, cJSON_GetObjectItem(rq, "url"), "target.request.url",
			     x->url))
		return -1;
	body = cJSON_GetObjectItemCaseSensitive(rq, "body");
	if (body && x->method == TARGET_GET)
		return jdoc_error(d, body, "target.request.body",
				  "a GET request has no body (put the case's values in the url)");
	if (body) {
		if (tmpl_compile_json(&x->body, d, body, "target.request.body"))
			return -1;
		x->has_body = 1;
	}
	return parse_headers(x, d, cJSON_GetObjectItemCaseSensitive(rq, "headers"));
}

/* response of the target object obj */
static int parse_response(struct http_ctx *x, const struct jdoc *d, const cJSON *obj,
			  const cJSON *rs)
{
	const cJSON *c;

	if (!cJSON_IsObject(rs))
		return jdoc_error(d, rs ? rs : obj, "target.response",
				  rs ? "expected an object of JSON Pointers"
				     : "missing (an http target needs response.output)");
	cJSON_ArrayForEach(c, rs) {
		struct strbuf err = STRBUF_INIT;
		char field[160];
		int rc;

		snprintf(field, sizeof(field), "target.response.%.120s", c->string);
		if (!cJSON_IsString(c)) {
			strbuf_release(&err);
			return jdoc_error(d, c, field, "expected a JSON Pointer string such as \"/answer\"");
		}
		rc = response_map_set(&x->map, c->string, c->valuestring, &err);
		if (rc)
			jdoc_error(d, c, field, "%s", err.buf);
		strbuf_release(&err);
		if (rc)
			return -1;
	}
	if (!x->map.set[RESP_OUTPUT])
		return jdoc_error(d, rs, "target.response.output",
				  "missing (the pointer to the answer, e.g. \"/answer\")");
	return 0;
}

static void http_release(struct target *t)
{
	struct http_ctx *x = t->ctx;
	size_t i;

	if (!x)
		return;
	free(x->url);
	tmpl_release(&x->url_tmpl);
	tmpl_release(&x->body);
	for (i = 0; i < x->n_headers; i++) {
		free(x->headers[i].name);
		explicit_bzero(x->headers[i].value, strlen(x->headers[i].value));
		free(x->headers[i].value);
	}
	free(x->headers);
	for (i = 0; i < x->n_secrets; i++) {
		explicit_bzero(x->secrets[i], strlen(x->secrets[i]));
		free(x->secrets[i]);
	}
	free(x->secrets);
	free(x->headers_key);
	response_map_release(&x->map);
	free(x);
	t->ctx = NULL;
}

static int http_parse(struct target *t, const struct jdoc *d, const cJSON *obj)
{
	struct http_ctx *x = xcalloc(1, sizeof(*x));

	t->ctx = x;
	if (jdoc_bool(d, obj, "target.", "stream", &x->stream))
		return -1;
	if (parse_request(x, d, obj, cJSON_GetObjectItemCaseSensitive(obj, "request")) ||
	    parse_response(x, d, obj, cJSON_GetObjectItemCaseSensitive(obj, "response")))
		return -1;
	return 0;
}

static int http_build_request(const struct target *t, const struct target_input *in,
			      struct target_request *out, struct strbuf *err)
{
	const struct http_ctx *x = t->ctx;
	struct strbuf url = STRBUF_INIT, body = STRBUF_INIT;

	memset(out, 0, sizeof(*out));
	if (tmpl_render(&x->url_tmpl, in->kase, &url, err) ||
	    (x->has_body && tmpl_render(&x->body, in->kase, &body, err))) {
		strbuf_release(&url);
		strbuf_release(&body);
		return -1;
	}
	out->method = x->method;
	out->stream = x->stream;
	out->url = strbuf_detach(&url, NULL);
	if (x->method == TARGET_POST)
		out->body = strbuf_detach(&body, &out->body_len);
	strbuf_release(&body);
	return 0;
}

static enum target_parse http_parse_reply(const struct target *t, const char *body, size_t len,
					  struct target_reply *out, struct strbuf *why)
{
	const struct http_ctx *x = t->ctx;

	return response_map_apply(&x->map, body, len, out, why);
}

/*
 * A streamed reply (SPEC 11): the events' text (OpenAI chunks' content, or
 * plain data lines concatenated) is the body the response map reads when it
 * is JSON; otherwise it is the answer itself. Usage from OpenAI chunks stays
 * unless the map gives its own.
 */
static enum target_parse http_parse_stream(const struct target *t, struct target_reply *r,
					   struct strbuf *why)
{
	const struct http_ctx *x = t->ctx;
	struct target_reply mapped;
	enum target_parse rc;
	cJSON *j = cJSON_ParseWithLength(r->output, r->output_len);
	int is_json = j != NULL;

	cJSON_Delete(j);
	if (!is_json)
		return TARGET_REPLY_OK;
	target_reply_init(&mapped);
	rc = response_map_apply(&x->map, r->output, r->output_len, &mapped, why);
	if (rc == TARGET_REPLY_OK) {
		if (mapped.prompt_tokens < 0)
			mapped.prompt_tokens = r->prompt_tokens;
		if (mapped.completion_tokens < 0)
			mapped.completion_tokens = r->completion_tokens;
		if (!mapped.finish_reason && r->finish_reason) {
			mapped.finish_reason = r->finish_reason;
			r->finish_reason = NULL;
		}
		target_reply_move(r, &mapped);
	}
	target_reply_release(&mapped);
	return rc;
}

/* the type, the method, the rendered URL and body, and the headers as written */
static void http_cache_key(const struct target *t, const struct target_request *rq, char out[65])
{
	const struct http_ctx *x = t->ctx;
	struct sha256 h;
	unsigned char dig[32];
	const char *m = rq->method == TARGET_GET ? "GET " : "POST ";

	sha256_init(&h);
	sha256_update(&h, "http\n", 5);
	sha256_update(&h, m, strlen(m));
	sha256_update(&h, rq->url, strlen(rq->url));
	sha256_update(&h, "\n", 1);
	if (x->headers_key)
		sha256_update(&h, x->headers_key, strlen(x->headers_key));
	sha256_update(&h, "\n", 1);
	if (rq->body)
		sha256_update(&h, rq->body, rq->body_len);
	sha256_final(&h, dig);
	sha256_to_hex(dig, out);
}

static void http_headers(const struct target *t, const struct eg_header **headers, size_t *n,
			 const char *const **secrets, size_t *n_secrets)
{
	const struct http_ctx *x = t->ctx;

	*headers = x->headers;
	*n = x->n_headers;
	*secrets = (const char *const *)x->secrets;
	*n_secrets = x->n_secrets;
}

static void http_describe(const struct target *t, struct strbuf *out)
{
	const struct http_ctx *x = t->ctx;

	strbuf_addf(out, "(http) %s %s", x->method == TARGET_GET ? "GET" : "POST", x->url);
}

const struct target_type target_http = {
	.name = "http",
	.fields = http_fields,
	.parse = http_parse,
	.release = http_release,
	.build_request = http_build_request,
	.parse_reply = http_parse_reply,
	.parse_stream = http_parse_stream,
	.cache_key = http_cache_key,
	.http_headers = http_headers,
	.describe = http_describe,
};
