// Package fast is a fast executor of TOSA 1.0 integer graphs, bit-exact with the reference
// interpreter tosa/ref (the oracle), in the style of TFLite's optimized kernels: the reference
// kernels stay the specification, the fast kernels live here and are tested against them.
//
// Compile validates a graph once and prepares every operator: constants are decoded into typed
// slices, CONV2D weights are packed for unsigned × signed byte dot products (AVX-512 VNNI
// VPDPBUSD, conv_vnni.go) or for an int16 GEMM (AVX2 VPMADDWD), see docs/speed.md, RESCALE
// parameters are expanded per channel, RESIZE / TRANSPOSE index tables are precomputed. Tensors
// are stored typed (INT8 as []int8, INT32 as []int32; the other integer types as []int64).
//
// Every fast kernel uses the same integer arithmetic as the specification. Where the
// specification REQUIREs that a value does not overflow, the kernel either proves it at compile
// time from shapes and constant values (CONV2D / DEPTHWISE_CONV2D accumulator bounds from the
// actual weights, biases and zero points) or checks it cheaply per element (RESCALE, ADD, SUB,
// MUL); when a check fails the operator is re-executed by tosa/ref, which reports the exact
// ERROR_IF / REQUIRE failure (*ref.OpError, with the operator's index in the full graph).
// Operators without a fast path, and fast-path operators whose attributes or constants fail an
// ERROR_IF / REQUIRE condition, are executed by tosa/ref, one operator at a time, so every
// graph that tosa/ref runs also runs here with the same results and the same errors.
//
// A Program is safe for concurrent use: each Run takes its own execution state (buffers) from
// a pool. CONV2D splits its output pixels across goroutines when the work is large enough;
// results do not depend on the split (integer arithmetic, disjoint outputs).
package fast

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/vgfq/vgfq/tosa"
	"github.com/vgfq/vgfq/tosa/ref"
)

// storage kinds of a tensor slot
type kind uint8

const (
	kI8  kind = iota // INT8: []int8
	kI32             // INT32: []int32
	kI64             // every other type: []int64 (sign-extended, like ref.Value)
)

func kindOf(t tosa.DType) kind {
	switch t {
	case tosa.Int8:
		return kI8
	case tosa.Int32:
		return kI32
	}
	return kI64
}

// buf is the storage of one tensor; exactly one slice is used, according to the slot's kind.
type buf struct {
	i8  []int8
	i32 []int32
	i64 []int64
}

// slot describes one tensor of the graph.
type slot struct {
	name  string
	typ   tosa.DType
	shape []int
	n     int
	kind  kind
	// constant data (decoded at compile time), shared read-only by every Run
	isConst bool
	c       buf
	// alloc: the tensor gets its own buffer in each execution state
	alloc bool
}

// kernel runs one operator on an execution state. It returns false when a runtime check (a
// REQUIRE of the specification) fails; the step then re-executes through tosa/ref.
type kernel func(st *state) bool

// step is one operator of the program.
type step struct {
	index int // operator index in the graph
	op    *tosa.Operator
	in    []int // slot indices of op.Inputs
	out   int   // slot index of op.Outputs[0]
	run   kernel
	fb    *fallback // always set for non-constant operators
	// fusion: a fast CONV2D whose only consumer is a fast int32 → int8 RESCALE applies it in
	// its epilogue (per row group, in parallel); the RESCALE step then only checks the flag
	conv    *convPlan
	tconv   *convPlan // TRANSPOSE_CONV2D on the VNNI path (not fused)
	rescale *rescalePlan
	flag    int // index into state.flags (fused RESCALE steps), or -1
}

// Program is a compiled graph. It is safe for concurrent Run / RunInt8 calls.
type Program struct {
	g       *tosa.Graph
	slots   []slot
	byName  map[string]int
	steps   []*step
	inputs  []int // slot indices of g.Inputs
	outputs []int // slot indices of g.Outputs
	nScr    int   // number of scratch areas used by kernels
	nFlags  int   // number of fused CONV2D → RESCALE pairs
	pool    sync.Pool
	fastOps map[tosa.Op]int // operator counts executed by fast kernels (for tests and reports)
	refOps  map[tosa.Op]int // operator counts executed by tosa/ref
}

