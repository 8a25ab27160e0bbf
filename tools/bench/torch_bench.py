#!/usr/bin/env python3
"""PyTorch side of vgfq's speed comparison (issue 10): the tutorial's SmallUpscaler at batch 64
on random data, in the same work units as `vgfq bench train|infer`.

  train  forward + backward + AdamW(lr 1e-3) step, MSE loss, 3x16x16 -> 3x32x32 (images/s)
  fp32   float inference under torch.inference_mode() (images/s)
  int8   FX graph-mode post-training int8 (prepare_fx / convert_fx, 20 random calibration
         batches), quantized engine --engine (onednn or qnnpack here; fbgemm where built);
         float in, float out, like vgfq's INT8 predictor (images/s)

Each mode runs in its best layout unless --layout is given: NCHW and channels_last are both
timed and the faster one is reported (--engine best: every available int8 engine likewise).
Prints one line per mode, or one JSON object per mode with --json (which also gives the process
CPU time per image: OpenMP worker threads that spin while waiting count too).

Run: /usr/bin/python3 tools/bench/torch_bench.py --mode int8 --threads 2 --json
"""
import argparse, json, os, sys, time, warnings
import torch
import torch.nn as nn
import torch.nn.functional as F

warnings.filterwarnings("ignore")


class SmallUpscaler(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 32, 3, padding=1)
        self.conv3 = nn.Conv2d(32, 3, 3, padding=1)

    def forward(self, x):
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        return self.conv3(F.relu(self.conv2(F.relu(self.conv1(x)))))


def timed(step, warmup, min_time, min_iters):
    for _ in range(warmup):
        step()
    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    while True:
        step()
        n += 1
        dt = time.perf_counter() - t0
        if n >= min_iters and dt >= min_time:
            timed.cpu = (time.process_time() - c0) / n
            return n, dt


def bench_train(a, cl):
    torch.manual_seed(0)
    m = SmallUpscaler()
    x, y = torch.rand(a.batch, 3, 16, 16), torch.rand(a.batch, 3, 32, 32)
    if cl:
        m = m.to(memory_format=torch.channels_last)
        x, y = x.contiguous(memory_format=torch.channels_last), y.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        F.mse_loss(m(x), y).backward()
        opt.step()

    n, dt = timed(step, a.warmup, a.min_time, a.min_iters)
    return n * a.batch / dt, timed.cpu * 1e6 / a.batch


def bench_fp32(a, cl):
    torch.manual_seed(0)
    m = SmallUpscaler().eval()
    x = torch.rand(a.batch, 3, 16, 16)
    if cl:
        m = m.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)

    def step():
        with torch.inference_mode():
            m(x)

    n, dt = timed(step, a.warmup, a.min_time, a.min_iters)
    return n * a.batch / dt, timed.cpu * 1e6 / a.batch


def bench_int8(a, cl, engine):
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import prepare_fx, convert_fx

    torch.backends.quantized.engine = engine
    torch.manual_seed(0)
    m = SmallUpscaler().eval()
    x = torch.rand(a.batch, 3, 16, 16)
    qm = get_default_qconfig_mapping(engine)
    pm = prepare_fx(m, qm, example_inputs=(x,))
    with torch.inference_mode():
        for _ in range(20):
            pm(torch.rand(a.batch, 3, 16, 16))
    q = convert_fx(pm)
    if cl:
        x = x.contiguous(memory_format=torch.channels_last)

    def step():
        with torch.inference_mode():
            q(x)

    n, dt = timed(step, a.warmup, a.min_time, a.min_iters)
    return n * a.batch / dt, timed.cpu * 1e6 / a.batch


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=["train", "fp32", "int8"], action="append",
                    help="workload (repeatable; default all three)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--layout", choices=["best", "nchw", "channels_last"], default="best")
    ap.add_argument("--engine", default="best", help="int8 engine: best, onednn, qnnpack, fbgemm, x86")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--min-time", type=float, default=2.0, help="seconds per timed measurement")
    ap.add_argument("--min-iters", type=int, default=10)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    layouts = {"best": [False, True], "nchw": [False], "channels_last": [True]}[a.layout]
    engines = [e for e in torch.backends.quantized.supported_engines if e != "none"] if a.engine == "best" else [a.engine]
    for mode in a.mode or ["train", "fp32", "int8"]:
        results = []
        for cl in layouts:
            if mode == "int8":
                for e in engines:
                    try:
                        results.append((*bench_int8(a, cl, e), cl, e))
                    except Exception as ex:  # an engine that cannot run this model
                        print(f"int8 engine {e}: {ex}", file=sys.stderr)
            else:
                results.append((*{"train": bench_train, "fp32": bench_fp32}[mode](a, cl), cl, None))
        ips, cpu, cl, e = max(results, key=lambda r: r[0])
        layout = "channels_last" if cl else "nchw"
        if a.json:
            r = {"bench": mode, "framework": "torch", "version": torch.__version__, "threads": torch.get_num_threads(),
                 "batch": a.batch, "layout": layout, "images_per_s": ips, "cpu_us_per_image": cpu,
                 "all": [{"images_per_s": x, "cpu_us_per_image": cu, "layout": "channels_last" if c else "nchw", "engine": en}
                         for x, cu, c, en in results]}
            if e:
                r["engine"] = e
            print(json.dumps(r), flush=True)
        else:
            extra = f", engine {e}" if e else ""
            print(f"torch {torch.__version__} {mode}: batch {a.batch}, {torch.get_num_threads()} threads, {layout}{extra}: {ips:.1f} images/s", flush=True)


if __name__ == "__main__":
    main()
