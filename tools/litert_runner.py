"""Shared helpers to load and run .tflite models in the LiteRT interpreter (PyPI `ai-edge-litert`).

Used by tools/litert_run.py (the test oracle) and the bench scripts (bench_convert.py, bench_prune.py,
bench_tf_nhwc.py), so that there is one way to make an interpreter, run a signature, feed inputs by
position, time invokes, list a model's ops and count its multiply-adds.
"""

import collections
import statistics
import time

import numpy as np


def make_interpreter(model_path, threads=None, default_delegates=True, allocate=True):
    """An interpreter on `model_path` with `threads` threads (None: LiteRT's default).

    default_delegates=False loads it without the default delegates (XNNPACK), whose partitions would
    otherwise show up as DELEGATE nodes in the op histogram instead of the model's own ops.
    """
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    kwargs = {} if default_delegates else {
        "experimental_op_resolver_type": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES}
    interp = Interpreter(model_path=model_path, num_threads=threads, **kwargs)
    if allocate:
        interp.allocate_tensors()
    return interp


def op_histogram(interp):
    """{op name: count} of what the interpreter loaded, sorted by op name."""
    ops = collections.Counter(op["op_name"] for op in interp._get_ops_details())
    return dict(sorted(ops.items()))


def undelegated(interp):
    """{op name: count} of the ops LiteRT runs itself, outside every delegate partition. A DELEGATE
    node replaces the ops whose values lie between its inputs and outputs: walking back from its
    outputs to its inputs finds them; the rest run in the interpreter's own kernels."""
    ops = interp._get_ops_details()
    delegates = [o for o in ops if o["op_name"] == "DELEGATE"]
    p_out = {t for d in delegates for t in d["outputs"]}
    p_in = {t for d in delegates for t in d["inputs"]}
    producer = {t: o for o in ops if o["op_name"] != "DELEGATE" for t in o["outputs"]}
    inside, stack = set(), list(p_out)
    while stack:
        op = producer.get(stack.pop())
        if op is None or op["index"] in inside:
            continue
        inside.add(op["index"])
        stack.extend(t for t in op["inputs"] if t not in p_in and t in producer)
    rest = collections.Counter(o["op_name"] for o in ops if o["op_name"] != "DELEGATE" and o["index"] not in inside)
    return dict(sorted(rest.items()))


def multiply_adds(interp):
    """{op name: multiply-adds} of the convolutions and dense layers of a loaded model (shapes from the
    model; batch as written): CONV_2D out·kh·kw·Cin, DEPTHWISE_CONV_2D out·kh·kw, TRANSPOSE_CONV
    in·kh·kw·Cout, FULLY_CONNECTED out·K."""
    shapes = {t["index"]: [int(d) for d in t["shape"]] for t in interp.get_tensor_details()}
    size = lambda i: int(np.prod(shapes[i], dtype=np.int64)) if i >= 0 else 0  # noqa: E731
    macs = collections.Counter()
    for op in interp._get_ops_details():
        name, ins, outs = op["op_name"], list(op["inputs"]), list(op["outputs"])
        if name == "CONV_2D":
            _, kh, kw, cin = shapes[ins[1]]
            macs[name] += size(outs[0]) * kh * kw * cin
        elif name == "DEPTHWISE_CONV_2D":
            _, kh, kw, _ = shapes[ins[1]]
            macs[name] += size(outs[0]) * kh * kw
        elif name == "TRANSPOSE_CONV":
            cout, kh, kw, _ = shapes[ins[1]]
            macs[name] += size(ins[2]) * kh * kw * cout
        elif name == "FULLY_CONNECTED":
            macs[name] += size(outs[0]) * shapes[ins[1]][-1]
    return dict(sorted(macs.items()))


def output_position(interp, detail):
    """Where a signature output stands among the subgraph's outputs."""
    indices = [d["index"] for d in interp.get_output_details()]
    return indices.index(detail["index"]) if detail["index"] in indices else len(indices)


def signature_outputs(interp, runner):
    """The signature's output names in the order of the subgraph's outputs."""
    details = runner.get_output_details()
    return [name for name, _ in sorted(details.items(), key=lambda kv: output_position(interp, kv[1]))]


def run_signature(model_path, feeds, output_names, threads=None, key="serving_default"):
    """Runs `model_path` through signature `key` on {input name: array}; returns the named outputs."""
    interp = make_interpreter(model_path, threads, allocate=False)
    got = interp.get_signature_runner(key)(**feeds)
    return [got[name] for name in output_names]


def set_inputs(interp, values):
    """Feeds `values` to the subgraph's inputs in order, cast to each input's dtype."""
    for detail, value in zip(interp.get_input_details(), values):
        interp.set_tensor(detail["index"], value.astype(detail["dtype"]))


def get_outputs(interp):
    """The subgraph's outputs, in order."""
    return [interp.get_tensor(d["index"]) for d in interp.get_output_details()]


def median_latency(interp, runs, warmup=0):
    """Median wall time (seconds) of `runs` invokes, after `warmup` untimed ones."""
    for _ in range(warmup):
        interp.invoke()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        interp.invoke()
        times.append(time.perf_counter() - t)
    return statistics.median(times)
