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

/* load the config when there is one, so that judge scorers know their model */
static int load_config(const struct common_opts *common, const char *dflt, struct eg_config *cfg,
		       int *have)
{
	struct stat st;

	*have = 0;
	if (common->config == dflt && stat(common->config, &st) && errno == ENOENT)
		return 0;
	if (config_load(cfg, common->config))
		return -1;
	*have = 1;
	{
		struct scorer_env env = { cfg->judge.model, cfg->judge.params, cfg->judge.samples,
					  cfg->target.model };
		scorer_env_set(&env);
	}
	return 0;
}

int cmd_sample(int argc, char **argv)
{
	struct common_opts common;
	struct opt_list always = { 0 };
	const char *out = NULL, *rate_s = NULL, *stratify = NULL, *name = NULL, *version = NULL,
		   *tpl_path = NULL, *dflt_config;
	long n = 0, seed = 0;
	int strict = 0, have_cfg = 0, nops, rc = EG_EXIT_USAGE;
	struct eg_config cfg;
	struct sample_opts so;
	struct sampler *smp = NULL;
	struct sink sink = { 0 };
	struct strbuf dir = STRBUF_INIT, tmp = STRBUF_INIT, path = STRBUF_INIT,
		      desc = STRBUF_INIT;
	cJSON *manifest = NULL;
	struct eg_suite check;
	const struct sample_counts *c;
	char *suite_name = NULL, *text;
	int tmp_made = 0;
	const struct option opts[] = {
		OPT_COMMON(&common),
		OPT_STRING_(0, "out", &out, "DIR", "the suite directory to write (replaced atomically)"),
		OPT_STRING_(0, "rate", &rate_s, "R", "keep each line with probability R (Bernoulli)"),
		OPT_INT_(0, "n", &n, "N", "keep exactly N lines (reservoir sampling)", 1, 10000000),
		OPT_INT_(0, "seed", &seed, "S", "random seed (default 0: the same log gives the same sample)",
			 0, 0x7fffffffffffffffL),
		OPT_STRING_(0, "stratify-by", &stratify, "FIELD",
			    "share N among the values of FIELD (e.g. metadata.route) by their sizes"),
		OPT_LIST_(0, "always", &always, "FIELD=VALUE",
			  "also keep every line whose FIELD equals VALUE (repeatable)"),
		OPT_STRING_(0, "name", &name, "NAME", "suite name (default: the template's, or DIR's name)"),
		OPT_STRING_(0, "version", &version, "V",
			    "suite version (default: sample-<hash of the cases>)"),
		OPT_STRING_(0, "template", &tpl_path, "FILE",
			    "suite.json (or array of scorers) to copy scorers from (default: DIR/suite.json)"),
		OPT_FLAG_(0, "strict", &strict, "fail on the first malformed line instead of skipping it"),
		OPT_END_(),
	};

	common_opts_init(&common);
	dflt_config = common.config;
	memset(&so, 0, sizeof(so));
	nops = parse_options(argc, argv, opts, usage);
	if (nops == -2)
		return 0;
	if (nops < 0 || common_opts_apply(&common))
		goto out;
	if (nops != 1) {
		error(nops ? "sample takes one log file" : "sample needs a log file (- for standard input)");
		goto out;
	}
	if (!out || !*out) {
		error("sample needs --out DIR");
		goto out;
	}
	if (!!rate_s == !!n) {
		error("give exactly one of --rate R and --n N");
		goto out;
	}
	if (rate_s && parse_rate(rate_s, &so.rate))
		goto out;
	strbuf_addstr(&dir, out);
	while (dir.len > 1 && dir.buf[dir.len - 1] == '/')
		dir.buf[--dir.len] = '\0';
	if (load_config(&common, dflt_config, &cfg, &have_cfg))
		goto out;
	manifest = load_template(tpl_path, dir.buf);
	if (!manifest)
		goto out;
	so.file = strcmp(argv[0], "-") ? argv[0] : "<stdin>";
	so.n = (size_t)n;
	so.seed = (uint64_t)seed;
	so.stratify_by = stratify;
	so.always = always.v;
	so.n_always = always.n;
	so.strict = strict;
	so.emit = sink_emit;
	so.emit_arg = &sink;
	smp = sampler_new(&so);
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
		error("%s: no case drawn (%ld lines, %ld malformed)", so.file, c->lines, c->malformed);
		goto out;
	}

	/* the manifest */
	if (name)
		set_string(manifest, "name", name);
	else if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(manifest, "name"))) {
		suite_name = default_name(dir.buf);
		set_string(manifest, "name", suite_name);
	}
	if (version) {
		set_string(manifest, "version", version);
	} else {
		unsigned char dig[32];
		char hex[65];
		struct strbuf v = STRBUF_INIT;

		sha256_final(&sink.hash, dig);
		sha256_to_hex(dig, hex);
		strbuf_addf(&v, "sample-%.12s", hex);
		set_string(manifest, "version", v.buf);
		strbuf_release(&v);
	}
	set_string(manifest, "kind", "online");
	strbuf_addf(&desc, "online sample of %s: ", so.file);
	if (so.rate > 0)
		strbuf_addf(&desc, "rate %g", so.rate);
	else
		strbuf_addf(&desc, "n %ld", n);
	strbuf_addf(&desc, ", seed %ld, %ld sampled of %ld lines", seed, c->sampled, c->population);
	if (stratify)
		strbuf_addf(&desc, " stratified by %s", stratify);
	if (c->always)
		strbuf_addf(&desc, ", %ld always kept", c->always);
	set_string(manifest, "description", desc.buf);
	text = jsonw_print(manifest, JSONW_PRETTY);
	strbuf_reset(&path);
	strbuf_addf(&path, "%s/suite.json", tmp.buf);
	{
		struct strbuf body = STRBUF_INIT;
		int w;
		strbuf_addstr(&body, text);
		strbuf_addch(&body, '\n');
		w = write_text(path.buf, body.buf);
		strbuf_release(&body);
		free(text);
		if (w)
			goto out;
	}
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
	if (stratify) {
		size_t i;
		for (i = 0; i < (size_t)c->strata && i < 50; i++) {
			const char *v;
			long seen, drawn;
			sampler_stratum(smp, i, &v, &seen, &drawn);
			info("  %s=%s: %ld of %ld", stratify, v, drawn, seen);
		}
		if (c->strata > 50)
			info("  ... and %ld more strata", c->strata - 50);
	}
	rc = 0;
out:
	if (sink.fp)
		fclose(sink.fp);
	if (tmp_made)
		remove_tree(tmp.buf);
	sampler_free(smp);
	cJSON_Delete(manifest);
	if (have_cfg)
		config_release(&cfg);
	free(suite_name);
	strbuf_release(&dir);
	strbuf_release(&tmp);
	strbuf_release(&path);
	strbuf_release(&desc);
	opt_list_release(&always);
	return rc;
}
