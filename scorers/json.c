/*
 * json: the output parses as JSON, and optionally has the keys and values
 * asked for.
 *
 * {"type": "json", "required": ["id", "total"], "path": "items.0.sku",
 *  "equals": "A-1"}
 *
 * Surrounding whitespace and a Markdown code fence (```json ... ```) around
 * the output are tolerated; anything else after the value is an error.
 *   required  keys that must be present in the top-level object
 *   path      dotted path from the top: object keys, or array indexes where
 *             the value is an array ("a.b.0.c"); alone it must exist
 *   equals    any JSON value the path's value (or, without a path, the whole
 *             output) must equal, compared by value, strings case-sensitive
 * Keys containing dots cannot be reached by a path.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "jsonw.h"
#include "scorer.h"
#include "strbuf.h"
#include "types.h"
#include "xalloc.h"
#include "banned.h"

struct json_seg {
	char *key;  /* the segment as written */
	long index; /* its value when all digits and small enough, else -1 */
};

struct json_ctx {
	char **required;       /* top-level keys */
	size_t n_required;
	char *path;            /* as written, or NULL */
	struct json_seg *segs; /* path split on dots */
	size_t n_segs;
	cJSON *equals;         /* expected value, or NULL */
	char *equals_shown;    /* equals printed and quoted for reasons */
};

static const char *const json_fields[] = { "required", "path", "equals", NULL };

static void json_release(struct scorer *s)
{
	struct json_ctx *ctx = s->ctx;
	size_t i;

	if (!ctx)
		return;
	for (i = 0; i < ctx->n_required; i++)
		free(ctx->required[i]);
	free(ctx->required);
	for (i = 0; i < ctx->n_segs; i++)
		free(ctx->segs[i].key);
	free(ctx->segs);
	free(ctx->path);
	cJSON_Delete(ctx->equals);
	free(ctx->equals_shown);
	free(ctx);
	s->ctx = NULL;
}

static long seg_index(const char *k)
{
	const char *p;
	long v;
	char *end;

	for (p = k; *p; p++)
		if (*p < '0' || *p > '9')
			return -1;
	errno = 0;
	v = strtol(k, &end, 10);
	if (errno || v > 0x7fffffffL)
		return -1;
	return v;
}

static int parse_path(struct json_ctx *ctx, const char *path, const struct eg_loc *loc)
{
	const char *p = path;
	size_t alloc = 0;

	for (;;) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		struct json_seg *seg;

		if (!n) {
			struct strbuf q = STRBUF_INIT;
			esc_visible(&q, path, strlen(path), SCORER_QUOTE_MAX);
			scorer_error(loc, "json", "field \"path\" has an empty segment in \"%s\"",
				     q.buf);
			strbuf_release(&q);
			return -1;
		}
		XGROW(ctx->segs, ctx->n_segs + 1, alloc);
		seg = &ctx->segs[ctx->n_segs++];
		seg->key = xstrndup(p, n);
		seg->index = seg_index(seg->key);
		if (!dot)
			break;
		p = dot + 1;
	}
	return 0;
}

static void quote_json(struct strbuf *sb, const cJSON *v)
{
	char *text = jsonw_print(v, 0);

	esc_visible(sb, text, strlen(text), SCORER_QUOTE_MAX);
	free(text);
}

static int json_init(struct scorer *s, const cJSON *spec, const struct eg_loc *loc)
{
	const cJSON *req = cJSON_GetObjectItemCaseSensitive(spec, "required");
	const cJSON *eq = cJSON_GetObjectItemCaseSensitive(spec, "equals");
	const char *path = NULL;
	struct json_ctx *ctx;
	const cJSON *k;
	size_t i = 0;

	if (scorer_spec_opt_string(spec, "path", loc, "json", &path))
		return -1;
	if (req && !cJSON_IsArray(req))
		return scorer_error(loc, "json", "field \"required\" must be an array of key names");
	if (path && !*path)
		return scorer_error(loc, "json", "field \"path\" must not be empty");

	ctx = xcalloc(1, sizeof(*ctx));
	s->ctx = ctx;
	if (req) {
		ctx->required = xcalloc((size_t)cJSON_GetArraySize(req) + 1,
					sizeof(*ctx->required));
		cJSON_ArrayForEach(k, req) {
			if (!cJSON_IsString(k) || !k->valuestring || !*k->valuestring) {
				scorer_error(loc, "json",
					     "field \"required\": item %zu must be a non-empty string",
					     i + 1);
				goto out_release;
			}
			ctx->required[ctx->n_required++] = xstrdup(k->valuestring);
			i++;
		}
	}
	if (path) {
		ctx->path = xstrdup(path);
		if (parse_path(ctx, path, loc))
			goto out_release;
	}
	if (eq) {
		struct strbuf shown = STRBUF_INIT;
		ctx->equals = cJSON_Duplicate(eq, 1);
		if (!ctx->equals) {
			scorer_error(loc, "json", "cannot copy field \"equals\"");
			goto out_release;
		}
		quote_json(&shown, ctx->equals);
		ctx->equals_shown = strbuf_detach(&shown, NULL);
	}
	return 0;

out_release:
	json_release(s);
	return -1;
}

static const char *skip_ws(const char *b, const char *e)
{
	while (b < e && scorer_isspace((unsigned char)*b))
		b++;
	return b;
}

static const char *rskip_ws(const char *b, const char *e)
{
	while (e > b && scorer_isspace((unsigned char)e[-1]))
		e--;
	return e;
}

