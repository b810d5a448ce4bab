#!/usr/bin/env python3
"""Baseline for issue 3: TensorFlow's converter on an NHWC rewrite of the StyleGAN v1 synthesis graph, vs sgc.

TensorFlow's converter cannot convert the NCHW fixture graphs (it fails on them), so the best case a user can
reach with it is to rewrite the network in NHWC by hand and convert that. This script does that rewrite:

  - the StyleGAN v1 *synthesis* network, fixed structure (no lod / growth logic), randomize_noise=False,
    written the natural NHWC way: Conv2D NHWC, blur as DepthwiseConv2dNative NHWC, upscale2d as NHWC
    Reshape [-1,H,1,W,1,C] / Tile [1,1,2,1,2,1] / Reshape, fused upscale (>= 128 px, like fused_scale="auto")
    as Conv2DBackpropInput NHWC with the same padded-and-summed 4x4 kernel, instance norm over axes [1,2],
    leaky relu still `tf.maximum(x, x * 0.2)`, style modulation reshaped to [N,2,1,1,C] and broadcast as
    [N,1,1,C], noise [1,H,W,1], bias / noise strength as [1,1,1,C]; equalized-lr `weight * coef` kept as a
    Mul on the weight, like the original. `tf.custom_gradient` wrappers are dropped (inference only; they only
    add IdentityN). The image is transposed to NCHW once at the very end, so the graph's output is directly
    comparable with the fixture's NCHW `output_0.npy`.
  - the same weights as tests/fixtures-full/synthesis_<R>: values come from make_fixtures.weight_values (seeded
    by variable name) with the original NCHW shapes, then laid out for NHWC (const [1,C,4,4] -> [1,4,4,C],
    noise [1,1,H,W] -> [1,H,W,1]); every weight is also checked bit-for-bit against the constant of the same
    name in the fixture's frozen graph.pb.
  - variables, then frozen with convert_variables_to_constants (Const + Identity, like a real export).

It then (1) runs the frozen NHWC graph in a TF session on the fixture's input_0.npy and compares with the
fixture's output_0.npy; (2) converts it with tf.compat.v1.lite.TFLiteConverter.from_frozen_graph (builtin
ops, float32, no optimizations) in a child process (so its peak RSS growth is its own) and measures wall
time (from_frozen_graph + convert, TF import excluded), peak RSS growth (VmHWM after minus before), .tflite
size, op histogram (interpreter without default delegates, so XNNPACK partitions do not hide ops), LiteRT
latency (LiteRT defaults, i.e. XNNPACK, 2 threads, 1 warm-up, median of --runs) and max abs error / max
|ref|; (3) does the same for `sgc lower` on the fixture's NCHW graph.pb, with the default pipeline and with
the pipeline before the e-graph pass (--passes PRE_EGRAPH below), and prints a table with sgc/TF ratios
(sgc's convert time and peak RSS are those of the whole process). Nothing is asserted: this is a measurement.

Usage (any Python with TensorFlow 2.x and ai-edge-litert, for example a venv made with
`pip install -r tools/requirements-fixtures.txt -r tools/requirements-test.txt`; build sgc first with
`cargo build --release`):
    python tools/bench_tf_nhwc.py [--sizes 256,1024] [--runs 10] [--json OUT.json]
"""

import argparse
import collections
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRE_EGRAPH = ("freeze-fixes,dce,fold,fold-switch-merge,drop-control-edges,remove-identity,dce,fold,"
              "nchw-to-nhwc,fold,dce")


# ----------------------------------------------------------------------------------------------------------
# Child mode: TensorFlow's converter alone in a fresh process (clean peak-RSS measurement).


def vm_hwm_mb():
    """Peak RSS of this process's address space (VmHWM). Unlike ru_maxrss it starts afresh at exec: Linux
    carries ru_maxrss across fork+exec, so a child of this (large) process would report the parent's size."""
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmHWM:")) / 1024


def convert_child(pb, out, inp, shape, outp):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    rss0 = vm_hwm_mb()
    t = time.perf_counter()
    conv = tf.compat.v1.lite.TFLiteConverter.from_frozen_graph(
        pb, input_arrays=[inp], output_arrays=[outp], input_shapes={inp: shape})
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    conv.optimizations = []
    blob = conv.convert()
    secs = time.perf_counter() - t
    rss1 = vm_hwm_mb()
    with open(out, "wb") as f:
        f.write(blob)
    print("RESULT " + json.dumps({"secs": secs, "rss_before_mb": rss0, "rss_peak_mb": rss1}))


