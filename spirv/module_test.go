package spirv

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// fixtureDir holds the SPIR-V fixtures (internal/testdata/fixtures/README.md says where they come
// from); a missing directory fails the tests.
const fixtureDir = "../internal/testdata/fixtures/spirv"

// fixtureFiles returns the .spv fixtures by name ("clamp_i8", "ops/add_i32", ...).
func fixtureFiles(t testing.TB) map[string]string {
	t.Helper()
	files := map[string]string{}
	for _, pat := range []string{"*.spv", "ops/*.spv"} {
		m, err := filepath.Glob(filepath.Join(fixtureDir, pat))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m {
			rel, _ := filepath.Rel(fixtureDir, p)
			files[strings.TrimSuffix(filepath.ToSlash(rel), ".spv")] = p
		}
	}
	if len(files) < 16 {
		t.Fatalf("expected the SPIR-V fixtures (2 top-level + 14 ops) in %s, found %d", fixtureDir, len(files))
	}
	return files
}

func sortedKeys(m map[string]string) []string {
	k := make([]string, 0, len(m))
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}

func readFixture(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestStringEncoding(t *testing.T) {
	for _, c := range []struct {
		s string
		w []uint32
	}{
		{"", []uint32{0}},
		{"main", []uint32{0x6e69616d, 0}},
		{"abc", []uint32{0x00636261}},
		{"TOSA.001000.1", nil},
	} {
		w := EncodeString(c.s)
		if c.w != nil && !equalWords(w, c.w) {
			t.Errorf("EncodeString(%q) = %#x, want %#x", c.s, w, c.w)
		}
		if len(w) != len(c.s)/4+1 {
			t.Errorf("EncodeString(%q) has %d words", c.s, len(w))
		}
		s, n, err := DecodeString(append(w, 0xdeadbeef))
		if err != nil || s != c.s || n != len(w) {
			t.Errorf("DecodeString(EncodeString(%q)) = %q, %d, %v", c.s, s, n, err)
		}
	}
	if _, _, err := DecodeString([]uint32{0x64636261}); err == nil {
		t.Error("unterminated string accepted")
	}
	if _, _, err := DecodeString([]uint32{0x00610062 | 0x01000000}); err == nil {
		t.Error("non-zero padding accepted")
	}
}

func equalWords(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestParseFixtures parses every fixture, re-encodes it byte for byte, and checks that the
// fixtures are numbered in first-appearance order (so Renumber is the identity on them).
func TestParseFixtures(t *testing.T) {
	for _, name := range sortedKeys(fixtureFiles(t)) {
		b := readFixture(t, fixtureFiles(t)[name])
		m, err := Parse(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if m.Version != Version16 || m.Generator != GeneratorSPIRVAssembler {
			t.Errorf("%s: version %#x generator %#x", name, m.Version, m.Generator)
		}
		out, err := m.Bytes()
		if err != nil || !bytes.Equal(out, b) {
			t.Errorf("%s: re-encoding differs (%v)", name, err)
		}
		for i, in := range m.Insts {
			if _, err := LayoutOf(in); err != nil {
				t.Errorf("%s: instruction %d: %v", name, i, err)
			}
		}
		if err := Renumber(m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out, _ = m.Bytes()
		if !bytes.Equal(out, b) {
			t.Errorf("%s: renumbering changed the module", name)
		}
	}
}

func TestBuilderRenumber(t *testing.T) {
	b := NewBuilder()
	// Allocate ids in an order different from their appearance.
	tInt := b.ID()
	c1 := b.ID()
	set := b.ID()
	b.Emit(OpCapability, CapShader)
	b.EmitString(OpExtInstImport, []uint32{set}, TOSAInstructionSetName)
	b.Emit(OpTypeInt, tInt, 32, 0)
	b.Emit(OpConstant, tInt, c1, 7)
	m := b.Module(Version16, 0)
	if m.Bound != 4 {
		t.Fatalf("bound %d", m.Bound)
	}
	if err := Renumber(m); err != nil {
		t.Fatal(err)
	}
	want := []uint32{MagicNumber, Version16, 0, 4, 0,
		2<<16 | OpCapability, CapShader,
		6<<16 | OpExtInstImport, 1, 0x41534f54, 0x3130302e, 0x2e303030, 0x31,
		4<<16 | OpTypeInt, 2, 32, 0,
		4<<16 | OpConstant, 2, 3, 7}
	got, err := m.Words()
	if err != nil || !equalWords(got, want) {
		t.Fatalf("got %#x (%v)\nwant %#x", got, err, want)
	}
	m2, err := ParseWords(got)
	if err != nil {
		t.Fatal(err)
	}
	got2, _ := m2.Words()
	if !equalWords(got2, want) {
		t.Fatal("parse/encode round trip differs")
	}
}

func TestParseErrors(t *testing.T) {
	good := []uint32{MagicNumber, Version16, 0, 1, 0, 2<<16 | OpCapability, 1}
	for name, w := range map[string][]uint32{
		"short":      good[:4],
		"magic":      append([]uint32{1}, good[1:]...),
		"version":    {MagicNumber, 0x00020000, 0, 1, 0},
		"schema":     {MagicNumber, Version16, 0, 1, 5},
		"wordcount0": {MagicNumber, Version16, 0, 1, 0, OpCapability},
		"overrun":    {MagicNumber, Version16, 0, 1, 0, 3<<16 | OpCapability, 1},
	} {
		if _, err := ParseWords(w); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := Parse(WordsToBytes(good)[:27]); err == nil {
		t.Error("odd byte length accepted")
	}
	// Big-endian input is accepted.
	be := make([]byte, 4*len(good))
	for i, x := range good {
		be[4*i], be[4*i+1], be[4*i+2], be[4*i+3] = byte(x>>24), byte(x>>16), byte(x>>8), byte(x)
	}
	m, err := Parse(be)
	if err != nil || len(m.Insts) != 1 || m.Insts[0].Operands[0] != 1 {
		t.Errorf("big-endian: %v", err)
	}
}
