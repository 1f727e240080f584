#!/usr/bin/env bash
# The registry: run --promote through the mock gateway, every refusal rule,
# --force, show/list/log; the MLflow backend against the fake MLflow server:
# the exact requests it receives, the token, MLflow errors (exit 3) and
# refusals (exit 1, nothing sent).
. "$(dirname "$0")/lib.sh"

: "${EG_FAKE_MLFLOW:?EG_FAKE_MLFLOW must point at the fake MLflow server}"

export GITHUB_ACTOR=ci-bot
: >empty.jsonl
start_mock empty.jsonl

make_suite sa sa golden "$(n_cases 3 a)"
make_suite sb sb golden "$(n_cases 2 b)"
make_suite sf sf golden "$(n_cases 2 f)" '[{"type":"contains","value":"never said"}]'
PROMO='"promotion": {"production": {"require_suites": ["sa"], "max_age_days": 7}, "staging": {"require_suites": ["sa", "sb"]}}'
GATES='[{"metric": "pass_rate", "min": 1}]'
write_config a.json "$GATES" "" "\"suites\": [\"sa\"], $PROMO, \"registry\": \"sqlite:$T/reg.db\""
write_config ab.json "$GATES" "" "\"suites\": [\"sa\", \"sb\"], $PROMO, \"registry\": \"sqlite:$T/reg.db\""
write_config f.json "$GATES" "" "\"suites\": [\"sf\"], $PROMO, \"registry\": \"sqlite:$T/reg.db\""
H=(--history "$T/h.db")

# --- sqlite backend ---
expect_rc "run --promote production after a passing run" 0 "$EG_BIN" run --config a.json "${H[@]}" --promote production
RUN1=$(sql "select id from runs order by started_at desc limit 1")
expect_grep "the promotion is printed with its evidence" "promoted it-bot@v1 to 'production' on evidence of run $RUN1" "$T/out"
expect_rc "registry show" 0 "$EG_BIN" registry show it-bot --config a.json
expect_grep "show: production points at v1 with the run" "alias production *-> v1 .*evidence run $RUN1" "$T/out"
expect_rc "registry show of an unknown model" 2 "$EG_BIN" registry show no-such-bot --config a.json
expect_grep "it says so" "no model 'no-such-bot'" "$T/err"
expect_eq "and prints nothing on stdout" "" "$(cat "$T/out")"
expect_rc "staging needs suite sb: refused" 1 "$EG_BIN" registry promote it-bot v1 --alias staging --config a.json "${H[@]}"
expect_grep "the refusing rule is named" "refused by rule 'suites': run $RUN1 did not cover the suite sb" "$T/err"
expect_rc "run both suites, then staging is allowed" 0 "$EG_BIN" run --config ab.json "${H[@]}"
RUN2=$(sql "select id from runs order by started_at desc limit 1")
expect_rc "registry promote staging" 0 "$EG_BIN" registry promote it-bot v1 --alias staging --config ab.json "${H[@]}"
expect_grep "staging on the run that covered both" "on evidence of run $RUN2" "$T/out"

# --- alias:NAME baselines: the latest passing run of the version that holds the alias
# (in a copy of the history, so the runs made here do not change what follows)
sqlite3 "$T/h.db" ".backup $T/h2.db"
H2=(--history "$T/h2.db")
expect_rc "compare alias:staging latest" 0 "$EG_BIN" compare alias:staging "$RUN2" --config ab.json "${H2[@]}" --json
expect_eq "alias:staging is the newest passing run of v1" "$RUN2" \
	"$(python3 -c 'import json,sys; print(json.load(sys.stdin)["baseline"]["id"])' <"$T/out")"
write_config rg.json '[{"metric": "regression", "baseline": "alias:production", "max_new_failures": 0}]' "" \
	"\"suites\": [\"sa\"], \"registry\": \"sqlite:$T/reg.db\""
