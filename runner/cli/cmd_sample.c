/*
 * sample: draw an online-sample suite from a traffic log.
 *
 * The suite is written into a temporary directory beside --out, loaded
 * back with the ordinary suite loader (so what is written always loads),
 * and only then moved into place with one rename (an existing suite
 * directory is swapped out atomically with RENAME_EXCHANGE and removed).
 */
#define _GNU_SOURCE /* renameat2 */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "commands.h"
#include "config.h"
#include "error.h"
#include "jsonutil.h"
#include "jsonw.h"
#include "opts.h"
#include "sample.h"
#include "sha256.h"
#include "strbuf.h"
#include "suite.h"
#include "xalloc.h"
#include "banned.h"

static const char usage[] =
	"usage: evalgate sample LOG --out DIR (--rate R | --n N) [--seed S] [--stratify-by FIELD]\n"
	"                       [--always FIELD=VALUE]... [--name NAME] [--version V] [--template FILE] [--strict]";

/* where the cases go while the log is read */
struct sink {
	FILE *fp;
	const char *path;
	struct sha256 hash;         /* of cases.jsonl, for the default version */
	long n;
};

static int sink_emit(const char *line, size_t len, void *arg)
{
	struct sink *k = arg;

	sha256_update(&k->hash, line, len);
	sha256_update(&k->hash, "\n", 1);
	k->n++;
	if (fwrite(line, 1, len, k->fp) != len || putc('\n', k->fp) == EOF)
		return error("%s: cannot write: %s", k->path, strerror(errno));
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void remove_tree(const char *dir)
{
	if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) && errno != ENOENT)
		warning("%s: cannot remove: %s", dir, strerror(errno));
}

static int write_text(const char *path, const char *text)
{
	FILE *fp = fopen(path, "wb");
	int ret = -1;

	if (!fp)
		return error("%s: cannot create: %s", path, strerror(errno));
	if (fputs(text, fp) == EOF || fflush(fp) || fsync(fileno(fp)))
		error("%s: cannot write: %s", path, strerror(errno));
	else
		ret = 0;
	if (fclose(fp) && !ret)
		ret = error("%s: cannot write: %s", path, strerror(errno));
	return ret;
}

/*
 * The manifest template: --template FILE (a suite.json-like object, or just
 * an array of scorers), else the suite.json already in DIR. NULL after
 * reporting; a missing template is an error, since a suite needs scorers.
 */
static cJSON *load_template(const char *tpl_path, const char *out_dir)
{
	struct strbuf path = STRBUF_INIT, text = STRBUF_INIT;
	struct jdoc d = { 0 };
	cJSON *m = NULL;
	struct stat st;

	if (tpl_path) {
		strbuf_addstr(&path, tpl_path);
	} else {
		strbuf_addf(&path, "%s/suite.json", out_dir);
		if (stat(path.buf, &st)) {
			error("%s: no scorers for the sample: pass --template FILE (a suite.json "
			      "or an array of scorers), or keep a suite.json in %s", out_dir, out_dir);
			goto out;
		}
	}
	if (read_file(path.buf, &text, 4u << 20) || jdoc_parse(&d, path.buf, 1, text.buf, text.len))
		goto out;
	if (cJSON_IsArray(d.root)) {
		m = cJSON_CreateObject();
		cJSON_AddItemToObject(m, "scorers", cJSON_Duplicate(d.root, 1));
	} else if (cJSON_IsObject(d.root)) {
		m = cJSON_Duplicate(d.root, 1);
	} else {
		jdoc_error(&d, d.root, NULL, "expected a suite.json object or an array of scorers");
		goto out;
	}
	if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(m, "scorers"))) {
		jdoc_error(&d, d.root, "scorers", "the template needs an array of scorers");
		cJSON_Delete(m);
		m = NULL;
	}
out:
	jdoc_release(&d);
	strbuf_release(&text);
	strbuf_release(&path);
	return m;
}

