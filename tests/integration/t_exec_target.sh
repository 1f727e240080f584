#!/usr/bin/env bash
# The exec target: the application as long-lived worker processes speaking
# NDJSON (tests/app/exec_worker.py). Answers and their context are stored;
# replies that come out of order, a worker that crashes mid-run (its calls
# are sent again: no case lost or duplicated), a worker that hangs (the
# call times out, the run goes on), stray stdout lines, a worker's own
# error (its stderr in the case's error, secrets redacted) and a worker
# that cannot start each end as they should. The exec scorer runs a user's
# scorer the same way, cached by its script and the case.
. "$(dirname "$0")/lib.sh"

PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
WORKER=$EG_SRC/tests/app/exec_worker.py
export PY WORKER
export EXEC_SECRET="tok-SECRET-91xq"

python3 - <<'EOP'
import json, os
py, worker = os.environ["PY"], os.environ["WORKER"]

def config(name, extra=None, mode="echo", gateway=None, top=None):
    t = {"type": "exec", "name": "agent", "version": "v3",
         "command": [py, worker, "--mode", mode], "workers": 2, "timeout_s": 20,
         "env": {"EXEC_TOKEN": "${EXEC_SECRET}", "EXEC_CRASH_MARKER": "crash.marker"}}
    t.update(extra or {})
    gw = {"base_url": "http://127.0.0.1:9/v1", "timeout_s": 5, "max_retries": 3,
          "concurrency": 8, "max_error_rate": 1}
    gw.update(gateway or {})
    cfg = {"gateway": gw, "target": t, "suites": []}
    cfg.update(top or {})
    with open(name, "w") as f:
        json.dump(cfg, f, indent=2)

config("echo.json")
config("reverse.json", mode="reverse")
config("crash.json", mode="crash")
config("garbage.json", mode="garbage")
config("slow.json", {"timeout_s": 3})
config("missing.json", {"command": ["./no-such-worker"]})
config("nocmd.json", {"command": None})
config("badworkers.json", {"workers": 0})
config("badenv.json", {"env": {"BAD NAME": "x"}})
config("typo.json", {"comand": ["x"]})
EOP
sed -i 's/"command": null/"command": []/' nocmd.json

cases() { for i in $(seq 1 "$1"); do printf '{"id": "c%d", "input": "q%d", "vars": {"n": %d}}\n' "$i" "$i" "$i"; done; }
make_suite s/echo echo golden "$(cases 30)" '[{"type":"contains","value":"echo: q"}]'
make_suite s/odd odd golden "$(printf '%s\n' '{"id": "ok1", "input": "one"}' \
	'{"id": "fail", "input": "fail"}' '{"id": "nooutput", "input": "nooutput"}' \
	'{"id": "ok2", "input": "two"}')" '[{"type":"contains","value":"echo"}]'
make_suite s/slow slow golden "$(printf '%s\n' '{"id": "ok3", "input": "three"}' \
	'{"id": "slow", "input": "slow"}' '{"id": "ok4", "input": "four"}')" \
	'[{"type":"contains","value":"echo"}]'

res() { sql "select $2 from results where case_id='$1' order by seq desc limit 1"; }
# every case of the last run once: "rows distinct"
rows() { sql "select count(*) || ' ' || count(distinct case_id) from results where run_id=(select id from runs order by started_at desc, rowid desc limit 1)"; }
# cases whose output is not the echo of their own input
wrong() { sql "select count(*) from results where run_id=(select id from runs order by started_at desc, rowid desc limit 1) and cast(output as text) != 'echo: q' || substr(case_id, 2)"; }

# --- echo: answers, context, usage stored; the plan names the command
expect_rc "dry run" 0 "$EG_BIN" run --config echo.json --suite s/echo --dry-run
expect_grep "the plan names the command" "(exec) $PY $WORKER --mode echo, 2 workers" "$T/out"
expect_rc "run the exec target" 0 "$EG_BIN" run --config echo.json --suite s/echo --history "$T/h.db"
expect_eq "every case once" "30 30" "$(rows)"
expect_eq "each answer is its own case's" "0" "$(wrong)"
expect_eq "the worker's answer is the output" "echo: q7" "$(res c7 output)"
expect_eq "its retrieved context and ids are stored" '["passage about q7"] ["doc-q7"]' \
	"$(sql "select json_extract(target_reply, '\$.context') || ' ' || json_extract(target_reply, '\$.context_ids') from results where case_id='c7'")"
expect_eq "the case's vars reach the worker" '{"n":7}' \
	"$(sql "select json_extract(target_reply, '\$.metadata.vars') from results where case_id='c7'")"
expect_eq "usage is stored" "2 2" "$(res c7 "prompt_tokens || ' ' || completion_tokens")"
expect_eq "both workers answered" "2" \
	"$(sql "select count(distinct json_extract(target_reply, '\$.metadata.pid')) from results")"
expect_rc "a second run" 0 "$EG_BIN" run --config echo.json --suite s/echo --history "$T/h.db"
expect_grep "is answered from the cache" "30 from cache" "$T/out"
cp "$WORKER" worker_copy.py
"$PY" - <<'EOP'
import json
c = json.load(open("echo.json"))
c["target"]["command"][1] = "worker_copy.py"
json.dump(c, open("copy.json", "w"))
EOP
expect_rc "the worker's script by a relative path (the config's directory)" 0 \
	"$EG_BIN" run --config copy.json --suite s/echo --history "$T/h.db"
expect_grep "another script is another cache key" "0 from cache" "$T/out"
echo "# an edit" >>worker_copy.py
expect_rc "an edited script" 0 "$EG_BIN" run --config copy.json --suite s/echo --history "$T/h.db"
expect_grep "is asked again, not answered from the cache" "0 from cache" "$T/out"

