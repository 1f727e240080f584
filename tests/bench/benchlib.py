"""Shared by the benchmarks: the mock gateway and the generated suite."""
import json
import os
import subprocess
import sys
import time


def start_mock(mock, tmp, latency_ms):
    """start build/tests/mock_gateway replying after latency_ms: (process, port)"""
    port_file = os.path.join(tmp, "port")
    if os.path.exists(port_file):
        os.unlink(port_file)
    p = subprocess.Popen([mock, "--port", "0", "--port-file", port_file,
                          "--latency-ms", str(latency_ms)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(400):
        if os.path.exists(port_file) and open(port_file).read().strip():
            break
        time.sleep(0.025)
    return p, int(open(port_file).read())


def make_suite(tmp, n, name="suite"):
    """a golden suite of n cases, each scored by a regex and an icontains scorer"""
    d = os.path.join(tmp, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "suite.json"), "w") as f:
        json.dump({"name": "bench", "version": "1", "kind": "golden",
                   "scorers": [{"type": "regex", "pattern": "\\bquestion \\d+\\b", "flags": "i"},
                               {"type": "icontains", "value": "ECHO"}]}, f)
    with open(os.path.join(d, "cases.jsonl"), "w") as f:
        for i in range(n):
            f.write(json.dumps({"id": f"case-{i:07d}",
                                "input": f"Please answer question {i} about the refund policy."}) + "\n")
    return d


def run_child(argv):
    """wall seconds, user+sys CPU seconds, peak RSS (MB) of one child, which must exit 0"""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        sys.exit(f"{' '.join(argv)} failed ({rc}): {err.decode()[-2000:]}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0
