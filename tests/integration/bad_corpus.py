#!/usr/bin/env python3
"""Generates the bad-input corpus: configs and suites that are each wrong in one
place, with the file whose line the message must name. Deterministic: the same
corpus every run.

    bad_corpus.py DIR   writes DIR/NNN/{evalgate.json, s/suite.json, s/cases.jsonl}
                        and DIR/index.tsv: NNN <TAB> file the message names <TAB> what
"""
import copy
import json
import os
import sys

BASE_CFG = {
    "gateway": {"base_url": "http://127.0.0.1:9/v1", "api_key_env": "EG_CORPUS_KEY",
                "headers": {"x-team": "t"}, "timeout_s": 5, "max_retries": 1,
                "concurrency": 4, "max_error_rate": 0.5},
    "target": {"name": "bot", "version": "v1", "model": "m", "params": {"temperature": 0}},
    "judge": {"model": "j", "params": {"temperature": 0}, "samples": 1},
    "suites": ["s"],
    "gates": [{"name": "pass", "suite": "s", "metric": "pass_rate", "min": 0.5}],
    "prices": {"m": {"input_per_mtok": 1, "output_per_mtok": 2}},
    "promotion": {"production": {"require_suites": ["s"], "max_age_days": 7}},
    "registry": "sqlite:reg.db",
}
BASE_SUITE = {"name": "s", "version": "1.0.0", "kind": "golden",
              "scorers": [{"type": "contains", "value": "x"}]}
BASE_CASES = [{"id": "a", "input": "hello", "expected": "x"},
              {"id": "b", "input": "world", "expected": "y"}]

# wrong values per config field: (path, value); None deletes the field
CFG_BAD = [
    ("gateway", None), ("gateway", "http://x"), ("gateway", []),
    ("gateway.base_url", None), ("gateway.base_url", 5), ("gateway.base_url", ""),
    ("gateway.base_url", "ftp://h/v1"), ("gateway.base_url", "http://"),
    ("gateway.base_url", "http:///v1"), ("gateway.base_url", "http://h/v 1"),
    ("gateway.base_url", "http://h/v1\r\nX-Evil: 1"), ("gateway.base_url", "http://h\tx/v1"),
    ("gateway.base_url", "${UNTERMINATED"), ("gateway.base_url", "${1BAD}"),
    ("gateway.base_url", "${}"), ("gateway.api_key_env", "not a name"),
    ("gateway.api_key_env", 7), ("gateway.api_key_env", ""),
    ("gateway.headers", "x"), ("gateway.headers", {"x": 1}), ("gateway.headers", {"": "v"}),
    ("gateway.headers", {"Authorization": "Bearer k"}), ("gateway.headers", {"x": "a\nb"}),
    ("gateway.headers", {"bad name": "v"}), ("gateway.timeout_s", 0),
    ("gateway.timeout_s", -1), ("gateway.timeout_s", "5"), ("gateway.timeout_s", 1e9),
    ("gateway.max_retries", -1), ("gateway.max_retries", 1.5), ("gateway.max_retries", 100),
    ("gateway.concurrency", 0), ("gateway.concurrency", 2.5), ("gateway.concurrency", 1e6),
    ("gateway.concurrency", True), ("gateway.max_error_rate", 2), ("gateway.max_error_rate", -0.1),
    ("gateway.rps", -1), ("gateway.max_response_bytes", -5), ("gateway.nope", 1),
    ("target", None), ("target", "bot"), ("target.name", None), ("target.name", ""),
    ("target.name", 3), ("target.name", "bot\u0000x"), ("target.name", "bot\u001b[2J"),
    ("target.version", None), ("target.version", []), ("target.model", None),
    ("target.model", {}), ("target.params", "hot"), ("target.params", [1]),
    ("target.system", 5), ("target.type", "ftp"), ("target.type", 1), ("target.extra", True),
    ("judge", "j"), ("judge.model", 1), ("judge.samples", 0), ("judge.samples", 1.5),
    ("judge.samples", "3"), ("judge.params", 2), ("judge.other", 1),
    ("suites", None), ("suites", "s"), ("suites", []), ("suites", [""]), ("suites", [1]),
    ("suites", ["s", "s"]), ("suites", ["nope"]), ("suites", ["s\u0000x"]),
    ("gates", "x"), ("gates", [1]), ("gates", [{}]), ("gates", [{"metric": "nope"}]),
    ("gates", [{"metric": "pass_rate"}]), ("gates", [{"metric": "pass_rate", "min": "0.5"}]),
    ("gates", [{"metric": "pass_rate", "min": 2}]), ("gates", [{"metric": "pass_rate", "min": 0.5, "max": 0.1}]),
    ("gates", [{"name": "", "metric": "pass_rate", "min": 0.5}]),
    ("gates", [{"name": 5, "metric": "pass_rate", "min": 0.5}]),
    ("gates", [{"metric": "pass_rate", "min": 0.5, "suite": 3}]),
    ("gates", [{"metric": "pass_rate", "min": 0.5, "bogus": 1}]),
    ("gates", [{"metric": "latency_ms", "stat": "p101", "max": 5}]),
    ("gates", [{"metric": "latency_ms", "stat": "median!", "max": 5}]),
    ("gates", [{"metric": "score.", "stat": "mean", "min": 0.5}]),
    ("gates", [{"metric": "cost_usd", "max": -1}]),
    ("gates", [{"metric": "regression", "alpha": 2}]),
    ("gates", [{"metric": "regression", "alpha": "x"}]),
    ("gates", [{"metric": "regression", "max_new_failures": -1}]),
    ("gates", [{"metric": "regression", "baseline": ""}]),
    ("gates", [{"metric": "regression", "baseline": "alias:"}]),
    ("gates", [{"metric": "regression", "exclude_flaky": "yes"}]),
    ("gates", [{"metric": "error_rate", "max": 0.1, "name": "dup"}, {"metric": "error_rate", "max": 0.1, "name": "dup"}]),
    ("prices", "x"), ("prices", {"m": 1}), ("prices", {"m": {"input_per_mtok": -1, "output_per_mtok": 1}}),
    ("prices", {"m": {"input_per_mtok": "1", "output_per_mtok": 1}}),
    ("prices", {"m": {"input_per_mtok": 1, "output_per_mtok": 1, "other": 1}}),
    ("promotion", []), ("promotion", {"production": 1}),
    ("promotion", {"production": {"require_suites": "s"}}),
    ("promotion", {"production": {"max_age_days": -1}}),
    ("promotion", {"production": {"max_age_days": "7"}}),
    ("promotion", {"production": {"nope": 1}}),
    ("registry", 5), ("registry", "postgres://x"), ("registry", "sqlite:"),
    ("repeat_policy", "x"), ("repeat_policy", {"min_pass": 0}), ("repeat_policy", {"min_pass": "2"}),
    ("repeat_policy", {"other": 1}), ("unknown_top", 1),
]

