#!/usr/bin/env bash
# JUnit, HTML, Markdown and JSON of one run agree on every count; hostile
# answers are escaped in each; the Markdown stays under 1 MiB; `report`
# writes them again for a stored run; reports are written atomically.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/reports_fixture.sh"

check "two runs stored" test -n "$RUN1" -a -n "$RUN2" -a "$RUN1" != "$RUN2"

# reports from `run` itself
start_mock script.jsonl
expect_rc "run writes every report (a gate fails)" 1 "$EG_BIN" run --config cfg.json --history "$T/h3.db" --no-cache --no-step-summary \
	--junit "$T/r.xml" --html "$T/r.html" --markdown "$T/r.md" --json "$T/r.json"
stop_mock
for f in r.xml r.html r.md r.json; do check "run wrote $f" test -s "$T/$f"; done
check "no temporary file left" bash -c "! ls '$T'/*.tmp 2>/dev/null"

# the same reports again, for the second stored run, with its regression section
export GITHUB_STEP_SUMMARY="$T/summary.md" GITHUB_SERVER_URL=https://github.example GITHUB_REPOSITORY=acme/bot GITHUB_RUN_ID=4242
echo "# earlier step output" >"$GITHUB_STEP_SUMMARY"
expect_rc "report writes all four for a run prefix" 0 "$EG_BIN" report "${RUN2:0:20}" --history "$T/h.db" \
	--junit "$T/j.xml" --html "$T/h.html" --markdown "$T/m.md" --json "$T/r2.json"
check "xmllint accepts the JUnit" xmllint --noout "$T/j.xml"
expect_grep "the step summary got the Markdown" 'evalgate-report' "$GITHUB_STEP_SUMMARY"
expect_grep "the step summary kept what was there" '# earlier step output' "$GITHUB_STEP_SUMMARY"
expect_grep "the Markdown links the CI run" 'https://github.example/acme/bot/actions/runs/4242' "$T/m.md"
expect_rc "report of latest with --json only" 0 "$EG_BIN" report latest --history "$T/h.db" --json "$T/latest.json" --no-step-summary
expect_eq "latest is the second run" "$RUN2" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"]["id"])' "$T/latest.json")"
unset GITHUB_STEP_SUMMARY GITHUB_SERVER_URL GITHUB_REPOSITORY GITHUB_RUN_ID

python3 - "$T" "$RUN1" "$RUN2" "$EG_SRC/reports/report.schema.json" <<'EOP' && ok "the four reports agree and escape everything" || not_ok "the four reports agree and escape everything"
import json, re, sys, xml.etree.ElementTree as ET
from html.parser import HTMLParser
T, run1, run2 = sys.argv[1:4]
fails = []
def expect(cond, what):
    if not cond:
        fails.append(what)
        print("    mismatch:", what)

raw = {n: open(f"{T}/{n}", "rb").read() for n in ("j.xml", "h.html", "m.md", "r2.json")}
for n, b in raw.items():
    try:
        b.decode("utf-8", errors="strict")
    except UnicodeDecodeError as e:
        expect(False, f"{n} is not valid UTF-8: {e}")

# JSON: the whole run
js = json.loads(raw["r2.json"])
expect(js["schema_version"] == 1, "schema_version")
expect(js["run"]["id"] == run2, "JSON run id")
jcounts = {}
for r in js["results"]:
    c = jcounts.setdefault(r["suite"], {"n": 0, "pass": 0, "fail": 0, "error": 0})
    c["n"] += 1
    c[r["status"]] += 1
for s in js["suites"]:
    expect({k: s["results"][k] for k in ("n", "pass", "fail", "error")} == jcounts[s["name"]], f"JSON suite {s['name']} counts vs its results")
    expect(s["cases"]["n"] == s["results"]["n"], "one result per case")
