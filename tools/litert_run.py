#!/usr/bin/env python3
"""Runs a .tflite model in the real LiteRT interpreter (PyPI `ai-edge-litert`).

This is the oracle side of sgc's end-to-end tests: sgc writes a model, LiteRT runs it, and the outputs are
compared with TensorFlow's reference outputs saved beside the fixture graph.

Usage:
    litert_run.py MODEL.tflite OUT_DIR [NAME=]INPUT.npy ...

Inputs are matched to the model's `serving_default` signature by name (`NAME=file.npy`) or, without names,
in the order of the subgraph's inputs. Each output is written to OUT_DIR/output_<i>.npy in the order of the
subgraph's outputs, and OUT_DIR/outputs.json lists `{"name", "file", "shape", "dtype"}` per output together
with the model's op histogram (`ops`), so that tests can check what the interpreter actually ran.

Exit status: 0 on success, 1 when the model does not load or run (the interpreter's message is printed).
"""

import collections
import json
import os
import sys

import numpy as np


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    model_path, out_dir, input_args = argv[1], argv[2], argv[3:]
    from ai_edge_litert.interpreter import Interpreter

    threads = int(os.environ.get("SGC_LITERT_THREADS", "2"))
    try:
        interp = Interpreter(model_path=model_path, num_threads=threads)
        interp.allocate_tensors()
    except Exception as e:  # the interpreter raises ValueError/RuntimeError with its own message
        print(f"litert: cannot load {model_path}: {e}", file=sys.stderr)
        return 1

    inputs = interp.get_input_details()
    outputs = interp.get_output_details()
    named = {}
    positional = []
    for arg in input_args:
        name, sep, path = arg.partition("=")
        if sep:
            named[name] = np.load(path)
        else:
            positional.append(np.load(arg))

    sig_inputs = {}
    try:
        sig = interp.get_signature_list().get("serving_default", {})
        runner = interp.get_signature_runner("serving_default") if sig else None
        if runner is not None:
            sig_inputs = runner.get_input_details()
    except Exception:
        sig_inputs = {}

    for i, detail in enumerate(inputs):
        value = None
        for name, d in sig_inputs.items():
            if d["index"] == detail["index"] and name in named:
                value = named[name]
        if value is None and detail["name"] in named:
            value = named[detail["name"]]
        if value is None and i < len(positional):
            value = positional[i]
        if value is None:
            print(f"litert: no value given for input '{detail['name']}'", file=sys.stderr)
            return 1
        if list(value.shape) != list(detail["shape"]):
            interp.resize_tensor_input(detail["index"], list(value.shape))
            interp.allocate_tensors()
        interp.set_tensor(detail["index"], value.astype(detail["dtype"]))

    try:
        interp.invoke()
    except Exception as e:
        print(f"litert: invoke failed on {model_path}: {e}", file=sys.stderr)
        return 1

    ops = collections.Counter(op["op_name"] for op in interp._get_ops_details())
    os.makedirs(out_dir, exist_ok=True)
    listing = []
    for i, detail in enumerate(outputs):
        value = interp.get_tensor(detail["index"])
        file = f"output_{i}.npy"
        np.save(os.path.join(out_dir, file), value)
        listing.append({"name": detail["name"], "file": file, "shape": list(value.shape),
                        "dtype": str(value.dtype)})
    with open(os.path.join(out_dir, "outputs.json"), "w") as f:
        json.dump({"outputs": listing, "ops": dict(sorted(ops.items()))}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
