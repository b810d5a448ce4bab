#!/usr/bin/env python3
"""Fixture generator for sgc: frozen StyleGAN v1 generator graphs plus TensorFlow reference outputs.

What this builds
----------------
sgc lowers TensorFlow 1.x GraphDefs -- first of all NVIDIA's StyleGAN v1 generator -- to TFLite. To test it
we need graphs that look *exactly* like the ones the official NVlabs StyleGAN v1 code produces, op for op:
equalized-learning-rate weights (`Mul(weight/read, coef)`), NCHW `Conv2D`, blur as NCHW
`DepthwiseConv2dNative`, the Reshape/Tile/Reshape nearest upscale, the fused `Conv2DBackpropInput` upscale,
`tf.custom_gradient` wrappers (`IdentityN`), noise, instance norm, style modulation, the mapping network, the
truncation trick, the three progressive-growing structures (recursive `tf.cond` chains => Switch/Merge,
linear lerp_clip, fixed), `G_style`'s `Assign(G_synthesis/lod <- lod_in)` control dependency, and the uint8
output transform that `Gs.run(..., output_transform=...)` appends (Split, Transpose, ClipByValue, Cast, with
`/device:GPU:0` device attributes).

The builder functions below are an independent re-implementation of `training/networks_stylegan.py` and the
parts of `dnnlib.tflib` (Network.get_output_for / Network.run, lerp, convert_images_to_uint8) that shape the
graph. They use TF 1.x graph mode (`tf.compat.v1`, v2 behaviour disabled) so variables are ref variables:
`VariableV2` + `<var>/read` Identity, which freezing turns into `Const` + `Identity`.

Like the official `tflib.Network`, every network is first built once as a "template" (linear structure,
`is_template_graph=True`) which creates the variables; the graph we freeze is a second, real build that
reuses them. This matters for the recursive structure: variables must not be created inside `tf.cond`.
Deviation from the official naming: our template lives under `Template/<net>/` (the official one is `<net>/`
and pushes the real build to `<net>_1/`), so the real build gets the clean scopes `G_synthesis/4x4/Const`,
`G_synthesis/32x32/Conv0_up`, `Gs/G_mapping/Dense0`, `Gs/Truncation`, `Gs/images_out`, ... Template nodes are
pruned by freezing, so this only affects name prefixes (which sgc must not rely on anyway).

Other deviations, none of which changes the op sequences of the frozen graphs: options of the official
functions that StyleGAN v1 never uses at inference (relu, pixel norm in synthesis, no const input, labels,
training-only dlatent_avg update / style mixing) are left out; under TF 2.21, `tf.concat` of the single
per-GPU output in the uint8 graph becomes `Identity "Gs/_Run/concat/concat"` (TF 1.x named it `concat`).

Weights are random but deterministic: every variable gets values from a numpy RNG seeded with
(global seed, crc32 of the variable's *local* name), so networks that share variable names share values.
Biases, noise strengths, the const input and dlatent_avg get non-zero random values (official init: zeros /
ones) so every path contributes; ToRGB weights are scaled by 0.25 so images mostly lie in [-1, 1] and the
uint8 fixture is not all saturated. Consequences we check below: recursive, linear and fixed synthesis
graphs produce the same image at lod 0; the fused-upscale graph does not (the official fused op equals
upscale + conv with a spatially flipped 3x3 kernel, which the numpy check models); `Gs` output equals
synthesis(truncate(mapping(z))); the uint8 fixture equals the float generator output passed through the
uint8 transform in numpy.

How the reference outputs are computed
--------------------------------------
TensorFlow's stock CPU kernels do not implement NCHW `Conv2D`, `DepthwiseConv2dNative` or
`Conv2DBackpropInput` (running the frozen graphs in a plain session fails with UnimplementedError /
InvalidArgumentError). We run the *live* session (before freezing) with Grappler's layout optimizer told to
convert NCHW to NHWC on CPU (`rewrite_options.cpu_layout_conversion = NCHW_TO_NHWC`); Grappler then rewrites
those nodes to NHWC with Transposes around them, for execution only -- the GraphDef we save is untouched.
`allow_soft_placement` lets the `/device:GPU:0` nodes of the uint8 graph run on the CPU. The official tflib
session option `place_pruned_graph=True` must NOT be set: with it the layout conversion does not take effect.
Note: TF 2.21's oneDNN kernels (enabled by default on x86) *do* run NCHW convolutions without any conversion;
we set TF_ENABLE_ONEDNN_OPTS=0 so that the reference path is always the Eigen kernels + layout conversion
described above (if the conversion did not happen, the run would fail instead of silently taking another
path). Both paths agree to ~1e-5 with each other and with the pure-numpy forward pass below.

Reference outputs are computed before freezing because the frozen generator graphs cannot be re-imported by
TensorFlow: freezing turns `G_synthesis/lod` into a `Const`, and the `Assign` that writes it then has a
non-ref input. This is what real frozen StyleGAN graphs look like; we do NOT patch it -- sgc has to cope.

Verification (run after generation unless --no-verify): frozen graphs without the Assign are re-imported and
re-run; a pure-numpy forward pass of the fixed synthesis network (no TF convolutions at all) is compared with
the TF reference (also for the fused graph, see np_synthesis_fixed); the cross-fixture identities listed
above are checked.

Usage
-----
    python tools/make_fixtures.py                      # small fixtures -> tests/fixtures (committed)
    python tools/make_fixtures.py --only mapping       # just one fixture
    python tools/make_fixtures.py --full --out tests/fixtures-full [--only synthesis_1024]
    python tools/make_fixtures.py --random-noise        # generator_random_noise_32 -> tests/fixtures-random

generator_random_noise_32 is generator_full_32 built with randomize_noise=True (RandomStandardNormal per layer),
kept out of tests/fixtures because its output is random: output_0.npy is one TF draw; meta.json adds the
deterministic dlatents reference, the random ops with their seeds, and noise_statistics (tests/random_noise.rs).

Each fixture is a directory with graph.pb (frozen GraphDef), meta.json (description, inputs, outputs, op
histogram) and input_*.npy / output_*.npy. `mapping` also gets graph.pbtxt (text format of the same GraphDef).
Progressive fixtures also get tap_<R>.npy: TF's value of the ToRGB tap at each lower resolution R at lod 0 (meta.json
"taps"), the references of `sgc lower --resolution R`; generator_full_32 also gets the truncated dlatents and the
image at psi 0.5 and psi 1 (meta.json "references").
"""

