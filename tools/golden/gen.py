#!/usr/bin/python3
"""Golden vectors for vgfq's float engine (package engine), produced by PyTorch.

How these vectors were produced (and how to reproduce them):

    cd /work/main   # the repository root
    /usr/bin/python3 tools/golden/gen.py --out engine/testdata/golden

with Debian's python3-torch 1.13.0a0 (torch.__version__ == "1.13.0a0") and numpy 1.24.2, on
CPU, single-threaded (torch.set_num_threads(1)). The script is deterministic: every case draws
its data from torch.manual_seed(<fixed seed per case>), so re-running it gives the same inputs
(outputs may differ in the last ulp on another torch build or CPU).

File layout: one .npz per case (np.savez, uncompressed). Conventions, shared with
engine/golden_test.go:

  * operator cases: every differentiable input/parameter NAME is stored as NAME, its gradient
    as grad_NAME; the forward result as out and the random upstream gradient dL/dout as gout
    (the gradients are torch.autograd.grad(out, inputs, gout)). Losses (0-d in torch) are
    stored with shape [1], and so is their gout.
  * small attributes (stride, padding, ...) are stored as 1-D int64 or float64 arrays.
  * batch_norm_*: running_mean/running_var before the call (rm_before, rv_before) and after
    it (rm_after, rv_after); momentum and eps as float64 attributes.
  * train_adamw / train_sgd: the initial parameters p{i}_init and final ones p{i}_final in
    model.parameters() order (conv0.weight, conv0.bias, conv1.weight, ...); the batches as
    uint8 images xs_u8 [steps,N,3,h,w] and ys_u8 [steps,N,3,2h,2w], turned into float32 as
    u8/255 (one correctly rounded float32 division, the same in Go); the loss of every step
    (computed before that step's update) in losses; hyper-parameters as float64 attributes.
"""

import argparse
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = None
WRITTEN = []


def _np(v):
    if isinstance(v, torch.Tensor):
        a = v.detach().cpu().numpy()
        if a.dtype == np.float32 or a.dtype == np.float64:
            a = a.astype(np.float32)
        if a.ndim == 0:
            a = a.reshape(1)
        return a
    if isinstance(v, np.ndarray):
        return v
    if isinstance(v, bool):
        return np.array([int(v)], dtype=np.int64)
    if isinstance(v, int):
        return np.array([v], dtype=np.int64)
    if isinstance(v, float):
        return np.array([v], dtype=np.float64)
    if isinstance(v, (tuple, list)):
        if all(isinstance(e, int) for e in v):
            return np.array(v, dtype=np.int64)
        return np.array(v, dtype=np.float64)
    raise TypeError(f"cannot store {type(v)}")


def save(name, **arrays):
    path = os.path.join(OUT, name + ".npz")
    np.savez(path, **{k: _np(v) for k, v in arrays.items()})
    WRITTEN.append(name)


def case(name, seed, fn, inputs, attrs=None, gout_scale=1.0):
    """Runs fn(**inputs) (inputs: name -> tensor, all made leaves requiring grad), draws a random
    upstream gradient and stores inputs, out, gout and the gradient of every input."""
    torch.manual_seed(seed + 1000)
    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in inputs.items()}
    out = fn(**leaves)
    gout = torch.randn(out.shape) * gout_scale
    grads = torch.autograd.grad(out, list(leaves.values()), gout, allow_unused=True)
    arrays = dict(attrs or {})
    for (k, v), g in zip(leaves.items(), grads):
        arrays[k] = v
        arrays["grad_" + k] = g if g is not None else torch.zeros_like(v)
    arrays["out"] = out
    arrays["gout"] = gout
    save(name, **arrays)


# --------------------------------------------------------------------------------------------
# convolutions