suites = {s["name"]: {k: s["cases"][k] for k in ("n", "pass", "fail", "error")} for s in js["suites"]}
expect(sum(c["fail"] for c in suites.values()) == 2, "the second run has failures")
gates = (len(js["gates"]), sum(1 for g in js["gates"] if not g["pass"]))
reg = js["regression"]
expect(reg and reg["baseline"] == run1 and reg["new_failures"] == 2, "JSON regression")
flip = {f["case_id"]: f for f in reg["flips"]}
expect(flip["img"]["before"]["status"] == "pass" and flip["img"]["after"]["status"] == "fail", "flip before/after status")
expect("alert" in flip["img"]["before"]["output"] and "ALARM" in flip["img"]["after"]["output"], "flip before/after answers")
expect(json.loads(raw["r2.json"])["suites"][0]["trend"][-1]["current"], "trend ends with this run")
expect(any(p["baseline"] for p in js["suites"][0]["trend"]), "trend marks the baseline")
bad = [r for r in js["results"] if r["case_id"] == "badutf8"][0]
expect("\ufffd" in bad["output"], "invalid UTF-8 replaced in JSON")
xss = [r for r in js["results"] if r["case_id"] == "xss-script"][0]
expect(xss["output"].startswith("<script>alert(1)</script>"), "JSON keeps the answer's text")
expect(xss["input"] == "say <b>xss-script</b> </script>" and xss["expected"] == "alert" and xss["context"], "JSON has input, expected, context")

import jsonschema
schema = json.load(open(sys.argv[4]))
jsonschema.Draft202012Validator.check_schema(schema)
errors = list(jsonschema.Draft202012Validator(schema).iter_errors(js))
expect(not errors, f"JSON report against reports/report.schema.json: {[e.message for e in errors[:3]]}")

# JUnit
root = ET.fromstring(raw["j.xml"])
junit = {}
for ts in root.findall("testsuite"):
    name = ts.get("name")
    if name == "gates":
        expect((int(ts.get("tests")), int(ts.get("failures"))) == gates, "JUnit gates")
        continue
    tcs = ts.findall("testcase")
    c = {"n": len(tcs), "pass": 0, "fail": 0, "error": 0}
    for tc in tcs:
        c["fail" if tc.find("failure") is not None else "error" if tc.find("error") is not None else "pass"] += 1
    expect(c["n"] == int(ts.get("tests")) and c["fail"] == int(ts.get("failures")) and c["error"] == int(ts.get("errors")), f"JUnit {name} attributes vs testcases")
    junit[name.split("@")[0]] = c
expect(junit == suites, f"JUnit {junit} vs JSON {suites}")

# HTML: data attributes, rows, the embedded summary, the embedded details
html = raw["h.html"].decode()
class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.suites, self.rows, self.scripts, self.gates = {}, {}, [], None
        self.cur, self.script = None, None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k, v in attrs:
            if k.startswith("on"):
                fails.append(f"event handler attribute {k} on <{tag}>")
        if tag in ("img", "iframe", "object", "embed", "link", "base", "form", "a", "textarea"):
            fails.append(f"unexpected element <{tag}>")
        if tag == "section" and "suite" in (a.get("class") or ""):
            self.cur = a["data-suite"]
            self.suites[self.cur] = {k: int(a["data-" + {"n": "cases"}.get(k, k)]) for k in ("n", "pass", "fail", "error")}
            self.rows[self.cur] = {"n": 0, "pass": 0, "fail": 0, "error": 0}
        if tag == "tr" and "case" in (a.get("class") or "").split():
            self.rows[self.cur]["n"] += 1
            self.rows[self.cur][a["data-s"]] += 1
        if tag == "table" and a.get("class") == "gates":
            self.gates = (int(a["data-total"]), int(a["data-failed"]))
        if tag == "script":
            self.script = [a, ""]
            self.scripts.append(self.script)
    def handle_data(self, d):
        if self.script is not None:
            self.script[1] += d
    def handle_endtag(self, tag):
        if tag == "script":
            self.script = None
p = P()
p.feed(html)
expect(p.suites == suites, f"HTML data attributes {p.suites} vs JSON {suites}")
expect(p.rows == suites, f"HTML rows {p.rows} vs JSON {suites}")
expect(p.gates == gates, "HTML gates table")
kinds = [(s[0].get("type"), s[0].get("id"), s[0].get("class")) for s in p.scripts]
expect(kinds.count(("application/json", None, "eg-details")) == len(suites), "one details script per suite")
expect(kinds.count(("application/json", "eg-summary", None)) == 1, "one summary script")
expect(len(kinds) == len(suites) + 2, f"no other script elements: {kinds}")
summary = None
details = []
for a, text in p.scripts:
    if a.get("type") == "application/json":
        expect("<" not in text and ">" not in text and "\u2028" not in text, "no < > or U+2028 in embedded JSON")
        v = json.loads(text)
        if a.get("id") == "eg-summary":
            summary = v
        elif a.get("class") == "eg-details":
            details += v
