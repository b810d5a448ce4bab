#!/usr/bin/env python3
"""Fixture generator for sgc's StyleGAN2 support: frozen StyleGAN2 generator graphs (stylegan2_nets.py: G_main
+ G_mapping + G_synthesis_stylegan2, 'skip' architecture, reference upfirdn_2d / fused_bias_act paths,
randomize_noise=False, truncation psi 0.5 without cutoff) with TensorFlow's outputs beside them.

Each network is built with fused_modconv=True (the inference default: the batch folded into the channel
axis, the per-sample filters computed at run time, a grouped convolution when the batch is > 1) and with
fused_modconv=False (modulate, convolve with the stored weights, demodulate). The graphs have an unknown
batch dimension; every graph is saved twice, with a batch-1 and with a batch-2 input and TF's output for it.

Each fixture also gets tap_<R>.npy (meta.json "taps"): TF's value of the skip architecture's RGB image
after the R px block (the sum of the upsampled ToRGB outputs up to R), the reference of
`sgc lower --resolution R`.

The reference outputs are TF's, from the live session before freezing, with the NCHW convolutions rewritten
to NHWC by Grappler for execution (see make_fixtures.py). TF's CPU kernels do not run grouped convolutions
(Conv2D with fewer filter in-channels than input channels, the fused form at batch 2): there the reference
is TF's output of the same fused graph run on each sample alone, and the fixture's meta.json says so; the
unfused graph, which TF runs at batch 2 in one go, must agree with it (checked below).

Usage
-----
    python tools/make_stylegan2_fixtures.py                 # small fixtures -> tests/fixtures-sg2 (committed)
    python tools/make_stylegan2_fixtures.py --full --out DIR   # full-size 256 px graphs (not committed)
    python tools/make_stylegan2_fixtures.py --full --resolution 1024 --out DIR --only sg2_synthesis_1024
"""

import argparse
import os
import sys
import time

import numpy as np
from stylegan2_nets import G_main, G_synthesis_stylegan2, Net, tf
from fixture_io import GLOBAL_SEED, freeze, input_array, maxdiff, node_of, save_fixture, session_config, tensor_ref
from fixture_weights import stylegan2_weight_value

SMALL = dict(resolution=32, latent_size=32, dlatent_size=32, mapping_fmaps=32, fmap_base=256, fmap_max=32)
FULL = dict(resolution=256, latent_size=512, dlatent_size=512, mapping_fmaps=512, fmap_base=16 << 10,
            fmap_max=512)


def load_sg2_weights(sess, net, seed):
    for local, var in net.vars.items():
        key = local.split("/", 1)[1] if local.startswith(("G_synthesis/", "G_mapping/")) else local
        var.load(stylegan2_weight_value(key, [d.value for d in var.shape], seed), sess)


def build(cfg, part, fused, seed, batches=(1, 2)):
    """(graph_def, input node, {batch: (input, output, how)}, output ref): one graph, a reference per batch."""
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(seed)
        taps = {}
        kw = dict(cfg, fused_modconv=fused, randomize_noise=False, taps=taps)
        if part == "synthesis":
            net = Net("G_synthesis", G_synthesis_stylegan2, **kw)
            shape = net.input_shape[1:]
            inp = tf.placeholder(tf.float32, [None] + shape, name="dlatents_in")
            out = net.get_output_for(inp, absolute=True)
            kind = "dlatents"
        else:
            net = Net("Gs", G_main, **kw)
            shape = [cfg["latent_size"]]
            inp = tf.placeholder(tf.float32, [None] + shape, name="latents_in")
            labels = tf.placeholder(tf.float32, [None, 0], name="labels_in")
            out = net.get_output_for(inp, labels, absolute=True, truncation_psi=0.5, truncation_cutoff=None)
            kind = "latents"
        sess = tf.Session(graph=graph, config=session_config())
        sess.run(tf.global_variables_initializer())
        load_sg2_weights(sess, net, seed)
        refs = {}
        x_all = input_array(kind, [max(batches)] + shape, seed)
        fetch = {"image": out, "taps": {r: t for r, t in taps.items() if r < cfg["resolution"]}}
        for n in batches:
            x = x_all[:n]
            if fused and n > 1:     # grouped conv: TF's CPU kernels have none; one sample at a time
                runs = [sess.run(fetch, {inp: x[i:i + 1]}) for i in range(n)]
                got = {"image": np.concatenate([r["image"] for r in runs]),
                       "taps": {k: np.concatenate([r["taps"][k] for r in runs]) for k in fetch["taps"]}}
                how = "TF's output of this graph run on each sample alone (no grouped conv on TF's CPU)"
            else:
                got = sess.run(fetch, {inp: x})
                how = "TF's output of this graph on the whole batch"
            refs[n] = (x, got["image"], how, got["taps"])
        gd = freeze(sess, graph, [node_of(out)])
        sess.close()
    return gd, node_of(inp), refs, tensor_ref(out)


