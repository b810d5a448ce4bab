#!/usr/bin/env python3
"""A fixture with ops TFLite has no builtin for, for sgc's custom-op tests (`tests/custom_ops.rs`).

A small dense layer followed by `Erf` and `Lgamma` (neither is a TFLite builtin, and sgc does not know
them), exported with `as_graph_def(add_shapes=True)` so that every node carries `_output_shapes`: that is
how sgc learns the shapes of ops it does not know. Writes `tests/fixtures-custom/erf_lgamma/` with the
graph (binary and text), a seeded input and TensorFlow's output:

    /path/to/venv-with-tf/bin/python tools/make_custom_fixture.py
"""
import json
import pathlib

import numpy as np
import tensorflow as tf

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures-custom" / "erf_lgamma"


def main():
    tf1 = tf.compat.v1
    tf1.disable_v2_behavior()
    rng = np.random.default_rng(5)
    w = rng.normal(size=(8, 8)).astype(np.float32) * 0.5
    b = rng.normal(size=(8,)).astype(np.float32) * 0.1
    x_val = rng.normal(size=(1, 8)).astype(np.float32)
    g = tf1.Graph()
    with g.as_default():
        x = tf1.placeholder(tf.float32, [1, 8], name="x")
        h = tf.nn.bias_add(tf.matmul(x, tf.constant(w, name="w")), tf.constant(b, name="b"), name="dense")
        e = tf.math.erf(h, name="erf")
        l = tf.math.lgamma(e + 2.0, name="lgamma")
        y = tf.multiply(l, 0.5, name="y")
        with tf1.Session(graph=g) as s:
            out = s.run(y, {x: x_val})
        gd = g.as_graph_def(add_shapes=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "graph.pb").write_bytes(gd.SerializeToString(deterministic=True))
    from google.protobuf import text_format

    (OUT / "graph.pbtxt").write_text(text_format.MessageToString(gd))
    np.save(OUT / "input_0.npy", x_val)
    np.save(OUT / "output_0.npy", out)
    meta = {
        "inputs": ["x"],
        "outputs": ["y"],
        "custom_ops": ["Erf", "Lgamma"],
        "tensorflow": tf.__version__,
    }
    (OUT / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    print("wrote", OUT, [n.op for n in gd.node])


if __name__ == "__main__":
    main()
