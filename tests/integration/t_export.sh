#!/usr/bin/env bash
# runs export / runs import: a real run through the mock gateway travels to a
# fresh history and comes back identical; bad files change nothing; runs list
# filters.
. "$(dirname "$0")/lib.sh"

# two suites; control characters, non-ASCII text and a call that always fails
make_suite suites/alpha alpha golden "$(n_cases 6 a)"
make_suite suites/beta beta golden "$(n_cases 3 b | sed s/question/query/)"
cat >mock.jsonl <<'EOF'
{"case": "a2", "reply": "echo with\ttab, \u0001 control, NUL-free \u00e9t\u00e9 and \ud83d\ude00"}
{"case": "a3", "fault": "500"}
{"case": "a4", "reply": "wrong answer"}
EOF
start_mock mock.jsonl
write_config evalgate.json \
	'[{"name": "alpha pass rate", "suite": "alpha", "metric": "pass_rate", "min": 0.5}]' \
	'"max_retries": 0' '"suites": ["suites/alpha", "suites/beta"]'
write_config alpha-only.json '[]' '"max_retries": 0' '"suites": ["suites/alpha"]'

EVALGATE_GIT_REF=main expect_rc "run on main" 0 "$EG_BIN" run --history "$T/h.db"
EVALGATE_GIT_REF=feature/x expect_rc "run on a branch, one suite" 0 \
	"$EG_BIN" run --config alpha-only.json --history "$T/h.db"
EVALGATE_GIT_REF=main expect_rc "second run on main" 0 "$EG_BIN" run --history "$T/h.db"
ID=$(sql "select id from runs order by started_at desc, rowid desc limit 1")
FIRST=$(sql "select id from runs order by started_at, rowid limit 1")
check "the run has an error result with no output" \
	test "$(sql "select count(*) from results where run_id='$ID' and status='error' and output is null")" -ge 1
check "the run has gate rows" test "$(sql "select count(*) from gates where run_id='$ID'")" -ge 1

