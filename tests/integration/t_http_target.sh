#!/usr/bin/env bash
# The http target against a real application: the example RAG app
# (tests/app/rag_app.py) retrieving from its policy documents and answering
# through the mock gateway. Outputs and the retrieved context are stored and
# scored (faithfulness against what the app retrieved), nested pointers and
# wildcards map other reply shapes, and an application that misbehaves (a
# mapped field missing, a reply that is not JSON, a redirect, 5xx) ends as
# the right per-case error or is retried. validate catches bad targets.
. "$(dirname "$0")/lib.sh"

APP_PID=""
stop_app() {
	if [ -n "$APP_PID" ]; then kill "$APP_PID" 2>/dev/null || true; wait "$APP_PID" 2>/dev/null || true; APP_PID=""; fi
}
trap 'stop_app; cleanup' EXIT

# start_app: the example app on a free loopback port, answering through the mock; sets APP_URL
start_app() {
	stop_app
	rm -f "$T/app.port"
	RAG_GATEWAY_URL=$MOCK_URL RAG_APP_TOKEN=$APP_TOKEN \
		python3 "$EG_SRC/tests/app/rag_app.py" --port 0 --port-file "$T/app.port" >"$T/app.out" 2>&1 &
	APP_PID=$!
	for _ in $(seq 1 100); do
		[ -s "$T/app.port" ] && break
		sleep 0.05
	done
	[ -s "$T/app.port" ] || { echo "the example app did not start"; cat "$T/app.out"; exit 1; }
	APP_URL="http://127.0.0.1:$(cat "$T/app.port")"
	export APP_URL
}

export APP_TOKEN="app-tok-Zq81-SECRET"

python3 - <<'EOP'
import json
rules = [
    # the answers the app gets from "the model", by case (the app passes x-evalgate-case on)
    {"case": "refund-window", "model": "rag-model",
     "reply": "Most items can be returned within 30 days of delivery for a full refund."},
    {"case": "gift-cards", "model": "rag-model",
     "reply": "Acme gift cards never expire and can be used for any merchandise."},
    {"case": "made-up", "model": "rag-model",
     "reply": "Refunds are paid in gold bars on the moon within one hour."},
    # the judge extracting and verifying the claims of refund-window
    {"case": "refund-window", "model": "judge-model", "match": "TASK: extract-claims",
     "reply": json.dumps({"claims": ["Items can be returned within 30 days of delivery."]})},
    {"case": "refund-window", "model": "judge-model", "match": "TASK: verify-claims",
     "reply": json.dumps({"verdicts": [{"claim": "Items can be returned within 30 days of delivery.",
                                        "verdict": "supported", "reason": "passage 1"}]})},
]
with open("script.jsonl", "w") as f:
    for r in rules:
        f.write(json.dumps(r) + "\n")

cases = [
    {"id": "refund-window", "input": "How many days do I have to return an unused item for a refund?",
     "vars": {"k": 2}, "expected_context_ids": ["returns#2.1"],
     "scorers": [{"type": "faithfulness", "method": "claims", "threshold": 0.8},
                 {"type": "retrieval", "metric": "mrr", "k": 2}]},
    {"id": "gift-cards", "input": "Do gift cards expire?", "vars": {"k": 1}},
    {"id": "made-up", "input": "How are refunds paid?", "vars": {"k": 2}},
]
with open("rag.jsonl", "w") as f:
    for c in cases:
        f.write(json.dumps(c) + "\n")

def target(path, response, method="POST", body=None, extra=None):
    request = {"method": method, "url": "${APP_URL}" + path,
               "headers": {"Authorization": "Bearer ${APP_TOKEN}", "x-team": "support"}}
    if body is not None:
        request["body"] = body
    t = {"type": "http", "name": "support-rag", "version": "v14", "model": "rag-model",
         "request": request, "response": response}
    t.update(extra or {})
    return t

def config(name, tgt, gateway=None):
    gw = {"base_url": "${EVALGATE_BASE_URL}", "api_key_env": "EVALGATE_API_KEY",
          "timeout_s": 5, "max_retries": 3, "concurrency": 4, "max_error_rate": 1}
    gw.update(gateway or {})
    cfg = {"gateway": gw, "target": tgt, "judge": {"model": "judge-model"},
           "prices": {"rag-model": {"input_per_mtok": 1, "output_per_mtok": 2}}}
    with open(name, "w") as f:
        json.dump(cfg, f, indent=2)

body = {"question": "{{input}}", "top_k": "{{vars.k}}", "case": "{{id}}"}
flat = {"output": "/answer", "context": "/sources/*/text", "context_ids": "/sources/*/id",
        "usage": "/usage", "model": "/model"}
config("app.json", target("/ask", flat, body=body))
config("nested.json", target("/test/nested", {
    "output": "/data/result/answer/text", "context": "/data/retrieval/hits/*/doc/body",
    "context_ids": "/data/retrieval/hits/*/doc/id", "usage": "/meta/usage"}, body=body))
