#!/usr/bin/env bash
# Recovery: --resume --retry-errors re-asks exactly the errored cases; a run being
# written is locked (a second --resume exits 2 naming the pid); a killed run is
# shown crashed and says how to resume; answers received before a 401 are stored.
. "$(dirname "$0")/lib.sh"

by_case() { curl -s "http://127.0.0.1:$MOCK_PORT/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['by_case'].get('$1', 0))"; }

# --- 1. --retry-errors ---
make_suite s/r retry golden "$(n_cases 6)"
write_config cfg.json '[]' '"max_retries": 0, "max_error_rate": 0.1'
cat >script.jsonl <<'J'
{"case": "c2", "fault": "500", "times": 1}
{"case": "c5", "fault": "500", "times": 2}
J
start_mock script.jsonl
expect_rc "a run with errors over max_error_rate exits 3" 3 \
	"$EG_BIN" run --config cfg.json --suite s/r --history "$T/h.db" --run-id-file id
id=$(cat id)
expect_eq "two errors stored" "2" "$(sql "select count(*) from results where status = 'error'")"
expect_rc "resume of a finished run without --retry-errors is refused" 2 \
	"$EG_BIN" run --config cfg.json --suite s/r --history "$T/h.db" --resume "$id"
expect_grep "the refusal names --retry-errors" 'retry-errors' "$T/err"
expect_rc "--retry-errors without --resume is refused" 2 \
	"$EG_BIN" run --config cfg.json --suite s/r --history "$T/h.db" --retry-errors
# marked, to see the row replaced: its rowid may come back when it was the last one stored
sql "update results set error = 'the first error' where case_id = 'c5'"
expect_rc "resume --retry-errors" 3 \
	"$EG_BIN" run --config cfg.json --suite s/r --history "$T/h.db" --resume "$id" --retry-errors
for c in c1 c3 c4 c6; do
	expect_eq "$c (passed) was not asked again" "1" "$(by_case $c)"
done
expect_eq "c2 (errored) was asked again" "2" "$(by_case c2)"
expect_eq "c5 (errored) was asked again" "2" "$(by_case c5)"
expect_eq "c2's error was replaced by its answer" "pass" "$(sql "select status from results where case_id = 'c2'")"
expect_eq "c5 failed again: one row, an error" "error" "$(sql "select group_concat(status) from results where case_id = 'c5'")"
check "c5's new error replaced the old row" test "$(sql "select error from results where case_id = 'c5'")" != "the first error"
expect_eq "one result per case" "6" "$(sql 'select count(*) from results')"
expect_eq "the run's counts follow" "6 5 1" "$(sql -separator ' ' "select n_cases, n_pass, n_error from runs where id = '$id'")"
expect_rc "a second --retry-errors asks c5 once more" 0 \
	"$EG_BIN" run --config cfg.json --suite s/r --history "$T/h.db" --resume "$id" --retry-errors
expect_eq "only c5 was asked" "3 2" "$(by_case c5) $(by_case c2)"
expect_eq "the run is whole" "6 6 0 finished" "$(sql -separator ' ' "select n_cases, n_pass, n_error, status from runs where id = '$id'")"

# --- 2. lock and crash ---
rm -f "$T/h.db"* id
make_suite s/slow slow golden "$(n_cases 40)"
write_config cfg2.json '[]'
# the last case is slow: the resume is still running when the second one starts
echo '{"case": "c40", "latency_ms": 4000}' >script2.jsonl
start_mock script2.jsonl --latency-ms 200
"$EG_BIN" run --config cfg2.json --suite s/slow --history "$T/h.db" --concurrency 2 --run-id-file id >"$T/a.out" 2>"$T/a.err" &
pid=$!
for _ in $(seq 1 300); do
	[ "$(sql 'select count(*) from results' 2>/dev/null || echo 0)" -gt 2 ] && break
	sleep 0.1
done
id=$(cat id)
expect_eq "the running run records its owner" "$pid $(hostname)" "$(sql -separator ' ' 'select owner_pid, owner_host from runs')"
expect_rc "resume of a run whose owner is alive exits 2" 2 \
	"$EG_BIN" run --config cfg2.json --suite s/slow --history "$T/h.db" --resume "$id"
