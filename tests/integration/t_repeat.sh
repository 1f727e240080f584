#!/usr/bin/env bash
# run --repeat N: every case N times, flaky cases found and listed, the case
# verdict by repeat_policy (all, majority, min_pass), repeats past the first
# bypass the response cache, unique JUnit names; run --resume ID after an
# interruption completes the same run with each (case, repeat) stored once.
. "$(dirname "$0")/lib.sh"

# replies alternate per request of a case (the mock's "replies" cycle per case id,
# whatever order the repeats are asked in): of 5 requests a1 gets 3 right, a2 2, a3 4
cat >script.jsonl <<'EOF'
{"case": "a1", "replies": ["echo right", "wrong"]}
{"case": "a2", "replies": ["wrong", "echo right"]}
{"case": "a3", "replies": ["echo", "nope", "echo", "echo"]}
{"case": "f1", "reply": "nope"}
{"suite": "many", "replies": ["echo", "wrong"]}
EOF
make_suite s/flip flip golden "$(printf '%s\n' \
	'{"id": "s1", "input": "q1"}' '{"id": "a1", "input": "q2"}' '{"id": "s2", "input": "q3"}' \
	'{"id": "a2", "input": "q4"}' '{"id": "a3", "input": "q5"}' '{"id": "f1", "input": "q6"}' \
	'{"id": "s3", "input": "q7"}')"
make_suite s/many many golden "$(n_cases 25 m)"
gates='[{"metric": "pass_rate", "min": 0.6}]'
write_config all.json "$gates" "" '"suites": ["s/flip"]'
write_config majority.json "$gates" "" '"suites": ["s/flip"], "repeat_policy": "majority"'
write_config min2.json "$gates" "" '"suites": ["s/flip"], "repeat_policy": {"min_pass": 2}'
write_config min6.json "$gates" "" '"suites": ["s/flip"], "repeat_policy": {"min_pass": 6}'
start_mock script.jsonl

stats() { curl -s "http://127.0.0.1:$MOCK_PORT/stats" | grep -o '"requests":[0-9]*' | tr -dc 0-9; }
reset() { curl -s -X POST "http://127.0.0.1:$MOCK_PORT/reset" >/dev/null; }
last() { sql "select id from runs order by started_at desc, rowid desc limit 1"; }

# policy "all": a case passes only when every repeat passed (3 of 7 here: gate fails)
expect_rc "--repeat 5, policy all: the gate fails" 1 \
	"$EG_BIN" run --config all.json --history "$T/h.db" --repeat 5 --junit "$T/j.xml"
expect_eq "35 requests on an empty cache" "35" "$(stats)"
expect_eq "35 results stored" "35" "$(sql 'select count(*) from results')"
expect_eq "each case stored 5 times, repeats 0..4" "7" \
	"$(sql 'select count(*) from (select case_id from results group by case_id having count(*) = 5 and min(repeat) = 0 and max(repeat) = 4 and count(distinct repeat) = 5)')"
expect_eq "repeats and policy stored with the run" "5|all" "$(sql 'select repeats, repeat_policy from runs')"
expect_eq "per-repeat passes as scripted" "a1:3,a2:2,a3:4,f1:0,s1:5,s2:5,s3:5" \
	"$(sql "select group_concat(case_id || ':' || p) from (select case_id, sum(status = 'pass') p from results group by case_id order by case_id)")"
expect_eq "stored flaky cases: exactly a1, a2, a3" "a1,a2,a3" \
	"$(sql "select group_concat(case_id) from (select case_id from cases where flaky order by case_id)")"
expect_eq "all: case counts" "7|3|4|0" "$(sql 'select n_cases, n_pass, n_fail, n_error from runs')"
expect_grep "summary counts cases" 'flip .* 7 cases .* 3 pass .* 4 fail' "$T/out"
expect_grep "summary says how many are flaky" '^flaky cases: 3' "$T/out"
expect_grep "flaky a1 listed" '^  flip/a1: 3 of 5 passed$' "$T/out"
expect_grep "flaky a2 listed" '^  flip/a2: 2 of 5 passed$' "$T/out"
expect_grep "flaky a3 listed" '^  flip/a3: 4 of 5 passed$' "$T/out"
check "stable cases are not flaky" bash -c "! grep -q '^  flip/s1: ' '$T/out' && ! grep -q '^  flip/f1: ' '$T/out'"
expect_grep "failed cases by verdict" 'FAIL  flip/f1: 0 of 5 repeats passed' "$T/out"
expect_grep "results counted in the last line" '7 cases x 5 repeats: 35 results' "$T/out"
expect_grep "gate value over cases" 'FAIL  pass_rate .*0.4286' "$T/out"
expect_eq "every request says its repeat (header x-evalgate-repeat)" "0 1 2 3 4" \
	"$(grep -o '"x-evalgate-repeat":"[0-9]*"' "$T/mock.log" | tr -dc '0-9\n' | sort -u | tr '\n' ' ' | sed 's/ $//')"
