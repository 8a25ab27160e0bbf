package export_test

import (
	"testing"

	"github.com/vgfq/vgfq/export"
	"github.com/vgfq/vgfq/tosa"
)

// FuzzReadNPY: arbitrary bytes as a .npy file give an error or a tensor whose data matches its
// shape, never a panic or an allocation beyond the input size.
func FuzzReadNPY(f *testing.F) {
	for _, t := range []*tosa.Tensor{
		{Name: "x", Shape: []int{1, 2, 2, 3}, Type: tosa.Int8, Data: make([]byte, 12)},
		{Name: "y", Shape: []int{4}, Type: tosa.Int32, Data: make([]byte, 16)},
	} {
		b, err := export.EncodeNPY(t)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte("\x93NUMPY\x01\x00\x10\x00{'descr': '|i1'}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tt, err := export.ReadNPY("fuzz.npy", b)
		if err != nil {
			return
		}
		if n := tt.Type.DataSize(tosa.NumElements(tt.Shape)); n < 0 || len(tt.Data) != n || len(tt.Data) > len(b) {
			t.Fatalf("%v %v: %d data bytes from %d input bytes", tt.Type, tt.Shape, len(tt.Data), len(b))
		}
	})
}

// FuzzParseContract: arbitrary bytes as io.json give an error or a contract, never a panic.
func FuzzParseContract(f *testing.F) {
	f.Add([]byte(`{"format":"vgfq-io-contract/1","inputs":[{"name":"x","shape":[1,16,16,3],"scale":0.004,"zero_point":-128}],"outputs":[]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, b []byte) {
		export.ParseContract("io.json", b)
	})
}
