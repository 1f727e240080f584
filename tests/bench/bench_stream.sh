#!/usr/bin/env bash
# Benchmark (not a test): streamed replies at high concurrency. The mock
# gateway streams every answer with a configured time to first token (TTFT_MS,
# default 100) and CHUNKS content chunks ITL_MS apart (default 4 chunks, 10 ms);
# evalgate runs CASES cases (default 10,000) with "stream": true at CONCURRENCY
# (default 256). Reported, as the median over REPS runs (default 3):
#   - throughput as a share of the ideal, CONCURRENCY / (TTFT + (CHUNKS - 1) * ITL)
#     calls per second (target >= 0.9);
#   - the TTFT error, measured TTFT minus the configured one, at p50 and p95
#     over every result (target p95 < 5 ms), and the ITL measured.
#
#   tests/bench/bench_stream.sh [BUILD_DIR]
#   CASES=2000 REPS=1 CONCURRENCY=64 tests/bench/bench_stream.sh build
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
exec python3 - "$build" "$(cd "$(dirname "$0")" && pwd)" <<'EOP'
import json, os, shutil, statistics, sys, tempfile

sys.path.insert(0, sys.argv[2])
from benchlib import binaries, env_int, make_suite, run_child, sql, start_mock, stop, write_config

build, EVALGATE, MOCK = binaries(sys.argv)
CASES = env_int("CASES", 10000)
REPS = env_int("REPS", 3)
CONCURRENCY = env_int("CONCURRENCY", 256)
TTFT_MS = env_int("TTFT_MS", 100)
ITL_MS = env_int("ITL_MS", 10)
CHUNKS = env_int("CHUNKS", 4)

def pct(v, q):
    v = sorted(v)
    k = (len(v) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)

tmp = tempfile.mkdtemp(prefix="evalgate-bench-stream.")
mock = None
try:
    with open(os.path.join(tmp, "script.jsonl"), "w") as f:
        f.write(json.dumps({"reply": "the refund window is thirty days", "ttft_ms": TTFT_MS,
                            "itl_ms": ITL_MS, "chunks": CHUNKS}) + "\n")
    mock, port = start_mock(MOCK, tmp, None, os.path.join(tmp, "script.jsonl"))
    suite = make_suite(tmp, CASES, "suite", [{"type": "icontains", "value": "thirty days"}],
                       lambda i: {"id": f"case-{i:07d}", "input": f"refund question {i}"})
    cfg = write_config(os.path.join(tmp, "evalgate.json"), f"http://127.0.0.1:{port}/v1",
                       CONCURRENCY, [suite],
                       {"name": "bench", "version": "1", "model": "m", "stream": True})

    per_call = (TTFT_MS + (CHUNKS - 1) * ITL_MS) / 1000.0
    ideal = CONCURRENCY / per_call
    shares, err50, err95, itls, rates = [], [], [], [], []
    for rep in range(REPS):
        hist = os.path.join(tmp, f"h{rep}", "history.db")
        wall, _, _ = run_child([EVALGATE, "run", "--config", cfg, "--history", hist,
                                "--no-cache", "-q"], "evalgate")
        out = sql(hist, "select ttft_ms, itl_ms from results where status = 'pass'")
        rows = [tuple(map(float, l.split("|"))) for l in out.split()]
        if len(rows) != CASES:
            sys.exit(f"expected {CASES} passing results, found {len(rows)}")
        errs = [r[0] - TTFT_MS for r in rows]
        rate = CASES / wall
        rates.append(rate)
        shares.append(rate / ideal)
        err50.append(pct(errs, 50))
        err95.append(pct(errs, 95))
        itls.append(statistics.median(r[1] for r in rows))
        print(f"run {rep + 1}: {rate:.0f} cases/s ({rate / ideal:.3f} of ideal {ideal:.0f}), "
              f"TTFT error p50 {pct(errs, 50):.2f} ms p95 {pct(errs, 95):.2f} ms "
              f"(min {min(errs):.2f}), ITL median {itls[-1]:.2f} ms", flush=True)
    print(f"streaming: {CASES} cases, concurrency {CONCURRENCY}, TTFT {TTFT_MS} ms, "
          f"{CHUNKS} chunks {ITL_MS} ms apart; median of {REPS}: "
          f"{statistics.median(rates):.0f} cases/s = {statistics.median(shares):.3f} of ideal; "
          f"TTFT error p50 {statistics.median(err50):.2f} ms, p95 {statistics.median(err95):.2f} ms; "
          f"ITL {statistics.median(itls):.2f} ms")
finally:
    if mock:
        stop(mock)
    shutil.rmtree(tmp, ignore_errors=True)
EOP
