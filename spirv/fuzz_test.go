package spirv

import (
	"testing"
)

// FuzzRead feeds arbitrary bytes to the reader, seeded with the fixture modules: malformed
// SPIR-V must give an error, never a panic or a huge allocation; what is accepted must write
// back without panicking, and a module the writer emits must read back.
func FuzzRead(f *testing.F) {
	files := fixtureFiles(f)
	for _, name := range sortedKeys(files) {
		f.Add(readFixture(f, files[name]))
	}
	f.Add([]byte{})
	f.Add(WordsToBytes([]uint32{MagicNumber, Version16, 0, 1, 0}))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := Read(b, ReadOptions{})
		if err != nil {
			return
		}
		res, err := Write(d.Graph, d.WriteOptions())
		if err != nil {
			return
		}
		if err := Validate(res.Module); err != nil {
			t.Fatalf("written module does not validate: %v", err)
		}
		out, err := res.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		d2, err := Read(out, ReadOptions{})
		if err != nil {
			t.Fatalf("written module does not read back: %v", err)
		}
		res2, err := Write(d2.Graph, d2.WriteOptions())
		if err != nil {
			t.Fatalf("re-read graph does not write: %v", err)
		}
		out2, _ := res2.Bytes()
		if string(out) != string(out2) {
			t.Fatalf("write(read(write(read(x)))) differs from write(read(x))")
		}
	})
}
