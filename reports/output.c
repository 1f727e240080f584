#include "output.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "xalloc.h"
#include "banned.h"

#define FLUSH_AT (64 * 1024)

int out_open(struct report_out *o, const char *path, const char *what)
{
	struct strbuf tmp = STRBUF_INIT;

	memset(o, 0, sizeof(*o));
	strbuf_init(&o->sb, 0);
	o->what = what;
	strbuf_addf(&tmp, "%s.tmp", path);
	o->f = fopen(tmp.buf, "w");
	if (!o->f) {
		error("cannot write %s %s: %s", what, path, strerror(errno));
		strbuf_release(&tmp);
		return -1;
	}
	o->path = xstrdup(path);
	o->tmp = strbuf_detach(&tmp, NULL);
	return 0;
}

void out_flush(struct report_out *o, int force)
{
	if (!force && o->sb.len < FLUSH_AT)
		return;
	if (!o->failed && o->sb.len) {
		errno = 0;
		if (fwrite(o->sb.buf, 1, o->sb.len, o->f) != o->sb.len) {
			o->failed = 1;
			o->err = errno ? errno : EIO;
		}
	}
	o->written += o->sb.len;
	strbuf_reset(&o->sb);
}

size_t out_size(const struct report_out *o)
{
	return o->written + o->sb.len;
}

static void out_free(struct report_out *o)
{
	free(o->path);
	free(o->tmp);
	strbuf_release(&o->sb);
	o->path = o->tmp = NULL;
}

int out_commit(struct report_out *o)
{
	int ret = -1;

	out_flush(o, 1);
	if (!o->failed && (fflush(o->f) || fsync(fileno(o->f)))) {
		o->failed = 1;
		o->err = errno;
	}
	if (fclose(o->f) && !o->failed) {
		o->failed = 1;
		o->err = errno;
	}
	o->f = NULL;
	if (o->failed) {
		error("cannot write %s %s: %s", o->what, o->path, strerror(o->err));
		goto out_unlink;
	}
	if (rename(o->tmp, o->path)) {
		error("cannot write %s %s: %s", o->what, o->path, strerror(errno));
		goto out_unlink;
	}
	ret = 0;
	goto out;
out_unlink:
	unlink(o->tmp);
out:
	out_free(o);
	return ret;
}

void out_abort(struct report_out *o)
{
	if (o->f)
		fclose(o->f);
	o->f = NULL;
	if (o->tmp)
		unlink(o->tmp);
	out_free(o);
}
