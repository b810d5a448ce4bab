#!/usr/bin/env python3
"""Benchmarks `sgc lower` against TensorFlow's own converter on the same frozen graph.

Usage (needs tensorflow-cpu, see tools/requirements-fixtures.txt; build sgc with `cargo build --release`):
    bench_convert.py FIXTURE_DIR [FIXTURE_DIR ...] [--sgc target/release/sgc] [--runs 10]

For each fixture directory (graph.pb + meta.json, as written by tools/make_fixtures.py) it measures, in
this one process:
  - `sgc lower`: wall time, peak RSS (of the child), model size, op histogram, LiteRT latency (2 threads,
    median of --runs) and max abs error against the fixture's TensorFlow outputs;
  - TensorFlow's converter (`tf.compat.v1.lite.TFLiteConverter.from_frozen_graph`, builtin ops only):
    wall time, peak RSS growth, and either the same numbers or how it failed;
and prints ratios. Nothing is asserted: this is a measurement, not a test.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import litert_runner  # noqa: E402


def litert_stats(model_path, inputs, runs):
    interp = litert_runner.make_interpreter(model_path, threads=2)
    litert_runner.set_inputs(interp, inputs)
    latency = litert_runner.median_latency(interp, runs)
    return latency, litert_runner.get_outputs(interp), litert_runner.op_histogram(interp)


def error(outputs, refs):
    worst = 0.0
    for got, want in zip(outputs, refs):
        rng = float(np.max(np.abs(want))) or 1.0
        worst = max(worst, float(np.max(np.abs(got.astype(np.float64) - want))) / rng)
    return worst


def bench(fixture, sgc, runs, out_dir):
    meta = json.load(open(os.path.join(fixture, "meta.json")))
    inputs = [np.load(os.path.join(fixture, i["file"])) for i in meta["inputs"]]
    refs = [np.load(os.path.join(fixture, o["file"])) for o in meta["outputs"]]
    graph = os.path.join(fixture, "graph.pb")
    name = os.path.basename(os.path.normpath(fixture))
    row = {"fixture": name, "graph_mb": os.path.getsize(graph) / 1e6}

    # sgc
    model = os.path.join(out_dir, name + ".sgc.tflite")
    cmd = [sgc, "lower", graph, "-o", model, "--outputs", ",".join(o["name"] for o in meta["outputs"])]
    for i, value in zip(meta["inputs"], inputs):
        cmd += ["--inputs", f"{i['name']}=" + ",".join(str(d) for d in value.shape)]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    row["sgc_s"] = time.perf_counter() - t
    row["sgc_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if proc.returncode != 0:
        row["sgc_error"] = proc.stderr.strip()
    else:
        row["sgc_mb"] = os.path.getsize(model) / 1e6
        lat, outs, ops = litert_stats(model, inputs, runs)
        row.update(sgc_latency_ms=lat * 1e3, sgc_rel_err=error(outs, refs), sgc_ops=ops)

    # TensorFlow's converter, in this process
    import tensorflow as tf

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    try:
        conv = tf.compat.v1.lite.TFLiteConverter.from_frozen_graph(
            graph,
            input_arrays=[i["name"] for i in meta["inputs"]],
            output_arrays=[o["name"] for o in meta["outputs"]],
            input_shapes={i["name"]: list(v.shape) for i, v in zip(meta["inputs"], inputs)},
        )
        blob = conv.convert()
        row["tf_s"] = time.perf_counter() - t
        tf_model = os.path.join(out_dir, name + ".tf.tflite")
        open(tf_model, "wb").write(blob)
        row["tf_mb"] = len(blob) / 1e6
        try:
            lat, outs, ops = litert_stats(tf_model, inputs, runs)
            row.update(tf_latency_ms=lat * 1e3, tf_rel_err=error(outs, refs), tf_ops=ops)
        except Exception as e:
            row["tf_run_error"] = str(e).strip().splitlines()[0][:300]
    except Exception as e:
        row["tf_s"] = time.perf_counter() - t
        lines = [l for l in str(e).splitlines() if "error" in l.lower()] or str(e).splitlines() or [repr(e)]
        row["tf_error"] = lines[0][:400]
    row["tf_rss_growth_mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    if "sgc_s" in row and "tf_s" in row:
        row["time_ratio_sgc_over_tf"] = row["sgc_s"] / row["tf_s"]
    if "sgc_mb" in row and "tf_mb" in row:
        row["size_ratio_sgc_over_tf"] = row["sgc_mb"] / row["tf_mb"]
    if "sgc_latency_ms" in row and "tf_latency_ms" in row:
        row["latency_ratio_sgc_over_tf"] = row["sgc_latency_ms"] / row["tf_latency_ms"]
    return row


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("fixtures", nargs="+")
    p.add_argument("--sgc", default="target/release/sgc")
    p.add_argument("--runs", type=int, default=10)
    args = p.parse_args()
    out_dir = tempfile.mkdtemp(prefix="sgc-bench-")
    for fixture in args.fixtures:
        print(json.dumps(bench(fixture, args.sgc, args.runs, out_dir), indent=1), flush=True)


if __name__ == "__main__":
    sys.exit(main())
