package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/vgfq/vgfq/data"
	"github.com/vgfq/vgfq/ptq"
	"github.com/vgfq/vgfq/quant"
)

// a16w8Flags is ptq's mixed-precision option (docs/a16w8.md).
type a16w8Flags struct {
	spec   string
	images int
	eps16  bool
}

func (f *a16w8Flags) register(c *cobra.Command) {
	fl := c.Flags()
	fl.StringVar(&f.spec, "a16w8", "", "int16 activations (int8 weights) for the named nodes (NODE[,NODE]) or auto:DB (fewest layers bringing the executed graph within DB dB of FP32, greedy in sensitivity order; vgfq option, docs/a16w8.md)")
	fl.IntVar(&f.images, "a16w8-images", 256, "auto:DB scores its choices on the first N images of the train split")
	fl.BoolVar(&f.eps16, "a16w8-eps-2-16", false, "int16 observer eps 2^-16 instead of the a16w8 config's default 2^-12, which floors the int16 scale at 2^-12 (get_symmetric_a16w8_quantization_config(epsilon=2**-16))")
}

// apply parses --a16w8 into o; ds provides the selection images of auto:DB.
func (f *a16w8Flags) apply(o *ptq.Options, ds *data.Dataset, log io.Writer) error {
	s := strings.TrimSpace(f.spec)
	if s == "" {
		if f.eps16 {
			return badInputf("--a16w8-eps-2-16 needs --a16w8")
		}
		return nil
	}
	if f.eps16 {
		o.Quant.A16W8Eps = quant.Eps16
	}
	if rest, ok := strings.CutPrefix(s, "auto:"); ok {
		db, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		if err != nil || math.IsNaN(db) || math.IsInf(db, 0) || db < 0 {
			return badInputf("--a16w8 %q: want auto:DB with DB a non-negative number of dB (e.g. auto:0.1)", f.spec)
		}
		if f.images < 1 {
			return badInputf("--a16w8-images %d must be at least 1", f.images)
		}
		n := min(f.images, ds.Train.Len())
		o.A16W8Auto = &ptq.A16W8Auto{DB: db, Source: ds.Train, Images: n}
		o.A16W8Log = log
		return nil
	}
	if s == "auto" {
		return badInputf("--a16w8 auto: give the tolerance, e.g. auto:0.1 (dB below FP32)")
	}
	for _, n := range strings.Split(s, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			return badInputf("--a16w8 %q: empty node name", f.spec)
		}
		o.A16W8 = append(o.A16W8, n)
	}
	return nil
}

func (f *a16w8Flags) report(r *ptq.Result, log io.Writer) {
	if a := r.Applied.A16W8; a != nil {
		fmt.Fprintf(log, "a16w8: int16 activations [%s] (values %s)\n", strings.Join(a.Int16, ","), strings.Join(a.Nodes, ","))
	}
}