// state is the per-Run execution state: tensor buffers and kernel scratch.
type state struct {
	bufs  []buf
	scr   []scratch
	flags []bool // per fused RESCALE: true when the CONV2D epilogue already produced its output
}

// scratch is one kernel's scratch memory, reused across Runs of the same state.
type scratch struct {
	s16 []int16
	s32 []int32
	u8  []byte
	// u8ok: the kernel has initialized u8 (reset when u8 is reallocated)
	u8ok bool
	// workers: how many goroutines the kernel may split its work over (set by each Run)
	workers int
}

func (s *scratch) bytes(n int) []byte {
	if cap(s.u8) < n {
		s.u8 = make([]byte, n)
		s.u8ok = false
	}
	return s.u8[:n]
}

func (s *scratch) int16s(n int) []int16 {
	if cap(s.s16) < n {
		s.s16 = make([]int16, n)
	}
	return s.s16[:n]
}

func (s *scratch) int32s(n int) []int32 {
	if cap(s.s32) < n {
		s.s32 = make([]int32, n)
	}
	return s.s32[:n]
}

// Compile validates g and prepares it for execution.
func Compile(g *tosa.Graph) (*Program, error) {
	if g == nil {
		return nil, errors.New("tosa/fast: nil graph")
	}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	p := &Program{g: g, byName: make(map[string]int, len(g.Tensors)),
		fastOps: map[tosa.Op]int{}, refOps: map[tosa.Op]int{}}
	for _, t := range g.Tensors {
		p.byName[t.Name] = len(p.slots)
		p.slots = append(p.slots, slot{name: t.Name, typ: t.Type, shape: slices.Clone(t.Shape),
			n: t.NumElements(), kind: kindOf(t.Type)})
	}
	for _, n := range g.Inputs {
		p.inputs = append(p.inputs, p.byName[n])
	}
	for _, n := range g.Outputs {
		p.outputs = append(p.outputs, p.byName[n])
	}
	for i, op := range g.Ops {
		if op.Op == tosa.OpConst || op.Op == tosa.OpConstShape {
			if len(op.Outputs) == 1 && len(op.Inputs) == 0 {
				s := &p.slots[p.byName[op.Outputs[0]]]
				if c, ok := decodeConst(g.Tensor(op.Outputs[0]), s.kind); ok {
					s.isConst, s.c = true, c
					continue
				}
			}
		}
		st := &step{index: i, op: op, out: -1}
		for _, n := range op.Inputs {
			st.in = append(st.in, p.byName[n])
		}
		if len(op.Outputs) > 0 {
			st.out = p.byName[op.Outputs[0]]
		}
		st.fb = newFallback(p, op)
		if len(op.Outputs) == 1 {
			st.run = p.compileOp(st)
		}
		if st.run != nil {
			p.fastOps[op.Op]++
		} else {
			p.refOps[op.Op]++
		}
		for _, n := range op.Outputs {
			s := &p.slots[p.byName[n]]
			if !s.isConst {
				s.alloc = true
			}
		}
		p.steps = append(p.steps, st)
	}
	p.fuse()
	// aliasing outputs (RESHAPE / IDENTITY) get their buffer from their input at run time
	for _, st := range p.steps {
		if st.run != nil && (st.op.Op == tosa.OpReshape || st.op.Op == tosa.OpIdentity) {
			p.slots[st.out].alloc = false
		}
	}
	p.pool.New = func() any { return p.newState() }
	return p, nil
}

