#!/usr/bin/env bash
# The json-schema scorer's validator (valijson, C++) is a module the binary
# opens when a suite compiles a schema (json_schema.so beside it in a build
# tree, <libdir>/evalgate/ installed): no other command nor suite loads
# libstdc++, whose loading every command paid at start-up.
#   - the binary does not link libstdc++
#   - a run with a json-schema scorer validates through the module
#   - a copy of the binary without the module: --version and a suite without
#     a schema work; a suite with one is refused with a clear message
#   - the module is found through <bindir>/../lib/evalgate as installed
. "$(dirname "$0")/lib.sh"

# its own needs (a sanitizer's runtime brings libstdc++ in those builds)
check "the binary does not link libstdc++" bash -c "! readelf -d '$EG_BIN' | grep NEEDED | grep -q -e 'libstdc++' -e libgcc_s"

mkdir -p s/schema s/plain
make_suite s/schema schema golden '{"id": "j1", "input": "order"}' '[{"type": "json-schema", "schema": {"type": "object", "required": ["id"]}}]'
make_suite s/plain plain golden '{"id": "p1", "input": "hello"}' '[{"type": "contains", "value": "id"}]'
printf '{"reply": "{\\"id\\": 7}"}\n' >script.jsonl
write_config c.json '[]' "" '"suites": ["s/schema"]'
write_config plain.json '[]' "" '"suites": ["s/plain"]'
start_mock script.jsonl
expect_rc "a run with a json-schema scorer completes" 0 "$EG_BIN" run --config c.json --history "$T/h.db" --no-cache
expect_eq "the output is validated through the module" "1|output matches the schema" \
	"$(sql "select pass, reason from scores")"

expect_module_optional json_schema.so c.json plain.json "a schema" \
	"json-schema: field \"schema\": the JSON Schema module json_schema.so is not installed (looked in $T/alone/bin, $T/alone/bin/../lib/evalgate"
finish
