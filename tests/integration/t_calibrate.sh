#!/usr/bin/env bash
# evalgate calibrate (SPEC 14): a labeled suite whose scripted judge agrees
# with the human labels on 8 of 10 cases gives the kappa computed by hand;
# the result is stored under the judge key, and the judge_kappa gate fails
# without a calibration, passes at min 0.5 and fails at min 0.7.
# require_calibration: a judge-based gate warns about an uncalibrated judge,
# fails with the reason when required, passes once the judge is calibrated
# with good agreement and fails after a calibration with bad agreement.
# calibrate --samples 3 against a judge that answers some cases
# inconsistently gives the self-consistency computed by hand.
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
write_config warn.json '[{"metric": "pass_rate", "min": 0.5}]' '' '"suites": ["s/l"], "judge": {"model": "judge-model"}'
write_config req.json '[{"metric": "pass_rate", "min": 0.5, "require_calibration": true, "min_kappa": 0.5}]' '' \
	'"suites": ["s/l"], "judge": {"model": "judge-model"}'
write_config reqcfg.json '[{"metric": "pass_rate", "min": 0.5}, {"metric": "error_rate", "max": 0}]' '' \
	'"suites": ["s/l"], "judge": {"model": "judge-model", "require_calibration": true, "min_kappa": 0.5}'
write_config badreq.json '[{"metric": "latency_ms", "max": 100, "require_calibration": true}]' '' \
	'"suites": ["s/l"], "judge": {"model": "judge-model"}'
start_mock script.jsonl

expect_rc "require_calibration on a gate that is not judge-based: a config error" 2 \
	"$EG_BIN" run --config badreq.json --history "$T/h.db"
expect_grep "the error names the field" "badreq.json:.*gates\[0\].*require_calibration and min_kappa belong to judge-based gates" "$T/err"
expect_rc "uncalibrated judge, not required: the gate passes" 0 "$EG_BIN" run --config warn.json --history "$T/h.db"
expect_grep "with a warning" "PASS  pass_rate .*calibration warning: scorer judge (key [0-9a-f]\{12\}) was never calibrated" "$T/out"
expect_rc "uncalibrated judge, require_calibration: the gate fails" 1 env GITHUB_STEP_SUMMARY="$T/summary.md" \
	"$EG_BIN" run --config req.json --history "$T/h.db" --html "$T/uncal.html"
expect_grep "with the reason" "FAIL  pass_rate .*require_calibration: scorer judge (key [0-9a-f]\{12\}) was never calibrated" "$T/out"
rq=$(sql "select id from runs order by started_at desc, rowid desc limit 1")
expect_grep "step summary: the judge's calibration section" "^### Judge calibration" "$T/summary.md"
expect_grep "step summary: never calibrated" "judge | \`[0-9a-f]\{12\}\` | never calibrated (evalgate calibrate) |" "$T/summary.md"
expect_grep "step summary: the gate's reason (escaped)" 'gate pass\\_rate: require\\_calibration: scorer judge (key [0-9a-f]\{12\}) was never calibrated' "$T/summary.md"
expect_grep "HTML: the section" '<section id="calibration"><h2>Judge calibration</h2>' "$T/uncal.html"
expect_grep "HTML: never calibrated" '<tr data-calibrated="0"><td>judge</td>.*never calibrated (evalgate calibrate)' "$T/uncal.html"
expect_grep "HTML: the gate's reason" '<p class="bad">gate pass_rate: require_calibration: scorer judge (key' "$T/uncal.html"
check "HTML: the section's tags balance" python3 - "$T/uncal.html" <<'EOP'
import re, sys
from html.parser import HTMLParser
html = open(sys.argv[1], encoding="utf-8").read()
sec = re.search(r'<section id="calibration">.*?</section>', html, re.S).group(0)
class P(HTMLParser):
    stack, bad = [], False
    def handle_starttag(self, tag, attrs): self.stack.append(tag)
    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.bad = True
p = P()
p.feed(sec)
sys.exit(1 if p.bad or p.stack else 0)
EOP
expect_eq "stored: the gate failed with the reason" "0|1" \
	"$(sql "select pass, detail like '%require_calibration: scorer judge (key %' from gates where run_id = '$rq'")"
expect_rc "config-wide judge.require_calibration fails the judge-based gate" 1 "$EG_BIN" gate "$rq" --config reqcfg.json --history "$T/h.db"
expect_grep "only the judge-based gate" "FAIL  pass_rate .*require_calibration" "$T/out"
expect_grep "the error_rate gate is not judge-based" "PASS  error_rate  " "$T/out"

