package quant

import (
	"fmt"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
)

// BiasCorrection records what CorrectBias changed in one convolution.
type BiasCorrection struct {
	Node string `json:"node"`
	// Shift is E[float output] - E[quantized output] per output channel, measured before the
	// correction (the amount added to the bias), in real units.
	Shift []float32 `json:"shift"`
	// MeanAbsShift is the mean of |Shift| over channels.
	MeanAbsShift float64 `json:"mean_abs_shift"`
}

// CorrectBias is empirical bias correction (Nagel et al. 2019, §4.2, the empirical variant as
// AIMET's): for every convolution in graph order, it runs the calibration images through the
// float model and through the fake-quantized model (with the corrections of the earlier
// convolutions already applied), measures the per-channel mean of the convolution's output
// before its activation in both, and adds the difference to the int32 bias (re-quantized with the
// unchanged bias scales). The expected output of each quantized convolution then equals the
// float one on the calibration data. Convolutions without a bias are left alone (reported by
// skipped). Activation qparams are not recalibrated.
func (m *Model) CorrectBias(images []*engine.Tensor) (done []BiasCorrection, skipped []string, err error) {
	batches, err := StackImages(images, 32)
	if err != nil {
		return nil, nil, err
	}
	var convs []*graph.Node
	for _, n := range m.Graph.Nodes {
		if m.Convs[n.Name] == nil {
			continue
		}
		if _, ok := n.Params["bias"]; !ok || m.Convs[n.Name].Bias == nil {
			skipped = append(skipped, n.Name)
			continue
		}
		convs = append(convs, n)
	}
	if len(convs) == 0 {
		return nil, skipped, nil
	}
	// Float per-channel means of every convolution output, in one pass.
	names := map[string]bool{}
	for _, n := range convs {
		names[n.Name] = true
	}
	fmeans, err := channelMeans(graph.NewExec(m.Graph, false), batches, names, nil)
	if err != nil {
		return nil, nil, err
	}
	for _, n := range convs {
		cq := m.Convs[n.Name]
		g := m.FakeQuantGraph()
		hook := func(nd *graph.Node, out *engine.Var) *engine.Var {
			q, ok := m.QParamOf(nd.Name)
			if !ok {
				return out
			}
			return engine.Const(engine.FromData(FakeQuantTensor(nil, out.Val.Data, q.Scale, q.ZP, q.QMin(), q.QMax(), nil), out.Val.Shape...))
		}
		qmeans, err := channelMeans(graph.NewExec(g, false), batches, map[string]bool{n.Name: true}, hook)
		if err != nil {
			return nil, nil, err
		}
		fm, qm := fmeans[n.Name], qmeans[n.Name]
		inQ, ok := m.QParamOf(n.Inputs[0])
		if !ok {
			return nil, nil, fmt.Errorf("bias correction: node %q: input has no qparams", n.Name)
		}
		b := make([]float32, len(cq.Bias))
		bc := BiasCorrection{Node: n.Name, Shift: make([]float32, len(cq.Bias))}
		for c := range b {
			shift := fm[c] - qm[c]
			bc.Shift[c] = float32(shift)
			bc.MeanAbsShift += abs64(shift) / float64(len(b))
			b[c] = float32(float64(cq.Bias[c])*float64(cq.BiasScales[c]) + shift)
		}
		qb, _, err := QuantizeBias(b, inQ.Scale, cq.WeightScales)
		if err != nil {
			return nil, nil, fmt.Errorf("bias correction: node %q: %v", n.Name, err)
		}
		cq.Bias = qb
		done = append(done, bc)
	}
	return done, skipped, nil
}

func abs64(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// channelMeans runs batches through ex and returns, for each node in names, the per-channel mean
// (over batch and space) of its output as the graph computes it, before hook replaces it.
func channelMeans(ex *graph.Exec, batches []*engine.Tensor, names map[string]bool, hook graph.Hook) (map[string][]float64, error) {
	sums := map[string][]float64{}
	counts := map[string]int{}
	in := ex.G.Inputs()[0].Name
	for _, x := range batches {
		if _, err := ex.Run(map[string]*engine.Var{in: engine.Const(x)}, func(n *graph.Node, out *engine.Var) *engine.Var {
			if names[n.Name] {
				s := out.Val.Shape
				c, hw := s[1], s[2]*s[3]
				if sums[n.Name] == nil {
					sums[n.Name] = make([]float64, c)
				}
				acc := sums[n.Name]
				for i, v := range out.Val.Data {
					acc[(i/hw)%c] += float64(v)
				}
				counts[n.Name] += s[0] * hw
			}
			if hook != nil {
				return hook(n, out)
			}
			return out
		}); err != nil {
			return nil, err
		}
	}
	for k, s := range sums {
		for c := range s {
			s[c] /= float64(counts[k])
		}
	}
	return sums, nil
}
