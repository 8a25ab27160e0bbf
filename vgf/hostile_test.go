package vgf

import (
	"bytes"
	"encoding/binary"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// decodeNoFault decodes data and fails the test if the decoder panicked
// internally (Decode turns panics into "decoder fault" errors).
func decodeNoFault(t testing.TB, data []byte) (*File, error) {
	t.Helper()
	f, err := Decode(data)
	if err != nil && strings.Contains(err.Error(), "decoder fault") {
		t.Fatalf("decoder panicked: %v", err)
	}
	return f, err
}

func fixture(t testing.TB, name string) []byte {
	return readFixture(t, filepath.Join(fixtureDir, name))
}

func wantErr(t *testing.T, data []byte, parts ...string) {
	t.Helper()
	_, err := decodeNoFault(t, data)
	if err == nil {
		t.Fatalf("decode succeeded, want an error containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
}

func patched(data []byte, off int, b ...byte) []byte {
	d := bytes.Clone(data)
	copy(d[off:], b)
	return d
}

func patchU64(data []byte, off int, v uint64) []byte {
	d := bytes.Clone(data)
	binary.LittleEndian.PutUint64(d[off:], v)
	return d
}

func TestHostileHeader(t *testing.T) {
	data := fixture(t, "corpus/kitchen_sink.vgf")
	t.Run("bad magic", func(t *testing.T) { wantErr(t, patched(data, 0, 'V', 'G', 'F', '2'), "header", "magic") })
	t.Run("old magic accepted", func(t *testing.T) {
		if _, err := decodeNoFault(t, patched(data, 0, 0xC3, 0xD2, 0xE1, 0xF0)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("version 0.5", func(t *testing.T) { wantErr(t, patched(data, 8, 0, 5, 0), "header", "0.5.0", "not supported") })
	t.Run("version 1.0", func(t *testing.T) { wantErr(t, patched(data, 8, 1, 0, 0), "1.0.0", "not supported") })
	t.Run("too small", func(t *testing.T) { wantErr(t, data[:100], "header") })
	for i, name := range sectionNames {
		t.Run("offset past end "+name, func(t *testing.T) {
			wantErr(t, patchU64(data, 16+16*i, uint64(len(data))+8), "header", name, "past the end")
		})
		t.Run("size past end "+name, func(t *testing.T) {
			wantErr(t, patchU64(data, 24+16*i, uint64(len(data))), "header", name, "past the end")
		})
		t.Run("huge size "+name, func(t *testing.T) {
			wantErr(t, patchU64(data, 24+16*i, ^uint64(0)), "header", name)
		})
	}
	t.Run("overlap", func(t *testing.T) {
		// Point the sequence section at the module section.
		wantErr(t, patchU64(data, 32, 128), "overlaps")
	})
	t.Run("header overlap", func(t *testing.T) { wantErr(t, patchU64(data, 16, 0), "overlaps the header") })
	t.Run("misaligned flatbuffers section", func(t *testing.T) {
		d := patchU64(data, 16, 130)
		wantErr(t, d, "module table", "aligned")
	})
}

func TestHostileSections(t *testing.T) {
	data := fixture(t, "corpus/kitchen_sink.vgf")
	modOff := int(binary.LittleEndian.Uint64(data[16:]))
	t.Run("root offset past end", func(t *testing.T) {
		wantErr(t, patched(data, modOff, 0xF0, 0xFF, 0, 0), "module table", "root offset", "past the end")
	})
	t.Run("zero root offset", func(t *testing.T) { wantErr(t, patched(data, modOff, 0, 0, 0, 0), "module table", "offset") })
	t.Run("vtable out of range", func(t *testing.T) {
		root := modOff + int(binary.LittleEndian.Uint32(data[modOff:]))
		wantErr(t, patched(data, root, 0, 0, 0, 0x80), "module table", "vtable")
	})
	t.Run("constant count too large", func(t *testing.T) {
		c := int(binary.LittleEndian.Uint64(data[64:]))
		wantErr(t, patchU64(data, c+8, 1<<40), "constants section", "count")
	})
	t.Run("constant data past end", func(t *testing.T) {
		c := int(binary.LittleEndian.Uint64(data[64:]))
		wantErr(t, patchU64(data, c+16+8, 1000), "constants section", "constant 0", "past the end")
	})
	t.Run("constant sparsity -2", func(t *testing.T) {
		c := int(binary.LittleEndian.Uint64(data[64:]))
		wantErr(t, patched(data, c+16+4, 0xFE, 0xFF, 0xFF, 0xFF), "constants section", "sparsity_dimension")
	})
	t.Run("constants section too small", func(t *testing.T) { wantErr(t, patchU64(data, 72, 4), "constants section") })
}

// TestHostileContent encodes well-formed files with bad cross-references (the
// unchecked encoder) and checks the decoder's vgf_dump validation.
func TestHostileContent(t *testing.T) {
	base, err := Decode(fixture(t, "corpus/kitchen_sink.vgf"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		edit  func(f *File)
		parts []string
	}{
		{"module index", func(f *File) { f.Sequence.Segments[1].ModuleIndex = 5 }, []string{"segments[1].module_index 5 out of range"}},
		{"model input mrt", func(f *File) { f.Sequence.Inputs[1].MRTIndex = 6 }, []string{"inputs[1].mrt_index 6 out of range"}},
		{"model output mrt", func(f *File) { f.Sequence.Outputs[0].MRTIndex = 99 }, []string{"outputs[0].mrt_index 99"}},
		{"segment input mrt", func(f *File) { f.Sequence.Segments[0].Inputs[0].MRTIndex = 6 }, []string{"segments[0].inputs[0].mrt_index"}},
		{"descriptor binding mrt", func(f *File) { f.Sequence.Segments[0].SetInfos[1].Bindings[0].MRTIndex = 7 }, []string{"segments[0].set_infos[1].bindings[0].mrt_index 7"}},
		{"segment constant", func(f *File) { f.Sequence.Segments[1].Constants = []uint32{1} }, []string{"segments[1].constants[0] = 1 out of range"}},
		{"constant mrt", func(f *File) { f.Constants[0].ResourceIndex = 6 }, []string{"constant 0", "mrt_index 6 out of range"}},
		{"zero-size constant", func(f *File) { f.Constants[0].Data = nil }, []string{"constant 0", "empty"}},
		{"dispatch shape", func(f *File) { f.Sequence.Segments[0].DispatchShape = []uint32{1, 2} }, []string{"segments[0].dispatch_shape", "has 2 elements"}},
		{"module type", func(f *File) { f.Modules[0].Type = 7 }, []string{"modules[0].type", "unknown module type 7"}},
		{"category", func(f *File) { f.Resources[2].Category = 9 }, []string{"mrt_entry[2].category", "unknown resource category 9"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := cloneFile(t, base)
			c.edit(f)
			if _, err := Encode(f); err == nil {
				t.Error("Encode accepted the invalid file")
			}
			wantErr(t, encode(f), c.parts...)
		})
	}
}

func cloneFile(t testing.TB, f *File) *File {
	g, err := Decode(encode(f))
	if err != nil {
		t.Fatal(err)
	}
	g.Version = f.Version
	return g
}

func TestTruncatedAndCorrupted(t *testing.T) {
	for _, path := range fixtureFiles(t) {
		data := readFixture(t, path)
		for n := 0; n < len(data); n++ {
			if _, err := decodeNoFault(t, data[:n]); err == nil {
				t.Fatalf("%s truncated to %d bytes decoded without error", path, n)
			}
		}
		// Corrupt every byte in turn: errors are fine, faults are not, and
		// whatever decodes must re-encode and dump.
		for i := 0; i < len(data); i++ {
			for _, x := range []byte{0xFF, 0x01} {
				d := bytes.Clone(data)
				d[i] ^= x
				checkDecoded(t, d)
			}
		}
	}
}

// checkDecoded is the fuzz property: decoding never faults; a decoded file
// re-encodes (unless its legacy sparsity does not fit the 0.4 format) to a
// file with the same content, encoding is a fixed point, and dumping works.
func checkDecoded(t testing.TB, data []byte) {
	t.Helper()
	f, err := decodeNoFault(t, data)
	if err != nil {
		return
	}
	if _, err := DumpJSON(f); err != nil && !strings.Contains(err.Error(), "UTF-8") {
		t.Fatalf("DumpJSON of a decoded file failed: %v", err)
	}
	ScenarioTemplate(f, true)
	enc, err := Encode(f)
	if err != nil {
		if strings.Contains(err.Error(), "does not fit in int32") {
			return
		}
		t.Fatalf("Encode of a decoded file failed: %v", err)
	}
	g, err := Decode(enc)
	if err != nil {
		t.Fatalf("decoding the re-encoded file failed: %v", err)
	}
	want := normalized(f)
	g.Version = want.Version
	if !reflect.DeepEqual(g, want) {
		t.Fatalf("re-encoded content differs:\n got %+v\nwant %+v", g, want)
	}
	enc2, err := Encode(g)
	if err != nil || !bytes.Equal(enc, enc2) {
		t.Fatalf("encoding is not a fixed point (err %v)", err)
	}
}

// normalized is f as Encode stores it: GLSL/HLSL sources cut at NUL (the C++
// encoder writes them as C strings).
func normalized(f *File) *File {
	g := *f
	if f.Modules != nil {
		g.Modules = append([]Module(nil), f.Modules...)
	}
	for i := range g.Modules {
		g.Modules[i].Source = cstr(g.Modules[i].Source)
	}
	return &g
}
