package data

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unicode/utf8"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"
)

// CIFAR-10 "python version" (cifar-10-python.tar.gz, the copy torchvision's
// datasets.CIFAR10 downloads): directory cifar-10-batches-py with the pickled
// files data_batch_1 .. data_batch_5, test_batch and batches.meta. Each batch
// is a dict {b'batch_label', b'labels': [int]*n, b'data': numpy uint8 array
// n x 3072, b'filenames'} written by Python 2's cPickle (protocol 2); the
// rows have the same R, G, B plane layout as the binary version.
const cifarPyDirName = "cifar-10-batches-py"

var (
	cifarPyTrainFiles = []string{"data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5"}
	cifarPyTestFile   = "test_batch"
)

// maxPickleBytes bounds the size of a pickled CIFAR batch read into memory
// (the official ones are 31 MB).
const maxPickleBytes = 1 << 30

// IsCIFAR10Dir reports which CIFAR-10 layout dir holds: "bin" for the binary
// version (data_batch_1.bin ...), "py" for the pickled python version
// (data_batch_1 ..., as torchvision stores it), or "" for neither.
func IsCIFAR10Dir(dir string) string {
	if isFile(filepath.Join(dir, "data_batch_1.bin")) && isFile(filepath.Join(dir, cifarTestFile)) {
		return "bin"
	}
	if isFile(filepath.Join(dir, "data_batch_1")) && isFile(filepath.Join(dir, cifarPyTestFile)) {
		return "py"
	}
	return ""
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// FindCIFAR10 looks for CIFAR-10 in dir: dir itself may be a
// cifar-10-batches-bin or cifar-10-batches-py directory, or contain one
// (torchvision's root=dir keeps dir/cifar-10-batches-py). It returns the
// directory and its layout ("bin" or "py"), or "", "" if there is none.
func FindCIFAR10(dir string) (path, layout string) {
	if k := IsCIFAR10Dir(dir); k != "" {
		return dir, k
	}
	for _, sub := range []string{cifarDirName, cifarPyDirName} {
		p := filepath.Join(dir, sub)
		if k := IsCIFAR10Dir(p); k != "" {
			return p, k
		}
	}
	return "", ""
}

// LoadCIFAR10Pickled reads the pickled python version of CIFAR-10 from dir
// (a cifar-10-batches-py directory): the five training batches and the
// test batch. Every batch must hold the same number of images (10000 in
// the official files).
func LoadCIFAR10Pickled(dir string) (*Dataset, error) {
	train := &CIFARSource{name: "cifar10-train"}
	per := -1
	for _, f := range cifarPyTrainFiles {
		n, err := train.readPickleFile(filepath.Join(dir, f))
		if err != nil {
			return nil, err
		}
		if per >= 0 && n != per {
			return nil, fmt.Errorf("%s: %d images, but %s has %d (mixed or corrupt batches?)", filepath.Join(dir, f), n, cifarPyTrainFiles[0], per)
		}
		per = n
	}
	test := &CIFARSource{name: "cifar10-test"}
	if _, err := test.readPickleFile(filepath.Join(dir, cifarPyTestFile)); err != nil {
		return nil, err
	}
	return &Dataset{Name: "cifar10", Train: train, Test: test}, nil
}

func (s *CIFARSource) readPickleFile(path string) (int, error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	if st.Size() > maxPickleBytes {
		return 0, fmt.Errorf("%s: %d bytes is too large for a CIFAR-10 batch", path, st.Size())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	labels, pix, err := ParseCIFAR10Pickle(path, b)
	if err != nil {
		return 0, err
	}
	s.labels = append(s.labels, labels...)
	s.pix = append(s.pix, pix...)
	return len(labels), nil
}

// ParseCIFAR10Pickle decodes one pickled CIFAR-10 batch (the content b of
// file name) and returns its labels and image bytes (n x 3072, the same
// layout as the binary version). It accepts the files as published
// (Python 2 cPickle, protocol 2) and the same dict re-pickled by Python 3
// with protocols 2 to 4. Only the globals that build numpy uint8 arrays are
// resolved; anything else in the pickle is an error, never code.
func ParseCIFAR10Pickle(name string, b []byte) (labels []uint8, pix []byte, err error) {
	if err := scanPickle(b); err != nil {
		return nil, nil, fmt.Errorf("%s: not a CIFAR-10 pickle: %v", name, err)
	}
	defer func() {
		if r := recover(); r != nil {
			labels, pix, err = nil, nil, fmt.Errorf("%s: corrupt pickle (%v)", name, r)
		}
	}()
	u := pickle.NewUnpickler(bytes.NewReader(b))
	u.FindClass = findCIFARClass
	v, err := u.Load()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: not a CIFAR-10 pickle: %v", name, err)
	}
	d, ok := v.(*types.Dict)
	if !ok {
		return nil, nil, fmt.Errorf("%s: the pickle holds a %T, not the dict of a CIFAR-10 batch", name, v)
	}
	dv, ok := dictGet(d, "data")
	if !ok {
		return nil, nil, fmt.Errorf("%s: no 'data' entry (not a CIFAR-10 batch; batches.meta?)", name)
	}
	arr, ok := dv.(*ndarray)
	if !ok || !arr.built {
		return nil, nil, fmt.Errorf("%s: 'data' is a %T, not a numpy array", name, dv)
	}
	if len(arr.shape) != 2 || arr.shape[1] != cifarImageBytes {
		return nil, nil, fmt.Errorf("%s: 'data' has shape %v, want (n, %d)", name, arr.shape, cifarImageBytes)
	}
	if arr.fortran {
		return nil, nil, fmt.Errorf("%s: 'data' is in Fortran order, want C order", name)
	}
	n := arr.shape[0]
	lv, ok := dictGet(d, "labels")
	if !ok {
		if _, fine := dictGet(d, "fine_labels"); fine {
			return nil, nil, fmt.Errorf("%s: this is CIFAR-100 (fine_labels), not CIFAR-10", name)
		}
		return nil, nil, fmt.Errorf("%s: no 'labels' entry", name)
	}
	ll, ok := lv.(*types.List)
	if !ok {
		return nil, nil, fmt.Errorf("%s: 'labels' is a %T, not a list", name, lv)
	}
	if ll.Len() != n {
		return nil, nil, fmt.Errorf("%s: %d labels for %d images", name, ll.Len(), n)
	}
	labels = make([]uint8, n)
	for i, x := range *ll {
		l, ok := x.(int)
		if !ok || l < 0 || l > 9 {
			return nil, nil, fmt.Errorf("%s: label %d is %v, not a class 0-9", name, i, x)
		}
		labels[i] = uint8(l)
	}
	return labels, arr.data, nil
}

// dictGet finds key in a pickled dict whose keys may be str (Python 2
// files, or Python 3 with encoding='latin1') or bytes.
func dictGet(d *types.Dict, key string) (any, bool) {
	for _, e := range *d {
		switch k := e.Key.(type) {
		case string:
			if k == key {
				return e.Value, true
			}
		case []byte:
			if string(k) == key {
				return e.Value, true
			}
		}
	}
	return nil, false
}

// findCIFARClass resolves the globals a pickled numpy array needs.
func findCIFARClass(module, name string) (any, error) {
	switch module + "." + name {
	case "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct":
		return reconstructFunc{}, nil
	case "numpy.ndarray":
		return ndarrayClass{}, nil
	case "numpy.dtype":
		return dtypeClass{}, nil
	case "_codecs.encode":
		return codecsEncode{}, nil
	}
	return nil, fmt.Errorf("unsupported global %s.%s", module, name)
}

type ndarrayClass struct{}

type reconstructFunc struct{}

// Call is numpy.core.multiarray._reconstruct(ndarray, (0,), b'b'): an empty
// array that BUILD fills.
func (reconstructFunc) Call(args ...any) (any, error) {
	if len(args) != 3 {
		return nil, fmt.Errorf("_reconstruct takes 3 arguments, got %d", len(args))
	}
	if _, ok := args[0].(ndarrayClass); !ok {
		return nil, fmt.Errorf("_reconstruct of %T, want numpy.ndarray", args[0])
	}
	return &ndarray{}, nil
}

// ndarray is a numpy uint8 array being unpickled.
type ndarray struct {
	shape   []int
	fortran bool
	data    []byte
	built   bool
}

// PySetState is ndarray.__setstate__((version, shape, dtype, is_fortran, rawdata)).
func (a *ndarray) PySetState(state any) error {
	t, ok := state.(*types.Tuple)
	if !ok || (t.Len() != 5 && t.Len() != 4) {
		return fmt.Errorf("numpy array state is %T, want a 4- or 5-tuple", state)
	}
	s := *t
	if len(s) == 5 {
		s = s[1:] // version
	}
	shp, ok := s[0].(*types.Tuple)
	if !ok {
		return fmt.Errorf("numpy array shape is %T", s[0])
	}
	n := 1
	for _, x := range *shp {
		d, ok := x.(int)
		if !ok || d < 0 || d > maxPickleBytes {
			return fmt.Errorf("numpy array dimension %v", x)
		}
		a.shape = append(a.shape, d)
		if n > maxPickleBytes/max(d, 1) {
			return fmt.Errorf("numpy array shape %v is too large", a.shape)
		}
		n *= d
	}
	dt, ok := s[1].(*dtype)
	if !ok {
		return fmt.Errorf("numpy array dtype is %T", s[1])
	}
	if dt.kind != "u1" && dt.kind != "|u1" {
		return fmt.Errorf("numpy array dtype %q, want uint8", dt.kind)
	}
	fortran, ok := s[2].(bool)
	if !ok {
		return fmt.Errorf("numpy array is_fortran is %T", s[2])
	}
	a.fortran = fortran
	switch raw := s[3].(type) {
	case string: // Python 2 str (BINSTRING)
		a.data = []byte(raw)
	case []byte: // Python 3 bytes
		a.data = raw
	default:
		return fmt.Errorf("numpy array data is %T, want raw bytes", s[3])
	}
	if len(a.data) != n {
		return fmt.Errorf("numpy array of shape %v holds %d bytes, want %d", a.shape, len(a.data), n)
	}
	a.built = true
	return nil
}

type dtypeClass struct{}

type dtype struct{ kind string }

// Call is numpy.dtype('u1', False, True).
func (dtypeClass) Call(args ...any) (any, error) {
	if len(args) < 1 {
		return nil, errors.New("numpy.dtype without arguments")
	}
	k, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("numpy.dtype(%T)", args[0])
	}
	return &dtype{kind: k}, nil
}

