#!/usr/bin/python3
"""Golden vectors for vgfq's QAT numerics (quant.FusedFakeQuant, quant.WeightFakeQuant, package
qat), produced by PyTorch 1.13.

Run from the repository root with Debian's python3-torch 1.13 and numpy:

    /usr/bin/python3 tools/golden/qat_gen.py --out quant/testdata --train-out qat/testdata

Deterministic (fixed seeds, one thread). Reference modules are torch 1.13's own
torch.ao.quantization.FusedMovingAvgObsFakeQuantize (ATen fused_moving_avg_obs_fake_quant) and
FakeQuantize(PerChannelMinMaxObserver) with the settings of ExecuTorch's
get_symmetric_quantization_config(is_qat=True) (quant-numerics.md §1, §1.5, §3): activations
int8 [-128, 127] per-tensor affine, averaging constant 0.01, eps 2**-16; weights per-channel
symmetric [-127, 127], ch_axis 0, eps 2**-16 (torch.qint8 stands for torch.int8: same math).

Files (np.savez_compressed):

  qat_fq.npz  fused activation fake-quant streams. Stream i: a{i}_n steps; per step j:
      a{i}_s{j}_x (input), _g (upstream gradient), _y (output), _dx (x.grad = g * mask),
      _min/_max (running range after the call), _scale (float32), _zp (int64),
      _escale/_ezp (calculate_qparams(), the export qparams), _obs/_fq (observer / fake-quant
      enabled for this call).
  qat_wfq.npz  weight fake-quant streams (FakeQuantize + PerChannelMinMaxObserver) with the
      same per-step keys w{i}_s{j}_* (x, g, y, dx, min, max, scale) plus
      fqc_* : a direct torch.fake_quantize_per_channel_affine forward/backward case.
  qat_lsq.npz  _LearnableFakeQuantize (LSQ, the --lsq option) forward/backward: l_s{j}_x, _g, _y,
      _dx, _scale/_zp (the parameters after the call), _dscale/_dzp (their gradients, learning
      steps), _escale/_ezp (calculate_qparams), _static.
  qat_train.npz (in qat/testdata)  K AdamW (lr 1e-4, torch defaults otherwise) steps of the tutorial's
      SmallUpscaler prepared for QAT as PT2E prepares it (§2: one fused fake-quant on the input
      called with x and then with the bilinear upsample of the fake-quantized x; one after each
      ReLU; one on the output; a weight fake-quant per conv; biases float): p{k}_init/_final,
      xs_u8/ys_u8 [K, N, 3, H, W], losses, and after every step q{m}_s{j}_{min,max,scale,zp}
      for the four activation fake-quants and w{c}_s{j}_scale for the three weight ones.
  qat_convbn.npz (in qat/testdata)  4 AdamW (lr 1e-3) steps of up -> conv1 (no bias) ->
      BatchNorm -> ReLU -> conv2 trained with TorchAO's QAT conv-BN pattern (§3): init/<param>,
      final/<param> (incl. BN running statistics), losses, wscale0 (conv1's weight fake-quant
      scales, observed on w*gamma/sigma), folded_w/folded_b (the convert-time fold).
"""

import os

os.environ.setdefault("ATEN_CPU_CAPABILITY", "avx2")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.ao.quantization.fake_quantize import (  # noqa: E402
    FakeQuantize,
    FusedMovingAvgObsFakeQuantize,
)
from torch.ao.quantization.observer import (  # noqa: E402
    MovingAverageMinMaxObserver,
    PerChannelMinMaxObserver,
)

torch.set_num_threads(1)
warnings.filterwarnings("ignore")

EPS16 = 2.0**-16


def act_fq():
    return FusedMovingAvgObsFakeQuantize(
        observer=MovingAverageMinMaxObserver, quant_min=-128, quant_max=127, dtype=torch.qint8,
        qscheme=torch.per_tensor_affine, averaging_constant=0.01, eps=EPS16)


