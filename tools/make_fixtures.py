#!/usr/bin/env python3
"""Fixture generator for sgc: frozen StyleGAN v1 generator graphs plus TensorFlow reference outputs.

What this builds
----------------
sgc lowers TensorFlow 1.x GraphDefs -- first of all NVIDIA's StyleGAN v1 generator -- to TFLite. To test it
we need graphs that look *exactly* like the ones the official NVlabs StyleGAN v1 code produces, op for op:
equalized-learning-rate weights (`Mul(weight/read, coef)`), NCHW `Conv2D`, blur as NCHW
`DepthwiseConv2dNative`, the Reshape/Tile/Reshape nearest upscale, the fused `Conv2DBackpropInput` upscale,
`tf.custom_gradient` wrappers (`IdentityN`), noise, instance norm, style modulation, the mapping network, the
truncation trick, the three progressive-growing structures (recursive `tf.cond` chains => Switch/Merge,
linear lerp_clip, fixed), `G_style`'s `Assign(G_synthesis/lod <- lod_in)` control dependency, and the uint8
output transform that `Gs.run(..., output_transform=...)` appends (Split, Transpose, ClipByValue, Cast, with
`/device:GPU:0` device attributes).

The network builders (stylegan_nets.py) are an independent re-implementation of
`training/networks_stylegan.py` and the parts of `dnnlib.tflib` (Network.get_output_for / Network.run, lerp,
convert_images_to_uint8) that shape the graph. They use TF 1.x graph mode (`tf.compat.v1`, v2 behaviour
disabled) so variables are ref variables: `VariableV2` + `<var>/read` Identity, which freezing turns into
`Const` + `Identity`.

Like the official `tflib.Network`, every network is first built once as a "template" (linear structure,
`is_template_graph=True`) which creates the variables; the graph we freeze is a second, real build that
reuses them. This matters for the recursive structure: variables must not be created inside `tf.cond`.
Deviation from the official naming: our template lives under `Template/<net>/` (the official one is `<net>/`
and pushes the real build to `<net>_1/`), so the real build gets the clean scopes `G_synthesis/4x4/Const`,
`G_synthesis/32x32/Conv0_up`, `Gs/G_mapping/Dense0`, `Gs/Truncation`, `Gs/images_out`, ... Template nodes are
pruned by freezing, so this only affects name prefixes (which sgc must not rely on anyway).

Other deviations, none of which changes the op sequences of the frozen graphs: options of the official
functions that StyleGAN v1 never uses at inference (relu, pixel norm in synthesis, no const input, labels,
training-only dlatent_avg update / style mixing) are left out; under TF 2.21, `tf.concat` of the single
per-GPU output in the uint8 graph becomes `Identity "Gs/_Run/concat/concat"` (TF 1.x named it `concat`).

Weights are random but deterministic: every variable gets values from a numpy RNG seeded with
(global seed, crc32 of the variable's *local* name), so networks that share variable names share values.
Biases, noise strengths, the const input and dlatent_avg get non-zero random values (official init: zeros /
ones) so every path contributes; ToRGB weights are scaled by 0.25 so images mostly lie in [-1, 1] and the
uint8 fixture is not all saturated. Consequences we check (fixture_verify.py): recursive, linear and fixed
synthesis graphs produce the same image at lod 0; the fused-upscale graph does not (the official fused op
equals upscale + conv with a spatially flipped 3x3 kernel, which the numpy check models); `Gs` output equals
synthesis(truncate(mapping(z))); the uint8 fixture equals the float generator output passed through the uint8
transform in numpy.

How the reference outputs are computed
--------------------------------------
TensorFlow's stock CPU kernels do not implement NCHW `Conv2D`, `DepthwiseConv2dNative` or
`Conv2DBackpropInput` (running the frozen graphs in a plain session fails with UnimplementedError /
InvalidArgumentError). We run the *live* session (before freezing) with Grappler's layout optimizer told to
convert NCHW to NHWC on CPU (`rewrite_options.cpu_layout_conversion = NCHW_TO_NHWC`); Grappler then rewrites
those nodes to NHWC with Transposes around them, for execution only -- the GraphDef we save is untouched.
`allow_soft_placement` lets the `/device:GPU:0` nodes of the uint8 graph run on the CPU. The official tflib
session option `place_pruned_graph=True` must NOT be set: with it the layout conversion does not take effect.
Note: TF 2.21's oneDNN kernels (enabled by default on x86) *do* run NCHW convolutions without any conversion;
we set TF_ENABLE_ONEDNN_OPTS=0 so that the reference path is always the Eigen kernels + layout conversion
described above (if the conversion did not happen, the run would fail instead of silently taking another
path). Both paths agree to ~1e-5 with each other and with the pure-numpy forward pass (fixture_verify.py).

Reference outputs are computed before freezing because the frozen generator graphs cannot be re-imported by
TensorFlow: freezing turns `G_synthesis/lod` into a `Const`, and the `Assign` that writes it then has a
non-ref input. This is what real frozen StyleGAN graphs look like; we do NOT patch it -- sgc has to cope.

Verification (run after generation unless --no-verify): frozen graphs without the Assign are re-imported and
re-run; a pure-numpy forward pass of the fixed synthesis network (no TF convolutions at all) is compared with
the TF reference (also for the fused graph, see np_synthesis_fixed); the cross-fixture identities listed
above are checked.

Usage
-----
    python tools/make_fixtures.py                      # small fixtures -> tests/fixtures (committed)
    python tools/make_fixtures.py --only mapping       # just one fixture
    python tools/make_fixtures.py --full --out tests/fixtures-full [--only synthesis_1024]
    python tools/make_fixtures.py --random-noise        # generator_random_noise_32 -> tests/fixtures-random

generator_random_noise_32 is generator_full_32 built with randomize_noise=True (RandomStandardNormal per layer),
kept out of tests/fixtures because its output is random: output_0.npy is one TF draw; meta.json adds the
deterministic dlatents reference, the random ops with their seeds, and noise_statistics (tests/random_noise.rs).

Each fixture is a directory with graph.pb (frozen GraphDef), meta.json (description, inputs, outputs, op
histogram) and input_*.npy / output_*.npy. `mapping` also gets graph.pbtxt (text format of the same GraphDef).
Progressive fixtures also get tap_<R>.npy: TF's value of the ToRGB tap at each lower resolution R at lod 0 (meta.json
"taps"), the references of `sgc lower --resolution R`; generator_full_32 also gets the truncated dlatents and the
image at psi 0.5 and psi 1 (meta.json "references").
"""

