#!/usr/bin/env bash
# Benchmark (not a test): the http target against the chat target on the same
# mock gateway (latency 0 ms, loopback). The http target posts a body template
# straight to the mock's /v1/chat/completions and maps the reply with
# /choices/0/message/content, so both do the same HTTP work and differ only in
# how the request is built and the reply read. CASES cases (default 10,000),
# REPS runs of each (default 3, interleaved), medians in cases/s, and the
# http target's throughput as a share of chat's. The CPU time evalgate used
# (user + system) is reported too: on a shared machine it varies far less
# than the wall time.
#
#   tests/bench/bench_http_target.sh [BUILD_DIR]
#   CASES=2000 REPS=5 CONCURRENCY=64 tests/bench/bench_http_target.sh build
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
exec python3 - "$build" "$(cd "$(dirname "$0")" && pwd)" <<'EOP'
import os, shutil, statistics, sys, tempfile, time

sys.path.insert(0, sys.argv[2])
from benchlib import binaries, env_int, make_suite, run_child, runs_text, sql, start_mock, stop, \
    write_config

build, EVALGATE, MOCK = binaries(sys.argv)
CASES = env_int("CASES", 10000)
REPS = env_int("REPS", 3)
CONCURRENCY = env_int("CONCURRENCY", 64)

tmp = tempfile.mkdtemp(prefix="evalgate-bench-http.")
try:
    mock, port = start_mock(MOCK, tmp, 0)
    base = f"http://127.0.0.1:{port}/v1"
    suite = make_suite(tmp, CASES)
    targets = {
        "chat": {"name": "bench", "version": "1", "model": "m"},
        "http": {"type": "http", "name": "bench", "version": "1", "model": "m",
                 "request": {"url": base + "/chat/completions",
                             "body": {"model": "m",
                                      "messages": [{"role": "user", "content": "{{input}}"}]}},
                 "response": {"output": "/choices/0/message/content", "usage": "/usage",
                              "model": "/model"}},
    }
    for kind, target in targets.items():
        write_config(os.path.join(tmp, kind + ".json"), base, CONCURRENCY, [suite], target)

    def run(kind):
        hist = os.path.join(tmp, f"h-{kind}-{time.monotonic_ns()}", "history.db")
        wall, cpu, _ = run_child([EVALGATE, "run", "--config", os.path.join(tmp, kind + ".json"),
                                  "--history", hist, "--no-cache", "-q"], f"{kind}: evalgate")
        rows = sql(hist, "select count(*) from results where status = 'pass'")
        if int(rows) != CASES:
            sys.exit(f"{kind}: expected {CASES} passing results, found {rows}")
        shutil.rmtree(os.path.dirname(hist))
        return wall, cpu

    walls = {"chat": [], "http": []}
    cpus = {"chat": [], "http": []}
    try:
        for _ in range(REPS):
            for kind in ("chat", "http"):
                wall, cpu = run(kind)
                walls[kind].append(wall)
                cpus[kind].append(cpu)
    finally:
        stop(mock)
    rate, cpu = {}, {}
    print(f"{CASES} cases, regex + icontains, mock latency 0 ms, concurrency {CONCURRENCY}, "
          f"median of {REPS}")
    for kind in ("chat", "http"):
        w = statistics.median(walls[kind])
        rate[kind] = CASES / w
        cpu[kind] = statistics.median(cpus[kind])
        print(f"  {kind:4} target: median wall {w:.3f} s -> {rate[kind]:.0f} cases/s "
              f"(runs: {runs_text(walls[kind], '{:.2f}')}); "
              f"CPU {1e6 * cpu[kind] / CASES:.0f} us/case")
    print(f"  http / chat: {100 * rate['http'] / rate['chat']:.0f}% of the throughput "
          f"(target: at least 80%), {100 * cpu['http'] / cpu['chat']:.0f}% of the CPU time")
finally:
    shutil.rmtree(tmp)
EOP