def weight_fq():
    return FakeQuantize(
        observer=PerChannelMinMaxObserver, quant_min=-127, quant_max=127, dtype=torch.qint8,
        qscheme=torch.per_channel_symmetric, ch_axis=0, eps=EPS16)


def f32(t):
    return np.ascontiguousarray(t.detach().cpu().numpy().astype(np.float32))


def act_streams(d):
    rng = np.random.default_rng(7)
    streams = []
    # 1: ReLU-like non-negative activations with a growing then shrinking range.
    streams.append([("x", rng.random((2, 4, 5, 5)) * s) for s in (1.0, 1.7, 0.4, 2.5, 2.5, 0.9)])
    # 2: signed activations (free zero point), varying offsets.
    streams.append([("x", rng.standard_normal((3, 2, 4, 4)) * s + o)
                    for s, o in ((1, 0), (0.5, 0.3), (2, -1), (0.1, 0.05), (1.5, 0.2))])
    # 3: tiny ranges (ATen's small-scale path) and all-zero input (scale 0.1).
    streams.append([("x", np.zeros((1, 1, 3, 3))), ("x", rng.random((1, 2, 3, 3)) * 1e-4),
                    ("x", rng.standard_normal((1, 2, 3, 3)) * 1e-5), ("x", -rng.random((1, 2, 3, 3)) * 3e-3)])
    # 4: all-negative inputs, then an observer-frozen step with values crafted at the clamp
    #    edges, then a step with fake-quant disabled.
    streams.append([("x", -rng.random((2, 3, 4, 4)) * 2 - 0.5), ("x", rng.standard_normal((2, 3, 4, 4))),
                    ("edges", None), ("nofq", rng.standard_normal((1, 2, 3, 3)))])
    for i, steps in enumerate(streams):
        torch.manual_seed(i)
        fq = act_fq()
        d[f"a{i}_n"] = np.array([len(steps)], dtype=np.int64)
        for j, (kind, xv) in enumerate(steps):
            fq.enable_observer()
            fq.enable_fake_quant()
            if kind == "edges":
                fq.disable_observer()
                s = float(fq.scale[0])
                z = int(fq.zero_point[0])
                ks = np.arange(-132, 133, dtype=np.float64)
                vals = []
                for k in ks:
                    base = (k - z) * s
                    vals += [base, base + 0.5 * s, base - 0.5 * s, base + 0.49 * s, base - 0.51 * s]
                xv = np.array(vals, dtype=np.float32).reshape(1, 1, -1, 5)
            if kind == "nofq":
                fq.disable_fake_quant()
            x = torch.tensor(np.asarray(xv, dtype=np.float32), requires_grad=True)
            y = fq(x)
            g = torch.tensor(rng.standard_normal(x.shape).astype(np.float32))
            y.backward(g)
            p = f"a{i}_s{j}_"
            d[p + "x"] = f32(x)
            d[p + "g"] = f32(g)
            d[p + "y"] = f32(y)
            d[p + "dx"] = f32(x.grad)
            d[p + "min"] = f32(fq.activation_post_process.min_val.reshape(1))
            d[p + "max"] = f32(fq.activation_post_process.max_val.reshape(1))
            d[p + "scale"] = f32(fq.scale.reshape(1))
            d[p + "zp"] = fq.zero_point.reshape(1).numpy().astype(np.int64)
            es, ez = fq.calculate_qparams()
            d[p + "escale"] = f32(es.reshape(1))
            d[p + "ezp"] = ez.reshape(1).numpy().astype(np.int64)
            d[p + "obs"] = np.array([int(fq.observer_enabled[0])], dtype=np.int64)
            d[p + "fq"] = np.array([int(fq.fake_quant_enabled[0])], dtype=np.int64)


