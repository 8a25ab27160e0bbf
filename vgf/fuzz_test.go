package vgf

import "testing"

// FuzzDecode checks that no input makes the decoder panic and that whatever
// decodes round-trips through Encode (see checkDecoded).
func FuzzDecode(f *testing.F) {
	for _, path := range fixtureFiles(f) {
		f.Add(readFixture(f, path))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecoded(t, data)
	})
}
