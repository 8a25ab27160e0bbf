package quant

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"

	"github.com/vgfq/vgfq/engine/kern"
)

// Histogram observer constants (TorchAO pt2e HistogramObserver with ExecuTorch's settings).
const (
	HistBins        = 2048 // source bins
	HistUpsample    = 16   // upsample rate when re-binning into a wider range
	HistDstBins     = 256  // 2^bits(int8): destination bins of the L2 search for int8 (int16: 65536)
	histFine        = HistBins * HistUpsample
	histMaxLinspace = histFine + 1
)

// Histogram is TorchAO pt2e's HistogramObserver (spec §1.4), bit-exact in float32: a 2048-bin
// histogram over [Min, Max] that is re-binned (upscaled) whenever a tensor widens the range.
// Elements equal to ±inf are dropped. QParams runs the range selection given by the calibration
// (default CalibL2Search = TorchAO's _non_linear_param_search, which is what ExecuTorch uses) and
// then the affine/symmetric formula of the scheme.
type Histogram struct {
	Scheme   Scheme
	Min, Max float32 // +inf / -inf before the first finite element
	Hist     []float32
	calib    Calibration
	trace    func(start, end int, err float64) // tests: every err() of the L2 search

	counts [HistBins]int32
	tmp    []float32
	edges  []float32
}

// NewHistogram returns an empty histogram observer for scheme s (ActInt8 for activations).
func NewHistogram(s Scheme) *Histogram {
	return &Histogram{
		Scheme: s,
		Min:    float32(math.Inf(1)),
		Max:    float32(math.Inf(-1)),
		Hist:   make([]float32, HistBins),
		tmp:    make([]float32, HistBins),
		edges:  make([]float32, HistBins+1),
	}
}

// Observe implements Observer: TorchAO's HistogramObserver.forward.
func (h *Histogram) Observe(x []float32, _ []int) error {
	if len(x) == 0 {
		return nil
	}
	mn, mx, finite, nan := histMinMax(x)
	if nan >= 0 {
		return nanErr(nan)
	}
	if finite == 0 {
		return nil
	}
	if inf := float32(math.Inf(1)); h.Min == inf || h.Max == -inf { // reset_histogram
		h.Min, h.Max = mn, mx
		h.histc(x, mn, mx)
		for i, c := range h.counts {
			h.Hist[i] = float32(c)
		}
		return nil
	}
	nmn := min32(h.Min, mn)
	nmx := max32(h.Max, mx)
	h.histc(x, nmn, nmx)
	if nmn == h.Min && nmx == h.Max {
		for i, c := range h.counts {
			h.Hist[i] += float32(c)
		}
		return nil
	}
	// _combine_histograms(orig=hist over [Min,Max], update=counts over [nmn,nmx])
	if h.Min == h.Max {
		binValue := sum32(h.Hist, SumLanes)
		j := histcBin(h.Min, nmn, nmx)
		for i, c := range h.counts {
			h.Hist[i] = float32(c)
		}
		if j >= 0 {
			h.Hist[j] = binValue + h.Hist[j]
		}
	} else {
		h.upscale(h.tmp, h.Hist, h.Min, h.Max, nmn, nmx)
		for i, c := range h.counts {
			h.Hist[i] = float32(c) + h.tmp[i]
		}
	}
	h.Min, h.Max = nmn, nmx
	return nil
}

func nanErr(i int) error { return fmt.Errorf("quant: %w (element %d)", ErrNaN, i) }

// histcRange is histc_select_outer_bin_edges for a == b (in double, then float32 edges).
func histcRange(a, b float32) (float32, float32) {
	if a == b {
		return float32(float64(a) - 1), float32(float64(b) + 1)
	}
	return a, b
}

// histChunk is the size of the chunks Observe's passes run in parallel (from two chunks on).
const histChunk = 1 << 16

// histSerial makes Observe's passes serial (tests).
var histSerial bool

