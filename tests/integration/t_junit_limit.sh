#!/usr/bin/env bash
# The JUnit report of a large run keeps every failure and error but only
# --junit-max-passed passing testcases (the limit spans the suites, in order);
# each suite cut says how many in the property evalgate.passed_omitted and in
# its <system-out>; tests/failures count the testcases in the file.
. "$(dirname "$0")/lib.sh"

cases() { # cases PREFIX N FAILING: N cases, the first FAILING of them failing their scorer
	local i
	for i in $(seq 1 "$2"); do
		if [ "$i" -le "$3" ]; then
			printf '{"id": "%s%d", "input": "q %d", "scorers": [{"type": "contains", "value": "nothing-matches"}]}\n' "$1" "$i" "$i"
		else
			printf '{"id": "%s%d", "input": "q %d"}\n' "$1" "$i" "$i"
		fi
	done
}
make_suite s/a a golden "$(cases a 10 3)"
make_suite s/b b golden "$(cases b 10 2)"
printf '{"reply": "echo"}\n' >script.jsonl
write_config cfg.json '[]' "" '"suites": ["s/a", "s/b"]'
start_mock script.jsonl

expect_rc "a 20-case run with --junit-max-passed 3" 0 "$EG_BIN" run --config cfg.json \
	--history "$T/h.db" --no-cache --junit "$T/j.xml" --junit-max-passed 3
check "xmllint accepts the report" xmllint --noout "$T/j.xml"
summary() { # summary FILE: per suite name:tests:failures:testcases:failing:passing:omitted, then the total
	python3 - "$1" <<'EOP'
import sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
out = []
for s in root.findall("testsuite"):
    if s.get("name") == "gates":
        continue
    cases = s.findall("testcase")
    failing = [c for c in cases if c.find("failure") is not None or c.find("error") is not None]
    prop = [p.get("value") for p in s.iter("property") if p.get("name") == "evalgate.passed_omitted"]
    note = s.find("system-out")
    out.append("%s:%s:%s:%d:%d:%d:%s%s" % (s.get("name").split("@")[0], s.get("tests"), s.get("failures"),
               len(cases), len(failing), len(cases) - len(failing), prop[0] if prop else "-",
               ":note" if note is not None and "not in this file" in note.text else ""))
out.append("total:%s:%s" % (root.get("tests"), root.get("failures")))
print(" ".join(out))
EOP
}
expect_eq "every failure, 3 passing testcases, the rest counted per suite" \
	"a:6:3:6:3:3:4:note b:2:2:2:2:0:8:note total:8:5" "$(summary "$T/j.xml")"
expect_grep "the note points to the JSON report and runs export" "runs export" "$T/j.xml"

expect_rc "report --junit-max-passed -1 writes every result" 0 "$EG_BIN" report latest \
	--history "$T/h.db" --junit "$T/all.xml" --junit-max-passed -1
expect_eq "all 20 testcases, nothing omitted" "a:10:3:10:3:7:- b:10:2:10:2:8:- total:20:5" \
	"$(summary "$T/all.xml")"
expect_rc "report --junit-max-passed 0 writes failures only" 0 "$EG_BIN" report latest \
	--history "$T/h.db" --junit "$T/none.xml" --junit-max-passed 0
expect_eq "failures only" "a:3:3:3:3:0:7:note b:2:2:2:2:0:8:note total:5:5" "$(summary "$T/none.xml")"
expect_rc "the default keeps a small run whole" 0 "$EG_BIN" report latest \
	--history "$T/h.db" --junit "$T/default.xml"
expect_eq "the default: all 20" "a:10:3:10:3:7:- b:10:2:10:2:8:- total:20:5" "$(summary "$T/default.xml")"
expect_rc "a limit below -1 is refused" 2 "$EG_BIN" report latest --history "$T/h.db" \
	--junit "$T/x.xml" --junit-max-passed -2
finish
