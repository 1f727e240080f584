/*
 * export: a run as one JSON document (see export.h for the value encoding).
 *
 * Export reads each table with SELECT * inside one read transaction, so the
 * document is a consistent snapshot even while a run is being written.
 * Import is a small streaming JSON reader: the top-level members must come
 * in the order the exporter writes them as far as it matters (format first,
 * run before the row arrays); each row object is read, checked against the
 * local table's columns and inserted before the next one is read.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "error.h"
#include "export.h"
#include "history_impl.h"
#include "jsonw.h"
#include "strbuf.h"
#include "utf8.h"
#include "xalloc.h"
#include "banned.h"

#define FLUSH_AT (64 * 1024)
#define MAX_VALUE_BYTES ((size_t)512 * 1024 * 1024) /* longest string or base64 value read */
#define MAX_NUMBER_CHARS 64

/* the tables of one run besides runs itself, in document order */
struct child_table {
	const char *table;  /* SQL table, with a run_id column */
	const char *member; /* document member holding its rows */
	const char *order;  /* ORDER BY of the export */
	const char *local;  /* column that belongs to the file (a rowid alias), or NULL */
	int shared;         /* no run_id: rows keyed by the run's case hashes, shared by runs */
};

static const struct child_table child_tables[] = {
	{ "run_suites", "suites", "name", NULL, 0 },
	{ "results", "results", "rowid", "seq", 0 },
	{ "scores", "scores", "suite, case_id, repeat, idx", NULL, 0 },
	{ "gates", "gates", "idx", NULL, 0 },
	/* what the cases asked (input, context, expected), for the reports; since schema 2 */
	{ "case_texts", "case_texts", "hash", NULL, 1 },
	/* the gateway's concurrency timeline (history 12); absent from older documents */
	{ "run_timelines", "timelines", "run_id", NULL, 0 },
};
#define N_CHILD ((int)(sizeof(child_tables) / sizeof(child_tables[0])))

/* values some columns must take, checked on import */
struct enum_check {
	const char *table, *column;
	const char *const *allowed; /* NULL-terminated */
};
static const char *const run_statuses[] = { "running", "finished", "interrupted", "failed",
						     "budget_exhausted", NULL };
static const char *const result_statuses[] = { "pass", "fail", "error", NULL };
static const struct enum_check enum_checks[] = {
	{ "runs", "status", run_statuses },
	{ "results", "status", result_statuses },
};

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void add_base64(struct strbuf *sb, const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		char q[4] = { b64chars[v >> 18], b64chars[(v >> 12) & 63],
			      b64chars[(v >> 6) & 63], b64chars[v & 63] };
		strbuf_add(sb, q, 4);
	}
	if (len - i == 1) {
		unsigned v = (unsigned)p[i] << 16;
		char q[4] = { b64chars[v >> 18], b64chars[(v >> 12) & 63], '=', '=' };
		strbuf_add(sb, q, 4);
	} else if (len - i == 2) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
		char q[4] = { b64chars[v >> 18], b64chars[(v >> 12) & 63],
			      b64chars[(v >> 6) & 63], '=' };
		strbuf_add(sb, q, 4);
	}
}

static int b64val(int c)
{
	const char *p = c ? strchr(b64chars, c) : NULL;

	return p ? (int)(p - b64chars) : -1;
}

/* strict RFC 4648 base64 (padding required) into out; -1 when malformed */
static int decode_base64(const char *s, size_t len, struct strbuf *out)
{
	size_t i;

	strbuf_reset(out);
	if (len % 4)
		return -1;
	for (i = 0; i < len; i += 4) {
		int a = b64val(s[i]), b = b64val(s[i + 1]);
		int c = s[i + 2] == '=' ? -2 : b64val(s[i + 2]);
		int d = s[i + 3] == '=' ? -2 : b64val(s[i + 3]);
		unsigned v;

		if (a < 0 || b < 0 || c == -1 || d == -1 || (c == -2 && d != -2))
			return -1;
		if ((c == -2 || d == -2) && i + 4 != len)
			return -1;
		v = (unsigned)a << 18 | (unsigned)b << 12 | (unsigned)(c < 0 ? 0 : c) << 6 |
		    (unsigned)(d < 0 ? 0 : d);
		strbuf_addch(out, (int)(v >> 16));
		if (c >= 0)
			strbuf_addch(out, (int)((v >> 8) & 0xff));
		if (d >= 0)
			strbuf_addch(out, (int)(v & 0xff));
	}
	return 0;
}

/* --- export --- */

struct writer {
	FILE *f;            /* destination (the temporary file or stdout) */
	struct strbuf sb;   /* pending output */
	struct jsonw json;  /* writing into sb */
	int failed;         /* a write failed (sticky) */
	int err;            /* errno of that failure */
};

static void w_flush(struct writer *w, int force)
{
	if (!force && w->sb.len < FLUSH_AT)
		return;
	if (!w->failed && w->sb.len && fwrite(w->sb.buf, 1, w->sb.len, w->f) != w->sb.len) {
		w->failed = 1;
		w->err = errno ? errno : EIO;
	}
	strbuf_reset(&w->sb);
}

/* text as a string; other bytes as {"base64":"..."} */
static void add_bytes(struct jsonw *w, const char *p, size_t len)
{
	struct strbuf b64 = STRBUF_INIT;

	if (utf8_valid(p, len, NULL)) {
		jsonw_strn(w, p, len);
		return;
	}
	add_base64(&b64, (const unsigned char *)p, len);
	jsonw_object_begin(w);
	jsonw_key(w, "base64");
	jsonw_strn(w, b64.buf, b64.len);
	jsonw_object_end(w);
	strbuf_release(&b64);
}

