#!/usr/bin/env bash
# Start-up: /bin/true, `evalgate --version`, `validate` and `run` of a 1-case
# suite against the mock at 0 ms, medians of RUNS interleaved runs
# (tests/bench/bench_startup.py); with two build directories, their ratio.
#
#   tests/bench/bench_startup.sh [BUILD_DIR [OTHER_BUILD_DIR]]
#   RUNS=30 tests/bench/bench_startup.sh build-main build
set -euo pipefail
exec python3 "$(dirname "$0")/bench_startup.py" "${@:-build}"
