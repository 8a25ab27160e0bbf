package graph

import (
	"fmt"
	"math/rand/v2"

	"github.com/vgfq/vgfq/engine"
)

// Builder constructs a graph node by node, initializing parameters like PyTorch's modules do
// (from a seeded RNG, so the same seed gives the same weights). Methods return the new node's
// name for use as a later node's input. The first error sticks and is returned by Build.
type Builder struct {
	g   *Graph
	rng *rand.Rand
	err error
}

// NewBuilder starts a graph called name whose parameters are drawn from seed.
func NewBuilder(name string, seed uint64) *Builder {
	return &Builder{
		g:   &Graph{Name: name, Params: map[string]*engine.Tensor{}, Meta: map[string]string{}},
		rng: rand.New(rand.NewPCG(seed, 0x76676671)), // "vgfq"
	}
}

// Add appends a node as is (parameters must already be in the graph) and returns its name.
func (b *Builder) Add(n *Node) string {
	if b.g.Node(n.Name) != nil && b.err == nil {
		b.err = fmt.Errorf("graph %q: node name %q used twice", b.g.Name, n.Name)
	}
	b.g.Nodes = append(b.g.Nodes, n)
	return n.Name
}

// Input declares an input with its NCHW shape (the batch size is nominal).
func (b *Builder) Input(name string, shape ...int) string {
	return b.Add(&Node{Name: name, Op: OpInput, Attrs: Attrs{Shape: shape}})
}

// ConvSpec describes a convolution layer for the builder.
type ConvSpec struct {
	In, Out, Kernel         int
	Stride, Padding, Groups int
	Dilation, OutputPadding int
	NoBias                  bool
}

func (b *Builder) conv(op Op, name, in string, s ConvSpec) string {
	stride, dil := max(s.Stride, 1), max(s.Dilation, 1)
	groups := max(s.Groups, 1)
	var w *engine.Tensor
	if op == OpConv2d {
		w = engine.New(s.Out, s.In/groups, s.Kernel, s.Kernel)
	} else {
		w = engine.New(s.In, s.Out/groups, s.Kernel, s.Kernel)
	}
	var bias *engine.Tensor
	if !s.NoBias {
		bias = engine.New(s.Out)
	}
	engine.InitConvParams(w, bias, op == OpConvTranspose2d, b.rng)
	n := &Node{Name: name, Op: op, Inputs: []string{in}, Params: map[string]string{"weight": name + ".weight"},
		Attrs: Attrs{Stride: []int{stride, stride}, Padding: []int{s.Padding, s.Padding}, Dilation: []int{dil, dil}}}
	if groups > 1 {
		n.Attrs.Groups = groups
	}
	if op == OpConvTranspose2d && s.OutputPadding > 0 {
		n.Attrs.OutputPadding = []int{s.OutputPadding, s.OutputPadding}
	}
	b.g.Params[name+".weight"] = w
	if bias != nil {
		n.Params["bias"] = name + ".bias"
		b.g.Params[name+".bias"] = bias
	}
	return b.Add(n)
}

// Conv2d adds an nn.Conv2d with PyTorch's default initialization.
func (b *Builder) Conv2d(name, in string, s ConvSpec) string { return b.conv(OpConv2d, name, in, s) }

// ConvTranspose2d adds an nn.ConvTranspose2d with PyTorch's default initialization.
func (b *Builder) ConvTranspose2d(name, in string, s ConvSpec) string {
	return b.conv(OpConvTranspose2d, name, in, s)
}

// BatchNorm2d adds an nn.BatchNorm2d(c) (weight 1, bias 0, running mean 0, var 1, eps 1e-5,
// momentum 0.1).
func (b *Builder) BatchNorm2d(name, in string, c int) string {
	w, bias, rm, rv := engine.New(c), engine.New(c), engine.New(c), engine.New(c)
	for i := 0; i < c; i++ {
		w.Data[i], rv.Data[i] = 1, 1
	}
	for role, t := range map[string]*engine.Tensor{"weight": w, "bias": bias, "running_mean": rm, "running_var": rv} {
		b.g.Params[name+"."+role] = t
	}
	return b.Add(&Node{Name: name, Op: OpBatchNorm2d, Inputs: []string{in},
		Params: map[string]string{"weight": name + ".weight", "bias": name + ".bias", "running_mean": name + ".running_mean", "running_var": name + ".running_var"},
		Attrs:  Attrs{Eps: 1e-5, Momentum: 0.1}})
}

// Unary adds a parameter-free node with one input.
func (b *Builder) Unary(op Op, name, in string, a Attrs) string {
	return b.Add(&Node{Name: name, Op: op, Inputs: []string{in}, Attrs: a})
}

// ReLU adds a ReLU.
func (b *Builder) ReLU(name, in string) string { return b.Unary(OpReLU, name, in, Attrs{}) }

// Upsample adds F.interpolate(scale_factor=factor, mode=mode, align_corners=False).
func (b *Builder) Upsample(name, in string, factor float64, mode string) string {
	return b.Unary(OpResize, name, in, Attrs{Mode: mode, Scale: []float64{factor, factor}})
}

// PixelShuffle adds nn.PixelShuffle(r).
func (b *Builder) PixelShuffle(name, in string, r int) string {
	return b.Unary(OpPixelShuffle, name, in, Attrs{Factor: r})
}

// Binary adds an Add, Sub or Mul node.
func (b *Builder) Binary(op Op, name, x, y string) string {
	return b.Add(&Node{Name: name, Op: op, Inputs: []string{x, y}})
}

// Concat adds a concatenation along axis.
func (b *Builder) Concat(name string, axis int, ins ...string) string {
	return b.Add(&Node{Name: name, Op: OpConcat, Inputs: ins, Attrs: Attrs{Axis: axis}})
}

// Build sets the outputs, infers shapes and returns the graph.
func (b *Builder) Build(outputs ...string) (*Graph, error) {
	if b.err != nil {
		return nil, b.err
	}
	b.g.Outputs = outputs
	if err := b.g.InferShapes(); err != nil {
		return nil, err
	}
	return b.g, nil
}