# the details carry each case's texts as the JSON report does (looked up apart from the rows)
texts = {(r["suite"], r["case_id"]): tuple(r.get(k) for k in ("input", "context", "expected")) for r in js["results"]}
expect(details and all(tuple(d.get(k) for k in ("input", "context", "expected")) == texts[(d["suite"], d["case_id"])] for d in details), "HTML details' texts vs JSON")
expect(any(d["case_id"] == "xss-script" and d["input"] and d["context"] for d in details), "a detail with input and context")
expect({s["name"]: {k: s["cases"][k] for k in ("n", "pass", "fail", "error")} for s in summary["suites"]} == suites, "HTML summary counts")
for pat in ("<script>alert", "<img", "</textarea>", "href=\"javascript", "<a href", "<!-- more"):
    expect(pat not in html, f"raw payload {pat!r} in the HTML")
expect("&lt;script&gt;alert(1)&lt;/script&gt;" in html, "the payload shows as escaped text")
expect(not re.search(r"https?://|//[a-z0-9]+\.[a-z]", html), "no URL in the HTML")
expect("Content-Security-Policy" in html and "default-src 'none'" in html, "CSP meta")

# Markdown: the suites table and the gates heading
md = raw["m.md"].decode()
expect(len(raw["m.md"]) < 1 << 20, "Markdown under 1 MiB")
mdc = {}
for line in md.splitlines():
    m = re.match(r"^\| (\w+)@[^|]* \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|", line)
    if m:
        mdc[m.group(1)] = dict(zip(("n", "pass", "fail", "error"), map(int, m.groups()[1:])))
expect(mdc == suites, f"Markdown suites {mdc} vs JSON {suites}")
m = re.search(r"### Gates: (\d+) of (\d+) failed", md)
expect(m and (int(m.group(2)), int(m.group(1))) == gates, "Markdown gates")
expect("2 new failures" in md and "pass \u2192 fail" in md, "Markdown regression flips")
for line in md.splitlines():
    if line.startswith("| ") and "hostile" in line:
        cells = re.split(r"(?<!\\)\|", line)
        expect(len(cells) in (6, 7, 10), f"Markdown row keeps its columns: {line}")
for pat in ("<script", "<img", "</textarea>", "<a href", "@someone"):
    expect(pat not in md, f"raw {pat!r} in the Markdown")
sys.exit(1 if fails else 0)
EOP

# errors
expect_rc "report of an unknown run is a usage error" 2 "$EG_BIN" report nosuchrun --history "$T/h.db" --json "$T/x.json"
expect_rc "report with no output asked for" 2 "$EG_BIN" report latest --history "$T/h.db" --no-step-summary
mkdir -p "$T/ro" && chmod 500 "$T/ro"
if [ "$(id -u)" != 0 ]; then
	expect_rc "an unwritable report is an error" 3 "$EG_BIN" report latest --history "$T/h.db" --html "$T/ro/r.html"
fi
expect_rc "a report in a missing directory is an error" 3 "$EG_BIN" report latest --history "$T/h.db" --html "$T/missing/r.html"
check "and leaves no file" test ! -e "$T/missing/r.html"
echo old >"$T/keep.json"
expect_rc "a failed report keeps the older file" 3 "$EG_BIN" report latest --history "$T/h.db" --json "$T/keep.json" --html "$T/missing/r.html"
check "the JSON was still written" python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$T/keep.json"

# --html-max-details: passing results keep a summary row only, and the file says so
expect_rc "report with no passing details" 0 "$EG_BIN" report "$RUN2" --history "$T/h.db" --html "$T/small.html" --html-max-details 0 --no-step-summary
expect_grep "the file says details were left out" 'id="details-note"' "$T/small.html"
expect_eq "failed results keep their details" \
	"$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["totals"]["results"]["fail"]+d["totals"]["results"]["error"])' "$T/r2.json")" \
	"$(grep -o '<tr class="case" data-s="[a-z]*"[^>]* data-d=' "$T/small.html" | grep -vc 'data-s="pass"')"
expect_eq "passing results have no details" "0" "$(grep -c '<tr class="case" data-s="pass"[^>]* data-d=' "$T/small.html" || true)"

finish