def weight_streams(d):
    rng = np.random.default_rng(11)
    for i, shape in enumerate([(4, 3, 3, 3), (3, 8, 1, 1)]):
        fq = weight_fq()
        w = rng.standard_normal(shape) * 0.2
        steps = 4
        d[f"w{i}_n"] = np.array([steps], dtype=np.int64)
        for j in range(steps):
            if j == 2:
                w = w * 0.5  # shrinking weights: the running range must not shrink
            if j == 3:
                w = w + rng.standard_normal(shape) * 0.3
                w[0] = 0.0  # an all-zero channel: scale = eps
            x = torch.tensor(w.astype(np.float32), requires_grad=True)
            y = fq(x)
            g = torch.tensor(rng.standard_normal(shape).astype(np.float32))
            y.backward(g)
            p = f"w{i}_s{j}_"
            d[p + "x"] = f32(x)
            d[p + "g"] = f32(g)
            d[p + "y"] = f32(y)
            d[p + "dx"] = f32(x.grad)
            d[p + "min"] = f32(fq.activation_post_process.min_val)
            d[p + "max"] = f32(fq.activation_post_process.max_val)
            d[p + "scale"] = f32(fq.scale)
    # Direct per-channel fake quant at and around the clamp edges, forward and backward.
    scales = np.array([0.01, 0.037, 1e-3], dtype=np.float32)
    vals = []
    for c in range(3):
        row = []
        for k in range(-130, 131):
            for off in (0.0, 0.5, -0.5, 0.499, -0.501):
                row.append((k + off) * float(scales[c]))
        vals.append(row)
    x = torch.tensor(np.array(vals, dtype=np.float32).reshape(3, 1, -1, 5), requires_grad=True)
    y = torch.fake_quantize_per_channel_affine(x, torch.tensor(scales), torch.zeros(3, dtype=torch.int32), 0, -127, 127)
    g = torch.tensor(rng.standard_normal(tuple(x.shape)).astype(np.float32))
    y.backward(g)
    d["fqc_x"] = f32(x)
    d["fqc_scale"] = scales
    d["fqc_g"] = f32(g)
    d["fqc_y"] = f32(y)
    d["fqc_dx"] = f32(x.grad)


def train_steps(d):
    torch.manual_seed(0)
    convs = [torch.nn.Conv2d(3, 32, 3, padding=1), torch.nn.Conv2d(32, 32, 3, padding=1),
             torch.nn.Conv2d(32, 3, 3, padding=1)]
    params = []
    for c in convs:
        params += [c.weight, c.bias]
    for k, p in enumerate(params):
        d[f"p{k}_init"] = f32(p)
    afq = [act_fq() for _ in range(4)]  # G_in, G_a1, G_a2, G_out
    wfq = [weight_fq() for _ in range(3)]
    opt = torch.optim.AdamW(params, lr=1e-4)

    def forward(x):
        x = afq[0](x)
        h = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        h = afq[0](h)
        h = afq[1](F.relu(F.conv2d(h, wfq[0](params[0]), params[1], padding=1)))
        h = afq[2](F.relu(F.conv2d(h, wfq[1](params[2]), params[3], padding=1)))
        return afq[3](F.conv2d(h, wfq[2](params[4]), params[5], padding=1))

    rng = np.random.default_rng(5)
    K, N = 6, 8
    xs = rng.integers(0, 256, size=(K, N, 3, 16, 16), dtype=np.uint8)
    ys = rng.integers(0, 256, size=(K, N, 3, 32, 32), dtype=np.uint8)
    # Targets: a smooth function of the input so the loss is meaningful.
    up = F.interpolate(torch.tensor(xs.reshape(K * N, 3, 16, 16).astype(np.float32)), scale_factor=2,
                       mode="bilinear", align_corners=False).numpy().reshape(K, N, 3, 32, 32)
    ys = np.clip(np.rint(0.8 * up + 0.2 * ys), 0, 255).astype(np.uint8)
    d["xs_u8"] = xs
    d["ys_u8"] = ys
    d["steps"] = np.array([K], dtype=np.int64)
    d["lr"] = np.array([1e-4], dtype=np.float32)
    losses = []
    for j in range(K):
        x = torch.tensor(xs[j].astype(np.float32) / 255)
        y = torch.tensor(ys[j].astype(np.float32) / 255)
        opt.zero_grad()
        loss = F.mse_loss(forward(x), y)
        loss.backward()
        opt.step()
        losses.append(float(loss))
        for m, q in enumerate(afq):
            p = f"q{m}_s{j}_"
            d[p + "min"] = f32(q.activation_post_process.min_val.reshape(1))
            d[p + "max"] = f32(q.activation_post_process.max_val.reshape(1))
            d[p + "scale"] = f32(q.scale.reshape(1))
            d[p + "zp"] = q.zero_point.reshape(1).numpy().astype(np.int64)
        for c, q in enumerate(wfq):
            d[f"w{c}_s{j}_scale"] = f32(q.scale)
    d["losses"] = np.array(losses, dtype=np.float32)
    for k, p in enumerate(params):
        d[f"p{k}_final"] = f32(p)


