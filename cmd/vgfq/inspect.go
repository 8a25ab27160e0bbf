package main

import (
	"errors"
	"os"

	"github.com/spf13/cobra"
	"github.com/vgfq/vgfq/inspect"
	"github.com/vgfq/vgfq/internal/atomicfile"
)

type inspectFlags struct {
	json, dot, svg, vgfDump, scenario, boundaries bool
	out                                           string
	modelExplorer                                 string
}

func newInspectCmd() *cobra.Command {
	var f inspectFlags
	c := &cobra.Command{
		Use:   "inspect FILE",
		Short: "Show what is inside a .vgf or .tosa file (summary, JSON, graph drawing, vgf_dump output)",
		Long: `inspect reads a .vgf or .tosa file (recognised by its content, not its name). For a VGF it
decodes the container and reads the GRAPH module's SPIR-V back into a TOSA graph, with the
weights from the VGF constants section. The default output is a readable summary: segments,
modules, resources, constants with sizes, then the graph as a list of TOSA operators with
shapes, attributes, zero points and RESCALE multipliers/shifts, and a count of the TRANSPOSE and
RESCALE operators with the float-graph node each came from (known for .tosa files and for .vgf
files exported with debug info).

  --json               the summary as JSON
  --dot                the graph in Graphviz DOT
  --svg                the graph as an SVG drawing (laid out by vgfq, no Graphviz needed), with
                       scales, zero points and RESCALE multipliers/shifts (from quant.json)
  --vgf-dump           exactly what Arm's 'vgf_dump -i FILE' prints
  --scenario-template  exactly what 'vgf_dump -i FILE --scenario-template' prints
  --model-explorer F   write the graph to F in Google Model Explorer's JSON graph format (open
                       it in Model Explorer without an adapter): shapes, qparams from the
                       quant.json next to FILE, RESCALE multipliers/shifts and sources`,
		Example: `  vgfq inspect output/model.vgf
  vgfq inspect output/model.tosa --svg -o graph.svg
  vgfq inspect output/model.vgf --vgf-dump
  vgfq inspect output/model.tosa --model-explorer graph.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return runInspect(args[0], &f)
		},
	}
	fl := c.Flags()
	fl.BoolVar(&f.json, "json", false, "print the summary as JSON")
	fl.BoolVar(&f.dot, "dot", false, "print the graph in Graphviz DOT")
	fl.BoolVar(&f.svg, "svg", false, "print the graph as SVG")
	fl.BoolVar(&f.vgfDump, "vgf-dump", false, "print vgf_dump's JSON (VGF only)")
	fl.BoolVar(&f.scenario, "scenario-template", false, "print vgf_dump's scenario template (VGF only)")
	fl.BoolVar(&f.boundaries, "scenario-template-add-boundaries", false, "with --scenario-template: add mark_boundary commands")
	fl.StringVarP(&f.out, "output", "o", "", "write to this file instead of standard output")
	fl.StringVar(&f.modelExplorer, "model-explorer", "", "write the graph in Model Explorer's JSON graph format to this file")
	return c
}

func runInspect(path string, f *inspectFlags) error {
	n := 0
	for _, b := range []bool{f.json, f.dot, f.svg, f.vgfDump, f.scenario, f.modelExplorer != ""} {
		if b {
			n++
		}
	}
	if n > 1 {
		return badInputf("use at most one of --json, --dot, --svg, --vgf-dump, --scenario-template, --model-explorer")
	}
	if f.boundaries && !f.scenario {
		return badInputf("--scenario-template-add-boundaries needs --scenario-template")
	}
	m, err := inspect.Load(path)
	if err != nil {
		return badInput(err)
	}
	if f.modelExplorer != "" {
		q, err := m.QuantInfo()
		if err != nil {
			return badInput(err)
		}
		doc, err := m.ModelExplorer(q)
		if err != nil {
			return badInput(err)
		}
		if err := atomicfile.WriteBytes(f.modelExplorer, doc, 0o644); err != nil {
			return badInputf("--model-explorer %s: %v", f.modelExplorer, err)
		}
		return nil
	}
	var out []byte
	switch {
	case f.json:
		out, err = m.JSON()
	case f.dot, f.svg:
		var s string
		if f.dot {
			s, err = m.DOT()
		} else {
			var q *inspect.QuantInfo
			if q, err = m.QuantInfo(); err == nil {
				s, err = m.SVGWithQuant(q)
			}
		}
		out = []byte(s)
	case f.vgfDump:
		out, err = m.VGFDump()
	case f.scenario:
		out, err = m.ScenarioTemplate(f.boundaries)
	default:
		var b bytesBuffer
		err = m.WriteText(&b)
		out = []byte(b)
	}
	if err != nil {
		return badInput(err)
	}
	if f.out != "" {
		if err := atomicfile.WriteBytes(f.out, out, 0o644); err != nil {
			return badInputf("-o %s: %v", f.out, err)
		}
		return nil
	}
	_, err = os.Stdout.Write(out)
	if err != nil && !errors.Is(err, os.ErrClosed) {
		return err
	}
	return nil
}

// bytesBuffer is a minimal io.Writer collecting bytes.
type bytesBuffer []byte

func (b *bytesBuffer) Write(p []byte) (int, error) { *b = append(*b, p...); return len(p), nil }
