#!/usr/bin/env bash
# The HTML report in headless Chromium: hostile answers run nothing, nothing is
# fetched, filters and search work. Needs /usr/bin/chromium and
# tests/browser/node_modules (./dev.sh installs both); without them it fails.
. "$(dirname "$0")/lib.sh"

BROWSER_DIR="$EG_SRC/tests/browser"
check "chromium is installed (./dev.sh installs it)" test -x "${CHROMIUM:-/usr/bin/chromium}"
check "node is installed" command -v node
check "playwright-core is installed (./dev.sh runs npm ci in tests/browser)" test -d "$BROWSER_DIR/node_modules/playwright-core"
[ "$FAILS" == 0 ] || finish

. "$(dirname "$0")/reports_fixture.sh"
expect_rc "report writes the HTML" 0 "$EG_BIN" report "$RUN2" --history "$T/h.db" --html "$T/report.html" --no-step-summary
if node "$BROWSER_DIR/check_report.js" "$T/report.html" "$T/screenshot.png" >"$T/browser.out" 2>&1; then
	ok "the report passes the browser checks"
else
	not_ok "the report passes the browser checks"
fi
sed 's/^/    /' "$T/browser.out"
check "a screenshot was taken" test -s "$T/screenshot.png"
# EG_UPDATE_SCREENSHOT=1 refreshes the README's picture
if [ "${EG_UPDATE_SCREENSHOT:-0}" = 1 ]; then cp "$T/screenshot.png" "$EG_SRC/reports/screenshot.png"; fi

finish