// histMinMax scans x as Observe does: the minimum and maximum of the finite elements (the first
// of equal extremes, as a scan keeping strictly smaller / greater values does), their count,
// and the index of the first NaN (-1: none). Large tensors are scanned in parallel chunks whose
// results are combined in order by the same rule, which gives the same values.
func histMinMax(x []float32) (mn, mx float32, finite, nan int) {
	inf := float32(math.Inf(1))
	scan := func(x []float32, base int) (mn, mx float32, finite, nan int) {
		mn, mx, start := inf, -inf, 0
		// AVX min/max over the vector part when it holds only finite numbers (the common case):
		// the same extremes and count; the scan goes on from there.
		if vmn, vmx, vnan, k := minMaxFast(x); k > 0 && !vnan && vmn != -inf && vmx != inf {
			mn, mx, finite, start = vmn, vmx, k, k
		}
		for i, v := range x[start:] {
			if v != v {
				return mn, mx, finite, base + start + i
			}
			if v == inf || v == -inf {
				continue // torch: x = x[x.abs() != inf] (only done if an inf is present; same result)
			}
			finite++
			if v < mn {
				mn = v
			}
			if v > mx {
				mx = v
			}
		}
		if start > 0 { // vector min/max may pick either zero; the scan keeps the first
			mn, mx = firstZeroSign(x, mn, mx)
		}
		return mn, mx, finite, -1
	}
	if len(x) < 2*histChunk || histSerial {
		return scan(x, 0)
	}
	type part struct {
		mn, mx      float32
		finite, nan int
	}
	parts := make([]part, (len(x)+histChunk-1)/histChunk)
	parallelChunks(x, histChunk, func(c int, x []float32) {
		p := &parts[c]
		p.mn, p.mx, p.finite, p.nan = scan(x, c*histChunk)
	})
	mn, mx, nan = inf, -inf, -1
	for _, p := range parts {
		if p.nan >= 0 {
			return mn, mx, finite, p.nan
		}
		finite += p.finite
		if p.mn < mn {
			mn = p.mn
		}
		if p.mx > mx {
			mx = p.mx
		}
	}
	return mn, mx, finite, -1
}

// parallelChunks calls f(c, chunk) for the consecutive chunks of size elements of x (the last
// may be shorter), in parallel.
func parallelChunks(x []float32, size int, f func(c int, chunk []float32)) {
	kern.ParallelFor((len(x)+size-1)/size, 1, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			f(c, x[c*size:min((c+1)*size, len(x))])
		}
	})
}

// hasInf reports whether x holds +inf or -inf (in parallel chunks, with AVX min/max; a chunk
// with a NaN is checked element by element).
func hasInf(x []float32) bool {
	inf := float32(math.Inf(1))
	check := func(x []float32) bool {
		vmn, vmx, vnan, k := minMaxFast(x)
		if vnan {
			k = 0
		}
		if k > 0 && (vmn == -inf || vmx == inf) {
			return true
		}
		for _, v := range x[k:] {
			if v > math.MaxFloat32 || v < -math.MaxFloat32 {
				return true
			}
		}
		return false
	}
	if len(x) < 2*histChunk {
		return check(x)
	}
	found := make([]bool, (len(x)+histChunk-1)/histChunk)
	parallelChunks(x, histChunk, func(c int, x []float32) { found[c] = check(x) })
	return slices.Contains(found, true)
}

// histc counts x into h.counts like torch.histc(x, 2048, a, b) on the CPU:
// keep a <= v <= b; bin = trunc(fl32(fl32(v-a)*2048) / fl32(b-a)); bin 2048 -> 2047.
// Large tensors are counted in parallel chunks (integer counts: the same totals).
func (h *Histogram) histc(x []float32, a, b float32) {
	h.counts = [HistBins]int32{}
	a, b = histcRange(a, b)
	w := float32(b - a)
	count := func(x []float32, counts *[HistBins]int32) {
		// AVX bins, 4096 values at a time (the extra bin 2048 takes the values outside [a, b])
		var bins [4096]int32
		var wide [HistBins + 1]int32
		for len(x) >= 8 {
			k := histBinsFast(x, a, b, w, bins[:])
			if k == 0 {
				break
			}
			for _, p := range bins[:k] {
				wide[p]++
			}
			x = x[k:]
		}
		for i, c := range wide[:HistBins] {
			counts[i] += c
		}
		for _, v := range x {
			if !(v >= a && v <= b) {
				continue
			}
			p := int(float32(float32(v-a)*HistBins) / w)
			if p >= HistBins || p < 0 { // p == 2048 (v == b); < 0 / > 2048 only in overflowing ranges
				p = HistBins - 1
			}
			counts[p]++
		}
	}
	if len(x) < 2*histChunk || histSerial {
		count(x, &h.counts)
		return
	}
	n := (len(x) + histChunk - 1) / histChunk
	var mu sync.Mutex
	kern.ParallelFor(n, 1, func(lo, hi int) {
		var local [HistBins]int32
		count(x[lo*histChunk:min(hi*histChunk, len(x))], &local)
		mu.Lock()
		for i, c := range local {
			h.counts[i] += c
		}
		mu.Unlock()
	})
}

