"""evalgate against a C load generator (wrk) on the same mock gateway, in one run.

  python3 tests/bench/bench_wrk.py BUILD_DIR [OTHER_BUILD_DIR]   (tests/bench/bench_wrk.sh calls this)

Environment: CASES (10000), REPS (5), CONC (32), LAT_CONC (256), LAT_MS (100),
WRK_THREADS (2), STARTUP_RUNS (50), VALIDATE_CASES (100000), SKIP (comma-separated
parts to leave out: throughput, latency, startup, validate).

Throughput: the mock at 0 ms, wrk's requests/s at concurrency CONC with the
POST body and headers evalgate sends, then evalgate's cases/s over CASES cases
at the same concurrency, interleaved (wrk, evalgate, wrk, evalgate...) REPS
times; medians. evalgate's CPU per case is the user + system time of its
process (wait4 of the child) over the cases; peak RSS is the child's.

Latency-bound: the mock at LAT_MS, concurrency LAT_CONC, CASES cases:
evalgate's wall time against the ideal (CASES / LAT_CONC x LAT_MS), and wrk's
rate against the ideal rate (LAT_CONC / LAT_MS) over the same ideal duration.

Start-up: `evalgate run` of a 1-case suite at 0 ms, STARTUP_RUNS runs, median
wall; `evalgate validate` of a VALIDATE_CASES-case suite, median of REPS.

With OTHER_BUILD_DIR, the throughput and latency-bound parts run both builds'
evalgate after each wrk run (wrk, A, B, wrk, A, B...) against the same mock,
and print each build's figures and B's over A's; start-up and validate are
left to bench_startup.sh, which compares two builds too.
"""
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

from benchlib import env_int, run_child, runs_text, stop  # noqa: E402

build, EVALGATE, MOCK = benchlib.binaries(sys.argv)
# the builds compared: A (BUILD_DIR) and, when given, B (OTHER_BUILD_DIR)
EXES = [EVALGATE] + ([benchlib.binaries(sys.argv[1:])[1]] if len(sys.argv) > 2 else [])
CASES = env_int("CASES", 10000)
REPS = env_int("REPS", 5)
CONC = env_int("CONC", 32)
LAT_CONC = env_int("LAT_CONC", 256)
LAT_MS = env_int("LAT_MS", 100)
WRK_THREADS = env_int("WRK_THREADS", 2)
STARTUP_RUNS = env_int("STARTUP_RUNS", 50)
VALIDATE_CASES = env_int("VALIDATE_CASES", 100000)
SKIP = set(filter(None, os.environ.get("SKIP", "").split(",")))

# what evalgate sends for case 0 of the suite below (runner/targets/chat.c, gateway.c and http1.c)
BODY = json.dumps({"model": "m", "messages": [
    {"role": "user", "content": "Please answer question 0 about the refund policy."}]},
    separators=(",", ":"))
HEADERS = {"Content-Type": "application/json", "Accept": "application/json",
           "User-Agent": "evalgate/bench",
           "x-evalgate-run": "20260101T000000Z-000000", "x-evalgate-suite": "bench",
           "x-evalgate-case": "case-0000000", "x-evalgate-repeat": "0"}


def lua_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def start_mock(tmp, latency_ms):
    return benchlib.start_mock(MOCK, tmp, latency_ms)


def make_suite(tmp, name, n):
    return benchlib.make_suite(tmp, n, name)


def write_config(tmp, suite, port, concurrency):
    return benchlib.write_config(
        os.path.join(tmp, f"cfg-{os.path.basename(suite)}-{concurrency}.json"),
        f"http://127.0.0.1:{port}/v1", concurrency, [suite])


def evalgate_run(tmp, cfg, n, exe=EVALGATE):
    hist_dir = os.path.join(tmp, f"h-{time.monotonic_ns()}")
    hist = os.path.join(hist_dir, "history.db")
    os.makedirs(hist_dir)
    wall, cpu, rss = run_child([exe, "run", "--config", cfg, "--history", hist,
                                "--no-cache", "-q"])
    db = sqlite3.connect(hist)
    rows, = db.execute("select count(*) from results").fetchone()
    db.close()
    if rows != n:
        sys.exit(f"expected {n} results, found {rows}")
    shutil.rmtree(hist_dir)
    return wall, cpu, rss


def wrk(tmp, port, concurrency, seconds):
    script = os.path.join(tmp, "post.lua")
    with open(script, "w") as f:
        f.write('wrk.method = "POST"\n')
        f.write(f"wrk.body = {lua_string(BODY)}\n")
        for k, v in HEADERS.items():
            f.write(f"wrk.headers[{lua_string(k)}] = {lua_string(v)}\n")
    out = subprocess.run(["wrk", "-t", str(min(WRK_THREADS, concurrency)), "-c", str(concurrency),
                          "-d", f"{seconds}s", "--timeout", "30s", "-s", script,
                          f"http://127.0.0.1:{port}/v1/chat/completions"],
                         capture_output=True, text=True, check=True).stdout
    m = re.search(r"Requests/sec:\s*([0-9.]+)", out)
    bad = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    if not m or bad:
        sys.exit(f"wrk: unexpected output:\n{out}")
    return float(m.group(1))


def interleaved(tmp, suite, latency_ms, concurrency, wrk_seconds):
    """REPS rounds of wrk then each build's evalgate against one mock: wrk's rates, and
    for each build its walls, CPUs and peak RSS"""
    mock, port = start_mock(tmp, latency_ms)
    cfg = write_config(tmp, suite, port, concurrency)
    wrk_rates = []
    runs = [([], [], []) for _ in EXES]
    try:
        for _ in range(REPS):
            wrk_rates.append(wrk(tmp, port, concurrency, wrk_seconds))
            for exe, (walls, cpus, rss) in zip(EXES, runs):
                w, c, r = evalgate_run(tmp, cfg, CASES, exe)
                walls.append(w)
                cpus.append(c)
                rss.append(r)
    finally:
        stop(mock)
    return wrk_rates, runs


