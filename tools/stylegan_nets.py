"""StyleGAN v1 network builders for the fixtures, TF 1.x graph mode: tflib-like helpers (Net), the primitive
NCHW ops, G_style / G_mapping / G_synthesis and convert_images_to_uint8, op for op as in the official
training/networks_stylegan.py and dnnlib.tflib (see make_fixtures.py for the deviations).

Importing this module sets TensorFlow up for the fixture tools (TF_ENABLE_ONEDNN_OPTS=0, `tf` = tf.compat.v1
with v2 behaviour disabled); the other modules take `tf` from here, so this happens before TensorFlow loads.
"""

import collections
import inspect
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# oneDNN kernels (on by default on x86) happen to run NCHW convolutions on CPU; switch them off so the reference
# path is always the same: stock Eigen kernels (NHWC only) behind Grappler's NCHW->NHWC layout conversion.
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"

import numpy as np  # noqa: E402
import tensorflow as tf_root  # noqa: E402

tf = tf_root.compat.v1
tf.disable_v2_behavior()


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
              mapping_layers=8, mapping_fmaps=512, mapping_lrmul=0.01, mapping_nonlinearity="lrelu",
              use_wscale=True, normalize_latents=True, dtype="float32", **_kwargs):
    act, gain = {"relu": (tf.nn.relu, np.sqrt(2)), "lrelu": (leaky_relu, np.sqrt(2))}[mapping_nonlinearity]
    latents_in.set_shape([None, latent_size])
    labels_in.set_shape([None, label_size])
    x = tf.cast(latents_in, dtype)
    if label_size:  # a conditional network: the labels' embedding joins the latents
        with tf.variable_scope("LabelConcat"):
            w = tf.get_variable("weight", shape=[label_size, latent_size],
                                initializer=tf.initializers.random_normal())
            x = tf.concat([x, tf.matmul(tf.cast(labels_in, dtype), tf.cast(w, dtype))], axis=1)
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
                fmap_decay=1.0, fmap_max=512, use_styles=True, const_input_layer=True, use_noise=True,
                randomize_noise=True, nonlinearity="lrelu", use_wscale=True, use_pixel_norm=False,
                use_instance_norm=True, dtype="float32", fused_scale="auto", blur_filter=(1, 2, 1),
                structure="auto", is_template_graph=False, force_clean_graph=False, **_kwargs):
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
    act, gain = {"relu": (tf.nn.relu, np.sqrt(2)), "lrelu": (leaky_relu, np.sqrt(2))}[nonlinearity]
    num_layers = res_log2 * 2 - 2
    num_styles = num_layers if use_styles else 1

    dlatents_in.set_shape([None, num_styles, dlatent_size])
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
        if use_pixel_norm:
            x = pixel_norm(x)
        if use_instance_norm:
            x = instance_norm(x)
        if use_styles:
            x = style_mod(x, dlatents_in[:, layer_idx], use_wscale=use_wscale)
        return x

    with tf.variable_scope("4x4"):
        if const_input_layer:
            with tf.variable_scope("Const"):
                x = tf.get_variable("const", shape=[1, nf(1), 4, 4], initializer=tf.initializers.ones())
                x = layer_epilogue(tf.tile(tf.cast(x, dtype), [tf.shape(dlatents_in)[0], 1, 1, 1]), 0)
        else:  # a dense layer from the first dlatent, with the gain Progressive GAN's code had
            with tf.variable_scope("Dense"):
                x = dense(dlatents_in[:, 0], fmaps=nf(1) * 16, gain=gain / 4, use_wscale=use_wscale)
                x = layer_epilogue(tf.reshape(x, [-1, nf(1), 4, 4]), 0)
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
