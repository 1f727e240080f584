#include "setup.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "error.h"
#include "jsonutil.h"
#include "path.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

/* the config's suites[i] (at dir) is not a directory: 1 after reporting it there */
static int config_suite_missing(const struct eg_config *cfg, size_t i, const char *dir)
{
	struct stat st;
	struct jdoc d;
	char field[32];
	int exists = !stat(dir, &st);

	if (exists && S_ISDIR(st.st_mode))
		return 0;
	config_jdoc(cfg, &d);
	snprintf(field, sizeof(field), "suites[%zu]", i);
	jdoc_error(&d, cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(d.root, "suites"),
					  (int)i),
		   field, "'%s': %s (paths are relative to the config's directory)",
		   cfg->suites[i], exists ? "not a directory" : "no such directory");
	return 1;
}

static int compile_filter(struct case_filter *f, const char *re)
{
	int err;
	PCRE2_SIZE off;
	pcre2_code *code;

	code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &err, &off, NULL);
	if (!code) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(err, msg, sizeof(msg));
		return error("--filter-id: %s at offset %zu", (char *)msg, (size_t)off);
	}
	f->id_re = code;
	return 0;
}

int setup_target_prompt(const struct eg_config *cfg, struct prompt *p)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg->target.obj, "prompt");
	struct jdoc d;
	char *dir, *path;
	int ret;

	memset(p, 0, sizeof(*p));
	if (!v)
		return 0;
	config_jdoc(cfg, &d);
	if (!cJSON_IsString(v) || !*v->valuestring)
		return jdoc_error(&d, v, "target.prompt",
				  "expected a file name (relative to the config)");
	dir = path_dir(cfg->path);
	path = path_resolve(dir, v->valuestring);
	ret = prompt_load(p, path);
	free(path);
	free(dir);
	return ret;
}

/* the config's target, gates and prompt, once s->cfg is loaded */
static int setup_config_parts(struct setup *s)
{
	s->have_cfg = 1;
	/* on failure the caller's setup_release frees what was loaded */
	return target_load(&s->target, &s->cfg) || gates_load(&s->gates, &s->cfg) ||
	       setup_target_prompt(&s->cfg, &s->prompt) ? -1 : 0;
}

static int setup_suites(struct setup *s, const struct setup_args *a, const char *cfg_path);

int setup_load(struct setup *s, const struct setup_args *a)
{
	const char *cfg_path = a->common->config;
	struct stat st;

	memset(s, 0, sizeof(*s));
	if (!(a->config_optional && a->suite_dirs->n && stat(cfg_path, &st) && errno == ENOENT)) {
		if (config_load(&s->cfg, cfg_path) || setup_config_parts(s))
			return -1;
	}
	return setup_suites(s, a, cfg_path);
}

int setup_load_text(struct setup *s, const struct setup_args *a, const char *text, size_t len)
{
	memset(s, 0, sizeof(*s));
	if (config_load_text(&s->cfg, a->common->config, text, len) || setup_config_parts(s))
		return -1;
	return setup_suites(s, a, a->common->config);
}

/* setup_judge_samples: 0, or the judges' samples in place of the config's */
static int judge_samples_override;

void setup_judge_samples(int k)
{
	judge_samples_override = k;
}

/* the scorers' environment, the filter, the suites and the gates' suites */
static int setup_suites(struct setup *s, const struct setup_args *a, const char *cfg_path)
{
	char *cfg_dir;
	size_t i, k, n;
	int ret = -1;

	if (s->have_cfg) {
		struct scorer_env env = { s->cfg.judge.model, s->cfg.judge.params,
					  s->cfg.judge.samples, s->cfg.target.model };
		if (judge_samples_override)
			env.judge_samples = judge_samples_override;
		scorer_env_set(&env);
	}
	cfg_dir = path_dir(s->have_cfg ? cfg_path : "./x");
	s->lock_path = path_resolve(cfg_dir, "suites/suites.lock");
	s->filter.tags = a->tags ? a->tags->v : NULL;
	s->filter.n_tags = a->tags ? a->tags->n : 0;
	s->filter.limit = a->limit > 0 ? (size_t)a->limit : 0;
	s->filter.shard = a->shard;
	if (a->filter_id && compile_filter(&s->filter, a->filter_id))
		goto out;
	n = a->suite_dirs->n ? a->suite_dirs->n : s->cfg.n_suites;
	if (!n) {
		error("%s: suites: no suites given (list them in the config or pass --suite DIR)",
		      cfg_path);
		goto out;
	}
	s->suites = xcalloc(n, sizeof(*s->suites));
	for (i = 0; i < n; i++) {
		char *dir = a->suite_dirs->n ? xstrdup(a->suite_dirs->v[i])
					     : path_resolve(cfg_dir, s->cfg.suites[i]);
		int rc = !a->suite_dirs->n && config_suite_missing(&s->cfg, i, dir)
				 ? -1 : suite_load_prompted(&s->suites[i], dir, &s->filter,
							    s->prompt.path ? &s->prompt : NULL);
		free(dir);
		s->n_suites = i + 1;
		if (rc)
			goto out;
		for (k = 0; k < i; k++)
			if (!strcmp(s->suites[k].name, s->suites[i].name)) {
				error("%s: name: suite name '%s' is also used by %s",
				      s->suites[i].manifest_path, s->suites[i].name,
				      s->suites[k].manifest_path);
				goto out;
			}
	}
	/*
	 * a gate's suite must be one of the suites run; validate --suite checks
	 * a few suites against the project's config, so it does not ask that
	 */
	if (s->have_cfg) {
		const char **names = xcalloc(s->n_suites + 1, sizeof(*names));
		const char **kinds = xcalloc(s->n_suites + 1, sizeof(*kinds));
		int rc;

		for (i = 0; i < s->n_suites; i++) {
			names[i] = s->suites[i].name;
			kinds[i] = suite_kind_name(s->suites[i].kind);
		}
		/* --suite narrows the run: gates on the config's other suites are skipped */
		s->gates.suites_narrowed = a->suite_dirs->n > 0;
		rc = gates_check_suites(&s->gates, names, kinds, s->n_suites, !a->suite_dirs->n);
		free(names);
		free(kinds);
		if (rc)
			goto out;
	}
	ret = 0;
out:
	free(cfg_dir);
	return ret;
}

void setup_release(struct setup *s)
{
	size_t i;

	for (i = 0; i < s->n_suites; i++)
		suite_release(&s->suites[i]);
	free(s->suites);
	gates_release(&s->gates);
	prompt_release(&s->prompt);
	if (s->have_cfg) {
		target_release(&s->target);
		config_release(&s->cfg);
	}
	free(s->lock_path);
	pcre2_code_free(s->filter.id_re);
	memset(s, 0, sizeof(*s));
}
