"""The fixtures' seeded weights, numpy only (no TensorFlow): a variable's value depends only on (seed, its
name local to its network, its shape), so tools/make_fixtures.py (frozen graphs, with TensorFlow) and
tools/make_pkl_fixtures.py (StyleGAN-format pickles, without) give the same network the same weights."""

import zlib

import numpy as np


def weight_value(key, shape, seed):
    """The value of variable `key` ("4x4/Conv/weight", "Dense0/bias", "lod" …) of `shape`."""
    rng = np.random.RandomState([seed, zlib.crc32(key.encode()) & 0x7FFFFFFF])
    leaf = key.rsplit("/", 1)[-1]
    if key == "lod":
        val = np.zeros(shape)
    elif leaf == "weight" and key.startswith("Dense"):
        val = rng.standard_normal(shape) * 100.0          # init_std = 1/lrmul for the mapping layers
    elif leaf == "bias" and key.startswith("Dense"):
        val = rng.standard_normal(shape) * 10.0           # * lrmul 0.01 at runtime => std 0.1
    elif leaf == "weight" and key.endswith("Noise/weight"):
        val = rng.standard_normal(shape) * 0.2
    elif leaf == "bias":
        val = rng.standard_normal(shape) * 0.1
    elif key.startswith("ToRGB") and leaf == "weight":
        val = rng.standard_normal(shape) * 0.25           # keep images mostly inside [-1, 1]
    elif key == "dlatent_avg":
        val = rng.standard_normal(shape) * 0.5
    else:                                                 # conv/dense weights, const, noise maps
        val = rng.standard_normal(shape)
    return val.astype(np.float32)


def stylegan2_weight_value(key, shape, seed):
    """The value of StyleGAN2 variable `key` ("4x4/Conv/weight", "8x8/Conv0_up/mod_bias", "noise3",
    "Dense0/weight" …). Biases, noise strengths and dlatent_avg are non-zero (official init: zeros) so every
    path of the graph contributes; ToRGB weights are scaled so the images stay mostly inside [-1, 1]."""
    rng = np.random.RandomState([seed, zlib.crc32(("sg2/" + key).encode()) & 0x7FFFFFFF])
    leaf = key.rsplit("/", 1)[-1]
    if key == "lod":
        val = np.zeros(shape)
    elif key.startswith("Dense") and leaf == "weight":
        val = rng.standard_normal(shape) * 100.0          # init_std = 1/lrmul for the mapping layers
    elif key.startswith("Dense") and leaf == "bias":
        val = rng.standard_normal(shape) * 10.0           # * lrmul 0.01 at run time => std 0.1
    elif leaf == "noise_strength":
        val = rng.standard_normal(shape) * 0.3
    elif leaf in ("bias", "mod_bias"):
        val = rng.standard_normal(shape) * 0.2
    elif "/ToRGB/" in key and leaf == "weight":
        val = rng.standard_normal(shape) * 0.3
    elif key == "dlatent_avg":
        val = rng.standard_normal(shape) * 0.5
    else:                                                 # conv, mod and dense weights, const, noise maps
        val = rng.standard_normal(shape)
    return val.astype(np.float32)
