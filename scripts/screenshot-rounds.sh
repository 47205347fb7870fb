#!/usr/bin/env bash
# Captures assets/screenshots/rounds.png from a workspace whose round 1 has finished training
# (so the loss curve is whole): the real desktop app under Xvfb, driven over WebDriver.
# Usage: scripts/screenshot-rounds.sh WORKSPACE.sqlite3   (it is copied, never changed)
set -euo pipefail
cd "$(dirname "$0")/.."
db="$(realpath "${1:?usage: scripts/screenshot-rounds.sh WORKSPACE.sqlite3}")"
source scripts/env.sh
source tests/e2e/prepare.sh
trap e2e_cleanup EXIT
e2e_install_prereqs
e2e_build
copy="$E2E_RUN_DIR/rounds.sqlite3"
sqlite3 "$db" ".backup '$copy'"
E2E_DB_TEMPLATE="$copy" timeout --kill-after=15 300 \
  xvfb-run -a -s "-screen 0 1440x900x24" node tests/e2e/rounds-shot.mjs
