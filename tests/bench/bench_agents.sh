#!/usr/bin/env bash
# Benchmark (not a test): evalgate's own CPU time (user + system) for an agent
# case of 3 steps (two tool-call rounds answered from fixtures, then the
# answer) against an ordinary 1-step case, on the mock gateway (latency 0 ms,
# loopback, no cache). CASES cases of each kind (default 10,000), REPS runs of
# each (default 3, interleaved), medians. The agent case makes 3 requests, so
# 3x is the bound: the loop itself (fixture matching, the growing
# conversation, the trajectory) must not cost more than its requests. Peak
# memory (max RSS) of both is measured in the same runs: the agent runs'
# must stay within RSS_MAX_MIB (default 30) and within 1.25x the ordinary
# runs' (it is bounded by the concurrency, not by the number of cases).
# Exit 1 when a bound is not met.
#
#   tests/bench/bench_agents.sh [BUILD_DIR]
#   CASES=10000 REPS=5 tests/bench/bench_agents.sh build
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
exec python3 - "$build" "$(cd "$(dirname "$0")" && pwd)" <<'EOP'
import json, os, shutil, statistics, sys, tempfile, time

sys.path.insert(0, sys.argv[2])
from benchlib import binaries, env_int, make_suite, run_child, sql, start_mock, stop, write_config

build, EVALGATE, MOCK = binaries(sys.argv)
CASES = env_int("CASES", 10000)
RSS_MAX = float(os.environ.get("RSS_MAX_MIB", "30"))
REPS = env_int("REPS", 3)
CONCURRENCY = env_int("CONCURRENCY", 64)

tmp = tempfile.mkdtemp(prefix="evalgate-bench-agents.")
mock = None
try:
    script = os.path.join(tmp, "script.jsonl")
    with open(script, "w") as f:
        for r in ({"suite": "agent", "step": 1,
                   "tool_calls": [{"name": "lookup_order", "arguments": {"order_id": "A17"}}]},
                  {"suite": "agent", "step": 2,
                   "tool_calls": [{"name": "refund_order", "arguments": {"order_id": "A17", "amount": 20}}]},
                  {"suite": "agent", "step": 3, "reply": "Refunded: {{tool_result}}"},
                  {"suite": "plain", "reply": "Refunded: REFUND-OK"}):
            f.write(json.dumps(r) + "\n")
    mock, port = start_mock(MOCK, tmp, 0, script)
    base = f"http://127.0.0.1:{port}/v1"

    tools = [{"type": "function", "function": {"name": n, "parameters": {
        "type": "object", "properties": {"order_id": {"type": "string"}, "amount": {"type": "number"}}}}}
        for n in ("lookup_order", "refund_order")]
    fixtures = [{"name": "lookup_order", "match": {"order_id": "A17"}, "result": {"total": 20}},
                {"name": "refund_order", "match": {"amount": {"$lte": 100}}, "result": "REFUND-OK"}]

    def refund(kind):
        """the cases of the suite kind: the agent's with the tool fixtures"""
        def case(i):
            c = {"id": f"case-{i:07d}", "input": f"Please refund order A17 ({i})."}
            if kind == "agent":
                c["tool_results"] = fixtures
            return c
        return case

    for kind in ("plain", "agent"):
        d = make_suite(tmp, CASES, kind, [{"type": "contains", "value": "REFUND-OK"}],
                       refund(kind), {"name": kind, "tools": tools})
        write_config(os.path.join(tmp, kind + ".json"), base, CONCURRENCY, [d])

    def run(kind):
        hist = os.path.join(tmp, f"h-{kind}-{time.monotonic_ns()}", "history.db")
        measured = run_child([EVALGATE, "run", "--config", os.path.join(tmp, kind + ".json"),
                              "--history", hist, "--no-cache", "-q"], f"{kind}: evalgate")
        rows = sql(hist, "select count(*), sum(json_array_length(target_reply, '$.trajectory')) "
                   "from results where status = 'pass'").split("|")
        if int(rows[0]) != CASES:
            sys.exit(f"{kind}: expected {CASES} passing results, found {rows[0]}")
        if kind == "agent" and int(rows[1]) != 3 * CASES:
            sys.exit(f"agent: expected {3 * CASES} steps, found {rows[1]}")
        shutil.rmtree(os.path.dirname(hist))
        return measured

    res = {"plain": [], "agent": []}
    for _ in range(REPS):
        for kind in ("plain", "agent"):
            res[kind].append(run(kind))
    med = {k: [statistics.median(x[i] for x in v) for i in range(3)] for k, v in res.items()}
    print(f"agent loop benchmark: {CASES} cases, concurrency {CONCURRENCY}, medians of {REPS}")
    for kind, (wall, cpu, rss) in med.items():
        print(f"  {kind:5}  {CASES / wall:8.0f} cases/s  cpu {cpu * 1e6 / CASES:7.1f} us/case  "
              f"max rss {rss:6.1f} MiB")
    ratio = med["agent"][1] / med["plain"][1]
    print(f"  a 3-step agent case costs {ratio:.2f}x the CPU of a 1-step case (bound: 3x): "
          f"{'ok' if ratio <= 3 else 'OVER'}")
    rss_a, rss_p = max(x[2] for x in res["agent"]), max(x[2] for x in res["plain"])
    rss_ok = rss_a <= RSS_MAX and rss_a <= 1.25 * rss_p
    print(f"  peak rss of {CASES} agent cases {rss_a:.1f} MiB, of {CASES} ordinary cases "
          f"{rss_p:.1f} MiB (bounds: {RSS_MAX:g} MiB and 1.25x ordinary): "
          f"{'ok' if rss_ok else 'OVER'}")
    sys.exit(0 if ratio <= 3 and rss_ok else 1)
finally:
    if mock:
        stop(mock)
    shutil.rmtree(tmp, ignore_errors=True)
EOP
