#!/usr/bin/env bash
# Online samples: sample a generated traffic log (both log formats, malformed
# lines, stratified, always rules), run the online suite without calling the
# target (the mock plays only the judge) with judge, regex, pii, refusal and
# faithfulness scorers, and a drift gate that fails after a bad night.
. "$(dirname "$0")/lib.sh"

# gen_log FILE SEED BAD_SHARE LINES: a night of traffic; BAD_SHARE of the answers are wrong
gen_log() {
	python3 - "$@" <<'EOP'
import json, random, sys
path, seed, bad, n = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
rnd = random.Random(seed)
ctx = "Refunds are issued within 30 days of purchase to the original payment method."
with open(path, "w") as f:
    for i in range(1, n + 1):
        route = rnd.choices(["billing", "shipping", "returns"], [6, 3, 1])[0]
        fb = "down" if i % 40 == 0 else "up"
        q = "How long do refunds take? (%s %d)" % (route, i)
        a = "Refunds are issued within 30 days of purchase." if rnd.random() >= bad else \
            "WRONG refunds need ninety days and a signed fax form."
        meta = {"route": route, "feedback": fb, "request_id": "req-%d-%d" % (seed, i)}
        if i % 2:
            f.write(json.dumps({"request": {"model": "prod-model", "messages": [
                {"role": "system", "content": "You are the support bot."},
                {"role": "user", "content": q}]},
                "response": {"choices": [{"index": 0, "message": {"role": "assistant", "content": a},
                                          "finish_reason": "stop"}], "usage": {"total_tokens": 40}},
                "context": [ctx], "metadata": meta}) + "\n")
        else:
            f.write(json.dumps({"input": q, "output": a, "context": [ctx], "metadata": meta}) + "\n")
        if i == 7:
            f.write('{"request": {"model": "prod-model", "messages": [{"role": "user", "content": "x"}]}, '
                    '"response": {"error": {"message": "upstream timeout"}}}\n')
        if i == 9:
            f.write("{not json\n")
EOP
}

cat >script.jsonl <<'EOF'
{"model": "judge-model", "match": "WRONG", "reply": "{\"reason\": \"contradicts the policy\", \"score\": 0.1, \"pass\": false}"}
{"model": "judge-model", "reply": "{\"reason\": \"states the 30-day policy\", \"score\": 0.9, \"pass\": true}"}
EOF
cat >tpl.json <<'EOF'
{"name": "online-nightly", "version": "0", "kind": "online",
 "scorers": [
  {"type": "judge", "rubric": "The answer must state the 30-day refund window.", "threshold": 0.5},
  {"type": "regex", "pattern": "\\bWRONG\\b", "negate": true},
  {"type": "pii"},
  {"type": "refusal", "expect": false},
  {"type": "faithfulness", "method": "lexical", "threshold": 0.5}
 ]}
EOF
write_config cfg.json '[{"suite": "online-nightly", "metric": "drift", "window": 7}, {"suite": "online-nightly", "metric": "drift", "scorer": "judge", "window": 7, "name": "judge mean drift"}]' '' '"judge": {"model": "judge-model"}'
start_mock script.jsonl

gen_log night1.jsonl 1 0.1 300

# --- sampling ---
sample() { "$EG_BIN" sample night1.jsonl --config cfg.json --template tpl.json --stratify-by metadata.route --always metadata.feedback=down "$@"; }
expect_rc "sample 40 stratified" 0 sample --out s/a --n 40 --seed 5
expect_grep "malformed lines are warned about with file:line" 'night1.jsonl:8: response: the call failed' "$T/err"
expect_grep "invalid JSON is located" 'night1.jsonl:11: invalid JSON; line skipped' "$T/err"
expect_grep "the summary counts them" '2 malformed skipped' "$T/err"
expect_eq "40 sampled + 7 always-kept lines" "47" "$(wc -l <s/a/cases.jsonl)"
expect_eq "every thumbs-down line is kept" "7" "$(grep -c '"feedback":"down"' s/a/cases.jsonl)"
expect_eq "the suite is online" "online" "$(python3 -c 'import json; print(json.load(open("s/a/suite.json"))["kind"])')"
expect_eq "name from the template" "online-nightly" "$(python3 -c 'import json; print(json.load(open("s/a/suite.json"))["name"])')"
check "no temporary directory is left" test -z "$(ls s | grep tmp || true)"
expect_rc "the written suite validates" 0 "$EG_BIN" validate --config cfg.json --suite s/a
python3 - <<'EOP' >shares.txt
import json, collections
pop = collections.Counter()
for line in open("night1.jsonl"):
    try:
        d = json.loads(line)
    except ValueError:
        continue
    if "error" in d.get("response", {}):
        continue
    if d["metadata"]["feedback"] == "down":
        continue
    pop[d["metadata"]["route"]] += 1
got = collections.Counter()
for line in open("s/a/cases.jsonl"):
    c = json.loads(line)
    if "always" not in c["tags"]:
        got[c["tags"][0].split(":", 1)[1]] += 1
total = sum(pop.values())
ok = all(abs(got[r] - 40 * pop[r] / total) < 1 for r in pop) and sum(got.values()) == 40
print("ok" if ok else "bad %s %s" % (dict(pop), dict(got)))
EOP
expect_eq "stratified shares within one case of the proportions" "ok" "$(cat shares.txt)"

