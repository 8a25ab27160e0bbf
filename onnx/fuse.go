package onnx

import (
	"fmt"
	"math"
	"slices"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/quant"
)

// fusions rewrite multi-node patterns PyTorch's exporter emits into the one graph op they
// compute, so that they lower as one TOSA operator (and quantize once, as ExecuTorch does):
//
//	x * HardSigmoid(x; 1/6, 0.5)                        -> HardSwish(x)   (F.hardswish, opset < 14)
//	x * (Erf(x / sqrt 2) + 1) * 0.5                     -> GELU(x)        (F.gelu)
//	Reshape [N,C,h,r,w,r] -> Transpose [0,1,3,5,2,4] -> Reshape [N,C*r*r,h,w]  -> PixelUnshuffle(r)
//	Reshape [N,C,r,r,H,W] -> Transpose [0,1,4,2,5,3] -> Reshape [N,C,H*r,W*r]  -> PixelShuffle(r)
//
// The removed nodes are recorded in into (removed graph node -> the node that replaced it).
func (im *importer) fuse() {
	g := im.g
	into := im.m.FusedInto
	for changed := true; changed; {
		changed = false
		cons := g.Consumers()
		only := func(name string) bool { return len(cons[name]) == 1 && !slices.Contains(g.Outputs, name) }
		constVal := func(name string) (float32, bool) {
			n := g.Node(name)
			if n == nil || n.Op != graph.OpConst {
				return 0, false
			}
			t := g.Params[n.Params["value"]]
			if t == nil || t.Len() != 1 {
				return 0, false
			}
			return t.Data[0], true
		}
		// other returns the operand of a two-input node that is not name, and whether name is one.
		other := func(n *graph.Node, name string) (string, bool) {
			if len(n.Inputs) != 2 {
				return "", false
			}
			if n.Inputs[0] == name {
				return n.Inputs[1], true
			}
			if n.Inputs[1] == name {
				return n.Inputs[0], true
			}
			return "", false
		}
		near := func(v float32, want float64) bool {
			return math.Abs(float64(v)-want) <= 1e-6*math.Max(1, math.Abs(want))
		}
		replace := func(n *graph.Node, op graph.Op, in string, a graph.Attrs, removed ...string) {
			n.Op, n.Inputs, n.Attrs, n.Params = op, []string{in}, a, nil
			for _, r := range removed {
				into[r] = n.Name
			}
			changed = true
		}
		for _, n := range g.Nodes {
			switch n.Op {
			case graph.OpMul:
				// GELU: n = Mul(m, 0.5); m = Mul(x, a); a = Add(e, 1); e = Erf(d); d = Mul(x, 1/sqrt2).
				for _, half := range n.Inputs {
					if v, ok := constVal(half); !ok || !near(v, 0.5) {
						continue
					}
					mName, _ := other(n, half)
					m := g.Node(mName)
					if m == nil || m.Op != graph.OpMul || !only(mName) {
						continue
					}
					for _, aName := range m.Inputs {
						a := g.Node(aName)
						x, _ := other(m, aName)
						if a == nil || a.Op != graph.OpAdd || !only(aName) {
							continue
						}
						var e *graph.Node
						for _, eName := range a.Inputs {
							one, _ := other(a, eName)
							if v, ok := constVal(one); ok && near(v, 1) {
								e = g.Node(eName)
							}
						}
						if e == nil || e.Op != graph.OpErf || !only(e.Name) {
							continue
						}
						d := g.Node(e.Inputs[0])
						if d == nil || d.Op != graph.OpMul || !only(d.Name) {
							continue
						}
						c, isX := other(d, x)
						if v, ok := constVal(c); !isX || !ok || !near(v, 1/math.Sqrt2) {
							continue
						}
						replace(n, graph.OpGELU, x, graph.Attrs{}, m.Name, a.Name, e.Name, d.Name)
						break
					}
					break
				}
				// HardSwish: n = Mul(x, h); h = HardSigmoid(x; 1/6, 0.5).
				if n.Op == graph.OpMul {
					for _, hName := range n.Inputs {
						h := g.Node(hName)
						x, _ := other(n, hName)
						if h == nil || h.Op != graph.OpHardSigmoid || h.Inputs[0] != x || !only(hName) ||
							!near(h.Attrs.Alpha, 1.0/6) || h.Attrs.Beta != 0.5 {
							continue
						}
						replace(n, graph.OpHardSwish, x, graph.Attrs{}, hName)
						break
					}
				}
			case graph.OpReshape:
				// n = Reshape(t), t = Transpose(r1), r1 = Reshape(x) (6-D).
				t := g.Node(n.Inputs[0])
				if t == nil || t.Op != graph.OpTranspose || !only(t.Name) {
					continue
				}
				r1 := g.Node(t.Inputs[0])
				if r1 == nil || r1.Op != graph.OpReshape || !only(r1.Name) || len(r1.Shape) != 6 {
					continue
				}
				x := g.Node(r1.Inputs[0])
				xs, s6, out := x.Shape, r1.Shape, n.Shape
				if len(xs) != 4 || len(out) != 4 {
					continue
				}
				N, C, H, W := xs[0], xs[1], xs[2], xs[3]
				switch {
				case slices.Equal(t.Attrs.Perm, []int{0, 1, 3, 5, 2, 4}) && s6[3] == s6[5] && s6[3] > 1 &&
					slices.Equal(s6, []int{N, C, H / s6[3], s6[3], W / s6[3], s6[3]}) && H%s6[3] == 0 && W%s6[3] == 0 &&
					slices.Equal(out, []int{N, C * s6[3] * s6[3], H / s6[3], W / s6[3]}):
					replace(n, graph.OpPixelUnshuffle, x.Name, graph.Attrs{Factor: s6[3]}, t.Name, r1.Name)
				case slices.Equal(t.Attrs.Perm, []int{0, 1, 4, 2, 5, 3}) && s6[2] == s6[3] && s6[2] > 1 &&
					slices.Equal(s6, []int{N, C / (s6[2] * s6[2]), s6[2], s6[2], H, W}) && C%(s6[2]*s6[2]) == 0 &&
					slices.Equal(out, []int{N, C / (s6[2] * s6[2]), H * s6[2], W * s6[2]}):
					replace(n, graph.OpPixelShuffle, x.Name, graph.Attrs{Factor: s6[2]}, t.Name, r1.Name)
				}
			}
			if changed {
				break
			}
		}
		if changed {
			pruneUnused(g)
		}
	}
}

