#!/usr/bin/env bash
# Desktop latencies: launch to interactive window (process start until the UI
# has loaded and its first command answered), measured over several launches
# of the built app under Xvfb; the review-path benchmark at the app layer
# (autosave, submit, opening a study with 5 000 answers); then the same review
# commands timed from the real webview through Tauri's IPC and back
# (tests/e2e/bench-ipc.mjs, driven over WebDriver) on the 5 000-answer study.
# Usage: scripts/bench-desktop.sh [RUNS]   (default 5)
# Env: PROFILE=release (default) or debug (the dev build: an upper bound, no release build needed)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
runs="${1:-5}"
scripts/build-ui.sh >/dev/null
profile="${PROFILE:-release}"
if [ "$profile" = "release" ]; then
  cargo build --release --locked --quiet -p llm4sweat-desktop --bin llm4sweat-desktop
else
  cargo build --locked --quiet -p llm4sweat-desktop --bin llm4sweat-desktop
fi
app="$CARGO_TARGET_DIR/$profile/llm4sweat-desktop"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export LLM4SWEAT_DB="$work/bench.sqlite3" LLM4SWEAT_MODELS_DIR="$work/models"
export LLM4SWEAT_TRACE_STARTUP=1 WEBKIT_DISABLE_DMABUF_RENDERER=1
# One virtual display for all launches; each launch is the app process itself,
# so killing it leaves nothing behind.
display=":$(( 90 + RANDOM % 100 ))"
Xvfb "$display" -screen 0 1440x900x24 -nolisten tcp >/dev/null 2>&1 &
xvfb_pid=$!
trap 'kill "$xvfb_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
sleep 1
times=()
for i in $(seq "$runs"); do
  log="$work/run$i.log"
  DISPLAY="$display" "$app" 2>"$log" &
  pid=$!
  for _ in $(seq 300); do grep -q "startup: interactive" "$log" 2>/dev/null && break; sleep 0.1; done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  ms=$(sed -n 's/.*interactive after \([0-9]*\) ms.*/\1/p' "$log" | head -1)
  [ -n "$ms" ] || { echo "run $i: the window never became interactive" >&2; cat "$log" >&2; exit 1; }
  times+=("$ms")
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "launch to interactive window ($profile build): median ${median} ms over ${runs} launches (${times[*]} ms; warm build, target < 1500 ms)"
BENCH_KEEP_DB="$work/big.sqlite3" cargo bench --locked --quiet -p llm4sweat-desktop --bench review 2>/dev/null |
  grep '^|'
kill "$xvfb_pid" 2>/dev/null || true

# Through IPC: the app under tauri-driver on a copy of the bench's workspace.
source tests/e2e/prepare.sh
trap 'e2e_cleanup; rm -rf "$work"' EXIT
e2e_install_prereqs
export E2E_APP="$app" E2E_DB_TEMPLATE="$work/big.sqlite3"
xvfb-run -a -s "-screen 0 1440x900x24" node tests/e2e/bench-ipc.mjs
