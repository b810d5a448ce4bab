#!/usr/bin/env bash
# Optional: the Python environment of the benchmark anchors (tools/make_anchors.py), beside the repo's
# .venv. Not needed by the tests or CI.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-anchors
.venv-anchors/bin/pip install -q ai-edge-quantizer==0.10.0
echo "ready: .venv-anchors/bin/python tools/make_anchors.py FLOAT.tflite --out DIR"
