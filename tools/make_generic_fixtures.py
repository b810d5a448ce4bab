#!/usr/bin/env python3
"""Fixtures beyond StyleGAN: small TF1-style conv nets frozen to GraphDefs, with TensorFlow's outputs
(tests/fixtures-generic/, committed). Built from tf.compat.v1 ops in graph mode with seeded constant
weights (what freezing makes of variables), batch 2, NHWC as TF1 classifiers were written unless noted:

- `mobilenet_block_16`: conv 3x3 s2 -> FusedBatchNormV3 -> Relu6 -> depthwise 3x3 -> batch norm -> Relu6 ->
  conv 1x1 -> batch norm -> Relu6 -> AvgPool 2x2 -> Mean over H, W -> MatMul + BiasAdd -> Softmax;
- `resnet_block_16`: conv 3x3 -> batch norm -> Relu -> MaxPool 3x3 s2 SAME -> a bottleneck (1x1, 3x3, 1x1,
  each with batch norm) added to its input -> Relu -> MaxPool 2x2 VALID -> Reshape -> MatMul -> Softmax;
- `squeeze_excite_16`: conv 3x3 -> FusedBatchNormV3 -> Relu -> conv 3x3 + BiasAdd -> swish x*sigmoid(x) ->
  squeeze-excite (Mean over H, W keepdims -> 1x1 conv + BiasAdd -> Relu -> Reshape -> MatMul + BiasAdd ->
  Sigmoid -> Reshape -> Mul onto the feature map) -> residual add -> Elu -> Mean -> MatMul + BiasAdd -> Softmax;
- `dcgan_generator_16` (NCHW): z [N, 16] -> MatMul + BiasAdd -> Reshape [N, 32, 2, 2] -> FusedBatchNormV3 ->
  Relu -> three 5x5 stride-2 Conv2DBackpropInput (batch norm decomposed into Rsqrt/Mul/Sub/AddV2 after the
  first, FusedBatchNormV3 after the second, each + Relu; BiasAdd + Tanh after the last) -> [N, 3, 16, 16];
- `pix2pix_unet_16`: U-Net encoder of 4x4 stride-2 convs (BiasAdd, instance norm via moments, decomposed
  batch norm) each + LeakyRelu(0.2), decoder of 4x4 stride-2 Conv2DBackpropInput + decomposed batch norm +
  Relu, ConcatV2 with the mirrored encoder layer, last transposed conv + BiasAdd + Tanh;
- `cyclegan_resnet_16`: MirrorPad REFLECT + 7x7 VALID conv + instance norm + Relu, two 3x3 stride-2 convs,
  two residual blocks (MirrorPad REFLECT, 3x3 VALID conv, instance norm, twice, + skip add), one stride-2
  Conv2DBackpropInput, one ResizeBilinear x2 (half-pixel centers) + 3x3 conv, MirrorPad SYMMETRIC + 7x7 VALID
  conv + BiasAdd + Tanh.

Batch norms get non-trivial statistics (mean, variance, scale, offset all seeded, variance positive), biases
are non-zero. Each builder takes the spatial size (and channel widths) as keyword arguments whose defaults are
the committed fixtures', e.g. `dcgan_generator(rng, size=256, ch=1024, base=4)`, and returns (input, output);
`mobilenet_block(rng, 224, widths=MOBILENET_V1, classes=1000)` is MobileNet v1 (its stride-2 depthwise convs
padded as Keras does, tf.pad + VALID) and `resnet_block(rng, 224, stages=RESNET50, classes=1000)` ResNet-50.

    python tools/make_generic_fixtures.py [--out tests/fixtures-generic] [NAME ...]
"""

import argparse
import os
import sys

import numpy as np
from stylegan_nets import tf
from fixture_io import GLOBAL_SEED, save_fixture, session_config


def rng_for(name):
    return np.random.RandomState([GLOBAL_SEED, sum(map(ord, name))])


def const(rng, shape, name, scale=1.0):
    return tf.constant((rng.standard_normal(shape) * scale).astype(np.float32), name=name)


def channels(x, data_format="NHWC"):
    return int(x.shape[1 if data_format == "NCHW" else -1])


def conv(x, rng, cout, k, name, stride=1, padding="SAME"):
    cin = int(x.shape[-1])
    w = const(rng, [k, k, cin, cout], name + "/weight", 1.0 / np.sqrt(k * k * cin))
    return tf.nn.conv2d(x, w, strides=[1, stride, stride, 1], padding=padding, name=name)


