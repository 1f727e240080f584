#!/usr/bin/env bash
# Flip confirmation of the regression gate ("confirm"), through real runs
# against the mock: flipped cases (new failures and fixed ones) are asked
# again as fresh samples, never through the response cache, within the cap,
# and the re-asks are stored with the run. A real regression (cases that
# keep failing) stays a regression, and is caught where the first pass alone
# misses it; a flaky case's flip is confirmed away.
. "$(dirname "$0")/lib.sh"

cases=$(n_cases 20 c)
make_suite s/cf cf golden "$cases"
gates='[{"name":"confirmed","metric":"regression","alpha":0.1,"confirm":{"max_extra_calls":0.75,"max_asks":2}},
        {"name":"plain","metric":"regression","alpha":0.1},
        {"name":"split","metric":"regression","alpha":0.1,"confirm":{"max_extra_calls":0.75,"alpha_share":0.2}}]'
write_config cfg.json "$gates"
run() { "$EG_BIN" run --config cfg.json --suite s/cf --history "$T/h.db" --color never "$@"; }
detail() { sql "select detail from gates where run_id = '$1' and name = '$2'"; }
jq_py() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
last_run() { sql "select id from runs order by started_at desc, rowid desc limit 1"; }
pass_of() { sql "select pass from gates where run_id = '$1' and name = '$2'"; }
# mock_script RULES...: each rule a JSON line
mock_script() { printf '%s\n' "$@" >script.jsonl; : >"$T/mock.log"; start_mock script.jsonl; }
nope() { printf '{"case": "%s", "reply": "nope"}' "$1"; }
# first request of the case fails, later ones pass (a flaky case)
flaky() { printf '{"case": "%s", "replies": ["nope", "echo again"]}' "$1"; }
requests() { grep -c '"path"' "$T/mock.log" || true; }

# --- the baseline: c20 fails, every other case passes
write_config base.json '[]'
mock_script "$(nope c20)"
expect_rc "baseline run" 0 "$EG_BIN" run --config base.json --suite s/cf --history "$T/h.db" --no-cache
base=$(last_run)

# --- a real regression: c1..c6 fail every time, c20 (failed in the baseline) passes now.
# First pass: 6 new failures, 1 fixed, McNemar p = 0.125: the plain gate passes (alpha 0.1),
# and so does the first-pass half (0.05) of the confirmed one; the re-asks keep c1..c6
# failing while c20 passes its first re-ask, so the confirmed flips are 6 to 0, p = 0.031,
# under the confirmed gate's half of alpha (0.05, the default share) but not under the
# "split" gate's 0.02 (alpha_share 0.2, which gives its first pass 0.08).
mock_script "$(nope c1)" "$(nope c2)" "$(nope c3)" "$(nope c4)" "$(nope c5)" "$(nope c6)"
expect_rc "regression: exit 1" 1 run --no-cache --baseline "$base"
cand=$(last_run)
cp "$T/out" reg.out
expect_eq "plain gate passes on the first pass alone" "1" "$(pass_of "$cand" plain)"
expect_eq "confirmed gate blocks" "0" "$(pass_of "$cand" confirmed)"
expect_eq "a share of 0.2 of alpha does not block on 6 to 0" "1" "$(pass_of "$cand" split)"
expect_eq "detail: the share" "0.5 0.2" \
	"$(detail "$cand" confirmed | jq_py 'd["confirm"]["alpha_share"]') $(detail "$cand" split | jq_py 'd["confirm"]["alpha_share"]')"
d=$(detail "$cand" confirmed)
expect_eq "detail: confirmed counts" "13 7 6 0 1 0" \
	"$(echo "$d" | jq_py '" ".join(str(d["confirm"][k]) for k in ["calls", "asked", "new_failures", "fixed", "passing", "undecided"])')"
expect_eq "detail: confirmed p" "0.03125" "$(echo "$d" | jq_py 'round(d["confirm"]["p_value"], 6)')"
expect_eq "re-asks stored apart from the results" "13|20" \
	"$(sql "select (select count(*) from confirmations where run_id = '$cand') || '|' || (select count(*) from results where run_id = '$cand')")"
expect_eq "re-ask samples: c1 twice (1, 2), c20 once (1)" "1,2|1" \
	"$(sql "select (select group_concat(sample) from (select sample from confirmations where run_id = '$cand' and case_id = 'c1' order by sample)) || '|' || (select group_concat(sample) from confirmations where run_id = '$cand' and case_id = 'c20')")"
expect_eq "runs.confirm_calls" "13" "$(sql "select confirm_calls from runs where id = '$cand'")"
expect_eq "mock saw 20 first answers and 13 re-asks" "33" "$(requests)"
expect_eq "re-asks carry x-evalgate-repeat 1 and 2" "1:7 2:6" \
	"$(python3 -c '
import json, collections, sys
c = collections.Counter(json.loads(l)["headers"].get("x-evalgate-repeat", "0") for l in open(sys.argv[1]))
print(" ".join("%s:%d" % (k, c[k]) for k in sorted(c) if k != "0"))' "$T/mock.log")"
expect_grep "the gate line: the first pass's share of alpha" "confirmed .*6 new failures, 1 fixed (p=0.12 >= 0.05, the first pass's share of alpha 0.1)" reg.out
expect_grep "the split gate line: 0.08 for the first pass" "split .*6 new failures, 1 fixed (p=0.12 >= 0.08, the first pass's share of alpha 0.1)" reg.out
expect_grep "the split confirmed test: 0.02" "McNemar p = 0.03125 >= 0.02\$" reg.out
expect_grep "the gate line: the confirmed test" "confirmed by 13 re-asks: 6 new failures and 0 fixed cases failed 2 re-asks in a row, 1 flip passed one, 0 undecided; McNemar p = 0.03125 < 0.05: a confirmed drop" reg.out
expect_grep "the run says what it asked" "flip confirmation: 7 flipped cases, 13 re-asks (at most 15)" "$T/err"
expect_rc "gate ID gives the same verdicts from the stored re-asks" 1 \
	"$EG_BIN" gate "$cand" --config cfg.json --history "$T/h.db" --color never
