#!/usr/bin/env bash
# The GitHub Action end to end, as a user of another repository runs it: the
# user's repository holds only evalgate.json and the suites (no evalgate
# source); the action's checkout lives apart; its scripts (build.sh,
# evalgate_action.py) run as action.yml runs them, with GITHUB_OUTPUT,
# GITHUB_STEP_SUMMARY and GITHUB_EVENT_PATH as temporary files, GITHUB_API_URL
# pointing at a fake of GitHub's REST API (tests/mock/fake_github.py, paginating
# with Link headers) and the real evalgate binary against the mock gateway.
#
# The Action's steps are reproduced here with the environment action.yml gives
# each; the example workflows' own shell steps (eval-promote.yml's registry
# branch) are read from the YAML and run as they are. The install is the
# Action's: a cache hit on a package of the build's binary, and a miss with
# cmake and cpack standing in for the build (t_package.sh builds for real).
. "$(dirname "$0")/lib.sh"

# --- the action's checkout (evalgate's sources), apart from the user's repository
act_repo=$T/action-checkout
mkdir -p "$act_repo"
(cd "$EG_SRC" && tar cf - CMakeLists.txt cmake runner scorers reports actions) | (cd "$act_repo" && tar xf -)
ACTION="$act_repo/actions/evalgate/evalgate_action.py"
act() { python3 "$ACTION" "$@"; }

repo=$T/repo
mkdir -p "$repo"
cd "$repo"
cp -r "$EG_SRC/suites" .
python3 - "$EG_SRC/evalgate.json" <<'EOP2'
import json, sys
c = json.load(open(sys.argv[1]))
c["suites"] = ["suites/golden/support"]
c["gates"] = [g for g in c["gates"] if g["name"] in ("golden pass rate", "error rate")]
json.dump(c, open("evalgate.json", "w"), indent=2)
# the release gate: the same and no regression against production
c["gates"].append({"name": "no regression", "metric": "regression", "baseline": "alias:production",
                   "max_new_failures": 0})
json.dump(c, open("gated.json", "w"), indent=2)
# a gate that fails, named with the characters workflow commands must escape
c["gates"] = c["gates"][:2]
c["gates"][0]["min"] = 0.99
c["gates"][0]["name"] = "golden 99% pass, or: else\nsecond line"
json.dump(c, open("strict.json", "w"), indent=2)
EOP2
check "the user's repository holds no evalgate source" bash -c "! find . -name '*.c' -o -name CMakeLists.txt -o -name build.sh | grep -q ."
start_mock "$EG_SRC/tests/data/mock-support.jsonl"
export RUNNER_TEMP="$T/runner"
mkdir -p "$RUNNER_TEMP"

# === 0. the install step: a miss builds the package, a hit only unpacks it
shim=$T/shim
pkg_shims "$shim" "$T/calls.log"
# the miss's build: cmake configures and builds nothing, cpack packages the build's binary
printf '#!/bin/sh\necho "cmake $*" >>"%s"\nfor a; do [ "$p" = -B ] && mkdir -p "$a"; p=$a; done\n' "$T/calls.log" >"$shim/cmake"
cat >"$shim/cpack" <<EOF
#!/bin/bash
echo "cpack \$*" >>"$T/calls.log"
T=$T EG_SRC=$EG_SRC
$(declare -f project_version make_deb)
make_deb "\$PWD/evalgate_\$(project_version)_amd64.deb" "$EG_BIN"
EOF
chmod +x "$shim/cmake" "$shim/cpack"
pkg=$RUNNER_TEMP/evalgate-pkg
: >"$T/calls.log"
action_install "$repo" "$act_repo" "$pkg" "$shim" "$T/gho" "$T/ghpath" >"$T/miss.log" || true
expect_grep "install, a miss: the package is built" "^cmake --build $pkg/cmake" "$T/calls.log"
expect_grep "install, a miss: and packaged with cpack" "^cpack -G DEB" "$T/calls.log"
check "install, a miss: the package is in the cache directory" test -s "$pkg/evalgate_$(project_version)_amd64.deb"
: >"$T/calls.log"
action_install "$repo" "$act_repo" "$pkg" "$shim" "$T/gho" "$T/ghpath" >"$T/hit.log" || true
expect_grep "install, a hit: says so" "evalgate package is cached" "$T/hit.log"
check "install, a hit: neither cmake, cpack, apt-get nor sudo ran" test ! -s "$T/calls.log"
EVALGATE=$(sed -n 's/^evalgate=//p' "$T/gho")
expect_eq "install: the step outputs the unpacked binary" "$pkg/root/usr/bin/evalgate" "$EVALGATE"
expect_eq "install: it is the build's evalgate" "$("$EG_BIN" --version | head -1)" "$("$EVALGATE" --version | head -1)"
rm -rf "$pkg/root"
: >"$T/calls.log"
printf 'stale\n' >"$pkg/source-hash"
action_install "$repo" "$act_repo" "$pkg" "$shim" "$T/gho" "$T/ghpath" >"$T/miss2.log" || true
expect_grep "install: a package of other sources is a miss" "^cmake --build" "$T/calls.log"
check "install: ... that installs again" test -x "$pkg/root/usr/bin/evalgate"

