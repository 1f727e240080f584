#!/usr/bin/env bash
# evalgate power: per-case pass rates from the target's complete runs, PRs
# simulated through the regression gate's own decision; seeded, so the same
# history and seed print the same estimates.
. "$(dirname "$0")/lib.sh"

cases=$(n_cases 40 c)
make_suite s/pw pw golden "$cases"
write_config cfg.json '[{"metric":"regression"}]'
run() { "$EG_BIN" run --config cfg.json --suite s/pw --history "$T/h.db" --no-cache "$@"; }
power() { "$EG_BIN" power --config cfg.json --history "$T/h.db" "$@"; }
mkdir -p suites
check "lock the suite" "$EG_BIN" validate --config cfg.json --suite s/pw --lock

expect_rc "no history yet: exit 2" 2 power
# three runs: c1..c4 fail in one run each (rate 2/3), the rest always pass
for fails in "c1 c2" "c3" "c4"; do
	: >script.jsonl
	for c in $fails; do printf '{"case": "%s", "reply": "nope"}\n' "$c" >>script.jsonl; done
	start_mock script.jsonl
	run >/dev/null 2>&1 || true
done
expect_eq "three finished runs" "3" "$(sql "select count(*) from runs where status = 'finished'")"

expect_rc "no complete run of another target: exit 2" 2 power --target other
expect_grep "says which target" "no complete run of target 'other'" "$T/err"
expect_rc "a drop of 0 is refused: exit 2" 2 power --drop 0
expect_grep "names --drop" "\-\-drop: '0'" "$T/err"

expect_rc "power --drop 5,50 --prs 300 --seed 7" 0 power --drop 5,50 --prs 300 --seed 7
cp "$T/out" first.txt
expect_grep "the gate it simulates: the config's, alpha 0.1 with flip confirmation" \
	"^regression gate: alpha 0.1, flip confirmation (max_asks 2, max_extra_calls 0.25, alpha_share 0.5)$" first.txt
expect_grep "the rates: 40 cases from 3 runs" "case pass rates: 40 cases from 3 complete runs of target it-bot, mean 96.7%" first.txt
expect_grep "the false-block rate with its interval" "^no change:     false-block rate [0-9.]*% (95% CI [0-9.]*%..[0-9.]*%, [0-9]* of 300 PRs)$" first.txt
fb=$(sed -n 's/^no change: *false-block rate \([0-9]*\).*/\1/p' first.txt)
expect_eq "an unchanged PR is blocked under 10% of the time" "1" "$([ "$fb" -lt 10 ] && echo 1)"
p50=$(sed -n 's/^drop   50 pts: power \([0-9]*\).*/\1/p' first.txt)
expect_eq "a 50-point drop is caught almost always" "1" "$([ "${p50:-0}" -ge 95 ] && echo 1)"
expect_grep "the n for 80% power of a 5-point drop" "^drop    5 pts: power .*; 80% power by n = [0-9]*$" first.txt
expect_rc "the same seed again" 0 power --drop 5,50 --prs 300 --seed 7
expect_eq "seeded: the same estimates" "$(cat first.txt)" "$(cat "$T/out")"
expect_rc "another seed" 0 power --drop 5,50 --prs 300 --seed 8
expect_eq "another seed, other draws" "1" "$(cmp -s first.txt "$T/out" || echo 1)"

# --json: the same figures as the text of the same seed, as one JSON object
expect_rc "power --json, the same seed" 0 power --drop 5,50 --prs 300 --seed 7 --json
expect_eq "--json: the text's figures" \
	"$(sed -n -e 's/^case pass rates: \([0-9]*\) cases from \([0-9]*\) complete runs of target \([^ ]*\), mean \([0-9.]*\)%$/\1|\2|\3|\4/p' \
		-e 's/^simulated: \([0-9]*\) PRs of \([0-9]*\) cases each, seed \([0-9]*\)$/\1|\2|\3/p' \
		-e 's/^no change: *false-block rate \([0-9.]*\)% (95% CI \([0-9.]*\)%..\([0-9.]*\)%, \([0-9]*\) of.*/\1|\2|\3|\4/p' \
		-e 's/^drop *\([0-9]*\) pts: power \([0-9.]*\)% (95% CI \([0-9.]*\)%..\([0-9.]*\)%, \([0-9]*\) of [0-9]* PRs); 80% power by n = \([0-9]*\)$/\1|\2|\3|\4|\5|\6/p' first.txt)" \
	"$(python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
