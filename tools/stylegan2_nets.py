"""StyleGAN2 network builders for the fixtures, TF 1.x graph mode: G_main, G_mapping and G_synthesis_stylegan2
('skip' architecture) with the pure-TF reference paths of `fused_bias_act` and `upfirdn_2d`, op for op as the
official StyleGAN2 TensorFlow code builds them (../shared/notes/stylegan2-graph-facts.md); an independent
re-implementation, sharing the tflib stand-in (Net) with stylegan_nets.py.

Left out, as in stylegan_nets.py: what inference never builds (the 'orig' and 'resnet' architectures,
downsampling convs, labels, training-only dlatent_avg updates and style mixing, truncation cutoff values
computed at run time).
"""

import numpy as np
from stylegan_nets import Net, tf  # noqa: F401  (Net re-exported for the fixture builders)


# ----------------------------------------------------------------------------------------------------------
# Layers: equalized-lr weights, dense, bias + activation, modulated conv.


def _shape(x, i):
    """A static dimension when known, else the run-time one (this is where Shape/StridedSlice come from)."""
    s = x.shape[i].value
    return s if s is not None else tf.shape(x)[i]


def get_weight(shape, gain=1, lrmul=1, weight_var="weight"):
    fan_in = np.prod(shape[:-1])
    he_std = gain / np.sqrt(fan_in)
    init_std, runtime_coef = 1.0 / lrmul, he_std * lrmul
    w = tf.get_variable(weight_var, shape=shape, initializer=tf.initializers.random_normal(0, init_std))
    return w * runtime_coef


def dense_layer(x, fmaps, gain=1, lrmul=1, weight_var="weight"):
    if x.shape.ndims > 2:
        x = tf.reshape(x, [-1, int(np.prod([d.value for d in x.shape[1:]]))])
    w = get_weight([x.shape[1].value, fmaps], gain=gain, lrmul=lrmul, weight_var=weight_var)
    return tf.matmul(x, tf.cast(w, x.dtype))


def fused_bias_act(x, b, act="linear", alpha=None, gain=None):
    """The reference (pure TF) path: bias on axis 1, activation, activation gain."""
    x = x + tf.reshape(b, [-1 if i == 1 else 1 for i in range(x.shape.rank)])
    if act == "lrelu":
        x = tf.nn.leaky_relu(x, 0.2 if alpha is None else alpha)
        gain = np.sqrt(2) if gain is None else gain
    elif act != "linear":
        raise ValueError("activation %r is not built by these fixtures" % act)
    if gain is not None and gain != 1:
        x = x * gain
    return x


def apply_bias_act(x, act="linear", lrmul=1, bias_var="bias"):
    b = tf.get_variable(bias_var, shape=[x.shape[1]], initializer=tf.initializers.zeros()) * lrmul
    return fused_bias_act(x, b=tf.cast(b, x.dtype), act=act)


def _setup_kernel(k):
    k = np.asarray(k, dtype=np.float32)
    if k.ndim == 1:
        k = np.outer(k, k)
    return k / np.sum(k)


