/*
 * json_schema_suite: run the official JSON-Schema-Test-Suite (draft 2020-12,
 * the required tests: the files directly in the directory, not optional/)
 * through the json-schema scorer. Each group's schema becomes a scorer
 * spec, each test's data the model output; the scorer's pass must equal
 * the test's "valid". Prints passed, failed and skipped counts per file and
 * in total; exits 1 when a test fails that the skip list below does not
 * name (docs/suites-and-scorers.md lists it with the reasons).
 *
 *   json_schema_suite [DIR]
 *   (default /usr/share/perl5/auto/share/dist/Test-JSON-Schema-Acceptance/tests/draft2020-12)
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "error.h"
#include "jsonutil.h"
#include "jsonw.h"
#include "scorer.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

#define DEFAULT_DIR \
	"/usr/share/perl5/auto/share/dist/Test-JSON-Schema-Acceptance/tests/draft2020-12"

/*
 * What valijson (draft 7 semantics) does not do. A row names a file, or a
 * file and a group description ("file.json#group"); its tests may fail.
 */
static const struct skip {
	const char *what;
	const char *reason;
} skips[] = {
	{ "anchor.json", "$anchor: valijson resolves JSON Pointer fragments only" },
	{ "defs.json", "validates against the remote 2020-12 metaschema: nothing is fetched" },
	{ "dynamicRef.json", "$dynamicRef and $dynamicAnchor: not in valijson" },
	{ "id.json", "$id-based references: valijson resolves JSON Pointer fragments only" },
	{ "refRemote.json", "remote references: nothing is fetched" },
	{ "unevaluatedItems.json", "unevaluatedItems: not in valijson" },
	{ "unevaluatedProperties.json", "unevaluatedProperties: not in valijson" },
	{ "unknownKeyword.json", "an $id-based reference: valijson resolves JSON Pointer fragments only" },
	{ "vocabulary.json", "$vocabulary and custom metaschemas: not in valijson" },
	{ "minContains.json", "minContains: not in valijson" },
	{ "maxContains.json", "maxContains: not in valijson" },
	{ "multipleOf.json#small multiple of large integer",
	  "valijson divides as doubles: 1e308 is not a multiple of 1e-8 there" },
	{ "not.json#collect annotations inside a 'not', even if collection is disabled",
	  "uses unevaluatedProperties" },
	{ "ref.json#$id must be resolved against nearest parent, not just immediate parent",
	  "$id-based reference" },
	{ "ref.json#Recursive references between schemas", "$id-based reference" },
	{ "ref.json#URN base URI with URN and JSON pointer ref", "URN reference" },
	{ "ref.json#URN base URI with URN and anchor ref", "URN reference" },
	{ "ref.json#URN base URI with f-component", "URN reference" },
	{ "ref.json#URN ref with nested pointer ref", "URN reference" },
	{ "ref.json#simple URN base URI with $ref via the URN", "URN reference" },
	{ "ref.json#order of evaluation: $id and $ref", "$id-based reference" },
	{ "ref.json#order of evaluation: $id and $anchor and $ref", "$id-based reference" },
	{ "ref.json#ref to if", "$id-based reference" },
	{ "ref.json#ref to then", "$id-based reference" },
	{ "ref.json#ref to else", "$id-based reference" },
	{ "ref.json#ref with absolute-path-reference", "$id-based reference" },
	{ "ref.json#refs with relative uris and defs", "$id-based reference" },
	{ "ref.json#relative refs with absolute uris and defs", "$id-based reference" },
	{ "ref.json#remote ref, containing refs itself", "remote reference: nothing is fetched" },
	{ "ref.json#ref applies alongside sibling keywords",
	  "draft 7 semantics: the siblings of $ref are ignored" },
	{ "ref.json#ref creates new scope when adjacent to keywords",
	  "draft 7 semantics: the siblings of $ref are ignored" },
	{ NULL, NULL },
};

struct counts {
	int passed, failed, skipped;
};

