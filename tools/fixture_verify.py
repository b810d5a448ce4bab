"""Verification after generation: op-level facts of the frozen graphs, frozen re-import, a pure-numpy forward
pass of the synthesis network and the cross-fixture identities (see make_fixtures.py)."""

import collections
import os

import numpy as np
from fixture_builders import SMALL, fixture_specs
from fixture_io import load_fixture, maxdiff, run_frozen


# ----------------------------------------------------------------------------------------------------------
# Verification.


def np_conv2d(x, w):
    """NCHW x, HWIO w, SAME, stride 1 (cross-correlation like TF)."""
    k = w.shape[0]
    p = k // 2
    xp = np.pad(x, [(0, 0), (0, 0), (p, p), (p, p)])
    h, wd = x.shape[2], x.shape[3]
    out = np.zeros((x.shape[0], w.shape[3], h, wd), np.float64)
    for dy in range(k):
        for dx in range(k):
            out += np.einsum("nchw,co->nohw", xp[:, :, dy:dy + h, dx:dx + wd], w[dy, dx])
    return out


def np_synthesis_fixed(vals, dlat, cfg, fused=False):
    """Pure-numpy forward pass of the synthesis network at lod 0 (float64): nearest upscale, 3x3 conv, blur.

    fused=True models the official fused upscale (Conv2DBackpropInput with the padded-and-summed 4x4 kernel).
    That op is *not* the same function as upscale + conv with the same 3x3 weights: it equals upscale + conv
    with the 3x3 kernel flipped spatially (the transposed conv scatters where the conv gathers). It does not
    matter for training (the weights are learned), but it does for reference outputs.
    """
    v = {k.split("/", 1)[1] if k.startswith("G_synthesis/") else k: val.astype(np.float64)
         for k, val in vals.items()}
    res_log2 = int(np.log2(cfg["resolution"]))
    gain = np.sqrt(2)
    lrelu = lambda x: np.maximum(x, 0.2 * x)  # noqa: E731
    blur_k = np.outer([1, 2, 1], [1, 2, 1]) / 16.0

    def coef(shape, g):
        return g / np.sqrt(np.prod(shape[:-1]))

    def epilogue(x, scope, i):
        x = x + v["noise%d" % i] * v[scope + "/Noise/weight"].reshape(1, -1, 1, 1)
        x = lrelu(x + v[scope + "/bias"].reshape(1, -1, 1, 1))
        x = x - x.mean(axis=(2, 3), keepdims=True)
        x = x / np.sqrt((x ** 2).mean(axis=(2, 3), keepdims=True) + 1e-8)
        w = v[scope + "/StyleMod/weight"]
        s = dlat[:, i] @ (w * coef(w.shape, 1)) + v[scope + "/StyleMod/bias"]
        s = s.reshape(-1, 2, x.shape[1], 1, 1)
        return x * (s[:, 0] + 1) + s[:, 1]

    def conv(x, scope, g):
        w = v[scope + "/weight"]
        return np_conv2d(x, w * coef(w.shape, g))

    x = np.tile(v["4x4/Const/const"], [dlat.shape[0], 1, 1, 1])
    x = epilogue(x, "4x4/Const", 0)
    x = epilogue(conv(x, "4x4/Conv", gain), "4x4/Conv", 1)
    for res in range(3, res_log2 + 1):
        s = "%dx%d" % (2 ** res, 2 ** res)
        x = x.repeat(2, axis=2).repeat(2, axis=3)
        if fused:
            w = v[s + "/Conv0_up/weight"][::-1, ::-1]
            x = np_conv2d(x, w * coef(w.shape, gain))
        else:
            x = conv(x, s + "/Conv0_up", gain)
        xp = np.pad(x, [(0, 0), (0, 0), (1, 1), (1, 1)])
        h = x.shape[2]
        x = sum(blur_k[dy, dx] * xp[:, :, dy:dy + h, dx:dx + h] for dy in range(3) for dx in range(3))
        x = epilogue(x, s + "/Conv0_up", res * 2 - 4)
        x = epilogue(conv(x, s + "/Conv1", gain), s + "/Conv1", res * 2 - 3)
    x = conv(x, "ToRGB_lod0", 1)
    return x + v["ToRGB_lod0/bias"].reshape(1, -1, 1, 1)


