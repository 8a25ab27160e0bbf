package engine

import (
	"fmt"
	"math"
	"strconv"

	"github.com/vgfq/vgfq/engine/kern"
)

// Element-wise work is split into chunks of at least this many elements.
const elemChunk = 16384

// sumBlock is the fixed block size of parallel reductions: partial sums over blocks of this many
// terms are accumulated in float64 and combined in block order, so results do not depend on the
// number of threads.
const sumBlock = 8192

// parallelElems runs fn over [0, n) in parallel chunks.
func parallelElems(n int, fn func(lo, hi int)) {
	kern.ParallelFor(n, elemChunk, fn)
}

// addInto adds src into dst element-wise.
func addInto(dst, src []float32) {
	parallelElems(len(dst), func(lo, hi int) {
		d, s := dst[lo:hi], src[lo:hi]
		for i := range d {
			d[i] += s[i]
		}
	})
}

// pyFloat returns the float64 a Python user would have written for the float32 f: the shortest
// decimal that round-trips f, parsed as a double (float32(0.001) -> 0.001, not 0.0010000000474974513).
// PyTorch keeps hyper-parameters such as lr and eps as Python floats (doubles).
func pyFloat(f float32) float64 {
	v, err := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
	if err != nil {
		return float64(f)
	}
	return v
}

func opPanic(op string, format string, args ...any) {
	panic(fmt.Sprintf("engine.%s: %s", op, fmt.Sprintf(format, args...)))
}

// parallelBlocks calls fn(b) for every b in [0, nb), in parallel.
func parallelBlocks(nb int, fn func(b int)) {
	kern.ParallelFor(nb, 1, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			fn(b)
		}
	})
}

var negInf = math.Inf(-1)
