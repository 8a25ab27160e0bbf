#!/usr/bin/env python3
"""Golden vectors for data.Downsample2x: PyTorch's F.interpolate(x, scale_factor=0.5,
mode='bilinear', align_corners=False, antialias=False) on random images.
Run: /usr/bin/python3 tools/golden/downsample_gen.py --out data/testdata/downsample.npz
(Debian 12 python3-torch 1.13, numpy 1.24)."""
import argparse
import numpy as np
import torch
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument("--out", required=True)
a = ap.parse_args()
torch.manual_seed(0)
torch.set_num_threads(1)
hr = torch.rand(4, 3, 32, 32)
hr[0] = torch.round(hr[0] * 255) / 255  # 8-bit values as from images
lr = F.interpolate(hr, scale_factor=0.5, mode="bilinear", align_corners=False)
hr2 = torch.rand(2, 3, 18, 10)
lr2 = F.interpolate(hr2, scale_factor=0.5, mode="bilinear", align_corners=False)
np.savez(a.out, hr=hr.numpy(), lr=lr.numpy(), hr2=hr2.numpy(), lr2=lr2.numpy(),
         torch_version=np.array([int(x) for x in torch.__version__.split("a")[0].split(".")]))
