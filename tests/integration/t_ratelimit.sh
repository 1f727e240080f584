#!/usr/bin/env bash
# Adaptive rate limits (SPEC 4, docs/design.md): a 429 storm (every 3rd
# request refused for 10 s, with Retry-After and x-ratelimit headers) ends
# in a slower run, not in errors: exit 0, every case stored once, the 429s
# counted, and the stored concurrency timeline shows the back-off and the
# recovery. gateway.rpm and gateway.tpm pace a run.
. "$(dirname "$0")/lib.sh"

cat >script.jsonl <<'EOF2'
{"reply": "echo {{input}}", "usage": {"prompt_tokens": 40, "completion_tokens": 10}}
EOF2
N=1500
make_suite s/big big golden "$(n_cases $N c)"
gates='[{"metric": "pass_rate", "min": 1.0}]'
write_config c.json "$gates" '"concurrency": 16, "max_retries": 6' '"suites": ["s/big"]'
start_mock script.jsonl --latency-ms 10 --storm-every 3 --storm-seconds 10
# timed CMD...: runs CMD, its wall time in seconds into $el
timed() {
	local start
	start=$(date +%s.%N)
	"$@"
	el=$(python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$start" "$(date +%s.%N)")
}
stat() { curl -s "http://127.0.0.1:$MOCK_PORT/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

timed expect_rc "a run through a 429 storm exits 0" 0 "$EG_BIN" run --config c.json --history "$T/h.db" \
	--quiet --html "$T/r.html"
echo "# storm run: ${el} s"
expect_eq "every case stored once" "$N|$N|0" "$(sql "select count(*), count(distinct case_id), sum(status <> 'pass') from results")"
expect_eq "the run finished" "finished" "$(sql "select status from runs")"
sent=$(stat storm_429)
check "the storm happened ($sent 429s sent)" test "$sent" -ge 10
id=$(sql "select id from runs")
sql "select timeline from run_timelines where run_id = '$id'" >"$T/timeline.json"
python3 - "$T/timeline.json" "$sent" >"$T/tl.out" <<'EOP' || true
import json, sys
tl = json.load(open(sys.argv[1]))
sent = int(sys.argv[2])
p = [x for x in tl["pools"] if x["name"] == "target"][0]
s = p["samples"]
limits = [x[1] for x in s]
i_min = limits.index(min(limits))
after = limits[i_min:]
storm_end = [x for x in s if x[0] >= 10.0]
print("n429", p["n429"], "sent", sent)
print("max", p["max"], "min_limit", p["min_limit"], "backoffs", p["backoffs"])
print("min", min(limits), "at", s[i_min][0], "then max", max(after), "final", limits[-1])
print("monotonic_t", all(s[k][0] <= s[k + 1][0] for k in range(len(s) - 1)))
print("in_flight_ok", all(x[2] <= p["max"] for x in s))
print("last_n429", s[-1][3], "last_requests", s[-1][4])
EOP
cat "$T/tl.out"
expect_grep "every 429 the mock sent was counted" "^n429 $sent sent $sent\$" "$T/tl.out"
read -r _ mx _ mn _ bo < <(grep '^max ' "$T/tl.out")
check "the limit started at 16" test "$mx" == 16
check "the limit backed off to at most 4 ($mn)" test "$mn" -le 4
check "it backed off more than once ($bo)" test "$bo" -ge 2
read -r _ lo _ at _ _ hi _ fin < <(grep '^min ' "$T/tl.out")
check "after the storm the limit rose again ($lo -> $hi)" test "$hi" -ge 12
check "the back-off came during the storm (at $at s)" python3 -c "import sys; sys.exit(not float('$at') < 10.5)"
expect_grep "the samples are in time order" "^monotonic_t True" "$T/tl.out"
expect_grep "never more in flight than the maximum" "^in_flight_ok True" "$T/tl.out"
expect_rc "runs show summarises the timeline" 0 "$EG_BIN" runs show "$id" --history "$T/h.db"
expect_grep "runs show: concurrency line" "^  concurrency: target 16 max, $lo-16, $sent 429s, $bo back-offs" "$T/out"
expect_grep "the HTML report has the timeline chart" '<svg[^>]*class="timeline"' "$T/r.html"
expect_grep "the chart names the 429s" "$sent 429s" "$T/r.html"

# rpm: 1200 a minute is 20 a second (20 at once): 60 cases take >= 2 s
make_suite s/small small golden "$(n_cases 60 r)"
write_config rpm.json "$gates" '"concurrency": 16, "rpm": 1200' '"suites": ["s/small"]'
start_mock script.jsonl
rm -f "$T/h.db"
timed expect_rc "an rpm-limited run exits 0" 0 "$EG_BIN" run --config rpm.json --history "$T/h.db" --quiet --no-cache
check "rpm 1200 paced 60 cases over >= 1.8 s (${el} s)" python3 -c "import sys; sys.exit(not $el >= 1.8)"
expect_eq "every case stored" "60" "$(sql "select count(*) from results")"

# tpm: about 10 tokens a request estimated (40 + 10 used): 30000 a minute is
# 500 a second: 60 cases use 3000 tokens, >= ~5 s after the first second's worth
write_config tpm.json "$gates" '"concurrency": 16, "tpm": 30000' '"suites": ["s/small"]'
rm -f "$T/h.db"
timed expect_rc "a tpm-limited run exits 0" 0 "$EG_BIN" run --config tpm.json --history "$T/h.db" --quiet --no-cache
check "tpm 30000 paced 60 cases of 50 tokens over >= 3 s (${el} s)" python3 -c "import sys; sys.exit(not $el >= 3)"
expect_eq "every case stored" "60" "$(sql "select count(*) from results")"

finish
