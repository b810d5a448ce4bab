#!/usr/bin/env python3
"""Benchmark of sgc's weight quantization modes on one graph: for each mode, the model's size, op count,
LiteRT latency (2 threads, all models interleaved round by round in one process, median; as a ratio to
float32 measured in the same run), peak RSS of a process that loads and runs the model (minus that of one
that only imports LiteRT), and image quality against the float32 model (tools/quant_quality.py: SSIM
mean/min, PSNR, max pixel error on 16 seeded latents).

    python tools/bench_quant.py GRAPH.pb --inputs latents_in=1,512 [-- extra sgc lower args]
        [--modes float,fp16,int8-weights,int8-dynamic,int8-dynamic+gptq,int8-dynamic+keep=REGEX] [--runs 10]
        [--out DIR] [--json OUT.json] [--anchor NAME=MODEL.tflite ...]

--anchor adds a model made by another tool from sgc's float32 model (tools/make_anchors.py: AI Edge
Quantizer's recipes) to the same interleaved run and the same measurements.

The sgc binary is $SGC_BIN, else target/release/sgc. Numbers move ±30 % between runs on a shared
machine: compare ratios from one run.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TOOLS = Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS))
from litert_runner import make_interpreter, op_histogram  # noqa: E402
from quant_quality import measure  # noqa: E402

# VmHWM, not ru_maxrss: a child's ru_maxrss starts at its parent's peak (kept across fork and exec).
RSS_SCRIPT = """
import sys
import numpy as np
from ai_edge_litert.interpreter import Interpreter
if len(sys.argv) > 1:
    it = Interpreter(model_path=sys.argv[1], num_threads=2)
    it.allocate_tensors()
    for d in it.get_input_details():
        it.set_tensor(d["index"], np.zeros(d["shape"], d["dtype"]))
    it.invoke()
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0]
print(int(hwm.split()[1]) / 1024)
"""


def peak_rss_mb(model=None):
    args = [sys.executable, "-c", RSS_SCRIPT] + ([str(model)] if model else [])
    return float(subprocess.run(args, capture_output=True, text=True, check=True).stdout.split()[-1])


def lower(sgc, graph, out, inputs, mode, extra):
    """`mode` is a --quantize mode, optionally `MODE+gptq` for --weight-rounding gptq and/or
    `MODE[+gptq]+keep=REGEX` for --quantize-keep-float REGEX."""
    mode, _, keep = mode.partition("+keep=")
    gptq = mode.endswith("+gptq")
    mode = mode.removesuffix("+gptq")
    cmd = [sgc, "lower", str(graph), "-o", str(out), "--quantize", mode] + extra
    if gptq:
        cmd += ["--weight-rounding", "gptq"]
    if keep:
        cmd += ["--quantize-keep-float", keep]
    for i in inputs:
        cmd += ["--inputs", i]
    subprocess.run(cmd, check=True, capture_output=True)


def latencies(models, runs):
    interps = [make_interpreter(str(m), threads=2) for m in models]
    rng = np.random.default_rng(0)
    for it in interps:
        for d in it.get_input_details():
            it.set_tensor(d["index"], rng.standard_normal(d["shape"]).astype(d["dtype"]))
        it.invoke()  # warm-up
    times = [[] for _ in models]
    for _ in range(runs):
        for k, it in enumerate(interps):
            t = time.perf_counter()
            it.invoke()
            times[k].append(time.perf_counter() - t)
    return [statistics.median(t) * 1e3 for t in times]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("graph")
    ap.add_argument("--inputs", action="append", default=[])
    ap.add_argument("--modes", default="float,fp16,int8-weights,int8-dynamic")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--out")
    ap.add_argument("--json")
    ap.add_argument("--anchor", action="append", default=[], metavar="NAME=MODEL")
    # Everything after `--` goes to sgc lower for every model.
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    a = ap.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    sgc = os.environ.get("SGC_BIN") or str(TOOLS.parent / "target/release/sgc")
    out = Path(a.out or tempfile.mkdtemp(prefix="sgc-bench-quant-"))
    out.mkdir(parents=True, exist_ok=True)
    modes = a.modes.split(",")
    if modes[0] != "float":
        modes = ["float"] + [m for m in modes if m != "float"]
    models = []
    for m in modes:
        path = out / ("%s.tflite" % m.replace("+keep=", "_keep_").replace("/", "_"))
        lower(sgc, a.graph, path, a.inputs, m, extra)
        models.append(path)
    for spec in a.anchor:
        name, _, path = spec.rpartition("=")
        if not path or not Path(path).is_file():
            raise SystemExit(f"--anchor {spec}: expected NAME=MODEL.tflite of an existing file")
        modes.append(name)
        models.append(Path(path))
    lat = latencies(models, a.runs)
    base_rss = peak_rss_mb()
    rows = []
    for m, path, ms in zip(modes, models, lat):
        q = measure(models[0], path, a.samples) if m != "float" else {}
        ops = op_histogram(make_interpreter(str(path), default_delegates=False))
        rows.append({
            "mode": m,
            "mb": path.stat().st_size / 1e6,
            "ops": sum(ops.values()),
            "latency_ms": ms,
            "latency_ratio": ms / lat[0],
            "rss_mb": peak_rss_mb(path) - base_rss,
            **q,
        })
    print("| mode | MB | ops | latency ms | × float32 | RSS MB | SSIM mean / min | PSNR dB | max px err |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "ssim_mean" in r:
            quality = "%.4f / %.4f | %.1f | %d" % (
                r["ssim_mean"], r["ssim_min"], r["psnr_mean"], r["max_pixel_err"])
        elif r["mode"] == "float":
            quality = "1 / 1 | — | 0"
        else:
            quality = "max rel err %.2g | — | —" % r["max_rel_err"]
        print("| %s | %.1f | %d | %.0f | %.2f | %.0f | %s |" % (
            r["mode"], r["mb"], r["ops"], r["latency_ms"], r["latency_ratio"], r["rss_mb"], quality))
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
