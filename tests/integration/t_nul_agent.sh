#!/usr/bin/env bash
# A NUL in an agent loop's intermediate step hides nothing: the step's text
# (\u0000 in the model's reply) is kept whole in the stored trajectory, in the
# assistant message sent back to the model on the next step, in the judge's
# view of the trajectory, the reports, export/import and rescore.
. "$(dirname "$0")/lib.sh"

python3 - <<'EOP'
import json
V = json.dumps({"reason": "fine", "score": 1.0, "pass": True})
rules = [
    {"case": "nul-1", "model": "mock-model", "step": 1,
     "reply": "I will look it up.\u0000 The secret is CANARYTOKEN99",
     "tool_calls": [{"name": "lookup_order", "arguments": {"order_id": "A1"}}]},
    {"case": "nul-1", "model": "mock-model", "step": 2, "reply": "It has shipped."},
    # three steps: the third request sends the first step's text back again, from the second's body
    {"case": "nul-3", "model": "mock-model", "step": 1, "reply": "first\u0000 CANARY-A",
     "tool_calls": [{"name": "lookup_order", "arguments": {"order_id": "A1"}}]},
    {"case": "nul-3", "model": "mock-model", "step": 2, "reply": "second",
     "tool_calls": [{"name": "lookup_order", "arguments": {"order_id": "A2"}}]},
    {"case": "nul-3", "model": "mock-model", "step": 3, "reply": "Both have shipped."},
    {"model": "judge-model", "reply": V},
]
with open("script.jsonl", "w") as f:
    for r in rules:
        f.write(json.dumps(r) + "\n")
