#!/usr/bin/env bash
# SIGINT/SIGTERM: exit 130, the results so far are stored, the run is marked interrupted.
. "$(dirname "$0")/lib.sh"

make_suite s/slow slow golden "$(n_cases 400)"
write_config cfg.json '[{"metric": "pass_rate", "min": 0.5}]'
start_mock /dev/null --latency-ms 100

for sig in INT TERM; do
	rm -f "$T/h.db"*
	"$EG_BIN" run --config cfg.json --suite s/slow --history "$T/h.db" --concurrency 8 --junit "$T/j.xml" >"$T/out" 2>"$T/err" &
	pid=$!
	# signal once some results are stored (a loaded or sanitised build starts slower)
	for _ in $(seq 1 300); do
		[ "$(sqlite3 "$T/h.db" 'select count(*) from results' 2>/dev/null || echo 0)" -gt 0 ] && break
		sleep 0.1
	done
	kill -$sig $pid
	rc=0; wait $pid || rc=$?
	expect_eq "SIG$sig exits 130" "130" "$rc"
	expect_eq "SIG$sig: run marked interrupted" "interrupted" "$(sql 'select status from runs')"
	n=$(sql 'select count(*) from results')
	check "SIG$sig: some results stored ($n)" test "$n" -gt 0
	check "SIG$sig: not all cases ran" test "$n" -lt 400
	expect_eq "SIG$sig: stored count matches the run's count" "$n" "$(sql 'select n_cases from runs')"
	expect_eq "SIG$sig: no duplicate" "$n" "$(sql 'select count(distinct case_id) from results')"
	expect_grep "SIG$sig: verdict says interrupted" 'INTERRUPTED' "$T/out"
	check "SIG$sig: junit of the partial run is well-formed" xmllint --noout "$T/j.xml"
done

finish
