#!/usr/bin/env bash
# A real AI gateway in the loop: the Portkey gateway (npm @portkey-ai/gateway,
# run with node on loopback) in front of the mock gateway. The support suite
# run through Portkey must equal the direct run; evalgate's attribution
# headers reach the upstream; the scripted 429 is retried through the gateway;
# the API key stays out of every file and output.
. "$(dirname "$0")/lib.sh"

PK_DIR="$EG_SRC/tests/portkey"
PK_JS="$PK_DIR/node_modules/@portkey-ai/gateway/build/start-server.js"
[ -f "$PK_JS" ] || { echo "not ok - Portkey gateway not installed ($PK_JS): run ./dev.sh test, which runs npm ci in tests/portkey"; exit 1; }
command -v node >/dev/null || { echo "not ok - node not found"; exit 1; }

cp -r "$EG_SRC/suites" .
start_mock "$EG_SRC/tests/data/mock-support.jsonl"
export EVALGATE_API_KEY="sk-portkey-test-0d1e2a3b"

PK_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
node "$PK_JS" --port="$PK_PORT" --headless >"$T/portkey.out" 2>&1 &
PK_PID=$!
trap 'kill $PK_PID 2>/dev/null || true; wait $PK_PID 2>/dev/null || true; cleanup' EXIT
for _ in $(seq 1 200); do
	curl -s -o /dev/null "http://127.0.0.1:$PK_PORT/" && break
	sleep 0.1
done
check "Portkey gateway listens on loopback" curl -s -o /dev/null "http://127.0.0.1:$PK_PORT/"

# the same suite, direct and through Portkey
write_config direct.json '[{"metric":"pass_rate","min":0.5}]' '"base_url": "'"$MOCK_URL"'"' '"suites": ["suites/golden/support"]'

expect_rc "direct run" 0 "$EG_BIN" run --config direct.json --history "$T/direct.db" --no-cache
# a fresh mock (its scripted faults fire again), Portkey pointed at its new port
mv "$T/mock.log" "$T/direct-mock.log"
start_mock "$EG_SRC/tests/data/mock-support.jsonl"
write_config portkey.json '[{"metric":"pass_rate","min":0.5}]' \
	'"base_url": "http://127.0.0.1:'"$PK_PORT"'/v1", "headers": {"x-portkey-provider": "openai", "x-portkey-custom-host": "'"$MOCK_URL"'", "x-portkey-forward-headers": "x-evalgate-run,x-evalgate-suite,x-evalgate-case"}' \
	'"suites": ["suites/golden/support"]'
expect_rc "run through Portkey" 0 "$EG_BIN" run --config portkey.json --history "$T/pk.db" --no-cache --junit "$T/pk.xml"
cp "$T/out" "$T/pk.out"

# answers and every verdict but latency's (the extra hop adds time, and a loaded
# machine can push a case over the suite's latency bound) must be the same
dump() { sqlite3 "$1" "select suite, case_id, hex(output) from results order by suite, case_id"; }
expect_eq "answers through Portkey equal the direct run" "$(dump "$T/direct.db")" "$(dump "$T/pk.db")"
expect_eq "30 results through Portkey" "30" "$(sqlite3 "$T/pk.db" 'select count(*) from results')"
q="select case_id, idx, pass, score from scores where type <> 'latency' order by 1, 2"
expect_eq "same scores" "$(sqlite3 "$T/direct.db" "$q")" "$(sqlite3 "$T/pk.db" "$q")"

# what reached the upstream through Portkey: every request attributed
cp "$T/mock.log" "$T/via.log"
check "requests went through Portkey (node's user agent upstream)" grep -q '"user-agent":"node"' "$T/via.log"
expect_eq "every request through Portkey carried its case id" "0" "$(grep -c '"case":""' "$T/via.log" || true)"
pk_run=$(sqlite3 "$T/pk.db" 'select id from runs')
check "the run id header reached the upstream" grep -q "\"run\":\"$pk_run\"" "$T/via.log"
check "the upstream saw the bearer key" grep -q '"authorized":true' "$T/via.log"
check "the upstream's 429 came back through Portkey" grep -q '"case":"refund-window".*"status":429' "$T/via.log"
expect_eq "the scripted 429 was retried through the gateway" "2" \
	"$(sqlite3 "$T/pk.db" "select attempts from results where case_id='refund-window'")"
expect_eq "refund-window passed after the retry" "pass" \
	"$(sqlite3 "$T/pk.db" "select status from results where case_id='refund-window'")"

# Portkey's own error shape ({"status":"failure","message":...}) is shown to the user:
# a custom host Portkey refuses to reach
write_config badhost.json '' \
	'"base_url": "http://127.0.0.1:'"$PK_PORT"'/v1", "max_retries": 0, "headers": {"x-portkey-provider": "nosuchprovider"}' \
	'"suites": ["suites/golden/support"]'
"$EG_BIN" run --config badhost.json --history "$T/bad.db" --no-cache --limit 2 >"$T/bad.out" 2>&1 || true
check "a Portkey error ends the cases as errors, nothing passes" test "$(sqlite3 "$T/bad.db" "select count(*) from results where status='error'")" = 2
expect_grep "Portkey's error message is shown" 'HTTP 400: Invalid provider passed' "$T/bad.out"

# the key never reaches a file or an output
check "the API key is in no file or output" bash -c "! grep -rqa '$EVALGATE_API_KEY' '$T'/*.db '$T'/*.xml '$T'/*.out '$T/out' '$T/err' 2>/dev/null"
finish