config("get.json", target("/ask?q={{input}}&top_k=1", {"output": "/answer", "context": "/sources/*/text"},
                          method="GET"))
config("partial.json", target("/test/partial", flat, body=body))
config("text.json", target("/test/text", flat, body=body), {"max_retries": 1})
config("redirect.json", target("/test/redirect", flat, body=body))
config("flaky.json", target("/test/flaky?fail=2", flat, body=body))
bad = target("/ask", dict(flat, context="sources/*/text"), body=body)
config("bad.json", bad)
EOP
make_suite s/rag rag-app golden "$(cat rag.jsonl)" \
	'[{"type":"faithfulness","method":"lexical","threshold":0.6,"name":"grounded"}]'
start_mock script.jsonl
start_app
curl_s() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
expect_eq "the app wants its token" "401" "$(curl_s -X POST -d '{"question":"x"}' "$APP_URL/ask")"

# --- the app, scored against what it retrieved
expect_rc "dry run shows where requests go" 0 "$EG_BIN" run --config app.json --suite s/rag --dry-run
expect_grep "the plan names the method and url" "plan: target support-rag@v14 (http) POST $APP_URL/ask" "$T/out"
expect_rc "run the http target" 0 "$EG_BIN" run --config app.json --suite s/rag --history "$T/h.db" \
	--json "$T/r.json" --html "$T/r.html"
res() { sql "select $2 from results where case_id='$1' order by seq desc limit 1"; }
expect_eq "the app's answer is the output" \
	"Most items can be returned within 30 days of delivery for a full refund." "$(res refund-window output)"
expect_grep "the retrieved passages are stored" 'Returns (§2.1): Most items can be returned within 30 days' \
	<(res refund-window target_reply)
expect_eq "and their ids, best first" 'returns#2.1 2' \
	"$(sql "select json_extract(target_reply, '$.context_ids[0]') || ' ' || json_array_length(target_reply, '$.context_ids') from results where case_id='refund-window'")"
expect_eq "the retrieval scorer reads the ids the app returned" "1 1.0" \
	"$(sql "select pass || ' ' || score from scores where case_id='refund-window' and type='retrieval'")"
expect_eq "vars reach the request: top_k 1 gives one passage" "1" \
	"$(sql "select json_array_length(target_reply, '$.context') from results where case_id='gift-cards'")"
expect_eq "the reply's usage is the result's (the mock counts 14 words)" "14" "$(res refund-window completion_tokens)"
check "its cost is priced at the model" test -n "$(res refund-window cost_usd)"
expect_eq "a case has no context of its own" "" "$(sql "select t.context from results r join case_texts t on t.hash = r.case_hash where r.case_id='refund-window'")"
grounded() { sql "select pass || ' ' || printf('%.2f', score) from scores where case_id='$1' and scorer='grounded'"; }
expect_eq "a grounded answer is faithful to what was retrieved" "1 1.00" "$(grounded refund-window)"
expect_eq "a made-up answer is not" "0" "$(sql "select pass from scores where case_id='made-up' and scorer='grounded'")"
expect_eq "made-up fails, the others pass" "pass fail pass" \
	"$(for c in gift-cards made-up refund-window; do res $c status; done | tr '\n' ' ' | sed 's/ $//')"
expect_grep "the judge verifies claims against the retrieved passages" 'Returns (§2.1)' \
	<(grep '"model":"judge-model"' "$T/mock.log" | grep 'verify' || true)
expect_eq "claims-based faithfulness passes" "1" "$(sql "select pass from scores where case_id='refund-window' and type='faithfulness' and scorer <> 'grounded'")"
expect_grep "the app passed the case id on to the gateway" '"case":"gift-cards"' "$T/mock.log"
expect_grep "the JSON report holds the retrieved context" '"retrieved":{"context":\["Gift cards' "$T/r.json"
expect_grep "the HTML report shows it in the details" 'Retrieved context' "$T/r.html"
expect_grep "the HTML report carries the passages" 'Acme gift cards never expire' "$T/r.html"
check "the app's token is nowhere in the history" bash -c "! grep -qa '$APP_TOKEN' '$T/h.db' '$T/cache.db'"
check "nor in the reports or the output" bash -c "! grep -q '$APP_TOKEN' '$T/r.json' '$T/r.html' '$T/out' '$T/err'"
check "the gateway's key is never sent to the app" bash -c "! grep -q 'sk-test-SECRET' '$T/app.out'"

# --- a second run comes from the cache, retrieved context included
before=$(grep -c '"model":"rag-model"' "$T/mock.log")
expect_rc "second run" 0 "$EG_BIN" run --config app.json --suite s/rag --history "$T/h.db"
expect_eq "answered from the cache: the app was not asked" "$before" "$(grep -c '"model":"rag-model"' "$T/mock.log")"
expect_eq "the cached results keep their retrieved context" "3 3" \
	"$(sql "select sum(cached) || ' ' || sum(json_array_length(target_reply, '$.context') > 0) from results where run_id = (select id from runs order by started_at desc, rowid desc limit 1)")"
