package vgf

import (
	"bytes"
	"encoding/binary"
)

// fbBuilder is a FlatBuffers builder with the exact layout behaviour of the
// C++ flatbuffers::FlatBufferBuilder (v25.2.10) that Arm's encoder uses, so
// that Encode reproduces Arm's files byte for byte. It differs from the Go
// runtime's Builder in two places (vgf-format.md §A.10): an empty vector is
// not aligned to its element size (only its length word to 4 bytes), and a
// vtable is reused only when it is byte-identical including the table's
// inline size.
//
// Like the C++ builder it builds back to front; an "offset" is the size of the
// buffer when the object was finished (the distance of its start from the
// end).
type fbBuilder struct {
	buf      []byte // data occupies buf[head:]
	head     int
	minAlign int
	vtables  []int // offsets of the vtables written so far, in creation order

	objStart int
	fields   []fbField
	maxVoff  int
}

type fbField struct {
	voff int // vtable offset of the field (4 + 2*slot)
	off  int // buffer size after the field was pushed
}

func newFBBuilder() *fbBuilder { return &fbBuilder{minAlign: 1} }

func (b *fbBuilder) size() int { return len(b.buf) - b.head }

// reserve makes room for n more bytes in front of the data.
func (b *fbBuilder) reserve(n int) {
	if b.head >= n {
		return
	}
	used := b.size()
	c := 2 * len(b.buf)
	if c < used+n {
		c = used + n
	}
	if c < 256 {
		c = 256
	}
	nb := make([]byte, c)
	copy(nb[c-used:], b.buf[b.head:])
	b.buf, b.head = nb, c-used
}

func (b *fbBuilder) pad(n int) {
	b.reserve(n)
	for i := 0; i < n; i++ {
		b.head--
		b.buf[b.head] = 0
	}
}

func (b *fbBuilder) trackMinAlign(a int) {
	if a > b.minAlign {
		b.minAlign = a
	}
}

func paddingBytes(size, align int) int { return (-size) & (align - 1) }

// align pads so that a scalar of elemSize bytes can be pushed aligned.
func (b *fbBuilder) align(elemSize int) {
	b.trackMinAlign(elemSize)
	b.pad(paddingBytes(b.size(), elemSize))
}

// preAlign pads so that after n more bytes the buffer is aligned; like C++,
// nothing at all happens for n == 0.
func (b *fbBuilder) preAlign(n, alignment int) {
	if n == 0 {
		return
	}
	b.trackMinAlign(alignment)
	b.pad(paddingBytes(b.size()+n, alignment))
}

func (b *fbBuilder) pushBytes(p []byte) {
	b.reserve(len(p))
	b.head -= len(p)
	copy(b.buf[b.head:], p)
}

func (b *fbBuilder) pushU8(v uint8) int {
	b.align(1)
	b.pushBytes([]byte{v})
	return b.size()
}

func (b *fbBuilder) pushU32(v uint32) int {
	b.align(4)
	var t [4]byte
	binary.LittleEndian.PutUint32(t[:], v)
	b.pushBytes(t[:])
	return b.size()
}

// referTo returns the uoffset value to store for off at the next aligned
// 4-byte slot.
func (b *fbBuilder) referTo(off int) uint32 {
	b.align(4)
	return uint32(b.size() - off + 4)
}

// createString writes a string (length, bytes, NUL) and returns its offset.
func (b *fbBuilder) createString(s string) int {
	b.preAlign(len(s)+1, 4)
	b.pad(1)
	b.pushBytes([]byte(s))
	return b.pushU32(uint32(len(s)))
}

func (b *fbBuilder) startVector(n, elemSize, alignment int) {
	b.preAlign(n*elemSize, 4)
	b.preAlign(n*elemSize, alignment)
}

func (b *fbBuilder) endVector(n int) int { return b.pushU32(uint32(n)) }

func (b *fbBuilder) createU32Vector(v []uint32) int {
	b.startVector(len(v), 4, 4)
	p := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(p[4*i:], x)
	}
	b.pushBytes(p)
	return b.endVector(len(v))
}

func (b *fbBuilder) createI64Vector(v []int64) int {
	b.startVector(len(v), 8, 8)
	p := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(p[8*i:], uint64(x))
	}
	b.pushBytes(p)
	return b.endVector(len(v))
}

func (b *fbBuilder) createOffsetVector(offs []int) int {
	b.startVector(len(offs), 4, 4)
	for i := len(offs) - 1; i >= 0; i-- {
		b.pushU32(b.referTo(offs[i]))
	}
	return b.endVector(len(offs))
}

func (b *fbBuilder) startTable() {
	b.objStart = b.size()
	b.fields = b.fields[:0]
	b.maxVoff = 0
}

func (b *fbBuilder) track(slot, off int) {
	v := 4 + 2*slot
	b.fields = append(b.fields, fbField{voff: v, off: off})
	if v > b.maxVoff {
		b.maxVoff = v
	}
}

// addU8 adds a u8 field unless it equals its default (force_defaults off).
func (b *fbBuilder) addU8(slot int, v, def uint8) {
	if v != def {
		b.track(slot, b.pushU8(v))
	}
}

// addU32 adds a u32 field unless it equals its default.
func (b *fbBuilder) addU32(slot int, v, def uint32) {
	if v != def {
		b.track(slot, b.pushU32(v))
	}
}

// addOffset adds an offset field; off 0 means absent.
func (b *fbBuilder) addOffset(slot, off int) {
	if off == 0 {
		return
	}
	b.track(slot, b.pushU32(b.referTo(off)))
}

// endTable writes the table's soffset and its vtable (or reuses an identical
// earlier vtable) and returns the table's offset.
func (b *fbBuilder) endTable() int {
	loc := b.pushU32(0)
	vlen := b.maxVoff + 2
	if vlen < 4 {
		vlen = 4
	}
	vt := make([]byte, vlen)
	binary.LittleEndian.PutUint16(vt[0:], uint16(vlen))
	binary.LittleEndian.PutUint16(vt[2:], uint16(loc-b.objStart))
	for _, f := range b.fields {
		binary.LittleEndian.PutUint16(vt[f.voff:], uint16(loc-f.off))
	}
	use := 0
	for _, o := range b.vtables {
		p := len(b.buf) - o
		n := int(binary.LittleEndian.Uint16(b.buf[p:]))
		if n == vlen && bytes.Equal(b.buf[p:p+n], vt) {
			use = o
			break
		}
	}
	if use == 0 {
		b.pushBytes(vt)
		use = b.size()
		b.vtables = append(b.vtables, use)
	}
	binary.LittleEndian.PutUint32(b.buf[len(b.buf)-loc:], uint32(int32(use-loc)))
	b.fields = b.fields[:0]
	return loc
}

// finish writes the root offset and returns the finished buffer.
func (b *fbBuilder) finish(root int) []byte {
	b.preAlign(4, b.minAlign)
	b.pushU32(b.referTo(root))
	return b.buf[b.head:]
}