// histcBin is the bin torch.histc(tensor([v]), 2048, a, b) puts v in, or -1.
func histcBin(v, a, b float32) int {
	a, b = histcRange(a, b)
	if !(v >= a && v <= b) {
		return -1
	}
	p := int(float32(float32(v-a)*HistBins) / float32(b-a))
	if p >= HistBins || p < 0 {
		p = HistBins - 1
	}
	return p
}

// linspace32 fills dst (len n >= 2) like current PyTorch's scalar CPU linspace in float32:
// step = fl32(fl32(b-a)/(n-1)); v[i] = a + fl32(step*i) for i < n/2, else b - fl32(step*(n-1-i)).
func linspace32(dst []float32, a, b float32) {
	n := len(dst)
	step := float32(b-a) / float32(n-1)
	half := n / 2
	for i := range dst {
		if i < half {
			dst[i] = a + float32(step*float32(i))
		} else {
			dst[i] = b - float32(step*float32(n-1-i))
		}
	}
}

// upscale is TorchAO's _upscale_histogram: re-bins hist (over [a,b]) into dst (over [c,d]) by
// splitting every bin into 16 equal parts located at their mid-points.
func (h *Histogram) upscale(dst, hist []float32, a, b, c, d float32) {
	for i := range dst {
		dst[i] = 0
	}
	E := h.edges
	linspace32(E, c, d)
	sorted := true
	for i := 1; i < len(E); i++ {
		if E[i] < E[i-1] {
			sorted = false
			break
		}
	}
	bs := float32(b-a) / histFine
	half := float32(0.5 * bs)
	// mid-points: linspace32(a, b, 32769)[:-1] + 0.5*bin_size, generated on the fly
	step := float32(b-a) / float32(histMaxLinspace-1)
	hw := histMaxLinspace / 2
	p := 0 // for sorted E: #{i : E[i] <= mid}
	for k := 0; k < histFine; k++ {
		var lk float32
		if k < hw {
			lk = a + float32(step*float32(k))
		} else {
			lk = b - float32(step*float32(histMaxLinspace-1-k))
		}
		mid := lk + half
		var j int
		if sorted {
			for p < len(E) && !(E[p] > mid) {
				p++
			}
			for p > 0 && E[p-1] > mid {
				p--
			}
			j = p - 1
		} else {
			j = upperBound(E, mid) - 1
		}
		if j >= HistBins {
			j = HistBins - 1
		}
		if j < 0 {
			j = 0
		}
		dst[j] += hist[k/HistUpsample] / HistUpsample
	}
}

// upperBound is ATen's cus_upper_bound (torch.bucketize right=True) binary search.
func upperBound(bd []float32, val float32) int {
	start, end := 0, len(bd)
	for start < end {
		mid := start + (end-start)>>1
		if !(bd[mid] > val) {
			start = mid + 1
		} else {
			end = mid
		}
	}
	return start
}

// MinMax implements Observer (the histogram's range, before any search).
func (h *Histogram) MinMax() ([]float32, []float32) { return []float32{h.Min}, []float32{h.Max} }

// QParams implements Observer: Range() then the scheme's formula. Before any data: (1, 0).
func (h *Histogram) QParams() ([]float32, []int32) {
	if uninitialised(h.Min, h.Max) {
		return []float32{1}, []int32{0}
	}
	lo, hi := h.Range()
	s, z := h.Scheme.QParams(lo, hi)
	return []float32{s}, []int32{z}
}

// Range returns the clipping range chosen by the calibration method (default: TorchAO's L2
// non-linear parameter search).
func (h *Histogram) Range() (lo, hi float32) {
	switch h.calib.Kind {
	case CalibMSE:
		return h.mseRange()
	case CalibPercentile:
		return h.percentileRange(h.calib.Percentile)
	}
	return h.nonLinearParamSearch()
}

