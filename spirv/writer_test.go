package spirv

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/vgfq/vgfq/tosa"
)

// canonicalForm renders a valid module independently of its id numbering, of the order of
// its types/constants section and of duplicated constants: every type or constant is named by
// its structure (recursively), an all-zero composite equals OpConstantNull, interface variables
// are named by descriptor set, binding and type, and graph-section values by position.
// Capabilities, extensions and names are compared as sets; the graph section in order.
func canonicalForm(m *Module) ([]string, error) {
	a, err := analyze(m)
	if err != nil {
		return nil, err
	}
	keys := map[uint32]string{}
	n := 0
	for _, g := range a.graphs {
		keys[g.id] = fmt.Sprintf("graph%d", n)
		for i := g.start + 1; i < g.end; i++ {
			in := m.Insts[i]
			if l, _ := LayoutOf(in); l.Result >= 0 {
				keys[in.Operands[l.Result]] = fmt.Sprintf("v%d", n)
				n++
			}
		}
	}
	isZero := func(id uint32) bool {
		c, _ := a.inst(id)
		switch c.Opcode {
		case OpConstantNull, OpConstantFalse:
			return true
		case OpConstant:
			for _, w := range c.Operands[2:] {
				if w != 0 {
					return false
				}
			}
			return true
		}
		return false
	}
	var key func(id uint32) string
	key = func(id uint32) string {
		if k, ok := keys[id]; ok {
			return k
		}
		in, _ := a.inst(id)
		l, _ := LayoutOf(in)
		var k string
		switch in.Opcode {
		case OpVariable:
			d := a.deco[id]
			k = fmt.Sprintf("var(set %d binding %d %s)", d[DecorationDescriptorSet], d[DecorationBinding], key(in.Operands[0]))
		case OpExtInstImport:
			s, _, _ := DecodeString(in.Operands[1:])
			k = "import " + s
		case OpConstantNull:
			k = "null(" + key(in.Operands[0]) + ")"
		default:
			if in.Opcode == OpConstantComposite {
				zero := true
				for _, p := range in.Operands[2:] {
					zero = zero && isZero(p)
				}
				if zero {
					k = "null(" + key(in.Operands[0]) + ")"
					break
				}
			}
			parts := []string{OpcodeName(in.Opcode)}
			refs := map[int]bool{}
			for _, r := range l.Refs {
				refs[r] = true
			}
			for i, w := range in.Operands {
				switch {
				case i == l.Result:
				case i == l.ResultType || refs[i]:
					parts = append(parts, key(w))
				default:
					parts = append(parts, fmt.Sprint(w))
				}
			}
			k = "(" + strings.Join(parts, " ") + ")"
		}
		keys[id] = k
		return k
	}
	var head, names, out []string
	for _, in := range m.Insts {
		switch in.Opcode {
		case OpCapability, OpExtension, OpMemoryModel:
			head = append(head, DisassembleInstruction(in))
		case OpName:
			s, _, _ := DecodeString(in.Operands[1:])
			names = append(names, fmt.Sprintf("name %s %q", key(in.Operands[0]), s))
		}
	}
	sort.Strings(head)
	sort.Strings(names)
	out = append(out, head...)
	out = append(out, names...)
	for _, e := range a.entries {
		parts := []string{"entry", e.name, key(e.graph)}
		for _, v := range e.iface {
			parts = append(parts, key(v))
		}
		out = append(out, strings.Join(parts, " "))
	}
	for _, g := range a.graphs {
		for i := g.start; i <= g.end; i++ {
			in := m.Insts[i]
			l, _ := LayoutOf(in)
			parts := []string{OpcodeName(in.Opcode)}
			refs := map[int]bool{}
			for _, r := range l.Refs {
				refs[r] = true
			}
			for k, w := range in.Operands {
				switch {
				case k == l.Result || k == l.ResultType || refs[k]:
					parts = append(parts, key(w))
				default:
					parts = append(parts, fmt.Sprint(w))
				}
			}
			out = append(out, strings.Join(parts, " "))
		}
	}
	return out, nil
}

