#!/usr/bin/env bash
# Sharded runs: the project's suites split 4 ways and merged back give the same
# per-case results and counts as one unsharded run; merge refuses shards that
# cannot be combined and then writes nothing.
. "$(dirname "$0")/lib.sh"

cp -r "$EG_SRC/suites" .
cp "$EG_SRC/evalgate.json" .
cat "$EG_SRC"/tests/data/mock-*.jsonl >script.jsonl
start_mock script.jsonl

# every result and score of a run, without what legitimately differs between
# two runs (ids, timing, attempts, cache flags, the latency scorer's reason,
# which quotes the time): one line per result
dump() { # dump DB
	sqlite3 "$1" "
	  select r.suite, r.case_id, r.repeat, r.case_hash, r.status, hex(r.output), r.error,
	         r.tags, r.ordinal,
	         (select group_concat(s.idx || ':' || s.scorer || ':' || s.type || ':' ||
	                 ifnull(s.score, '-') || ':' || s.pass || ':' || s.error || ':' ||
	                 case when s.type = 'latency' then '' else ifnull(s.reason, '') end, '|')
	          from (select * from scores s where s.run_id = r.run_id and s.suite = r.suite and
	                s.case_id = r.case_id and s.repeat = r.repeat order by s.idx) s)
	  from results r where r.run_id = (select id from runs where shard is null
	                                   order by started_at desc, rowid desc limit 1)
	  order by r.suite, r.case_id, r.repeat"
}
counts() { # counts DB RUN: n_cases n_pass n_fail n_error
	sqlite3 "$1" "select n_cases, n_pass, n_fail, n_error from runs where id = '$2'"
}

# the unsharded reference run
rc_full=0
"$EG_BIN" run --history "$T/full/h.db" >"$T/full.out" 2>&1 || rc_full=$?
check "the unsharded run completes (exit 0 or 1)" test "$rc_full" -le 1
full_id=$(sqlite3 "$T/full/h.db" "select id from runs")
total=$(sqlite3 "$T/full/h.db" "select count(*) from results")
check "the unsharded run has every case" test "$total" -gt 100

# four shards, each in its own history (as on four CI machines), each with a
# copy of the reference run's response cache: the answers and their stored
# latencies are then the same, so the comparison does not depend on how busy
# the machine is (the latency scorer judges the stored latency)
for i in 1 2 3 4; do
	rc=0
	mkdir -p "$T/s$i" && cp "$T/full/cache.db" "$T/s$i/cache.db"
	"$EG_BIN" run --shard "$i/4" --history "$T/s$i/h.db" >"$T/s$i.out" 2>&1 || rc=$?
	check "shard $i/4 completes (exit 0 or 1)" test "$rc" -le 1
	expect_eq "shard $i/4 is stored in runs.shard" "$i/4" "$(sqlite3 "$T/s$i/h.db" 'select shard from runs')"
done
sum=0
for i in 1 2 3 4; do
	n=$(sqlite3 "$T/s$i/h.db" "select count(*) from results")
	check "shard $i/4 has cases ($n)" test "$n" -gt 0
	sum=$((sum + n))
done
expect_eq "the shards together have every case once" "$total" "$sum"
expect_eq "every suite is registered in every shard" "7 7 7 7" \
	"$(for i in 1 2 3 4; do sqlite3 "$T/s$i/h.db" 'select count(*) from run_suites'; done | xargs)"

# the assignment is the documented one: sha256(suite NUL id), first 8 bytes big-endian, mod N, + 1
for i in 1 2 3 4; do sqlite3 -separator $'\t' "$T/s$i/h.db" "select $i, suite, case_id from results"; done >assigned.tsv
python3 - assigned.tsv <<'EOP' >assign.check
import hashlib, sys
bad = 0
for line in open(sys.argv[1]):
    shard, suite, case = line.rstrip("\n").split("\t")
    h = int.from_bytes(hashlib.sha256(suite.encode() + b"\0" + case.encode()).digest()[:8], "big")
    if h % 4 + 1 != int(shard):
        bad += 1
        print("wrong shard:", suite, case, shard)
print("bad", bad)
EOP
expect_eq "each case is in the shard its hash names" "bad 0" "$(tail -1 assign.check)"

