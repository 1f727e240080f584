#!/usr/bin/env bash
# evalgate rescore RUN (SPEC 14): a stored run's answers scored again with the
# current scorers into a new run linked to it, judge calls through the gateway,
# zero target calls (the mock's counters prove it); a changed rubric's effect
# is exactly the flips compare shows, and compare says they come from scoring.
. "$(dirname "$0")/lib.sh"

python3 - <<'EOP'
import json
V = lambda p, r: json.dumps({"reason": r, "score": 1.0 if p else 0.0, "pass": p})
rules = [{"model": "mock-model", "reply": "The window is 30 days."}]
# rubric A passes every case; rubric B fails c1 and c2
for c in ["c1", "c2"]:
    rules.append({"case": c, "model": "judge-model", "match": "RUBRIC-B", "reply": V(False, "too vague under B")})
rules.append({"model": "judge-model", "reply": V(True, "fine")})
with open("script.jsonl", "w") as f:
    for r in rules:
        f.write(json.dumps(r) + "\n")
EOP
rubric() { printf '[{"type": "judge", "rubric": "%s: the answer states the window."}]' "$1"; }
make_suite s/j judged golden "$(n_cases 6 c)" "$(rubric RUBRIC-A)"
write_config cfg.json '[{"metric": "pass_rate", "min": 0.9}]' '' '"suites": ["s/j"], "judge": {"model": "judge-model"}'
start_mock script.jsonl
reset() { curl -s -X POST "http://127.0.0.1:$MOCK_PORT/reset" >/dev/null; }
requests() { curl -s "http://127.0.0.1:$MOCK_PORT/stats" | grep -o '"requests":[0-9]*' | tr -dc 0-9; }
target_calls() { grep -c '"model":"mock-model"' "$T/mock.log" || true; }

expect_rc "the first run passes under rubric A" 0 "$EG_BIN" run --config cfg.json --history "$T/h.db"
r1=$(sql "select id from runs")
expect_eq "6 target calls and 6 judge calls" "12" "$(requests)"

# the rubric changes; the answers are scored again, the target is not called
make_suite s/j judged golden "$(n_cases 6 c)" "$(rubric RUBRIC-B)"
reset
before=$(target_calls)
expect_rc "rescore under rubric B: the gate fails" 1 "$EG_BIN" rescore "$r1" --config cfg.json --history "$T/h.db" --markdown "$T/r.md"
r2=$(sql "select id from runs where id <> '$r1'")
expect_eq "only the judge was asked: 6 requests" "6" "$(requests)"
expect_eq "zero target calls" "$before" "$(target_calls)"
expect_grep "says so" "scoring the stored answers of run $r1 again (the target is not called)" "$T/err"
expect_eq "the new run is linked to the original" "$r1" "$(sql "select rescored_from from rescores where run_id = '$r2'")"
expect_eq "the same answers" "" \
	"$(sql "select case_id || output from results where run_id = '$r1' except select case_id || output from results where run_id = '$r2'")"
expect_eq "the rubric's effect: c1 and c2 fail" "c1,c2" \
	"$(sql "select group_concat(case_id) from (select case_id from results where run_id = '$r2' and status = 'fail' order by case_id)")"
expect_eq "finished, gated" "finished|fail" "$(sql "select status, verdict from runs where id = '$r2'")"

expect_rc "compare the runs" 0 "$EG_BIN" compare "$r1" "$r2" --history "$T/h.db"
expect_grep "the flips come from scoring alone" "scoring alone: run $r2 scored the stored answers of run $r1 again" "$T/out"
expect_grep "two new failures" "c1" "$T/out"
expect_grep "c2 flipped too" "c2" "$T/out"

# rescoring again with the cache: the judge's answers come from it, no call at all
reset
expect_rc "rescore once more (judge from the cache)" 1 "$EG_BIN" rescore "$r1" --config cfg.json --history "$T/h.db"
expect_eq "no request at all" "0" "$(requests)"

expect_rc "an unknown run" 2 "$EG_BIN" rescore nosuchrun --config cfg.json --history "$T/h.db"
expect_rc "no run given" 2 "$EG_BIN" rescore --config cfg.json --history "$T/h.db"
expect_rc "--resume is not for rescore" 2 "$EG_BIN" rescore "$r1" --resume "$r1" --config cfg.json --history "$T/h.db"
expect_rc "help" 0 "$EG_BIN" rescore --help
expect_grep "usage" 'usage: evalgate rescore RUN' "$T/out"

finish