def bias(x, rng, name, data_format="NHWC", scale=0.2):
    b = const(rng, [channels(x, data_format)], name + "/bias", scale)
    return tf.nn.bias_add(x, b, data_format=data_format, name=name + "/BiasAdd")


def deconv(x, rng, cout, k, name, stride=2, data_format="NHWC"):
    """tf.nn.conv2d_transpose (Conv2DBackpropInput), SAME; output shape [batch from tf.shape, static rest]."""
    cin = channels(x, data_format)
    w = const(rng, [k, k, cout, cin], name + "/weight", stride / np.sqrt(k * k * cin))
    n = tf.shape(x)[0]
    if data_format == "NCHW":
        h, wd = int(x.shape[2]), int(x.shape[3])
        out_shape = tf.stack([n, cout, h * stride, wd * stride])
        strides = [1, 1, stride, stride]
    else:
        h, wd = int(x.shape[1]), int(x.shape[2])
        out_shape = tf.stack([n, h * stride, wd * stride, cout])
        strides = [1, stride, stride, 1]
    return tf.nn.conv2d_transpose(x, w, out_shape, strides=strides, padding="SAME", data_format=data_format,
                                  name=name)


def bn_stats(rng, c):
    scale = (1.0 + 0.2 * rng.standard_normal(c)).astype(np.float32)
    offset = (rng.standard_normal(c) * 0.2).astype(np.float32)
    mean = (rng.standard_normal(c) * 0.3).astype(np.float32)
    var = (0.5 + rng.uniform(0, 1, c)).astype(np.float32)
    return scale, offset, mean, var


def batch_norm(x, rng, name, data_format="NHWC"):
    """FusedBatchNormV3, inference (moving statistics)."""
    stats = bn_stats(rng, channels(x, data_format))
    scale, offset, mean, var = (tf.constant(v, name=name + "/" + n) for v, n in
                                zip(stats, ("gamma", "beta", "moving_mean", "moving_variance")))
    y, _, _ = tf.nn.fused_batch_norm(x, scale, offset, mean=mean, variance=var, epsilon=1e-3,
                                     data_format=data_format, is_training=False, name=name)
    return y


def batch_norm_decomposed(x, rng, name, data_format="NHWC"):
    """Keras / tf.nn.batch_normalization form: x * (rsqrt(var + eps) * gamma) + (beta - mean * ...)."""
    stats = bn_stats(rng, channels(x, data_format))
    shape = [1, -1, 1, 1] if data_format == "NCHW" else [-1]
    scale, offset, mean, var = (tf.constant(v.reshape(shape), name=name + "/" + n) for v, n in
                                zip(stats, ("gamma", "beta", "moving_mean", "moving_variance")))
    with tf.name_scope(name):
        return tf.nn.batch_normalization(x, mean, var, offset, scale, variance_epsilon=1e-3)


def instance_norm(x, rng, name, eps=1e-5):
    """NHWC instance norm as TF1 CycleGAN / pix2pix code wrote it: moments over H, W per image and channel."""
    c = channels(x)
    gamma = tf.constant((1.0 + 0.2 * rng.standard_normal(c)).astype(np.float32), name=name + "/scale")
    beta = const(rng, [c], name + "/offset", 0.2)
    with tf.name_scope(name):
        mean, var = tf.nn.moments(x, axes=[1, 2], keep_dims=True)
        return (x - mean) * tf.rsqrt(var + eps) * gamma + beta


def dense(x, rng, cout, name, scale=1.0):
    cin = int(x.shape[-1])
    w = const(rng, [cin, cout], name + "/weight", scale / np.sqrt(cin))
    return tf.nn.bias_add(tf.matmul(x, w), const(rng, [cout], name + "/bias", 0.2), name=name)


def head(x, rng, classes, name):
    cin = int(x.shape[-1])
    w = const(rng, [cin, classes], name + "/weight", 1.0 / np.sqrt(cin))
    b = const(rng, [classes], name + "/bias", 0.1)
    return tf.nn.softmax(tf.nn.bias_add(tf.matmul(x, w), b), name="probabilities")


# MobileNet v1 (alpha 1.0) after its 32-channel stem: (out channels, stride) of the depthwise-separable blocks.
MOBILENET_V1 = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)) + ((512, 1),) * 5 + ((1024, 2), (1024, 1))
# ResNet-50: (bottleneck blocks, width) per stage; each block outputs 4 * width channels.
RESNET50 = ((3, 64), (4, 128), (6, 256), (3, 512))


