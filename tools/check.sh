#!/usr/bin/env bash
# The static checks, for `make check`: lint, formatting, layer contracts, types of the core.
# Runs every check even after a failure, so one run shows everything to fix; exits 1 if any
# failed. Uses the project's virtual environment (VENV, default .venv).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN="${VENV:-.venv}/bin"

failed=()
run() {
  local name=$1
  shift
  echo "== $name: $*"
  if ! "$@"; then
    failed+=("$name")
  fi
}

run lint "$BIN/ruff" check .
run format "$BIN/ruff" format --check .
run layers "$BIN/lint-imports" --no-cache --no-logo
run types "$BIN/mypy"  # the files come from [tool.mypy] in pyproject.toml

if ((${#failed[@]})); then
  echo "check failed: ${failed[*]}"
  exit 1
fi
echo "check passed: lint, format, layers, types"