def describe(cfg, part, fused):
    what = ("G_synthesis_stylegan2 ('skip'), dlatents [N,%d,%d] -> NCHW image" % (
        2 * int(np.log2(cfg["resolution"])) - 2, cfg["dlatent_size"]) if part == "synthesis" else
        "G_main: mapping (pixel norm, 8 dense lrmul 0.01, lrelu) -> truncation psi 0.5, no cutoff -> "
        "G_synthesis_stylegan2 ('skip'), latents [N,%d] -> NCHW image" % cfg["latent_size"])
    mod = ("fused_modconv=True (batch folded into groups, run-time filters)" if fused else
           "fused_modconv=False (modulate x, constant-filter conv, demodulate)")
    return "StyleGAN2 %s; %s; %d px, fmap_base %d, fmap_max %d; random seeded weights, randomize_noise=False" % (
        what, mod, cfg["resolution"], cfg["fmap_base"], cfg["fmap_max"])


def specs(full, resolution=256):
    cfg = dict(FULL, resolution=resolution) if full else SMALL
    r = cfg["resolution"]
    out = {}
    for part in ("synthesis", "generator"):
        for fused in (True, False):
            out["sg2_%s%s_%d" % (part, "" if fused else "_unfused", r)] = (cfg, part, fused)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--full", action="store_true", help="full-size 256 px graphs, batch 1 (not committed)")
    ap.add_argument("--resolution", type=int, default=256, help="with --full: the generator's size (256 or 1024)")
    ap.add_argument("--out", default=None, help="output dir (default tests/fixtures-sg2)")
    ap.add_argument("--only", action="append", default=None, help="build only this graph (repeatable)")
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out_dir = args.out or os.path.join(root, "tests", "fixtures-sg2-full" if args.full else "fixtures-sg2")
    table = specs(args.full, args.resolution)
    for n in args.only or []:
        if n not in table:
            sys.exit("unknown fixture %r; known: %s" % (n, ", ".join(table)))
    batches = (1,) if args.full else (1, 2)
    results = {}
    for name in args.only or list(table):
        cfg, part, fused = table[name]
        t0 = time.time()
        gd, inp, refs, out_ref = build(cfg, part, fused, GLOBAL_SEED, batches)
        for n, (x, y, how, taps) in refs.items():
            fixture = name if n == 1 else name + "_batch2"
            extras = {"taps": [{"resolution": r, "file": "tap_%d.npy" % r, "value": taps[r]} for r in sorted(taps)]}
            meta = save_fixture(out_dir, fixture, describe(cfg, part, fused) + "; batch %d: %s." % (n, how),
                                gd, [(inp, x)], [(out_ref, y)], extras=extras)
            print("%-32s %5d nodes  %6.1fs  out %s range %.2f..%.2f" % (
                fixture, len(gd.node), time.time() - t0, y.shape, y.min(), y.max()))
            print("    " + ", ".join("%s:%d" % kv for kv in meta["ops"].items()))
            results[(part, fused, n)] = y
    # The two forms are the same function: fused and unfused graphs (same weights) must agree, at every batch.
    bad = False
    for (part, fused, n), y in results.items():
        other = results.get((part, not fused, n))
        if fused and other is not None:
            d = maxdiff(y, other) / max(float(np.abs(other).max()), 1e-30)
            print("check %s batch %d: fused vs unfused %.2e of the range" % (part, n, d))
            bad |= d > 1e-4
    if bad:
        sys.exit("verification FAILED: fused and unfused modconv disagree")


if __name__ == "__main__":
    main()