expect_eq "and score the same" "pass fail pass" \
	"$(for c in gift-cards made-up refund-window; do res $c status; done | tr '\n' ' ' | sed 's/ $//')"

# --- nested pointers and wildcards; GET
expect_rc "nested reply shape" 0 "$EG_BIN" run --config nested.json --suite s/rag --history "$T/n.db" --no-cache
nsql() { sqlite3 "$T/n.db" "$@"; }
expect_eq "output from /data/result/answer/text" "Acme gift cards never expire and can be used for any merchandise." \
	"$(nsql "select output from results where case_id='gift-cards'")"
expect_eq "context from /data/retrieval/hits/*/doc/body, ids from .../doc/id" \
	"$(sql "select json_extract(target_reply, '$.context_ids') from results where case_id='refund-window' limit 1")" \
	"$(nsql "select json_extract(target_reply, '$.context_ids') from results where case_id='refund-window'")"
expect_grep "the passages themselves" 'Returns (§2.1): Most items' <(nsql "select target_reply from results where case_id='refund-window'")
expect_eq "usage from /meta/usage" "14" "$(nsql "select completion_tokens from results where case_id='refund-window'")"
expect_eq "scored as before" "pass fail pass" \
	"$(nsql "select group_concat(status, ' ') from (select status from results order by case_id)")"
expect_rc "GET with the case in the url" 0 "$EG_BIN" run --config get.json --suite s/rag --history "$T/g.db" --no-cache
expect_eq "GET answers" "3" "$(sqlite3 "$T/g.db" "select count(*) from results where output is not null")"

# --- applications that misbehave
esql() { sqlite3 "$T/e.db" "select status || '|' || attempts || '|' || coalesce(error, '') from results where case_id='$1' order by seq desc limit 1"; }
expect_rc "a mapped field missing" 0 "$EG_BIN" run --config partial.json --suite s/rag --history "$T/e.db" --no-cache
expect_eq "is a per-case error naming the pointer, not retried" \
	"error|1|invalid reply: response.context (/sources/*/text): no member 'sources' at the root" "$(esql gift-cards)"
expect_rc "a reply that is not JSON" 0 "$EG_BIN" run --config text.json --suite s/rag --history "$T/e.db" --no-cache
expect_eq "is retried, then an error" \
	"error|2|invalid reply after 2 attempts: not JSON (truncated or malformed)" "$(esql gift-cards)"
expect_rc "a redirect" 0 "$EG_BIN" run --config redirect.json --suite s/rag --history "$T/e.db" --no-cache
expect_eq "is refused, not followed" \
	"error|1|HTTP 302: redirect refused (redirects are not followed; give the final URL): Location: /ask" \
	"$(esql gift-cards)"
expect_rc "503 twice, then an answer" 0 "$EG_BIN" run --config flaky.json --suite s/rag --history "$T/e.db" --no-cache
expect_eq "5xx is retried" "pass|3|" "$(esql gift-cards)"
APP_TOKEN=wrong-token-77 expect_rc "a token the app refuses stops the run" 3 \
	"$EG_BIN" run --config app.json --suite s/rag --history "$T/e.db" --no-cache
expect_grep "and says who refused" 'the target refused the credentials (HTTP 401)' "$T/err"
check "without printing the token" bash -c "! grep -q 'wrong-token-77' '$T/err' '$T/out'"

# --- bad target configs: exit 2, located, nothing written
line=$(grep -n '"context": "sources/\*/text"' bad.json | cut -d: -f1)
expect_rc "validate refuses a bad pointer" 2 "$EG_BIN" validate --config bad.json --suite s/rag
expect_grep "at its file, line and field" "bad.json:$line: target.response.context: must be empty or start with '/'" "$T/err"
expect_rc "run refuses it too" 2 "$EG_BIN" run --config bad.json --suite s/rag --history "$T/bad.db"
check "and writes nothing" test ! -e "$T/bad.db"
python3 -c "import json; c = json.load(open('app.json')); c['target']['type'] = 'grpc'; json.dump(c, open('grpc.json', 'w'), indent=2)"
expect_rc "an unknown target type" 2 "$EG_BIN" validate --config grpc.json --suite s/rag
expect_grep "names the known ones" "grpc.json:$(grep -n '"type": "grpc"' grpc.json | cut -d: -f1): target.type: unknown target type 'grpc' (known: chat, http, exec)" "$T/err"
unset APP_TOKEN
expect_rc "a header from an unset variable" 2 "$EG_BIN" validate --config app.json --suite s/rag
expect_grep "names the variable" 'target.request.headers: environment variable APP_TOKEN is not set' "$T/err"

finish
