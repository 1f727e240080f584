"""evalgate benchmarks: run the real binary against the mock gateway, report medians."""
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

build, EVALGATE, MOCK = benchlib.binaries(sys.argv)
CASES = benchlib.env_int("CASES", 10000)
REPS = benchlib.env_int("REPS", 5)


def run_once(tmp, suite, port, concurrency):
    hist = os.path.join(tmp, f"h-{time.monotonic_ns()}", "history.db")
    cfg = benchlib.write_config(os.path.join(tmp, "cfg.json"), f"http://127.0.0.1:{port}/v1",
                                concurrency, [suite])
    wall, _, rss = benchlib.run_child([EVALGATE, "run", "--config", cfg, "--history", hist,
                                       "--no-cache", "-q"], "evalgate")
    rows = benchlib.sql(hist, "select count(*) from results")
    if int(rows) != CASES:
        sys.exit(f"expected {CASES} results, found {rows}")
    shutil.rmtree(os.path.dirname(hist))
    return wall, rss


def bench(tmp, suite, latency, concurrency):
    mock, port = benchlib.start_mock(MOCK, tmp, latency)
    try:
        runs = [run_once(tmp, suite, port, concurrency) for _ in range(REPS)]
    finally:
        benchlib.stop(mock)
    walls = [w for w, _ in runs]
    rss = [r for _, r in runs]
    return statistics.median(walls), max(rss), walls


def main():
    tmp = tempfile.mkdtemp(prefix="evalgate-bench-")
    try:
        suite = benchlib.make_suite(tmp, CASES)
        wall, rss, walls = bench(tmp, suite, 0, 64)
        print(f"throughput: {CASES} cases, regex + icontains, mock latency 0 ms, concurrency 64")
        print(f"  median wall {wall:.3f} s over {REPS} runs -> {CASES / wall:.0f} cases/s "
              f"(runs: {benchlib.runs_text(walls, '{:.2f}')}); peak RSS {rss:.1f} MB")
        wall, rss, walls = bench(tmp, suite, 100, 256)
        ideal = CASES * 0.100 / 256
        print(f"concurrency: {CASES} cases, mock latency 100 ms, concurrency 256")
        print(f"  ideal {ideal:.3f} s, median wall {wall:.3f} s -> efficiency {ideal / wall:.3f} "
              f"(runs: {benchlib.runs_text(walls, '{:.2f}')}); peak RSS {rss:.1f} MB")
    finally:
        shutil.rmtree(tmp)


main()