// PySetState accepts dtype.__setstate__ (byte order, field info...): for
// uint8 only the byte order '|' (not applicable) is meaningful.
func (d *dtype) PySetState(state any) error {
	t, ok := state.(*types.Tuple)
	if !ok || t.Len() < 2 {
		return fmt.Errorf("numpy dtype state is %T", state)
	}
	if bo, ok := t.Get(1).(string); !ok || (bo != "|" && bo != "<" && bo != "=") {
		return fmt.Errorf("numpy dtype byte order %v", t.Get(1))
	}
	return nil
}

type codecsEncode struct{}

// Call is _codecs.encode(str, 'latin1'), which Python 3 writes for bytes
// objects in protocol 2 pickles.
func (codecsEncode) Call(args ...any) (any, error) {
	if len(args) != 2 {
		return nil, fmt.Errorf("_codecs.encode takes 2 arguments, got %d", len(args))
	}
	s, ok1 := args[0].(string)
	enc, ok2 := args[1].(string)
	if !ok1 || !ok2 || (enc != "latin1" && enc != "latin-1") {
		return nil, fmt.Errorf("_codecs.encode(%T, %v)", args[0], args[1])
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r > 0xff || (r == utf8.RuneError && n == 1) {
			return nil, errors.New("_codecs.encode: character outside latin1")
		}
		out = append(out, byte(r))
		i += n
	}
	return out, nil
}