import argparse
import collections
import inspect
import json
import os
import re
import sys
import time
import zlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# oneDNN kernels (on by default on x86) happen to run NCHW convolutions on CPU; switch them off so the reference
# path is always the same: stock Eigen kernels (NHWC only) behind Grappler's NCHW->NHWC layout conversion.
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"

import numpy as np  # noqa: E402
import tensorflow as tf_root  # noqa: E402

tf = tf_root.compat.v1
tf.disable_v2_behavior()

from google.protobuf import text_format  # noqa: E402
from tensorflow.core.protobuf import rewriter_config_pb2  # noqa: E402

GLOBAL_SEED = 20190205

# ----------------------------------------------------------------------------------------------------------
# Small tflib-like helpers.


def lerp(a, b, t):
    with tf.name_scope("Lerp"):
        return a + (b - a) * t


def lerp_clip(a, b, t):
    with tf.name_scope("LerpClip"):
        return a + (b - a) * tf.clip_by_value(t, 0.0, 1.0)


def absolute_name_scope(scope):
    return tf.name_scope(scope + "/")


def absolute_variable_scope(scope, **kwargs):
    return tf.variable_scope(tf.VariableScope(name=scope, **kwargs), auxiliary_name_scope=False)


def dims(shape):
    return [d.value for d in shape]


class Net:
    """Minimal stand-in for dnnlib.tflib.Network: variable scope + template build + get_output_for()."""

    def __init__(self, name, build_func, **static_kwargs):
        self.name = name
        self.scope = name
        self.build_func = build_func
        self.static_kwargs = dict(static_kwargs)
        self.components = {}
        sig = inspect.signature(build_func).parameters.values()
        self.input_names = [p.name for p in sig
                            if p.kind == p.POSITIONAL_OR_KEYWORD and p.default is p.empty]
        # Template build: creates the variables (outside any control flow / control dependencies).
        kwargs = dict(self.static_kwargs, is_template_graph=True, components=self.components)
        with absolute_variable_scope(self.scope, reuse=tf.AUTO_REUSE), \
                absolute_name_scope("Template/" + self.scope), tf.control_dependencies(None):
            self.input_templates = [tf.placeholder(tf.float32, name=n) for n in self.input_names]
            out = build_func(*self.input_templates, **kwargs)
        self.output_templates = [out] if not isinstance(out, tuple) else list(out)
        self.input_shapes = [dims(t.shape) for t in self.input_templates]
        self.input_shape = self.input_shapes[0]
        self.own_vars = collections.OrderedDict(
            (v.name[len(self.scope) + 1:].split(":")[0], v) for v in tf.global_variables(self.scope + "/"))
        self.vars = collections.OrderedDict(self.own_vars)
        for comp in self.components.values():
            self.vars.update((comp.name + "/" + n, v) for n, v in comp.vars.items())

    def find_var(self, local_name):
        return self.vars[local_name]

    def get_output_for(self, *in_expr, absolute=False, **dynamic_kwargs):
        kwargs = dict(self.static_kwargs)
        kwargs.update(dynamic_kwargs)
        kwargs["is_template_graph"] = False
        kwargs["components"] = self.components
        scope = absolute_name_scope(self.name) if absolute else tf.name_scope(self.name)
        with absolute_variable_scope(self.scope, reuse=True), scope:
            final = [tf.identity(e, name=n) for e, n in zip(in_expr, self.input_names)]
            out = self.build_func(*final, **kwargs)
        for e, f in zip(in_expr, final):      # propagate input shapes back, like tflib does
            e.set_shape(f.shape)
        return out


# ----------------------------------------------------------------------------------------------------------
# Primitive 4D ops (NCHW), same op sequences as the official networks_stylegan.py.


def _blur2d_raw(x, f=(1, 2, 1), normalize=True, flip=False, stride=1):
    k = np.array(f, dtype=np.float32)
    if k.ndim == 1:
        k = np.outer(k, k)
    if normalize:
        k = k / np.sum(k)
    if flip:
        k = k[::-1, ::-1]
    k = np.tile(k[:, :, None, None], [1, 1, int(x.shape[1]), 1]).astype(np.float32)
    if k.shape[:2] == (1, 1) and k[0, 0, 0, 0] == 1:
        return x
    x = tf.cast(x, tf.float32)
    kt = tf.constant(k, dtype=x.dtype, name="filter")
    return tf.nn.depthwise_conv2d(x, kt, strides=[1, 1, stride, stride], padding="SAME", data_format="NCHW")


def _upscale2d_raw(x, factor=2, gain=1):
    if gain != 1:
        x = x * gain
    if factor == 1:
        return x
    c, h, w = x.shape[1], x.shape[2], x.shape[3]
    x = tf.reshape(x, [-1, c, h, 1, w, 1])
    x = tf.tile(x, [1, 1, 1, factor, 1, factor])
    return tf.reshape(x, [-1, c, h * factor, w * factor])


def _downscale2d_raw(x, factor=2, gain=1):
    if factor == 2:
        return _blur2d_raw(x, f=[np.sqrt(gain) / factor] * factor, normalize=False, stride=factor)
    if gain != 1:
        x = x * gain
    if factor == 1:
        return x
    ks = [1, 1, factor, factor]
    return tf.nn.avg_pool(x, ksize=ks, strides=ks, padding="VALID", data_format="NCHW")


def blur2d(x, f=(1, 2, 1), normalize=True):
    with tf.variable_scope("Blur2D"):
        @tf.custom_gradient
        def func(x):
            y = _blur2d_raw(x, f, normalize)

            def grad(dy):
                return _blur2d_raw(dy, f, normalize, flip=True)
            return y, grad
        return func(x)


