#!/usr/bin/env bash
# The demo: start the mock gateway on a free loopback port, run the example
# support suite through it, write JUnit, print the verdict, stop the gateway.
set -uo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
work=$(mktemp -d)
"$build/tests/mock_gateway" --port 0 --port-file "$work/port" --script tests/data/mock-support.jsonl >/dev/null 2>&1 &
mock=$!
trap 'kill $mock 2>/dev/null; wait $mock 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.05; done
export EVALGATE_BASE_URL="http://127.0.0.1:$(cat "$work/port")/v1"
export EVALGATE_API_KEY=demo-key
echo "mock gateway on $EVALGATE_BASE_URL"
echo "\$ evalgate run --junit junit.xml   (config: evalgate.json, suite: suites/golden/support)"
rc=0
"$build/evalgate" run --history "$work/history.db" --junit "$work/junit.xml" || rc=$?
cp "$work/junit.xml" "$build/demo-junit.xml" 2>/dev/null && echo "JUnit report: $build/demo-junit.xml"
echo "exit code $rc"
exit $rc
