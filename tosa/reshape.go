package tosa

import "fmt"

// WithInputShapes returns a copy of g whose graph inputs have the given shapes (by input name;
// inputs not named keep theirs) and whose every operator output has the shape InferShape derives
// from them, in operator order. Constants and their data are shared with g, not copied. It is
// how a graph exported at one image size runs on another: TOSA shapes are static, but an
// operator's output shape follows from its inputs and attributes. Operators whose shape is fixed
// by a constant operand (RESHAPE with a constant shape, for example) make it fail with an error
// naming the operator, when the constant does not fit the new size.
func WithInputShapes(g *Graph, shapes map[string][]int) (*Graph, error) {
	ng := &Graph{Ops: g.Ops, Inputs: g.Inputs, Outputs: g.Outputs, Tensors: make([]*Tensor, len(g.Tensors))}
	index := map[string]int{}
	for i, t := range g.Tensors {
		c := *t
		c.Shape = append([]int(nil), t.Shape...)
		ng.Tensors[i] = &c
		index[t.Name] = i
	}
	for name, s := range shapes {
		i, ok := index[name]
		if !ok {
			return nil, fmt.Errorf("tosa: no tensor %q to reshape", name)
		}
		isInput := false
		for _, in := range g.Inputs {
			isInput = isInput || in == name
		}
		if !isInput {
			return nil, fmt.Errorf("tosa: %q is not a graph input", name)
		}
		if len(s) != len(ng.Tensors[i].Shape) {
			return nil, fmt.Errorf("tosa: input %q has rank %d, the new shape %v has rank %d", name, len(ng.Tensors[i].Shape), s, len(s))
		}
		ng.Tensors[i].Shape = append([]int(nil), s...)
	}
	for k, op := range g.Ops {
		if op == nil || op.Op == OpConst || op.Op == OpConstShape {
			continue
		}
		s, err := InferShape(ng, op)
		if err != nil {
			return nil, fmt.Errorf("tosa: operator #%d %v at the new input size: %v", k, op.Op, err)
		}
		for _, o := range op.Outputs {
			i, ok := index[o]
			if !ok {
				return nil, fmt.Errorf("tosa: operator #%d %v: unknown output tensor %q", k, op.Op, o)
			}
			ng.Tensors[i].Shape = append([]int(nil), s...)
		}
	}
	return ng, nil
}
