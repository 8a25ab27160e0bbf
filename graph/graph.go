// Package graph is vgfq's float model IR: a DAG of typed nodes with attributes, named
// parameters and static shapes, in PyTorch/ONNX conventions (NCHW activations, OIHW weights).
//
// Nodes are plain data (no closures): passes (quantization, TOSA lowering, ONNX import) read and
// rewrite them; Exec interprets them with the engine. A graph serializes as graph.json (nodes)
// plus weights.safetensors (parameters), see Save and Load.
package graph

import (
	"fmt"
	"sort"
	"strings"

	"github.com/vgfq/vgfq/engine"
)

// Op names a node's operation.
type Op string

// The operations of the IR. Their semantics are PyTorch's (the names in brackets):
const (
	OpInput           Op = "Input"           // graph input; Attrs.Shape is its NCHW shape
	OpConv2d          Op = "Conv2d"          // nn.Conv2d; params weight (OIHW), bias (O, optional)
	OpConvTranspose2d Op = "ConvTranspose2d" // nn.ConvTranspose2d; weight (I x O/groups x KH x KW), bias
	OpReLU            Op = "ReLU"
	OpLeakyReLU       Op = "LeakyReLU" // Attrs.Slope
	OpClamp           Op = "Clamp"     // torch.clamp: Attrs.Min, Attrs.Max; gradient passes at the bounds
	OpHardtanh        Op = "Hardtanh"  // nn.Hardtanh / nn.ReLU6 (= Hardtanh 0..6): gradient 0 at the bounds
	OpSigmoid         Op = "Sigmoid"
	OpTanh            Op = "Tanh"
	OpAdd             Op = "Add" // two inputs, broadcasting
	OpSub             Op = "Sub"
	OpMul             Op = "Mul"
	OpConcat          Op = "Concat"       // Attrs.Axis
	OpResize          Op = "Resize"       // F.interpolate; Attrs.Mode, Size or Scale, AlignCorners
	OpPixelShuffle    Op = "PixelShuffle" // Attrs.Factor (= ONNX DepthToSpace, CRD)
	OpPixelUnshuffle  Op = "PixelUnshuffle"
	OpAvgPool2d       Op = "AvgPool2d" // Attrs.Kernel, Stride, Padding, CeilMode, CountIncludePad
	OpMaxPool2d       Op = "MaxPool2d" // Attrs.Kernel, Stride, Padding, Dilation, CeilMode
	OpBatchNorm2d     Op = "BatchNorm2d"
	OpReshape         Op = "Reshape"      // Attrs.Shape (ONNX rule: 0 copies the input dimension, one -1 inferred)
	OpTranspose       Op = "Transpose"    // Attrs.Perm
	OpConst           Op = "Const"        // a constant tensor: param value (a buffer, not trained)
	OpHardSigmoid     Op = "HardSigmoid"  // max(0, min(1, Alpha*x + Beta)) (F.hardsigmoid: 1/6, 0.5)
	OpHardSwish       Op = "HardSwish"    // F.hardswish
	OpPad             Op = "Pad"          // F.pad of H, W: Attrs.Pads [top, left, bottom, right], Mode constant|reflect|edge, Value
	OpErf             Op = "Erf"          // torch.erf
	OpGELU            Op = "GELU"         // F.gelu (approximate='none')
	OpSlice           Op = "Slice"        // x[start : start+size] per dimension (step 1): Attrs.Start, Attrs.Cut
	OpPReLU           Op = "PReLU"        // nn.PReLU: param weight, one slope per channel or one shared (trained)
	OpDepthToSpace    Op = "DepthToSpace" // ONNX DepthToSpace DCR (CRD is PixelShuffle): Attrs.Factor
	OpSpaceToDepth    Op = "SpaceToDepth" // ONNX SpaceToDepth: Attrs.Factor
)

// Ops lists every operation the IR knows, for error messages and docs.
var Ops = []Op{OpInput, OpConv2d, OpConvTranspose2d, OpReLU, OpLeakyReLU, OpClamp, OpHardtanh, OpSigmoid, OpTanh,
	OpAdd, OpSub, OpMul, OpConcat, OpResize, OpPixelShuffle, OpPixelUnshuffle, OpAvgPool2d, OpMaxPool2d,
	OpBatchNorm2d, OpReshape, OpTranspose, OpConst, OpHardSigmoid, OpHardSwish, OpPad, OpErf, OpGELU, OpSlice, OpPReLU, OpDepthToSpace, OpSpaceToDepth}

