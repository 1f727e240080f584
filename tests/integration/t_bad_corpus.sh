#!/usr/bin/env bash
# The bad-input corpus (bad_corpus.py): a few hundred configs and suites, each
# wrong in one place. Every one must exit 2 from `run`, name the file at fault
# with a line ("FILE:LINE: "), and write nothing: no history, no cache, no
# report, no registry. Run under ASan and TSan too, like every integration test.
. "$(dirname "$0")/lib.sh"

export EG_CORPUS_KEY=k
n=$(python3 "$EG_SRC/tests/integration/bad_corpus.py" corpus)
check "the corpus has at least 200 inputs ($n)" test "$n" -ge 200
bad=0
while IFS=$'\t' read -r id where what; do
	d=corpus/$id
	rc=0
	(cd "$d" && "$EG_BIN" run --history h.db --junit r.xml --html r.html --markdown r.md \
		--json r.json >out 2>err) || rc=$?
	why=""
	[ "$rc" = 2 ] || why="exit $rc"
	# located: the file at fault and a line number (or, for a whole-file fault, the file)
	grep -q "^evalgate: $where:[0-9][0-9]*: \|^evalgate: $where: " "$d/err" || why="$why; not located in $where"
	left=$(cd "$d" && ls -d h.db cache.db r.xml r.html r.md r.json reg.db .evalgate 2>/dev/null | tr '\n' ' ' || true)
	[ -z "$left" ] || why="$why; wrote $left"
	if [ -n "$why" ]; then
		bad=$((bad + 1))
		not_ok "$id $what: $why"
		sed 's/^/    /' "$d/err" | head -3
	fi
done <corpus/index.tsv
expect_eq "every input of the corpus is refused, located, with nothing written" 0 "$bad"
finish
