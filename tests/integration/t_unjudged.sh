#!/usr/bin/env bash
# Cases that errored in the baseline are paired with the newest older
# complete run that judged them, or listed as unjudged: a candidate's
# failure on such a case is never invisible. Failed before this change
# (the pair was left out, counted as an error, and the gate passed).
. "$(dirname "$0")/lib.sh"

make_suite s/small small golden "$(n_cases 20)"
write_config cfg.json '[{"name": "strict regression", "metric": "regression", "max_new_failures": 0}]' \
	'"max_retries": 0, "max_error_rate": 0.2' '"suites": ["s/small"]'
H=(--config cfg.json --history "$T/h.db" --no-cache)
echo '{"case": "nothing", "model": "mock-model", "reply": "unused"}' >pass.jsonl
echo '{"case": "c7", "model": "mock-model", "fault": "500"}' >err.jsonl
echo '{"case": "c7", "model": "mock-model", "reply": "a wrong answer"}' >fail.jsonl
latest() { sql "select id from runs order by started_at desc, id desc limit 1"; }
detail() { sql "select json_extract(detail, '\$.$1') from gates where run_id = '$(latest)' and metric = 'regression'"; }

# B1: complete, every case passes
start_mock pass.jsonl
expect_rc "B1: no baseline yet, its own gate fails" 1 "$EG_BIN" run "${H[@]}"
b1=$(latest)
expect_eq "B1 passes c7" "pass" "$(sql "select status from results where run_id = '$b1' and case_id = 'c7'")"
# B2: newer, complete (verdict fail, not error), c7 errored
start_mock err.jsonl
expect_rc "B2: c7 errors" 1 "$EG_BIN" run "${H[@]}"
b2=$(latest)
expect_eq "B2 errored on c7" "error" "$(sql "select status from results where run_id = '$b2' and case_id = 'c7'")"
expect_eq "B2 is complete" "fail" "$(sql "select verdict from runs where id = '$b2'")"

# the candidate fails c7: paired with B1, a new failure
start_mock fail.jsonl
expect_rc "the candidate failing c7 is blocked" 1 "$EG_BIN" run "${H[@]}"
expect_eq "its baseline is B2 (latest)" "$b2" "$(detail baseline)"
expect_eq "c7 paired with the older run B1" "1" "$(detail paired_with_older)"
expect_eq "one new failure" "1" "$(detail new_failures)"
expect_eq "20 pairs" "20" "$(detail pairs)"
expect_eq "nothing left out as an error" "0" "$(detail errors_excluded)"
expect_eq "nothing unjudged" "0" "$(detail unjudged)"
expect_eq "c7 is the flip" "c7" "$(detail 'flips[0].case_id')"
expect_grep "the gate line counts it" "FAIL  strict regression *1 new failure > 0 allowed" "$T/out"
expect_grep "and says where its pair came from" "1 case that errored in the baseline paired with an older complete run" "$T/out"

# the next candidate's baseline is the last one; c7, errored in B2, is paired
# with the newest complete run that judged it: the last candidate, which failed it
expect_rc "again with --baseline B2 by id: passes" 0 "$EG_BIN" run "${H[@]}" --baseline "$b2"
expect_eq "c7 paired with an older run" "1" "$(detail paired_with_older)"
expect_eq "the last candidate failed it too: no new failure" "0" "$(detail new_failures)"