expect_rc "a regression gate against alias:production passes" 0 "$EG_BIN" run --config rg.json "${H2[@]}"
RG=$(sqlite3 "$T/h2.db" "select id from runs order by started_at desc limit 1")
expect_eq "its baseline is the newest passing run of the version production holds" "$RUN2" \
	"$(sqlite3 "$T/h2.db" "select detail from gates where run_id = '$RG'" | python3 -c 'import json,sys; print(json.load(sys.stdin)["baseline"])')"
expect_rc "an alias nobody holds: the gate fails, not passes" 1 "$EG_BIN" run --config rg.json "${H2[@]}" --baseline alias:canary
expect_grep "the gate line says why" "alias 'canary' of it-bot is not set" "$T/out"
expect_rc "compare with an unset alias: exit 2" 2 "$EG_BIN" compare alias:canary latest --config rg.json "${H2[@]}"

expect_rc "a failing run with --promote exits 1" 1 "$EG_BIN" run --config f.json "${H[@]}" --promote production
RUN3=$(sql "select id from runs order by started_at desc limit 1")
expect_grep "its promotion is refused by the gates rule" "refused by rule 'gates': run $RUN3 did not pass every gate" "$T/err"
expect_rc "after a later failure the passing run no longer counts" 1 "$EG_BIN" registry promote it-bot v1 --alias production --config a.json "${H[@]}"
expect_grep "later_failure names the failed run" "refused by rule 'later_failure': run $RUN3 of it-bot@v1 failed after run $RUN2 passed" "$T/err"
expect_rc "--run naming the old evidence is refused too" 1 "$EG_BIN" registry promote it-bot v1 --alias production --run "$RUN1" --config a.json "${H[@]}"
expect_rc "a version without runs: refused" 1 "$EG_BIN" registry promote it-bot v2 --alias production --config a.json "${H[@]}"
expect_grep "evidence rule" "refused by rule 'evidence': no stored run of it-bot@v2" "$T/err"
expect_rc "--force without --reason is a usage error" 2 "$EG_BIN" registry promote it-bot v1 --alias production --force --config a.json "${H[@]}"
expect_rc "--force --reason overrides" 0 "$EG_BIN" registry promote it-bot v1 --alias production --force --reason "rollback drill" --config a.json "${H[@]}"
expect_grep "forced promotion says so" "(forced)" "$T/out"
expect_rc "a reserved alias name" 2 "$EG_BIN" registry promote it-bot v1 --alias latest --config a.json "${H[@]}"
expect_rc "run --promote with a bad alias: nothing runs" 2 "$EG_BIN" run --config a.json "${H[@]}" --promote v3
expect_eq "no run was stored for it" "3" "$(sql 'select count(*) from runs')"

expect_rc "register with metadata" 0 "$EG_BIN" registry register it-bot v7 --meta '{"git": "abc123"}' --config a.json
expect_rc "register with bad metadata" 2 "$EG_BIN" registry register it-bot v8 --meta '{"git":' --config a.json
expect_rc "registry list" 0 "$EG_BIN" registry list --config a.json
expect_grep "list: the model, its versions and aliases" "it-bot *2  production=v1 staging=v1" "$T/out"
expect_rc "registry log" 0 "$EG_BIN" registry log it-bot --config a.json
expect_grep "log: the forced promotion with its reason" "ci-bot .*promote .*it-bot@v1 alias production (was v1) run $RUN2 FORCED rule later_failure: rollback drill" "$T/out"
expect_rc "registry log --json" 0 "$EG_BIN" registry log --json --config a.json
check "log --json: every register, promote and refusal in order" python3 - "$T/out" "$RUN1" "$RUN2" "$RUN3" <<'EOP'
import json, sys
log = json.load(open(sys.argv[1]))
r1, r2, r3 = sys.argv[2:5]
got = [(e["action"], e["version"], e["alias"], e["run_id"], e["rule"], e["forced"]) for e in log]
want = [("promote", "v1", "production", r1, None, 0),
        ("refuse", "v1", "staging", r1, "suites", 0),
        ("promote", "v1", "staging", r2, None, 0),
        ("refuse", "v1", "production", r3, "gates", 0),
        ("refuse", "v1", "production", r2, "later_failure", 0),
        ("refuse", "v1", "production", r1, "later_failure", 0),
        ("refuse", "v2", "production", None, "evidence", 0),
        ("promote", "v1", "production", r2, "later_failure", 1),
        ("register", "v7", None, None, None, 0)]
