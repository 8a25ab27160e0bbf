#!/usr/bin/python3
"""ONNX import corpus for vgfq's onnx package, exported by PyTorch 1.13 (Debian python3-torch)
with python3-onnx 1.12.

Run from the repository root:

    /usr/bin/python3 tools/golden/onnx_gen.py --out onnx/testdata/corpus

For every model M and opset K in (13, 17) it writes M_opK.onnx (torch.onnx.export, eval mode,
fixed seed, tiny channel counts so the files stay small), and once per model M.in.npy (a fixed
float32 input, uniform [0,1) from torch.manual_seed) and M.out.npy (torch's output for it).

Models: upscaler (the tutorial's SmallUpscaler), espcn (PixelShuffle -> DepthToSpace CRD, odd
input size, 5x5 kernels), fsrcnn (5x5, 1x1 shrink/expand, LeakyReLU, ConvTranspose with
output_padding), unet (strided conv, max pooling, nearest and bilinear upsampling, Concat skips,
residual Add), bnnet (BatchNorm kept by exporting without constant folding, HardSwish, Sigmoid,
Tanh, reflect and zero padding, average pooling, a BatchNorm that follows no conv), actnet
(ReLU6/Clip, HardSigmoid, dilated conv, a constant Mul and Sub), mobile (pixel-unshuffle stem,
depthwise conv, squeeze-excite with a broadcast Mul, GELU, a crop by slicing), prelunet
(per-channel and shared PReLU), senet (squeeze-excite with nn.Linear, a chunk/Split gate, dynamic batch), and qdq: PyTorch's FX QAT flow
(prepare_qat_fx: activations quint8 per-tensor affine, weights qint8 per-channel
symmetric) calibrated on random images, exported with its fake-quant ops as
QuantizeLinear/DequantizeLinear pairs (opset 13 and 17); qdq_unet (opset 17) adds max pooling,
nearest upsampling, Concat and a residual Add to the FX QAT flow; qdq_convbn is FX QAT's fused
Conv+BN+ReLU (Conv -> Div -> Add -> BatchNormalization -> Relu in the export); qdq_resscale
is x + 0.2*conv(...) (a float constant operand). Models with a dynamic batch dimension
declare it as 'batch'. Variants for error tests: cubic.onnx (Resize cubic: exports fine, does not
lower), mixed.onnx (ceil-mode pooling, grouped ConvTranspose, Abs: three problems for vgfq check), qdq_int16.onnx, qdq_asym.onnx (the qdq model edited to int16 activations / asymmetric
weights).
"""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("ATEN_CPU_CAPABILITY", "avx2")  # the vector width decides float sums (as quant_gen.py)

import argparse  # noqa: E402
import copy  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnx.numpy_helper  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(1)


class Upscaler(nn.Module):
    def __init__(self, c=8):
        super().__init__()
        self.conv1 = nn.Conv2d(3, c, 3, padding=1)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1)
        self.conv3 = nn.Conv2d(c, 3, 3, padding=1)

    def forward(self, x):
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        return self.conv3(x)


class ESPCN(nn.Module):
    def __init__(self, c=8, r=2):
        super().__init__()
        self.conv1 = nn.Conv2d(3, c, 5, padding=2)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1)
        self.conv3 = nn.Conv2d(c, 3 * r * r, 3, padding=1)
        self.ps = nn.PixelShuffle(r)

    def forward(self, x):
        y = F.relu(self.conv1(x))
        y = F.relu(self.conv2(y))
        y = self.ps(self.conv3(y))
        return y + F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


class FSRCNN(nn.Module):
    def __init__(self, d=8, s=4):
        super().__init__()
        self.feat = nn.Conv2d(3, d, 5, padding=2)
        self.shrink = nn.Conv2d(d, s, 1)
        self.map = nn.Conv2d(s, s, 3, padding=1)
        self.expand = nn.Conv2d(s, d, 1)
        self.deconv = nn.ConvTranspose2d(d, 3, 9, stride=2, padding=4, output_padding=1)
        self.act = nn.LeakyReLU(0.1)

    def forward(self, x):
        x = self.act(self.feat(x))
        x = self.act(self.shrink(x))
        x = self.act(self.map(x))
        x = self.act(self.expand(x))
        return self.deconv(x)