def measured_child(cmd):
    """Runs cmd from this small fresh process, so that its ru_maxrss is its own (see vm_hwm_mb)."""
    t = time.perf_counter()
    p = subprocess.run(cmd)
    secs = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print("RESULT " + json.dumps({"secs": secs, "rss_peak_mb": peak, "rc": p.returncode}), flush=True)


if len(sys.argv) > 1 and sys.argv[1] == "--convert-child":
    convert_child(sys.argv[2], sys.argv[3], sys.argv[4], json.loads(sys.argv[5]), sys.argv[6])
    sys.exit(0)
if len(sys.argv) > 1 and sys.argv[1] == "--measured-child":
    measured_child(sys.argv[2:])
    sys.exit(0)


# ----------------------------------------------------------------------------------------------------------
# Parent mode. make_fixtures sets TF_ENABLE_ONEDNN_OPTS=0 and TF1 graph mode on import.

sys.path.insert(0, os.path.join(ROOT, "tools"))
import litert_runner  # noqa: E402
import make_fixtures as mf  # noqa: E402
import numpy as np  # noqa: E402

tf = mf.tf  # tf.compat.v1, v2 behaviour disabled


class _ShapeOnly:
    """Stand-in for a variable: make_fixtures.weight_values only reads .shape."""

    def __init__(self, shape):
        self.shape = mf.tf_root.TensorShape(shape)


