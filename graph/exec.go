package graph

import (
	"fmt"

	"github.com/vgfq/vgfq/engine"
)

// Exec runs a graph on the engine. It wraps every parameter as an engine Var once, so gradients
// accumulate across steps into the same Vars the optimizer updates.
type Exec struct {
	G     *Graph
	Vars  map[string]*engine.Var // parameter name -> Var (tensors shared with G.Params)
	Train bool                   // BatchNorm uses batch statistics and updates running stats
	// HookRetainsNothing promises that the hooks given to Run keep no reference to the values
	// they see once they return (observers that only read them), so values no later node reads
	// may be recycled as in a run without a hook.
	HookRetainsNothing bool
	Frozen             map[string]bool // parameter names that never get gradients
	// Hook, if set, is used by Run when it is called with a nil hook (so Forward and
	// train.Step run a fake-quantized model prepared for QAT).
	Hook Hook
	// ParamHook, if set, sees (and may replace) every parameter a node reads ("weight",
	// "bias", ...) before the node uses it: QAT fake-quantizes weights here.
	ParamHook func(n *Node, role string, v *engine.Var) *engine.Var
}

// NewExec prepares g for execution. With grads, trainable parameters require gradients (for
// training); without, Run records no backward graph (inference).
func NewExec(g *Graph, grads bool) *Exec {
	e := &Exec{G: g, Vars: map[string]*engine.Var{}, Frozen: map[string]bool{}}
	trainable := map[string]bool{}
	if grads {
		for _, p := range g.TrainableParams() {
			trainable[p] = true
		}
	}
	for name, t := range g.Params {
		if trainable[name] {
			e.Vars[name] = engine.Param(t)
		} else {
			e.Vars[name] = engine.Const(t)
		}
	}
	return e
}

// Params returns the Vars of the trainable parameters in TrainableParams order.
func (e *Exec) Params() []*engine.Var {
	var ps []*engine.Var
	for _, name := range e.G.TrainableParams() {
		if v := e.Vars[name]; v.RequiresGrad {
			ps = append(ps, v)
		}
	}
	return ps
}

// Hook observes (and may replace) each node's output during Run: it returns the Var later nodes
// consume. Quantization uses it to insert observers and fake-quant.
type Hook func(n *Node, out *engine.Var) *engine.Var

