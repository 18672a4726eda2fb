#!/usr/bin/env bash
# Install everything the tests need, then run them all: lint, types, unit and
# end-to-end tests. Safe to run again; it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "Python test dependencies (requirements-dev.txt)"
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore -r requirements-dev.txt

step "Pinned PyScript/Pyodide runtime (package-lock.json)"
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

step "Chromium for the end-to-end tests"
if python3 -c 'import os, sys; from playwright.sync_api import sync_playwright
with sync_playwright() as p: sys.exit(0 if os.path.exists(p.chromium.executable_path) else 1)' 2>/dev/null; then
  echo "using Playwright's own Chromium"
elif command -v chromium >/dev/null 2>&1; then
  echo "using $(command -v chromium)"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  echo "installed $(command -v chromium)"
else
  echo "No Chromium found: install Debian's 'chromium' package (as root: apt-get install chromium)." >&2
  exit 1
fi

step "Lint (ruff) and types (mypy)"
python3 -m ruff check .
python3 -m mypy

step "Tests"
# Two workers (pytest-xdist), each with its own serve.py and browser; see docs/testing.md.
# Arguments given later win: `bash scripts/test.sh -n 0` runs them in one process.
python3 -m pytest -n "${TEST_WORKERS:-2}" "$@"
