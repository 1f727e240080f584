/*
 * libFuzzer target: `evalgate runs import FILE`, i.e. run_import of the
 * input into a fresh history in a temporary directory. It must never crash
 * or leak. A refused file leaves no id and no run in the history (all or
 * nothing); an imported run is the history's one run, it exports, and that
 * export imports again (--replace) to the same run, whose export is the
 * same bytes.
 *
 * Built by -DEG_FUZZ=ON (see README.md here); ./dev.sh fuzz runs it on its
 * seeds in corpus/import/. Refused files print their error: run it with
 * -close_fd_mask=2 to silence them.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "fuzz_util.h"
#include "history.h"
#include "strbuf.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__asan_default_options(void);

/*
 * A smaller quarantine of freed memory: with the default (256 MB) every
 * SQLite connection's buffers come from fresh pages, and opening one costs
 * three times as much.
 */
const char *__asan_default_options(void)
{
	return "quarantine_size_mb=16";
}

/*
 * An empty history made once and copied for each input: migrating a new
 * file takes most of an input's time. Removed at exit.
 */
static struct strbuf template_dir = STRBUF_INIT, template_db = STRBUF_INIT;

static void template_remove(void)
{
	fuzz_dir_remove(template_dir.buf);
	strbuf_release(&template_db);
	strbuf_release(&template_dir);
}

static void template_make(void)
{
	struct strbuf path = STRBUF_INIT;
	struct history *h;

	fuzz_dir_make(&template_dir);
	strbuf_addf(&path, "%s/history.db", template_dir.buf);
	h = history_open(path.buf);
	if (!h)
		abort();
	history_close(h);
	fuzz_file_read(&template_db, path.buf);
	strbuf_release(&path);
	atexit(template_remove);
}

/* 1 when the history holds no run, 0 when its only run is id */
static int history_empty(struct history *h, const char *id)
{
	static const struct run_filter all; /* zeroed: every run */
	struct run_info ri;
	int rc = history_run_first(h, &all, &ri);

	if (rc < 0 || (rc == 0 && (!id || strcmp(ri.id, id))))
		abort();
	if (rc == 0)
		run_info_release(&ri);
	return rc == 1;
}

/* export id, import that export over it, export again: the same document */
static void check_round_trip(struct history *h, const char *dir, const char *id)
{
	struct strbuf first = STRBUF_INIT, second = STRBUF_INIT, path = STRBUF_INIT;
	char *again = NULL;

	strbuf_addf(&path, "%s/export.json", dir);
	if (run_export(h, id, path.buf))
		abort();
	fuzz_file_read(&first, path.buf);
	if (run_import(h, path.buf, 1, &again) || strcmp(again, id))
		abort();
	if (run_export(h, id, path.buf))
		abort();
	fuzz_file_read(&second, path.buf);
	if (first.len != second.len || memcmp(first.buf, second.buf, first.len))
		abort();
	free(again);
	strbuf_release(&path);
	strbuf_release(&second);
	strbuf_release(&first);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strbuf dir = STRBUF_INIT, path = STRBUF_INIT, db = STRBUF_INIT;
	struct history *h;
	char *id = NULL;

	if (!template_dir.len)
		template_make();
	fuzz_dir_make(&dir);
	fuzz_file_write(&path, dir.buf, "run.json", data, size);
	fuzz_file_write(&db, dir.buf, "history.db", template_db.buf, template_db.len);
	h = history_open(db.buf);
	if (!h)
		abort();
	if (run_import(h, path.buf, 0, &id)) {
		if (id || !history_empty(h, NULL))
			abort();
	} else {
		if (!id || !*id || history_empty(h, id))
			abort();
		check_round_trip(h, dir.buf, id);
		free(id);
	}
	history_close(h);
	fuzz_dir_remove(dir.buf);
	strbuf_release(&db);
	strbuf_release(&path);
	strbuf_release(&dir);
	return 0;
}