assert got == want, got
assert all(e["who"] == "ci-bot" and e["backend"] == "sqlite" for e in log)
assert log[7]["reason"] == "rollback drill"
EOP
sed 's/"max_age_days": 7/"max_age_days": "7"/' a.json >bad-promo.json
expect_rc "a bad promotion section is a located config error" 2 "$EG_BIN" registry list --config bad-promo.json
expect_grep "it names the line and field" ":[0-9]*: promotion.production.max_age_days" "$T/err"

# --- MLflow backend against the fake ---
export MLFLOW_TRACKING_TOKEN="mlflow-token-5ecret"
start_fake_mlflow --require-token "$MLFLOW_TRACKING_TOKEN"
ML="mlflow+http://127.0.0.1:$FAKE_MLFLOW_PORT?db=$T/mlreg.db"
write_config ml.json "$GATES" "" "\"suites\": [\"sa\"], $PROMO, \"registry\": \"$ML\""
python3 - ml.json <<'EOP'
import json, sys
c = json.load(open(sys.argv[1])); c["target"]["name"] = "ml-bot"; c["target"]["version"] = "1"
json.dump(c, open(sys.argv[1], "w"), indent=2)
EOP
expect_rc "mlflow: register" 0 "$EG_BIN" registry register ml-bot 1 --config ml.json
expect_rc "mlflow: run --promote production" 0 "$EG_BIN" run --config ml.json "${H[@]}" --promote production -v
RUNM=$(sql "select id from runs order by started_at desc limit 1")
cat "$T/out" "$T/err" >"$T/all-output"
check "mlflow: the token is never printed" bash -c "! grep -q 5ecret '$T/all-output'"
check "mlflow: the fake received exactly the documented requests" python3 - "$T/fake.log" "$RUNM" <<'EOP'
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
run = sys.argv[2]
A = "/api/2.0/mlflow/"
got = [(r["method"], r["path"], r["query"], r["body"]) for r in reqs]
want = [
    ("POST", A + "registered-models/create", {}, {"name": "ml-bot"}),
    ("GET", A + "model-versions/get", {"name": "ml-bot", "version": "1"}, None),
    ("POST", A + "model-versions/create", {}, {"name": "ml-bot", "source": "evalgate:ml-bot/1"}),
    ("GET", A + "model-versions/get", {"name": "ml-bot", "version": "1"}, None),
    ("GET", A + "registered-models/alias", {"name": "ml-bot", "alias": "production"}, None),
    ("POST", A + "model-versions/set-tag", {}, {"name": "ml-bot", "version": "1", "key": "evalgate.run_id", "value": run}),
    ("POST", A + "model-versions/set-tag", {}, {"name": "ml-bot", "version": "1", "key": "evalgate.verdict", "value": "pass"}),
    ("POST", A + "model-versions/set-tag", {}, {"name": "ml-bot", "version": "1", "key": "evalgate.suites", "value": "sa"}),
    ("POST", A + "registered-models/alias", {}, {"name": "ml-bot", "alias": "production", "version": "1"}),
]
for i, (g, w) in enumerate(zip(got, want)):
    assert g == w, (i, g, w)
