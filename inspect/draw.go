package inspect

import (
	"fmt"
	"html"
	"sort"
	"strconv"
	"strings"

	"github.com/vgfq/vgfq/tosa"
)

// node is one box of a drawing: a graph input, a (non-constant) operator or a graph output.
type node struct {
	id     string
	lines  []string
	kind   string // "input", "op", "output"
	layer  int
	pos    int
	source string
}

type edge struct {
	from, to int
	label    string
}

// layout builds the drawable graph: constants are folded into their consumers' labels. With q
// (quant.json), each int8 tensor's scale and zero point is written under its producer, and every
// RESCALE shows its multiplier and shift (first values for per-channel ones).
func (m *Model) layout(q *QuantInfo) ([]*node, []edge, error) {
	g := m.Graph
	if g == nil {
		return nil, nil, m.graphErr()
	}
	tm := g.TensorMap()
	isConst := map[string]bool{}
	for _, op := range g.Ops {
		if op != nil && (op.Op == tosa.OpConst || op.Op == tosa.OpConstShape) {
			for _, o := range op.Outputs {
				isConst[o] = true
			}
		}
	}
	tdesc := func(n string) string {
		if t := tm[n]; t != nil {
			return t.Type.String() + shape(t.Shape)
		}
		return "?"
	}
	qp := map[string]string{}
	if q != nil {
		for _, t := range q.Tensors {
			qp[t.Name] = fmt.Sprintf("scale %.4g, zp %d", t.Scale, t.ZP)
		}
	}
	qline := func(n string) string { return qp[q.name(n)] }
	var nodes []*node
	producer := map[string]int{}
	var edges []edge
	for i, n := range g.Inputs {
		producer[n] = len(nodes)
		nd := &node{id: "in" + strconv.Itoa(i), kind: "input", lines: []string{"input " + n, tdesc(n)}}
		if l := qline(n); l != "" {
			nd.lines = append(nd.lines, l)
		}
		nodes = append(nodes, nd)
	}
	for i, op := range g.Ops {
		if op == nil || op.Op == tosa.OpConst || op.Op == tosa.OpConstShape {
			continue
		}
		k := len(nodes)
		nd := &node{id: "op" + strconv.Itoa(i), kind: "op"}
		title := fmt.Sprintf("#%d %s", i, op.Op)
		nd.lines = append(nd.lines, title)
		var consts int
		layer := 0
		for _, in := range op.Inputs {
			if isConst[in] {
				consts++
				continue
			}
			if p, ok := producer[in]; ok {
				edges = append(edges, edge{from: p, to: k, label: tdesc(in)})
				layer = max(layer, nodes[p].layer+1)
			}
		}
		nd.layer = layer
		if len(op.Outputs) > 0 {
			nd.lines = append(nd.lines, op.Outputs[0]+" "+tdesc(op.Outputs[0]))
		}
		if consts > 0 {
			nd.lines = append(nd.lines, fmt.Sprintf("%d constant operand(s)", consts))
		}
		if q != nil && len(op.Outputs) > 0 {
			if op.Op == tosa.OpRescale {
				if l := rescaleLine(g, op); l != "" {
					nd.lines = append(nd.lines, l)
				}
			}
			if l := qline(op.Outputs[0]); l != "" {
				nd.lines = append(nd.lines, l)
			}
		}
		if i < len(m.Origin) && m.Origin[i] != "" {
			nd.source = m.Origin[i]
			nd.lines = append(nd.lines, "from "+m.Origin[i])
		}
		for _, o := range op.Outputs {
			producer[o] = k
		}
		nodes = append(nodes, nd)
	}
	for i, n := range g.Outputs {
		k := len(nodes)
		nd := &node{id: "out" + strconv.Itoa(i), kind: "output", lines: []string{"output " + n, tdesc(n)}}
		if l := qline(n); l != "" {
			nd.lines = append(nd.lines, l)
		}
		if p, ok := producer[n]; ok {
			edges = append(edges, edge{from: p, to: k})
			nd.layer = nodes[p].layer + 1
		}
		nodes = append(nodes, nd)
	}
	// Positions within layers, in creation (= topological) order.
	count := map[int]int{}
	for _, nd := range nodes {
		nd.pos = count[nd.layer]
		count[nd.layer]++
	}
	return nodes, edges, nil
}

// DOT returns the graph in Graphviz DOT: one box per operator (constants folded into it),
// ellipses for the graph inputs and outputs, edges labelled with the tensor type.
func (m *Model) DOT() (string, error) {
	nodes, edges, err := m.layout(nil)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("digraph tosa {\n  rankdir=TB;\n  node [shape=box, style=rounded, fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=8];\n")
	for _, nd := range nodes {
		attrs := ""
		switch nd.kind {
		case "input", "output":
			attrs = ", shape=ellipse, style=filled, fillcolor=\"#e8f0fe\""
		default:
			if c := opColor(nd.lines[0]); c != "" {
				attrs = ", style=\"rounded,filled\", fillcolor=\"" + c + "\""
			}
		}
		fmt.Fprintf(&b, "  %s [label=%s%s];\n", nd.id, dotQuote(strings.Join(nd.lines, "\n")), attrs)
	}
	for _, e := range edges {
		lab := ""
		if e.label != "" {
			lab = " [label=" + dotQuote(e.label) + "]"
		}
		fmt.Fprintf(&b, "  %s -> %s%s;\n", nodes[e.from].id, nodes[e.to].id, lab)
	}
	b.WriteString("}\n")
	return b.String(), nil
}