static void add_real(struct jsonw *w, double d)
{
	char num[JSONW_NUM_MAX + 2];
	size_t len;

	if (isinf(d)) {
		jsonw_object_begin(w);
		jsonw_member_str(w, "real", d > 0 ? "inf" : "-inf");
		jsonw_object_end(w);
		return;
	}
	len = jsonw_format_num(num, d); /* NaN: null */
	/* keep it a REAL on the way back: 2 is written 2.0 */
	if (!isnan(d) && !strpbrk(num, ".e")) {
		memcpy(num + len, ".0", 3);
		len += 2;
	}
	jsonw_raw(w, num, len);
}

static void add_value(struct jsonw *w, sqlite3_stmt *st, int i)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_INTEGER:
		jsonw_int(w, (long long)sqlite3_column_int64(st, i));
		break;
	case SQLITE_FLOAT:
		add_real(w, sqlite3_column_double(st, i));
		break;
	case SQLITE_TEXT: {
		const char *p = (const char *)sqlite3_column_text(st, i);
		add_bytes(w, p ? p : "", (size_t)sqlite3_column_bytes(st, i));
		break;
	}
	case SQLITE_BLOB: {
		const char *p = sqlite3_column_blob(st, i);
		add_bytes(w, p ? p : "", (size_t)sqlite3_column_bytes(st, i));
		break;
	}
	default:
		jsonw_null(w);
	}
}

void export_run_members(struct jsonw *w, const struct run_info *ri)
{
	jsonw_member_str(w, "id", ri->id);
	jsonw_member_str(w, "started_at", ri->started_at);
	jsonw_member_str(w, "finished_at", ri->finished_at);
	jsonw_member_str(w, "status", run_status_name(ri->status));
	jsonw_member_str(w, "verdict", ri->verdict);
	jsonw_member_str(w, "target", ri->target);
	jsonw_member_str(w, "version", ri->version);
	jsonw_member_str(w, "model", ri->model);
	jsonw_member_str(w, "git_sha", ri->git_sha);
	jsonw_member_str(w, "git_ref", ri->git_ref);
}

/* one row as an object of its columns, leaving out skip1 and skip2 */
static void add_row(struct jsonw *w, sqlite3_stmt *st, const char *skip1, const char *skip2)
{
	int i, n = sqlite3_column_count(st);

	jsonw_object_begin(w);
	for (i = 0; i < n; i++) {
		const char *name = sqlite3_column_name(st, i);

		if ((skip1 && !strcmp(name, skip1)) || (skip2 && !strcmp(name, skip2)))
			continue;
		jsonw_key(w, name);
		add_value(w, st, i);
	}
	jsonw_object_end(w);
}

/* the rows of one table of the run as a document member */
static int write_table(const struct sqldb *d, const char *run_id,
		       const struct child_table *t, struct writer *w)
{
	struct strbuf sql = STRBUF_INIT;
	sqlite3_stmt *st = NULL;
	int rc, first = 1, ret = -1;

	if (t->shared)
		strbuf_addf(&sql, "SELECT * FROM %s WHERE hash IN (SELECT case_hash FROM results "
			    "WHERE run_id = ?1) ORDER BY %s", t->table, t->order);
	else
		strbuf_addf(&sql, "SELECT * FROM %s WHERE run_id = ?1 ORDER BY %s", t->table,
			    t->order);
	if (sqldb_prepare(d, sql.buf, &st))
		goto out;
	sqldb_bind_text(st, 1, run_id);
	jsonw_newline(&w->json);
	jsonw_key(&w->json, t->member);
	jsonw_array_begin(&w->json);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		jsonw_newline(&w->json);
		first = 0;
		add_row(&w->json, st, "run_id", t->local);
		w_flush(w, 0);
		if (w->failed)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		sqldb_error(d, "cannot read the run");
		goto out;
	}
	if (!first)
		jsonw_newline(&w->json);
	jsonw_array_end(&w->json);
	ret = 0;
out:
	sqlite3_finalize(st);
	strbuf_release(&sql);
	return ret;
}

static int write_document(const struct sqldb *d, const char *run_id, struct writer *w)
{
	sqlite3_stmt *st = NULL;
	int i, uv, ret = -1;

	if (sqldb_prepare(d, "PRAGMA user_version", &st))
		goto out;
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqldb_error(d, "cannot read the schema version");
		goto out;
	}
	uv = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	jsonw_object_begin(&w->json);
	jsonw_member_str(&w->json, "format", EXPORT_FORMAT);
	jsonw_member_int(&w->json, "schema_version", EXPORT_SCHEMA_VERSION);
	jsonw_member_int(&w->json, "history_user_version", uv);
	jsonw_newline(&w->json);
	jsonw_key(&w->json, "run");
	if (sqldb_prepare(d, "SELECT * FROM runs WHERE id = ?1", &st))
		goto out;
	sqldb_bind_text(st, 1, run_id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqldb_error(d, "cannot read the run");
		goto out;
	}
	add_row(&w->json, st, NULL, NULL);
	for (i = 0; i < N_CHILD; i++)
		if (write_table(d, run_id, &child_tables[i], w))
			goto out;
	jsonw_object_end(&w->json);
	strbuf_addch(&w->sb, '\n');
	w_flush(w, 1);
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

