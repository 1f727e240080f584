#!/usr/bin/env bash
# A resumed run says so in its stored scope ("resumed": true), and a resumed run
# that completed all its cases is complete: the latest baseline and evidence.
. "$(dirname "$0")/lib.sh"

cases=$(n_cases 6 c)
make_suite s/rs rs golden "$cases"
write_config cfg.json '[{"metric":"pass_rate","min":0.5}]' '"max_error_rate": 0.5'
run() { "$EG_BIN" run --config cfg.json --suite s/rs --history "$T/h.db" --no-cache "$@"; }

# the gateway is unreachable: every case errors (exit 3, verdict error: not complete)
export EVALGATE_BASE_URL=http://127.0.0.1:9/v1
expect_rc "an unreachable gateway: exit 3" 3 run
id=$(sql "select id from runs order by started_at desc limit 1")
expect_eq "stored with verdict error, not resumed" "error|0|0" \
	"$(sql "select verdict || '|' || json_extract(scope, '\$.resumed') || '|' || partial from runs where id = '$id'")"

: >script.jsonl
start_mock script.jsonl
expect_rc "resumed with the gateway up: exit 0" 0 run --resume "$id" --retry-errors
expect_eq "finished and passed, resumed in the scope, not partial" "finished|pass|1|0" \
	"$(sql "select status || '|' || verdict || '|' || json_extract(scope, '\$.resumed') || '|' || partial from runs where id = '$id'")"
expect_eq "all six cases held, none errored" "6|0" \
	"$(sql "select count(*) || '|' || sum(status = 'error') from results where run_id = '$id'")"

# a complete resumed run is the latest baseline
write_config reg.json '[{"metric":"regression","confirm":false}]' '"max_error_rate": 0.5'
expect_rc "a candidate against latest" 0 "$EG_BIN" run --config reg.json --suite s/rs --history "$T/h.db" --no-cache
cand=$(sql "select id from runs order by started_at desc limit 1")
expect_eq "its baseline is the resumed run" "$id" \
	"$(sql "select json_extract(detail, '\$.baseline') from gates where run_id = '$cand'")"

finish