# --- the fake GitHub API: 250 unrelated comments on pull request 7 (3 pages of 100)
cat >artifacts.json <<'EOF'
[{"id": 9, "name": "evalgate-baseline", "expired": false, "created_at": "2026-01-03T00:00:00Z", "workflow_run": {"id": 333, "head_branch": "feature-x"}},
 {"id": 8, "name": "evalgate-baseline", "expired": true, "created_at": "2026-01-02T00:00:00Z", "workflow_run": {"id": 222, "head_branch": "main"}},
 {"id": 7, "name": "evalgate-baseline", "expired": false, "created_at": "2026-01-01T00:00:00Z", "workflow_run": {"id": 111, "head_branch": "main"}}]
EOF
python3 "$EG_SRC/tests/mock/fake_github.py" --port-file gh.port --log gh.log --token test-token \
	--seed-comments 250 --artifacts artifacts.json >gh.out 2>&1 &
GH_PID=$!
trap 'kill $GH_PID 2>/dev/null || true; wait $GH_PID 2>/dev/null || true; cleanup' EXIT
for _ in $(seq 1 100); do [ -s gh.port ] && break; sleep 0.05; done
[ -s gh.port ] || { echo "fake GitHub API did not start"; cat gh.out; exit 1; }
export GITHUB_API_URL="http://127.0.0.1:$(cat gh.port)"

cat >event.json <<'EOF'
{"action": "synchronize", "number": 7,
 "pull_request": {"number": 7, "head": {"ref": "feature-y", "repo": {"full_name": "acme/bot"}},
                  "base": {"ref": "main", "repo": {"full_name": "acme/bot"}}},
 "repository": {"full_name": "acme/bot", "default_branch": "main"}}
EOF
export GITHUB_EVENT_PATH="$repo/event.json" GITHUB_REPOSITORY=acme/bot GITHUB_RUN_ID=4242
export GITHUB_SERVER_URL=https://github.test

# the environment action.yml gives each step
export EG_EVALGATE="$EVALGATE" EG_CONFIG=evalgate.json EG_HISTORY="$T/hist/history.db" EG_TOKEN=test-token

