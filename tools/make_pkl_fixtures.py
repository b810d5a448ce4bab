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
- hostile and broken pickles for the error tests (`bad_*.pkl`): globals outside the format
  (`os.system`, `builtins.eval`, `subprocess.Popen`, also inside an otherwise valid network), truncated
  files, a big-endian array, an array whose data does not fit its shape, a memo reference to nothing,
  an unknown opcode, a pickle with no network, a network without its variables. The hostile ones would
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

MARKER = "sgc_pickle_marker"


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


def net(name, func, kwargs, variables, components=None):
    return Network(
        {
            "version": 3,
            "name": name,
            "static_kwargs": kwargs,
            "components": components or {},
            "build_module_src": SOURCE,
            "build_func_name": func,
            "variables": variables,
        }
    )


def g_variables(rng, resolution, nf, dlatent, latent, mapping_layers):
    """(synthesis, mapping) variables, named and shaped as the official code creates them."""
    f32 = np.float32
    res_log2 = int(np.log2(resolution))
    syn = [("lod", f32(0.0))]
    for layer in range(2 * res_log2 - 2):
        r = 2 ** (layer // 2 + 2)
        syn.append((f"noise{layer}", rng.standard_normal([1, 1, r, r]).astype(f32)))

    def layer_vars(scope, cin, cout, kernel=True):
        v = []
        if kernel:
            v.append((f"{scope}/weight", rng.standard_normal([3, 3, cin, cout]).astype(f32)))
        v += [
            (f"{scope}/Noise/weight", rng.standard_normal([cout]).astype(f32) * f32(0.1)),
            (f"{scope}/bias", rng.standard_normal([cout]).astype(f32) * f32(0.1)),
            (f"{scope}/StyleMod/weight", rng.standard_normal([dlatent, 2 * cout]).astype(f32)),
            (f"{scope}/StyleMod/bias", rng.standard_normal([2 * cout]).astype(f32) * f32(0.1)),
        ]
        return v

    c = nf(1)
    syn.append(("4x4/Const/const", (1 + 0.2 * rng.standard_normal([1, c, 4, 4])).astype(f32)))
    syn += layer_vars("4x4/Const", c, c, kernel=False)
    syn += layer_vars("4x4/Conv", c, c)
    for res in range(3, res_log2 + 1):
        r = 2**res
        syn += layer_vars(f"{r}x{r}/Conv0_up", nf(res - 2), nf(res - 1))
        syn += layer_vars(f"{r}x{r}/Conv1", nf(res - 1), nf(res - 1))
    for res in range(2, res_log2 + 1):
        lod = res_log2 - res
        syn.append((f"ToRGB_lod{lod}/weight", rng.standard_normal([1, 1, nf(res - 1), 3]).astype(f32)))
        syn.append((f"ToRGB_lod{lod}/bias", rng.standard_normal([3]).astype(f32) * f32(0.1)))
    mapping = []
    fin = latent
    for i in range(mapping_layers):
        fout = dlatent
        mapping.append((f"Dense{i}/weight", (rng.standard_normal([fin, fout]) * 100).astype(f32)))
        mapping.append((f"Dense{i}/bias", rng.standard_normal([fout]).astype(f32) * f32(0.1)))
        fin = fout
    return syn, mapping


def tiny_networks(rng):
    """(G, D, Gs) of an 8 px G_style with fmap_base 32, fmap_max 16, 16-d latents."""
    res, dl = 8, 16
    kw = {"num_channels": 3, "resolution": res, "fmap_base": 32, "fmap_max": 16,
          "latent_size": dl, "dlatent_size": dl, "mapping_layers": 2, "mapping_fmaps": dl}

    def nf(stage):
        return min(int(32 / (2.0**stage)), 16)

    def g(name):
        syn_vars, map_vars = g_variables(rng, res, nf, dl, dl, 2)
        n_layers = 2 * int(np.log2(res)) - 2
        synthesis = net("G_synthesis", "G_synthesis",
                        {"num_channels": 3, "resolution": res, "fmap_base": 32, "fmap_max": 16,
                         "dlatent_size": dl}, syn_vars)
        mapping = net("G_mapping", "G_mapping",
                      {"dlatent_broadcast": n_layers, "latent_size": dl, "dlatent_size": dl,
                       "mapping_layers": 2, "mapping_fmaps": dl,
                       # a numpy scalar among the kwargs, as configs sometimes pass them
                       "mapping_lrmul": np.float32(0.01)}, map_vars)
        own = [("lod", np.float32(0.0)),
               ("dlatent_avg", rng.standard_normal([dl]).astype(np.float32))]
        return net(name, "G_style", dict(kw), own, {"synthesis": synthesis, "mapping": mapping})

    d_vars = [("8x8/Conv0/weight", rng.standard_normal([3, 3, 16, 16]).astype(np.float32)),
              ("8x8/Conv0/bias", rng.standard_normal([16]).astype(np.float32)),
              ("Output/weight", rng.standard_normal([16, 1]).astype(np.float32))]
    d = net("D", "D_basic", {"num_channels": 3, "resolution": res}, d_vars)
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "tests/fixtures-pkl"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20261201)

    nets = tiny_networks(rng)
    good = pickle.dumps(nets, protocol=4)
    (out / "tiny_G_D_Gs.pkl").write_bytes(good)
    expected = {}
    for n, path in zip(nets, ["G", "D", "Gs"]):
        describe(n, path, expected)
    (out / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")

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
    for name, data in bad.items():
        (out / name).write_bytes(data)
    # The hostile pickles do name what the error test expects (checked here, not by running them).
    for name in ["bad_os_system.pkl", "bad_eval.pkl", "bad_popen_protocol2.pkl"]:
        ops = [(op.name, arg) for op, arg, _ in pickletools.genops(bad[name])]
        assert any(o in ("STACK_GLOBAL", "GLOBAL") for o, _ in ops), name
    total = sum(p.stat().st_size for p in out.glob("*.pkl"))
    print(f"wrote {len(bad) + 1} pickles ({total} bytes) and expected.json to {out}")


if __name__ == "__main__":
    main()