// nonLinearParamSearch is _non_linear_param_search (spec §1.4), with its float32/double mix.
func (h *Histogram) nonLinearParamSearch() (float32, float32) {
	bw32 := float32(h.Max-h.Min) / HistBins
	total := float64(sum32(h.Hist, SumLanes))
	cs := h.tmp
	var acc float64
	for i, v := range h.Hist {
		acc += float64(v)
		cs[i] = float32(acc)
	}
	const stepsize = 1e-5
	alpha, beta := 0.0, 1.0
	start, end := 0, HistBins-1
	normMin := math.Inf(1)
	for alpha < beta {
		na := alpha + stepsize
		nb := beta - stepsize
		ta, tb := float32(na*total), float32(nb*total)
		l, r := start, end
		for l < end && cs[l] < ta {
			l++
		}
		for r > start && cs[r] > tb {
			r--
		}
		ns, ne := start, end
		if l-start > end-r {
			ns = l
			alpha = na
		} else {
			ne = r
			beta = nb
		}
		if ns == start && ne == end {
			continue
		}
		n := h.quantError(ns, ne)
		if h.trace != nil {
			h.trace(ns, ne, n)
		}
		if n > normMin {
			break
		}
		normMin = n
		start, end = ns, ne
	}
	lo := h.Min + float32(bw32*float32(start))
	hi := h.Min + float32(bw32*float32(end+1))
	return lo, hi
}

// quantError is _compute_quantization_error(s, e): the L2 error of mapping source bins s..e onto
// 256 uniform destination bins, values uniformly spread inside each source bin.
func (h *Histogram) quantError(s, e int) float64 {
	bw := (float64(h.Max) - float64(h.Min)) / HistBins
	dst := h.Scheme.dstBins()
	dw := bw * float64(e-s+1) / float64(dst)
	if dw == 0 {
		return 0
	}
	bwf, dwf := float32(bw), float32(dw)
	halfP := float32(dw / 2)
	halfN := float32(-dw / 2)
	cubeP := float32(float32(halfP*halfP) * halfP)
	cubeN := float32(float32(halfN*halfN) * halfN)
	mid := float32(cubeP-cubeN) / 3 // _get_norm(-dw/2, dw/2, .) before the density factor
	norm := h.edges[:HistBins]      // scratch (edges is only used inside upscale)
	for i, hv := range h.Hist {
		b0 := float32(float32(i-s) * bwf)
		b1 := b0 + bwf
		db := clampDst(floorDiv32(b0, dwf), dst)
		de := clampDst(floorDiv32(b1, dwf), dst)
		dens := hv / bwf
		cb := float32(float32(db+0.5) * dwf) // float32(): no fused multiply-add (arm64 fuses)
		d0 := b0 - cb
		n := float32(dens * (float32(cubeP-float32(float32(d0*d0)*d0)) / 3))
		n = n + float32(float32(float32(de-db)-1)*float32(dens*mid))
		ce := float32(de*dwf) + halfP
		d1 := b1 - ce
		n = n + float32(dens*(float32(float32(float32(d1*d1)*d1)-cubeN)/3))
		norm[i] = n
	}
	return float64(sum32(norm, SumLanes))
}

func clampDst(v float32, dst int) float32 {
	// torch.clamp(v, 0, dst_nbins-1) = min(max(v, 0), dst_nbins-1)
	if v < 0 {
		v = 0
	}
	if v > float32(dst-1) {
		v = float32(dst - 1)
	}
	return v
}

// floorDiv32 is torch.div(a, b, rounding_mode="floor") for float32 (ATen's Python-style floor
// division: the floor of the exact quotient, not floor(fl32(a/b))).
func floorDiv32(a, b float32) float32 {
	if b == 0 {
		return a / b
	}
	q := float64(a) / float64(b)
	f := math.Floor(q)
	if fr := q - f; fr > 1e-6 && fr < 1-1e-6 && math.Abs(q) < 1<<22 {
		return float32(f)
	}
	A, B := float64(a), float64(b)
	mod := math.Mod(A, B)
	k := (A - mod) / B // exact for the magnitudes that occur here
	if mod != 0 && (B < 0) != (mod < 0) {
		k--
	}
	return float32(k)
}

// Calibration selects how a Histogram turns its histogram into a clipping range.
type Calibration struct {
	Kind       CalibKind
	Percentile float64 // for CalibPercentile, in (50, 100], e.g. 99.99
}

// CalibKind enumerates the calibration methods.
type CalibKind int

