#!/usr/bin/env bash
# Gates on scores, latency, tokens and cost through the mock gateway (scripted
# latencies and usage give known values), config errors, and `evalgate gate`
# re-applying other gates to a stored run.
. "$(dirname "$0")/lib.sh"

# c1..c10 answer after 50..140 ms with 100 prompt and 10*i completion tokens;
# c9 and c10 miss the word the scorer wants; c11 always fails
{
	for i in $(seq 1 10); do
		reply="ok, answer $i"
		[ "$i" -ge 9 ] && reply="no answer $i"
		printf '{"case": "c%d", "reply": "%s", "latency_ms": %d, "usage": {"prompt_tokens": 100, "completion_tokens": %d}}\n' \
			"$i" "$reply" $((40 + 10 * i)) $((10 * i))
	done
	printf '{"case": "c11", "fault": "500"}\n'
} >script.jsonl
start_mock script.jsonl

make_suite s/lat lat-golden golden "$(n_cases 11 c)" '[{"type": "icontains", "value": "ok", "name": "has-ok"}]'
prices='"prices": {"mock-model": {"input_per_mtok": 1.0, "output_per_mtok": 2.0}}, "suites": ["s/lat"]'
gates='[{"name": "ok score", "metric": "score.has-ok", "min": 0.75},
        {"metric": "latency_ms", "stat": "p95", "max": 4000},
        {"metric": "tokens", "stat": "p50", "max": 1000},
        {"metric": "cost_usd", "max": 0.01}]'
write_config cfg.json "$gates" '"max_retries": 0' "$prices"

expect_rc "run passes the score, latency, tokens and cost gates" 0 "$EG_BIN" run --config cfg.json --history "$T/h.db"
expect_grep "verdict PASS" '^verdict: PASS' "$T/out"
expect_grep "latency gate printed in ms" 'PASS  p95 latency_ms .* <= 4000 ' "$T/out"
expect_grep "cost gate printed in USD" 'PASS  cost_usd  *0.002100 <= 0.01 ' "$T/out"
expect_grep "score gate printed" 'PASS  ok score  *0.8000 >= 0.75 ' "$T/out"
run1=$(sql "select id from runs")

