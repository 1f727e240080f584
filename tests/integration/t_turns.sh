#!/usr/bin/env bash
# Multi-turn conversations (SPEC 12): scripted user turns with scorers per turn and for the
# whole conversation, a tool loop inside a turn, the transcript as the trajectory (history,
# reports, export/import), a cached re-run making zero gateway calls, load-time errors; and
# a simulated user played by the mock, replayed identically from the cache.
. "$(dirname "$0")/lib.sh"

cat >script.jsonl <<'EOF'
{"case": "support", "match": "I need help", "reply": "Hello! Which order is it?"}
{"case": "support", "match": "order A17", "step": 1, "tool_calls": [{"name": "lookup_order", "arguments": {"order_id": "A17"}}]}
{"case": "support", "match": "order A17", "step": 2, "reply": "Order A17: {{tool_result}}."}
{"case": "support", "match": "thanks", "reply": "You are welcome, bye."}
{"case": "rude", "match": "first", "reply": "first answer"}
{"case": "rude", "match": "second", "reply": "go away"}
EOF
mkdir -p s/conv
cat >s/conv/suite.json <<'EOF'
{"name": "conv", "version": "1", "kind": "golden",
 "tools": [{"type": "function", "function": {"name": "lookup_order", "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}}}]}
EOF
cat >s/conv/cases.jsonl <<'EOF'
{"id": "support", "turns": [{"user": "hi, I need help", "scorers": [{"type": "contains", "value": "Which order"}]}, {"user": "it is order A17", "scorers": [{"type": "tool-called", "tool": "lookup_order"}, {"type": "contains", "value": "SHIPPED"}]}, {"user": "thanks!"}], "tool_results": [{"name": "lookup_order", "match": {"order_id": "A17"}, "result": "SHIPPED"}], "scorers": [{"type": "contains", "value": "bye"}, {"type": "tool-sequence", "sequence": ["lookup_order"], "mode": "exact"}]}
{"id": "rude", "turns": [{"user": "first question"}, {"user": "second question", "scorers": [{"type": "contains", "value": "welcome"}]}], "scorers": [{"type": "contains", "value": "away"}]}
EOF
write_config c.json '[]' "" '"suites": ["s/conv"]'
start_mock script.jsonl
stats() { curl -s "http://127.0.0.1:$MOCK_PORT/stats" | grep -o '"requests":[0-9]*' | tr -dc 0-9; }
score() { sql "select pass || ':' || reason from scores where run_id = '$1' and case_id = '$2' and scorer = '$3'"; }

expect_rc "validate accepts turns" 0 "$EG_BIN" validate --config c.json
expect_rc "the run" 0 "$EG_BIN" run --config c.json --history "$T/h.db" \
	--junit "$T/j.xml" --html "$T/r.html" --markdown "$T/r.md" --json "$T/r.json" --no-step-summary
RUN1=$(sql "select id from runs")
expect_eq "one request per step of every turn (support 4, rude 2)" "6" "$(stats)"
expect_eq "statuses" "rude:fail,support:pass" \
	"$(sql "select group_concat(case_id || ':' || status) from (select case_id, status from results order by case_id)")"
expect_eq "the output is the last turn's answer" "You are welcome, bye." "$(sql "select output from results where case_id = 'support'")"
expect_eq "turn scorers are labelled by their turn" "contains,tool-sequence,turn1.contains,turn2.contains,turn2.tool-called" \
	"$(sql "select group_concat(scorer) from (select scorer from scores where case_id = 'support' order by scorer)")"
expect_eq "turn 1's scorer saw turn 1's answer" '1:output contains "Which order"' "$(score "$RUN1" support turn1.contains)"
expect_eq "turn 2's scorer saw its answer after the tool loop" '1:output contains "SHIPPED"' "$(score "$RUN1" support turn2.contains)"
expect_eq "a failing turn scorer fails the case" "0" "$(sql "select pass from scores where case_id = 'rude' and scorer = 'turn2.contains'")"
expect_eq "the trajectory holds every turn's steps" "1,2,2,3|hi, I need help|it is order A17|thanks!" \
	"$(sql "select (select group_concat(json_extract(value, '\$.turn')) from json_each(target_reply, '\$.trajectory')) || '|' || json_extract(target_reply, '\$.trajectory[0].user') || '|' || json_extract(target_reply, '\$.trajectory[1].user') || '|' || json_extract(target_reply, '\$.trajectory[3].user') from results where case_id = 'support'")"
expect_eq "the turn's tool call was answered" "SHIPPED" \
	"$(sql "select json_extract(target_reply, '\$.trajectory[1].tool_calls[0].result') from results where case_id = 'support'")"
# the requests carried the conversation: the third turn's request holds every message before it
expect_eq "turn 3's request holds the whole conversation" "user,assistant,user,assistant,tool,assistant,user" \
	"$(grep '"case":"support"' "$T/mock.log" | grep '"user":"thanks!"' | grep -o '"roles":"[^"]*"' | cut -d'"' -f4)"
expect_grep "JUnit shows the turns" "turn 2 user: it is order A17" "$T/j.xml"
expect_grep "the JSON report carries the turns" '"user": *"thanks!"' "$T/r.json"

# a re-run is answered from the cache: zero gateway calls, the same transcript
expect_rc "the second run" 0 "$EG_BIN" run --config c.json --history "$T/h.db" --no-step-summary
RUN2=$(sql "select id from runs where id != '$RUN1'")
expect_eq "the cached re-run made no gateway call" "6" "$(stats)"
expect_eq "the same transcript" "1" \
	"$(sql "select (select target_reply from results where run_id = '$RUN1' and case_id = 'support') = (select target_reply from results where run_id = '$RUN2' and case_id = 'support')")"
expect_eq "cached" "1" "$(sql "select cached from results where run_id = '$RUN2' and case_id = 'support'")"

# export/import keeps the turns
expect_rc "export" 0 "$EG_BIN" runs export "$RUN1" "$T/run.jsonl" --history "$T/h.db"
expect_rc "import" 0 "$EG_BIN" runs import "$T/run.jsonl" --history "$T/h2.db"
expect_eq "the imported trajectory keeps the turns" "thanks!" \
	"$(sqlite3 "$T/h2.db" "select json_extract(target_reply, '\$.trajectory[3].user') from results where case_id = 'support'")"

# a simulated user, played by the mock (its model), ends the conversation with the stop token
cat >sim.jsonl <<'EOF'
{"case": "sim", "model": "sim-user", "match": "Assistant: A17 ships tomorrow.", "reply": "###STOP###"}
{"case": "sim", "model": "sim-user", "match": "Assistant: Sorry! Which order?", "reply": "It is A17, hurry."}
{"case": "sim", "model": "sim-user", "reply": "???"}
{"case": "sim", "turn": 1, "reply": "Sorry! Which order?"}
{"case": "sim", "turn": 2, "match": "A17, hurry", "reply": "A17 ships tomorrow."}
{"case": "capped", "model": "sim-user", "reply": "more please"}
{"case": "capped", "reply": "answer {{input}}"}
EOF
mkdir -p s/sim
cat >s/sim/suite.json <<'EOF'
{"name": "sim", "version": "1", "kind": "golden", "scorers": [{"type": "contains", "value": "A17"}]}
EOF
cat >s/sim/cases.jsonl <<'EOF'
{"id": "sim", "input": "my order is late", "simulate": {"persona": "an impatient customer", "goal": "learn when order A17 ships", "max_turns": 4, "model": "sim-user"}}
{"id": "capped", "input": "A17?", "simulate": {"persona": "a curious customer", "goal": "never satisfied", "max_turns": 3, "model": "sim-user"}}
EOF
write_config sim.json '[]' "" '"suites": ["s/sim"]'
start_mock sim.jsonl
rm -f "$T/h.db"
expect_rc "the simulated run" 0 "$EG_BIN" run --config sim.json --history "$T/h.db" --no-step-summary --junit "$T/sj.xml"
SIM1=$(sql "select id from runs")
expect_eq "requests: 2 target + 2 simulated user (sim), 3 + 2 (capped at max_turns 3)" "9" "$(stats)"
expect_eq "the simulated user's turn opened turn 2" "my order is late|It is A17, hurry.|2" \
	"$(sql "select json_extract(target_reply, '\$.trajectory[0].user') || '|' || json_extract(target_reply, '\$.trajectory[1].user') || '|' || json_array_length(target_reply, '\$.trajectory') from results where case_id = 'sim'")"
expect_eq "the answer is the last turn's" "A17 ships tomorrow.|pass" "$(sql "select output || '|' || status from results where case_id = 'sim'")"
expect_eq "max_turns caps the user turns" "3|more please" \
	"$(sql "select json_array_length(target_reply, '\$.trajectory') || '|' || json_extract(target_reply, '\$.trajectory[2].user') from results where case_id = 'capped'")"
expect_eq "the simulated user's calls count as judge usage" "1" "$(sql "select judge_prompt_tokens > 0 from results where case_id = 'sim'")"
expect_eq "the simulated user was asked twice for sim" "2" \
	"$(grep '"case":"sim"' "$T/mock.log" | grep -c '"model":"sim-user"')"
expect_rc "the simulated re-run" 0 "$EG_BIN" run --config sim.json --history "$T/h.db" --no-step-summary
SIM2=$(sql "select id from runs where id != '$SIM1'")
expect_eq "the re-run made no gateway call" "9" "$(stats)"
expect_eq "the same user turns, the same case ids and hashes" "2" \
	"$(sql "select count(*) from results a join results b on a.case_id = b.case_id and a.case_hash = b.case_hash and a.target_reply = b.target_reply where a.run_id = '$SIM1' and b.run_id = '$SIM2'")"
# a changed target (its system prompt): the target is asked again; while its answers stay the
# same, the simulated user's turns are replayed from the cache
python3 - <<'EOP'
import json
c = json.load(open("sim.json")); c["target"]["system"] = "Be brief."; json.dump(c, open("sim2.json", "w"))
EOP
expect_rc "the run of the changed target" 0 "$EG_BIN" run --config sim2.json --history "$T/h.db" --no-step-summary
expect_eq "only the target's 5 requests were made" "14" "$(stats)"

# load-time errors are located
bad() {
	mkdir -p "s/bad$1"
	printf '{"name": "bad%s", "version": "1", "kind": "golden", "scorers": [{"type": "contains", "value": "x"}]}\n' "$1" >"s/bad$1/suite.json"
	printf '%s\n' "$2" >"s/bad$1/cases.jsonl"
	write_config "b$1.json" '[]' "" "\"suites\": [\"s/bad$1\"]"
	expect_rc "bad turns $1: validate fails" 2 "$EG_BIN" validate --config "b$1.json"
	expect_grep "bad turns $1: located" "$3" "$T/err"
}
bad 1 '{"id": "a", "turns": []}' 'cases.jsonl:1: turns: expected a non-empty array'
bad 2 '{"id": "a", "input": "x", "turns": [{"user": "y"}]}' 'cases.jsonl:1: input: a case with turns takes its first user message from turns\[0\]'
bad 3 '{"id": "a", "turns": [{"user": "y"}, {"usr": "z"}]}' "cases.jsonl:1: turns\[1\].usr: unknown field"
bad 4 '{"id": "a", "turns": [{"user": "y"}, {"user": ""}]}' 'cases.jsonl:1: turns\[1\].user: empty'
bad 5 '{"id": "a", "turns": [{"user": "y", "scorers": [{"type": "nope"}]}]}' 'cases.jsonl:1: scorer 1'
bad 6 '{"id": "a", "input": "x", "simulate": {"persona": "p"}}' 'cases.jsonl:1: simulate.goal'
bad 7 '{"id": "a", "simulate": {"persona": "p", "goal": "g"}}' 'cases.jsonl:1: input: missing'
bad 8 '{"id": "a", "input": "x", "simulate": {"persona": "p", "goal": "g", "max_turns": 0}}' 'cases.jsonl:1: simulate.max_turns'
finish
