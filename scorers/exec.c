/*
 * exec: the user's own scorer, as long-lived worker processes speaking the
 * exec target's NDJSON protocol (the run spawns them: runner/worker.h).
 *
 * {"type": "exec", "command": ["python3", "scorers/tone.py"], "workers": 2,
 *  "timeout_s": 30, "env": {"TONE": "formal"}, "threshold": 0.5}
 *
 * Request line: {"id", "input" | "messages", "vars", "context", "output",
 * "expected"} (vars, context and expected when the case has them); reply line: {"id", "score", "pass", "reason"} (or {"id",
 * "error"}). score is a number in [0, 1]; pass a boolean; with only one of
 * them the other follows (pass: score >= threshold; score: 1 or 0). An
 * "error", a reply without either, a score out of range and a failed call
 * (the worker's stderr in its error) are scorer errors.
 *
 * The workers run in the suite's directory. Replies are cached by the
 * command's key (argv, env as written, the contents of the files argv
 * names, so an edit of the script counts) and the request: the case and
 * the output.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "case.h"
#include "command.h"
#include "jsonw.h"
#include "scorer.h"
#include "strbuf.h"
#include "types.h"
#include "xalloc.h"
#include "banned.h"

#define EXEC_MAX_WORKERS 256

static const char *const exec_fields[] = { "command", "workers", "timeout_s", "env", "threshold",
					   NULL };

struct exec_scorer {
	struct eg_command cmd;
	double threshold;            /* pass when score >= threshold and the reply has no pass */
};

static void exec_release(struct scorer *s)
{
	struct exec_scorer *x = s->ctx;

	if (!x)
		return;
	eg_command_release(&x->cmd);
	free(x);
	s->ctx = NULL;
}

static int parse_env(struct exec_scorer *x, const cJSON *env, const struct eg_loc *loc)
{
	const cJSON *c;
	size_t n = 0;

	if (!env)
		return 0;
	if (!cJSON_IsObject(env))
		return scorer_error(loc, "exec", "field \"env\" must be an object of strings");
	x->cmd.env = xcalloc((size_t)cJSON_GetArraySize(env) + 1, sizeof(char *));
	cJSON_ArrayForEach(c, env) {
		struct strbuf sb = STRBUF_INIT;

		if (!cJSON_IsString(c) || !*c->string || strchr(c->string, '='))
			return scorer_error(loc, "exec", "env \"%s\": expected a name and a string",
					    c->string);
		strbuf_addf(&sb, "%s=%s", c->string, c->valuestring);
		x->cmd.env[n++] = strbuf_detach(&sb, NULL);
	}
	return 0;
}

/* the directory of the suite file the spec is in, or NULL */
static char *spec_dir(const struct eg_loc *loc)
{
	const char *slash = loc && loc->file ? strrchr(loc->file, '/') : NULL;

	if (!slash)
		return NULL;
	return slash == loc->file ? xstrdup("/") : xstrndup(loc->file, (size_t)(slash - loc->file));
}

static int exec_init(struct scorer *s, const cJSON *spec, const struct eg_loc *loc)
{
	struct exec_scorer *x = xcalloc(1, sizeof(*x));
	const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(spec, "command"), *c;
	double workers = 1, timeout = 0;
	size_t n = 0;

	s->ctx = x;
	x->threshold = 0.5;
	if (!cJSON_IsArray(cmd) || !cJSON_GetArraySize(cmd))
		return scorer_error(loc, "exec", "field \"command\" must be a non-empty array of "
				    "strings (the program and its arguments)");
	x->cmd.argv = xcalloc((size_t)cJSON_GetArraySize(cmd) + 1, sizeof(char *));
	cJSON_ArrayForEach(c, cmd) {
		if (!cJSON_IsString(c) || (!n && !*c->valuestring))
			return scorer_error(loc, "exec", "command element %zu must be %s", n + 1,
					    n ? "a string" : "a program name");
		x->cmd.argv[n++] = xstrdup(c->valuestring);
	}
	if (scorer_spec_opt_number(spec, "workers", loc, "exec", &workers) ||
	    scorer_spec_opt_number(spec, "timeout_s", loc, "exec", &timeout) ||
	    scorer_spec_opt_number(spec, "threshold", loc, "exec", &x->threshold))
		return -1;
	if (!(workers >= 1 && workers <= EXEC_MAX_WORKERS) || workers != floor(workers))
		return scorer_error(loc, "exec", "field \"workers\" must be a whole number from 1 "
				    "to %d", EXEC_MAX_WORKERS);
	if (!(timeout >= 0 && timeout <= 86400))
		return scorer_error(loc, "exec", "field \"timeout_s\" must be from 0 to 86400");
	if (!(x->threshold >= 0 && x->threshold <= 1))
		return scorer_error(loc, "exec", "field \"threshold\" must be from 0 to 1");
	if (parse_env(x, cJSON_GetObjectItemCaseSensitive(spec, "env"), loc))
		return -1;
	x->cmd.workers = (int)workers;
	x->cmd.timeout_s = timeout;
	x->cmd.dir = spec_dir(loc);
	eg_command_set_key(&x->cmd, NULL, 0);
	return 0;
}

