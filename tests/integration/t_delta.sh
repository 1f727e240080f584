#!/usr/bin/env bash
# delta gates through real runs: a baseline run and candidates against the
# mock with a scripted change (two answers broken, a slower gateway). The
# score and latency deltas are measured over the pairs, with a seeded
# bootstrap interval that a re-check of the stored run reproduces.
. "$(dirname "$0")/lib.sh"

cases=$(n_cases 20 c)
make_suite s/dl dl golden "$cases"
gates='[{"metric":"delta.score.contains","max_drop":0.02},
        {"metric":"delta.latency_ms","stat":"p95","max_increase_pct":200}]'
write_config cfg.json "$gates"
run() { "$EG_BIN" run --config cfg.json --suite s/dl --history "$T/h.db" --no-cache --color never "$@"; }
last() { sql "select id from runs order by started_at desc limit 1"; }
row() { sql "select printf('%.4f|%s|%s|%d|%d', value, op, threshold, n, pass) from gates where run_id = '$1' and metric = '$2'"; }
mkdir -p suites
check "lock the suite" "$EG_BIN" validate --config cfg.json --suite s/dl --lock

# --- no baseline: the gates fail with the reason
: >script.jsonl
start_mock script.jsonl --latency-ms 100
expect_rc "first run: no baseline, exit 1" 1 run
expect_grep "the line says why" "FAIL  contains delta .*no comparison: baseline 'latest': no finished run" "$T/out"

# --- an unchanged candidate passes with a zero score delta
expect_rc "an unchanged second run passes" 0 run
base=$(last)
expect_eq "score delta 0 over 20 pairs" "0.0000|>=|-0.02|20|1" "$(row "$base" delta.score.contains)"
expect_grep "pass line: rule and outcome" "PASS  contains delta .*+0.000 (95% CI +0.000..+0.000) <= 0.02 drop allowed" "$T/out"

# --- two answers broken and a slower gateway: both gates fail
printf '{"case": "c1", "reply": "nope"}\n{"case": "c2", "reply": "nope"}\n' >script.jsonl
start_mock script.jsonl --latency-ms 1000
expect_rc "candidate: exit 1" 1 run
cand=$(last)
expect_eq "score delta -0.1 over 20 pairs" "-0.1000|>=|-0.02|20|0" "$(row "$cand" delta.score.contains)"
expect_grep "fail line: rule and outcome" "FAIL  contains delta .*-0.100 (95% CI -0.250..+0.000) > 0.02 drop allowed" "$T/out"
expect_grep "latency line" "FAIL  p95 latency_ms delta .*% (95% CI .*) > 200% increase allowed" "$T/out"
expect_eq "latency grew by more than 200%" "1|0" "$(sql "select value > 200, pass from gates where run_id = '$cand' and metric = 'delta.latency_ms'")"
expect_eq "the interval brackets the estimate" "1" \
	"$(sql "select lo <= value and value <= hi and hi < 0.0001 from gates where run_id = '$cand' and metric = 'delta.score.contains'")"
ci=$(sql "select lo || ' ' || hi from gates where run_id = '$cand' and metric = 'delta.score.contains'")

# --- a re-check of the stored run against the same baseline gives the same interval
expect_rc "gate the candidate again (its baseline is still the second run)" 1 "$EG_BIN" gate "$cand" --config cfg.json --history "$T/h.db"
expect_eq "seeded: the same interval" "$ci" \
	"$(sql "select lo || ' ' || hi from gates where run_id = '$cand' and metric = 'delta.score.contains'")"

# --- config errors are located
write_config bad.json '[{"metric":"delta.score.contains","max_increase_pct":5}]'
expect_rc "score delta with max_increase_pct: exit 2" 2 "$EG_BIN" validate --config bad.json
expect_grep "located error" "bad.json:.*gates\[0\]" "$T/err"
write_config bad.json '[{"metric":"delta.tokens","max_increase_pct":5}]'
expect_rc "unknown delta metric: exit 2" 2 "$EG_BIN" validate --config bad.json
expect_grep "names the known delta metrics" "expected delta.score.<scorer>, delta.latency_ms or delta.cost_usd" "$T/err"

finish