def mobilenet_block(rng, size=16, widths=None, classes=10):
    """Conv 3x3 s2 stem, then depthwise-separable blocks (depthwise 3x3, conv 1x1; each + batch norm + Relu6),
    global Mean, dense + Softmax. Default: the fixture's 8-channel stem, one block (16, 1), an AvgPool 2x2 before
    the Mean. `widths`: (out channels, stride) per block after a 32-channel stem, e.g. MOBILENET_V1; a stride-2
    depthwise conv is written as Keras does, ZeroPadding2D(((0, 1), (0, 1))) + VALID (SAME on even sizes)."""
    x = tf.placeholder(tf.float32, [None, size, size, 3], name="images")
    stem, blocks = (8, [(16, 1)]) if widths is None else (32, widths)
    y = tf.nn.relu6(batch_norm(conv(x, rng, stem, 3, "conv0", stride=2), rng, "bn0"))
    for i, (cout, stride) in enumerate(blocks, 1):
        dw = const(rng, [3, 3, channels(y), 1], "dw%d/weight" % i, 1.0 / 3)
        if stride != 1:
            y = tf.pad(y, [[0, 0], [0, 1], [0, 1], [0, 0]], name="dw%d/pad" % i)
        y = tf.nn.depthwise_conv2d(y, dw, strides=[1, stride, stride, 1], padding="SAME" if stride == 1 else "VALID",
                                   name="dw%d" % i)
        y = tf.nn.relu6(batch_norm(y, rng, "bn%d" % (2 * i - 1)))
        y = tf.nn.relu6(batch_norm(conv(y, rng, cout, 1, "pw%d" % i), rng, "bn%d" % (2 * i)))
    if widths is None:
        y = tf.nn.avg_pool2d(y, ksize=2, strides=2, padding="VALID", name="pool")
    y = tf.reduce_mean(y, axis=[1, 2], name="global_pool")
    return x, head(y, rng, classes, "logits")


def bottleneck(y, rng, width, stride, name):
    """ResNet v1.5 bottleneck: 1x1, 3x3 (stride), 1x1 to 4 * width, each + batch norm, added to the input (or its
    1x1 projection + batch norm where the shape changes), Relu."""
    r = tf.nn.relu(batch_norm(conv(y, rng, width, 1, name + "/reduce"), rng, name + "/bn0"))
    r = tf.nn.relu(batch_norm(conv(r, rng, width, 3, name + "/conv", stride=stride), rng, name + "/bn1"))
    r = batch_norm(conv(r, rng, 4 * width, 1, name + "/expand"), rng, name + "/bn2")
    if stride != 1 or channels(y) != 4 * width:
        y = batch_norm(conv(y, rng, 4 * width, 1, name + "/shortcut", stride=stride), rng, name + "/bn3")
    return tf.nn.relu(y + r)