// Run executes the graph. inputs maps input node names to values (any batch size). It returns
// the values of every output node, in Outputs order.
func (e *Exec) Run(inputs map[string]*engine.Var, hook Hook) ([]*engine.Var, error) {
	if hook == nil {
		hook = e.Hook
	}
	vals := make(map[string]*engine.Var, len(e.G.Nodes))
	consumers := map[string]int{}
	freshConv := map[string]bool{} // nodes whose value is a convolution's newly allocated output
	// soleUser: the node reading a value, for values read by exactly one node and no output
	soleUser := map[string]*Node{}
	for _, n := range e.G.Nodes {
		for _, in := range n.Inputs {
			soleUser[in] = n
		}
	}
	reluDone := map[string]bool{} // ReLU nodes already applied by the convolution before them
	for _, n := range e.G.Nodes {
		for _, in := range n.Inputs {
			consumers[in]++
		}
	}
	for _, o := range e.G.Outputs {
		consumers[o]++
	}
	// Without gradients (nothing keeps a value for a backward pass) and without a hook that may
	// keep values (see HookRetainsNothing), a value no later node reads goes back to the engine's buffer pool for
	// the next operators' outputs, unless its memory is shared with a value still in use, an
	// input or a parameter (views such as reshapes and in-place ReLUs share memory).
	var keep []*engine.Var
	recycle := (hook == nil || e.HookRetainsNothing) && e.ParamHook == nil
	for _, v := range inputs {
		recycle = recycle && !v.RequiresGrad
		keep = append(keep, v)
	}
	for _, v := range e.Vars {
		recycle = recycle && !v.RequiresGrad
		keep = append(keep, v)
	}
	free := func(v *engine.Var) {
		for _, k := range keep {
			if engine.Overlaps(v, k) {
				return
			}
		}
		for _, l := range vals {
			if engine.Overlaps(v, l) {
				return
			}
		}
		engine.Recycle(v)
	}
	for _, n := range e.G.Nodes {
		var out *engine.Var
		if n.Op == OpInput {
			v := inputs[n.Name]
			if v == nil {
				return nil, fmt.Errorf("graph %q: no value for input %q", e.G.Name, n.Name)
			}
			s := v.Shape()
			if len(s) != len(n.Attrs.Shape) {
				return nil, fmt.Errorf("graph %q: input %q is %s, want %s (batch may differ)", e.G.Name, n.Name, engine.ShapeString(s), engine.ShapeString(n.Attrs.Shape))
			}
			for i := 1; i < len(s); i++ {
				if s[i] != n.Attrs.Shape[i] {
					return nil, fmt.Errorf("graph %q: input %q is %s, want %s (batch may differ)", e.G.Name, n.Name, engine.ShapeString(s), engine.ShapeString(n.Attrs.Shape))
				}
			}
			out = v
		} else {
			args := make([]*engine.Var, len(n.Inputs))
			for i, in := range n.Inputs {
				args[i] = vals[in]
			}
			if u := soleUser[n.Name]; n.Op == OpConv2d && hook == nil && consumers[n.Name] == 1 && u != nil && u.Op == OpReLU && len(u.Inputs) == 1 {
				// convolution + ReLU in one pass; the ReLU node passes the value on
				var err error
				if out, err = e.applyConvReLU(n, args); err != nil {
					return nil, err
				}
				reluDone[u.Name] = true
			} else if n.Op == OpReLU && reluDone[n.Name] {
				out = args[0]
			} else if n.Op == OpReLU && hook == nil && len(args) == 1 && consumers[n.Inputs[0]] == 1 && freshConv[n.Inputs[0]] {
				// a convolution's fresh output that only this ReLU reads (the convolution's
				// backward does not read its output): ReLU over the same storage
				out = engine.ReLUOver(args[0])
			} else {
				var err error
				out, err = e.apply(n, args)
				if err != nil {
					return nil, err
				}
			}
			if n.Op == OpConv2d || n.Op == OpConvTranspose2d {
				freshConv[n.Name] = true
			}
		}
		if hook != nil {
			out = hook(n, out)
		}
		vals[n.Name] = out
		// Drop values no later node needs (the autograd keeps what backward needs).
		for _, in := range n.Inputs {
			if consumers[in]--; consumers[in] == 0 {
				v := vals[in]
				delete(vals, in)
				if recycle {
					free(v)
				}
			}
		}
	}
	outs := make([]*engine.Var, len(e.G.Outputs))
	for i, o := range e.G.Outputs {
		outs[i] = vals[o]
	}
	return outs, nil
}

// Forward runs a single-input, single-output graph.
func (e *Exec) Forward(x *engine.Var) (*engine.Var, error) {
	ins := e.G.Inputs()
	if len(ins) != 1 || len(e.G.Outputs) != 1 {
		return nil, fmt.Errorf("graph %q has %d inputs and %d outputs; Forward needs 1 and 1", e.G.Name, len(ins), len(e.G.Outputs))
	}
	outs, err := e.Run(map[string]*engine.Var{ins[0].Name: x}, nil)
	if err != nil {
		return nil, err
	}
	return outs[0], nil
}

func (e *Exec) param(n *Node, role string) *engine.Var {
	if p, ok := n.Params[role]; ok {
		if e.ParamHook != nil {
			return e.ParamHook(n, role, e.Vars[p])
		}
		return e.Vars[p]
	}
	return nil
}

// applyConvReLU runs a Conv2d node fused with the ReLU that is its only reader.
func (e *Exec) applyConvReLU(n *Node, args []*engine.Var) (out *engine.Var, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &NodeError{Node: n.Name, Op: n.Op, Err: fmt.Errorf("%v", r)}
		}
	}()
	o, err := n.ConvOpts()
	if err != nil {
		return nil, nodeErr(n, "%v", err)
	}
	return engine.Conv2dReLU(args[0], e.param(n, "weight"), e.param(n, "bias"), o), nil
}

