/*
 * json_schema_shim: JSON Schema validation behind a C interface. The
 * validator is valijson (C++, header-only, draft 7 semantics; the
 * draft 2020-12 keywords it lacks that have a draft 7 equivalent are
 * rewritten; docs/suites-and-scorers.md says what is covered), reading
 * the JSON through nlohmann::json. Only scorers/json_schema.c uses it.
 *
 * The C++ side (json_schema_shim.cc) brings libstdc++, whose loading would
 * cost every command at start-up: it is a module of its own,
 * json_schema.so (found as module.h says), that json_schema_load.c opens
 * when the first schema is compiled. A program that links
 * json_schema_shim.cc itself (the unit tests, the benchmarks, the fuzz
 * targets) uses it without the module.
 *
 * A compiled schema is read-only and may be used from many threads at once.
 * No C++ exception crosses this interface.
 *
 * Ownership: eg_schema_compile returns a schema the caller frees with
 * eg_schema_free; every char ** filled here receives malloc'd text the
 * caller frees.
 */
#ifndef EG_JSON_SCHEMA_SHIM_H
#define EG_JSON_SCHEMA_SHIM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* deepest nesting of arrays and objects read, in a schema or an instance */
#define EG_SCHEMA_MAX_DEPTH 128
/*
 * longest string (in bytes) checked against a "pattern" or a
 * "patternProperties" key: std::regex recurses once per character, so a
 * longer one would overflow the stack
 */
#define EG_SCHEMA_PATTERN_MAX 4096

struct eg_schema;

/*
 * Compile len bytes of JSON text as a schema. NULL when the text is not
 * JSON or not a schema valijson can build (an unresolvable or remote $ref,
 * a keyword of the wrong type, a bad regex), or when the module cannot be
 * loaded, with *why the reason.
 */
struct eg_schema *eg_schema_compile(const char *text, size_t len, char **why);
void eg_schema_free(struct eg_schema *schema);

enum eg_schema_verdict {
	EG_SCHEMA_VALID = 1,
	EG_SCHEMA_INVALID = 0,   /* *why: "JSON pointer: keyword: what" */
	EG_SCHEMA_NOT_JSON = -1, /* *why: the parse error, with its byte offset */
	EG_SCHEMA_ERROR = -2,    /* no verdict (too deep, too long for a pattern) */
};

/* validate len bytes of JSON text (any bytes; NUL inside is not JSON) */
enum eg_schema_verdict eg_schema_validate(const struct eg_schema *schema, const char *text,
					  size_t len, char **why);

/* the module's entry points (json_schema_shim.cc), which the three above call */
struct eg_schema *eg_schema_impl_compile(const char *text, size_t len, char **why);
void eg_schema_impl_free(struct eg_schema *schema);
enum eg_schema_verdict eg_schema_impl_validate(const struct eg_schema *schema, const char *text,
					       size_t len, char **why);

#ifdef __cplusplus
}
#endif

#endif
