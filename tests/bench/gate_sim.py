#!/usr/bin/env python3
"""Gate simulation benchmark (not a test): the false-block rate and the power
of regression gate configurations, measured end to end through the real
binary.

Each simulated pull request is a baseline run and a candidate run of
`evalgate run --no-cache` against tests/mock/mock_gateway, whose answer to
each case is right with that case's probability (`pass_p` rules; every run
draws afresh). The candidate runs with `--baseline <the baseline run>` and
three regression gates side by side, so one pair of runs judges all three
configurations (the default gate's confirmation re-asks are made in the
candidate run and counted: the calls column is the candidate's calls over one
run's, averaged over the PRs). The same baseline run serves one no-change candidate and one
candidate per drop. A drop of D points lowers the expected pass rate by D
points, in one of two ways (--drop-model): "top" (the default) lowers the
pass probability of the most reliable cases (each to 0, the last one partly),
cases that broke; "spread" lowers every case's in proportion to it
(p' = p - D p / mean p), the model `evalgate power` simulates.

Suites: het (70% of cases p=.98, 20% p=.8, 10% p=.5) and neardet (95% p=1,
5% p=.8). Rates are printed with Wilson 95% intervals.

--check-power checks `evalgate power` against the measured rates. For each
(suite, n) cell it first makes a history of R complete runs (--power-runs,
default 20) of the same target against the no-change mock, each at
`--repeat 1` as the baseline runs are made, then runs `evalgate power --json
--runs R --n N --prs P --seed S --drop D,...` on it (P: --power-prs, default
2000) once per gate configuration it models, with a config whose first
regression gate is that configuration: the default gate (with flip
confirmation) and `"confirm": false`. After the PRs it prints, per drop and
configuration, the measured rate and power's estimate, each with its Wilson
95% interval, and `agrees` when the two intervals overlap; it exits 1 when
any does not. The drops are compared only under --drop-model spread (power
models no other); the no-change false-block rate is compared under either.

Why overlap: both figures are estimates, the measured one from --prs PRs
and power's from P simulated PRs on rates that are themselves estimated
from R runs (an error its interval does not show), so equality is not to be
expected; what the check looks for is a model that is wrong (a different
drop, confirmation re-asked another way, errors or min_paired the model
leaves out), which moves the estimate beyond both intervals. Overlap of
two 95% intervals is a lenient test (a difference is flagged at about the
0.6% level when the intervals are of equal width), so a flag means a real
difference, not chance. The bias R runs bring: a case's rate estimated from
R Bernoulli draws under-estimates its flakiness by a factor (1 - 1/R) on
average (E[p^(1 - p^)] = p(1 - p)(1 - 1/R)), and a case with p = .98 passes
all of R = 20 runs two times in three, so power sees it as never flipping:
power's false-block rate leans low, by more the fewer the runs.

    tests/bench/gate_sim.py [--build DIR] [--prs N] [--n 100,500]
                            [--suites het,neardet] [--drops 5,2] [--seed S]
                            [--drop-model top|spread] [--check-power]
                            [--power-runs R] [--power-prs P] [--gate NAME=JSON ...]
"""
import argparse
import json
import math
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

GATES = [
    # the recommended default: alpha 0.1 and flip confirmation (max_extra_calls 0.25,
    # max_asks 2); its re-asks are the only extra calls of the candidate run
    ("default", {"metric": "regression"}),
    ("no-confirm", {"metric": "regression", "confirm": False}),
    ("alpha.05", {"metric": "regression", "alpha": 0.05}),
    ("readme-0.3", {"metric": "regression", "max_new_failures": 0, "alpha": 0.05,
                    "exclude_flaky": True}),
]

SUITES = {
    "het": [(0.7, 0.98), (0.2, 0.8), (0.1, 0.5)],
    "neardet": [(0.95, 1.0), (0.05, 0.8)],
}


def probabilities(kind, n):
    ps = []
    for frac, p in SUITES[kind]:
        ps += [p] * int(round(frac * n))
    return (ps + [SUITES[kind][-1][1]] * n)[:n]