def verify_small(out_dir, weights):
    ok = True

    def check(label, cond, detail=""):
        nonlocal ok
        ok &= bool(cond)
        print("  [%s] %s %s" % ("ok" if cond else "FAIL", label, detail))

    fx = {n: load_fixture(out_dir, n) for n in fixture_specs(False) if os.path.isdir(os.path.join(out_dir, n))}
    # 1. Op-level facts.
    for name, (meta, gd, _, _) in fx.items():
        ops = meta["ops"]
        check(name + ": no VariableV2 after freezing", "VariableV2" not in ops)
        if name != "mapping" and "Relu" not in ops:   # the leaky ReLU's custom gradient
            check(name + ": IdentityN present", ops.get("IdentityN", 0) > 0)
            dw = [n for n in gd.node if n.op == "DepthwiseConv2dNative"]
            check(name + ": depthwise blur NCHW", dw and all(n.attr["data_format"].s == b"NCHW" for n in dw))
        if "recursive" in name or "fused" in name or name.startswith("generator"):
            check(name + ": Switch/Merge present", ops.get("Switch", 0) > 0 and ops.get("Merge", 0) > 0)
    if "synthesis_fused_32" in fx:
        check("fused: Conv2DBackpropInput", fx["synthesis_fused_32"][0]["ops"].get("Conv2DBackpropInput", 0) == 3)
    for g in ("generator_full_32", "generator_uint8_32"):
        if g in fx:
            check(g + ": Assign present", fx[g][0]["ops"].get("Assign", 0) == 1)
    if "generator_uint8_32" in fx:
        gd = fx["generator_uint8_32"][1]
        devs = collections.Counter(n.device for n in gd.node)
        check("uint8: Split/Transpose/ClipByValue/Cast", all(
            fx["generator_uint8_32"][0]["ops"].get(o, 0) > 0 for o in ("Split", "Transpose", "ClipByValue", "Cast")),
            str(dict(devs)))
    # 2. Re-import frozen graphs (all except the Assign ones) and re-run.
    for name, (meta, gd, ins, outs) in fx.items():
        if name.startswith("generator"):
            continue
        got = run_frozen(gd, ins, outs[0][0])
        # A fixture built in this run must reproduce its reference bit for bit. One made in an earlier
        # session (left alone by --only) within 1e-5 of its output range: TensorFlow's CPU convolutions
        # need not give the same last bits in another session (measured: up to 7e-6 on the 32 px
        # synthesis fixtures, whose outputs reach 2-3, the references unchanged).
        scale = 0.0 if name in weights else 1e-5 * max(1.0, float(np.abs(outs[0][1]).max()))
        check(name + ": frozen re-import reproduces reference", maxdiff(got, outs[0][1]) <= scale,
              "max|d|=%g (%s)" % (maxdiff(got, outs[0][1]), "built now" if name in weights else "older"))
    # 3. Same weights => same images across structures.
    if all(n in fx for n in ("synthesis_recursive_32", "synthesis_linear_32", "synthesis_fixed_32")):
        r, l, f = (fx[n][3][0][1] for n in ("synthesis_recursive_32", "synthesis_linear_32", "synthesis_fixed_32"))
        check("recursive == fixed", maxdiff(r, f) == 0.0, "max|d|=%g" % maxdiff(r, f))
        check("linear == fixed", maxdiff(l, f) == 0.0, "max|d|=%g" % maxdiff(l, f))
        # 4. Independent numpy forward pass (no TF convolutions, no Grappler).
        dl = fx["synthesis_fixed_32"][2][0][1].astype(np.float64)
        if "synthesis_fixed_32" in weights:
            ref = np_synthesis_fixed(weights["synthesis_fixed_32"], dl, SMALL)
            check("numpy forward == TF fixed", maxdiff(ref, f) < 1e-3,
                  "max|d|=%g (|img| max %g)" % (maxdiff(ref, f), np.abs(f).max()))
        if "synthesis_fused_32" in fx and "synthesis_fused_32" in weights:
            fu = fx["synthesis_fused_32"][3][0][1]
            ref = np_synthesis_fixed(weights["synthesis_fused_32"], dl, SMALL, fused=True)
            check("numpy forward (fused = flipped 3x3 kernel) == TF fused", maxdiff(ref, fu) < 1e-3,
                  "max|d|=%g" % maxdiff(ref, fu))
            check("fused differs from non-fused (as in the official code)", maxdiff(fu, f) > 1e-2,
                  "max|d|=%g" % maxdiff(fu, f))
    # 5. Generator == synthesis(truncation(mapping(z))) using the frozen mapping/synthesis graphs.
    if all(n in fx for n in ("mapping", "generator_full_32", "synthesis_recursive_32")):
        mmeta, mgd, mins, mouts = fx["mapping"]
        gz = fx["generator_full_32"][2][0][1]
        check("mapping and generator share the input", maxdiff(gz, mins[0][1]) == 0.0)
        w = mouts[0][1]
        gw = weights.get("generator_full_32", {})
        if "dlatent_avg" in gw:
            avg = gw["dlatent_avg"]
            coefs = np.where(np.arange(w.shape[1])[None, :, None] < 8, np.float32(0.7), np.float32(1.0))
            wt = (avg + (w - avg) * coefs).astype(np.float32)
            sgd = fx["synthesis_recursive_32"][1]
            img = run_frozen(sgd, [(fx["synthesis_recursive_32"][2][0][0], wt)],
                             fx["synthesis_recursive_32"][3][0][0])
            gout = fx["generator_full_32"][3][0][1]
            check("generator == synthesis(truncate(mapping(z)))", maxdiff(img, gout) < 1e-4,
                  "max|d|=%g" % maxdiff(img, gout))
    if "generator_uint8_32" in fx and "generator_full_32" in fx:
        g = fx["generator_full_32"][3][0][1]
        u = fx["generator_uint8_32"][3][0][1]
        expect = np.clip(np.transpose(g, [0, 2, 3, 1]) * np.float32(127.5) + np.float32(128), 0, 255).astype(np.uint8)
        nd = int(np.sum(expect != u))
        check("uint8 == convert(generator_full)", u.dtype == np.uint8 and nd == 0,
              "dtype %s, %d differing pixels, range %d..%d" % (u.dtype, nd, u.min(), u.max()))
    return ok