expect_eq "gate ID: confirmed still blocks, plain passes" "0|1" "$(pass_of "$cand" confirmed)|$(pass_of "$cand" plain)"

# --- a flaky candidate: c1..c5 fail their first answer and pass when asked again.
# c20 fails again, as in the baseline. The plain gate blocks (5 to 0, p = 0.0625 < 0.1); confirmation re-asks the five,
# each passes, and the confirmed gate lets the PR through.
mock_script "$(flaky c1)" "$(flaky c2)" "$(flaky c3)" "$(flaky c4)" "$(flaky c5)" "$(nope c20)"
expect_rc "flaky: exit 1 (the plain gate)" 1 run --no-cache --baseline "$base"
cand2=$(last_run)
expect_eq "plain gate blocks the flaky PR" "0" "$(pass_of "$cand2" plain)"
expect_eq "confirmed gate passes it" "1" "$(pass_of "$cand2" confirmed)"
expect_eq "flaky detail: 5 asked once, all passing" "5 5 0 0 5 0" \
	"$(detail "$cand2" confirmed | jq_py '" ".join(str(d["confirm"][k]) for k in ["calls", "asked", "new_failures", "fixed", "passing", "undecided"])')"

# --- the cap: max_extra_calls 0.1 of 20 results = 2 re-asks, then the flips are undecided
gates_cap='[{"name":"confirmed","metric":"regression","alpha":0.1,"confirm":{"max_extra_calls":0.1}}]'
write_config cap.json "$gates_cap"
mock_script "$(nope c1)" "$(nope c2)" "$(nope c3)" "$(nope c4)" "$(nope c5)" "$(nope c6)"
expect_rc "capped run: undecided flips do not block" 0 "$EG_BIN" run --config cap.json --suite s/cf --history "$T/h.db" --no-cache --baseline "$base"
cand3=$(last_run)
expect_eq "cap: 2 re-asks stored and counted" "2|2" \
	"$(sql "select (select count(*) from confirmations where run_id = '$cand3') || '|' || confirm_calls from runs where id = '$cand3'")"
expect_eq "cap: the mock saw 22 requests" "22" "$(requests)"
expect_eq "cap: 2 of the 7 flips asked once, none decided failing" "2 0 0 7" \
	"$(detail "$cand3" confirmed | jq_py '"%d %d %d %d" % (d["confirm"]["asked"], d["confirm"]["new_failures"], d["confirm"]["fixed"], d["confirm"]["passing"] + d["confirm"]["undecided"])')"
expect_eq "cap: default max_asks 2" "2" "$(detail "$cand3" confirmed | jq_py 'd["confirm"]["max_asks"]')"

# --- the cache: a candidate with the cache on. Its first pass is answered from the
# cache the second time, but the re-asks go to the gateway every time.
write_config cache.json "$gates" "" '"target": {"name": "it-bot", "version": "v2", "model": "mock-model-2"}'
mock_script "$(nope c1)" "$(nope c2)" "$(nope c3)" "$(nope c4)" "$(nope c5)" "$(nope c6)"
cache_run() { "$EG_BIN" run --config cache.json --suite s/cf --history "$T/h.db" --baseline "$base" --color never; }
expect_rc "cached candidate, first time" 1 cache_run
expect_eq "first time: 20 answers and 13 re-asks" "33" "$(requests)"
: >"$T/mock.log"
expect_rc "cached candidate, again" 1 cache_run
c5=$(last_run)
expect_eq "again: first pass from the cache, the 13 re-asks asked" "13" "$(requests)"
expect_eq "again: 20 cache hits, no re-ask cached" "20|0" \
	"$(sql "select (select count(*) from results where run_id = '$c5' and cached = 1) || '|' || (select count(*) from confirmations where run_id = '$c5' and sample < 1)")"
expect_eq "again: confirmed gate blocks" "0" "$(pass_of "$c5" confirmed)"

# --- config errors are located
write_config bad.json '[{"metric":"regression","confirm":{"max_asks":0}}]'
expect_rc "confirm.max_asks 0 is refused" 2 "$EG_BIN" validate --config bad.json --suite s/cf
expect_grep "located" "gates\[0\].confirm.max_asks" "$T/err"
write_config bad2.json '[{"metric":"regression","confirm":{"budget":1}}]'
expect_rc "unknown confirm field refused" 2 "$EG_BIN" validate --config bad2.json --suite s/cf
expect_grep "unknown field named" "confirm.budget" "$T/err"
write_config bad3.json '[{"metric":"regression","confirm":{"alpha_share":1}}]'
expect_rc "confirm.alpha_share 1 is refused" 2 "$EG_BIN" validate --config bad3.json --suite s/cf
expect_grep "located, with the range" "gates\[0\].confirm.alpha_share.*between 0 and 1" "$T/err"
write_config ok.json '[{"metric":"regression","confirm":true}]'
expect_rc "confirm: true is valid" 0 "$EG_BIN" validate --config ok.json --suite s/cf

finish