# read one output of the last step from $GITHUB_OUTPUT (k=v or k<<DELIM forms; the last one wins)
output() {
	awk -v want="$1" '
	d != "" { if ($0 == d) { if (k == want) val = v; d = ""; next }
	          v = first ? $0 : v "\n" $0; first = 0; next }
	{ i = index($0, "<<"); j = index($0, "=")
	  if (i > 0 && (j == 0 || i < j)) { k = substr($0, 1, i - 1); d = substr($0, i + 2); v = ""; first = 1; next }
	  if (j > 0 && substr($0, 1, j - 1) == want) val = substr($0, j + 1) }
	END { printf "%s\n", val }' "$GITHUB_OUTPUT"
}
# the run step, without the outputs of an earlier run that from_run exported
act_run() {
	env -u EG_VERDICT -u EG_EXIT_CODE -u EG_RUN_ID -u EG_MARKDOWN_PATH -u EG_SKIP_REASON \
		-u EG_ARTIFACT_NAME -u EG_BOOTSTRAPPED "$@" python3 "$ACTION" run
}
# run a step with fresh output files; the step's stdout in $T/out, its exit status in $STEP_RC
step() {
	: >"$T/gh_output"
	export GITHUB_OUTPUT="$T/gh_output"
	STEP_RC=0
	"$@" >"$T/out" 2>"$T/err" || STEP_RC=$?
	cat "$T/out" "$T/err" >>"$T/all-steps.log"   # the job log, for the secret check
}
# export the run step's outputs as the env the later steps get
from_run() {
	export EG_VERDICT=$(output verdict) EG_EXIT_CODE=$(output exit-code) EG_RUN_ID=$(output run-id)
	export EG_MARKDOWN_PATH=$(output markdown) EG_SKIP_REASON=$(output skip-reason)
	export EG_ARTIFACT_NAME=$(output artifact-name) EG_BOOTSTRAPPED=$(output bootstrapped)
}
requests() { sed 's/^{"method": "\([A-Z]*\)", "path": "\([^"]*\)", "query": "\([^"]*\)".*/\1 \2 \3/' gh.log; }
# the body of the last comment written (POST or PATCH), and its length in characters and UTF-16 units
last_write() {
	python3 - gh.log <<'EOP'
import json, sys
w = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{"method": "P')][-1]
print(w["chars"], w["utf16"])
print(w["body"])
EOP
}

# === 1. a passing run: outputs, reports, summary, a new sticky comment
export GITHUB_STEP_SUMMARY="$T/summary.md"
echo "# earlier step" >"$GITHUB_STEP_SUMMARY"
step act_run
expect_eq "run step exits 0" 0 "$STEP_RC"
expect_eq "verdict output" pass "$(output verdict)"
expect_eq "exit-code output" 0 "$(output exit-code)"
run_id=$(sqlite3 "$EG_HISTORY" 'select id from runs')
expect_eq "run-id output is the stored run" "$run_id" "$(output run-id)"
expect_grep "the run id comes from evalgate run --run-id-file" "^\\$ $EVALGATE run --config evalgate.json .* --run-id-file /" "$T/out"
check "evalgate's own run-id line does not reach the step's outputs" test "$(grep -c '^run-id=' "$GITHUB_OUTPUT")" = 1
python3 - "$ACTION" >imports.txt <<'EOP'
import ast, sys
mods = set()
for node in ast.walk(ast.parse(open(sys.argv[1]).read())):
    if isinstance(node, ast.Import):
        mods.update(a.name.split(".")[0] for a in node.names)
    elif isinstance(node, ast.ImportFrom):
        mods.add((node.module or "").split(".")[0])
print("sqlite3" in mods)
EOP
expect_eq "the Action never imports sqlite3" False "$(cat imports.txt)"
expect_eq "pass-rate output is passed over scored cases" \
	"$(sqlite3 "$EG_HISTORY" 'select printf("%.4f", 1.0 * n_pass / (n_pass + n_fail)) from runs')" "$(output pass-rate)"
expect_eq "pass-rate of the support suite" 0.9000 "$(output pass-rate)"
check "junit output exists" test -s "$(output junit)"
check "the JUnit report is real XML" xmllint --noout "$(output junit)"
check "markdown output exists" test -s "$(output markdown)"
check "html output exists" test -s "$(output html)"
expect_eq "reports are collected in the output directory" "junit.xml report.html report.md" \
	"$(ls "$(output out-dir)" | xargs)"
expect_eq "artifact name" evalgate-reports "$(output artifact-name)"
expect_grep "evalgate's output is grouped" '^::group::evalgate run' "$T/out"
expect_grep "the group ends" '^::endgroup::' "$T/out"
expect_grep "evalgate's output is fenced by stop-commands" '^::stop-commands::[0-9a-f]\{32\}$' "$T/out"
token=$(sed -n 's/^::stop-commands::\([0-9a-f]*\)$/\1/p' "$T/out" | head -1)
expect_grep "and commands resume after it" "^::$token::\$" "$T/out"
check "the step summary is not written by evalgate itself" grep -q "^# earlier step" "$GITHUB_STEP_SUMMARY"
from_run

step act summary
expect_eq "summary step exits 0" 0 "$STEP_RC"
expect_eq "the summary keeps what was there and appends the report" "# earlier step|$(head -1 "$EG_MARKDOWN_PATH")" \
	"$(head -2 "$GITHUB_STEP_SUMMARY" | paste -sd'|')"
expect_grep "the report is evalgate's own" '^## .*evalgate: PASS' "$GITHUB_STEP_SUMMARY"

step act comment
expect_eq "comment step exits 0" 0 "$STEP_RC"
expect_eq "first run: pages 1-3 searched, then one POST" \
	"GET /repos/acme/bot/issues/7/comments per_page=100|GET /repos/acme/bot/issues/7/comments per_page=100&page=2|GET /repos/acme/bot/issues/7/comments per_page=100&page=3|POST /repos/acme/bot/issues/7/comments " \
	"$(requests | paste -sd'|')"
comment_id=$(output comment-id)
check "the comment id is an output" test -n "$comment_id"
expect_eq "comment-url output" "https://github.test/acme/bot/pull/7#issuecomment-$comment_id" "$(output comment-url)"
expect_eq "every request was authorised and versioned" "4 4" \
	"$(grep -c '"auth": true, "api_version": "2022-11-28"' gh.log) $(wc -l <gh.log)"
n_comments() { curl -s "$GITHUB_API_URL/_state" | grep -o '"html_url"' | wc -l; }
expect_eq "251 comments on the pull request now" 251 "$(n_comments)"
last_write >body1.txt
expect_grep "the comment carries the hidden marker" '^<!-- evalgate-report default -->$' body1.txt
expect_grep "the comment carries the report" '^## .*evalgate: PASS' body1.txt
expect_grep "the comment links the workflow run" 'https://github.test/acme/bot/actions/runs/4242' body1.txt

# === 2. a failing gate: annotations escaped, the same comment updated
: >gh.log
step act_run EG_CONFIG=strict.json
expect_eq "run step still exits 0 (the verdict step maps the status)" 0 "$STEP_RC"
expect_eq "verdict fail" fail "$(output verdict)"
expect_eq "exit code 1" 1 "$(output exit-code)"
check "a second run id" test "$(output run-id)" != "$run_id"
expect_eq "the failed gate is an escaped error annotation" \
	'::error title=evalgate gate failed::golden 99%25 pass, or: else%0Asecond line: pass_rate = 0.9, needs >= 0.99 (27/30)' \
	"$(grep '^::error title=evalgate gate failed::' "$T/out")"
from_run
step act comment
expect_eq "second run: pages searched, then PATCH of the same comment, no POST" \
	"GET GET GET PATCH /repos/acme/bot/issues/comments/$comment_id" \
	"$(requests | awk '{print $1}' | paste -sd' ') $(requests | awk '$1 == "PATCH" {print $2}')"
expect_eq "still 251 comments" 251 "$(n_comments)"
curl -s "$GITHUB_API_URL/_state" >state2.json
expect_grep "the stored comment now shows the failure" 'verdict \*\*fail\*\*' state2.json

# === 3. the verdict step maps the outcome to the step's exit status
# verdict, exit code, fail-on-gate, allow-skip, shard -> the step's exit status (one process for the table)
python3 - "$EG_SRC/actions/evalgate" >finish.txt <<'EOP'
import contextlib, io, os, sys
sys.path.insert(0, sys.argv[1])
import evalgate_action as a
table = [("pass", "0", "true", "false", ""), ("fail", "1", "true", "false", ""),
         ("fail", "1", "false", "false", ""), ("fail", "1", "true", "false", "2/4"),
         ("error", "2", "true", "false", ""), ("error", "3", "false", "false", ""),
         ("interrupted", "130", "true", "false", ""), ("skipped", "0", "true", "false", ""),
         ("skipped", "0", "true", "true", ""), ("", "", "true", "false", "")]
for v, code, fog, skip, shard in table:
    os.environ.update(EG_VERDICT=v, EG_EXIT_CODE=code, EG_FAIL_ON_GATE=fog, EG_ALLOW_SKIP=skip, EG_SHARD=shard)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = a.cmd_finish()
    kind = out.getvalue().split(" ")[0] if out.getvalue() else "-"
    print("%s/%s/%s/%s/%s -> %d %s" % (v, code, fog, skip, shard, rc, kind))
EOP
expect_eq "verdict step: every outcome" "pass/0/true/false/ -> 0 -
fail/1/true/false/ -> 1 ::error
fail/1/false/false/ -> 0 ::warning
fail/1/true/false/2/4 -> 0 ::notice
error/2/true/false/ -> 2 ::error
error/3/false/false/ -> 3 ::error
interrupted/130/true/false/ -> 130 ::error
skipped/0/true/false/ -> 1 ::error
skipped/0/true/true/ -> 0 ::notice
//true/false/ -> 2 ::error" "$(cat finish.txt)"
step env EG_VERDICT=skipped EG_EXIT_CODE=0 python3 "$ACTION" finish
expect_eq "the finish command: skipped fails the step (never fail open)" 1 "$STEP_RC"
expect_grep "skipped: says how to accept it" 'allow-skip: true' "$T/out"

# === 4. a huge report: the comment stays under 65,536 characters, the summary under 1 MiB
# (the run step's markdown output points at a generated report of that size)
big_report() { # big_report FILE BYTES: multi-byte text, 2-byte UTF-8 and a character outside the BMP
	LC_ALL=C awk -v size="$2" 'BEGIN {
		printf "## evalgate report\n\n| case | verdict |\n| --- | --- |\n"
		for (i = 0; n < size; i++) { line = sprintf("| case-%06d r\303\251sum\303\251 \360\237\230\200 | fail |", i); print line; n += length(line) + 1 }
		print "END-OF-REPORT" }' >"$1"
}
: >gh.log
big_report "$T/big.md" 400000
export EG_MARKDOWN_PATH="$T/big.md"
check "the huge report is bigger than a comment" test "$(stat -c %s "$EG_MARKDOWN_PATH")" -gt 300000
step act comment
last_write >huge.txt
read -r chars units <huge.txt
check "comment body within 65,536 characters ($chars)" test "$chars" -le 65536
check "and within 65,536 UTF-16 units ($units)" test "$units" -le 65536
check "and the room is used (over 60,000 units)" test "$units" -gt 60000
expect_grep "the cut report says so" 'Cut to fit a comment' huge.txt
expect_grep "the marker survives the cut" '^<!-- evalgate-report default -->$' huge.txt
check "the cut is at a line boundary" bash -c "! grep -q '^| case-[0-9]*[^|]*\$' huge.txt"
check "the end of the report was cut" bash -c "! grep -q END-OF-REPORT huge.txt"
expect_eq "the updated comment is still the same one" "PATCH /repos/acme/bot/issues/comments/$comment_id" "$(requests | awk '$1 != "GET" {print $1, $2}')"