gate() { sql "select $1 from gates where run_id='$run1' and idx=$2"; }
expect_eq "four gate rows" "4" "$(sql "select count(*) from gates where run_id='$run1'")"
expect_eq "score: 8 of 10 answers have the word" "0.8|10|1" "$(gate "round(value, 6), n, pass" 0)"
expect_eq "score: no interval" "|" "$(gate "lo, hi" 0)"
expect_eq "tokens: p50 of 110..200" "155.0|10|<=|1000.0" "$(gate "value, n, op, threshold" 2)"
expect_eq "tokens: the error left out" "p50 of 10 results; 1 without usage left out" "$(gate detail 2)"
# (100 * 1.0 + 10 i * 2.0) / 1e6 summed over i = 1..10
expect_eq "cost: the sum of the priced calls" "0.0021000|10" "$(gate "printf('%.7f', value), n" 3)"
expect_eq "cost stored per result" "0.00016" "$(sql "select printf('%.5f', cost_usd) from results where case_id='c3'")"
expect_eq "no cost without usage" "error|" "$(sql "select status, cost_usd from results where case_id='c11'")"
# the latency gate's value is the p95 (type 7) of the stored latencies of the answered calls
want=$(sql "select latency_ms from results where status <> 'error' order by latency_ms" | python3 -c '
import sys
v = [float(x) for x in sys.stdin]
h = (len(v) - 1) * 0.95
lo = int(h)
print("%.6f|%d" % (v[lo] + (h - lo) * (v[min(lo + 1, len(v) - 1)] - v[lo]), len(v)))')
# same_value WANT GOT: "value|n" pairs equal, the values within rounding (C and Python round the last digit differently)
same_value() { python3 -c "import sys; a, b = sys.argv[1].split('|'), sys.argv[2].split('|'); sys.exit(not (a[1] == b[1] and abs(float(a[0]) - float(b[0])) < 5e-6))" "$1" "$2"; }
got=$(gate "printf('%.6f', value) || '|' || n" 1)
check "latency: p95 of the stored latencies ($want, got $got)" same_value "$want" "$got"
p95=$(gate "cast(value as integer)" 1)
check "latency: the scripted delays show (p95 of 50..140 ms is 135.5)" test "$p95" -ge 135 -a "$p95" -lt 1000
expect_eq "run verdict stored" "pass" "$(sql "select verdict from runs where id='$run1'")"

# a cached run: same answers, same tokens and cost; the latency stored with each answer counts
expect_rc "cached run: the latency gate reads the stored latencies" 0 "$EG_BIN" run --config cfg.json --history "$T/h.db"
expect_grep "latency gate over the cached answers" 'PASS  p95 latency_ms .* <= 4000 .*p95 of 10 calls; 1 without a measured latency' "$T/out"
run2=$(sql "select id from runs order by started_at desc limit 1")
expect_eq "cached run: the same cost" "0.0021000" "$(sql "select printf('%.7f', value) from gates where run_id='$run2' and metric='cost_usd'")"

# config errors: exit 2, nothing run
runs_before=$(sql "select count(*) from runs")
write_config noprice.json '[{"metric": "cost_usd", "max": 1}]' '' '"suites": ["s/lat"]'
expect_rc "cost gate without a price: exit 2" 2 "$EG_BIN" run --config noprice.json --history "$T/h.db"
expect_grep "names the missing price" "noprice.json:[0-9]*: prices: no price for model 'mock-model' (target.model), which gate 'cost_usd' needs" "$T/err"
write_config badstat.json '[{"metric": "latency_ms", "stat": "p97", "max": 1}]' '' "$prices"
expect_rc "unknown stat: exit 2" 2 "$EG_BIN" run --config badstat.json --history "$T/h.db"
expect_grep "names the stat" "badstat.json:[0-9]*: gates\[0\].stat: unknown stat 'p97'" "$T/err"
write_config nosuite.json '[{"metric": "score.has-ok", "suite": "other", "min": 0.5}]' '' "$prices"
expect_rc "gate on a suite not run: exit 2" 2 "$EG_BIN" run --config nosuite.json --history "$T/h.db"
expect_grep "names the gate's suite" "nosuite.json:[0-9]*: gates: gate 'mean score.has-ok \[suite other\]' names suite 'other', which is not among the run's suites" "$T/err"
expect_eq "no run stored for config errors" "$runs_before" "$(sql "select count(*) from runs")"
expect_rc "a run narrowed with --suite skips the other suites' gates; all skipped: exit 1" 1 "$EG_BIN" run --config nosuite.json --suite s/lat --history "$T/h.db"
expect_grep "the skip is shown" "SKIP  mean score.has-ok \[suite other\] *(suite other is not in this run)" "$T/out"
expect_eq "no gate row is stored for a skipped gate" "0" "$(sql "select count(*) from gates where run_id = (select id from runs order by started_at desc limit 1)")"
runs_before=$(sql "select count(*) from runs")

# evalgate gate: stricter gates on the first run flip its verdict
strict='[{"metric": "latency_ms", "stat": "p95", "max": 100},
         {"metric": "cost_usd", "max": 0.001}]'
