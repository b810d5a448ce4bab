#!/usr/bin/env bash
# The whole test suite. Creates .venv with the LiteRT interpreter (the tests' oracle) and the TFLite
# schema package on first use, then runs every Rust test in the workspace. Extra arguments go to
# `cargo test` (e.g. a test name filter).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! .venv/bin/python -c "import ai_edge_litert, numpy, tflite" 2>/dev/null; then
  echo "== installing tools/requirements-test.txt into .venv (once)"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r tools/requirements-test.txt
fi
export SGC_PYTHON="$PWD/.venv/bin/python"

cargo test --workspace --locked "$@"