expect_grep "the error names the owner's pid" "pid $pid" "$T/err"
"$EG_BIN" runs list --history "$T/h.db" >"$T/list" 2>&1
expect_grep "a live run is listed running" " running " "$T/list"
kill -9 $pid
wait $pid || true
n_before=$(sql 'select count(*) from results')
"$EG_BIN" runs list --history "$T/h.db" >"$T/list" 2>&1
expect_grep "a killed run is listed crashed" " crashed " "$T/list"
"$EG_BIN" runs show "$id" --history "$T/h.db" >"$T/show" 2>&1
expect_grep "runs show says crashed" "status crashed" "$T/show"
expect_grep "runs show says how to resume" "evalgate run --resume $id" "$T/show"
"$EG_BIN" run --config cfg2.json --suite s/slow --history "$T/h.db" --concurrency 2 --resume "$id" >"$T/b.out" 2>"$T/b.err" &
pid=$!
for _ in $(seq 1 300); do
	[ "$(sql 'select owner_pid from runs' 2>/dev/null)" == "$pid" ] && break
	sleep 0.1
done
expect_grep "the resume says the run crashed" "crashed" "$T/b.err"
expect_rc "a second concurrent --resume exits 2" 2 \
	"$EG_BIN" run --config cfg2.json --suite s/slow --history "$T/h.db" --resume "$id"
expect_grep "it names the first resume's pid" "pid $pid" "$T/err"
rc=0; wait $pid || rc=$?
expect_eq "the first resume finishes" "0" "$rc"
expect_eq "every case once" "40 40" "$(sql -separator ' ' 'select count(*), count(distinct case_id) from results')"
check "the resume kept what the killed run stored ($n_before)" grep -q "resumed: $n_before results" "$T/b.out"
expect_eq "the run is finished" "finished" "$(sql 'select status from runs')"
expect_eq "one set of gate rows" "0" "$(sql "select count(*) - count(distinct idx) from gates")"

# --- 3. answers before a 401 are stored ---
rm -f "$T/h.db"*
make_suite s/auth auth golden "$(n_cases 10)"
write_config cfg3.json '[]' '"max_retries": 0'
cat >script3.jsonl <<'J'
{"case": "c6", "fault": "401"}
J
start_mock script3.jsonl
expect_rc "a 401 ends the run (exit 3)" 3 \
	"$EG_BIN" run --config cfg3.json --suite s/auth --history "$T/h.db" --concurrency 1
for c in c1 c2 c3 c4 c5; do
	expect_eq "$c, answered before the 401, is stored" "pass" "$(sql "select status from results where case_id = '$c'")"
done
expect_eq "no case twice" "0" "$(sql 'select count(*) - count(distinct case_id) from results')"
expect_eq "the run is failed" "failed" "$(sql 'select status from runs')"

# an answer whose judge call is in flight at the 401 is stored, not dropped
rm -f "$T/h.db"*
make_suite s/judged judged golden "$(n_cases 6)" \
	'[{"type": "judge", "rubric": "Any answer passes.", "threshold": 0.5}]'
write_config cfg4.json '[]' '"max_retries": 0' '"judge": {"model": "judge-model"}'
cat >script4.jsonl <<'J'
{"case": "c1", "model": "judge-model", "latency_ms": 3000, "reply": "{\"reason\": \"ok\", \"score\": 1, \"pass\": true}"}
{"case": "c4", "model": "mock-model", "fault": "401", "latency_ms": 500}
{"model": "judge-model", "reply": "{\"reason\": \"ok\", \"score\": 1, \"pass\": true}"}
J
start_mock script4.jsonl
expect_rc "a 401 while a judge call is in flight ends the run (exit 3)" 3 \
	"$EG_BIN" run --config cfg4.json --suite s/judged --history "$T/h.db" --concurrency 4 --no-cache
expect_eq "c1's answer is stored though its judge call was cut" "echo: question 1" \
	"$(sql "select cast(output as text) from results where case_id = 'c1'")"
expect_eq "c1 is an error (not scored), so --retry-errors asks it again" "error" \
	"$(sql "select status from results where case_id = 'c1'")"
expect_grep "the score says why" "not scored: the run stopped" <(sql "select reason from scores where case_id = 'c1'")

finish