int run_export(struct history *h, const char *ref, const char *path)
{
	const struct sqldb *d = &h->db;
	struct writer w = { .sb = STRBUF_INIT };
	struct strbuf tmp = STRBUF_INIT;
	struct run_info ri;
	int to_stdout = !strcmp(path, "-");
	int ret = -1;

	jsonw_init(&w.json, &w.sb, 0);

	/* one read transaction: every table is read from the same snapshot */
	if (sqldb_exec(d, "BEGIN"))
		return -1;
	if (history_run_resolve(h, ref, &ri, NULL))
		goto out_end;
	if (to_stdout) {
		w.f = stdout;
	} else {
		strbuf_addf(&tmp, "%s.tmp", path);
		w.f = fopen(tmp.buf, "w");
		if (!w.f) {
			error("cannot write %s: %s", path, strerror(errno));
			goto out_run;
		}
	}
	errno = 0;
	if (write_document(d, ri.id, &w)) {
		error("cannot export run %s: reading the history failed", ri.id);
		goto out_unlink;
	}
	if (!w.failed && fflush(w.f)) {
		w.failed = 1;
		w.err = errno;
	}
	if (to_stdout) {
		if (w.failed) {
			error("cannot write the export to standard output: %s", strerror(w.err));
			goto out_run;
		}
		ret = 0;
		goto out_run;
	}
	if (!w.failed && fsync(fileno(w.f))) {
		w.failed = 1;
		w.err = errno;
	}
	if (fclose(w.f) && !w.failed) {
		w.failed = 1;
		w.err = errno;
	}
	w.f = NULL;
	if (w.failed) {
		error("cannot write %s: %s", path, strerror(w.err));
		goto out_unlink;
	}
	if (rename(tmp.buf, path)) {
		error("cannot write %s: %s", path, strerror(errno));
		goto out_unlink;
	}
	ret = 0;
	goto out_run;
out_unlink:
	if (!to_stdout) {
		if (w.f)
			fclose(w.f);
		unlink(tmp.buf);
	}
out_run:
	run_info_release(&ri);
out_end:
	sqlite3_exec(d->db, "COMMIT", NULL, NULL, NULL);
	strbuf_release(&w.sb);
	strbuf_release(&tmp);
	return ret;
}

/* --- import: a streaming reader for the document --- */

struct reader {
	FILE *f;              /* the document */
	const char *file;     /* its name, for messages */
	long line, col;       /* position of the next character (1-based) */
	int peeked;           /* a character read ahead, or -2 */
	struct strbuf tok;    /* the last string (decoded) or number (as written) */
	struct strbuf tmp;    /* scratch (base64 decoding) */
};

enum jkind { J_NULL, J_INT, J_REAL, J_BYTES };

struct jfield {
	char *key;            /* column name */
	enum jkind kind;
	sqlite3_int64 i;      /* J_INT */
	double d;             /* J_REAL */
	char *s;              /* J_BYTES: NUL-terminated copy */
	size_t len;           /* J_BYTES: bytes in s */
};

struct jrow {
	struct jfield *v;
	size_t n, alloc;
	long line;            /* where the row's object starts */
};

static void jrow_clear(struct jrow *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		free(r->v[i].key);
		free(r->v[i].s);
	}
	r->n = 0;
}

static const struct jfield *jrow_get(const struct jrow *r, const char *key)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (!strcmp(r->v[i].key, key))
			return &r->v[i];
	return NULL;
}

static int rd_error(struct reader *r, const char *where, const char *fmt, ...)
	EG_PRINTF(3, 4);

/* "file:line:col: where: message" at the reader's position */
static int rd_error(struct reader *r, const char *where, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	if (where && *where)
		error("%s:%ld:%ld: %s: %s", r->file, r->line, r->col, where, sb.buf);
	else
		error("%s:%ld:%ld: %s", r->file, r->line, r->col, sb.buf);
	strbuf_release(&sb);
	return -1;
}

static int rd_get(struct reader *r)
{
	int c;

	if (r->peeked != -2) {
		c = r->peeked;
		r->peeked = -2;
	} else {
		c = getc_unlocked(r->f);
	}
	if (c == '\n') {
		r->line++;
		r->col = 1;
	} else if (c != EOF) {
		r->col++;
	}
	return c;
}

static int rd_peek(struct reader *r)
{
	if (r->peeked == -2)
		r->peeked = getc_unlocked(r->f);
	return r->peeked;
}

/* the next significant character, not consumed */
static int rd_ws(struct reader *r)
{
	int c;

	while ((c = rd_peek(r)) == ' ' || c == '\t' || c == '\n' || c == '\r')
		rd_get(r);
	return c;
}

static int rd_eof_error(struct reader *r, const char *where)
{
	if (ferror(r->f))
		return rd_error(r, where, "read error: %s", strerror(errno));
	return rd_error(r, where, "unexpected end of file (truncated document?)");
}

static int rd_expect(struct reader *r, const char *where, int want)
{
	int c = rd_ws(r);

	if (c == EOF)
		return rd_eof_error(r, where);
	if (c != want)
		return rd_error(r, where, "expected '%c', found '%c'", want, isprint(c) ? c : '?');
	rd_get(r);
	return 0;
}