write_config strict.json "$strict" '' "$prices"
# the shortest prefix of run1's id that no other run shares (runs in one second share 17 characters)
pre=${run1:0:17}
while [ "$(sql "select count(*) from runs where substr(id, 1, ${#pre}) = '$pre'")" != 1 ]; do pre=${run1:0:$((${#pre} + 1))}; done
check "a prefix, not the whole id" test "${#pre}" -lt "${#run1}"
expect_rc "gate with stricter gates: exit 1" 1 "$EG_BIN" gate "$pre" --config strict.json --history "$T/h.db"
expect_grep "verdict FAIL" '^verdict: FAIL (2 of 2 gates failed)' "$T/out"
expect_grep "latency printed as the rule it broke" 'FAIL  p95 latency_ms .* > 100 allowed ' "$T/out"
expect_eq "stored gate rows replaced" "2|0" "$(sql "select count(*), sum(pass) from gates where run_id='$run1'")"
expect_eq "stored verdict flipped" "fail" "$(sql "select verdict from runs where id='$run1'")"
got=$(sql "select printf('%.6f', value) || '|' || n from gates where run_id='$run1' and idx=0")
check "the same latency value as the run computed ($want, got $got)" same_value "$want" "$got"
expect_eq "other runs untouched" "4" "$(sql "select count(*) from gates where run_id='$run2'")"

expect_rc "runs gate with the first config: exit 0" 0 "$EG_BIN" runs gate "$run1" --config cfg.json --history "$T/h.db"
expect_grep "verdict PASS" '^verdict: PASS' "$T/out"
expect_eq "verdict back to pass" "pass|4" "$(sql "select verdict, (select count(*) from gates where run_id='$run1') from runs where id='$run1'")"
expect_rc "gate latest (the cached run): exit 0" 0 "$EG_BIN" gate latest --config cfg.json --history "$T/h.db"
expect_eq "latest is the cached run" "pass" "$(sql "select verdict from runs where id='$run2'")"

expect_rc "gate on an unknown run: exit 2" 2 "$EG_BIN" gate nosuch --config cfg.json --history "$T/h.db"
expect_rc "gate on a missing history: exit 2" 2 "$EG_BIN" gate latest --config cfg.json --history "$T/none.db"
check "a missing history is not created" test ! -e "$T/none.db"
# gate ID skips what run skipped; with every gate skipped nothing was gated: not a pass
expect_rc "gate on a suite the run lacks: skipped, and nothing gated: exit 1" 1 "$EG_BIN" gate "$run1" --config nosuite.json --history "$T/h.db"
expect_grep "the skip is shown" "SKIP  mean score.has-ok \[suite other\] *(suite other is not in this run)" "$T/out"
expect_grep "and why that fails" "FAIL  no gate applied: all 1 gates were skipped" "$T/out"
expect_eq "verdict fail, no gate row" "fail|0" "$(sql "select verdict, (select count(*) from gates where run_id='$run1') from runs where id='$run1'")"
expect_rc "gate without an id: exit 2" 2 "$EG_BIN" gate --config cfg.json --history "$T/h.db"
expect_rc "help gate" 0 "$EG_BIN" help gate
expect_grep "help lists --config" '--config' "$T/out"


# the latency scorer judges a cached answer by the time it took when it was obtained
cat >slow-script.jsonl <<'EOF2'
{"case": "s1", "reply": "slow answer", "latency_ms": 300}
{"case": "s2", "reply": "quick answer", "latency_ms": 0}
EOF2
start_mock slow-script.jsonl
make_suite s/slow slow golden "$(n_cases 2 s)" '[{"type": "latency", "max_ms": 200}]'
write_config slow.json '[]' '"max_retries": 0' '"suites": ["s/slow"]'
expect_rc "the first run measures the slow answer" 0 "$EG_BIN" run --config slow.json --history "$T/s.db"
expect_rc "the second run answers from the cache" 0 "$EG_BIN" run --config slow.json --history "$T/s.db"
ssql() { sqlite3 "$T/s.db" "$1"; }
expect_eq "both runs: the slow case fails the latency scorer, the quick one passes" "0|s1|fail 0|s2|pass 1|s1|fail 1|s2|pass" \
	"$(ssql "select r.cached || '|' || r.case_id || '|' || r.status from results r join runs u on u.id = r.run_id order by u.started_at, r.case_id" | xargs)"
expect_eq "the cached result keeps the latency it was obtained with" "1" \
	"$(ssql "select count(*) from results a join results b on a.case_id = b.case_id and a.cached = 0 and b.cached = 1 where a.case_id = 's1' and a.latency_ms >= 300 and b.latency_ms = a.latency_ms")"

# the scorers' own model calls count in cost_usd: a judge at its own price
cat >judge-script.jsonl <<'EOF2'
{"model": "judge-model", "reply": "{\"reason\": \"fine\", \"score\": 1, \"pass\": true}", "usage": {"prompt_tokens": 1000, "completion_tokens": 100}}
{"model": "mock-model", "reply": "an answer", "usage": {"prompt_tokens": 100, "completion_tokens": 10}}
EOF2
start_mock judge-script.jsonl
make_suite s/judged judged golden "$(n_cases 3 j)" '[{"type": "judge", "rubric": "Any answer will do."}]'
write_config judged.json '[{"metric": "cost_usd", "max": 0.03}]' '"max_retries": 0' \
	'"judge": {"model": "judge-model"}, "suites": ["s/judged"], "prices": {"mock-model": {"input_per_mtok": 1.0, "output_per_mtok": 2.0}, "judge-model": {"input_per_mtok": 10.0, "output_per_mtok": 20.0}}'
expect_rc "a run whose judge calls push the cost over the gate: exit 1" 1 "$EG_BIN" run --config judged.json --history "$T/j.db" --no-cache
jsql() { sqlite3 "$T/j.db" "$1"; }
expect_eq "each result keeps its judge tokens and their price" "1000|100|0.01200000|0.00012000" \
	"$(jsql "select distinct judge_prompt_tokens || '|' || judge_completion_tokens || '|' || printf('%.8f', judge_cost_usd) || '|' || printf('%.8f', cost_usd) from results")"
expect_eq "the cost gate adds the target's and the judge's price" "0.03636000|3|0" \
	"$(jsql "select printf('%.8f', value) || '|' || n || '|' || pass from gates where metric = 'cost_usd'")"
expect_rc "the JSON report's cost includes the judge" 0 "$EG_BIN" report latest --json "$T/j.json" --history "$T/j.db" --no-step-summary
expect_eq "report cost" "0.03636" "$(python3 -c "import json; print(round(json.load(open('$T/j.json'))['totals']['cost_usd'], 5))")"

finish
