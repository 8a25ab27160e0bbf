package vgf

import (
	"encoding/binary"
	"fmt"
	"strings"

	flatbuffers "github.com/google/flatbuffers/go"
)

// fbSection is one FlatBuffers section being decoded. Every access is bounds-
// and alignment-checked first (the checks of the C++ flatbuffers::Verifier
// plus a few stricter ones); the reads themselves go through the FlatBuffers
// Go runtime's Table accessors.
type fbSection struct {
	name string // section name for errors, e.g. "module table"
	buf  []byte
	// budget limits the output a hostile section can make the decoder produce
	// through shared references (e.g. many vector elements pointing at one huge
	// table); it is a multiple of the section size.
	budget int64
}

// fbTable is a verified table position in a section.
type fbTable struct {
	s    *fbSection
	t    flatbuffers.Table
	path string
}

func newFBSection(name string, buf []byte) *fbSection {
	return &fbSection{name: name, buf: buf, budget: 8*int64(len(buf)) + 1<<16}
}

func (s *fbSection) errf(path, format string, args ...any) error {
	if path == "" {
		return fmt.Errorf("vgf: %s: %s", s.name, fmt.Sprintf(format, args...))
	}
	return fmt.Errorf("vgf: %s: %s: %s", s.name, path, fmt.Sprintf(format, args...))
}

func (s *fbSection) charge(n int64, path string) error {
	s.budget -= n
	if s.budget < 0 {
		return s.errf(path, "references expand the section beyond any real encoding (hostile or corrupt section)")
	}
	return nil
}

// in reports whether [pos, pos+n) lies inside the section.
func (s *fbSection) in(pos, n uint64) bool {
	return pos <= uint64(len(s.buf)) && n <= uint64(len(s.buf))-pos
}

// deref follows the uoffset stored at pos.
func (s *fbSection) deref(pos uint64, path string) (uint64, error) {
	if pos%4 != 0 {
		return 0, s.errf(path, "offset field at byte %d is not 4-byte aligned", pos)
	}
	if !s.in(pos, 4) {
		return 0, s.errf(path, "offset field at byte %d is past the end of the section (%d bytes)", pos, len(s.buf))
	}
	o := uint64(binary.LittleEndian.Uint32(s.buf[pos:]))
	if o == 0 {
		return 0, s.errf(path, "offset at byte %d is 0", pos)
	}
	target := pos + o
	if target >= uint64(len(s.buf)) {
		return 0, s.errf(path, "offset at byte %d points past the end of the section (%d > %d bytes)", pos, target, len(s.buf))
	}
	return target, nil
}

// tableAt verifies the table starting at pos.
func (s *fbSection) tableAt(pos uint64, path string) (fbTable, error) {
	if pos%4 != 0 {
		return fbTable{}, s.errf(path, "table at byte %d is not 4-byte aligned", pos)
	}
	if !s.in(pos, 4) {
		return fbTable{}, s.errf(path, "table at byte %d is past the end of the section", pos)
	}
	if err := s.charge(16, path); err != nil {
		return fbTable{}, err
	}
	so := int64(int32(binary.LittleEndian.Uint32(s.buf[pos:])))
	vt := int64(pos) - so
	if vt < 0 || vt%2 != 0 || !s.in(uint64(vt), 2) {
		return fbTable{}, s.errf(path, "vtable of the table at byte %d is out of bounds or misaligned (byte %d)", pos, vt)
	}
	vlen := uint64(binary.LittleEndian.Uint16(s.buf[vt:]))
	if vlen%2 != 0 || !s.in(uint64(vt), vlen) {
		return fbTable{}, s.errf(path, "vtable at byte %d (length %d) is malformed or past the end of the section", vt, vlen)
	}
	return fbTable{s: s, t: flatbuffers.Table{Bytes: s.buf, Pos: flatbuffers.UOffsetT(pos)}, path: path}, nil
}

// root returns the section's root table.
func (s *fbSection) root() (fbTable, error) {
	if len(s.buf) < 4 {
		return fbTable{}, s.errf("", "section is %d bytes, smaller than a FlatBuffers root offset", len(s.buf))
	}
	p, err := s.deref(0, "root offset")
	if err != nil {
		return fbTable{}, err
	}
	return s.tableAt(p, "root table")
}

func (t fbTable) sub(field string) string {
	if t.path == "" {
		return field
	}
	return t.path + "." + field
}

// fieldPos returns the absolute position of the field in slot (0 if absent)
// after checking that size bytes fit there with natural alignment.
func (t fbTable) fieldPos(slot int, size uint64, field string) (uint64, error) {
	off := uint64(t.t.Offset(flatbuffers.VOffsetT(4 + 2*slot)))
	if off == 0 {
		return 0, nil
	}
	p := uint64(t.t.Pos) + off
	if !t.s.in(p, size) {
		return 0, t.s.errf(t.sub(field), "field at byte %d is past the end of the section", p)
	}
	if p%size != 0 {
		return 0, t.s.errf(t.sub(field), "field at byte %d is not %d-byte aligned", p, size)
	}
	return p, nil
}

func (t fbTable) u8(slot int, def uint8, field string) (uint8, error) {
	p, err := t.fieldPos(slot, 1, field)
	if err != nil || p == 0 {
		return def, err
	}
	return t.t.GetUint8(flatbuffers.UOffsetT(p)), nil
}

