/*
 * libFuzzer target: embeddings replies (POST /embeddings), which are
 * untrusted. The bytes go to the reader the `similar` scorer uses: it must
 * either refuse them with a reason and nothing allocated, or give two
 * vectors of one dimension in [1, SIMILAR_MAX_DIM] whose elements are all
 * finite; their cosine must then be NaN or within [-1, 1].
 *
 * Built by -DEG_FUZZ=ON (see README.md here); ./dev.sh fuzz runs it on its
 * seeds in corpus/embeddings/.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "similar.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = xmalloc(size + 1);
	struct strbuf why = STRBUF_INIT;
	double *a, *b, cos;
	size_t dim = 0, i;

	memcpy(body, data, size);
	body[size] = '\0';
	if (similar_parse_embeddings(body, &a, &b, &dim, &why)) {
		if (a || b || !why.len)
			abort();
		goto out;
	}
	if (!a || !b || dim < 1 || dim > SIMILAR_MAX_DIM || why.len)
		abort();
	for (i = 0; i < dim; i++)
		if (!isfinite(a[i]) || !isfinite(b[i]))
			abort();
	cos = similar_cosine(a, b, dim);
	if (!isnan(cos) && (cos < -1.0000001 || cos > 1.0000001))
		abort();
	free(a);
	free(b);
out:
	strbuf_release(&why);
	free(body);
	return 0;
}
