#!/usr/bin/python3
"""A non-square ONNX model for the CLI's data pipeline test (cmd/vgfq/nonsquare_test.go),
exported by PyTorch 1.13 (Debian python3-torch) with python3-onnx 1.12.

Run from the repository root:

    /usr/bin/python3 tools/golden/onnx_nonsquare_gen.py --out cmd/vgfq/testdata/nonsquare.onnx

The model is the tutorial's SmallUpscaler (bilinear 2x, three 3x3 convs with ReLU) with 4
channels, exported for a fixed 1x3x8x12 input (height 8, width 12), so its output is 1x3x16x24.
"""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys  # noqa: E402

import onnx  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from onnx_gen import Upscaler  # noqa: E402  (the corpus's SmallUpscaler)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.manual_seed(7)
    m = Upscaler(c=4).eval()
    x = torch.rand(1, 3, 8, 12)
    torch.onnx.export(m, x, args.out, opset_version=17, input_names=["input"], output_names=["output"])
    mp = onnx.load(args.out)
    onnx.checker.check_model(mp)
    dims = [d.dim_value for d in mp.graph.output[0].type.tensor_type.shape.dim]
    assert dims == [1, 3, 16, 24], dims


if __name__ == "__main__":
    main()
