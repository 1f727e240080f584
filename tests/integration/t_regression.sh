#!/usr/bin/env bash
# Baselines and the regression gate through real runs: the mock's script changes
# between a baseline run and candidate runs (--no-cache: the cache is keyed by
# the request, which does not change). A regression is caught with the right
# flips; a noisy swap passes an alpha-only gate; a changed case is paired out;
# compare's text, --markdown and --json agree.
. "$(dirname "$0")/lib.sh"

# twelve cases with distinct inputs; the default scorer wants "echo"
cases=$(n_cases 12 c)
make_suite s/reg reg golden "$cases"
gate_max='[{"metric":"regression","baseline":"latest","max_new_failures":0}]'
write_config cfg.json "$gate_max"
run() { "$EG_BIN" run --config cfg.json --suite s/reg --history "$T/h.db" "$@"; }
mock_fail() { # mock_fail CASE...: those cases answer "nope", the rest echo
	: >script.jsonl
	for c in "$@"; do printf '{"case": "%s", "reply": "nope"}\n' "$c" >>script.jsonl; done
	start_mock script.jsonl
}
detail() { sql "select detail from gates where run_id = '$1' and metric = 'regression'"; }
jq_py() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

mkdir -p suites
check "lock the suite" "$EG_BIN" validate --config cfg.json --suite s/reg --lock

# --- the first run has no baseline: the gate fails, it never passes silently
mock_fail c10 c11 c12
EVALGATE_GIT_REF=main expect_rc "first run: no baseline, regression gate fails" 1 run
base=$(sql "select id from runs order by started_at desc limit 1")
expect_grep "the gate line says why" "no comparison: baseline 'latest': no finished run of target 'it-bot'" "$T/out"
expect_eq "stored detail: baseline null and the reason" "None|no finished run" \
	"$(detail "$base" | jq_py 'str(d["baseline"]) + "|" + ("no finished run" if "no finished run" in d["error"] else d["error"])')"
expect_eq "gate value unknown, not passed" "|0" "$(sql "select coalesce(value, '') || '|' || pass from gates where run_id = '$base'")"

# --- (a) a regression: c1..c3 now fail, c10..c12 still fail
mock_fail c1 c2 c3 c10 c11 c12
EVALGATE_GIT_REF=feature expect_rc "candidate with 3 new failures: exit 1" 1 run --no-cache
cand=$(sql "select id from runs order by started_at desc limit 1")
expect_grep "gate summary: pairs, new failures, fixed, p" "12 pairs: 3 new failures, 0 fixed, McNemar p = 0.25" "$T/out"
d=$(detail "$cand")
expect_eq "detail: baseline is the first run" "$base" "$(echo "$d" | jq_py 'd["baseline"]')"
expect_eq "detail: counts" "latest 12 3 0 0.25000000000000006 0 0 0" \
	"$(echo "$d" | jq_py '" ".join(str(x) for x in [d["baseline_ref"], d["pairs"], d["new_failures"], d["fixed"], d["p_value"], d["changed"], d["only_in_baseline"], d["only_in_candidate"]])')"
expect_eq "detail: the flips" "reg/c1:pass>fail reg/c2:pass>fail reg/c3:pass>fail" \
	"$(echo "$d" | jq_py '" ".join("%s/%s:%s>%s" % (f["suite"], f["case_id"], f["from"], f["to"]) for f in d["flips"])')"
expect_eq "detail: thresholds" "0 None" "$(echo "$d" | jq_py 'str(d["max_new_failures"]) + " " + str(d["alpha"])')"
expect_eq "gate row: value 3 <= 0 over 12 pairs" "3.0|<=|0.0|12|0" \
	"$(sql "select value || '|' || op || '|' || threshold || '|' || n || '|' || pass from gates where run_id = '$cand'")"
expect_eq "gate row: paired interval" "1" "$(sql "select lo < -0.25 and hi < 0 from gates where run_id = '$cand'")"

expect_rc "compare A B" 0 "$EG_BIN" compare "$base" "$cand" --history "$T/h.db" --color never
cp "$T/out" compare.txt
expect_grep "compare: suite table" "12 pairs, 3 new failures, 0 fixed, McNemar p = 0.25" compare.txt
expect_grep "compare: pass rate with Wilson interval" "pass rate .*75.0% \[46.8, 91.1\] .*50.0% \[25.4, 74.6\] .*-25.0 pp" compare.txt
expect_eq "compare: the three new failures listed" "3" "$(grep -c 'NEW FAILURE  reg/c[123]$' compare.txt)"
expect_grep "compare: before answer" 'A pass: "echo: question 1"' compare.txt
expect_grep "compare: after answer" 'B fail: "nope"' compare.txt
expect_grep "compare: failing scorer reason" "contains" compare.txt
expect_rc "compare latest:main latest picks the same two runs" 0 "$EG_BIN" compare latest:main latest --history "$T/h.db"
expect_eq "same output through refs" "$(cat compare.txt)" "$(cat "$T/out")"