def conv_cases():
    # name, x shape, w shape, bias, stride, padding, dilation, groups
    specs = [
        ("conv2d_k3_s1_p1_bias", (2, 3, 7, 7), (4, 3, 3, 3), True, (1, 1), (1, 1), (1, 1), 1),
        ("conv2d_k3_s2_p0_nobias", (2, 3, 8, 8), (5, 3, 3, 3), False, (2, 2), (0, 0), (1, 1), 1),
        ("conv2d_k3_s1_p2_d2_bias", (2, 4, 7, 7), (4, 4, 3, 3), True, (1, 1), (2, 2), (2, 2), 1),
        ("conv2d_k3_s2_p1_d2_nobias", (2, 3, 9, 8), (4, 3, 3, 3), False, (2, 2), (1, 1), (2, 2), 1),
        ("conv2d_groups2_p1_bias", (2, 4, 6, 6), (6, 2, 3, 3), True, (1, 1), (1, 1), (1, 1), 2),
        ("conv2d_groups2_s2_nobias", (2, 6, 7, 7), (4, 3, 3, 3), False, (2, 2), (1, 1), (1, 1), 2),
        ("conv2d_depthwise_s2_p1_bias", (2, 4, 7, 7), (4, 1, 3, 3), True, (2, 2), (1, 1), (1, 1), 4),
        ("conv2d_depthwise_mult2_p1_nobias", (2, 4, 6, 6), (8, 1, 3, 3), False, (1, 1), (1, 1), (1, 1), 4),
        ("conv2d_k1x3_p01_bias", (2, 3, 6, 7), (4, 3, 1, 3), True, (1, 1), (0, 1), (1, 1), 1),
        ("conv2d_k3x2_s21_p10_nobias", (2, 3, 7, 6), (4, 3, 3, 2), False, (2, 1), (1, 0), (1, 1), 1),
        ("conv2d_k5_p2_bias", (2, 3, 9, 9), (3, 3, 5, 5), True, (1, 1), (2, 2), (1, 1), 1),
        ("conv2d_k1_bias", (2, 5, 5, 5), (3, 5, 1, 1), True, (1, 1), (0, 0), (1, 1), 1),
    ]
    for i, (name, xs, ws, bias, s, p, d, g) in enumerate(specs):
        torch.manual_seed(100 + i)
        inputs = {"x": torch.randn(xs), "w": torch.randn(ws) * 0.3}
        if bias:
            inputs["b"] = torch.randn(ws[0]) * 0.5
        attrs = dict(stride=s, padding=p, dilation=d, groups=g, has_bias=int(bias))

        def fn(x, w, b=None, s=s, p=p, d=d, g=g):
            return F.conv2d(x, w, b, stride=s, padding=p, dilation=d, groups=g)
        case(name, 100 + i, fn, inputs, attrs)


def conv_transpose_cases():
    # name, x shape, w shape (C, O/g, kh, kw), bias, stride, padding, output_padding, dilation, groups
    specs = [
        ("convt_k4_s2_p1_bias", (2, 4, 5, 5), (4, 3, 4, 4), True, (2, 2), (1, 1), (0, 0), (1, 1), 1),
        ("convt_k3_s2_p1_op1_bias", (2, 3, 5, 5), (3, 4, 3, 3), True, (2, 2), (1, 1), (1, 1), (1, 1), 1),
        ("convt_k3_s2_p0_groups2_nobias", (2, 4, 5, 5), (4, 3, 3, 3), False, (2, 2), (0, 0), (0, 0), (1, 1), 2),
        ("convt_k3_s2_p1_op1_groups2_bias", (2, 4, 4, 4), (4, 2, 3, 3), True, (2, 2), (1, 1), (1, 1), (1, 1), 2),
        ("convt_k3_s1_p1_d2_nobias", (2, 3, 5, 5), (3, 2, 3, 3), False, (1, 1), (1, 1), (0, 0), (2, 2), 1),
        ("convt_k2x3_s21_p01_op10_bias", (2, 3, 4, 5), (3, 4, 2, 3), True, (2, 1), (0, 1), (1, 0), (1, 1), 1),
        ("convt_depthwise_k4_s2_p1_bias", (2, 4, 5, 5), (4, 1, 4, 4), True, (2, 2), (1, 1), (0, 0), (1, 1), 4),
    ]
    for i, (name, xs, ws, bias, s, p, op, d, g) in enumerate(specs):
        torch.manual_seed(200 + i)
        inputs = {"x": torch.randn(xs), "w": torch.randn(ws) * 0.3}
        if bias:
            inputs["b"] = torch.randn(ws[1] * g) * 0.5
        attrs = dict(stride=s, padding=p, output_padding=op, dilation=d, groups=g, has_bias=int(bias))

        def fn(x, w, b=None, s=s, p=p, op=op, d=d, g=g):
            return F.conv_transpose2d(x, w, b, stride=s, padding=p, output_padding=op, groups=g, dilation=d)
        case(name, 200 + i, fn, inputs, attrs)