SUITE_BAD = [
    ("name", None), ("name", ""), ("name", 5), ("name", "has space"), ("name", "a\u0000b"),
    ("name", "a\u001bb"), ("version", None), ("version", 1), ("version", ""),
    ("kind", "nope"), ("kind", 3), ("kind", ""), ("scorers", "x"), ("scorers", [1]),
    ("scorers", [{}]), ("scorers", [{"type": "nope"}]), ("scorers", [{"type": 1}]),
    ("scorers", [{"type": "contains"}]), ("scorers", [{"type": "contains", "value": 1}]),
    ("scorers", [{"type": "contains", "value": "x", "negate": "yes"}]),
    ("scorers", [{"type": "contains", "value": "x", "bogus": 1}]),
    ("scorers", [{"type": "regex", "pattern": "(a"}]), ("scorers", [{"type": "regex", "pattern": "a", "flags": "q"}]),
    ("scorers", [{"type": "regex"}]), ("scorers", [{"type": "json", "required": "a"}]),
    ("scorers", [{"type": "json", "path": 1}]), ("scorers", [{"type": "latency", "max_ms": -1}]),
    ("scorers", [{"type": "latency", "max_ms": "5"}]), ("scorers", [{"type": "judge"}]),
    ("scorers", [{"type": "judge", "rubric": "r", "threshold": 2}]),
    ("scorers", [{"type": "judge", "rubric": "r", "samples": 0}]),
    ("scorers", [{"type": "judge", "rubric": 5}]),
    ("scorers", [{"type": "faithfulness", "method": "magic"}]),
    ("scorers", [{"type": "faithfulness", "threshold": -1}]),
    ("scorers", [{"type": "refusal", "expect": "yes"}]), ("scorers", [{"type": "canary"}]),
    ("scorers", [{"type": "canary", "token": ""}]), ("scorers", [{"type": "pii", "kinds": "email"}]),
    ("scorers", [{"type": "pii", "kinds": ["nope"]}]), ("scorers", [{"type": "equals", "value": None}]),
    ("scorers", [{"type": "starts-with", "value": []}]), ("scorers", [{"type": "icontains"}]),
    ("params", "x"), ("system", 3), ("unknown", 1),
]

