#!/usr/bin/env bash
# Tool calls and the agent loop (SPEC 12) through the mock gateway: parallel calls in one
# reply, arguments that are not JSON, a tool never declared, the loop stopped by max_steps,
# an unmatched call, the tool scorers' reasons naming the step, a cached second run making
# zero gateway calls, export/import of trajectories, hostile arguments escaped in every
# report, and the gates tool_error_rate and steps.
. "$(dirname "$0")/lib.sh"

HOSTILE='</script><img src=x onerror=alert(1)> ]]> & "q"'
cat >script.jsonl <<'EOF'
{"case": "par", "step": 1, "tool_calls": [{"name": "lookup_order", "arguments": {"order_id": "A1"}}, {"name": "lookup_order", "arguments": "{\"order_id\": \"A2\"}"}]}
{"case": "par", "step": 2, "reply": "both: {{tool_result}}"}
{"case": "badargs", "tool_calls": [{"name": "lookup_order", "arguments": "{order_id: A1"}]}
{"case": "badargs-default", "step": 1, "tool_calls": [{"name": "lookup_order", "arguments": "{order_id: A1"}]}
{"case": "badargs-default", "step": 2, "reply": "sorry: {{tool_result}}"}
{"case": "undef", "step": 1, "tool_calls": [{"name": "delete_everything", "arguments": {}}]}
{"case": "undef", "step": 2, "reply": "done: {{tool_result}}"}
{"case": "loop", "tool_calls": [{"name": "lookup_order", "arguments": {"order_id": "A1"}}]}
{"case": "unmatched", "tool_calls": [{"name": "lookup_order", "arguments": {"order_id": "ZZ9"}}]}
{"case": "refund-over", "step": 1, "tool_calls": [{"name": "lookup_order", "arguments": {"order_id": "B2"}}]}
{"case": "refund-over", "step": 2, "tool_calls": [{"name": "refund_order", "arguments": {"order_id": "B2", "amount": 500}}]}
{"case": "refund-over", "step": 3, "reply": "refunded"}
{"case": "hostile", "step": 1, "tool_calls": [{"name": "lookup_order", "arguments": {"order_id": "</script><img src=x onerror=alert(1)> ]]> & \"q\""}}]}
{"case": "hostile", "step": 2, "reply": "ok {{tool_result}}"}
{"case": "length", "reply": "cut sho", "finish_reason": "length"}
EOF
mkdir -p s/ag
cat >s/ag/suite.json <<'EOF'
{"name": "ag", "version": "1", "kind": "golden",
 "tools": [{"type": "function", "function": {"name": "lookup_order", "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}}},
           {"type": "function", "function": {"name": "refund_order", "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}, "amount": {"type": "number"}}, "required": ["order_id", "amount"]}}}],
 "tool_choice": "auto",
 "scorers": [{"type": "finish-reason", "expected": "stop"}]}
EOF
cat >s/ag/cases.jsonl <<'EOF'
{"id": "par", "input": "two orders", "tool_results": [{"name": "lookup_order", "match": {"order_id": {"$regex": "^A[0-9]$"}}, "result": {"status": "SHIPPED"}}], "scorers": [{"type": "tool-called", "tool": "lookup_order", "min": 2, "max": 2}, {"type": "tool-args", "tool": "lookup_order"}, {"type": "contains", "value": "SHIPPED"}]}
{"id": "badargs", "input": "bad", "tool_results": [{"name": "lookup_order", "match": {"order_id": "A1"}, "result": "x"}]}
{"id": "badargs-default", "input": "bad too", "default_tool_result": "ERR-BAD-ARGS", "scorers": [{"type": "tool-args", "tool": "lookup_order"}]}
{"id": "undef", "input": "wipe", "default_tool_result": "WIPED", "scorers": [{"type": "tool-called", "tool": "delete_everything", "never": true}]}
{"id": "loop", "input": "loop", "max_steps": 3, "tool_results": [{"name": "lookup_order", "result": "again"}], "scorers": [{"type": "max-steps"}]}
{"id": "unmatched", "input": "where is ZZ9", "tool_results": [{"name": "lookup_order", "match": {"order_id": "A1"}, "result": "x"}]}
{"id": "refund-over", "input": "refund B2", "tool_results": [{"name": "lookup_order", "result": "B2: 500"}, {"name": "refund_order", "result": "REFUNDED"}], "scorers": [{"type": "tool-args", "tool": "refund_order", "expect": {"amount": {"$lte": 100}}}, {"type": "tool-sequence", "sequence": ["lookup_order", "refund_order"], "mode": "exact"}, {"type": "tool-f1", "expected": ["lookup_order"], "min": 0.9}]}
{"id": "hostile", "input": "hostile", "tool_results": [{"name": "lookup_order", "result": "</script><b>RESULT</b>"}], "scorers": [{"type": "contains", "value": "never there"}]}
{"id": "length", "input": "long", "scorers": [{"type": "contains", "value": "cut"}]}
EOF
write_config c.json '[{"metric": "tool_error_rate", "max": 0.1}, {"metric": "steps", "stat": "max", "max": 2}]' "" '"suites": ["s/ag"]'
start_mock script.jsonl
stats() { curl -s "http://127.0.0.1:$MOCK_PORT/stats" | grep -o '"requests":[0-9]*' | tr -dc 0-9; }
reason() { sql "select reason from scores where case_id = '$1' and type = '$2'"; }

expect_rc "validate: the suite's tools are accepted" 0 "$EG_BIN" validate --config c.json
expect_rc "the run: gates fail" 1 "$EG_BIN" run --config c.json --history "$T/h.db" \
	--junit "$T/j.xml" --html "$T/r.html" --markdown "$T/r.md" --json "$T/r.json" --no-step-summary
RUN1=$(sql "select id from runs")
expect_eq "one request per step" "17" "$(stats)"
expect_eq "statuses" "badargs:error,badargs-default:fail,hostile:fail,length:fail,loop:fail,par:pass,refund-over:fail,undef:fail,unmatched:error" \
	"$(sql "select group_concat(case_id || ':' || status) from (select case_id, status from results order by case_id)")"

# parallel calls in one reply: both answered, both kept
expect_eq "parallel calls: two calls in step 1" "2" \
	"$(sql "select json_array_length(target_reply, '\$.trajectory[0].tool_calls') from results where case_id = 'par'")"
expect_eq "parallel calls: each answered from its fixture" '{"status":"SHIPPED"}|{"status":"SHIPPED"}' \
	"$(sql "select json_extract(target_reply, '\$.trajectory[0].tool_calls[0].result') || '|' || json_extract(target_reply, '\$.trajectory[0].tool_calls[1].result') from results where case_id = 'par'")"
expect_eq "the final answer is the text scorers' output" 'both: {"status":"SHIPPED"}' "$(sql "select output from results where case_id = 'par'")"
expect_eq "the second step's request carried the tool messages (mock step 2 matched)" "2" \
	"$(grep -c '"case":"par"' "$T/mock.log")"

# arguments that are not JSON
expect_eq "bad arguments kept as text with an error" '{order_id: A1|arguments are not JSON' \
	"$(sql "select json_extract(target_reply, '\$.trajectory[0].tool_calls[0].arguments') || '|' || json_extract(target_reply, '\$.trajectory[0].tool_calls[0].error') from results where case_id = 'badargs'")"
expect_eq "an unmatched call is a case error naming the step" 'step 1: no tool_results fixture matches lookup_order({order_id: A1)' \
	"$(sql "select error from results where case_id = 'badargs'")"
expect_eq "with a default result the loop goes on" 'sorry: ERR-BAD-ARGS' "$(sql "select output from results where case_id = 'badargs-default'")"
expect_eq "tool-args names the step of bad arguments" 'step 1: lookup_order called with arguments are not JSON' "$(reason badargs-default tool-args)"

# a tool never declared
expect_eq "an undeclared tool is flagged" "1" \
	"$(sql "select json_extract(target_reply, '\$.trajectory[0].tool_calls[0].undeclared') from results where case_id = 'undef'")"
expect_eq "tool-called never names the step" 'step 1: delete_everything called (1 time), expected never' "$(reason undef tool-called)"

# max_steps
expect_eq "the loop stops at max_steps" "3|max_steps" \
	"$(sql "select json_array_length(target_reply, '\$.trajectory') || '|' || json_extract(target_reply, '\$.trajectory[2].stopped') from results where case_id = 'loop'")"
expect_eq "three requests for the loop" "3" "$(grep -c '"case":"loop"' "$T/mock.log")"
expect_eq "max-steps says so" 'step 3: stopped at max_steps 3 without a final answer' "$(reason loop max-steps)"

# an unmatched call
expect_eq "unmatched: error and the call's result_error" 'step 1: no tool_results fixture matches lookup_order({"order_id":"ZZ9"})|no fixture matches' \
	"$(sql "select error || '|' || json_extract(target_reply, '\$.trajectory[0].tool_calls[0].result_error') from results where case_id = 'unmatched'")"

# the scorers' reasons name the step
expect_eq "tool-args: step and bound" 'step 2: refund_order called with amount=500, expected <= 100' "$(reason refund-over tool-args)"
expect_eq "tool-sequence passes" "1" "$(sql "select pass from scores where case_id = 'refund-over' and type = 'tool-sequence'")"
expect_eq "tool-f1: precision 0.5, recall 1" "0.667" "$(sql "select printf('%.3f', score) from scores where case_id = 'refund-over' and type = 'tool-f1'")"
expect_eq "finish-reason length fails" 'finish_reason "length", expected "stop"' "$(reason length finish-reason)"
expect_eq "tokens sum over the steps" "1" \
	"$(sql "select prompt_tokens > (select prompt_tokens from results where case_id = 'length') from results where case_id = 'refund-over'")"

# gates
expect_grep "tool_error_rate counts bad arguments, undeclared tools and unmatched calls" 'FAIL  tool_error_rate .* (4/12' "$T/out"
expect_grep "steps gate: the longest trajectory" 'FAIL  max steps .* 3.00 > 2' "$T/out"

# hostile arguments in every report
check "junit is well-formed" xmllint --noout "$T/j.xml"
expect_grep "junit shows the trajectory" '^--- trajectory ---' "$T/j.xml"
expect_grep "junit: the failing step in the failure text" 'step 2: refund_order called with amount=500' "$T/j.xml"
check "junit: no raw hostile markup" bash -c "! grep -q '<img src=x' '$T/j.xml'"
check "html: no raw hostile markup" bash -c "! grep -q '<img src=x' '$T/r.html' && ! grep -q '<b>RESULT' '$T/r.html'"
check "html: the trajectory is in the details, escaped for a script element" grep -q 'onerror=alert' "$T/r.html"
check "json report: valid, with the hostile arguments intact" python3 -c "
import json, sys
d = json.load(open('$T/r.json'))
rs = [r for s in [d] for r in d['results'] if r['case_id'] == 'hostile']
args = rs[0]['retrieved']['trajectory'][0]['tool_calls'][0]['args']['order_id']
sys.exit(args != '''$HOSTILE''')"
check "markdown: no raw hostile markup" bash -c "! grep -q '<img src=x' '$T/r.md'"

# a cached second run: zero gateway calls, the same trajectories
expect_rc "second run from the cache" 1 "$EG_BIN" run --config c.json --history "$T/h.db" --no-step-summary
RUN2=$(sql "select id from runs where id <> '$RUN1'")
expect_eq "zero gateway calls on the second run" "17" "$(stats)"
expect_grep "every step from the cache" '17 from cache, 0 gateway requests' "$T/out"
expect_eq "identical trajectories and statuses" "0" \
	"$(sql "select count(*) from results a join results b on a.case_id = b.case_id where a.run_id = '$RUN1' and b.run_id = '$RUN2' and (a.target_reply is not b.target_reply or a.status <> b.status or a.output is not b.output)")"
expect_eq "cached results say so" "9" "$(sql "select count(*) from results where run_id = '$RUN2' and cached = 1")"

# export / import round trip
expect_rc "export" 0 "$EG_BIN" runs export "$RUN1" "$T/run.json" --history "$T/h.db"
expect_rc "import into a fresh history" 0 "$EG_BIN" runs import "$T/run.json" --history "$T/new.db"
expect_eq "trajectories identical after import" \
	"$(sql "select group_concat(target_reply, '') from (select target_reply from results where run_id = '$RUN1' order by case_id)")" \
	"$(sqlite3 "$T/new.db" "select group_concat(target_reply, '') from (select target_reply from results order by case_id)")"

# load-time validation, located
mkdir -p s/bad && printf '{"name": "bad", "version": "1", "scorers": [{"type": "contains", "value": "x"}]}\n' >s/bad/suite.json
printf '%s\n' '{"id": "a", "input": "x", "tools": [{"type": "function", "function": {"name": "bad name!"}}]}' >s/bad/cases.jsonl
expect_rc "a bad tool name is refused" 2 "$EG_BIN" validate --config c.json --suite s/bad
expect_grep "located: file:line: field" 's/bad/cases.jsonl:1: tools\[0\].function.name' "$T/err"
printf '%s\n' '{"id": "a", "input": "x", "tools": [{"type": "function", "function": {"name": "t", "parameters": []}}]}' >s/bad/cases.jsonl
expect_rc "parameters must be a schema object" 2 "$EG_BIN" validate --config c.json --suite s/bad
expect_grep "parameters located" 'tools\[0\].function.parameters: expected a JSON Schema object' "$T/err"
printf '%s\n' '{"id": "a", "input": "x", "tools": [{"type": "function", "function": {"name": "t"}}, {"type": "function", "function": {"name": "t"}}]}' >s/bad/cases.jsonl
expect_rc "duplicate tool names are refused" 2 "$EG_BIN" validate --config c.json --suite s/bad
expect_grep "duplicate named" "duplicate tool name 't'" "$T/err"
printf '%s\n' '{"id": "a", "input": "x", "tool_results": [{"name": "t", "match": {"x": {"$regex": "("}}, "result": "r"}]}' >s/bad/cases.jsonl
expect_rc "a bad fixture regex is refused" 2 "$EG_BIN" validate --config c.json --suite s/bad
expect_grep "regex located" 'tool_results\[0\].match: bad \$regex' "$T/err"

printf '%s\n' '{"id": "a", "input": "x", "max_tokens_total": 2.5}' >s/bad/cases.jsonl
expect_rc "a fractional max_tokens_total is refused" 2 "$EG_BIN" validate --config c.json --suite s/bad
expect_grep "max_tokens_total located" 's/bad/cases.jsonl:1: max_tokens_total: expected a whole number' "$T/err"

# the token limit of the loop: cumulative usage over the steps (the mock counts words)
cat >tok.jsonl <<'EOF'
{"case": "spend", "tool_calls": [{"name": "lookup_order", "arguments": {"order_id": "A1"}}], "usage": {"prompt_tokens": 40, "completion_tokens": 10}}
{"case": "capped", "tool_calls": [{"name": "lookup_order", "arguments": {"order_id": "A1"}}], "usage": {"prompt_tokens": 40, "completion_tokens": 10}}
{"case": "cheap", "step": 1, "tool_calls": [{"name": "lookup_order", "arguments": {"order_id": "A1"}}], "usage": {"prompt_tokens": 40, "completion_tokens": 10}}
{"case": "cheap", "step": 2, "reply": "done", "usage": {"prompt_tokens": 40, "completion_tokens": 10}}
EOF
mkdir -p s/tok
printf '{"name": "tok", "version": "1", "max_tokens_total": 120, "scorers": [{"type": "max-steps"}]}\n' >s/tok/suite.json
cat >s/tok/cases.jsonl <<'EOF'
{"id": "spend", "input": "spend", "max_steps": 8, "tool_results": [{"name": "lookup_order", "result": "again"}]}
{"id": "cheap", "input": "cheap", "tool_results": [{"name": "lookup_order", "result": "A1 ok"}]}
{"id": "capped", "input": "spend", "max_tokens_total": 50, "max_steps": 8, "tool_results": [{"name": "lookup_order", "result": "again"}]}
EOF
write_config tok.json '[]' "" '"suites": ["s/tok"]'
start_mock tok.jsonl
expect_rc "the token-limited run" 0 "$EG_BIN" run --config tok.json --history "$T/tok.db" --no-step-summary --no-cache
expect_eq "the loop stops once its usage reaches the suite's max_tokens_total" \
	"error|step 3: stopped at max_tokens_total 120 (150 tokens used)|3" \
	"$(sqlite3 "$T/tok.db" "select status || '|' || error || '|' || json_array_length(target_reply, '\$.trajectory') from results where case_id = 'spend'")"
expect_eq "the case's own limit wins" "step 1: stopped at max_tokens_total 50 (50 tokens used)" \
	"$(sqlite3 "$T/tok.db" "select error from results where case_id = 'capped'")"
expect_eq "a loop within the limit answers" "pass|done" \
	"$(sqlite3 "$T/tok.db" "select status || '|' || output from results where case_id = 'cheap'")"

finish
