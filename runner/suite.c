#include "suite.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "agent.h"
#include "error.h"
#include "hashmap.h"
#include "input.h"
#include "jsonutil.h"
#include "sha256.h"
#include "strbuf.h"
#include "xalloc.h"
#include "banned.h"

static const char *const manifest_keys[] = { "name", "version", "kind", "description", "system",
					     "params", "scorers", "tags", "prompt", "mutations",
					     "seed", "tools", "tool_choice", "default_tool_result",
					     "max_steps", "threshold", "max_tokens_total", NULL };
static const char *const case_keys[] = { "id", "input", "messages", "context", "expected", "tags",
					 "scorers", "output", "metadata", "vars", "tools",
					 "tool_choice", "tool_results", "default_tool_result",
					 "max_steps", "context_ids", "expected_context_ids",
					 "threshold", "label", "turns", "simulate", "max_tokens_total",
					 NULL };

const char *suite_kind_name(enum suite_kind k)
{
	switch (k) {
	case SUITE_GOLDEN: return "golden";
	case SUITE_ADVERSARIAL: return "adversarial";
	case SUITE_ONLINE: return "online";
	}
	return "?";
}

/* --- helpers --- */

static char *path_join(const char *dir, const char *name)
{
	struct strbuf sb = STRBUF_INIT;
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	strbuf_add(&sb, dir, n);
	strbuf_addch(&sb, '/');
	strbuf_addstr(&sb, name);
	return strbuf_detach(&sb, NULL);
}

static int name_ok(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._-/", *s))
			return 0;
	return 1;
}

static int has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static int load_scorers(struct jdoc *d, const cJSON *obj, const char *file, int line,
			struct scorer **out, size_t *n_out)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, "scorers"), *c;
	int i = 0;

	*out = NULL;
	*n_out = 0;
	if (!arr)
		return 0;
	if (!cJSON_IsArray(arr))
		return jdoc_error(d, arr, "scorers", "expected an array of scorer objects");
	*out = xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(**out));
	cJSON_ArrayForEach(c, arr) {
		struct eg_loc loc = { file, line ? line : jdoc_line(d, c), i + 1 };
		if (!cJSON_IsObject(c)) {
			char f[32];
			snprintf(f, sizeof(f), "scorer %d", i + 1);
			return error_at(loc.file, loc.line, f, "expected an object");
		}
		if (scorer_init(&(*out)[i], c, &loc))
			return -1;
		*n_out = (size_t)++i;
	}
	return 0;
}

static void free_scorers(struct scorer *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		scorer_release(&s[i]);
	free(s);
}

static void free_strv(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* the agent fields a manifest and a case share (SPEC 12), checked and copied */
static int load_agent(const struct jdoc *d, const cJSON *obj, cJSON **tools, cJSON **choice,
		      cJSON **dflt, int *max_steps)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, "tools");
	const cJSON *ch = cJSON_GetObjectItemCaseSensitive(obj, "tool_choice");
	const cJSON *df = cJSON_GetObjectItemCaseSensitive(obj, "default_tool_result");
	const cJSON *ms = cJSON_GetObjectItemCaseSensitive(obj, "max_steps");

	if ((t && agent_tools_check(d, t, "tools")) ||
	    (ch && agent_tool_choice_check(d, ch, "tool_choice")) ||
	    (ms && agent_max_steps_check(d, ms, "max_steps")))
		return -1;
	*tools = t ? cJSON_Duplicate(t, 1) : NULL;
	*choice = ch ? cJSON_Duplicate(ch, 1) : NULL;
	*dflt = df ? cJSON_Duplicate(df, 1) : NULL;
	*max_steps = ms ? ms->valueint : 0;
	return 0;
}

/* "max_tokens_total": the agent loop's token limit (SPEC 12), a whole number >= 1; 0 when absent */
static int load_token_limit(const struct jdoc *d, const cJSON *obj, long *out)
{
	double v = 0;

	if (jdoc_number(d, obj, "", "max_tokens_total", 0, 1, 1e12, &v))
		return -1;
	if (v != (long)v)
		return jdoc_error(d, cJSON_GetObjectItemCaseSensitive(obj, "max_tokens_total"),
				  "max_tokens_total", "expected a whole number of tokens");
	*out = (long)v;
	return 0;
}

/* --- conversations (SPEC 12) --- */

#define TURNS_MAX 100 /* user turns of a conversation at most */

static void free_turns(struct eg_turn *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(t[i].user);
		free_scorers(t[i].scorers, t[i].n_scorers);
	}
	free(t);
}

static void free_simulate(struct eg_simulate *sim)
{
	if (!sim)
		return;
	free(sim->persona);
	free(sim->goal);
	free(sim->model);
	free(sim);
}

/* "turns": [{"user": text, "scorers": [...]}, ...]; the turns' scorers are labelled turnN.x */
static int load_turns(struct jdoc *d, const cJSON *v, const char *file, int line,
		      struct eg_case *c)
{
	static const char *const turn_keys[] = { "user", "scorers", NULL };
	const cJSON *t;
	int n = cJSON_GetArraySize(v);

	if (!cJSON_IsArray(v) || !n)
		return jdoc_error(d, v, "turns", "expected a non-empty array of {user, scorers}");
	if (n > TURNS_MAX)
		return jdoc_error(d, v, "turns", "%d turns, at most %d", n, TURNS_MAX);
	c->turns = xcalloc((size_t)n, sizeof(*c->turns));
	cJSON_ArrayForEach(t, v) {
		struct eg_turn *tu = &c->turns[c->n_turns];
		const char *user = NULL;
		char f[32];
		size_t i;

		snprintf(f, sizeof(f), "turns[%zu].", c->n_turns);
		if (!cJSON_IsObject(t))
			return jdoc_error(d, t, "turns", "turn %zu: expected an object", c->n_turns);
		if (jdoc_check_keys(d, t, f, turn_keys) || jdoc_string(d, t, f, "user", 1, &user))
			return -1;
		if (!*user) {
			snprintf(f, sizeof(f), "turns[%zu].user", c->n_turns);
			return jdoc_error(d, cJSON_GetObjectItemCaseSensitive(t, "user"), f, "empty");
		}
		tu->user = xstrdup(user);
		c->n_turns++;
		if (load_scorers(d, t, file, line, &tu->scorers, &tu->n_scorers))
			return -1;
		for (i = 0; i < tu->n_scorers; i++) {
			struct strbuf sb = STRBUF_INIT;

			strbuf_addf(&sb, "turn%zu.%s", c->n_turns, tu->scorers[i].label);
			free(tu->scorers[i].label);
			tu->scorers[i].label = strbuf_detach(&sb, NULL);
		}
	}
	return 0;
}

