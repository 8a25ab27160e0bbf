#!/usr/bin/python3
"""ONNX Resize (and DepthToSpace / SpaceToDepth) cases with reference outputs.

    /usr/bin/python3 tools/golden/onnx_resize_gen.py --out onnx/testdata/resize

Each case is a one-node model CASE.onnx (opset 13; input 'input' 1x2xHxW float, output 'output')
and CASE.npz with x and y, where y is computed by interpolate_nd from python3-onnx 1.12's
backend test cases (onnx/backend/test/case/node/resize.py, the code that generates ONNX's own
conformance data). Cases cover every coordinate_transformation_mode vgfq accepts, every
nearest_mode, linear, given scales and given sizes, up- and downsampling at odd ratios.
"""
import argparse
import itertools
import os
import zlib

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto
from onnx.backend.test.case.node.resize import interpolate_nd, linear_coeffs, nearest_coeffs


def case(out, name, shape, attrs, scales=None, sizes=None):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    x = rng.standard_normal(shape).astype(np.float32)
    inits, inputs = [], ["input", ""]
    if scales is not None:
        inits.append(numpy_helper.from_array(np.array(scales, np.float32), "scales"))
        inputs.append("scales")
    else:
        inits.append(numpy_helper.from_array(np.array(sizes, np.int64), "sizes"))
        inputs += ["", "sizes"]
    node = helper.make_node("Resize", inputs, ["output"], **attrs)
    if attrs["mode"] == "linear":
        coeffs = linear_coeffs
    else:
        nm = attrs.get("nearest_mode", "round_prefer_floor")
        coeffs = lambda r: nearest_coeffs(r, mode=nm)  # noqa: E731
    kw = {"coordinate_transformation_mode": attrs.get("coordinate_transformation_mode", "half_pixel")}
    if scales is not None:
        y = interpolate_nd(x, coeffs, scale_factors=np.array(scales, np.float64), **kw)
    else:
        y = interpolate_nd(x, coeffs, output_size=sizes, **kw)
    y = y.astype(np.float32)
    g = helper.make_graph([node], name, [helper.make_tensor_value_info("input", TensorProto.FLOAT, list(shape))],
                          [helper.make_tensor_value_info("output", TensorProto.FLOAT, list(y.shape))], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="onnx_resize_gen")
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(out, name + ".onnx"))
    np.savez_compressed(os.path.join(out, name + ".npz"), x=x, y=y)


def block_case(out, name, op, shape, bs, mode=None):
    """DepthToSpace / SpaceToDepth with the reshape/transpose formulas of the ONNX operator
    docs (and of onnx/backend/test/case/node/depthtospace.py, spacetodepth.py)."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    x = rng.standard_normal(shape).astype(np.float32)
    b, c, h, w = shape
    attrs = {"blocksize": bs}
    if op == "DepthToSpace":
        attrs["mode"] = mode
        if mode == "DCR":
            t = x.reshape(b, bs, bs, c // (bs * bs), h, w).transpose(0, 3, 4, 1, 5, 2)
        else:
            t = x.reshape(b, c // (bs * bs), bs, bs, h, w).transpose(0, 1, 4, 2, 5, 3)
        y = t.reshape(b, c // (bs * bs), h * bs, w * bs)
    else:
        t = x.reshape(b, c, h // bs, bs, w // bs, bs).transpose(0, 3, 5, 1, 2, 4)
        y = t.reshape(b, c * bs * bs, h // bs, w // bs)
    node = helper.make_node(op, ["input"], ["output"], **attrs)
    g = helper.make_graph([node], name, [helper.make_tensor_value_info("input", TensorProto.FLOAT, list(shape))],
                          [helper.make_tensor_value_info("output", TensorProto.FLOAT, list(y.shape))])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="onnx_resize_gen")
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(out, name + ".onnx"))
    np.savez_compressed(os.path.join(out, name + ".npz"), x=x, y=np.ascontiguousarray(y))


def split_case(out, name):
    """Split (sizes as an input, opset 13) into two parts, concatenated back swapped."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    x = rng.standard_normal((1, 6, 4, 5)).astype(np.float32)
    y = np.concatenate([x[:, 2:], x[:, :2]], 1)
    nodes = [helper.make_node("Split", ["input", "sizes"], ["a", "b"], axis=1),
             helper.make_node("Concat", ["b", "a"], ["output"], axis=1)]
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 6, 4, 5])],
                          [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 6, 4, 5])],
                          [numpy_helper.from_array(np.array([2, 4], np.int64), "sizes")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="onnx_resize_gen")
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(out, name + ".onnx"))
    np.savez_compressed(os.path.join(out, name + ".npz"), x=x, y=y)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="onnx/testdata/resize")
    out = ap.parse_args().out
    os.makedirs(out, exist_ok=True)
    shape = (1, 2, 5, 7)
    k = 0
    for ctm in ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"]:
        for mode, nm in [("linear", None)] + [("nearest", m) for m in ["floor", "ceil", "round_prefer_floor", "round_prefer_ceil"]]:
            attrs = {"mode": mode, "coordinate_transformation_mode": ctm}
            if nm:
                attrs["nearest_mode"] = nm
            for sizes, scales in [(None, [1, 1, 2, 2]), ([1, 2, 9, 12], None), ([1, 2, 3, 4], None)]:
                case(out, "r%02d_%s_%s_%s" % (k, mode, ctm, nm or "") + ("_scales" if scales else "_%dx%d" % (sizes[2], sizes[3])),
                     shape, attrs, scales=scales, sizes=sizes)
                k += 1
    block_case(out, "d2s_dcr", "DepthToSpace", (1, 12, 3, 5), 2, "DCR")
    block_case(out, "d2s_crd", "DepthToSpace", (1, 18, 2, 3), 3, "CRD")
    block_case(out, "s2d", "SpaceToDepth", (1, 3, 6, 4), 2)
    split_case(out, "split")


if __name__ == "__main__":
    main()