static void set_string(cJSON *o, const char *key, const char *v)
{
	cJSON_DeleteItemFromObjectCaseSensitive(o, key);
	cJSON_AddStringToObject(o, key, v);
}

/* the suite name by default: DIR's last part, made a valid name */
static char *default_name(const char *dir)
{
	const char *base = strrchr(dir, '/');
	char *n = xstrdup(base ? base + 1 : dir);
	char *p;

	for (p = n; *p; p++)
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') &&
		    !(*p >= '0' && *p <= '9') && *p != '.' && *p != '_' && *p != '-')
			*p = '-';
	return n;
}

/* move tmp to dir: a plain rename, or an atomic swap with an existing suite */
static int install(const char *tmp, const char *dir)
{
	struct strbuf probe = STRBUF_INIT, old = STRBUF_INIT;
	struct stat st;
	int ret = -1;

	if (!rename(tmp, dir)) {
		ret = 0;
		goto out;
	}
	if (errno != ENOTEMPTY && errno != EEXIST)
		goto fail;
	/* never swap away a directory that is not a suite */
	strbuf_addf(&probe, "%s/suite.json", dir);
	if (stat(probe.buf, &st)) {
		error("%s: exists and holds no suite.json; not replacing it", dir);
		goto out;
	}
	if (!renameat2(AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_EXCHANGE)) {
		remove_tree(tmp); /* now the old suite */
		ret = 0;
		goto out;
	}
	if (errno != EINVAL && errno != ENOSYS)
		goto fail;
	/* a file system without exchange: two renames */
	strbuf_addf(&old, "%s.old-%ld", dir, (long)getpid());
	if (rename(dir, old.buf))
		goto fail;
	if (rename(tmp, dir)) {
		int e = errno;
		if (rename(old.buf, dir))
			warning("%s: the previous suite is left in %s", dir, old.buf);
		errno = e;
		goto fail;
	}
	remove_tree(old.buf);
	ret = 0;
	goto out;
fail:
	error("%s: cannot move the sample into place: %s", dir, strerror(errno));
out:
	strbuf_release(&probe);
	strbuf_release(&old);
	return ret;
}

/* create the directories above path, as mkdir -p would */
static int make_parents(const char *path)
{
	char *p = xstrdup(path), *s;
	int ret = 0;

	for (s = p + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		if (mkdir(p, 0777) && errno != EEXIST) {
			ret = error("%s: cannot create: %s", p, strerror(errno));
			break;
		}
		*s = '/';
	}
	free(p);
	return ret;
}

static int parse_rate(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0 && v <= 1))
		return error("--rate: expected a probability in (0, 1], not '%s'", s);
	*out = v;
	return 0;
}

/* the options of `sample`, as parsed */
struct sample_cli {
	struct sample_opts so;   /* for the sampler */
	const char *name;        /* --name */
	const char *version;     /* --version */
	const char *stratify;    /* --stratify-by */
	long n;                  /* --n */
	long seed;               /* --seed */
};