def upscale2d(x, factor=2):
    with tf.variable_scope("Upscale2D"):
        @tf.custom_gradient
        def func(x):
            y = _upscale2d_raw(x, factor)

            def grad(dy):
                return _downscale2d_raw(dy, factor, gain=factor ** 2)
            return y, grad
        return func(x)


def get_weight(shape, gain=np.sqrt(2), use_wscale=False, lrmul=1):
    fan_in = np.prod(shape[:-1])
    he_std = gain / np.sqrt(fan_in)
    if use_wscale:
        init_std, runtime_coef = 1.0 / lrmul, he_std * lrmul
    else:
        init_std, runtime_coef = he_std / lrmul, lrmul
    w = tf.get_variable("weight", shape=shape, initializer=tf.initializers.random_normal(0, init_std))
    return w * runtime_coef


def dense(x, fmaps, **kwargs):
    if len(x.shape) > 2:
        x = tf.reshape(x, [-1, int(np.prod(dims(x.shape[1:])))])
    w = tf.cast(get_weight([x.shape[1].value, fmaps], **kwargs), x.dtype)
    return tf.matmul(x, w)


def conv2d(x, fmaps, kernel, **kwargs):
    w = tf.cast(get_weight([kernel, kernel, x.shape[1].value, fmaps], **kwargs), x.dtype)
    return tf.nn.conv2d(x, w, strides=[1, 1, 1, 1], padding="SAME", data_format="NCHW")


def upscale2d_conv2d(x, fmaps, kernel, fused_scale="auto", **kwargs):
    if fused_scale == "auto":
        fused_scale = min(dims(x.shape[2:])) * 2 >= 128
    if not fused_scale:
        return conv2d(upscale2d(x), fmaps, kernel, **kwargs)
    # Nearest 2x upscale followed by a 3x3 conv == transposed conv (stride 2) with a 4x4 kernel made of four
    # shifted copies of the 3x3 kernel.
    w = get_weight([kernel, kernel, x.shape[1].value, fmaps], **kwargs)
    w = tf.transpose(w, [0, 1, 3, 2])
    w = tf.pad(w, [[1, 1], [1, 1], [0, 0], [0, 0]], mode="CONSTANT")
    w = tf.add_n([w[1:, 1:], w[:-1, 1:], w[1:, :-1], w[:-1, :-1]])
    w = tf.cast(w, x.dtype)
    out_shape = [tf.shape(x)[0], fmaps, x.shape[2] * 2, x.shape[3] * 2]
    return tf.nn.conv2d_transpose(x, w, out_shape, strides=[1, 1, 2, 2], padding="SAME", data_format="NCHW")


def apply_bias(x, lrmul=1):
    b = tf.get_variable("bias", shape=[x.shape[1]], initializer=tf.initializers.zeros()) * lrmul
    b = tf.cast(b, x.dtype)
    if len(x.shape) == 2:
        return x + b
    return x + tf.reshape(b, [1, -1, 1, 1])


def leaky_relu(x, alpha=0.2):
    with tf.variable_scope("LeakyReLU"):
        alpha = tf.constant(alpha, dtype=x.dtype, name="alpha")

        @tf.custom_gradient
        def func(x):
            y = tf.maximum(x, x * alpha)

            def grad(dy):
                return tf.where(y >= 0, dy, dy * alpha)
            return y, grad
        return func(x)


def pixel_norm(x, epsilon=1e-8):
    with tf.variable_scope("PixelNorm"):
        eps = tf.constant(epsilon, dtype=x.dtype, name="epsilon")
        return x * tf.rsqrt(tf.reduce_mean(tf.square(x), axis=1, keepdims=True) + eps)


def instance_norm(x, epsilon=1e-8):
    with tf.variable_scope("InstanceNorm"):
        orig_dtype = x.dtype
        x = tf.cast(x, tf.float32)
        x -= tf.reduce_mean(x, axis=[2, 3], keepdims=True)
        eps = tf.constant(epsilon, dtype=x.dtype, name="epsilon")
        x *= tf.rsqrt(tf.reduce_mean(tf.square(x), axis=[2, 3], keepdims=True) + eps)
        return tf.cast(x, orig_dtype)


def style_mod(x, dlatent, **kwargs):
    with tf.variable_scope("StyleMod"):
        style = apply_bias(dense(dlatent, fmaps=x.shape[1] * 2, gain=1, **kwargs))
        style = tf.reshape(style, [-1, 2, x.shape[1]] + [1] * (len(x.shape) - 2))
        return x * (style[:, 0] + 1) + style[:, 1]


def apply_noise(x, noise_var=None, randomize_noise=True):
    with tf.variable_scope("Noise"):
        if noise_var is None or randomize_noise:
            noise = tf.random_normal([tf.shape(x)[0], 1, x.shape[2], x.shape[3]], dtype=x.dtype)
        else:
            noise = tf.cast(noise_var, x.dtype)
        weight = tf.get_variable("weight", shape=[x.shape[1].value], initializer=tf.initializers.zeros())
        return x + noise * tf.reshape(tf.cast(weight, x.dtype), [1, -1, 1, 1])


# ----------------------------------------------------------------------------------------------------------
# Networks: G_style, G_mapping, G_synthesis (same structure, defaults and scope names as the official code).


