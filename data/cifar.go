package data

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
)

// CIFAR-10 binary format constants.
const (
	cifarSide       = 32
	cifarImageBytes = 3 * cifarSide * cifarSide
	// CIFARRecordBytes is the size of one CIFAR-10 binary record: one
	// label byte followed by 1024 red, 1024 green and 1024 blue bytes
	// (each plane row-major 32x32).
	CIFARRecordBytes = 1 + cifarImageBytes
	// CIFARFileRecords is the number of records in each official file.
	CIFARFileRecords = 10000
)

// CIFAR-10 binary file names inside cifar-10-batches-bin.
var (
	cifarTrainFiles = []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"}
	cifarTestFile   = "test_batch.bin"
)

// CIFARSource is a Source of CIFAR-10 images (32x32) held in memory as
// the original uint8 bytes and converted to float32 (byte/255, as
// torchvision's ToTensor) on Read.
type CIFARSource struct {
	name   string
	pix    []byte // n * 3072 image bytes, labels stripped
	labels []uint8
}

// ParseCIFAR10 parses the content b of a CIFAR-10 binary file called
// name (used in error messages). If wantRecords > 0 the file must hold
// exactly that many records; otherwise any whole number of records
// (including zero) is accepted. Labels above 9 are an error. The
// returned source copies nothing but the image bytes.
func ParseCIFAR10(name string, b []byte, wantRecords int) (*CIFARSource, error) {
	s := &CIFARSource{name: name}
	if err := s.append(name, b, wantRecords); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *CIFARSource) append(name string, b []byte, wantRecords int) error {
	if wantRecords > 0 && len(b) != wantRecords*CIFARRecordBytes {
		return cifarSizeError(name, int64(len(b)), wantRecords)
	}
	if len(b)%CIFARRecordBytes != 0 {
		return fmt.Errorf("%s: %d bytes, not a multiple of the %d-byte record size (truncated or corrupt?)", name, len(b), CIFARRecordBytes)
	}
	n := len(b) / CIFARRecordBytes
	for r := 0; r < n; r++ {
		if l := b[r*CIFARRecordBytes]; l > 9 {
			return fmt.Errorf("%s: record %d: label %d out of range 0-9 (corrupt file?)", name, r, l)
		}
	}
	if s.pix == nil {
		s.pix = make([]byte, 0, n*cifarImageBytes)
		s.labels = make([]uint8, 0, n)
	}
	for r := 0; r < n; r++ {
		rec := b[r*CIFARRecordBytes : (r+1)*CIFARRecordBytes]
		s.labels = append(s.labels, rec[0])
		s.pix = append(s.pix, rec[1:]...)
	}
	return nil
}

func cifarSizeError(name string, size int64, want int) error {
	hint := ""
	if size < int64(want)*CIFARRecordBytes {
		hint = " (truncated?)"
	}
	return fmt.Errorf("%s: %d bytes, not %d records of %d bytes%s", name, size, want, CIFARRecordBytes, hint)
}

// LoadCIFAR10Dir reads the official CIFAR-10 binary files
// (data_batch_1.bin .. data_batch_5.bin, 50000 training images, and
// test_batch.bin, 10000 test images) from dir, validating their sizes
// and labels.
func LoadCIFAR10Dir(dir string) (*Dataset, error) {
	return loadCIFAR10Dir(dir, CIFARFileRecords)
}

// loadCIFAR10Dir is LoadCIFAR10Dir with a given number of records per
// file (tests use small files).
func loadCIFAR10Dir(dir string, records int) (*Dataset, error) {
	// Check all sizes before allocating 150 MB.
	for _, f := range append(slices.Clone(cifarTrainFiles), cifarTestFile) {
		p := filepath.Join(dir, f)
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if st.Size() != int64(records)*CIFARRecordBytes {
			return nil, cifarSizeError(p, st.Size(), records)
		}
	}
	train := &CIFARSource{name: "cifar10-train", pix: make([]byte, 0, len(cifarTrainFiles)*records*cifarImageBytes)}
	for _, f := range cifarTrainFiles {
		if err := train.readFile(filepath.Join(dir, f), records); err != nil {
			return nil, err
		}
	}
	test := &CIFARSource{name: "cifar10-test"}
	if err := test.readFile(filepath.Join(dir, cifarTestFile), records); err != nil {
		return nil, err
	}
	return &Dataset{Name: "cifar10", Train: train, Test: test}, nil
}

func (s *CIFARSource) readFile(path string, records int) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	// Check the size before reading so a huge bogus file is not loaded.
	if st.Size() != int64(records)*CIFARRecordBytes {
		return cifarSizeError(path, st.Size(), records)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return s.append(path, b, records)
}

// Len returns the number of images.
func (s *CIFARSource) Len() int { return len(s.labels) }

// Size returns 32, 32.
func (s *CIFARSource) Size() (h, w int) { return cifarSide, cifarSide }

// Label returns the class label (0-9) of image i.
func (s *CIFARSource) Label(i int) int { return int(s.labels[i]) }

// Read converts image i to float32 CHW in dst. rng is ignored: CIFAR
// images are used whole.
func (s *CIFARSource) Read(i int, rng *rand.Rand, dst []float32) error {
	if err := checkRead(s.name, i, len(s.labels), dst, cifarSide, cifarSide); err != nil {
		return err
	}
	src := s.pix[i*cifarImageBytes : (i+1)*cifarImageBytes]
	dst = dst[:cifarImageBytes]
	for k, v := range src {
		dst[k] = float32(v) / 255
	}
	return nil
}