# --- replies out of order
expect_rc "replies in reverse order" 0 "$EG_BIN" run --config reverse.json --suite s/echo \
	--history "$T/h.db" --no-cache
expect_eq "every case once" "30 30" "$(rows)"
expect_eq "each reply matched to its case by id" "0" "$(wrong)"

# --- a worker that crashes mid-run
rm -f crash.marker
expect_rc "a worker crashes mid-run" 0 "$EG_BIN" run --config crash.json --suite s/echo \
	--history "$T/h.db" --no-cache -v
check "it did crash" test -e crash.marker
expect_grep "and was seen to" "exited with status 3" "$T/err"
expect_eq "no case lost or duplicated" "30 30" "$(rows)"
expect_eq "every answer its own case's" "0" "$(wrong)"
expect_eq "all passed" "30" "$(sql "select count(*) from results where status='pass' and run_id=(select id from runs order by started_at desc, rowid desc limit 1)")"
check "the calls it held were sent again (counted as attempts)" \
	test "$(sql "select count(*) from results where attempts > 1 and run_id=(select id from runs order by started_at desc, rowid desc limit 1)")" -ge 1

# --- stray lines on stdout
expect_rc "a worker printing stray lines" 0 "$EG_BIN" run --config garbage.json --suite s/echo \
	--history "$T/h.db" --no-cache
expect_eq "every case once" "30 30" "$(rows)"
expect_eq "and right" "0" "$(wrong)"

# --- a hanging worker, a worker's error, a reply without output
expect_rc "a slow worker" 0 "$EG_BIN" run --config slow.json --suite s/slow --history "$T/h.db" --no-cache
expect_eq "the slow case is an error" "error" "$(res slow status)"
expect_grep "that says it timed out" "timed out after [36] s" <(res slow error)
expect_eq "the run went on" "pass pass" "$(res ok3 status) $(res ok4 status)"
expect_rc "a worker's own errors" 0 "$EG_BIN" run --config echo.json --suite s/odd --history "$T/h.db" --no-cache
expect_eq "the others pass" "pass pass" "$(res ok1 status) $(res ok2 status)"
expect_grep "a worker's error is the case's" "the worker reports an error: bad input: fail" <(res fail error)
expect_grep "with the worker's stderr" "worker stderr: worker: cannot answer 'fail'" <(res fail error)
expect_grep "its secret redacted" "(token \[redacted\])" <(res fail error)
check "the secret is nowhere in the history" test -z "$(sql "select 1 from results where error like '%SECRET%' or output like '%SECRET%'")"
expect_grep "no output is an error" 'the reply has no "output"' <(res nooutput error)

# --- a worker that cannot start
expect_rc "a program that does not exist" 0 "$EG_BIN" run --config missing.json --suite s/odd \
	--history "$T/h.db" --no-cache
expect_grep "says so for each case" "cannot start the worker './no-such-worker'" <(res ok1 error)

# --- config errors are located
for f in nocmd badworkers badenv typo; do
	expect_rc "validate refuses $f" 2 "$EG_BIN" validate --config $f.json --suite s/echo
done
expect_rc "no command" 2 "$EG_BIN" validate --config nocmd.json --suite s/echo
expect_grep "located" "nocmd.json:$(grep -n '"command"' nocmd.json | cut -d: -f1): target.command: expected a non-empty array" "$T/err"
expect_rc "workers 0" 2 "$EG_BIN" validate --config badworkers.json --suite s/echo
expect_grep "located" "badworkers.json:$(grep -n '"workers"' badworkers.json | cut -d: -f1): target.workers" "$T/err"
expect_rc "a bad env name" 2 "$EG_BIN" validate --config badenv.json --suite s/echo
expect_grep "located" "badenv.json:[0-9]*: target.env: 'BAD NAME'" "$T/err"
expect_rc "a typo" 2 "$EG_BIN" validate --config typo.json --suite s/echo
expect_grep "located" "target.comand: unknown field for a exec target" "$T/err"

# --- the exec scorer
SCORER=$EG_SRC/tests/app/exec_scorer.py
mkdir -p s/scored
printf '{"name": "scored", "version": "1.0.0", "kind": "golden", "scorers": [{"type": "exec", "name": "mine", "command": ["%s", "%s"], "workers": 2}]}\n' "$PY" "$SCORER" >s/scored/suite.json
printf '%s\n' '{"id": "hit", "input": "apple", "expected": "echo: apple"}' \
	'{"id": "miss", "input": "pear", "expected": "banana"}' \
	'{"id": "err", "input": "scorer-error"}' >s/scored/cases.jsonl
expect_rc "a run scored by an exec scorer" 0 "$EG_BIN" run --config echo.json --suite s/scored --history "$T/h.db"
LAST="(select id from runs order by started_at desc, rowid desc limit 1)"
sc() { sql "select $2 from scores where case_id='$1' and scorer='mine' and run_id=$LAST"; }
expect_eq "a hit passes" "1 1.0" "$(sc hit "pass || ' ' || printf('%.1f', score)")"
expect_eq "a miss fails" "0 0.0" "$(sc miss "pass || ' ' || printf('%.1f', score)")"
expect_grep "with the scorer's reason" "expected missing (pid" <(sc miss reason)
expect_eq "the scorer's error is a scorer error" "1" "$(sc err error)"
expect_grep "with its message" "the scorer reports an error: cannot score this" <(sc err reason)
first=$(sc hit reason)
expect_rc "again" 0 "$EG_BIN" run --config echo.json --suite s/scored --history "$T/h.db"
expect_eq "the verdict comes from the cache (same worker pid)" "$first" "$(sc hit reason)"
finish
