#!/usr/bin/env bash
# Benchmarks (not tests): throughput, peak memory and concurrency efficiency of
# `evalgate run` against the mock gateway on loopback. Reports medians of REPS runs.
#
#   tests/bench/run.sh [BUILD_DIR]        (./dev.sh bench builds and calls this)
#   CASES=10000 REPS=5 tests/bench/run.sh build
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
if [ -x "$build/tests/bench_scorers" ]; then "$build/tests/bench_scorers"; fi  # safety scorers, us/case
python3 "$src/tests/bench/bench.py" "$build" "$src"
"$src/tests/bench/bench_wrk.sh" "$build"      # against wrk; CPU per case; start-up; validate
"$src/tests/bench/bench_startup.sh" "$build" # --version, validate, run of 1 case against /bin/true
"$src/tests/bench/bench_agents.sh" "$build"   # CPU of a 3-step agent case against a 1-step one
# reports of a 100,000-case run: sizes and times (REPORT_CASES overrides)
exec python3 "$src/tests/bench/report_size.py" "$build" "${REPORT_CASES:-100000}"