static char *request_body(const struct score_job *job)
{
	struct strbuf sb = STRBUF_INIT;
	struct jsonw w;

	jsonw_init(&w, &sb, 0);
	jsonw_object_begin(&w);
	case_json_members(&w, job->kase);
	jsonw_key(&w, "output");
	jsonw_strn(&w, job->output ? job->output : "", job->output ? job->output_len : 0);
	if (job->kase->expected)
		jsonw_member_str(&w, "expected", job->kase->expected);
	jsonw_object_end(&w);
	return strbuf_detach(&sb, NULL);
}

static void quote(struct strbuf *sb, const char *s)
{
	esc_visible(sb, s, strlen(s), SCORER_QUOTE_MAX * 4);
}

/* the reply line into out; -1 with out->reason when it cannot be used */
static int read_reply(const struct exec_scorer *x, const char *line, struct score_result *out)
{
	cJSON *root = cJSON_Parse(line);
	const cJSON *score = cJSON_GetObjectItemCaseSensitive(root, "score");
	const cJSON *pass = cJSON_GetObjectItemCaseSensitive(root, "pass");
	const cJSON *reason = cJSON_GetObjectItemCaseSensitive(root, "reason");
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
	struct strbuf sb = STRBUF_INIT;
	int ret = -1;

	if (!cJSON_IsObject(root)) {
		strbuf_addstr(&sb, "the scorer's reply is not a JSON object");
	} else if (err && !cJSON_IsNull(err) && !cJSON_IsFalse(err)) {
		const cJSON *m = cJSON_IsObject(err) ? cJSON_GetObjectItemCaseSensitive(err, "message")
						     : err;

		strbuf_addstr(&sb, "the scorer reports an error: ");
		if (cJSON_IsString(m))
			quote(&sb, m->valuestring);
		else
			strbuf_addstr(&sb, "(no message)");
	} else if (score && !(cJSON_IsNumber(score) && score->valuedouble >= 0 &&
			      score->valuedouble <= 1)) {
		strbuf_addstr(&sb, "the scorer's \"score\" must be a number from 0 to 1");
	} else if (pass && !cJSON_IsBool(pass)) {
		strbuf_addstr(&sb, "the scorer's \"pass\" must be true or false");
	} else if (!score && !pass) {
		strbuf_addstr(&sb, "the scorer's reply has neither \"score\" nor \"pass\"");
	} else {
		out->score = score ? score->valuedouble : cJSON_IsTrue(pass) ? 1 : 0;
		out->pass = pass ? cJSON_IsTrue(pass) : out->score >= x->threshold;
		if (cJSON_IsString(reason) && *reason->valuestring)
			quote(&sb, reason->valuestring);
		else
			strbuf_addf(&sb, "score %.3g (%s)", out->score, out->pass ? "pass" : "fail");
		ret = 0;
	}
	out->reason = strbuf_detach(&sb, NULL);
	cJSON_Delete(root);
	return ret;
}

static enum score_status exec_score(const struct scorer *s, struct score_job *job,
				    struct score_result *out)
{
	const struct exec_scorer *x = s->ctx;
	const struct score_call *c;

	if (job->step == 0) {
		score_job_request_command(job, request_body(job), &x->cmd);
		return SCORE_WAIT;
	}
	c = job->n_calls ? &job->calls[0] : NULL;
	out->score = 0;
	out->pass = 0;
	if (!c || !c->reply) {
		struct strbuf sb = STRBUF_INIT;

		strbuf_addstr(&sb, "the scorer's worker failed: ");
		strbuf_addstr(&sb, c && c->error ? c->error : "no reply");
		out->reason = strbuf_detach(&sb, NULL);
		out->error = 1;
		return SCORE_DONE;
	}
	if (read_reply(x, c->reply, out))
		out->error = 1;
	return SCORE_DONE;
}

const struct scorer_type scorer_exec = {
	.name = "exec",
	.init = exec_init,
	.score = exec_score,
	.release = exec_release,
	.fields = exec_fields,
};
