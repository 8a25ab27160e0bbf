package quant

import (
	"fmt"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
)

// Selection chooses what a partially fake-quantized model quantizes: the weights (and int32 bias)
// of the convolutions named in Weights and the activation groups (Plan.Groups indices) in Acts.
// Everything else stays float.
type Selection struct {
	Weights map[string]bool
	Acts    map[int]bool
}

// All selects every convolution's weights and every activation group of m (the full fake-quant
// model).
func (m *Model) All() Selection {
	s := Selection{Weights: map[string]bool{}, Acts: map[int]bool{}}
	for name := range m.Convs {
		s.Weights[name] = true
	}
	for i := range m.Act {
		s.Acts[i] = true
	}
	return s
}

// PartialFakeQuantGraph is FakeQuantGraph restricted to the convolutions in weights.
func (m *Model) PartialFakeQuantGraph(weights map[string]bool) *graph.Graph {
	g := m.Graph.Clone()
	for name, cq := range m.Convs {
		if !weights[name] {
			continue
		}
		n := g.Node(name)
		w := g.Params[n.Params["weight"]]
		_, ch, inner, _ := channelLayout(len(w.Data), w.Shape, cq.Axis)
		for i := range w.Data {
			c := (i / inner) % ch
			w.Data[i] = float32(cq.Weight[i]) * cq.WeightScales[c]
		}
		if bn, ok := n.Params["bias"]; ok && cq.Bias != nil {
			b := g.Params[bn]
			for c := range b.Data {
				b.Data[c] = float32(cq.Bias[c]) * cq.BiasScales[c]
			}
		}
	}
	return g
}

// PartialPredictor runs the model with only sel quantized (fake-quant: dequantized weights,
// quantize/dequantize of the selected activation groups). With m.All() it computes what
// FakeQuantPredictor computes.
func (m *Model) PartialPredictor(sel Selection) func(x *engine.Tensor) (*engine.Tensor, error) {
	g := m.PartialFakeQuantGraph(sel.Weights)
	ex := graph.NewExec(g, false)
	hook := func(n *graph.Node, out *engine.Var) *engine.Var {
		id, ok := m.Plan.Group[n.Name]
		if !ok || !sel.Acts[id] {
			return out
		}
		q := m.Act[id]
		y := FakeQuantTensor(nil, out.Val.Data, q.Scale, q.ZP, q.QMin(), q.QMax(), nil)
		return engine.Const(engine.FromData(y, out.Val.Shape...))
	}
	in := g.Inputs()[0].Name
	return func(x *engine.Tensor) (*engine.Tensor, error) {
		outs, err := ex.Run(map[string]*engine.Var{in: engine.Const(x)}, hook)
		if err != nil {
			return nil, err
		}
		return outs[0].Val, nil
	}
}

// StackImages concatenates images (each N x C x H x W, equal C, H, W) into batches of at most
// batch images, in order.
func StackImages(images []*engine.Tensor, batch int) ([]*engine.Tensor, error) {
	if len(images) == 0 {
		return nil, fmt.Errorf("no calibration images")
	}
	s := images[0].Shape
	if len(s) != 4 {
		return nil, fmt.Errorf("calibration image is %v, want N x C x H x W", s)
	}
	per := s[1] * s[2] * s[3]
	var out []*engine.Tensor
	var cur []float32
	n := 0
	flush := func() {
		if n > 0 {
			out = append(out, engine.FromData(cur, n, s[1], s[2], s[3]))
			cur, n = nil, 0
		}
	}
	for _, t := range images {
		if len(t.Shape) != 4 || t.Shape[1] != s[1] || t.Shape[2] != s[2] || t.Shape[3] != s[3] {
			return nil, fmt.Errorf("calibration images differ in shape: %v and %v", s, t.Shape)
		}
		for b := 0; b < t.Shape[0]; b++ {
			cur = append(cur, t.Data[b*per:(b+1)*per]...)
			n++
			if n == batch {
				flush()
			}
		}
	}
	flush()
	return out, nil
}