/* the scorers of a case's turns */
static size_t case_turn_scorers(const struct eg_case *c)
{
	size_t i, n = 0;

	for (i = 0; i < c->n_turns; i++)
		n += c->turns[i].n_scorers;
	return n;
}

/* "simulate": {"persona", "goal", "max_turns", "model"} */
static int load_simulate(struct jdoc *d, const cJSON *v, struct eg_case *c)
{
	static const char *const sim_keys[] = { "persona", "goal", "max_turns", "model", NULL };
	const char *persona = NULL, *goal = NULL, *model = NULL;
	double max_turns = 5;
	struct eg_simulate *sim;

	if (!cJSON_IsObject(v))
		return jdoc_error(d, v, "simulate", "expected an object {persona, goal, max_turns, model}");
	if (jdoc_check_keys(d, v, "simulate.", sim_keys) ||
	    jdoc_string(d, v, "simulate.", "persona", 1, &persona) ||
	    jdoc_string(d, v, "simulate.", "goal", 1, &goal) ||
	    jdoc_string(d, v, "simulate.", "model", 0, &model) ||
	    jdoc_number(d, v, "simulate.", "max_turns", 0, 1, TURNS_MAX, &max_turns))
		return -1;
	if (max_turns != (int)max_turns)
		return jdoc_error(d, cJSON_GetObjectItemCaseSensitive(v, "max_turns"),
				  "simulate.max_turns", "expected a whole number");
	if (!*goal)
		return jdoc_error(d, cJSON_GetObjectItemCaseSensitive(v, "goal"), "simulate.goal",
				  "empty");
	sim = xcalloc(1, sizeof(*sim));
	sim->persona = xstrdup(persona);
	sim->goal = xstrdup(goal);
	sim->model = model && *model ? xstrdup(model) : NULL;
	sim->max_turns = (int)max_turns;
	c->simulate = sim;
	return 0;
}

/* a conversation's fields: turns (instead of input and messages) or simulate (after input) */
static int load_conversation(struct jdoc *d, const struct eg_suite *s, int line,
			     struct eg_case *c)
{
	const cJSON *turns = cJSON_GetObjectItemCaseSensitive(d->root, "turns");
	const cJSON *sim = cJSON_GetObjectItemCaseSensitive(d->root, "simulate");
	const cJSON *input = cJSON_GetObjectItemCaseSensitive(d->root, "input");
	const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(d->root, "messages");

	if (!turns && !sim)
		return 0;
	if (s->kind == SUITE_ONLINE)
		return jdoc_error(d, turns ? turns : sim, turns ? "turns" : "simulate",
				  "conversations are run against the target; an online suite records answers");
	if (turns && sim)
		return jdoc_error(d, sim, "simulate", "give turns or simulate, not both");
	if (turns && (input || msgs))
		return jdoc_error(d, input ? input : msgs, input ? "input" : "messages",
				  "a case with turns takes its first user message from turns[0]");
	if (sim && !input)
		return jdoc_error(d, sim, "input", "missing (the user's opening message of a simulated conversation)");
	if (turns)
		return load_turns(d, turns, s->cases_path, line, c);
	return load_simulate(d, sim, c);
}

/* --- cases --- */

void case_release(struct eg_case *c)
{
	free(c->id);
	free(c->input);
	cJSON_Delete(c->messages);
	free_strv(c->context, c->n_context);
	free_strv(c->context_ids, c->n_context_ids);
	free_strv(c->expected_context_ids, c->n_expected_context_ids);
	free(c->expected);
	free_strv(c->tags, c->n_tags);
	free(c->output);
	cJSON_Delete(c->label);
	cJSON_Delete(c->vars);
	free(c->prompt);
	cJSON_Delete(c->prompt_messages);
	cJSON_Delete(c->tools);
	cJSON_Delete(c->tool_choice);
	cJSON_Delete(c->tool_results);
	cJSON_Delete(c->default_tool_result);
	free_scorers(c->scorers, c->n_scorers);
	free_turns(c->turns, c->n_turns);
	free_simulate(c->simulate);
	memset(c, 0, sizeof(*c));
}

/* the optional array of passage ids `key` of a case, copied */
static int case_ids(struct jdoc *d, const char *key, char ***out, size_t *n_out)
{
	const char **ids = NULL;
	size_t n = 0, i;

	if (!cJSON_GetObjectItemCaseSensitive(d->root, key))
		return 0;
	if (jdoc_string_array(d, d->root, "", key, &ids, &n))
		return -1;
	*out = xcalloc(n + 1, sizeof(char *));
	for (i = 0; i < n; i++)
		(*out)[i] = xstrdup(ids[i]);
	*n_out = n;
	free(ids);
	return 0;
}

static int check_messages(struct jdoc *d, const cJSON *m)
{
	static const char *const msg_keys[] = { "role", "content", "name", NULL };
	static const char *const roles[] = { "system", "user", "assistant", "tool", "developer", NULL };
	const cJSON *c;
	int i = 0;

	if (!cJSON_IsArray(m) || !cJSON_GetArraySize(m))
		return jdoc_error(d, m, "messages", "expected a non-empty array of {role, content}");
	cJSON_ArrayForEach(c, m) {
		const char *role = NULL;
		const cJSON *content;
		const char *const *r;
		char f[48];

		snprintf(f, sizeof(f), "messages[%d].", i);
		if (!cJSON_IsObject(c))
			return jdoc_error(d, c, "messages", "message %d: expected an object", i);
		if (jdoc_check_keys(d, c, f, msg_keys) || jdoc_string(d, c, f, "role", 1, &role))
			return -1;
		for (r = roles; *r; r++)
			if (!strcmp(*r, role))
				break;
		if (!*r) {
			snprintf(f, sizeof(f), "messages[%d].role", i);
			return jdoc_error(d, c, f, "unknown role '%s' (system, user, assistant, tool, developer)", role);
		}
		content = cJSON_GetObjectItemCaseSensitive(c, "content");
		if (!content || !(cJSON_IsString(content) || cJSON_IsArray(content))) {
			snprintf(f, sizeof(f), "messages[%d].content", i);
			return jdoc_error(d, content ? content : c, f,
					  content ? "expected a string or an array of parts" : "missing");
		}
		i++;
	}
	return 0;
}

