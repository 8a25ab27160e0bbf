package graph

import "fmt"

// WithInputSize returns a copy of g (nodes copied, parameters shared, not cloned) whose single
// N x C x H x W input is declared h x w, with every node's shape inferred again. It is how a
// model trained on crops runs on whole images: the float graph's operators follow the input
// size, and InferShapes names the first node that cannot (a Reshape to fixed sizes, say).
func (g *Graph) WithInputSize(h, w int) (*Graph, error) {
	ins := g.Inputs()
	if len(ins) != 1 || len(ins[0].Attrs.Shape) != 4 {
		return nil, fmt.Errorf("graph %q: WithInputSize needs one 4-D (N x C x H x W) input", g.Name)
	}
	if h < 1 || w < 1 {
		return nil, fmt.Errorf("graph %q: invalid input size %dx%d", g.Name, h, w)
	}
	c := &Graph{Name: g.Name, Outputs: g.Outputs, Params: g.Params, Meta: g.Meta}
	for _, n := range g.Nodes {
		m := *n
		if n.Op == OpInput {
			m.Attrs.Shape = append([]int(nil), n.Attrs.Shape...)
			m.Attrs.Shape[2], m.Attrs.Shape[3] = h, w
		}
		c.Nodes = append(c.Nodes, &m)
	}
	if err := c.InferShapes(); err != nil {
		return nil, fmt.Errorf("at input size %dx%d: %w", h, w, err)
	}
	return c, nil
}
