#!/usr/bin/env bash
# Build llama.cpp's own benchmark tools (llama-bench, llama-batched-bench,
# llama-quantize, llama-perplexity, llama-finetune) against the SAME llama.cpp
# sources that the llama-cpp-sys-2 crate vendors, with the same CMake options
# the crate uses for a CPU build, so that both sides can be measured side by side.
#
# The crate ships llama.cpp WITHOUT the sources of tools/ and examples/ (only
# their READMEs). The PyPI sdist of llama-cpp-python vendors a full llama.cpp
# tree; we take only tools/{llama-bench,batched-bench,quantize,perplexity} and
# examples/training from it and build them against the crate's llama.cpp tree.
#
# Nothing is written into the repository: sources, build tree and binaries live
# under ${LLM4SWEAT_CACHE:-$HOME/.cache/llm4sweat}/llama-tools/.
#
# Environment overrides:
#   LLAMA_CPP_PYTHON_VERSION  sdist version to take the tool sources from
#   LLAMA_TOOLS_JOBS          parallel build jobs (default: nproc)
#   LLAMA_TOOLS_BUILD_TYPE    CMake build type (default: Release, like the crate
#                             in a cargo build whose DEBUG is false)
#   LLAMA_TOOLS_SRC           scratch dir for the merged sources
#   LLAMA_TOOLS_FORCE=1       rebuild even if the stamp says up to date
#
# Version choice (LLAMA_CPP_PYTHON_VERSION default):
#   llama-cpp-sys-2 0.1.161 vendors llama.cpp with ggml 0.26.0 (ggml/CMakeLists.txt;
#   the crate carries no build number or commit: cmake/build-info.cmake says
#   BUILD_NUMBER 0 / "unknown"). The newest llama-cpp-python on the index (checked
#   with `pip index versions llama-cpp-python`) is 0.3.36, which vendors
#   ggml-org/llama.cpp@0c1e57098 with ggml 0.25.0 -- i.e. every sdist is OLDER
#   than the crate's tree (the crate has e.g. common/parsers/llm-jp-harmony.cpp,
#   which 0.3.36 lacks), so the newest sdist is the closest match. Only the tool
#   .cpp files come from it; libllama, ggml and common are the crate's own, and
#   the five tools compile unchanged against them.
set -euo pipefail

DEFAULT_LLAMA_CPP_PYTHON_VERSION=0.3.36
SDIST_VERSION=${LLAMA_CPP_PYTHON_VERSION:-$DEFAULT_LLAMA_CPP_PYTHON_VERSION}

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE_ROOT=${LLM4SWEAT_CACHE:-$HOME/.cache/llm4sweat}/llama-tools
SRC_ROOT=${LLAMA_TOOLS_SRC:-$CACHE_ROOT/src}
BUILD_DIR=$CACHE_ROOT/build
SDIST_DIR=$CACHE_ROOT/sdist
BIN_DIR=$CACHE_ROOT/bin
STAMP=$BIN_DIR/.stamp
CARGO_HOME_DIR=${CARGO_HOME:-$HOME/.cargo}
JOBS=${LLAMA_TOOLS_JOBS:-$(nproc 2>/dev/null || echo 2)}
BUILD_TYPE=${LLAMA_TOOLS_BUILD_TYPE:-Release}

TARGETS=(llama-bench llama-batched-bench llama-quantize llama-perplexity llama-finetune)
TOOL_DIRS=(tools/llama-bench tools/batched-bench tools/quantize tools/perplexity examples/training)

