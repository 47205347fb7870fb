#!/usr/bin/env bash
# Captures the main screens of the real desktop app at 1440×900 into assets/screenshots/
# (review.png, studies.png, models.png, chat.png) with tests/e2e/screenshots.mjs: the same
# preparation as scripts/e2e.sh (prerequisites, builds, demo workspace), then the app is
# driven over WebDriver under Xvfb; the chat shot streams a real SmolLM2 answer.
# SCREENSHOTS_DIR overrides the output folder.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
source tests/e2e/prepare.sh
trap e2e_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

e2e_install_prereqs
e2e_build
e2e_prepare_workspace
mkdir -p "$E2E_ARTIFACTS"
e2e_log "capturing screenshots"
timeout --kill-after=15 "${E2E_TIMEOUT:-600}" \
  xvfb-run -a -s "-screen 0 1440x900x24" node tests/e2e/screenshots.mjs
