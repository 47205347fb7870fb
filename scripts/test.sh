#!/usr/bin/env bash
# Runs every check and test: formatting, lints, docs, unit and integration
# tests (the integration tests use the real SmolLM2-135M GGUF, fetched here).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/install-deps.sh
scripts/fetch-test-models.sh
cargo fmt --all --check
cargo clippy --all-targets --locked -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --locked --quiet
cargo test --locked