expect_rc "a run before any calibration: judge_kappa fails" 1 "$EG_BIN" run --config cfg.json --history "$T/h.db"
r1=$(sql "select id from runs order by started_at desc, rowid desc limit 1")
expect_grep "says the judge was never calibrated" "was never calibrated" "$T/out"

expect_rc "calibrate" 0 "$EG_BIN" calibrate --config cfg.json --history "$T/h.db"
# po = 8/10, pe = 0.6*0.6 + 0.4*0.4 = 0.52, kappa = (0.8 - 0.52) / 0.48 = 0.5833
expect_grep "kappa by hand" "kappa: 0.583 " "$T/out"
expect_grep "the judge named by its scorer and key" "^scorer judge (key [0-9a-f]\{12\})$" "$T/out"
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
expect_rc "require_calibration with min_kappa 0.5 passes once calibrated (kappa 0.583)" 0 \
	"$EG_BIN" gate "$rq" --config req.json --history "$T/h.db"
expect_rc "config-wide as well" 0 "$EG_BIN" gate "$rq" --config reqcfg.json --history "$T/h.db"
expect_rc "the default min_kappa is 0.6: 0.583 is under it, a warning only" 0 \
	"$EG_BIN" gate "$rq" --config warn.json --history "$T/h.db"
expect_grep "warning with the kappa" "calibration warning: scorer judge (key [0-9a-f]\{12\}): kappa 0.583 under 0.6 (n 10, " "$T/out"
expect_rc "the gate at min 0.7 fails" 1 "$EG_BIN" gate "$r1" --config cfg7.json --history "$T/h.db"
expect_grep "with the kappa" "scorer judge: kappa 0.583 (95% " "$T/out"

# bad agreement: the same judge key calibrated from another history (its own
# cache) against a judge that contradicts every label
python3 - <<'EOP'
import json
V = lambda p, r: json.dumps({"reason": r, "score": 1.0 if p else 0.0, "pass": p})
with open("script_bad.jsonl", "w") as f:
    for i in range(1, 11):
        f.write(json.dumps({"case": "c%d" % i, "model": "judge-model",
                            "reply": V(i > 6, "contrary verdict on c%d" % i)}) + "\n")
EOP
start_mock script_bad.jsonl
mkdir -p bad
expect_rc "calibrate against a contrary judge" 0 "$EG_BIN" calibrate --config cfg.json --history "$T/bad/h.db"
# po = 0, pe = 0.6*0.4 + 0.4*0.6 = 0.48, kappa = -0.48 / 0.52 = -0.923
expect_grep "kappa of the contrary judge" "kappa: -0.923 " "$T/out"
rb=$(sqlite3 "$T/bad/h.db" "select id from runs order by started_at desc, rowid desc limit 1")
expect_eq "the same judge key" "$key" "$(sqlite3 "$T/bad/h.db" "select judge_key from calibrations")"
expect_rc "require_calibration fails after bad agreement" 1 "$EG_BIN" gate "$rb" --config req.json --history "$T/bad/h.db"
expect_grep "with the kappa under the minimum" "FAIL  pass_rate .*require_calibration: scorer judge (key [0-9a-f]\{12\}): kappa -0.923 under 0.5" "$T/out"
start_mock script.jsonl

# self-consistency: --samples 3 against a judge that is unanimous on 7
# cases and splits 2-1 on c5, c6 (2 pass) and c10 (2 fail); majority
# verdicts agree with every label
python3 - <<'EOP'
import json
V = lambda p: json.dumps({"reason": "sampled", "score": 1.0 if p else 0.0, "pass": p})
split = {5: [1, 1, 0], 6: [1, 0, 1], 10: [0, 1, 0]}
with open("script_samples.jsonl", "w") as f:
    for i in range(1, 11):
        votes = split.get(i, [i <= 6] * 3)
        f.write(json.dumps({"case": "c%d" % i, "model": "judge-model",
                            "replies": [V(bool(v)) for v in votes]}) + "\n")
EOP
rm -f "$T/mock.log"
start_mock script_samples.jsonl
mkdir -p sampled
expect_rc "calibrate --samples 3" 0 "$EG_BIN" calibrate --config cfg.json --history "$T/sampled/h.db" --samples 3
expect_grep "the majority verdicts agree with the labels" "kappa: 1.000 " "$T/out"
# all agree 7/10; pairwise (7 + 3 x 1/3) / 10 = 0.8; 17 of 30 votes pass:
# Pe = (17/30)^2 + (13/30)^2, Fleiss' kappa (0.8 - Pe) / (1 - Pe) = 0.593
expect_grep "self-consistency by hand" "self-consistency (3 samples, 10 cases): all agree 0.700, pairwise agreement 0.800, Fleiss' kappa 0.593" "$T/out"
expect_eq "judge asked 3 times per case" "30" "$(grep -c '"model":"judge-model"' "$T/mock.log")"
expect_eq "stored with the calibration" "3|0.700|0.800|0.593|1.000" \
	"$(sqlite3 "$T/sampled/h.db" "select samples, printf('%.3f', self_all_agree), printf('%.3f', self_pairwise), printf('%.3f', self_fleiss), printf('%.3f', agreement) from calibrations")"
