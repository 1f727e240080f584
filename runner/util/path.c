/* path: see path.h */
#include "path.h"

#include <string.h>

#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

char *path_dir(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

char *path_resolve(const char *base, const char *p)
{
	struct strbuf sb = STRBUF_INIT;

	if (p[0] == '/' || !strcmp(base, "."))
		return xstrdup(p);
	strbuf_addf(&sb, "%s/%s", base, p);
	return strbuf_detach(&sb, NULL);
}
