#!/usr/bin/env bash
# Benchmark (not a test): a run of a very large suite, then compare, gate and
# every report on it. Two runs A and B of the same generated suite (a regex and
# an icontains scorer per case) go against the mock gateway at 0 ms latency; the
# mock answers right with a chance of 0.97 per request, so the runs differ by a
# few thousand flips. Prints, for each step, the wall time, the CPU time and
# the peak RSS (GNU time), and the size of each report.
#
#   tests/bench/bench_million.sh [BUILD_DIR]
#   CASES=1000000 CONCURRENCY=64 KEEP=/tmp/m tests/bench/bench_million.sh build
#
# CASES (default 1,000,000), CONCURRENCY (default 64); KEEP=DIR keeps the suite,
# the history and the reports in DIR (else a temporary directory, removed).
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
cases=${CASES:-1000000}
conc=${CONCURRENCY:-64}
eg="$build/evalgate"
mock="$build/tests/mock_gateway"
if [ -n "${KEEP:-}" ]; then
	tmp=$KEEP
	mkdir -p "$tmp"
	rm -rf "$tmp/h" "$tmp/reports" "$tmp/port"
else
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/evalgate-million-XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
fi
unset GITHUB_STEP_SUMMARY GITHUB_OUTPUT

# the suite: one line per case, generated once per CASES and kept with KEEP
suite="$tmp/suite-$cases"
if [ ! -s "$suite/cases.jsonl" ]; then
	mkdir -p "$suite"
	cat >"$suite/suite.json" <<'EOF'
{"name": "million", "version": "1", "kind": "golden",
 "scorers": [{"type": "regex", "pattern": "\\bquestion \\d+\\b", "flags": "i"},
             {"type": "icontains", "value": "ECHO"}]}
EOF
	awk -v n="$cases" 'BEGIN { for (i = 0; i < n; i++)
		printf "{\"id\": \"case-%07d\", \"tags\": [\"t%d\"], \"input\": \"Please answer question %d about the refund policy.\"}\n", i, i % 4, i }' \
		>"$suite/cases.jsonl"
fi

cat >"$tmp/mock.jsonl" <<'EOF'
{"reply": "echo: {{input}}", "pass_p": 0.97, "fail_reply": "wrong"}
EOF
rm -f "$tmp/port"
"$mock" --port 0 --port-file "$tmp/port" --script "$tmp/mock.jsonl" --latency-ms 0 \
	>/dev/null 2>&1 &
mock_pid=$!
for _ in $(seq 200); do [ -s "$tmp/port" ] && break; sleep 0.05; done
port=$(cat "$tmp/port")
trap 'kill "$mock_pid" 2>/dev/null || true; wait "$mock_pid" 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT

mkdir -p "$tmp/h" "$tmp/reports"
hist="$tmp/h/history.db"
cat >"$tmp/evalgate.json" <<EOF
{"gateway": {"base_url": "http://127.0.0.1:$port/v1", "timeout_s": 60, "max_retries": 2,
             "concurrency": $conc},
 "target": {"name": "million", "version": "1", "model": "m"},
 "suites": ["$suite"],
 "gates": [{"metric": "pass_rate", "min": 0.9},
           {"metric": "regression", "baseline": "latest", "max_new_failures": 1000000}]}
EOF

# step NAME CMD...: the command's wall time and peak RSS on one line
step() {
	local name=$1 rc
	shift
	rc=0
	/usr/bin/time -f "%e %M %U %S" -o "$tmp/time" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	read -r wall rss user sys < <(tail -1 "$tmp/time") || true
	if [ "$rc" -gt 1 ]; then # 1 is a failed gate: expected with the flips
		echo "$name failed ($rc):" >&2
		tail -5 "$tmp/err" >&2
		exit 1
	fi
	# CPU time (user + system) too: on a shared machine the wall time depends on the load
	printf '%-34s %8.2f s  CPU %8.2f s  peak RSS %7.1f MB\n' "$name" "$wall" \
		"$(echo "$user + $sys" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
}

echo "$cases cases, regex + icontains, mock latency 0 ms, concurrency $conc (load $(cut -d' ' -f1 /proc/loadavg))"
opts="--config $tmp/evalgate.json --history $hist"
step "run A" "$eg" run $opts --no-cache -q --run-id-file "$tmp/a"
step "run B (and its gates vs A)" "$eg" run $opts --no-cache -q --run-id-file "$tmp/b"
a=$(cat "$tmp/a")
b=$(cat "$tmp/b")
n=$(sqlite3 "$hist" "select count(*) from results where run_id = '$b'")
[ "$n" -eq "$cases" ] || { echo "run B stored $n results, expected $cases" >&2; exit 1; }
step "compare A B" "$eg" compare $opts "$a" "$b"
step "compare A B --json" "$eg" compare $opts "$a" "$b" --json
step "gate B (pass rate, regression)" "$eg" gate $opts "$b"
r="$tmp/reports"
step "report --junit" "$eg" report $opts "$b" --junit "$r/junit.xml"
step "report --html" "$eg" report $opts "$b" --html "$r/report.html"
step "report --markdown" "$eg" report $opts "$b" --markdown "$r/report.md" --no-step-summary
step "report --json" "$eg" report $opts "$b" --json "$r/report.json"
for f in junit.xml report.html report.md report.json; do
	printf '%-34s %10.2f MB\n' "  size of $f" "$(echo "$(stat -c %s "$r/$f") / 1000000" | bc -l)"
done
printf '%-34s %10.2f MB\n' "  size of the history" \
	"$(echo "$(du -b -c "$tmp/h" | tail -1 | cut -f1) / 1000000" | bc -l)"
