#!/usr/bin/env python3
"""vgfq vs PyTorch, interleaved (issue 10's table): FP32 training, FP32 inference and INT8
inference of the tutorial upscaler at batch 64, R rounds (default 3) of
[vgfq train, torch train, vgfq infer (FP32 + INT8), torch fp32, torch int8], then the median of
each and the ratio vgfq / PyTorch.

Run from the repository root (builds cmd/vgfq first):
    /usr/bin/python3 tools/bench/compare.py [--rounds 3] [--threads 2] [--json out.json]

Both sides use the same number of threads (GOMAXPROCS and torch.set_num_threads). PyTorch
runs in its best layout (NCHW or channels_last) and its best int8 engine, chosen per run by
tools/bench/torch_bench.py. The load average before and after is printed: timings on a shared
machine are only indicative.
"""
import argparse, json, os, statistics, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def run_json(cmd, env=None):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env, cwd=ROOT).stdout
    return [json.loads(l) for l in out.splitlines() if l.startswith("{")]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--vgfq", help="a built vgfq binary (default: go build ./cmd/vgfq)")
    ap.add_argument("--json", help="also write every raw result to this file")
    a = ap.parse_args()
    vgfq = a.vgfq
    if not vgfq:
        vgfq = os.path.join(tempfile.mkdtemp(), "vgfq")
        subprocess.run(["go", "build", "-o", vgfq, "./cmd/vgfq"], check=True, cwd=ROOT)
    env = dict(os.environ, GOMAXPROCS=str(a.threads))
    torch_cmd = [a.python, os.path.join(HERE, "torch_bench.py"), "--threads", str(a.threads), "--batch", str(a.batch), "--json"]
    load0 = os.getloadavg()
    keys = ["vgfq_train", "torch_train", "vgfq_fp32", "torch_fp32", "vgfq_int8", "torch_int8"]
    res = {k: [] for k in keys}
    cpu = {k: [] for k in keys}  # process CPU µs per image
    raw = []
    for r in range(a.rounds):
        t = run_json([vgfq, "bench", "train", "--batch", str(a.batch), "--steps", "60", "--json"], env)[0]
        res["vgfq_train"].append(t["images_per_s"]); cpu["vgfq_train"].append(t["cpu_us_per_image"]); raw.append(t)
        t = run_json(torch_cmd + ["--mode", "train"])[0]
        res["torch_train"].append(t["images_per_s"]); cpu["torch_train"].append(t["cpu_us_per_image"]); raw.append(t)
        t = run_json([vgfq, "bench", "infer", "--images", str(a.batch), "--rounds", "30", "--calib", "100", "--ref=false", "--json"], env)[0]
        res["vgfq_fp32"].append(t["fp32_images_per_s"]); res["vgfq_int8"].append(t["int8_fast_images_per_s"]); raw.append(t)
        cpu["vgfq_fp32"].append(t["fp32_cpu_us_per_image"]); cpu["vgfq_int8"].append(t["int8_fast_cpu_us_per_image"])
        for mode in ["fp32", "int8"]:
            t = run_json(torch_cmd + ["--mode", mode])[0]
            res["torch_" + mode].append(t["images_per_s"]); cpu["torch_" + mode].append(t["cpu_us_per_image"]); raw.append(t)
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.0f}" for k, v in res.items()), file=sys.stderr, flush=True)
    load1 = os.getloadavg()
    med = {k: statistics.median(v) for k, v in res.items()}
    medc = {k: statistics.median(v) for k, v in cpu.items()}
    print(f"{a.rounds} interleaved rounds, median; {a.threads} threads each, batch {a.batch}; "
          f"load average {load0[0]:.1f} before, {load1[0]:.1f} after, on {os.cpu_count()} CPUs\n")
    print("| workload | vgfq | PyTorch | vgfq / PyTorch |")
    print("|---|---|---|---|")
    for name, k in [("FP32 training (fwd + bwd + AdamW)", "train"), ("FP32 inference", "fp32"),
                    ("INT8 inference (vgfq: bit-exact TOSA graph, fast executor; torch: FX int8)", "int8")]:
        v, t = med["vgfq_" + k], med["torch_" + k]
        print(f"| {name} | {v:,.0f} img/s | {t:,.0f} img/s | {v / t:.2f}× |")
    print("\nProcess CPU time per image (median; steadier than wall-clock throughput on a loaded machine;")
    print("PyTorch's figure includes OpenMP threads spinning while they wait):\n")
    print("| workload | vgfq | PyTorch | PyTorch / vgfq |")
    print("|---|---|---|---|")
    for name, k in [("FP32 training", "train"), ("FP32 inference", "fp32"), ("INT8 inference", "int8")]:
        v, t = medc["vgfq_" + k], medc["torch_" + k]
        print(f"| {name} | {v:,.0f} µs | {t:,.0f} µs | {t / v:.2f}× |")
    print("\nPer round (images/s, vgfq / PyTorch; rounds run back to back, so each pair shares the")
    print("machine's state):\n")
    print("| round | FP32 training | FP32 inference | INT8 inference |")
    print("|---|---|---|---|")
    for r in range(a.rounds):
        cells = [f"{res['vgfq_' + k][r]:,.0f} / {res['torch_' + k][r]:,.0f} = {res['vgfq_' + k][r] / res['torch_' + k][r]:.2f}×"
                 for k in ["train", "fp32", "int8"]]
        print(f"| {r + 1} | " + " | ".join(cells) + " |")
    low = {k: min(v / t for v, t in zip(res["vgfq_" + k], res["torch_" + k])) for k in ["train", "fp32", "int8"]}
    print("\nlowest per-round ratio: " + ", ".join(f"{k} {v:.2f}×" for k, v in low.items()) +
          "; vgfq's slowest round / PyTorch's fastest: " +
          ", ".join(f"{k} {min(res['vgfq_' + k]) / max(res['torch_' + k]):.2f}×" for k in ["train", "fp32", "int8"]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"rounds": res, "median": med, "cpu_us_per_image": cpu, "raw": raw, "load": [load0, load1]}, f, indent=1)


if __name__ == "__main__":
    main()
