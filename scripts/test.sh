#!/usr/bin/env bash
# Runs every check and test: formatting, lints, docs, the UI's unit tests,
# Rust unit and integration tests (real SQLite files, the real SmolLM2 GGUF,
# a loopback HTTP server), and the desktop app end to end under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/install-deps.sh
scripts/build-ui.sh --test
scripts/fetch-test-models.sh
scripts/python-env.sh
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet
cargo test --workspace --locked
scripts/e2e.sh