export GITHUB_STEP_SUMMARY="$T/summary2.md"
: >"$GITHUB_STEP_SUMMARY"
big_report "$T/huge.md" 3000000
export EG_MARKDOWN_PATH="$T/huge.md"
step act summary
check "a 3 MB report is cut to fit the 1 MiB summary" test "$(stat -c %s "$GITHUB_STEP_SUMMARY")" -le 1048576
check "and the cut is said" grep -q 'cut to fit the step summary' "$GITHUB_STEP_SUMMARY"

# === 5. workflow command escaping, output delimiters, commands from evalgate's output not obeyed
python3 - "$EG_SRC/actions/evalgate" "$T/gh_output" >escape.txt <<'EOP'
import os, sys
sys.path.insert(0, sys.argv[1])
os.environ["GITHUB_OUTPUT"] = sys.argv[2]
open(sys.argv[2], "w").close()
import evalgate_action as a
print(a.escape_data("50% done\r\nnext: a,b"))
print(a.escape_property("a: b, c%\n"))
a.command("warning", "m\nn", file="src/a,b.c", line=3, title="t:x")
a.set_output("multi", "line 1\nline 2")
a.set_output("one", "x=y")
n = a.Annotations()
for i in range(25):
    n.add("error", "gate %d failed" % i)
n.flush()
EOP
expect_eq "message escaping" '50%25 done%0D%0Anext: a,b' "$(sed -n 1p escape.txt)"
expect_eq "property escaping" 'a%3A b%2C c%25%0A' "$(sed -n 2p escape.txt)"
expect_eq "a full command" '::warning file=src/a%2Cb.c,line=3,title=t%3Ax::m%0An' "$(sed -n 3p escape.txt)"
expect_eq "multi-line outputs use a delimiter" "line 1
line 2" "$(output multi)"
expect_eq "a value with = is kept whole" "x=y" "$(output one)"
check "the delimiter is random, not the value's" grep -q '^multi<<EOF_[0-9a-f]\{16\}$' "$T/gh_output"
expect_eq "at most 10 error annotations" 10 "$(grep -c '^::error' escape.txt)"
expect_grep "the last one counts the rest" '16 more' escape.txt

