#!/usr/bin/env bash
# The Debian package and the action's install step, as a user of another
# repository gets them: the action's checkout (evalgate's sources) lives apart
# from the user's repository, which holds only evalgate.json and suites.
#
#   - cpack builds evalgate_<version>_amd64.deb; dpkg -c lists only the binary, the
#     phone number module and the documentation; its Depends name the runtime
#     libraries (libphonenumber8 for the module); the binary it
#     holds runs
#   - build.sh install on an empty cache directory builds the package (a miss);
#     on the same directory again it builds nothing and runs no apt-get (a hit)
#   - the cache key changes with the sources
#   - the action's args input is split per line as a shell would; a regression
#     gate's JSON detail becomes a sentence in the annotation
#
# Run by the Release build only: it builds evalgate again from the sources, which
# the sanitizer builds would only repeat.
. "$EG_SRC/tests/integration/lib.sh"

# --- the action's checkout, apart from the user's repository
act_repo=$T/action-checkout
mkdir -p "$act_repo"
(cd "$EG_SRC" && tar cf - CMakeLists.txt cmake runner scorers reports actions docs README.md CHANGELOG.md) |
	(cd "$act_repo" && tar xf -)
user=$T/user-repo
mkdir -p "$user"
cp "$EG_SRC/evalgate.json" "$user/"
cp -r "$EG_SRC/suites" "$user/"

# apt-get, sudo and cmake leave a trace; apt-get refuses (no network in a test)
shim=$T/shim
pkg_shims "$shim" "$T/calls.log"

install_step() { # install_step LOG: build.sh install as action.yml runs it, from the user's repository
	action_install "$user" "$act_repo" "$T/pkg" "$shim" "$T/out" "$T/path" >"$1"
}

# --- a miss: the package is built
: >"$T/calls.log"
expect_rc "install on an empty cache" 0 install_step "$T/miss.log"
deb=$(ls "$T"/pkg/evalgate_*_amd64.deb 2>/dev/null | head -1)
check "the package is named evalgate_<version>_amd64.deb" test -n "$deb"
version=$(project_version)
expect_eq "the package carries the project's version" "evalgate_${version}_amd64.deb" "$(basename "$deb")"
expect_grep "the miss built with cmake" "cmake --build" "$T/calls.log"
check "the miss ran no apt-get install (the build dependencies are there)" \
	bash -c "! grep -q 'apt-get install' '$T/calls.log'"

# --- what the package holds
dpkg -c "$deb" | awk '{print $6}' | grep -v '/$' >"$T/contents"
expect_eq "the package holds the binary" "./usr/bin/evalgate" "$(grep bin/ "$T/contents")"
expect_eq "the package holds the phone number module" "./usr/lib/evalgate/pii_phone.so" \
	"$(grep pii_phone "$T/contents")"
expect_eq "the package holds the JSON Schema module" "./usr/lib/evalgate/json_schema.so" \
	"$(grep json_schema "$T/contents")"
check "everything else is documentation" bash -c "! grep -v -e '^./usr/bin/evalgate$' -e '^./usr/lib/evalgate/pii_phone.so$' -e '^./usr/lib/evalgate/json_schema.so$' -e '^./usr/share/doc/evalgate/[a-zA-Z-]*\.md$' '$T/contents'"
expect_grep "the README is in it" "doc/evalgate/README.md" "$T/contents"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libcurl4 libcjson1 libpcre2-8-0 libsqlite3-0 libc6; do
	case "$depends" in *"$lib "*) ok "Depends names $lib" ;; *) not_ok "Depends names $lib: $depends" ;; esac
