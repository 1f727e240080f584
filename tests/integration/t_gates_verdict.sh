#!/usr/bin/env bash
# Verdict semantics: gates that pass or block for the wrong reason. Each
# check below failed on 0.3.0: a verdict of PASS with every gate skipped,
# `gate ID` refusing what `run` skipped, a cached re-run failing its latency
# gate, scorer errors ending the run as an infrastructure failure, reports
# found unwritable after the whole run, typos in gate scorer labels and tags
# passing validate, validate --lock re-blessing changed content, and gate
# lines that read as a condition that holds.
. "$(dirname "$0")/lib.sh"

# a1..a4 echo "echo ..." and pass contains "echo"; scripted latencies
{
	for i in 1 2 3 4; do
		printf '{"case": "a%d", "reply": "echo %d", "latency_ms": %d}\n' "$i" "$i" $((30 + 10 * i))
	done
} >script.jsonl
start_mock script.jsonl
make_suite s/a suite-a golden "$(n_cases 4 a)"
make_suite s/b suite-b golden "$(n_cases 2 b)"

# --- every gate skipped is not a pass ---
write_config skip.json '[{"suite": "suite-b", "metric": "pass_rate", "min": 0.5}]' '' '"suites": ["s/a", "s/b"]'
expect_rc "every gate skipped: exit 1" 1 "$EG_BIN" run --config skip.json --suite s/a --history "$T/h.db"
expect_grep "the skip is shown" "SKIP  pass_rate \[suite suite-b\]" "$T/out"
expect_grep "the reason is said" "FAIL  no gate applied: all 1 gates were skipped" "$T/out"
expect_grep "verdict FAIL" '^verdict: FAIL' "$T/out"
expect_eq "stored verdict fail" "fail" "$(sql "select verdict from runs order by started_at desc limit 1")"

# --- gate ID skips exactly what run skipped ---
write_config mixed.json '[{"suite": "suite-b", "metric": "pass_rate", "min": 0.5},
                          {"metric": "pass_rate", "min": 0.5}]' '' '"suites": ["s/a", "s/b"]'
expect_rc "run --suite skips the other suite's gate" 0 "$EG_BIN" run --config mixed.json --suite s/a --history "$T/h.db"
narrowed=$(sql "select id from runs order by started_at desc limit 1")
expect_rc "gate ID on the narrowed run agrees with run" 0 "$EG_BIN" gate "$narrowed" --config mixed.json --history "$T/h.db"
expect_grep "gate ID shows the same skip" "SKIP  pass_rate \[suite suite-b\] *(suite suite-b is not in this run)" "$T/out"
expect_grep "gate ID passes the rest" '^verdict: PASS' "$T/out"

# --- a cached answer's stored latency counts for latency gates ---
write_config lat.json '[{"metric": "latency_ms", "stat": "p95", "max": 4000}]' '' '"suites": ["s/a"]'
expect_rc "fresh run passes the latency gate" 0 "$EG_BIN" run --config lat.json --history "$T/h.db"
expect_rc "cached re-run passes it too" 0 "$EG_BIN" run --config lat.json --history "$T/h.db"
expect_grep "the cached re-run answered from the cache" "4 from cache, 0 gateway requests" "$T/out"
expect_grep "latency of the 4 cached answers gated" "PASS  p95 latency_ms .* <= 4000 .*p95 of 4 calls" "$T/out"
write_config latx.json '[{"metric": "latency_ms", "stat": "p95", "max": 4000, "cached": "exclude"}]' '' '"suites": ["s/a"]'
expect_rc "cached: exclude keeps the old policy: nothing to gate" 1 "$EG_BIN" run --config latx.json --history "$T/h.db"
expect_grep "and says so" "FAIL  p95 latency_ms .*n/a, no value to hold to <= 4000" "$T/out"
write_config latbad.json '[{"metric": "latency_ms", "max": 4000, "cached": "sometimes"}]' '' '"suites": ["s/a"]'
expect_rc "an unknown cached policy: exit 2" 2 "$EG_BIN" run --config latbad.json --history "$T/h.db"
expect_grep "names the field" "gates\[0\].cached: 'sometimes': expected stored" "$T/err"

# --- scorer errors are not the gateway's ---
# faithfulness on a case without context is a scorer error; 1 of 4 is over 5%
printf '%s\n' '{"id": "f1", "input": "q1", "context": ["echo 1"]}' '{"id": "f2", "input": "q2", "context": ["echo 2"]}' \
	'{"id": "f3", "input": "q3", "context": ["echo 3"]}' '{"id": "f4", "input": "q4"}' >f.jsonl
