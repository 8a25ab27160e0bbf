#!/usr/bin/env python3
"""Golden-vector generator for github.com/vgfq/vgfq/metrics.

Plain-numpy reference (no scipy/skimage needed) for

    skimage.metrics.structural_similarity(
        target, pred, data_range=1.0, channel_axis=0,
        gaussian_weights=True, sigma=1.5, use_sample_covariance=False)

applied to each image of an NCHW batch and averaged over images, plus the
PSNR/MSE used by the metrics package.

The SSIM definition reproduced here (skimage >= 0.19 code path):

  * per channel, inputs converted to float64;
  * 1-D Gaussian kernel exactly as scipy.ndimage._gaussian_kernel1d:
    radius r = int(truncate*sigma + 0.5) = int(3.5*1.5 + 0.5) = 5,
    w[k] = exp(-k^2 / (2 sigma^2)), k = -r..r, normalised to sum 1;
  * separable correlation along H then W with scipy mode 'reflect'
    (half-sample symmetric, d c b a | a b c d | d c b a, which is numpy
    np.pad mode 'symmetric') over the full image, giving
    ux, uy, uxx, uyy, uxy;
  * vx = uxx - ux^2, vy = uyy - uy^2, vxy = uxy - ux*uy (cov_norm = 1);
  * C1 = (0.01*1)^2, C2 = (0.03*1)^2;
  * S = (2 ux uy + C1)(2 vxy + C2) / ((ux^2 + uy^2 + C1)(vx + vy + C2));
  * crop pad = (win_size-1)//2 = 5 pixels from every border, mean (float64);
  * mean over channels, then mean over images.

Run from the repository root:

    /usr/bin/python3 tools/golden/ssim_ref.py

It rewrites metrics/testdata/ssim_golden.json deterministically.
"""

import json
import math
import os

import numpy as np

SIGMA = 1.5
TRUNCATE = 3.5
K1, K2 = 0.01, 0.03
DATA_RANGE = 1.0


