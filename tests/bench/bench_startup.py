"""Start-up of evalgate: what a short command costs before it does any work.

  python3 tests/bench/bench_startup.py BUILD_DIR [OTHER_BUILD_DIR]
  tests/bench/bench_startup.sh build                   (the same through the shell)

Environment: RUNS (30).

Measures, in one loop so a busy machine weighs on each alike (the commands
are interleaved: true, --version, validate, run, true, --version, ...):
  /bin/true                       the cost of fork + exec of any program here
  evalgate --version              loading the binary and its shared libraries
  evalgate validate               a 1-case suite: the config and the suite read
  evalgate run                    a 1-case suite against tests/mock/mock_gateway
                                  at 0 ms (the first build's that has one), a
                                  fresh history each time
Prints the median wall time of RUNS runs of each (and the min and CPU).

With a second build directory, each command runs from both builds in turn
(A, B, A, B, ...) and the ratio B/A of the medians is printed too: on a busy
machine compare builds by that ratio, not by absolute figures.
"""
import json
import os
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

RUNS = int(os.environ.get("RUNS", "30"))
builds = [os.path.abspath(b) for b in (sys.argv[1:] or ["build"])]


def run_child(argv):
    """wall and user+sys CPU seconds of one child, which must exit 0"""
    wall, cpu, _ = benchlib.run_child(argv)
    return wall, cpu


def commands(tmp, exe, cfg):
    """name -> a function running the command once from exe: (wall, cpu)"""
    def run():
        hist_dir = tempfile.mkdtemp(dir=tmp)
        try:
            return run_child([exe, "run", "--config", cfg, "--history",
                              os.path.join(hist_dir, "history.db"), "--no-cache", "-q"])
        finally:
            shutil.rmtree(hist_dir)
    return {
        "--version": lambda: run_child([exe, "--version"]),
        "validate": lambda: run_child([exe, "validate", "--config", cfg]),
        "run": run,
    }


def ms(x):
    return f"{x * 1000:6.1f}"


def main():
    tmp = tempfile.mkdtemp(prefix="evalgate-bench-startup-")
    mock = None
    try:
        suite = benchlib.make_suite(tmp, 1, "one")
        mocks = [os.path.join(b, "tests", "mock_gateway") for b in builds]
        mock, port = benchlib.start_mock(next((m for m in mocks if os.path.exists(m)), mocks[0]),
                                         tmp, 0)
        cfg = os.path.join(tmp, "evalgate.json")
        with open(cfg, "w") as f:
            json.dump({"gateway": {"base_url": f"http://127.0.0.1:{port}/v1", "timeout_s": 30,
                                   "max_retries": 2, "concurrency": 4},
                       "target": {"name": "bench", "version": "1", "model": "m"},
                       "suites": [suite]}, f)
        names = ["/bin/true", "--version", "validate", "run"]
        cmds = [commands(tmp, os.path.join(b, "evalgate"), cfg) for b in builds]
        for c in cmds:
            c["/bin/true"] = lambda: run_child(["/bin/true"])
        res = [{n: [] for n in names} for _ in builds]
        for c in cmds:  # warm the page cache
            for n in names:
                c[n]()
        for _ in range(RUNS):
            for n in names:
                for i, c in enumerate(cmds):
                    res[i][n].append(c[n]())
        print(f"start-up: median wall (min; median CPU) in ms of {RUNS} interleaved runs; "
              f"1-case suite, mock at 0 ms, fresh history per run")
        for i, b in enumerate(builds):
            print(f"  [{'AB'[i] if len(builds) > 1 else ' '}] {b}")
        for n in names:
            line = f"  {n:10s}"
            for i, _ in enumerate(builds):
                walls = [w for w, _ in res[i][n]]
                cpus = [c for _, c in res[i][n]]
                line += (f"  {ms(statistics.median(walls))} (min {ms(min(walls))}; "
                         f"CPU {ms(statistics.median(cpus))})")
            if len(builds) > 1:
                a = statistics.median(w for w, _ in res[0][n])
                b = statistics.median(w for w, _ in res[1][n])
                ca = statistics.median(c for _, c in res[0][n])
                cb = statistics.median(c for _, c in res[1][n])
                line += f"  B/A {b / a:.3f} (CPU {cb / ca:.3f})"
            print(line)
    finally:
        if mock:
            mock.terminate()
            mock.wait()
        shutil.rmtree(tmp)


main()
