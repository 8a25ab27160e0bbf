#!/usr/bin/python3
"""Golden vectors for vgfq's quantization numerics (package quant), produced by PyTorch 1.13.

Run from the repository root with Debian's python3-torch 1.13 and numpy:

    /usr/bin/python3 tools/golden/quant_gen.py --out quant/testdata

Deterministic: every random draw comes from numpy.random.default_rng(<fixed seed>) or
torch.manual_seed(0); torch runs single-threaded with ATEN_CPU_CAPABILITY=avx2 (torch.sum's
float32 result depends on the vector width, see quant-numerics.md §1.4; Go's quant.SumLanes = 8
matches AVX2).

What is reference and what is ported (quant-numerics.md §6):

  * MinMaxObserver, PerChannelMinMaxObserver, MovingAverageMinMaxObserver,
    MovingAveragePerChannelMinMaxObserver and the qparam formula (_calculate_qparams) are torch
    1.13's own classes (dtype torch.qint8, the same arithmetic as torch.int8 in torchao), with
    the eps ExecuTorch passes (2**-16; some streams 2**-12 as ExecuTorch <= 1.1).
  * HistogramObserver: torch 1.13's class differs from TorchAO pt2e in its update rule, so
    TorchAOHistogramObserver below subclasses it and replaces forward / reset_histogram /
    _combine_histograms / _upscale_histogram with TorchAO's rules (upsample rate 16), and
    torch.linspace with current PyTorch's scalar CPU formula (1.13's is vectorised and differs in
    the last ulp). The search (_non_linear_param_search, _compute_quantization_error, _get_norm)
    and _calculate_qparams are inherited: identical in 1.13 and TorchAO.
  * torch.fake_quantize_per_tensor_affine / per_channel_affine forward values and STE masks.
  * torch.sum over float32 vectors (the cascade sum the histogram search uses).

Files (np.savez_compressed):

  observers.npz  random calibration streams; upscaler.npz  real SmallUpscaler activations and
  weights; search.npz  histograms set directly (smooth densities) with every err() value of the
  L2 search; qparams.npz  direct (min, max) -> (scale, zp) cases; fakequant.npz  crafted fake-quant
  cases; sum.npz  torch.sum cases. Stream i has keys s{i}_name (uint8 text), s{i}_nb, batches
  s{i}_b{j} (float32, original shape), s{i}_axis (channel axis of the per-channel observers), and
  for each observer o in mm, mma, pc, pca, hist: s{i}_{o}_min/_max (float32 state after the
  stream), _scale (float32), _zp (int64), _ok (0 if torch refused to compute qparams), _qmin,
  _qmax, _sym, _eps. s{i}_hist_hist is the final histogram. s{i}_fq_y/_mask: per-tensor fake
  quant of the last batch with the histogram's qparams; s{i}_fqc_y/_mask: per-channel fake quant
  of the last batch with pc's qparams.
"""

import os

os.environ.setdefault("ATEN_CPU_CAPABILITY", "avx2")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import hashlib  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.ao.quantization.observer import (  # noqa: E402
    HistogramObserver,
    MinMaxObserver,
    MovingAverageMinMaxObserver,
    MovingAveragePerChannelMinMaxObserver,
    PerChannelMinMaxObserver,
)

torch.set_num_threads(1)
warnings.filterwarnings("ignore")

F32 = torch.float32
EPS16 = 2.0**-16
EPS12 = 2.0**-12