func dotQuote(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, `"`, `\"`)
	s = strings.ReplaceAll(s, "\n", `\n`)
	return `"` + s + `"`
}

// opColor highlights RESCALE and TRANSPOSE (the operators inspect counts).
func opColor(title string) string {
	switch {
	case strings.HasSuffix(title, " RESCALE"):
		return "#fff4d6"
	case strings.HasSuffix(title, " TRANSPOSE"):
		return "#fde2e2"
	}
	return ""
}

// SVG draws the graph as a standalone SVG image: operators in layers by their longest distance
// from the inputs, edges as curves with arrows. No external tools are involved.
func (m *Model) SVG() (string, error) { return m.SVGWithQuant(nil) }

// SVGWithQuant is SVG with the qparams of q (Model.QuantInfo) on the operators: every int8
// tensor's scale and zero point, every RESCALE's multiplier and shift.
func (m *Model) SVGWithQuant(q *QuantInfo) (string, error) {
	nodes, edges, err := m.layout(q)
	if err != nil {
		return "", err
	}
	const (
		boxW, lineH, padY, gapX, gapY, margin = 250, 14, 8, 30, 40, 20
	)
	layers := map[int][]*node{}
	maxLayer, maxLines := 0, 1
	for _, nd := range nodes {
		layers[nd.layer] = append(layers[nd.layer], nd)
		maxLayer = max(maxLayer, nd.layer)
		maxLines = max(maxLines, len(nd.lines))
	}
	boxH := maxLines*lineH + 2*padY
	widest := 0
	for _, l := range layers {
		widest = max(widest, len(l))
	}
	width := 2*margin + widest*boxW + (widest-1)*gapX
	height := 2*margin + (maxLayer+1)*boxH + maxLayer*gapY
	xy := func(nd *node) (x, y int) {
		n := len(layers[nd.layer])
		rowW := n*boxW + (n-1)*gapX
		x = (width-rowW)/2 + nd.pos*(boxW+gapX)
		y = margin + nd.layer*(boxH+gapY)
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif" font-size="11">`+"\n", width, height, width, height)
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>` + "\n")
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	sort.SliceStable(edges, func(i, j int) bool { return edges[i].from < edges[j].from })
	for _, e := range edges {
		x1, y1 := xy(nodes[e.from])
		x2, y2 := xy(nodes[e.to])
		x1, y1 = x1+boxW/2, y1+boxH
		x2 += boxW / 2
		dy := max((y2-y1)/2, gapY/2)
		fmt.Fprintf(&b, `<path d="M %d %d C %d %d, %d %d, %d %d" fill="none" stroke="#555" stroke-width="1.2" marker-end="url(#arrow)"/>`+"\n",
			x1, y1, x1, y1+dy, x2, y2-dy, x2, y2)
	}
	for _, nd := range nodes {
		x, y := xy(nd)
		fill, rx := "#f4f4f4", 6
		switch nd.kind {
		case "input", "output":
			fill, rx = "#e8f0fe", boxH/2
		default:
			if c := opColor(nd.lines[0]); c != "" {
				fill = c
			}
		}
		fmt.Fprintf(&b, `<g id="%s"><rect x="%d" y="%d" width="%d" height="%d" rx="%d" fill="%s" stroke="#333"/>`, nd.id, x, y, boxW, boxH, rx, fill)
		top := y + padY + (boxH-2*padY-len(nd.lines)*lineH)/2
		for i, l := range nd.lines {
			weight := ""
			if i == 0 {
				weight = ` font-weight="bold"`
			}
			fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle"%s>%s</text>`, x+boxW/2, top+(i+1)*lineH-3, weight, html.EscapeString(clip(l, 40)))
		}
		b.WriteString("</g>\n")
	}
	b.WriteString("</svg>\n")
	return b.String(), nil
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// rescaleLine is "mult M, shift S" of a RESCALE (the first channel's, "…" when per-channel).
func rescaleLine(g *tosa.Graph, op *tosa.Operator) string {
	if len(op.Inputs) < 3 {
		return ""
	}
	tm := g.TensorMap()
	get := func(n string) []int64 {
		t := tm[n]
		if t == nil || t.Data == nil {
			return nil
		}
		v, err := t.Ints()
		if err != nil {
			return nil
		}
		return v
	}
	mu, sh := get(op.Inputs[1]), get(op.Inputs[2])
	if len(mu) == 0 || len(sh) == 0 {
		return ""
	}
	more := ""
	if len(mu) > 1 {
		more = fmt.Sprintf(" (+%d ch)", len(mu)-1)
	}
	return fmt.Sprintf("mult %d, shift %d%s", mu[0], sh[0], more)
}