static int hex4(struct reader *r, const char *where, unsigned *out)
{
	int i;

	*out = 0;
	for (i = 0; i < 4; i++) {
		int c = rd_get(r), v;

		if (c == EOF)
			return rd_eof_error(r, where);
		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v = c - 'A' + 10;
		else
			return rd_error(r, where, "bad \\u escape in a string");
		*out = *out << 4 | (unsigned)v;
	}
	return 0;
}

static void add_utf8(struct strbuf *sb, unsigned cp)
{
	if (cp < 0x80) {
		strbuf_addch(sb, (int)cp);
	} else if (cp < 0x800) {
		strbuf_addch(sb, (int)(0xc0 | cp >> 6));
		strbuf_addch(sb, (int)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		strbuf_addch(sb, (int)(0xe0 | cp >> 12));
		strbuf_addch(sb, (int)(0x80 | ((cp >> 6) & 0x3f)));
		strbuf_addch(sb, (int)(0x80 | (cp & 0x3f)));
	} else {
		strbuf_addch(sb, (int)(0xf0 | cp >> 18));
		strbuf_addch(sb, (int)(0x80 | ((cp >> 12) & 0x3f)));
		strbuf_addch(sb, (int)(0x80 | ((cp >> 6) & 0x3f)));
		strbuf_addch(sb, (int)(0x80 | (cp & 0x3f)));
	}
}

/* a JSON string (the opening quote is next) decoded into r->tok */
static int rd_string(struct reader *r, const char *where)
{
	size_t bad;
	int c;

	strbuf_reset(&r->tok);
	if (rd_expect(r, where, '"'))
		return -1;
	for (;;) {
		c = rd_get(r);
		if (c == EOF)
			return rd_eof_error(r, where);
		if (c == '"')
			break;
		if (r->tok.len >= MAX_VALUE_BYTES)
			return rd_error(r, where, "string longer than %zu bytes", MAX_VALUE_BYTES);
		if (c < 0x20)
			return rd_error(r, where, "control character in a string");
		if (c != '\\') {
			strbuf_addch(&r->tok, c);
			continue;
		}
		c = rd_get(r);
		switch (c) {
		case '"': case '\\': case '/':
			strbuf_addch(&r->tok, c);
			break;
		case 'b': strbuf_addch(&r->tok, '\b'); break;
		case 'f': strbuf_addch(&r->tok, '\f'); break;
		case 'n': strbuf_addch(&r->tok, '\n'); break;
		case 'r': strbuf_addch(&r->tok, '\r'); break;
		case 't': strbuf_addch(&r->tok, '\t'); break;
		case 'u': {
			unsigned cp, lo;

			if (hex4(r, where, &cp))
				return -1;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return rd_error(r, where, "lone surrogate \\u%04x in a string", cp);
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (rd_get(r) != '\\' || rd_get(r) != 'u' || hex4(r, where, &lo) ||
				    lo < 0xdc00 || lo > 0xdfff)
					return rd_error(r, where, "lone surrogate \\u%04x in a string",
							cp);
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			add_utf8(&r->tok, cp);
			break;
		}
		case EOF:
			return rd_eof_error(r, where);
		default:
			return rd_error(r, where, "bad escape '\\%c' in a string",
					isprint(c) ? c : '?');
		}
	}
	if (!utf8_valid(r->tok.buf, r->tok.len, &bad))
		return rd_error(r, where, "string is not UTF-8 at byte %zu", bad);
	return 0;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? ; *integer when neither part is there */
static int number_syntax(const char *s, int *integer)
{
	*integer = 1;
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (isdigit((unsigned char)*s))
		while (isdigit((unsigned char)*s))
			s++;
	else
		return -1;
	if (*s == '.') {
		*integer = 0;
		s++;
		if (!isdigit((unsigned char)*s))
			return -1;
		while (isdigit((unsigned char)*s))
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		*integer = 0;
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!isdigit((unsigned char)*s))
			return -1;
		while (isdigit((unsigned char)*s))
			s++;
	}
	return *s ? -1 : 0;
}

static int rd_number(struct reader *r, const char *where, struct jfield *out)
{
	int c, integer;

	strbuf_reset(&r->tok);
	while ((c = rd_peek(r)) != EOF && (isdigit(c) || c == '-' || c == '+' || c == '.' ||
					   c == 'e' || c == 'E')) {
		if (r->tok.len >= MAX_NUMBER_CHARS)
			return rd_error(r, where, "number too long");
		strbuf_addch(&r->tok, rd_get(r));
	}
	/* a number cut by the end of the file is a truncated document, not a bad number */
	if (c == EOF)
		return rd_eof_error(r, where);
	if (number_syntax(r->tok.buf, &integer))
		return rd_error(r, where, "bad number '%s'", r->tok.buf);
	errno = 0;
	if (integer) {
		long long v = strtoll(r->tok.buf, NULL, 10);

		if (errno == ERANGE)
			return rd_error(r, where, "integer %s out of range", r->tok.buf);
		out->kind = J_INT;
		out->i = v;
	} else {
		double d = strtod(r->tok.buf, NULL);

		if (isinf(d))
			return rd_error(r, where, "number %s out of range", r->tok.buf);
		out->kind = J_REAL;
		out->d = d;
	}
	return 0;
}

static int rd_literal(struct reader *r, const char *where, const char *word)
{
	const char *p;

	for (p = word; *p; p++) {
		int c = rd_get(r);

		if (c == EOF)
			return rd_eof_error(r, where);
		if (c != *p)
			return rd_error(r, where, "expected a JSON value");
	}
	return 0;
}

static void set_bytes(struct jfield *out, const char *s, size_t len)
{
	out->kind = J_BYTES;
	out->s = xmalloc(len + 1);
	memcpy(out->s, s, len);
	out->s[len] = '\0';
	out->len = len;
}

/* {"base64": "..."} or {"real": "inf"|"-inf"}; the '{' is next */
static int rd_tagged(struct reader *r, const char *where, struct jfield *out)
{
	struct strbuf tag = STRBUF_INIT;
	int ret = -1;

	if (rd_expect(r, where, '{') || rd_string(r, where))
		goto out;
	strbuf_add(&tag, r->tok.buf, r->tok.len);
	if (rd_expect(r, where, ':') || rd_string(r, where))
		goto out;
	if (!strcmp(tag.buf, "base64")) {
		if (decode_base64(r->tok.buf, r->tok.len, &r->tmp)) {
			rd_error(r, where, "invalid base64");
			goto out;
		}
		set_bytes(out, r->tmp.buf, r->tmp.len);
	} else if (!strcmp(tag.buf, "real")) {
		if (!strcmp(r->tok.buf, "inf")) {
			out->d = INFINITY;
		} else if (!strcmp(r->tok.buf, "-inf")) {
			out->d = -INFINITY;
		} else {
			rd_error(r, where, "\"real\" must be \"inf\" or \"-inf\"");
			goto out;
		}
		out->kind = J_REAL;
	} else {
		rd_error(r, where, "unknown value object \"%s\" (\"base64\" or \"real\")", tag.buf);
		goto out;
	}
	if (rd_expect(r, where, '}'))
		goto out;
	ret = 0;
out:
	strbuf_release(&tag);
	return ret;
}

static int rd_value(struct reader *r, const char *where, struct jfield *out)
{
	int c = rd_ws(r);

	switch (c) {
	case EOF:
		return rd_eof_error(r, where);
	case '"':
		if (rd_string(r, where))
			return -1;
		set_bytes(out, r->tok.buf, r->tok.len);
		return 0;
	case 'n':
		out->kind = J_NULL;
		return rd_literal(r, where, "null");
	case 't':
		out->kind = J_INT;
		out->i = 1;
		return rd_literal(r, where, "true");
	case 'f':
		out->kind = J_INT;
		out->i = 0;
		return rd_literal(r, where, "false");
	case '{':
		return rd_tagged(r, where, out);
	default:
		if (c == '-' || isdigit(c))
			return rd_number(r, where, out);
		return rd_error(r, where, "expected a column value (null, number, string, "
				"{\"base64\": ...} or {\"real\": ...})");
	}
}

/* an object of column values into row; where names it ("results[3]") */
static int rd_row(struct reader *r, const char *where, struct jrow *row)
{
	struct strbuf at = STRBUF_INIT;
	int c, ret = -1;

	jrow_clear(row);
	if (rd_ws(r) != '{') {
		if (rd_peek(r) == EOF)
			rd_eof_error(r, where);
		else
			rd_error(r, where, "expected an object");
		goto out;
	}
	row->line = r->line;
	rd_get(r);
	c = rd_ws(r);
	if (c == '}') {
		rd_get(r);
		ret = 0;
		goto out;
	}
	for (;;) {
		struct jfield *fl;

		if (rd_string(r, where))
			goto out;
		if (jrow_get(row, r->tok.buf)) {
			rd_error(r, where, "column \"%s\" appears twice", r->tok.buf);
			goto out;
		}
		if (memchr(r->tok.buf, '\0', r->tok.len)) {
			rd_error(r, where, "NUL in a column name");
			goto out;
		}
		XGROW(row->v, row->n + 1, row->alloc);
		fl = &row->v[row->n++];
		memset(fl, 0, sizeof(*fl));
		fl->key = xstrdup(r->tok.buf);
		strbuf_reset(&at);
		strbuf_addf(&at, "%s.%s", where, fl->key);
		if (rd_expect(r, at.buf, ':') || rd_value(r, at.buf, fl))
			goto out;
		c = rd_ws(r);
		if (c == ',') {
			rd_get(r);
			continue;
		}
		if (c == '}') {
			rd_get(r);
			break;
		}
		if (c == EOF)
			rd_eof_error(r, where);
		else
			rd_error(r, where, "expected ',' or '}' after a column");
		goto out;
	}
	ret = 0;
out:
	strbuf_release(&at);
	return ret;
}

/* --- import: into the tables --- */

struct column {
	char *name;
	int blob;             /* declared BLOB (or untyped): strings are stored as BLOBs */
};

struct table_cols {
	const char *table;
	struct column *v;
	size_t n, alloc;
	int shared;           /* rows other runs may hold too: INSERT OR IGNORE */
	sqlite3_stmt *ins;    /* INSERT for the last set of columns seen */
	struct strbuf sig;    /* that set, comma-separated */
};

struct importer {
	const struct sqldb *d; /* the history's file */
	struct reader r;
	int replace;
	int user_version;     /* of the local history */
	char *run_id;         /* once the run is read */
	struct table_cols runs;
	struct table_cols child[N_CHILD];
	struct jrow row;
};

static int load_columns(struct importer *im, struct table_cols *t, const char *table)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	t->table = table;
	if (sqldb_prepare(im->d, "SELECT name, upper(type) FROM pragma_table_info(?1)", &st))
		goto out;
	sqldb_bind_text(st, 1, table);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const char *type = (const char *)sqlite3_column_text(st, 1);
		struct column *c;

		XGROW(t->v, t->n + 1, t->alloc);
		c = &t->v[t->n++];
		c->name = xstrdup(name ? name : "");
		/* SQLite's affinity rule: BLOB in the type, or no type at all */
		c->blob = !type || !*type || strstr(type, "BLOB");
	}
	if (rc != SQLITE_DONE) {
		sqldb_error(im->d, "cannot read the schema");
		goto out;
	}
	if (!t->n) {
		error("history %s has no table %s", im->d->path, table);
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

static void table_cols_release(struct table_cols *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->v[i].name);
	free(t->v);
	sqlite3_finalize(t->ins);
	strbuf_release(&t->sig);
}