CASE_BAD = [
    ("id", None), ("id", ""), ("id", 5), ("id", "a\u0000b"), ("id", "x" * 300),
    ("input", None), ("input", 5), ("input", []), ("input", "x\u0000y"),
    ("messages", "x"), ("messages", []), ("messages", [1]), ("messages", [{"role": "user"}]),
    ("messages", [{"role": "wizard", "content": "x"}]), ("messages", [{"role": "user", "content": 1}]),
    ("expected", 5), ("context", 5), ("context", [1]), ("tags", "t"), ("tags", [1]),
    ("scorers", "x"), ("scorers", [{"type": "nope"}]), ("scorers", [{"type": "regex", "pattern": "[a"}]),
    ("scorers", [{"type": "contains"}]), ("params", 1), ("unknown_field", 1), ("vars", "x"),
    ("tags", ["ok", ""]), ("messages", [{"role": "user", "content": "x", "extra": 1}]),
    ("expected", ["x"]), ("id", "a\u001b[31m"), ("input", {"text": "x"}),
]


def set_path(obj, path, value):
    keys = path.split(".")
    for k in keys[:-1]:
        obj = obj[k]
    if value is None:
        obj.pop(keys[-1], None)
    else:
        obj[keys[-1]] = value


def write(d, cfg, suite, cases_text):
    os.makedirs(os.path.join(d, "s"), exist_ok=True)
    with open(os.path.join(d, "evalgate.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(d, "s", "suite.json"), "w") as f:
        json.dump(suite, f, indent=2)
    with open(os.path.join(d, "s", "cases.jsonl"), "w") as f:
        f.write(cases_text)


def cases_text(cases):
    return "".join(json.dumps(c) + "\n" for c in cases)


def main():
    out = sys.argv[1]
    index = []
    n = 0

    def add(cfg, suite, text, where, what):
        nonlocal n
        n += 1
        write(os.path.join(out, "%03d" % n), cfg, suite, text)
        index.append("%03d\t%s\t%s" % (n, where, what.replace("\t", " ").replace("\n", " ")))

    for path, v in CFG_BAD:
        cfg = copy.deepcopy(BASE_CFG)
        set_path(cfg, path, v)
        add(cfg, BASE_SUITE, cases_text(BASE_CASES), "evalgate.json", "config %s = %r" % (path, v))
    for path, v in SUITE_BAD:
        suite = copy.deepcopy(BASE_SUITE)
        set_path(suite, path, v)
        add(BASE_CFG, suite, cases_text(BASE_CASES), "s/suite.json", "suite %s = %r" % (path, v))
    for path, v in CASE_BAD:
        cases = copy.deepcopy(BASE_CASES)
        set_path(cases[1], path, v)
        add(BASE_CFG, BASE_SUITE, cases_text(cases), "s/cases.jsonl", "case %s = %r" % (path, v))
    # cases that are wrong as lines of text
    good = cases_text(BASE_CASES)
    for text, what in [
        (good + "{\"id\": \"c\", \"input\": }\n", "invalid JSON"),
        (good + "[1, 2]\n", "a line that is not an object"),
        (good + "{\"id\": \"a\", \"input\": \"dup\"}\n", "duplicate id"),
        (good + "{\"id\": \"c\", \"input\": \"x\"} trailing\n", "trailing garbage"),
        (good + "{\"id\": \"c\", \"id\": \"d\", \"input\": \"x\"}\n", "a key twice"),
        (good + "{\"id\": \"c\", \"input\": \"caf\xe9\"}\n", "not UTF-8"),
        (good + "{\"id\": \"c\", \"input\": \"a\x00b\"}\n", "a raw NUL byte"),
        (good + "{\"id\": \"c\", \"input\": \"x\", \"messages\": [{\"role\": \"user\", \"content\": \"y\"}]}\n",
         "input and messages"),
        ("", "no cases"),
    ]:
        d = os.path.join(out, "%03d" % (n + 1))
        add(BASE_CFG, BASE_SUITE, "", "s/cases.jsonl", what)
        with open(os.path.join(d, "s", "cases.jsonl"), "wb") as f:
            f.write(text.encode("latin-1"))
    # configs that are wrong as text
    for text, what in [
        ("{\"gateway\": ", "truncated config"), ("[]", "a config that is not an object"),
        ("{\"gateway\": {}, \"gateway\": {}}", "a key twice in the config"),
        ("\xff\xfe{}", "a config that is not UTF-8"), ("", "an empty config"),
    ]:
        d = os.path.join(out, "%03d" % (n + 1))
        add(BASE_CFG, BASE_SUITE, good, "evalgate.json", what)
        with open(os.path.join(d, "evalgate.json"), "wb") as f:
            f.write(text.encode("latin-1"))
    with open(os.path.join(out, "index.tsv"), "w") as f:
        f.write("\n".join(index) + "\n")
    print(n)


main()
