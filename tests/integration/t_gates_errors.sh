#!/usr/bin/env bash
# Errors never hide a regression, and only complete runs are baselines. Under
# the recommended configuration (a bare {"metric": "regression"}) each of
# these blocks: 20 of 500 cases erroring in the candidate, 20 cases whose
# judge replies are garbage, cases passing once then erroring under
# --repeat 3. A partial run (--limit) and a run of verdict error are never
# taken as the "latest" baseline. Each check failed on 0.3.0.
. "$(dirname "$0")/lib.sh"

python3 - <<'EOP'
import json
V = json.dumps({"reason": "fine", "score": 1, "pass": True})
with open("cases.jsonl", "w") as f:
    for i in range(1, 501):
        f.write(json.dumps({"id": "c%d" % i, "input": "question %d" % i}) + "\n")
# the baseline: every answer echoes, every judge reply is a pass
with open("base.jsonl", "w") as f:
    f.write(json.dumps({"model": "judge-model", "reply": V}) + "\n")
# call errors on c25, c50, ..., c500 (spread out: 10 in a row would end the run)
with open("errors.jsonl", "w") as f:
    for i in range(25, 501, 25):
        f.write(json.dumps({"case": "c%d" % i, "model": "mock-model", "fault": "500"}) + "\n")
    f.write(json.dumps({"model": "judge-model", "reply": V}) + "\n")
# garbage judge replies on c1..c20
with open("garbage.jsonl", "w") as f:
    for i in range(1, 21):
        f.write(json.dumps({"case": "c%d" % i, "model": "judge-model", "reply": "Looks fine to me!"}) + "\n")
    f.write(json.dumps({"model": "judge-model", "reply": V}) + "\n")
# under --repeat 3, c1..c20 pass once, then their judge replies are garbage
with open("flip.jsonl", "w") as f:
    for i in range(1, 21):
        f.write(json.dumps({"case": "c%d" % i, "model": "judge-model",
                            "replies": [V, "no verdict", "no verdict"]}) + "\n")
    f.write(json.dumps({"model": "judge-model", "reply": V}) + "\n")
# 30% call errors: a run of verdict error
with open("broken.jsonl", "w") as f:
    for i in range(1, 151):
        f.write(json.dumps({"case": "c%d" % i, "model": "mock-model", "fault": "500"}) + "\n")
EOP
make_suite s/big big golden "$(cat cases.jsonl)" \
	'[{"type": "contains", "value": "echo"}, {"type": "judge", "rubric": "The answer echoes the question.", "threshold": 0.5}]'
write_config cfg.json '[{"name": "golden regression", "metric": "regression"}]' \
	'"max_retries": 0, "max_error_rate": 0.05, "concurrency": 32' \
	'"judge": {"model": "judge-model"}, "suites": ["s/big"]'
H=(--config cfg.json --history "$T/h.db" --no-cache)
latest_detail() { sql "select detail from gates where run_id = (select id from runs order by started_at desc limit 1) and metric = 'regression'"; }
baseline_of_latest() { latest_detail | python3 -c 'import json,sys; print(json.load(sys.stdin)["baseline"])'; }

start_mock base.jsonl
EVALGATE_GIT_REF=main expect_rc "the baseline run (no baseline yet: its own gate fails)" 1 "$EG_BIN" run "${H[@]}"
base=$(sql "select id from runs order by started_at desc limit 1")
expect_eq "all 500 pass" "500" "$(sql "select n_pass from runs where id = '$base'")"

# a partial run is stored but is never the latest baseline
expect_rc "a partial run (--limit 5)" 0 "$EG_BIN" run "${H[@]}" --limit 5
partial=$(sql "select id from runs order by started_at desc limit 1")
expect_eq "it is stored as partial, with its scope" "1|5" \
	"$(sql "select partial, json_extract(scope, '\$.limit') from runs where id = '$partial'")"
expect_rc "an unchanged full run passes" 0 "$EG_BIN" run "${H[@]}"
good=$(sql "select id from runs order by started_at desc limit 1")
expect_eq "its baseline is the full run, not the partial one" "$base" "$(baseline_of_latest)"
expect_grep "the gate line reads as rule and outcome" "PASS  golden regression *0 new failures, 0 fixed (p=1 >= 0.05, the first pass's share of alpha 0.1)" "$T/out"

# a run of verdict error is never the latest baseline
start_mock broken.jsonl
expect_rc "30% call errors: an infrastructure verdict" 3 "$EG_BIN" run "${H[@]}"
broken=$(sql "select id from runs order by started_at desc limit 1")
expect_eq "stored with verdict error" "error" "$(sql "select verdict from runs where id = '$broken'")"

# 20 of 500 call errors (4%, under max_error_rate): the regression gate blocks
start_mock errors.jsonl
expect_rc "20 of 500 cases erroring: blocked" 1 "$EG_BIN" run "${H[@]}"
expect_eq "its baseline is the last complete run, not the errored one" "$good" "$(baseline_of_latest)"
expect_grep "the errors count as new failures" "FAIL  golden regression *20 new failures, 0 fixed (p=1.9e-06 < 0.05, the first pass's share of alpha 0.1: significant drop)" "$T/out"
expect_grep "and says they were errors" "20 errors in this run counted as failures" "$T/out"

# 20 garbage judge replies: scorer errors, gated apart from the gateway, and blocked
start_mock garbage.jsonl
expect_rc "20 garbage judge replies: blocked (exit 1, not an infrastructure failure)" 1 "$EG_BIN" run "${H[@]}" --baseline "$base"
expect_grep "the regression gate blocks" "FAIL  golden regression *20 new failures" "$T/out"
expect_eq "stored as 20 errored cases" "20" "$(sql "select n_error from runs order by started_at desc limit 1")"

# --repeat 3: a case that passes once and then errors never counts as a pass
start_mock flip.jsonl
expect_rc "pass then error under --repeat 3: blocked" 1 "$EG_BIN" run "${H[@]}" --repeat 3 --baseline "$base"
expect_grep "its cases count against it" "FAIL  golden regression *20 new failures" "$T/out"
expect_eq "the 20 cases are errors, not passes" "480|20" "$(sql "select n_pass || '|' || n_error from runs order by started_at desc limit 1")"

# compare says when two runs' scopes or repeats differ
expect_rc "compare the partial run with the full baseline" 0 "$EG_BIN" compare "$base" "$partial" --history "$T/h.db"
expect_grep "warns on the scopes" "have different scopes" "$T/err"
last=$(sql "select id from runs order by started_at desc limit 1")
expect_rc "compare a --repeat 3 run with a single run" 0 "$EG_BIN" compare "$base" "$last" --history "$T/h.db"
expect_grep "warns on the repeats" "repeat differently (A: 1 x, repeat_policy all; B: 3 x, repeat_policy all)" "$T/err"

finish
