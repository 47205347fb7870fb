#!/usr/bin/env bash
# Installs the UI's locked npm dependencies and builds ui/dist, which the
# desktop shell embeds at compile time. `--test` also runs the Vitest suite.
set -euo pipefail
cd "$(dirname "$0")/../ui"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
if [ "${1:-}" = "--test" ]; then
  npm test --silent
fi
npm run build --silent
