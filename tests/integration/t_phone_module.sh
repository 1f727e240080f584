#!/usr/bin/env bash
# The pii scorer's phone numbers come from a module the binary opens on first
# use (pii_phone.so beside it in a build tree, <libdir>/evalgate/ installed):
# the commands and suites that look for no phone never load libphonenumber.
#   - the binary does not link libphonenumber (nor protobuf, ICU)
#   - a run that looks for phones finds one through the module
#   - a copy of the binary without the module: --version and a suite without
#     phones work; a suite looking for phones is refused with a clear message
#   - the module is found through <bindir>/../lib/evalgate as installed
. "$(dirname "$0")/lib.sh"

check "the binary does not link libphonenumber" bash -c "! ldd '$EG_BIN' | grep -q -e phonenumber -e protobuf -e libicu"

mkdir -p s/pii s/card
make_suite s/pii pii golden '{"id": "p1", "input": "call me"}' '[{"type": "pii", "kinds": ["phone"], "regions": ["US"]}]'
make_suite s/card card golden '{"id": "c1", "input": "pay"}' '[{"type": "pii", "kinds": ["card", "email"]}]'
printf '{"reply": "Call me on (415) 555-2671 tomorrow."}\n' >script.jsonl
write_config c.json '[]' "" '"suites": ["s/pii"]'
write_config card.json '[]' "" '"suites": ["s/card"]'
start_mock script.jsonl
expect_rc "a run looking for phones completes" 0 "$EG_BIN" run --config c.json --history "$T/h.db" --no-cache
expect_eq "the phone is found through the module" "0|1 PII item found: phone ***71" \
	"$(sql "select pass, reason from scores")"

expect_module_optional pii_phone.so c.json card.json phones \
	"pii: the phone number module pii_phone.so is not installed (looked in $T/alone/bin, $T/alone/bin/../lib/evalgate"
finish