# --------------------------------------------------------------------------------------------
# element-wise

def with_exact(x, values, seed):
    """Puts each of values at a few random positions of x (to pin down boundary gradients)."""
    g = torch.Generator().manual_seed(seed)
    flat = x.reshape(-1).clone()
    perm = torch.randperm(flat.numel(), generator=g)
    k = 0
    for v in values:
        for _ in range(4):
            flat[perm[k]] = v
            k += 1
    return flat.reshape(x.shape)


def elementwise_cases():
    torch.manual_seed(300)
    x = with_exact(torch.randn(2, 3, 5, 5) * 2, [0.0], 1)
    case("relu", 300, lambda x: F.relu(x), {"x": x})

    torch.manual_seed(301)
    x = with_exact(torch.randn(2, 3, 5, 5) * 2, [0.0], 2)
    case("leaky_relu_0.2", 301, lambda x: F.leaky_relu(x, 0.2), {"x": x}, dict(slope=0.2))

    torch.manual_seed(302)
    x = with_exact(torch.randn(2, 3, 6, 6) * 4 + 3, [0.0, 6.0], 3)
    case("clamp_0_6", 302, lambda x: torch.clamp(x, 0.0, 6.0), {"x": x}, dict(lo=0.0, hi=6.0))
    # F.relu6 is hardtanh(0, 6): same forward as clamp, but its gradient is 0 AT the boundaries
    # (hardtanh_backward: lo < x < hi) where torch.clamp's passes it (lo <= x <= hi).
    case("relu6", 302, lambda x: F.relu6(x), {"x": x}, dict(lo=0.0, hi=6.0))

    torch.manual_seed(303)
    x = with_exact(torch.randn(2, 3, 5, 5) * 3, [-1.0, 1.0, 0.0], 4)
    case("clamp_m1_1", 303, lambda x: torch.clamp(x, -1.0, 1.0), {"x": x}, dict(lo=-1.0, hi=1.0))

    torch.manual_seed(304)
    x = torch.randn(2, 3, 5, 5) * 3
    case("sigmoid", 304, lambda x: torch.sigmoid(x), {"x": x})

    torch.manual_seed(305)
    x = torch.randn(2, 3, 5, 5) * 2
    case("tanh", 305, lambda x: torch.tanh(x), {"x": x})


def binary_cases():
    shapes = {
        "same": ((2, 3, 5, 5), (2, 3, 5, 5)),
        "bcast": ((2, 3, 5, 5), (1, 3, 1, 1)),
        "bcast_left": ((1, 3, 1, 1), (2, 3, 5, 5)),
        "scalar": ((2, 3, 5, 5), (1,)),
    }
    ops = {"add": torch.add, "sub": torch.sub, "mul": torch.mul}
    seed = 400
    for opname, op in ops.items():
        for sname, (sa, sb) in shapes.items():
            torch.manual_seed(seed)
            inputs = {"a": torch.randn(sa), "b": torch.randn(sb)}
            case(f"{opname}_{sname}", seed, lambda a, b, op=op: op(a, b), inputs)
            seed += 1


def cat_cases():
    torch.manual_seed(450)
    inputs = {"x0": torch.randn(2, 2, 4, 4), "x1": torch.randn(2, 3, 4, 4), "x2": torch.randn(2, 1, 4, 4)}
    case("cat_dim1", 450, lambda x0, x1, x2: torch.cat([x0, x1, x2], 1), inputs, dict(axis=1))


# --------------------------------------------------------------------------------------------
# resizing and pixel (un)shuffle

MODE_CODES = {"bilinear": 0, "nearest": 1, "nearest-exact": 2}