class NHWCSynthesis:
    """StyleGAN v1 G_synthesis, fixed structure, NHWC. Records every variable with its NCHW (fixture) shape."""

    def __init__(self, resolution, dlatent_size=512, fmap_base=8192, fmap_max=512, num_channels=3):
        self.res_log2 = int(np.log2(resolution))
        self.resolution = resolution
        self.dlatent_size = dlatent_size
        self.fmap_base, self.fmap_max, self.num_channels = fmap_base, fmap_max, num_channels
        self.num_layers = self.res_log2 * 2 - 2
        self.vars = collections.OrderedDict()   # local name -> (tf variable, fixture shape, to_nhwc fn)

    def nf(self, stage):
        return min(int(self.fmap_base / (2.0 ** stage)), self.fmap_max)

    def var(self, name, shape, fixture_shape=None, to_nhwc=None):
        v = tf.get_variable(name, shape=shape, initializer=tf.initializers.zeros())
        local = v.op.name[len("G_synthesis/"):]
        self.vars[local] = (v, list(fixture_shape or shape), to_nhwc or (lambda a: a))
        return v

    # --- primitives ---
    def get_weight(self, shape, gain, lrmul=1.0):
        he_std = gain / np.sqrt(np.prod(shape[:-1]))
        return self.var("weight", shape) * (he_std * lrmul)   # use_wscale=True

    def conv2d(self, x, fmaps, kernel, gain):
        w = self.get_weight([kernel, kernel, int(x.shape[3]), fmaps], gain)
        return tf.nn.conv2d(x, w, strides=[1, 1, 1, 1], padding="SAME", data_format="NHWC")

    def upscale2d(self, x, factor=2):
        with tf.variable_scope("Upscale2D"):
            h, w, c = int(x.shape[1]), int(x.shape[2]), int(x.shape[3])
            x = tf.reshape(x, [-1, h, 1, w, 1, c])
            x = tf.tile(x, [1, 1, factor, 1, factor, 1])
            return tf.reshape(x, [-1, h * factor, w * factor, c])

    def upscale2d_conv2d(self, x, fmaps, kernel, gain):
        if min(int(x.shape[1]), int(x.shape[2])) * 2 < 128:        # fused_scale="auto"
            return self.conv2d(self.upscale2d(x), fmaps, kernel, gain)
        w = self.get_weight([kernel, kernel, int(x.shape[3]), fmaps], gain)
        w = tf.transpose(w, [0, 1, 3, 2])
        w = tf.pad(w, [[1, 1], [1, 1], [0, 0], [0, 0]], mode="CONSTANT")
        w = tf.add_n([w[1:, 1:], w[:-1, 1:], w[1:, :-1], w[:-1, :-1]])
        out_shape = [tf.shape(x)[0], int(x.shape[1]) * 2, int(x.shape[2]) * 2, fmaps]
        return tf.nn.conv2d_transpose(x, w, out_shape, strides=[1, 2, 2, 1], padding="SAME", data_format="NHWC")

    def blur2d(self, x):
        with tf.variable_scope("Blur2D"):
            k = np.outer([1, 2, 1], [1, 2, 1]).astype(np.float32)
            k /= k.sum()
            k = np.tile(k[:, :, None, None], [1, 1, int(x.shape[3]), 1]).astype(np.float32)
            return tf.nn.depthwise_conv2d(x, tf.constant(k, name="filter"), strides=[1, 1, 1, 1], padding="SAME",
                                          data_format="NHWC")

    def apply_bias(self, x):
        b = self.var("bias", [int(x.shape[-1])])
        if len(x.shape) == 2:
            return x + b
        return x + tf.reshape(b, [1, 1, 1, -1])

    def leaky_relu(self, x, alpha=0.2):
        with tf.variable_scope("LeakyReLU"):
            return tf.maximum(x, x * tf.constant(alpha, dtype=x.dtype, name="alpha"))

    def instance_norm(self, x, eps=1e-8):
        with tf.variable_scope("InstanceNorm"):
            x -= tf.reduce_mean(x, axis=[1, 2], keepdims=True)
            return x * tf.rsqrt(tf.reduce_mean(tf.square(x), axis=[1, 2], keepdims=True) + eps)

    def style_mod(self, x, dlatent):
        with tf.variable_scope("StyleMod"):
            c = int(x.shape[3])
            w = self.get_weight([int(dlatent.shape[1]), 2 * c], gain=1)
            style = self.apply_bias(tf.matmul(dlatent, w))
            style = tf.reshape(style, [-1, 2, 1, 1, c])
            return x * (style[:, 0] + 1) + style[:, 1]

    def apply_noise(self, x, noise):
        with tf.variable_scope("Noise"):
            c = int(x.shape[3])
            weight = self.var("weight", [c])
            return x + noise * tf.reshape(weight, [1, 1, 1, -1])

    # --- network ---
    def build(self, dlatents_in):
        noises = []
        for i in range(self.num_layers):
            s = 2 ** (i // 2 + 2)
            noises.append(self.var("noise%d" % i, [1, s, s, 1], [1, 1, s, s], lambda a, s=s: a.reshape(1, s, s, 1)))

        def epilogue(x, i):
            x = self.apply_noise(x, noises[i])
            x = self.apply_bias(x)
            x = self.leaky_relu(x)
            x = self.instance_norm(x)
            return self.style_mod(x, dlatents_in[:, i])

        gain = np.sqrt(2)
        c0 = self.nf(1)
        with tf.variable_scope("4x4"):
            with tf.variable_scope("Const"):
                x = self.var("const", [1, 4, 4, c0], [1, c0, 4, 4], lambda a: a.transpose(0, 2, 3, 1))
                x = epilogue(tf.tile(x, [tf.shape(dlatents_in)[0], 1, 1, 1]), 0)
            with tf.variable_scope("Conv"):
                x = epilogue(self.conv2d(x, c0, 3, gain), 1)
        for res in range(3, self.res_log2 + 1):
            with tf.variable_scope("%dx%d" % (2 ** res, 2 ** res)):
                with tf.variable_scope("Conv0_up"):
                    x = epilogue(self.blur2d(self.upscale2d_conv2d(x, self.nf(res - 1), 3, gain)), res * 2 - 4)
                with tf.variable_scope("Conv1"):
                    x = epilogue(self.conv2d(x, self.nf(res - 1), 3, gain), res * 2 - 3)
        with tf.variable_scope("ToRGB_lod0"):
            x = self.apply_bias(self.conv2d(x, self.num_channels, 1, gain=1))
        return tf.transpose(x, [0, 3, 1, 2], name="images_out")   # the one NHWC -> NCHW transpose


def fixture_consts(pb):
    """name -> ndarray for every float Const of the fixture's frozen graph under G_synthesis/."""
    from tensorflow.python.framework import tensor_util
    gd = tf.GraphDef()
    with open(pb, "rb") as f:
        gd.ParseFromString(f.read())
    return {n.name: tensor_util.MakeNdarray(n.attr["value"].tensor) for n in gd.node
            if n.op == "Const" and n.name.startswith("G_synthesis/")}


def build_nhwc(resolution, fixture_pb, dlat_value, seed=mf.GLOBAL_SEED):
    """Builds, loads seeded weights, checks them against the fixture, runs in TF, freezes.
    Returns (frozen GraphDef, TF output, weight bytes, input name, output name)."""
    graph = tf.Graph()
    with graph.as_default():
        net = NHWCSynthesis(resolution, **{k: mf.FULL[k] for k in ("dlatent_size", "fmap_base", "fmap_max")})
        with tf.variable_scope("G_synthesis"):
            dlat = tf.placeholder(tf.float32, [None, net.num_layers, net.dlatent_size], name="dlatents_in")
            images = net.build(dlat)
        vals = mf.weight_values({k: _ShapeOnly(fs) for k, (_, fs, _) in net.vars.items()}, seed)
        consts = fixture_consts(fixture_pb)
        mismatched = [k for k in vals if not np.array_equal(consts.get("G_synthesis/" + k), vals[k])]
        wanted = [k[len("G_synthesis/"):] for k in consts
                  if re.search(r"/(weight|bias|const|noise\d+)$", k) and not re.match(r"G_synthesis/ToRGB_lod[1-9]", k)]
        missing = sorted(set(wanted) - set(vals))
        if mismatched or missing:
            raise SystemExit("weights differ from the fixture's: %s; fixture-only: %s" % (mismatched[:5], missing[:5]))
        cfg = tf.ConfigProto(intra_op_parallelism_threads=2, inter_op_parallelism_threads=2)
        with tf.Session(graph=graph, config=cfg) as sess:
            for k, (v, _, to_nhwc) in net.vars.items():
                v.load(to_nhwc(vals[k]), sess)
            gd = tf.graph_util.convert_variables_to_constants(sess, graph.as_graph_def(), [images.op.name])
    wbytes = sum(v.nbytes for v in vals.values())
    # Run the *frozen* graph (what gets converted) in TF.
    g2 = tf.Graph()
    with g2.as_default():
        tf.import_graph_def(gd, name="")
        with tf.Session(graph=g2, config=cfg) as sess:
            out = sess.run(images.name, {dlat.name: dlat_value})
    return gd, out, wbytes, dlat.op.name, images.op.name


# ----------------------------------------------------------------------------------------------------------
# Measurements.


def rel_err(got, ref):
    return float(np.max(np.abs(got.astype(np.float64) - ref))) / float(np.max(np.abs(ref)))


def litert(model, x, runs):
    interp = litert_runner.make_interpreter(model, threads=2)   # LiteRT defaults: XNNPACK delegate
    litert_runner.set_inputs(interp, [x])
    latency = litert_runner.median_latency(interp, runs, warmup=1)
    out = litert_runner.get_outputs(interp)[0]
    # The default interpreter applies XNNPACK, whose partitions show up as DELEGATE nodes in the op list:
    # count the model's own ops on an interpreter without default delegates.
    plain = litert_runner.make_interpreter(model, threads=2, default_delegates=False)
    return latency, out, litert_runner.op_histogram(plain)


def run_child(cmd):
    """Runs cmd, returns (wall seconds, combined stdout+stderr, exit code)."""
    t = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return time.perf_counter() - t, p.stdout.decode(errors="replace"), p.returncode


def child_result(out):
    lines = [l for l in out.splitlines() if l.startswith("RESULT ")]
    return json.loads(lines[-1][len("RESULT "):]) if lines else None


def measure_model(row, model, x, ref, runs):
    row["size_mb"] = os.path.getsize(model) / 1e6
    lat, out, ops = litert(model, x, runs)
    row.update(latency_ms=lat * 1e3, rel_err=rel_err(out, ref), ops=ops, n_ops=sum(ops.values()))


def bench(res, sgc, runs, work):
    name = "synthesis_%d" % res
    fx = os.path.join(ROOT, "tests", "fixtures-full", name)
    meta = json.load(open(os.path.join(fx, "meta.json")))
    x = np.load(os.path.join(fx, meta["inputs"][0]["file"]))
    ref = np.load(os.path.join(fx, meta["outputs"][0]["file"])).astype(np.float64)
    result = {"fixture": name}

    t = time.perf_counter()
    gd, tf_out, wbytes, in_name, out_name = build_nhwc(res, os.path.join(fx, "graph.pb"), x)
    pb = os.path.join(work, name + ".nhwc.pb")
    with open(pb, "wb") as f:
        f.write(gd.SerializeToString())
    result.update(weights_mb=wbytes / 1e6, nhwc_pb_mb=os.path.getsize(pb) / 1e6,
                  nhwc_tf_session_rel_err=rel_err(tf_out, ref), nhwc_build_s=time.perf_counter() - t,
                  nhwc_graph_ops=dict(sorted(collections.Counter(n.op for n in gd.node).items())))
    print("%s: NHWC graph built (%.1fs), TF session vs fixture: max|d|/max|ref| = %.3g" % (
        name, result["nhwc_build_s"], result["nhwc_tf_session_rel_err"]), flush=True)

    rows = collections.OrderedDict()
    # TensorFlow's converter on the NHWC graph, in a child process.
    model = os.path.join(work, name + ".tf_nhwc.tflite")
    cmd = [sys.executable, os.path.abspath(__file__), "--convert-child", pb, model, in_name, json.dumps(list(x.shape)),
           out_name]
    secs, out, rc = run_child(cmd)
    r = child_result(out)
    row = {"process_s": secs}
    if rc != 0 or r is None:
        row["error"] = out.strip().splitlines()[-1][:400] if out.strip() else "exit %d" % rc
    else:
        row.update(convert_s=r["secs"], rss_growth_mb=r["rss_peak_mb"] - r["rss_before_mb"],
                   rss_before_mb=r["rss_before_mb"])
        measure_model(row, model, x, ref, runs)
    rows["tf_nhwc"] = row

    # sgc on the fixture's NCHW graph.
    for label, extra in (("sgc_pre_egraph", ["--passes", PRE_EGRAPH]), ("sgc", [])):
        model = os.path.join(work, "%s.%s.tflite" % (name, label))
        cmd = [sgc, "lower", os.path.join(fx, "graph.pb"), "-o", model, "--outputs", meta["outputs"][0]["name"]] + extra
        _, out, _ = run_child([sys.executable, os.path.abspath(__file__), "--measured-child"] + cmd)
        r = child_result(out)
        row = {"cmd": " ".join(cmd)}
        if r is None or r["rc"] != 0:
            row["error"] = out.strip()[-400:]
        else:
            row.update(convert_s=r["secs"], rss_growth_mb=r["rss_peak_mb"])   # whole sgc process: peak = growth
            measure_model(row, model, x, ref, runs)
        rows[label] = row
    result["rows"] = rows
    return result


def print_table(result):
    rows = result["rows"]
    tf_row = rows["tf_nhwc"]
    print("\n## %s  (weights %.1f MB; NHWC graph in TF session vs fixture output: %.3g)" % (
        result["fixture"], result["weights_mb"], result["nhwc_tf_session_rel_err"]))
    hdr = ("| converter | convert s | peak RSS growth MB | .tflite MB | ops | LiteRT ms (2 thr, median) | "
           "max err / max abs ref | latency ×TF | size ×TF | ops ×TF | convert time ×TF |")
    print(hdr)
    print("|" + "---|" * (hdr.count("|") - 1))
    for label, r in rows.items():
        if "error" in r:
            print("| %s | failed: %s |" % (label, r["error"].replace("\n", " ")[:200]))
            continue

        def ratio(key):
            if label == "tf_nhwc" or key not in tf_row:
                return "1" if label == "tf_nhwc" else "-"
            return "%.2f" % (r[key] / tf_row[key])
        print("| %s | %.2f | %.0f | %.1f | %d | %.0f | %.2g | %s | %s | %s | %s |" % (
            label, r["convert_s"], r["rss_growth_mb"], r["size_mb"], r["n_ops"], r["latency_ms"], r["rel_err"],
            ratio("latency_ms"), ratio("size_mb"), ratio("n_ops"), ratio("convert_s")))
    for label, r in rows.items():
        if "ops" in r:
            print("  %-15s %s" % (label, ", ".join("%s:%d" % kv for kv in r["ops"].items())))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="256,1024")
    p.add_argument("--sgc", default=os.path.join(ROOT, "target", "release", "sgc"))
    p.add_argument("--runs", type=int, default=10, help="timed LiteRT runs after one warm-up (median)")
    p.add_argument("--json", help="also write all numbers here")
    p.add_argument("--keep", help="directory for the .pb/.tflite files (default: a temp dir)")
    args = p.parse_args()
    work = args.keep or tempfile.mkdtemp(prefix="sgc-bench-tf-nhwc-")
    os.makedirs(work, exist_ok=True)
    results = []
    for res in (int(s) for s in args.sizes.split(",")):
        r = bench(res, args.sgc, args.runs, work)
        results.append(r)
        print_table(r)
        sys.stdout.flush()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    print("\nmodels in", work)


if __name__ == "__main__":
    main()