// foldAffine folds per-output-channel affine ops that follow a convolution into it:
// Mul/Div by a constant (per channel or scalar), Add/Sub of a constant, and a per-channel
// depthwise 1x1 convolution (a BatchNormalization that followed no conv at import). PyTorch's
// QAT Conv+BN modules export exactly this chain (Conv -> Div(scale) -> Add(bias) ->
// BatchNormalization). For a QDQ conv the per-channel factor goes into the weight scale, so the
// int8 weights stay exactly the model's (a factor must then be positive).
func (im *importer) foldAffine() error {
	g := im.g
	for changed := true; changed; {
		changed = false
		cons := g.Consumers()
		for _, n := range g.Nodes {
			var conv *graph.Node
			var scale, shift []float64 // per channel: y = conv * scale + shift
			operand := func() (*graph.Node, *graph.Node) {
				if len(n.Inputs) != 2 {
					return nil, nil
				}
				a, b := g.Node(n.Inputs[0]), g.Node(n.Inputs[1])
				if a != nil && a.Op == graph.OpConv2d && b != nil && b.Op == graph.OpConst {
					return a, b
				}
				if n.Op != graph.OpSub && b != nil && b.Op == graph.OpConv2d && a != nil && a.Op == graph.OpConst {
					return b, a
				}
				return nil, nil
			}
			switch n.Op {
			case graph.OpMul, graph.OpAdd, graph.OpSub:
				c, k := operand()
				if c == nil {
					continue
				}
				vals, ok := perChannel(g.Params[k.Params["value"]], c.Shape[1])
				if !ok {
					continue
				}
				conv = c
				scale, shift = make([]float64, len(vals)), make([]float64, len(vals))
				for i, v := range vals {
					switch n.Op {
					case graph.OpMul:
						scale[i] = float64(v)
					case graph.OpAdd:
						scale[i], shift[i] = 1, float64(v)
					case graph.OpSub:
						scale[i], shift[i] = 1, -float64(v)
					}
				}
			case graph.OpConv2d:
				// A depthwise 1x1 (from BatchNormalization) after a conv.
				p := g.Node(n.Inputs[0])
				w := g.Params[n.Params["weight"]]
				if p == nil || p.Op != graph.OpConv2d || w == nil || len(w.Shape) != 4 || w.Shape[1] != 1 || w.Shape[2] != 1 || w.Shape[3] != 1 ||
					n.Attrs.Groups != w.Shape[0] || w.Shape[0] != p.Shape[1] || !unitConv(n) || im.qdq != nil && im.qdq.Convs[n.Name] != nil {
					continue
				}
				conv = p
				scale, shift = make([]float64, w.Shape[0]), make([]float64, w.Shape[0])
				var b []float32
				if bn, ok := n.Params["bias"]; ok {
					b = g.Params[bn].Data
				}
				for i := range scale {
					scale[i] = float64(w.Data[i])
					if b != nil {
						shift[i] = float64(b[i])
					}
				}
			default:
				continue
			}
			if len(cons[conv.Name]) != 1 || slices.Contains(g.Outputs, conv.Name) {
				continue
			}
			if im.qdq != nil {
				// A QDQ model that quantizes the conv's output before the affine op computes
				// two roundings; keep them (exactness), fold only unquantized chains (QAT Conv+BN).
				if _, quantized := im.qdq.Act[conv.Name]; quantized {
					continue
				}
			}
			if err := im.scaleConv(conv, scale, shift); err != nil {
				return err
			}
			// n now computes nothing new: conv takes its place (and its name for later readers).
			into := n.Name
			for _, m := range g.Nodes {
				for i, in := range m.Inputs {
					if in == into {
						m.Inputs[i] = conv.Name
					}
				}
			}
			for i, o := range g.Outputs {
				if o == into {
					g.Outputs[i] = conv.Name
				}
			}
			im.m.FusedInto[into] = conv.Name
			if im.qdq != nil {
				if qp, ok := im.qdq.Act[into]; ok {
					im.qdq.Act[conv.Name] = qp
				}
			}
			n.Inputs = nil // dead: pruned below
			n.Op = graph.OpConst
			n.Params = map[string]string{"value": ""}
			changed = true
			break
		}
		if changed {
			var keep []*graph.Node
			for _, n := range g.Nodes {
				if !(n.Op == graph.OpConst && n.Params["value"] == "") {
					keep = append(keep, n)
				}
			}
			g.Nodes = keep
			pruneUnused(g)
		}
	}
	return nil
}

