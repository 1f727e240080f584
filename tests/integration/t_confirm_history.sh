#!/usr/bin/env bash
# Flip confirmation with the history ("confirm": {"use_history"}): a nightly
# run with --repeat 5 shows case c1 flaky (1 of 5 samples pass) and c2
# reliable (5 of 5). A candidate where both flip pass -> fail: c2's flip is
# re-asked and counts; c1's is discounted (not re-asked, out of the
# confirmed test) and the gate line and the reports say so. Without the
# history both are re-asked and both count.
. "$(dirname "$0")/lib.sh"

make_suite s/cf cf golden "$(n_cases 20 c)"
hist='[{"name":"hist","metric":"regression","alpha":0.1,"confirm":{"max_extra_calls":0.5}}]'
nohist='[{"name":"nohist","metric":"regression","alpha":0.1,"confirm":{"max_extra_calls":0.5,"use_history":false}}]'
write_config hist.json "$hist"
write_config nohist.json "$nohist"
write_config plain.json '[]'
last_run() { sql "select id from runs order by started_at desc, rowid desc limit 1"; }
detail() { sql "select json_extract(detail, '\$.$3') from gates where run_id = '$1' and name = '$2'"; }
mock_script() { printf '%s\n' "$@" >script.jsonl; : >"$T/mock.log"; start_mock script.jsonl; }
nope() { printf '{"case": "%s", "reply": "nope"}' "$1"; }
run() { "$EG_BIN" run --suite s/cf --history "$T/h.db" --no-cache --color never "$@"; }

# --- the nightly: c1 answers right once in five (the mock's replies, in order), the rest always
mock_script '{"case": "c1", "replies": ["nope", "nope", "echo", "nope", "nope"]}'
expect_rc "nightly --repeat 5" 0 run --config plain.json --repeat 5
nightly=$(last_run)
expect_eq "nightly: c1 passed 1 of 5, c2 5 of 5" "1/5 5/5" \
	"$(sql "select group_concat(p || '/' || n, ' ') from (select sum(status = 'pass') p, count(*) n from results where run_id = '$nightly' and case_id in ('c1', 'c2') group by case_id order by case_id)")"

# --- the baseline: every case passes
mock_script '{"case": "none", "reply": "unused"}'
expect_rc "baseline" 0 run --config plain.json
base=$(last_run)

# --- evalgate power simulates the rule, and says what the history holds (the nightly and
# the baseline: c1 passed 2 of 6 samples)
expect_rc "power with the history" 0 "$EG_BIN" power --config hist.json --history "$T/h.db" --prs 50 --drop 50
expect_grep "power: the flaky cases" "flip confirmation history: 20 of 20 cases with 3 or more samples, 1 of them flaky (p < 0.78)" "$T/out"

# --- the candidate: c1 and c2 fail, every time
mock_script "$(nope c1)" "$(nope c2)"
expect_rc "candidate with the history: passes (one confirmed flip)" 0 run --config hist.json --baseline "$base"
cand=$(last_run)
cp "$T/out" hist.out
cp "$T/err" hist.err
expect_eq "the first pass: 2 new failures" "2" "$(detail "$cand" hist new_failures)"
expect_eq "c2's flip counts, c1's is discounted" "1 0 1" \
	"$(echo "$(detail "$cand" hist confirm.new_failures) $(detail "$cand" hist confirm.undecided) $(detail "$cand" hist confirm.discounted)")"
expect_eq "the discounted case, from 5 samples of 1 run" "cf/c1 new_failure 5 1" \
	"$(echo "$(detail "$cand" hist 'confirm.discounted_cases[0].suite')/$(detail "$cand" hist 'confirm.discounted_cases[0].case_id') $(detail "$cand" hist 'confirm.discounted_cases[0].flip') $(detail "$cand" hist 'confirm.discounted_cases[0].samples') $(detail "$cand" hist confirm.history_runs)")"
# the prior's centre: 96 of the nightly's 100 samples passed; (1 + 2 x 0.96) / (5 + 2)
expect_eq "c1's estimate, shrunk towards the mean" "0.4171" \
	"$(sql "select printf('%.4f', json_extract(detail, '\$.confirm.discounted_cases[0].p')) from gates where run_id = '$cand'")"
expect_eq "the threshold for max_asks 2" "0.7764" \
	"$(sql "select printf('%.4f', json_extract(detail, '\$.confirm.flaky_p')) from gates where run_id = '$cand'")"
expect_eq "only c2 was re-asked (twice)" "c2:2" \
	"$(sql "select group_concat(case_id || ':' || n) from (select case_id, count(*) n from confirmations where run_id = '$cand' group by case_id)")"
expect_grep "the run says what it left out" "flip confirmation: 2 flipped cases, 2 re-asks (at most 10): 1 failing, 0 passing, 0 undecided, 1 on cases flaky in the history not asked" hist.err
expect_grep "the gate line names the discounted flip" "1 flip on cases flaky in the history (p < 0.78 over 1 run) discounted: cf/c1 (p = 0.42, 5 samples)" hist.out

expect_rc "reports of the candidate" 0 "$EG_BIN" report "$cand" --history "$T/h.db" \
	--markdown "$T/r.md" --html "$T/r.html" --no-step-summary
expect_grep "Markdown: the discounted flips" "^1 flip on cases flaky in the history (p < 0.78) discounted\.$" "$T/r.md"
expect_grep "HTML: the discounted flips" '<p class="discounted">1 flip on cases flaky in the history (p &lt; 0.78) discounted.</p>' "$T/r.html"

expect_rc "gate ID decides the same from the stored re-asks" 0 \
	"$EG_BIN" gate "$cand" --config hist.json --history "$T/h.db" --color never
expect_eq "gate ID: the same tally" "1 1" \
	"$(echo "$(detail "$cand" hist confirm.new_failures) $(detail "$cand" hist confirm.discounted)")"

# --- without the history: both flips are re-asked and both count
mock_script "$(nope c1)" "$(nope c2)"
expect_rc "candidate without the history" 0 run --config nohist.json --baseline "$base"
cand2=$(last_run)
expect_eq "both flips confirmed, none discounted" "2 0" \
	"$(echo "$(detail "$cand2" nohist confirm.new_failures) $(detail "$cand2" nohist confirm.undecided)")"
expect_eq "no history in the detail" "0|" \
	"$(echo "$(detail "$cand2" nohist confirm.use_history)|$(detail "$cand2" nohist confirm.discounted)")"
expect_eq "both re-asked twice" "c1:2,c2:2" \
	"$(sql "select group_concat(case_id || ':' || n) from (select case_id, count(*) n from confirmations where run_id = '$cand2' group by case_id order by case_id)")"
expect_rc "report without the history" 0 "$EG_BIN" report "$cand2" --history "$T/h.db" \
	--markdown "$T/r2.md" --no-step-summary
check "Markdown: nothing discounted" bash -c "! grep -q 'flaky in the history' '$T/r2.md'"

# --- config: use_history is a boolean
write_config bad.json '[{"metric":"regression","confirm":{"use_history":"yes"}}]'
expect_rc "use_history must be a boolean" 2 "$EG_BIN" validate --config bad.json --suite s/cf
expect_grep "located" "confirm.use_history" "$T/err"

finish
