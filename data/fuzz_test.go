package data

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"strings"
	"testing"
)

// FuzzCIFARReader feeds arbitrary bytes to the CIFAR-10 parser: it must
// return an error or valid records, never panic. It allocates at most
// the input size.
func FuzzCIFARReader(f *testing.F) {
	f.Add(cifarRecords(2, 3))
	f.Add(cifarRecords(1, 0)[:100])
	f.Add([]byte{})
	bad := cifarRecords(2, 0)
	bad[CIFARRecordBytes] = 200
	f.Add(bad)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, want := range []int{0, 1, 2} {
			s, err := ParseCIFAR10("fuzz.bin", b, want)
			if err != nil {
				continue
			}
			if len(b)%CIFARRecordBytes != 0 || s.Len() != len(b)/CIFARRecordBytes || (want > 0 && s.Len() != want) {
				t.Fatalf("accepted %d bytes as %d records (want %d)", len(b), s.Len(), want)
			}
			dst := make([]float32, 3*32*32)
			for i := 0; i < s.Len(); i++ {
				if l := s.Label(i); l < 0 || l > 9 {
					t.Fatalf("label %d", l)
				}
				if err := s.Read(i, nil, dst); err != nil {
					t.Fatal(err)
				}
				for k, v := range dst {
					if v < 0 || v > 1 || v != float32(b[i*CIFARRecordBytes+1+k])/255 {
						t.Fatalf("record %d byte %d: %v", i, k, v)
					}
				}
			}
		}
	})
}

// FuzzDecodeImage feeds arbitrary bytes to the folder image decoder: it
// must return an error or a consistent RGB image, never panic, and it
// refuses images above the pixel limit before allocating them.
func FuzzDecodeImage(f *testing.F) {
	small := image.NewNRGBA(image.Rect(0, 0, 5, 3))
	for i := range small.Pix {
		small.Pix[i] = uint8(i * 37)
	}
	var pb, jb, gb bytes.Buffer
	png.Encode(&pb, small)
	jpeg.Encode(&jb, small, nil)
	gray := image.NewGray16(image.Rect(0, 0, 2, 2))
	gray.SetGray16(1, 1, color.Gray16{0xffff})
	png.Encode(&gb, gray)
	f.Add(pb.Bytes())
	f.Add(jb.Bytes())
	f.Add(gb.Bytes())
	f.Add(pb.Bytes()[:40])
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Add([]byte{0xff, 0xd8, 0xff, 0xe0})
	f.Add([]byte("not an image"))
	f.Fuzz(func(t *testing.T, b []byte) {
		const maxPixels = 1 << 16
		pix, w, h, err := DecodeImage("fuzz", b, maxPixels)
		if err != nil {
			return
		}
		if w <= 0 || h <= 0 || w*h > maxPixels || len(pix) != 3*w*h {
			t.Fatalf("%dx%d image with %d bytes", w, h, len(pix))
		}
	})
}

// FuzzCIFARPickle feeds arbitrary bytes to the pickled (torchvision) CIFAR-10
// reader, seeded with the test pickles: an error or consistent batches, never
// a panic, and no allocation beyond a small multiple of the input (declared
// lengths are checked before the unpickler allocates).
func FuzzCIFARPickle(f *testing.F) {
	for _, p := range []string{"testdata/cifar-10-batches-py/test_batch", "testdata/cifar-10-batches-py/batches.meta",
		"testdata/cifar-10-py3/data_batch_1.proto2", "testdata/cifar-10-py3/data_batch_1.proto4"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("\x80\x02}q\x01."))
	f.Fuzz(func(t *testing.T, b []byte) {
		labels, pix, err := ParseCIFAR10Pickle("fuzz", b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if len(pix) != len(labels)*cifarImageBytes {
			t.Fatalf("%d labels, %d pixel bytes", len(labels), len(pix))
		}
		for _, l := range labels {
			if l > 9 {
				t.Fatalf("label %d", l)
			}
		}
	})
}
