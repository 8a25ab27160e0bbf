package fast

import (
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/vgfq/vgfq/tosa"
)

// processCPUTime returns the user+system CPU time the process has used so far (0 where
// getrusage is missing).
func processCPUTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportGOPS reports integer throughput as GOP/s (2 operations per multiply-accumulate) over
// wall-clock time and, since the machine may be shared, cpuGOP/s over the CPU time the process
// used (summed over threads: on an idle machine, GOP/s per core ≈ cpuGOP/s).
func reportGOPS(b *testing.B, macsPerOp float64, cpu0 time.Duration) {
	ops := 2 * macsPerOp * float64(b.N)
	b.ReportMetric(ops/b.Elapsed().Seconds()/1e9, "GOP/s")
	if cpu := processCPUTime() - cpu0; cpu > 0 {
		b.ReportMetric(ops/cpu.Seconds()/1e9, "cpuGOP/s")
	}
}

// benchStep times the compiled kernel of the graph's (only) operator op alone, on a state whose
// single input holds in (int8 or int32 values), without Run's conversions of inputs and
// outputs; it fails if op has no fast kernel.
func benchStep(b *testing.B, p *Program, op tosa.Op, in8 []int8, in32 []int32, macs float64, unit string) {
	st := p.newState()
	for i := range st.scr {
		st.scr[i].workers = workers()
	}
	st.bufs[p.inputs[0]] = buf{i8: in8, i32: in32}
	var run kernel
	for _, s := range p.steps {
		if s.op.Op == op {
			run = s.run
		}
	}
	if run == nil {
		b.Fatalf("no fast kernel for %v", op)
	}
	cpu0 := processCPUTime()
	for b.Loop() {
		run(st)
	}
	if unit == "GOP/s" {
		reportGOPS(b, macs, cpu0)
		return
	}
	n := macs * float64(b.N)
	b.ReportMetric(n/b.Elapsed().Seconds()/1e9, unit)
	if cpu := processCPUTime() - cpu0; cpu > 0 {
		b.ReportMetric(n/cpu.Seconds()/1e9, "cpu"+unit)
	}
}

// BenchmarkVNNIKernel: the micro-kernels alone on L1-resident data, K = 288 (the upscaler's
// 32-channel 3x3 layer). Peak of one Zen 4 core: one 512-bit VPDPBUSD per cycle = 64 MACs =
// 128 OP per cycle.
func BenchmarkVNNIKernel(b *testing.B) {
	if !useVNNI {
		b.Skip("no AVX-512 VNNI")
	}
	benchDotKernels(b, dotVNNI, dotOC4)
}

// BenchmarkSDOTKernel: the NEON SDOT micro-kernels (arm64 with the dot product extension), as
// BenchmarkVNNIKernel. Peak of a Neoverse N1 core: two 128-bit SDOT per cycle = 32 MACs = 64 OP
// per cycle.
func BenchmarkSDOTKernel(b *testing.B) {
	if !useSDOT {
		b.Skip("no ASIMD dot product")
	}
	benchDotKernels(b, dotSDOT, dotSDOTOC4)
}

func benchDotKernels(b *testing.B, dot dotKernel, oc4 oc4Kernel) {
	const nq = 72
	a := make([]byte, vnniMR*4*nq)
	w := make([]int8, nq*2*64)
	c := make([]int32, vnniMR*32)
	for i := range a {
		a[i] = byte(i * 7)
	}
	for i := range w {
		w[i] = int8(i * 3)
	}
	b.Run("12x32", func(b *testing.B) {
		cpu0 := processCPUTime()
		for b.Loop() {
			dot(vnniMR, 2, a, 0, 4*nq, 1, 0, nq, w, c, 0, 32)
		}
		reportGOPS(b, vnniMR*32*4*nq, cpu0)
	})
	b.Run("12x16", func(b *testing.B) {
		cpu0 := processCPUTime()
		for b.Loop() {
			dot(vnniMR, 1, a, 0, 4*nq, 1, 0, nq, w, c, 0, 32)
		}
		reportGOPS(b, vnniMR*16*4*nq, cpu0)
	})
	b.Run("12x4", func(b *testing.B) {
		cpu0 := processCPUTime()
		for b.Loop() {
			oc4(vnniMR, a, 0, 4*nq, 1, 0, nq, w, c, 32)
		}
		reportGOPS(b, vnniMR*4*4*nq, cpu0)
	})
}

