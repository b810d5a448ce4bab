#!/usr/bin/env python3
"""Image quality of a (quantized) model against a reference model, both run in LiteRT on the same seeded
inputs: SSIM (mean and min over the images), PSNR and the largest pixel difference of the uint8 images,
plus the largest float difference relative to the reference's range.

    python tools/quant_quality.py REFERENCE.tflite MODEL.tflite [--samples 16] [--seed 0] [--json]
        [--save-inputs FILE.npy]

--save-inputs writes the drawn inputs of a one-input model as one array [samples, *input shape], which
`sgc verify SOURCE MODEL --data FILE.npy` reads, so that both measure on the same latents.

Inputs are drawn from N(0, 1) (StyleGAN's latents; dlatent inputs alike), one sample per run, from
numpy's default_rng(seed). An f32 NCHW or NHWC image output in [-1, 1] becomes uint8 as StyleGAN's
`convert_images_to_uint8` does (× 127.5 + 127.5, rounded, clipped); a uint8 output is used as it is.
SSIM is the usual Gaussian-window SSIM (11 × 11, σ = 1.5, K1 = 0.01, K2 = 0.03, L = 255), per channel,
averaged over channels and pixels ("valid" windows only).
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from litert_runner import make_interpreter  # noqa: E402


def gaussian_window(size=11, sigma=1.5):
    x = np.arange(size) - (size - 1) / 2
    g = np.exp(-(x ** 2) / (2 * sigma ** 2))
    return g / g.sum()


def filter_valid(img, g):
    """Separable 'valid' filtering of a 2-D array with the 1-D kernel g."""
    k = len(g)
    rows = sum(g[i] * img[i:img.shape[0] - k + 1 + i, :] for i in range(k))
    return sum(g[i] * rows[:, i:rows.shape[1] - k + 1 + i] for i in range(k))


def ssim(a, b):
    """SSIM of two uint8 images [H, W, C] (mean over channels)."""
    k = min(11, a.shape[0], a.shape[1])  # an 11-tap window, or the largest odd one that fits
    g = gaussian_window(k if k % 2 else k - 1)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    vals = []
    for c in range(a.shape[2]):
        x, y = a[..., c].astype(np.float64), b[..., c].astype(np.float64)
        mx, my = filter_valid(x, g), filter_valid(y, g)
        sxx = filter_valid(x * x, g) - mx * mx
        syy = filter_valid(y * y, g) - my * my
        sxy = filter_valid(x * y, g) - mx * my
        s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
        vals.append(s.mean())
    return float(np.mean(vals))


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


def to_uint8_hwc(y):
    """One image [3, H, W] or [H, W, 3], float in [-1, 1] or uint8, as uint8 [H, W, C]."""
    if y.shape[0] == 3 and y.shape[-1] != 3:
        y = np.transpose(y, (1, 2, 0))
    if y.dtype == np.uint8:
        return y
    return np.clip(np.rint(y * 127.5 + 127.5), 0, 255).astype(np.uint8)


def run(model, inputs):
    it = make_interpreter(str(model), threads=2)
    for d, x in zip(it.get_input_details(), inputs):
        it.set_tensor(d["index"], x.astype(d["dtype"]))
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"])


def measure(reference, model, samples=16, seed=0, save_inputs=None):
    rng = np.random.default_rng(seed)
    shapes = [d["shape"] for d in make_interpreter(str(reference)).get_input_details()]
    if save_inputs and len(shapes) != 1:
        raise SystemExit(f"--save-inputs: the model has {len(shapes)} inputs, not one")
    ssims, psnrs, max_pixel, max_rel, image, drawn = [], [], 0, 0.0, None, []
    for _ in range(samples):
        inputs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
        drawn.extend(inputs[:1])
        ref, got = run(reference, inputs), run(model, inputs)
        scale = max(float(np.abs(ref.astype(np.float64)).max()), 1e-30)
        max_rel = max(max_rel, float(np.abs(ref.astype(np.float64) - got).max()) / scale)
        image = ref.ndim == 4 and 3 in (ref.shape[1], ref.shape[3])
        if image:
            for r, q in zip(ref, got):
                a, b = to_uint8_hwc(r), to_uint8_hwc(q)
                ssims.append(ssim(a, b))
                psnrs.append(psnr(a, b))
                max_pixel = max(max_pixel, int(np.abs(a.astype(int) - b.astype(int)).max()))
    if save_inputs:
        np.save(save_inputs, np.stack(drawn))
    result = {"samples": samples, "max_rel_err": max_rel}
    if image:
        result.update(
            ssim_mean=float(np.mean(ssims)),
            ssim_min=float(np.min(ssims)),
            psnr_mean=float(np.mean([p for p in psnrs if np.isfinite(p)] or [float("inf")])),
            max_pixel_err=max_pixel,
        )
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("reference")
    ap.add_argument("model")
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--save-inputs", metavar="FILE.npy")
    a = ap.parse_args()
    r = measure(a.reference, a.model, a.samples, a.seed, a.save_inputs)
    if a.json:
        print(json.dumps(r))
    else:
        for k, v in r.items():
            print(f"{k}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
