#!/usr/bin/env python3
"""Writes the StyleGAN-format pickles of tests/fixtures-pkl/ — without TensorFlow and without StyleGAN's
code: a stand-in `dnnlib.tflib.network.Network` class (our own, from the facts in
../shared/notes/stylegan-pkl-facts.md) whose pickled form is the official one (NEWOBJ with no arguments,
then BUILD with the state dict), numpy arrays for the variables.

    python tools/make_pkl_fixtures.py [--out tests/fixtures-pkl]

Writes:
- `tiny_G_D_Gs.pkl`: the official (G, D, Gs) layout for an 8 px G_style (few channels), every variable
  randomised (a fresh network has zero biases, noise strengths and dlatent_avg and a const of ones,
  which would hide reading errors), `lod` a numpy scalar, a numpy scalar among the static kwargs;
- `generator_32.pkl`: (G, D, Gs) holding the weights of tests/fixtures/generator_full_32 (the same
  configuration, seed and tools/fixture_weights.py); `synthesis_fused_32.pkl`: its synthesis network
  alone with `fused_scale=True`, the weights of tests/fixtures/synthesis_fused_32;
  `synthesis_recursive_32.pkl` / `synthesis_fixed_32.pkl`: it with `structure='recursive'` / `'fixed'`
  (only ToRGB_lod0), the weights and outputs of tests/fixtures/synthesis_recursive_32 / _fixed_32;
  `conditional_16.pkl` (G, D, Gs) and `synthesis_nostyles_16.pkl`: the weights of
  tests/fixtures/generator_conditional_16 and synthesis_nostyles_16 (labels, ReLU, pixel norm, no
  instance norm, no styles, a dense input layer);
- `stylegan2_generator_32.pkl`: (G, D, Gs) of a StyleGAN2 G_main (state version 4) holding the weights of
  tests/fixtures-sg2/sg2_generator_32 (tools/make_stylegan2_fixtures.py's configuration and seed,
  tools/fixture_weights.py's stylegan2_weight_value);
- hostile and broken pickles for the error tests (`bad_*.pkl`): globals outside the format
  (`os.system`, `builtins.eval`, `subprocess.Popen`, also inside an otherwise valid network), truncated
  files, a big-endian array, an array whose data does not fit its shape, a memo reference to nothing,
  an unknown opcode, a pickle with no network, a network without its variables; and (`bad_arch_*.pkl`)
  networks that do not fit the architecture their kwargs describe: a variable missing, one too many, one
  of the wrong shape, an unknown kwarg, an unknown structure. The hostile ones would
  create the file `sgc_pickle_marker` in the working directory if anything ran them;
- `expected.json`: for tiny_G_D_Gs.pkl, per network path its name, build function, kwargs, variable
  names, shapes and a checksum of each variable's bytes (what the reader must give back).
"""

import argparse
import hashlib
import json
import os
import pickle
import pickletools
import subprocess
import sys
import types
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fixture_weights import stylegan2_weight_value, weight_value  # noqa: E402

MARKER = "sgc_pickle_marker"
# tests/fixtures/generator_full_32: tools/fixture_builders.py SMALL and tools/fixture_io.py GLOBAL_SEED
# (not imported: those modules load TensorFlow).
SMALL = dict(resolution=32, latent_size=64, dlatent_size=64, mapping_fmaps=64, fmap_base=256, fmap_max=64)
GLOBAL_SEED = 20190205
# tools/fixture_builders.py CONDITIONAL and NO_STYLES: the kwargs of generator_conditional_16 and
# synthesis_nostyles_16.
CONDITIONAL = dict(SMALL, resolution=16, label_size=3, mapping_nonlinearity="relu", nonlinearity="relu",
                   use_pixel_norm=True, use_instance_norm=False, const_input_layer=False)
NO_STYLES = dict(SMALL, resolution=16, use_styles=False, const_input_layer=False)
# tools/make_stylegan2_fixtures.py SMALL: the configuration of tests/fixtures-sg2.
SMALL2 = dict(resolution=32, latent_size=32, dlatent_size=32, mapping_fmaps=32, fmap_base=256, fmap_max=32)