def G_style(latents_in, labels_in, truncation_psi=0.7, truncation_cutoff=8, is_template_graph=False,
            components=None, **kwargs):
    if truncation_psi is not None and truncation_psi == 1:
        truncation_psi = None
    if truncation_cutoff is not None and truncation_cutoff <= 0:
        truncation_cutoff = None
    # Inference graph only: no dlatent_avg update, no style mixing (is_training=False).
    if "synthesis" not in components:
        components["synthesis"] = Net("G_synthesis", G_synthesis, **kwargs)
    num_layers = components["synthesis"].input_shape[1]
    dlatent_size = components["synthesis"].input_shape[2]
    if "mapping" not in components:
        components["mapping"] = Net("G_mapping", G_mapping, dlatent_broadcast=num_layers, **kwargs)

    lod_in = tf.get_variable("lod", initializer=np.float32(0), trainable=False)
    dlatent_avg = tf.get_variable("dlatent_avg", shape=[dlatent_size], initializer=tf.initializers.zeros(),
                                  trainable=False)

    dlatents = components["mapping"].get_output_for(latents_in, labels_in, **kwargs)

    if truncation_psi is not None and truncation_cutoff is not None:
        with tf.variable_scope("Truncation"):
            layer_idx = np.arange(num_layers)[np.newaxis, :, np.newaxis]
            ones = np.ones(layer_idx.shape, dtype=np.float32)
            coefs = tf.where(layer_idx < truncation_cutoff, truncation_psi * ones, ones)
            dlatents = lerp(dlatent_avg, dlatents, coefs)

    with tf.control_dependencies([tf.assign(components["synthesis"].find_var("lod"), lod_in)]):
        images_out = components["synthesis"].get_output_for(
            dlatents, force_clean_graph=is_template_graph, **kwargs)
    return tf.identity(images_out, name="images_out")


def G_mapping(latents_in, labels_in, latent_size=512, label_size=0, dlatent_size=512, dlatent_broadcast=None,
              mapping_layers=8, mapping_fmaps=512, mapping_lrmul=0.01, use_wscale=True, normalize_latents=True,
              dtype="float32", **_kwargs):
    act, gain = leaky_relu, np.sqrt(2)
    latents_in.set_shape([None, latent_size])
    labels_in.set_shape([None, label_size])
    x = tf.cast(latents_in, dtype)
    if normalize_latents:
        x = pixel_norm(x)
    for layer_idx in range(mapping_layers):
        with tf.variable_scope("Dense%d" % layer_idx):
            fmaps = dlatent_size if layer_idx == mapping_layers - 1 else mapping_fmaps
            x = dense(x, fmaps=fmaps, gain=gain, use_wscale=use_wscale, lrmul=mapping_lrmul)
            x = apply_bias(x, lrmul=mapping_lrmul)
            x = act(x)
    if dlatent_broadcast is not None:
        with tf.variable_scope("Broadcast"):
            x = tf.tile(x[:, np.newaxis], [1, dlatent_broadcast, 1])
    return tf.identity(x, name="dlatents_out")


def G_synthesis(dlatents_in, dlatent_size=512, num_channels=3, resolution=1024, fmap_base=8192,
                fmap_decay=1.0, fmap_max=512, use_noise=True, randomize_noise=True, use_wscale=True,
                dtype="float32", fused_scale="auto", blur_filter=(1, 2, 1), structure="auto",
                is_template_graph=False, force_clean_graph=False, **_kwargs):
    res_log2 = int(np.log2(resolution))
    assert resolution == 2 ** res_log2 and resolution >= 4

    def nf(stage):
        return min(int(fmap_base / (2.0 ** (stage * fmap_decay))), fmap_max)

    def blur(x):
        return blur2d(x, blur_filter) if blur_filter else x

    if is_template_graph:
        force_clean_graph = True
    if force_clean_graph:
        randomize_noise = False
    if structure == "auto":
        structure = "linear" if force_clean_graph else "recursive"
    act, gain = leaky_relu, np.sqrt(2)
    num_layers = res_log2 * 2 - 2

    dlatents_in.set_shape([None, num_layers, dlatent_size])
    dlatents_in = tf.cast(dlatents_in, dtype)
    lod_in = tf.cast(tf.get_variable("lod", initializer=np.float32(0), trainable=False), dtype)

    noise_inputs = []
    if use_noise:
        for layer_idx in range(num_layers):
            res = layer_idx // 2 + 2
            noise_inputs.append(tf.get_variable("noise%d" % layer_idx, shape=[1, 1, 2 ** res, 2 ** res],
                                                initializer=tf.initializers.random_normal(), trainable=False))

    def layer_epilogue(x, layer_idx):
        if use_noise:
            x = apply_noise(x, noise_inputs[layer_idx], randomize_noise=randomize_noise)
        x = apply_bias(x)
        x = act(x)
        x = instance_norm(x)
        return style_mod(x, dlatents_in[:, layer_idx], use_wscale=use_wscale)

    with tf.variable_scope("4x4"):
        with tf.variable_scope("Const"):
            x = tf.get_variable("const", shape=[1, nf(1), 4, 4], initializer=tf.initializers.ones())
            x = layer_epilogue(tf.tile(tf.cast(x, dtype), [tf.shape(dlatents_in)[0], 1, 1, 1]), 0)
        with tf.variable_scope("Conv"):
            x = layer_epilogue(conv2d(x, fmaps=nf(1), kernel=3, gain=gain, use_wscale=use_wscale), 1)

    def block(res, x):
        with tf.variable_scope("%dx%d" % (2 ** res, 2 ** res)):
            with tf.variable_scope("Conv0_up"):
                x = layer_epilogue(blur(upscale2d_conv2d(x, fmaps=nf(res - 1), kernel=3, gain=gain,
                                                         use_wscale=use_wscale, fused_scale=fused_scale)),
                                   res * 2 - 4)
            with tf.variable_scope("Conv1"):
                x = layer_epilogue(conv2d(x, fmaps=nf(res - 1), kernel=3, gain=gain, use_wscale=use_wscale),
                                   res * 2 - 3)
            return x

    def torgb(res, x):
        with tf.variable_scope("ToRGB_lod%d" % (res_log2 - res)):
            return apply_bias(conv2d(x, fmaps=num_channels, kernel=1, gain=1, use_wscale=use_wscale))

    images_out = None
    if structure == "fixed":
        for res in range(3, res_log2 + 1):
            x = block(res, x)
        images_out = torgb(res_log2, x)

    if structure == "linear":
        images_out = torgb(2, x)
        for res in range(3, res_log2 + 1):
            lod = res_log2 - res
            x = block(res, x)
            img = torgb(res, x)
            images_out = upscale2d(images_out)
            with tf.variable_scope("Grow_lod%d" % lod):
                images_out = lerp_clip(img, images_out, lod_in - lod)

    if structure == "recursive":
        def cset(cur_lambda, new_cond, new_lambda):
            return lambda: tf.cond(new_cond, new_lambda, cur_lambda)

        def grow(x, res, lod):
            y = block(res, x)
            img = lambda: upscale2d(torgb(res, y), 2 ** lod)  # noqa: E731
            img = cset(img, (lod_in > lod), lambda: upscale2d(
                lerp(torgb(res, y), upscale2d(torgb(res - 1, x)), lod_in - lod), 2 ** lod))
            if lod > 0:
                img = cset(img, (lod_in < lod), lambda: grow(y, res + 1, lod - 1))
            return img()
        images_out = grow(x, 3, res_log2 - 3)

    return tf.identity(images_out, name="images_out")


