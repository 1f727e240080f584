#!/usr/bin/env bash
# Every bad config or suite input exits 2, names file, line and field, and writes nothing.
. "$(dirname "$0")/lib.sh"

write_config cfg.json
good_cases=$(n_cases 3)

# bad_suite NAME CASES [SCORERS] [KIND]: a suite dir with the given content
DEFAULT_SCORERS='[{"type":"contains","value":"x"}]'
bad_suite() { make_suite "s/$1" "$1" "${4:-golden}" "$2" "${3:-$DEFAULT_SCORERS}"; }

# expect_bad DESC PATTERN ARGS...: run must exit 2, stderr matches PATTERN, nothing written
expect_bad() {
	local d=$1 pat=$2; shift 2
	expect_rc "$d: exit 2" 2 "$EG_BIN" "$@" --history "$T/h.db"
	expect_grep "$d: message" "$pat" "$T/err"
	check "$d: no history written" test ! -e "$T/h.db"
}

bad_suite badjson "$(printf '%s\n%s\n%s\n' '{"id":"a","input":"x"}' '{"id":"b","input":"y"}' '{"id":"c","input": }')"
expect_bad "invalid JSON" 's/badjson/cases.jsonl:3: invalid JSON' run --config cfg.json --suite s/badjson

bad_suite unknowntype "$good_cases" '[{"type":"contains","value":"x"},{"type":"regexx","pattern":"a"}]'
expect_bad "unknown scorer type" 's/unknowntype/suite.json:1: scorer 2: .*regexx' run --config cfg.json --suite s/unknowntype

