#!/usr/bin/env bash
# Variants: the same suite against several models and prompts in one run.
# N variants make N stored runs (each gated on its own) and a matrix: pass
# rate with its interval, flips against the first variant, cost, latency,
# in the terminal, Markdown, HTML and JSON. The exit code is the worst run's;
# a variant whose config is invalid stops everything before any call.
. "$(dirname "$0")/lib.sh"

# the mock fails every case asked of model "weak", and c1 of "mixed"
cat >script.jsonl <<'S'
{"model": "weak", "reply": "nope"}
{"model": "mixed", "case": "c1", "reply": "nope"}
S
start_mock script.jsonl
mkdir -p suites prompts
make_suite s/v v golden "$(n_cases 6 c)"
write_config cfg.json '[{"name": "pass rate", "metric": "pass_rate", "min": 0.8}]' '' \
	'"prices": {"mock-model": {"input_per_mtok": 1, "output_per_mtok": 2}}'
printf 'Please answer: {{input}}\n' >prompts/v2.txt
python3 - <<'EOP'
import json
cfg = json.load(open("cfg.json"))
cfg["variants"] = [
    {"name": "base"},
    {"name": "prompt-v2", "prompt": "prompts/v2.txt"},
    {"name": "weak", "target": {"model": "weak"}},
]
json.dump(cfg, open("cfg.json", "w"), indent=2)
EOP
run() { "$EG_BIN" run --config cfg.json --suite s/v --history "$T/h.db" --no-cache "$@"; }
check "validate accepts the variants" "$EG_BIN" validate --config cfg.json --suite s/v --lock

expect_rc "three variants: the worst exit (a failed gate) is the run's" 1 run \
	--markdown m.md --html m.html --json m.json --junit j.xml
cp "$T/out" out.txt
expect_eq "three stored runs" "3" "$(sql "select count(*) from runs")"
expect_eq "models of the runs" "mock-model mock-model weak" \
	"$(sql "select model from runs order by started_at" | tr '\n' ' ' | sed 's/ $//')"
expect_grep "matrix: header" "variants: 3 runs; flips are against base" out.txt
expect_grep "matrix: base pass rate with its interval" "base .* 6 cases  100.0% \[61.0, 100.0\]" out.txt
expect_grep "matrix: weak flips against base" "weak .*0.0% \[0.0, 39.0\] .*-6 +0 of 6 pairs (0 changed)" out.txt
expect_grep "matrix: the prompt variant's cases changed" "prompt-v2 .*-0 +0 of 0 pairs (6 changed)" out.txt
expect_grep "the prompt variant rendered the prompt" "Please answer: question 1" <(sql "select cast(output as text) from results")
expect_grep "each variant's own gate verdict" "verdict: FAIL" out.txt
expect_eq "one junit report per variant" "j.base.xml j.prompt-v2.xml j.weak.xml" "$(ls j.*.xml | tr '\n' ' ' | sed 's/ $//')"
expect_grep "markdown matrix" "| weak | " m.md
expect_grep "html matrix" "<td>prompt-v2</td>" m.html
expect_eq "json matrix: flips, pass rates, exit codes" "base 1 0 None 0 weak 0 True 6 1" \
	"$(python3 -c '
import json; d = json.load(open("m.json")); v = d["variants"]
print(d["reference"], v[0]["pass_rate"], v[0]["exit_code"], v[0].get("new_failures"), v[1]["exit_code"],
      v[2]["name"], v[2]["pass_rate"], v[2]["pass_rate_hi"] > 0.3, v[2]["new_failures"], v[2]["exit_code"])')"
check "json matrix: cost and latency are numbers" python3 -c '
import json; v = json.load(open("m.json"))["variants"][0]
assert v["cost_usd"] > 0 and v["latency_p50_ms"] >= 0 and v["latency_p95_ms"] >= v["latency_p50_ms"]'

# --variant replaces the config's list; NAME=FILE and NAME=JSON
printf '{"target": {"model": "mixed"}}\n' >mixed.json
expect_rc "--variant: two runs, the worst passes the gate at 5/6" 0 run \
	--variant 'a={}' --variant b=mixed.json
expect_eq "two more runs" "5" "$(sql "select count(*) from runs")"
expect_grep "b has one new failure against a" "b .*83.3% .*-1 +0 of 6 pairs" "$T/out"

# bad variants are usage errors before any call
n=$(sql "select count(*) from runs")
expect_rc "a variant's prompt with an unknown tag: exit 2" 2 run --variant 'x={"prompt": "prompts/bad.txt"}'
printf '{{nope}}\n' >prompts/bad.txt
expect_rc "a variant's prompt with an unknown tag: exit 2" 2 run --variant 'a={}' --variant 'x={"prompt": "prompts/bad.txt"}'
expect_grep "located in the prompt" "prompts/bad.txt:1: prompt: unknown tag {{nope}}" "$T/err"
expect_grep "names the variant" "variant 'x'" "$T/err"
python3 -c '
import json; c = json.load(open("cfg.json")); c["variants"].append({"name": "bad", "prompt": "prompts/bad.txt"})
json.dump(c, open("bad.json", "w"))'
expect_rc "validate checks the config's variants" 2 "$EG_BIN" validate --config bad.json --suite s/v
expect_grep "validate: located in the prompt" "prompts/bad.txt:1: prompt: unknown tag {{nope}}" "$T/err"
expect_rc "an unknown override field: exit 2" 2 run --variant 'x={"gateway": {}}'
expect_grep "says which" "variant 'x': unknown field" "$T/err"
expect_rc "a duplicate name: exit 2" 2 run --variant 'x={}' --variant 'x={}'
expect_rc "not NAME=...: exit 2" 2 run --variant 'x'
expect_rc "with --resume: exit 2" 2 run --variant 'x={}' --resume latest
expect_eq "nothing was run" "$n" "$(sql "select count(*) from runs")"

finish
