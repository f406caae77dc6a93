#!/usr/bin/env bash
# Installs what Proctor needs on a fresh Debian 12 machine, skipping what is already there:
# Debian's Chromium, a virtualenv in .venv with the CPU build of PyTorch and the project.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ] && [ -z "${PROCTOR_BROWSER_EXECUTABLE:-}" ]; then
  echo "== installing Chromium (Debian package)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

PYTHON="${PYTHON:-python3}"
stamp=.venv/.proctor-installed
# Installed again when pyproject.toml changed since, or a dev tool `make test` needs is missing.
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] \
    || ! .venv/bin/python -c "import xdist" 2>/dev/null; then
  echo "== creating .venv and installing Python packages (first run takes a few minutes)"
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
  mkdir -p .proctor
  log=.proctor/setup.log
  {
    .venv/bin/pip install --upgrade pip
    # The CPU build from this machine's disk; an unpinned torch would pull a multi-GB CUDA build.
    .venv/bin/pip install "torch==2.13.0"
    .venv/bin/pip install -e '.[dev]'
    # MiniWoB++'s HTML tasks for bench.robots; --no-deps: its gymnasium/selenium stack is not used.
    .venv/bin/pip install --no-deps "miniwob==1.1.0"
  } >"$log" 2>&1 || { tail -40 "$log"; echo "setup failed; full log: $log"; exit 1; }
  touch "$stamp"
fi