// convGraph is CONV2D 3x3 (pad 1) → RESCALE int8 on a [1, H, W, IC] input, as in the upscaler.
func convGraph(b testing.TB, H, W, IC, OC int) *tosa.Graph {
	r := rand.New(rand.NewPCG(1, 2))
	bd := tosa.NewBuilder()
	x := bd.Input("x", tosa.Int8, 1, H, W, IC)
	w := make([]int8, OC*9*IC)
	for i := range w {
		w[i] = int8(r.IntN(255) - 127)
	}
	bias := make([]int32, OC)
	ws := bd.AddConst("w", tosa.Int8, []int{OC, 3, 3, IC}, tosa.Int8Data(w))
	bs := bd.AddConst("b", tosa.Int32, []int{OC}, tosa.Int32Data(bias))
	iz := bd.AddConst("izp", tosa.Int8, []int{1}, tosa.Int8Data([]int8{-128}))
	wz := bd.AddConst("wzp", tosa.Int8, []int{1}, tosa.Int8Data([]int8{0}))
	acc := bd.AddOp(tosa.OpConv2D, tosa.Attr{Pad: []int{1, 1, 1, 1}, Stride: []int{1, 1}, Dilation: []int{1, 1}, AccType: tosa.Int32},
		[]string{x, ws, bs, iz, wz}, "acc", tosa.Int32)
	mul, sh := make([]int32, OC), make([]int8, OC)
	for i := range mul {
		mul[i], sh[i] = 1<<30+int32(r.IntN(1<<30)), 42
	}
	m := bd.AddConst("m", tosa.Int32, []int{OC}, tosa.Int32Data(mul))
	s := bd.AddConst("s", tosa.Int8, []int{OC}, tosa.Int8Data(sh))
	riz := bd.AddConst("rizp", tosa.Int32, []int{1}, tosa.Int32Data([]int32{0}))
	roz := bd.AddConst("rozp", tosa.Int8, []int{1}, tosa.Int8Data([]int8{-128}))
	y := bd.AddOp(tosa.OpRescale, tosa.Attr{Scale32: true, PerChannel: true, RoundingMode: tosa.SingleRound}, []string{acc, m, s, riz, roz}, "y", tosa.Int8)
	bd.Output(y)
	g, err := bd.Build()
	if err != nil {
		b.Fatal(err)
	}
	return g
}

// convPath is one CONV2D path of tosa/fast, selected by the package's switches.
type convPath struct {
	name                             string
	vnni, vnniGo, sdot, sdotGo, avx2 bool
}

// convPaths: the assembly kernels (VNNI on amd64, SDOT on arm64), the int16 kernel (AVX2 or Go),
// and the Go micro-kernels of both dot-product layouts.
var convPaths = []convPath{
	{name: "vnni", vnni: true}, {name: "sdot", sdot: true}, {name: "int16avx2", avx2: true},
	{name: "int16go"}, {name: "vnniGo", vnniGo: true}, {name: "sdotGo", sdotGo: true},
}

// set switches to the path (false when the CPU lacks it) and returns the function that restores
// the switches.
func (p convPath) set() (restore func(), ok bool) {
	v, s, a := useVNNI, useSDOT, useAVX2
	restore = func() { useVNNI, useSDOT, useAVX2, vnniGo, sdotGo = v, s, a, false, false }
	if (p.vnni && !v) || (p.sdot && !s) || (p.avx2 && !a) {
		return restore, false
	}
	useVNNI, useSDOT, useAVX2, vnniGo, sdotGo = p.vnni, p.sdot, p.avx2, p.vnniGo, p.sdotGo
	return restore, true
}