# merge
expect_rc "merge of the 4 shards" 0 "$EG_BIN" merge "$T/s1/h.db" "$T/s2/h.db" "$T/s3/h.db" "$T/s4/h.db" --history "$T/m.db"
expect_grep "merge names the merged run" '^merged 4 shards of 4 into run ' "$T/out"
merged_id=$(sqlite3 "$T/m.db" "select id from runs")
expect_eq "one merged run" "1" "$(sqlite3 "$T/m.db" 'select count(*) from runs')"
check "the merged run has a new id" test "$merged_id" != "$(sqlite3 "$T/s1/h.db" 'select id from runs')"
expect_eq "merged run: no shard, finished, not gated" "||finished|" \
	"$(sqlite3 "$T/m.db" "select '|' || ifnull(shard, '') || '|' || status || '|' || ifnull(verdict, '') from runs")"
expect_eq "merged run: the same counts as the unsharded run" "$(counts "$T/full/h.db" "$full_id")" "$(counts "$T/m.db" "$merged_id")"
expect_eq "merged run: the same config hash" "$(sqlite3 "$T/full/h.db" 'select config_hash from runs')" "$(sqlite3 "$T/m.db" 'select config_hash from runs')"
expect_eq "merged run: the same suites" "$(sqlite3 "$T/full/h.db" 'select name, version, hash, kind from run_suites order by name')" \
	"$(sqlite3 "$T/m.db" 'select name, version, hash, kind from run_suites order by name')"
expect_eq "merged run: the same number of scores" "$(sqlite3 "$T/full/h.db" 'select count(*) from scores')" "$(sqlite3 "$T/m.db" 'select count(*) from scores')"
dump "$T/full/h.db" >full.dump
dump "$T/m.db" >merged.dump
check "per-case dump is not empty" test "$(wc -l <full.dump)" -eq "$total"
if cmp -s full.dump merged.dump; then ok "merged run: every result and score equals the unsharded run's"; else
	not_ok "merged run differs from the unsharded run"; diff full.dump merged.dump | head -10; fi
expect_eq "merged per-suite case verdicts equal" \
	"$(sqlite3 "$T/full/h.db" 'select suite, status, count(*) from cases group by suite, status')" \
	"$(sqlite3 "$T/m.db" 'select suite, status, count(*) from cases group by suite, status')"
# gate and report the merged run: the same gates and JUnit counts as the unsharded run
rc=0; "$EG_BIN" gate "$merged_id" --history "$T/m.db" >"$T/mgate.out" 2>&1 || rc=$?
check "gate on the merged run exits as the unsharded run did ($rc_full)" test "$rc" -eq "$rc_full"
gates_of() { sqlite3 "$1" "select name, scope, printf('%.9f', value), op, threshold, pass, n, printf('%.6f|%.6f', lo, hi) from gates where run_id = '$2' order by idx"; }
check "the merged run has gate rows" test -n "$(gates_of "$T/m.db" "$merged_id")"
expect_eq "the merged run's gates equal the unsharded run's" "$(gates_of "$T/full/h.db" "$full_id")" "$(gates_of "$T/m.db" "$merged_id")"
expect_eq "the same verdict" "$(sqlite3 "$T/full/h.db" 'select verdict from runs')" "$(sqlite3 "$T/m.db" "select verdict from runs where id = '$merged_id'")"
expect_rc "JUnit of the merged run" 0 "$EG_BIN" report "$merged_id" --junit merged.xml --history "$T/m.db" --no-step-summary
expect_rc "JUnit of the unsharded run" 0 "$EG_BIN" report "$full_id" --junit full.xml --history "$T/full/h.db" --no-step-summary
junit_counts() { python3 - "$1" <<'EOP'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
for s in sorted(root.iter("testsuite"), key=lambda s: s.get("name")):
    print(s.get("name"), s.get("tests"), s.get("failures"), s.get("errors"),
          sorted(c.get("name") for c in s.iter("testcase") if c.find("failure") is not None))
EOP
}
check "the JUnit file lists every suite" test "$(junit_counts full.xml | wc -l)" -ge 6
expect_eq "JUnit counts and failing cases equal the unsharded run's" "$(junit_counts full.xml)" "$(junit_counts merged.xml)"