def label(k):
    """a build's name in the lines of a two-build run"""
    return f"[{'AB'[k]}] " if len(EXES) > 1 else ""


def builds():
    if len(EXES) > 1:
        for k, exe in enumerate(EXES):
            print(f"  {label(k)}{os.path.dirname(exe)}")


def compared(walls, cpus):
    """B's median wall and CPU over A's, when two builds ran"""
    if len(EXES) > 1:
        w = [statistics.median(x) for x in walls]
        c = [statistics.median(x) for x in cpus]
        print(f"  B/A wall {w[1] / w[0]:.3f}, CPU {c[1] / c[0]:.3f}")


def throughput(tmp, suite):
    wrk_rates, runs = interleaved(tmp, suite, 0, CONC, 3)
    wr = statistics.median(wrk_rates)
    print(f"throughput: mock 0 ms, concurrency {CONC}, {CASES} cases (regex + icontains), "
          f"{REPS} interleaved runs")
    builds()
    print(f"  wrk      {wr:8.0f} requests/s (runs: {runs_text(wrk_rates, '{:.0f}')})")
    for k, (walls, cpus, rss) in enumerate(runs):
        rates = [CASES / w for w in walls]
        er = statistics.median(rates)
        ratios = [e / w for e, w in zip(rates, wrk_rates)]
        print(f"  {label(k)}evalgate {er:8.0f} cases/s    (runs: {runs_text(rates, '{:.0f}')})")
        print(f"  {label(k)}ratio evalgate/wrk {er / wr:.3f} (median of the pairs "
              f"{statistics.median(ratios):.3f})")
        print(f"  {label(k)}evalgate CPU per case {statistics.median(cpus) / CASES * 1e6:.1f} us "
              f"(user+sys; runs: {runs_text([c / CASES * 1e6 for c in cpus], '{:.1f}')}); "
              f"peak RSS {max(rss):.1f} MB")
    compared([r[0] for r in runs], [r[1] for r in runs])


def latency_bound(tmp, suite):
    ideal = CASES / LAT_CONC * LAT_MS / 1000.0
    wrk_rates, runs = interleaved(tmp, suite, LAT_MS, LAT_CONC, max(1, round(ideal)))
    wr = statistics.median(wrk_rates)
    ideal_rate = LAT_CONC / (LAT_MS / 1000.0)
    print(f"latency-bound: mock {LAT_MS} ms, concurrency {LAT_CONC}, {CASES} cases, "
          f"ideal {ideal:.3f} s")
    builds()
    for k, (walls, cpus, rss) in enumerate(runs):
        wall = statistics.median(walls)
        print(f"  {label(k)}evalgate median wall {wall:.3f} s -> {ideal / wall:.3f} of ideal "
              f"(runs: {runs_text(walls, '{:.3f}')}); CPU per case "
              f"{statistics.median(cpus) / CASES * 1e6:.1f} us; peak RSS {max(rss):.1f} MB")
    print(f"  wrk {wr:.0f} requests/s -> {wr / ideal_rate:.3f} of the ideal {ideal_rate:.0f}/s "
          f"(runs: {runs_text(wrk_rates, '{:.0f}')})")
    compared([r[0] for r in runs], [r[1] for r in runs])


def startup(tmp):
    suite = make_suite(tmp, "one", 1)
    mock, port = start_mock(tmp, 0)
    cfg = write_config(tmp, suite, port, 4)
    try:
        evalgate_run(tmp, cfg, 1)  # warm the page cache
        runs = [evalgate_run(tmp, cfg, 1) for _ in range(STARTUP_RUNS)]
    finally:
        stop(mock)
    walls = sorted(w for w, _, _ in runs)
    print(f"start-up: `run` of a 1-case suite, mock 0 ms, fresh history, {STARTUP_RUNS} runs")
    print(f"  median wall {statistics.median(walls) * 1000:.1f} ms (min {walls[0] * 1000:.1f}, "
          f"p90 {walls[int(len(walls) * 0.9)] * 1000:.1f}); CPU "
          f"{statistics.median(c for _, c, _ in runs) * 1000:.1f} ms")


def validate(tmp):
    suite = make_suite(tmp, "big", VALIDATE_CASES)
    cfg = write_config(tmp, suite, 1, 4)
    runs = [run_child([EVALGATE, "validate", "--config", cfg]) for _ in range(REPS)]
    walls = [w for w, _, _ in runs]
    print(f"validate: {VALIDATE_CASES} cases, {REPS} runs")
    print(f"  median wall {statistics.median(walls):.3f} s (runs: {runs_text(walls, '{:.3f}')}); "
          f"peak RSS {max(r for _, _, r in runs):.1f} MB")


def main():
    if not shutil.which("wrk"):
        sys.exit("bench_wrk: wrk is not installed (apt-get install wrk)")
    tmp = tempfile.mkdtemp(prefix="evalgate-bench-wrk-")
    try:
        suite = make_suite(tmp, "suite", CASES)
        if "throughput" not in SKIP:
            throughput(tmp, suite)
        if "latency" not in SKIP:
            latency_bound(tmp, suite)
        if "startup" not in SKIP and len(EXES) == 1:
            startup(tmp)
        if "validate" not in SKIP and len(EXES) == 1:
            validate(tmp)
    finally:
        shutil.rmtree(tmp)


main()
