package quant

import (
	"errors"
	"fmt"
	"math"

	"github.com/vgfq/vgfq/graph"
)

// CLEPair is a pair of consecutive convolutions that cross-layer equalization rescales: First's
// output channel i feeds, through an optional ReLU (Act), Second's input channel i.
type CLEPair struct {
	First  string    `json:"first"`
	Act    string    `json:"act,omitempty"`
	Second string    `json:"second"`
	Scales []float32 `json:"scales"` // the product of the per-channel factors applied over all passes
}

// CLEReport describes what EqualizeCrossLayer did.
type CLEReport struct {
	Pairs  []CLEPair `json:"pairs"`
	Passes int       `json:"passes"`
}

// ErrNoCLEPairs is returned when a graph has no pair of convolutions CLE can rescale.
var ErrNoCLEPairs = errors.New("no pair of consecutive convolutions (Conv2d -> [ReLU] -> Conv2d, groups 1, single consumer)")

// FindCLEPairs lists the pairs of g that cross-layer equalization applies to, in graph order: a
// Conv2d (groups 1, with a bias or none) whose only consumer is a ReLU whose only consumer is a
// Conv2d (groups 1), or a Conv2d feeding a Conv2d directly. Neither intermediate value may be a
// graph output. ReLU is positively homogeneous (relu(s·x) = s·relu(x) for s > 0), which is what
// makes the rescaling exact; clamps with an upper bound (ReLU6) are not.
func FindCLEPairs(g *graph.Graph) []CLEPair {
	cons := g.Consumers()
	outputs := map[string]bool{}
	for _, o := range g.Outputs {
		outputs[o] = true
	}
	plain := func(n *graph.Node) bool {
		return n != nil && n.Op == graph.OpConv2d && max(n.Attrs.Groups, 1) == 1 && n.Params["weight"] != ""
	}
	var pairs []CLEPair
	for _, n := range g.Nodes {
		if !plain(n) || outputs[n.Name] || len(cons[n.Name]) != 1 {
			continue
		}
		next, act := cons[n.Name][0], ""
		if next.Op == graph.OpReLU {
			if outputs[next.Name] || len(cons[next.Name]) != 1 {
				continue
			}
			act, next = next.Name, cons[next.Name][0]
		}
		feed := n.Name
		if act != "" {
			feed = act
		}
		if plain(next) && len(next.Inputs) == 1 && next.Inputs[0] == feed {
			pairs = append(pairs, CLEPair{First: n.Name, Act: act, Second: next.Name})
		}
	}
	return pairs
}

// EqualizeCrossLayer is cross-layer equalization (Nagel et al. 2019, "Data-Free Quantization
// Through Weight Equalization and Bias Correction", §4.1) on a copy of g. For each pair, with
// r1[i] the largest |weight| of First's output channel i and r2[i] the largest |weight| of
// Second's input channel i, it divides First's output channel i (weights and bias) by
// s[i] = sqrt(r1[i]/r2[i]) and multiplies Second's input channel i by s[i], which leaves the
// float function unchanged and gives both channels the range sqrt(r1·r2). Chains (conv → conv →
// conv) are equalized pair by pair in graph order, repeatedly, until no factor differs from 1 by
// more than 1e-6 or after 100 passes (the paper iterates to convergence). Channels with r1 = 0 or
// r2 = 0 are left alone (s = 1). It returns ErrNoCLEPairs (wrapped, naming the graph) when no
// pair applies.
func EqualizeCrossLayer(g *graph.Graph) (*graph.Graph, *CLEReport, error) {
	pairs := FindCLEPairs(g)
	if len(pairs) == 0 {
		return nil, nil, fmt.Errorf("graph %q: %w", g.Name, ErrNoCLEPairs)
	}
	out := g.Clone()
	total := make([][]float64, len(pairs))
	rep := &CLEReport{}
	for rep.Passes < 100 {
		rep.Passes++
		worst := 0.0
		for k, p := range pairs {
			a, b := out.Node(p.First), out.Node(p.Second)
			w1, w2 := out.Params[a.Params["weight"]], out.Params[b.Params["weight"]]
			var b1 []float32
			if bn, ok := a.Params["bias"]; ok {
				b1 = out.Params[bn].Data
			}
			s, err := CLEScales(w1.Data, w1.Shape, w2.Data, w2.Shape)
			if err != nil {
				return nil, nil, fmt.Errorf("CLE %s -> %s: %v", p.First, p.Second, err)
			}
			ApplyCLEScales(w1.Data, w1.Shape, b1, w2.Data, w2.Shape, s)
			if total[k] == nil {
				total[k] = make([]float64, len(s))
				for i := range total[k] {
					total[k][i] = 1
				}
			}
			for i, v := range s {
				total[k][i] *= v
				worst = math.Max(worst, math.Abs(v-1))
			}
		}
		if worst <= 1e-6 {
			break
		}
	}
	for k := range pairs {
		pairs[k].Scales = make([]float32, len(total[k]))
		for i, v := range total[k] {
			pairs[k].Scales[i] = float32(v)
		}
	}
	rep.Pairs = pairs
	return out, rep, nil
}

// CLEScales returns s[i] = sqrt(r1[i]/r2[i]) for first weights w1 (O1 x I1 x KH x KW) and second
// weights w2 (O2 x O1 x KH x KW), with r1[i] = max|w1[i,:,:,:]| and r2[i] = max|w2[:,i,:,:]|
// (1 where either range is 0).
func CLEScales(w1 []float32, s1 []int, w2 []float32, s2 []int) ([]float64, error) {
	if len(s1) != 4 || len(s2) != 4 || s2[1] != s1[0] {
		return nil, fmt.Errorf("weights %v and %v are not consecutive convolutions", s1, s2)
	}
	c := s1[0]
	r1, r2 := make([]float64, c), make([]float64, c)
	in1 := s1[1] * s1[2] * s1[3]
	for i := range w1 {
		r1[i/in1] = math.Max(r1[i/in1], math.Abs(float64(w1[i])))
	}
	k2 := s2[2] * s2[3]
	for i := range w2 {
		ch := (i / k2) % c
		r2[ch] = math.Max(r2[ch], math.Abs(float64(w2[i])))
	}
	s := make([]float64, c)
	for i := range s {
		s[i] = 1
		if r1[i] > 0 && r2[i] > 0 {
			s[i] = math.Sqrt(r1[i] / r2[i])
		}
	}
	return s, nil
}

// ApplyCLEScales divides w1's output channel i and b1[i] (b1 may be nil) by s[i] and multiplies
// w2's input channel i by s[i], in place.
func ApplyCLEScales(w1 []float32, s1 []int, b1 []float32, w2 []float32, s2 []int, s []float64) {
	in1 := s1[1] * s1[2] * s1[3]
	for i := range w1 {
		w1[i] = float32(float64(w1[i]) / s[i/in1])
	}
	for i := range b1 {
		b1[i] = float32(float64(b1[i]) / s[i])
	}
	k2 := s2[2] * s2[3]
	for i := range w2 {
		w2[i] = float32(float64(w2[i]) * s[(i/k2)%s1[0]])
	}
}
