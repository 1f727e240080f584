"""Size and time of the reports of a large run (not a timed test).

Builds a history with one run of N cases (default 100,000) directly with
sqlite3, after a one-case run through the mock gateway has created the
schema, then writes the HTML, Markdown and JSON reports with `evalgate
report` and prints their sizes and the time each took. Exits 1 when the HTML
is not under 30 MB or the Markdown not under 1 MiB.

    python3 tests/bench/report_size.py BUILD_DIR [N]
"""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

build, EVALGATE, MOCK = benchlib.binaries(sys.argv)
SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
n = int(sys.argv[2]) if len(sys.argv) > 2 else 100000


def seed(tmp, db):
    """one real run through the mock: creates the schema the binary expects"""
    os.makedirs(os.path.join(tmp, "s"))
    with open(os.path.join(tmp, "s", "suite.json"), "w") as f:
        json.dump({"name": "seed", "version": "1", "kind": "golden",
                   "scorers": [{"type": "contains", "value": "echo"}]}, f)
    with open(os.path.join(tmp, "s", "cases.jsonl"), "w") as f:
        f.write(json.dumps({"id": "c1", "input": "hello"}) + "\n")
    with open(os.path.join(tmp, "cfg.json"), "w") as f:
        json.dump({"gateway": {"base_url": "${EVALGATE_BASE_URL}", "api_key_env": "EVALGATE_API_KEY"},
                   "target": {"name": "bench-bot", "version": "v1", "model": "m"},
                   "suites": ["s"], "gates": [{"metric": "pass_rate", "min": 0.9}]}, f)
    mock, port = benchlib.start_mock(MOCK, tmp)
    try:
        env = dict(os.environ, EVALGATE_API_KEY="k", EVALGATE_BASE_URL="http://127.0.0.1:%d/v1" % port)
        env.pop("GITHUB_STEP_SUMMARY", None)
        subprocess.run([EVALGATE, "run", "--config", os.path.join(tmp, "cfg.json"), "--history", db,
                        "-q", "--no-cache"], env=env, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    finally:
        benchlib.stop(mock)


def fill(db, n):
    """a run of n cases in 4 suites: answers of ~300 bytes with markup, 5% failures, 0.5% errors"""
    con = sqlite3.connect(db)
    run = "20300101T000000Z-b16b16"
    con.execute("INSERT INTO runs (id, started_at, finished_at, status, verdict, target, version, model) "
                "VALUES (?, '2030-01-01T00:00:00.000Z', '2030-01-01T00:10:00Z', 'finished', 'fail', "
                "'bench-bot', 'v2', 'm')", (run,))
    suites = ["support-golden", "rag-golden", "injection", "pii-leak"]
    for s in suites:
        con.execute("INSERT INTO run_suites (run_id, name, version, hash, kind) VALUES (?, ?, '1.0.0', ?, ?)",
                    (run, s, "ab" * 32, "adversarial" if s in ("injection", "pii-leak") else "golden"))
    answer = ("Thanks for reaching out! Your order <#%d> ships in 3-5 business days & you can track it "
              "from the \"Orders\" page. If anything is wrong, reply here and we'll fix it quickly. "
              "Refunds take 5 days after the item arrives at our warehouse in <b>Leeds</b>. Case %d.")
    results, scores, texts = [], [], []
    for i in range(n):
        suite = suites[i % len(suites)]
        cid = "case-%06d" % i
        status = "error" if i % 201 == 7 else "fail" if i % 21 == 3 else "pass"
        out = None if status == "error" else answer % (i, i)
        results.append((run, suite, cid, "h%d" % i, i, status, out, 120.0 + i % 900, 40, 60, 0.0001,
                        "stop", "HTTP 500: upstream" if status == "error" else None, 1, 0, "billing,tier-%d" % (i % 3)))
        texts.append(("h%d" % i, json.dumps("Where is order #%d? <script>alert(%d)</script>" % (i, i)),
                      json.dumps(["Orders ship in 3-5 business days."]), "3-5 business days"))
        if out is not None:
            scores.append((run, suite, cid, 0, 0, "regex", "regex", 1.0 if status == "pass" else 0.0,
                           1 if status == "pass" else 0,
                           "matched" if status == "pass" else "output does not match /\\b3-5 days\\b/", None))
    con.executemany("INSERT INTO results (run_id, suite, case_id, case_hash, ordinal, status, output, latency_ms, "
                    "prompt_tokens, completion_tokens, cost_usd, finish_reason, error, attempts, cached, tags) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", results)
    con.executemany("INSERT INTO scores (run_id, suite, case_id, repeat, idx, scorer, type, score, pass, reason, detail) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?)", scores)
    con.executemany("INSERT OR IGNORE INTO case_texts (hash, input, context, expected) VALUES (?,?,?,?)", texts)
    con.execute("INSERT INTO gates (run_id, idx, name, metric, scope, value, op, threshold, pass, n) "
                "VALUES (?, 0, 'golden pass rate', 'pass_rate', 'all', 0.94, '>=', 0.95, 0, ?)", (run, n))
    con.commit()
    con.close()
    return run


def main():
    with tempfile.TemporaryDirectory() as tmp:
        tmp = os.environ.get("KEEP", tmp)  # KEEP=DIR keeps the history and reports
        os.makedirs(tmp, exist_ok=True)
        db = os.path.join(tmp, "h.db")
        seed(tmp, db)
        t0 = time.time()
        run = fill(db, n)
        print("history of %d cases built in %.1f s" % (n, time.time() - t0))
        sizes = {}
        env = dict(os.environ)
        env.pop("GITHUB_STEP_SUMMARY", None)
        for kind in ("html", "markdown", "json"):
            out = os.path.join(tmp, "report." + kind)
            t0 = time.time()
            subprocess.run([EVALGATE, "report", run, "--history", db, "--" + kind, out], env=env, check=True)
            sizes[kind] = os.path.getsize(out)
            print("%-8s %10.2f MB  %6.2f s" % (kind, sizes[kind] / 1e6, time.time() - t0))
        ok = sizes["html"] < 30 * 1000 * 1000 and sizes["markdown"] < 1 << 20
        print("HTML under 30 MB and Markdown under 1 MiB: %s" % ("yes" if ok else "NO"))
        # open the HTML in headless Chromium: it loads with no error, filters and expands
        opener = os.path.join(SRC, "tests", "browser", "open_report.js")
        if not os.path.isdir(os.path.join(SRC, "tests", "browser", "node_modules", "playwright-core")):
            print("Chromium check: tests/browser/node_modules missing (./dev.sh test installs it)")
            return 1
        t0 = time.time()
        res = subprocess.run(["node", opener, os.path.join(tmp, "report.html")], check=True,
                             capture_output=True, text=True)
        opened = json.loads(res.stdout.strip().splitlines()[-1])
        print("Chromium: %d rows laid out, loaded in %.1f s, filter %.2f s, details %.2f s, "
              "%d errors (%.1f s in all)" % (opened["rows"], opened["load_ms"] / 1000,
                                             opened["filter_ms"] / 1000,
                                             opened["open_details_ms"] / 1000,
                                             len(opened["errors"]), time.time() - t0))
        ok = ok and not opened["errors"] and opened["rows"] > 0
        return 0 if ok else 1


sys.exit(main())
