#!/usr/bin/env bash
# Spend cap (SPEC 14): run --max-cost-usd / --max-tokens / config "budget" stop
# taking cases at the cap, finish what is in flight, mark the run
# budget_exhausted and exit 4; its stored cost is at most the cap plus one
# in-flight window of calls; cases are taken in a seeded order; --resume
# continues it with a new cap; run --dry-run estimates the cost from the history.
. "$(dirname "$0")/lib.sh"

# every call: 100 + 100 tokens, at 10 USD per million tokens each way: 0.002 USD
cat >script.jsonl <<'EOF2'
{"reply": "echo {{input}}", "usage": {"prompt_tokens": 100, "completion_tokens": 100}, "latency_ms": 20}
EOF2
make_suite s/big big golden "$(n_cases 60 c)"
prices='"prices": {"mock-model": {"input_per_mtok": 10, "output_per_mtok": 10}}'
gates='[{"metric": "pass_rate", "min": 0.9}]'
write_config c.json "$gates" '"concurrency": 2' "\"suites\": [\"s/big\"], $prices"
write_config tok.json "$gates" '"concurrency": 2' "\"suites\": [\"s/big\"], $prices, \"budget\": {\"max_tokens\": 1000}"
start_mock script.jsonl
stats() { curl -s "http://127.0.0.1:$MOCK_PORT/stats" | grep -o '"requests":[0-9]*' | tr -dc 0-9; }
reset() { curl -s -X POST "http://127.0.0.1:$MOCK_PORT/reset" >/dev/null; }
# one in-flight window: the jobs a run holds at once, 2 x concurrency + 16
window=20

# the estimate on an empty history says it has nothing to go on
expect_rc "dry run without history" 0 "$EG_BIN" run --config c.json --history "$T/h.db" --dry-run --max-cost-usd 0.02
expect_grep "no estimate without history" 'cost estimate: none (no case of the 60 has tokens in the history)' "$T/out"
expect_grep "the plan names the cap and the seed" 'spend cap: 0.02 USD, no 0 tokens (cases in seeded order, seed 1)' "$T/out"
check "the dry run created no history" test ! -e "$T/h.db"

expect_rc "a capped run exits 4" 4 "$EG_BIN" run --config c.json --history "$T/h.db" --max-cost-usd 0.02 \
	--markdown "$T/r.md" --html "$T/r.html" --json "$T/r.json"
expect_grep "markdown says the run is a sample" 'stopped at its spend cap: its cases were taken in a seeded random order, so they are an unbiased sample' "$T/r.md"
expect_grep "markdown: run budget_exhausted" '; run budget_exhausted' "$T/r.md"
expect_grep "html says so too" 'stopped at its spend cap: its cases were taken in a seeded random order' "$T/r.html"
expect_grep "json: status budget_exhausted" '"status": *"budget_exhausted"' "$T/r.json"
id=$(sql "select id from runs")
expect_eq "status budget_exhausted, verdict error" "budget_exhausted|error" "$(sql "select status, verdict from runs")"
n=$(sql "select count(*) from results")
check "at least the cap's 10 calls were stored ($n)" test "$n" -ge 10
check "the run stopped within one in-flight window of the cap ($n <= 10 + $window)" test "$n" -le $((10 + window))
check "and did not run every case" test "$n" -lt 60
expect_eq "stored cost <= cap + the in-flight calls' cost" "1" \
	"$(sql "select total(cost_usd) <= 0.02 + $window * 0.002 + 1e-9 from results")"
expect_eq "each call stored once: requests = results" "$n" "$(stats)"
expect_grep "the verdict line says why and how to go on" "verdict: BUDGET EXHAUSTED ($n of 60 cases stored in run $id, spent \\\$0\\.[0-9]* and [0-9]* tokens; the cases were taken in a seeded random order, so those stored are an unbiased sample" "$T/out"
check "the cases are not the first ones of the file (seeded order)" \
	test "$(sql "select max(ordinal) from results")" -gt "$n"
expect_rc "runs --status budget_exhausted lists it" 0 "$EG_BIN" runs list --history "$T/h.db" --status budget_exhausted
expect_grep "listed" "$id" "$T/out"
expect_rc "gate on the stored run: not complete evidence (exit 4)" 4 "$EG_BIN" gate "$id" --config c.json --history "$T/h.db"