# what evalgate prints (it quotes model answers) is fenced: a command in it is not obeyed
step python3 - "$act_repo/actions/evalgate" <<'EOP2'
import sys
sys.path.insert(0, sys.argv[1])
import evalgate_action as a
a.run_logged(["printf", "an answer\n::error::injected by a model answer\n"], [])
EOP2
fence=$(awk '/^::stop-commands::/ { tok = substr($0, 18); open = 1; next }
	open && $0 == "::" tok "::" { open = 0; next }
	$0 == "::error::injected by a model answer" { print (open ? "fenced" : "open") }' "$T/out" | sort -u)
expect_eq "a workflow command printed by evalgate is inside the stop-commands fence" fenced "$fence"

# === 6. fork pull requests get no secrets: skipped, never a silent pass
sed 's|"head": {"ref": "feature-y", "repo": {"full_name": "acme/bot"}}|"head": {"ref": "patch-1", "repo": {"full_name": "stranger/bot"}}|' event.json >fork.json
check "the fork event differs" grep -q stranger/bot fork.json
runs_before=$(sqlite3 "$EG_HISTORY" 'select count(*) from runs')
step act_run -u EVALGATE_API_KEY GITHUB_EVENT_PATH="$repo/fork.json"
expect_eq "fork: the run step exits 0" 0 "$STEP_RC"
expect_eq "fork: verdict skipped" skipped "$(output verdict)"
expect_grep "fork: a notice says why" '^::notice title=evalgate skipped::this pull request comes from a fork' "$T/out"
expect_eq "fork: no model was called, no run stored" "$runs_before" "$(sqlite3 "$EG_HISTORY" 'select count(*) from runs')"
from_run
step env EG_ALLOW_SKIP=false python3 "$ACTION" finish
expect_eq "fork: the verdict step fails by default" 1 "$STEP_RC"
export GITHUB_STEP_SUMMARY="$T/summary3.md"
: >"$GITHUB_STEP_SUMMARY"
step act summary
expect_grep "fork: the summary says skipped" '^## evalgate: skipped' "$GITHUB_STEP_SUMMARY"
step act_run -u EVALGATE_API_KEY
expect_eq "same repository without the key: an error, not a skip" error "$(output verdict)"
expect_eq "same repository without the key: exit code 2" 2 "$(output exit-code)"
expect_grep "same repository without the key: says which secret" 'EVALGATE_API_KEY is not set' "$T/out"

# === 7. a shard: its history goes into the artifact under a unique name
step act_run EG_SHARD=2/4 EG_HISTORY="$T/shard2/history.db"
expect_eq "shard: artifact name" evalgate-reports-shard-2-of-4 "$(output artifact-name)"
expect_eq "shard: the history copy" "$RUNNER_TEMP/evalgate-out/history-shard-2-of-4.db" "$(output shard-history)"
expect_eq "shard: the copy holds the shard's run" "2/4" "$(sqlite3 "$(output shard-history)" 'select shard from runs')"
check "shard: reports named for the shard" test -s "$RUNNER_TEMP/evalgate-out/junit-shard-2-of-4.xml"
step act_run EG_SHARD=2
expect_eq "shard: a malformed shard is an error" "error 2" "$(output verdict) $(output exit-code)"

# === 8. merge mode: every shard, then merge, gate, report
for i in 1 3 4; do step act_run EG_SHARD=$i/4 EG_HISTORY="$T/shard$i/history.db"; done
step act_run EG_MERGE="$RUNNER_TEMP/evalgate-out/history-shard-*-of-4.db" EG_HISTORY="$T/merged/history.db"
grep "^\\$ $EVALGATE " "$T/out" | awk '{print $3}' >"$T/calls"
expect_eq "merge: exit code 0" 0 "$(output exit-code)"
merged=$(sqlite3 "$T/merged/history.db" 'select id from runs')
expect_eq "merge: run-id is the merged run" "$merged" "$(output run-id)"
expect_eq "merge: the merged run has every case" 30 "$(sqlite3 "$T/merged/history.db" 'select n_cases from runs')"
expect_eq "merge: merge, gate and report were called in order" "merge gate report" "$(paste -sd' ' "$T/calls")"
expect_grep "merge: gate got the merged run" "^\\$ $EVALGATE gate $merged --config evalgate.json" "$T/out"

# === 9. the baseline: the newest unexpired artifact of the base branch
: >gh.log
step env EG_BASELINE_ARTIFACT=evalgate-baseline python3 "$ACTION" find-baseline
expect_eq "baseline: the run of main's newest unexpired artifact" 111 "$(output run-id)"
expect_eq "baseline: the base branch of the pull request" main "$(output branch)"
expect_grep "baseline: asked by name" 'name=evalgate-baseline' gh.log
step env EG_BASELINE_ARTIFACT=evalgate-baseline EG_BASELINE_BRANCH=release python3 "$ACTION" find-baseline
expect_eq "baseline: none on another branch" "" "$(output run-id)"
expect_grep "baseline: a warning says so" '^::warning title=evalgate baseline::no artifact evalgate-baseline from branch release' "$T/out"

# === 10. the run id is evalgate's word, not a guess from the history: another run
# that started later (another writer of the same history) does not become this step's run
other=29990101T000000Z-0ther0
sqlite3 "$EG_HISTORY" "insert into runs (id, started_at, status, verdict, n_cases, n_pass)
	values ('$other', '2999-01-01T00:00:00.000Z', 'finished', 'pass', 1, 1)"
step act_run
expect_eq "a concurrent run: the step still passes" "pass 0" "$(output verdict) $(output exit-code)"
check "a concurrent run: it is in the history, and newer" test "$(sqlite3 "$EG_HISTORY" 'select id from runs order by started_at desc limit 1')" = "$other"
mine=$(sqlite3 "$EG_HISTORY" "select id from runs where id <> '$other' order by started_at desc, id desc limit 1")
expect_eq "a concurrent run: run-id is the run this step made" "$mine" "$(output run-id)"
expect_eq "a concurrent run: pass-rate is of that run" 0.9000 "$(output pass-rate)"

# === 11. evalgate itself: run --run-id-file and $GITHUB_OUTPUT, runs show --json
expect_rc "help run documents --run-id-file" 0 "$EG_BIN" help run
expect_grep "help run: --run-id-file" '--run-id-file FILE' "$T/out"
expect_grep "help run: GITHUB_OUTPUT" 'GITHUB_OUTPUT set, run-id=ID is also appended' "$T/out"
echo "earlier=1" >"$T/gho"
expect_rc "run --run-id-file" 0 env GITHUB_OUTPUT="$T/gho" "$EG_BIN" run -q --config evalgate.json \
	--history "$T/cli/h.db" --run-id-file "$T/id.txt"
cli_id=$(sqlite3 "$T/cli/h.db" 'select id from runs')
expect_eq "the run id file holds the stored run's id, one line" "$cli_id" "$(cat "$T/id.txt")"
expect_eq "the run id file is exactly one line" 1 "$(wc -l <"$T/id.txt")"
expect_eq "run-id=ID is appended to GITHUB_OUTPUT" "earlier=1|run-id=$cli_id" "$(paste -sd'|' "$T/gho")"
expect_rc "a second run replaces the run id file" 1 env GITHUB_OUTPUT="$T/gho" "$EG_BIN" run -q --config strict.json \
	--history "$T/cli/h.db" --run-id-file "$T/id.txt"
cli_id2=$(sqlite3 "$T/cli/h.db" "select id from runs where id <> '$cli_id'")
expect_eq "the second id replaced the first" "$cli_id2" "$(cat "$T/id.txt")"
expect_eq "and was appended after it" "run-id=$cli_id|run-id=$cli_id2" "$(grep '^run-id=' "$T/gho" | paste -sd'|')"
check "no temporary file is left" test ! -e "$T/id.txt.tmp"
expect_rc "a run id file in a missing directory: exit 2" 2 "$EG_BIN" run -q --config evalgate.json \
	--history "$T/cli/h.db" --run-id-file "$T/no/such/dir/id"
expect_eq "and no run was stored" 2 "$(sqlite3 "$T/cli/h.db" 'select count(*) from runs')"
expect_rc "runs show --json" 0 "$EG_BIN" runs show "$cli_id2" --json --history "$T/cli/h.db"
check "runs show --json: the run, its suites and its gate rows in one object" python3 - "$T/out" "$cli_id2" <<'EOP'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["id"] == sys.argv[2] and r["verdict"] == "fail" and r["status"] == "finished", r
assert (r["cases"], r["pass"], r["fail"], r["error"]) == (30, 27, 3, 0), r
assert [s["name"] for s in r["suites"]] == ["support-golden"] and r["suites"][0]["results"] == 30, r["suites"]
g = r["gates"]
assert [x["name"] for x in g] == ["golden 99% pass, or: else\nsecond line", "error rate"], g
assert g[0]["pass"] is False and g[0]["metric"] == "pass_rate" and g[0]["op"] == ">=", g[0]
assert abs(g[0]["value"] - 0.9) < 1e-12 and g[0]["threshold"] == 0.99 and g[0]["n"] == 30, g[0]
assert g[1]["pass"] is True, g[1]
EOP


# === 12. eval-promote.yml from an empty state: the registry branch does not exist, the
# first run bootstraps "production", the branch is created; the next run promotes on
# evidence against that baseline. The workflow's shell steps are run from the YAML.
WF=$act_repo/actions/workflows
mkdir -p "$T/steps"
# wf_step FILE STEP_NAME ID: run a workflow's run: step with its env: (steps.X.outputs.Y
# from $T/steps/X, runner.temp, secrets empty, the workflow's env:); outputs to $T/steps/ID
wf_step() {
	python3 - "$1" "$2" "$T/steps" >"$T/wf_step.sh" <<'EOP2'
import os, re, shlex, sys, yaml
wf, name, steps_dir = sys.argv[1:4]
doc = yaml.safe_load(open(wf))
step = [s for j in doc["jobs"].values() for s in j["steps"] if s.get("name") == name][0]
def outputs(sid):
    out, key, delim, val = {}, None, None, []
    try:
        lines = open(os.path.join(steps_dir, sid)).read().split("\n")
    except FileNotFoundError:
        return out
    for l in lines:
        if delim is not None:
            if l == delim:
                out[key] = "\n".join(val); delim = None
            else:
                val.append(l)
        elif "<<" in l and ("=" not in l or l.index("<<") < l.index("=")):
            key, delim = l.split("<<", 1); val = []
        elif "=" in l:
            k, v = l.split("=", 1); out[k] = v
    return out
def value(expr):
    expr = expr.strip()
    m = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expr)
    if m:
        return outputs(m.group(1)).get(m.group(2), "")
    if expr == "runner.temp":
        return os.environ["RUNNER_TEMP"]
    if expr.startswith("secrets."):
        return ""
    raise SystemExit("wf_step: cannot evaluate ${{ %s }}" % expr)
env = dict(doc.get("env") or {})
env.update(step.get("env") or {})
for k, v in env.items():
    v = re.sub(r"\$\{\{(.*?)\}\}", lambda m: value(m.group(1)), str(v))
    print("export %s=%s" % (k, shlex.quote(v)))
print(step["run"])
EOP2
	: >"$T/steps/$3"
	GITHUB_OUTPUT="$T/steps/$3" bash --noprofile --norc -eo pipefail "$T/wf_step.sh" >"$T/wf.out" 2>&1
}
# the Action's run step of the promote job, its outputs in $T/steps/evalgate
promote_run() {
	step act_run EG_CONFIG=gated.json EG_HISTORY=.evalgate/history.db EG_BASELINE=alias:production \
		EG_PROMOTE=production EG_BOOTSTRAP=true
	cp "$GITHUB_OUTPUT" "$T/steps/evalgate"
	echo "evalgate=$EVALGATE" >>"$T/steps/evalgate"
}
git init -q --bare "$T/origin.git"
git -C "$repo" init -q -b main
git -C "$repo" add evalgate.json gated.json suites
git -C "$repo" -c user.name=dev -c user.email=dev@example.com commit -qm "evaluation suites"
git -C "$repo" remote add origin "$T/origin.git"
git -C "$repo" push -q origin main
export GITHUB_REF_NAME=main GITHUB_EVENT_PATH="$repo/push.json" GITHUB_STEP_SUMMARY="$T/summary-promote.md"
echo '{"ref": "refs/heads/main", "repository": {"full_name": "acme/bot", "default_branch": "main"}}' >push.json
: >"$GITHUB_STEP_SUMMARY"
rm -rf .evalgate

