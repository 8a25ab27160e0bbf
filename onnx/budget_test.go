package onnx

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	pb "github.com/vgfq/vgfq/onnx/onnxpb"
	"google.golang.org/protobuf/proto"
)

// foldBomb is a model of 1-3 KB whose constant folding asks for far more work than its
// size justifies: ConstantOfShape [2048, 2048] (4M values, each within the per-op limit), then
// a chain of n ops on it (each another 4M values, all held until the import ends).
func foldBomb(t *testing.T, op string, n int) []byte {
	g := &pb.GraphProto{Name: proto.String("bomb")}
	g.Initializer = append(g.Initializer, &pb.TensorProto{Name: proto.String("shape"), DataType: proto.Int32(int32(pb.TensorProto_INT64)), Dims: []int64{2}, Int64Data: []int64{2048, 2048}})
	g.Node = append(g.Node, &pb.NodeProto{OpType: proto.String("ConstantOfShape"), Input: []string{"shape"}, Output: []string{"c0"}, Name: proto.String("fill")})
	prev := "c0"
	for i := 0; i < n; i++ {
		out := fmt.Sprintf("c%d", i+1)
		node := &pb.NodeProto{OpType: proto.String(op), Input: []string{prev, prev}, Output: []string{out}, Name: proto.String(op + "_" + string(rune('a'+i%26)))}
		if op == "Concat" {
			node.Input = []string{"c0", "c0", "c0", "c0", "c0", "c0", "c0", "c0"}
			node.Attribute = []*pb.AttributeProto{{Name: proto.String("axis"), Type: pb.AttributeProto_INT.Enum(), I: proto.Int64(0)}}
		}
		g.Node = append(g.Node, node)
		prev = out
	}
	var sh pb.TensorShapeProto
	for _, v := range []int64{1, 3, 8, 8} {
		sh.Dim = append(sh.Dim, &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: v}})
	}
	g.Input = append(g.Input, &pb.ValueInfoProto{Name: proto.String("x"),
		Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: &pb.TypeProto_Tensor{ElemType: proto.Int32(1), Shape: &sh}}}})
	g.Node = append(g.Node, &pb.NodeProto{OpType: proto.String("Relu"), Input: []string{"x"}, Output: []string{"y"}})
	g.Output = append(g.Output, &pb.ValueInfoProto{Name: proto.String("y")})
	return encode(t, &pb.ModelProto{IrVersion: proto.Int64(8), Graph: g, OpsetImport: []*pb.OperatorSetIdProto{{Version: proto.Int64(17)}}})
}

// TestFoldBudget: constant folding is bounded by the model's size. Before the bound, a 992-byte
// model (ConstantOfShape and 40 Adds) took 7.4 s and 656 MB to import (on a loaded machine); now
// the node that would exceed it is named in a one-line error, and the import allocates little.
func TestFoldBudget(t *testing.T) {
	for _, c := range []struct {
		op, node string
	}{{"Add", `"Add_a"`}, {"Mul", `"Mul_a"`}, {"Concat", `"Concat_a"`}} {
		b := foldBomb(t, c.op, 40)
		if len(b) > 4096 {
			t.Fatalf("%s bomb is %d bytes", c.op, len(b))
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := Decode(b, "", Options{})
		runtime.ReadMemStats(&after)
		if err == nil || !strings.Contains(err.Error(), c.node) || !strings.Contains(err.Error(), "constant folding") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s chain: err = %v, want a one-line constant-folding limit error naming node %s", c.op, err, c.node)
		}
		if mb := (after.TotalAlloc - before.TotalAlloc) >> 20; mb > 64 {
			t.Errorf("%s chain: import allocated %d MB", c.op, mb)
		}
	}
}
