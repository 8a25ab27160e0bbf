// Package quant is vgfq's INT8 quantization numeric core: observers, quantization parameters,
// quantize / dequantize / fake-quant arithmetic, int32 bias quantization and TOSA RESCALE
// multiplier/shift computation, all reproducing TorchAO PT2E + ExecuTorch's Arm backend bit for
// bit (docs: /work/shared/reference/quant-numerics.md, "the spec" below).
//
// Everything is float32 arithmetic written so that each IEEE operation of the reference is one
// Go operation with an explicit float32 conversion (no FMA contraction).
//
// Observers (all implement [Observer]):
//
//   - [MinMax], [PerChannelMinMax]: running extremes (spec §1.2).
//   - [MovingAverageMinMax], [MovingAveragePerChannelMinMax]: EMA of extremes, constant 0.01 (§1.3).
//   - [Histogram]: TorchAO pt2e's HistogramObserver (2048 bins, upsample rate 16, 256 destination
//     bins, L2 "non-linear parameter search"; §1.4). This is the ExecuTorch-compatible default for
//     activations. Non-default calibrators on the same histogram: [CalibMSE] and
//     [CalibPercentile] (see [Histogram.SetCalibration]); they are NOT what ExecuTorch does.
//
// The MinMax family follows torch exactly, including ±inf (an infinite value becomes the running
// extreme, as torch.aminmax would record it); only Histogram drops ±inf elements, as TorchAO does.
// A NaN anywhere in observed data is an error ([ErrNaN]), so calibration can name the node.
//
// Golden vectors: tools/golden/quant_gen.py (torch 1.13 observers; TorchAO's histogram update
// rule ported onto torch 1.13) writes quant/testdata/*.npz; golden_test.go compares bit-exactly.
package quant