expect_rc "merged run shows in runs show" 0 "$EG_BIN" runs show "$merged_id" --history "$T/m.db"
expect_grep "runs show counts the merged cases" "$total cases" "$T/out"
expect_rc "merge -q prints only the run id" 0 "$EG_BIN" merge -q "$T/s1/h.db" "$T/s2/h.db" "$T/s3/h.db" "$T/s4/h.db" --history "$T/m2.db"
expect_eq "the printed id is the stored run" "$(sqlite3 "$T/m2.db" 'select id from runs')" "$(cat "$T/out")"

# refusals: exit 2 and nothing written
runs_before=$(sqlite3 "$T/m.db" 'select count(*) from runs')
results_before=$(sqlite3 "$T/m.db" 'select count(*) from results')
unchanged() {
	expect_eq "$1: nothing written" "$runs_before $results_before" \
		"$(sqlite3 "$T/m.db" 'select count(*) from runs') $(sqlite3 "$T/m.db" 'select count(*) from results')"
}

sed 's/"version": "v13"/"version": "v14"/' evalgate.json >other.json
rc=0; "$EG_BIN" run --config other.json --shard 2/4 --history "$T/x2/h.db" >/dev/null 2>&1 || rc=$?
check "shard 2/4 of another config completes" test "$rc" -le 1
expect_rc "mixed configs are refused" 2 "$EG_BIN" merge "$T/s1/h.db" "$T/x2/h.db" "$T/s3/h.db" "$T/s4/h.db" --history "$T/m.db"
expect_grep "the message says why" 'shards of different configs cannot be merged' "$T/err"
unchanged "mixed configs"

cp "$T/s2/h.db" "$T/s2copy.db"
expect_rc "a duplicate shard is refused" 2 "$EG_BIN" merge "$T/s1/h.db" "$T/s2/h.db" "$T/s2copy.db" "$T/s3/h.db" "$T/s4/h.db" --history "$T/m.db"
expect_grep "the message names both files" "s2/h.db and $T/s2copy.db are both shard 2/4" "$T/err"
unchanged "duplicate shard"

expect_rc "a missing shard is refused" 2 "$EG_BIN" merge "$T/s1/h.db" "$T/s2/h.db" "$T/s4/h.db" --history "$T/m.db"
expect_grep "the message names the missing shard" 'shard 3/4 is missing' "$T/err"
unchanged "missing shard"

# a case in two shards: shard 1's history relabelled as shard 3
cp "$T/s1/h.db" "$T/s1as3.db"
sqlite3 "$T/s1as3.db" "update runs set shard = '3/4'"
expect_rc "a case in two shards is refused" 2 "$EG_BIN" merge "$T/s1/h.db" "$T/s2/h.db" "$T/s1as3.db" "$T/s4/h.db" --history "$T/m.db"
expect_grep "the message names the case and both shards" 'is in shard 1/4 .* and in shard 3/4' "$T/err"
unchanged "case in two shards (rolled back half-way)"

# different suite contents (a changed case under a new version)
cp -r suites suites2
sed -i 's/"version": "[^"]*"/"version": "9.9.9"/' suites2/golden/support/suite.json
sed -i '1s/"input": "/"input": "Hello. /' suites2/golden/support/cases.jsonl
rc=0; "$EG_BIN" run --suite suites2/golden/support --suite suites2/rag/policies \
	--suite suites2/adversarial/prompt-injection --suite suites2/adversarial/pii-leak \
	--suite suites2/adversarial/over-refusal --shard 4/4 --history "$T/y4/h.db" >"$T/y4.out" 2>&1 || rc=$?
check "shard 4/4 of a changed suite completes" test "$rc" -le 1
expect_eq "the same config" "$(sqlite3 "$T/s1/h.db" 'select config_hash from runs')" "$(sqlite3 "$T/y4/h.db" 'select config_hash from runs')"
expect_rc "shards of different suite contents are refused" 2 "$EG_BIN" merge "$T/s1/h.db" "$T/s2/h.db" "$T/s3/h.db" "$T/y4/h.db" --history "$T/m.db"
expect_grep "the message names the suite" 'suite support-golden is version 9.9.9' "$T/err"
unchanged "different suites"

