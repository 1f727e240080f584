#!/usr/bin/env bash
# Prompt templates (SPEC 11): a text prompt on the target becomes the user
# message, a .json prompt on a suite the messages; vars, sections and the
# case's context fill them. Template errors are load errors (exit 2 from
# validate and run) located in the prompt file and the case. A prompt edit
# changes the cases' hashes: the lock sees it and regression pairs the
# edited cases out as changed.
. "$(dirname "$0")/lib.sh"

: >script.jsonl
start_mock script.jsonl
mkdir -p suites prompts
write_config cfg.json '[{"metric":"regression","baseline":"latest","max_new_failures":0,"min_paired":0}]'
python3 - <<'EOP'
import json
cfg = json.load(open("cfg.json"))
cfg["target"]["prompt"] = "prompts/answer.txt"
cfg["target"]["system"] = "You are terse."
json.dump(cfg, open("cfg.json", "w"), indent=2)
EOP
cat >prompts/answer.txt <<'P'
Customer {{vars.name}} asks: {{input}}
{{#context}}
- {{.}}
{{/context}}
{{^context}}
(no passages)
{{/context}}
P
make_suite s/p p golden \
'{"id": "a", "input": "Can I return shoes?", "vars": {"name": "Ann"}, "context": ["Returns: 30 days.", "Shoes <b>&\"x\"</b> too."]}
{"id": "b", "input": "Do gift cards expire?", "vars": {"name": "Bo"}}'
run() { "$EG_BIN" run --config cfg.json --suite s/p --history "$T/h.db" --no-cache "$@"; }
out() { sql "select cast(output as text) from results where run_id = '$1' and case_id = '$2'"; }

check "validate with the prompt" "$EG_BIN" validate --config cfg.json --suite s/p --lock
expect_rc "a run with the text prompt (no baseline yet: the gate fails)" 1 run
r1=$(sql "select id from runs order by started_at desc limit 1")
expect_eq "rendered: vars, input, a section over the context, nothing HTML-escaped" \
	"$(printf 'echo: Customer Ann asks: Can I return shoes?\n- Returns: 30 days.\n- Shoes <b>&"x"</b> too.')" "$(out "$r1" a)"
expect_eq "rendered: the inverted section of a case without context" \
	"$(printf 'echo: Customer Bo asks: Do gift cards expire?\n(no passages)')" "$(out "$r1" b)"

# --- errors are located: the prompt's line and the case's line, exit 2
cp prompts/answer.txt answer.good
printf 'Hello {{input}}\n\n{{vars.name}} {{nope}}\n' >prompts/answer.txt
expect_rc "unknown tag: validate exits 2" 2 "$EG_BIN" validate --config cfg.json --suite s/p
expect_grep "unknown tag located" "prompts/answer.txt:3: prompt: unknown tag {{nope}}" "$T/err"
expect_rc "unknown tag: run exits 2" 2 run
printf 'Hi {{input}}\n{{#context}}\n{{.}}\n' >prompts/answer.txt
expect_rc "unclosed section: exit 2" 2 "$EG_BIN" validate --config cfg.json --suite s/p
expect_grep "unclosed section located" "prompts/answer.txt:2: prompt: unclosed section {{#context}}" "$T/err"
printf 'Hi {{input}}\n{{#context}}{{.}}{{/vars.x}}\n' >prompts/answer.txt
expect_rc "mismatched close: exit 2" 2 "$EG_BIN" validate --config cfg.json --suite s/p
expect_grep "mismatched close located" "prompts/answer.txt:2: prompt: {{/vars.x}} closes the section opened at line 2" "$T/err"
printf 'Hi {{input}}\n{{vars.name}} from {{vars.city}}\n' >prompts/answer.txt
expect_rc "a var the case lacks: validate exits 2" 2 "$EG_BIN" validate --config cfg.json --suite s/p
expect_grep "missing var: the case's line and the prompt's" \
	"s/p/cases.jsonl:1: prompt: the case has no vars.city, which .*prompts/answer.txt:2 uses" "$T/err"
expect_rc "a var the case lacks: run exits 2" 2 run
expect_eq "nothing was stored by the failed runs" "1" "$(sql "select count(*) from runs")"
printf '{{input}}\n' >prompts/answer.txt
rm -f prompts/answer.txt
expect_rc "a missing prompt file: exit 2" 2 "$EG_BIN" validate --config cfg.json --suite s/p
expect_grep "missing file named" "prompts/answer.txt" "$T/err"

# --- a .json prompt on the suite wins over the target's
cp answer.good prompts/answer.txt
cat >s/p/chat.json <<'P'
[{"role": "system", "content": "Policy assistant for {{vars.name}}."},
 {"role": "user", "content": "Q: {{input}}{{#context}} [{{.}}]{{/context}}"}]
P
python3 -c '
import json; m = json.load(open("s/p/suite.json")); m["prompt"] = "chat.json"; m["version"] = "1.1.0"
json.dump(m, open("s/p/suite.json", "w"))'
check "relock with the suite prompt" "$EG_BIN" validate --config cfg.json --suite s/p --lock
# every case renders differently from the last run: nothing to pair, the gate fails
expect_rc "a run with the chat prompt" 1 run
r2=$(sql "select id from runs order by started_at desc limit 1")
expect_eq "rendered chat JSON: the user message, escaped into JSON and back" \
	'echo: Q: Can I return shoes? [Returns: 30 days.] [Shoes <b>&"x"</b> too.]' "$(out "$r2" a)"
printf '[{"role": "user", "content": "{{input}} {{vars.zip}}"}]\n' >s/p/chat.json
expect_rc "chat prompt: missing var is exit 2" 2 "$EG_BIN" validate --config cfg.json --suite s/p
expect_grep "chat prompt: located at the message's line" \
	"s/p/cases.jsonl:1: prompt: the case has no vars.zip, which .*s/p/chat.json:1 uses" "$T/err"
printf '[{"role": "user", "content": "{{input}}"},\n {"role": "user", "content": "{{bogus}}"}]\n' >s/p/chat.json
expect_rc "chat prompt: unknown tag is exit 2" 2 "$EG_BIN" validate --config cfg.json --suite s/p
expect_grep "chat prompt: unknown tag located" "s/p/chat.json:2: prompt\[1\].content: unknown tag {{bogus}}" "$T/err"

# --- a prompt edit changes the hashes: the lock sees it, regression pairs it out
printf '[{"role": "system", "content": "Policy assistant for {{vars.name}}."},\n {"role": "user", "content": "Q: {{input}}{{#context}} [{{.}}]{{/context}}"}]\n' >s/p/chat.json
check "same prompt: the lock agrees" "$EG_BIN" validate --config cfg.json --suite s/p
h_a=$(sql "select case_hash from results where run_id = '$r2' and case_id = 'a'")
h_b=$(sql "select case_hash from results where run_id = '$r2' and case_id = 'b'")
sed -i 's/Policy assistant for/Support agent for/' s/p/chat.json
expect_rc "edited prompt, same version: the lock refuses" 2 "$EG_BIN" validate --config cfg.json --suite s/p
expect_grep "the lock names the suite" "suite p changed but its version is still 1.1.0" "$T/err"
python3 -c '
import json; m = json.load(open("s/p/suite.json")); m["version"] = "1.2.0"
json.dump(m, open("s/p/suite.json", "w"))'
check "relock after the bump" "$EG_BIN" validate --config cfg.json --suite s/p --lock
expect_rc "candidate with the edited prompt: no pairs, the gate fails" 1 run --baseline "$r2"
r3=$(sql "select id from runs order by started_at desc limit 1")
check "the edited case's hash changed" test "$h_a" != "$(sql "select case_hash from results where run_id = '$r3' and case_id = 'a'")"
check "every case renders the system line: b changed too" test "$h_b" != "$(sql "select case_hash from results where run_id = '$r3' and case_id = 'b'")"
expect_eq "regression: both cases paired out as changed" "0 2" \
	"$(sql "select detail from gates where run_id = '$r3' and metric = 'regression'" |
	   python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["pairs"], d["changed"])')"
expect_rc "compare lists them" 0 "$EG_BIN" compare "$r2" "$r3" --history "$T/h.db"
expect_grep "compare: changed" "changed    p/a" "$T/out"
# an edit that only one case renders differently changes only that case
sed -i 's/Q: {{input}}/Q: {{input}}{{#vars.vip}} (VIP){{\/vars.vip}}/' s/p/chat.json
python3 -c '
import json; m = json.load(open("s/p/suite.json")); m["version"] = "1.3.0"
json.dump(m, open("s/p/suite.json", "w"))
lines = [json.loads(l) for l in open("s/p/cases.jsonl")]
lines[1]["vars"]["vip"] = True
open("s/p/cases.jsonl", "w").write("".join(json.dumps(l) + "\n" for l in lines))'
check "relock" "$EG_BIN" validate --config cfg.json --suite s/p --lock
expect_rc "run with a prompt only b renders differently" 0 run --baseline "$r3"
r4=$(sql "select id from runs order by started_at desc limit 1")
expect_eq "a is unchanged and paired; b changed" "1 1" \
	"$(sql "select detail from gates where run_id = '$r4' and metric = 'regression'" |
	   python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["pairs"], d["changed"])')"
expect_eq "b rendered the truthy section" "echo: Q: Do gift cards expire? (VIP)" "$(out "$r4" b)"

finish
