package tosa

import (
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"
)

// fixturesDir is internal/testdata/fixtures/tosa in the repository.
func fixturesDir(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(file)) // the repository root
	dir := filepath.Join(root, "internal", "testdata", "fixtures", "tosa")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("TOSA fixtures missing (%v); they are required", err)
	}
	return dir
}

// fixtureModels returns every model.tosa under the fixtures directory.
func fixtureModels(t testing.TB) []string {
	var r []string
	err := filepath.WalkDir(fixturesDir(t), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() == "model.tosa" {
			r = append(r, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(r) == 0 {
		t.Fatal("no model.tosa fixtures found")
	}
	sort.Strings(r)
	return r
}

func TestCodecRoundTripFixtures(t *testing.T) {
	for _, p := range fixtureModels(t) {
		name := strings.TrimPrefix(p, fixturesDir(t)+"/")
		buf, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		g, err := Decode(buf)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if err := g.Validate(); err != nil {
			t.Errorf("%s: validate: %v", name, err)
		}
		enc, err := Encode(g)
		if err != nil {
			t.Errorf("%s: encode: %v", name, err)
			continue
		}
		g2, err := Decode(enc)
		if err != nil {
			t.Errorf("%s: decode re-encoded: %v", name, err)
			continue
		}
		if !reflect.DeepEqual(g, g2) {
			t.Errorf("%s: round trip differs", name)
		}
		enc2, err := Encode(g2)
		if err != nil || string(enc2) != string(enc) {
			t.Errorf("%s: encoding is not deterministic (%v)", name, err)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	buf, err := os.ReadFile(fixtureModels(t)[0])
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte{}, buf...)
	copy(bad[4:8], "XXXX")
	if _, err := Decode(bad); err == nil || !strings.Contains(err.Error(), "file identifier") {
		t.Errorf("bad identifier: %v", err)
	}
	if _, err := Decode(buf[:6]); err == nil {
		t.Error("short file accepted")
	}
	g, _ := Decode(buf)
	for i := 0; i < len(buf); i += 7 {
		c := append([]byte{}, buf...)
		c[i] ^= 0xa5
		Decode(c) // must not panic
		if _, err := Decode(buf[:i]); err == nil && i < len(buf)/2 {
			t.Errorf("truncated file (%d bytes) accepted", i)
		}
	}
	_ = g
}

func TestEncodeVersion(t *testing.T) {
	b := NewBuilder()
	x := b.Input("x", Int8, 1, 2)
	b.Output(x)
	g := b.Graph()
	buf, err := Encode(g)
	if err != nil {
		t.Fatal(err)
	}
	if string(buf[4:8]) != "TOSA" {
		t.Fatalf("identifier %q", buf[4:8])
	}
	g2, err := Decode(buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g2.Inputs, []string{"x"}) || g2.Tensor("x") == nil {
		t.Fatalf("got %+v", g2)
	}
}

func FuzzDecode(f *testing.F) {
	for _, p := range fixtureModels(f) {
		buf, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(buf)
	}
	f.Fuzz(func(t *testing.T, buf []byte) {
		g, err := Decode(buf)
		if err != nil {
			return
		}
		enc, err := Encode(g)
		if err != nil {
			return
		}
		g2, err := Decode(enc)
		if err != nil {
			t.Fatalf("re-encoded graph does not decode: %v", err)
		}
		if !reflect.DeepEqual(g, g2) {
			t.Fatal("round trip differs")
		}
	})
}

// TestDecodeAmplification: one operator table with 2000 references to one string, referenced
// 2000 times by the operator vector, must be rejected by the allocation budget, not expanded.
func TestDecodeAmplification(t *testing.T) {
	b := flatbuffers.NewBuilder(0)
	name := b.CreateString("x")
	refs := make([]flatbuffers.UOffsetT, 2000)
	for i := range refs {
		refs[i] = name
	}
	e := &encoder{b: b}
	inputs := e.tables(refs)
	b.StartObject(5)
	e.forceU32(fOpOp, uint32(OpIdentity))
	b.PrependUOffsetTSlot(fOpInputs, inputs, 0)
	op := b.EndObject()
	ops := make([]flatbuffers.UOffsetT, 2000)
	for i := range ops {
		ops[i] = op
	}
	opsVec := e.tables(ops)
	blockName := b.CreateString("main")
	b.StartObject(5)
	b.PrependUOffsetTSlot(fBlockName, blockName, 0)
	b.PrependUOffsetTSlot(fBlockOperators, opsVec, 0)
	block := b.EndObject()
	blocks := e.tables([]flatbuffers.UOffsetT{block})
	b.StartObject(2)
	b.PrependUOffsetTSlot(fRegionBlocks, blocks, 0)
	regions := e.tables([]flatbuffers.UOffsetT{b.EndObject()})
	b.StartObject(4)
	e.forceI32(fVerMajor, 1)
	e.forceI32(fVerMinor, 0)
	e.forceI32(fVerPatch, 0)
	e.forceBool(fVerDraft, false)
	ver := b.EndObject()
	b.StartObject(2)
	b.PrependUOffsetTSlot(fGraphVersion, ver, 0)
	b.PrependUOffsetTSlot(fGraphRegions, regions, 0)
	b.FinishWithFileIdentifier(b.EndObject(), []byte("TOSA"))
	buf := b.FinishedBytes()
	if _, err := Decode(buf); err == nil || !strings.Contains(err.Error(), "exceed") {
		t.Fatalf("amplified file (%d bytes): %v", len(buf), err)
	}
}
