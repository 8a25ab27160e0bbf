#!/usr/bin/python3
"""Golden vectors for vgfq's a16w8 activation observer (quant/a16w8_test.go).

ExecuTorch's get_symmetric_a16w8_quantization_config observes int16 activations with TorchAO's
HistogramObserver(dtype=torch.int16, quant_min=-32767, quant_max=32767,
qscheme=per_tensor_symmetric, eps=2**-12). Its L2 range search maps onto
dst_nbins = 2**bits(dtype) = 65536 destination bins. PyTorch 1.13's observer has no int16
dtype, so this builds quant_gen.py's TorchAOHistogramObserver (torch 1.13's class with TorchAO
pt2e's histogram update rule, the reference of every histogram golden in vgfq) with
dtype=torch.qint32 (symmetric: zero point 0, same qparam formula) and sets dst_nbins = 2**16,
which is exactly the int16 observer's state.

Run: /usr/bin/python3 tools/golden/a16w8_gen.py > quant/testdata/a16w8_hist.json
"""
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from quant_gen import TorchAOHistogramObserver  # noqa: E402


def f32bits(x):
    return struct.unpack("<I", struct.pack("<f", float(x)))[0]


rng = np.random.default_rng(11)
cases = []
streams = {
    # post-ReLU activations with a long tail (range > 8, so eps 2^-12 does not bind)
    "relu_tail": [np.maximum(rng.normal(2.0, 3.0, 1500), 0).astype(np.float32) * 4 for _ in range(3)],
    # signed activations, widening range over batches
    "signed": [rng.normal(0, s, 1200).astype(np.float32) for s in (3.0, 6.0, 12.0)],
    # small range [0, 1]: scale = eps = 2^-12
    "unit": [rng.random(1000).astype(np.float32) for _ in range(2)],
}
for name, batches in streams.items():
    o = TorchAOHistogramObserver(dtype=torch.qint32, qscheme=torch.per_tensor_symmetric,
                          quant_min=-32767, quant_max=32767, eps=2**-12)
    o.dst_nbins = 2**16
    for b in batches:
        o(torch.from_numpy(b))
    new_min, new_max = o._non_linear_param_search()
    scale, zp = o.calculate_qparams()
    cases.append({
        "name": name,
        "batches": [[f32bits(v) for v in b] for b in batches],
        "search_min": f32bits(new_min), "search_max": f32bits(new_max),
        "scale": f32bits(scale.item()), "zero_point": int(zp.item()),
    })
print(json.dumps({"source": "tools/golden/a16w8_gen.py: torch " + torch.__version__ + " HistogramObserver with TorchAO's update rule, dst_nbins 2^16 (int16)", "cases": cases}))