func unitConv(n *graph.Node) bool {
	o, err := n.ConvOpts()
	return err == nil && o.Stride == [2]int{1, 1} && o.Padding == [2]int{0, 0} && o.Dilation == [2]int{1, 1}
}

// perChannel returns a constant's values per channel when it is one value or one per channel
// along axis 1 ([1,C,1,1]).
func perChannel(t *engine.Tensor, c int) ([]float32, bool) {
	if t == nil {
		return nil, false
	}
	if t.Len() == 1 {
		out := make([]float32, c)
		for i := range out {
			out[i] = t.Data[0]
		}
		return out, true
	}
	if len(t.Shape) == 4 && t.Shape[0] == 1 && t.Shape[1] == c && t.Shape[2] == 1 && t.Shape[3] == 1 {
		return t.Data, true
	}
	return nil, false
}

// scaleConv makes conv compute conv*scale[c] + shift[c].
func (im *importer) scaleConv(conv *graph.Node, scale, shift []float64) error {
	g := im.g
	w := g.Params[conv.Params["weight"]]
	oc := w.Shape[0]
	per := w.Len() / oc
	var cq *quant.ConvQ
	if im.qdq != nil {
		cq = im.qdq.Convs[conv.Name]
	}
	for c := 0; c < oc; c++ {
		if cq != nil {
			if !(scale[c] > 0) {
				r := im.m.Origin[conv.Name]
				return &Error{Node: r.Name, Op: r.Op, Err: fmt.Errorf("the factor %v that follows it in channel %d is not positive, so its int8 weights cannot absorb it exactly; export with positive BatchNorm weights", scale[c], c)}
			}
			cq.WeightScales[c] = float32(float64(cq.WeightScales[c]) * scale[c])
			for i := c * per; i < (c+1)*per; i++ {
				w.Data[i] = float32(cq.Weight[i]) * cq.WeightScales[c]
			}
		} else {
			for i := c * per; i < (c+1)*per; i++ {
				w.Data[i] = float32(float64(w.Data[i]) * scale[c])
			}
		}
	}
	bn, ok := conv.Params["bias"]
	if !ok {
		bn = im.unique(conv.Name + ".bias")
		g.Params[bn] = engine.New(oc)
		conv.Params["bias"] = bn
	}
	b := g.Params[bn]
	for c := 0; c < oc; c++ {
		b.Data[c] = float32(float64(b.Data[c])*scale[c] + shift[c])
	}
	if im.qdq != nil {
		delete(im.qdq.bias, conv.Name) // an int32 bias no longer holds: requantize the float one
	}
	return nil
}