void scorer_json_unfence(const char **b, const char **e)
{
	const char *p, *q;

	*b = skip_ws(*b, *e);
	*e = rskip_ws(*b, *e);
	if (*e - *b < 3 || memcmp(*b, "```", 3))
		return;
	/* the opening fence line: ``` and an optional language tag */
	p = *b + 3;
	while (p < *e && *p != '\n' && *p != '{' && *p != '[')
		p++;
	q = *e;
	if (q - p >= 3 && !memcmp(q - 3, "```", 3))
		q -= 3;
	*b = skip_ws(p, q);
	*e = rskip_ws(*b, q);
}

/* walk the path; NULL when absent, with *at the segment that was missing */
static const cJSON *walk(const struct json_ctx *ctx, const cJSON *root, size_t *at)
{
	const cJSON *node = root;
	size_t i;

	for (i = 0; i < ctx->n_segs && node; i++) {
		const struct json_seg *seg = &ctx->segs[i];

		*at = i;
		if (cJSON_IsArray(node))
			node = seg->index >= 0 && seg->index < cJSON_GetArraySize(node)
				       ? cJSON_GetArrayItem(node, (int)seg->index)
				       : NULL;
		else if (cJSON_IsObject(node))
			node = cJSON_GetObjectItemCaseSensitive(node, seg->key);
		else
			node = NULL;
	}
	return node;
}

static void check_doc(const struct json_ctx *ctx, const cJSON *root, struct score_result *out,
		      struct strbuf *r)
{
	const cJSON *node = root;
	size_t i, at = 0;

	if (ctx->n_required && !cJSON_IsObject(root)) {
		strbuf_addf(r, "output is %s, expected an object with \"", json_kind(root));
		esc_visible(r, ctx->required[0], strlen(ctx->required[0]), SCORER_QUOTE_MAX);
		strbuf_addch(r, '"');
		return;
	}
	for (i = 0; i < ctx->n_required; i++) {
		if (cJSON_GetObjectItemCaseSensitive(root, ctx->required[i]))
			continue;
		strbuf_addstr(r, "missing required key \"");
		esc_visible(r, ctx->required[i], strlen(ctx->required[i]), SCORER_QUOTE_MAX);
		strbuf_addch(r, '"');
		return;
	}
	if (ctx->path) {
		node = walk(ctx, root, &at);
		if (!node) {
			strbuf_addstr(r, "path \"");
			esc_visible(r, ctx->path, strlen(ctx->path), SCORER_QUOTE_MAX);
			strbuf_addstr(r, "\" not found at \"");
			esc_visible(r, ctx->segs[at].key, strlen(ctx->segs[at].key),
				     SCORER_QUOTE_MAX);
			strbuf_addch(r, '"');
			return;
		}
	}
	if (ctx->equals && !cJSON_Compare(node, ctx->equals, 1)) {
		if (ctx->path) {
			strbuf_addstr(r, "path \"");
			esc_visible(r, ctx->path, strlen(ctx->path), SCORER_QUOTE_MAX);
			strbuf_addstr(r, "\" is ");
		} else {
			strbuf_addstr(r, "output is ");
		}
		quote_json(r, node);
		strbuf_addf(r, ", expected %s", ctx->equals_shown);
		return;
	}

	out->pass = 1;
	out->score = 1;
	strbuf_addstr(r, "output is valid JSON");
	if (ctx->n_required)
		strbuf_addf(r, ", %zu required key%s present", ctx->n_required,
			    ctx->n_required == 1 ? "" : "s");
	if (ctx->path) {
		strbuf_addstr(r, ", path \"");
		esc_visible(r, ctx->path, strlen(ctx->path), SCORER_QUOTE_MAX);
		strbuf_addstr(r, ctx->equals ? "\" equals " : "\" exists");
	} else if (ctx->equals) {
		strbuf_addstr(r, " equal to ");
	}
	if (ctx->equals)
		strbuf_addstr(r, ctx->equals_shown);
}

static enum score_status json_score(const struct scorer *s, struct score_job *job,
				    struct score_result *out)
{
	const struct json_ctx *ctx = s->ctx;
	const char *start = job->output ? job->output : "";
	const char *b = start, *e = start + (job->output ? job->output_len : 0);
	const char *end = NULL;
	struct strbuf r = STRBUF_INIT;
	cJSON *root;

	scorer_json_unfence(&b, &e);
	if (b == e) {
		out->reason = xstrdup("output is empty, expected JSON");
		return SCORE_DONE;
	}
	root = cJSON_ParseWithLengthOpts(b, (size_t)(e - b), &end, 0);
	if (!root) {
		size_t off = end && end >= b && end <= e ? (size_t)(end - start) : (size_t)(b - start);
		strbuf_addf(&r, "output is not valid JSON: error at byte %zu near \"", off);
		esc_visible(&r, start + off, (size_t)(e - (start + off)), 24);
		strbuf_addch(&r, '"');
		goto out;
	}
	if (end && skip_ws(end, e) != e) {
		size_t off = (size_t)(skip_ws(end, e) - start);
		strbuf_addf(&r, "output is not valid JSON: unexpected text at byte %zu after the value",
			    off);
		goto out_delete;
	}
	check_doc(ctx, root, out, &r);

out_delete:
	cJSON_Delete(root);
out:
	out->reason = strbuf_detach(&r, NULL);
	return SCORE_DONE;
}

const struct scorer_type scorer_json = {
	.name = "json",
	.init = json_init,
	.score = json_score,
	.release = json_release,
	.fields = json_fields,
};