static const struct skip *skipped(const char *file, const char *group)
{
	const struct skip *s;
	size_t n = strlen(file);

	for (s = skips; s->what; s++) {
		if (!strcmp(s->what, file))
			return s;
		if (!strncmp(s->what, file, n) && s->what[n] == '#' &&
		    !strcmp(s->what + n + 1, group))
			return s;
	}
	return NULL;
}

static int run_group(const char *file, const cJSON *group, struct counts *c)
{
	const cJSON *desc = cJSON_GetObjectItemCaseSensitive(group, "description");
	const cJSON *schema = cJSON_GetObjectItemCaseSensitive(group, "schema");
	const cJSON *tests = cJSON_GetObjectItemCaseSensitive(group, "tests"), *t;
	const char *gname = cJSON_IsString(desc) ? desc->valuestring : "?";
	const struct skip *skip = skipped(file, gname);
	cJSON *spec = cJSON_CreateObject();
	struct eg_loc loc = { file, 0, 1 };
	struct scorer s;
	int ok, unexpected = 0;

	cJSON_AddStringToObject(spec, "type", "json-schema");
	cJSON_AddItemToObject(spec, "schema", cJSON_Duplicate(schema, 1));
	ok = !scorer_init(&s, spec, &loc);
	cJSON_ArrayForEach(t, tests) {
		const cJSON *data = cJSON_GetObjectItemCaseSensitive(t, "data");
		const cJSON *valid = cJSON_GetObjectItemCaseSensitive(t, "valid");
		const cJSON *tdesc = cJSON_GetObjectItemCaseSensitive(t, "description");
		struct score_job job = { 0 };
		struct score_result r = { 0 };
		char *text = jsonw_print(data, 0);
		int right = 0;

		if (ok) {
			job.output = text;
			job.output_len = strlen(text);
			scorer_score(&s, &job, &r);
			right = !r.error && r.pass == cJSON_IsTrue(valid);
		}
		if (right) {
			c->passed++;
		} else if (skip) {
			c->skipped++;
		} else {
			c->failed++;
			unexpected = 1;
			printf("FAIL %s: %s: %s: %s\n", file, gname,
			       cJSON_IsString(tdesc) ? tdesc->valuestring : "?",
			       ok ? r.reason : "schema does not compile");
		}
		score_result_release(&r);
		score_job_release(ok ? &s : NULL, &job);
		free(text);
	}
	if (ok)
		scorer_release(&s);
	cJSON_Delete(spec);
	return unexpected;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : DEFAULT_DIR;
	struct counts total = { 0 };
	char **names = NULL;
	size_t n = 0, alloc = 0, i;
	struct dirent *de;
	DIR *d = opendir(dir);
	int bad = 0;

	if (!d) {
		error("%s: cannot open the test suite directory", dir);
		return 2;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len > 5 && !strcmp(de->d_name + len - 5, ".json")) {
			XGROW(names, n + 1, alloc);
			names[n++] = xstrdup(de->d_name);
		}
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);

	for (i = 0; i < n; i++) {
		struct strbuf path = STRBUF_INIT, text = STRBUF_INIT;
		struct counts c = { 0 };
		const cJSON *g;
		cJSON *root;

		strbuf_addf(&path, "%s/%s", dir, names[i]);
		if (read_file(path.buf, &text, 0) ||
		    !(root = cJSON_ParseWithLength(text.buf, text.len))) {
			error("%s: cannot read the test file", path.buf);
			bad = 1;
		} else {
			cJSON_ArrayForEach(g, root)
				bad |= run_group(names[i], g, &c);
			cJSON_Delete(root);
		}
		printf("%-32s passed %4d  failed %3d  skipped %3d\n", names[i], c.passed,
		       c.failed, c.skipped);
		total.passed += c.passed;
		total.failed += c.failed;
		total.skipped += c.skipped;
		strbuf_release(&path);
		strbuf_release(&text);
		free(names[i]);
	}
	free(names);
	printf("total: %d tests, passed %d, failed %d, skipped %d (of %d files)\n",
	       total.passed + total.failed + total.skipped, total.passed, total.failed,
	       total.skipped, (int)n);
	return bad || !n;
}