// BenchmarkConvInt8: CONV2D 3x3 + fused RESCALE, the upscaler's three layers at 32x32, one
// image per call (so the whole step: uint8 conversion, kernels, epilogue), on each path.
// GOP/s counts 2 per multiply-accumulate of the convolution proper (OH·OW·OC·9·IC).
func BenchmarkConvInt8(b *testing.B) {
	for _, l := range []struct {
		name   string
		IC, OC int
	}{{"3to32", 3, 32}, {"32to32", 32, 32}, {"32to3", 32, 3}} {
		g := convGraph(b, 32, 32, l.IC, l.OC)
		x := make([]int8, 32*32*l.IC)
		for i := range x {
			x[i] = int8(i*13 + 5)
		}
		y := make([]int8, 32*32*l.OC)
		macs := float64(32 * 32 * l.OC * 9 * l.IC)
		for _, pth := range convPaths {
			b.Run(l.name+"/"+pth.name, func(b *testing.B) {
				restore, ok := pth.set()
				defer restore()
				if !ok {
					b.Skip("not on this CPU")
				}
				p, err := Compile(g)
				if err != nil {
					b.Fatal(err)
				}
				cpu0 := processCPUTime()
				for b.Loop() {
					if err := p.RunInt8(x, y); err != nil {
						b.Fatal(err)
					}
				}
				reportGOPS(b, macs, cpu0)
			})
		}
	}
}

// BenchmarkDepthwiseInt8: DEPTHWISE_CONV2D 3x3 (pad 1, multiplier 1) on 32x32x32, int32 out,
// the kernel alone (benchStep), with AVX2 and in Go. GOP/s counts 2 per multiply-accumulate
// (OH·OW·C·9).
func BenchmarkDepthwiseInt8(b *testing.B) {
	const H, C = 32, 32
	r := rand.New(rand.NewPCG(5, 6))
	bd := tosa.NewBuilder()
	x := bd.Input("x", tosa.Int8, 1, H, H, C)
	w := make([]int8, 9*C)
	for i := range w {
		w[i] = int8(r.IntN(255) - 127)
	}
	ws := bd.AddConst("w", tosa.Int8, []int{3, 3, C, 1}, tosa.Int8Data(w))
	bs := bd.AddConst("b", tosa.Int32, []int{C}, tosa.Int32Data(make([]int32, C)))
	iz := bd.AddConst("izp", tosa.Int8, []int{1}, tosa.Int8Data([]int8{-128}))
	wz := bd.AddConst("wzp", tosa.Int8, []int{1}, tosa.Int8Data([]int8{0}))
	y := bd.AddOp(tosa.OpDepthwiseConv2D, tosa.Attr{Pad: []int{1, 1, 1, 1}, Stride: []int{1, 1}, Dilation: []int{1, 1}, AccType: tosa.Int32},
		[]string{x, ws, bs, iz, wz}, "y", tosa.Int32)
	bd.Output(y)
	g, err := bd.Build()
	if err != nil {
		b.Fatal(err)
	}
	in := make([]int8, H*H*C)
	for i := range in {
		in[i] = int8(i * 7)
	}
	for _, pth := range []struct {
		name string
		avx2 bool
	}{{"avx2", true}, {"go", false}} {
		b.Run(pth.name, func(b *testing.B) {
			saved := useAVX2
			defer func() { useAVX2 = saved }()
			if pth.avx2 && !saved {
				b.Skip("no AVX2")
			}
			useAVX2 = pth.avx2
			p, err := Compile(g)
			if err != nil {
				b.Fatal(err)
			}
			benchStep(b, p, tosa.OpDepthwiseConv2D, in, nil, H*H*C*9, "GOP/s")
		})
	}
}

