package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	pb "github.com/vgfq/vgfq/onnx/onnxpb"
)

// maxElems bounds any one tensor (initializer, constant, folded value): 256M values.
const maxElems = 1 << 28

// tensor is a constant: an initializer, a Constant node's value or a folded result. Float
// types keep their values in f (float32; float64 data is rounded), integer and bool types in i.
type tensor struct {
	dt    pb.TensorProto_DataType
	shape []int
	f     []float32
	i     []int64
	// q is set on a float tensor that is DequantizeLinear(QuantizeLinear(w)) of a constant: its
	// integer values and quantization (for QDQ weights).
	q *qtensor
}

type qtensor struct {
	dt     pb.TensorProto_DataType
	vals   []int64
	scales []float32
	zps    []int64
	axis   int // -1: per tensor
}

func (t *tensor) isFloat() bool {
	return t.dt == pb.TensorProto_FLOAT || t.dt == pb.TensorProto_DOUBLE || t.dt == pb.TensorProto_FLOAT16 || t.dt == pb.TensorProto_BFLOAT16
}

func (t *tensor) len() int { return numElems(t.shape) }

func numElems(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// floats returns the values as float32 (integers converted).
func (t *tensor) floats() []float32 {
	if t.isFloat() {
		return t.f
	}
	out := make([]float32, len(t.i))
	for k, v := range t.i {
		out[k] = float32(v)
	}
	return out
}

// ints returns the values as int64 (floats truncated).
func (t *tensor) ints() []int64 {
	if !t.isFloat() {
		return t.i
	}
	out := make([]int64, len(t.f))
	for k, v := range t.f {
		out[k] = int64(v)
	}
	return out
}

func dtName(dt pb.TensorProto_DataType) string {
	return strings.ToLower(pb.TensorProto_DataType_name[int32(dt)])
}

func elemSize(dt pb.TensorProto_DataType) int {
	switch dt {
	case pb.TensorProto_FLOAT, pb.TensorProto_INT32, pb.TensorProto_UINT32:
		return 4
	case pb.TensorProto_DOUBLE, pb.TensorProto_INT64, pb.TensorProto_UINT64:
		return 8
	case pb.TensorProto_FLOAT16, pb.TensorProto_BFLOAT16, pb.TensorProto_INT16, pb.TensorProto_UINT16:
		return 2
	case pb.TensorProto_INT8, pb.TensorProto_UINT8, pb.TensorProto_BOOL:
		return 1
	}
	return 0
}

// readTensor decodes a TensorProto. dir is the model's directory (for external data).
func readTensor(tp *pb.TensorProto, dir string) (*tensor, error) {
	dt := pb.TensorProto_DataType(tp.GetDataType())
	es := elemSize(dt)
	if es == 0 {
		return nil, fmt.Errorf("data type %s is not supported (float, double, float16, int8..int64, uint8..uint64, bool)", dtName(dt))
	}
	t := &tensor{dt: dt}
	n := 1
	for _, d := range tp.GetDims() {
		if d < 0 || d > maxElems {
			return nil, fmt.Errorf("dimension %d out of range", d)
		}
		t.shape = append(t.shape, int(d))
		n *= int(d)
		if n > maxElems {
			return nil, fmt.Errorf("tensor of shape %v is too large (more than %d values)", tp.GetDims(), maxElems)
		}
	}
	if tp.GetSegment() != nil {
		return nil, fmt.Errorf("segmented tensors are not supported")
	}
	raw := tp.GetRawData()
	hasRaw := tp.RawData != nil
	if tp.GetDataLocation() == pb.TensorProto_EXTERNAL {
		b, err := readExternal(tp, dir, n*es)
		if err != nil {
			return nil, err
		}
		raw, hasRaw = b, true
	}
	if hasRaw && len(raw) != n*es {
		return nil, fmt.Errorf("raw_data has %d bytes, want %d for shape %v (%s)", len(raw), n*es, t.shape, dtName(dt))
	}
	if !hasRaw {
		// Check the value count before allocating for the declared shape.
		var got int
		switch dt {
		case pb.TensorProto_FLOAT:
			got = len(tp.GetFloatData())
		case pb.TensorProto_DOUBLE:
			got = len(tp.GetDoubleData())
		case pb.TensorProto_INT64:
			got = len(tp.GetInt64Data())
		case pb.TensorProto_UINT32, pb.TensorProto_UINT64:
			got = len(tp.GetUint64Data())
		default:
			got = len(tp.GetInt32Data())
		}
		if got != n {
			return nil, fmt.Errorf("has %d values, want %d for shape %v", got, n, t.shape)
		}
	}
	if t.isFloat() {
		t.f = make([]float32, n)
	} else {
		t.i = make([]int64, n)
	}
	if hasRaw {
		le := binary.LittleEndian
		for k := 0; k < n; k++ {
			b := raw[k*es:]
			switch dt {
			case pb.TensorProto_FLOAT:
				t.f[k] = math.Float32frombits(le.Uint32(b))
			case pb.TensorProto_DOUBLE:
				t.f[k] = float32(math.Float64frombits(le.Uint64(b)))
			case pb.TensorProto_FLOAT16:
				t.f[k] = halfToFloat(le.Uint16(b))
			case pb.TensorProto_BFLOAT16:
				t.f[k] = math.Float32frombits(uint32(le.Uint16(b)) << 16)
			case pb.TensorProto_INT8:
				t.i[k] = int64(int8(b[0]))
			case pb.TensorProto_UINT8, pb.TensorProto_BOOL:
				t.i[k] = int64(b[0])
			case pb.TensorProto_INT16:
				t.i[k] = int64(int16(le.Uint16(b)))
			case pb.TensorProto_UINT16:
				t.i[k] = int64(le.Uint16(b))
			case pb.TensorProto_INT32:
				t.i[k] = int64(int32(le.Uint32(b)))
			case pb.TensorProto_UINT32:
				t.i[k] = int64(le.Uint32(b))
			case pb.TensorProto_INT64, pb.TensorProto_UINT64:
				t.i[k] = int64(le.Uint64(b))
			}
		}
		return t, nil
	}
	var got int
	switch dt {
	case pb.TensorProto_FLOAT:
		got = len(tp.GetFloatData())
		copy(t.f, tp.GetFloatData())
	case pb.TensorProto_DOUBLE:
		got = len(tp.GetDoubleData())
		for k, v := range tp.GetDoubleData() {
			if k < n {
				t.f[k] = float32(v)
			}
		}
	case pb.TensorProto_FLOAT16, pb.TensorProto_BFLOAT16:
		got = len(tp.GetInt32Data())
		for k, v := range tp.GetInt32Data() {
			if k < n {
				if dt == pb.TensorProto_FLOAT16 {
					t.f[k] = halfToFloat(uint16(v))
				} else {
					t.f[k] = math.Float32frombits(uint32(uint16(v)) << 16)
				}
			}
		}
	case pb.TensorProto_INT64:
		got = len(tp.GetInt64Data())
		copy(t.i, tp.GetInt64Data())
	case pb.TensorProto_UINT32, pb.TensorProto_UINT64:
		got = len(tp.GetUint64Data())
		for k, v := range tp.GetUint64Data() {
			if k < n {
				t.i[k] = int64(v)
			}
		}
	default:
		got = len(tp.GetInt32Data())
		for k, v := range tp.GetInt32Data() {
			if k < n {
				t.i[k] = int64(v)
			}
		}
	}
	if got != n {
		return nil, fmt.Errorf("has %d values, want %d for shape %v", got, n, t.shape)
	}
	return t, nil
}

// readExternal reads an initializer stored next to the model (data_location EXTERNAL): keys
// location (a relative path inside the model's directory), offset and length.
func readExternal(tp *pb.TensorProto, dir string, size int) ([]byte, error) {
	var loc string
	offset, length := int64(0), int64(-1)
	for _, kv := range tp.GetExternalData() {
		var err error
		switch kv.GetKey() {
		case "location":
			loc = kv.GetValue()
		case "offset":
			offset, err = strconv.ParseInt(kv.GetValue(), 10, 64)
		case "length":
			length, err = strconv.ParseInt(kv.GetValue(), 10, 64)
		}
		if err != nil {
			return nil, fmt.Errorf("external_data %s: %v", kv.GetKey(), err)
		}
	}
	if loc == "" {
		return nil, fmt.Errorf("external data has no location")
	}
	if dir == "" {
		return nil, fmt.Errorf("external data %q: the model was not read from a file, so there is no directory to find it in", loc)
	}
	clean := filepath.Clean(filepath.FromSlash(loc))
	if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return nil, fmt.Errorf("external data location %q must be a relative path inside the model's directory", loc)
	}
	if length >= 0 && length != int64(size) {
		return nil, fmt.Errorf("external data %q: length %d, want %d bytes", loc, length, size)
	}
	f, err := os.Open(filepath.Join(dir, clean))
	if err != nil {
		return nil, fmt.Errorf("external data: %v", err)
	}
	defer f.Close()
	if offset < 0 {
		return nil, fmt.Errorf("external data %q: negative offset", loc)
	}
	buf := make([]byte, size)
	if _, err := f.ReadAt(buf, offset); err != nil {
		return nil, fmt.Errorf("external data %q: reading %d bytes at offset %d: %v", loc, size, offset, err)
	}
	return buf, nil
}

func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := int(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		f := float32(mant) / 1024 * float32(math.Pow(2, -14))
		if sign != 0 {
			return -f
		}
		return f
	case exp == 31:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	return math.Float32frombits(sign | uint32(exp-15+127)<<23 | mant<<13)
}
