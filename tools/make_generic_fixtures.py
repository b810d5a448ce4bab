#!/usr/bin/env python3
"""Fixtures beyond StyleGAN: small TF1-style conv nets frozen to GraphDefs, with TensorFlow's outputs
(tests/fixtures-generic/, committed). Built from tf.compat.v1 ops in graph mode with seeded constant
weights (what freezing makes of variables), NHWC as TF1 classifiers were written:

- `mobilenet_block_16`: conv 3x3 s2 -> FusedBatchNormV3 -> Relu6 -> depthwise 3x3 -> batch norm -> Relu6 ->
  conv 1x1 -> batch norm -> Relu6 -> AvgPool 2x2 -> Mean over H, W -> MatMul + BiasAdd -> Softmax;
- `resnet_block_16`: conv 3x3 -> batch norm -> Relu -> MaxPool 3x3 s2 SAME -> a bottleneck (1x1, 3x3, 1x1,
  each with batch norm) added to its input -> Relu -> MaxPool 2x2 VALID -> Reshape -> MatMul -> Softmax.

Batch norms get non-trivial statistics (mean, variance, scale, offset all seeded, variance positive).

    python tools/make_generic_fixtures.py [--out tests/fixtures-generic]
"""

import argparse
import os
import sys

import numpy as np
from stylegan_nets import tf
from fixture_io import GLOBAL_SEED, save_fixture


def rng_for(name):
    return np.random.RandomState([GLOBAL_SEED, sum(map(ord, name))])


def const(rng, shape, name, scale=1.0):
    return tf.constant((rng.standard_normal(shape) * scale).astype(np.float32), name=name)


def conv(x, rng, cout, k, name, stride=1):
    cin = int(x.shape[-1])
    w = const(rng, [k, k, cin, cout], name + "/weight", 1.0 / np.sqrt(k * k * cin))
    return tf.nn.conv2d(x, w, strides=[1, stride, stride, 1], padding="SAME", name=name)


def batch_norm(x, rng, name):
    c = int(x.shape[-1])
    scale = tf.constant((1.0 + 0.2 * rng.standard_normal(c)).astype(np.float32), name=name + "/gamma")
    offset = const(rng, [c], name + "/beta", 0.2)
    mean = const(rng, [c], name + "/moving_mean", 0.3)
    var = tf.constant((0.5 + rng.uniform(0, 1, c)).astype(np.float32), name=name + "/moving_variance")
    y, _, _ = tf.nn.fused_batch_norm(x, scale, offset, mean=mean, variance=var, epsilon=1e-3,
                                     is_training=False, name=name)
    return y


def head(x, rng, classes, name):
    cin = int(x.shape[-1])
    w = const(rng, [cin, classes], name + "/weight", 1.0 / np.sqrt(cin))
    b = const(rng, [classes], name + "/bias", 0.1)
    return tf.nn.softmax(tf.nn.bias_add(tf.matmul(x, w), b), name="probabilities")


def mobilenet_block(rng):
    x = tf.placeholder(tf.float32, [None, 16, 16, 3], name="images")
    y = tf.nn.relu6(batch_norm(conv(x, rng, 8, 3, "conv0", stride=2), rng, "bn0"))
    dw = const(rng, [3, 3, 8, 1], "dw1/weight", 1.0 / 3)
    y = tf.nn.depthwise_conv2d(y, dw, strides=[1, 1, 1, 1], padding="SAME", name="dw1")
    y = tf.nn.relu6(batch_norm(y, rng, "bn1"))
    y = tf.nn.relu6(batch_norm(conv(y, rng, 16, 1, "pw1"), rng, "bn2"))
    y = tf.nn.avg_pool2d(y, ksize=2, strides=2, padding="VALID", name="pool")
    y = tf.reduce_mean(y, axis=[1, 2], name="global_pool")
    return x, head(y, rng, 10, "logits")


def resnet_block(rng):
    x = tf.placeholder(tf.float32, [None, 16, 16, 3], name="images")
    y = tf.nn.relu(batch_norm(conv(x, rng, 16, 3, "stem"), rng, "stem_bn"))
    y = tf.nn.max_pool2d(y, ksize=3, strides=2, padding="SAME", name="stem_pool")
    r = tf.nn.relu(batch_norm(conv(y, rng, 4, 1, "b1/reduce"), rng, "b1/bn0"))
    r = tf.nn.relu(batch_norm(conv(r, rng, 4, 3, "b1/conv"), rng, "b1/bn1"))
    r = batch_norm(conv(r, rng, 16, 1, "b1/expand"), rng, "b1/bn2")
    y = tf.nn.relu(y + r)
    y = tf.nn.max_pool2d(y, ksize=2, strides=2, padding="VALID", name="pool")
    y = tf.reshape(y, [-1, 4 * 4 * 16])
    return x, head(y, rng, 10, "logits")


SPECS = {
    "mobilenet_block_16": ("MobileNet-style: conv s2, depthwise, pointwise, each FusedBatchNormV3 + Relu6, "
                           "AvgPool, global Mean, dense + Softmax; NHWC, batch 2", mobilenet_block),
    "resnet_block_16": ("ResNet-style: conv + batch norm + Relu, MaxPool 3x3 s2 SAME, a bottleneck with a "
                        "residual add, MaxPool 2x2 VALID, dense + Softmax; NHWC, batch 2", resnet_block),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--out", default=os.path.join(root, "tests", "fixtures-generic"))
    args = ap.parse_args()
    for name, (desc, build) in SPECS.items():
        graph = tf.Graph()
        with graph.as_default():
            rng = rng_for(name)
            x, y = build(rng)
            feed = rng_for(name + "/input").standard_normal([2] + [d.value for d in x.shape[1:]])
            feed = feed.astype(np.float32)
            with tf.Session(graph=graph) as sess:
                ref = sess.run(y, {x: feed})
                gd = tf.graph_util.convert_variables_to_constants(sess, graph.as_graph_def(), [y.op.name])
        meta = save_fixture(args.out, name, desc, gd, [(x.op.name, feed)], [(y.op.name, ref)])
        print("%-20s %4d nodes  out %s  %s" % (name, len(gd.node), ref.shape, meta["ops"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
