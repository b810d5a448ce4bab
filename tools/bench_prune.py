#!/usr/bin/env python3
"""Measures phone-sized exports of the full-size graphs: `sgc lower --resolution R [--part P]`.

Usage (after `python tools/make_fixtures.py --full --out tests/fixtures-full` and `cargo build --release`):
    bench_prune.py [--sgc target/release/sgc] [--runs 10] [--res 512,256,128] FIXTURE_DIR ...

For each fixture (synthesis_1024, generator_full_1024, ...) and resolution: model size (MB), LiteRT op count,
LiteRT latency (2 threads, median of --runs after one warm-up) and the error against TF's ToRGB tap
(tap_<R>.npy), relative to max |tap|. Prints a Markdown table. Nothing is asserted: tests/prune.rs does that.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import litert_runner  # noqa: E402


def litert(model, value, runs):
    interp = litert_runner.make_interpreter(model, threads=2)
    litert_runner.set_inputs(interp, [value])
    latency = litert_runner.median_latency(interp, runs, warmup=1)
    out = litert_runner.get_outputs(interp)[0]
    return latency, out, sum(litert_runner.op_histogram(interp).values())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fixtures", nargs="+")
    ap.add_argument("--sgc", default="target/release/sgc")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--res", default="512,256,128")
    args = ap.parse_args()
    print("| graph | part | R | size (MB) | ops | LiteRT latency (ms, 2 threads) | max err / max \\|tap\\| |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        for fixture in args.fixtures:
            meta = json.load(open(os.path.join(fixture, "meta.json")))
            name = os.path.basename(os.path.normpath(fixture))
            inp = meta["inputs"][0]
            value = np.load(os.path.join(fixture, inp["file"]))
            part = "synthesis" if value.ndim == 3 else "full"
            for r in [int(x) for x in args.res.split(",")]:
                feed = value[:, : 2 * int(np.log2(r)) - 2] if part == "synthesis" else value
                model = os.path.join(tmp, "%s_%d.tflite" % (name, r))
                shape = ",".join(str(d) for d in value.shape)
                cmd = [args.sgc, "lower", os.path.join(fixture, "graph.pb"), "-o", model, "--resolution", str(r),
                       "--inputs", "%s=%s" % (inp["name"], shape)]
                proc = subprocess.run(cmd, capture_output=True, text=True)
                if proc.returncode != 0:
                    print("| %s | %s | %d | failed: %s |" % (name, part, r, proc.stderr.strip()), file=sys.stdout)
                    continue
                lat, out, ops = litert(model, feed, args.runs)
                tap_file = "tap_%d.npy" % r
                if not os.path.exists(os.path.join(fixture, tap_file)):      # R = full: the graph's own image
                    tap_file = meta["outputs"][0]["file"]
                tap = np.load(os.path.join(fixture, tap_file))
                err = float(np.max(np.abs(out.astype(np.float64) - tap))) / float(np.max(np.abs(tap)))
                print("| %s | %s | %d | %.1f | %d | %.0f | %.1e |" % (
                    name, part, r, os.path.getsize(model) / 1e6, ops, lat * 1e3, err), flush=True)


if __name__ == "__main__":
    main()
