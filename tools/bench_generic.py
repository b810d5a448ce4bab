#!/usr/bin/env python3
"""Benchmarks `sgc lower` against TensorFlow's own converter on the generic nets of make_generic_fixtures.py
at realistic size (classifiers 224 px, generators 256 px, realistic widths; batch 1): mobilenet_block is MobileNet v1
(alpha 1.0, stride-2 depthwise convs padded as Keras does: tf.pad + VALID), resnet_block ResNet-50.

Usage (needs tensorflow-cpu and ai-edge-litert, see tools/requirements-fixtures.txt; build sgc with
`cargo build --release`; run from tools/ or anywhere):
    bench_generic.py [--only NAME[,NAME]] [--runs 10] [--sgc target/release/sgc]

For each family (FAMILIES below) it, in this one process:
  - builds the net with its fixture builder (seeded weights), computes TensorFlow's output on one seeded
    input, freezes it and writes graph.pb to a temporary directory (kept; its path is printed);
  - `sgc lower`: wall time, its peak RSS (wait4 in a small wrapper process), model size;
  - TensorFlow's converter (`tf.compat.v1.lite.TFLiteConverter.from_frozen_graph`, input shapes batch 1,
    builtin ops only, no optimizations): wall time, model size, or the first line of its error;
  - loads both models in LiteRT (2 threads): max abs error / max |ref| against TensorFlow, op histogram
    (without delegates: the model's own ops), ops left outside XNNPACK;
  - times both INTERLEAVED (one warmup each, then A, B, A, B, ...), median of --runs invokes each;
and prints a JSON line per family, then a Markdown table. Latency moves ±30 % between runs on a shared
machine: compare the ratios of one run. Nothing is asserted: this is a measurement, not a test.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_generic_fixtures as mg  # noqa: E402  (first: sets TensorFlow up before it loads)
from fixture_io import freeze, session_config  # noqa: E402
import litert_runner  # noqa: E402
from bench_convert import error  # noqa: E402

import numpy as np  # noqa: E402

tf = mg.tf  # tf.compat.v1, v2 behaviour disabled

# name -> (builder, keyword arguments)
FAMILIES = {
    "mobilenet_block": (mg.mobilenet_block, dict(size=224, widths=mg.MOBILENET_V1, classes=1000)),  # MobileNet v1
    "resnet_block": (mg.resnet_block, dict(size=224, stages=mg.RESNET50, classes=1000)),  # ResNet-50
    "squeeze_excite": (mg.squeeze_excite, dict(size=224, ch=64, reduction=4, classes=1000)),
    "dcgan_generator": (mg.dcgan_generator, dict(size=256, ch=1024, base=4, z_dim=100)),  # NCHW
    "pix2pix_unet": (mg.pix2pix_unet, dict(size=256, ngf=64, depth=8, max_mult=8)),
    "cyclegan_resnet": (mg.cyclegan_resnet, dict(size=256, ngf=64, n_res=9)),
}


def build(name, builder, kwargs, out_dir):
    """Builds, runs and freezes one net; returns (graph.pb path, input name, input, output name, ref)."""
    graph = tf.Graph()
    with graph.as_default():
        x, y = builder(mg.rng_for(name), **kwargs)
        feed = mg.rng_for(name + "/input").standard_normal([1] + [d.value for d in x.shape[1:]]).astype(np.float32)
        # As make_generic_fixtures.py: NCHW graphs need Grappler's NCHW -> NHWC rewrite to run on CPU.
        nchw = any(n.attr["data_format"].s == b"NCHW" for n in graph.as_graph_def().node)
        with tf.Session(graph=graph, config=session_config() if nchw else None) as sess:
            ref = sess.run(y, {x: feed})
            gd = freeze(sess, graph, [y.op.name])
    path = os.path.join(out_dir, "graph.pb")
    with open(path, "wb") as f:
        f.write(gd.SerializeToString())
    return path, x.op.name, feed, y.op.name, ref


# Runs argv[1:] and prints its peak RSS (kB) last. A child's ru_maxrss also counts the address space it was
# forked from (this process, with TensorFlow and the graph loaded): spawn sgc from a small interpreter instead.
RSS_WRAPPER = ("import os, sys\n"
               "pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ)\n"
               "_, status, usage = os.wait4(pid, 0)\n"
               "print(usage.ru_maxrss, flush=True)\n"
               "sys.exit(os.waitstatus_to_exitcode(status))\n")


def run_sgc(sgc, graph, model, in_name, feed, out_name):
    """Returns (seconds, peak RSS MB of sgc, error text or None)."""
    cmd = [os.path.abspath(sgc), "lower", graph, "-o", model, "--outputs", out_name,
           "--inputs", in_name + "=" + ",".join(str(d) for d in feed.shape)]
    print("  $", " ".join(cmd), flush=True)
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", RSS_WRAPPER] + cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - t
    out = proc.stdout.split()
    rss_mb = int(out[-1]) / 1024 if out and out[-1].isdigit() else float("nan")
    return seconds, rss_mb, (proc.stderr.strip() or "exit %d" % proc.returncode) if proc.returncode else None


def run_tf_converter(graph, model, in_name, feed, out_name):
    """Returns (seconds, error's first line or None)."""
    t = time.perf_counter()
    try:
        conv = tf.lite.TFLiteConverter.from_frozen_graph(
            graph, input_arrays=[in_name], output_arrays=[out_name], input_shapes={in_name: list(feed.shape)})
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        conv.optimizations = []
        blob = conv.convert()
    except Exception as e:  # noqa: BLE001
        lines = [l for l in str(e).splitlines() if "error" in l.lower()] or str(e).splitlines() or [repr(e)]
        return time.perf_counter() - t, lines[0].strip()[:400]
    seconds = time.perf_counter() - t
    with open(model, "wb") as f:
        f.write(blob)
    return seconds, None


def check(model, feed, ref):
    """Loads `model` in LiteRT (2 threads): (interpreter, error, {op: n} without delegates, undelegated)."""
    ops = litert_runner.op_histogram(litert_runner.make_interpreter(model, default_delegates=False))
    interp = litert_runner.make_interpreter(model, threads=2)
    litert_runner.set_inputs(interp, [feed])
    interp.invoke()
    return interp, error(litert_runner.get_outputs(interp), [ref]), ops, litert_runner.undelegated(interp)


def interleaved_latency(interps, runs):
    """Median seconds per interpreter, invoked round-robin after one warmup each."""
    for it in interps:
        it.invoke()
    times = [[] for _ in interps]
    for _ in range(runs):
        for k, it in enumerate(interps):
            t = time.perf_counter()
            it.invoke()
            times[k].append(time.perf_counter() - t)
    return [statistics.median(t) for t in times]


def bench(name, sgc, runs, root):
    builder, kwargs = FAMILIES[name]
    out_dir = os.path.join(root, name)
    os.makedirs(out_dir)
    row = {"family": name, "size": kwargs["size"], "args": kwargs}
    graph, in_name, feed, out_name, ref = build(name, builder, kwargs, out_dir)
    row["graph_mb"] = os.path.getsize(graph) / 1e6
    interps = {}
    for tool in ("sgc", "tf"):
        model = os.path.join(out_dir, tool + ".tflite")
        if tool == "sgc":
            row["sgc_s"], row["sgc_rss_mb"], failed = run_sgc(sgc, graph, model, in_name, feed, out_name)
        else:
            row["tf_s"], failed = run_tf_converter(graph, model, in_name, feed, out_name)
        if failed:
            row[tool + "_error"] = failed
            continue
        row[tool + "_mb"] = os.path.getsize(model) / 1e6
        try:
            interps[tool], row[tool + "_err"], row[tool + "_ops"], row[tool + "_undelegated"] = check(model, feed, ref)
        except Exception as e:  # noqa: BLE001
            row[tool + "_run_error"] = str(e).strip().splitlines()[0][:300]
    for tool, seconds in zip(interps, interleaved_latency(list(interps.values()), runs)):
        row[tool + "_ms"] = seconds * 1e3
    return row


def fmt(row, key, spec):
    return spec % row[key] if key in row else "—"


def pair(row, key, spec, ratio=False):
    text = fmt(row, "sgc_" + key, spec) + " / " + fmt(row, "tf_" + key, spec)
    if ratio and "sgc_" + key in row and "tf_" + key in row:
        text += " (%.2f)" % (row["sgc_" + key] / row["tf_" + key])
    return text


def table(rows):
    lines = ["| family | size | convert s sgc / TF | sgc peak RSS MB | model MB sgc / TF (sgc/TF) | ops sgc / TF "
             "| latency ms sgc / TF (sgc/TF) | max err sgc / TF |", "|---" * 8 + "|"]
    for r in rows:
        for tool in ("sgc", "tf"):
            if tool + "_ops" in r:
                r[tool + "_nops"] = sum(r[tool + "_ops"].values())
        lines.append("| %s | %d | %s | %s | %s | %s | %s | %s |" % (
            r["family"], r["size"], pair(r, "s", "%.2f"), fmt(r, "sgc_rss_mb", "%.0f"), pair(r, "mb", "%.3f", True),
            pair(r, "nops", "%d"), pair(r, "ms", "%.2f", True), pair(r, "err", "%.2e")))
    failures = ["- %s: %s: %s" % (r["family"], k, r[k].splitlines()[-1])
                for r in rows for k in sorted(r) if k.endswith("error")]
    return "\n".join(lines + ([""] + failures if failures else []))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p.add_argument("--sgc", default=os.path.join(repo, "target", "release", "sgc"))
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--only", default="", help="comma-separated families (default: all): " + ", ".join(FAMILIES))
    args = p.parse_args()
    names = [n for n in args.only.split(",") if n] or list(FAMILIES)
    if set(names) - set(FAMILIES):
        p.error("unknown famil(ies): %s" % ", ".join(sorted(set(names) - set(FAMILIES))))
    root = tempfile.mkdtemp(prefix="sgc-bench-generic-")
    print("models in", root, flush=True)
    rows = []
    for name in names:
        rows.append(bench(name, args.sgc, args.runs, root))
        print(json.dumps(rows[-1]), flush=True)
    print()
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
