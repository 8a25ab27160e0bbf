package quant

import (
	"bytes"
	"testing"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/zoo"
)

func preparedUpscaler(t testing.TB) *QAT {
	g, err := zoo.Upscaler(16, 16, 1)
	if err != nil {
		t.Fatal(err)
	}
	q, err := PrepareQAT(g, Options{}, QATConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// State round-trips, and LoadState rejects a state of another shape or with invalid values.
func TestQATStateRoundTrip(t *testing.T) {
	q := preparedUpscaler(t)
	x := engine.New(2, 3, 16, 16)
	for i := range x.Data {
		x.Data[i] = float32(i%17) / 17
	}
	if _, err := q.Exec(false).Forward(engine.Const(x)); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := graph.WriteTensors(&buf, q.State(), nil); err != nil {
		t.Fatal(err)
	}
	st, _, err := graph.ReadTensors(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	r := preparedUpscaler(t)
	if err := r.LoadState(st); err != nil {
		t.Fatal(err)
	}
	for i := range q.Act {
		if *q.Act[i] != *r.Act[i] {
			t.Fatalf("act %d: %+v after round trip, want %+v", i, *r.Act[i], *q.Act[i])
		}
	}
	if r.Images != 2 || len(r.Weights["conv2"].Scales) != 32 {
		t.Fatalf("images %d, conv2 scales %d", r.Images, len(r.Weights["conv2"].Scales))
	}
	st["act0"].Data[2] = -1 // negative scale
	if err := r.LoadState(st); err == nil {
		t.Error("negative scale accepted")
	}
	delete(st, "act0")
	if err := r.LoadState(st); err == nil {
		t.Error("missing tensor accepted")
	}
}

func FuzzQATState(f *testing.F) {
	q := preparedUpscaler(f)
	var buf bytes.Buffer
	graph.WriteTensors(&buf, q.State(), nil)
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		st, _, err := graph.ReadTensors(data)
		if err != nil {
			return
		}
		r := preparedUpscaler(t)
		_ = r.LoadState(st) // must not panic
	})
}