def interp_cases():
    # name, x shape, mode, size or None, scale_factor or None, align_corners
    specs = [
        ("bilinear_sf2", (2, 3, 5, 5), "bilinear", None, 2.0, False),
        ("bilinear_sf0.5", (2, 3, 9, 9), "bilinear", None, 0.5, False),
        ("bilinear_sf0.5_even", (2, 3, 8, 8), "bilinear", None, 0.5, False),
        ("bilinear_sf1.5", (2, 3, 5, 5), "bilinear", None, 1.5, False),
        ("bilinear_size_5to7", (2, 3, 5, 5), "bilinear", (7, 7), None, False),
        ("bilinear_size_9to4", (2, 3, 9, 9), "bilinear", (4, 4), None, False),
        ("bilinear_size_5x9to7x4", (2, 3, 5, 9), "bilinear", (7, 4), None, False),
        ("bilinear_align_sf2", (2, 3, 5, 5), "bilinear", None, 2.0, True),
        ("bilinear_align_size_5to7", (2, 3, 5, 5), "bilinear", (7, 7), None, True),
        ("bilinear_align_size_9to4", (2, 3, 9, 9), "bilinear", (4, 4), None, True),
        ("nearest_sf2", (2, 3, 5, 5), "nearest", None, 2.0, False),
        ("nearest_sf1.5", (2, 3, 5, 5), "nearest", None, 1.5, False),
        ("nearest_sf0.5", (2, 3, 9, 9), "nearest", None, 0.5, False),
        ("nearest_size_5to7", (2, 3, 5, 5), "nearest", (7, 7), None, False),
        ("nearest_size_7to5", (2, 3, 7, 7), "nearest", (5, 5), None, False),
        ("nearest_exact_sf2", (2, 3, 5, 5), "nearest-exact", None, 2.0, False),
        ("nearest_exact_sf1.5", (2, 3, 5, 5), "nearest-exact", None, 1.5, False),
        ("nearest_exact_size_5to7", (2, 3, 5, 5), "nearest-exact", (7, 7), None, False),
        ("nearest_exact_size_7to5", (2, 3, 7, 7), "nearest-exact", (5, 5), None, False),
    ]
    for i, (name, xs, mode, size, sf, ac) in enumerate(specs):
        torch.manual_seed(500 + i)
        x = torch.randn(xs)
        kw = dict(mode=mode)
        if mode == "bilinear":
            kw["align_corners"] = ac
        if size is not None:
            kw["size"] = size
        else:
            kw["scale_factor"] = sf

        def fn(x, kw=kw):
            return F.interpolate(x, **kw)
        with torch.no_grad():
            out_shape = fn(x).shape
        attrs = dict(mode=MODE_CODES[mode], out_h=out_shape[2], out_w=out_shape[3],
                     scale_h=float(sf or 0.0), scale_w=float(sf or 0.0), align_corners=int(ac))
        case(name, 500 + i, fn, {"x": x}, attrs)


def shuffle_cases():
    torch.manual_seed(550)
    case("pixel_shuffle_2", 550, lambda x: F.pixel_shuffle(x, 2), {"x": torch.randn(2, 8, 3, 4)}, dict(r=2))
    torch.manual_seed(551)
    case("pixel_unshuffle_2", 551, lambda x: F.pixel_unshuffle(x, 2), {"x": torch.randn(2, 2, 6, 4)}, dict(r=2))


# --------------------------------------------------------------------------------------------
# pooling