# dump_run DB ID: every column of the run's rows, with storage classes and exact values
dump_run() {
	python3 - "$1" "$2" <<'EOP'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.text_factory = bytes
rid = sys.argv[2]
for table, key, order in (("runs", "id", "rowid"), ("run_suites", "run_id", "name"),
                          ("results", "run_id", "seq"), ("scores", "run_id", "suite, case_id, repeat, idx"),
                          ("gates", "run_id", "idx")):
    cols = [r[1].decode() for r in db.execute("pragma table_info(%s)" % table) if r[1] != b"seq"]
    sel = ", ".join("typeof(%s), %s" % (c, c) for c in cols)
    n = 0
    for row in db.execute("select %s from %s where %s = ? order by %s" % (sel, table, key, order), (rid,)):
        print(table, [(cols[i // 2], row[i], repr(row[i + 1])) for i in range(0, len(row), 2)])
        n += 1
    print(table, "rows", n)
EOP
}

expect_rc "export latest to a file" 0 "$EG_BIN" runs export latest "$T/run.json" --history "$T/h.db"
check "no temporary file left" test ! -e "$T/run.json.tmp"
check "the export is one JSON document with the header" python3 -c "
import json
d = json.load(open('$T/run.json'))
assert d['format'] == 'evalgate-run' and d['schema_version'] == 2 and d['history_user_version'] >= 2
assert d['run']['id'] == '$ID'
assert len(d['suites']) == 2 and len(d['results']) == 9 and len(d['gates']) >= 1
assert len(d['scores']) == 8
assert len(d['case_texts']) == 9 and all(t['input'] for t in d['case_texts'])
assert all('run_id' not in r and 'seq' not in r for r in d['results'])
assert any(r['output'] is None for r in d['results'])"
expect_rc "export by id prefix to stdout" 0 "$EG_BIN" runs export "${ID:0:20}" - --history "$T/h.db"
check "stdout export equals the file" cmp -s "$T/out" "$T/run.json"

# into a fresh history
expect_rc "import into a fresh history" 0 "$EG_BIN" runs import "$T/run.json" --history "$T/new.db"
expect_grep "import names the run" "$ID" "$T/err"
"$EG_BIN" runs show "$ID" --history "$T/h.db" >"$T/show.orig"
"$EG_BIN" runs show "$ID" --history "$T/new.db" >"$T/show.new"
check "runs show is identical after import" cmp -s "$T/show.orig" "$T/show.new"
"$EG_BIN" runs show "$ID" --json --history "$T/h.db" >"$T/show.orig"
"$EG_BIN" runs show "$ID" --json --history "$T/new.db" >"$T/show.new"
check "runs show --json is identical after import" cmp -s "$T/show.orig" "$T/show.new"
dump_run "$T/h.db" "$ID" >"$T/dump.orig"
dump_run "$T/new.db" "$ID" >"$T/dump.new"
check "the dump has the rows" grep -q "results rows 9" "$T/dump.orig"
check "every stored row and value is identical after import" cmp -s "$T/dump.orig" "$T/dump.new"
diff "$T/dump.orig" "$T/dump.new" | head -5 || true
# the reports of the imported run equal the original's (but for the trend: the
# fresh history holds only this run)
"$EG_BIN" report "$ID" --json "$T/report.orig.json" --history "$T/h.db" --no-step-summary
"$EG_BIN" report "$ID" --json "$T/report.new.json" --history "$T/new.db" --no-step-summary
check "the JSON report of the imported run equals the original's, trend aside" python3 -c "
import json
a, b = (json.load(open('$T/report.%s.json' % k)) for k in ('orig', 'new'))
for d in (a, b):
    for s in d['suites']:
        s.pop('trend')
assert a == b
assert len(b['results']) == 9 and all(r['input'] for r in b['results'])"
check "the imported run's report shows what the cases asked" grep -q '"input"' "$T/report.new.json"
expect_rc "export from the imported history" 0 "$EG_BIN" runs export "$ID" "$T/again.json" --history "$T/new.db"
check "re-export is byte-identical" cmp -s "$T/run.json" "$T/again.json"
expect_eq "the view counts the same cases" \
	"$(sql "select group_concat(status || flaky) from (select * from cases where run_id='$ID' order by suite, case_id)")" \
	"$(sqlite3 "$T/new.db" "select group_concat(status || flaky) from (select * from cases where run_id='$ID' order by suite, case_id)")"

# a second import of the same run: refused, nothing changes; --replace overwrites
before=$(sqlite3 "$T/new.db" .dump | sha256sum)
expect_rc "duplicate run id is refused" 2 "$EG_BIN" runs import "$T/run.json" --history "$T/new.db"
expect_grep "the message names the run and --replace" "run $ID is already in history.*--replace" "$T/err"
expect_eq "history unchanged after the refused import" "$before" "$(sqlite3 "$T/new.db" .dump | sha256sum)"
sqlite3 "$T/new.db" "update results set latency_ms = -1 where run_id = '$ID'"
expect_rc "--replace overwrites" 0 "$EG_BIN" runs import "$T/run.json" --replace --history "$T/new.db"
dump_run "$T/new.db" "$ID" >"$T/dump.new"
check "after --replace the rows equal the original" cmp -s "$T/dump.orig" "$T/dump.new"
expect_eq "one run in the fresh history" "1" "$(sqlite3 "$T/new.db" 'select count(*) from runs')"

# bad files: exit 2, located message, history unchanged
before=$(sqlite3 "$T/h.db" .dump | sha256sum)
"$EG_BIN" runs export "$FIRST" "$T/first.json" --history "$T/h.db"
sqlite3 "$T/h.db" "pragma foreign_keys = on; delete from runs where id = '$FIRST'"
before=$(sqlite3 "$T/h.db" .dump | sha256sum)
head -c $(( $(wc -c <"$T/first.json") * 2 / 3 )) "$T/first.json" >"$T/trunc.json"
expect_rc "a truncated export is refused" 2 "$EG_BIN" runs import "$T/trunc.json" --history "$T/h.db"
expect_grep "truncation is located" "trunc.json:[0-9]*:[0-9]*: .*end of file" "$T/err"
sed 's/"schema_version":2/"schema_version":7/' "$T/first.json" >"$T/newer.json"
expect_rc "a newer export schema is refused" 2 "$EG_BIN" runs import "$T/newer.json" --history "$T/h.db"
expect_grep "newer schema message" "newer evalgate" "$T/err"
sed 's/"format":"evalgate-run"/"format":"junit"/' "$T/first.json" >"$T/wrong.json"
expect_rc "a wrong format is refused" 2 "$EG_BIN" runs import "$T/wrong.json" --history "$T/h.db"
python3 - "$T/first.json" "$T/unknown.json" <<'EOP'
import sys
lines = open(sys.argv[1]).read().split("\n")
i = max(k for k, l in enumerate(lines) if l.startswith('{"suite"') and '"output"' in l)
lines[i] = lines[i].replace('{"suite"', '{"colour":"red","suite"', 1)
open(sys.argv[2], "w").write("\n".join(lines))
EOP
expect_rc "an unknown column is refused" 2 "$EG_BIN" runs import "$T/unknown.json" --history "$T/h.db"
expect_grep "unknown column named with its row" "unknown.json:[0-9]*: results\[[0-9]*\]: unknown column(s) colour" "$T/err"
expect_eq "history unchanged after every refused import" "$before" "$(sqlite3 "$T/h.db" .dump | sha256sum)"
expect_rc "the good file imports back" 0 "$EG_BIN" runs import "$T/first.json" --history "$T/h.db"
expect_rc "import from standard input (duplicate)" 2 "$EG_BIN" runs import - --history "$T/h.db" <"$T/first.json"
expect_grep "stdin named in duplicate message" "already in history" "$T/err"
expect_rc "export of an unknown run" 2 "$EG_BIN" runs export nosuchrun "$T/x.json" --history "$T/h.db"
check "no file for an unknown run" test ! -e "$T/x.json"
expect_rc "export into a missing directory" 2 "$EG_BIN" runs export latest "$T/no/such/dir/x.json" --history "$T/h.db"
expect_rc "import needs a file" 2 "$EG_BIN" runs import --history "$T/h.db"

# runs list filters
list_ids() { "$EG_BIN" runs list --history "$T/h.db" "$@" | tail -n +2 | awk '{print $1}' | tr '\n' ' ' | sed 's/ $//'; }
all=$(list_ids)
expect_eq "three runs, newest first" "3" "$(wc -w <<<"$all")"
expect_eq "--ref main" "2" "$(list_ids --ref main | wc -w)"
expect_eq "--ref feature/x" "$(sql "select id from runs where git_ref='feature/x'")" "$(list_ids --ref feature/x)"
expect_eq "--suite beta: the runs that include it" "2" "$(list_ids --suite beta | wc -w)"
expect_eq "--suite alpha: every run" "3" "$(list_ids --suite alpha | wc -w)"
expect_eq "--suite none" "" "$(list_ids --suite none)"
expect_eq "--target" "3" "$(list_ids --target it-bot | wc -w)"
expect_eq "--target other" "" "$(list_ids --target other)"
expect_eq "--limit 1 is the newest" "$ID" "$(list_ids --limit 1)"
expect_eq "--ref main --limit 1" "$ID" "$(list_ids --ref main --limit 1)"
expect_eq "--status finished" "3" "$(list_ids --status finished | wc -w)"
sqlite3 "$T/h.db" "update runs set status='interrupted' where git_ref='feature/x'"
expect_eq "--status interrupted" "$(sql "select id from runs where git_ref='feature/x'")" "$(list_ids --status interrupted)"
expect_rc "--status of an unknown status" 2 "$EG_BIN" runs list --status bogus --history "$T/h.db"
expect_grep "status values listed" "not a run status" "$T/err"
expect_rc "list --json with filters" 0 "$EG_BIN" runs list --suite beta --ref main --json --history "$T/h.db"
check "--json keeps its fields under filters" python3 -c "
import json
a = json.load(open('$T/out'))
assert len(a) == 2 and all(r['git_ref'] == 'main' for r in a)
assert all(k in a[0] for k in ('id', 'started_at', 'status', 'target', 'version', 'verdict'))
assert a[0]['id'] == '$ID' and a[0]['started_at'] >= a[1]['started_at']"

finish
