package graph

import (
	"fmt"
	"math"

	"github.com/vgfq/vgfq/engine"
)

// FoldBatchNorm returns a copy of g in which every eval-mode BatchNorm2d that directly follows a
// Conv2d (the conv's only consumer) is folded into the conv's weight and bias, as PT2E's
// prepare_pt2e does before quantization:
//
//	w' = w * gamma / sqrt(var + eps)        (per output channel)
//	b' = (b - mean) * gamma / sqrt(var + eps) + beta
//
// computed in float64 and rounded once. It returns the number of folded nodes. A BatchNorm2d
// that cannot be folded stays (and lowering will report it).
func FoldBatchNorm(g *Graph) (*Graph, int, error) {
	out := g.Clone()
	cons := out.Consumers()
	folded := 0
	var keep []*Node
	rename := map[string]string{} // removed BN node -> conv node
	for _, n := range out.Nodes {
		for i, in := range n.Inputs {
			if r, ok := rename[in]; ok {
				n.Inputs[i] = r
			}
		}
		if n.Op == OpBatchNorm2d {
			conv := out.Node(n.Inputs[0])
			if conv != nil && conv.Op == OpConv2d && len(cons[conv.Name]) == 1 && !isOutput(out, conv.Name) {
				if err := foldInto(out, conv, n); err != nil {
					return nil, 0, &NodeError{Node: n.Name, Op: n.Op, Err: err}
				}
				rename[n.Name] = conv.Name
				folded++
				continue
			}
		}
		keep = append(keep, n)
	}
	out.Nodes = keep
	for i, o := range out.Outputs {
		if r, ok := rename[o]; ok {
			out.Outputs[i] = r
		}
	}
	// Drop parameters no node uses any more.
	used := map[string]bool{}
	for _, n := range out.Nodes {
		for _, p := range n.Params {
			used[p] = true
		}
	}
	for p := range out.Params {
		if !used[p] {
			delete(out.Params, p)
		}
	}
	if err := out.InferShapes(); err != nil {
		return nil, 0, err
	}
	return out, folded, nil
}

func isOutput(g *Graph, name string) bool {
	for _, o := range g.Outputs {
		if o == name {
			return true
		}
	}
	return false
}

func foldInto(g *Graph, conv, bn *Node) error {
	w := g.Params[conv.Params["weight"]]
	mean, vr := g.Params[bn.Params["running_mean"]], g.Params[bn.Params["running_var"]]
	oc := w.Shape[0]
	per := len(w.Data) / oc
	var bias *engine.Tensor
	if bname, ok := conv.Params["bias"]; ok {
		bias = g.Params[bname]
	} else {
		bias = engine.New(oc)
		name := conv.Name + ".bias"
		for g.Params[name] != nil {
			name += "_"
		}
		g.Params[name] = bias
		conv.Params["bias"] = name
	}
	for c := 0; c < oc; c++ {
		gamma, beta := 1.0, 0.0
		if t := g.Params[bn.Params["weight"]]; t != nil {
			gamma = float64(t.Data[c])
		}
		if t := g.Params[bn.Params["bias"]]; t != nil {
			beta = float64(t.Data[c])
		}
		v := float64(vr.Data[c]) + float64(bn.Attrs.Eps)
		if !(v > 0) {
			return fmt.Errorf("running_var[%d] + eps = %v is not positive", c, v)
		}
		k := gamma / math.Sqrt(v)
		for i := c * per; i < (c+1)*per; i++ {
			w.Data[i] = float32(float64(w.Data[i]) * k)
		}
		bias.Data[c] = float32((float64(bias.Data[c])-float64(mean.Data[c]))*k + beta)
	}
	return nil
}