def pool_cases():
    # name, kind, x shape, kernel, stride, padding, dilation, ceil, count_include_pad, ties
    specs = [
        ("avgpool_k2_s2", "avg", (2, 3, 6, 6), (2, 2), (2, 2), (0, 0), (1, 1), False, True, False),
        ("avgpool_k3_s1_p1_incpad", "avg", (2, 3, 5, 5), (3, 3), (1, 1), (1, 1), (1, 1), False, True, False),
        ("avgpool_k3_s1_p1_excpad", "avg", (2, 3, 5, 5), (3, 3), (1, 1), (1, 1), (1, 1), False, False, False),
        ("avgpool_k2_s2_ceil", "avg", (2, 3, 5, 5), (2, 2), (2, 2), (0, 0), (1, 1), True, True, False),
        ("avgpool_k3_s2_p1_ceil_incpad", "avg", (2, 3, 6, 6), (3, 3), (2, 2), (1, 1), (1, 1), True, True, False),
        ("avgpool_k3_s2_p1_ceil_excpad", "avg", (2, 3, 6, 6), (3, 3), (2, 2), (1, 1), (1, 1), True, False, False),
        ("avgpool_k3x2_s21", "avg", (2, 3, 6, 5), (3, 2), (2, 1), (0, 0), (1, 1), False, True, False),
        ("maxpool_k2_s2", "max", (2, 3, 6, 6), (2, 2), (2, 2), (0, 0), (1, 1), False, True, False),
        ("maxpool_k3_s2_p1", "max", (2, 3, 7, 7), (3, 3), (2, 2), (1, 1), (1, 1), False, True, False),
        ("maxpool_k3_s1_d2", "max", (2, 3, 8, 8), (3, 3), (1, 1), (0, 0), (2, 2), False, True, False),
        ("maxpool_k2_s2_ceil", "max", (2, 3, 5, 5), (2, 2), (2, 2), (0, 0), (1, 1), True, True, False),
        ("maxpool_k3_s2_p1_ceil", "max", (2, 3, 6, 6), (3, 3), (2, 2), (1, 1), (1, 1), True, True, False),
        ("maxpool_k2_s2_ties", "max", (2, 3, 6, 6), (2, 2), (2, 2), (0, 0), (1, 1), False, True, True),
        ("maxpool_k3_s1_p1_ties", "max", (2, 3, 6, 6), (3, 3), (1, 1), (1, 1), (1, 1), False, True, True),
    ]
    for i, (name, kind, xs, k, s, p, d, ceil, cip, ties) in enumerate(specs):
        torch.manual_seed(600 + i)
        if ties:
            # few distinct values, so most windows hold several maxima: PyTorch takes the first
            # (lowest flat index in the window's scan order) and routes the gradient there.
            x = torch.randint(0, 3, xs).float()
        else:
            x = torch.randn(xs)
        attrs = dict(kernel=k, stride=s, padding=p, dilation=d, ceil_mode=int(ceil), count_include_pad=int(cip))
        if kind == "avg":
            def fn(x, k=k, s=s, p=p, ceil=ceil, cip=cip):
                return F.avg_pool2d(x, k, s, p, ceil_mode=ceil, count_include_pad=cip)
        else:
            def fn(x, k=k, s=s, p=p, d=d, ceil=ceil):
                return F.max_pool2d(x, k, s, p, dilation=d, ceil_mode=ceil)
        case(name, 600 + i, fn, {"x": x}, attrs)


# --------------------------------------------------------------------------------------------
# batch norm

def batchnorm_cases():
    specs = [
        ("batch_norm_train", True, 0.1, 1e-5, 700),
        ("batch_norm_train_m0.3_eps1e-3", True, 0.3, 1e-3, 701),
        ("batch_norm_eval", False, 0.1, 1e-5, 702),
    ]
    for name, train, momentum, eps, seed in specs:
        torch.manual_seed(seed)
        x = torch.randn(4, 3, 5, 5) * 2 + 0.5
        gamma = torch.rand(3) + 0.5
        beta = torch.randn(3) * 0.3
        rm = torch.randn(3) * 0.2
        rv = torch.rand(3) + 0.5
        rm_after, rv_after = rm.clone(), rv.clone()

        def fn(x, gamma, beta, rm=rm_after, rv=rv_after, train=train, momentum=momentum, eps=eps):
            return F.batch_norm(x, rm, rv, gamma, beta, training=train, momentum=momentum, eps=eps)
        case(name, seed, fn, {"x": x, "gamma": gamma, "beta": beta},
             dict(rm_before=rm, rv_before=rv, rm_after=rm_after, rv_after=rv_after,
                  train=int(train), momentum=momentum, eps=eps))


# --------------------------------------------------------------------------------------------
# shape ops

