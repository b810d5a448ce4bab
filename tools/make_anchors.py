#!/usr/bin/env python3
"""The anchors of the quantization benchmark: Google's AI Edge Quantizer applied to sgc's float32 model, so
that `tools/bench_quant.py --anchor NAME=PATH` times and scores them in the same run as sgc's modes.

    tools/setup_anchors.sh                      # once: .venv-anchors with ai-edge-quantizer 0.10.0
    .venv-anchors/bin/python tools/make_anchors.py FLOAT.tflite --out DIR [--recipes a,b,...]

Writes DIR/aieq_<recipe>.tflite for each recipe (default: the ones the issue's table names) and prints
one `--anchor` argument per model. Static (full-integer) recipes (`static_wi8_ai8`) are calibrated on
`--calibration-samples` seeded N(0, 1) inputs first.
"""

import argparse
import sys
from pathlib import Path

DEFAULT = "dynamic_wi8_afp32,dynamic_legacy_wi8_afp32,weight_only_wi8_afp32,dynamic_wi4_afp32"


def calibration_data(model, samples):
    """`samples` seeded N(0, 1) inputs for every input of the model's signature."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=model).get_signature_runner()
    details = runner.get_input_details()
    rng = np.random.default_rng(1)
    return {"serving_default": [
        {name: rng.standard_normal(d["shape"]).astype(d["dtype"]) for name, d in details.items()}
        for _ in range(samples)
    ]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("--out", required=True)
    ap.add_argument("--recipes", default=DEFAULT)
    ap.add_argument("--calibration-samples", type=int, default=32)
    a = ap.parse_args()
    from ai_edge_quantizer import quantizer, recipe

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in a.recipes.split(","):
        make = getattr(recipe, name, None)
        if make is None:
            raise SystemExit(f"ai_edge_quantizer.recipe has no {name}")
        q = quantizer.Quantizer(a.model, make())
        path = out / f"aieq_{name}.tflite"
        if name.startswith("static"):
            q.quantize(q.calibrate(calibration_data(a.model, a.calibration_samples))).export_model(
                str(path), overwrite=True)
        else:
            q.quantize().export_model(str(path), overwrite=True)
        print(f"--anchor aieq-{name}={path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