// Attrs are the attributes of a node. Only the fields of the node's op are meaningful; the rest
// stay zero and are omitted from JSON.
type Attrs struct {
	Stride        []int `json:"stride,omitempty"`
	Padding       []int `json:"padding,omitempty"`
	Dilation      []int `json:"dilation,omitempty"`
	OutputPadding []int `json:"output_padding,omitempty"`
	Groups        int   `json:"groups,omitempty"`
	Kernel        []int `json:"kernel,omitempty"`

	CeilMode        bool  `json:"ceil_mode,omitempty"`
	CountIncludePad *bool `json:"count_include_pad,omitempty"` // nil = true (PyTorch default)

	Slope float32  `json:"slope,omitempty"`
	Min   *float32 `json:"min,omitempty"`
	Max   *float32 `json:"max,omitempty"`

	Mode         string    `json:"mode,omitempty"`  // Resize: bilinear | nearest | nearest-exact (PyTorch); linear | nearest with Coord (ONNX)
	Coord        string    `json:"coord,omitempty"` // Resize with ONNX rules: half_pixel | pytorch_half_pixel | align_corners | asymmetric
	Round        string    `json:"round,omitempty"` // Resize nearest with ONNX rules: floor | ceil | round_prefer_floor | round_prefer_ceil
	AlignCorners bool      `json:"align_corners,omitempty"`
	Scale        []float64 `json:"scale,omitempty"` // Resize scale_factor (H, W)
	Size         []int     `json:"size,omitempty"`  // Resize output size (H, W)

	Factor int   `json:"factor,omitempty"`
	Axis   int   `json:"axis,omitempty"`
	Shape  []int `json:"shape,omitempty"`
	Perm   []int `json:"perm,omitempty"`

	Momentum float32 `json:"momentum,omitempty"`
	Eps      float32 `json:"eps,omitempty"`

	Alpha float32 `json:"alpha,omitempty"` // HardSigmoid
	Beta  float32 `json:"beta,omitempty"`  // HardSigmoid
	Pads  []int   `json:"pads,omitempty"`  // Pad: top, left, bottom, right
	Value float32 `json:"value,omitempty"` // Pad: the constant
	Start []int   `json:"start,omitempty"` // Slice
	Cut   []int   `json:"cut,omitempty"`   // Slice: the size per dimension
}

// Node is one operation. Inputs name the nodes whose outputs it consumes; Params maps a role
// (weight, bias, running_mean, running_var) to the name of a tensor in Graph.Params.
type Node struct {
	Name   string            `json:"name"`
	Op     Op                `json:"op"`
	Inputs []string          `json:"inputs,omitempty"`
	Params map[string]string `json:"params,omitempty"`
	Attrs  Attrs             `json:"attrs"`
	Shape  []int             `json:"shape,omitempty"` // output shape, set by InferShapes
}

// Graph is a model. Nodes are in topological order; Outputs name the nodes whose values the
// model returns.
type Graph struct {
	Name    string                    `json:"name"`
	Nodes   []*Node                   `json:"nodes"`
	Outputs []string                  `json:"outputs"`
	Params  map[string]*engine.Tensor `json:"-"`
	// Meta holds free-form facts about the model (zoo name, seed, training data).
	Meta map[string]string `json:"meta,omitempty"`
}

// Buffer roles are parameters that are state, not trained by the optimizer.
var bufferRoles = map[string]bool{"running_mean": true, "running_var": true, "value": true}

// IsBuffer reports whether the parameter role is a non-trainable buffer.
func IsBuffer(role string) bool { return bufferRoles[role] }

// Node returns the node with the given name, or nil.
func (g *Graph) Node(name string) *Node {
	for _, n := range g.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// Inputs returns the graph's input nodes in order.
func (g *Graph) Inputs() []*Node {
	var in []*Node
	for _, n := range g.Nodes {
		if n.Op == OpInput {
			in = append(in, n)
		}
	}
	return in
}

// Consumers returns, for every node name, the nodes that read its output.
func (g *Graph) Consumers() map[string][]*Node {
	c := map[string][]*Node{}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			c[in] = append(c[in], n)
		}
	}
	return c
}

// TrainableParams returns the names of trainable parameters in a stable order (node order, then
// role order weight, bias, others sorted).
func (g *Graph) TrainableParams() []string {
	var names []string
	seen := map[string]bool{}
	for _, n := range g.Nodes {
		for _, role := range sortedRoles(n.Params) {
			p := n.Params[role]
			if IsBuffer(role) || seen[p] {
				continue
			}
			seen[p] = true
			names = append(names, p)
		}
	}
	return names
}

func sortedRoles(m map[string]string) []string {
	roles := make([]string, 0, len(m))
	for r := range m {
		roles = append(roles, r)
	}
	rank := func(r string) int {
		switch r {
		case "weight":
			return 0
		case "bias":
			return 1
		}
		return 2
	}
	sort.Slice(roles, func(i, j int) bool {
		if rank(roles[i]) != rank(roles[j]) {
			return rank(roles[i]) < rank(roles[j])
		}
		return roles[i] < roles[j]
	})
	return roles
}

