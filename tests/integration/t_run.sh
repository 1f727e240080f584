#!/usr/bin/env bash
# The project's support suite through the mock gateway: verdicts, exit codes,
# JUnit, history, cache, filters, runs list/show.
. "$(dirname "$0")/lib.sh"

cp -r "$EG_SRC/suites" .
# the project's config narrowed to the support suite and its two gates
python3 - "$EG_SRC/evalgate.json" <<'EOP'
import json, sys
c = json.load(open(sys.argv[1]))
c["suites"] = ["suites/golden/support"]
c["gates"] = [g for g in c["gates"] if g["name"] in ("golden pass rate", "error rate")]
assert len(c["gates"]) == 2
json.dump(c, open("evalgate.json", "w"), indent=2)
EOP
start_mock "$EG_SRC/tests/data/mock-support.jsonl"

expect_rc "support suite passes its gates" 0 "$EG_BIN" run --history "$T/h.db" --junit "$T/j.xml"
expect_grep "verdict printed" '^verdict: PASS' "$T/out"
expect_grep "gate lines printed" 'PASS  golden pass rate' "$T/out"
check "junit is well-formed" xmllint --noout "$T/j.xml"
expect_eq "30 results" "30" "$(sql 'select count(*) from results')"
expect_eq "the 3 known-wrong answers fail" "loyalty-expiry,order-status,price-match" \
	"$(sql "select group_concat(case_id) from (select case_id from results where status='fail' order by case_id)")"
expect_eq "retry after a 429 was taken" "2" "$(sql "select attempts from results where case_id='refund-window'")"
expect_eq "scores stored per scorer" "3" "$(sql "select count(*) from scores where case_id='refund-window'")"
expect_grep "failure reason stored" 'price match' <(sql "select reason from scores where case_id='price-match' and pass=0")
expect_eq "junit counts the failures" '3' "$(grep -o '<testsuite [^>]*name="support-golden@1.0.0"[^>]*' "$T/j.xml" | grep -o 'failures="[0-9]*"' | tr -dc 0-9)"
expect_grep "junit has the gates suite" '<testsuite [^>]*name="gates"' "$T/j.xml"
expect_eq "run verdict stored" "pass" "$(sql 'select verdict from runs')"

# the second run answers from the cache: no new gateway request
before=$(curl -s "http://127.0.0.1:$MOCK_PORT/stats" | grep -o '"requests":[0-9]*' | tr -dc 0-9)
expect_rc "cached run" 0 "$EG_BIN" run --history "$T/h.db"
after=$(curl -s "http://127.0.0.1:$MOCK_PORT/stats" | grep -o '"requests":[0-9]*' | tr -dc 0-9)
expect_eq "cached run makes no request" "$before" "$after"
expect_eq "cached results are marked" "30" "$(sql "select count(*) from results where cached=1")"
expect_rc "--cache-only succeeds from a full cache" 0 "$EG_BIN" run --history "$T/h.db" --cache-only
expect_rc "--no-cache calls again" 0 "$EG_BIN" run --history "$T/h.db" --no-cache
after2=$(curl -s "http://127.0.0.1:$MOCK_PORT/stats" | grep -o '"requests":[0-9]*' | tr -dc 0-9)
check "--no-cache made requests" test "$after2" -ge $((after + 30))
expect_rc "--cache-only on an empty cache: every case errors, exit 3" 3 "$EG_BIN" run --history "$T/empty/h.db" --cache-only
expect_eq "cache misses are errors" "30" "$(sqlite3 "$T/empty/h.db" "select count(*) from results where error like '%not in the response cache%'")"

# filters and limits
expect_rc "filter by tag" 0 "$EG_BIN" run --history "$T/f.db" --filter-tag shipping
expect_eq "only shipping cases" "4" "$(sqlite3 "$T/f.db" 'select count(*) from results')"
expect_rc "filter by id" 0 "$EG_BIN" run --history "$T/g.db" --filter-id '^refund-'
expect_eq "only refund cases" "4" "$(sqlite3 "$T/g.db" 'select count(*) from results')"
expect_rc "limit" 0 "$EG_BIN" run --history "$T/l.db" --limit 5
expect_eq "five cases" "5" "$(sqlite3 "$T/l.db" 'select count(*) from results')"

# a failing gate: exit 1
sed 's/"min": 0.85/"min": 0.99/' evalgate.json >strict.json
expect_rc "a failed gate exits 1" 1 "$EG_BIN" run --config strict.json --history "$T/h.db"
expect_grep "verdict FAIL" '^verdict: FAIL (1 of 2 gates failed)' "$T/out"
expect_grep "the failed gate is named" 'FAIL  golden pass rate' "$T/out"

# runs list / show
expect_rc "runs list" 0 "$EG_BIN" runs list --history "$T/h.db"
expect_eq "five runs listed" "5" "$(tail -n +2 "$T/out" | wc -l)"
expect_rc "runs list --json" 0 "$EG_BIN" runs list --history "$T/h.db" --json
check "runs list --json is an array with the fields" python3 -c "
import json,sys
a=json.load(open('$T/out'))
assert len(a)==5 and all(k in a[0] for k in ('id','started_at','status','target','version','verdict'))
assert a[0]['verdict']=='fail' and a[0]['started_at']>=a[-1]['started_at']"
expect_rc "runs show latest" 0 "$EG_BIN" runs show latest --history "$T/h.db"
expect_grep "show names the gate" 'golden pass rate' "$T/out"
expect_rc "runs show of an unknown id" 2 "$EG_BIN" runs show nosuchrun --history "$T/h.db"

# help and version
expect_rc "--version" 0 "$EG_BIN" --version
expect_grep "version printed" '^evalgate [0-9]' "$T/out"
expect_rc "help run" 0 "$EG_BIN" help run
expect_grep "help lists --junit" '--junit FILE' "$T/out"
expect_rc "unknown command" 2 "$EG_BIN" frobnicate

finish