make_suite s/f faith golden "$(cat f.jsonl)" '[{"type": "faithfulness", "method": "lexical", "threshold": 0}]'
write_config scorer.json '[{"metric": "pass_rate", "min": 0}]' '"max_error_rate": 0.05' '"suites": ["s/f"]'
expect_rc "a scorer error is not an infrastructure failure (exit 1, not 3)" 1 "$EG_BIN" run --config scorer.json --no-cache --history "$T/h.db"
expect_grep "the scorer errors fail a gate of their own" "FAIL  scorer_error_rate (implicit) .*0.2500 > 0.05 allowed" "$T/out"
expect_eq "stored as a gate row" "scorer_error_rate|0" "$(sql "select metric, pass from gates where run_id = (select id from runs order by started_at desc limit 1) and name like 'scorer_error_rate%'")"
write_config scorer2.json '[{"metric": "pass_rate", "min": 0}, {"metric": "scorer_error_rate", "max": 0.3}]' '"max_error_rate": 0.05' '"suites": ["s/f"]'
expect_rc "a scorer_error_rate gate decides instead" 0 "$EG_BIN" run --config scorer2.json --no-cache --history "$T/h.db"
expect_grep "with its value" "PASS  scorer_error_rate .*0.2500 <= 0.3 .*1/4" "$T/out"

# --- every output path is checked before the first call ---
runs_before=$(sql "select count(*) from runs")
write_config out.json '[]' '' '"suites": ["s/a"]'
mkdir -p adir
calls_before=$(grep -c . "$T/mock.log" 2>/dev/null || echo 0)
expect_rc "--junit naming a directory: exit 2" 2 "$EG_BIN" run --config out.json --no-cache --junit adir --history "$T/h.db"
expect_grep "says it is a directory" "\-\-junit adir: is a directory" "$T/err"
expect_rc "--html in a missing directory: exit 2" 2 "$EG_BIN" run --config out.json --no-cache --html nodir/r.html --history "$T/h.db"
GITHUB_STEP_SUMMARY="$T/nodir/summary.md" expect_rc "an unwritable step summary: exit 2" 2 "$EG_BIN" run --config out.json --no-cache --history "$T/h.db"
expect_grep "names the step summary" "GITHUB_STEP_SUMMARY .*nodir/summary.md: cannot write in" "$T/err"
touch ro.md && chmod a-w ro.md
if [ "$(id -u)" != 0 ]; then
	expect_rc "a read-only --markdown file: exit 2" 2 "$EG_BIN" run --config out.json --no-cache --markdown ro.md --history "$T/h.db"
fi
expect_eq "nothing was run" "$runs_before" "$(sql "select count(*) from runs")"
expect_eq "nothing was called" "$calls_before" "$(grep -c . "$T/mock.log" 2>/dev/null || echo 0)"

# --- validate: gate scorer labels and tags must exist ---
write_config typo.json '[{"metric": "score.contain", "min": 0.5}]' '' '"suites": ["s/a"]'
expect_rc "a gate on a misspelt scorer label: validate exits 2" 2 "$EG_BIN" validate --config typo.json
expect_grep "names the gate and the label" "typo.json:[0-9]*: gates: gate 'mean score.contain': no scorer is labelled 'contain'" "$T/err"
write_config typo2.json '[{"metric": "pass_rate", "tag": "biling", "min": 0.5}]' '' '"suites": ["s/a"]'
expect_rc "a gate on a misspelt tag: validate exits 2" 2 "$EG_BIN" validate --config typo2.json
expect_grep "names the tag" "gate 'pass_rate \[tag biling\]': no case of the config's suites has tag 'biling'" "$T/err"
write_config good.json '[{"metric": "score.contains", "suite": "suite-a", "min": 0.5}]' '' '"suites": ["s/a"]'
expect_rc "the right label passes" 0 "$EG_BIN" validate --config good.json

# --- validate --lock refuses changed content at an unchanged version ---
mkdir -p suites
expect_rc "lock the suite" 0 "$EG_BIN" validate --config good.json --lock
lockfile=suites/suites.lock
cp "$lockfile" lock.before
printf '{"id": "a9", "input": "more"}\n' >>s/a/cases.jsonl
expect_rc "--lock on changed content, same version: exit 2" 2 "$EG_BIN" validate --config good.json --lock
expect_grep "says to bump the version" "suite suite-a changed but its version is still 1.0.0" "$T/err"
check "the lock is unchanged" cmp -s lock.before "$lockfile"
sed -i 's/"1.0.0"/"1.1.0"/' s/a/suite.json
expect_rc "after a version bump --lock records it" 0 "$EG_BIN" validate --config good.json --lock
expect_grep "the new version is locked" "^suite-a 1.1.0 " "$lockfile"

finish