def upfirdn_2d(x, k, upx=1, upy=1, downx=1, downy=1, padx0=0, padx1=0, pady0=0, pady1=0):
    """upfirdn_2d's reference implementation on NHWC `x` with a constant 2-D FIR `k`."""
    k = np.asarray(k, dtype=np.float32)
    in_h, in_w, minor = x.shape[1].value, x.shape[2].value, _shape(x, 3)
    kh, kw = k.shape
    x = tf.reshape(x, [-1, in_h, 1, in_w, 1, minor])                          # zero insertion
    x = tf.pad(x, [[0, 0], [0, 0], [0, upy - 1], [0, 0], [0, upx - 1], [0, 0]])
    x = tf.reshape(x, [-1, in_h * upy, in_w * upx, minor])
    x = tf.pad(x, [[0, 0], [max(pady0, 0), max(pady1, 0)], [max(padx0, 0), max(padx1, 0)], [0, 0]])
    x = x[:, max(-pady0, 0): x.shape[1].value - max(-pady1, 0),
          max(-padx0, 0): x.shape[2].value - max(-padx1, 0), :]
    x = tf.transpose(x, [0, 3, 1, 2])                                          # FIR as a 1-channel conv
    x = tf.reshape(x, [-1, 1, in_h * upy + pady0 + pady1, in_w * upx + padx0 + padx1])
    w = tf.constant(k[::-1, ::-1, np.newaxis, np.newaxis], dtype=x.dtype)
    x = tf.nn.conv2d(x, w, strides=[1, 1, 1, 1], padding="VALID", data_format="NCHW")
    x = tf.reshape(x, [-1, minor, in_h * upy + pady0 + pady1 - kh + 1, in_w * upx + padx0 + padx1 - kw + 1])
    x = tf.transpose(x, [0, 2, 3, 1])
    return x[:, ::downy, ::downx, :]


def _simple_upfirdn_2d(x, k, up=1, pad0=0, pad1=0):
    """NCHW wrapper: every channel of every sample as one single-channel NHWC image."""
    y = tf.reshape(x, [-1, _shape(x, 2), _shape(x, 3), 1])
    y = upfirdn_2d(y, k, upx=up, upy=up, padx0=pad0, padx1=pad1, pady0=pad0, pady1=pad1)
    return tf.reshape(y, [-1, _shape(x, 1), _shape(y, 1), _shape(y, 2)])