/* a case's hash from its canonical line c; its rendered prompt (prompt, len bytes) when it has one */
static void case_hash(const struct eg_suite *s, const char *c, const char *prompt, size_t len,
		      char out[65])
{
	struct sha256 h;
	unsigned char dig[32];

	sha256_init(&h);
	sha256_update(&h, c, strlen(c));
	sha256_update(&h, "\n", 1);
	sha256_update(&h, s->prompt_hash, 64);
	if (len) {
		sha256_update(&h, "\nprompt\n", 8);
		sha256_update(&h, prompt, len);
	}
	sha256_final(&h, dig);
	sha256_to_hex(dig, out);
}

/*
 * Parse one line of cases.jsonl into c. canon_out (may be NULL) receives the
 * canonical text for the suite hash.
 */
static int parse_case(const struct eg_suite *s, const char *text, size_t len, int lineno,
		      struct eg_case *c, struct strbuf *canon_out)
{
	struct jdoc d;
	struct strbuf why = STRBUF_INIT;
	const char *id = NULL, *input = NULL, *expected = NULL, *output = NULL;
	const char **tags = NULL, **ctx = NULL;
	char *canon = NULL;
	size_t n_tags = 0, n_ctx = 0, i;
	const cJSON *v;
	int ret = -1;

	memset(c, 0, sizeof(*c));
	c->line = lineno;
	if (jdoc_parse(&d, s->cases_path, lineno, text, len))
		return -1;
	if (!cJSON_IsObject(d.root)) {
		jdoc_error(&d, d.root, NULL, "expected a JSON object (one case a line)");
		goto out;
	}
	if (jdoc_check_keys(&d, d.root, "", case_keys) ||
	    jdoc_string(&d, d.root, "", "id", 1, &id) ||
	    jdoc_string(&d, d.root, "", "input", 0, &input) ||
	    jdoc_string(&d, d.root, "", "expected", 0, &expected) ||
	    jdoc_string(&d, d.root, "", "output", 0, &output) ||
	    jdoc_string_array(&d, d.root, "", "tags", &tags, &n_tags))
		goto out;
	/* the case's own threshold, else the suite's: set before a failure releases c */
	c->has_threshold = s->has_threshold;
	c->threshold = s->threshold;
	if (cJSON_GetObjectItemCaseSensitive(d.root, "threshold")) {
		if (jdoc_number(&d, d.root, "", "threshold", 0, 0, 1, &c->threshold))
			goto out;
		c->has_threshold = 1;
	}
	if (!*id || has_control(id) || strlen(id) > 256) {
		jdoc_error(&d, cJSON_GetObjectItem(d.root, "id"), "id",
			   "must be 1 to 256 characters without control characters");
		goto out;
	}
	if (load_conversation(&d, s, lineno, c))
		goto out;
	if (c->turns)
		input = c->turns[0].user;
	v = cJSON_GetObjectItemCaseSensitive(d.root, "messages");
	if (input && v) {
		jdoc_error(&d, v, "messages", "give input or messages, not both");
		goto out;
	}
	if (!input && !v && s->kind != SUITE_ONLINE) {
		jdoc_error(&d, d.root, "input", "missing (give input or messages)");
		goto out;
	}
	if (v && check_messages(&d, v))
		goto out;
	if (output && s->kind != SUITE_ONLINE) {
		jdoc_error(&d, cJSON_GetObjectItem(d.root, "output"), "output",
			   "recorded answers belong to online suites only (this suite is %s)",
			   suite_kind_name(s->kind));
		goto out;
	}
	if (!output && s->kind == SUITE_ONLINE) {
		jdoc_error(&d, d.root, "output", "missing (online suites score recorded answers)");
		goto out;
	}
	/* a human's verdict on the recorded output, for evalgate calibrate (SPEC 14) */
	v = cJSON_GetObjectItemCaseSensitive(d.root, "label");
	if (v && !(cJSON_IsString(v) && (!strcmp(v->valuestring, "pass") ||
					  !strcmp(v->valuestring, "fail"))) &&
	    !(cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 1)) {
		jdoc_error(&d, v, "label", "expected \"pass\", \"fail\" or a score from 0 to 1");
		goto out;
	}
	if (v && !output) {
		jdoc_error(&d, v, "label", "labels a recorded output: give \"output\" too");
		goto out;
	}
	c->label = v ? cJSON_Duplicate(v, 1) : NULL;
	v = cJSON_GetObjectItemCaseSensitive(d.root, "context");
	if (cJSON_IsString(v)) {
		c->context = xcalloc(1, sizeof(char *));
		c->context[0] = xstrdup(v->valuestring);
		c->n_context = 1;
	} else if (v) {
		if (jdoc_string_array(&d, d.root, "", "context", &ctx, &n_ctx))
			goto out;
		c->context = xcalloc(n_ctx + 1, sizeof(char *));
		for (i = 0; i < n_ctx; i++)
			c->context[i] = xstrdup(ctx[i]);
		c->n_context = n_ctx;
	}
	if (case_ids(&d, "context_ids", &c->context_ids, &c->n_context_ids) ||
	    case_ids(&d, "expected_context_ids", &c->expected_context_ids,
		     &c->n_expected_context_ids))
		goto out;
	v = cJSON_GetObjectItemCaseSensitive(d.root, "metadata");
	if (v && !cJSON_IsObject(v)) {
		jdoc_error(&d, v, "metadata", "expected an object");
		goto out;
	}
	/* vars fill a target's request template; being in the line, they are in the case hash */
	v = cJSON_GetObjectItemCaseSensitive(d.root, "vars");
	if (v && !cJSON_IsObject(v)) {
		jdoc_error(&d, v, "vars", "expected an object of variables");
		goto out;
	}
	c->vars = v ? cJSON_Duplicate(v, 1) : NULL;
	if (load_agent(&d, d.root, &c->tools, &c->tool_choice, &c->default_tool_result,
		       &c->max_steps) ||
	    load_token_limit(&d, d.root, &c->max_tokens_total))
		goto out;
	v = cJSON_GetObjectItemCaseSensitive(d.root, "tool_results");
	if (v && agent_fixtures_check(&d, v, "tool_results"))
		goto out;
	c->tool_results = v ? cJSON_Duplicate(v, 1) : NULL;
	if (load_scorers(&d, d.root, s->cases_path, lineno, &c->scorers, &c->n_scorers))
		goto out;
	if (!s->n_scorers && !c->n_scorers && !case_turn_scorers(c)) {
		jdoc_error(&d, d.root, "scorers", "no scorer for this case (none in the manifest either)");
		goto out;
	}
	c->id = xstrdup(id);
	c->input = input ? xstrdup(input) : NULL;
	v = cJSON_GetObjectItemCaseSensitive(d.root, "messages");
	c->messages = v ? cJSON_Duplicate(v, 1) : NULL;
	c->expected = expected ? xstrdup(expected) : NULL;
	c->output = output ? xstrdup(output) : NULL;
	for (i = 0; i < n_tags; i++)
		if (!*tags[i]) {
			jdoc_error(&d, cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(d.root,
											"tags"),
							  (int)i),
				   "tags", "an empty tag");
			goto out;
		}
	c->tags = xcalloc(n_tags + s->n_tags + 1, sizeof(char *));
	for (i = 0; i < s->n_tags; i++)
		c->tags[c->n_tags++] = xstrdup(s->tags[i]);
	for (i = 0; i < n_tags; i++) {
		size_t k;
		for (k = 0; k < c->n_tags && strcmp(c->tags[k], tags[i]); k++)
			;
		if (k == c->n_tags)
			c->tags[c->n_tags++] = xstrdup(tags[i]);
	}
	/* the prompt rendered once per case: at load a case it cannot fill is an error */
	if (s->prompt && s->kind != SUITE_ONLINE) {
		if (prompt_render(s->prompt, c, &why)) {
			error_at(s->cases_path, lineno, "prompt", "%s", why.buf);
			goto out;
		}
		strbuf_reset(&why);
		prompt_case_text(c, &why);
		/* an empty rendering still differs from having no prompt */
		if (!why.len)
			strbuf_addch(&why, '\n');
	}
	/* the canonical line: the case's hash and (canon_out) its part of the suite's */
	canon = json_canonical(d.root);
	case_hash(s, canon, why.buf, why.len, c->hash);
	if (canon_out) {
		strbuf_addstr(canon_out, canon);
		if (why.len) {
			strbuf_addstr(canon_out, "\nprompt\n");
			strbuf_add(canon_out, why.buf, why.len);
		}
	}
	ret = 0;
