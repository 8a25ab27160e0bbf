// Package qat is vgfq's quantization-aware training as a library: prepare a float graph with
// fake quantization (the same annotation and export as package ptq), fine-tune it with your own
// loop or with Train, convert and export the INT8 TOSA / VGF artifacts.
//
//	m, err := qat.Prepare(g, qat.Options{})                // fake-quant where PTQ observes
//	opt := engine.NewAdamW(m.Params(), 1e-4)                // graph parameters (+ LSQ scales)
//	for _, b := range batches {
//	        loss, err := m.Step(opt, b)                     // = train.Step + schedules + checks
//	}
//	res, err := m.Convert()                                 // a *ptq.Result: Export, Score, Layers
//	art, err := res.Export("output_qat", sample, false)
//
// Numerics follow TorchAO's prepare_qat_pt2e / convert_pt2e with ExecuTorch's TOSA quantizer
// config (is_qat=True), see package quant ([quant.QAT]): activations FusedMovingAvgObsFakeQuantize
// (EMA 0.01, ATen's ChooseQuantizationParams while training), weights per-channel symmetric
// fake-quant from running min/max, float biases, the QAT conv-BN pattern; export qparams from the
// observers (§1.1 with eps).
//
// Observers update on every forward pass, training and evaluation alike, as in the reference
// (TorchAO's move_exported_model_to_eval does not touch fake-quant modules): the tutorial's
// evaluation after each epoch moves the activation ranges too. The schedules
// FreezeObserversAfter and FreezeBNAfter are vgfq options beyond the reference.
package qat

import (
	"errors"
	"fmt"
	"iter"

	"github.com/vgfq/vgfq/data"
	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/lower"
	"github.com/vgfq/vgfq/ptq"
	"github.com/vgfq/vgfq/quant"
	"github.com/vgfq/vgfq/train"
)

// Options configures Prepare. The zero value is the reference behaviour.
type Options struct {
	Quant     quant.QATConfig // eps, ExportTrainedQParams
	KeepFloat []string        // nodes to keep in float (the lowering then refuses the graph)
	Layout    lower.Layout    // graph I/O layout of the export (NHWC default)
	// FreezeObserversAfter disables every observer after so many training steps (0: never):
	// activation ranges and weight scales stay fixed for the rest of the run.
	FreezeObserversAfter int `json:"freeze_observers_after,omitempty"`
	// FreezeBNAfter switches BatchNorm to its running statistics (no more updates) after so
	// many training steps (0: never).
	FreezeBNAfter int `json:"freeze_bn_after,omitempty"`
	// With Quant.LSQ: the activation scales are estimated statically (moving-average ranges)
	// for this many training steps, then learned (default 50).
	LSQStaticSteps int `json:"lsq_static_steps,omitempty"`
}

func (o Options) lsqStatic() int {
	if o.LSQStaticSteps <= 0 {
		return 50
	}
	return o.LSQStaticSteps
}

// Model is a float graph prepared for QAT.
type Model struct {
	QAT     *quant.QAT
	Graph   *graph.Graph // the graph being trained (a copy of Prepare's input)
	Float   *graph.Graph // Prepare's input, unchanged (the FP32 reference)
	Options Options
	// Steps counts training steps taken with Step (or reported with StepDone).
	Steps int
	train *graph.Exec
	infer *graph.Exec
}

// Prepare copies g and prepares the copy for QAT.
func Prepare(g *graph.Graph, opt Options) (*Model, error) {
	if opt.FreezeObserversAfter < 0 || opt.FreezeBNAfter < 0 {
		return nil, errors.New("qat: freeze step counts must not be negative")
	}
	c := g.Clone()
	q, err := quant.PrepareQAT(c, quant.Options{KeepFloat: opt.KeepFloat}, opt.Quant)
	if err != nil {
		return nil, err
	}
	m := &Model{QAT: q, Graph: c, Float: g, Options: opt}
	m.train = q.Exec(true)
	m.infer = q.Exec(false)
	return m, nil
}

