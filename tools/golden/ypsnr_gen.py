#!/usr/bin/env python3
"""Golden vectors for the Y-channel metrics of github.com/vgfq/vgfq/metrics (PSNRY, SSIMY).

Writes small PNG pairs (ground truth and a degraded "upscaler output") and the reference numbers
computed here with plain NumPy, the way super-resolution papers score (BasicSR's
calculate_psnr(..., crop_border=scale, test_y_channel=True) on float images):

  * R, G, B = 8-bit value / 255 (float64);
  * Y = 16 + 65.481 R + 128.553 G + 24.966 B   (ITU-R BT.601 luma, range [16, 235]);
  * shave `scale` = 2 pixels from every border;
  * PSNR = 10 log10(255^2 / mean((Y_pred - Y_gt)^2));
  * SSIM: Gaussian SSIM (sigma 1.5, 11x11, valid region) of Y/255 with data range 1, i.e.
    C1 = (0.01 * 255)^2, C2 = (0.03 * 255)^2 on Y in [0, 255] (tools/golden/ssim_ref.py).

The PNG encoder below is written from the PNG specification (8-bit RGB, filter type 0), so the
script needs only NumPy. Run from the repository root:

    /usr/bin/python3 tools/golden/ypsnr_gen.py

It rewrites metrics/testdata/ycbcr/ deterministically. With --check-skimage it instead recomputes
the committed numbers with scikit-image (Debian's python3-skimage: skimage.color.rgb2ycbcr,
skimage.metrics.peak_signal_noise_ratio and structural_similarity) and prints the differences.
"""

import json
import os
import struct
import sys
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import ssim_ref  # noqa: E402

OUT = os.path.join("metrics", "testdata", "ycbcr")
SCALE = 2


def write_png(path, rgb):
    """rgb: H x W x 3 uint8."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9))
    png += chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def luma(rgb8):
    x = rgb8.astype(np.float64) / 255.0
    return 16.0 + 65.481 * x[..., 0] + 128.553 * x[..., 1] + 24.966 * x[..., 2]


def y_psnr(pred8, gt8, shave):
    yp = luma(pred8)[shave:-shave, shave:-shave]
    yt = luma(gt8)[shave:-shave, shave:-shave]
    mse = np.mean((yp - yt) ** 2)
    return float(10.0 * np.log10(255.0 ** 2 / mse))


def y_ssim(pred8, gt8, shave):
    yp = luma(pred8)[shave:-shave, shave:-shave] / 255.0
    yt = luma(gt8)[shave:-shave, shave:-shave] / 255.0
    return float(ssim_ref.ssim_channel(yp, yt))


def scene(rng, h, w):
    """A test picture: gradients, a disc, stripes and texture."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros((h, w, 3))
    img[..., 0] = xx / max(w - 1, 1)
    img[..., 1] = yy / max(h - 1, 1)
    img[..., 2] = 0.5 + 0.4 * np.sin(xx * 0.9 + yy * 0.4)
    disc = (xx - w * 0.6) ** 2 + (yy - h * 0.4) ** 2 < (min(h, w) * 0.25) ** 2
    img[disc] = [0.9, 0.2, 0.1]
    img += 0.05 * rng.standard_normal((h, w, 3))
    return np.clip(np.round(img * 255), 0, 255).astype(np.uint8)


def degrade(rng, gt, strength):
    """Blur + noise + an offset in one channel, like a poor upscaler."""
    x = gt.astype(np.float64)
    blur = (x + np.roll(x, 1, 0) + np.roll(x, -1, 0) + np.roll(x, 1, 1) + np.roll(x, -1, 1)) / 5
    out = (1 - strength) * x + strength * blur + 6 * strength * rng.standard_normal(x.shape)
    out[..., 2] += 3
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20241206)
    cases = []
    for name, (h, w, s) in {"a": (24, 20, 0.5), "b": (33, 41, 0.8), "c": (48, 48, 0.2)}.items():
        gt = scene(rng, h, w)
        pred = degrade(rng, gt, s)
        write_png(os.path.join(OUT, name + "_gt.png"), gt)
        write_png(os.path.join(OUT, name + "_pred.png"), pred)
        case = {"gt": name + "_gt.png", "pred": name + "_pred.png", "h": h, "w": w, "shave": SCALE,
                "y_psnr": y_psnr(pred, gt, SCALE), "y_ssim": y_ssim(pred, gt, SCALE)}
        cases.append(case)
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump({"generator": "tools/golden/ypsnr_gen.py", "numpy": np.__version__, "cases": cases}, f, indent=2)
        f.write("\n")


def read_png(path):
    """8-bit RGB PNG as written by write_png (filter type 0 only) -> H x W x 3 uint8."""
    with open(path, "rb") as f:
        b = f.read()
    pos, idat, w, h = 8, b"", 0, 0
    while pos < len(b):
        n = struct.unpack(">I", b[pos:pos + 4])[0]
        kind, data = b[pos + 4:pos + 8], b[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h = struct.unpack(">II", data[:8])
        elif kind == b"IDAT":
            idat += data
        pos += 12 + n
    raw = zlib.decompress(idat)
    rows = [raw[y * (3 * w + 1):(y + 1) * (3 * w + 1)] for y in range(h)]
    assert all(r[0] == 0 for r in rows), "filter type 0 only"
    return np.frombuffer(b"".join(r[1:] for r in rows), dtype=np.uint8).reshape(h, w, 3)


def check_skimage():
    from skimage.color import rgb2ycbcr
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity
    import skimage
    with open(os.path.join(OUT, "golden.json")) as f:
        doc = json.load(f)
    worst_p = worst_s = 0.0
    for c in doc["cases"]:
        gt, pred = read_png(os.path.join(OUT, c["gt"])), read_png(os.path.join(OUT, c["pred"]))
        s = c["shave"]
        yt = rgb2ycbcr(gt)[s:-s, s:-s, 0]
        yp = rgb2ycbcr(pred)[s:-s, s:-s, 0]
        p = peak_signal_noise_ratio(yt, yp, data_range=255)
        m = structural_similarity(yt, yp, data_range=255, gaussian_weights=True, sigma=1.5,
                                  use_sample_covariance=False)
        worst_p, worst_s = max(worst_p, abs(p - c["y_psnr"])), max(worst_s, abs(m - c["y_ssim"]))
        print("%s: skimage Y-PSNR %.9f (golden %.9f), Y-SSIM %.9f (golden %.9f)" % (c["pred"], p, c["y_psnr"], m, c["y_ssim"]))
    print("skimage %s: largest difference PSNR %.2e dB, SSIM %.2e" % (skimage.__version__, worst_p, worst_s))


if __name__ == "__main__":
    if "--check-skimage" in sys.argv:
        check_skimage()
    else:
        main()