def convert_images_to_uint8(images, drange=(-1, 1), nchw_to_nhwc=False):
    images = tf.cast(images, tf.float32)
    if nchw_to_nhwc:
        images = tf.transpose(images, [0, 2, 3, 1])
    scale = 255 / (drange[1] - drange[0])
    images = images * scale + (0.5 - drange[0] * scale)  # x * 127.5 + 128
    return tf.saturate_cast(images, tf.uint8)


# ----------------------------------------------------------------------------------------------------------
# Deterministic weights, session config, freezing, saving.


def weight_values(net_vars, seed):
    """local name -> value; the RNG depends only on (seed, local name without the network prefix)."""
    out = {}
    for local, var in net_vars.items():
        key = local.split("/", 1)[1] if local.startswith(("G_synthesis/", "G_mapping/")) else local
        rng = np.random.RandomState([seed, zlib.crc32(key.encode()) & 0x7FFFFFFF])
        shape = dims(var.shape)
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
        out[local] = val.astype(np.float32)
    return out


def load_weights(sess, net, seed):
    vals = weight_values(net.vars, seed)
    for local, var in net.vars.items():
        var.load(vals[local], sess)
    return vals


def session_config():
    cfg = tf.ConfigProto()
    cfg.allow_soft_placement = True       # uint8 graph: nodes are pinned to /device:GPU:0
    # NB: do not set graph_options.place_pruned_graph (the official tflib default): with it the layout
    # conversion below does not take effect and the NCHW convolutions fail on CPU.
    # CPU has no NCHW Conv2D / DepthwiseConv2dNative / Conv2DBackpropInput kernels: let Grappler's layout
    # optimizer rewrite them to NHWC (with Transposes) at execution time. The saved GraphDef stays NCHW.
    cfg.graph_options.rewrite_options.cpu_layout_conversion = rewriter_config_pb2.RewriterConfig.NCHW_TO_NHWC
    cfg.intra_op_parallelism_threads = 2
    cfg.inter_op_parallelism_threads = 2
    return cfg


def node_of(tensor):
    return tensor.op.name


def tensor_ref(tensor):
    return tensor.op.name if tensor.value_index == 0 else "%s:%d" % (tensor.op.name, tensor.value_index)


def op_histogram(graph_def):
    return dict(sorted(collections.Counter(n.op for n in graph_def.node).items()))


def save_fixture(out_dir, name, description, graph_def, inputs, outputs, pbtxt=False, extras=None):
    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if f.endswith((".npy", ".pb", ".pbtxt", ".json")):
            os.remove(os.path.join(d, f))
    with open(os.path.join(d, "graph.pb"), "wb") as f:
        f.write(graph_def.SerializeToString(deterministic=True))  # sorted attr maps
    if pbtxt:
        with open(os.path.join(d, "graph.pbtxt"), "w") as f:
            f.write(text_format.MessageToString(graph_def))
    meta = {"description": description, "inputs": [], "outputs": []}
    for i, (ref, arr) in enumerate(inputs):
        np.save(os.path.join(d, "input_%d.npy" % i), arr)
        meta["inputs"].append({"name": ref, "file": "input_%d.npy" % i})
    for i, (ref, arr) in enumerate(outputs):
        np.save(os.path.join(d, "output_%d.npy" % i), arr)
        meta["outputs"].append({"name": ref, "file": "output_%d.npy" % i})
    meta["ops"] = op_histogram(graph_def)
    # Extra TF references (see fixture_extras): ToRGB taps at each lower resolution, and outputs of variants.
    for key, entries in (extras or {}).items():
        meta[key] = []
        for entry in entries:
            entry = dict(entry)
            if "value" in entry:
                np.save(os.path.join(d, entry["file"]), entry.pop("value"))
            meta[key].append(entry)
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    return meta


# ----------------------------------------------------------------------------------------------------------
# Fixture builders. Each returns (graph_def, inputs[(name, array)], outputs[(name, array)], extra info).

SMALL = dict(resolution=32, latent_size=64, dlatent_size=64, mapping_fmaps=64, fmap_base=256, fmap_max=64)
FULL = dict(latent_size=512, dlatent_size=512, mapping_fmaps=512, fmap_base=8192, fmap_max=512)


def input_array(kind, shape, seed):
    rng = np.random.RandomState([seed, zlib.crc32(kind.encode()) & 0x7FFFFFFF])
    return rng.standard_normal(shape).astype(np.float32)


def freeze(sess, graph, output_nodes):
    gd = graph.as_graph_def()
    return tf.graph_util.convert_variables_to_constants(sess, gd, output_nodes)


def build_synthesis(cfg, structure, fused_scale, seed):
    """G_synthesis evaluated on a [N, L, D] placeholder (like Network.get_output_for in the official code)."""
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(seed)
        kw = dict(cfg, fused_scale=fused_scale)
        if structure != "recursive":          # recursive is what 'auto' gives outside template graphs
            kw["structure"] = structure
        net = Net("G_synthesis", G_synthesis, **kw)
        num_layers, dlat = net.input_shape[1], net.input_shape[2]
        dlatents = tf.placeholder(tf.float32, [None, num_layers, dlat], name="dlatents_in")
        images = net.get_output_for(dlatents, absolute=True, randomize_noise=False)
        sess = tf.Session(graph=graph, config=session_config())
        sess.run(tf.global_variables_initializer())
        vals = load_weights(sess, net, seed)
        x = input_array("dlatents", [1, num_layers, dlat], seed)
        ref = sess.run(images, {dlatents: x})
        gd = freeze(sess, graph, [node_of(images)])
        sess.close()
    return gd, [(node_of(dlatents), x)], [(tensor_ref(images), ref)], vals