expect_rc "an unsharded history is refused" 2 "$EG_BIN" merge "$T/full/h.db" --history "$T/m.db"
expect_grep "the message says there is no sharded run" 'no sharded run in this history' "$T/err"
expect_rc "merging into one of the shards is refused" 2 "$EG_BIN" merge "$T/s1/h.db" "$T/s2/h.db" "$T/s3/h.db" "$T/s4/h.db" --history "$T/s1/h.db"
expect_rc "merge without operands is a usage error" 2 "$EG_BIN" merge --history "$T/m.db"
expect_rc "a missing file is refused" 2 "$EG_BIN" merge "$T/nope.db" --history "$T/m.db"
unchanged "the other refusals"

# --allow-partial merges what is there
expect_rc "--allow-partial merges 3 of 4" 0 "$EG_BIN" merge --allow-partial "$T/s1/h.db" "$T/s2/h.db" "$T/s4/h.db" --history "$T/p.db"
expect_grep "a warning names the missing shard" 'shard 3/4 missing' "$T/err"
expect_eq "the partial run has the cases of 3 shards" \
	"$(( $(sqlite3 "$T/s1/h.db" 'select count(*) from results') + $(sqlite3 "$T/s2/h.db" 'select count(*) from results') + $(sqlite3 "$T/s4/h.db" 'select count(*) from results') ))" \
	"$(sqlite3 "$T/p.db" 'select n_cases from runs')"

# an interrupted shard makes the merged run interrupted
cp "$T/s3/h.db" "$T/s3int.db"
sqlite3 "$T/s3int.db" "update runs set status = 'interrupted'"
expect_rc "merge with an interrupted shard" 0 "$EG_BIN" merge "$T/s1/h.db" "$T/s2/h.db" "$T/s3int.db" "$T/s4/h.db" --history "$T/i.db"
expect_eq "the merged run is interrupted" "interrupted" "$(sqlite3 "$T/i.db" 'select status from runs')"

# --resume keeps the shard: another shard (or none) is refused
cp "$T/s3/h.db" "$T/s3res.db"
sqlite3 "$T/s3res.db" "update runs set status = 'interrupted'"
s3id=$(sqlite3 "$T/s3res.db" "select id from runs")
expect_rc "resume a shard with another --shard: exit 2" 2 "$EG_BIN" run --resume "$s3id" --shard 2/4 --history "$T/s3res.db"
expect_grep "the message names the shard" "started as shard 3/4; resume it with the same --shard" "$T/err"
expect_rc "resume a shard without --shard: exit 2" 2 "$EG_BIN" run --resume "$s3id" --history "$T/s3res.db"
rc=0; "$EG_BIN" run --resume "$s3id" --shard 3/4 --history "$T/s3res.db" >/dev/null 2>&1 || rc=$?
check "resume with the same --shard finishes the run (exit 0 or 1)" test "$rc" -le 1
expect_eq "the resumed shard is finished, still shard 3/4" "finished|3/4" "$(sqlite3 "$T/s3res.db" "select status || '|' || shard from runs")"

# --shard usage errors: exit 2, nothing run
for bad in 0/4 5/4 4 a/b 1/0 1/4x -1/4 " 1/4" 1/99999; do
	expect_rc "--shard '$bad' is a usage error" 2 "$EG_BIN" run --shard "$bad" --history "$T/bad.db"
done
check "no history was written by the usage errors" test ! -e "$T/bad.db"
expect_grep "the message explains the form" 'I must be a whole number from 1 to 4' <("$EG_BIN" run --shard 5/4 --history "$T/bad.db" 2>&1)
rc=0; "$EG_BIN" run --shard 1/1 --suite suites/golden/support --history "$T/one.db" >/dev/null 2>&1 || rc=$?
check "--shard 1/1 runs (the other suites' gates have no cases: exit 0 or 1)" test "$rc" -le 1
expect_eq "1/1 has the whole suite" "30" "$(sqlite3 "$T/one.db" 'select count(*) from results')"
expect_rc "--dry-run shows a shard's share" 0 "$EG_BIN" run --dry-run --shard 2/4 --suite suites/golden/support
expect_grep "the plan counts the shard's cases" "$(sqlite3 "$T/s2/h.db" "select count(*) from results where suite = 'support-golden'") of 30 cases" "$T/out"

finish
