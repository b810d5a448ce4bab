"""Fixture plumbing: seeded weights and inputs, the TF session config, freezing, writing a fixture directory
(graph.pb, graph.pbtxt, .npy, meta.json) and reading one back."""

import collections
import json
import os
import zlib

import numpy as np
from stylegan_nets import dims, tf  # first: sets TensorFlow up (environment, TF1 graph mode) before it loads
from fixture_weights import weight_value

from google.protobuf import text_format
from tensorflow.core.protobuf import rewriter_config_pb2

GLOBAL_SEED = 20190205


# ----------------------------------------------------------------------------------------------------------
# Deterministic weights, session config, freezing, saving.


def weight_values(net_vars, seed):
    """local name -> value; the RNG depends only on (seed, local name without the network prefix)."""
    out = {}
    for local, var in net_vars.items():
        key = local.split("/", 1)[1] if local.startswith(("G_synthesis/", "G_mapping/")) else local
        out[local] = weight_value(key, dims(var.shape), seed)
    return out


def load_weights(sess, net, seed):
    vals = weight_values(net.vars, seed)
    for local, var in net.vars.items():
        var.load(vals[local], sess)
    return vals


def input_array(kind, shape, seed):
    rng = np.random.RandomState([seed, zlib.crc32(kind.encode()) & 0x7FFFFFFF])
    return rng.standard_normal(shape).astype(np.float32)


def freeze(sess, graph, output_nodes):
    gd = graph.as_graph_def()
    return tf.graph_util.convert_variables_to_constants(sess, gd, output_nodes)


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
# Reading a fixture back, running a frozen graph, comparing arrays.


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