bad_suite badregex "$(printf '%s\n%s\n' '{"id":"a","input":"x"}' '{"id":"b","input":"y","scorers":[{"type":"contains","value":"q"},{"type":"regex","pattern":"(ab"}]}')"
expect_bad "regex that does not compile" 's/badregex/cases.jsonl:2: scorer 2: regex: missing closing parenthesis at offset 3' run --config cfg.json --suite s/badregex

bad_suite dupid "$(printf '%s\n%s\n%s\n' '{"id":"a","input":"x"}' '{"id":"b","input":"y"}' '{"id":"a","input":"z"}')"
expect_bad "duplicate case id" "s/dupid/cases.jsonl:3: id: duplicate case id 'a' (first on line 1)" run --config cfg.json --suite s/dupid

bad_suite both '{"id":"a","input":"x","messages":[{"role":"user","content":"x"}]}'
expect_bad "input and messages" 's/both/cases.jsonl:1: messages: give input or messages, not both' run --config cfg.json --suite s/both

bad_suite noinput '{"id":"a","expected":"x"}'
expect_bad "missing input" 's/noinput/cases.jsonl:1: input: missing' run --config cfg.json --suite s/noinput

bad_suite utf8 "$(printf '{"id":"a","input":"ok"}\n{"id":"b","input":"caf\xe9"}\n')"
expect_bad "non-UTF-8 text" 's/utf8/cases.jsonl:2: text is not valid UTF-8' run --config cfg.json --suite s/utf8

bad_suite empty ""
expect_bad "empty suite" 's/empty/cases.jsonl: the suite has no cases' run --config cfg.json --suite s/empty

bad_suite kind "$good_cases" '[{"type":"contains","value":"x"}]' gold
expect_bad "unknown kind" "s/kind/suite.json:1: kind: unknown kind 'gold'" run --config cfg.json --suite s/kind

bad_suite badfield "$(printf '%s\n%s\n' '{"id":"a","input":"x"}' '{"id":"b","input":"y","tagz":["t"]}')"
expect_bad "unknown case field" 's/badfield/cases.jsonl:2: tagz: unknown field' run --config cfg.json --suite s/badfield

bad_suite badflag '{"id":"a","input":"x","scorers":[{"type":"regex","pattern":"a","flags":"iq"}]}'
expect_bad "bad regex flag" 's/badflag/cases.jsonl:1: scorer 1: regex: .*q' run --config cfg.json --suite s/badflag

bad_suite badrole '{"id":"a","messages":[{"role":"wizard","content":"x"}]}'
expect_bad "unknown message role" "s/badrole/cases.jsonl:1: messages\[0\].role: unknown role 'wizard'" run --config cfg.json --suite s/badrole

bad_suite outgolden '{"id":"a","input":"x","output":"y"}'
expect_bad "recorded output in a golden suite" 's/outgolden/cases.jsonl:1: output:' run --config cfg.json --suite s/outgolden

# config errors, with the line of the field
make_suite s/good good golden "$good_cases"
printf '{\n  "gateway": {"base_url": "http://127.0.0.1:1/v1"},\n  "target": {"name": "t", "version": "1", "model": "m"},\n  "suites": ["s/good"],\n  "gates": [\n    {"metric": "pass_rate", "min": 0.9},\n    {"metric": "pass_ratio", "min": 0.9}\n  ]\n}\n' >badmetric.json
expect_bad "unknown gate metric" "badmetric.json:7: gates\[1\].metric: unknown metric 'pass_ratio'" run --config badmetric.json
printf '{\n  "gateway": {"base_url": "http://127.0.0.1:1/v1",\n    "timeout_s": "fast"},\n  "target": {"name": "t", "version": "1", "model": "m"}\n}\n' >badtype.json
expect_bad "wrong field type" 'badtype.json:3: gateway.timeout_s: expected a number' run --config badtype.json --suite s/good
printf '{\n  "gateway": {"base_url": "http://127.0.0.1:1/v1", "concurency": 4},\n  "target": {"name": "t", "version": "1", "model": "m"}\n}\n' >typo.json
expect_bad "misspelt field" 'typo.json:2: gateway.concurency: unknown field' run --config typo.json --suite s/good
printf '{"gateway": {"base_url": "http://x"}, "target": {"name": "t", "version": "1", "model": "m"},,}\n' >badcfg.json
expect_bad "config invalid JSON" 'badcfg.json:1: invalid JSON' run --config badcfg.json --suite s/good
expect_bad "missing config" 'nope.json: cannot open' run --config nope.json --suite s/good
# base_url must be a URL: no space or control character (a CRLF from a variable), a host
printf '{"gateway": {"base_url": "http://127.0.0.1:1/v1 x"}, "target": {"name": "t", "version": "1", "model": "m"}}\n' >spaceurl.json
expect_bad "a space in base_url" 'spaceurl.json:1: gateway.base_url: a URL has no spaces or control characters (byte 22' run --config spaceurl.json --suite s/good
printf '{"gateway": {"base_url": "${EG_T_URL}"}, "target": {"name": "t", "version": "1", "model": "m"}}\n' >crlfurl.json
EG_T_URL=$'http://127.0.0.1:1/v1\r\n' expect_bad "a CRLF in base_url from a variable" 'crlfurl.json:1: gateway.base_url: a URL has no spaces or control characters (byte 22' run --config crlfurl.json --suite s/good
expect_rc "validate refuses it too" 2 env EG_T_URL=$'http://127.0.0.1:1/v1\r\n' "$EG_BIN" validate --config crlfurl.json --suite s/good
printf '{"gateway": {"base_url": "http:///v1"}, "target": {"name": "t", "version": "1", "model": "m"}}\n' >nohost.json
expect_bad "a base_url without a host" 'nohost.json:1: gateway.base_url: expected a host after the scheme' run --config nohost.json --suite s/good
printf '{"gateway": {"base_url": "http://127.0.0.1:1/v1"}, "target": {"name": "t", "version": "1", "model": "m"}, "suites": ["s/good", ""]}\n' >emptysuite.json
expect_bad "an empty suite path" 'emptysuite.json:1: suites\[1\]: an empty path' run --config emptysuite.json
expect_bad "missing suite dir" 's/none/suite.json: cannot open' run --config cfg.json --suite s/none
expect_bad "bad --filter-id" '--filter-id: missing closing parenthesis' run --config cfg.json --suite s/good --filter-id '(x'
expect_bad "unknown option" "unknown option '--concurency'" run --config cfg.json --suite s/good --concurency 3
expect_bad "bad --concurrency" '--concurrency: expected a whole number' run --config cfg.json --suite s/good --concurrency 0

# the API key's variable must be set (and its value is never shown)
expect_rc "unset key variable: exit 2" 2 env -u EVALGATE_API_KEY "$EG_BIN" run --config cfg.json --suite s/good --history "$T/h.db"
expect_grep "unset key variable: message" 'api_key_env: environment variable EVALGATE_API_KEY is not set' "$T/err"
check "unset key: no history written" test ! -e "$T/h.db"

# suites.lock: a changed suite must change its version
mkdir -p lockproj/suites/a
make_suite lockproj/suites/a suite-a golden "$good_cases"
printf '{"gateway": {"base_url": "http://127.0.0.1:1/v1"}, "target": {"name": "t", "version": "1", "model": "m"}, "suites": ["suites/a"]}\n' >lockproj/evalgate.json
expect_rc "validate --lock writes the lock" 0 "$EG_BIN" validate --config lockproj/evalgate.json --lock
expect_grep "lock lists the suite" '^suite-a 1.0.0 [0-9a-f]\{64\} ' lockproj/suites/suites.lock
expect_rc "validate passes on an unchanged suite" 0 "$EG_BIN" validate --config lockproj/evalgate.json
printf '{"id": "new", "input": "another"}\n' >>lockproj/suites/a/cases.jsonl
expect_rc "validate fails when content changed under the same version" 2 "$EG_BIN" validate --config lockproj/evalgate.json
expect_grep "names the suite and tells to bump" 'suite suite-a changed but its version is still 1.0.0' "$T/err"
expect_bad "run refuses it too" 'changed but its version is still' run --config lockproj/evalgate.json
sed -i 's/"1.0.0"/"1.1.0"/' lockproj/suites/a/suite.json
expect_rc "a version bump is accepted" 0 "$EG_BIN" validate --config lockproj/evalgate.json
expect_rc "validate --lock records it" 0 "$EG_BIN" validate --config lockproj/evalgate.json --lock
expect_grep "lock has the new version" '^suite-a 1.1.0 ' lockproj/suites/suites.lock

# --dry-run calls nothing and writes nothing
start_mock /dev/null
write_config cfg.json
expect_rc "dry run" 0 "$EG_BIN" run --config cfg.json --suite s/good --dry-run --history "$T/h.db"
expect_grep "dry run prints the plan" 'suite good@1.0.0 (golden): 3 of 3 cases' "$T/out"
check "dry run writes no history" test ! -e "$T/h.db"
# resuming a run of a history that does not exist creates nothing
expect_bad "--resume without a history" "--resume nope: history $T/h.db: No such file or directory" run --config cfg.json --suite s/good --resume nope
expect_eq "dry run calls nothing" '"requests":0' "$(curl -s "http://127.0.0.1:$MOCK_PORT/stats" | grep -o '"requests":[0-9]*')"

# text with a NUL escape: cJSON would cut it there, so it is refused with its place
bad_suite nulid "$(printf '%s\n%s\n' '{"id":"a","input":"x"}' '{"id":"b\u0000c","input":"y"}')"
expect_bad "NUL in a case id" 's/nulid/cases.jsonl:2: id: a NUL character (\\u0000) is not allowed' run --config cfg.json --suite s/nulid
bad_suite nulinput '{"id":"a","input":"x\u0000 the rest"}'
expect_bad "NUL in an input" 's/nulinput/cases.jsonl:1: input: a NUL character' run --config cfg.json --suite s/nulinput
bad_suite escnul '{"id":"a","input":"a backslash then u0000: \\u0000"}'
expect_rc "an escaped backslash before u0000 is no NUL" 0 "$EG_BIN" validate --config cfg.json --suite s/escnul
sed 's/"model": *"[^"]*"/"model": "m\\u0000x"/' cfg.json >nulcfg.json
expect_bad "NUL in a config string" 'nulcfg.json:[0-9]*: model: a NUL character' run --config nulcfg.json --suite s/good
# a control character in a name would reach the terminal
sed 's/"model": *"[^"]*"/"model": "m\\u001b[2J"/' cfg.json >esccfg.json
expect_bad "ESC in a config name" 'esccfg.json:[0-9]*: model: the control character 0x1b' run --config esccfg.json --suite s/good
# inputs that are not regular files, and an endless line
mkdir -p s/fifo s/dev s/long
cp s/good/suite.json s/fifo/ && mkfifo s/fifo/cases.jsonl
expect_bad "a FIFO as cases.jsonl" 's/fifo/cases.jsonl: is a FIFO' run --config cfg.json --suite s/fifo
cp s/good/suite.json s/dev/ && ln -s /dev/zero s/dev/cases.jsonl
expect_bad "a device as cases.jsonl" 's/dev/cases.jsonl: is a device' run --config cfg.json --suite s/dev
cp s/good/suite.json s/long/
python3 -c 'import sys; sys.stdout.write("{\"id\":\"a\",\"input\":\"ok\"}\n{\"id\":\"b\",\"input\":\"" + "x" * (17 << 20) + "\"}\n")' >s/long/cases.jsonl
expect_bad "a line over the cap" 's/long/cases.jsonl:2: line longer than 16777216 bytes' run --config cfg.json --suite s/long
mkdir -p lockdir/suites/a lockdir/suites/suites.lock
make_suite lockdir/suites/a suite-a golden "$good_cases"
printf '{"gateway": {"base_url": "http://127.0.0.1:1/v1"}, "target": {"name": "t", "version": "1", "model": "m"}, "suites": ["suites/a"]}\n' >lockdir/evalgate.json
expect_bad "suites.lock as a directory" 'suites.lock: is a directory' run --config lockdir/evalgate.json
# commands that call nothing do not need the gateway's variables
printf '{"gateway": {"base_url": "${EG_NO_SUCH_URL}", "api_key_env": "EG_NO_SUCH_KEY"}, "target": {"name": "t", "version": "1", "model": "m"}, "suites": ["s/good"]}\n' >unset.json
expect_rc "dry run without the key or the URL variable" 0 "$EG_BIN" run --config unset.json --dry-run --history "$T/h.db"
expect_grep "dry run says the key is missing" 'EG_NO_SUCH_KEY is not set; a run would stop here' "$T/err"
check "dry run: no history" test ! -e "$T/h.db"
expect_rc "validate without the URL variable" 0 "$EG_BIN" validate --config unset.json
expect_grep "validate warns about the URL variable" 'unset.json:1: gateway.base_url: environment variable EG_NO_SUCH_URL is not set' "$T/err"
EG_NO_SUCH_KEY=k expect_bad "run without the URL variable" 'unset.json:1: gateway.base_url: environment variable EG_NO_SUCH_URL is not set' run --config unset.json

finish