// diffModules describes the first difference between two modules' listings.
func diffModules(got, want *Module) string {
	g := strings.Split(Disassemble(got), "\n")
	w := strings.Split(Disassemble(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n got: %s\nwant: %s\n--- got:\n%s", i, gl, wl, Disassemble(got))
		}
	}
	return "listings equal (header differs?)"
}

func equalCanonical(t *testing.T, what string, got, want *Module) {
	t.Helper()
	cg, err := canonicalForm(got)
	if err != nil {
		t.Fatalf("%s: written module: %v", what, err)
	}
	cw, err := canonicalForm(want)
	if err != nil {
		t.Fatalf("%s: reference module: %v", what, err)
	}
	if !reflect.DeepEqual(cg, cw) {
		for i := range cg {
			if i >= len(cw) || cg[i] != cw[i] {
				w := "<none>"
				if i < len(cw) {
					w = cw[i]
				}
				t.Fatalf("%s: canonical forms differ at %d:\n got: %s\nwant: %s", what, i, cg[i], w)
			}
		}
		t.Fatalf("%s: canonical forms differ in length %d vs %d", what, len(cg), len(cw))
	}
}

// TestWriteFixtures builds the TOSA graph of every fixture module and checks that the writer
// emits the same module: word for word where the fixture follows the writer's canonical
// order, after canonical structural renumbering for the hand-ordered conv2d_rescale_i8.
func TestWriteFixtures(t *testing.T) {
	files := fixtureFiles(t)
	for _, name := range sortedKeys(files) {
		c, ok := fixtureCases[name]
		if !ok {
			t.Errorf("fixture %s has no test graph", name)
			continue
		}
		want := readFixture(t, files[name])
		opt := c.opt
		opt.Generator = GeneratorSPIRVAssembler
		res, err := Write(fixtureGraph(t, name), opt)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		got, err := res.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		if err := Validate(res.Module); err != nil {
			t.Errorf("%s: written module does not validate: %v", name, err)
		}
		if dir := os.Getenv("SPIRV_DUMP_DIR"); dir != "" {
			if err := os.WriteFile(filepath.Join(dir, "fixture_"+strings.ReplaceAll(name, "/", "_")+".spv"), got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		wm, _ := Parse(want)
		if c.exact {
			if !bytes.Equal(got, want) {
				t.Errorf("%s: not byte-identical: %s", name, diffModules(res.Module, wm))
			}
			continue
		}
		equalCanonical(t, name, res.Module, wm)
	}
}

func TestWriteConstants(t *testing.T) {
	g := fixtureGraph(t, "ops/conv2d_f32")
	res, err := Write(g, fixtureCases["ops/conv2d_f32"].opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Constants) != 2 || res.Constants[0].ID != 0 || res.Constants[0].Name != "w" ||
		res.Constants[1].ID != 1 || res.Constants[1].Name != "bias" {
		t.Fatalf("constants %+v", res.Constants)
	}
	if !bytes.Equal(res.Constants[0].Data, g.Tensor("w").Data) || res.Constants[0].Type != tosa.FP32 ||
		!reflect.DeepEqual(res.Constants[0].Shape, []int{8, 3, 3, 3}) {
		t.Error("weights constant differs from the tensor")
	}
	if len(res.Inputs) != 1 || res.Inputs[0].Binding != 0 || len(res.Outputs) != 1 || res.Outputs[0].Binding != 1 {
		t.Errorf("bindings %+v %+v", res.Inputs, res.Outputs)
	}
	// Options: first binding, first constant id, entry point, default inline policy.
	res, err = Write(g, Options{FirstBinding: 5, FirstConstantID: 3, EntryPoint: "seg1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Constants) != 1 || res.Constants[0].ID != 3 || res.Inputs[0].Binding != 5 || res.Outputs[0].Binding != 6 {
		t.Errorf("constants %+v bindings %+v %+v", res.Constants, res.Inputs, res.Outputs)
	}
	spv, _ := res.Bytes()
	if _, err := Read(spv, ReadOptions{EntryPoint: "main"}); err == nil {
		t.Error("entry point main found in a module that names it seg1")
	}
	d, err := Read(spv, ReadOptions{EntryPoint: "seg1"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Inputs[0].Binding != 5 || d.Constants[0].ID != 3 {
		t.Errorf("read back %+v %+v", d.Inputs, d.Constants)
	}
	// INT48 and shape constants go to the VGF in their SPIR-V element layout.
	data, err := toVulkanData(tosa.Int48, tosa.Int48Data([]int64{-2, 1 << 40}), 2)
	if err != nil || !bytes.Equal(data, []byte{0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 1, 0, 0}) {
		t.Errorf("int48 data %x %v", data, err)
	}
	back, err := fromVulkanData(tosa.Int48, data, 2)
	if err != nil || !bytes.Equal(back, tosa.Int48Data([]int64{-2, 1 << 40})) {
		t.Errorf("int48 back %x %v", back, err)
	}
}

// graphsEquivalent compares two graphs up to tensor names: same interface types/shapes and
// the same non-constant operators (op, attributes) with inputs of the same type, shape and
// constant data.
func graphsEquivalent(a, b *tosa.Graph) error {
	ta, tb := a.TensorMap(), b.TensorMap()
	same := func(x, y *tosa.Tensor) error {
		if x.Type != y.Type && !(x.Type == tosa.Shape || y.Type == tosa.Shape) || !reflect.DeepEqual(x.Shape, y.Shape) {
			return fmt.Errorf("tensor %q %v%v vs %q %v%v", x.Name, x.Type, x.Shape, y.Name, y.Type, y.Shape)
		}
		if !bytes.Equal(x.Data, y.Data) {
			return fmt.Errorf("tensor %q data differs from %q", x.Name, y.Name)
		}
		return nil
	}
	if len(a.Inputs) != len(b.Inputs) || len(a.Outputs) != len(b.Outputs) {
		return fmt.Errorf("interface differs")
	}
	for i := range a.Inputs {
		if err := same(ta[a.Inputs[i]], tb[b.Inputs[i]]); err != nil {
			return err
		}
	}
	for i := range a.Outputs {
		if err := same(ta[a.Outputs[i]], tb[b.Outputs[i]]); err != nil {
			return fmt.Errorf("output %d: %w", i, err)
		}
	}
	ops := func(g *tosa.Graph) []*tosa.Operator {
		var r []*tosa.Operator
		for _, o := range g.Ops {
			if o.Op != tosa.OpConst && o.Op != tosa.OpConstShape {
				r = append(r, o)
			}
		}
		return r
	}
	oa, ob := ops(a), ops(b)
	if len(oa) != len(ob) {
		return fmt.Errorf("%d vs %d operators", len(oa), len(ob))
	}
	for i := range oa {
		if oa[i].Op != ob[i].Op || !reflect.DeepEqual(oa[i].Attr, ob[i].Attr) || len(oa[i].Inputs) != len(ob[i].Inputs) {
			return fmt.Errorf("operator %d: %v %+v vs %v %+v", i, oa[i].Op, oa[i].Attr, ob[i].Op, ob[i].Attr)
		}
		for j := range oa[i].Inputs {
			if err := same(ta[oa[i].Inputs[j]], tb[ob[i].Inputs[j]]); err != nil {
				return fmt.Errorf("operator %d input %d: %w", i, j, err)
			}
		}
		for j := range oa[i].Outputs {
			if err := same(ta[oa[i].Outputs[j]], tb[ob[i].Outputs[j]]); err != nil {
				return fmt.Errorf("operator %d output %d: %w", i, j, err)
			}
		}
	}
	return nil
}

// TestReadFixtures reads every fixture into a graph, re-writes it with the options the reader
// reports and checks the words are the fixture's (the hand-ordered fixture: canonically equal,
// and a fixed point of read+write); with the constants supplied the graph is the test graph.
func TestReadFixtures(t *testing.T) {
	files := fixtureFiles(t)
	for _, name := range sortedKeys(files) {
		spv := readFixture(t, files[name])
		d, err := Read(spv, ReadOptions{})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		res, err := Write(d.Graph, d.WriteOptions())
		if err != nil {
			t.Errorf("%s: re-write: %v", name, err)
			continue
		}
		got, _ := res.Bytes()
		wm, _ := Parse(spv)
		c := fixtureCases[name]
		if c.exact {
			if !bytes.Equal(got, spv) {
				t.Errorf("%s: re-written module differs: %s", name, diffModules(res.Module, wm))
			}
		} else {
			equalCanonical(t, name, res.Module, wm)
			d2, err := Read(got, ReadOptions{})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			res2, err := Write(d2.Graph, d2.WriteOptions())
			if err != nil {
				t.Fatal(err)
			}
			got2, _ := res2.Bytes()
			if !bytes.Equal(got, got2) {
				t.Errorf("%s: read+write is not a fixed point: %s", name, diffModules(res2.Module, res.Module))
			}
		}
		if c.build == nil {
			continue
		}
		// Supply the constants and compare with the test graph.
		g := fixtureGraph(t, name)
		wr, err := Write(g, c.opt)
		if err != nil {
			t.Fatal(err)
		}
		var consts [][]byte
		for _, k := range wr.Constants {
			for uint32(len(consts)) <= k.ID {
				consts = append(consts, nil)
			}
			consts[k.ID] = k.Data
		}
		if consts == nil {
			consts = [][]byte{}
		}
		d, err = Read(spv, ReadOptions{Constants: consts})
		if err != nil {
			t.Errorf("%s: read with constants: %v", name, err)
			continue
		}
		if err := graphsEquivalent(d.Graph, g); err != nil {
			t.Errorf("%s: read graph differs from the test graph: %v", name, err)
		}
		// tosa.Validate checks the PRO-INT profile: floating-point graphs are out of its scope.
		if name == "ops/conv2d_f32" {
			continue
		}
		if err := d.Graph.Validate(); err != nil {
			t.Errorf("%s: read graph does not validate: %v", name, err)
		}
	}
}

func TestReadNames(t *testing.T) {
	d, err := Read(readFixture(t, fixtureFiles(t)["clamp_i8"]), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !d.DebugNames || !reflect.DeepEqual(d.Graph.Inputs, []string{"input_0"}) || !reflect.DeepEqual(d.Graph.Outputs, []string{"output_0"}) {
		t.Errorf("names %v %v %v", d.DebugNames, d.Graph.Inputs, d.Graph.Outputs)
	}
	op := d.Graph.Ops[0]
	if op.Op != tosa.OpClamp || !bytes.Equal(op.Attr.ClampMin, []byte{0x80}) || !bytes.Equal(op.Attr.ClampMax, []byte{100}) || op.Attr.NanMode != tosa.NanPropagate {
		t.Errorf("clamp %+v", op)
	}
	// Debug names of constants and intermediate results survive a round trip.
	g := fixtureGraph(t, "conv2d_rescale_i8")
	res, err := Write(g, Options{DebugNames: true})
	if err != nil {
		t.Fatal(err)
	}
	spv, _ := res.Bytes()
	d, err = Read(spv, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tt := range d.Graph.Tensors {
		names = append(names, tt.Name)
	}
	sort.Strings(names)
	want := []string{"acc", "bias", "input_zp", "multiplier", "rs_input_zp", "rs_output_zp", "shift", "weight_zp", "weights", "x", "y"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("names %v, want %v", names, want)
	}
}
