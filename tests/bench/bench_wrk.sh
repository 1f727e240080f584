#!/usr/bin/env bash
# evalgate against wrk on the same mock gateway, in one run: throughput and the
# ratio at concurrency 32, CPU per case, peak RSS, the latency-bound run at
# 100 ms and concurrency 256, start-up and validate (tests/bench/bench_wrk.py).
#
#   tests/bench/bench_wrk.sh [BUILD_DIR [OTHER_BUILD_DIR]]
#   CASES=10000 REPS=5 SKIP=latency,validate tests/bench/bench_wrk.sh build
#   REPS=8 SKIP=latency tests/bench/bench_wrk.sh build-old build   (two builds, alternating)
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
if [ $# -gt 1 ]; then
	exec python3 "$(dirname "$0")/bench_wrk.py" "$build" "$(cd "$2" && pwd)"
fi
exec python3 "$(dirname "$0")/bench_wrk.py" "$build"
