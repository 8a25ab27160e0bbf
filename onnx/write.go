package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"

	"google.golang.org/protobuf/proto"

	"github.com/vgfq/vgfq/graph"
	pb "github.com/vgfq/vgfq/onnx/onnxpb"
)

// WriteOpset is the opset Encode writes.
const WriteOpset = 17

// Encode writes a float graph as an ONNX model (IR version 8, opset 17) that onnxruntime and
// PyTorch read: values are named after the graph's nodes, parameters become initializers with
// their graph names, and every op maps to the ONNX op with PyTorch's semantics (Resize with
// pytorch_half_pixel / asymmetric+floor, DepthToSpace CRD, ...). Import(Encode(g)) computes what
// g computes.
func Encode(g *graph.Graph) ([]byte, error) {
	if err := g.InferShapes(); err != nil {
		return nil, err
	}
	w := &writer{g: g, gp: &pb.GraphProto{Name: proto.String(g.Name)}}
	for _, n := range g.Nodes {
		if err := w.node(n); err != nil {
			return nil, &graph.NodeError{Node: n.Name, Op: n.Op, Err: err}
		}
	}
	for _, o := range g.Outputs {
		w.gp.Output = append(w.gp.Output, valueInfo(o, g.Node(o).Shape))
	}
	// Parameters, sorted for determinism.
	var names []string
	for name := range w.params {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t := g.Params[name]
		w.gp.Initializer = append(w.gp.Initializer, floatTensor(name, t.Shape, t.Data))
	}
	mp := &pb.ModelProto{
		IrVersion:       proto.Int64(8),
		ProducerName:    proto.String("vgfq"),
		OpsetImport:     []*pb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(WriteOpset)}},
		Graph:           w.gp,
		ProducerVersion: proto.String("1"),
	}
	return proto.MarshalOptions{Deterministic: true}.Marshal(mp)
}

type writer struct {
	g      *graph.Graph
	gp     *pb.GraphProto
	params map[string]bool
	k      int
}

func valueInfo(name string, shape []int) *pb.ValueInfoProto {
	var dims []*pb.TensorShapeProto_Dimension
	for _, d := range shape {
		dims = append(dims, &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}})
	}
	return &pb.ValueInfoProto{Name: proto.String(name), Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: &pb.TypeProto_Tensor{
		ElemType: proto.Int32(int32(pb.TensorProto_FLOAT)), Shape: &pb.TensorShapeProto{Dim: dims}}}}}
}

func floatTensor(name string, shape []int, data []float32) *pb.TensorProto {
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return &pb.TensorProto{Name: proto.String(name), Dims: dims64(shape), DataType: proto.Int32(int32(pb.TensorProto_FLOAT)), RawData: raw}
}

func int64Tensor(name string, vals []int64) *pb.TensorProto {
	return &pb.TensorProto{Name: proto.String(name), Dims: []int64{int64(len(vals))}, DataType: proto.Int32(int32(pb.TensorProto_INT64)), Int64Data: vals}
}

func dims64(s []int) []int64 {
	d := make([]int64, len(s))
	for i, v := range s {
		d[i] = int64(v)
	}
	return d
}

func aInts(name string, v ...int) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_INTS.Enum(), Ints: dims64(v)}
}

func aInt(name string, v int64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func aFloat(name string, v float32) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

func aStr(name, v string) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_STRING.Enum(), S: []byte(v)}
}

func (w *writer) param(n *graph.Node, role string) string {
	p, ok := n.Params[role]
	if !ok {
		return ""
	}
	if w.params == nil {
		w.params = map[string]bool{}
	}
	w.params[p] = true
	return p
}

// constant adds an initializer holding vals and returns its name.
func (w *writer) constInit(base string, t *pb.TensorProto) string {
	w.k++
	name := fmt.Sprintf("%s/const%d", base, w.k)
	t.Name = proto.String(name)
	w.gp.Initializer = append(w.gp.Initializer, t)
	return name
}

func (w *writer) add(n *graph.Node, op string, inputs []string, attrs ...*pb.AttributeProto) {
	w.gp.Node = append(w.gp.Node, &pb.NodeProto{Name: proto.String(n.Name), OpType: proto.String(op), Input: inputs,
		Output: []string{n.Name}, Attribute: attrs})
}