expect_rc "promote 1: fetch the registry branch (there is none yet)" 0 wf_step "$WF/eval-promote.yml" "Fetch the registry branch" registry
expect_grep "promote 1: it says the registry is empty" "no branch evalgate-registry yet" "$T/wf.out"
step env EG_BASELINE_DIR="$(sed -n 's/^dir=//p' "$T/steps/registry")" EG_CONFIG=gated.json EG_HISTORY=.evalgate/history.db python3 "$ACTION" import-baseline
expect_eq "promote 1: nothing to import" 0 "$(output imported)"
promote_run
B1=$(output run-id)
expect_eq "promote 1: the regression gate had no baseline: exit 1" "fail 1" "$(output verdict) $(output exit-code)"
expect_eq "promote 1: so the run was bootstrapped" "true true" "$(output promoted) $(output bootstrapped)"
check "promote 1: run without --promote" bash -c "! grep -q -- '--promote' '$T/out'"
expect_grep "promote 1: then registry promote --bootstrap" "^\\$ $EVALGATE registry promote support-bot v13 --alias production --bootstrap --run $B1" "$T/out"
expect_grep "promote 1: a notice says so" "^::notice title=evalgate bootstrap::the first promotion: support-bot@v13 now holds 'production' on evidence of run $B1" "$T/out"
from_run
step act finish
expect_eq "promote 1: the step passes" 0 "$STEP_RC"
step act summary
expect_grep "promote 1: the summary says it was a bootstrap" "First promotion (bootstrap)" "$GITHUB_STEP_SUMMARY"
expect_rc "promote 1: commit the registry to its branch" 0 wf_step "$WF/eval-promote.yml" "Commit the registry to its branch" publish
expect_eq "promote 1: the branch holds the registry and the production run" "registry.db run.json" \
	"$(git --git-dir="$T/origin.git" ls-tree --name-only evalgate-registry | xargs)"