def build_mapping(cfg, seed):
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(seed)
        num_layers = int(np.log2(cfg["resolution"])) * 2 - 2
        net = Net("G_mapping", G_mapping, dlatent_broadcast=num_layers, **cfg)
        latents = tf.placeholder(tf.float32, [None, cfg["latent_size"]], name="latents_in")
        labels = tf.placeholder(tf.float32, [None, 0], name="labels_in")
        dlatents = net.get_output_for(latents, labels, absolute=True)
        sess = tf.Session(graph=graph, config=session_config())
        sess.run(tf.global_variables_initializer())
        vals = load_weights(sess, net, seed)
        z = input_array("latents", [1, cfg["latent_size"]], seed)
        ref = sess.run(dlatents, {latents: z})
        gd = freeze(sess, graph, [node_of(dlatents)])
        sess.close()
    return gd, [(node_of(latents), z)], [(tensor_ref(dlatents), ref)], vals


def build_generator(cfg, seed, uint8=False, psi=0.7, randomize_noise=False):
    """Gs (G_style): mapping -> truncation -> synthesis (recursive) with the Assign(lod) control dependency.

    uint8=True reproduces the graph of Gs.run(latents, None, randomize_noise=False, truncation_psi=0.7,
    output_transform=dict(func=convert_images_to_uint8, nchw_to_nhwc=True)) with num_gpus=1: placeholders
    and Split on /cpu:0, the network and the transform on /gpu:0, the (single-input) concat on /cpu:0.
    randomize_noise=True draws every layer's noise with RandomStandardNormal (seeded by the graph seed) instead
    of reading the noise variables; see random_noise_extras for the extra references of that fixture.
    """
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(seed)
        net = Net("Gs", G_style, **cfg)
        run_kwargs = dict(randomize_noise=randomize_noise, truncation_psi=psi, truncation_cutoff=8)
        if not uint8:
            latents = tf.placeholder(tf.float32, [None, cfg["latent_size"]], name="latents_in")
            labels = tf.placeholder(tf.float32, [None, 0], name="labels_in")
            out = net.get_output_for(latents, labels, absolute=True, **run_kwargs)
        else:
            with absolute_name_scope("Gs/_Run"), tf.control_dependencies(None):
                with tf.device("/cpu:0"):
                    latents = tf.placeholder(tf.float32, name="latents_in")
                    labels = tf.placeholder(tf.float32, name="labels_in")
                    in_split = list(zip(*[tf.split(t, 1) for t in (latents, labels)]))
                with tf.device("/gpu:0"):
                    imgs = net.get_output_for(*in_split[0], **run_kwargs)
                    imgs = convert_images_to_uint8(imgs, nchw_to_nhwc=True)
                with tf.device("/cpu:0"):
                    out = tf.concat([imgs], axis=0)
        sess = tf.Session(graph=graph, config=session_config())
        sess.run(tf.global_variables_initializer())
        vals = load_weights(sess, net, seed)
        z = input_array("latents", [1, cfg["latent_size"]], seed)
        ref = sess.run(out, {latents: z})
        gd = freeze(sess, graph, [node_of(out)])
        extras = random_noise_extras(sess, graph, gd, out, {latents: z}) if randomize_noise else None
        sess.close()
    if extras is not None:
        return gd, [(node_of(latents), z)], [(tensor_ref(out), ref)], vals, extras
    return gd, [(node_of(latents), z)], [(tensor_ref(out), ref)], vals


NOISE_DRAWS = 64


def random_noise_extras(sess, graph, graph_def, out, feed):
    """References of the randomize_noise=True generator, whose output is random (each run draws new noise).

    - "references": TF's dlatents (synthesis input after truncation), which no noise reaches: an exact
      reference for `sgc lower --outputs Gs/G_synthesis/dlatents_in`.
    - "random_ops": the RandomStandardNormal nodes with their seeds and output shapes.
    - "noise_statistics": the per-image mean and std of the output over NOISE_DRAWS runs of the same session
      (a seeded stateful op draws the next values of its stream on every run), i.e. how much these statistics
      move when only the noise changes, for a statistical comparison with another runtime's random stream;
      and the same statistics with the noise strengths set to zero and to 3x theirs, to show what they detect.
    """
    frozen = {n.name for n in graph_def.node}
    rand = [op for op in graph.get_operations() if op.type == "RandomStandardNormal" and op.name in frozen]
    dlatents = graph.get_tensor_by_name("Gs/G_synthesis/dlatents_in:0")

    def stats(img):   # per channel of the one image: spatial mean and std
        return (np.mean(img[0], axis=(1, 2), dtype=np.float64).tolist(),
                np.std(img[0], axis=(1, 2), dtype=np.float64).tolist())
    draws = [stats(sess.run(out, feed)) for _ in range(NOISE_DRAWS)]
    # Zero / triple noise: scale the per-channel noise strengths (the noise ops sit inside tf.cond branches,
    # where TF cannot feed them). The graph is frozen already; this only changes the live session.
    strengths = [v for v in tf.global_variables() if v.name.endswith("Noise/weight:0")]
    saved = sess.run(strengths)
    scaled = {}
    for k in (0, 3):
        for v, val in zip(strengths, saved):
            v.load(val * k, sess)
        scaled[k] = stats(sess.run(out, feed))
    zero, triple = scaled[0], scaled[3]
    return {
        "references": [{"what": "dlatents (synthesis input, after truncation psi 0.7 cutoff 8); deterministic",
                        "tensor": "Gs/G_synthesis/dlatents_in", "file": "dlatents.npy",
                        "value": sess.run(dlatents, feed)}],
        "random_ops": [{"name": op.name, "seed": op.get_attr("seed"), "seed2": op.get_attr("seed2"),
                        "shape": dims(op.outputs[0].shape)} for op in rand],
        "noise_statistics": [{"what": "per-channel spatial mean and std of the output image ([draw][channel]) "
                              "over %d TF runs with fresh noise; *_zero_noise / *_triple_noise: one run with every "
                              "Noise/weight set to 0 / to 3x its value" % NOISE_DRAWS, "draws": NOISE_DRAWS,
                              "mean": [m for m, _ in draws], "std": [s for _, s in draws],
                              "mean_zero_noise": zero[0], "std_zero_noise": zero[1],
                              "mean_triple_noise": triple[0], "std_triple_noise": triple[1]}],
    }


