package vgf

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/vgfq/vgfq/internal/atomicfile"
)

// Encode encodes f as a format 0.4.3 VGF file, byte-identical to what Arm's
// encoder (arm/ai-ml-sdk-vgf-library) writes when its API is called in this
// order, which is the order of Arm's vgf_samples and vgf_updater:
//
//   - modules: AddModule per module, in order;
//   - sequence: per segment, first the binding slots it uses that do not exist
//     yet (descriptor set bindings, then inputs, then outputs; a slot is
//     identified by its (binding, MRT index) value and created once), then its
//     descriptor set infos, its push constant ranges and the segment info;
//     then the model input/output slots not created yet, then
//     AddModelSequenceInputsOutputs with the model interface names;
//   - resources and constants in index order.
//
// Files whose producers called the API in another order (e.g. model-converter,
// which creates all binding slots before the first descriptor set) have the
// same content but a different byte layout. The result depends only on f
// (Version and Filename are not used; the header carries f.VKHeaderVersion).
// Encode validates f first (see Validate).
func Encode(f *File) ([]byte, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	for i, c := range f.Constants {
		if c.SparsityDimension > math.MaxInt32 {
			return nil, fmt.Errorf("vgf: constants section: constant %d: sparsity_dimension %d does not fit in int32", i, c.SparsityDimension)
		}
	}
	return encode(f), nil
}

// encode encodes f without validating it.
func encode(f *File) []byte {
	mod := encodeModules(f.Modules)
	seq := encodeSequence(&f.Sequence)
	res := encodeResources(f.Resources)

	var offs [numSections]uint64
	sizes := [numSections]uint64{uint64(len(mod)), uint64(len(seq)), uint64(len(res)), constantsSize(f.Constants)}
	next := uint64(HeaderSize)
	for i := range numSections {
		offs[i] = next
		next = alignUp(next+sizes[i], 8)
	}
	total := offs[secConstants] + sizes[secConstants]
	out := make([]byte, total)
	copy(out, magicVGF1)
	binary.LittleEndian.PutUint16(out[4:], f.VKHeaderVersion)
	out[8], out[9], out[10] = VersionMajor, VersionMinor, VersionPatch
	for i := range numSections {
		binary.LittleEndian.PutUint64(out[16+16*i:], offs[i])
		binary.LittleEndian.PutUint64(out[24+16*i:], sizes[i])
	}
	copy(out[offs[secModules]:], mod)
	copy(out[offs[secSequence]:], seq)
	copy(out[offs[secResources]:], res)
	writeConstants(out[offs[secConstants]:], f.Constants)
	return out
}

