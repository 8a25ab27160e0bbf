package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/vgfq/vgfq/ptq"
	"github.com/vgfq/vgfq/quant"
)

// improveFlags are ptq's named improvements over the ExecuTorch-compatible default.
type improveFlags struct {
	cle, biasCorr, adaround bool
	ada                     quant.AdaRoundConfig
}

func (f *improveFlags) register(c *cobra.Command) {
	fl := c.Flags()
	fl.BoolVar(&f.cle, "cle", false, "cross-layer equalization of consecutive convs through ReLU before calibration (Nagel et al. 2019; vgfq option)")
	fl.BoolVar(&f.biasCorr, "bias-correction", false, "empirical bias correction from the calibration images (vgfq option)")
	fl.BoolVar(&f.adaround, "adaround", false, "adaptive rounding of the int8 weights, layer by layer on the calibration images (Nagel et al. 2020; vgfq option)")
	fl.IntVar(&f.ada.Iters, "adaround-iters", 1000, "AdaRound optimisation steps per layer")
	fl.IntVar(&f.ada.Batch, "adaround-batch", 32, "AdaRound images per step")
	fl.IntVar(&f.ada.Images, "adaround-images", 256, "AdaRound uses the first N calibration images")
	fl.Float64Var(&f.ada.Lambda, "adaround-lambda", 0.01, "AdaRound regularizer weight")
}

func (f *improveFlags) apply(o *ptq.Options) error {
	o.CLE, o.BiasCorrection = f.cle, f.biasCorr
	if f.adaround {
		cfg := f.ada
		switch {
		case cfg.Iters < 1:
			return badInputf("--adaround-iters %d must be at least 1", cfg.Iters)
		case cfg.Batch < 1:
			return badInputf("--adaround-batch %d must be at least 1", cfg.Batch)
		case cfg.Images < 1:
			return badInputf("--adaround-images %d must be at least 1", cfg.Images)
		case !(cfg.Lambda > 0):
			return badInputf("--adaround-lambda %g must be positive", cfg.Lambda)
		}
		cfg = cfg.WithDefaults()
		if err := cfg.Validate(); err != nil {
			return badInputf("--adaround: %v (check --adaround-iters, --adaround-batch, --adaround-images, --adaround-lambda)", err)
		}
		o.AdaRound = &cfg
	}
	return nil
}

// explain turns a Quantize error into a bad-input error naming the flag when an option could not
// apply.
func (f *improveFlags) explain(err error) error {
	if errors.Is(err, quant.ErrNoCLEPairs) {
		return badInputf("--cle: %v; cross-layer equalization cannot apply to this model, drop --cle", err)
	}
	return badInput(err)
}

func (f *improveFlags) report(r *ptq.Result, log io.Writer) {
	a := r.Applied
	if a.CLEReport != nil {
		for _, p := range a.CLEReport.Pairs {
			lo, hi := p.Scales[0], p.Scales[0]
			for _, s := range p.Scales {
				lo, hi = min(lo, s), max(hi, s)
			}
			via := ""
			if p.Act != "" {
				via = " via " + p.Act
			}
			fmt.Fprintf(log, "CLE %s -> %s%s: channel scales %.3g..%.3g (%d passes)\n", p.First, p.Second, via, lo, hi, a.CLEReport.Passes)
		}
	}
	for _, l := range a.AdaRoundLayers {
		fmt.Fprintf(log, "AdaRound %s: %d of %d weights rounded the other way, reconstruction error %.4g -> %.4g\n", l.Node, l.Flipped, l.Weights, l.ReconNearest, l.ReconAdaRound)
	}
	for _, b := range a.BiasCorrections {
		fmt.Fprintf(log, "bias correction %s: mean |shift| %.4g\n", b.Node, b.MeanAbsShift)
	}
	if len(a.BiasCorrectionSkipped) > 0 {
		fmt.Fprintf(log, "bias correction skipped (no bias): %v\n", a.BiasCorrectionSkipped)
	}
}