expect_eq "repeat 3 of a1 was asked once" "1" "$(grep '"case":"a1"' "$T/mock.log" | grep -c '"x-evalgate-repeat":"3"')"
check "junit is well-formed" xmllint --noout "$T/j.xml"
expect_eq "junit: one testcase per result" "35" "$(grep -c '<testcase classname="flip"' "$T/j.xml")"
expect_eq "junit: testcase names unique" "35" "$(grep -o '<testcase classname="flip" name="[^"]*"' "$T/j.xml" | sort -u | wc -l)"
expect_grep "junit: repeat 4 of a1 is a1#4" '<testcase classname="flip" name="a1#4"' "$T/j.xml"
expect_rc "runs show" 0 "$EG_BIN" runs show latest --history "$T/h.db"
expect_grep "runs show prints the flaky count" 'repeats 5, repeat_policy all, 3 flaky cases' "$T/out"

# the cache holds the answers of repeat 0 now: a second run reads them for
# repeat 0 only, and asks the gateway for every other repeat
reset
expect_rc "second run with the cache" 1 "$EG_BIN" run --config all.json --history "$T/h.db" --repeat 5
expect_eq "repeat 0 from the cache, repeats 1..4 asked: 28 requests" "28" "$(stats)"
id=$(last)
expect_eq "only repeat 0 is marked cached" "7|0" \
	"$(sql "select sum(cached and repeat = 0), sum(cached and repeat > 0) from results where run_id = '$id'")"
expect_eq "the cache keeps one answer per case" "7" "$(sqlite3 "$T/cache.db" 'select count(*) from cache')"

# "majority": more than half of the repeats passed
reset
expect_rc "policy majority: the gate passes" 0 \
	"$EG_BIN" run --config majority.json --history "$T/h.db" --repeat 5 --no-cache
id=$(last)
expect_eq "majority: case verdicts" "7|5|2|majority" "$(sql "select n_cases, n_pass, n_fail, repeat_policy from runs where id = '$id'")"
expect_eq "majority: a2 and f1 fail" "a2,f1" \
	"$(sql "select group_concat(case_id) from (select case_id from cases where run_id = '$id' and status = 'fail' order by case_id)")"
expect_eq "flaky again a1, a2, a3" "3" "$(sql "select count(*) from cases where run_id = '$id' and flaky")"

# {"min_pass": 2}
reset
expect_rc "policy min_pass 2" 0 "$EG_BIN" run --config min2.json --history "$T/h.db" --repeat 5 --no-cache
id=$(last)
expect_eq "min_pass: case verdicts" "6|1|min_pass:2" "$(sql "select n_pass, n_fail, repeat_policy from runs where id = '$id'")"
expect_eq "min_pass: only f1 fails" "f1" "$(sql "select group_concat(case_id) from cases where run_id = '$id' and status = 'fail'")"

# min_pass above the repeats: a located error, exit 2, nothing stored
n_runs=$(sql 'select count(*) from runs')
expect_rc "min_pass 6 with --repeat 5: exit 2" 2 "$EG_BIN" run --config min6.json --history "$T/h.db" --repeat 5
expect_grep "the error names the config line and field" 'min6.json:[0-9]*: repeat_policy.min_pass: 6 is more than the 5 repeats' "$T/err"
expect_rc "min_pass 2 without --repeat: exit 2" 2 "$EG_BIN" run --config min2.json --history "$T/h.db"
expect_eq "no run stored" "$n_runs" "$(sql 'select count(*) from runs')"
expect_rc "--repeat 0 is refused" 2 "$EG_BIN" run --config all.json --history "$T/h.db" --repeat 0
expect_rc "--repeat 1001 is refused" 2 "$EG_BIN" run --config all.json --history "$T/h.db" --repeat 1001
expect_rc "--cache-only with --repeat is refused" 2 "$EG_BIN" run --config all.json --history "$T/h.db" --repeat 2 --cache-only

# more than 20 flaky cases: 20 lines, then a count
write_config many.json '[]' "" '"suites": ["s/many"]'
expect_rc "25 flaky cases" 0 "$EG_BIN" run --config many.json --history "$T/m.db" --repeat 2
expect_grep "25 flaky" '^flaky cases: 25' "$T/out"
expect_eq "20 flaky lines" "20" "$(grep -c '^  many/m[0-9]*: 1 of 2 passed$' "$T/out")"
expect_grep "then the rest counted" '^  \.\.\. and 5 more$' "$T/out"

# --resume: interrupt a run of 150 cases x 3, then finish it
stop_mock
make_suite s/slow slow golden "$(n_cases 150)"
write_config slow.json '[{"metric": "pass_rate", "min": 0.5}]' "" '"suites": ["s/slow"]'
start_mock /dev/null --latency-ms 100
"$EG_BIN" run --config slow.json --history "$T/r.db" --repeat 3 --concurrency 8 --no-cache >"$T/out" 2>"$T/err" &
pid=$!
# interrupt once some results are stored (450 take at least 5.6 s at 8 x 100 ms)
for _ in $(seq 1 200); do
	n=$(sqlite3 "$T/r.db" 'select count(*) from results' 2>/dev/null || echo 0)
	[ "${n:-0}" -ge 16 ] && break
	sleep 0.1
done
kill -INT $pid
rc=0; wait $pid || rc=$?
expect_eq "interrupted run exits 130" "130" "$rc"
expect_grep "the verdict line says how to resume" 'continue it with --resume' "$T/out"
rsql() { sqlite3 "$T/r.db" "$@"; }
rid=$(rsql 'select id from runs')
before=$(rsql 'select count(*) from results')
check "part of the results stored ($before)" test "$before" -gt 0 -a "$before" -lt 450
expect_eq "interrupted status" "interrupted" "$(rsql 'select status from runs')"

# refusals: nothing changes
sed 's/"min": 0.5/"min": 0.6/' slow.json >changed.json
expect_rc "--resume with another config: exit 2" 2 "$EG_BIN" run --config changed.json --history "$T/r.db" --resume "$rid"
expect_grep "the config change is named" 'config changed since the run began' "$T/err"
expect_rc "--resume with another --repeat: exit 2" 2 "$EG_BIN" run --config slow.json --history "$T/r.db" --resume "$rid" --repeat 2
expect_rc "--resume of an unknown run: exit 2" 2 "$EG_BIN" run --config slow.json --history "$T/r.db" --resume nosuchrun
expect_eq "refusals changed nothing" "$before|interrupted" "$(rsql 'select (select count(*) from results), (select status from runs)')"

stop_mock
start_mock /dev/null
expect_rc "--resume finishes the run" 0 "$EG_BIN" run --config slow.json --history "$T/r.db" --resume "$rid" --no-cache
expect_eq "only the missing results were asked" "$((450 - before))" "$(stats)"
expect_grep "the summary says what was skipped" "resumed: $before results were already stored" "$T/out"
expect_eq "still one run" "1" "$(rsql 'select count(*) from runs')"
expect_eq "status finished, verdict pass" "finished|pass|3" "$(rsql 'select status, verdict, repeats from runs')"
expect_eq "450 results" "450" "$(rsql 'select count(*) from results')"
expect_eq "each (case, repeat) exactly once" "450" "$(rsql 'select count(*) from (select distinct suite, case_id, repeat from results)')"
expect_eq "every case has repeats 0, 1, 2" "150" \
	"$(rsql 'select count(*) from (select case_id from results group by case_id having count(*) = 3 and min(repeat) = 0 and max(repeat) = 2)')"
expect_eq "case counts over the whole run" "150|150" "$(rsql 'select n_cases, n_pass from runs')"
expect_eq "gates applied once" "1" "$(rsql 'select count(*) from gates')"
expect_rc "--resume of a finished run: exit 2" 2 "$EG_BIN" run --config slow.json --history "$T/r.db" --resume "$rid"
expect_grep "says the run is finished" 'the run is finished' "$T/err"

finish