// fuse pairs each fast CONV2D with its RESCALE when the RESCALE (int32 → int8, signed) is
// the only reader of the accumulator. The CONV2D still writes the int32 accumulator, so that
// a RESCALE whose REQUIRE fails can be re-executed (and reported) at its own position.
func (p *Program) fuse() {
	for _, s := range p.steps {
		if s.conv == nil || s.run == nil {
			continue
		}
		acc := p.slots[s.out].name
		if slices.Contains(p.g.Outputs, acc) {
			continue
		}
		cons := p.g.Consumers(acc)
		if len(cons) != 1 {
			continue
		}
		var r *step
		for _, t := range p.steps {
			if t.index == cons[0] {
				r = t
			}
		}
		if r == nil || r.rescale == nil || r.run == nil || r.in[0] != s.out || p.slots[r.out].typ != tosa.Int8 ||
			r.rescale.inUnsigned || r.rescale.outUnsigned || (len(r.rescale.ch) != 1 && len(r.rescale.ch) != s.conv.OC) {
			continue
		}
		flag := p.nFlags
		p.nFlags++
		s.conv.post, s.conv.postOut, s.conv.flag = r.rescale, r.out, flag
		if s.conv.v != nil {
			s.conv.v.fusePost(s.conv)
		}
		inner := r.run
		r.run = func(st *state) bool {
			if st.flags[flag] {
				return true
			}
			return inner(st)
		}
	}
}

// decodeConst decodes a constant tensor's data into typed storage.
func decodeConst(t *tosa.Tensor, k kind) (buf, bool) {
	if t == nil || t.Data == nil {
		return buf{}, false
	}
	v, err := t.Ints()
	if err != nil {
		return buf{}, false
	}
	var b buf
	switch k {
	case kI8:
		b.i8 = make([]int8, len(v))
		for i, x := range v {
			b.i8[i] = int8(x)
		}
	case kI32:
		b.i32 = make([]int32, len(v))
		for i, x := range v {
			b.i32[i] = int32(x)
		}
	default:
		b.i64 = v
	}
	return b, true
}

func (p *Program) newState() *state {
	st := &state{bufs: make([]buf, len(p.slots)), scr: make([]scratch, p.nScr), flags: make([]bool, p.nFlags)}
	for i := range p.slots {
		s := &p.slots[i]
		switch {
		case s.isConst:
			st.bufs[i] = s.c
		case s.alloc:
			st.bufs[i] = makeBuf(s.kind, s.n)
		}
	}
	return st
}

func makeBuf(k kind, n int) buf {
	switch k {
	case kI8:
		return buf{i8: make([]int8, n)}
	case kI32:
		return buf{i32: make([]int32, n)}
	}
	return buf{i64: make([]int64, n)}
}

// newScratch reserves a scratch area for a kernel and returns its index.
func (p *Program) newScratch() int {
	p.nScr++
	return p.nScr - 1
}

// FastOps returns how many operators of each kind run through fast kernels, and RefOps how
// many run through tosa/ref (CONST / CONST_SHAPE are decoded at compile time and counted in
// neither).
func (p *Program) FastOps() map[tosa.Op]int { return mapsClone(p.fastOps) }

// RefOps: see FastOps.
func (p *Program) RefOps() map[tosa.Op]int { return mapsClone(p.refOps) }

func mapsClone(m map[tosa.Op]int) map[tosa.Op]int {
	r := make(map[tosa.Op]int, len(m))
	for k, v := range m {
		r[k] = v
	}
	return r
}

