"""evalgate benchmarks: run the real binary against the mock gateway, report medians."""
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

build, src = sys.argv[1], sys.argv[2]
EVALGATE = os.path.join(build, "evalgate")
MOCK = os.path.join(build, "tests", "mock_gateway")
CASES = int(os.environ.get("CASES", "10000"))
REPS = int(os.environ.get("REPS", "5"))


def start_mock(tmp, latency_ms):
    return benchlib.start_mock(MOCK, tmp, latency_ms)


def make_suite(tmp, n):
    return benchlib.make_suite(tmp, n)


def run_once(tmp, suite, port, concurrency):
    hist = os.path.join(tmp, f"h-{time.monotonic_ns()}", "history.db")
    cfg = os.path.join(tmp, "cfg.json")
    with open(cfg, "w") as f:
        json.dump({"gateway": {"base_url": f"http://127.0.0.1:{port}/v1", "timeout_s": 30,
                               "max_retries": 2, "concurrency": concurrency},
                   "target": {"name": "bench", "version": "1", "model": "m"},
                   "suites": [suite]}, f)
    # each measured run is the only child of a small wrapper: ru_maxrss of children is
    # the max over all of them, so the wrapper isolates this run's peak; the wall time
    # is that of the evalgate process alone, start to exit
    out = subprocess.run([sys.executable, "-c", """
import resource, subprocess, sys, time
t0 = time.monotonic()
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.monotonic() - t0
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode, wall)
sys.stderr.write(r.stderr.decode()[-2000:])
""", EVALGATE, "run", "--config", cfg, "--history", hist, "--no-cache", "-q"],
        capture_output=True, text=True)
    rss_kb, rc, wall = out.stdout.split()
    wall = float(wall)
    if rc != "0":
        sys.exit(f"evalgate failed ({rc}): {out.stderr}")
    rows = subprocess.run(["sqlite3", hist, "select count(*) from results"],
                          capture_output=True, text=True).stdout.strip()
    if int(rows) != CASES:
        sys.exit(f"expected {CASES} results, found {rows}")
    shutil.rmtree(os.path.dirname(hist))
    return wall, int(rss_kb) / 1024.0


def bench(tmp, suite, latency, concurrency):
    mock, port = start_mock(tmp, latency)
    try:
        runs = [run_once(tmp, suite, port, concurrency) for _ in range(REPS)]
    finally:
        mock.terminate()
        mock.wait()
    walls = [w for w, _ in runs]
    rss = [r for _, r in runs]
    return statistics.median(walls), max(rss), walls


def main():
    tmp = tempfile.mkdtemp(prefix="evalgate-bench-")
    try:
        suite = make_suite(tmp, CASES)
        wall, rss, walls = bench(tmp, suite, 0, 64)
        print(f"throughput: {CASES} cases, regex + icontains, mock latency 0 ms, concurrency 64")
        print(f"  median wall {wall:.3f} s over {REPS} runs -> {CASES / wall:.0f} cases/s "
              f"(runs: {', '.join(f'{w:.2f}' for w in walls)}); peak RSS {rss:.1f} MB")
        wall, rss, walls = bench(tmp, suite, 100, 256)
        ideal = CASES * 0.100 / 256
        print(f"concurrency: {CASES} cases, mock latency 100 ms, concurrency 256")
        print(f"  ideal {ideal:.3f} s, median wall {wall:.3f} s -> efficiency {ideal / wall:.3f} "
              f"(runs: {', '.join(f'{w:.2f}' for w in walls)}); peak RSS {rss:.1f} MB")
    finally:
        shutil.rmtree(tmp)


main()