class UNet(nn.Module):
    def __init__(self, c=4):
        super().__init__()
        self.enc1 = nn.Conv2d(3, c, 3, padding=1)
        self.down = nn.Conv2d(c, 2 * c, 3, stride=2, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.mid = nn.Conv2d(2 * c, 2 * c, 3, padding=1)
        self.dec2 = nn.Conv2d(4 * c, c, 3, padding=1)
        self.dec1 = nn.Conv2d(2 * c, 3, 3, padding=1)

    def forward(self, x):
        e1 = F.relu(self.enc1(x))
        e2 = F.relu(self.down(e1))
        m = F.relu(self.mid(self.pool(e2)))
        u2 = F.interpolate(m, scale_factor=2, mode="nearest")
        d2 = F.relu(self.dec2(torch.cat([u2, e2], 1)))
        u1 = F.interpolate(d2, scale_factor=2, mode="bilinear", align_corners=False)
        return self.dec1(torch.cat([u1, e1], 1)) + x


class BNNet(nn.Module):
    def __init__(self, c=6):
        super().__init__()
        self.conv1 = nn.Conv2d(3, c, 3)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, bias=False)
        self.bn2 = nn.BatchNorm2d(c)
        self.conv3 = nn.Conv2d(c, c, 1)
        self.bn3 = nn.BatchNorm2d(c)
        self.conv4 = nn.Conv2d(c, 3, 3, padding=1)
        for bn in (self.bn1, self.bn2, self.bn3):  # non-trivial running statistics
            bn.running_mean.uniform_(-0.2, 0.2)
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.data.uniform_(0.5, 1.5)
            bn.bias.data.uniform_(-0.2, 0.2)

    def forward(self, x):
        y = F.hardswish(self.bn1(self.conv1(F.pad(x, (1, 1, 1, 1), mode="reflect"))))
        z = torch.sigmoid(self.bn2(self.conv2(F.pad(y, (1, 1, 1, 1)))))
        t = torch.tanh(self.conv3(y))
        u = self.bn3(z * t + y)
        return self.conv4(F.avg_pool2d(u, 2))


class ActNet(nn.Module):
    def __init__(self, c=6):
        super().__init__()
        self.conv1 = nn.Conv2d(3, c, 3, padding=1)
        self.conv2 = nn.Conv2d(c, c, 3, padding=2, dilation=2)
        self.conv3 = nn.Conv2d(c, 3, 1)

    def forward(self, x):
        y = F.relu6(self.conv1(x))
        y = F.hardsigmoid(self.conv2(y)) - 0.25 * y
        return self.conv3(torch.clamp(y, -0.5, 0.75))


class Mobile(nn.Module):
    """Models people export that the other corpus nets do not cover: a pixel-unshuffle stem,
    depthwise 3x3 conv, ReLU6, squeeze-excite (global average pool, 1x1 convs, sigmoid, a
    broadcast Mul), GELU, a crop by slicing, grouped-free 1x1 expansion, PixelShuffle."""

    def __init__(self, c=8):
        super().__init__()
        self.stem = nn.Conv2d(12, c, 3, padding=1)
        self.bn = nn.BatchNorm2d(c)
        self.dw = nn.Conv2d(c, c, 3, padding=1, groups=c)
        self.se1 = nn.Conv2d(c, 4, 1)
        self.se2 = nn.Conv2d(4, c, 1)
        self.pw = nn.Conv2d(c, 3 * 16, 1)
        self.bn.running_mean.uniform_(-0.2, 0.2)
        self.bn.running_var.uniform_(0.5, 2.0)

    def forward(self, x):
        y = F.relu6(self.bn(self.stem(F.pixel_unshuffle(x, 2))))
        y = F.hardswish(self.dw(y))
        s = torch.sigmoid(self.se2(F.relu(self.se1(F.adaptive_avg_pool2d(y, 1)))))
        y = F.gelu(y * s)
        y = y[:, :, 1:-1, 1:-1]
        return F.pixel_shuffle(self.pw(y), 4)


class PReLUNet(nn.Module):
    """FSRCNN's original activation: PReLU with one slope per channel (some negative, one zero)
    and with one shared slope."""

    def __init__(self, c=6):
        super().__init__()
        self.conv1 = nn.Conv2d(3, c, 5, padding=2)
        self.act1 = nn.PReLU(c)
        self.conv2 = nn.Conv2d(c, c, 1)
        self.act2 = nn.PReLU()
        self.conv3 = nn.Conv2d(c, 3, 3, padding=1)
        with torch.no_grad():
            self.act1.weight.copy_(torch.tensor([0.25, -0.3, 0.0, 0.1, 0.6, -0.05]))
            self.act2.weight.fill_(0.15)

    def forward(self, x):
        return self.conv3(self.act2(self.conv2(self.act1(self.conv1(x)))))