// Run executes the program on the named inputs (raw tensors of the graph inputs' types and
// shapes) and returns the graph outputs by name: the contract of ref.Run.
func (p *Program) Run(inputs map[string]*tosa.Tensor) (map[string]*tosa.Tensor, error) {
	st := p.pool.Get().(*state)
	defer p.pool.Put(st)
	for name, t := range inputs {
		if t == nil {
			return nil, fmt.Errorf("tosa/fast: input %q is nil", name)
		}
		if !slices.Contains(p.g.Inputs, name) {
			return nil, fmt.Errorf("tosa/fast: %q is not a graph input (inputs: %v)", name, p.g.Inputs)
		}
	}
	for _, si := range p.inputs {
		s := &p.slots[si]
		t := inputs[s.name]
		if t == nil {
			return nil, fmt.Errorf("tosa/fast: missing graph input %q", s.name)
		}
		if t.Type != s.typ || !slices.Equal(t.Shape, s.shape) {
			return nil, fmt.Errorf("tosa/fast: input %q is %v %v, graph declares %v %v", s.name, t.Type, t.Shape, s.typ, s.shape)
		}
		v, err := t.Ints()
		if err != nil {
			return nil, fmt.Errorf("tosa/fast: input %q: %w", s.name, err)
		}
		b := makeBuf(s.kind, s.n)
		switch s.kind {
		case kI8:
			for i, x := range v {
				b.i8[i] = int8(x)
			}
		case kI32:
			for i, x := range v {
				b.i32[i] = int32(x)
			}
		default:
			b.i64 = v
		}
		st.bufs[si] = b
	}
	if err := p.exec(st, workers()); err != nil {
		return nil, err
	}
	out := make(map[string]*tosa.Tensor, len(p.outputs))
	for _, si := range p.outputs {
		s := &p.slots[si]
		t, err := p.tensorOf(st, si)
		if err != nil {
			return nil, fmt.Errorf("tosa/fast: output %q: %w", s.name, err)
		}
		out[s.name] = t
	}
	return out, nil
}

// tensorOf encodes a slot's current value as a fresh tosa.Tensor.
func (p *Program) tensorOf(st *state, si int) (*tosa.Tensor, error) {
	s := &p.slots[si]
	b := st.bufs[si]
	t := &tosa.Tensor{Name: s.name, Shape: slices.Clone(s.shape), Type: s.typ}
	switch s.kind {
	case kI8:
		t.Data = tosa.Int8Data(b.i8[:s.n])
	case kI32:
		t.Data = tosa.Int32Data(b.i32[:s.n])
	default:
		d, err := tosa.IntData(s.typ, b.i64[:s.n])
		if err != nil {
			return nil, err
		}
		t.Data = d
	}
	return t, nil
}

// RunInt8 runs a graph with one INT8 input and one INT8 output: in holds the input elements
// in row-major order and out receives the output elements. It allocates nothing per call once
// the program's state pool is warm.
func (p *Program) RunInt8(in []int8, out []int8) error {
	return p.RunInt8Workers(in, out, workers())
}

// RunInt8Workers is RunInt8 with kernels splitting their work over at most n goroutines (n = 1:
// the calling goroutine only, for callers that already run images in parallel).
func (p *Program) RunInt8Workers(in []int8, out []int8, n int) error {
	if len(p.inputs) != 1 || len(p.outputs) != 1 {
		return fmt.Errorf("tosa/fast: RunInt8 needs one input and one output, graph has %d and %d", len(p.inputs), len(p.outputs))
	}
	si, so := &p.slots[p.inputs[0]], &p.slots[p.outputs[0]]
	if si.typ != tosa.Int8 || so.typ != tosa.Int8 {
		return fmt.Errorf("tosa/fast: RunInt8 needs INT8 input and output, graph has %v and %v", si.typ, so.typ)
	}
	if len(in) != si.n || len(out) != so.n {
		return fmt.Errorf("tosa/fast: RunInt8: %d input and %d output elements, graph needs %d (%v) and %d (%v)", len(in), len(out), si.n, si.shape, so.n, so.shape)
	}
	st := p.pool.Get().(*state)
	defer p.pool.Put(st)
	st.bufs[p.inputs[0]] = buf{i8: in}
	err := p.exec(st, max(n, 1))
	if err == nil {
		copy(out, st.bufs[p.outputs[0]].i8[:so.n])
	}
	st.bufs[p.inputs[0]] = buf{}
	return err
}

