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
exec python3 - "$build" <<'EOP'
import json, os, shutil, statistics, subprocess, sys, tempfile, time

build = sys.argv[1]
EVALGATE = os.path.join(build, "evalgate")
MOCK = os.path.join(build, "tests", "mock_gateway")
CASES = int(os.environ.get("CASES", "10000"))
REPS = int(os.environ.get("REPS", "3"))
CONCURRENCY = int(os.environ.get("CONCURRENCY", "64"))

tmp = tempfile.mkdtemp(prefix="evalgate-bench-http.")
try:
    port_file = os.path.join(tmp, "port")
    mock = subprocess.Popen([MOCK, "--port", "0", "--port-file", port_file, "--latency-ms", "0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        if os.path.exists(port_file) and open(port_file).read().strip():
            break
        time.sleep(0.025)
    port = int(open(port_file).read())
    base = f"http://127.0.0.1:{port}/v1"

    suite = os.path.join(tmp, "suite")
    os.makedirs(suite)
    with open(os.path.join(suite, "suite.json"), "w") as f:
        json.dump({"name": "bench", "version": "1", "kind": "golden",
                   "scorers": [{"type": "regex", "pattern": "\\bquestion \\d+\\b", "flags": "i"},
                               {"type": "icontains", "value": "ECHO"}]}, f)
    with open(os.path.join(suite, "cases.jsonl"), "w") as f:
        for i in range(CASES):
            f.write(json.dumps({"id": f"case-{i:07d}",
                                "input": f"Please answer question {i} about the refund policy."}) + "\n")

    gateway = {"base_url": base, "timeout_s": 30, "max_retries": 2, "concurrency": CONCURRENCY}
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
        with open(os.path.join(tmp, kind + ".json"), "w") as f:
            json.dump({"gateway": gateway, "target": target, "suites": [suite]}, f)

    def run(kind):
        hist = os.path.join(tmp, f"h-{kind}-{time.monotonic_ns()}", "history.db")
        err = os.path.join(tmp, "stderr")
        t0 = time.monotonic()
        with open(err, "w") as ef:
            p = subprocess.Popen([EVALGATE, "run", "--config", os.path.join(tmp, kind + ".json"),
                                  "--history", hist, "--no-cache", "-q"],
                                 stdout=subprocess.DEVNULL, stderr=ef)
            _, status, ru = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode != 0:
            sys.exit(f"{kind}: evalgate failed ({p.returncode}): {open(err).read()[-2000:]}")
        rows = subprocess.run(["sqlite3", hist, "select count(*) from results where status = 'pass'"],
                              capture_output=True, text=True).stdout.strip()
        if int(rows) != CASES:
            sys.exit(f"{kind}: expected {CASES} passing results, found {rows}")
        shutil.rmtree(os.path.dirname(hist))
        return wall, ru.ru_utime + ru.ru_stime

    walls = {"chat": [], "http": []}
    cpus = {"chat": [], "http": []}
    try:
        for _ in range(REPS):
            for kind in ("chat", "http"):
                wall, cpu = run(kind)
                walls[kind].append(wall)
                cpus[kind].append(cpu)
    finally:
        mock.terminate()
        mock.wait()
    rate, cpu = {}, {}
    print(f"{CASES} cases, regex + icontains, mock latency 0 ms, concurrency {CONCURRENCY}, "
          f"median of {REPS}")
    for kind in ("chat", "http"):
        w = statistics.median(walls[kind])
        rate[kind] = CASES / w
        cpu[kind] = statistics.median(cpus[kind])
        print(f"  {kind:4} target: median wall {w:.3f} s -> {rate[kind]:.0f} cases/s "
              f"(runs: {', '.join(f'{x:.2f}' for x in walls[kind])}); "
              f"CPU {1e6 * cpu[kind] / CASES:.0f} us/case")
    print(f"  http / chat: {100 * rate['http'] / rate['chat']:.0f}% of the throughput "
          f"(target: at least 80%), {100 * cpu['http'] / cpu['chat']:.0f}% of the CPU time")
finally:
    shutil.rmtree(tmp)
EOP