class SENet(nn.Module):
    """Squeeze-excite with nn.Linear (GlobalAveragePool -> Flatten -> Gemm -> Relu -> Gemm ->
    Sigmoid -> view(b, c, 1, 1) -> Mul), as timm/torchvision-style blocks write it."""

    def __init__(self, c=8):
        super().__init__()
        self.conv1 = nn.Conv2d(3, c, 3, padding=1)
        self.fc1 = nn.Linear(c, 4)
        self.fc2 = nn.Linear(4, c)
        self.conv2 = nn.Conv2d(c, 3, 3, padding=1)

    def forward(self, x):
        y = F.relu(self.conv1(x))
        g, v = torch.chunk(y, 2, dim=1)  # a gated activation: Split into two halves
        y = torch.cat([g * torch.sigmoid(v), v], 1)
        b, c = y.shape[0], y.shape[1]
        s = torch.sigmoid(self.fc2(F.relu(self.fc1(F.adaptive_avg_pool2d(y, 1).flatten(1)))))
        return self.conv2(y * s.view(b, c, 1, 1))


class Cubic(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=False))


class Mixed(nn.Module):
    """For vgfq check: three different problems in one model — ceil-mode max pooling and a
    grouped ConvTranspose (import, do not lower) and Abs (not imported)."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 4, 3, padding=1)
        self.ct = nn.ConvTranspose2d(4, 4, 3, stride=2, padding=1, output_padding=1, groups=2)
        self.c2 = nn.Conv2d(4, 3, 3, padding=1)

    def forward(self, x):
        y = F.max_pool2d(self.c1(x), 3, 2, ceil_mode=True)
        return self.c2(self.ct(y)) / (1 + y.abs().mean())


# name -> (constructor, input shape, dynamic batch, constant folding)
MODELS = {
    "upscaler": (Upscaler, (1, 3, 12, 12), True, True),
    "espcn": (ESPCN, (1, 3, 11, 13), True, True),
    "fsrcnn": (FSRCNN, (1, 3, 10, 9), False, True),
    "unet": (UNet, (1, 3, 16, 16), True, True),
    "bnnet": (BNNet, (1, 3, 10, 12), False, False),
    "actnet": (ActNet, (1, 3, 9, 9), False, True),
    "mobile": (Mobile, (1, 3, 14, 18), True, True),
    "prelunet": (PReLUNet, (1, 3, 7, 11), False, True),
    "senet": (SENet, (1, 3, 9, 10), True, True),
}


def export(model, x, path, opset, dynamic, fold):
    kw = {}
    if dynamic:
        kw["dynamic_axes"] = {"input": {0: "batch"}, "output": {0: "batch"}}
    torch.onnx.export(model, x, path, opset_version=opset, input_names=["input"], output_names=["output"],
                      do_constant_folding=fold, **kw)
    onnx.checker.check_model(onnx.load(path))


def qdq_unet(out, act, wt):
    """A second FX QAT model with max pooling (its own observer in FX: the lowering
    requantizes), nearest upsampling, a Concat skip and a residual Add."""
    from torch.ao.quantization import QConfig, QConfigMapping
    from torch.ao.quantization.quantize_fx import prepare_qat_fx

    torch.manual_seed(1)

    class Net(nn.Module):
        def __init__(self, c=4):
            super().__init__()
            self.a = nn.Conv2d(3, c, 3, padding=1)
            self.b = nn.Conv2d(c, c, 3, padding=1)
            self.d = nn.Conv2d(2 * c, 3, 3, padding=1)

        def forward(self, x):
            e = F.relu(self.a(x))
            u = F.interpolate(F.relu(self.b(F.max_pool2d(e, 2))), scale_factor=2, mode="nearest")
            return self.d(torch.cat([u, e], 1)) + x

    x = torch.rand(1, 3, 8, 8)
    qm = prepare_qat_fx(Net().train(), QConfigMapping().set_global(QConfig(activation=act, weight=wt)), example_inputs=(x,))
    with torch.no_grad():
        for _ in range(8):
            qm(torch.rand(4, 3, 8, 8))
    qm.eval()
    qm.apply(torch.ao.quantization.disable_observer)
    with torch.no_grad():
        y = qm(x)
    np.save(os.path.join(out, "qdq_unet.in.npy"), x.numpy())
    np.save(os.path.join(out, "qdq_unet.out.npy"), y.numpy())
    export(qm, x, os.path.join(out, "qdq_unet_op17.onnx"), 17, False, True)


def qdq_convbn(out, act, wt):
    """FX QAT with Conv+BN+ReLU fused into a QAT ConvBnReLU2d: exported as Conv (scaled,
    fake-quantized weight) -> Div -> Add -> BatchNormalization -> Relu."""
    from torch.ao.quantization import QConfig, QConfigMapping
    from torch.ao.quantization.quantize_fx import prepare_qat_fx

    torch.manual_seed(2)

    class Net(nn.Module):
        def __init__(self, c=4):
            super().__init__()
            self.a = nn.Conv2d(3, c, 3, padding=1)
            self.bn = nn.BatchNorm2d(c)
            self.d = nn.Conv2d(c, 3, 3, padding=1)

        def forward(self, x):
            return self.d(F.relu(self.bn(self.a(x))))

    x = torch.rand(1, 3, 8, 8)
    qm = prepare_qat_fx(Net().train(), QConfigMapping().set_global(QConfig(activation=act, weight=wt)), example_inputs=(x,))
    with torch.no_grad():
        for _ in range(8):  # QAT forward passes: BN running statistics and observers update
            qm(torch.rand(4, 3, 8, 8))
    qm.eval()
    qm.apply(torch.ao.quantization.disable_observer)
    with torch.no_grad():
        y = qm(x)
    np.save(os.path.join(out, "qdq_convbn.in.npy"), x.numpy())
    np.save(os.path.join(out, "qdq_convbn.out.npy"), y.numpy())
    export(qm, x, os.path.join(out, "qdq_convbn_op17.onnx"), 17, False, True)


def qdq_resscale(out, act, wt):
    """EDSR-style residual scaling in FX QAT: x + 0.2 * conv(...) — a float constant operand
    with no observer of its own."""
    from torch.ao.quantization import QConfig, QConfigMapping
    from torch.ao.quantization.quantize_fx import prepare_qat_fx

    torch.manual_seed(3)

    class Net(nn.Module):
        def __init__(self, c=4):
            super().__init__()
            self.a = nn.Conv2d(3, c, 3, padding=1)
            self.b = nn.Conv2d(c, 3, 3, padding=1)

        def forward(self, x):
            return x + 0.2 * self.b(F.relu(self.a(x)))

    x = torch.rand(1, 3, 8, 8)
    qm = prepare_qat_fx(Net().train(), QConfigMapping().set_global(QConfig(activation=act, weight=wt)), example_inputs=(x,))
    with torch.no_grad():
        for _ in range(8):
            qm(torch.rand(4, 3, 8, 8))
    qm.eval()
    qm.apply(torch.ao.quantization.disable_observer)
    with torch.no_grad():
        y = qm(x)
    np.save(os.path.join(out, "qdq_resscale.in.npy"), x.numpy())
    np.save(os.path.join(out, "qdq_resscale.out.npy"), y.numpy())
    export(qm, x, os.path.join(out, "qdq_resscale_op17.onnx"), 17, False, True)


def qdq_model(out):
    from torch.ao.quantization import QConfig, QConfigMapping
    from torch.ao.quantization.fake_quantize import FakeQuantize
    from torch.ao.quantization.observer import MovingAverageMinMaxObserver, MovingAveragePerChannelMinMaxObserver
    from torch.ao.quantization.quantize_fx import prepare_qat_fx

    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self, c=8, r=2):
            super().__init__()
            self.conv1 = nn.Conv2d(3, c, 3, padding=1)
            self.conv2 = nn.Conv2d(c, c, 3, padding=1)
            self.conv3 = nn.Conv2d(c, 3 * r * r, 3, padding=1)
            self.ps = nn.PixelShuffle(r)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            x = F.relu(self.conv2(x))
            return self.ps(self.conv3(x))

    # Activations quint8 [0, 255] affine: what FX's native backend config quantizes (a qint8
    # activation qconfig is silently not applied to conv); vgfq maps uint8 (s, zp) to int8
    # (s, zp - 128), which is exact.
    act = FakeQuantize.with_args(observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=255,
                                 dtype=torch.quint8, qscheme=torch.per_tensor_affine)
    wt = FakeQuantize.with_args(observer=MovingAveragePerChannelMinMaxObserver, quant_min=-128, quant_max=127,
                                dtype=torch.qint8, qscheme=torch.per_channel_symmetric, ch_axis=0)
    qconfig = QConfig(activation=act, weight=wt)
    m = Net().train()
    x = torch.rand(1, 3, 8, 8)
    qm = prepare_qat_fx(m, QConfigMapping().set_global(qconfig), example_inputs=(x,))
    with torch.no_grad():
        for _ in range(8):  # calibrate the fake-quant observers (QAT forward passes, no update)
            qm(torch.rand(4, 3, 8, 8))
    qm.eval()
    qm.apply(torch.ao.quantization.disable_observer)
    with torch.no_grad():
        y = qm(x)
    np.save(os.path.join(out, "qdq.in.npy"), x.numpy())
    np.save(os.path.join(out, "qdq.out.npy"), y.numpy())
    for opset in (13, 17):
        export(qm, x, os.path.join(out, "qdq_op%d.onnx" % opset), opset, False, True)
    # Variants that must be refused.
    base = onnx.load(os.path.join(out, "qdq_op13.onnx"))
    inits = {t.name: t for t in base.graph.initializer}
    consts = {n.output[0]: n for n in base.graph.node if n.op_type == "Constant"}

    def zp_tensor(name):
        if name in inits:
            return inits[name]
        return consts[name].attribute[0].t

    m16 = copy.deepcopy(base)
    inits16 = {t.name: t for t in m16.graph.initializer}
    consts16 = {n.output[0]: n for n in m16.graph.node if n.op_type == "Constant"}
    for n in m16.graph.node:  # first activation QuantizeLinear: int16 zero point
        if n.op_type == "QuantizeLinear" and len(n.input) > 2 and not any(a.name == "axis" for a in n.attribute):
            t = inits16[n.input[2]] if n.input[2] in inits16 else consts16[n.input[2]].attribute[0].t
            v = onnx.numpy_helper.to_array(t).astype(np.int16)
            t.CopyFrom(onnx.numpy_helper.from_array(v, t.name))
            break
    onnx.save(m16, os.path.join(out, "qdq_int16.onnx"))
    ma = copy.deepcopy(base)
    initsa = {t.name: t for t in ma.graph.initializer}
    constsa = {n.output[0]: n for n in ma.graph.node if n.op_type == "Constant"}
    for n in ma.graph.node:  # a per-channel (weight) QuantizeLinear: non-zero zero points
        if n.op_type == "QuantizeLinear" and any(a.name == "axis" for a in n.attribute):
            t = initsa[n.input[2]] if n.input[2] in initsa else constsa[n.input[2]].attribute[0].t
            v = onnx.numpy_helper.to_array(t).copy()
            v[:] = 3
            t.CopyFrom(onnx.numpy_helper.from_array(v, t.name))
            break
    onnx.save(ma, os.path.join(out, "qdq_asym.onnx"))
    qdq_unet(out, act, wt)
    qdq_convbn(out, act, wt)
    qdq_resscale(out, act, wt)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="onnx/testdata/corpus")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for i, (name, (ctor, shape, dynamic, fold)) in enumerate(MODELS.items()):
        torch.manual_seed(100 + i)
        model = ctor().eval()
        x = torch.rand(*shape)
        with torch.no_grad():
            y = model(x)
        np.save(os.path.join(args.out, name + ".in.npy"), x.numpy())
        np.save(os.path.join(args.out, name + ".out.npy"), y.numpy())
        for opset in (13, 17):
            export(model, x, os.path.join(args.out, "%s_op%d.onnx" % (name, opset)), opset, dynamic, fold)
        print(name, tuple(y.shape))
    torch.manual_seed(7)
    export(Cubic().eval(), torch.rand(1, 3, 8, 8), os.path.join(args.out, "cubic.onnx"), 13, False, True)
    torch.manual_seed(8)
    export(Mixed().eval(), torch.rand(1, 3, 9, 9), os.path.join(args.out, "mixed.onnx"), 17, False, True)
    qdq_model(args.out)
    print("qdq")


if __name__ == "__main__":
    main()
