#!/usr/bin/env bash
# The deterministic scorers json-schema, contains-all, word-count, levenshtein
# through the real binary on an online suite (recorded answers, no model
# calls): per-scorer weights and a suite/case threshold deciding pass from the
# weighted score, what the history and the reports show of them, and
# `validate` refusing a schema that does not compile.
. "$(dirname "$0")/lib.sh"

write_config evalgate.json '[]' '' '"suites": ["suites/det"]'
mkdir -p suites/det
cat >suites/det/order.schema.json <<'EOS'
{"type": "object", "required": ["city"], "properties": {"city": {"type": "string", "minLength": 2}}}
EOS
cat >suites/det/suite.json <<'EOS'
{"name": "det", "version": "1.0.0", "kind": "online", "threshold": 0.7,
 "scorers": [{"type": "contains-all", "values": ["Paris", "France"], "weight": 3},
             {"type": "word-count", "max": 5}]}
EOS
cat >suites/det/cases.jsonl <<'EOS'
{"id": "weighted-pass", "output": "Paris, France is the capital city"}
{"id": "weighted-fail", "output": "Paris"}
{"id": "own-threshold", "output": "Paris", "threshold": 0.6}
{"id": "schema", "output": "{\"city\": \"Paris France\"}", "scorers": [{"type": "json-schema", "schema": "order.schema.json"}]}
{"id": "schema-bad", "output": "{\"city\": \"P\"} Paris France", "threshold": 0.9, "scorers": [{"type": "json-schema", "schema": "order.schema.json"}]}
{"id": "similar", "output": "Paris France", "scorers": [{"type": "levenshtein", "value": "Paris, France"}]}
EOS

expect_rc "validate accepts the suite" 0 "$EG_BIN" validate
"$EG_BIN" run --history "$T/h.db" --json "$T/r.json" --html "$T/r.html" --markdown "$T/r.md" >"$T/run.out" 2>&1
expect_eq "statuses follow the weighted score" \
	"own-threshold:pass,schema:pass,schema-bad:fail,similar:pass,weighted-fail:fail,weighted-pass:pass" \
	"$(sql "select group_concat(case_id || ':' || status) from (select case_id, status from results order by case_id)")"
expect_eq "the threshold is stored per result" "0.6|0.7|0.9" \
	"$(sql "select group_concat(threshold, '|') from (select distinct threshold from results order by threshold)")"
expect_eq "weights other than 1 are stored" "3.0" \
	"$(sql "select distinct weight from scores where weight is not null")"
python3 - "$T/r.json" >"$T/json.out" <<'EOP'
import json, sys
r = json.load(open(sys.argv[1]))
cases = {c["case_id"]: c for c in r["results"]}
c = cases["weighted-pass"]
print(round(c["score"], 4), c["threshold"], [s["weight"] for s in c["scores"]])
print(cases["own-threshold"]["threshold"], round(cases["own-threshold"]["score"], 4))
EOP
expect_eq "the JSON report has the weighted score, threshold and weights" \
	"0.75 0.7 [3, 1]
0.6 0.625" "$(cat "$T/json.out")"
expect_grep "the Markdown report names the threshold rule" 'weighted score 0.625 < threshold 0.700' "$T/r.md"
expect_grep "the HTML report names the threshold rule" 'weighted score 0.750 &ge; threshold 0.700' "$T/r.html"

# a schema that does not compile is a located load error
cat >suites/det/cases.jsonl <<'EOS'
{"id": "a", "output": "x"}
{"id": "b", "output": "{}", "scorers": [{"type": "json-schema", "schema": {"type": "object", "minLength": "two"}}]}
EOS
expect_rc "validate refuses a schema that does not compile" 2 "$EG_BIN" validate
expect_grep "the error is located" 'cases.jsonl:2: scorer 1: json-schema: field "schema": ' "$T/err"
cat >suites/det/cases.jsonl <<'EOS'
{"id": "a", "output": "x", "threshold": 1.5}
EOS
expect_rc "validate refuses a threshold out of range" 2 "$EG_BIN" validate
expect_grep "the threshold error is located" 'cases.jsonl:1: threshold: 1.5 is out of range' "$T/err"

finish