def gaussian_kernel1d(sigma=SIGMA, truncate=TRUNCATE):
    radius = int(truncate * float(sigma) + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    phi = np.exp(-0.5 / (sigma * sigma) * x ** 2)
    return phi / phi.sum(), radius


def correlate1d_reflect(img, weights, axis):
    """scipy.ndimage.correlate1d(img, weights, axis, mode='reflect') in numpy."""
    r = (len(weights) - 1) // 2
    pad = [(0, 0)] * img.ndim
    pad[axis] = (r, r)
    # np.pad 'symmetric' handles pads larger than the axis by repeated
    # mirroring, which matches scipy's 'reflect' extension.
    p = np.pad(img, pad, mode="symmetric")
    out = np.zeros_like(img, dtype=np.float64)
    n = img.shape[axis]
    for k, wk in enumerate(weights):
        sl = [slice(None)] * img.ndim
        sl[axis] = slice(k, k + n)
        out += wk * p[tuple(sl)]
    return out


def gaussian_filter(img):
    w, _ = gaussian_kernel1d()
    out = img.astype(np.float64)
    for axis in range(img.ndim):  # scipy filters axis 0 first, then 1
        out = correlate1d_reflect(out, w, axis)
    return out


def ssim_channel(x, y):
    """skimage structural_similarity for one 2-D channel (see module doc)."""
    _, radius = gaussian_kernel1d()
    win_size = 2 * radius + 1
    if x.shape[0] < win_size or x.shape[1] < win_size:
        raise ValueError("win_size exceeds image extent")
    x = x.astype(np.float64)
    y = y.astype(np.float64)
    ux = gaussian_filter(x)
    uy = gaussian_filter(y)
    uxx = gaussian_filter(x * x)
    uyy = gaussian_filter(y * y)
    uxy = gaussian_filter(x * y)
    vx = uxx - ux * ux
    vy = uyy - uy * uy
    vxy = uxy - ux * uy
    c1 = (K1 * DATA_RANGE) ** 2
    c2 = (K2 * DATA_RANGE) ** 2
    a1 = 2 * ux * uy + c1
    a2 = 2 * vxy + c2
    b1 = ux ** 2 + uy ** 2 + c1
    b2 = vx + vy + c2
    s = (a1 * a2) / (b1 * b2)
    pad = (win_size - 1) // 2
    return s[pad:-pad, pad:-pad].mean(dtype=np.float64)


def ssim_batch(pred, target):
    n, c = pred.shape[:2]
    per_image = [np.mean([ssim_channel(pred[i, k], target[i, k]) for k in range(c)])
                 for i in range(n)]
    return float(np.mean(per_image))


def mse(pred, target):
    """Float32 squared differences, float64 accumulation, float32 result."""
    d = pred.astype(np.float32) - target.astype(np.float32)
    sq = (d * d).astype(np.float32)
    return float(np.float32(sq.astype(np.float64).sum() / sq.size))


def psnr(pred, target):
    m = mse(pred, target)
    return 100.0 if m == 0 else min(100.0, 10.0 * math.log10(1.0 / m))


def smooth_image(rng, c, h, w):
    """Natural-ish content: random low-frequency sinusoids plus a little noise."""
    yy, xx = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    img = np.zeros((c, h, w))
    for k in range(c):
        acc = np.full((h, w), 0.5)
        for _ in range(4):
            fy, fx = rng.uniform(0.02, 0.25, size=2)
            ph = rng.uniform(0, 2 * np.pi)
            acc += rng.uniform(0.05, 0.2) * np.sin(2 * np.pi * (fy * yy + fx * xx) + ph)
        img[k] = acc
    img += rng.normal(0, 0.02, size=img.shape)
    return np.clip(img, 0, 1)


def f32list(a):
    # Shortest decimal that round-trips the float32 value.
    return [float(np.format_float_positional(v, unique=True, trim="-"))
            for v in a.astype(np.float32).ravel()]


def main():
    rng = np.random.default_rng(20240611)
    cases = []

    def add(name, pred, target, quantize=False):
        pred = pred.astype(np.float32)
        target = target.astype(np.float32)
        case = {"name": name, "shape": list(pred.shape)}
        if quantize:
            # Stored as 8-bit codes; the value is float32(code)/float32(255).
            pq = np.rint(pred * 255).astype(np.uint8)
            tq = np.rint(target * 255).astype(np.uint8)
            pred = pq.astype(np.float32) / np.float32(255)
            target = tq.astype(np.float32) / np.float32(255)
            case["pred_u8"] = pq.ravel().tolist()
            case["target_u8"] = tq.ravel().tolist()
        else:
            case["pred"] = f32list(pred)
            case["target"] = f32list(target)
        case["ssim"] = ssim_batch(pred, target)
        case["mse"] = mse(pred, target)
        case["psnr"] = psnr(pred, target)
        cases.append(case)

    # Minimal extent: exactly one valid pixel after the crop.
    t = rng.uniform(0, 1, size=(1, 1, 11, 11))
    add("min_11x11_uniform_noise", rng.uniform(0, 1, size=t.shape), t)

    # Non-square, a few valid pixels, correlated prediction.
    t = np.stack([smooth_image(rng, 2, 12, 17) for _ in range(2)])
    p = np.clip(t + rng.normal(0, 0.05, size=t.shape), 0, 1)
    add("2x2x12x17_noisy", p, t)

    # Identical images: SSIM exactly 1, PSNR capped.
    t = np.stack([smooth_image(rng, 1, 13, 11)])
    add("identical_1x1x13x11", t.copy(), t)

    # Constant images (zero variance everywhere).
    t = np.full((1, 2, 11, 12), 0.25)
    p = np.full((1, 2, 11, 12), 0.75)
    p[0, 1] = 0.25
    add("constant_1x2x11x12", p, t)

    # CIFAR-sized, float predictions (blurred + noisy version of target).
    t = np.stack([smooth_image(rng, 3, 32, 32)])
    p = 0.7 * t + 0.3 * gaussian_filter_3d(t) + rng.normal(0, 0.03, size=t.shape)
    add("1x3x32x32_float", np.clip(p, 0, 1), t)

    # CIFAR-sized batch, 8-bit quantised.
    t = np.stack([smooth_image(rng, 3, 32, 32) for _ in range(2)])
    p = np.clip(t + rng.normal(0, 0.08, size=t.shape), 0, 1)
    add("2x3x32x32_u8", p, t, quantize=True)

    out = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "..", "..", "metrics", "testdata", "ssim_golden.json")
    with open(out, "w") as f:
        json.dump({"generator": "tools/golden/ssim_ref.py", "cases": cases}, f,
                  separators=(",", ":"))
        f.write("\n")
    for c in cases:
        print(f"{c['name']:28s} ssim={c['ssim']:.12f} psnr={c['psnr']:.6f}")


def gaussian_filter_3d(batch):
    out = np.empty_like(batch, dtype=np.float64)
    for i in range(batch.shape[0]):
        for k in range(batch.shape[1]):
            out[i, k] = gaussian_filter(batch[i, k])
    return out


if __name__ == "__main__":
    main()
