#!/usr/bin/env python3
"""Runs a .tflite model in the real LiteRT interpreter (PyPI `ai-edge-litert`).

This is the oracle side of sgc's end-to-end tests: sgc writes a model, LiteRT runs it, and the outputs are
compared with TensorFlow's reference outputs saved beside the fixture graph.

Usage:
    litert_run.py MODEL.tflite OUT_DIR [NAME=]INPUT.npy ...

The model runs through its `serving_default` signature. Inputs are matched by name (`NAME=file.npy`) or,
without names, in the order of the subgraph's inputs. Each output is written to OUT_DIR/output_<i>.npy in the order of the
subgraph's outputs, and OUT_DIR/outputs.json lists `{"name", "file", "shape", "dtype"}` per output together
with the model's op histogram (`ops`), so that tests can check what the interpreter actually ran.

Exit status: 0 on success, 1 when the model does not load or run (the interpreter's message is printed).
"""

import collections
import json
import os
import sys

import numpy as np


def output_position(interp, detail):
    """Where a signature output stands among the subgraph's outputs."""
    indices = [d["index"] for d in interp.get_output_details()]
    return indices.index(detail["index"]) if detail["index"] in indices else len(indices)


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

    named = {}
    positional = []
    for arg in input_args:
        name, sep, path = arg.partition("=")
        if sep:
            named[name] = np.load(path)
        else:
            positional.append(np.load(arg))

    # Run through the serving_default signature: inputs and outputs by the graph's own names.
    try:
        runner = interp.get_signature_runner("serving_default")
    except Exception as e:
        print(f"litert: {model_path} has no serving_default signature: {e}", file=sys.stderr)
        return 1
    in_details = runner.get_input_details()
    out_details = runner.get_output_details()
    by_index = sorted(in_details.items(), key=lambda kv: kv[1]["index"])
    feeds = {}
    for i, (name, detail) in enumerate(by_index):
        if name in named:
            value = named[name]
        elif i < len(positional):
            value = positional[i]
        else:
            print(f"litert: no value given for input '{name}'", file=sys.stderr)
            return 1
        feeds[name] = value.astype(detail["dtype"])
    unknown = set(named) - set(in_details)
    if unknown:
        print(f"litert: the model has no input named {sorted(unknown)}", file=sys.stderr)
        return 1

    try:
        results = runner(**feeds)
    except Exception as e:
        print(f"litert: invoke failed on {model_path}: {e}", file=sys.stderr)
        return 1

    ops = collections.Counter(op["op_name"] for op in interp._get_ops_details())
    os.makedirs(out_dir, exist_ok=True)
    listing = []
    # Outputs in the order of the subgraph's outputs (tensor index order of the signature map).
    for i, (name, _) in enumerate(sorted(out_details.items(), key=lambda kv: output_position(interp, kv[1]))):
        value = results[name]
        file = f"output_{i}.npy"
        np.save(os.path.join(out_dir, file), value)
        listing.append({"name": name, "file": file, "shape": list(value.shape), "dtype": str(value.dtype)})
    with open(os.path.join(out_dir, "outputs.json"), "w") as f:
        json.dump({"outputs": listing, "ops": dict(sorted(ops.items()))}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