def verify_random_noise(out_dir):
    """The random-noise generator: the op sequence of the notes, distinct seeds per layer, and the same
    dlatents (same weights, no noise before them) as generator_full_32."""
    meta, gd, _, outs = load_fixture(out_dir, "generator_random_noise_32")
    ops, ok = meta["ops"], True
    rand = meta["random_ops"]
    for label, cond in (
            ("one RandomStandardNormal per layer", ops.get("RandomStandardNormal", 0) == 8 == len(rand)),
            ("seed and distinct seed2 set", all(r["seed"] for r in rand)
             and len({r["seed2"] for r in rand}) == len(rand)),
            ("noise variables unused (frozen away)", not any(n.name.endswith("/noise0") for n in gd.node)),
            ("Assign present", ops.get("Assign", 0) == 1),
            ("output shape", outs[0][1].shape == (1, 3, 32, 32))):
        ok &= bool(cond)
        print("  [%s] %s" % ("ok" if cond else "FAIL", label))
    full = os.path.join(out_dir, "..", "fixtures", "generator_full_32", "dlatents.npy")
    if os.path.exists(full):
        d = maxdiff(np.load(os.path.join(out_dir, "generator_random_noise_32", "dlatents.npy")), np.load(full))
        ok &= d == 0.0
        print("  [%s] dlatents == generator_full_32's  max|d|=%g" % ("ok" if d == 0.0 else "FAIL", d))
    return ok
