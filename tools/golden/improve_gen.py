#!/usr/bin/python3
"""Golden vectors for vgfq's PTQ improvements (quant/cle.go, quant/adaround.go), computed
independently with NumPy and PyTorch 1.13 from the papers' formulas.

Run from the repository root with Debian's python3-torch 1.13 and numpy:

    /usr/bin/python3 tools/golden/improve_gen.py --out quant/testdata

Deterministic (numpy default_rng with fixed seeds; torch in float64).

improve.npz holds:

  Cross-layer equalization (Nagel et al. 2019, "Data-Free Quantization Through Weight
  Equalization and Bias Correction", §4.1, eq. 10-11), on a chain
  conv1 (8x3x3x3) -> ReLU -> conv2 (6x8x3x3) -> ReLU -> conv3 (4x6x1x1), in float64:
    cle_w1, cle_b1, cle_w2, cle_b2, cle_w3, cle_b3   the float32 weights before
    cle_s12_first                                     sqrt(r1/r2) of the first pass for (conv1, conv2)
    cle_e_w1 .. cle_e_b3                              the weights after equalizing to convergence
                                                      (pairs in order, until max|s-1| <= 1e-6)
    cle_s12, cle_s23                                  the product of the per-channel factors
    cle_x, cle_y                                      an input and the chain's output (unchanged by CLE)

  AdaRound (Nagel et al. 2020, "Up or Down? Adaptive Rounding for Post-Training Quantization",
  eq. 21-24), with torch autograd in float64:
    ada_v                       V values, including ones where the clip of h binds
    ada_h, ada_dh               h(V) = clamp(sigmoid(V)*(zeta-gamma)+gamma, 0, 1) and dh/dV
    ada_beta                    betas; ada_reg[b], ada_dreg[b]: 1-|2h-1|^beta summed, and its
                                gradient with respect to V (elementwise)
    ada_inv_r, ada_inv_v        r in (0,1) and V with h(V) = r (the initialisation)
  and one full objective of a small conv layer (ReLU after it):
    obj_x (2x3x6x6), obj_y (2x4x6x6) target, obj_w (4x3x3x3) float weights, obj_s (4) per-channel
    scales, obj_b (4) bias, obj_v (V), obj_lambda, obj_beta;
    obj_recon = mean over (n, y, x) of sum over channels of (relu(conv(x, W~) + b) - y)^2 with
    W~ = s * clamp(floor(w/s) + h(V), -127, 127); obj_reg = sum(1 - |2h-1|^beta);
    obj_grad = d(obj_recon + lambda*obj_reg)/dV.
"""
import argparse
import os

import numpy as np
import torch
import torch.nn.functional as F

ZETA, GAMMA = 1.1, -0.1


def cle_scales(w1, w2):
    r1 = np.abs(w1).reshape(w1.shape[0], -1).max(axis=1)
    r2 = np.abs(w2).transpose(1, 0, 2, 3).reshape(w2.shape[1], -1).max(axis=1)
    s = np.ones_like(r1)
    ok = (r1 > 0) & (r2 > 0)
    s[ok] = np.sqrt(r1[ok] / r2[ok])
    return s


def cle(ws, bs):
    ws = [w.astype(np.float64) for w in ws]
    bs = [b.astype(np.float64) for b in bs]
    total = [np.ones(ws[k].shape[0]) for k in range(len(ws) - 1)]
    for _ in range(100):
        worst = 0.0
        for k in range(len(ws) - 1):
            s = cle_scales(ws[k], ws[k + 1])
            ws[k] = ws[k] / s[:, None, None, None]
            bs[k] = bs[k] / s
            ws[k + 1] = ws[k + 1] * s[None, :, None, None]
            total[k] *= s
            worst = max(worst, np.abs(s - 1).max())
        if worst <= 1e-6:
            break
    return ws, bs, total


def chain(x, ws, bs, pads):
    y = torch.from_numpy(x)
    for k, (w, b, p) in enumerate(zip(ws, bs, pads)):
        y = F.conv2d(y, torch.from_numpy(np.asarray(w, np.float64)), torch.from_numpy(np.asarray(b, np.float64)), padding=p)
        if k < len(ws) - 1:
            y = F.relu(y)
    return y.numpy()