expect_eq "promote 1: main is untouched" 1 "$(git --git-dir="$T/origin.git" rev-list --count main)"
mkdir -p "$T/branch1" && git --git-dir="$T/origin.git" archive evalgate-registry | tar -x -C "$T/branch1"
expect_eq "promote 1: the exported run is the bootstrap's" "$B1" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"]["id"])' "$T/branch1/run.json" 2>/dev/null || python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("id", ""))' "$T/branch1/run.json")"
expect_rc "promote 1: the branch's registry log" 0 "$EVALGATE" registry log --json --registry "sqlite:$T/branch1/registry.db"
expect_eq "promote 1: audited as a bootstrap" "bootstrap production $B1" \
	"$(python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); print(" ".join(x["action"] + " " + x["alias"] + " " + x["run_id"] for x in e))' "$T/out")"

# a second push: a new job (nothing left but the repository), the branch is there
rm -rf .evalgate "$RUNNER_TEMP/evalgate-registry" "$RUNNER_TEMP/evalgate-registry-wt"
git worktree prune
expect_rc "promote 2: fetch the registry branch" 0 wf_step "$WF/eval-promote.yml" "Fetch the registry branch" registry
expect_eq "promote 2: it exists" true "$(sed -n 's/^exists=//p' "$T/steps/registry")"
step env EG_BASELINE_DIR="$(sed -n 's/^dir=//p' "$T/steps/registry")" EG_CONFIG=gated.json EG_HISTORY=.evalgate/history.db python3 "$ACTION" import-baseline
expect_eq "promote 2: the production run is imported" 1 "$(output imported)"
check "promote 2: the registry is restored beside the config" test -f .evalgate/registry.db
promote_run
B2=$(output run-id)
expect_eq "promote 2: no regression against the bootstrap run: a pass, promoted" "pass 0 true false" \
	"$(output verdict) $(output exit-code) $(output promoted) $(output bootstrapped)"