# --- (d) --json and --markdown are well formed and agree on the counts
expect_rc "compare --json" 0 "$EG_BIN" compare "$base" "$cand" --history "$T/h.db" --json
cp "$T/out" compare.json
expect_eq "json: counts" "12 3 0 0.25000000000000006 reg 3" \
	"$(jq_py '" ".join(str(x) for x in [d["all"]["pairs"], d["all"]["new_failures"], d["all"]["fixed"], d["all"]["p_value"], d["suites"][0]["name"], len(d["flips"])])' <compare.json)"
expect_eq "json: before and after answers" "echo: question 2|nope|pass|fail" \
	"$(jq_py '"|".join([d["flips"][1]["baseline"]["output"], d["flips"][1]["candidate"]["output"], d["flips"][1]["baseline"]["status"], d["flips"][1]["candidate"]["status"]])' <compare.json)"
expect_rc "compare --markdown" 0 "$EG_BIN" compare "$base" "$cand" --history "$T/h.db" --markdown
cp "$T/out" compare.md
python3 - compare.md compare.json >md_check.txt <<'EOP' || true
import json, re, sys
md = open(sys.argv[1]).read()
js = json.load(open(sys.argv[2]))
problems = []
# every table: a header, a separator of the same width, rows of the same width
tables, cur = [], []
for l in md.splitlines() + [""]:
    if l.startswith("|"):
        cur.append(l)
    elif cur:
        tables.append(cur); cur = []
cells = lambda l: len(re.findall(r"(?<!\\)\|", l)) - 1
for t in tables:
    w = cells(t[0])
    if len(t) < 2 or not re.match(r"^\|( ---:? \|)+$", t[1]): problems.append("no separator: " + t[0])
    for l in t:
        if cells(l) != w or not l.endswith("|"): problems.append("width: " + l)
if len(tables) < 3: problems.append("%d tables" % len(tables))
a = js["all"]
want = "%d pairs, %d new failures, %d fixed" % (a["pairs"], a["new_failures"], a["fixed"])
if want not in md: problems.append("counts differ: " + want)
flips = md.count("| new failure | ")
if flips != a["new_failures"]: problems.append("flip rows %d" % flips)
print("ok" if not problems else "; ".join(problems))
EOP
expect_eq "markdown: tables well formed, counts agree with json" "ok" "$(cat md_check.txt)"

# --- a baseline travels as an artifact: export both runs, import them into a
# fresh history, and compare reproduces exactly (text, --json and --markdown)
expect_rc "export the baseline" 0 "$EG_BIN" runs export "$base" base.json --history "$T/h.db"
expect_rc "export the candidate" 0 "$EG_BIN" runs export "$cand" cand.json --history "$T/h.db"
expect_rc "import the baseline into a fresh history" 0 "$EG_BIN" runs import base.json --history "$T/fresh.db"
expect_rc "import the candidate into it" 0 "$EG_BIN" runs import cand.json --history "$T/fresh.db"
for fmt in "" --json --markdown; do
	"$EG_BIN" compare "$base" "$cand" --history "$T/h.db" --color never $fmt >orig.out 2>&1
	"$EG_BIN" compare "$base" "$cand" --history "$T/fresh.db" --color never $fmt >fresh.out 2>&1
	check "compare ${fmt:-(text)} is identical after export and import" cmp -s orig.out fresh.out
done
check "the reproduced compare has the three new failures" grep -q "3 new failures" fresh.out

# --- (b) a noisy swap: 3 fixed, 3 broken; alpha alone does not fail it
write_config alpha.json '[{"metric":"regression","alpha":0.05}]'
mock_fail c4 c5 c6
expect_rc "swap of 3 and 3 passes an alpha-only gate" 0 \
	"$EG_BIN" run --config alpha.json --suite s/reg --history "$T/h.db" --no-cache --baseline "$base"