def resnet_block(rng, size=16, stages=None, classes=10):
    """Default: the fixture's 3x3 stem of 16 channels + batch norm + Relu, MaxPool 3x3 s2 SAME, one bottleneck of
    width 4, MaxPool 2x2 VALID, Reshape, dense + Softmax. `stages`: (blocks, width) per stage, e.g. RESNET50: 7x7 s2
    stem of 64 channels, the MaxPool, the stages (stride 2 in the first block of each but the first), global Mean."""
    x = tf.placeholder(tf.float32, [None, size, size, 3], name="images")
    k, s, c = (3, 1, 16) if stages is None else (7, 2, 64)
    y = tf.nn.relu(batch_norm(conv(x, rng, c, k, "stem", stride=s), rng, "stem_bn"))
    y = tf.nn.max_pool2d(y, ksize=3, strides=2, padding="SAME", name="stem_pool")
    n = 0
    for i, (blocks, width) in enumerate(stages or [(1, 4)]):
        for j in range(blocks):
            n += 1
            y = bottleneck(y, rng, width, 2 if i and not j else 1, "b%d" % n)
    if stages is None:
        y = tf.nn.max_pool2d(y, ksize=2, strides=2, padding="VALID", name="pool")
        y = tf.reshape(y, [-1, (size // 4) * (size // 4) * 16])
    else:
        y = tf.reduce_mean(y, axis=[1, 2], name="global_pool")
    return x, head(y, rng, classes, "logits")


def squeeze_excite(rng, size=16, ch=16, reduction=4, classes=10):
    x = tf.placeholder(tf.float32, [None, size, size, 3], name="images")
    stem = tf.nn.relu(batch_norm(conv(x, rng, ch, 3, "stem"), rng, "stem_bn"))
    y = bias(conv(stem, rng, ch, 3, "se1/conv"), rng, "se1/conv")
    y = tf.multiply(y, tf.sigmoid(y), name="se1/swish")
    s = tf.reduce_mean(y, axis=[1, 2], keepdims=True, name="se1/squeeze")
    s = tf.nn.relu(bias(conv(s, rng, ch // reduction, 1, "se1/reduce"), rng, "se1/reduce"))
    s = tf.reshape(s, [-1, ch // reduction])
    s = tf.sigmoid(dense(s, rng, ch, "se1/expand", scale=2.0))
    s = tf.reshape(s, [-1, 1, 1, ch])
    y = tf.multiply(y, s, name="se1/excite")
    y = tf.nn.elu(stem + y)
    y = tf.reduce_mean(y, axis=[1, 2], name="global_pool")
    return x, head(y, rng, classes, "logits")


def dcgan_generator(rng, size=16, ch=32, base=2, z_dim=16, data_format="NCHW"):
    """log2(size / base) stride-2 5x5 transposed convs; channels ch, ch/2, ... then 3."""
    n_up = int(round(np.log2(size // base)))
    assert base << n_up == size and ch >> (n_up - 1) >= 1
    z = tf.placeholder(tf.float32, [None, z_dim], name="z")
    y = dense(z, rng, base * base * ch, "project")
    shape = [-1, ch, base, base] if data_format == "NCHW" else [-1, base, base, ch]
    y = tf.nn.relu(batch_norm(tf.reshape(y, shape), rng, "bn0", data_format))
    for i in range(1, n_up):
        y = deconv(y, rng, ch >> i, 5, "deconv%d" % i, data_format=data_format)
        norm = batch_norm_decomposed if i % 2 else batch_norm
        y = tf.nn.relu(norm(y, rng, "bn%d" % i, data_format))
    y = deconv(y, rng, 3, 5, "deconv%d" % n_up, data_format=data_format)
    y = bias(y, rng, "deconv%d" % n_up, data_format)
    return z, tf.tanh(y, name="generated")


def pix2pix_unet(rng, size=16, ngf=8, depth=3, max_mult=8):
    """`depth` 4x4 stride-2 encoder convs (bottleneck size / 2**depth), mirrored by transposed convs."""
    x = tf.placeholder(tf.float32, [None, size, size, 3], name="images")
    chans = [ngf * min(2 ** i, max_mult) for i in range(depth)]
    y = tf.nn.leaky_relu(bias(conv(x, rng, chans[0], 4, "enc0", stride=2), rng, "enc0"), alpha=0.2)
    skips = [y]
    for i in range(1, depth):
        y = conv(y, rng, chans[i], 4, "enc%d" % i, stride=2)
        y = instance_norm(y, rng, "enc%d/in" % i) if i == 1 else batch_norm_decomposed(y, rng, "enc%d/bn" % i)
        y = tf.nn.leaky_relu(y, alpha=0.2)
        skips.append(y)
    for i in range(depth - 1, 0, -1):
        y = deconv(y, rng, chans[i - 1], 4, "dec%d" % i)
        y = tf.nn.relu(batch_norm_decomposed(y, rng, "dec%d/bn" % i))
        y = tf.concat([y, skips[i - 1]], axis=3, name="dec%d/skip" % i)
    y = bias(deconv(y, rng, 3, 4, "dec0"), rng, "dec0")
    return x, tf.tanh(y, name="generated")


def cyclegan_resnet(rng, size=16, ngf=4, n_res=2):
    """c7s1-ngf, d2ngf, d4ngf, n_res residual blocks, u2ngf (transposed conv), ungf (bilinear x2 + conv), c7s1-3."""
    x = tf.placeholder(tf.float32, [None, size, size, 3], name="images")
    reflect = [[0, 0], [3, 3], [3, 3], [0, 0]]
    y = conv(tf.pad(x, reflect, mode="REFLECT"), rng, ngf, 7, "c7s1", padding="VALID")
    y = tf.nn.relu(instance_norm(y, rng, "c7s1/in"))
    for i, mult in enumerate((2, 4)):
        y = tf.nn.relu(instance_norm(conv(y, rng, ngf * mult, 3, "down%d" % i, stride=2), rng, "down%d/in" % i))
    pad1 = [[0, 0], [1, 1], [1, 1], [0, 0]]
    for i in range(n_res):
        r = conv(tf.pad(y, pad1, mode="REFLECT"), rng, ngf * 4, 3, "res%d/conv0" % i, padding="VALID")
        r = tf.nn.relu(instance_norm(r, rng, "res%d/in0" % i))
        r = conv(tf.pad(r, pad1, mode="REFLECT"), rng, ngf * 4, 3, "res%d/conv1" % i, padding="VALID")
        y = y + instance_norm(r, rng, "res%d/in1" % i)
    y = tf.nn.relu(instance_norm(deconv(y, rng, ngf * 2, 3, "up0"), rng, "up0/in"))
    h = int(y.shape[1])
    y = tf.image.resize_bilinear(y, [2 * h, 2 * h], align_corners=False, half_pixel_centers=True, name="up1/resize")
    y = bias(conv(y, rng, ngf, 3, "up1/conv"), rng, "up1/conv")
    y = tf.nn.relu(instance_norm(y, rng, "up1/in"))
    y = conv(tf.pad(y, reflect, mode="SYMMETRIC"), rng, 3, 7, "out", padding="VALID")
    return x, tf.tanh(bias(y, rng, "out"), name="generated")


SPECS = {
    "mobilenet_block_16": ("MobileNet-style: conv s2, depthwise, pointwise, each FusedBatchNormV3 + Relu6, "
                           "AvgPool, global Mean, dense + Softmax; NHWC, batch 2", mobilenet_block),
    "resnet_block_16": ("ResNet-style: conv + batch norm + Relu, MaxPool 3x3 s2 SAME, a bottleneck with a "
                        "residual add, MaxPool 2x2 VALID, dense + Softmax; NHWC, batch 2", resnet_block),
    "squeeze_excite_16": ("Squeeze-excite: conv + FusedBatchNormV3 + Relu, conv + bias + swish x*sigmoid(x), "
                          "global Mean keepdims, 1x1 conv + Relu, dense + Sigmoid, Mul onto the map, residual "
                          "add, Elu, global Mean, dense + Softmax; NHWC, batch 2", squeeze_excite),
    "dcgan_generator_16": ("DCGAN generator: z [N,16], dense, Reshape to [N,32,2,2], batch norm + Relu, three "
                           "5x5 stride-2 Conv2DBackpropInput (fused and decomposed batch norms + Relu, last "
                           "+ bias + Tanh) to [N,3,16,16]; NCHW, batch 2", dcgan_generator),
    "pix2pix_unet_16": ("pix2pix U-Net: 4x4 stride-2 convs + instance / decomposed batch norm + LeakyRelu 0.2, "
                        "4x4 stride-2 Conv2DBackpropInput + batch norm + Relu, ConcatV2 skips, Tanh; NHWC, "
                        "batch 2", pix2pix_unet),
    "cyclegan_resnet_16": ("CycleGAN ResNet generator: MirrorPad REFLECT + 7x7 VALID conv, instance norms, two "
                           "stride-2 convs, two residual blocks, Conv2DBackpropInput and ResizeBilinear x2 + "
                           "conv up, MirrorPad SYMMETRIC + 7x7 conv + Tanh; NHWC, batch 2", cyclegan_resnet),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--out", default=os.path.join(root, "tests", "fixtures-generic"))
    ap.add_argument("names", nargs="*", metavar="NAME", help="fixtures to write (default: all): " + ", ".join(SPECS))
    args = ap.parse_args()
    if set(args.names) - set(SPECS):
        ap.error("unknown fixture(s): %s" % ", ".join(sorted(set(args.names) - set(SPECS))))
    for name, (desc, build) in SPECS.items():
        if args.names and name not in args.names:
            continue
        graph = tf.Graph()
        with graph.as_default():
            rng = rng_for(name)
            x, y = build(rng)
            feed = rng_for(name + "/input").standard_normal([2] + [d.value for d in x.shape[1:]])
            feed = feed.astype(np.float32)
            # NCHW graphs run with session_config(): Grappler turns the NCHW convolutions / batch norms into
            # NHWC to run them on CPU (the saved GraphDef is the one built here). NHWC graphs run with the
            # default session, as the first fixtures were made (other thread counts change the last bits).
            nchw = any(n.attr["data_format"].s == b"NCHW" for n in graph.as_graph_def().node)
            with tf.Session(graph=graph, config=session_config() if nchw else None) as sess:
                ref = sess.run(y, {x: feed})
                gd = tf.graph_util.convert_variables_to_constants(sess, graph.as_graph_def(), [y.op.name])
        meta = save_fixture(args.out, name, desc, gd, [(x.op.name, feed)], [(y.op.name, ref)])
        print("%-20s %4d nodes  out %s  %s" % (name, len(gd.node), ref.shape, meta["ops"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
