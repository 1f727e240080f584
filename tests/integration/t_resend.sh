#!/usr/bin/env bash
# A gateway that closes reused keep-alive connections: curl re-sends the
# request on a fresh connection by itself, and every such re-send is counted
# as an attempt, so the stored attempts add up to the requests the gateway
# received.
. "$(dirname "$0")/lib.sh"

cat >script.jsonl <<'EOS'
{"reply": "echo {{input}}"}
EOS
N=10
make_suite s/resend resend golden "$(n_cases $N c)"
write_config cfg.json '[]' '"concurrency": 1, "max_retries": 0'
start_mock script.jsonl --drop-reused 3
stat() { curl -s "http://127.0.0.1:$MOCK_PORT/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

expect_rc "a run against a gateway dropping reused connections exits 0" 0 "$EG_BIN" run --config cfg.json \
	--suite s/resend --history "$T/h.db" --concurrency 1
expect_eq "every case passes" "$N|$N|0" "$(sql "select count(*), count(distinct case_id), sum(status <> 'pass') from results")"
received=$(stat requests)
dropped=$(stat dropped)
check "the gateway dropped requests ($dropped)" test "$dropped" -ge 1
check "more requests than cases reached the gateway ($received)" test "$received" -gt "$N"
expect_eq "the stored attempts add up to the requests received" "$received" "$(sql "select sum(attempts) from results")"
expect_eq "a case with a dropped request took two attempts" "$dropped" "$(sql "select count(*) from results where attempts = 2")"
finish
