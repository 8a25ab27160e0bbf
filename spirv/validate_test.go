package spirv

import (
	"strings"
	"testing"

	"github.com/vgfq/vgfq/tosa"
)

func TestValidateFixtures(t *testing.T) {
	for name, p := range fixtureFiles(t) {
		m, err := Parse(readFixture(t, p))
		if err != nil {
			t.Fatal(err)
		}
		if err := Validate(m); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// find returns the index of the first instruction with opcode op (and, for OpExtInst, TOSA
// instruction number ext).
func find(m *Module, op uint16, ext int) int {
	for i, in := range m.Insts {
		if in.Opcode == op && (ext < 0 || in.Operands[3] == uint32(ext)) {
			return i
		}
	}
	return -1
}

func cloneModule(m *Module) *Module {
	c := *m
	c.Insts = make([]Instruction, len(m.Insts))
	for i, in := range m.Insts {
		c.Insts[i] = Instruction{in.Opcode, append([]uint32(nil), in.Operands...)}
	}
	return &c
}

// TestValidateErrors breaks the clamp and conv fixtures in the ways spirv-graph.md §7 lists and
// checks each is rejected (by Validate and so by Read) with a message naming the problem.
func TestValidateErrors(t *testing.T) {
	files := fixtureFiles(t)
	clamp, _ := Parse(readFixture(t, files["clamp_i8"]))
	conv, _ := Parse(readFixture(t, files["conv2d_rescale_i8"]))
	cases := []struct {
		name   string
		base   *Module
		mutate func(m *Module)
		want   string
	}{
		{"ext number", clamp, func(m *Module) { m.Insts[find(m, OpExtInst, 10)].Operands[3] = 99 }, "invalid TOSA instruction number"},
		{"operand count", clamp, func(m *Module) {
			i := find(m, OpExtInst, 10)
			m.Insts[i].Operands = m.Insts[i].Operands[:len(m.Insts[i].Operands)-1]
		}, "operands, want"},
		{"undefined id", clamp, func(m *Module) { m.Insts[find(m, OpExtInst, 10)].Operands[4] = 999 }, "not defined"},
		{"use before definition", clamp, func(m *Module) {
			// CLAMP's input becomes its own result
			i := find(m, OpExtInst, 10)
			m.Insts[i].Operands[len(m.Insts[i].Operands)-1] = m.Insts[i].Operands[1]
		}, "before its definition"},
		{"duplicate id", clamp, func(m *Module) {
			i := find(m, OpTypeInt, -1)
			m.Insts[i+1].Operands[0] = m.Insts[i].Operands[0]
		}, "defined twice"},
		{"attr not constant", clamp, func(m *Module) {
			i := find(m, OpExtInst, 10)
			m.Insts[i].Operands[6] = m.Insts[i].Operands[7] // nan_mode := the input value
		}, "is not a constant"},
		{"attr wrong type", clamp, func(m *Module) {
			i := find(m, OpExtInst, 10)
			m.Insts[i].Operands[4] = m.Insts[i].Operands[6] // min_val := a u32 constant
		}, "input element type"},
		{"no end", clamp, func(m *Module) { m.Insts = m.Insts[:len(m.Insts)-1] }, "no OpGraphEndARM"},
		{"output not set", clamp, func(m *Module) {
			i := find(m, OpGraphSetOutputARM, -1)
			m.Insts = append(m.Insts[:i], m.Insts[i+1:]...)
		}, "not set"},
		{"output type", conv, func(m *Module) {
			i := find(m, OpGraphSetOutputARM, -1)
			m.Insts[i].Operands[0] = m.Insts[find(m, OpExtInst, 2)].Operands[1] // the i32 conv result
		}, "differs from the graph type"},
		{"input index", clamp, func(m *Module) {
			i := find(m, OpGraphInputARM, -1)
			m.Insts[i].Operands[2] = m.Insts[find(m, OpExtInst, 10)].Operands[6] // %uint 1 (nan_mode)
		}, "out of range"},
		{"no binding", clamp, func(m *Module) {
			for i := len(m.Insts) - 1; i >= 0; i-- {
				if m.Insts[i].Opcode == OpDecorate && m.Insts[i].Operands[1] == DecorationBinding {
					m.Insts = append(m.Insts[:i], m.Insts[i+1:]...)
					break
				}
			}
		}, "no Binding"},
		{"no entry point", clamp, func(m *Module) {
			i := find(m, OpGraphEntryPointARM, -1)
			m.Insts = append(m.Insts[:i], m.Insts[i+1:]...)
		}, "no OpGraphEntryPointARM"},
		{"interface count", clamp, func(m *Module) {
			i := find(m, OpGraphEntryPointARM, -1)
			m.Insts[i].Operands = m.Insts[i].Operands[:len(m.Insts[i].Operands)-1]
		}, "interface variables"},
		{"layout order", clamp, func(m *Module) {
			i, j := find(m, OpExtension, -1), find(m, OpCapability, -1)
			m.Insts[i], m.Insts[j] = m.Insts[j], m.Insts[i]
		}, "logical layout order"},
		{"constant in graph", clamp, func(m *Module) {
			i := find(m, OpGraphInputARM, -1)
			c := m.Insts[find(m, OpConstant, -1)]
			c.Operands[1] = m.Bound
			m.Bound++
			m.Insts = append(m.Insts[:i+1], append([]Instruction{c}, m.Insts[i+1:]...)...)
		}, "logical layout order"},
		{"composite count", conv, func(m *Module) {
			for i, in := range m.Insts {
				if in.Opcode == OpConstantComposite && len(in.Operands) == 10 && m.Insts[i-1].Opcode == OpConstant {
					m.Insts[i].Operands = in.Operands[:9]
					return
				}
			}
			t.Fatal("no bias composite")
		}, "constituents"},
		{"missing capability", conv, func(m *Module) {
			i := find(m, OpCapability, -1)
			m.Insts[i+1].Operands[0] = CapShader // Int8 → Shader
		}, "needs capability"},
		{"graph constant id twice", conv, func(m *Module) {
			i := find(m, OpGraphConstantARM, -1)
			c := m.Insts[i]
			c.Operands = []uint32{c.Operands[0], m.Bound, 0}
			m.Bound++
			m.Insts = append(m.Insts[:i+1], append([]Instruction{c}, m.Insts[i+1:]...)...)
		}, "GraphConstantID 0 used twice"},
	}
	for _, c := range cases {
		m := cloneModule(c.base)
		c.mutate(m)
		err := Validate(m)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
			continue
		}
		b, err := m.Bytes()
		if err != nil {
			continue
		}
		if _, err := Read(b, ReadOptions{}); err == nil {
			t.Errorf("%s: Read accepted the module", c.name)
		}
	}
}

func TestWriteErrors(t *testing.T) {
	base := func() *tosa.Builder {
		b := tosa.NewBuilder()
		b.Input("x", tosa.Int8, 1, 4, 4, 3)
		return b
	}
	cases := map[string]func() *tosa.Graph{
		"zero point not constant": func() *tosa.Graph {
			b := base()
			b.Input("zp", tosa.Int8, 1)
			b.Output(b.AddOpShaped(tosa.OpAvgPool2D, tosa.Attr{Kernel: []int{2, 2}, Stride: []int{2, 2}, Pad: []int{0, 0, 0, 0}, AccType: tosa.Int32},
				[]string{"x", "zp", "zp"}, "y", tosa.Int8, nhwc(1, 2, 2, 3)))
			return b.Graph()
		},
		"empty attribute": func() *tosa.Graph {
			b := base()
			b.Output(b.AddOpShaped(tosa.OpTranspose, tosa.Attr{}, []string{"x"}, "y", tosa.Int8, nhwc(1, 4, 4, 3)))
			return b.Graph()
		},
		"bad acc type": func() *tosa.Graph {
			b := base()
			b.Output(b.AddOpShaped(tosa.OpAvgPool2D, tosa.Attr{Kernel: []int{2, 2}, Stride: []int{2, 2}, Pad: []int{0, 0, 0, 0}, AccType: tosa.Int8},
				[]string{"x", b.AddConst("z", tosa.Int8, []int{1}, i8(0)), "z"}, "y", tosa.Int8, nhwc(1, 2, 2, 3)))
			return b.Graph()
		},
		"rank 0": func() *tosa.Graph {
			b := tosa.NewBuilder()
			x := b.Input("x", tosa.Int32)
			b.Output(b.AddOpShaped(tosa.OpAbs, tosa.Attr{}, []string{x}, "y", tosa.Int32, nil))
			return b.Graph()
		},
		"int4": func() *tosa.Graph {
			b := tosa.NewBuilder()
			x := b.Input("x", tosa.Int4, 4)
			b.Output(b.AddOpShaped(tosa.OpAbs, tosa.Attr{}, []string{x}, "y", tosa.Int4, []int{4}))
			return b.Graph()
		},
		"unsupported op": func() *tosa.Graph {
			b := base()
			b.Output(b.AddOpShaped(tosa.OpCustom, tosa.Attr{}, []string{"x"}, "y", tosa.Int8, nhwc(1, 4, 4, 3)))
			return b.Graph()
		},
		"clamp bytes": func() *tosa.Graph {
			b := base()
			b.Output(b.AddOpShaped(tosa.OpClamp, tosa.Attr{ClampMin: i8(1, 2), ClampMax: i8(3)}, []string{"x"}, "y", tosa.Int8, nhwc(1, 4, 4, 3)))
			return b.Graph()
		},
		"no outputs": func() *tosa.Graph { return base().Graph() },
		"wrong input count": func() *tosa.Graph {
			b := base()
			b.Output(b.AddOpShaped(tosa.OpAdd, tosa.Attr{}, []string{"x"}, "y", tosa.Int8, nhwc(1, 4, 4, 3)))
			return b.Graph()
		},
	}
	for name, mk := range cases {
		if _, err := Write(mk(), Options{}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