// Exec is the training executor (parameters require gradients, BatchNorm in training mode, the
// fake-quant hooks installed); the same one on every call, so an optimizer built over Params()
// keeps working. Use it with train.Step, or run Forward yourself.
func (m *Model) Exec() *graph.Exec { return m.train }

// StepDone records one training step and applies the freeze schedules; call it after each step
// of your own loop (Step does).
func (m *Model) StepDone() {
	m.Steps++
	m.schedule()
}

func (m *Model) schedule() {
	if n := m.Options.FreezeObserversAfter; n > 0 && m.Steps >= n {
		m.QAT.SetObservers(false)
	}
	if n := m.Options.FreezeBNAfter; n > 0 && m.Steps >= n {
		m.train.Train = false
	}
	if m.Options.Quant.LSQ && m.Steps >= m.Options.lsqStatic() {
		m.QAT.SetLSQLearning(true)
	}
}

// Params are the parameters to optimize: the graph's (Exec().Params()) and, with LSQ, the
// learnable scales and zero points after them. Build your optimizer over these.
func (m *Model) Params() []*engine.Var {
	return append(m.train.Params(), m.QAT.LSQParams()...)
}

// Step runs one training step on a batch (train.Step through the fake-quantizing executor),
// then StepDone. A NaN activation is an error naming the node.
func (m *Model) Step(opt engine.Optimizer, b *data.Batch) (float64, error) {
	loss, err := train.Step(m.train, opt, b)
	if qerr := m.QAT.Err(); qerr != nil && err == nil {
		err = qerr
	}
	if err != nil {
		return loss, err
	}
	m.StepDone()
	return loss, nil
}

// Forward runs the fake-quantized model without gradients (BatchNorm on running statistics).
// Observers update unless frozen, as the reference's evaluation passes do.
func (m *Model) Forward(x *engine.Tensor) (*engine.Tensor, error) {
	y, err := m.infer.Forward(engine.Const(x))
	if qerr := m.QAT.Err(); qerr != nil && err == nil {
		err = qerr
	}
	if err != nil {
		return nil, err
	}
	return y.Val, nil
}

// Predictor is Forward as a train.Predictor (to score the fake-quant model during training).
func (m *Model) Predictor() train.Predictor { return m.Forward }

// Calibrate runs forward passes over images before training so the activation ranges start
// from data (a vgfq option: the reference starts from the first training batch).
func (m *Model) Calibrate(images iter.Seq2[*engine.Tensor, error]) (int, error) {
	n := 0
	for x, err := range images {
		if err != nil {
			return n, err
		}
		if _, err := m.Forward(x); err != nil {
			return n, fmt.Errorf("calibration image %d: %v", n+1, err)
		}
		n += x.Shape[0]
	}
	return n, nil
}

// Convert folds conv-BN pairs, computes the export qparams, quantizes weights and biases and
// lowers to TOSA (a *ptq.Result: Export, Score, Layers and Summary work as for PTQ). quant.json
// gets a "qat" section with the training-time and exported qparams of every activation group.
// Training may continue afterwards; the result does not change with it.
func (m *Model) Convert() (*ptq.Result, []quant.ActQParams, error) {
	qm, table, err := m.QAT.Convert()
	if err != nil {
		return nil, nil, err
	}
	res, err := ptq.FromModel(qm, len(m.QAT.ConvBN), m.Options.Layout)
	if err != nil {
		return nil, nil, err
	}
	exported := "observer qparams (TorchAO convert_pt2e: §1.1 with eps from the EMA range)"
	if m.Options.Quant.ExportTrainedQParams {
		exported = "trained qparams (ATen ChooseQuantizationParams; vgfq option)"
	}
	res.Extra = map[string]any{
		"calibrator":         "qat",
		"calibration_images": m.QAT.Images,
		"qat": map[string]any{
			"steps":                  m.Steps,
			"images_observed":        m.QAT.Images,
			"exported":               exported,
			"freeze_observers_after": m.Options.FreezeObserversAfter,
			"freeze_bn_after":        m.Options.FreezeBNAfter,
			"conv_bn_folded":         len(m.QAT.ConvBN),
			"activations":            table,
		},
	}
	return res, table, nil
}