func (w *writer) node(n *graph.Node) error {
	a := n.Attrs
	in := n.Inputs
	switch n.Op {
	case graph.OpInput:
		w.gp.Input = append(w.gp.Input, valueInfo(n.Name, a.Shape))
	case graph.OpConv2d, graph.OpConvTranspose2d:
		o, err := n.ConvOpts()
		if err != nil {
			return err
		}
		wt := w.g.Params[n.Params["weight"]]
		ins := []string{in[0], w.param(n, "weight")}
		if b := w.param(n, "bias"); b != "" {
			ins = append(ins, b)
		}
		attrs := []*pb.AttributeProto{aInts("dilations", o.Dilation[0], o.Dilation[1]), aInt("group", int64(o.Groups)),
			aInts("kernel_shape", wt.Shape[2], wt.Shape[3]), aInts("pads", o.Padding[0], o.Padding[1], o.Padding[0], o.Padding[1]),
			aInts("strides", o.Stride[0], o.Stride[1])}
		op := "Conv"
		if n.Op == graph.OpConvTranspose2d {
			op = "ConvTranspose"
			attrs = append(attrs, aInts("output_padding", o.OutputPadding[0], o.OutputPadding[1]))
		}
		w.add(n, op, ins, attrs...)
	case graph.OpReLU:
		w.add(n, "Relu", in)
	case graph.OpLeakyReLU:
		w.add(n, "LeakyRelu", in, aFloat("alpha", a.Slope))
	case graph.OpClamp, graph.OpHardtanh:
		ins := []string{in[0], "", ""}
		if a.Min != nil {
			ins[1] = w.constInit(n.Name, floatTensor("", nil, []float32{*a.Min}))
		}
		if a.Max != nil {
			ins[2] = w.constInit(n.Name, floatTensor("", nil, []float32{*a.Max}))
		}
		w.add(n, "Clip", ins)
	case graph.OpSigmoid:
		w.add(n, "Sigmoid", in)
	case graph.OpTanh:
		w.add(n, "Tanh", in)
	case graph.OpHardSigmoid:
		w.add(n, "HardSigmoid", in, aFloat("alpha", a.Alpha), aFloat("beta", a.Beta))
	case graph.OpHardSwish:
		w.add(n, "HardSwish", in)
	case graph.OpErf:
		w.add(n, "Erf", in)
	case graph.OpPReLU:
		t := w.g.Params[n.Params["weight"]]
		shape := []int{t.Len(), 1, 1} // per channel: broadcast along axis 1 of N x C x H x W
		if t.Len() == 1 {
			shape = []int{1}
		}
		w.add(n, "PRelu", []string{in[0], w.constInit(n.Name, floatTensor("", shape, t.Data))})
	case graph.OpGELU:
		// x * (Erf(x / sqrt 2) + 1) * 0.5, as PyTorch exports F.gelu below opset 20.
		scalar := func(v float32) string { return w.constInit(n.Name, floatTensor("", nil, []float32{v})) }
		d, e, a, m := n.Name+"/div", n.Name+"/erf", n.Name+"/add", n.Name+"/mul"
		node := func(op, out string, ins ...string) {
			w.gp.Node = append(w.gp.Node, &pb.NodeProto{Name: proto.String(out), OpType: proto.String(op), Input: ins, Output: []string{out}})
		}
		node("Div", d, in[0], scalar(float32(math.Sqrt2)))
		node("Erf", e, d)
		node("Add", a, e, scalar(1))
		node("Mul", m, in[0], a)
		node("Mul", n.Name, m, scalar(0.5))
	case graph.OpSlice:
		var starts, ends, axes []int64
		for d := range a.Start {
			starts = append(starts, int64(a.Start[d]))
			ends = append(ends, int64(a.Start[d]+a.Cut[d]))
			axes = append(axes, int64(d))
		}
		starts, ends, axes = starts[1:], ends[1:], axes[1:] // the batch stays whole
		w.add(n, "Slice", []string{in[0], w.constInit(n.Name, int64Tensor("", starts)), w.constInit(n.Name, int64Tensor("", ends)), w.constInit(n.Name, int64Tensor("", axes))})
	case graph.OpPixelUnshuffle:
		// Reshape [N,C,h,r,w,r] -> Transpose [0,1,3,5,2,4] -> Reshape [N,C*r*r,h,w] (PyTorch's export).
		s := w.g.Node(in[0]).Shape
		r := a.Factor
		r1, t := n.Name+"/split", n.Name+"/perm"
		w.gp.Node = append(w.gp.Node,
			&pb.NodeProto{Name: proto.String(r1), OpType: proto.String("Reshape"), Output: []string{r1},
				Input: []string{in[0], w.constInit(n.Name, int64Tensor("", []int64{-1, int64(s[1]), int64(s[2] / r), int64(r), int64(s[3] / r), int64(r)}))}},
			&pb.NodeProto{Name: proto.String(t), OpType: proto.String("Transpose"), Input: []string{r1}, Output: []string{t},
				Attribute: []*pb.AttributeProto{aInts("perm", 0, 1, 3, 5, 2, 4)}})
		w.add(n, "Reshape", []string{t, w.constInit(n.Name, int64Tensor("", []int64{-1, int64(s[1] * r * r), int64(s[2] / r), int64(s[3] / r)}))})
	case graph.OpAdd, graph.OpSub, graph.OpMul:
		w.add(n, string(n.Op), in)
	case graph.OpConcat:
		w.add(n, "Concat", in, aInt("axis", int64(a.Axis)))
	case graph.OpResize:
		ins := []string{in[0], ""}
		if a.Scale != nil {
			ins = append(ins, w.constInit(n.Name, floatTensor("", []int{4}, []float32{1, 1, float32(a.Scale[0]), float32(a.Scale[1])})))
		} else {
			s := w.g.Node(in[0]).Shape
			ins = append(ins, "", w.constInit(n.Name, int64Tensor("", []int64{int64(s[0]), int64(s[1]), int64(a.Size[0]), int64(a.Size[1])})))
		}
		var attrs []*pb.AttributeProto
		switch {
		case a.Coord != "" && a.Mode == "linear":
			attrs = []*pb.AttributeProto{aStr("mode", "linear"), aStr("coordinate_transformation_mode", a.Coord)}
		case a.Coord != "":
			attrs = []*pb.AttributeProto{aStr("mode", "nearest"), aStr("coordinate_transformation_mode", a.Coord), aStr("nearest_mode", a.Round)}
		case a.Mode == "bilinear":
			ctm := "pytorch_half_pixel"
			if a.AlignCorners {
				ctm = "align_corners"
			}
			attrs = []*pb.AttributeProto{aStr("mode", "linear"), aStr("coordinate_transformation_mode", ctm)}
		case a.Mode == "nearest":
			attrs = []*pb.AttributeProto{aStr("mode", "nearest"), aStr("coordinate_transformation_mode", "asymmetric"), aStr("nearest_mode", "floor")}
		case a.Mode == "nearest-exact":
			attrs = []*pb.AttributeProto{aStr("mode", "nearest"), aStr("coordinate_transformation_mode", "half_pixel"), aStr("nearest_mode", "round_prefer_ceil")}
		default:
			return fmt.Errorf("resize mode %q has no ONNX form", a.Mode)
		}
		w.add(n, "Resize", ins, attrs...)
	case graph.OpPixelShuffle:
		w.add(n, "DepthToSpace", in, aInt("blocksize", int64(a.Factor)), aStr("mode", "CRD"))
	case graph.OpDepthToSpace:
		w.add(n, "DepthToSpace", in, aInt("blocksize", int64(a.Factor)), aStr("mode", "DCR"))
	case graph.OpSpaceToDepth:
		w.add(n, "SpaceToDepth", in, aInt("blocksize", int64(a.Factor)))
	case graph.OpAvgPool2d, graph.OpMaxPool2d:
		o, err := n.PoolOpts()
		if err != nil {
			return err
		}
		attrs := []*pb.AttributeProto{aInts("kernel_shape", o.Kernel[0], o.Kernel[1]), aInts("strides", o.Stride[0], o.Stride[1]),
			aInts("pads", o.Padding[0], o.Padding[1], o.Padding[0], o.Padding[1])}
		if o.CeilMode {
			attrs = append(attrs, aInt("ceil_mode", 1))
		}
		op := "MaxPool"
		if n.Op == graph.OpAvgPool2d {
			op = "AveragePool"
			cip := int64(1)
			if o.ExcludePad {
				cip = 0
			}
			attrs = append(attrs, aInt("count_include_pad", cip))
		} else {
			attrs = append(attrs, aInts("dilations", o.Dilation[0], o.Dilation[1]))
		}
		w.add(n, op, in, attrs...)
	case graph.OpBatchNorm2d:
		w.add(n, "BatchNormalization", []string{in[0], w.param(n, "weight"), w.param(n, "bias"), w.param(n, "running_mean"), w.param(n, "running_var")},
			aFloat("epsilon", a.Eps), aFloat("momentum", 1-a.Momentum))
		if n.Params["weight"] == "" || n.Params["bias"] == "" {
			return fmt.Errorf("BatchNorm2d without weight or bias has no ONNX form here")
		}
	case graph.OpReshape:
		s := make([]int64, len(n.Shape))
		for i, d := range n.Shape {
			s[i] = int64(d)
		}
		s[0] = 0 // keep the batch, whatever it is
		w.add(n, "Reshape", []string{in[0], w.constInit(n.Name, int64Tensor("", s))})
	case graph.OpTranspose:
		w.add(n, "Transpose", in, aInts("perm", a.Perm...))
	case graph.OpConst:
		t := w.g.Params[n.Params["value"]]
		w.gp.Node = append(w.gp.Node, &pb.NodeProto{Name: proto.String(n.Name), OpType: proto.String("Constant"), Output: []string{n.Name},
			Attribute: []*pb.AttributeProto{{Name: proto.String("value"), Type: pb.AttributeProto_TENSOR.Enum(), T: floatTensor("", t.Shape, t.Data)}}})
	case graph.OpPad:
		p, _, err := n.PadOpts()
		if err != nil {
			return err
		}
		mode := a.Mode
		if mode == "" {
			mode = "constant"
		}
		pads := w.constInit(n.Name, int64Tensor("", []int64{0, 0, int64(p[0]), int64(p[1]), 0, 0, int64(p[2]), int64(p[3])}))
		val := w.constInit(n.Name, floatTensor("", nil, []float32{a.Value}))
		w.add(n, "Pad", []string{in[0], pads, val}, aStr("mode", mode))
	default:
		return fmt.Errorf("no ONNX form for %s", n.Op)
	}
	return nil
}