TAP_RE = re.compile(r"ToRGB_lod(\d+)/add$")


def linear_taps(kind, cfg, seed, feed):
    """TF's value of every ToRGB tap (the 1x1 conv to RGB + bias after each resolution block) at lod 0.

    Computed on the *linear* structure, where every ToRGB is live at lod 0 (`ToRGB_lod2/add` there equals
    `Grow_lod2/LerpClip/add`); weights are seeded by variable name, so they are the recursive graph's. These are
    the references for resolution pruning (sgc lower --resolution R). For the generator (G_style, psi 0.7,
    cutoff 8) also returns the dlatents the synthesis network receives (after truncation) and checks the
    image against the fixture's. Returns (taps {resolution: array}, image, dlatents or None).
    """
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(seed)
        if kind == "synthesis":
            net = Net("G_synthesis", G_synthesis, structure="linear", **cfg)
            inp = tf.placeholder(tf.float32, [None] + net.input_shape[1:], name="dlatents_in")
            out = net.get_output_for(inp, absolute=True, randomize_noise=False)
        else:
            net = Net("Gs", G_style, structure="linear", **cfg)
            inp = tf.placeholder(tf.float32, [None, cfg["latent_size"]], name="latents_in")
            labels = tf.placeholder(tf.float32, [None, 0], name="labels_in")
            out = net.get_output_for(inp, labels, absolute=True, randomize_noise=False, truncation_psi=0.7,
                                     truncation_cutoff=8)
        taps = {}
        for op in graph.get_operations():
            m = TAP_RE.search(op.name)
            if m and not op.name.startswith("Template/") and int(m.group(1)) > 0:
                taps[cfg["resolution"] >> int(m.group(1))] = op.outputs[0]
        fetch = {"taps": taps, "image": out}
        if kind == "generator":
            fetch["dlatents"] = graph.get_tensor_by_name("Gs/G_synthesis/dlatents_in:0")
        sess = tf.Session(graph=graph, config=session_config())
        sess.run(tf.global_variables_initializer())
        load_weights(sess, net, seed)
        got = sess.run(fetch, {inp: feed})
        sess.close()
    return got["taps"], got["image"], got.get("dlatents")


def with_extras(result, kind, cfg, seed, variants=False):
    """Adds the extra references of a fixture: "taps" (ToRGB taps at each lower resolution, lod 0) and, with
    variants=True (generator), "references": the truncated dlatents and the image at psi 0.5 and psi 1."""
    gd, ins, outs, vals = result
    taps, image, dlatents = linear_taps(kind, cfg, seed, ins[0][1])
    d = maxdiff(image, outs[0][1])
    print("    linear-structure image vs reference: max|d|=%g" % d)
    assert d < 1e-4 * max(1.0, float(np.abs(outs[0][1]).max())), "linear taps do not match the fixture"
    extras = {"taps": [{"resolution": r, "file": "tap_%d.npy" % r, "value": taps[r]} for r in sorted(taps)]}
    if variants:
        refs = [{"what": "dlatents (synthesis input, after truncation psi 0.7 cutoff 8)",
                 "file": "dlatents.npy", "value": dlatents}]
        for psi in (0.5, 1.0):
            img = build_generator(cfg, seed, psi=psi)[2][0][1]
            refs.append({"what": "image at truncation psi %g (cutoff 8)" % psi, "psi": psi,
                         "file": "image_psi_%g.npy" % psi, "value": img})
        extras["references"] = refs
    return gd, ins, outs, vals, extras


def small_description():
    return "32 px, latent/dlatent 64, fmap_base 256, fmap_max 64, random seeded weights, lod 0"