func (t fbTable) u32(slot int, def uint32, field string) (uint32, error) {
	p, err := t.fieldPos(slot, 4, field)
	if err != nil || p == 0 {
		return def, err
	}
	return t.t.GetUint32(flatbuffers.UOffsetT(p)), nil
}

func (t fbTable) i64(slot int, def int64, field string) (int64, error) {
	p, err := t.fieldPos(slot, 8, field)
	if err != nil || p == 0 {
		return def, err
	}
	return t.t.GetInt64(flatbuffers.UOffsetT(p)), nil
}

// ref follows the offset field in slot; ok is false when it is absent.
func (t fbTable) ref(slot int, field string) (target uint64, ok bool, err error) {
	p, err := t.fieldPos(slot, 4, field)
	if err != nil || p == 0 {
		return 0, false, err
	}
	target, err = t.s.deref(p, t.sub(field))
	return target, err == nil, err
}

// table returns the sub-table in slot.
func (t fbTable) table(slot int, field string) (fbTable, bool, error) {
	p, ok, err := t.ref(slot, field)
	if !ok {
		return fbTable{}, false, err
	}
	tt, err := t.s.tableAt(p, t.sub(field))
	return tt, err == nil, err
}

// fbVector is a verified vector: n elements of elemSize bytes from start.
type fbVector struct {
	s        *fbSection
	start    uint64
	n        int
	elemSize uint64
	path     string
}

func (s *fbSection) vectorAt(p, elemSize uint64, path string) (fbVector, error) {
	if p%4 != 0 {
		return fbVector{}, s.errf(path, "vector at byte %d is not 4-byte aligned", p)
	}
	if !s.in(p, 4) {
		return fbVector{}, s.errf(path, "vector length at byte %d is past the end of the section", p)
	}
	n := uint64(binary.LittleEndian.Uint32(s.buf[p:]))
	if !s.in(p+4, n*elemSize) {
		return fbVector{}, s.errf(path, "vector of %d elements at byte %d runs past the end of the section (%d bytes)", n, p, len(s.buf))
	}
	if err := s.charge(int64(n*elemSize), path); err != nil {
		return fbVector{}, err
	}
	return fbVector{s: s, start: p + 4, n: int(n), elemSize: elemSize, path: path}, nil
}

// vector returns the vector in slot (a zero fbVector when absent).
func (t fbTable) vector(slot int, elemSize uint64, field string) (fbVector, bool, error) {
	p, ok, err := t.ref(slot, field)
	if !ok {
		return fbVector{}, false, err
	}
	v, err := t.s.vectorAt(p, elemSize, t.sub(field))
	return v, err == nil, err
}

func (v fbVector) elemPath(i int) string { return fmt.Sprintf("%s[%d]", v.path, i) }

func (v fbVector) u32(i int) uint32 {
	return binary.LittleEndian.Uint32(v.s.buf[v.start+uint64(i)*4:])
}

func (v fbVector) i64(i int) int64 {
	return int64(binary.LittleEndian.Uint64(v.s.buf[v.start+uint64(i)*8:]))
}

// u32s copies a [uint32] vector (nil when empty).
func (v fbVector) u32s() []uint32 {
	if v.n == 0 {
		return nil
	}
	out := make([]uint32, v.n)
	for i := range out {
		out[i] = v.u32(i)
	}
	return out
}

// i64s copies an [int64] vector (nil when empty).
func (v fbVector) i64s() []int64 {
	if v.n == 0 {
		return nil
	}
	out := make([]int64, v.n)
	for i := range out {
		out[i] = v.i64(i)
	}
	return out
}

// tableAt returns element i of a vector of tables.
func (v fbVector) tableAt(i int) (fbTable, error) {
	p, err := v.s.deref(v.start+uint64(i)*4, v.elemPath(i))
	if err != nil {
		return fbTable{}, err
	}
	return v.s.tableAt(p, v.elemPath(i))
}

// stringAt returns element i of a vector of strings.
func (v fbVector) stringAt(i int) (string, error) {
	p, err := v.s.deref(v.start+uint64(i)*4, v.elemPath(i))
	if err != nil {
		return "", err
	}
	return v.s.stringAt(p, v.elemPath(i))
}

// stringAt reads the string at p: length, bytes and a NUL terminator, as the
// FlatBuffers verifier requires.
func (s *fbSection) stringAt(p uint64, path string) (string, error) {
	v, err := s.vectorAt(p, 1, path)
	if err != nil {
		return "", err
	}
	end := v.start + uint64(v.n)
	if !s.in(end, 1) || s.buf[end] != 0 {
		return "", s.errf(path, "string at byte %d lacks its NUL terminator", p)
	}
	return string(s.buf[v.start:end]), nil
}

// str returns the string in slot ("" when absent).
func (t fbTable) str(slot int, field string) (string, bool, error) {
	p, ok, err := t.ref(slot, field)
	if !ok {
		return "", false, err
	}
	s, err := t.s.stringAt(p, t.sub(field))
	return s, err == nil, err
}

// cstr cuts s at its first NUL byte, as C++ code reading it through c_str()
// does.
func cstr(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}
