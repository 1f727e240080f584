#!/usr/bin/env bash
# The similar scorer through the runner and the mock gateway's /embeddings:
# close answers pass, distant ones fail, a reference comes from "value" or
# the case's "expected", a hostile embeddings reply is an error (never a
# pass), and a second run answers every /embeddings call from the cache.
. "$(dirname "$0")/lib.sh"

python3 - <<'EOP'
import json
rules = [
    {"case": "near", "model": "mock-model", "reply": "Returns are accepted within 30 days of delivery."},
    {"case": "far", "model": "mock-model", "reply": "Our office is closed on public holidays."},
    {"case": "val", "model": "mock-model", "reply": "The warranty lasts one year."},
    {"case": "noref", "model": "mock-model", "reply": "Anything."},
]
with open("script.jsonl", "w") as f:
    for r in rules:
        f.write(json.dumps(r) + "\n")
cases = [
    {"id": "near", "input": "How long do I have to return an item?", "expected": "Returns are accepted within 30 days of delivery"},
    {"id": "far", "input": "How long do I have to return an item? (far)", "expected": "Returns are accepted within 30 days of delivery"},
    {"id": "val", "input": "How long is the warranty?", "scorers": [{"type": "similar", "value": "the warranty lasts one year", "threshold": 0.95}]},
    {"id": "noref", "input": "No reference here."},
]
with open("cases.jsonl", "w") as f:
    for c in cases:
        f.write(json.dumps(c) + "\n")
EOP
make_suite s/sim sim golden "$(grep -v '"val"' cases.jsonl)" '[{"type":"similar"}]'
make_suite s/val val golden "$(grep '"val"' cases.jsonl)" '[]'
make_suite s/bad bad golden "$(grep '"near"' cases.jsonl)" '[{"type":"similar","model":"mock-embedding-bad"}]'
write_config cfg.json
start_mock script.jsonl

st() { sql "select status from results where suite='$1' and case_id='$2' order by rowid desc limit 1"; }
emb() { grep -c '"path":"/v1/embeddings"' "$T/mock.log" || true; }

expect_rc "run with the similar scorer" 0 "$EG_BIN" run --config cfg.json --suite s/sim --suite s/val --history "$T/h.db"
expect_eq "a close answer passes" "pass" "$(st sim near)"
expect_eq "a distant answer fails" "fail" "$(st sim far)"
expect_eq "the spec's value is the reference" "pass" "$(st val val)"
expect_eq "no reference is an error" "error" "$(st sim noref)"
expect_grep "the reason names the cosine" 'cosine similarity 1.000 >= threshold 0.8' <(sql "select reason from scores where case_id='near'")
expect_grep "the reason says why there is no reference" 'no reference' <(sql "select reason from scores where case_id='noref'")
expect_grep "the default model is sent" '"model":"text-embedding-3-small"' "$T/mock.log"
first=$(emb)
expect_eq "one /embeddings call per scored case" "3" "$first"

expect_rc "second run" 0 "$EG_BIN" run --config cfg.json --suite s/sim --suite s/val --history "$T/h.db"
expect_eq "the cached second run makes no /embeddings call" "$first" "$(emb)"
expect_eq "same verdicts from the cache" "pass fail pass error" "$(st sim near) $(st sim far) $(st val val) $(st sim noref)"

expect_rc "--no-cache" 0 "$EG_BIN" run --config cfg.json --suite s/sim --suite s/val --history "$T/h.db" --no-cache
expect_eq "without the cache the calls are made again" "$((first * 2))" "$(emb)"
expect_rc "--cache-only after a cached run" 0 "$EG_BIN" run --config cfg.json --suite s/sim --suite s/val --history "$T/h.db" --cache-only
expect_eq "the cache answers the embeddings of an identical request" "pass fail pass" "$(st sim near) $(st sim far) $(st val val)"

expect_rc "embeddings of differing dimension" 0 "$EG_BIN" run --config cfg.json --suite s/bad --history "$T/h.db"
expect_eq "a hostile embeddings reply is an error, never a pass" "error" "$(st bad near)"
expect_grep "its reason says what is wrong" 'differ in dimension (64 and 32)' <(sql "select reason from scores where suite='bad'")

make_suite s/bad2 bad2 golden "$(grep '"near"' cases.jsonl)" '[{"type":"similar","treshold":0.5}]'
expect_rc "validate rejects an unknown field" 2 "$EG_BIN" validate --suite s/bad2
expect_grep "naming it" 'treshold' "$T/err"

finish
