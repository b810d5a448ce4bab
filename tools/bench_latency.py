#!/usr/bin/env python3
"""How far models are from the machine: for each .tflite, the multiply-adds of its convolutions and
dense layers, its LiteRT latency (2 threads, all models interleaved round by round in one process,
median) and the effective GFLOP/s (2 FLOPs a multiply-add), with latency and multiply-adds as ratios
to the first model (the anchor: TF's converter's or onnx2tf's model of the same weights, or sgc's
before a change).

    python tools/bench_latency.py ANCHOR.tflite MODEL.tflite [...] [--runs 10] [--threads 2]

Inputs are seeded N(0, 1) (ints: zeros). Numbers move ±30 % between runs on a shared machine: compare
the ratios of one run. Nothing is asserted.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from litert_runner import make_interpreter, multiply_adds  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    macs = [sum(multiply_adds(make_interpreter(m, default_delegates=False)).values()) for m in a.models]
    interps = [make_interpreter(m, threads=a.threads) for m in a.models]
    rng = np.random.default_rng(0)
    for it in interps:
        for d in it.get_input_details():
            if np.issubdtype(d["dtype"], np.floating):
                value = rng.standard_normal(d["shape"]).astype(d["dtype"])
            else:
                value = np.zeros(d["shape"], d["dtype"])
            it.set_tensor(d["index"], value)
        it.invoke()  # warm-up
    times = [[] for _ in interps]
    for _ in range(a.runs):
        for k, it in enumerate(interps):
            t = time.perf_counter()
            it.invoke()
            times[k].append(time.perf_counter() - t)
    lat = [statistics.median(t) for t in times]
    print("| model | G multiply-adds | × anchor | latency ms | × anchor | GFLOP/s |")
    print("|---|---|---|---|---|---|")
    for m, g, s in zip(a.models, macs, lat):
        print("| %s | %.2f | %.2f | %.0f | %.2f | %.0f |" % (
            Path(m).name, g / 1e9, g / max(macs[0], 1), s * 1e3, s / lat[0], 2 * g / s / 1e9))
    return 0


if __name__ == "__main__":
    sys.exit(main())
