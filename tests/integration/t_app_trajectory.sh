#!/usr/bin/env bash
# Trajectories an application returns itself (SPEC 12): the http target's response map
# ("trajectory") over the example RAG app's /agent endpoint, and an exec worker's reply
# member "trajectory"; the tool scorers score them like the agent loop's, they are stored,
# cached (a re-run makes no call) and reported; a malformed one is a located per-case error.
. "$(dirname "$0")/lib.sh"

APP_PID=""
stop_app() {
	if [ -n "$APP_PID" ]; then kill "$APP_PID" 2>/dev/null || true; wait "$APP_PID" 2>/dev/null || true; APP_PID=""; fi
}
trap 'stop_app; cleanup' EXIT

cat >script.jsonl <<'EOF'
{"case": "gift", "model": "rag-model", "reply": "Acme gift cards never expire."}
EOF
start_mock script.jsonl
RAG_GATEWAY_URL=$MOCK_URL python3 "$EG_SRC/tests/app/rag_app.py" --port 0 --port-file "$T/app.port" >"$T/app.out" 2>&1 &
APP_PID=$!
for _ in $(seq 1 100); do [ -s "$T/app.port" ] && break; sleep 0.05; done
[ -s "$T/app.port" ] || { echo "the example app did not start"; cat "$T/app.out"; exit 1; }
export APP_URL="http://127.0.0.1:$(cat "$T/app.port")"
export PY=python3 WORKER=$EG_SRC/tests/app/exec_worker.py

mkdir -p s/rag s/ex
cat >s/rag/suite.json <<'EOF'
{"name": "rag", "version": "1", "kind": "golden",
 "tools": [{"type": "function", "function": {"name": "search_policy", "parameters": {"type": "object", "properties": {"query": {"type": "string"}, "top_k": {"type": "integer"}}, "required": ["query"]}}}]}
EOF
cat >s/rag/cases.jsonl <<'EOF'
{"id": "gift", "input": "Do gift cards expire?", "scorers": [{"type": "tool-called", "tool": "search_policy", "max": 1}, {"type": "tool-args", "tool": "search_policy", "expect": {"top_k": {"$lte": 2}}}, {"type": "tool-sequence", "sequence": ["search_policy"], "mode": "exact"}, {"type": "max-steps", "max": 2}, {"type": "contains", "value": "never expire"}]}
EOF
cat >s/ex/suite.json <<'EOF'
{"name": "ex", "version": "1", "kind": "golden"}
EOF
cat >s/ex/cases.jsonl <<'EOF'
{"id": "ship", "input": "agent: A17", "scorers": [{"type": "tool-args", "tool": "lookup_order", "expect": {"order_id": "A17"}}, {"type": "tool-called", "tool": "refund_order", "never": true}, {"type": "contains", "value": "shipped"}]}
{"id": "wrong", "input": "agent: B9", "scorers": [{"type": "tool-args", "tool": "lookup_order", "expect": {"order_id": "A17"}}]}
EOF
python3 - <<'EOP'
import json, os
gw = {"base_url": "${EVALGATE_BASE_URL}", "api_key_env": "EVALGATE_API_KEY", "timeout_s": 5,
      "max_retries": 1, "concurrency": 4, "max_error_rate": 1}
def http(name, response):
    t = {"type": "http", "name": "rag-agent", "version": "v1", "model": "rag-model",
         "request": {"method": "POST", "url": "${APP_URL}/agent",
                     "body": {"question": "{{input}}", "top_k": 2}},
         "response": response}
    json.dump({"gateway": gw, "target": t, "suites": ["s/rag"]}, open(name, "w"), indent=2)
http("http.json", {"output": "/answer", "trajectory": "/trajectory"})
http("k1.json", {"output": "/answer", "trajectory": "/trajectory"})
c = json.load(open("k1.json")); c["target"]["request"]["body"]["top_k"] = 1; json.dump(c, open("k1.json", "w"))
http("bad.json", {"output": "/answer", "trajectory": "/usage"})
t = {"type": "exec", "name": "worker-agent", "version": "v1",
     "command": [os.environ["PY"], os.environ["WORKER"]], "workers": 1, "timeout_s": 20}
json.dump({"gateway": gw, "target": t, "suites": ["s/ex"]}, open("exec.json", "w"), indent=2)
gates = [{"metric": "pass_rate", "tool": "lookup_order", "min": 0.9},
         {"name": "lookups", "metric": "tool_error_rate", "tag": "tool:lookup_order", "max": 0}]
json.dump({"gateway": gw, "target": t, "suites": ["s/ex"], "gates": gates}, open("gated.json", "w"), indent=2)
json.dump({"gateway": gw, "target": t, "suites": ["s/ex"],
           "gates": [{"metric": "pass_rate", "tool": "x", "tag": "y", "min": 1}]}, open("badgate.json", "w"), indent=2)
EOP
stats() { curl -s "http://127.0.0.1:$MOCK_PORT/stats" | grep -o '"requests":[0-9]*' | tr -dc 0-9; }

# --- http: the app's own steps through the response map
expect_rc "validate: trajectory is a response field" 0 "$EG_BIN" validate --config http.json
expect_rc "the http agent run" 0 "$EG_BIN" run --config http.json --history "$T/h.db" --no-step-summary \
	--junit "$T/j.xml" --json "$T/r.json"
expect_eq "the case passes every tool scorer" "pass" "$(sql "select status from results where case_id = 'gift'")"
expect_eq "the tool scorers scored the app's call" "max-steps:1,tool-args:1,tool-called:1,tool-sequence:1" \
	"$(sql "select group_concat(scorer || ':' || pass) from (select scorer, pass from scores where case_id = 'gift' and type != 'contains' order by scorer)")"
