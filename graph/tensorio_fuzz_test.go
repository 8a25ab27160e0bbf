package graph_test

import (
	"bytes"
	"testing"

	"github.com/vgfq/vgfq/engine"
	"github.com/vgfq/vgfq/graph"
)

// FuzzReadTensors feeds arbitrary bytes to the safetensors reader used for weights.safetensors
// and optimizer.safetensors: an error or tensors whose data matches their shapes and fits in the
// input, never a panic.
func FuzzReadTensors(f *testing.F) {
	for _, ts := range []map[string]*engine.Tensor{
		{"w": engine.FromData([]float32{1, 2, 3, 4, 5, 6}, 2, 3), "b": engine.FromData([]float32{0.5}, 1)},
		{"one": engine.FromData([]float32{7}, 1, 1, 1, 1)},
		{},
	} {
		var b bytes.Buffer
		if err := graph.WriteTensors(&b, ts, map[string]string{"optimizer": "adamw"}); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
		f.Add(b.Bytes()[:b.Len()/2])
	}
	f.Add([]byte{8, 0, 0, 0, 0, 0, 0, 0, '{', '}'})
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, _, err := graph.ReadTensors(data)
		if err != nil {
			return
		}
		total := 0
		for name, x := range ts {
			if engine.NumElems(x.Shape) != len(x.Data) {
				t.Fatalf("tensor %q: shape %v with %d values", name, x.Shape, len(x.Data))
			}
			total += 4 * len(x.Data)
		}
		if total > len(data) {
			t.Fatalf("%d bytes of tensors from a %d-byte file", total, len(data))
		}
	})
}