static const struct column *find_column(const struct table_cols *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (!strcmp(t->v[i].name, name))
			return &t->v[i];
	return NULL;
}

/* "file:line: where: message" for a row already read */
static int row_error(struct importer *im, const char *where, const char *fmt, ...)
	EG_PRINTF(3, 4);

static int row_error(struct importer *im, const char *where, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	error("%s:%ld: %s: %s", im->r.file, im->row.line, where, sb.buf);
	strbuf_release(&sb);
	return -1;
}

/* every key a column of the table, none local, enumerated values in range */
static int check_row(struct importer *im, const struct table_cols *t, const char *local,
		     int child, const char *where)
{
	struct strbuf unknown = STRBUF_INIT;
	size_t i, j;
	int ret = 0;

	for (i = 0; i < im->row.n; i++) {
		const struct jfield *fl = &im->row.v[i];

		if ((child && !strcmp(fl->key, "run_id")) || (local && !strcmp(fl->key, local))) {
			ret = row_error(im, where, "column \"%s\" is not part of an export "
					"(it is set by the importing history)", fl->key);
			goto out;
		}
		if (!find_column(t, fl->key)) {
			if (unknown.len)
				strbuf_addstr(&unknown, ", ");
			strbuf_addstr(&unknown, fl->key);
		}
	}
	if (unknown.len) {
		ret = row_error(im, where, "unknown column(s) %s: table %s of history %s "
				"(schema version %d) has no such column; a newer evalgate "
				"wrote this export", unknown.buf, t->table, im->d->path,
				im->user_version);
		goto out;
	}
	for (i = 0; i < sizeof(enum_checks) / sizeof(enum_checks[0]); i++) {
		const struct enum_check *ec = &enum_checks[i];
		const struct jfield *fl;

		if (strcmp(ec->table, t->table) || !(fl = jrow_get(&im->row, ec->column)))
			continue;
		for (j = 0; ec->allowed[j]; j++)
			if (fl->kind == J_BYTES && !strcmp(fl->s, ec->allowed[j]))
				break;
		if (!ec->allowed[j]) {
			ret = row_error(im, where, "%s: not a known value", ec->column);
			goto out;
		}
	}
out:
	strbuf_release(&unknown);
	return ret;
}

