/*
 * judge: what the model-graded scorers (judge, faithfulness) share, and the
 * pure parsers of what a judge model replies, exposed for the tests and the
 * fuzz target.
 *
 * Prompt templates (scorers/prompts/NAME.txt) hold a system part and a user
 * part, each under a header line of its own:
 *
 *   === system ===
 *   ...
 *   === user ===
 *   ...
 *
 * and placeholders rendered by judge_render(): {{name}} is replaced by the
 * value of name; {{#name}}...{{/name}} is kept only when name has a value,
 * {{^name}}...{{/name}} only when it has none (a section tag followed by a
 * newline takes the newline with it). Values are inserted once and never
 * scanned for placeholders. Data values (the answer, the question, the
 * rubric, a passage) are neutralised first by judge_add_data() so that no
 * text can close or open one of the tags that delimit data in the templates.
 *
 * Judge replies are untrusted: the parsers accept a JSON value anywhere in
 * the reply (bare, in a code fence, with prose around it), but only when it
 * is the one value of the expected shape; see judge_parse_verdict().
 *
 * Ownership: every char * in the structs below is malloc'd and owned by the
 * struct, freed by its _release function; err buffers are the caller's.
 */
#ifndef EG_JUDGE_H
#define EG_JUDGE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "scorer.h"

struct strbuf;

/* replies longer than this are refused unread (bounds the parsers' work) */
#define JUDGE_REPLY_MAX (64 * 1024)
/* most claims one answer may be broken into */
#define JUDGE_CLAIMS_MAX 64

/*
 * A verdict of the judge scorer. The reply must hold exactly one JSON object
 * with a "pass" or a "score" key (identical repeats count once); in it:
 *   "pass"    required, the JSON literal true or false (the string "true" is
 *             refused: never a pass by accident)
 *   "score"   required, a JSON number in [0,1] ("0.8" as a string, NaN,
 *             Infinity, 1e999 and anything outside [0,1] are refused)
 *   "reason"  optional string (a verdict without it is accepted and reads
 *             "no reason given"); when present it must be a string
 *   each of the three keys at most once; other keys are ignored.
 * Contradictory verdicts are refused: pass true with score < 0.5, or pass
 * false with score >= 0.5 (the prompt asks for pass exactly when score >=
 * 0.5; the scorer's own threshold is applied later, to the mean score).
 * Refused too: no such object, two different ones (ambiguous: a decoy in the
 * prose, an echoed prompt injection), a JSON array where the object should
 * be, an empty reply, one longer than JUDGE_REPLY_MAX.
 */
struct judge_verdict {
	double score; /* in [0,1] */
	int pass;     /* 0 or 1 */
	char *reason; /* the judge's reason, or NULL when it gave none */
};

/* 0 and *v filled, or -1 with why appended to err (one line); *v is then empty */
int judge_parse_verdict(const char *text, size_t len, struct judge_verdict *v,
			struct strbuf *err);
void judge_verdict_release(struct judge_verdict *v);

/*
 * Claims extracted from an answer: {"claims": ["...", ...]} or a bare array
 * of strings, found as above (one such value in the reply). Items must be
 * strings; blank ones are dropped; at most JUDGE_CLAIMS_MAX. An empty list
 * is valid (the answer makes no claim). *claims is a malloc'd array of
 * malloc'd strings (NULL when *n is 0), freed by judge_claims_free.
 */
int judge_parse_claims(const char *text, size_t len, char ***claims, size_t *n,
		       struct strbuf *err);
void judge_claims_free(char **claims, size_t n);

/* one claim's verdict */
struct claim_verdict {
	int supported; /* 1 supported, 0 not supported */
	char *reason;  /* the judge's reason, or NULL */
};

/*
 * Verdicts on n claims: {"verdicts": [...]} or a bare array of objects, each
 * {"claim": text, "verdict": "supported" | "not supported", "reason": text}.
 * There must be exactly one verdict per claim, each naming its claim; claims
 * are matched ignoring ASCII case and runs of whitespace, in any order (a
 * claim given twice needs two verdicts). "verdict" is read ignoring ASCII
 * case and surrounding spaces; "unsupported" and "not_supported" are taken
 * for "not supported"; anything else is refused. out has n slots, filled in
 * the order of claims; on error they are left empty.
 */
int judge_parse_claim_verdicts(const char *text, size_t len, char *const *claims, size_t n,
			       struct claim_verdict *out, struct strbuf *err);
void claim_verdicts_release(struct claim_verdict *v, size_t n);

/*
 * Append len bytes of s as data for a prompt: a '<' that starts one of the
 * delimiter tags (opening or closing, any case, spaces allowed, e.g.
 * "</Answer >") becomes "&lt;"; a NUL byte becomes the text \x00 (shown,
 * never cut: what follows it reaches the judge) and invalid UTF-8 U+FFFD,
 * so the rendered prompt is valid UTF-8 text.
 */
void judge_add_data(struct strbuf *sb, const char *s, size_t len);
/* 1 when name (length len) is one of the delimiter tags judge_add_data guards */
int judge_is_delim_tag(const char *name, size_t len);

/* a value for judge_render: value NULL = absent (sections drop) */
struct judge_var {
	const char *name;
	const char *value; /* inserted as given: neutralise data with judge_add_data first */
};

/*
 * Render tmpl into out. -1 with the reason in err on an unknown
 * placeholder, an unclosed {{ or an unclosed or mismatched section.
 */
int judge_render(const char *tmpl, const struct judge_var *vars, size_t n_vars,
		 struct strbuf *out, struct strbuf *err);

/* a prompt template split in its two parts */
struct judge_template {
	char *system; /* malloc'd */
	char *user;   /* malloc'd */
};

/* load scorers/prompts/NAME.txt; -1 (nothing reported) when absent or malformed */
int judge_template_load(struct judge_template *t, const char *name);
/* 0 when t's user part renders with the n placeholder names given, present or absent */
int judge_template_check(const struct judge_template *t, const char *const *names, size_t n);
void judge_template_release(struct judge_template *t);

/*
 * Fields every model-graded scorer reads the same way, with errors reported
 * for type at loc: the model ("model" in the spec wins over judge.model in
 * the config; none is an error naming both; the same as the target model is
 * warned about once per process) and "params" (an object, or absent).
 * *model and *params point into the spec or the scorer environment.
 */
int judge_spec_model(const cJSON *spec, const struct eg_loc *loc, const char *type,
		     const char **model);
int judge_spec_params(const cJSON *spec, const struct eg_loc *loc, const char *type,
		      const cJSON **params);

/*
 * The request body: {"model", "messages": [system, user], the judge params
 * of the config, then params (either may be NULL); "model" and "messages"
 * in params are ignored}. malloc'd JSON text.
 */
char *judge_body(const char *model, const cJSON *params, const char *system,
		 const char *user);

/* the case's question for a prompt, neutralised: its input, or its messages as "role: content" lines */
void judge_add_question(struct strbuf *sb, const struct eg_case *kase);
/* the case's context as <passage n="i"> blocks, neutralised; nothing when it has none */
void judge_add_context(struct strbuf *sb, const struct eg_case *kase);

#endif