def upsample_2d(x, k, factor=2, gain=1):
    k = _setup_kernel(k) * (gain * (factor ** 2))
    p = k.shape[0] - factor
    return _simple_upfirdn_2d(x, k, up=factor, pad0=(p + 1) // 2 + factor - 1, pad1=p // 2)


def upsample_conv_2d(x, w, k, factor=2, gain=1):
    """Stride-2 transposed conv (groups when the batch is folded into channels), then the FIR blur."""
    conv_h, conv_w, in_c, out_c = _shape(w, 0), _shape(w, 1), _shape(w, 2), _shape(w, 3)
    k = _setup_kernel(k) * (gain * (factor ** 2))
    p = (k.shape[0] - factor) - (conv_w - 1)
    output_shape = [_shape(x, 0), out_c, (_shape(x, 2) - 1) * factor + conv_h,
                    (_shape(x, 3) - 1) * factor + conv_w]
    num_groups = _shape(x, 1) // in_c
    w = tf.reshape(w, [conv_h, conv_w, in_c, num_groups, -1])
    w = tf.transpose(w[::-1, ::-1], [0, 1, 4, 3, 2])
    w = tf.reshape(w, [conv_h, conv_w, -1, num_groups * in_c])
    x = tf.nn.conv2d_transpose(x, w, output_shape=output_shape, strides=[1, 1, factor, factor],
                               padding="VALID", data_format="NCHW")
    return _simple_upfirdn_2d(x, k, pad0=(p + 1) // 2 + factor - 1, pad1=p // 2 + 1)


def modulated_conv2d_layer(x, y, fmaps, kernel, up=False, demodulate=True, resample_kernel=None,
                           fused_modconv=True):
    w = get_weight([kernel, kernel, x.shape[1].value, fmaps])
    ww = w[np.newaxis]                                                          # [BkkIO]
    s = dense_layer(y, fmaps=x.shape[1].value, weight_var="mod_weight")         # [BI]
    s = apply_bias_act(s, bias_var="mod_bias") + 1
    ww *= tf.cast(s[:, np.newaxis, np.newaxis, :, np.newaxis], w.dtype)
    if demodulate:
        d = tf.rsqrt(tf.reduce_sum(tf.square(ww), axis=[1, 2, 3]) + 1e-8)     # [BO]
        ww *= d[:, np.newaxis, np.newaxis, np.newaxis, :]
    if fused_modconv:                                                           # batch folded into groups
        x = tf.reshape(x, [1, -1, x.shape[2], x.shape[3]])
        w = tf.reshape(tf.transpose(ww, [1, 2, 3, 0, 4]), [ww.shape[1], ww.shape[2], ww.shape[3], -1])
    else:
        x *= tf.cast(s[:, :, np.newaxis, np.newaxis], x.dtype)
    if up:
        x = upsample_conv_2d(x, tf.cast(w, x.dtype), k=resample_kernel)
    else:
        x = tf.nn.conv2d(x, tf.cast(w, x.dtype), data_format="NCHW", strides=[1, 1, 1, 1], padding="SAME")
    if fused_modconv:
        x = tf.reshape(x, [-1, fmaps, x.shape[2], x.shape[3]])
    elif demodulate:
        x *= tf.cast(d[:, :, np.newaxis, np.newaxis], x.dtype)
    return x


# ----------------------------------------------------------------------------------------------------------
# Networks.


def G_main(latents_in, labels_in, truncation_psi=0.5, truncation_cutoff=None, is_template_graph=False,
           components=None, **kwargs):
    """Mapping -> truncation (psi, optional cutoff) -> synthesis; no `lod` Assign (StyleGAN2 has no lod)."""
    if truncation_psi is not None and truncation_psi == 1:
        truncation_psi = None
    if "synthesis" not in components:
        components["synthesis"] = Net("G_synthesis", G_synthesis_stylegan2, **kwargs)
    num_layers = components["synthesis"].input_shape[1]
    dlatent_size = components["synthesis"].input_shape[2]
    if "mapping" not in components:
        components["mapping"] = Net("G_mapping", G_mapping, dlatent_broadcast=num_layers, **kwargs)
    tf.get_variable("lod", initializer=np.float32(0), trainable=False)
    dlatent_avg = tf.get_variable("dlatent_avg", shape=[dlatent_size], initializer=tf.initializers.zeros(),
                                  trainable=False)
    dlatents = components["mapping"].get_output_for(latents_in, labels_in, **kwargs)
    dlatents = tf.cast(dlatents, tf.float32)
    if truncation_psi is not None:
        with tf.variable_scope("Truncation"):
            layer_idx = np.arange(num_layers)[np.newaxis, :, np.newaxis]
            layer_psi = np.ones(layer_idx.shape, dtype=np.float32)
            if truncation_cutoff is None:
                layer_psi *= truncation_psi
            else:
                layer_psi = tf.where(layer_idx < truncation_cutoff, layer_psi * truncation_psi, layer_psi)
            with tf.name_scope("Lerp"):
                dlatents = dlatent_avg + (dlatents - dlatent_avg) * layer_psi
    images_out = components["synthesis"].get_output_for(dlatents, **kwargs)
    return tf.identity(images_out, name="images_out")


def G_mapping(latents_in, labels_in, latent_size=512, label_size=0, dlatent_size=512, dlatent_broadcast=None,
              mapping_layers=8, mapping_fmaps=512, mapping_lrmul=0.01, mapping_nonlinearity="lrelu",
              normalize_latents=True, dtype="float32", **_kwargs):
    latents_in.set_shape([None, latent_size])
    labels_in.set_shape([None, label_size])
    x = tf.cast(latents_in, dtype)
    if normalize_latents:
        with tf.variable_scope("Normalize"):
            x *= tf.rsqrt(tf.reduce_mean(tf.square(x), axis=1, keepdims=True) + 1e-8)
    for layer_idx in range(mapping_layers):
        with tf.variable_scope("Dense%d" % layer_idx):
            fmaps = dlatent_size if layer_idx == mapping_layers - 1 else mapping_fmaps
            x = apply_bias_act(dense_layer(x, fmaps=fmaps, lrmul=mapping_lrmul), act=mapping_nonlinearity,
                               lrmul=mapping_lrmul)
    if dlatent_broadcast is not None:
        with tf.variable_scope("Broadcast"):
            x = tf.tile(x[:, np.newaxis], [1, dlatent_broadcast, 1])
    return tf.identity(x, name="dlatents_out")


def G_synthesis_stylegan2(dlatents_in, dlatent_size=512, num_channels=3, resolution=1024, fmap_base=16 << 10,
                          fmap_decay=1.0, fmap_min=1, fmap_max=512, randomize_noise=True, architecture="skip",
                          nonlinearity="lrelu", dtype="float32", resample_kernel=(1, 3, 3, 1),
                          fused_modconv=True, taps=None, **_kwargs):
    """`taps`, a dict if given, gets the skip architecture's RGB image after each resolution block
    (resolution -> tensor; the last build wins, so after get_output_for it holds the real graph's)."""
    if architecture != "skip":
        raise ValueError("only the 'skip' architecture is built by these fixtures")
    resolution_log2 = int(np.log2(resolution))

    def nf(stage):
        return int(np.clip(int(fmap_base / (2.0 ** (stage * fmap_decay))), fmap_min, fmap_max))

    num_layers = resolution_log2 * 2 - 2
    dlatents_in.set_shape([None, num_layers, dlatent_size])
    dlatents_in = tf.cast(dlatents_in, dtype)
    resample_kernel = list(resample_kernel)
    noise_inputs = []
    for layer_idx in range(num_layers - 1):
        res = (layer_idx + 5) // 2
        noise_inputs.append(tf.get_variable("noise%d" % layer_idx, shape=[1, 1, 2 ** res, 2 ** res],
                                            initializer=tf.initializers.random_normal(), trainable=False))

    def layer(x, layer_idx, fmaps, kernel, up=False):
        x = modulated_conv2d_layer(x, dlatents_in[:, layer_idx], fmaps=fmaps, kernel=kernel, up=up,
                                   resample_kernel=resample_kernel, fused_modconv=fused_modconv)
        if randomize_noise:
            noise = tf.random_normal([tf.shape(x)[0], 1, x.shape[2], x.shape[3]], dtype=x.dtype)
        else:
            noise = tf.cast(noise_inputs[layer_idx], x.dtype)
        noise_strength = tf.get_variable("noise_strength", shape=[], initializer=tf.initializers.zeros())
        x += noise * tf.cast(noise_strength, x.dtype)
        return apply_bias_act(x, act=nonlinearity)

    def torgb(x, y, res):
        with tf.variable_scope("ToRGB"):
            t = apply_bias_act(modulated_conv2d_layer(x, dlatents_in[:, res * 2 - 3], fmaps=num_channels,
                                                      kernel=1, demodulate=False, fused_modconv=fused_modconv))
            return t if y is None else y + t

    with tf.variable_scope("4x4"):
        with tf.variable_scope("Const"):
            x = tf.get_variable("const", shape=[1, nf(1), 4, 4], initializer=tf.initializers.random_normal())
            x = tf.tile(tf.cast(x, dtype), [tf.shape(dlatents_in)[0], 1, 1, 1])
        with tf.variable_scope("Conv"):
            x = layer(x, layer_idx=0, fmaps=nf(1), kernel=3)
        y = torgb(x, None, 2)
    if taps is not None:
        taps[4] = y
    for res in range(3, resolution_log2 + 1):
        with tf.variable_scope("%dx%d" % (2 ** res, 2 ** res)):
            with tf.variable_scope("Conv0_up"):
                x = layer(x, layer_idx=res * 2 - 5, fmaps=nf(res - 1), kernel=3, up=True)
            with tf.variable_scope("Conv1"):
                x = layer(x, layer_idx=res * 2 - 4, fmaps=nf(res - 1), kernel=3)
            with tf.variable_scope("Upsample"):
                y = upsample_2d(y, k=resample_kernel)
            y = torgb(x, y, res)
        if taps is not None:
            taps[2 ** res] = y
    return tf.identity(y, name="images_out")
