#!/usr/bin/env bash
# The demo: start the mock gateway on a free loopback port, run the project's
# suites (golden, RAG, adversarial) through it, write JUnit, print the verdict;
# then run the RAG suite against the example application (tests/app/rag_app.py,
# an http target whose retrieved passages are scored), print its verdict, and
# stop both. The exit code is the first run's (the application's run shows
# what its keyword retriever misses).
set -uo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
work=$(mktemp -d)
cat tests/data/mock-*.jsonl >"$work/script.jsonl"
"$build/tests/mock_gateway" --port 0 --port-file "$work/port" --script "$work/script.jsonl" >/dev/null 2>&1 &
mock=$!
app=""
trap 'kill $mock $app 2>/dev/null; wait $mock $app 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.05; done
export EVALGATE_BASE_URL="http://127.0.0.1:$(cat "$work/port")/v1"
export EVALGATE_API_KEY=demo-key
echo "mock gateway on $EVALGATE_BASE_URL"
# the main branch's run first: the regression gate's baseline (`latest`); its own
# regression gate has nothing to compare with, so its exit code is not the demo's
echo "\$ evalgate run -q   (the main branch's run: the regression gate's baseline)"
"$build/evalgate" run -q --history "$work/history.db" --no-step-summary >/dev/null 2>&1 || true
echo "\$ evalgate run --junit junit.xml   (config: evalgate.json, suites: golden, rag, agents, adversarial)"
rc=0
"$build/evalgate" run --history "$work/history.db" --junit "$work/junit.xml" \
	--html "$work/report.html" --no-step-summary || rc=$?
echo
echo "per suite and scorer (from the run's history):"
sqlite3 -column -header "$work/history.db" "
  select suite, type as scorer, count(*) as n, sum(pass = 1) as passed, sum(error) as errors,
         printf('%.2f', avg(score)) as mean_score
  from scores
  group by suite, type order by suite, type" 2>/dev/null || true
echo
echo "\$ evalgate run --config evalgate.rag-app.json   (the RAG suite against the example app)"
RAG_GATEWAY_URL=$EVALGATE_BASE_URL RAG_MODEL=gpt-4o-mini \
	python3 tests/app/rag_app.py --port 0 --port-file "$work/app.port" >/dev/null 2>&1 &
app=$!
for _ in $(seq 1 200); do [ -s "$work/app.port" ] && break; sleep 0.05; done
export APP_URL="http://127.0.0.1:$(cat "$work/app.port" 2>/dev/null)"
app_rc=0
"$build/evalgate" run --config evalgate.rag-app.json --history "$work/history.db" \
	--no-step-summary || app_rc=$?
echo "the example app's run: exit code $app_rc"
cp "$work/junit.xml" "$build/demo-junit.xml" 2>/dev/null && echo "JUnit report: $build/demo-junit.xml"
cp "$work/report.html" "$build/demo-report.html" 2>/dev/null && echo "HTML report:  $build/demo-report.html"
echo "exit code $rc"
exit $rc
