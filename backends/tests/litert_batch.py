#!/usr/bin/env python3
"""Runs many small .tflite models in LiteRT in one process (for `litert_ops.rs`).

Usage: litert_batch.py MANIFEST.json RESULT.json

MANIFEST is a list of cases `{"model", "inputs": {name: {"shape", "data"}}, "outputs": [names], "tf"}`.
Each model runs through its `serving_default` signature; float32 inputs. When `tf` is a Python expression
(over the input names, `tf` and `np`) and TensorFlow imports, it is evaluated as an independent reference.
RESULT is `{"tensorflow": version | null, "cases": [...]}`, one case per manifest entry:
`{"outputs": [{"shape", "data"}] | null, "tf": [{"shape", "data"}] | null, "error": str | null,
"tf_error": str | null}`.
"""
import json
import sys

import numpy as np


def flat(a):
    a = np.asarray(a)
    return {"shape": list(a.shape), "data": a.astype(np.float64).ravel().tolist()}


def main(manifest, result):
    from ai_edge_litert.interpreter import Interpreter

    try:
        import tensorflow as tf
    except Exception:
        tf = None
    cases = json.load(open(manifest))
    out = []
    for case in cases:
        res = {"outputs": None, "tf": None, "error": None, "tf_error": None}
        feeds = {k: np.array(v["data"], dtype=np.float32).reshape(v["shape"])
                 for k, v in case["inputs"].items()}
        try:
            interp = Interpreter(model_path=case["model"])
            runner = interp.get_signature_runner("serving_default")
            got = runner(**feeds)
            res["outputs"] = [flat(got[name]) for name in case["outputs"]]
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
    json.dump({"tensorflow": version, "cases": out}, open(result, "w"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