// cancelReshapes simplifies reshape chains: an element-wise unary op after a Reshape moves
// before it (it commutes with any reshape), consecutive Reshapes become one, and a Reshape to
// the shape it already has disappears. Flatten -> Linear -> view(N, C, 1, 1) (squeeze-excite
// with nn.Linear) thereby becomes 4-D convolutions only.
func (im *importer) cancelReshapes() {
	g := im.g
	elementwise := func(op graph.Op) bool {
		switch op {
		case graph.OpReLU, graph.OpLeakyReLU, graph.OpSigmoid, graph.OpTanh, graph.OpHardSigmoid, graph.OpHardSwish,
			graph.OpGELU, graph.OpErf, graph.OpClamp, graph.OpHardtanh:
			return true
		}
		return false
	}
	for changed := true; changed; {
		changed = false
		cons := g.Consumers()
		single := func(name string) bool { return len(cons[name]) == 1 && !slices.Contains(g.Outputs, name) }
		for i, n := range g.Nodes {
			if len(n.Inputs) != 1 {
				continue
			}
			p := g.Node(n.Inputs[0])
			if p == nil || p.Op != graph.OpReshape || !single(p.Name) {
				continue
			}
			switch {
			case elementwise(n.Op):
				// p = Reshape(x); n = U(p)  ->  u = U(x); n = Reshape(u), keeping n's name as
				// the output value: swap the two nodes' roles.
				x := p.Inputs[0]
				xs := g.Node(x).Shape
				target := batchCopy(n.Shape, xs)
				p.Op, p.Attrs, p.Inputs = n.Op, n.Attrs, []string{x}
				p.Shape = append([]int(nil), xs...)
				n.Op, n.Attrs, n.Inputs = graph.OpReshape, graph.Attrs{Shape: target}, []string{p.Name}
				changed = true
			case n.Op == graph.OpReshape:
				// Reshape(Reshape(x)) -> Reshape(x).
				n.Inputs = []string{p.Inputs[0]}
				n.Attrs.Shape = batchCopy(n.Shape, g.Node(p.Inputs[0]).Shape)
				changed = true
			}
			if changed {
				_ = i
				break
			}
		}
		if !changed {
			// Identity reshapes.
			for _, n := range g.Nodes {
				if n.Op != graph.OpReshape {
					continue
				}
				in := g.Node(n.Inputs[0])
				if in == nil || !slices.Equal(in.Shape, n.Shape) {
					continue
				}
				for _, m := range g.Nodes {
					for k, v := range m.Inputs {
						if v == n.Name {
							m.Inputs[k] = in.Name
						}
					}
				}
				if slices.Contains(g.Outputs, n.Name) {
					continue // keep the output's name
				}
				im.m.FusedInto[n.Name] = in.Name
				n.Inputs = nil
				changed = true
				break
			}
		}
		if changed {
			pruneUnused(g)
		}
	}
}

// batchCopy returns a Reshape target for shape that copies the batch (0) when it stays the
// input's first dimension, so the reshape works at any batch size.
func batchCopy(shape, in []int) []int {
	t := append([]int(nil), shape...)
	if len(t) > 0 && len(in) > 0 && t[0] == in[0] {
		t[0] = 0
	}
	return t
}
