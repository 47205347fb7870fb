#!/usr/bin/env bash
# A Python virtual environment with pandas, outside the clone, for the tests that read the
# ratings exports the way analysts do (Python's csv module and pandas). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
venv="$LLM4SWEAT_CACHE/pyenv"
if "$venv/bin/python" -c "import pandas" 2>/dev/null; then
  exit 0
fi
if ! python3 -c "import venv, ensurepip" 2>/dev/null; then
  scripts/install-deps.sh
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
fi
echo "[python-env] creating $venv with pandas" >&2
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "pandas==2.2.3"