def dropped(ps, points):
    """ps with the most reliable cases lowered until the mean is `points` lower"""
    left = points / 100.0 * len(ps)
    out = list(ps)
    for i in sorted(range(len(ps)), key=lambda i: -ps[i]):
        if left <= 1e-12:
            break
        d = min(out[i], left)
        out[i] -= d
        left -= d
    return out


def spread(ps, points):
    """ps each lowered in proportion to it, so the mean is `points` lower (as evalgate power)"""
    mean = sum(ps) / len(ps)
    d = points / 100.0
    return [p - d * p / mean for p in ps] if mean > 0 else list(ps)


DROP_MODELS = {"top": dropped, "spread": spread}

# the configurations `evalgate power` is checked for, each the first regression gate of its
# config (power reads that one)
POWER_GATES = ["default", "no-confirm"]


def wilson(k, n, z=1.96):
    if n == 0:
        return (float("nan"),) * 3
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return p, max(0.0, mid - half), min(1.0, mid + half)


class Mock:
    def __init__(self, binary, tmp, name, ps, seed):
        self.script = os.path.join(tmp, name + ".jsonl")
        with open(self.script, "w") as f:
            for i, p in enumerate(ps):
                f.write(json.dumps({"case": "c%d" % i, "reply": "right", "pass_p": round(p, 12)})
                        + "\n")
        port_file = os.path.join(tmp, name + ".port")
        self.proc = subprocess.Popen([binary, "--port-file", port_file, "--script", self.script,
                                      "--seed", str(seed)], stdout=subprocess.DEVNULL)
        for _ in range(200):
            if os.path.exists(port_file) and os.path.getsize(port_file):
                break
            time.sleep(0.05)
        else:
            self.stop()
            sys.exit("mock gateway did not start")
        with open(port_file) as f:
            self.url = "http://127.0.0.1:%s/v1" % f.read().strip()

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def write_suite(tmp, n):
    d = os.path.join(tmp, "suite")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "suite.json"), "w") as f:
        json.dump({"name": "sim", "version": "1.0.0", "kind": "golden",
                   "scorers": [{"type": "contains", "value": "right"}]}, f)
    with open(os.path.join(d, "cases.jsonl"), "w") as f:
        for i in range(n):
            f.write(json.dumps({"id": "c%d" % i, "input": "question %d" % i}) + "\n")
    return d


def write_config(path, gates):
    cfg = {"gateway": {"base_url": "${EVALGATE_BASE_URL}", "api_key_env": "EVALGATE_API_KEY",
                       "timeout_s": 10, "max_retries": 2, "concurrency": 32,
                       "max_error_rate": 1},
           "target": {"name": "sim-bot", "version": "v1", "model": "mock-model"},
           "suites": [], "gates": gates}
    with open(path, "w") as f:
        json.dump(cfg, f)


def env_for(url):
    env = dict(os.environ, EVALGATE_BASE_URL=url, EVALGATE_API_KEY="sk-sim")
    env.pop("GITHUB_STEP_SUMMARY", None)
    return env


