"""Writes small fuzzing seeds from the fixture graphs: every constant's tensor_content is replaced by
one splatted value (TensorFlow repeats the last value), so the graphs keep their structure and shapes
but shrink to a few KB. Run with a Python that has TensorFlow (its GraphDef protobuf):

    python fuzz/make_seeds.py            # writes fuzz/seeds/{pb,pbtxt,lower}/
"""
import pathlib

from google.protobuf import text_format
from tensorflow.core.framework import graph_pb2, types_pb2

ROOT = pathlib.Path(__file__).resolve().parent.parent
SPLAT = {
    types_pb2.DT_FLOAT: ("float_val", 0.5),
    types_pb2.DT_INT32: ("int_val", 1),
    types_pb2.DT_INT64: ("int64_val", 1),
    types_pb2.DT_HALF: ("half_val", 0x3800),
    types_pb2.DT_UINT8: ("int_val", 1),
    types_pb2.DT_BOOL: ("bool_val", True),
}


def shrink(g):
    for node in g.node:
        if node.op != "Const" or "value" not in node.attr:
            continue
        t = node.attr["value"].tensor
        if len(t.tensor_content) > 64 and t.dtype in SPLAT:
            field, v = SPLAT[t.dtype]
            t.tensor_content = b""
            getattr(t, field).append(v)
    return g


def main():
    out = ROOT / "fuzz" / "seeds"
    for kind in ("pb", "pbtxt", "lower"):
        (out / kind).mkdir(parents=True, exist_ok=True)
    graphs = sorted((ROOT / "tests").glob("fixtures*/*/graph.pb"))
    for path in graphs:
        if "fixtures-full" in str(path):
            continue
        g = graph_pb2.GraphDef()
        g.ParseFromString(path.read_bytes())
        shrink(g)
        name = path.parent.name
        pb = g.SerializeToString(deterministic=True)
        txt = text_format.MessageToString(g).encode()
        (out / "pb" / name).write_bytes(pb)
        (out / "pbtxt" / name).write_bytes(txt)
        (out / "lower" / (name + ".pb")).write_bytes(b"\x00" + pb)
        (out / "lower" / (name + ".pbtxt")).write_bytes(b"\x01" + txt)
        print(f"{name}: pb {len(pb)} bytes, pbtxt {len(txt)} bytes")


if __name__ == "__main__":
    main()
