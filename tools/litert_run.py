#!/usr/bin/env python3
"""Runs .tflite models in the real LiteRT interpreter (PyPI `ai-edge-litert`).

This is the oracle side of sgc's end-to-end tests: sgc writes a model, LiteRT runs it, and the outputs are
compared with TensorFlow's reference outputs saved beside the fixture graph.

Usage:
    litert_run.py MODEL.tflite OUT_DIR [NAME=]INPUT.npy ...
    litert_run.py --batch MANIFEST.json RESULT.json

The model runs through its `serving_default` signature. Inputs are matched by name (`NAME=file.npy`) or,
without names, in the order of the subgraph's inputs. Each output is written to OUT_DIR/output_<i>.npy in the order of the
subgraph's outputs, and OUT_DIR/outputs.json lists `{"name", "file", "shape", "dtype"}` per output together
with the model's op histogram (`ops`) and the ops that no delegate took (`undelegated`), so that tests can
check what the interpreter actually ran.
Threads: $SGC_LITERT_THREADS (default 2).

Exit status: 0 on success, 1 when the model does not load or run (the interpreter's message is printed).

--batch runs many small models in one process (for backends/tests/litert_ops.rs), with LiteRT's default
thread count. MANIFEST is a list of cases `{"model", "inputs": {name: {"shape", "data"}}, "outputs": [names],
"tf"}`; float32 inputs. When `tf` is a Python expression (over the input names, `tf` and `np`) and
TensorFlow imports, it is evaluated as an independent reference. RESULT is
`{"tensorflow": version | null, "cases": [...]}`, one case per manifest entry:
`{"outputs": [{"shape", "data"}] | null, "tf": [{"shape", "data"}] | null, "error": str | null,
"tf_error": str | null}`. A failing case is recorded in RESULT; the exit status is 0.
"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import litert_runner  # noqa: E402


def run_one(model_path, out_dir, input_args):
    threads = int(os.environ.get("SGC_LITERT_THREADS", "2"))
    try:
        interp = litert_runner.make_interpreter(model_path, threads)
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

    os.makedirs(out_dir, exist_ok=True)
    listing = []
    for i, name in enumerate(litert_runner.signature_outputs(interp, runner)):
        value = results[name]
        file = f"output_{i}.npy"
        np.save(os.path.join(out_dir, file), value)
        listing.append({"name": name, "file": file, "shape": list(value.shape), "dtype": str(value.dtype)})
    with open(os.path.join(out_dir, "outputs.json"), "w") as f:
        json.dump({"outputs": listing, "ops": litert_runner.op_histogram(interp),
                   "undelegated": litert_runner.undelegated(interp)}, f, indent=1)
    return 0


def flat(a):
    a = np.asarray(a)
    return {"shape": list(a.shape), "data": a.astype(np.float64).ravel().tolist()}


def run_batch(manifest, result):
    try:
        import tensorflow as tf
    except Exception:
        tf = None
    with open(manifest) as f:
        cases = json.load(f)
    out = []
    for case in cases:
        res = {"outputs": None, "tf": None, "error": None, "tf_error": None}
        feeds = {k: np.array(v["data"], dtype=np.float32).reshape(v["shape"])
                 for k, v in case["inputs"].items()}
        try:
            got = litert_runner.run_signature(case["model"], feeds, case["outputs"])
            res["outputs"] = [flat(x) for x in got]
        except Exception as e:
            res["error"] = f"{type(e).__name__}: {e}"
        if case.get("tf") and tf is not None:
            env = dict(feeds)
            env.update(tf=tf, np=np)
            try:
                r = eval(case["tf"], env)
                if not isinstance(r, (list, tuple)):
                    r = [r]
                res["tf"] = [flat(np.asarray(x)) for x in r]
            except Exception as e:
                res["tf_error"] = f"{type(e).__name__}: {e}"
        out.append(res)
    version = tf.__version__ if tf is not None else None
    with open(result, "w") as f:
        json.dump({"tensorflow": version, "cases": out}, f)
    return 0


def main(argv):
    if len(argv) == 4 and argv[1] == "--batch":
        return run_batch(argv[2], argv[3])
    if len(argv) < 3 or argv[1] == "--batch":
        print(__doc__, file=sys.stderr)
        return 2
    return run_one(argv[1], argv[2], argv[3:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