# the same seed takes the cases in the same order: of two capped runs, the
# cases of the one that stored fewer are all cases of the other
ids() { sqlite3 "$1" "select case_id from results order by case_id"; }
common() { comm -12 <(ids "$1") <(ids "$2") | wc -l; }
fewer() { local a b; a=$(ids "$1" | wc -l); b=$(ids "$2" | wc -l); echo $((a < b ? a : b)); }
reset
expect_rc "a second capped run (no cache)" 4 "$EG_BIN" run --config c.json --history "$T/h2.db" --max-cost-usd 0.02 --no-cache
expect_eq "same seed: one run's cases are a prefix of the other's order" \
	"$(fewer "$T/h.db" "$T/h2.db")" "$(common "$T/h.db" "$T/h2.db")"
reset
expect_rc "another seed" 4 "$EG_BIN" run --config c.json --history "$T/h3.db" --max-cost-usd 0.02 --no-cache --seed 7
check "another seed takes other cases" test "$(common "$T/h.db" "$T/h3.db")" -lt "$(fewer "$T/h.db" "$T/h3.db")"

# the estimate from the history: every known case costs 200 tokens
expect_rc "dry run with part of the cases in the history" 0 "$EG_BIN" run --config c.json --history "$T/h.db" --dry-run
expect_grep "estimate: every case 200 tokens, no spread" 'cost estimate: 12000 tokens (95% interval 12000 to 12000), \$0.1200 (95% interval \$0.1200 to \$0.1200)' "$T/out"
expect_grep "how many cases have no history" "from the history of $n of 60 cases; $((60 - n)) have no history" "$T/out"

# --resume with a higher cap completes the run; only what it lacked is asked
reset
expect_rc "resume with a new cap" 0 "$EG_BIN" run --config c.json --history "$T/h.db" --resume "$id" --max-cost-usd 1
expect_eq "resumed run finished and passed" "finished|pass" "$(sql "select status, verdict from runs where id = '$id'")"
expect_eq "60 results, each case once" "60|60" "$(sql "select count(*), count(distinct case_id) from results where run_id = '$id'")"
expect_eq "only the missing cases were asked" "$((60 - n))" "$(stats)"
expect_rc "the estimate now knows every case" 0 "$EG_BIN" run --config c.json --history "$T/h.db" --dry-run
expect_grep "60 of 60 known" 'from the history of 60 of 60 cases; 0 have no history' "$T/out"

# resuming under a cap the run already spent takes nothing new
expect_rc "capped run 2" 4 "$EG_BIN" run --config c.json --history "$T/h4.db" --max-cost-usd 0.02 --no-cache
id4=$(sqlite3 "$T/h4.db" "select id from runs")
n4=$(sqlite3 "$T/h4.db" "select count(*) from results")
reset
expect_rc "resume with the same cap: still exhausted" 4 "$EG_BIN" run --config c.json --history "$T/h4.db" --resume "$id4" --max-cost-usd 0.02 --no-cache
expect_eq "no new call" "0" "$(stats)"
expect_eq "no new result" "$n4" "$(sqlite3 "$T/h4.db" "select count(*) from results")"

# --max-tokens and the config's budget
reset
expect_rc "config budget.max_tokens" 4 "$EG_BIN" run --config tok.json --history "$T/h5.db" --no-cache
n5=$(sqlite3 "$T/h5.db" "select count(*) from results")
check "stopped after 5 calls' tokens, within a window ($n5)" test "$n5" -ge 5 -a "$n5" -le $((5 + window))
expect_eq "budget_exhausted" "budget_exhausted" "$(sqlite3 "$T/h5.db" "select status from runs")"
expect_rc "--max-tokens over the whole suite: finished" 0 "$EG_BIN" run --config c.json --history "$T/h6.db" --max-tokens 100000
expect_eq "a cap never reached leaves the run finished" "finished|60" "$(sqlite3 "$T/h6.db" "select runs.status, count(*) from runs join results on run_id = id")"

expect_rc "a bad cap is a usage error" 2 "$EG_BIN" run --config c.json --history "$T/h7.db" --max-cost-usd abc
expect_grep "named" "max-cost-usd: 'abc' is not an amount" "$T/err"
write_config bad.json "$gates" "" "\"suites\": [\"s/big\"], \"budget\": {\"max_tokens\": 1.5}"
expect_rc "a bad budget in the config" 2 "$EG_BIN" run --config bad.json --history "$T/h7.db"
expect_grep "located" 'budget.max_tokens: expected a whole number' "$T/err"

finish