/* quoted SQL identifier */
static void add_ident(struct strbuf *sb, const char *name)
{
	strbuf_addch(sb, '"');
	for (; *name; name++) {
		if (*name == '"')
			strbuf_addch(sb, '"');
		strbuf_addch(sb, *name);
	}
	strbuf_addch(sb, '"');
}

/* insert im->row into t (with the run id first when child) */
static int insert_row(struct importer *im, struct table_cols *t, int child, const char *where)
{
	struct strbuf sig = STRBUF_INIT, sql = STRBUF_INIT;
	sqlite3_stmt *st;
	size_t i;
	int p, ret = -1;

	for (i = 0; i < im->row.n; i++) {
		strbuf_addstr(&sig, im->row.v[i].key);
		strbuf_addch(&sig, ',');
	}
	if (!t->ins || strcmp(sig.buf, t->sig.buf)) {
		sqlite3_finalize(t->ins);
		t->ins = NULL;
		strbuf_reset(&t->sig);
		strbuf_addf(&sql, "INSERT%s INTO %s (", t->shared ? " OR IGNORE" : "", t->table);
		if (child)
			strbuf_addstr(&sql, "run_id");
		for (i = 0; i < im->row.n; i++) {
			if (child || i)
				strbuf_addch(&sql, ',');
			add_ident(&sql, im->row.v[i].key);
		}
		strbuf_addstr(&sql, ") VALUES (");
		for (i = 0; i < im->row.n + (size_t)child; i++)
			strbuf_addstr(&sql, i ? ",?" : "?");
		strbuf_addch(&sql, ')');
		if (sqlite3_prepare_v2(im->d->db, sql.buf, -1, &t->ins, NULL) != SQLITE_OK) {
			t->ins = NULL;
			row_error(im, where, "cannot import: %s", sqlite3_errmsg(im->d->db));
			goto out;
		}
		strbuf_add(&t->sig, sig.buf, sig.len);
	}
	st = t->ins;
	p = 1;
	if (child)
		sqlite3_bind_text(st, p++, im->run_id, -1, SQLITE_STATIC);
	for (i = 0; i < im->row.n; i++, p++) {
		const struct jfield *fl = &im->row.v[i];

		switch (fl->kind) {
		case J_NULL:
			sqlite3_bind_null(st, p);
			break;
		case J_INT:
			sqlite3_bind_int64(st, p, fl->i);
			break;
		case J_REAL:
			sqlite3_bind_double(st, p, fl->d);
			break;
		case J_BYTES:
			if (find_column(t, fl->key)->blob)
				sqlite3_bind_blob64(st, p, fl->s, fl->len, SQLITE_STATIC);
			else
				sqlite3_bind_text64(st, p, fl->s, fl->len, SQLITE_STATIC,
						    SQLITE_UTF8);
			break;
		}
	}
	if (sqlite3_step(st) != SQLITE_DONE) {
		row_error(im, where, "cannot import: %s", sqlite3_errmsg(im->d->db));
		sqlite3_reset(st);
		goto out;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	ret = 0;
out:
	strbuf_release(&sig);
	strbuf_release(&sql);
	return ret;
}

static int import_run(struct importer *im)
{
	const struct jfield *id;
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	if (rd_row(&im->r, "run", &im->row))
		return -1;
	id = jrow_get(&im->row, "id");
	if (!id || id->kind != J_BYTES || !id->len || memchr(id->s, '\0', id->len))
		return row_error(im, "run", "id: a run needs a non-empty string id");
	if (check_row(im, &im->runs, NULL, 0, "run"))
		return -1;
	im->run_id = xstrdup(id->s);
	if (sqldb_prepare(im->d, "SELECT 1 FROM runs WHERE id = ?1", &st))
		goto out;
	sqldb_bind_text(st, 1, im->run_id);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		sqldb_error(im->d, "cannot read runs");
		goto out;
	}
	if (rc == SQLITE_ROW) {
		if (!im->replace) {
			error("run %s is already in history %s; --replace overwrites it",
			      im->run_id, im->d->path);
			goto out;
		}
		sqlite3_finalize(st);
		/* the foreign keys cascade to suites, results, scores and gates */
		if (sqldb_prepare(im->d, "DELETE FROM runs WHERE id = ?1", &st))
			goto out;
		sqldb_bind_text(st, 1, im->run_id);
		if (sqlite3_step(st) != SQLITE_DONE) {
			sqldb_error(im->d, "cannot replace the run");
			goto out;
		}
	}
	ret = insert_row(im, &im->runs, 0, "run");
out:
	sqlite3_finalize(st);
	return ret;
}

