package ref

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/vgfq/vgfq/tosa"
	"github.com/vgfq/vgfq/tosa/internal/tosatest"
)

type fixtureCase struct {
	dir   string
	name  string // group/case
	group string
	c     caseJSON
	g     *tosa.Graph
}

func loadCase(t testing.TB, root, dir string) *fixtureCase {
	rel, _ := filepath.Rel(root, dir)
	fc := &fixtureCase{dir: dir, name: rel, group: strings.Split(rel, string(filepath.Separator))[0]}
	b, err := os.ReadFile(filepath.Join(dir, "case.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &fc.c); err != nil {
		t.Fatalf("%s: case.json: %v", rel, err)
	}
	buf, err := os.ReadFile(filepath.Join(dir, "model.tosa"))
	if err != nil {
		t.Fatal(err)
	}
	if fc.g, err = tosa.Decode(buf); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return fc
}

func (fc *fixtureCase) run(k int) (got, want *tosa.Tensor, err error) {
	in, err := readNpy(filepath.Join(fc.dir, fc.c.Inputs[k]), fc.c.InputName)
	if err != nil {
		return nil, nil, err
	}
	want, err = readNpy(filepath.Join(fc.dir, fc.c.Outputs[k]), fc.c.OutputName)
	if err != nil {
		return nil, nil, err
	}
	out, err := Run(fc.g, map[string]*tosa.Tensor{fc.c.InputName: in})
	if err != nil {
		return nil, want, err
	}
	got = out[fc.c.OutputName]
	if got == nil {
		return nil, want, fmt.Errorf("no output %q", fc.c.OutputName)
	}
	return got, want, nil
}

func TestFixtures(t *testing.T) {
	root := fixturesDir(t)
	passed := map[string]int{}
	total := map[string]int{}
	for _, dir := range fixtureCases(t) {
		fc := loadCase(t, root, dir)
		var ops []string
		for _, op := range fc.g.Ops {
			if op.Op != tosa.OpConst && op.Op != tosa.OpConstShape {
				ops = append(ops, op.Op.String())
			}
		}
		if strings.Join(ops, ",") != strings.Join(fc.c.GraphOps, ",") {
			t.Errorf("%s: graph ops %v, case.json says %v", fc.name, ops, fc.c.GraphOps)
		}
		for k := range fc.c.Inputs {
			total[fc.group]++
			got, want, err := fc.run(k)
			if err != nil {
				t.Errorf("%s input %d: %v", fc.name, k, err)
				continue
			}
			if got.Type != want.Type || fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) {
				t.Errorf("%s input %d: got %v %v, want %v %v", fc.name, k, got.Type, got.Shape, want.Type, want.Shape)
				continue
			}
			if string(got.Data) != string(want.Data) {
				gv, _ := got.Ints()
				wv, _ := want.Ints()
				n := 0
				first := -1
				for i := range gv {
					if gv[i] != wv[i] {
						if first < 0 {
							first = i
						}
						n++
					}
				}
				t.Errorf("%s input %d: %d of %d elements differ; first at %d: got %d, want %d", fc.name, k, n, len(gv), first, gv[first], wv[first])
				continue
			}
			passed[fc.group]++
		}
	}
	groups := make([]string, 0, len(total))
	for g := range total {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	for _, g := range groups {
		t.Logf("%-18s %d/%d runs bit-exact", g, passed[g], total[g])
	}
}

// FuzzRun decodes mutated fixture models and runs the valid ones on zero inputs: no panic may
// escape and errors must name the operator.
func FuzzRun(f *testing.F) {
	root := fixturesDir(f)
	for _, dir := range fixtureCases(f) {
		buf, err := os.ReadFile(filepath.Join(dir, "model.tosa"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(buf)
	}
	_ = root
	old := MaxElements
	MaxElements = 1 << 16
	defer func() { MaxElements = old }()
	f.Fuzz(func(t *testing.T, buf []byte) {
		g, err := tosa.Decode(buf)
		if err != nil || g.Validate() != nil {
			return
		}
		inputs := map[string]*Value{}
		for _, n := range g.Inputs {
			d := g.Tensor(n)
			inputs[n] = &Value{Shape: d.Shape, Type: d.Type, Data: make([]int64, d.NumElements())}
		}
		_, err = RunValues(g, inputs)
		if e, ok := err.(*OpError); ok && strings.Contains(e.Msg, "internal error") {
			t.Fatalf("interpreter panicked: %v", err)
		}
	})
}

// The shared fixture readers (tosa/internal/tosatest).
type caseJSON = tosatest.Case

func fixturesDir(t testing.TB) string                 { return tosatest.Dir(t) }
func fixtureCases(t testing.TB) []string              { return tosatest.Cases(t) }
func readNpy(path, name string) (*tosa.Tensor, error) { return tosatest.ReadNPY(path, name) }
