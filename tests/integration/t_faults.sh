#!/usr/bin/env bash
# Every fault of the gateway either recovers through retries or ends that case as
# error: never a crash, never a lost or duplicated result, never the key in a file.
. "$(dirname "$0")/lib.sh"

cat >script.jsonl <<'EOS'
{"case": "r429", "fault": "429", "times": 2, "retry_after": "0.1", "reply": "echo ok after 429"}
{"case": "r429ms", "fault": "429", "times": 1, "retry_after_ms": 50, "reply": "echo ok after retry-after-ms"}
{"case": "r500", "fault": "500", "times": 1, "reply": "echo ok after 500"}
{"case": "r503", "fault": "503", "times": 2, "reply": "echo ok after 503"}
{"case": "r408", "fault": "408", "times": 1, "reply": "echo ok after 408"}
{"case": "reset", "fault": "reset", "times": 1, "reply": "echo ok after reset"}
{"case": "trunc", "fault": "truncated", "times": 1, "reply": "echo ok after truncated"}
{"case": "emptyc", "fault": "empty_choices", "times": 1, "reply": "echo ok after empty choices"}
{"case": "hang1", "fault": "hang", "times": 1, "reply": "echo ok after hang"}
{"case": "p500", "fault": "500"}
{"case": "phang", "fault": "hang"}
{"case": "ptrunc", "fault": "truncated"}
{"case": "pempty", "fault": "empty_choices"}
{"case": "pbad", "fault": "bad_json"}
{"case": "big", "fault": "big"}
{"case": "nousage", "usage": false, "reply": "echo without usage"}
EOS
recover="r429 r429ms r500 r503 r408 reset trunc emptyc hang1 nousage"
broken="p500 phang ptrunc pempty pbad"
cases=""
for c in $recover $broken; do cases+=$(printf '{"id": "%s", "input": "question for %s"}\n' "$c" "$c")$'\n'; done
cases+=$(n_cases 40 plain)$'\n'
make_suite s/faults faults golden "$cases"
write_config cfg.json '[]' '"timeout_s": 1, "max_retries": 3, "max_response_bytes": 1048576, "headers": {"x-team": "qa"}'
start_mock script.jsonl

expect_rc "run with faults completes (errors under max_error_rate)" 0 "$EG_BIN" run --config cfg.json --suite s/faults --history "$T/h.db" --junit "$T/junit.xml" --concurrency 16
total=$(( $(echo $recover $broken | wc -w) + 40 ))
expect_eq "one row per case run" "$total" "$(sql 'select count(*) from results')"
expect_eq "no duplicated case" "$total" "$(sql 'select count(distinct case_id) from results')"
for c in $recover; do
	expect_eq "$c recovers through retries" "pass" "$(sql "select status from results where case_id='$c'")"
done
for c in $broken; do
	expect_eq "$c ends as error" "error" "$(sql "select status from results where case_id='$c'")"
done
expect_eq "r429 took three attempts" "3" "$(sql "select attempts from results where case_id='r429'")"
expect_eq "missing usage is tolerated" "-1" "$(sql "select coalesce(prompt_tokens,-1) from results where case_id='nousage'")"
expect_grep "the gateway's error message is kept" 'mock fault 500' <(sql "select error from results where case_id='p500'")
expect_eq "run is finished" "finished" "$(sql 'select status from runs')"
check "junit is well-formed" xmllint --noout "$T/junit.xml"

# the request carried the attribution headers and the configured header
expect_grep "x-evalgate-run header" '"x-evalgate-run":"[0-9]\{8\}T' "$T/mock.log"
expect_grep "x-evalgate-suite header" '"x-evalgate-suite":"faults"' "$T/mock.log"
expect_grep "x-evalgate-case header" '"x-evalgate-case":"r429"' "$T/mock.log"
expect_grep "configured header" '"x-team":"qa"' "$T/mock.log"
expect_grep "the key was sent" '"authorized":true' "$T/mock.log"

# the key never lands in a file the run wrote or in any output
check "key not in history, cache, junit, output" bash -c "! grep -rqa -- '$EVALGATE_API_KEY' '$T/h.db'* '$T/cache.db'* '$T/junit.xml' '$T/out' '$T/err'"

# a gateway that refuses the key: exit 3 with a clear message
start_mock /dev/null --require-key some-other-key
expect_rc "refused credentials exit 3" 3 "$EG_BIN" run --config cfg.json --suite s/faults --history "$T/h2.db" --no-cache
expect_grep "says the credentials were refused" 'refused the credentials (HTTP 401)' "$T/err"
check "key not in the message" bash -c "! grep -qa -- '$EVALGATE_API_KEY' '$T/err' '$T/out'"
expect_eq "refused run is stored as failed" "failed" "$(sqlite3 "$T/h2.db" 'select status from runs')"

# an unreachable gateway: exit 3, quickly
stop_mock
export EVALGATE_BASE_URL="http://127.0.0.1:9/v1"
start=$(date +%s)
expect_rc "unreachable gateway exit 3" 3 "$EG_BIN" run --config cfg.json --suite s/faults --history "$T/h3.db" --no-cache
expect_grep "names the connection failure" 'could not be used' "$T/err"
check "gives up within 60 s" test $(( $(date +%s) - start )) -lt 60

# a 10 MB reply over a 1 MiB max_response_bytes ends that case as error (a generous
# timeout: a sanitizer build of the mock takes a while to produce 10 MB)
write_config cfgbig.json '[]' '"timeout_s": 60, "max_retries": 1, "max_response_bytes": 1048576'
make_suite s/big big golden "$(printf '{"id":"big","input":"a"}\n{"id":"ok1","input":"b"}\n')"
start_mock script.jsonl
expect_rc "a reply over max_response_bytes does not stop the run" 0 "$EG_BIN" run --config cfgbig.json --suite s/big --history "$T/h5.db" --no-cache
expect_eq "the big reply is an error" "error" "$(sqlite3 "$T/h5.db" "select status from results where case_id='big'")"
expect_grep "the error names the limit" 'max_response_bytes' <(sqlite3 "$T/h5.db" "select error from results where case_id='big'")
expect_eq "the other case passes" "pass" "$(sqlite3 "$T/h5.db" "select status from results where case_id='ok1'")"

# an error rate over max_error_rate: exit 3
write_config cfg2.json '[]' '"timeout_s": 1, "max_retries": 0, "max_error_rate": 0.05'
make_suite s/mostlybad mostlybad golden "$(printf '{"id":"p500","input":"a"}\n{"id":"pbad","input":"b"}\n{"id":"ok1","input":"c"}\n')"
start_mock script.jsonl
expect_rc "error rate over max_error_rate exit 3" 3 "$EG_BIN" run --config cfg2.json --suite s/mostlybad --history "$T/h4.db" --no-cache
expect_grep "says why" 'over gateway.max_error_rate' "$T/err"
expect_eq "its results are stored" "3" "$(sqlite3 "$T/h4.db" 'select count(*) from results')"

finish