def network_class():
    """The stand-in for dnnlib.tflib.network.Network: it only carries a state dict."""
    for name in ("dnnlib", "dnnlib.tflib"):
        sys.modules.setdefault(name, types.ModuleType(name))
    mod = types.ModuleType("dnnlib.tflib.network")

    class Network:
        def __init__(self, state):
            self.state = state

        def __getstate__(self):
            return self.state

        def __setstate__(self, state):
            self.state = state

    Network.__module__ = "dnnlib.tflib.network"
    Network.__qualname__ = "Network"
    mod.Network = Network
    sys.modules["dnnlib.tflib.network"] = mod
    return Network


Network = network_class()

# Not the official module source: the reader reports its hash as unknown.
SOURCE = "# stand-in for training/networks_stylegan.py (sgc test fixture)\n"


def net(name, func, kwargs, variables, components=None, version=3):
    return Network(
        {
            "version": version,
            "name": name,
            "static_kwargs": kwargs,
            "components": components or {},
            "build_module_src": SOURCE,
            "build_func_name": func,
            "variables": variables,
        }
    )


def g_variables(value, kw):
    """(synthesis, mapping) variables of G_style with static kwargs `kw`, named, shaped and ordered as the
    official code creates them (the template build: linear structure, each ToRGB after its block);
    value(key, shape) gives each one's value."""
    res_log2 = int(np.log2(kw["resolution"]))
    dlatent = kw.get("dlatent_size", 512)
    channels = kw.get("num_channels", 3)

    def nf(stage):
        return min(int(kw.get("fmap_base", 8192) / (2.0 ** stage)), kw.get("fmap_max", 512))

    syn = [("lod", np.float32(value("lod", [])))]  # a 0-d variable pickles as a numpy scalar

    def var(name, shape, into=syn):
        into.append((name, value(name, shape)))

    for layer in range(2 * res_log2 - 2):
        r = 2 ** (layer // 2 + 2)
        var(f"noise{layer}", [1, 1, r, r])

    def epilogue(scope, c):
        var(f"{scope}/Noise/weight", [c])
        var(f"{scope}/bias", [c])
        if kw.get("use_styles", True):
            var(f"{scope}/StyleMod/weight", [dlatent, 2 * c])
            var(f"{scope}/StyleMod/bias", [2 * c])

    def torgb(res):
        lod = res_log2 - res
        var(f"ToRGB_lod{lod}/weight", [1, 1, nf(res - 1), channels])
        var(f"ToRGB_lod{lod}/bias", [channels])

    if kw.get("const_input_layer", True):
        var("4x4/Const/const", [1, nf(1), 4, 4])
        epilogue("4x4/Const", nf(1))
    else:
        var("4x4/Dense/weight", [dlatent, nf(1) * 16])
        epilogue("4x4/Dense", nf(1))
    var("4x4/Conv/weight", [3, 3, nf(1), nf(1)])
    epilogue("4x4/Conv", nf(1))
    torgb(2)
    for res in range(3, res_log2 + 1):
        r = 2**res
        var(f"{r}x{r}/Conv0_up/weight", [3, 3, nf(res - 2), nf(res - 1)])
        epilogue(f"{r}x{r}/Conv0_up", nf(res - 1))
        var(f"{r}x{r}/Conv1/weight", [3, 3, nf(res - 1), nf(res - 1)])
        epilogue(f"{r}x{r}/Conv1", nf(res - 1))
        torgb(res)
    mapping = []
    fin, fmaps, layers = kw.get("latent_size", 512), kw.get("mapping_fmaps", 512), kw.get("mapping_layers", 8)
    if kw.get("label_size", 0):  # the labels' embedding, joined to the latents
        var("LabelConcat/weight", [kw["label_size"], fin], mapping)
        fin *= 2
    for i in range(layers):
        fout = dlatent if i == layers - 1 else fmaps
        var(f"Dense{i}/weight", [fin, fout], mapping)
        var(f"Dense{i}/bias", [fout], mapping)
        fin = fout
    return syn, mapping


def generator_networks(kw, value, d_value):
    """(G, D, Gs) of a G_style with static kwargs `kw`: its components get G's kwargs (the mapping network
    also dlatent_broadcast), as the official G_style passes them."""
    n_layers = 2 * int(np.log2(kw["resolution"])) - 2 if kw.get("use_styles", True) else 1
    # G and Gs share their arrays (as after Gs.copy_vars_from(G)): pickle then stores each once.
    cache = {}

    def value(key, shape, raw=value):
        return cache.setdefault((key, tuple(shape)), raw(key, shape))

    def g(name):
        syn_vars, map_vars = g_variables(value, kw)
        synthesis = net("G_synthesis", "G_synthesis", dict(kw), syn_vars)
        mapping = net("G_mapping", "G_mapping", dict(kw, dlatent_broadcast=n_layers), map_vars)
        own = [("lod", np.float32(value("lod", []))),
               ("dlatent_avg", value("dlatent_avg", [kw.get("dlatent_size", 512)]))]
        return net(name, "G_style", dict(kw), own, {"synthesis": synthesis, "mapping": mapping})

    c = min(int(kw.get("fmap_base", 8192) / 2.0), kw.get("fmap_max", 512))
    d_vars = [("4x4/Conv/weight", d_value("4x4/Conv/weight", [3, 3, c, c])),
              ("4x4/Conv/bias", d_value("4x4/Conv/bias", [c])),
              ("Output/weight", d_value("Output/weight", [c, 1]))]
    d = net("D", "D_basic", {"num_channels": 3, "resolution": kw["resolution"]}, d_vars)
    return g("G"), d, g("Gs")


def stylegan2_networks(kw, value, version=4):
    """(G, D, Gs) of a StyleGAN2 G_main ('skip') with static kwargs `kw`, its variables named, shaped and
    ordered as the official code creates them: the synthesis network's noise maps first, then per
    layer weight, mod_weight, mod_bias, noise_strength, bias (ToRGB: no noise strength)."""
    res_log2 = int(np.log2(kw["resolution"]))
    dlatent, channels = kw.get("dlatent_size", 512), kw.get("num_channels", 3)
    num_layers = 2 * res_log2 - 2

    def nf(stage):
        return int(np.clip(int(kw.get("fmap_base", 16 << 10) / (2.0 ** stage)), 1, kw.get("fmap_max", 512)))

    def g(name):
        syn = []

        def var(k, shape, into=syn):
            into.append((k, value(k, shape)))

        for layer in range(num_layers - 1):
            r = 2 ** ((layer + 5) // 2)
            var(f"noise{layer}", [1, 1, r, r])

        def layer(scope, cin, cout, kernel=3, noise=True):
            var(f"{scope}/weight", [kernel, kernel, cin, cout])
            var(f"{scope}/mod_weight", [dlatent, cin])
            var(f"{scope}/mod_bias", [cin])
            if noise:
                var(f"{scope}/noise_strength", [])
            var(f"{scope}/bias", [cout])

        var("4x4/Const/const", [1, nf(1), 4, 4])
        layer("4x4/Conv", nf(1), nf(1))
        layer("4x4/ToRGB", nf(1), channels, kernel=1, noise=False)
        for res in range(3, res_log2 + 1):
            r = 2 ** res
            layer(f"{r}x{r}/Conv0_up", nf(res - 2), nf(res - 1))
            layer(f"{r}x{r}/Conv1", nf(res - 1), nf(res - 1))
            layer(f"{r}x{r}/ToRGB", nf(res - 1), channels, kernel=1, noise=False)
        mapping = []
        fin, fmaps, layers = kw.get("latent_size", 512), kw.get("mapping_fmaps", 512), kw.get("mapping_layers", 8)
        for i in range(layers):
            fout = dlatent if i == layers - 1 else fmaps
            var(f"Dense{i}/weight", [fin, fout], mapping)
            var(f"Dense{i}/bias", [fout], mapping)
            fin = fout
        synthesis = net("G_synthesis", "G_synthesis_stylegan2", dict(kw), syn, version=version)
        mapping = net("G_mapping", "G_mapping", dict(kw, dlatent_broadcast=num_layers), mapping, version=version)
        own = [("lod", np.float32(value("lod", []))), ("dlatent_avg", value("dlatent_avg", [dlatent]))]
        return net(name, "G_main", dict(kw), own, {"synthesis": synthesis, "mapping": mapping}, version=version)

    d = net("D", "D_stylegan2", {"num_channels": channels, "resolution": kw["resolution"]},
            [("Output/weight", value("Output/weight", [8, 1]))], version=version)
    return g("G"), d, g("Gs")


def describe(n, path, out):
    s = n.state
    kwargs = {k: (float(v) if isinstance(v, np.floating) else v) for k, v in s["static_kwargs"].items()}
    out[path] = {
        "name": s["name"],
        "build_func_name": s["build_func_name"],
        "version": s["version"],
        "static_kwargs": kwargs,
        "source_sha256": hashlib.sha256(s["build_module_src"].encode()).hexdigest(),
        "variables": [
            [name, list(np.shape(v)), str(np.asarray(v).dtype),
             hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest()[:16]]
            for name, v in s["variables"]
        ],
        "components": sorted(s["components"]),
    }
    for k, c in s["components"].items():
        describe(c, f"{path}/{k}", out)


class Run:
    """Pickles as `callable(*args)`: what a hostile file asks an unpickler to call."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (self.fn, self.args)


class FakeArray:
    """Pickles as a numpy array with a state of our choosing."""

    def __init__(self, state):
        self.state = state

    def __reduce__(self):
        return (np.ndarray.__reduce__(np.zeros(1, np.float32))[0], (np.ndarray, (0,), b"b"), self.state)


def d_basic_variables(value, resolution=1024, fmap_base=8192, fmap_max=512):
    """D_basic's variables (names and shapes as the official code creates them; values irrelevant)."""
    def nf(stage):
        return min(int(fmap_base / (2.0 ** stage)), fmap_max)
    res_log2 = int(np.log2(resolution))
    v = []
    for res in range(res_log2, 2, -1):
        r, lod = 2**res, res_log2 - res
        v.append((f"FromRGB_lod{lod}/weight", [1, 1, 3, nf(res - 1)]))
        v.append((f"FromRGB_lod{lod}/bias", [nf(res - 1)]))
        v.append((f"{r}x{r}/Conv0/weight", [3, 3, nf(res - 1), nf(res - 1)]))
        v.append((f"{r}x{r}/Conv0/bias", [nf(res - 1)]))
        v.append((f"{r}x{r}/Conv1_down/weight", [3, 3, nf(res - 1), nf(res - 2)]))
        v.append((f"{r}x{r}/Conv1_down/bias", [nf(res - 2)]))
    v += [("FromRGB_lod%d/weight" % (res_log2 - 2), [1, 1, 3, nf(1)]),
          ("FromRGB_lod%d/bias" % (res_log2 - 2), [nf(1)]),
          ("4x4/Conv/weight", [3, 3, nf(1) + 1, nf(1)]), ("4x4/Conv/bias", [nf(1)]),
          ("4x4/Dense0/weight", [nf(1) * 16, nf(0)]), ("4x4/Dense0/bias", [nf(0)]),
          ("4x4/Dense1/weight", [nf(0), 1]), ("4x4/Dense1/bias", [1])]
    return [("lod", np.float32(0.0))] + [(k, value(k, shape)) for k, shape in v]


def write_full(path):
    """The official 1024 px layout: G and Gs with their own weights (as after training), D_basic."""
    kw = {"num_channels": 3, "resolution": 1024}
    g = generator_networks(kw, lambda k, s: weight_value(k, s, 1), lambda k, s: weight_value(k, s, 2))[0]
    gs = generator_networks(kw, lambda k, s: weight_value(k, s, 3), lambda k, s: weight_value(k, s, 2))[2]
    d = net("D", "D_basic", dict(kw), d_basic_variables(lambda k, s: weight_value(k, s, 2)))
    with open(path, "wb") as f:
        pickle.dump((g, d, gs), f, protocol=4)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "tests/fixtures-pkl"))
    ap.add_argument("--full", metavar="FILE.pkl",
                    help="write only a full-size 1024 px (G, D, Gs) pickle there (random weights, official "
                         "layout and sizes: ~330 MB), for benchmarks")
    args = ap.parse_args()
    if args.full:
        write_full(Path(args.full))
        return
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # Seeded like the frozen fixtures (tools/fixture_weights.py: every bias, noise strength, dlatent_avg and
    # the const input non-zero).
    tiny_kw = {"num_channels": 3, "resolution": 8, "fmap_base": 32, "fmap_max": 16, "latent_size": 16,
               "dlatent_size": 16, "mapping_layers": 2, "mapping_fmaps": 16,
               # a numpy scalar among the kwargs, as configs sometimes pass them
               "mapping_lrmul": np.float32(0.01)}
    nets = generator_networks(tiny_kw, lambda k, s: weight_value(k, s, 20261201),
                              lambda k, s: weight_value(k, s, 1))
    good = pickle.dumps(nets, protocol=4)
    (out / "tiny_G_D_Gs.pkl").write_bytes(good)
    expected = {}
    for n, path in zip(nets, ["G", "D", "Gs"]):
        describe(n, path, expected)
    (out / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")

    # The weights of tests/fixtures/generator_full_32 (its configuration and seed): the pickle route can be
    # compared with the frozen-graph route and with TensorFlow's outputs there.
    gen = generator_networks(dict(SMALL, num_channels=3), lambda k, s: weight_value(k, s, GLOBAL_SEED),
                             lambda k, s: weight_value(k, s, 1))
    (out / "generator_32.pkl").write_bytes(pickle.dumps(gen, protocol=4))
    # tests/fixtures/synthesis_fused_32: a lone G_synthesis with the fused upscale in every block.
    syn = gen[2].state["components"]["synthesis"].state
    fused = net("G_synthesis", "G_synthesis", dict(SMALL, num_channels=3, fused_scale=True),
                syn["variables"])
    (out / "synthesis_fused_32.pkl").write_bytes(pickle.dumps(fused, protocol=4))
    # tests/fixtures/synthesis_recursive_32 and synthesis_fixed_32 (the same weights, the same output): a
    # lone G_synthesis of each structure; the fixed one has no ToRGB but the last.
    recursive = net("G_synthesis", "G_synthesis", dict(SMALL, num_channels=3, structure="recursive"),
                    syn["variables"])
    (out / "synthesis_recursive_32.pkl").write_bytes(pickle.dumps(recursive, protocol=4))
    last_torgb = [(k, v) for k, v in syn["variables"] if not k.startswith("ToRGB_lod") or k.startswith("ToRGB_lod0/")]
    fixed = net("G_synthesis", "G_synthesis", dict(SMALL, num_channels=3, structure="fixed"), last_torgb)
    (out / "synthesis_fixed_32.pkl").write_bytes(pickle.dumps(fixed, protocol=4))
    # tests/fixtures/generator_conditional_16 and synthesis_nostyles_16: the architecture kwargs that the
    # others leave at their defaults.
    cond = generator_networks(dict(CONDITIONAL, num_channels=3), lambda k, s: weight_value(k, s, GLOBAL_SEED),
                              lambda k, s: weight_value(k, s, 1))
    (out / "conditional_16.pkl").write_bytes(pickle.dumps(cond, protocol=4))
    plain = g_variables(lambda k, s: weight_value(k, s, GLOBAL_SEED), NO_STYLES)[0]
    nostyles = net("G_synthesis", "G_synthesis", dict(NO_STYLES, num_channels=3), plain)
    (out / "synthesis_nostyles_16.pkl").write_bytes(pickle.dumps(nostyles, protocol=4))

    # tests/fixtures-sg2/sg2_generator_32 (its configuration, seed and tools/fixture_weights.py): the
    # pickle route against TensorFlow's StyleGAN2 outputs; also as StyleGAN2-ADA would version it.
    sg2 = stylegan2_networks(dict(SMALL2, num_channels=3, label_size=0),
                             lambda k, s: stylegan2_weight_value(k, s, GLOBAL_SEED))
    (out / "stylegan2_generator_32.pkl").write_bytes(pickle.dumps(sg2, protocol=4))
    # A StyleGAN2 Gs whose ToRGB at 16 px has lost its bias, and one of a state version no release wrote.
    gs = sg2[2].state
    syn = gs["components"]["synthesis"].state
    broken_syn = net("G_synthesis", "G_synthesis_stylegan2", syn["static_kwargs"],
                     [(k, v) for k, v in syn["variables"] if k != "16x16/ToRGB/bias"], version=4)
    broken = net("Gs", "G_main", gs["static_kwargs"], gs["variables"],
                 {"synthesis": broken_syn, "mapping": gs["components"]["mapping"]}, version=4)
    (out / "bad_arch_stylegan2_missing_bias.pkl").write_bytes(pickle.dumps(broken, protocol=4))
    old = net("Gs", "G_main", gs["static_kwargs"], gs["variables"], gs["components"], version=3)
    (out / "bad_arch_stylegan2_version.pkl").write_bytes(pickle.dumps(old, protocol=4))

    touch = f"touch {MARKER}"
    bad = {
        "bad_os_system.pkl": pickle.dumps(Run(os.system, touch), protocol=4),
        "bad_eval.pkl": pickle.dumps(Run(eval, f"__import__('os').system('{touch}')"), protocol=4),
        "bad_popen_protocol2.pkl": pickle.dumps(Run(subprocess.Popen, ["touch", MARKER]), protocol=2),
        # A valid (G, D, Gs) but for one static kwarg.
        "bad_inside_network.pkl": pickle.dumps(
            (net("G", "G_style", {"resolution": Run(os.system, touch)}, []),), protocol=4),
        "bad_truncated.pkl": good[: len(good) // 2],
        "bad_truncated_header.pkl": good[:3],
        "bad_big_endian.pkl": pickle.dumps(
            (net("G_mapping", "G_mapping", {}, [("Dense0/weight", np.ones([2, 2], ">f4"))]),),
            protocol=4),
        "bad_data_size.pkl": pickle.dumps(
            (net("G_mapping", "G_mapping", {},
                 [("Dense0/weight", FakeArray((1, (2, 3), np.dtype("f4"), False, b"\0" * 8)))]),),
            protocol=4),
        # PROTO 4, BINGET 7, STOP.
        "bad_memo.pkl": b"\x80\x04h\x07.",
        "bad_opcode.pkl": b"\x80\x04\xff.",
        "bad_no_network.pkl": pickle.dumps({"weights": [1, 2, 3]}, protocol=4),
        "bad_missing_variables.pkl": pickle.dumps(
            Network({"version": 3, "name": "G", "static_kwargs": {}, "components": {},
                     "build_module_src": SOURCE, "build_func_name": "G_style"}), protocol=4),
    }
    # Well-formed pickles whose networks do not fit the architecture their kwargs describe.
    def edited(edit):
        nets = generator_networks(tiny_kw, lambda k, s: weight_value(k, s, 20261201),
                                  lambda k, s: weight_value(k, s, 1))
        syn = nets[2].state["components"]["synthesis"].state
        edit(syn, nets[2].state)
        return pickle.dumps(nets, protocol=4)

    def drop(syn, _):
        syn["variables"] = [v for v in syn["variables"] if v[0] != "8x8/Conv1/bias"]

    def extra(syn, _):
        syn["variables"] = syn["variables"] + [("8x8/Conv2/weight", np.ones([3, 3, 4, 4], np.float32))]

    def reshape(syn, _):
        syn["variables"] = [(k, np.ascontiguousarray(v.T) if k == "8x8/Conv1/weight" else v)
                            for k, v in syn["variables"]]

    def kwarg(_, g):
        g["static_kwargs"] = dict(g["static_kwargs"], use_sparkles=True)

    def structure(_, g):
        g["static_kwargs"] = dict(g["static_kwargs"], structure="spiral")

    bad.update({
        "bad_arch_missing_variable.pkl": edited(drop),
        "bad_arch_extra_variable.pkl": edited(extra),
        "bad_arch_wrong_shape.pkl": edited(reshape),
        "bad_arch_unknown_kwarg.pkl": edited(kwarg),
        "bad_arch_structure.pkl": edited(structure),
    })
    for name, data in bad.items():
        (out / name).write_bytes(data)
    # The hostile pickles do name what the error test expects (checked here, not by running them).
    for name in ["bad_os_system.pkl", "bad_eval.pkl", "bad_popen_protocol2.pkl"]:
        ops = [(op.name, arg) for op, arg, _ in pickletools.genops(bad[name])]
        assert any(o in ("STACK_GLOBAL", "GLOBAL") for o, _ in ops), name
    total = sum(p.stat().st_size for p in out.glob("*.pkl"))
    print(f"wrote {len(list(out.glob('*.pkl')))} pickles ({total} bytes) and expected.json to {out}")


if __name__ == "__main__":
    main()
