#!/usr/bin/env bash
# JUnit stays well-formed for any bytes a model returns.
. "$(dirname "$0")/lib.sh"

python3 - <<'EOP'
import json
rules = [
    {"case": "ctrl", "reply": "bell\u0007 esc\u001b vt\u000b nul-free \u0001\u0002 form\u000c end"},
    {"case": "cdata", "reply": "]]> <![CDATA[ x ]]> <script>alert(1)</script> & \" '"},
    {"case": "fffe", "reply": "noncharacters \ufffe \uffff here"},
    {"case": "mega", "reply": "A" * (1 << 20) + "]]>"},
    {"case": "quote\"id", "reply": "id with quotes"},
]
with open("script.jsonl", "wb") as f:
    for r in rules:
        f.write(json.dumps(r).encode() + b"\n")
    # raw bytes that are not UTF-8 inside the reply string, as a broken upstream may send:
    # a UTF-16 surrogate encoded as UTF-8, a stray continuation byte, 0xff 0xfe, a cut sequence
    f.write(b'{"case": "badutf8", "reply": "lone \xed\xa0\x80 surrogate \x80 stray \xff\xfe bytes \xe2\x82"}\n')
rules.append({"case": "badutf8"})
with open("cases.jsonl", "w") as f:
    for r in rules:
        f.write(json.dumps({"id": r["case"], "input": "say something", "scorers": [{"type": "contains", "value": "nothing-matches"}]}) + "\n")
EOP
make_suite s/hostile hostile golden "$(cat cases.jsonl)"$'\n'
write_config cfg.json
start_mock script.jsonl
expect_rc "hostile answers run (every case fails its scorer)" 0 "$EG_BIN" run --config cfg.json --suite s/hostile --history "$T/h.db" --junit "$T/j.xml"
check "xmllint accepts the report" xmllint --noout "$T/j.xml"
expect_eq "six failures counted" '6' "$(grep -o '<testsuite [^>]*name="hostile@1.0.0"[^>]*' "$T/j.xml" | grep -o 'failures="[0-9]*"' | tr -dc 0-9)"
check "megabyte answer truncated in JUnit" test "$(stat -c %s "$T/j.xml")" -lt 200000
expect_grep "truncation is noted" 'truncated' "$T/j.xml"
expect_eq "the full answer is kept in the history" "1048579" "$(sql "select length(output) from results where case_id='mega'")"
check "no raw control character in the report" bash -c "! LC_ALL=C grep -qP '[\x01-\x08\x0b\x0c\x0e-\x1f]' '$T/j.xml'"

finish
