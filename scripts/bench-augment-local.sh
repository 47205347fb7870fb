#!/usr/bin/env bash
# Grammar-constrained against free decoding in the local llama.cpp engine
# (benches/augment_local.rs): the same 8 augmentation prompts, same seeds,
# one sequence at a time and 4 in parallel; prints completion tokens/s of
# each, their ratio and the parsed items per minute.
# Usage: scripts/bench-augment-local.sh [MODEL.gguf]   (default: the test model)
# Env: THREADS (0 = one per core), REPS (2), PARALLEL (1,4)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
export LLM4SWEAT_MODEL="${1:-${LLM4SWEAT_MODEL:-$LLM4SWEAT_TEST_MODEL}}"
cargo bench --locked --quiet -p llm4sweat --bench augment_local
