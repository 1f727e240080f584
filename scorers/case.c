/*
 * case: what a worker process (the exec target, the exec scorer) is told
 * of a case.
 */
#include "case.h"

#include "jsonw.h"
#include "banned.h"

void case_json_members(struct jsonw *w, const struct eg_case *k)
{
	size_t i;

	if (k->messages) {
		jsonw_key(w, "messages");
		jsonw_cjson(w, k->messages);
	} else {
		jsonw_member_str(w, "input", k->input ? k->input : "");
	}
	if (k->vars) {
		jsonw_key(w, "vars");
		jsonw_cjson(w, k->vars);
	}
	if (k->n_context) {
		jsonw_key(w, "context");
		jsonw_array_begin(w);
		for (i = 0; i < k->n_context; i++)
			jsonw_str(w, k->context[i]);
		jsonw_array_end(w);
	}
}