assert len(got) == len(want), got[len(want):]
assert all(r["auth"] for r in reqs)
EOP
check "mlflow: the fake holds the alias and the tags" python3 -c "
import json, urllib.request
s = json.load(urllib.request.urlopen('http://127.0.0.1:$FAKE_MLFLOW_PORT/fake/state'))
m = s['ml-bot']
assert m['aliases'] == {'production': '1'}, m
assert m['versions']['1']['tags'] == {'evalgate.run_id': '$RUNM', 'evalgate.verdict': 'pass', 'evalgate.suites': 'sa'}, m"
N=$(wc -l <"$T/fake.log")
expect_rc "mlflow: show reads the alias from MLflow" 0 "$EG_BIN" registry show ml-bot --config ml.json
expect_grep "mlflow: show" "alias production *-> 1 " "$T/out"
expect_eq "mlflow: show made one GET registered-models/alias" \
	'GET /api/2.0/mlflow/registered-models/alias {"name": "ml-bot", "alias": "production"}' \
	"$(tail -n +$((N + 1)) "$T/fake.log" | python3 -c 'import json,sys; [print(r["method"], r["path"], json.dumps(r["query"])) for r in map(json.loads, sys.stdin)]')"
expect_rc "mlflow: show of a model MLflow does not know is 'no model' (exit 2)" 2 \
	"$EG_BIN" registry show ml-bot-unknown --config ml.json
expect_grep "mlflow: ... named" "no model 'ml-bot-unknown'" "$T/err"
N=$(wc -l <"$T/fake.log")
expect_rc "mlflow: a refusal is exit 1" 1 "$EG_BIN" registry promote ml-bot 1 --alias staging --config ml.json "${H[@]}"
expect_grep "mlflow: the rule is named" "refused by rule 'suites'" "$T/err"
expect_eq "mlflow: a refusal sends nothing to MLflow" "$N" "$(wc -l <"$T/fake.log")"
expect_rc "mlflow: a version that is not a number" 2 "$EG_BIN" registry register ml-bot v1 --config ml.json
expect_eq "mlflow: ... is refused before any request" "$N" "$(wc -l <"$T/fake.log")"
expect_rc "mlflow: a wrong token" 3 env MLFLOW_TRACKING_TOKEN=wrong "$EG_BIN" registry register ml-bot 1 --config ml.json
expect_grep "mlflow: UNAUTHENTICATED is reported" "mlflow POST registered-models/create at http://127.0.0.1:$FAKE_MLFLOW_PORT: UNAUTHENTICATED: You are not authenticated" "$T/err"
check "mlflow: the wrong token is not printed either" bash -c "! grep -q wrong '$T/err'"

# MLflow errors are infrastructure: exit 3, the error_code and message shown
: >"$T/fake.log"
start_fake_mlflow --fail POST:registered-models/alias=PERMISSION_DENIED:403 --require-token "$MLFLOW_TRACKING_TOKEN"
ML2="mlflow+http://127.0.0.1:$FAKE_MLFLOW_PORT?db=$T/mlreg.db"
expect_rc "mlflow: register on a new server" 0 "$EG_BIN" registry register ml-bot 1 --registry "$ML2"
expect_rc "mlflow: PERMISSION_DENIED on the alias is exit 3" 3 "$EG_BIN" registry promote ml-bot 1 --alias production --registry "$ML2" --config ml.json "${H[@]}"
expect_grep "mlflow: the error is reported with code, message and status" \
	"mlflow POST registered-models/alias at http://127.0.0.1:$FAKE_MLFLOW_PORT: PERMISSION_DENIED: fake failure of POST registered-models/alias (HTTP 403)" "$T/err"
