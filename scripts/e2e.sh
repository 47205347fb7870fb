#!/usr/bin/env bash
# End-to-end tests of the real desktop app (tests/e2e/*.test.mjs): a real window under
# Xvfb, driven over WebDriver through tauri-driver + WebKitWebDriver.
#
# Installs what is missing (xvfb, webkit2gtk-driver, xauth, imagemagick, tauri-driver),
# builds the UI, the desktop app and the CLI, prepares the demo workspace once (cached per
# CLI build; E2E_FRESH=1 regenerates it), then runs `node --test tests/e2e/`.
# Screenshots and logs of failures go to $E2E_ARTIFACTS (default /tmp/llm4sweat-e2e).
# Extra arguments go to `node --test` (e.g. --test-name-pattern=restart).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
source tests/e2e/prepare.sh
trap e2e_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

started=$(date +%s)
e2e_install_prereqs
e2e_build
e2e_prepare_workspace

mkdir -p "$E2E_ARTIFACTS"
find "$E2E_ARTIFACTS" -maxdepth 1 -type f \( -name '*.png' -o -name '*.html' -o -name '*.log' \) -delete
e2e_log "running the end-to-end tests (artifacts: $E2E_ARTIFACTS)"
tests_started=$(date +%s)
status=0
timeout --kill-after=15 "${E2E_TIMEOUT:-900}" \
  xvfb-run -a -s "-screen 0 1440x900x24" \
  node --test --test-reporter=spec --test-timeout=600000 "$@" tests/e2e/ || status=$?
now=$(date +%s)
if [ "$status" -eq 0 ]; then
  e2e_log "passed: tests $((now - tests_started)) s, total $((now - started)) s"
else
  e2e_log "FAILED (exit $status): see $E2E_ARTIFACTS for screenshots and tauri-driver logs"
fi
exit "$status"
