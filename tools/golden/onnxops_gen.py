#!/usr/bin/python3
"""Golden vectors for the engine ops added for ONNX import, produced by PyTorch 1.13.

    /usr/bin/python3 tools/golden/onnxops_gen.py --out engine/testdata/onnxops

Each file NAME.npz holds x (input), gy (a random output gradient), y = op(x) and
gx = d(sum(y * gy))/dx, float32. x includes the points where the ops' branches change
(hardswish at +-3, hardsigmoid at +-3, exact zeros).
"""
import argparse
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)


def save(out, name, fn, x):
    x = x.clone().requires_grad_(True)
    y = fn(x)
    gy = torch.from_numpy(np.random.default_rng(len(name)).standard_normal(y.shape).astype(np.float32))
    (y * gy).sum().backward()
    np.savez(os.path.join(out, name + ".npz"), x=x.detach().numpy(), y=y.detach().numpy(), gy=gy.numpy(), gx=x.grad.numpy())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="engine/testdata/onnxops")
    out = ap.parse_args().out
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    x = torch.randn(2, 3, 5, 7) * 3
    x.view(-1)[:6] = torch.tensor([-3.0, 3.0, 0.0, -2.9999, 2.9999, 6.0])
    save(out, "hardswish", F.hardswish, x)
    save(out, "hardsigmoid", F.hardsigmoid, x)
    save(out, "gelu", F.gelu, x)
    save(out, "erf", torch.erf, x)
    save(out, "pad_reflect", lambda t: F.pad(t, (2, 1, 1, 3), mode="reflect"), x)
    save(out, "pad_replicate", lambda t: F.pad(t, (3, 0, 2, 4), mode="replicate"), x)
    save(out, "pad_constant", lambda t: F.pad(t, (1, 2, 0, 1), value=0.5), x)
    save(out, "slice", lambda t: t[:, 1:3, 1:4, 2:7], x)
    w = torch.tensor([0.25, -0.5, 0.0])
    w.requires_grad_(True)
    xp = x.clone().requires_grad_(True)
    y = F.prelu(xp, w)
    gy = torch.from_numpy(np.random.default_rng(5).standard_normal(y.shape).astype(np.float32))
    (y * gy).sum().backward()
    np.savez(os.path.join(out, "prelu.npz"), x=x.numpy(), w=w.detach().numpy(), y=y.detach().numpy(), gy=gy.numpy(),
             gx=xp.grad.numpy(), gw=w.grad.numpy())


if __name__ == "__main__":
    main()