out:
	strbuf_release(&why);
	free(canon);
	free(tags);
	free(ctx);
	if (ret)
		case_release(c);
	jdoc_release(&d);
	return ret;
}

int case_filter_match(const struct case_filter *f, const struct eg_case *c)
{
	size_t i, k;

	if (!f)
		return 1;
	if (f->n_tags) {
		int hit = 0;
		for (i = 0; i < f->n_tags && !hit; i++)
			for (k = 0; k < c->n_tags && !hit; k++)
				hit = !strcmp(f->tags[i], c->tags[k]);
		if (!hit)
			return 0;
	}
	if (f->id_re) {
		pcre2_match_data *md = pcre2_match_data_create(1, NULL);
		int rc = pcre2_match(f->id_re, (PCRE2_SPTR)c->id, strlen(c->id), 0, 0, md, NULL);
		pcre2_match_data_free(md);
		if (rc < 0)
			return 0;
	}
	return 1;
}

/*
 * --- duplicate ids ---
 * The 64-bit hashes of the ids read so far: the older ones in a sorted array,
 * the last ID_RECENT_MAX in a hash map too, merged into the array when it is
 * full. A million ids take 8 MB (a map of them all took 32 MB, 48 MB while
 * it grew). A hash seen before is checked against the file: a hash collision
 * is not a duplicate.
 */
#define ID_RECENT_MAX 16384

struct id_set {
	uint64_t *sorted;         /* hashes of the older ids, ascending */
	size_t n_sorted, alloc;
	uint64_t recent[ID_RECENT_MAX]; /* hashes of the newer ids, in the order read */
	size_t n_recent;
	struct hashmap recent_map; /* the same hashes, for lookups */
};

static void id_set_init(struct id_set *set)
{
	set->sorted = NULL;
	set->n_sorted = set->alloc = set->n_recent = 0;
	hashmap_init(&set->recent_map, 0);
}