import argparse
import os
import sys
import time

# Sibling modules: tools/ is on sys.path when this runs as a script. stylegan_nets comes first: it sets
# TF_ENABLE_ONEDNN_OPTS=0 and TF1 graph mode before TensorFlow loads. tf, tf_root, GLOBAL_SEED, FULL and
# weight_values are also re-exported for tools/bench_tf_nhwc.py (`import make_fixtures as mf`).
from stylegan_nets import tf, tf_root  # noqa: F401
from fixture_io import GLOBAL_SEED, save_fixture, weight_values  # noqa: F401
from fixture_builders import FULL, fixture_specs  # noqa: F401
from fixture_verify import verify_random_noise, verify_small


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--full", action="store_true", help="full-size 256/1024 graphs (not committed)")
    ap.add_argument("--random-noise", action="store_true",
                    help="the randomize_noise=True generator (-> tests/fixtures-random)")
    ap.add_argument("--out", default=None,
                    help="output dir (default tests/fixtures, tests/fixtures-full or tests/fixtures-random)")
    ap.add_argument("--only", action="append", default=None, help="build only this fixture (repeatable)")
    ap.add_argument("--no-verify", action="store_true")
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sub = "fixtures-random" if args.random_noise else "fixtures-full" if args.full else "fixtures"
    out_dir = args.out or os.path.join(root, "tests", sub)
    specs = fixture_specs(args.full, args.random_noise)
    names = args.only or list(specs)
    for n in names:
        if n not in specs:
            sys.exit("unknown fixture %r; known: %s" % (n, ", ".join(specs)))
    os.makedirs(out_dir, exist_ok=True)
    weights = {}
    for name in names:
        desc, builder = specs[name]
        t0 = time.time()
        gd, ins, outs, vals, *extras = builder()
        weights[name] = vals
        meta = save_fixture(out_dir, name, desc, gd, ins, outs, pbtxt=(name == "mapping"),
                            extras=extras[0] if extras else None)
        size = os.path.getsize(os.path.join(out_dir, name, "graph.pb"))
        print("%-24s %5d nodes  %9d bytes  %6.1fs  out %s %s" % (
            name, len(gd.node), size, time.time() - t0, outs[0][1].shape, outs[0][1].dtype))
        print("    " + ", ".join("%s:%d" % kv for kv in meta["ops"].items()))
    if args.random_noise and not args.no_verify:
        print("verification:")
        if not verify_random_noise(out_dir):
            sys.exit("verification FAILED")
    elif not args.full and not args.no_verify:
        print("verification:")
        if not verify_small(out_dir, weights):
            sys.exit("verification FAILED")


if __name__ == "__main__":
    main()