static int import_rows(struct importer *im, int t)
{
	const struct child_table *ct = &child_tables[t];
	struct strbuf where = STRBUF_INIT;
	long i;
	int c, ret = -1;

	if (rd_expect(&im->r, ct->member, '['))
		goto out;
	c = rd_ws(&im->r);
	if (c == ']') {
		rd_get(&im->r);
		ret = 0;
		goto out;
	}
	for (i = 0; ; i++) {
		strbuf_reset(&where);
		strbuf_addf(&where, "%s[%ld]", ct->member, i);
		if (rd_row(&im->r, where.buf, &im->row) ||
		    check_row(im, &im->child[t], ct->local, !ct->shared, where.buf) ||
		    insert_row(im, &im->child[t], !ct->shared, where.buf))
			goto out;
		c = rd_ws(&im->r);
		if (c == ',') {
			rd_get(&im->r);
			continue;
		}
		if (c == ']') {
			rd_get(&im->r);
			break;
		}
		if (c == EOF)
			rd_eof_error(&im->r, where.buf);
		else
			rd_error(&im->r, ct->member, "expected ',' or ']' after a row");
		goto out;
	}
	ret = 0;
out:
	strbuf_release(&where);
	return ret;
}

/* an integer member of the header */
static int header_int(struct importer *im, const char *key, long long *out)
{
	struct jfield fl;

	memset(&fl, 0, sizeof(fl));
	if (rd_value(&im->r, key, &fl))
		goto out_free;
	if (fl.kind != J_INT) {
		rd_error(&im->r, key, "expected an integer");
		goto out_free;
	}
	*out = fl.i;
	return 0;
out_free:
	free(fl.s);
	return -1;
}