def convbn_steps(d):
    """K AdamW steps of up -> conv1 -> BatchNorm -> ReLU -> conv2 with TorchAO's QAT conv-BN
    pattern (torchao.quantization.pt2e.qat_utils._qat_conv_bn_pattern) written out in eager
    torch, then the convert-time fold (fuse_conv_bn_weights)."""
    torch.manual_seed(3)
    # conv1 has no bias (the usual conv -> BN); with a bias, its gradient is zero up to rounding
    # noise (BN subtracts the batch mean) and AdamW turns that noise into steps, so it would not
    # be reproducible. The biased pattern is checked for its value in qat_test.go.
    conv1 = torch.nn.Conv2d(3, 8, 3, padding=1, bias=False)
    conv2 = torch.nn.Conv2d(8, 3, 3, padding=1)
    bn = torch.nn.BatchNorm2d(8)
    with torch.no_grad():
        for i in range(8):
            bn.running_mean[i] = 0.05 * (i - 4)
            bn.running_var[i] = 0.5 + 0.1 * i
            bn.weight[i] = 0.8 + 0.05 * i
            bn.bias[i] = 0.01 * i
    bn.train()
    params = [conv1.weight, bn.weight, bn.bias, conv2.weight, conv2.bias]
    names = ["conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight", "conv2.bias"]
    for n, p in zip(names, params):
        d["init/" + n] = f32(p)
    d["init/bn1.running_mean"] = f32(bn.running_mean)
    d["init/bn1.running_var"] = f32(bn.running_var)
    afq = [act_fq() for _ in range(3)]  # x+up, relu1, conv2
    wfq = [weight_fq() for _ in range(2)]
    opt = torch.optim.AdamW(params, lr=1e-3)

    def forward(x):
        x = afq[0](x)
        h = afq[0](F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False))
        running_std = torch.sqrt(bn.running_var + bn.eps)
        sf = bn.weight / running_std
        sw = conv1.weight * sf.reshape([-1, 1, 1, 1])
        h = F.conv2d(h, wfq[0](sw), None, padding=1)  # _qat_conv_bn_pattern_no_conv_bias
        h = h / sf.reshape([1, -1, 1, 1])
        h = F.batch_norm(h, bn.running_mean, bn.running_var, bn.weight, bn.bias, training=True, momentum=0.1, eps=bn.eps)
        h = afq[1](F.relu(h))
        return afq[2](F.conv2d(h, wfq[1](conv2.weight), conv2.bias, padding=1))

    rng = np.random.default_rng(9)
    K, N = 4, 4
    xs = rng.integers(0, 256, size=(K, N, 3, 16, 16), dtype=np.uint8)
    ys = rng.integers(0, 256, size=(K, N, 3, 32, 32), dtype=np.uint8)
    d["xs_u8"], d["ys_u8"] = xs, ys
    losses = []
    for j in range(K):
        opt.zero_grad()
        loss = F.mse_loss(forward(torch.tensor(xs[j].astype(np.float32) / 255)), torch.tensor(ys[j].astype(np.float32) / 255))
        loss.backward()
        opt.step()
        losses.append(float(loss))
    d["losses"] = np.array(losses, dtype=np.float32)
    for n, p in zip(names, params):
        d["final/" + n] = f32(p)
    d["final/bn1.running_mean"] = f32(bn.running_mean)
    d["final/bn1.running_var"] = f32(bn.running_var)
    d["wscale0"] = f32(wfq[0].scale)
    with torch.no_grad():
        rsqrt = torch.rsqrt(bn.running_var + bn.eps)
        d["folded_w"] = f32(conv1.weight * (bn.weight * rsqrt).reshape([-1, 1, 1, 1]))
        d["folded_b"] = f32((torch.zeros_like(bn.running_mean) - bn.running_mean) * rsqrt * bn.weight + bn.bias)


