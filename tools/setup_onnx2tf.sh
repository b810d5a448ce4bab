#!/usr/bin/env bash
# Optional: the Python environment of the onnx2tf benchmark anchor (tools/make_onnx2tf.py): TensorFlow's
# frozen graph -> ONNX (tf2onnx) -> TFLite (onnx2tf), the route other tools offer. Not needed by the tests
# or CI. The versions are those the README's numbers were measured with (pip picks onnx2tf 1.28.8 for
# this TensorFlow). Converting a 1024 px graph takes ~10 GB of RAM.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-onnx2tf
.venv-onnx2tf/bin/pip install -q tensorflow-cpu==2.21.0 tf_keras==2.21.0 tf2onnx==1.17.0 onnx==1.23.2 \
  onnx2tf==1.28.8 onnxruntime==1.32.0 onnx-graphsurgeon==0.6.1 sng4onnx==2.0.1 onnxsim==0.8.1 psutil \
  ai-edge-litert==2.3.0
echo "ready: .venv-onnx2tf/bin/python tools/make_onnx2tf.py FIXTURE_DIR --out DIR"
