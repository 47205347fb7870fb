# Sourced by the other scripts: one cache for build outputs and models,
# outside the clone, so that CI and fresh clones reuse the slow llama.cpp build.
export LLM4SWEAT_CACHE="${LLM4SWEAT_CACHE:-$HOME/.cache/llm4sweat}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$LLM4SWEAT_CACHE/target}"
export LLM4SWEAT_TEST_MODEL="${LLM4SWEAT_TEST_MODEL:-$LLM4SWEAT_CACHE/models/SmolLM2-135M-Instruct.Q4_1.gguf}"
# The Python the tests read exports with (pandas installed by scripts/python-env.sh).
export LLM4SWEAT_PYTHON="${LLM4SWEAT_PYTHON:-$LLM4SWEAT_CACHE/pyenv/bin/python}"