pc = lambda x: "%.1f" % (100 * x)
r = lambda o: [pc(o["rate"]), pc(o["lo"]), pc(o["hi"]), str(o["blocked"])]
print("|".join([str(j["cases"]), str(j["runs"]), j["target"], pc(j["mean_pass_rate"])]))
print("|".join([str(j["prs"]), str(j["n"]), str(j["seed"])]))
print("|".join(r(j["no_change"])))
for d in j["drops"]:
    print("|".join(["%g" % d["drop"]] + r(d) + [str(d["n_for_80"])]))
' "$T/out")"
expect_eq "--json: the gate's settings" '{"alpha": 0.1, "max_new_failures": null, "confirm": {"max_asks": 2, "max_extra_calls": 0.25, "alpha_share": 0.5}}|300' \
	"$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(json.dumps(j["gate"]) + "|" + str(j["no_change"]["prs"]))' "$T/out")"

write_config strict.json '[{"metric":"regression","max_new_failures":0}]'
expect_rc "a max_new_failures gate" 0 "$EG_BIN" power --config strict.json --history "$T/h.db" --drop 5 --prs 300
expect_grep "its settings" "^regression gate: max_new_failures 0$" "$T/out"
expect_rc "the max_new_failures gate as JSON" 0 "$EG_BIN" power --config strict.json --history "$T/h.db" --drop 5 --prs 300 --json
expect_eq "--json: no alpha, no confirmation" '{"alpha": null, "max_new_failures": 0, "confirm": false}' \
	"$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["gate"]))' "$T/out")"
expect_rc "max_new_failures gate, text again" 0 "$EG_BIN" power --config strict.json --history "$T/h.db" --drop 5 --prs 300
fb=$(sed -n 's/^no change: *false-block rate \([0-9]*\).*/\1/p' "$T/out")
expect_eq "max_new_failures 0 blocks most unchanged PRs on a flaky suite" "1" "$([ "$fb" -ge 50 ] && echo 1)"

# the reports show the gate's estimate next to its verdict, computed as `evalgate power`
# computes it over the same runs (the last 5 complete runs up to the baseline), seeded
expect_rc "power as the gate estimates it" 0 power --drop 5 --prs 400 --seed 1 --runs 5
fb=$(sed -n 's/^no change: *false-block rate \([0-9.]*\)%.*/\1/p' "$T/out")
pw=$(sed -n 's/^drop    5 pts: power \([0-9.]*\)%.*/\1/p' "$T/out")
want=$(printf 'This gate blocks about %.0f%% of unchanged PRs; it catches a 5-point drop %.0f%% of the time (simulated: 400 PRs of 40 cases from the case pass rates of 3 runs up to the baseline' "$fb" "$pw")
: >script.jsonl
start_mock script.jsonl
expect_rc "a candidate with reports" 0 run --markdown pr.md --html pr.html
cand=$(sql "select id from runs order by started_at desc limit 1")
expect_grep "Markdown: the estimate beside the regression verdict" "$want" pr.md
expect_grep "HTML: the same sentence" "$want" pr.html
expect_eq "stored in the gate's detail" "400|40|3|1|0.05" \
	"$(sql "select json_extract(detail, '\$.power.prs') || '|' || json_extract(detail, '\$.power.n') || '|' || json_extract(detail, '\$.power.runs') || '|' || json_extract(detail, '\$.power.seed') || '|' || json_extract(detail, '\$.power.drop') from gates where run_id = '$cand'")"
expect_rc "gate ID again: the same estimate" 0 "$EG_BIN" gate "$cand" --config cfg.json --history "$T/h.db"
expect_rc "report again" 0 "$EG_BIN" report "$cand" --history "$T/h.db" --markdown pr2.md
expect_grep "reproducible" "$want" pr2.md

finish