// WriteFile encodes f (see Encode) and writes it to path atomically with
// permissions 0644. On error no file is created or replaced.
func (f *File) WriteFile(path string) error {
	data, err := Encode(f)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

func alignUp(v, a uint64) uint64 { return (v + a - 1) / a * a }

func encodeModules(mods []Module) []byte {
	b := newFBBuilder()
	offs := make([]int, len(mods))
	for i := range mods {
		m := &mods[i]
		code := 0
		switch m.CodeType {
		case CodeSPIRV:
			if len(m.Code) > 0 {
				words := b.createU32Vector(m.Code)
				b.startTable()
				b.addOffset(0, words)
				code = b.endTable()
			}
		case CodeGLSL, CodeHLSL:
			if m.Source != "" {
				src := b.createString(cstr(m.Source))
				b.startTable()
				b.addOffset(0, src)
				code = b.endTable()
			}
		}
		name := b.createString(cstr(m.Name))
		entry := b.createString(cstr(m.EntryPoint))
		b.startTable()
		b.addOffset(4, code)
		b.addOffset(2, entry)
		b.addOffset(1, name)
		b.addU8(3, uint8(m.CodeType), 0)
		b.addU8(0, uint8(m.Type), 0)
		offs[i] = b.endTable()
	}
	vec := b.createOffsetVector(offs)
	b.startTable()
	b.addOffset(0, vec)
	return b.finish(b.endTable())
}

func encodeSequence(q *Sequence) []byte {
	b := newFBBuilder()
	slotOff := map[BindingSlot]int{}
	slot := func(s BindingSlot) int {
		if o, ok := slotOff[s]; ok {
			return o
		}
		b.startTable()
		b.addU32(1, s.MRTIndex, 0)
		b.addU32(0, s.Binding, 0)
		o := b.endTable()
		slotOff[s] = o
		return o
	}
	slotVec := func(s []BindingSlot) int {
		offs := make([]int, len(s))
		for i, x := range s {
			offs[i] = slot(x)
		}
		return b.createOffsetVector(offs)
	}
	segOffs := make([]int, len(q.Segments))
	for i := range q.Segments {
		g := &q.Segments[i]
		for _, d := range g.SetInfos {
			for _, s := range d.Bindings {
				slot(s)
			}
		}
		for _, s := range g.Inputs {
			slot(s)
		}
		for _, s := range g.Outputs {
			slot(s)
		}
		sets := make([]int, len(g.SetInfos))
		for j, d := range g.SetInfos {
			bindings := slotVec(d.Bindings)
			b.startTable()
			b.addU32(1, d.SetIndex, SetIndexUnset)
			b.addOffset(0, bindings)
			sets[j] = b.endTable()
		}
		pcrs := make([]int, len(g.PushConstantRanges))
		for j, r := range g.PushConstantRanges {
			b.startTable()
			b.addU32(2, r.Size, 0)
			b.addU32(1, r.Offset, 0)
			b.addU32(0, r.StageFlags, 0)
			pcrs[j] = b.endTable()
		}
		constants := b.createU32Vector(g.Constants)
		dispatch := 0
		if g.DispatchShape != nil {
			dispatch = b.createU32Vector(g.DispatchShape)
		}
		setVec := b.createOffsetVector(sets)
		inputs := slotVec(g.Inputs)
		outputs := slotVec(g.Outputs)
		pcrVec := b.createOffsetVector(pcrs)
		name := b.createString(cstr(g.Name))
		b.startTable()
		b.addOffset(8, pcrVec)
		b.addOffset(7, dispatch)
		b.addOffset(6, constants)
		b.addOffset(5, outputs)
		b.addOffset(4, inputs)
		b.addOffset(3, setVec)
		b.addU32(2, g.ModuleIndex, 0)
		b.addOffset(1, name)
		b.addU8(0, uint8(g.Type), 0)
		segOffs[i] = b.endTable()
	}
	for _, s := range q.Inputs {
		slot(s)
	}
	for _, s := range q.Outputs {
		slot(s)
	}
	strs := func(names []string) []int {
		offs := make([]int, len(names))
		for i, s := range names {
			offs[i] = b.createString(s)
		}
		return offs
	}
	inNames := strs(q.InputNames)
	outNames := strs(q.OutputNames)
	inputs := slotVec(q.Inputs)
	outputs := slotVec(q.Outputs)
	inNamesVec := b.createOffsetVector(inNames)
	outNamesVec := b.createOffsetVector(outNames)
	segs := b.createOffsetVector(segOffs)
	b.startTable()
	b.addOffset(4, outNamesVec)
	b.addOffset(3, inNamesVec)
	b.addOffset(2, outputs)
	b.addOffset(1, inputs)
	b.addOffset(0, segs)
	return b.finish(b.endTable())
}

func encodeResources(rs []Resource) []byte {
	b := newFBBuilder()
	offs := make([]int, len(rs))
	for i := range rs {
		r := &rs[i]
		shape := b.createI64Vector(r.Shape)
		strides := b.createI64Vector(r.Strides)
		b.startTable()
		b.addOffset(1, strides)
		b.addOffset(0, shape)
		desc := b.endTable()
		sampler := 0
		var extraType uint8
		if c := r.Sampler; c != nil {
			b.startTable()
			b.addU32(4, c.BorderColor, 0)
			b.addU32(3, c.AddressModeV, 0)
			b.addU32(2, c.AddressModeU, 0)
			b.addU32(1, c.MagFilter, 0)
			b.addU32(0, c.MinFilter, 0)
			sampler = b.endTable()
			extraType = 1
		}
		alias := uint32(0xFFFFFFFF)
		if r.AliasGroupID != nil {
			alias = *r.AliasGroupID
		}
		b.startTable()
		b.addU32(6, alias, 0xFFFFFFFF)
		b.addOffset(5, sampler)
		b.addOffset(3, desc)
		b.addU32(1, r.VkFormat, 0)
		b.addU32(0, r.VkDescriptorType, 0)
		b.addU8(4, extraType, 0)
		b.addU8(2, uint8(r.Category), 0)
		offs[i] = b.endTable()
	}
	vec := b.createOffsetVector(offs)
	b.startTable()
	b.addOffset(0, vec)
	return b.finish(b.endTable())
}

func constantsSize(cs []Constant) uint64 {
	n := uint64(16 + 24*len(cs))
	for _, c := range cs {
		n += alignUp(uint64(len(c.Data)), 8)
	}
	return n
}

// writeConstants writes the CONST00 section into out (zeroed, large enough):
// tag, count, 24-byte records, then each constant's data padded to 8 bytes.
func writeConstants(out []byte, cs []Constant) {
	copy(out, constTag)
	binary.LittleEndian.PutUint64(out[8:], uint64(len(cs)))
	payload := out[16+24*len(cs):]
	var off uint64
	for i, c := range cs {
		rec := out[16+24*i:]
		binary.LittleEndian.PutUint32(rec, c.ResourceIndex)
		binary.LittleEndian.PutUint32(rec[4:], uint32(int32(c.SparsityDimension)))
		binary.LittleEndian.PutUint64(rec[8:], uint64(len(c.Data)))
		binary.LittleEndian.PutUint64(rec[16:], off)
		copy(payload[off:], c.Data)
		off += alignUp(uint64(len(c.Data)), 8)
	}
}
