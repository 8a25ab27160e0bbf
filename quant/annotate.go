package quant

import (
	"fmt"
	"sort"
	"strings"

	"github.com/vgfq/vgfq/graph"
)

// Plan is the result of annotating a float graph for the TOSA INT quantizer (ExecuTorch's
// TOSAQuantizer with get_symmetric_quantization_config, quant-numerics.md §2): which values are
// quantized with which shared observer, which activations fuse into their convolution, and which
// nodes stay float.
type Plan struct {
	Graph *graph.Graph
	// Group maps a value (node name) to its observer group; values of one group share one
	// observer and so one (scale, zero point). Values absent from Group are not quantized on
	// their own: the int32 output of a conv whose activation is fused.
	Group map[string]int
	// Groups lists each group's values in graph order.
	Groups [][]string
	// Fused maps a conv node to the activation node (ReLU, Hardtanh, Clamp) fused into it.
	Fused map[string]string
	// FusedInto is the inverse of Fused.
	FusedInto map[string]string
	// Float lists nodes kept in float by request (partial quantization).
	Float map[string]bool
}

// Options configures annotation.
type Options struct {
	// KeepFloat names nodes to leave unquantized. Such a graph cannot lower to an INT-only TOSA
	// graph; Annotate reports it in Plan.Float and the lowering refuses it with a clear error.
	KeepFloat []string
	// Split names values that get their own observer group even where their op would share
	// its input's (pooling, resize, concat, ...): a QDQ model may prescribe other qparams for
	// them, and the lowering then requantizes.
	Split map[string]bool
}

// SharesInput reports ops whose output takes its input's qparams (one observer group).
func SharesInput(op graph.Op) bool { return sharesInput(op) }

// sharesInput reports ops whose output keeps its input's qparams (ExecuTorch's
// one-to-one shared ops): data movement and max-pooling, whose integer implementation needs no
// rescale.
func sharesInput(op graph.Op) bool {
	switch op {
	case graph.OpResize, graph.OpPixelShuffle, graph.OpPixelUnshuffle, graph.OpReshape, graph.OpTranspose,
		graph.OpMaxPool2d, graph.OpAvgPool2d, graph.OpConcat, graph.OpPad, graph.OpSlice,
		graph.OpDepthToSpace, graph.OpSpaceToDepth:
		return true
	}
	return false
}

// fusable reports activations ExecuTorch fuses into a preceding conv (conv→relu, conv→hardtanh,
// conv→clamp patterns): the conv has no output observer, the activation's output has one.
func fusable(op graph.Op) bool {
	return op == graph.OpReLU || op == graph.OpHardtanh || op == graph.OpClamp
}

// Annotate builds the quantization plan for g (shapes must be inferred).
func Annotate(g *graph.Graph, opt Options) (*Plan, error) {
	p := &Plan{Graph: g, Group: map[string]int{}, Fused: map[string]string{}, FusedInto: map[string]string{}, Float: map[string]bool{}}
	for _, name := range opt.KeepFloat {
		if g.Node(name) == nil {
			return nil, fmt.Errorf("--keep-float %q: no such node in graph %q", name, g.Name)
		}
		p.Float[name] = true
	}
	cons := g.Consumers()
	outputs := map[string]bool{}
	for _, o := range g.Outputs {
		outputs[o] = true
	}
	// Union-find over values.
	parent := map[string]string{}
	var find func(string) string
	find = func(v string) string {
		for parent[v] != v {
			parent[v] = parent[parent[v]]
			v = parent[v]
		}
		return v
	}
	add := func(v string) {
		if _, ok := parent[v]; !ok {
			parent[v] = v
		}
	}
	union := func(a, b string) { parent[find(b)] = find(a) }
	for _, n := range g.Nodes {
		if p.Float[n.Name] {
			continue
		}
		switch {
		case n.Op == graph.OpConv2d || n.Op == graph.OpConvTranspose2d:
			// Fuse a following activation when it is the conv's only consumer and the conv is
			// not itself a graph output.
			if c := cons[n.Name]; len(c) == 1 && fusable(c[0].Op) && !outputs[n.Name] && !p.Float[c[0].Name] {
				p.Fused[n.Name] = c[0].Name
				p.FusedInto[c[0].Name] = n.Name
				continue
			}
			add(n.Name)
		case sharesInput(n.Op) && !opt.Split[n.Name]:
			add(n.Name)
			for _, in := range n.Inputs {
				add(in)
				union(in, n.Name)
			}
		default:
			add(n.Name)
		}
		// Every quantized consumer observes its inputs: make sure they have a group.
		for _, in := range n.Inputs {
			if _, fused := p.Fused[in]; !fused {
				add(in)
			}
		}
	}
	// Number groups in order of first appearance in the graph.
	root := map[string]int{}
	for _, n := range g.Nodes {
		if _, ok := parent[n.Name]; !ok {
			continue
		}
		r := find(n.Name)
		id, ok := root[r]
		if !ok {
			id = len(p.Groups)
			root[r] = id
			p.Groups = append(p.Groups, nil)
		}
		p.Group[n.Name] = id
		p.Groups[id] = append(p.Groups[id], n.Name)
	}
	return p, nil
}

// String summarises the plan: one line per observer group.
func (p *Plan) String() string {
	var b strings.Builder
	for i, vs := range p.Groups {
		fmt.Fprintf(&b, "group %d: %s\n", i, strings.Join(vs, ", "))
	}
	var fused []string
	for c, a := range p.Fused {
		fused = append(fused, c+"+"+a)
	}
	sort.Strings(fused)
	if len(fused) > 0 {
		fmt.Fprintf(&b, "fused: %s\n", strings.Join(fused, ", "))
	}
	return b.String()
}
