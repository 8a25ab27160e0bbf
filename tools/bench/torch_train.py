#!/usr/bin/env python3
"""Training throughput of the tutorial's SmallUpscaler in PyTorch, for comparison with
`vgfq bench train`. Run: /usr/bin/python3 tools/bench/torch_train.py [--channels-last] [--batch 64]
Same work as vgfq's bench: random 3x16x16 inputs and 3x32x32 targets, MSE, AdamW(lr 1e-3)."""
import argparse, os, time
import torch
import torch.nn as nn
import torch.nn.functional as F

class SmallUpscaler(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 32, 3, padding=1)
        self.conv3 = nn.Conv2d(32, 3, 3, padding=1)
    def forward(self, x):
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        return self.conv3(F.relu(self.conv2(F.relu(self.conv1(x)))))

ap = argparse.ArgumentParser()
ap.add_argument("--batch", type=int, default=64)
ap.add_argument("--steps", type=int, default=30)
ap.add_argument("--warmup", type=int, default=3)
ap.add_argument("--channels-last", action="store_true")
ap.add_argument("--threads", type=int, default=os.cpu_count())
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
m = SmallUpscaler()
x = torch.rand(a.batch, 3, 16, 16)
y = torch.rand(a.batch, 3, 32, 32)
if a.channels_last:
    m = m.to(memory_format=torch.channels_last)
    x = x.contiguous(memory_format=torch.channels_last)
    y = y.contiguous(memory_format=torch.channels_last)
opt = torch.optim.AdamW(m.parameters(), lr=1e-3)
for i in range(a.warmup + a.steps):
    if i == a.warmup:
        t0 = time.perf_counter()
    opt.zero_grad()
    loss = F.mse_loss(m(x), y)
    loss.backward()
    opt.step()
dt = time.perf_counter() - t0
print(f"torch {torch.__version__} threads {torch.get_num_threads()} channels_last={a.channels_last}: "
      f"{a.steps * a.batch / dt:.1f} images/s")