// exec runs every step in graph order; kernels may split their work over n goroutines.
func (p *Program) exec(st *state, n int) error {
	for i := range st.scr {
		st.scr[i].workers = n
	}
	for _, s := range p.steps {
		if s.run != nil && s.run(st) {
			continue
		}
		if err := s.fb.run(p, st, s.index); err != nil {
			return err
		}
	}
	return nil
}

// ---------------------------------------------------------------------------------------------
// Fallback through tosa/ref

// fallback executes one operator with tosa/ref: a graph holding the operator, its constant
// operands (CONST / CONST_SHAPE, as in the full graph) and its other operands as inputs.
type fallback struct {
	g      *tosa.Graph
	inputs []int // slot indices of g.Inputs
	outs   []int // slot indices of the operator's outputs
}

func newFallback(p *Program, op *tosa.Operator) *fallback {
	fb := &fallback{g: &tosa.Graph{}}
	seen := map[string]bool{}
	var ops []*tosa.Operator
	for _, n := range op.Inputs {
		if seen[n] {
			continue
		}
		seen[n] = true
		t := p.g.Tensor(n)
		fb.g.Tensors = append(fb.g.Tensors, t)
		if _, prod := p.g.Producer(n); prod != nil && (prod.Op == tosa.OpConst || prod.Op == tosa.OpConstShape) {
			ops = append(ops, prod)
			continue
		}
		fb.g.Inputs = append(fb.g.Inputs, n)
		fb.inputs = append(fb.inputs, p.byName[n])
	}
	for _, n := range op.Outputs {
		if !seen[n] {
			seen[n] = true
			fb.g.Tensors = append(fb.g.Tensors, p.g.Tensor(n))
		}
		fb.outs = append(fb.outs, p.byName[n])
	}
	fb.g.Ops = append(ops, op)
	fb.g.Outputs = slices.Clone(op.Outputs)
	return fb
}

// value converts a slot's buffer to a ref.Value.
func (p *Program) value(st *state, si int) *ref.Value {
	s := &p.slots[si]
	b := st.bufs[si]
	v := &ref.Value{Shape: slices.Clone(s.shape), Type: s.typ, Data: make([]int64, s.n)}
	switch s.kind {
	case kI8:
		for i, x := range b.i8[:s.n] {
			v.Data[i] = int64(x)
		}
	case kI32:
		for i, x := range b.i32[:s.n] {
			v.Data[i] = int64(x)
		}
	default:
		copy(v.Data, b.i64[:s.n])
	}
	return v
}

func (fb *fallback) run(p *Program, st *state, index int) error {
	in := make(map[string]*ref.Value, len(fb.inputs))
	for _, si := range fb.inputs {
		in[p.slots[si].name] = p.value(st, si)
	}
	out, err := ref.RunValues(fb.g, in)
	if err != nil {
		var oe *ref.OpError
		if errors.As(err, &oe) {
			e := *oe
			e.Index = index
			return &e
		}
		return fmt.Errorf("tosa/fast: op %d %v: %w", index, fb.g.Ops[len(fb.g.Ops)-1].Op, err)
	}
	for _, si := range fb.outs {
		s := &p.slots[si]
		v := out[s.name]
		if v == nil || len(v.Data) != s.n {
			return fmt.Errorf("tosa/fast: op %d: reference produced no value for %q", index, s.name)
		}
		b := st.bufs[si]
		switch s.kind {
		case kI8:
			if len(b.i8) < s.n {
				b.i8 = make([]int8, s.n)
			}
			for i, x := range v.Data {
				b.i8[i] = int8(x)
			}
		case kI32:
			if len(b.i32) < s.n {
				b.i32 = make([]int32, s.n)
			}
			for i, x := range v.Data {
				b.i32[i] = int32(x)
			}
		default:
			b.i64 = v.Data
		}
		st.bufs[si] = b
	}
	return nil
}

// workers is the number of goroutines a kernel may split work over.
func workers() int { return runtime.GOMAXPROCS(0) }
