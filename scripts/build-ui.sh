#!/usr/bin/env bash
# Installs the UI's locked npm dependencies and builds ui/dist, which the
# desktop shell embeds at compile time. `--test` also runs the Vitest suite.
set -euo pipefail
cd "$(dirname "$0")/../ui"
# `npm install --no-save` rather than `npm ci`: the lock file records only the
# platform packages the registry could serve when it was written (rollup ships
# one optional package per OS/CPU), and `npm ci` refuses a lock that lacks the
# others. With every direct dependency pinned exactly, `install --no-save`
# resolves the same versions from the lock and never rewrites it.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ] ||
  [ package.json -nt node_modules/.package-lock.json ]; then
  npm install --no-save --no-audit --no-fund --loglevel=error
fi
if [ "${1:-}" = "--test" ]; then
  npm test --silent
fi
npm run build --silent