expect_rc "the same seed again" 0 sample --out s/b --n 40 --seed 5
check "gives the same cases" cmp -s s/a/cases.jsonl s/b/cases.jsonl
expect_eq "and the same version" "$(grep version s/a/suite.json)" "$(grep version s/b/suite.json)"
expect_rc "another seed" 0 sample --out s/c --n 40 --seed 6
check "gives other cases" bash -c '! cmp -s s/a/cases.jsonl s/c/cases.jsonl'
expect_rc "resampling into an existing suite replaces it" 0 sample --out s/c --n 40 --seed 5
check "with the new cases" cmp -s s/a/cases.jsonl s/c/cases.jsonl
expect_rc "--strict fails on a malformed line" 2 sample --out s/d --n 40 --strict
expect_grep "naming file and line" 'night1.jsonl:8: response: the call failed' "$T/err"
check "and writes nothing" test ! -e s/d
mkdir -p notasuite && echo keep >notasuite/file
expect_rc "a directory that is not a suite is never replaced" 2 sample --out notasuite --n 5
expect_eq "its file is still there" "keep" "$(cat notasuite/file)"
expect_rc "--rate and --n together" 2 sample --out s/e --n 5 --rate 0.5
expect_rc "a bad rate" 2 sample --out s/e --rate 1.5
expect_rc "without scorers" 2 "$EG_BIN" sample night1.jsonl --out s/e --n 5
expect_grep "says where scorers come from" 'pass --template FILE' "$T/err"
expect_rc "--rate 0.2" 0 sample --out s/r --rate 0.2 --seed 1
n=$(grep -vc '"always"' s/r/cases.jsonl)
check "a Bernoulli sample of about 20% ($n of 291)" test "$n" -gt 35 -a "$n" -lt 85
expect_rc "from standard input" 0 bash -c "$EG_BIN sample - --config cfg.json --template tpl.json --out s/stdin --n 40 --seed 5 --stratify-by metadata.route --always metadata.feedback=down <night1.jsonl"
check "the same sample as from the file" cmp -s s/a/cases.jsonl s/stdin/cases.jsonl

# --- run: recorded answers are scored, the target is never called ---
expect_rc "night 1 runs (not enough history yet)" 0 "$EG_BIN" run --config cfg.json --suite s/a --history "$T/h.db"
expect_eq "no call to the target model" "0" "$(grep -c '"model":"mock-model"' "$T/mock.log" || true)"
expect_eq "one judge call per case" "47" "$(grep -c '"model":"judge-model"' "$T/mock.log")"
expect_eq "every case scored by the five scorers" "judge:47 pii:47 refusal:47 faithfulness:47 regex:47" \
	"$(for t in judge pii refusal faithfulness regex; do printf '%s:%s ' $t "$(sql "select count(*) from scores where type='$t'")"; done | sed 's/ $//')"
wrong=$(grep -c WRONG s/a/cases.jsonl)
expect_eq "wrong answers fail (judge and regex)" "$wrong" "$(sql "select count(*) from results where status='fail'")"
expect_eq "the judge fails exactly the wrong answers" "$wrong" "$(sql "select count(*) from scores where type='judge' and pass=0")"
expect_eq "recorded answers are stored as outputs" "$wrong" "$(sql "select count(*) from results where cast(output as text) like 'WRONG%'")"
expect_grep "the drift gate says why it passed" 'not enough history' <(sql "select detail from gates where metric='drift'")
expect_eq "with no threshold" "" "$(sql "select threshold from gates where metric='drift' limit 1")"

# nights 2-4: normal; night 5: a bad night
for night in 2 3 4; do
	gen_log night$night.jsonl "$night" 0.1 300
	"$EG_BIN" sample night$night.jsonl --config cfg.json --template tpl.json --out s/n$night --n 60 --seed "$night" -q
	expect_rc "night $night passes" 0 "$EG_BIN" run --config cfg.json --suite s/n$night --history "$T/h.db"
done
last=$(sql "select id from runs order by started_at desc limit 1")
expect_grep "night 4 is checked against 3 nights" '"window":\[' <(sql "select detail from gates where run_id='$last' and name like 'drift%'")
check "night 4 has a lower limit" test -n "$(sql "select threshold from gates where run_id='$last' and name like 'drift%'")"
gen_log night5.jsonl 5 0.6 300
"$EG_BIN" sample night5.jsonl --config cfg.json --template tpl.json --out s/n5 --n 60 --seed 5 -q
expect_rc "a bad night fails the drift gate" 1 "$EG_BIN" run --config cfg.json --suite s/n5 --history "$T/h.db"
expect_grep "the gate is named in the output" 'FAIL.*drift \[suite online-nightly\]' "$T/out"
bad=$(sql "select id from runs order by started_at desc limit 1")
expect_eq "both drift gates failed" "0 0" "$(sql "select group_concat(pass, ' ') from gates where run_id='$bad'")"
vals=$(sql "select printf('%.4f %.4f', value, threshold) from gates where run_id='$bad' and metric='drift' and name not like 'judge%'")
check "the pass rate ($vals) is below the stored lower limit" python3 -c "v, t = map(float, '$vals'.split()); assert v < t"
expect_grep "the detail holds the window's values" '"stat":"pass_rate","window":\[[0-9.]*,[0-9.]*,[0-9.]*,[0-9.]*\]' <(sql "select detail from gates where run_id='$bad' and name not like 'judge%'")
expect_grep "the judge mean chart too" '"stat":"mean"' <(sql "select detail from gates where run_id='$bad' and name like 'judge%'")

finish