done
# the module's: Debian names it libphonenumber8 or libphonenumber8-protobufN
case "$depends" in *libphonenumber8*) ok "Depends names libphonenumber8" ;; *) not_ok "Depends names libphonenumber8: $depends" ;; esac
bin=$(sed -n 's/^evalgate=//p' "$T/out")
expect_eq "the step outputs the unpacked binary" "$T/pkg/root/usr/bin/evalgate" "$bin"
expect_grep "the binary's directory goes on GITHUB_PATH" "$T/pkg/root/usr/bin" "$T/path"
expect_eq "the packaged binary runs" "evalgate $version" "$("$bin" --version | head -1)"
(cd "$user" && "$bin" validate >"$T/validate.out" 2>&1)
mkdir -p "$T/pii/s"
printf '%s\n' '{"name": "pii", "version": "1", "kind": "golden", "scorers": [{"type": "pii", "regions": ["US"]}]}' >"$T/pii/s/suite.json"
printf '%s\n' '{"id": "c1", "input": "call me"}' >"$T/pii/s/cases.jsonl"
printf '%s\n' '{"gateway": {"base_url": "http://127.0.0.1:1/v1"}, "target": {"name": "t", "version": "1", "model": "m"}, "suites": ["s"]}' >"$T/pii/evalgate.json"
expect_rc "the packaged binary opens its phone number module" 0 \
	bash -c "cd '$T/pii' && '$bin' validate >/dev/null 2>&1"
expect_rc "the packaged binary validates the user's repository" 0 \
	bash -c "cd '$user' && '$bin' validate >/dev/null 2>&1"

# --- a hit: nothing is built, no apt-get
: >"$T/calls.log"
expect_rc "install on the cached directory" 0 install_step "$T/hit.log"
expect_grep "the hit says so" "evalgate package is cached" "$T/hit.log"
check "the hit ran neither cmake nor apt-get nor sudo" test ! -s "$T/calls.log"
expect_eq "the hit outputs the same binary" "$bin" "$(sed -n 's/^evalgate=//p' "$T/out")"

# --- the key follows the sources
key() { (GITHUB_OUTPUT=/dev/null bash "$act_repo/actions/evalgate/build.sh" key | sed -n 's/^package cache key: //p'); }
k1=$(key)
case "$k1" in "evalgate-$version-"????????????????????????????????????????????????????????????????) ok "the key is evalgate-VERSION-SHA256" ;;
*) not_ok "the key is evalgate-VERSION-SHA256: $k1" ;; esac
echo "/* an edit */" >>"$act_repo/runner/run.c"
check "an edited source changes the key" test "$(key)" != "$k1"

# --- the args input and the annotation of a regression gate
python3 - "$EG_SRC/actions/evalgate" >"$T/py.out" 2>&1 <<'EOP' && ok "args split per line, shell quoting" || { not_ok "args split per line, shell quoting"; cat "$T/py.out"; }
import sys
sys.path.insert(0, sys.argv[1])
import evalgate_action as a
assert a.split_args("--repeat 3\n--filter-id 'refund .*'  # the refund cases\n\n--limit 5") == \
    ["--repeat", "3", "--filter-id", "refund .*", "--limit", "5"], a.split_args("--repeat 3")
assert a.split_args("") == []
EOP
python3 - "$EG_SRC/actions/evalgate" >"$T/py2.out" 2>&1 <<'EOP' && ok "a regression gate's detail reads as a sentence" || { not_ok "a regression gate's detail reads as a sentence"; cat "$T/py2.out"; }
import json, sys
sys.path.insert(0, sys.argv[1])
import evalgate_action as a
d = {"baseline": "r-1", "pairs": 20, "new_failures": 4, "fixed": 1, "p_value": 0.0027,
     "flips": [{"case_id": "c7", "from": "pass", "to": "fail"}, {"case_id": "c9", "from": "fail", "to": "pass"}]}
t = a.gate_detail_text(json.dumps(d))
assert t == "4 new failures, 1 fixed in 20 pairs against r-1 (McNemar p=0.0027); new failures: c7", t
assert "{" not in t
assert a.gate_detail_text(json.dumps({"error": "no baseline run: alias production is not set"})) == \
    "no baseline run: alias production is not set"
assert a.gate_detail_text("plain text") == "plain text"
EOP

finish