class Runner:
    def __init__(self, evalgate, tmp, suite):
        self.evalgate, self.tmp, self.suite = evalgate, tmp, suite
        self.db = os.path.join(tmp, "h.db")
        self.base_cfg = os.path.join(tmp, "base.json")
        self.cand_cfg = os.path.join(tmp, "cand.json")
        write_config(self.base_cfg, [])
        write_config(self.cand_cfg, [dict(g, name=name) for name, g in GATES])

    def run(self, cfg, url, extra, db=None):
        id_file = os.path.join(self.tmp, "run.id")
        env = env_for(url)
        r = subprocess.run([self.evalgate, "run", "--config", cfg, "--suite", self.suite,
                            "--history", db or self.db, "--no-cache", "-q", "--color", "never",
                            "--run-id-file", id_file] + extra,
                           env=env, cwd=self.tmp, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
        if r.returncode not in (0, 1):
            sys.exit("evalgate run exited %d: %s" % (r.returncode, r.stderr))
        with open(id_file) as f:
            return f.read().strip()

    def blocks(self, run_id, base_id):
        """{gate name: blocked} of a candidate run, checked against its baseline"""
        con = sqlite3.connect(self.db)
        rows = con.execute("select name, pass, detail from gates where run_id = ?",
                           (run_id,)).fetchall()
        con.close()
        out = {}
        for name, ok, detail in rows:
            d = json.loads(detail)
            if d.get("baseline") != base_id or d.get("error"):
                sys.exit("gate %s compared against %s, not %s: %s"
                         % (name, d.get("baseline"), base_id, d.get("error")))
            out[name] = not ok
        if sorted(out) != sorted(name for name, _ in GATES):
            sys.exit("missing gates in run %s: %s" % (run_id, sorted(out)))
        return out

    def power(self, url, runs, n, prs, seed, drops):
        """{gate name: evalgate power's JSON} from a history of `runs` no-change runs"""
        db = os.path.join(self.tmp, "power.db")
        for _ in range(runs):
            self.run(self.base_cfg, url, ["--repeat", "1"], db)
        out = {}
        for name in POWER_GATES:
            cfg = os.path.join(self.tmp, "power-%s.json" % name)
            write_config(cfg, [dict(dict(GATES)[name], name=name)])
            r = subprocess.run([self.evalgate, "power", "--config", cfg, "--history", db,
                                "--runs", str(runs), "--n", str(n), "--prs", str(prs),
                                "--seed", str(seed), "--drop", ",".join("%g" % d for d in drops),
                                "--json"],
                               env=env_for(url), cwd=self.tmp, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
            if r.returncode != 0:
                sys.exit("evalgate power exited %d: %s" % (r.returncode, r.stderr))
            out[name] = json.loads(r.stdout)
            if out[name]["runs"] != runs or out[name]["cases"] != n:
                sys.exit("evalgate power read %d runs of %d cases, not %d of %d"
                         % (out[name]["runs"], out[name]["cases"], runs, n))
        return out

    def confirm_calls(self, run_id):
        con = sqlite3.connect(self.db)
        row = con.execute("select coalesce(confirm_calls, 0) from runs where id = ?",
                          (run_id,)).fetchone()
        con.close()
        return row[0]


def check_power(kind, n, a, drops, counts, est):
    """print the measured rates beside evalgate power's; the number that disagree"""
    bad = 0
    print("%-8s %5s %5s %-11s %-22s %-22s %s" % ("power", "n", "drop", "gate", "measured",
                                                 "evalgate power", "verdict"), flush=True)
    for k, d in enumerate(drops):
        for name in POWER_GATES:
            if d and a.drop_model != "spread":
                continue
            p, lo, hi = wilson(counts[(d, name)], a.prs)
            e = est[name]["drops"][k - 1] if d else est[name]["no_change"]
            ok = lo <= e["hi"] and e["lo"] <= hi
            bad += not ok
            print("%-8s %5d %5g %-11s %5.1f%% [%4.1f, %4.1f]  %5.1f%% [%4.1f, %4.1f]  %s"
                  % (kind, n, d, name, 100 * p, 100 * lo, 100 * hi, 100 * e["rate"],
                     100 * e["lo"], 100 * e["hi"], "agrees" if ok else "DISAGREES"), flush=True)
    print("# %s n=%d: evalgate power from %d no-change runs, %d simulated PRs, seed %d"
          % (kind, n, a.power_runs, a.power_prs, a.seed), flush=True)
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--prs", type=int, default=200)
    ap.add_argument("--n", default="100,500")
    ap.add_argument("--suites", default="het,neardet")
    ap.add_argument("--drops", default="5,2", help="points of expected pass rate (power)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--drop-model", choices=sorted(DROP_MODELS), default="top",
                    help="top: the most reliable cases break; spread: every case in proportion")
    ap.add_argument("--check-power", action="store_true",
                    help="check evalgate power's estimates against the measured rates")
    ap.add_argument("--power-runs", type=int, default=20,
                    help="no-change runs in the history evalgate power reads (default 20)")
    ap.add_argument("--power-prs", type=int, default=2000,
                    help="evalgate power --prs (default 2000)")
    ap.add_argument("--gate", action="append", default=[], metavar="NAME=JSON",
                    help="one more regression gate configuration to measure beside the "
                         "others, e.g. 'share.3={\"metric\": \"regression\", \"confirm\": "
                         "{\"alpha_share\": 0.3}}' (repeatable)")
    a = ap.parse_args()
    for spec in a.gate:
        name, _, text = spec.partition("=")
        try:
            g = json.loads(text)
        except ValueError as e:
            ap.error("--gate %s: %s" % (spec, e))
        if not name or name in dict(GATES) or not isinstance(g, dict):
            ap.error("--gate %s: expected a new NAME=JSON object" % spec)
        GATES.append((name, g))
    if a.power_runs < 1 or a.power_prs < 10:
        ap.error("--power-runs must be at least 1 and --power-prs at least 10")
    drop = DROP_MODELS[a.drop_model]
    disagree = 0
    # SIGTERM unwinds like Ctrl-C: the mocks are stopped, the directory removed
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    build = os.path.abspath(a.build)
    evalgate = os.path.join(build, "evalgate")
    mock = os.path.join(build, "tests", "mock_gateway")
    drops = [0.0] + [float(x) for x in a.drops.split(",") if x]
    print("command: %s" % " ".join([sys.argv[0]] + sys.argv[1:]), flush=True)
    print("%-8s %5s %5s %-11s %7s  %-18s %-14s %s" % ("suite", "n", "drop", "gate", "PRs",
                                                      "blocked", "95% interval", "calls"),
          flush=True)
    for kind in a.suites.split(","):
        for n in [int(x) for x in a.n.split(",")]:
            tmp = tempfile.mkdtemp(prefix="evalgate-gate-sim.")
            mocks = []
            try:
                ps = probabilities(kind, n)
                suite = write_suite(tmp, n)
                runner = Runner(evalgate, tmp, suite)
                for k, d in enumerate(drops):
                    mocks.append(Mock(mock, tmp, "m%d" % k, drop(ps, d) if d else ps,
                                      a.seed * 1000 + k))
                counts = {(d, name): 0 for d in drops for name, _ in GATES}
                extra = {d: 0 for d in drops}
                t0 = time.time()
                est = None
                if a.check_power:
                    est = runner.power(mocks[0].url, a.power_runs, n, a.power_prs, a.seed,
                                       drops[1:])
                for _ in range(a.prs):
                    if os.path.exists(runner.db):
                        os.unlink(runner.db)
                    base = runner.run(runner.base_cfg, mocks[0].url, [])
                    for k, d in enumerate(drops):
                        cand = runner.run(runner.cand_cfg, mocks[k].url, ["--baseline", base])
                        for name, blocked in runner.blocks(cand, base).items():
                            counts[(d, name)] += blocked
                        extra[d] += runner.confirm_calls(cand)
                secs = time.time() - t0
                for d in drops:
                    for name, _ in GATES:
                        k = counts[(d, name)]
                        p, lo, hi = wilson(k, a.prs)
                        calls = 1 + extra[d] / float(a.prs * n) if name == "default" else 1
                        print("%-8s %5d %5g %-11s %7d  %4d = %5.1f%%      %-14s %.3fx"
                              % (kind, n, d, name, a.prs, k, 100 * p,
                                 "[%.1f, %.1f]" % (100 * lo, 100 * hi), calls), flush=True)
                print("# %s n=%d: %d PRs, %d runs in %.0f s" % (kind, n, a.prs,
                                                             a.prs * len(mocks) + a.prs, secs),
                      flush=True)
                if est:
                    disagree += check_power(kind, n, a, drops, counts, est)
            finally:
                for m in mocks:
                    m.stop()
                shutil.rmtree(tmp, ignore_errors=True)
    if disagree:
        print("# evalgate power disagrees with the measured rates in %d row%s"
              % (disagree, "" if disagree == 1 else "s"), flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
