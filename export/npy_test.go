package export_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/vgfq/vgfq/export"
	"github.com/vgfq/vgfq/tosa"
)

// TestWriteNPYEqualsNumpy: the .npy files vgfq writes are byte-identical to numpy.save's
// (numpy 1.24.2, testdata/numpy_*.npy, written by
//
//	np.save('numpy_i8_1x4x4x3.npy', (np.arange(48, dtype=np.int64)*37 % 256 - 128).astype(np.int8).reshape(1,4,4,3))
//	np.save('numpy_i32_5.npy', np.array([-2147483648, -1, 0, 1, 2147483647], dtype=np.int32))
//
// ), and read back.
func TestWriteNPYEqualsNumpy(t *testing.T) {
	i8 := make([]int8, 48)
	for i := range i8 {
		i8[i] = int8(i*37%256 - 128)
	}
	for file, ten := range map[string]*tosa.Tensor{
		"testdata/numpy_i8_1x4x4x3.npy": {Name: "a", Shape: []int{1, 4, 4, 3}, Type: tosa.Int8, Data: tosa.Int8Data(i8)},
		"testdata/numpy_i32_5.npy":      {Name: "b", Shape: []int{5}, Type: tosa.Int32, Data: tosa.Int32Data([]int32{-2147483648, -1, 0, 1, 2147483647})},
	} {
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		got, err := export.EncodeNPY(ten)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: vgfq writes\n%q\nnumpy wrote\n%q", file, got, want)
		}
		back, err := export.ReadNPY(file, got)
		if err != nil || !bytes.Equal(back.Data, ten.Data) || back.Type != ten.Type {
			t.Errorf("%s: read back %v %v", file, back, err)
		}
	}
}