expect_rc "mlflow: the failure is in the audit log" 0 "$EG_BIN" registry log ml-bot --registry "$ML2" --json
check "mlflow: last audit entry is an error" python3 -c "
import json; e = json.load(open('$T/out'))[-1]
assert e['action'] == 'error' and e['backend'] == 'mlflow' and e['alias'] == 'production', e"
start_fake_mlflow --fail GET:model-versions/get=html:502
expect_rc "mlflow: a non-JSON error page is exit 3" 3 "$EG_BIN" registry promote ml-bot 1 --alias production --registry "mlflow+http://127.0.0.1:$FAKE_MLFLOW_PORT?db=$T/mlreg.db" --config ml.json "${H[@]}"
expect_grep "mlflow: the page and status are shown" "error: <html><body><h1>Bad Gateway</h1></body></html> (HTTP 502)" "$T/err"
stop_fake_mlflow
expect_rc "mlflow: an unreachable server is exit 3" 3 "$EG_BIN" registry register ml-bot 1 --registry "mlflow+http://127.0.0.1:$FAKE_MLFLOW_PORT?db=$T/mlreg.db"
expect_grep "mlflow: the connection failure is named" "mlflow POST registered-models/create: the MLflow server at http://127.0.0.1:$FAKE_MLFLOW_PORT could not be reached: .*[Cc]onnect" "$T/err"
expect_rc "mlflow: show of a model kept nowhere here, the server unreachable, is exit 3" 3 \
	"$EG_BIN" registry show ml-bot-other --registry "mlflow+http://127.0.0.1:$FAKE_MLFLOW_PORT?db=$T/mlreg.db"
expect_grep "mlflow: ... not 'no model'" "the MLflow server at http://127.0.0.1:$FAKE_MLFLOW_PORT could not be reached" "$T/err"

# --- a new repository: read-only commands create nothing; the first promote is a
# refusal (exit 1, audited), not an error about a missing history; the registry
# is found relative to the config from any working directory
mkdir -p fresh/sub
printf '{"gateway": {"base_url": "http://127.0.0.1:9/v1"}, "target": {"name": "bot", "version": "v1", "model": "m"}, "suites": [], "registry": "sqlite:state/registry.db"}\n' >fresh/evalgate.json
(cd fresh && "$EG_BIN" registry show bot >../fresh.out 2>&1) || true
(cd fresh && "$EG_BIN" registry list >>../fresh.out 2>&1)
(cd fresh && "$EG_BIN" registry log >>../fresh.out 2>&1)
expect_eq "registry show/list/log on a new repository create no file" "" "$(cd fresh && find . -newer evalgate.json ! -name . ! -name sub)"
rc=0; (cd fresh && "$EG_BIN" registry promote bot v1 --alias production --history none/history.db >../fresh-promote.out 2>&1) || rc=$?
expect_eq "the first promote with no history is a refusal" 1 "$rc"
expect_grep "the refusal says there is no run" "no stored run of bot@v1" fresh-promote.out
check "no history file was made by the refusal" test ! -e fresh/none/history.db
check "the registry is beside the config" test -f fresh/state/registry.db
(cd fresh/sub && "$EG_BIN" registry log --config ../evalgate.json >../../fresh-log.out 2>&1)
expect_grep "the refusal is audited, and found from another directory" "refuse.*bot@v1" fresh-log.out
check "no registry was made in the working directory" test ! -e fresh/sub/state


# --- the first promotion: an alias nobody ever held has no baseline, so a regression
# gate against it fails; --bootstrap promotes on a complete run that passed every
# other gate, once, audited as a bootstrap
BOOT_GATES='[{"metric": "pass_rate", "min": 1}, {"name": "no regression", "metric": "regression", "baseline": "alias:production", "max_new_failures": 0}]'
write_config boot.json "$BOOT_GATES" "" "\"suites\": [\"sa\"], $PROMO, \"registry\": \"sqlite:$T/boot-reg.db\""
write_config bootf.json "$BOOT_GATES" "" "\"suites\": [\"sa\", \"sf\"], \"registry\": \"sqlite:$T/boot-reg.db\""
HB=(--history "$T/hb.db")
expect_rc "bootstrap: the first run's regression gate has no baseline" 1 "$EG_BIN" run --config boot.json "${HB[@]}" --promote production
B1=$(sqlite3 "$T/hb.db" "select id from runs order by started_at desc limit 1")
expect_grep "bootstrap: so run --promote is refused" "refused by rule 'gates'" "$T/err"
expect_rc "bootstrap: --bootstrap with --force is a usage error" 2 "$EG_BIN" registry promote it-bot v1 --alias production --bootstrap --force --reason x --config boot.json "${HB[@]}"
expect_rc "bootstrap: a partial run is no evidence" 1 "$EG_BIN" run --config boot.json "${HB[@]}" --limit 1
BP=$(sqlite3 "$T/hb.db" "select id from runs order by started_at desc limit 1")
expect_rc "bootstrap: --run naming the partial run is refused" 1 "$EG_BIN" registry promote it-bot v1 --alias production --bootstrap --run "$BP" --config boot.json "${HB[@]}"
expect_grep "bootstrap: by the evidence rule" "refused by rule 'evidence': run $BP is partial" "$T/err"
expect_rc "bootstrap: the first promotion" 0 "$EG_BIN" registry promote it-bot v1 --alias production --bootstrap --config boot.json "${HB[@]}"
expect_grep "bootstrap: says so, with the evidence and the gates left out" \
	"bootstrapped it-bot@v1 to 'production' on evidence of run $B1 (left out, no baseline yet: no regression)" "$T/out"
