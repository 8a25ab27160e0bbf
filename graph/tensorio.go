package graph

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"sort"

	"github.com/nlpodyssey/safetensors"
	"github.com/vgfq/vgfq/engine"
)

// MaxTensorFileSize bounds the safetensors files vgfq reads (1 GiB): larger files are refused
// before anything is allocated for them.
const MaxTensorFileSize = 1 << 30

// WriteTensors writes named float32 tensors as a safetensors file (tensors sorted by name, so
// the bytes are deterministic). meta is stored in the __metadata__ header.
func WriteTensors(w io.Writer, tensors map[string]*engine.Tensor, meta map[string]string) error {
	views := make(map[string]safetensors.TensorView, len(tensors))
	names := make([]string, 0, len(tensors))
	for name := range tensors {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t := tensors[name]
		if engine.NumElems(t.Shape) != len(t.Data) {
			return fmt.Errorf("tensor %q: %d values for shape %v", name, len(t.Data), t.Shape)
		}
		buf := make([]byte, 4*len(t.Data))
		for i, v := range t.Data {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
		shape := make([]uint64, len(t.Shape))
		for i, d := range t.Shape {
			shape[i] = uint64(d)
		}
		v, err := safetensors.NewTensorView(safetensors.F32, shape, buf)
		if err != nil {
			return fmt.Errorf("tensor %q: %v", name, err)
		}
		views[name] = v
	}
	return safetensors.SerializeToWriter(views, meta, w)
}

// ReadTensors parses a safetensors file holding float32 tensors. Every problem is reported as an
// error (never a panic): bad header, unsupported dtype, sizes that do not match shapes.
func ReadTensors(data []byte) (tensors map[string]*engine.Tensor, meta map[string]string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("corrupt safetensors data: %v", r)
		}
	}()
	if len(data) > MaxTensorFileSize {
		return nil, nil, fmt.Errorf("%d bytes is larger than the %d-byte limit", len(data), MaxTensorFileSize)
	}
	st, err := safetensors.Deserialize(data)
	if err != nil {
		return nil, nil, fmt.Errorf("not a valid safetensors file: %v", err)
	}
	_, md, err := safetensors.ReadMetadata(data)
	if err != nil {
		return nil, nil, fmt.Errorf("not a valid safetensors file: %v", err)
	}
	tensors = map[string]*engine.Tensor{}
	for _, nv := range st.Tensors() {
		v := nv.TensorView
		if v.DType() != safetensors.F32 {
			return nil, nil, fmt.Errorf("tensor %q has dtype %s; vgfq stores F32 only", nv.Name, v.DType())
		}
		shape := make([]int, len(v.Shape()))
		n := 1
		for i, d := range v.Shape() {
			if d > MaxTensorFileSize {
				return nil, nil, fmt.Errorf("tensor %q: dimension %d too large", nv.Name, d)
			}
			shape[i] = int(d)
			n *= int(d)
			if n > MaxTensorFileSize {
				return nil, nil, fmt.Errorf("tensor %q: shape %v too large", nv.Name, v.Shape())
			}
		}
		raw := v.Data()
		if len(raw) != 4*n {
			return nil, nil, fmt.Errorf("tensor %q: %d bytes for shape %v", nv.Name, len(raw), shape)
		}
		t := &engine.Tensor{Shape: shape, Data: make([]float32, n)}
		for i := range t.Data {
			t.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		tensors[nv.Name] = t
	}
	return tensors, md.Metadata(), nil
}