static void id_set_release(struct id_set *set)
{
	free(set->sorted);
	hashmap_release(&set->recent_map);
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* the recent hashes into the sorted array, merged from the back in place */
static void id_set_merge(struct id_set *set)
{
	size_t i = set->n_sorted, j = set->n_recent, k = set->n_sorted + set->n_recent;

	qsort(set->recent, set->n_recent, sizeof(*set->recent), u64_cmp);
	XGROW(set->sorted, k, set->alloc);
	while (j) {
		if (i && set->sorted[i - 1] > set->recent[j - 1])
			set->sorted[--k] = set->sorted[--i];
		else
			set->sorted[--k] = set->recent[--j];
	}
	set->n_sorted += set->n_recent;
	set->n_recent = 0;
	hashmap_release(&set->recent_map);
}

/* 1 when h was added before, else 0 after adding it */
static int id_set_seen(struct id_set *set, uint64_t h)
{
	size_t lo = 0, hi = set->n_sorted;
	int added;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (set->sorted[mid] == h)
			return 1;
		if (set->sorted[mid] < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	hashmap_put(&set->recent_map, h, &added);
	if (!added)
		return 1;
	set->recent[set->n_recent++] = h;
	if (set->n_recent == ID_RECENT_MAX)
		id_set_merge(set);
	return 0;
}

/* the first line before line `before` whose case has this id, 0 when none (or unreadable) */
static int id_first_line(const char *path, const char *id, int before)
{
	FILE *fp = input_open(path);
	char *line = NULL;
	size_t alloc = 0;
	ssize_t n;
	int lineno = 0, found = 0;

	if (!fp)
		return 0;
	while (!found && ++lineno < before &&
	       (n = input_getline(&line, &alloc, fp, INPUT_LINE_MAX)) >= 0) {
		cJSON *j = cJSON_ParseWithLength(line, (size_t)n);
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "id");

		if (cJSON_IsString(v) && !strcmp(v->valuestring, id))
			found = lineno;
		cJSON_Delete(j);
	}
	free(line);
	fclose(fp);
	return found;
}

static int line_too_long(const char *path, int lineno)
{
	return error_at(path, lineno, NULL, "line longer than %zu bytes, the limit of a JSONL line",
			INPUT_LINE_MAX);
}

static int blank(const char *s, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (!isspace((unsigned char)s[i]))
			return 0;
	return 1;
}

/* --- the manifest --- */

/* "mutations": [NAME, ...] and "seed": N of an adversarial suite */
static int load_mutations(struct jdoc *d, struct eg_suite *s)
{
	const char **names = NULL;
	size_t n = 0, i, k;
	double seed = 0;
	int ret = -1;

	if (jdoc_string_array(d, d->root, "", "mutations", &names, &n) ||
	    jdoc_number(d, d->root, "", "seed", 0, 0, 9007199254740991.0, &seed))
		goto out;
	if (seed != (double)(unsigned long long)seed) {
		jdoc_error(d, cJSON_GetObjectItem(d->root, "seed"), "seed", "expected a whole number");
		goto out;
	}
	if (n && s->kind != SUITE_ADVERSARIAL) {
		jdoc_error(d, cJSON_GetObjectItem(d->root, "mutations"), "mutations",
			   "only adversarial suites have mutations (this suite is %s)",
			   suite_kind_name(s->kind));
		goto out;
	}
	s->seed = (unsigned long long)seed;
	s->mutations = xcalloc(n + 1, sizeof(*s->mutations));
	for (i = 0; i < n; i++) {
		const struct mutation *m = mutation_find(names[i]);

		if (!m) {
			struct strbuf all = STRBUF_INIT;

			mutation_names(&all);
			jdoc_error(d, cJSON_GetArrayItem(cJSON_GetObjectItem(d->root, "mutations"),
							 (int)i),
				   "mutations", "unknown mutation '%s' (%s)", names[i], all.buf);
			strbuf_release(&all);
			goto out;
		}
		for (k = 0; k < i; k++)
			if (s->mutations[k] == m) {
				jdoc_error(d, cJSON_GetObjectItem(d->root, "mutations"), "mutations",
					   "'%s' is listed twice", names[i]);
				goto out;
			}
		s->mutations[s->n_mutations++] = m;
	}
	ret = 0;
out:
	free(names);
	return ret;
}

/*
 * turn c (the case of its line, just parsed) into its variant by mutation k:
 * the attack text (the input, or the last user message) mutated, the id
 * CASEID~NAME, the tag mutation:NAME, a hash of its own
 */
static void mutate_case(const struct eg_suite *s, size_t k, struct eg_case *c)
{
	const struct mutation *m = s->mutations[k];
	struct strbuf in = STRBUF_INIT, passage = STRBUF_INIT, sb = STRBUF_INIT;
	cJSON *msg = NULL, *content = NULL;
	struct sha256 h;
	unsigned char dig[32];
	const char *payload = c->input;
	int i;

	if (!payload && c->messages) {
		for (i = cJSON_GetArraySize(c->messages) - 1; i >= 0 && !content; i--) {
			const cJSON *role;

			msg = cJSON_GetArrayItem(c->messages, i);
			role = cJSON_GetObjectItemCaseSensitive(msg, "role");
			if (cJSON_IsString(role) && !strcmp(role->valuestring, "user") &&
			    cJSON_IsString(cJSON_GetObjectItemCaseSensitive(msg, "content")))
				content = cJSON_GetObjectItemCaseSensitive(msg, "content");
		}
		payload = content ? content->valuestring : "";
	}
	mutation_apply(m, payload ? payload : "", s->seed, c->id, &in, &passage);
	if (c->input) {
		free(c->input);
		c->input = strbuf_detach(&in, NULL);
	} else if (content) {
		cJSON_ReplaceItemInObjectCaseSensitive(msg, "content", cJSON_CreateString(in.buf));
	}
	if (m->to_context) {
		c->context = xrealloc(c->context, (c->n_context + 2) * sizeof(char *));
		c->context[c->n_context++] = xstrdup(passage.buf);
		c->context[c->n_context] = NULL;
	}
	strbuf_addf(&sb, "%s~%s", c->id, m->name);
	free(c->id);
	c->id = strbuf_detach(&sb, NULL);
	strbuf_addf(&sb, "mutation:%s", m->name);
	c->tags = xrealloc(c->tags, (c->n_tags + 2) * sizeof(char *));
	c->tags[c->n_tags++] = strbuf_detach(&sb, NULL);
	c->tags[c->n_tags] = NULL;
	strbuf_addf(&sb, "%s\n%s\n%llu\n", c->hash, m->name, s->seed);
	sha256_init(&h);
	sha256_update(&h, sb.buf, sb.len);
	sha256_update(&h, c->input ? c->input : in.buf, strlen(c->input ? c->input : in.buf) + 1);
	sha256_update(&h, passage.buf, passage.len);
	sha256_final(&h, dig);
	sha256_to_hex(dig, c->hash);
	strbuf_release(&in);
	strbuf_release(&passage);
	strbuf_release(&sb);
}
static const char *const agent_keys[] = { "tools", "tool_choice", "default_tool_result",
					  "max_steps", "max_tokens_total", NULL };

/* parse suite.json into s and start the suite hash h with its canonical form */
static int load_manifest(struct eg_suite *s, struct sha256 *h)
{
	struct strbuf text = STRBUF_INIT;
	struct jdoc d = { 0 };
	const char *name = NULL, *version = NULL, *kind = "golden", *desc = NULL, *system = NULL;
	const char *prompt_file = NULL;
	const char **tags = NULL;
	size_t n_tags = 0, i;
	const cJSON *p;
	struct strbuf prompt = STRBUF_INIT;
	int ret = -1;

	if (read_file(s->manifest_path, &text, 4u << 20) ||
	    jdoc_parse(&d, s->manifest_path, 1, text.buf, text.len) ||
	    jdoc_check_controls(&d, d.root))
		goto out;
	if (!cJSON_IsObject(d.root)) {
		jdoc_error(&d, d.root, NULL, "expected a JSON object");
		goto out;
	}
	if (jdoc_check_keys(&d, d.root, "", manifest_keys) ||
	    jdoc_string(&d, d.root, "", "name", 1, &name) ||
	    jdoc_string(&d, d.root, "", "version", 1, &version) ||
	    jdoc_string(&d, d.root, "", "kind", 0, &kind) ||
	    jdoc_string(&d, d.root, "", "description", 0, &desc) ||
	    jdoc_string(&d, d.root, "", "system", 0, &system) ||
	    jdoc_string(&d, d.root, "", "prompt", 0, &prompt_file) ||
	    jdoc_string_array(&d, d.root, "", "tags", &tags, &n_tags) ||
	    jdoc_number(&d, d.root, "", "threshold", 0, 0, 1, &s->threshold))
		goto out;
	s->has_threshold = cJSON_GetObjectItemCaseSensitive(d.root, "threshold") != NULL;
	if (prompt_file && !*prompt_file) {
		jdoc_error(&d, cJSON_GetObjectItem(d.root, "prompt"), "prompt",
			   "must not be empty (a file relative to the suite)");
		goto out;
	}
	if (!name_ok(name)) {
		jdoc_error(&d, cJSON_GetObjectItem(d.root, "name"), "name",
			   "'%s': use letters, digits and . _ - /", name);
		goto out;
	}
	if (!*version || has_control(version)) {
		jdoc_error(&d, cJSON_GetObjectItem(d.root, "version"), "version", "must not be empty");
		goto out;
	}
	if (!strcmp(kind, "golden"))
		s->kind = SUITE_GOLDEN;
	else if (!strcmp(kind, "adversarial"))
		s->kind = SUITE_ADVERSARIAL;
	else if (!strcmp(kind, "online"))
		s->kind = SUITE_ONLINE;
	else {
		jdoc_error(&d, cJSON_GetObjectItem(d.root, "kind"), "kind",
			   "unknown kind '%s' (golden, adversarial or online)", kind);
		goto out;
	}
	p = cJSON_GetObjectItemCaseSensitive(d.root, "params");
	if (p && !cJSON_IsObject(p)) {
		jdoc_error(&d, p, "params", "expected an object");
		goto out;
	}
	s->name = xstrdup(name);
	s->version = xstrdup(version);
	s->description = desc ? xstrdup(desc) : NULL;
	s->system = system ? xstrdup(system) : NULL;
	s->params = p ? cJSON_Duplicate(p, 1) : NULL;
	if (load_agent(&d, d.root, &s->tools, &s->tool_choice, &s->default_tool_result,
		       &s->max_steps) ||
	    load_token_limit(&d, d.root, &s->max_tokens_total))
		goto out;
	s->tags = xcalloc(n_tags + 1, sizeof(char *));
	for (i = 0; i < n_tags; i++)
		s->tags[i] = xstrdup(tags[i]);
	s->n_tags = n_tags;
	if (load_scorers(&d, d.root, s->manifest_path, 0, &s->scorers, &s->n_scorers) ||
	    load_mutations(&d, s))
		goto out;
	if (prompt_file) {
		char *path = prompt_file[0] == '/' ? xstrdup(prompt_file)
						   : path_join(s->dir, prompt_file);
		int rc = prompt_load(&s->own_prompt, path);

		free(path);
		if (rc)
			goto out;
		s->prompt = &s->own_prompt;
	}
	/* what every case shares and its answer depends on */
	strbuf_addstr(&prompt, s->system ? s->system : "");
	strbuf_addch(&prompt, '\n');
	if (s->params) {
		char *c = json_canonical(s->params);
		strbuf_addstr(&prompt, c);
		free(c);
	}
	strbuf_addch(&prompt, '\n');
	p = cJSON_GetObjectItemCaseSensitive(d.root, "scorers");
	if (p) {
		char *c = json_canonical(p);
		strbuf_addstr(&prompt, c);
		free(c);
	}
	/* the agent fields only when given, so that other suites keep their hashes */
	for (i = 0; agent_keys[i]; i++) {
		p = cJSON_GetObjectItemCaseSensitive(d.root, agent_keys[i]);
		if (p) {
			char *c = json_canonical(p);
			strbuf_addf(&prompt, "\n%s=%s", agent_keys[i], c);
			free(c);
		}
	}
	sha256_hex(prompt.buf, prompt.len, s->prompt_hash);
	{
		char *c = json_canonical(d.root);
		sha256_update(h, c, strlen(c));
		sha256_update(h, "\n", 1);
		free(c);
	}
	ret = 0;
out:
	free(tags);
	strbuf_release(&prompt);
	jdoc_release(&d);
	strbuf_release(&text);
	return ret;
}

int suite_load(struct eg_suite *s, const char *dir, const struct case_filter *f)
{
	return suite_load_prompted(s, dir, f, NULL);
}

int suite_load_prompted(struct eg_suite *s, const char *dir, const struct case_filter *f,
			const struct prompt *target_prompt)
{
	struct case_reader r;
	struct id_set *ids = xmalloc(sizeof(*ids));
	struct sha256 h;
	unsigned char dig[32];
	struct strbuf canon_line = STRBUF_INIT;
	size_t k;
	int ret = -1;

	memset(s, 0, sizeof(*s));
	id_set_init(ids);
	s->dir = xstrdup(dir);
	s->manifest_path = path_join(dir, "suite.json");
	s->cases_path = path_join(dir, "cases.jsonl");
	sha256_init(&h);
	s->prompt = target_prompt;
	if (load_manifest(s, &h))
		goto out_free_ids;
	r.suite = s;
	r.filter = NULL;
	r.fp = input_open(s->cases_path);
	r.line = NULL;
	r.line_alloc = 0;
	r.lineno = 0;
	if (!r.fp)
		goto out_free_ids;
	for (;;) {
		ssize_t n = input_getline(&r.line, &r.line_alloc, r.fp, INPUT_LINE_MAX);
		struct eg_case c;
		int first;

		if (n == -2) {
			line_too_long(s->cases_path, r.lineno + 1);
			goto out;
		}
		if (n < 0)
			break;
		r.lineno++;
		if (blank(r.line, (size_t)n))
			continue;
		strbuf_reset(&canon_line);
		if (parse_case(s, r.line, (size_t)n, r.lineno, &c, &canon_line))
			goto out;
		if (id_set_seen(ids, fnv1a(c.id, strlen(c.id))) &&
		    (first = id_first_line(s->cases_path, c.id, r.lineno))) {
			error_at(s->cases_path, r.lineno, "id",
				 "duplicate case id '%s' (first on line %d)", c.id, first);
			case_release(&c);
			goto out;
		}
		sha256_update(&h, canon_line.buf, canon_line.len);
		sha256_update(&h, "\n", 1);
		if (s->n_mutations && strchr(c.id, '~')) {
			error_at(s->cases_path, r.lineno, "id", "'%s': '~' is kept for the ids of "
				 "mutated cases in a suite with mutations", c.id);
			case_release(&c);
			goto out;
		}
		for (k = 0;; k++) {
			s->n_cases++;
			if (case_filter_match(f, &c) &&
			    (!f || shard_contains(&f->shard, s->name, c.id)) &&
			    (!f || !f->limit || s->n_selected < f->limit))
				s->n_selected++;
			case_release(&c);
			if (k == s->n_mutations)
				break;
			if (parse_case(s, r.line, (size_t)n, r.lineno, &c, NULL))
				goto out;
			mutate_case(s, k, &c);
			/* the variants are content too: a changed mutation changes the hash */
			sha256_update(&h, c.hash, 64);
			sha256_update(&h, "\n", 1);
		}
	}
	if (ferror(r.fp)) {
		error("%s: read error: %s", s->cases_path, strerror(errno));
		goto out;
	}
	if (!s->n_cases) {
		error_at(s->cases_path, 0, NULL, "the suite has no cases");
		goto out;
	}
	sha256_final(&h, dig);
	sha256_to_hex(dig, s->hash);
	ret = 0;
out:
	free(r.line);
	fclose(r.fp);
out_free_ids:
	id_set_release(ids);
	free(ids);
	strbuf_release(&canon_line);
	return ret;
}

void suite_release(struct eg_suite *s)
{
	free(s->dir);
	free(s->manifest_path);
	free(s->cases_path);
	free(s->name);
	free(s->version);
	free(s->description);
	free(s->system);
	cJSON_Delete(s->params);
	cJSON_Delete(s->tools);
	cJSON_Delete(s->tool_choice);
	cJSON_Delete(s->default_tool_result);
	free_scorers(s->scorers, s->n_scorers);
	free_strv(s->tags, s->n_tags);
	prompt_release(&s->own_prompt);
	free(s->mutations);
	memset(s, 0, sizeof(*s));
}

/* --- streaming cases --- */

int case_reader_open(struct case_reader *r, const struct eg_suite *s, const struct case_filter *f)
{
	memset(r, 0, sizeof(*r));
	r->suite = s;
	r->filter = f;
	r->mut_next = s->n_mutations;
	r->fp = input_open(s->cases_path);
	return r->fp ? 0 : -1;
}

int case_reader_next(struct case_reader *r, struct eg_case *c)
{
	for (;;) {
		ssize_t n;

		if (r->filter && r->filter->limit && r->taken >= r->filter->limit)
			return 0;
		if (r->mut_next < r->suite->n_mutations) {
			/* the next variant of the line read last */
			if (parse_case(r->suite, r->line, r->line_len, r->lineno, c, NULL))
				return -1;
			mutate_case(r->suite, r->mut_next++, c);
		} else {
			n = input_getline(&r->line, &r->line_alloc, r->fp, INPUT_LINE_MAX);
			if (n == -2)
				return line_too_long(r->suite->cases_path, r->lineno + 1);
			if (n < 0)
				return ferror(r->fp) ? error("%s: read error", r->suite->cases_path)
						     : 0;
			r->line_off = r->off;
			r->off += n;
			r->lineno++;
			if (blank(r->line, (size_t)n))
				continue;
			if (parse_case(r->suite, r->line, (size_t)n, r->lineno, c, NULL))
				return -1;
			r->line_len = (size_t)n;
			r->mut_next = 0;
		}
		if (!case_filter_match(r->filter, c) ||
		    (r->filter && !shard_contains(&r->filter->shard, r->suite->name, c->id))) {
			case_release(c);
			continue;
		}
		r->taken++;
		return 1;
	}
}

void case_reader_pos(const struct case_reader *r, struct case_pos *pos)
{
	pos->off = r->line_off;
	pos->line = r->lineno;
	pos->mut = r->mut_next; /* 0 after the line's case, k + 1 after its variant k */
}

int case_reader_at(struct case_reader *r, const struct case_pos *pos, struct eg_case *c)
{
	ssize_t n;

	if (fseeko(r->fp, pos->off, SEEK_SET))
		return error("%s: cannot seek: %s", r->suite->cases_path, strerror(errno));
	n = input_getline(&r->line, &r->line_alloc, r->fp, INPUT_LINE_MAX);
	if (n == -2)
		return line_too_long(r->suite->cases_path, pos->line);
	if (n < 0 || blank(r->line, (size_t)n) || pos->mut > r->suite->n_mutations)
		return error_at(r->suite->cases_path, pos->line, NULL,
				"the case read before is not there: the file changed during the run");
	r->lineno = pos->line;
	r->line_off = pos->off;
	r->off = pos->off + n;
	r->line_len = (size_t)n;
	r->mut_next = r->suite->n_mutations; /* the next case_reader_next reads the next line */
	if (parse_case(r->suite, r->line, (size_t)n, pos->line, c, NULL))
		return -1;
	if (pos->mut)
		mutate_case(r->suite, pos->mut - 1, c);
	return 1;
}

void case_reader_close(struct case_reader *r)
{
	if (r->fp)
		fclose(r->fp);
	free(r->line);
	memset(r, 0, sizeof(*r));
}

/* --- suites.lock --- */

struct lock_entry {
	char name[256], version[128], hash[65], dir[1024];
};

static int lock_read(const char *path, struct lock_entry **out, size_t *n)
{
	FILE *fp;
	char *line = NULL;
	size_t alloc = 0, cap = 0;
	ssize_t len;
	int lineno = 0, ret = 0;

	*out = NULL;
	*n = 0;
	if (access(path, F_OK) && errno == ENOENT)
		return 1;
	fp = input_open(path);
	if (!fp)
		return -1;
	while ((len = input_getline(&line, &alloc, fp, INPUT_LINE_MAX)) >= 0 || len == -2) {
		if (len == -2) {
			ret = line_too_long(path, lineno + 1);
			break;
		}
		struct lock_entry e;
		lineno++;
		if (line[0] == '#' || blank(line, strlen(line)))
			continue;
		e.dir[0] = '\0';
		if (sscanf(line, "%255s %127s %64s %1023s", e.name, e.version, e.hash, e.dir) < 3 ||
		    strlen(e.hash) != 64) {
			ret = error_at(path, lineno, NULL, "expected 'name version sha256 dir'");
			break;
		}
		XGROW(*out, *n + 1, cap);
		(*out)[(*n)++] = e;
	}
	free(line);
	fclose(fp);
	return ret;
}

int lock_check(const char *lock_path, struct eg_suite *suites, size_t n)
{
	struct lock_entry *e;
	size_t ne, i, k;
	int rc = lock_read(lock_path, &e, &ne), ret = 0;

	if (rc < 0)
		return -1;
	if (rc > 0) {
		warning("%s: no lock file; run 'evalgate validate --lock' to create it", lock_path);
		return 0;
	}
	for (i = 0; i < n; i++) {
		for (k = 0; k < ne && strcmp(e[k].name, suites[i].name); k++)
			;
		if (k == ne) {
			warning("%s: suite %s@%s is not in the lock; run 'evalgate validate --lock'",
				lock_path, suites[i].name, suites[i].version);
			continue;
		}
		if (strcmp(e[k].hash, suites[i].hash) && !strcmp(e[k].version, suites[i].version))
			ret = error("%s: suite %s changed but its version is still %s: bump the "
				    "version in %s, then run 'evalgate validate --lock'",
				    lock_path, suites[i].name, suites[i].version,
				    suites[i].manifest_path);
		else if (strcmp(e[k].hash, suites[i].hash) || strcmp(e[k].version, suites[i].version))
			warning("%s: suite %s is now %s (lock has %s); run 'evalgate validate --lock'",
				lock_path, suites[i].name, suites[i].version, e[k].version);
	}
	free(e);
	return ret;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct lock_entry *x = a, *y = b;
	return strcmp(x->name, y->name);
}

int lock_write(const char *lock_path, struct eg_suite *suites, size_t n)
{
	struct strbuf tmp = STRBUF_INIT;
	struct lock_entry *old = NULL, *all = NULL;
	size_t n_old = 0, n_all = 0, alloc = 0, i, k;
	FILE *fp;
	int ret = -1;

	/* suites in the lock that were not loaded this time keep their lines */
	if (lock_read(lock_path, &old, &n_old) < 0)
		goto out;
	for (i = 0; i < n_old; i++) {
		for (k = 0; k < n && strcmp(old[i].name, suites[k].name); k++)
			;
		if (k == n) {
			XGROW(all, n_all + 1, alloc);
			all[n_all++] = old[i];
		} else if (!strcmp(old[i].version, suites[k].version) &&
			   strcmp(old[i].hash, suites[k].hash)) {
			/* the lock never re-blesses changed content under the version it had */
			error("%s: suite %s changed but its version is still %s: bump the version "
			      "in %s before locking it", lock_path, suites[k].name,
			      suites[k].version, suites[k].manifest_path);
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		struct lock_entry e;
		snprintf(e.name, sizeof(e.name), "%s", suites[i].name);
		snprintf(e.version, sizeof(e.version), "%s", suites[i].version);
		memcpy(e.hash, suites[i].hash, 65);
		snprintf(e.dir, sizeof(e.dir), "%s", suites[i].dir);
		XGROW(all, n_all + 1, alloc);
		all[n_all++] = e;
	}
	if (n_all)
		qsort(all, n_all, sizeof(*all), entry_cmp);
	strbuf_addf(&tmp, "%s.tmp", lock_path);
	fp = fopen(tmp.buf, "w");
	if (!fp) {
		error("%s: cannot write: %s", tmp.buf, strerror(errno));
		goto out;
	}
	fputs("# evalgate suites.lock: name version sha256 dir (written by 'evalgate validate --lock')\n", fp);
	for (i = 0; i < n_all; i++)
		fprintf(fp, "%s %s %s %s\n", all[i].name, all[i].version, all[i].hash, all[i].dir);
	if (fflush(fp) || ferror(fp)) {
		fclose(fp);
		unlink(tmp.buf);
		error("%s: write failed: %s", tmp.buf, strerror(errno));
		goto out;
	}
	if (fclose(fp) || rename(tmp.buf, lock_path)) {
		unlink(tmp.buf);
		error("%s: write failed: %s", lock_path, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	free(old);
	free(all);
	strbuf_release(&tmp);
	return ret;
}