def linspace32(start, end, steps):
    """Current PyTorch's CPU linspace for float32 (scalar formula, no FMA)."""
    a = torch.tensor(float(start), dtype=F32)
    b = torch.tensor(float(end), dtype=F32)
    step = (b - a) / (steps - 1)
    i = torch.arange(steps, dtype=F32)
    lo = a + step * i
    hi = b - step * ((steps - 1) - i)
    return torch.where(torch.arange(steps) < steps // 2, lo, hi)


class TorchAOHistogramObserver(HistogramObserver):
    """torch 1.13's HistogramObserver with TorchAO pt2e's update rule (see module doc)."""

    def __init__(self, **kw):
        super().__init__(bins=2048, **kw)
        self.upsample_rate = 16
        self.err_log = []

    def _compute_quantization_error(self, next_start_bin, next_end_bin):
        # Recorded (not changed) so the Go test can compare every err() value of the search.
        v = super()._compute_quantization_error(next_start_bin, next_end_bin)
        self.err_log.append((next_start_bin, next_end_bin, v))
        return v

    def _upscale_histogram(self, histogram, orig_min, orig_max, update_min, update_max):
        histogram = histogram.repeat_interleave(self.upsample_rate) / self.upsample_rate
        bin_size = (orig_max - orig_min) / (self.bins * self.upsample_rate)
        mid_points_histogram = (
            linspace32(orig_min, orig_max, self.bins * self.upsample_rate + 1)[:-1]
            + 0.5 * bin_size
        )
        boundaries_new_histogram = linspace32(update_min, update_max, self.bins + 1)
        bucket_assignments = (
            torch.bucketize(mid_points_histogram, boundaries_new_histogram, right=True) - 1
        )
        bucket_assignments[bucket_assignments >= self.bins] = self.bins - 1
        bucket_assignments[bucket_assignments < 0] = 0
        return torch.bincount(bucket_assignments, weights=histogram, minlength=self.bins)

    def _combine_histograms(self, orig_hist, orig_min, orig_max, update_hist, update_min, update_max):
        if update_min == orig_min and update_max == orig_max:
            return orig_hist + update_hist
        if orig_min == orig_max:
            bin_value = torch.sum(orig_hist)
            transformed_orig_hist = (
                torch.histc(orig_min, bins=self.bins, min=float(update_min), max=float(update_max))
                * bin_value
            )
            return transformed_orig_hist + update_hist
        assert update_min <= orig_min
        assert update_max >= orig_max
        transformed_orig_hist = self._upscale_histogram(
            orig_hist, orig_min, orig_max, update_min, update_max
        )
        return update_hist + transformed_orig_hist

    def reset_histogram(self, x, min_val, max_val):
        self.min_val.resize_(min_val.shape)
        self.min_val.copy_(min_val)
        self.max_val.resize_(max_val.shape)
        self.max_val.copy_(max_val)
        new_histogram = torch.histc(x, self.bins, min=float(min_val), max=float(max_val))
        self.histogram.detach_().resize_(new_histogram.shape)
        self.histogram.copy_(new_histogram)

    def forward(self, x_orig):
        if x_orig.numel() == 0:
            return x_orig
        x = x_orig.detach()
        x_min, x_max = torch.aminmax(x)
        if x_min == -torch.inf or x_max == torch.inf:
            x = x[x.abs() != torch.inf]
            if x.numel() == 0:
                return x_orig
            x_min, x_max = torch.aminmax(x)
        current_min = self.min_val
        current_max = self.max_val
        is_uninitialized = self.min_val == float("inf") or self.max_val == float("-inf")
        if is_uninitialized:
            self.reset_histogram(x, x_min, x_max)
        else:
            update_min, update_max = x_min, x_max
            new_min = torch.min(current_min, update_min)
            new_max = torch.max(current_max, update_max)
            update_histogram = torch.histc(x, self.bins, min=float(new_min), max=float(new_max))
            if new_min == current_min and new_max == current_max:
                combined_histogram = self.histogram + update_histogram
                self.histogram.detach_().resize_(combined_histogram.shape)
                self.histogram.copy_(combined_histogram)
            else:
                combined_histogram = self._combine_histograms(
                    self.histogram, current_min, current_max, update_histogram, new_min, new_max
                )
                self.histogram.detach_().resize_(combined_histogram.shape)
                self.histogram.copy_(combined_histogram)
                self.min_val.detach_().resize_(new_min.shape)
                self.min_val.copy_(new_min)
                self.max_val.detach_().resize_(new_max.shape)
                self.max_val.copy_(new_max)
        return x_orig


def scheme(qmin, qmax, sym, per_channel):
    if per_channel:
        qs = torch.per_channel_symmetric if sym else torch.per_channel_affine
    else:
        qs = torch.per_tensor_symmetric if sym else torch.per_tensor_affine
    return dict(dtype=torch.qint8, quant_min=qmin, quant_max=qmax, qscheme=qs)


def u8(s):
    return np.frombuffer(s.encode(), dtype=np.uint8).copy()


def f32(t):
    return t.detach().numpy().astype(np.float32).reshape(-1)


def run_stream(out, i, name, batches, axis, eps):
    """Feeds batches (list of float32 numpy arrays) through all observers; stores results."""
    p = "s%d_" % i
    out[p + "name"] = u8(name)
    out[p + "meta"] = np.array([len(batches), axis], dtype=np.int64)
    out[p + "eps"] = np.array([eps], dtype=np.float32)
    shapes = np.zeros((len(batches), 5), dtype=np.int64)
    for j, b in enumerate(batches):
        shapes[j, 0] = b.ndim
        shapes[j, 1 : 1 + b.ndim] = b.shape
    out[p + "shapes"] = shapes
    out[p + "data"] = np.concatenate([np.asarray(b, dtype=np.float32).reshape(-1) for b in batches])
    act = (-128, 127, False)
    wsym = (-127, 127, True)
    cfg = {
        "mm": (MinMaxObserver, wsym if i % 3 == 2 else act, False),
        "mma": (MovingAverageMinMaxObserver, act, False),
        "pc": (PerChannelMinMaxObserver, act if i % 4 == 3 else wsym, True),
        "pca": (MovingAveragePerChannelMinMaxObserver, wsym if i % 2 else act, True),
        "hist": (TorchAOHistogramObserver, wsym if i % 10 == 9 else act, False),
    }
    obs = {}
    for key, (cls, (qmin, qmax, sym), pc) in cfg.items():
        kw = scheme(qmin, qmax, sym, pc)
        if pc:
            kw["ch_axis"] = axis
        if cls is MovingAverageMinMaxObserver or cls is MovingAveragePerChannelMinMaxObserver:
            kw["averaging_constant"] = 0.01
        o = cls(eps=eps, **kw)
        for b in batches:
            o(torch.from_numpy(np.ascontiguousarray(b, dtype=np.float32)))
        obs[key] = o
        out[p + key + "_minmax"] = np.stack([f32(o.min_val), f32(o.max_val)])
        ok = 1
        try:
            if key == "hist":
                o.err_log = []
            s, z = o.calculate_qparams()
            if key == "hist":
                out[p + "hist_errbins"] = np.array([(a, b) for a, b, _ in o.err_log], dtype=np.int64).reshape(-1)
                out[p + "hist_errvals"] = np.array([v for _, _, v in o.err_log], dtype=np.float32)
            out[p + key + "_scale"] = f32(s)
            out[p + key + "_zp"] = z.detach().numpy().astype(np.int64).reshape(-1)
        except (AssertionError, RuntimeError):
            ok = 0
        out[p + key + "_cfg"] = np.array([qmin, qmax, int(sym), ok], dtype=np.int64)
        if key == "hist":
            hist = f32(o.histogram)
            out[p + "hist_sha256"] = np.frombuffer(hashlib.sha256(hist.astype("<f4").tobytes()).digest(), dtype=np.uint8).copy()
            if i % 3 == 0:
                out[p + "hist_hist"] = hist
    # fake quant of the last batch
    x = torch.from_numpy(np.ascontiguousarray(batches[-1], dtype=np.float32)).clone()
    h = obs["hist"]
    if out[p + "hist_cfg"][3] and h.quant_min == -128:
        s, z = h.calculate_qparams()
        xr = x.clone().requires_grad_(True)
        y = torch.fake_quantize_per_tensor_affine(xr, float(s), int(z), -128, 127)
        y.backward(torch.ones_like(y))
        out[p + "fq_y"] = f32(y)
        out[p + "fq_mask"] = xr.grad.numpy().astype(np.uint8).reshape(-1)
    pco = obs["pc"]
    if out[p + "pc_cfg"][3] and x.dim() > axis:
        s, z = pco.calculate_qparams()
        if s.numel() == x.shape[axis]:
            xr = x.clone().requires_grad_(True)
            y = torch.fake_quantize_per_channel_affine(
                xr, s, z.to(torch.int32), axis, pco.quant_min, pco.quant_max
            )
            y.backward(torch.ones_like(y))
            out[p + "fqc_y"] = f32(y)
            out[p + "fqc_mask"] = xr.grad.numpy().astype(np.uint8).reshape(-1)


def random_streams():
    """At least 50 varied calibration streams: (name, batches, axis, eps)."""
    streams = []
    rng = np.random.default_rng(20260822)

    def shape(c=None):
        n = int(rng.choice([1, 1, 2]))
        c = c or int(rng.choice([1, 3, 4, 8]))
        hw = int(rng.choice([4, 6, 8]))
        return (n, c, hw, hw)

    def add(name, batches, axis=1, eps=None):
        idx = len(streams)
        if eps is None:
            eps = EPS12 if idx % 5 == 4 else EPS16
        streams.append((name, [np.asarray(b, dtype=np.float32) for b in batches], axis, eps))

    for k in range(4):
        c = int(rng.choice([3, 4, 8]))
        add("uniform%d" % k, [rng.uniform(-1, 1, shape(c)) for _ in range(int(rng.integers(1, 6)))])
    for k in range(4):
        c = int(rng.choice([3, 4, 8]))
        sc = float(rng.choice([0.1, 1.0, 7.0]))
        add("normal%d" % k, [rng.normal(0.2, sc, shape(c)) for _ in range(int(rng.integers(1, 6)))])
    for k in range(4):
        c = int(rng.choice([3, 4]))
        add("heavy_t%d" % k, [rng.standard_t(1.5 + k, shape(c)) for _ in range(int(rng.integers(2, 6)))])
    for k in range(2):
        c = 4
        add("cauchy%d" % k, [rng.standard_cauchy(shape(c)) for _ in range(3)])
    for k in range(5):
        c = int(rng.choice([3, 4, 8]))
        add("relu%d" % k, [np.maximum(rng.normal(0.1, 1.0 + k, shape(c)), 0) for _ in range(int(rng.integers(1, 6)))])
    for k in range(2):
        add("exponential%d" % k, [rng.exponential(0.5, shape(4)) for _ in range(4)])
    add("const_pos", [np.full((1, 3, 4, 4), 0.5) for _ in range(3)])
    add("const_zero", [np.zeros((1, 3, 4, 4)) for _ in range(2)])
    add("const_neg", [np.full((1, 3, 4, 4), -2.75)])
    add("const_then_spread", [np.full((1, 3, 4, 4), 0.25), rng.uniform(-1, 1, (1, 3, 6, 6)), rng.uniform(-2, 2, (1, 3, 4, 4))])
    add("const_then_wider", [np.full((2, 3, 4, 4), -0.5), rng.normal(0, 1, (1, 3, 4, 4))])
    add("const_then_const", [np.full((1, 3, 4, 4), 0.25), np.full((1, 3, 4, 4), 1.5)])
    add("spread_then_const_inside", [rng.uniform(-1, 1, (1, 3, 4, 4)), np.full((1, 3, 4, 4), 0.3)])
    for k in range(3):
        off = float(rng.normal() * 3)
        add("tiny%d" % k, [off + 1e-6 * rng.normal(size=shape(3)) for _ in range(3)])
    add("tiny_around_zero", [1e-7 * rng.normal(size=(1, 4, 4, 4)) for _ in range(3)])
    add("tiny_eps12", [2e-4 * rng.uniform(0, 1, (1, 4, 4, 4)) for _ in range(2)], eps=EPS12)
    add("tiny_eps16", [2e-4 * rng.uniform(0, 1, (1, 4, 4, 4)) for _ in range(2)], eps=EPS16)
    for k in range(3):
        bs = []
        for j in range(4):
            b = rng.normal(0, 1, (1, 4, 6, 6))
            b.flat[rng.integers(0, b.size, 3)] = [np.inf, -np.inf, np.inf][: 3 if k else 2] + ([] if k else [1.0])
            bs.append(b)
        add("with_inf%d" % k, bs)
    add("inf_only_batch", [rng.uniform(-1, 1, (1, 3, 4, 4)), np.full((1, 3, 4, 4), np.inf), rng.uniform(-1.5, 0.5, (1, 3, 4, 4))])
    for k in range(4):
        add("growing%d" % k, [rng.normal(0.3 * k, 1.0, shape(4)) * (1.7 ** j) for j in range(int(rng.integers(4, 9)))])
    for k in range(2):
        add("shrinking%d" % k, [rng.normal(0, 1.0, shape(4)) * (0.6 ** j) for j in range(5)])
    for k in range(2):
        add("growing_pos%d" % k, [np.maximum(rng.normal(0, 1, shape(8)), 0) * (1.3 ** j) for j in range(6)])
    for k in range(3):
        bs = []
        for j in range(4):
            b = rng.normal(0, 0.2, shape(4))
            b.flat[int(rng.integers(0, b.size))] = float(rng.choice([-1, 1])) * float(rng.uniform(5, 50))
            bs.append(b)
        add("outliers%d" % k, bs)
    add("bimodal", [np.concatenate([rng.normal(-3, 0.2, 300), rng.normal(4, 0.5, 212)]).reshape(1, 8, 8, 8) for _ in range(3)])
    add("large", [rng.normal(0, 1e4, (1, 4, 8, 8)) for _ in range(3)])
    add("negative_only", [-rng.exponential(1.0, (1, 4, 8, 8)) for _ in range(3)])
    add("single_elements", [np.array([[v]]) for v in rng.normal(0, 1, 6)], axis=0)
    add("weights_like", [rng.normal(0, 0.1, (16, 8, 3, 3))], axis=0)
    add("weights_like_ch1", [rng.uniform(-0.3, 0.3, (4, 6, 3, 3))], axis=1)
    add("quantized_grid", [np.round(rng.uniform(-1, 1, (1, 4, 8, 8)) * 64) / 64 for _ in range(2)])
    add("many_batches", [rng.normal(0, 1, (1, 3, 4, 4)) * float(rng.uniform(0.5, 2)) for _ in range(20)])
    return streams


class SmallUpscaler(nn.Module):
    """The tutorial's SmallUpscaler (zoo.Upscaler)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 32, 3, padding=1)
        self.conv3 = nn.Conv2d(32, 3, 3, padding=1)

    def forward(self, x):
        up = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        r1 = F.relu(self.conv1(up))
        r2 = F.relu(self.conv2(r1))
        return up, r1, r2, self.conv3(r2)


def upscaler_streams(nimg=2):
    """Real activations: G_in (x then up(x)), relu1, relu2, conv3 output; conv weights."""
    torch.manual_seed(0)
    model = SmallUpscaler().eval()
    g_in, a1, a2, outs = [], [], [], []
    with torch.no_grad():
        for _ in range(nimg):
            lo = torch.rand(1, 3, 4, 4)
            x = F.interpolate(lo, size=(16, 16), mode="bicubic", align_corners=False).clamp(0, 1)
            up, r1, r2, y = model(x)
            g_in += [x.numpy(), up.numpy()]
            a1.append(r1.numpy())
            a2.append(r2.numpy())
            outs.append(y.numpy())
    s = [
        ("upscaler_G_in", g_in, 1, EPS16),
        ("upscaler_G_a1_relu1", a1, 1, EPS16),
        ("upscaler_G_a2_relu2", a2, 1, EPS16),
        ("upscaler_G_out_conv3", outs, 1, EPS16),
    ]
    for name in ("conv1", "conv2", "conv3"):
        w = getattr(model, name).weight.detach().numpy()
        s.append(("upscaler_W_" + name, [w], 0, EPS16))
    return s


def search_cases(out):
    """Histograms set directly (integer counts of smooth densities, so the L2 search runs long):
    every err() value of the search and the final qparams."""
    rng = np.random.default_rng(5)
    xs = (np.arange(2048) + 0.5) / 2048
    dens = [
        ("gauss", np.exp(-0.5 * ((xs - 0.5) / 0.08) ** 2)),
        ("gauss_wide", np.exp(-0.5 * ((xs - 0.4) / 0.2) ** 2)),
        ("laplace", np.exp(-np.abs(xs - 0.3) / 0.03)),
        ("laplace_right", np.exp(-np.abs(xs - 0.7) / 0.05)),
        ("relu_like", np.where(xs < 1 / 2048, 3e3, np.exp(-xs / 0.1))),
        ("bump_outlier", np.exp(-0.5 * ((xs - 0.2) / 0.05) ** 2) + 1e-4 * np.exp(-0.5 * ((xs - 0.95) / 0.01) ** 2)),
        ("uniform", np.ones(2048)),
        ("two_peaks", np.exp(-0.5 * ((xs - 0.25) / 0.03) ** 2) + 0.5 * np.exp(-0.5 * ((xs - 0.75) / 0.03) ** 2)),
    ]
    k = 0
    for name, d in dens:
        for total in (1e4, 3e6, 4e7):
            hist = np.round(d / d.sum() * total).astype(np.float32)
            lo = np.float32(rng.normal() * float(rng.choice([0.01, 1, 30])))
            hi = np.float32(lo + abs(rng.normal()) * float(rng.choice([0.001, 1, 50])) + 1e-3)
            o = TorchAOHistogramObserver(eps=EPS16, **scheme(-128, 127, False, False))
            o.histogram.copy_(torch.from_numpy(hist))
            o.min_val.copy_(torch.tensor(lo))
            o.max_val.copy_(torch.tensor(hi))
            o.err_log = []
            sc, zp = o.calculate_qparams()
            p = "h%d_" % k
            out[p + "name"] = u8(name)
            out[p + "hist"] = hist
            out[p + "minmax"] = np.array([lo, hi], dtype=np.float32)
            out[p + "errbins"] = np.array([(a, b) for a, b, _ in o.err_log], dtype=np.int64).reshape(-1)
            out[p + "errvals"] = np.array([v for _, _, v in o.err_log], dtype=np.float32)
            out[p + "scale"] = f32(sc)
            out[p + "zp"] = zp.numpy().astype(np.int64).reshape(-1)
            k += 1
    out["n"] = np.array([k], dtype=np.int64)


def qparams_cases(out):
    rng = np.random.default_rng(7)
    n = 3000
    mag = 10.0 ** rng.uniform(-8, 4, n)
    a = rng.normal(0, 1, n) * mag
    b = a + np.abs(rng.normal(0, 1, n)) * mag * rng.choice([0.0, 1e-3, 1.0], n)
    mn = np.minimum(a, b).astype(np.float32)
    mx = np.maximum(a, b).astype(np.float32)
    mn[:50] = 0
    mx[50:100] = 0
    mn[100:150] = np.abs(mn[100:150])
    mx = np.maximum(mx, mn)
    out["mn"] = mn
    out["mx"] = mx
    for key, (qmin, qmax, sym) in {"aff": (-128, 127, False), "sym": (-127, 127, True), "sym128": (-128, 127, True)}.items():
        for ekey, eps in (("e16", EPS16), ("e12", EPS12)):
            o = PerChannelMinMaxObserver(eps=eps, **scheme(qmin, qmax, sym, True))
            s, z = o._calculate_qparams(torch.from_numpy(mn), torch.from_numpy(mx))
            out["%s_%s_scale" % (key, ekey)] = f32(s)
            out["%s_%s_zp" % (key, ekey)] = z.numpy().astype(np.int64)


def fakequant_cases(out):
    rng = np.random.default_rng(11)
    cases = []
    for k in range(12):
        scale = np.float32(10.0 ** rng.uniform(-4, 0))
        zp = int(rng.integers(-128, 128))
        ks = np.arange(-300, 300, dtype=np.float64)
        ties = ((ks + 0.5) * np.float64(scale)).astype(np.float32)  # near .5 ties
        near = np.nextafter(ties, np.float32(np.inf)).astype(np.float32)
        randx = (rng.normal(0, 100, 400) * scale).astype(np.float32)
        x = np.concatenate([ties, near, randx, np.array([0.0, -0.0, 1e30, -1e30], dtype=np.float32)])
        cases.append((scale, zp, x))
    for k, (scale, zp, x) in enumerate(cases):
        xr = torch.from_numpy(x).clone().requires_grad_(True)
        y = torch.fake_quantize_per_tensor_affine(xr, float(scale), zp, -128, 127)
        y.backward(torch.ones_like(y))
        out["c%d_x" % k] = x
        out["c%d_scale" % k] = np.array([scale], dtype=np.float32)
        out["c%d_zp" % k] = np.array([zp], dtype=np.int64)
        out["c%d_y" % k] = f32(y)
        out["c%d_mask" % k] = xr.grad.numpy().astype(np.uint8)
    out["n"] = np.array([len(cases)], dtype=np.int64)


def sum_cases(out):
    rng = np.random.default_rng(3)
    lens = [2048] * 8 + [1, 3, 7, 8, 9, 31, 32, 33, 100, 127, 128, 129, 500, 1000, 2047, 2049, 4096, 5000]
    for k, n in enumerate(lens):
        x = np.exp(rng.normal(0, 4, n)).astype(np.float32)
        if k % 3 == 1:
            x *= rng.choice([-1, 1], n).astype(np.float32)
        if k % 4 == 2:
            x[rng.random(n) < 0.7] = 0
        out["x%d" % k] = x
        out["s%d" % k] = np.array([torch.sum(torch.from_numpy(x)).item()], dtype=np.float32)
    out["n"] = np.array([len(lens)], dtype=np.int64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="quant/testdata")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    def save(name, d):
        np.savez_compressed(os.path.join(args.out, name), **d)
        print(name, len(d), "arrays")

    out = {}
    streams = random_streams()
    for i, (name, batches, axis, eps) in enumerate(streams):
        run_stream(out, i, name, batches, axis, eps)
    out["n"] = np.array([len(streams)], dtype=np.int64)
    save("observers.npz", out)

    out = {}
    streams = upscaler_streams()
    for i, (name, batches, axis, eps) in enumerate(streams):
        run_stream(out, i, name, batches, axis, eps)
    out["n"] = np.array([len(streams)], dtype=np.int64)
    save("upscaler.npz", out)

    for name, fn in (("search.npz", search_cases), ("qparams.npz", qparams_cases), ("fakequant.npz", fakequant_cases), ("sum.npz", sum_cases)):
        out = {}
        fn(out)
        save(name, out)


if __name__ == "__main__":
    main()
