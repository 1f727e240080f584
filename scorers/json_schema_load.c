/*
 * json_schema_load: open the JSON Schema module (json_schema.so, see
 * json_schema_shim.h) when the first schema is compiled, so that the
 * commands and suites without a json-schema scorer never load libstdc++.
 * Where it is looked for: module.h.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "json_schema_shim.h"
#include "module.h"
#include "xalloc.h"
#include "banned.h"

#ifndef EG_SCHEMA_MODULE
#define EG_SCHEMA_MODULE "json_schema.so"
#endif
#define SCHEMA_WHAT "JSON Schema"

/* the entry points, when the program links json_schema_shim.cc itself */
#pragma weak eg_schema_impl_compile
#pragma weak eg_schema_impl_free
#pragma weak eg_schema_impl_validate

typedef struct eg_schema *(*compile_fn)(const char *, size_t, char **);
typedef void (*free_fn)(struct eg_schema *);
typedef enum eg_schema_verdict (*validate_fn)(const struct eg_schema *, const char *, size_t,
					      char **);

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static compile_fn compile;    /* the module's eg_schema_impl_compile, or NULL */
static free_fn release;       /* its eg_schema_impl_free */
static validate_fn validate;  /* its eg_schema_impl_validate */
static char load_error[1024]; /* why the module could not be loaded */

static void *sym(void *h, const char *name)
{
	return module_sym(h, name, EG_SCHEMA_MODULE, SCHEMA_WHAT, load_error, sizeof(load_error));
}

static void load(void)
{
	void *h;

	if (eg_schema_impl_compile && eg_schema_impl_free && eg_schema_impl_validate) {
		compile = eg_schema_impl_compile;
		release = eg_schema_impl_free;
		validate = eg_schema_impl_validate;
		return;
	}
	h = module_open(EG_SCHEMA_MODULE, SCHEMA_WHAT, load_error, sizeof(load_error));
	if (!h)
		return;
	compile = (compile_fn)(uintptr_t)sym(h, "eg_schema_impl_compile");
	release = (free_fn)(uintptr_t)sym(h, "eg_schema_impl_free");
	validate = (validate_fn)(uintptr_t)sym(h, "eg_schema_impl_validate");
	if (!compile || !release || !validate) {
		compile = NULL;
		dlclose(h);
	}
}

struct eg_schema *eg_schema_compile(const char *text, size_t len, char **why)
{
	pthread_once(&load_once, load);
	if (!compile) {
		*why = xstrdup(load_error);
		return NULL;
	}
	return compile(text, len, why);
}

/* a schema exists only when the module was loaded */
void eg_schema_free(struct eg_schema *schema)
{
	if (schema)
		release(schema);
}

enum eg_schema_verdict eg_schema_validate(const struct eg_schema *schema, const char *text,
					  size_t len, char **why)
{
	return validate(schema, text, len, why);
}