def lsq_streams(d):
    """_LearnableFakeQuantize (LSQ, use_grad_scaling=True) for per-tensor affine int8: two
    static-estimate steps (enable_static_estimate), then learning steps (enable_param_learning)
    with scale / zero point set before each call (fractional zero points exercise the forward's
    round-half-even and the backward's +0.5 truncation)."""
    from torch.ao.quantization._learnable_fake_quantize import _LearnableFakeQuantize
    rng = np.random.default_rng(21)
    fq = _LearnableFakeQuantize(observer=MovingAverageMinMaxObserver, quant_min=-128, quant_max=127, dtype=torch.qint8,
                                qscheme=torch.per_tensor_affine, eps=EPS16, use_grad_scaling=True)
    steps = [("static", None), ("static", None), ("learn", (0.011, -3.4)), ("learn", (0.02, 5.5)),
             ("learn", (0.007, -127.6)), ("learn", (0.0, 2.0))]
    d["l_n"] = np.array([len(steps)], dtype=np.int64)
    for j, (kind, qp) in enumerate(steps):
        if kind == "static":
            fq.enable_static_estimate()
        else:
            fq.enable_param_learning()
            with torch.no_grad():
                fq.scale.fill_(qp[0])
                fq.zero_point.fill_(qp[1])
        x = torch.tensor((rng.standard_normal((2, 3, 5, 7)) * 0.8 + 0.3).astype(np.float32), requires_grad=True)
        if fq.scale.grad is not None:
            fq.scale.grad = None
            fq.zero_point.grad = None
        y = fq(x)
        g = torch.tensor(rng.standard_normal(tuple(x.shape)).astype(np.float32))
        y.backward(g)
        p = f"l_s{j}_"
        d[p + "x"], d[p + "g"], d[p + "y"], d[p + "dx"] = f32(x), f32(g), f32(y), f32(x.grad)
        d[p + "static"] = np.array([int(kind == "static")], dtype=np.int64)
        d[p + "scale"] = f32(fq.scale.detach().reshape(1))
        d[p + "zp"] = f32(fq.zero_point.detach().reshape(1))
        if kind == "learn":
            d[p + "dscale"] = f32(fq.scale.grad.reshape(1))
            d[p + "dzp"] = f32(fq.zero_point.grad.reshape(1))
        es, ez = fq.calculate_qparams()
        d[p + "escale"] = f32(es.reshape(1))
        d[p + "ezp"] = ez.reshape(1).numpy().astype(np.int64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="quant/testdata")
    ap.add_argument("--train-out", default="qat/testdata")
    args = ap.parse_args()
    for out, name, fn in ((args.out, "qat_fq.npz", act_streams), (args.out, "qat_wfq.npz", weight_streams),
                          (args.out, "qat_lsq.npz", lsq_streams),
                          (args.train_out, "qat_train.npz", train_steps), (args.train_out, "qat_convbn.npz", convbn_steps)):
        os.makedirs(out, exist_ok=True)
        d = {}
        fn(d)
        np.savez_compressed(os.path.join(out, name), **d)
        print(name, len(d), "arrays")


if __name__ == "__main__":
    main()
