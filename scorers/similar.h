/*
 * similar: the `similar` scorer's pure parts, exposed for tests: the cosine
 * of two vectors and the reading of an OpenAI-format embeddings reply.
 *
 * Ownership: similar_parse_embeddings() allocates *a and *b (xmalloc); the
 * caller frees them, also after a failure (they are then NULL).
 */
#ifndef EG_SIMILAR_H
#define EG_SIMILAR_H

#include <stddef.h>

struct strbuf;

/* longest embedding read, in dimensions */
#define SIMILAR_MAX_DIM 65536

/* cosine of a and b (n dimensions); NAN when either has zero or non-finite norm */
double similar_cosine(const double *a, const double *b, size_t n);

/*
 * Read an embeddings reply ({"data": [{"index", "embedding": [...]}, ...]})
 * holding exactly two embeddings, placed by their "index" (0 and 1; in
 * order when absent), of one dimension from 1 to SIMILAR_MAX_DIM, every
 * element a finite number. 0 with *a, *b and *dim set; -1 with why said.
 */
int similar_parse_embeddings(const char *body, double **a, double **b, size_t *dim,
			     struct strbuf *why);

#endif
