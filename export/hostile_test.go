package export_test

import (
	"runtime"
	"strings"
	"testing"

	"github.com/vgfq/vgfq/export"
	"github.com/vgfq/vgfq/inspect"
	"github.com/vgfq/vgfq/tosa"
	"github.com/vgfq/vgfq/tosa/fast"
	"github.com/vgfq/vgfq/tosa/ref"
	"github.com/vgfq/vgfq/vgf"
)

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// hugeGraph declares a 2^40-element int8 tensor (1 TiB): x[2^20, 2^20] -> IDENTITY -> y. It is
// built without validation, as a hostile file would be.
func hugeGraph() *tosa.Graph {
	b := tosa.NewBuilder()
	x := b.Input("x", tosa.Int8, 1<<20, 1<<20)
	y := b.AddOpShaped(tosa.OpIdentity, tosa.Attr{}, []string{x}, "y", tosa.Int8, []int{1 << 20, 1 << 20})
	b.Output(y)
	return b.Graph()
}

// TestHostileHugeTensor: a .tosa or .vgf file of a few hundred bytes that declares a 2^40-element
// tensor decodes with allocations bounded by a small multiple of the file size, and every
// consumer (validation, both executors, the VGF graph decoder, inspect) refuses it with a clear
// error instead of trying to allocate a terabyte.
func TestHostileHugeTensor(t *testing.T) {
	g := hugeGraph()
	tb, err := tosa.Encode(g)
	if err != nil {
		t.Fatal(err)
	}
	m, err := export.BuildVGF(g, export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	vb, err := vgf.Encode(m.File)
	if err != nil {
		t.Fatal(err)
	}
	const want = "exceeds the 8K level size"
	bound := func(n int) uint64 { return uint64(64*n + 256<<10) }
	checkErr := func(what string, err error) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error containing %q", what, err, want)
		}
	}

	var dg *tosa.Graph
	if n := allocated(func() { dg, err = tosa.Decode(tb) }); err != nil || n > bound(len(tb)) {
		t.Fatalf(".tosa of %d bytes: decode allocated %d bytes (bound %d), err %v", len(tb), n, bound(len(tb)), err)
	}
	checkErr("tosa Validate", dg.Validate())
	_, err = fast.Compile(dg)
	checkErr("fast.Compile", err)
	_, err = ref.RunValues(dg, map[string]*ref.Value{"x": {Type: tosa.Int8, Shape: []int{1 << 20, 1 << 20}}})
	checkErr("ref.RunValues", err)

	var vf *vgf.File
	if n := allocated(func() { vf, err = vgf.Decode(vb) }); err != nil || n > bound(len(vb)) {
		t.Fatalf(".vgf of %d bytes: decode allocated %d bytes (bound %d), err %v", len(vb), n, bound(len(vb)), err)
	}
	var d any
	n := allocated(func() {
		dec, derr := export.DecodeGraph(vf)
		err = derr
		if derr == nil {
			d = dec
			err = dec.Graph.Validate()
		}
	})
	if n > bound(len(vb)) {
		t.Errorf(".vgf graph decode allocated %d bytes (bound %d)", n, bound(len(vb)))
	}
	checkErr("VGF graph", err)
	_ = d
	for name, b := range map[string][]byte{"m.tosa": tb, "m.vgf": vb} {
		var im *inspect.Model
		n := allocated(func() { im, err = inspect.Parse(name, b) })
		if n > bound(len(b)) {
			t.Errorf("inspect %s allocated %d bytes (bound %d)", name, n, bound(len(b)))
		}
		if err == nil {
			_, err = im.Inputs()
			if err == nil {
				im.Summarize()
			}
		}
		t.Logf("inspect %s (%d bytes): %v", name, len(b), err)
	}
	t.Logf(".tosa %d bytes, .vgf %d bytes", len(tb), len(vb))
}