// NumParams returns the number of trainable scalars.
func (g *Graph) NumParams() int {
	n := 0
	for _, p := range g.TrainableParams() {
		n += g.Params[p].Len()
	}
	return n
}

// Clone returns a deep copy of the graph and its parameters.
func (g *Graph) Clone() *Graph {
	c := &Graph{Name: g.Name, Outputs: append([]string(nil), g.Outputs...), Params: map[string]*engine.Tensor{}}
	for _, n := range g.Nodes {
		m := *n
		m.Inputs = append([]string(nil), n.Inputs...)
		m.Shape = append([]int(nil), n.Shape...)
		if n.Params != nil {
			m.Params = map[string]string{}
			for k, v := range n.Params {
				m.Params[k] = v
			}
		}
		c.Nodes = append(c.Nodes, &m)
	}
	for k, v := range g.Params {
		c.Params[k] = v.Clone()
	}
	if g.Meta != nil {
		c.Meta = map[string]string{}
		for k, v := range g.Meta {
			c.Meta[k] = v
		}
	}
	return c
}

// String prints the graph one node per line:
//
//	conv1 = Conv2d(up) [k=3x3 pad=1,1] {weight conv1.weight 32x3x3x3, bias conv1.bias 32} -> 1x32x32x32
func (g *Graph) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "graph %s (%d nodes, %d trainable parameters)\n", g.Name, len(g.Nodes), g.NumParams())
	for _, n := range g.Nodes {
		fmt.Fprintf(&b, "  %s = %s(%s)", n.Name, n.Op, strings.Join(n.Inputs, ", "))
		if a := n.attrString(); a != "" {
			fmt.Fprintf(&b, " [%s]", a)
		}
		if len(n.Params) > 0 {
			var ps []string
			for _, role := range sortedRoles(n.Params) {
				name := n.Params[role]
				s := role + " " + name
				if t := g.Params[name]; t != nil {
					s += " " + engine.ShapeString(t.Shape)
				}
				ps = append(ps, s)
			}
			fmt.Fprintf(&b, " {%s}", strings.Join(ps, ", "))
		}
		if n.Shape != nil {
			fmt.Fprintf(&b, " -> %s", engine.ShapeString(n.Shape))
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "  return %s\n", strings.Join(g.Outputs, ", "))
	return b.String()
}

func (n *Node) attrString() string {
	a := n.Attrs
	var s []string
	add := func(k string, v any) { s = append(s, fmt.Sprintf("%s=%v", k, v)) }
	pair := func(k string, v []int) {
		if len(v) == 2 {
			s = append(s, fmt.Sprintf("%s=%d,%d", k, v[0], v[1]))
		} else if v != nil {
			add(k, v)
		}
	}
	switch n.Op {
	case OpInput:
		add("shape", engine.ShapeString(a.Shape))
	case OpConv2d, OpConvTranspose2d:
		pair("stride", a.Stride)
		pair("pad", a.Padding)
		pair("dilation", a.Dilation)
		pair("out_pad", a.OutputPadding)
		if a.Groups > 1 {
			add("groups", a.Groups)
		}
	case OpLeakyReLU:
		add("slope", a.Slope)
	case OpClamp, OpHardtanh:
		if a.Min != nil {
			add("min", *a.Min)
		}
		if a.Max != nil {
			add("max", *a.Max)
		}
	case OpResize:
		add("mode", a.Mode)
		if a.Coord != "" {
			add("coord", a.Coord)
		}
		if a.Round != "" {
			add("round", a.Round)
		}
		if a.Scale != nil {
			add("scale", a.Scale)
		}
		if a.Size != nil {
			add("size", a.Size)
		}
		if a.AlignCorners {
			add("align_corners", true)
		}
	case OpPixelShuffle, OpPixelUnshuffle, OpDepthToSpace, OpSpaceToDepth:
		add("factor", a.Factor)
	case OpAvgPool2d, OpMaxPool2d:
		pair("kernel", a.Kernel)
		pair("stride", a.Stride)
		pair("pad", a.Padding)
		pair("dilation", a.Dilation)
		if a.CeilMode {
			add("ceil_mode", true)
		}
		if a.CountIncludePad != nil && !*a.CountIncludePad {
			add("count_include_pad", false)
		}
	case OpConcat:
		add("axis", a.Axis)
	case OpReshape:
		add("shape", a.Shape)
	case OpTranspose:
		add("perm", a.Perm)
	case OpSlice:
		add("start", a.Start)
		add("size", a.Cut)
	case OpHardSigmoid:
		add("alpha", a.Alpha)
		add("beta", a.Beta)
	case OpPad:
		add("pads", a.Pads)
		add("mode", a.Mode)
		if a.Value != 0 {
			add("value", a.Value)
		}
	case OpBatchNorm2d:
		add("eps", a.Eps)
		add("momentum", a.Momentum)
	}
	return strings.Join(s, " ")
}