log() { printf '[build-llama-tools] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------------------
# 1. Locate the llama-cpp-sys-2 sources.
# ---------------------------------------------------------------------------
lock_version() {
    [[ -f $REPO_ROOT/Cargo.lock ]] || return 0
    awk '/^name = "llama-cpp-sys-2"$/ {f=1; next}
         f && /^version = / {gsub(/"/, "", $3); print $3; exit}
         /^\[\[package\]\]/ {f=0}' "$REPO_ROOT/Cargo.lock"
}

find_sys2_dir() { # $1: exact version or empty for newest
    local pattern="llama-cpp-sys-2-${1:-*}"
    local d
    # newest by version order; registry/src/<index>/ may hold several indexes
    d=$(ls -d "$CARGO_HOME_DIR"/registry/src/*/$pattern 2>/dev/null \
        | awk -F'llama-cpp-sys-2-' '{print $NF "\t" $0}' | sort -V -k1,1 | tail -n1 | cut -f2- || true)
    [[ -n $d && -d $d/llama.cpp ]] && printf '%s\n' "$d"
    return 0
}

SYS2_VERSION=$(lock_version)
SYS2_DIR=$(find_sys2_dir "$SYS2_VERSION")
if [[ -z $SYS2_DIR && -f $REPO_ROOT/Cargo.toml ]]; then
    log "llama-cpp-sys-2${SYS2_VERSION:+ $SYS2_VERSION} not in $CARGO_HOME_DIR/registry/src; running cargo fetch"
    (cd "$REPO_ROOT" && cargo fetch)
    SYS2_VERSION=$(lock_version)
    SYS2_DIR=$(find_sys2_dir "$SYS2_VERSION")
fi
if [[ -z $SYS2_DIR && -n $SYS2_VERSION ]]; then
    log "warning: llama-cpp-sys-2 $SYS2_VERSION (Cargo.lock) not found; using the newest available"
    SYS2_DIR=$(find_sys2_dir "")
fi
[[ -n $SYS2_DIR ]] || die "no llama-cpp-sys-2-* under $CARGO_HOME_DIR/registry/src (and no Cargo.toml to cargo fetch)"
SYS2_VERSION=${SYS2_DIR##*/llama-cpp-sys-2-}
LLAMA_SRC=$SYS2_DIR/llama.cpp

# ---------------------------------------------------------------------------
# 2. Identify the vendored llama.cpp version (for the log and the stamp).
# ---------------------------------------------------------------------------
ggml_version() { # $1: llama.cpp dir
    awk '/set\(GGML_VERSION_MAJOR/ {ma=$2} /set\(GGML_VERSION_MINOR/ {mi=$2}
         /set\(GGML_VERSION_PATCH/ {pa=$2}
         END {gsub(/\)/, "", ma); gsub(/\)/, "", mi); gsub(/\)/, "", pa); print ma "." mi "." pa}' \
        "$1/ggml/CMakeLists.txt"
}
CRATE_GGML=$(ggml_version "$LLAMA_SRC")
CRATE_BUILD_NUMBER=$(awk '/^set\(BUILD_NUMBER/ {gsub(/\)/, "", $2); print $2; exit}' \
    "$LLAMA_SRC/cmake/build-info.cmake" 2>/dev/null || true)
log "llama-cpp-sys-2 $SYS2_VERSION at $SYS2_DIR"
log "vendored llama.cpp: ggml $CRATE_GGML, build number ${CRATE_BUILD_NUMBER:-?} (0 = not recorded)"
log "tool sources from llama-cpp-python sdist $SDIST_VERSION"

# ---------------------------------------------------------------------------
# CMake options: mirror llama-cpp-sys-2's build.rs (lines ~750-1020) for
# x86_64 linux, default features (openmp), no target-cpu=native:
#   LLAMA_BUILD_{TESTS,EXAMPLES,SERVER,TOOLS,APP}=OFF, LLAMA_BUILD_COMMON=ON,
#   LLAMA_CURL=OFF, GGML_NATIVE=OFF, BUILD_SHARED_LIBS=OFF, GGML_OPENMP=ON,
#   CMAKE_BUILD_TYPE=Release.
# build.rs only defines GGML_AVX2/FMA/F16C/... for features in
# CARGO_CFG_TARGET_FEATURE, which for the default x86_64 target is just
# fxsr,sse,sse2 -- so it defines none. The crate still gets AVX2/FMA/F16C because
# ggml/CMakeLists.txt defaults GGML_{SSE42,AVX,AVX2,BMI2,FMA,F16C} to INS_ENB,
# which is ON whenever GGML_NATIVE=OFF and the build is not cross-compiling and
# SOURCE_DATE_EPOCH is unset. We set them explicitly to those same values (so a
# stray SOURCE_DATE_EPOCH cannot change them); AVX512*/AVX_VNNI/AMX stay OFF as
# in the crate. The cmake crate also passes cc-rs' flags as CMAKE_{C,CXX}_FLAGS
# (read from the crate's CMakeCache.txt):
#   -ffunction-sections -fdata-sections -fPIC -m64 -march=x86-64 -w
# ggml-cpu adds -msse4.2 -mf16c -mfma -mbmi2 -mavx -mavx2 after these.
# NEVER GGML_NATIVE=ON / -march=native here: this CPU advertises AMX and
# llama.cpp crashes with it.
# We additionally turn LLAMA_BUILD_TOOLS on (with our own tools/CMakeLists.txt
# that adds only the five tools); that does not change libllama/ggml.
# ---------------------------------------------------------------------------
CMAKE_ARGS=(
    -DCMAKE_BUILD_TYPE="$BUILD_TYPE"
    -DBUILD_SHARED_LIBS=OFF
    -DLLAMA_BUILD_TESTS=OFF
    -DLLAMA_BUILD_EXAMPLES=OFF
    -DLLAMA_BUILD_SERVER=OFF
    -DLLAMA_BUILD_APP=OFF
    -DLLAMA_BUILD_COMMON=ON
    -DLLAMA_BUILD_TOOLS=ON
    -DLLAMA_CURL=OFF
    -DGGML_NATIVE=OFF
    -DGGML_OPENMP=ON
)
if [[ $(uname -m) == x86_64 ]]; then
    CC_FLAGS="-ffunction-sections -fdata-sections -fPIC -m64 -march=x86-64 -w"
    CMAKE_ARGS+=(
        -DCMAKE_C_FLAGS="$CC_FLAGS"
        -DCMAKE_CXX_FLAGS="$CC_FLAGS"
        -DGGML_SSE42=ON
        -DGGML_AVX=ON
        -DGGML_AVX2=ON
        -DGGML_BMI2=ON
        -DGGML_FMA=ON
        -DGGML_F16C=ON
        -DGGML_AVX512=OFF
        -DGGML_AVX_VNNI=OFF
    )
fi

STAMP_CONTENT="llama-cpp-sys-2=$SYS2_VERSION
llama-cpp-python=$SDIST_VERSION
cmake=${CMAKE_ARGS[*]}"

all_binaries_present() {
    local t
    for t in "${TARGETS[@]}"; do [[ -x $BIN_DIR/$t ]] || return 1; done
}

print_result() {
    log "binaries in $BIN_DIR:"
    local t
    for t in "${TARGETS[@]}"; do printf '%s\n' "$BIN_DIR/$t"; done
}

if [[ ${LLAMA_TOOLS_FORCE:-0} != 1 ]] && all_binaries_present \
    && [[ -f $STAMP ]] && [[ "$(cat "$STAMP")" == "$STAMP_CONTENT" ]]; then
    log "up to date (stamp $STAMP)"
    print_result
    exit 0
fi

# ---------------------------------------------------------------------------
# Tools needed for the build.
# ---------------------------------------------------------------------------
if ! command -v cmake >/dev/null 2>&1; then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        log "cmake not found; installing Debian's cmake"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cmake >/dev/null
    else
        die "cmake not found; install it (e.g. apt-get install cmake)"
    fi
fi
command -v c++ >/dev/null 2>&1 || die "no C++ compiler (c++) found"
PIP=(python3 -m pip)
"${PIP[@]}" --version >/dev/null 2>&1 || PIP=(pip)

# ---------------------------------------------------------------------------
# 2b. Fetch the llama-cpp-python sdist (through pip's configured index only).
# ---------------------------------------------------------------------------
mkdir -p "$SDIST_DIR"
find_sdist() {
    ls -1 "$SDIST_DIR"/llama_cpp_python-"$SDIST_VERSION".tar.gz \
          "$SDIST_DIR"/llama-cpp-python-"$SDIST_VERSION".tar.gz 2>/dev/null | head -n1 || true
}
SDIST=$(find_sdist)
if [[ -z $SDIST ]]; then
    log "downloading llama-cpp-python==$SDIST_VERSION sdist with pip (takes a minute or two)"
    "${PIP[@]}" download --no-deps --no-binary :all: -d "$SDIST_DIR" "llama-cpp-python==$SDIST_VERSION" >&2
    SDIST=$(find_sdist)
    [[ -n $SDIST ]] || die "pip download did not produce llama_cpp_python-$SDIST_VERSION.tar.gz in $SDIST_DIR"
fi

# ---------------------------------------------------------------------------
# 3. Merge: crate's llama.cpp + the sdist's tool sources.
# ---------------------------------------------------------------------------
mkdir -p "$SRC_ROOT"
EXTRACT=$(mktemp -d "$SRC_ROOT/.sdist.XXXXXX")
trap 'rm -rf "$EXTRACT"' EXIT
patterns=()
for d in "${TOOL_DIRS[@]}"; do patterns+=("*/vendor/llama.cpp/$d/*"); done
patterns+=("*/vendor/llama.cpp/ggml/CMakeLists.txt")
tar -xzf "$SDIST" -C "$EXTRACT" --wildcards "${patterns[@]}"
SDIST_LLAMA=$(ls -d "$EXTRACT"/*/vendor/llama.cpp | head -n1)
[[ -d $SDIST_LLAMA ]] || die "sdist has no vendor/llama.cpp"
SDIST_GGML=$(ggml_version "$SDIST_LLAMA")
if [[ $SDIST_GGML != "$CRATE_GGML" ]]; then
    log "note: sdist vendors ggml $SDIST_GGML, crate vendors ggml $CRATE_GGML (only the tool sources are taken from the sdist)"
fi

MERGED=$SRC_ROOT/llama.cpp
rm -rf "$MERGED"
cp -a "$LLAMA_SRC" "$MERGED"    # -a keeps mtimes, so a rebuild is incremental
chmod -R u+w "$MERGED"
for d in "${TOOL_DIRS[@]}"; do
    [[ -d $SDIST_LLAMA/$d ]] || die "sdist lacks vendor/llama.cpp/$d"
    rm -rf "${MERGED:?}/$d"
    mkdir -p "$(dirname "$MERGED/$d")"
    cp -a "$SDIST_LLAMA/$d" "$MERGED/$d"
done
# Minimal glue: the crate's tools/CMakeLists.txt lists every tool (most of them
# absent); replace it with one that adds just ours.
cat >"$MERGED/tools/CMakeLists.txt" <<'EOF'
# generated by LLM4Sweat scripts/build-llama-tools.sh
find_package(Threads REQUIRED)
llama_add_compile_flags()
add_subdirectory(llama-bench)
add_subdirectory(batched-bench)
add_subdirectory(quantize)
add_subdirectory(perplexity)
add_subdirectory(${PROJECT_SOURCE_DIR}/examples/training ${PROJECT_BINARY_DIR}/examples/training)
EOF
rm -rf "$EXTRACT"
trap - EXIT

# ---------------------------------------------------------------------------
# Configure and build.
# ---------------------------------------------------------------------------
# A build tree configured with other options (or from another source tree)
# is discarded rather than reconfigured on top.
if [[ -f $BUILD_DIR/.llm4sweat-stamp && "$(cat "$BUILD_DIR/.llm4sweat-stamp")" != "$STAMP_CONTENT" ]]; then
    rm -rf "$BUILD_DIR"
fi
mkdir -p "$BUILD_DIR"
printf '%s' "$STAMP_CONTENT" >"$BUILD_DIR/.llm4sweat-stamp"

log "cmake ${CMAKE_ARGS[*]}"
env -u SOURCE_DATE_EPOCH cmake -S "$MERGED" -B "$BUILD_DIR" "${CMAKE_ARGS[@]}" >&2

start=$SECONDS
log "building ${TARGETS[*]} with -j$JOBS"
cmake --build "$BUILD_DIR" --config "$BUILD_TYPE" -j "$JOBS" --target "${TARGETS[@]}" >&2
log "build took $((SECONDS - start)) s"

# Show what ISA the ggml CPU backend was really configured with.
grep -E '^GGML_(NATIVE|SSE42|AVX|AVX2|BMI2|FMA|F16C|AVX512|AVX_VNNI|OPENMP|LLAMAFILE|CPU_REPACK):' \
    "$BUILD_DIR/CMakeCache.txt" | tr '\n' ' ' >&2 || true
echo >&2

mkdir -p "$BIN_DIR"
for t in "${TARGETS[@]}"; do
    src=$(find "$BUILD_DIR/bin" "$BUILD_DIR" -maxdepth 3 -type f -name "$t" -perm -u+x 2>/dev/null | head -n1)
    [[ -n $src ]] || die "built binary $t not found under $BUILD_DIR"
    install -m 0755 "$src" "$BIN_DIR/$t"
done
printf '%s' "$STAMP_CONTENT" >"$STAMP"

# ---------------------------------------------------------------------------
# 4. Where the binaries are.
# ---------------------------------------------------------------------------
print_result
