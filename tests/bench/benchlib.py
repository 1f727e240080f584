"""Shared by the benchmarks: the binaries, the mock gateway, the generated
suite and config, one measured child process, the runs as text."""
import json
import os
import subprocess
import sys
import time

# the suite make_suite() writes unless told otherwise
SCORERS = [{"type": "regex", "pattern": "\\bquestion \\d+\\b", "flags": "i"},
           {"type": "icontains", "value": "ECHO"}]


def question(i):
    """the case make_suite() writes unless told otherwise"""
    return {"id": f"case-{i:07d}", "input": f"Please answer question {i} about the refund policy."}


def binaries(argv):
    """the build directory argv[1] (default build), made absolute: (build, evalgate, mock gateway)"""
    build = os.path.abspath(argv[1] if len(argv) > 1 else "build")
    return build, os.path.join(build, "evalgate"), os.path.join(build, "tests", "mock_gateway")


def env_int(name, default):
    """the whole number in the environment variable name, else default"""
    return int(os.environ.get(name, str(default)))


def start_mock(mock, tmp, latency_ms=None, script=None):
    """start build/tests/mock_gateway (replying after latency_ms unless None, from the
    --script file script unless None) and wait for its port: (process, port)"""
    port_file = os.path.join(tmp, "port")
    if os.path.exists(port_file):
        os.unlink(port_file)
    argv = [mock, "--port", "0", "--port-file", port_file]
    if latency_ms is not None:
        argv += ["--latency-ms", str(latency_ms)]
    if script is not None:
        argv += ["--script", script]
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(400):
        if os.path.exists(port_file) and open(port_file).read().strip():
            break
        time.sleep(0.025)
    return p, int(open(port_file).read())


def stop(p):
    """end a process start_mock() started"""
    p.terminate()
    p.wait()


def make_suite(tmp, n, name="suite", scorers=None, case=question, extra=None):
    """a golden suite "bench" of n cases case(0) ... case(n - 1) in tmp/name, scored by
    scorers (default SCORERS: a regex and an icontains scorer); extra adds members to
    its suite.json"""
    d = os.path.join(tmp, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "suite.json"), "w") as f:
        json.dump({"name": "bench", "version": "1", "kind": "golden",
                   **(extra or {}), "scorers": SCORERS if scorers is None else scorers}, f)
    with open(os.path.join(d, "cases.jsonl"), "w") as f:
        for i in range(n):
            f.write(json.dumps(case(i)) + "\n")
    return d


def gateway(base_url, concurrency):
    """the config's gateway of the benchmarks: base_url, timeout 30 s, 2 retries"""
    return {"base_url": base_url, "timeout_s": 30, "max_retries": 2, "concurrency": concurrency}


def write_config(path, base_url, concurrency, suites, target=None):
    """write the config at path: gateway(), the target (default: chat, model "m"), suites"""
    with open(path, "w") as f:
        json.dump({"gateway": gateway(base_url, concurrency),
                   "target": target or {"name": "bench", "version": "1", "model": "m"},
                   "suites": suites}, f)
    return path


def run_child(argv, what=None):
    """wall seconds, user+sys CPU seconds, peak RSS (MB) of one child, which must exit 0
    (else the benchmark stops with its stderr, named what or its command line)"""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"{what or ' '.join(argv)} failed ({p.returncode}): {err.decode()[-2000:]}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0


def sql(db, query):
    """the rows of query on the SQLite file db, as sqlite3 prints them"""
    return subprocess.run(["sqlite3", db, query], capture_output=True, text=True).stdout.strip()


def runs_text(xs, fmt):
    """the runs xs, each formatted with fmt, comma-separated"""
    return ", ".join(fmt.format(x) for x in xs)