// apply runs one node. Shapes were validated by InferShapes for the declared input shape; the
// batch dimension may differ at run time, which no op here depends on.
func (e *Exec) apply(n *Node, args []*engine.Var) (out *engine.Var, err error) {
	defer func() {
		// Engine ops panic only on shapes the graph's validation should have rejected; turn
		// that into an error naming the node rather than crashing the program.
		if r := recover(); r != nil {
			err = &NodeError{Node: n.Name, Op: n.Op, Err: fmt.Errorf("%v", r)}
		}
	}()
	a := n.Attrs
	switch n.Op {
	case OpConv2d, OpConvTranspose2d:
		o, err := n.ConvOpts()
		if err != nil {
			return nil, nodeErr(n, "%v", err)
		}
		if n.Op == OpConv2d {
			return engine.Conv2d(args[0], e.param(n, "weight"), e.param(n, "bias"), o), nil
		}
		return engine.ConvTranspose2d(args[0], e.param(n, "weight"), e.param(n, "bias"), o), nil
	case OpReLU:
		return engine.ReLU(args[0]), nil
	case OpLeakyReLU:
		return engine.LeakyReLU(args[0], a.Slope), nil
	case OpClamp, OpHardtanh:
		lo, hi := float32(-3.4028234663852886e38), float32(3.4028234663852886e38)
		if a.Min != nil {
			lo = *a.Min
		}
		if a.Max != nil {
			hi = *a.Max
		}
		if n.Op == OpHardtanh {
			return engine.Hardtanh(args[0], lo, hi), nil
		}
		return engine.Clamp(args[0], lo, hi), nil
	case OpSigmoid:
		return engine.Sigmoid(args[0]), nil
	case OpHardSigmoid:
		return engine.HardSigmoid(args[0], a.Alpha, a.Beta), nil
	case OpHardSwish:
		return engine.HardSwish(args[0]), nil
	case OpErf:
		return engine.Erf(args[0]), nil
	case OpPReLU:
		return engine.PReLU(args[0], e.param(n, "weight")), nil
	case OpGELU:
		return engine.GELU(args[0]), nil
	case OpSlice:
		// The batch may differ from the declared one: a slice that keeps the declared batch
		// whole keeps any batch whole.
		start, size := append([]int(nil), a.Start...), append([]int(nil), a.Cut...)
		if s := args[0].Shape(); len(s) == len(size) && start[0] == 0 && size[0] == n.Shape[0] {
			size[0] = s[0]
		}
		return engine.Slice(args[0], start, size), nil
	case OpConst:
		return e.param(n, "value"), nil
	case OpPad:
		p, mode, err := n.PadOpts()
		if err != nil {
			return nil, nodeErr(n, "%v", err)
		}
		return engine.Pad2d(args[0], p, mode, a.Value), nil
	case OpTanh:
		return engine.Tanh(args[0]), nil
	case OpAdd:
		return engine.Add(args[0], args[1]), nil
	case OpSub:
		return engine.Sub(args[0], args[1]), nil
	case OpMul:
		return engine.Mul(args[0], args[1]), nil
	case OpDiv:
		return engine.Div(args[0], args[1]), nil
	case OpConcat:
		return engine.Concat(a.Axis, args...), nil
	case OpResize:
		if a.Coord != "" {
			o, err := n.ResizeONNXOpts(args[0].Shape())
			if err != nil {
				return nil, nodeErr(n, "%v", err)
			}
			return engine.ResizeONNX(args[0], o), nil
		}
		o, err := n.ResizeOpts(args[0].Shape())
		if err != nil {
			return nil, nodeErr(n, "%v", err)
		}
		return engine.Resize(args[0], o), nil
	case OpPixelShuffle:
		return engine.PixelShuffle(args[0], a.Factor), nil
	case OpPixelUnshuffle:
		return engine.PixelUnshuffle(args[0], a.Factor), nil
	case OpDepthToSpace:
		return engine.DepthToSpace(args[0], a.Factor), nil
	case OpSpaceToDepth:
		return engine.SpaceToDepth(args[0], a.Factor), nil
	case OpAvgPool2d, OpMaxPool2d:
		o, err := n.PoolOpts()
		if err != nil {
			return nil, nodeErr(n, "%v", err)
		}
		if n.Op == OpAvgPool2d {
			return engine.AvgPool2d(args[0], o), nil
		}
		return engine.MaxPool2d(args[0], o), nil
	case OpBatchNorm2d:
		rm, rv := e.param(n, "running_mean"), e.param(n, "running_var")
		return engine.BatchNorm2d(args[0], e.param(n, "weight"), e.param(n, "bias"), rm.Val, rv.Val, e.Train, a.Momentum, a.Eps), nil
	case OpReshape:
		s, err := ResolveReshape(args[0].Shape(), a.Shape)
		if err != nil {
			return nil, nodeErr(n, "%v", err)
		}
		return engine.Reshape(args[0], s...), nil
	case OpTranspose:
		return engine.Permute(args[0], a.Perm...), nil
	}
	return nil, nodeErr(n, "op has no executor")
}
