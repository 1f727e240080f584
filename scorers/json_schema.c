/*
 * json-schema: the output is JSON valid against a JSON Schema.
 *
 * {"type": "json-schema", "schema": {"type": "object", "required": ["id"]}}
 * {"type": "json-schema", "schema": "schemas/order.json"}
 *
 *   schema  an inline schema (an object or a boolean), or the path of a
 *           schema file, relative to the directory of the file the scorer
 *           is declared in (suite.json or cases.jsonl)
 *
 * The schema is compiled once, at load; a schema that does not compile is
 * a load error (so `evalgate validate` reports it). The validator is
 * valijson (json_schema_shim.h). The output is read as the json scorer
 * reads it (whitespace and a Markdown code fence are tolerated). An output
 * that is not JSON fails; a failing output's reason names the JSON Pointer
 * of the offending value and the keyword it broke. An output nested deeper
 * than EG_SCHEMA_MAX_DEPTH, or with a string longer than
 * EG_SCHEMA_PATTERN_MAX under a schema with patterns, is an
 * error: no verdict is reached.
 */
#include <stdlib.h>
#include <string.h>

#include "json_schema_shim.h"
#include "jsonutil.h"
#include "jsonw.h"
#include "scorer.h"
#include "strbuf.h"
#include "types.h"
#include "xalloc.h"
#include "banned.h"

/* largest schema file read */
#define SCHEMA_FILE_MAX (16u << 20)
/* longest validator message quoted in a reason, in bytes */
#define SCHEMA_WHY_MAX 240

static const char *const json_schema_fields[] = { "schema", NULL };

/* the schema file's path: relative to the directory of the declaring file */
static void schema_path(struct strbuf *path, const char *decl, const char *name)
{
	const char *slash = decl ? strrchr(decl, '/') : NULL;

	if (name[0] != '/' && slash)
		strbuf_add(path, decl, (size_t)(slash - decl) + 1);
	strbuf_addstr(path, name);
}

static int json_schema_init(struct scorer *s, const cJSON *spec, const struct eg_loc *loc)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(spec, "schema");
	struct strbuf text = STRBUF_INIT, path = STRBUF_INIT, q = STRBUF_INIT;
	struct eg_schema *schema;
	char *why = NULL;
	int ret = -1;

	if (!v)
		return scorer_error(loc, "json-schema", "missing required field \"schema\"");
	if (cJSON_IsString(v) && v->valuestring) {
		if (!*v->valuestring)
			return scorer_error(loc, "json-schema", "field \"schema\" must not be empty");
		schema_path(&path, loc ? loc->file : NULL, v->valuestring);
		esc_visible(&q, path.buf, path.len, SCORER_QUOTE_MAX);
		if (read_file(path.buf, &text, SCHEMA_FILE_MAX)) {
			scorer_error(loc, "json-schema", "cannot read schema file \"%s\"", q.buf);
			goto out_release;
		}
	} else if (cJSON_IsObject(v) || cJSON_IsBool(v)) {
		char *printed = jsonw_print(v, 0);
		strbuf_addstr(&text, printed);
		free(printed);
	} else {
		scorer_error(loc, "json-schema",
			     "field \"schema\" must be an object, a boolean or a file path, not %s",
			     json_kind(v));
		goto out_release;
	}

	schema = eg_schema_compile(text.buf, text.len, &why);
	if (!schema) {
		struct strbuf w = STRBUF_INIT;
		esc_visible(&w, why, strlen(why), SCHEMA_WHY_MAX);
		if (path.len)
			scorer_error(loc, "json-schema", "schema file \"%s\": %s", q.buf, w.buf);
		else
			scorer_error(loc, "json-schema", "field \"schema\": %s", w.buf);
		strbuf_release(&w);
		goto out_free_why;
	}
	s->ctx = schema;
	ret = 0;

out_free_why:
	free(why);
out_release:
	strbuf_release(&q);
	strbuf_release(&path);
	strbuf_release(&text);
	return ret;
}

static void json_schema_release(struct scorer *s)
{
	eg_schema_free(s->ctx);
	s->ctx = NULL;
}

static enum score_status json_schema_score(const struct scorer *s, struct score_job *job,
					   struct score_result *out)
{
	const char *b = job->output ? job->output : "";
	const char *e = b + (job->output ? job->output_len : 0);
	struct strbuf r = STRBUF_INIT;
	char *why = NULL;

	scorer_json_unfence(&b, &e);
	if (b == e) {
		out->reason = xstrdup("output is empty, expected JSON");
		return SCORE_DONE;
	}
	switch (eg_schema_validate(s->ctx, b, (size_t)(e - b), &why)) {
	case EG_SCHEMA_VALID:
		out->pass = 1;
		out->score = 1;
		strbuf_addstr(&r, "output matches the schema");
		break;
	case EG_SCHEMA_INVALID:
		strbuf_addstr(&r, "output does not match the schema: ");
		break;
	case EG_SCHEMA_NOT_JSON:
		strbuf_addstr(&r, "output is ");
		break;
	case EG_SCHEMA_ERROR:
		out->error = 1;
		strbuf_addstr(&r, "no verdict: ");
		break;
	}
	if (why)
		esc_visible(&r, why, strlen(why), SCHEMA_WHY_MAX);
	free(why);
	out->reason = strbuf_detach(&r, NULL);
	return SCORE_DONE;
}

const struct scorer_type scorer_json_schema = {
	.name = "json-schema",
	.init = json_schema_init,
	.score = json_schema_score,
	.release = json_schema_release,
	.fields = json_schema_fields,
};