# without B1: c7 errored in every complete run before the candidate: unjudged
rm -f h.db h.db-wal h.db-shm
start_mock err.jsonl
expect_rc "B2 alone: c7 errors" 1 "$EG_BIN" run "${H[@]}"
b2=$(latest)
start_mock fail.jsonl
expect_rc "the candidate passes: nothing to pair c7 with" 0 "$EG_BIN" run "${H[@]}"
expect_eq "its baseline is B2" "$b2" "$(detail baseline)"
expect_eq "no new failure" "0" "$(detail new_failures)"
expect_eq "c7 is unjudged" "1" "$(detail unjudged)"
expect_eq "and named" "small/c7" "$(detail 'unjudged_cases[0].suite')/$(detail 'unjudged_cases[0].case_id')"
expect_eq "counted as a new failure it would block" "1" "$(detail unjudged_could_block)"
expect_eq "19 pairs" "19" "$(detail pairs)"
expect_grep "the gate line names it" "1 case unjudged: it errored in the baseline and in every older complete run; this run fails 1 of them, and counted as new failures they would block the gate" "$T/out"
expect_rc "reports of the candidate" 0 "$EG_BIN" report "$(latest)" --history "$T/h.db" \
	--markdown "$T/u.md" --html "$T/u.html" --no-step-summary
expect_grep "Markdown: the unjudged case next to the verdict" \
	"^1 case unjudged (errored in the baseline and in every older run): small/c7\.$" "$T/u.md"
expect_grep "HTML: the same" \
	'<p class="unjudged">1 case unjudged (errored in the baseline and in every older run): small/c7.</p>' "$T/u.html"

# a candidate passing c7 (a fresh history again): unjudged, but it cannot block
rm -f h.db h.db-wal h.db-shm
start_mock err.jsonl
expect_rc "B2 alone: c7 errors" 1 "$EG_BIN" run "${H[@]}"
start_mock pass.jsonl
expect_rc "a candidate passing c7 passes" 0 "$EG_BIN" run "${H[@]}"
expect_eq "c7 is unjudged" "1" "$(detail unjudged)"
expect_eq "it could not block" "0" "$(detail unjudged_could_block)"
expect_grep "the line names it without a warning" "1 case unjudged: it errored in the baseline and in every older complete run$" "$T/out"

# ids in the reports go through the escaper; more than 10 unjudged: the first 10 named
rm -f h.db h.db-wal h.db-shm
# 11 cases that error in the baseline, each between two that answer (no run of
# failures long enough to stop the run)
cases=$(for i in $(seq 1 11); do
	printf '{"id": "u<i>_%d", "input": "q"}\n{"id": "ok%d", "input": "q"}\n{"id": "ok%d", "input": "q"}\n' \
		"$i" "$i" "$((i + 11))"
done)
make_suite s/odd odd golden "$cases"
write_config odd.json '[{"metric": "regression", "max_new_failures": 0, "min_paired": 0}]' \
	'"max_retries": 0' '"suites": ["s/odd"]'
python3 -c 'import json
for i in range(1, 12): print(json.dumps({"case": "u<i>_%d" % i, "model": "mock-model", "fault": "500"}))' >odd.jsonl
start_mock odd.jsonl
expect_rc "a baseline with 11 errored cases" 1 "$EG_BIN" run --config odd.json --history "$T/h.db" --no-cache
start_mock pass.jsonl
expect_rc "a candidate passing them" 0 "$EG_BIN" run --config odd.json --history "$T/h.db" --no-cache
expect_eq "11 unjudged" "11" "$(detail unjudged)"
expect_rc "its reports" 0 "$EG_BIN" report "$(latest)" --history "$T/h.db" \
	--markdown "$T/o.md" --html "$T/o.html" --no-step-summary
expect_grep "Markdown: escaped ids, the first 10" \
	'^11 cases unjudged (errored in the baseline and in every older run): odd/u&lt;i&gt;\\_1, odd/u&lt;i&gt;\\_10, .*, odd/u&lt;i&gt;\\_8 (the first 10)\.$' "$T/o.md"
expect_eq "Markdown: 10 named" "10" "$(grep '^11 cases unjudged' "$T/o.md" | grep -o 'odd/' | wc -l)"
expect_grep "HTML: escaped ids" \
	'<p class="unjudged">11 cases unjudged (errored in the baseline and in every older run): odd/u&lt;i&gt;_1, odd/u&lt;i&gt;_10, ' "$T/o.html"
check "HTML: no raw markup from an id" bash -c "! grep -q 'u<i>' '$T/o.html'"

finish