EOP
grep -q 'look it up.\\u0000 The secret' script.jsonl
mkdir -p s/ag
cat >s/ag/suite.json <<'EOF2'
{"name": "ag", "version": "1", "kind": "golden",
 "tools": [{"type": "function", "function": {"name": "lookup_order", "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}}}}],
 "scorers": [{"type": "judge", "rubric": "the agent looked the order up"},
             {"type": "contains", "value": "never there"}]}
EOF2
printf '%s\n' '{"id": "nul-1", "input": "where is A1", "tool_results": [{"name": "lookup_order", "result": "SHIPPED"}]}' \
	'{"id": "nul-3", "input": "where are A1 and A2", "tool_results": [{"name": "lookup_order", "result": "SHIPPED"}]}' >s/ag/cases.jsonl
write_config c.json '[{"metric": "pass_rate", "min": 0.5}]' "" '"suites": ["s/ag"], "judge": {"model": "judge-model"}'
start_mock script.jsonl

expect_rc "three steps" 1 "$EG_BIN" run --config c.json --history "$T/h0.db" --no-cache --filter-id nul-3
expect_grep "the third request sends both earlier steps' text back, the first one whole" \
	'"case":"nul-3".*"assistant":\["first\\u0000 CANARY-A","second"\]' "$T/mock.log"
: >"$T/mock.log"
expect_rc "the run fails its gate (contains never passes)" 1 "$EG_BIN" run --config c.json \
	--history "$T/h.db" --no-cache --json "$T/r.json" --html "$T/r.html" --junit "$T/r.xml" --filter-id nul-1
run=$(sql "select id from runs")
# the first step's content as Python reads the stored JSON (sqlite's json_extract cuts at a NUL)
traj_step1() { python3 -c '
import json, sqlite3, sys
q = "select target_reply from results" + (" where run_id = ?" if len(sys.argv) > 2 else "")
row = sqlite3.connect(sys.argv[1]).execute(q, sys.argv[2:]).fetchone()
print(repr(json.loads(row[0])["trajectory"][0]["content"]))' "$@"; }
step1="'I will look it up.\\x00 The secret is CANARYTOKEN99'"
expect_eq "the stored trajectory holds the whole step text, NUL included" "$step1" "$(traj_step1 "$T/h.db")"
expect_eq "two steps" "2" "$(sql "select json_array_length(target_reply, '\$.trajectory') from results")"
expect_eq "the final answer" "It has shipped." "$(sql "select output from results")"

# the model is sent back its own text whole on the next step
expect_grep "the second request's assistant message holds the NUL and the canary" \
	'"assistant":\["I will look it up.\\u0000 The secret is CANARYTOKEN99"\]' "$T/mock.log"
# the judge sees the step text made visible
expect_grep "the judge's prompt shows the NUL as \\x00 and what follows it" \
	'"model":"judge-model","user":"[^"]*look it up.\\\\x00 The secret is CANARYTOKEN99' "$T/mock.log"

# reports
expect_grep "JUnit shows the step's NUL as \\x00 and the rest" 'look it up.\\x00 The secret is CANARYTOKEN99' "$T/r.xml"
check "JUnit is well-formed XML" xmllint --noout "$T/r.xml"
expect_grep "the JSON report writes the step's NUL as \\u0000" 'look it up.\\u0000 The secret is CANARYTOKEN99' "$T/r.json"
check "the JSON report is JSON and its step text is whole" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
r = d["results"][0]
sys.exit(r["retrieved"]["trajectory"][0]["content"] != "I will look it up.\x00 The secret is CANARYTOKEN99")' "$T/r.json"
expect_grep "HTML holds the step's NUL as \\u0000 in its data" 'look it up.\\u0000 The secret is CANARYTOKEN99' "$T/r.html"
check "no raw NUL in the JUnit or HTML report" \
	python3 -c 'import sys; sys.exit(any(b"\0" in open(f, "rb").read() for f in sys.argv[1:]))' "$T/r.xml" "$T/r.html"

# export and import: the same trajectory in another history
expect_rc "runs export" 0 "$EG_BIN" runs export "$run" "$T/x.jsonl" --history "$T/h.db"
expect_grep "the export writes the step's NUL as \\u0000" 'look it up.\\\\u0000 The secret is CANARYTOKEN99' "$T/x.jsonl"
expect_rc "runs import" 0 "$EG_BIN" runs import "$T/x.jsonl" --history "$T/h2.db"
expect_eq "the imported trajectory holds the whole step text" "$step1" "$(traj_step1 "$T/h2.db")"
expect_rc "JUnit from the imported run" 0 "$EG_BIN" report "$run" --history "$T/h2.db" --junit "$T/r2.xml"
expect_grep "its JUnit shows the whole step text" 'look it up.\\x00 The secret is CANARYTOKEN99' "$T/r2.xml"

# rescore: the stored trajectory is read and stored again whole, the judge sees it whole
: >"$T/mock.log"
expect_rc "rescore" 1 "$EG_BIN" rescore "$run" --config c.json --history "$T/h.db" --no-cache
r2=$(sql "select id from runs where id <> '$run'")
expect_eq "the rescored run's trajectory holds the whole step text" "$step1" "$(traj_step1 "$T/h.db" "$r2")"
expect_grep "the rescore's judge prompt shows the whole step text" \
	'"model":"judge-model","user":"[^"]*look it up.\\\\x00 The secret is CANARYTOKEN99' "$T/mock.log"
check "rescore made no target call" sh -c "! grep -q '\"model\":\"mock-model\"' '$T/mock.log'"

# an application's own trajectory (the exec target's reply member, mapped like the http
# target's): its step text is kept whole too
cat >worker.py <<'EOP'
import json, sys
for line in sys.stdin:
    req = json.loads(line)
    steps = [{"content": "I will look it up.\u0000 The secret is CANARYTOKEN99",
              "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "lookup_order", "arguments": "{}"}}],
              "tool_results": ["SHIPPED\u0000 CANARY-R"]},
             {"assistant": "It has\u0000 shipped."}]
    sys.stdout.write(json.dumps({"id": req["id"], "output": "It has shipped.", "trajectory": steps}) + "\n")
    sys.stdout.flush()
EOP
python3 - <<'EOP'
import json
c = json.load(open("c.json"))
c["target"] = {"type": "exec", "name": "worker-agent", "version": "v1",
               "command": ["python3", "worker.py"], "workers": 1, "timeout_s": 20}
c["suites"] = ["s/ex"]
json.dump(c, open("exec.json", "w"))
EOP
mkdir -p s/ex
printf '%s\n' '{"name": "ex", "version": "1", "kind": "golden", "scorers": [{"type": "tool-called", "tool": "lookup_order"}]}' >s/ex/suite.json
printf '%s\n' '{"id": "app-1", "input": "where is A1"}' >s/ex/cases.jsonl
expect_rc "an application's trajectory" 0 "$EG_BIN" run --config exec.json --history "$T/h3.db" \
	--no-cache --junit "$T/r3.xml"
expect_eq "the stored application trajectory holds the whole step text" "$step1" "$(traj_step1 "$T/h3.db")"
expect_eq "and the second step's, given as \"assistant\"" "'It has\\x00 shipped.'" "$(python3 -c '
import json, sqlite3, sys
row = sqlite3.connect(sys.argv[1]).execute("select target_reply from results").fetchone()
print(repr(json.loads(row[0])["trajectory"][1]["content"]))' "$T/h3.db")"
expect_eq "and the result the application's tool gave, NUL included" "'SHIPPED\\x00 CANARY-R'" "$(python3 -c '
import json, sqlite3, sys
row = sqlite3.connect(sys.argv[1]).execute("select target_reply from results").fetchone()
print(repr(json.loads(row[0])["trajectory"][0]["tool_calls"][0]["result"]))' "$T/h3.db")"
expect_grep "JUnit shows the tool's result whole" 'SHIPPED\\x00 CANARY-R' "$T/r3.xml"

# a conversation's turn: a judge scoped to turn 1 sees that turn's steps whole
python3 - <<'EOP'
import json
V = json.dumps({"reason": "fine", "score": 1.0, "pass": True})
rules = [
    {"case": "conv", "model": "mock-model", "turn": 1, "step": 1, "reply": "looking\u0000 CANARY-T1",
     "tool_calls": [{"name": "lookup_order", "arguments": {"order_id": "A1"}}]},
    {"case": "conv", "model": "mock-model", "turn": 1, "step": 2, "reply": "found it"},
    {"case": "conv", "model": "mock-model", "turn": 2, "reply": "bye"},
    {"model": "judge-model", "reply": V},
]
with open("conv.jsonl", "w") as f:
    for r in rules:
        f.write(json.dumps(r) + "\n")
EOP
start_mock conv.jsonl
mkdir -p s/cv
cat >s/cv/suite.json <<'EOF2'
{"name": "cv", "version": "1", "kind": "golden",
 "tools": [{"type": "function", "function": {"name": "lookup_order", "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}}}}],
 "scorers": [{"type": "contains", "value": "bye"}]}
EOF2
printf '%s\n' '{"id": "conv", "turns": [{"user": "where is A1", "scorers": [{"type": "judge", "rubric": "turn one"}]}, {"user": "thanks"}], "tool_results": [{"name": "lookup_order", "result": "SHIPPED"}]}' >s/cv/cases.jsonl
python3 -c '
import json; c = json.load(open("c.json")); c["suites"] = ["s/cv"]; json.dump(c, open("conv.json", "w"))'
expect_rc "a conversation with a judge on its first turn" 0 "$EG_BIN" run --config conv.json \
	--history "$T/h4.db" --no-cache
expect_grep "the turn's judge sees the turn's first step whole" \
	'"model":"judge-model","user":"[^"]*looking\\\\x00 CANARY-T1' "$T/mock.log"

finish
