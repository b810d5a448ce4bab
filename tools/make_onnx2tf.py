#!/usr/bin/env python3
"""The onnx2tf anchor of a fixture: its frozen graph through tf2onnx and onnx2tf, checked against TF's output.

Usage (in the environment tools/setup_onnx2tf.sh makes):
    .venv-onnx2tf/bin/python tools/make_onnx2tf.py tests/fixtures-full/synthesis_256 --out /tmp/o2t

Reads the fixture's meta.json (input and output names) and input_0.npy (the input shape), runs
`tf2onnx.convert --graphdef` (opset 17) and `onnx2tf -n` (float32, no simplifier rewrites beyond its
defaults), then runs the float32 .tflite in LiteRT on input_0.npy and prints its largest error relative to
output_0.npy. onnx2tf turns the model NHWC: a 3-D input [N, A, B] becomes [N, B, A] and the NCHW image
output comes out NHWC; both are transposed back for the check. Prints the model's path; nothing is
asserted beyond the conversion succeeding (a measurement tool, like tools/bench_latency.py).
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fixture")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    meta = json.load(open(os.path.join(a.fixture, "meta.json")))
    name = os.path.basename(os.path.normpath(a.fixture))
    x = np.load(os.path.join(a.fixture, meta["inputs"][0]["file"]))
    ref = np.load(os.path.join(a.fixture, meta["outputs"][0]["file"]))
    os.makedirs(a.out, exist_ok=True)
    onnx_path = os.path.join(a.out, name + ".onnx")
    shape = ",".join(str(d) for d in x.shape)
    subprocess.run([sys.executable, "-m", "tf2onnx.convert",
                    "--graphdef", os.path.join(a.fixture, "graph.pb"),
                    "--inputs", f"{meta['inputs'][0]['name']}:0[{shape}]",
                    "--outputs", meta["outputs"][0]["name"] + ":0",
                    "--output", onnx_path, "--opset", "17"], check=True)
    tf_dir = os.path.join(a.out, name + "_onnx2tf")
    onnx2tf = os.path.join(os.path.dirname(sys.executable), "onnx2tf")
    subprocess.run([onnx2tf, "-i", onnx_path, "-o", tf_dir, "-n"], check=True)
    model = os.path.join(tf_dir, name + "_float32.tflite")

    from ai_edge_litert.interpreter import Interpreter
    it = Interpreter(model_path=model, num_threads=2)
    it.allocate_tensors()
    d = it.get_input_details()[0]
    feed = x if tuple(d["shape"]) == x.shape else x.transpose(0, 2, 1)
    it.set_tensor(d["index"], np.ascontiguousarray(feed, dtype=np.float32))
    it.invoke()
    y = it.get_tensor(it.get_output_details()[0]["index"])
    if y.shape != ref.shape:
        y = y.transpose(0, 3, 1, 2)
    err = float(np.abs(y - ref).max() / np.abs(ref).max())
    print(f"{model}: max error / max |ref| = {err:.2e}")


if __name__ == "__main__":
    main()
