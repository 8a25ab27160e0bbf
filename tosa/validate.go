package tosa

import "fmt"

// Validate checks the graph (topological order, operand lists and types, shapes, levels).
// Preliminary version: structural checks only; full checks follow.
func (g *Graph) Validate() error {
	seen := map[string]bool{}
	for _, n := range g.Inputs {
		seen[n] = true
	}
	for i, op := range g.Ops {
		for _, in := range op.Inputs {
			if !seen[in] {
				return fmt.Errorf("op %d %v: input %q is not produced before use", i, op.Op, in)
			}
		}
		for _, o := range op.Outputs {
			seen[o] = true
		}
	}
	return nil
}

// InferShape returns the output shape of op in g. Preliminary version: not yet implemented.
func InferShape(g *Graph, op *Operator) ([]int, error) {
	return nil, fmt.Errorf("InferShape: %v not implemented yet", op.Op)
}
