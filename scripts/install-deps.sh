#!/usr/bin/env bash
# Installs the system packages the build needs on Debian/Ubuntu: a C/C++
# toolchain and CMake for llama.cpp, libclang for its bindings, WebKitGTK for
# the Tauri desktop shell, Xvfb + WebKitWebDriver to run it headless in
# tests, Chromium to check that the HTML report renders offline with no
# console error, and a sans-serif font for the report's charts drawn as PNG. Does nothing when they are already there, so CI pays for it once.
set -euo pipefail
packages=(build-essential cmake clang libclang-dev pkg-config
  libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev libsoup-3.0-dev
  xvfb xauth webkit2gtk-driver chromium fonts-dejavu-core)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "missing system packages: ${missing[*]} (install them with your package manager; see README.md)" >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
