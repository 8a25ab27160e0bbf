package quant

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/vgfq/vgfq/graph"
)

// Mixed precision a16w8 (vgfq option, off by default): chosen activation groups are quantized
// to int16 with ExecuTorch's get_symmetric_a16w8_quantization_config activation spec (ActInt16:
// per-tensor symmetric, [-32767, 32767], HistogramObserver with eps 2^-12); weights stay int8
// per-channel and biases int32 with scale s_in*s_w (the base config's), as in that config.
//
// The unit is an observer group (values sharing one (scale, zero point)): every producer of the
// group writes int16 and every consumer reads int16, which is what ExecuTorch's a16w8 config
// gives a tensor whose producer and consumers are all annotated with it. The groups holding a
// graph input or a graph output are not eligible: graph I/O stays int8 (the io.json contract).

// a16w8Ops are the ops whose lowering handles an int16 operand or result.
var a16w8Ops = map[graph.Op]bool{
	graph.OpConv2d: true, graph.OpReLU: true, graph.OpHardtanh: true, graph.OpClamp: true,
	graph.OpResize: true, graph.OpPixelShuffle: true, graph.OpPixelUnshuffle: true,
	graph.OpDepthToSpace: true, graph.OpSpaceToDepth: true, graph.OpReshape: true, graph.OpTranspose: true,
	graph.OpAdd: true, graph.OpSub: true, graph.OpMul: true, graph.OpConcat: true, graph.OpMaxPool2d: true,
}

// A16W8Candidate is an activation group that can be made int16.
type A16W8Candidate struct {
	Group int      `json:"group"`
	Name  string   `json:"node"`  // the group's last value (what vgfq sensitivity names)
	Nodes []string `json:"nodes"` // every value of the group (any of them selects it)
}

// a16w8Reason returns why group id cannot be int16, or "".
func (p *Plan) a16w8Reason(id int) string {
	g := p.Graph
	outputs := map[string]bool{}
	for _, o := range g.Outputs {
		outputs[o] = true
	}
	cons := g.Consumers()
	for _, v := range p.Groups[id] {
		n := g.Node(v)
		if n.Op == graph.OpInput {
			return fmt.Sprintf("it is the graph input %q (graph I/O stays int8, the io.json contract)", v)
		}
		if outputs[v] {
			return fmt.Sprintf("it is the graph output %q (graph I/O stays int8, the io.json contract)", v)
		}
		producer := n
		if c, ok := p.FusedInto[v]; ok {
			producer = g.Node(c)
		}
		if !a16w8Ops[producer.Op] {
			return fmt.Sprintf("its value %q is produced by %s, which vgfq lowers in int8 only", v, producer.Op)
		}
		for _, c := range cons[v] {
			if p.Float[c.Name] {
				continue
			}
			if !a16w8Ops[c.Op] {
				return fmt.Sprintf("its value %q feeds %s node %q, which vgfq lowers in int8 only", v, c.Op, c.Name)
			}
		}
	}
	return ""
}

// A16W8Candidates lists the activation groups that can be int16, in graph order.
func (p *Plan) A16W8Candidates() []A16W8Candidate {
	var out []A16W8Candidate
	for id, vals := range p.Groups {
		if p.a16w8Reason(id) == "" {
			out = append(out, A16W8Candidate{Group: id, Name: vals[len(vals)-1], Nodes: vals})
		}
	}
	return out
}

// A16W8Groups resolves node names to activation groups: a value of the group, or a convolution
// whose fused activation is in it. Unknown names and groups that cannot be int16 are errors
// naming the node and listing the valid names.
func (p *Plan) A16W8Groups(names []string) (map[int]bool, error) {
	valid := func() string {
		var vs []string
		for _, c := range p.A16W8Candidates() {
			names := slices.Clone(c.Nodes)
			for _, v := range c.Nodes {
				if conv, ok := p.FusedInto[v]; ok {
					names = append(names, conv)
				}
			}
			vs = append(vs, strings.Join(names, "|"))
		}
		if len(vs) == 0 {
			return "this model has no activation that can be int16"
		}
		return "valid: " + strings.Join(vs, ", ")
	}
	out := map[int]bool{}
	for _, name := range names {
		v := name
		if act, ok := p.Fused[name]; ok {
			v = act
		}
		id, ok := p.Group[v]
		if !ok {
			if p.Graph.Node(name) == nil {
				return nil, fmt.Errorf("--a16w8 %q: no such node in graph %q (%s)", name, p.Graph.Name, valid())
			}
			return nil, fmt.Errorf("--a16w8 %q: node has no quantized activation of its own (%s)", name, valid())
		}
		if why := p.a16w8Reason(id); why != "" {
			return nil, fmt.Errorf("--a16w8 %q cannot be int16: %s (%s)", name, why, valid())
		}
		out[id] = true
	}
	return out, nil
}

// GroupNames returns the last value of each listed group, sorted by group.
func (p *Plan) GroupNames(groups map[int]bool) []string {
	ids := make([]int, 0, len(groups))
	for id := range groups {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	var out []string
	for _, id := range ids {
		out = append(out, p.Groups[id][len(p.Groups[id])-1])
	}
	return out
}

// int16QParams computes an observer's a16w8 qparams from the same observations: the
// histogram's range search with int16's 65536 destination bins, then the symmetric formula.
func int16QParams(o Observer, sch Scheme) (QParam, error) {
	switch ob := o.(type) {
	case *Histogram:
		h := *ob
		h.Scheme = sch
		s, z := h.QParams()
		return QParam{Scale: s[0], ZP: z[0], Int16: true}, nil
	case *MinMax:
		s, z := sch.QParams(ob.Min, ob.Max)
		return QParam{Scale: s, ZP: z, Int16: true}, nil
	}
	return QParam{}, fmt.Errorf("a16w8: observer %T has no int16 qparams", o)
}

// ConvertA16W8 is Convert with the activation groups in int16 made int16 (A16W8Groups): their
// qparams come from the same observers with ActInt16, and the biases of the convolutions that
// read them get the int16 input scale. The observers are not changed, so one calibration can be
// converted with several selections.
func (c *Calibrator) ConvertA16W8(int16 map[int]bool) (*Model, error) {
	act := make([]QParam, len(c.obs))
	for id, o := range c.obs {
		s, zp := o.QParams()
		act[id] = QParam{Scale: s[0], ZP: zp[0]}
		if int16[id] {
			if why := c.Plan.a16w8Reason(id); why != "" {
				return nil, fmt.Errorf("a16w8: group %d cannot be int16: %s", id, why)
			}
			q, err := int16QParams(o, c.Config.ActInt16Scheme())
			if err != nil {
				return nil, err
			}
			act[id] = q
		}
	}
	return c.convert(act)
}

// A16W8 returns the names (last values) of m's int16 activation groups, in graph order.
func (m *Model) A16W8() []string {
	var out []string
	for id, q := range m.Act {
		if q.Int16 {
			out = append(out, m.Plan.Groups[id][len(m.Plan.Groups[id])-1])
		}
	}
	return slices.Clip(out)
}