rs=$(sqlite3 "$T/sampled/h.db" "select id from runs order by started_at desc, rowid desc limit 1")
expect_rc "report of the calibrated run" 0 "$EG_BIN" report "$rs" --config cfg.json --history "$T/sampled/h.db" \
	--markdown "$T/cal.md" --html "$T/cal.html" --no-step-summary
expect_grep "Markdown: the calibration with its self-consistency" \
	"| judge | \`[0-9a-f]\{12\}\` | kappa 1.000 (95% interval 1.000 to 1.000), n 10, agreement 1.000, self-consistency over 3 samples: all agree 0.700, pairwise 0.800, Fleiss' kappa 0.593; 20" "$T/cal.md"
expect_grep "HTML: the calibration, escaped" \
	"<tr data-calibrated=\"1\"><td>judge</td><td><code>[0-9a-f]\{12\}</code></td><td class=\"ok\">kappa 1.000 .*Fleiss&#39; kappa 0.593" "$T/cal.html"
expect_eq "the same judge key (samples are not part of it)" "$key" "$(sqlite3 "$T/sampled/h.db" "select judge_key from calibrations")"
expect_rc "calibrate --samples 3 --json" 0 "$EG_BIN" calibrate --config cfg.json --history "$T/sampled/h.db" --samples 3 --json
expect_eq "json: samples and self-consistency" "3|10|0.700|0.593" \
	"$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1]))["judges"][0]; s=j["self_consistency"]; print("%d|%d|%.3f|%.3f" % (j["samples"], s["cases"], s["all_agree"], s["fleiss_kappa"]))' "$T/out")"
expect_eq "json: no self-consistency with one sample" "1|None" \
	"$("$EG_BIN" calibrate --config cfg.json --history "$T/h.db" --json | python3 -c 'import json,sys; j=json.load(sys.stdin)["judges"][0]; print("%d|%s" % (j["samples"], j["self_consistency"]))')"
start_mock script.jsonl

# a changed rubric is another judge key: never calibrated
make_suite s/l labeled online "$(cat cases.jsonl)" \
	'[{"type": "judge", "rubric": "The answer states the window in days."}]'
expect_rc "a new rubric's run: judge_kappa fails" 1 "$EG_BIN" run --config cfg.json --history "$T/h.db"
expect_grep "never calibrated" "was never calibrated" "$T/out"

# five uncalibrated judge keys (a rubric a case): the gate's note names three and counts the rest
python3 - <<'EOP'
import json
V = json.dumps({"reason": "fine", "score": 1.0, "pass": True})
with open("many.jsonl", "w") as f:
    for i in range(1, 6):
        f.write(json.dumps({"case": "m%d" % i, "model": "judge-model", "reply": V}) + "\n")
with open("many-cases.jsonl", "w") as f:
    for i in range(1, 6):
        f.write(json.dumps({"id": "m%d" % i, "input": "q %d" % i, "output": "a %d" % i,
                            "scorers": [{"type": "judge", "rubric": "Rubric number %d." % i}]}) + "\n")
EOP
stop_mock
start_mock many.jsonl
make_suite s/m many online "$(cat many-cases.jsonl)" '[]'
write_config many.json '[{"metric": "pass_rate", "min": 0.5}]' '' '"suites": ["s/m"], "judge": {"model": "judge-model"}'
expect_rc "five uncalibrated judge keys: the gate passes with a warning" 0 \
	"$EG_BIN" run --config many.json --history "$T/many.db"
expect_grep "... naming three keys and counting the other two" \
	"(5/5; calibration warning: scorer judge (key [0-9a-f]\{12\}) was never calibrated (evalgate calibrate); scorer judge (key [0-9a-f]\{12\}) was never calibrated (evalgate calibrate); scorer judge (key [0-9a-f]\{12\}) was never calibrated (evalgate calibrate); and 2 more judge keys (the report's judge calibration section lists every one), 95% CI" "$T/out"

expect_rc "no labeled case" 2 "$EG_BIN" calibrate --config cfg.json --history "$T/h.db" --suite /nonexistent
expect_rc "help" 0 "$EG_BIN" calibrate --help
finish