expect_grep "promote 2: run --promote, no bootstrap" "^\\$ $EVALGATE run --config gated.json .*--baseline alias:production --promote production" "$T/out"
check "promote 2: the regression gate compared with the bootstrap run" python3 - "$EVALGATE" "$B2" "$B1" <<'EOP2'
import json, subprocess, sys
r = json.loads(subprocess.check_output([sys.argv[1], "runs", "show", sys.argv[2], "--json", "--history", ".evalgate/history.db"]))
g = [x for x in r["gates"] if x["metric"] == "regression"][0]
assert g["pass"] and json.loads(g["detail"])["baseline"] == sys.argv[3], g
EOP2
expect_rc "promote 2: commit the registry" 0 wf_step "$WF/eval-promote.yml" "Commit the registry to its branch" publish
expect_eq "promote 2: a second commit on the branch" 2 "$(git --git-dir="$T/origin.git" rev-list --count evalgate-registry)"
PUB=$(sed -n 's/^dir=//p' "$T/steps/publish")
expect_rc "promote 2: the registry log" 0 "$EVALGATE" registry log --json --registry "sqlite:$PUB/registry.db"
expect_eq "promote 2: the bootstrap, then a promotion on evidence" "bootstrap:$B1 promote:$B2" \
	"$(python3 -c 'import json,sys; print(" ".join(x["action"] + ":" + x["run_id"] for x in json.load(open(sys.argv[1]))))' "$T/out")"

# === 13. eval-sharded.yml: 2 shards, then the merge job imports the production baseline
# (the artifact eval-promote.yml uploads), merges and gates: a pass with no change, a
# block on an injected regression
shard_round() { # shard_round NAME: both shards into $T/NAME-I, their histories into shards/
	local i
	rm -rf shards
	mkdir -p shards
	for i in 1 2; do
		step act_run EG_CONFIG=gated.json EG_SHARD=$i/2 EG_HISTORY="$T/$1-$i/history.db"
		cp "$(output shard-history)" shards/
	done
}
merge_job() { # merge_job NAME: a new job: find, download and import the baseline, merge
	rm -rf .evalgate "$RUNNER_TEMP/evalgate-baseline"
	step env EG_BASELINE_ARTIFACT=evalgate-baseline python3 "$ACTION" find-baseline
	expect_eq "$1: the baseline artifact of main" 111 "$(output run-id)"
	mkdir -p "$RUNNER_TEMP/evalgate-baseline"       # actions/download-artifact of what promote uploaded
	cp "$PUB/run.json" "$PUB/registry.db" "$RUNNER_TEMP/evalgate-baseline/"
	step env EG_BASELINE_DIR="$RUNNER_TEMP/evalgate-baseline" EG_CONFIG=gated.json \
		EG_HISTORY="$T/$1-merged/history.db" python3 "$ACTION" import-baseline
	expect_eq "$1: the baseline run is imported into the merge history" 1 "$(output imported)"
	step act_run EG_CONFIG=gated.json EG_MERGE="shards/history-shard-*-of-2.db" EG_HISTORY="$T/$1-merged/history.db"
}
shard_round same
merge_job "sharded, no change"
expect_eq "sharded, no change: the merged run passes every gate" "pass 0" "$(output verdict) $(output exit-code)"
merged=$(output run-id)
check "sharded, no change: the regression gate paired every case with the production run" python3 - "$EVALGATE" "$merged" "$T/sharded, no change-merged/history.db" "$B2" <<'EOP2'
import json, subprocess, sys
r = json.loads(subprocess.check_output([sys.argv[1], "runs", "show", sys.argv[2], "--json", "--history", sys.argv[3]]))
g = [x for x in r["gates"] if x["metric"] == "regression"][0]
d = json.loads(g["detail"])
assert g["pass"] and d["baseline"] == sys.argv[4] and d["pairs"] == 30 and d["new_failures"] == 0, d
EOP2
python3 - "$EG_SRC/tests/data/mock-support.jsonl" >regressed.jsonl <<'EOP2'
import json, sys
for l in open(sys.argv[1]):
    if '"refund-method"' in l:
        d = json.loads(l)
        d["reply"] = "I am not sure, please ask someone else."
        l = json.dumps(d) + "\n"
    sys.stdout.write(l)
EOP2
start_mock regressed.jsonl
shard_round regressed
merge_job "sharded, a regression"
expect_eq "sharded, a regression: the merged run is blocked" "fail 1" "$(output verdict) $(output exit-code)"
expect_grep "sharded, a regression: the annotation names the new failure" \
	"^::error title=evalgate gate failed::no regression: regression = 1, needs <= 0 (1 new failures.*new failures: refund-method)" "$T/out"
from_run
step act finish
expect_eq "sharded, a regression: the merge job fails" 1 "$STEP_RC"

# === 14. nothing the Action wrote holds the API key: summaries, comments, annotations
# and the job log, artifacts (reports, shard histories), the registry branch
git --git-dir="$T/origin.git" archive evalgate-registry | tar -x -C "$T/branch1"
leaks=$(grep -rlaF -- "$EVALGATE_API_KEY" "$T"/summary*.md gh.log "$T/all-steps.log" "$RUNNER_TEMP" "$T/branch1" \
	"$T"/*/history.db 2>/dev/null || true)
expect_eq "the API key is in nothing the Action wrote" "" "$leaks"
check "the key was set for every run" test -n "$EVALGATE_API_KEY"

finish