swap=$(sql "select id from runs order by started_at desc limit 1")
expect_eq "swap detail: 3 broken, 3 fixed, p 1, max_new_failures null" "3 3 1 None 0.05" \
	"$(detail "$swap" | jq_py '" ".join(str(x) for x in [d["new_failures"], d["fixed"], d["p_value"], d["max_new_failures"], d["alpha"]])')"
expect_eq "swap flips: new failures first, then fixed" "fail fail fail pass pass pass" \
	"$(detail "$swap" | jq_py '" ".join(f["to"] for f in d["flips"])')"
expect_eq "gate row threshold is NaN (null) without max_new_failures" "|1" \
	"$(sql "select coalesce(threshold, '') || '|' || pass from gates where run_id = '$swap'")"
# the same swap against max_new_failures fails
expect_rc "the same swap fails max_new_failures 0" 1 run --no-cache --baseline "$base"

# a significant drop fails alpha: 6 new failures, 0 fixed (p = 0.03125)
mock_fail c1 c2 c3 c4 c5 c6 c10 c11 c12
expect_rc "significant drop fails an alpha gate" 1 \
	"$EG_BIN" run --config alpha.json --suite s/reg --history "$T/h.db" --no-cache --baseline "$base"
expect_grep "says it is significant" "significant drop" "$T/out"

# --- (c) a changed case is paired out and listed; a new case is only in the candidate
python3 - <<'EOP'
import json
lines = open("s/reg/cases.jsonl").read().splitlines()
out = []
for l in lines:
    c = json.loads(l)
    if c["id"] == "c7":
        c["input"] = "question 7, reworded"
    out.append(json.dumps(c))
out.append(json.dumps({"id": "c13", "input": "question 13"}))
open("s/reg/cases.jsonl", "w").write("\n".join(out) + "\n")
m = json.load(open("s/reg/suite.json")); m["version"] = "1.1.0"
json.dump(m, open("s/reg/suite.json", "w"))
EOP
check "relock after the version bump" "$EG_BIN" validate --config cfg.json --suite s/reg --lock
mock_fail c10 c11 c12
# 11 of its 13 cases pair: under min_paired (default 0.9), so the gate cannot judge it
expect_rc "candidate with a changed case and a new one: too few pairs, exit 1" 1 run --no-cache --baseline "$base"
expect_grep "says how few were paired" "only 11 of this run's 13 cases of scope all could be paired" "$T/out"
chg=$(sql "select id from runs order by started_at desc limit 1")
expect_eq "changed case is paired out: 11 pairs, 1 changed, 1 only in candidate" "11 0 0 1 1 0" \
	"$(detail "$chg" | jq_py '" ".join(str(x) for x in [d["pairs"], d["new_failures"], d["fixed"], d["changed"], d["only_in_candidate"], d["only_in_baseline"]])')"
expect_eq "unpaired list" "reg/c13:only_in_candidate reg/c7:changed" \
	"$(detail "$chg" | jq_py '" ".join(sorted("%s/%s:%s" % (u["suite"], u["case_id"], u["why"]) for u in d["unpaired"]))')"
expect_rc "compare lists the unpaired cases" 0 "$EG_BIN" compare "$base" "$chg" --history "$T/h.db"
expect_grep "changed listed" "changed    reg/c7" "$T/out"
expect_grep "only in B listed" "only in B  reg/c13" "$T/out"

# --- refs: latest skips the candidate; bad refs exit 2
expect_rc "compare with an unknown run id: exit 2" 2 "$EG_BIN" compare nosuchrun latest --history "$T/h.db"
expect_grep "says which" "baseline 'nosuchrun': no such run" "$T/err"
expect_rc "an alias that is not set: exit 2" 2 "$EG_BIN" compare alias:production latest --history "$T/h.db"
expect_grep "says the alias is not set" "alias .production. of it-bot is not set in the sqlite registry" "$T/err"
expect_rc "latest:REF without a match: exit 2" 2 "$EG_BIN" compare latest:nope latest --history "$T/h.db"
expect_rc "--baseline with a malformed ref: exit 2" 2 run --baseline "latest:"
expect_rc "a bare regression gate is valid (the recommended defaults)" 0 \
	"$EG_BIN" validate --config "$(write_config bare.json '[{"metric":"regression"}]'; echo bare.json)" --suite s/reg
expect_rc "an unknown errors policy: exit 2" 2 \
	"$EG_BIN" run --config "$(write_config bad.json '[{"metric":"regression", "errors": "hide"}]'; echo bad.json)" --suite s/reg --history "$T/h.db"
expect_grep "located config error" "bad.json:[0-9]*: gates\[0\].errors: 'hide': expected count" "$T/err"

finish