expect_rc "bootstrap: a second --bootstrap is refused" 1 "$EG_BIN" registry promote it-bot v1 --alias production --bootstrap --config boot.json "${HB[@]}"
expect_grep "bootstrap: by rule bootstrap, naming the holder" "refused by rule 'bootstrap': alias 'production' of it-bot already points at v1" "$T/err"
expect_rc "bootstrap: a run against the bootstrapped alias" 0 "$EG_BIN" run --config boot.json "${HB[@]}"
B2=$(sqlite3 "$T/hb.db" "select id from runs order by started_at desc limit 1")
expect_eq "bootstrap: its baseline is the bootstrap's evidence run" "$B1" \
	"$(sqlite3 "$T/hb.db" "select detail from gates where run_id = '$B2' and metric = 'regression'" | python3 -c 'import json,sys; print(json.load(sys.stdin)["baseline"])')"
expect_rc "bootstrap: once a version passes, alias:production is its newest passing run" 0 "$EG_BIN" run --config boot.json "${HB[@]}"
B3=$(sqlite3 "$T/hb.db" "select id from runs order by started_at desc limit 1")
expect_eq "bootstrap: ... which is run 2" "$B2" \
	"$(sqlite3 "$T/hb.db" "select detail from gates where run_id = '$B3' and metric = 'regression'" | python3 -c 'import json,sys; print(json.load(sys.stdin)["baseline"])')"
expect_rc "bootstrap: another gate failing is never left out" 1 "$EG_BIN" run --config bootf.json "${HB[@]}"
expect_rc "bootstrap: ... refused" 1 "$EG_BIN" registry promote it-bot v1 --alias canary --bootstrap --config bootf.json "${HB[@]}" --run latest
expect_grep "bootstrap: ... by the gates rule" "refused by rule 'gates'" "$T/err"
expect_rc "bootstrap: the log" 0 "$EG_BIN" registry log it-bot --config boot.json --json
check "bootstrap: audited: refusals, the bootstrap (with the gate left out), the second refused" python3 - "$T/out" "$B1" "$BP" <<'EOP2'
import json, sys
log = json.load(open(sys.argv[1]))
b1, bp = sys.argv[2:4]
got = [(e["action"], e["alias"], e["run_id"], e["rule"], e["forced"]) for e in log]
want = [("refuse", "production", b1, "gates", 0),
        ("refuse", "production", bp, "evidence", 0),
        ("bootstrap", "production", b1, None, 0),
        ("refuse", "production", None, "bootstrap", 0),
        ("refuse", "canary", got[4][2], "gates", 0)]
assert got == want, got
assert "regression gate no regression, left out: no baseline" in log[2]["reason"], log[2]
assert "--bootstrap is only for the first promotion" in log[3]["reason"], log[3]
EOP2
expect_rc "bootstrap: registry show" 0 "$EG_BIN" registry show it-bot --config boot.json
expect_grep "bootstrap: production points at v1 on the bootstrap run" "alias production *-> v1 .*evidence run $B1" "$T/out"
check "bootstrap: canary was never set" bash -c "! grep -q 'alias canary' '$T/out'"

finish