expect_eq "the stored trajectory: the call, its arguments and the app's result" 'search_policy|{"query":"Do gift cards expire?","top_k":2}|2' \
	"$(sql "select json_extract(target_reply, '\$.trajectory[0].tool_calls[0].name') || '|' || json_extract(target_reply, '\$.trajectory[0].tool_calls[0].arguments') || '|' || json_array_length(target_reply, '\$.trajectory') from results where case_id = 'gift'")"
expect_eq "the result is kept as text" "1" \
	"$(sql "select json_extract(target_reply, '\$.trajectory[0].tool_calls[0].result') like '[\"%' from results where case_id = 'gift'")"
expect_grep "JUnit shows the app's steps" "call search_policy(" "$T/j.xml"
expect_grep "the JSON report carries them" '"trajectory"' "$T/r.json"
CALLS=$(stats)
expect_rc "the cached re-run" 0 "$EG_BIN" run --config http.json --history "$T/h.db" --no-step-summary
expect_eq "the re-run made no model call" "$CALLS" "$(stats)"
expect_eq "the same trajectory from the cache" "1" \
	"$(sql "select count(distinct target_reply) = 1 and count(*) = 2 from results where case_id = 'gift'")"
expect_eq "the re-run's tool scorers pass again" "0" "$(sql "select count(*) from scores where case_id = 'gift' and pass = 0")"
expect_rc "a trajectory that is not one: per-case error" 0 "$EG_BIN" run --config bad.json --history "$T/bad.db" --no-step-summary --no-cache
expect_eq "the error names the field and what is wrong" "error|invalid reply: response.trajectory (/usage): the value is an object, expected an array of steps" \
	"$(sqlite3 "$T/bad.db" "select status || '|' || error from results")"

# --- compare lists a trajectory flip even when pass/fail did not change
RUN_A=$(sql "select id from runs order by started_at limit 1")
expect_rc "a run with other tool arguments" 0 "$EG_BIN" run --config k1.json --history "$T/h.db" --no-step-summary
RUN_B=$(sql "select id from runs where id not in (select id from runs order by started_at limit 2)")
expect_eq "still passing" "pass" "$(sql "select status from results where run_id = '$RUN_B'")"
expect_rc "compare" 0 "$EG_BIN" compare "$RUN_A" "$RUN_B" --history "$T/h.db"
expect_grep "the text names the trajectory flip" "trajectory flips (1 cases whose tool calls changed)" "$T/out"
expect_grep "with A's calls" 'A: search_policy({"query":"Do gift cards expire?","top_k":2})' "$T/out"
expect_grep "and B's calls" 'B: search_policy({"query":"Do gift cards expire?","top_k":1})' "$T/out"
expect_rc "compare --markdown" 0 "$EG_BIN" compare "$RUN_A" "$RUN_B" --history "$T/h.db" --markdown
expect_grep "Markdown: a table row" "| rag/gift | search" "$T/out"
expect_grep "Markdown: the section" "### Trajectory flips" "$T/out"
expect_rc "compare --json" 0 "$EG_BIN" compare "$RUN_A" "$RUN_B" --history "$T/h.db" --json
expect_eq "JSON: trajectory_flips" "gift|0" \
	"$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); f=d["trajectory_flips"]; print(f[0]["case_id"] + "|" + str(len(d["flips"])))' "$T/out")"
expect_rc "compare of a run with itself" 0 "$EG_BIN" compare "$RUN_A" "$RUN_A" --history "$T/h.db"
check "no trajectory flip without a change" bash -c "! grep -q 'trajectory flips' '$T/out'"

# --- exec: the worker's reply member
expect_rc "the exec agent run" 0 "$EG_BIN" run --config exec.json --history "$T/e.db" --no-step-summary
expect_eq "statuses" "ship:pass,wrong:fail" \
	"$(sqlite3 "$T/e.db" "select group_concat(case_id || ':' || status) from (select case_id, status from results order by case_id)")"
expect_eq "the worker's tool result is kept" "SHIPPED" \
	"$(sqlite3 "$T/e.db" "select json_extract(target_reply, '\$.trajectory[0].tool_calls[0].result') from results where case_id = 'ship'")"
expect_eq "tool-args names the step of the worker's call" 'step 1: lookup_order called with order_id="B9", expected "A17"' \
	"$(sqlite3 "$T/e.db" "select reason from scores where case_id = 'wrong'")"

# --- gates scoped by tool: the results of cases whose trajectory called it carry tool:NAME
expect_eq "the results carry their tool tags" "tool:lookup_order|tool:lookup_order" \
	"$(sqlite3 "$T/e.db" "select group_concat(tags, '|') from (select tags from results order by case_id)")"
expect_rc "a pass_rate gate over the lookup_order cases fails" 1 "$EG_BIN" run --config gated.json --history "$T/e.db" --no-step-summary
expect_eq "the gates' scope and values" "pass_rate [tag tool:lookup_order]|tag:tool:lookup_order|0.5|0;lookups|tag:tool:lookup_order|0.0|1" \
	"$(sqlite3 "$T/e.db" "select group_concat(name || '|' || scope || '|' || printf('%.1f', value) || '|' || pass, ';') from (select * from gates order by idx)")"
expect_rc "tool and tag together: a located error" 2 "$EG_BIN" validate --config badgate.json
expect_grep "named" "badgate.json:.*gates\[0\].tool: give either tool or tag" "$T/err"
finish