/* the suite's manifest, from the template and what was drawn, as tmp/suite.json; -1 after reporting */
static int write_manifest(cJSON *manifest, const struct sample_cli *o, const char *dir,
			  const char *tmp, struct sink *sink, const struct sample_counts *c,
			  char **suite_name)
{
	struct strbuf desc = STRBUF_INIT, path = STRBUF_INIT, body = STRBUF_INIT;
	char *text;
	int rc;

	if (o->name)
		set_string(manifest, "name", o->name);
	else if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(manifest, "name"))) {
		*suite_name = default_name(dir);
		set_string(manifest, "name", *suite_name);
	}
	if (o->version) {
		set_string(manifest, "version", o->version);
	} else {
		unsigned char dig[32];
		char hex[65];
		struct strbuf v = STRBUF_INIT;

		sha256_final(&sink->hash, dig);
		sha256_to_hex(dig, hex);
		strbuf_addf(&v, "sample-%.12s", hex);
		set_string(manifest, "version", v.buf);
		strbuf_release(&v);
	}
	set_string(manifest, "kind", "online");
	strbuf_addf(&desc, "online sample of %s: ", o->so.file);
	if (o->so.rate > 0)
		strbuf_addf(&desc, "rate %g", o->so.rate);
	else
		strbuf_addf(&desc, "n %ld", o->n);
	strbuf_addf(&desc, ", seed %ld, %ld sampled of %ld lines", o->seed, c->sampled,
		    c->population);
	if (o->stratify)
		strbuf_addf(&desc, " stratified by %s", o->stratify);
	if (c->always)
		strbuf_addf(&desc, ", %ld always kept", c->always);
	set_string(manifest, "description", desc.buf);
	text = jsonw_print(manifest, JSONW_PRETTY);
	strbuf_addf(&path, "%s/suite.json", tmp);
	strbuf_addstr(&body, text);
	strbuf_addch(&body, '\n');
	rc = write_text(path.buf, body.buf);
	free(text);
	strbuf_release(&body);
	strbuf_release(&path);
	strbuf_release(&desc);
	return rc;
}

/* how many lines each stratum had and gave, the first 50 */
static void print_strata(struct sampler *smp, const struct sample_counts *c, const char *field)
{
	size_t i;

	for (i = 0; i < (size_t)c->strata && i < 50; i++) {
		const char *v;
		long seen, drawn;
		sampler_stratum(smp, i, &v, &seen, &drawn);
		info("  %s=%s: %ld of %ld", field, v, drawn, seen);
	}
	if (c->strata > 50)
		info("  ... and %ld more strata", c->strata - 50);
}

