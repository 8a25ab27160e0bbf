package onnx

import (
	"math"
	"slices"

	"github.com/vgfq/vgfq/graph"
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