const (
	// CalibL2Search is TorchAO's _non_linear_param_search: the ExecuTorch-compatible default.
	CalibL2Search CalibKind = iota
	// CalibMSE (non-default) picks the range of bin edges minimising the expected squared
	// quantization error over the histogram: rounding noise scale²/12 for values inside the
	// quantization grid, squared clipping distance for values outside; the candidate's scale and
	// zero point come from the scheme's own formula.
	CalibMSE
	// CalibPercentile (non-default) clips to the [100-p, p] percentiles of the observed values
	// (linear interpolation inside a bin).
	CalibPercentile
)

// SetCalibration selects the calibration method used by Range and QParams.
func (h *Histogram) SetCalibration(c Calibration) { h.calib = c }

// percentileRange returns the (100-p)% and p% quantiles of the histogram.
func (h *Histogram) percentileRange(p float64) (float32, float32) {
	if p <= 50 || p > 100 || h.Min == h.Max {
		return h.Min, h.Max
	}
	var total float64
	for _, v := range h.Hist {
		total += float64(v)
	}
	bw := (float64(h.Max) - float64(h.Min)) / HistBins
	cum := make([]float64, HistBins+1)
	for i, v := range h.Hist {
		cum[i+1] = cum[i] + float64(v)
	}
	quantile := func(q float64) float64 {
		t := q * total
		i := sort.Search(HistBins, func(i int) bool { return cum[i+1] >= t })
		if i >= HistBins {
			return float64(h.Max)
		}
		frac := 0.0
		if c := float64(h.Hist[i]); c > 0 {
			frac = (t - cum[i]) / c
		}
		return float64(h.Min) + (float64(i)+frac)*bw
	}
	lo := float32(quantile(1 - p/100))
	hi := float32(quantile(p / 100))
	if p == 100 {
		lo, hi = h.Min, h.Max
	}
	return lo, hi
}

// mseRange searches bin-edge ranges [lo, hi] minimising mseObjective.
func (h *Histogram) mseRange() (float32, float32) {
	if h.Min == h.Max {
		return h.Min, h.Max
	}
	bw := (float64(h.Max) - float64(h.Min)) / HistBins
	edge := func(i int) float32 {
		if i == HistBins {
			return h.Max
		}
		return float32(float64(h.Min) + float64(i)*bw)
	}
	mse := h.mseObjective()
	// coarse 2-D grid of bin edges (step 32), then alternating 1-D refinement on all edges
	loI, hiI := 0, HistBins
	best := mse(edge(loI), edge(hiI))
	const coarse = 32
	for l := 0; l < HistBins; l += coarse {
		for u := l + coarse; u <= HistBins; u += coarse {
			if e := mse(edge(l), edge(u)); e < best {
				best, loI, hiI = e, l, u
			}
		}
	}
	for round := 0; round < 4; round++ {
		changed := false
		for j := loI + 1; j <= HistBins; j++ {
			if e := mse(edge(loI), edge(j)); e < best {
				best, hiI, changed = e, j, true
			}
		}
		for j := 0; j < hiI; j++ {
			if e := mse(edge(j), edge(hiI)); e < best {
				best, loI, changed = e, j, true
			}
		}
		if !changed {
			break
		}
	}
	return edge(loI), edge(hiI)
}

// mseObjective returns the CalibMSE objective: the expected squared quantization error of the
// histogram for a clipping range (bin centres; scale²/12 inside the grid, squared clipping
// distance outside).
func (h *Histogram) mseObjective() func(lo, hi float32) float64 {
	bw := (float64(h.Max) - float64(h.Min)) / HistBins
	type bin struct{ c, x float64 } // count, centre
	bins := make([]bin, 0, HistBins)
	for i, v := range h.Hist {
		if v > 0 {
			bins = append(bins, bin{float64(v), float64(h.Min) + (float64(i)+0.5)*bw})
		}
	}
	return func(lo, hi float32) float64 {
		s, z := h.Scheme.QParams(lo, hi)
		S := float64(s)
		gl := (float64(h.Scheme.QMin) - float64(z)) * S
		gh := (float64(h.Scheme.QMax) - float64(z)) * S
		noise := S * S / 12
		var e float64
		for _, b := range bins {
			switch {
			case b.x < gl:
				d := gl - b.x
				e += b.c * d * d
			case b.x > gh:
				d := b.x - gh
				e += b.c * d * d
			default:
				e += b.c * noise
			}
		}
		return e
	}
}
