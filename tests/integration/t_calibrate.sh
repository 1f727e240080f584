#!/usr/bin/env bash
# evalgate calibrate (SPEC 14): a labeled suite whose scripted judge agrees
# with the human labels on 8 of 10 cases gives the kappa computed by hand;
# the result is stored under the judge key, and the judge_kappa gate fails
# without a calibration, passes at min 0.5 and fails at min 0.7.
. "$(dirname "$0")/lib.sh"

python3 - <<'EOP'
import json
V = lambda p, r: json.dumps({"reason": r, "score": 1.0 if p else 0.0, "pass": p})
# labels: c1..c6 pass, c7..c10 fail; the judge passes c1..c5 and c10
rules = [{"case": "c%d" % i, "model": "judge-model",
          "reply": V(i <= 5 or i == 10, "verdict on c%d" % i)} for i in range(1, 11)]
with open("script.jsonl", "w") as f:
    for r in rules:
        f.write(json.dumps(r) + "\n")
with open("cases.jsonl", "w") as f:
    for i in range(1, 11):
        f.write(json.dumps({"id": "c%d" % i, "input": "question %d" % i,
                            "output": "answer %d" % i,
                            "label": "pass" if i <= 6 else "fail"}) + "\n")
EOP
make_suite s/l labeled online "$(cat cases.jsonl)" \
	'[{"type": "judge", "rubric": "The answer states the window."}]'
write_config cfg.json '[{"metric": "judge_kappa", "min": 0.5}]' '' '"suites": ["s/l"], "judge": {"model": "judge-model"}'
write_config cfg7.json '[{"metric": "judge_kappa", "min": 0.7}]' '' '"suites": ["s/l"], "judge": {"model": "judge-model"}'
start_mock script.jsonl

expect_rc "a run before any calibration: judge_kappa fails" 1 "$EG_BIN" run --config cfg.json --history "$T/h.db"
r1=$(sql "select id from runs")
expect_grep "says the judge was never calibrated" "was never calibrated" "$T/out"

expect_rc "calibrate" 0 "$EG_BIN" calibrate --config cfg.json --history "$T/h.db"
# po = 8/10, pe = 0.6*0.6 + 0.4*0.4 = 0.52, kappa = (0.8 - 0.52) / 0.48 = 0.5833
expect_grep "kappa by hand" "kappa: 0.583 " "$T/out"
expect_grep "agreement" "agreement: 0.800" "$T/out"
expect_grep "base rates" "base rates: human pass 0.600, judge pass 0.600" "$T/out"
expect_grep "confusion matrix" "pass/pass 5, pass/fail 1, fail/pass 1, fail/fail 3" "$T/out"
expect_grep "disagreement c6" "labeled/c6: label pass, judge fail (0.00): .*verdict on c6" "$T/out"
expect_grep "disagreement c10" "labeled/c10: label fail, judge pass (1.00): .*verdict on c10" "$T/out"
expect_eq "stored under the judge key" "0.583|10|1" \
	"$(sql "select printf('%.3f', kappa), n, length(judge_key) = 64 from calibrations")"
key=$(sql "select judge_key from calibrations")
expect_eq "the key is the one the judge results carry" "$key" \
	"$(sql "select distinct json_extract(detail, '$.judge_key') from scores where run_id = '$r1' and type = 'judge'")"

expect_rc "calibrate --json" 0 "$EG_BIN" calibrate --config cfg.json --history "$T/h.db" --json
expect_eq "json: kappa and counts" "0.583|10|5|1" \
	"$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1]))["judges"][0]; print("%.3f|%d|%d|%d" % (j["kappa"], j["n"], j["confusion"]["pass_pass"], len(j["disagreements"]) - 1))' "$T/out")"

expect_rc "the gate at min 0.5 passes once calibrated" 0 "$EG_BIN" gate "$r1" --config cfg.json --history "$T/h.db"
expect_rc "the gate at min 0.7 fails" 1 "$EG_BIN" gate "$r1" --config cfg7.json --history "$T/h.db"
expect_grep "with the kappa" "kappa 0.583" "$T/out"

# a changed rubric is another judge key: never calibrated
make_suite s/l labeled online "$(cat cases.jsonl)" \
	'[{"type": "judge", "rubric": "The answer states the window in days."}]'
expect_rc "a new rubric's run: judge_kappa fails" 1 "$EG_BIN" run --config cfg.json --history "$T/h.db"
expect_grep "never calibrated" "was never calibrated" "$T/out"

expect_rc "no labeled case" 2 "$EG_BIN" calibrate --config cfg.json --history "$T/h.db" --suite /nonexistent
expect_rc "help" 0 "$EG_BIN" calibrate --help
finish
