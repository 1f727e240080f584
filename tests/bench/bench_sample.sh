#!/usr/bin/env bash
# Benchmark (not a test): `evalgate sample` over a generated traffic log of
# SIZE_MB megabytes (default 1024), reservoir of N cases stratified by route
# with an always rule. Reports the log size, elapsed time, throughput and peak
# RSS (from /usr/bin/time -v). The log is generated into a temporary
# directory under /tmp and deleted afterwards.
#
#   tests/bench/bench_sample.sh [BUILD_DIR]
#   SIZE_MB=256 N=1000 tests/bench/bench_sample.sh build
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
size_mb=${SIZE_MB:-1024}
n=${N:-1000}
tmp=$(mktemp -d /tmp/evalgate-bench-sample.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

python3 - "$tmp/traffic.jsonl" "$size_mb" <<'EOP'
import json, sys
path, size_mb = sys.argv[1], int(sys.argv[2])
routes = ["billing"] * 6 + ["shipping"] * 3 + ["returns"]
ctx = "Refunds are issued within 30 days of purchase to the original payment method. " * 4
answer = "Refunds are issued within 30 days of purchase; contact support with your order number. " * 3
limit = size_mb << 20
written, i = 0, 0
with open(path, "w") as f:
    buf = []
    while written < limit:
        i += 1
        meta = {"route": routes[i % 10], "feedback": "down" if i % 997 == 0 else "up",
                "request_id": "req-%09d" % i}
        if i % 2:
            line = json.dumps({"request": {"model": "prod-model", "messages": [
                {"role": "system", "content": "You are the support bot."},
                {"role": "user", "content": "How long do refunds take? ticket %d" % i}]},
                "response": {"choices": [{"index": 0, "message": {"role": "assistant", "content": answer},
                                          "finish_reason": "stop"}],
                             "usage": {"prompt_tokens": 31, "completion_tokens": 60}},
                "context": [ctx], "metadata": meta})
        else:
            line = json.dumps({"input": "Where is my parcel? ticket %d" % i, "output": answer,
                               "context": [ctx], "metadata": meta})
        buf.append(line)
        written += len(line) + 1
        if len(buf) == 10000:
            f.write("\n".join(buf) + "\n")
            buf = []
    if buf:
        f.write("\n".join(buf) + "\n")
print("generated %d lines, %.0f MB" % (i, written / 1048576.0))
EOP
echo '[{"type": "regex", "pattern": "30 days"}]' >"$tmp/tpl.json"
cd "$tmp" # no evalgate.json here: the template's regex needs no config
/usr/bin/time -v "$build/evalgate" sample "$tmp/traffic.jsonl" --out "$tmp/suite" --n "$n" --seed 1 \
	--stratify-by metadata.route --always metadata.feedback=down --template "$tmp/tpl.json" \
	-q 2>"$tmp/time.txt" || {
	cat "$tmp/time.txt"
	exit 1
}
bytes=$(stat -c %s "$tmp/traffic.jsonl")
secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "$tmp/time.txt")
rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tmp/time.txt")
cases=$(wc -l <"$tmp/suite/cases.jsonl")
printf 'log %.0f MB, %s cases written (n=%s + always)\n' "$(echo "$bytes / 1048576" | bc -l)" "$cases" "$n"
printf 'elapsed %.1f s, %.0f MB/s, peak RSS %.1f MB\n' "$secs" "$(echo "$bytes / 1048576 / $secs" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
