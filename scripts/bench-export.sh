#!/usr/bin/env bash
# The study report and the tidy CSV export on a large study in a real SQLite
# workspace (benches/export.rs), with the sqlite3 command-line tool's own CSV
# export of the same rows measured in the same run.
# Usage: scripts/bench-export.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
if ! command -v sqlite3 >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 >/dev/null
fi
sqlite3 --version | cut -d' ' -f1 | sed 's/^/sqlite3 /'
cargo bench --locked --quiet -p llm4sweat --features testkit --bench export