/* the members of the top-level object, after its '{' */
static int import_members(struct importer *im)
{
	struct reader *r = &im->r;
	struct strbuf key = STRBUF_INIT;
	unsigned seen = 0;          /* bit 0 format, 1 schema, 2 history version, 3 run, 4+ tables */
	int c, t, nmember = 0, ret = -1;

	c = rd_ws(r);
	if (c == '}') {
		rd_error(r, NULL, "empty object: not an evalgate run export");
		goto out;
	}
	for (;; nmember++) {
		unsigned bit;

		if (rd_string(r, NULL))
			goto out;
		strbuf_reset(&key);
		strbuf_add(&key, r->tok.buf, r->tok.len);
		if (rd_expect(r, key.buf, ':'))
			goto out;
		if (!nmember && strcmp(key.buf, "format")) {
			rd_error(r, NULL, "not an evalgate run export: the first member must be "
				 "\"format\", found \"%s\"", key.buf);
			goto out;
		}
		if (!strcmp(key.buf, "format")) {
			bit = 1u << 0;
		} else if (!strcmp(key.buf, "schema_version")) {
			bit = 1u << 1;
		} else if (!strcmp(key.buf, "history_user_version")) {
			bit = 1u << 2;
		} else if (!strcmp(key.buf, "run")) {
			bit = 1u << 3;
		} else {
			for (t = 0; t < N_CHILD; t++)
				if (!strcmp(key.buf, child_tables[t].member))
					break;
			if (t == N_CHILD) {
				rd_error(r, NULL, "unknown member \"%s\"", key.buf);
				goto out;
			}
			bit = 1u << (4 + t);
		}
		if (seen & bit) {
			rd_error(r, NULL, "member \"%s\" appears twice", key.buf);
			goto out;
		}
		if (bit > (1u << 1) && !(seen & (1u << 1))) {
			rd_error(r, NULL, "\"schema_version\" must come right after \"format\"");
			goto out;
		}
		if (bit > (1u << 3) && !(seen & (1u << 3))) {
			rd_error(r, NULL, "\"%s\" comes before \"run\"; the run must come first",
				 key.buf);
			goto out;
		}
		seen |= bit;
		if (bit == 1u << 0) {
			struct jfield fl;

			memset(&fl, 0, sizeof(fl));
			if (rd_value(r, "format", &fl))
				goto out;
			if (fl.kind != J_BYTES || strcmp(fl.s, EXPORT_FORMAT)) {
				free(fl.s);
				rd_error(r, "format", "not an evalgate run export (expected \"%s\")",
					 EXPORT_FORMAT);
				goto out;
			}
			free(fl.s);
		} else if (bit == 1u << 1) {
			long long v;

			if (header_int(im, "schema_version", &v))
				goto out;
			if (v > EXPORT_SCHEMA_VERSION) {
				rd_error(r, "schema_version", "export schema %lld was written by a "
					 "newer evalgate; this one reads up to %d: upgrade evalgate "
					 "to import it", v, EXPORT_SCHEMA_VERSION);
				goto out;
			}
			if (v < 1) {
				rd_error(r, "schema_version", "%lld is not a schema version", v);
				goto out;
			}
		} else if (bit == 1u << 2) {
			long long v;

			if (header_int(im, "history_user_version", &v))
				goto out;
		} else if (bit == 1u << 3) {
			if (import_run(im))
				goto out;
		} else if (import_rows(im, t)) {
			goto out;
		}
		c = rd_ws(r);
		if (c == ',') {
			rd_get(r);
			continue;
		}
		if (c == '}') {
			rd_get(r);
			break;
		}
		if (c == EOF)
			rd_eof_error(r, NULL);
		else
			rd_error(r, NULL, "expected ',' or '}' after member \"%s\"", key.buf);
		goto out;
	}
	if (!(seen & (1u << 3))) {
		rd_error(r, NULL, "the document has no \"run\"");
		goto out;
	}
	if (rd_ws(r) != EOF) {
		rd_error(r, NULL, "unexpected data after the document");
		goto out;
	}
	if (ferror(r->f)) {
		rd_error(r, NULL, "read error: %s", strerror(errno));
		goto out;
	}
	ret = 0;
out:
	strbuf_release(&key);
	return ret;
}

int run_import(struct history *h, const char *path, int replace, char **imported_id)
{
	struct importer im;
	int from_stdin = !strcmp(path, "-");
	int i, in_tx = 0, ret = -1;

	memset(&im, 0, sizeof(im));
	im.d = &h->db;
	im.replace = replace;
	im.r.file = from_stdin ? "<stdin>" : path;
	im.r.line = im.r.col = 1;
	im.r.peeked = -2;
	strbuf_init(&im.r.tok, 0);
	strbuf_init(&im.r.tmp, 0);
	strbuf_init(&im.runs.sig, 0);
	for (i = 0; i < N_CHILD; i++)
		strbuf_init(&im.child[i].sig, 0);
	if (imported_id)
		*imported_id = NULL;

	im.r.f = from_stdin ? stdin : fopen(path, "r");
	if (!im.r.f) {
		error("cannot open %s: %s", path, strerror(errno));
		goto out;
	}
	if (load_columns(&im, &im.runs, "runs"))
		goto out;
	for (i = 0; i < N_CHILD; i++) {
		if (load_columns(&im, &im.child[i], child_tables[i].table))
			goto out;
		im.child[i].shared = child_tables[i].shared;
	}
	{
		sqlite3_stmt *st = NULL;

		if (sqlite3_prepare_v2(im.d->db, "PRAGMA user_version", -1, &st, NULL) ==
			    SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW)
			im.user_version = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}

	if (rd_ws(&im.r) != '{') {
		if (rd_peek(&im.r) == EOF && !ferror(im.r.f))
			rd_error(&im.r, NULL, "empty file: not an evalgate run export");
		else
			rd_error(&im.r, NULL, "not an evalgate run export: expected a JSON object");
		goto out;
	}
	rd_get(&im.r);
	/* scores may name results that come later in a hand-made file: check at commit */
	if (sqlite3_exec(im.d->db, "BEGIN IMMEDIATE; PRAGMA defer_foreign_keys = ON", NULL, NULL,
			 NULL) != SQLITE_OK) {
		sqldb_error(im.d, "cannot start the import");
		goto out;
	}
	in_tx = 1;
	if (import_members(&im))
		goto out;
	if (sqlite3_exec(im.d->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		error("%s: cannot import run %s: %s (a score or suite without its run or "
		      "result?)", im.r.file, im.run_id, sqlite3_errmsg(im.d->db));
		goto out;
	}
	in_tx = 0;
	if (imported_id) {
		*imported_id = im.run_id;
		im.run_id = NULL;
	}
	ret = 0;
out:
	if (in_tx)
		sqldb_rollback(im.d);
	if (im.r.f && !from_stdin)
		fclose(im.r.f);
	jrow_clear(&im.row);
	free(im.row.v);
	table_cols_release(&im.runs);
	for (i = 0; i < N_CHILD; i++)
		table_cols_release(&im.child[i]);
	strbuf_release(&im.r.tok);
	strbuf_release(&im.r.tmp);
	free(im.run_id);
	return ret;
}