int cmd_sample(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct sample_cli o;
	struct opt_list always = { 0 };
	const char *out = NULL, *rate_s = NULL, *tpl_path = NULL;
	int strict = 0, nops, rc = EG_EXIT_USAGE;
	struct sampler *smp = NULL;
	struct sink sink = { 0 };
	struct strbuf dir = STRBUF_INIT, tmp = STRBUF_INIT, path = STRBUF_INIT;
	cJSON *manifest = NULL;
	struct eg_suite check;
	const struct sample_counts *c;
	char *suite_name = NULL;
	int tmp_made = 0;
	const struct option opts[] = {
		OPT_STRING_(0, "out", &out, "DIR", "the suite directory to write (replaced atomically)"),
		OPT_STRING_(0, "rate", &rate_s, "R", "keep each line with probability R (Bernoulli)"),
		OPT_INT_(0, "n", &o.n, "N", "keep exactly N lines (reservoir sampling)", 1, 10000000),
		OPT_INT_(0, "seed", &o.seed, "S", "random seed (default 0: the same log gives the same sample)",
			 0, 0x7fffffffffffffffL),
		OPT_STRING_(0, "stratify-by", &o.stratify, "FIELD",
			    "share N among the values of FIELD (e.g. metadata.route) by their sizes"),
		OPT_LIST_(0, "always", &always, "FIELD=VALUE",
			  "also keep every line whose FIELD equals VALUE (repeatable)"),
		OPT_STRING_(0, "name", &o.name, "NAME", "suite name (default: the template's, or DIR's name)"),
		OPT_STRING_(0, "version", &o.version, "V",
			    "suite version (default: sample-<hash of the cases>)"),
		OPT_STRING_(0, "template", &tpl_path, "FILE",
			    "suite.json (or array of scorers) to copy scorers from (default: DIR/suite.json)"),
		OPT_FLAG_(0, "strict", &strict, "fail on the first malformed line instead of skipping it"),
		OPT_END_(),
	};

	memset(&o, 0, sizeof(o));
	nops = cmd_start(ctx, argc, argv, opts, usage);
	if (nops < 0) {
		rc = ctx->rc;
		goto out;
	}
	if (nops != 1) {
		error(nops ? "sample takes one log file" : "sample needs a log file (- for standard input)");
		goto out;
	}
	if (!out || !*out) {
		error("sample needs --out DIR");
		goto out;
	}
	if (!!rate_s == !!o.n) {
		error("give exactly one of --rate R and --n N");
		goto out;
	}
	if (rate_s && parse_rate(rate_s, &o.so.rate))
		goto out;
	strbuf_addstr(&dir, out);
	while (dir.len > 1 && dir.buf[dir.len - 1] == '/')
		dir.buf[--dir.len] = '\0';
	/* the config, when there is one, tells judge scorers their model */
	if (cmd_setup(ctx))
		goto out;
	if (ctx->have_cfg) {
		struct scorer_env env = { ctx->cfg.judge.model, ctx->cfg.judge.params,
					  ctx->cfg.judge.samples, ctx->cfg.target.model };
		scorer_env_set(&env);
	}
	manifest = load_template(tpl_path, dir.buf);
	if (!manifest)
		goto out;
	o.so.file = strcmp(argv[0], "-") ? argv[0] : "<stdin>";
	o.so.n = (size_t)o.n;
	o.so.seed = (uint64_t)o.seed;
	o.so.stratify_by = o.stratify;
	o.so.always = always.v;
	o.so.n_always = always.n;
	o.so.strict = strict;
	o.so.emit = sink_emit;
	o.so.emit_arg = &sink;
	smp = sampler_new(&o.so);
	if (!smp)
		goto out;

	if (make_parents(dir.buf))
		goto out;
	strbuf_addf(&tmp, "%s.tmp-XXXXXX", dir.buf);
	if (!mkdtemp(tmp.buf)) {
		error("%s: cannot create a temporary directory: %s", tmp.buf, strerror(errno));
		goto out;
	}
	tmp_made = 1;
	strbuf_addf(&path, "%s/cases.jsonl", tmp.buf);
	sink.path = path.buf;
	sha256_init(&sink.hash);
	sink.fp = fopen(path.buf, "wb");
	if (!sink.fp) {
		error("%s: cannot create: %s", path.buf, strerror(errno));
		goto out;
	}
	if (sampler_read_file(smp, argv[0]) || sampler_finish(smp))
		goto out;
	if (fflush(sink.fp) || fsync(fileno(sink.fp))) {
		error("%s: cannot write: %s", path.buf, strerror(errno));
		goto out;
	}
	c = sampler_counts(smp);
	if (!sink.n) {
		error("%s: no case drawn (%ld lines, %ld malformed)", o.so.file, c->lines, c->malformed);
		goto out;
	}

	if (write_manifest(manifest, &o, dir.buf, tmp.buf, &sink, c, &suite_name))
		goto out;
	if (fclose(sink.fp)) {
		sink.fp = NULL;
		error("%s/cases.jsonl: cannot write: %s", tmp.buf, strerror(errno));
		goto out;
	}
	sink.fp = NULL;

	/* what is written must load */
	if (suite_load(&check, tmp.buf, NULL)) {
		error("%s: the sampled suite does not load (see above); nothing was written", dir.buf);
		goto out;
	}
	suite_release(&check);
	if (install(tmp.buf, dir.buf))
		goto out;
	tmp_made = 0;
	info("wrote %s: %ld cases (%ld sampled of %ld lines, %ld always kept, %ld malformed skipped)",
	     dir.buf, sink.n, c->sampled, c->population, c->always, c->malformed);
	if (o.stratify)
		print_strata(smp, c, o.stratify);
	rc = 0;
out:
	if (sink.fp)
		fclose(sink.fp);
	if (tmp_made)
		remove_tree(tmp.buf);
	sampler_free(smp);
	cJSON_Delete(manifest);
	free(suite_name);
	strbuf_release(&dir);
	strbuf_release(&tmp);
	strbuf_release(&path);
	opt_list_release(&always);
	return rc;
}
