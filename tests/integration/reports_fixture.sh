# Sourced by t_reports.sh and t_browser.sh (after lib.sh): two runs of a suite
# whose answers are hostile HTML, JavaScript and bytes that are not UTF-8, and
# a regression gate row for the second run with the detail the comparison
# stores. Sets RUN1 and RUN2; the history is $T/h.db.

python3 - <<'EOP'
import json
hostile = {
    "xss-script": "<script>alert(1)</script> alert",
    "img": "<img src=x onerror=alert(1)> alert",
    "textarea": "</textarea><script>alert(2)</script> alert",
    "jslink": "[click](javascript:alert(1)) <a href=\"javascript:alert(1)\">x</a> alert",
    "endscript": "text </script><script>alert(3)</script> <!-- more \u2028 line alert",
    "pipes": "a | b\n| c | alert & `code` @someone",
}
rules = []
for cid, text in hostile.items():
    # the first run's answer passes, the second run's fails (the word "alert" is gone) for two of them
    second = text.replace("alert", "ALARM") if cid in ("img", "pipes") else text
    rules.append({"case": cid, "replies": [text, second]})
rules.append({"case": "boom", "fault": "500"})
rules.append({"case": "fixed", "replies": ["no", "alert fixed"]})
with open("script.jsonl", "wb") as f:
    for r in rules:
        f.write(json.dumps(r).encode() + b"\n")
    f.write(b'{"case": "badutf8", "reply": "alert lone \xed\xa0\x80 x \x80 \xff\xfe cut \xe2\x82"}\n')
ids = list(hostile) + ["boom", "fixed", "badutf8"]
with open("hostile.jsonl", "w") as f:
    for i, cid in enumerate(ids):
        f.write(json.dumps({"id": cid, "input": "say <b>%s</b> </script>" % cid, "expected": "alert",
                            "context": ["passage </script><script>alert(9)</script>"],
                            "tags": ["hostile", "kind-%d" % (i % 2)]}) + "\n")
with open("plain.jsonl", "w") as f:
    for i in range(1, 13):
        f.write(json.dumps({"id": "p%d" % i, "input": "question %d" % i, "tags": ["plain"]}) + "\n")
EOP
make_suite s/hostile hostile adversarial "$(cat hostile.jsonl)" '[{"type":"icontains","value":"alert"}]'
make_suite s/plain plain golden "$(cat plain.jsonl)"
write_config cfg.json '[{"name":"plain pass rate","suite":"plain","metric":"pass_rate","min":0.9},{"metric":"pass_rate","min":0.99}]' '"max_retries": 0' '"suites": ["s/hostile", "s/plain"]'
start_mock script.jsonl
"$EG_BIN" run --config cfg.json --history "$T/h.db" --no-cache -q --no-step-summary >"$T/run1.out" 2>&1 || true
RUN1=$(sql "select id from runs order by started_at desc limit 1")
"$EG_BIN" run --config cfg.json --history "$T/h.db" --no-cache -q --no-step-summary >"$T/run2.out" 2>&1 || true
RUN2=$(sql "select id from runs order by started_at desc limit 1")
stop_mock

# the regression gate's row, as the comparison stores it (metric "regression")
DETAIL=$(python3 - "$RUN1" <<'EOP'
import json, sys
print(json.dumps({"baseline": sys.argv[1], "baseline_ref": "latest:main", "pairs": 21,
    "new_failures": 2, "fixed": 1, "p_value": 1.0, "diff": -0.0476, "diff_lo": -0.2, "diff_hi": 0.1,
    "alpha": 0.05, "max_new_failures": 0, "only_in_candidate": 0, "only_in_baseline": 0,
    "changed": 0, "flaky_excluded": 0,
    "flips": [{"suite": "hostile", "case_id": "img", "from": "pass", "to": "fail"},
              {"suite": "hostile", "case_id": "pipes", "from": "pass", "to": "fail"},
              {"suite": "hostile", "case_id": "fixed", "from": "fail", "to": "pass"}],
    "unpaired": []}))
EOP
)
sql "insert into gates (run_id, idx, name, metric, scope, value, op, threshold, pass, lo, hi, n, detail)
     values ('$RUN2', 2, 'no new failures', 'regression', 'all', 2, '<=', 0, 0, -0.2, 0.1, 21,
             '$(printf '%s' "$DETAIL" | sed "s/'/''/g")')"