def shape_cases():
    torch.manual_seed(750)
    case("reshape_2x60", 750, lambda x: x.reshape(2, 60), {"x": torch.randn(2, 3, 4, 5)}, dict(shape=(2, 60)))
    torch.manual_seed(751)
    case("reshape_6x4x5", 751, lambda x: x.reshape(6, 4, 5), {"x": torch.randn(2, 3, 4, 5)}, dict(shape=(6, 4, 5)))
    torch.manual_seed(752)
    case("permute_0231", 752, lambda x: x.permute(0, 2, 3, 1), {"x": torch.randn(2, 3, 4, 5)}, dict(perm=(0, 2, 3, 1)))
    torch.manual_seed(753)
    case("permute_3120", 753, lambda x: x.permute(3, 1, 2, 0), {"x": torch.randn(2, 3, 4, 5)}, dict(perm=(3, 1, 2, 0)))
    torch.manual_seed(754)
    case("transpose_1_3", 754, lambda x: x.transpose(1, 3), {"x": torch.randn(2, 3, 4, 5)}, dict(dims=(1, 3)))
    torch.manual_seed(755)
    case("transpose_0_2", 755, lambda x: x.transpose(0, 2), {"x": torch.randn(2, 3, 4, 5)}, dict(dims=(0, 2)))


# --------------------------------------------------------------------------------------------
# losses

def loss_cases():
    for i, (name, fn) in enumerate([("mse_loss", F.mse_loss), ("l1_loss", F.l1_loss)]):
        torch.manual_seed(800 + i)
        pred = torch.randn(2, 3, 5, 5)
        target = torch.randn(2, 3, 5, 5)
        # a few exact matches: l1's gradient there is sign(0) = 0
        idx = torch.randperm(pred.numel())[:6]
        target.view(-1)[idx] = pred.view(-1)[idx]
        case(name, 800 + i, lambda pred, target, fn=fn: fn(pred, target), {"pred": pred, "target": target})


# --------------------------------------------------------------------------------------------
# training runs

class SmallUpscaler(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv0 = nn.Conv2d(3, 32, 3, padding=1)
        self.conv1 = nn.Conv2d(32, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 3, 3, padding=1)

    def forward(self, x):
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        x = F.relu(self.conv0(x))
        x = F.relu(self.conv1(x))
        return self.conv2(x)


def train_case(name, seed, steps, n, h, w, make_opt, hyper):
    torch.manual_seed(seed)
    model = SmallUpscaler()
    init = [p.detach().clone() for p in model.parameters()]
    xs_u8 = torch.randint(0, 256, (steps, n, 3, h, w), dtype=torch.uint8)
    ys_u8 = torch.randint(0, 256, (steps, n, 3, 2 * h, 2 * w), dtype=torch.uint8)
    opt = make_opt(model.parameters())
    losses = []
    for step in range(steps):
        x = xs_u8[step].float() / 255
        y = ys_u8[step].float() / 255
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    arrays = {}
    for i, (p0, p1) in enumerate(zip(init, model.parameters())):
        arrays[f"p{i}_init"] = p0
        arrays[f"p{i}_final"] = p1
    arrays.update(hyper)
    save(name, xs_u8=xs_u8.numpy(), ys_u8=ys_u8.numpy(), losses=np.array(losses, dtype=np.float32),
         steps=steps, nparams=len(init), **arrays)


def training_cases():
    train_case("train_adamw", 900, 20, 8, 16, 16,
               lambda ps: torch.optim.AdamW(ps, lr=1e-3),
               dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01))
    train_case("train_sgd", 901, 10, 4, 8, 8,
               lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=1e-4, nesterov=False),
               dict(lr=0.05, momentum=0.9, dampening=0.0, weight_decay=1e-4, nesterov=0))


def main():
    global OUT
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="output directory (engine/testdata/golden)")
    args = ap.parse_args()
    OUT = args.out
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    conv_cases()
    conv_transpose_cases()
    elementwise_cases()
    binary_cases()
    cat_cases()
    interp_cases()
    shuffle_cases()
    pool_cases()
    batchnorm_cases()
    shape_cases()
    loss_cases()
    training_cases()
    total = sum(os.path.getsize(os.path.join(OUT, n + ".npz")) for n in WRITTEN)
    print(f"torch {torch.__version__}, numpy {np.__version__}: wrote {len(WRITTEN)} cases, "
          f"{total / 1e6:.2f} MB, to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