// scanPickle walks the opcodes of a pickle before it is unpickled and
// checks that every length argument fits in the rest of the data (the
// unpickler allocates the declared length before reading, so a hostile
// length must be caught here) and that only the opcodes of plain data and
// of globals (resolved by findCIFARClass) occur.
func scanPickle(b []byte) error {
	i := 0
	need := func(n int64) error {
		if n < 0 || n > int64(len(b)-i) {
			return fmt.Errorf("opcode at byte %d: length %d past the end (%d bytes left)", i, n, len(b)-i)
		}
		return nil
	}
	line := func() error {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return fmt.Errorf("opcode at byte %d: unterminated line", i)
		}
		i += j + 1
		return nil
	}
	for i < len(b) {
		op := b[i]
		i++
		var err error
		switch op {
		case '.': // STOP
			return nil
		case '(', '0', '1', '2', 'N', 'R', 'a', 'b', 'd', '}', 'e', 'l', ']', 'o', 's', 't', ')', 'u',
			0x81, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94:
		case 'F', 'I', 'L', 'g', 'p':
			// Numbers and memo keys: a long decimal line would cost quadratic parsing time.
			start := i
			if err = line(); err == nil && i-start > 64 {
				err = fmt.Errorf("opcode at byte %d: %d-character number", start-1, i-start)
			}
		case 'S', 'V':
			err = line()
		case 'c', 'i':
			if err = line(); err == nil {
				err = line()
			}
		case 'K', 'h', 'q', 0x80:
			err = need(1)
			i++
		case 'M':
			err = need(2)
			i += 2
		case 'J', 'j', 'r':
			err = need(4)
			i += 4
		case 'G':
			err = need(8)
			i += 8
		case 'U', 'C', 0x8a, 0x8c: // 1-byte length
			if err = need(1); err == nil {
				n := int64(b[i])
				i++
				if err = need(n); err == nil {
					i += int(n)
				}
			}
		case 'T', 'X', 'B', 0x8b: // 4-byte length (signed for T and LONG4)
			if err = need(4); err == nil {
				n := int64(binary.LittleEndian.Uint32(b[i:]))
				if op == 'T' || op == 0x8b {
					n = int64(int32(n))
				}
				i += 4
				if err = need(n); err == nil {
					i += int(n)
				}
			}
		case 0x8d, 0x8e, 0x96: // 8-byte length
			if err = need(8); err == nil {
				u := binary.LittleEndian.Uint64(b[i:])
				i += 8
				if u > uint64(len(b)) {
					err = fmt.Errorf("opcode at byte %d: length %d past the end", i, u)
				} else if err = need(int64(u)); err == nil {
					i += int(u)
				}
			}
		case 0x95: // FRAME: the frame's opcodes follow and are walked too
			if err = need(8); err == nil {
				u := binary.LittleEndian.Uint64(b[i:])
				i += 8
				if u > uint64(len(b)-i) {
					err = fmt.Errorf("frame of %d bytes past the end", u)
				}
			}
		default:
			return fmt.Errorf("unsupported pickle opcode 0x%02x at byte %d", op, i-1)
		}
		if err != nil {
			return err
		}
	}
	return errors.New("no STOP opcode (truncated?)")
}