def h_of(v):
    return torch.clamp(torch.sigmoid(v) * (ZETA - GAMMA) + GAMMA, 0, 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="quant/testdata")
    args = ap.parse_args()
    out = {}

    # CLE: channels with very different ranges, one dead channel in conv1 (r1 = 0 -> s = 1).
    rng = np.random.default_rng(11)
    w1 = (rng.standard_normal((8, 3, 3, 3)) * rng.uniform(0.05, 3, (8, 1, 1, 1))).astype(np.float32)
    w1[5] = 0
    b1 = rng.standard_normal(8).astype(np.float32)
    w2 = (rng.standard_normal((6, 8, 3, 3)) * rng.uniform(0.1, 2, (1, 8, 1, 1))).astype(np.float32)
    b2 = rng.standard_normal(6).astype(np.float32)
    w3 = rng.standard_normal((4, 6, 1, 1)).astype(np.float32)
    b3 = rng.standard_normal(4).astype(np.float32)
    out.update(cle_w1=w1, cle_b1=b1, cle_w2=w2, cle_b2=b2, cle_w3=w3, cle_b3=b3)
    out["cle_s12_first"] = cle_scales(w1.astype(np.float64), w2.astype(np.float64))
    ews, ebs, total = cle([w1, w2, w3], [b1, b2, b3])
    for k in range(3):
        out[f"cle_e_w{k+1}"] = ews[k].astype(np.float32)
        out[f"cle_e_b{k+1}"] = ebs[k].astype(np.float32)
    out["cle_s12"], out["cle_s23"] = total[0], total[1]
    x = rng.uniform(0, 1, (2, 3, 7, 7))
    y0 = chain(x, [w1, w2, w3], [b1, b2, b3], [1, 1, 0])
    y1 = chain(x, ews, ebs, [1, 1, 0])
    assert np.allclose(y0, y1, rtol=1e-9, atol=1e-9), "CLE must not change the float function"
    out["cle_x"], out["cle_y"] = x.astype(np.float32), y0.astype(np.float32)

    # AdaRound's rectified sigmoid and regularizer.
    v = np.concatenate([np.linspace(-6, 6, 49), [-3.0445, 3.0445, 0.0, 1e-3, -2.5, 2.5]])
    vt = torch.tensor(v, dtype=torch.float64, requires_grad=True)
    h = h_of(vt)
    h.sum().backward()
    out["ada_v"], out["ada_h"], out["ada_dh"] = v, h.detach().numpy(), vt.grad.numpy()
    betas = np.array([20.0, 11.3, 2.0, 1.5])
    out["ada_beta"] = betas
    regs, dregs = [], []
    for b in betas:
        vt = torch.tensor(v, dtype=torch.float64, requires_grad=True)
        r = (1 - (2 * h_of(vt) - 1).abs().pow(b)).sum()
        r.backward()
        regs.append(r.item())
        dregs.append(vt.grad.numpy().copy())
    out["ada_reg"], out["ada_dreg"] = np.array(regs), np.array(dregs)
    r = np.array([1e-4, 0.01, 0.25, 0.5, 0.731, 0.99, 1 - 1e-4])
    out["ada_inv_r"] = r
    out["ada_inv_v"] = -np.log((ZETA - GAMMA) / (r - GAMMA) - 1)
    assert np.allclose(h_of(torch.tensor(out["ada_inv_v"])).numpy(), r)

    # One full objective.
    rng = np.random.default_rng(12)
    ox = rng.uniform(0, 1, (2, 3, 6, 6)).astype(np.float32)
    ow = (rng.standard_normal((4, 3, 3, 3)) * 0.3).astype(np.float32)
    ob = (rng.standard_normal(4) * 0.1).astype(np.float32)
    os_ = (np.abs(ow).reshape(4, -1).max(axis=1) / 127).astype(np.float32)
    os_[2] = os_[2] / 16  # forces clipping at +-127 in channel 2
    oy = F.relu(F.conv2d(torch.from_numpy(ox).double(), torch.from_numpy(ow).double(), torch.from_numpy(ob).double(), padding=1))
    oy = (oy + torch.from_numpy(rng.standard_normal(oy.shape) * 0.01)).numpy().astype(np.float32)
    inv = (np.float32(1) / os_).astype(np.float32)
    ws = (ow * inv[:, None, None, None]).astype(np.float32)  # as the quantizer computes w/s
    fl = np.floor(ws.astype(np.float64))
    ov = rng.standard_normal(ow.shape) * 2
    lam, beta = 0.01, 7.0
    vt = torch.tensor(ov, dtype=torch.float64, requires_grad=True)
    st = torch.from_numpy(os_.astype(np.float64))[:, None, None, None]
    wq = st * torch.clamp(torch.from_numpy(fl) + h_of(vt), -127, 127)
    pred = F.relu(F.conv2d(torch.from_numpy(ox).double(), wq, torch.from_numpy(ob).double(), padding=1))
    recon = (pred - torch.from_numpy(oy).double()).pow(2).sum(1).mean()
    reg = (1 - (2 * h_of(vt) - 1).abs().pow(beta)).sum()
    (recon + lam * reg).backward()
    out.update(obj_x=ox, obj_y=oy, obj_w=ow, obj_b=ob, obj_s=os_, obj_v=ov, obj_lambda=np.float64(lam),
               obj_beta=np.float64(beta), obj_recon=np.float64(recon.item()), obj_reg=np.float64(reg.item()),
               obj_grad=vt.grad.numpy())

    os.makedirs(args.out, exist_ok=True)
    np.savez_compressed(os.path.join(args.out, "improve.npz"), **out)


if __name__ == "__main__":
    main()