// BenchmarkRescaleInt8: a standalone per-channel RESCALE int32 → int8 (scale32, double round)
// of 32x32x32 values, with the AVX-512 kernel (when proven safe and available) and the checked
// scalar code, the kernel alone (benchStep). Gelem/s: values rescaled per second.
func BenchmarkRescaleInt8(b *testing.B) {
	const H, C = 32, 32
	r := rand.New(rand.NewPCG(7, 8))
	bd := tosa.NewBuilder()
	x := bd.Input("x", tosa.Int32, 1, H, H, C)
	mul, sh := make([]int32, C), make([]int8, C)
	for i := range mul {
		mul[i], sh[i] = 1<<30+int32(r.IntN(1<<30)), 40
	}
	m := bd.AddConst("m", tosa.Int32, []int{C}, tosa.Int32Data(mul))
	s := bd.AddConst("s", tosa.Int8, []int{C}, tosa.Int8Data(sh))
	riz := bd.AddConst("rizp", tosa.Int32, []int{1}, tosa.Int32Data([]int32{0}))
	roz := bd.AddConst("rozp", tosa.Int8, []int{1}, tosa.Int8Data([]int8{-128}))
	y := bd.AddOp(tosa.OpRescale, tosa.Attr{Scale32: true, PerChannel: true, RoundingMode: tosa.DoubleRound}, []string{x, m, s, riz, roz}, "y", tosa.Int8)
	bd.Output(y)
	g, err := bd.Build()
	if err != nil {
		b.Fatal(err)
	}
	in := make([]int32, H*H*C)
	for i := range in {
		in[i] = int32(r.IntN(1<<24) - 1<<23)
	}
	for _, pth := range []struct {
		name string
		vec  bool
	}{{"avx512", true}, {"scalar", false}} {
		b.Run(pth.name, func(b *testing.B) {
			saved := useVNNI
			defer func() { useVNNI = saved }()
			if pth.vec && !saved {
				b.Skip("no AVX-512")
			}
			useVNNI = pth.vec
			p, err := Compile(g)
			if err != nil {
				b.Fatal(err)
			}
			benchStep(b, p, tosa.OpRescale, nil, in, H*H*C, "Gelem/s")
		})
	}
}

// BenchmarkTransposeConvInt8: TRANSPOSE_CONV2D 16x16x32 → 32x32x32, kernel 4x4, stride 2
// (out_pad -1), on the VNNI path (a CONV2D over the zero-inserted input: 4x the useful MACs,
// which GOP/s does not count) and on the scalar scatter, the kernel alone (benchStep).
func BenchmarkTransposeConvInt8(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	const IH, IC, OC, K = 16, 32, 32, 4
	bd := tosa.NewBuilder()
	x := bd.Input("x", tosa.Int8, 1, IH, IH, IC)
	w := make([]int8, OC*K*K*IC)
	for i := range w {
		w[i] = int8(r.IntN(255) - 127)
	}
	ws := bd.AddConst("w", tosa.Int8, []int{OC, K, K, IC}, tosa.Int8Data(w))
	bs := bd.AddConst("b", tosa.Int32, []int{OC}, tosa.Int32Data(make([]int32, OC)))
	iz := bd.AddConst("izp", tosa.Int8, []int{1}, tosa.Int8Data([]int8{-128}))
	wz := bd.AddConst("wzp", tosa.Int8, []int{1}, tosa.Int8Data([]int8{0}))
	y := bd.AddOp(tosa.OpTransposeConv2D, tosa.Attr{OutPad: []int{-1, -1, -1, -1}, Stride: []int{2, 2}, AccType: tosa.Int32},
		[]string{x, ws, bs, iz, wz}, "y", tosa.Int32)
	bd.Output(y)
	g, err := bd.Build()
	if err != nil {
		b.Fatal(err)
	}
	in := make([]int8, IH*IH*IC)
	for i := range in {
		in[i] = int8(i * 7)
	}
	macs := float64(IH * IH * K * K * IC * OC) // useful multiply-accumulates
	for _, pth := range []struct {
		name string
		vnni bool
	}{{"vnni", true}, {"scalar", false}} {
		b.Run(pth.name, func(b *testing.B) {
			saved := useVNNI
			if pth.vnni && !saved {
				b.Skip("no AVX-512 VNNI")
			}
			useVNNI = pth.vnni
			defer func() { useVNNI = saved }()
			p, err := Compile(g)
			if err != nil {
				b.Fatal(err)
			}
			benchStep(b, p, tosa.OpTransposeConv2D, in, nil, macs, "GOP/s")
		})
	}
}