def fixture_specs(full, random_noise=False):
    """name -> (description, builder)."""
    seed = GLOBAL_SEED
    specs = collections.OrderedDict()
    if random_noise:
        specs["generator_random_noise_32"] = (
            "Gs (G_style) as in generator_full_32 (same weights) but built with randomize_noise=True: every "
            "layer's noise is Shape -> StridedSlice -> Pack [N,1,H,W] -> RandomStandardNormal (seed/seed2 set "
            "from the graph seed) -> Mul -> AddV2 instead of the noise variables. OUTPUTS ARE RANDOM: output_0 "
            "is one TF draw, for shape and rough range only; another runtime (or another TF run) draws other "
            "noise. Deterministic reference: dlatents.npy (no noise reaches it); noise_statistics: per-image "
            "mean/std of the output over many TF draws. " + small_description(),
            lambda: build_generator(SMALL, seed, randomize_noise=True))
        return specs
    if not full:
        c = SMALL
        small = small_description()
        specs["synthesis_recursive_32"] = (
            "G_synthesis, recursive structure (nested tf.cond on lod => Switch/Merge), randomize_noise=False, "
            + small + ". Input dlatents [N,8,64], output NCHW image [N,3,32,32].",
            lambda: with_extras(build_synthesis(c, "recursive", "auto", seed), "synthesis", c, seed))
        specs["synthesis_linear_32"] = (
            "G_synthesis, linear structure (lerp_clip on lod, all ToRGB_lod*), " + small
            + ". Same weights as synthesis_recursive_32, so the same output.",
            lambda: with_extras(build_synthesis(c, "linear", "auto", seed), "synthesis", c, seed))
        specs["synthesis_fixed_32"] = (
            "G_synthesis, fixed structure (no growth logic), " + small
            + ". Same weights as synthesis_recursive_32, so the same output.",
            lambda: build_synthesis(c, "fixed", "auto", seed))
        specs["synthesis_fused_32"] = (
            "G_synthesis, recursive structure with fused upscale forced on for every block "
            "(Conv2DBackpropInput, weights Transpose/Pad/4xStridedSlice/AddN), " + small
            + ". Same weights as synthesis_recursive_32, but NOT the same output: like the official code, the fused"
            " op equals upscale + 3x3 conv with a spatially flipped kernel.",
            lambda: build_synthesis(c, "recursive", True, seed))
        specs["mapping"] = (
            "G_mapping: pixel norm + 8 dense layers (lrmul 0.01, leaky relu 0.2) + broadcast to [N,8,64]. "
            "Latents [N,64] -> dlatents [N,8,64]. Same weights as the mapping inside generator_full_32.",
            lambda: build_mapping(c, seed))
        specs["generator_full_32"] = (
            "Gs (G_style): mapping -> truncation (psi 0.7, cutoff 8) -> G_synthesis (recursive) under a "
            "control dependency on Assign(G_synthesis/lod <- Gs/lod). After freezing the Assign has a Const "
            "ref input, so TF cannot re-import this graph. " + small + ". Output NCHW float image.",
            lambda: with_extras(build_generator(c, seed), "generator", c, seed, variants=True))
        specs["generator_uint8_32"] = (
            "Graph built by Gs.run(latents, None, randomize_noise=False, truncation_psi=0.7, "
            "output_transform=dict(func=convert_images_to_uint8, nchw_to_nhwc=True)): Split(num_split 1) on "
            "the input, Gs as in generator_full_32, then Transpose [0,2,3,1] -> *127.5 -> +128 -> ClipByValue "
            "0..255 -> Cast uint8; nodes carry /device:GPU:0 and /device:CPU:0. Output NHWC uint8.",
            lambda: build_generator(c, seed, uint8=True))
    else:
        for r in (256, 1024):
            c = dict(FULL, resolution=r)
            specs["synthesis_%d" % r] = (
                "Full-size G_synthesis %d px (fmap_base 8192, fmap_max 512, dlatent 512), recursive structure, "
                "fused upscale auto (>=128 px), random seeded weights, lod 0." % r,
                (lambda c=c: with_extras(build_synthesis(c, "recursive", "auto", seed), "synthesis", c, seed)))
            specs["generator_full_%d" % r] = (
                "Full-size Gs (G_style) %d px: mapping -> truncation (psi 0.7, cutoff 8) -> recursive "
                "G_synthesis with the Assign(lod) control dependency, random seeded weights." % r,
                (lambda c=c: with_extras(build_generator(c, seed), "generator", c, seed)))
    return specs


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


def load_fixture(out_dir, name):
    d = os.path.join(out_dir, name)
    with open(os.path.join(d, "meta.json")) as f:
        meta = json.load(f)
    gd = tf.GraphDef()
    with open(os.path.join(d, "graph.pb"), "rb") as f:
        gd.ParseFromString(f.read())
    ins = [(e["name"], np.load(os.path.join(d, e["file"]))) for e in meta["inputs"]]
    outs = [(e["name"], np.load(os.path.join(d, e["file"]))) for e in meta["outputs"]]
    return meta, gd, ins, outs


def run_frozen(gd, feeds, fetch):
    graph = tf.Graph()
    with graph.as_default():
        tf.import_graph_def(gd, name="")
        with tf.Session(graph=graph, config=session_config()) as sess:
            feed = {graph.get_tensor_by_name(n if ":" in n else n + ":0"): a for n, a in feeds}
            return sess.run(graph.get_tensor_by_name(fetch if ":" in fetch else fetch + ":0"), feed)


def maxdiff(a, b):
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))


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
        if name != "mapping":
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
        check(name + ": frozen re-import reproduces reference", maxdiff(got, outs[0][1]) == 0.0,
              "max|d|=%g" % maxdiff(got, outs[0][1]))
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


# ----------------------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--full", action="store_true", help="full-size 256/1024 graphs (not committed)")
    ap.add_argument("--random-noise", action="store_true",
                    help="the randomize_noise=True generator (-> tests/fixtures-random)")
    ap.add_argument("--out", default=None,
                    help="output dir (default tests/fixtures, tests/fixtures-full or tests/fixtures-random)")
    ap.add_argument("--only", action="append", default=None, help="build only this fixture (repeatable)")
    ap.add_argument("--no-verify", action="store_true")
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sub = "fixtures-random" if args.random_noise else "fixtures-full" if args.full else "fixtures"
    out_dir = args.out or os.path.join(root, "tests", sub)
    specs = fixture_specs(args.full, args.random_noise)
    names = args.only or list(specs)
    for n in names:
        if n not in specs:
            sys.exit("unknown fixture %r; known: %s" % (n, ", ".join(specs)))
    os.makedirs(out_dir, exist_ok=True)
    weights = {}
    for name in names:
        desc, builder = specs[name]
        t0 = time.time()
        gd, ins, outs, vals, *extras = builder()
        weights[name] = vals
        meta = save_fixture(out_dir, name, desc, gd, ins, outs, pbtxt=(name == "mapping"),
                            extras=extras[0] if extras else None)
        size = os.path.getsize(os.path.join(out_dir, name, "graph.pb"))
        print("%-24s %5d nodes  %9d bytes  %6.1fs  out %s %s" % (
            name, len(gd.node), size, time.time() - t0, outs[0][1].shape, outs[0][1].dtype))
        print("    " + ", ".join("%s:%d" % kv for kv in meta["ops"].items()))
    if args.random_noise and not args.no_verify:
        print("verification:")
        if not verify_random_noise(out_dir):
            sys.exit("verification FAILED")
    elif not args.full and not args.no_verify:
        print("verification:")
        if not verify_small(out_dir, weights):
            sys.exit("verification FAILED")


if __name__ == "__main__":
    main()
