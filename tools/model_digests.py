#!/usr/bin/env python3
"""Prints the sha256 of the .tflite that `sgc lower` writes for every committed fixture under a set of
option variants, one `fixture variant digest` line each.

A refactoring that must not change what sgc writes is checked by running this before and after and
diffing the two listings:

    tools/model_digests.py > before.txt   # on the old build
    tools/model_digests.py > after.txt    # on the new build
    diff before.txt after.txt

The sgc binary is `$SGC_BIN`, else `target/release/sgc` (build it first). Needs numpy (the test venv).
"""

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_DIRS = ["tests/fixtures", "tests/fixtures-random", "tests/fixtures-custom", "tests/fixtures-generic"]

# (variant name, extra arguments, fixtures it applies to: a name prefix, or None for all)
VARIANTS = [
    ("default", [], None),
    # Without Graph::verify after every pass (on by default): same bytes as default.
    ("no-verify", ["--no-verify"], None),
    ("no-leaky-relu", ["--no-leaky-relu"], None),
    ("no-egraph", ["--passes", "freeze-fixes,dce,fold,fold-switch-merge,drop-control-edges,"
                   "remove-identity,batch-norm,dce,fold,nchw-to-nhwc,fold,dce"], None),
    ("flex", ["--flex"], "erf"),
    ("custom-mul", ["--custom-op", "Mul"], "erf"),
    ("res16", ["--resolution", "16"], "synthesis_r"),
    ("res16-linear", ["--resolution", "16"], "synthesis_l"),
    ("res8-keep", ["--resolution", "8", "--keep-dlatent-shape"], "synthesis_recursive"),
    ("full-16-uint8", ["--resolution", "16", "--part", "full", "--truncation-psi", "0.5",
                       "--image-output", "uint8-nhwc"], "generator_full"),
    ("synthesis-part", ["--part", "synthesis", "--image-output", "float-nhwc"], "generator_full"),
    ("mapping-part", ["--part", "mapping", "--truncation-psi", "1"], "generator_full"),
]


def sgc_bin():
    return os.environ.get("SGC_BIN") or str(ROOT / "target/release/sgc")


def fixture_args(d):
    meta = json.loads((d / "meta.json").read_text())
    args = []
    # Entries are {"name", "file"} objects, or bare names with the files input_K.npy.
    for k, i in enumerate(meta["inputs"]):
        name, file = (i, f"input_{k}.npy") if isinstance(i, str) else (i["name"], i["file"])
        shape = np.load(d / file).shape
        args += ["--inputs", f"{name}=" + ",".join(str(s) for s in shape)]
    outputs = [o if isinstance(o, str) else o["name"] for o in meta.get("outputs", [])]
    if outputs:
        args += ["--outputs", ",".join(outputs)]
    return args


def main():
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "m.tflite"
        for fd in FIXTURE_DIRS:
            for d in sorted((ROOT / fd).iterdir()):
                if not (d / "meta.json").exists():
                    continue
                base = fixture_args(d)
                for name, extra, only in VARIANTS:
                    if only is not None and not d.name.startswith(only):
                        continue
                    args = [sgc_bin(), "lower", str(d / "graph.pb"), "-o", str(out)]
                    # The part/resolution variants choose their own outputs.
                    io = base if not any(a.startswith("--part") for a in extra) else base[:2]
                    r = subprocess.run(args + io + extra, capture_output=True)
                    if r.returncode != 0:
                        digest = f"exit {r.returncode}"
                    else:
                        digest = hashlib.sha256(out.read_bytes()).hexdigest()
                    print(f"{fd}/{d.name} {name} {digest}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
