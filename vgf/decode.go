package vgf

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
)

var (
	magicVGF1 = []byte{'V', 'G', 'F', '1'}
	// magicOld is the deprecated magic 0xF0E1D2C3 stored little-endian.
	magicOld = []byte{0xC3, 0xD2, 0xE1, 0xF0}
	// constTag opens a raw (format 0.4.0+) constants section.
	constTag = []byte{'C', 'O', 'N', 'S', 'T', '0', '0', 0}
)

// Section indexes in the header's section table.
const (
	secModules = iota
	secSequence
	secResources
	secConstants
	numSections
)

var sectionNames = [numSections]string{"module table", "model sequence table", "model resource table", "constants section"}

// ReadFile reads and decodes the VGF file at path and records path in
// File.Filename.
func ReadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.Filename = path
	return f, nil
}

// Decode decodes a VGF file of format 0.3.x or 0.4.x. It performs the checks
// of Arm's decoder (header magic and version, section bounds, FlatBuffers
// verification with 4-byte aligned sections, dispatch shapes of 3 elements,
// constants inside their section with a valid sparsity dimension) and of
// vgf_dump (non-empty constants, every module, MRT and constant index in
// range), and in addition rejects overlapping sections and unknown enum
// values. Errors name the section and field. The result does not alias data.
func Decode(data []byte) (f *File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("vgf: malformed file (decoder fault: %v)", r)
		}
	}()
	f, sec, err := decodeHeader(data)
	if err != nil {
		return nil, err
	}
	section := func(i int) []byte { return data[sec[i][0] : sec[i][0]+sec[i][1]] }
	if f.Modules, err = decodeModules(newFBSection(sectionNames[secModules], section(secModules))); err != nil {
		return nil, err
	}
	if f.Sequence, err = decodeSequence(newFBSection(sectionNames[secSequence], section(secSequence))); err != nil {
		return nil, err
	}
	if f.Resources, err = decodeResources(newFBSection(sectionNames[secResources], section(secResources))); err != nil {
		return nil, err
	}
	if f.Constants, err = decodeConstants(section(secConstants)); err != nil {
		return nil, err
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return f, nil
}

// decodeHeader checks the header and returns the (offset, size) of each
// section, all inside data.
func decodeHeader(data []byte) (*File, [numSections][2]uint64, error) {
	var sec [numSections][2]uint64
	if len(data) < HeaderSize {
		return nil, sec, fmt.Errorf("vgf: header: file is %d bytes, smaller than the %d-byte VGF header", len(data), HeaderSize)
	}
	if !bytes.Equal(data[:4], magicVGF1) && !bytes.Equal(data[:4], magicOld) {
		return nil, sec, fmt.Errorf("vgf: header: magic: bad magic % x (want \"VGF1\"); not a VGF file", data[:4])
	}
	f := &File{
		VKHeaderVersion: binary.LittleEndian.Uint16(data[4:]),
		Version:         Version{data[8], data[9], data[10]},
	}
	if v := f.Version; v.Major != 0 || v.Minor > 4 {
		return nil, sec, fmt.Errorf("vgf: header: version: format %d.%d.%d is not supported (this decoder reads 0.3.x and 0.4.x; the file was written by a newer VGF encoder)", v.Major, v.Minor, v.Patch)
	}
	size := uint64(len(data))
	for i := range numSections {
		off := binary.LittleEndian.Uint64(data[16+16*i:])
		n := binary.LittleEndian.Uint64(data[24+16*i:])
		name := sectionNames[i]
		if off > size || n > size-off {
			return nil, sec, fmt.Errorf("vgf: header: %s: section at offset %d with size %d runs past the end of the file (%d bytes)", name, off, n, size)
		}
		if off < HeaderSize && n > 0 {
			return nil, sec, fmt.Errorf("vgf: header: %s: section at offset %d overlaps the header", name, off)
		}
		if i != secConstants && off%4 != 0 {
			return nil, sec, fmt.Errorf("vgf: header: %s: section offset %d is not 4-byte aligned (FlatBuffers sections must be)", name, off)
		}
		sec[i] = [2]uint64{off, n}
	}
	for i := range numSections {
		for j := i + 1; j < numSections; j++ {
			a, b := sec[i], sec[j]
			if a[1] > 0 && b[1] > 0 && a[0] < b[0]+b[1] && b[0] < a[0]+a[1] {
				return nil, sec, fmt.Errorf("vgf: header: %s (offset %d, size %d) overlaps %s (offset %d, size %d)",
					sectionNames[i], a[0], a[1], sectionNames[j], b[0], b[1])
			}
		}
	}
	return f, sec, nil
}

func decodeModules(s *fbSection) ([]Module, error) {
	root, err := s.root()
	if err != nil {
		return nil, err
	}
	root.path = ""
	vec, _, err := root.vector(0, 4, "modules")
	if err != nil || vec.n == 0 {
		return nil, err
	}
	mods := make([]Module, vec.n)
	for i := range mods {
		t, err := vec.tableAt(i)
		if err != nil {
			return nil, err
		}
		m := &mods[i]
		typ, err := t.u8(0, 0, "type")
		if err != nil {
			return nil, err
		}
		if typ > uint8(ModuleGraph) {
			return nil, s.errf(t.sub("type"), "unknown module type %d", typ)
		}
		m.Type = ModuleType(typ)
		name, _, err := t.str(1, "name")
		if err != nil {
			return nil, err
		}
		m.Name = cstr(name)
		entry, _, err := t.str(2, "entry_point")
		if err != nil {
			return nil, err
		}
		m.EntryPoint = cstr(entry)
		ct, err := t.u8(3, 0, "code_type")
		if err != nil {
			return nil, err
		}
		if ct > uint8(CodeHLSL) {
			return nil, s.errf(t.sub("code_type"), "unknown module code type %d", ct)
		}
		m.CodeType = CodeType(ct)
		code, ok, err := t.table(4, "code")
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		switch m.CodeType {
		case CodeSPIRV:
			words, _, err := code.vector(0, 4, "words")
			if err != nil {
				return nil, err
			}
			m.Code = words.u32s()
		case CodeGLSL, CodeHLSL:
			src, _, err := code.str(0, "code")
			if err != nil {
				return nil, err
			}
			m.Source = src
		}
	}
	return mods, nil
}

func decodeSlots(v fbVector) ([]BindingSlot, error) {
	if v.n == 0 {
		return nil, nil
	}
	out := make([]BindingSlot, v.n)
	for i := range out {
		t, err := v.tableAt(i)
		if err != nil {
			return nil, err
		}
		if out[i].Binding, err = t.u32(0, 0, "binding"); err != nil {
			return nil, err
		}
		if out[i].MRTIndex, err = t.u32(1, 0, "mrt_index"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func slotVector(t fbTable, slot int, field string) ([]BindingSlot, error) {
	v, _, err := t.vector(slot, 4, field)
	if err != nil {
		return nil, err
	}
	return decodeSlots(v)
}

func stringVector(t fbTable, slot int, field string) ([]string, error) {
	v, _, err := t.vector(slot, 4, field)
	if err != nil || v.n == 0 {
		return nil, err
	}
	out := make([]string, v.n)
	for i := range out {
		s, err := v.stringAt(i)
		if err != nil {
			return nil, err
		}
		out[i] = cstr(s)
	}
	return out, nil
}

func decodeSequence(s *fbSection) (Sequence, error) {
	var q Sequence
	root, err := s.root()
	if err != nil {
		return q, err
	}
	root.path = ""
	segs, _, err := root.vector(0, 4, "segments")
	if err != nil {
		return q, err
	}
	if q.Inputs, err = slotVector(root, 1, "inputs"); err != nil {
		return q, err
	}
	if q.Outputs, err = slotVector(root, 2, "outputs"); err != nil {
		return q, err
	}
	if q.InputNames, err = stringVector(root, 3, "input_names"); err != nil {
		return q, err
	}
	if q.OutputNames, err = stringVector(root, 4, "output_names"); err != nil {
		return q, err
	}
	if segs.n > 0 {
		q.Segments = make([]Segment, segs.n)
	}
	for i := range q.Segments {
		t, err := segs.tableAt(i)
		if err != nil {
			return q, err
		}
		g := &q.Segments[i]
		typ, err := t.u8(0, 0, "type")
		if err != nil {
			return q, err
		}
		if typ > uint8(ModuleGraph) {
			return q, s.errf(t.sub("type"), "unknown module type %d", typ)
		}
		g.Type = ModuleType(typ)
		name, _, err := t.str(1, "name")
		if err != nil {
			return q, err
		}
		g.Name = cstr(name)
		if g.ModuleIndex, err = t.u32(2, 0, "module_index"); err != nil {
			return q, err
		}
		sets, _, err := t.vector(3, 4, "set_infos")
		if err != nil {
			return q, err
		}
		if sets.n > 0 {
			g.SetInfos = make([]DescriptorSetInfo, sets.n)
		}
		for j := range g.SetInfos {
			d, err := sets.tableAt(j)
			if err != nil {
				return q, err
			}
			if g.SetInfos[j].Bindings, err = slotVector(d, 0, "bindings"); err != nil {
				return q, err
			}
			if g.SetInfos[j].SetIndex, err = d.u32(1, SetIndexUnset, "set_index"); err != nil {
				return q, err
			}
		}
		if g.Inputs, err = slotVector(t, 4, "inputs"); err != nil {
			return q, err
		}
		if g.Outputs, err = slotVector(t, 5, "outputs"); err != nil {
			return q, err
		}
		cv, _, err := t.vector(6, 4, "constants")
		if err != nil {
			return q, err
		}
		g.Constants = cv.u32s()
		dv, ok, err := t.vector(7, 4, "dispatch_shape")
		if err != nil {
			return q, err
		}
		if ok {
			if dv.n != 3 {
				return q, s.errf(t.sub("dispatch_shape"), "has %d elements, must have 3", dv.n)
			}
			g.DispatchShape = dv.u32s()
		}
		pv, _, err := t.vector(8, 4, "push_constant_ranges")
		if err != nil {
			return q, err
		}
		if pv.n > 0 {
			g.PushConstantRanges = make([]PushConstantRange, pv.n)
		}
		for j := range g.PushConstantRanges {
			p, err := pv.tableAt(j)
			if err != nil {
				return q, err
			}
			r := &g.PushConstantRanges[j]
			if r.StageFlags, err = p.u32(0, 0, "stage_flags"); err != nil {
				return q, err
			}
			if r.Offset, err = p.u32(1, 0, "offset"); err != nil {
				return q, err
			}
			if r.Size, err = p.u32(2, 0, "size"); err != nil {
				return q, err
			}
		}
	}
	return q, nil
}

func decodeResources(s *fbSection) ([]Resource, error) {
	root, err := s.root()
	if err != nil {
		return nil, err
	}
	root.path = ""
	vec, _, err := root.vector(0, 4, "mrt_entry")
	if err != nil || vec.n == 0 {
		return nil, err
	}
	out := make([]Resource, vec.n)
	for i := range out {
		t, err := vec.tableAt(i)
		if err != nil {
			return nil, err
		}
		r := &out[i]
		if r.VkDescriptorType, err = t.u32(0, 0, "vk_descriptor_type"); err != nil {
			return nil, err
		}
		if r.VkFormat, err = t.u32(1, 0, "vk_format"); err != nil {
			return nil, err
		}
		cat, err := t.u8(2, 0, "category")
		if err != nil {
			return nil, err
		}
		if cat > uint8(CategoryConstant) {
			return nil, s.errf(t.sub("category"), "unknown resource category %d", cat)
		}
		r.Category = ResourceCategory(cat)
		desc, ok, err := t.table(3, "description")
		if err != nil {
			return nil, err
		}
		if ok {
			shape, _, err := desc.vector(0, 8, "shape")
			if err != nil {
				return nil, err
			}
			r.Shape = shape.i64s()
			strides, _, err := desc.vector(1, 8, "strides")
			if err != nil {
				return nil, err
			}
			r.Strides = strides.i64s()
		}
		ect, err := t.u8(4, 0, "extra_config_type")
		if err != nil {
			return nil, err
		}
		sc, ok, err := t.table(5, "extra_config")
		if err != nil {
			return nil, err
		}
		// Like Arm's decoder, ignore extra configs of other (future) types.
		if ok && ect == 1 {
			var c SamplerConfig
			fields := []*uint32{&c.MinFilter, &c.MagFilter, &c.AddressModeU, &c.AddressModeV, &c.BorderColor}
			names := []string{"min_filter", "mag_filter", "address_mode_u", "address_mode_v", "border_color"}
			for k, p := range fields {
				if *p, err = sc.u32(k, 0, names[k]); err != nil {
					return nil, err
				}
			}
			r.Sampler = &c
		}
		alias, err := t.u32(6, 0xFFFFFFFF, "alias_group_id")
		if err != nil {
			return nil, err
		}
		if alias != 0xFFFFFFFF {
			r.AliasGroupID = &alias
		}
	}
	return out, nil
}

// decodeConstants decodes a raw CONST00 section or a legacy FlatBuffers
// ConstantSection. The constants' data share one copy of the section.
func decodeConstants(sec []byte) ([]Constant, error) {
	const name = "constants section"
	if len(sec) < 8 {
		return nil, fmt.Errorf("vgf: %s: section is %d bytes, too small to hold its version tag", name, len(sec))
	}
	sec = bytes.Clone(sec)
	if !bytes.Equal(sec[:8], constTag) {
		return decodeLegacyConstants(sec)
	}
	if len(sec) < 16 {
		return nil, fmt.Errorf("vgf: %s: count: section is %d bytes, too small to hold the constant count", name, len(sec))
	}
	count := binary.LittleEndian.Uint64(sec[8:])
	if count > uint64(len(sec)-16)/24 {
		return nil, fmt.Errorf("vgf: %s: count: %d constants do not fit in a %d-byte section", name, count, len(sec))
	}
	payload := sec[16+24*count:]
	var out []Constant
	if count > 0 {
		out = make([]Constant, count)
	}
	for i := range out {
		rec := sec[16+24*i:]
		mrt := binary.LittleEndian.Uint32(rec)
		sparsity := int32(binary.LittleEndian.Uint32(rec[4:]))
		size := binary.LittleEndian.Uint64(rec[8:])
		off := binary.LittleEndian.Uint64(rec[16:])
		if off > uint64(len(payload)) || size > uint64(len(payload))-off {
			return nil, fmt.Errorf("vgf: %s: constant %d: data at payload offset %d with size %d runs past the end of the section (payload %d bytes)", name, i, off, size, len(payload))
		}
		if sparsity < -1 {
			return nil, fmt.Errorf("vgf: %s: constant %d: sparsity_dimension %d is invalid (must be -1 or a dimension >= 0)", name, i, sparsity)
		}
		out[i] = Constant{ResourceIndex: mrt, SparsityDimension: int64(sparsity), Data: payload[off : off+size : off+size]}
	}
	return out, nil
}

func decodeLegacyConstants(sec []byte) ([]Constant, error) {
	s := newFBSection("constants section (legacy FlatBuffers)", sec)
	root, err := s.root()
	if err != nil {
		return nil, err
	}
	root.path = ""
	vec, _, err := root.vector(0, 4, "data")
	if err != nil || vec.n == 0 {
		return nil, err
	}
	out := make([]Constant, vec.n)
	for i := range out {
		t, err := vec.tableAt(i)
		if err != nil {
			return nil, err
		}
		c := &out[i]
		if c.ResourceIndex, err = t.u32(0, 0, "mrt_index"); err != nil {
			return nil, err
		}
		if c.SparsityDimension, err = t.i64(1, 0, "sparsity_dimension"); err != nil {
			return nil, err
		}
		if c.SparsityDimension < -1 {
			return nil, s.errf(t.sub("sparsity_dimension"), "%d is invalid (must be -1 or a dimension >= 0)", c.SparsityDimension)
		}
		raw, _, err := t.vector(2, 1, "raw")
		if err != nil {
			return nil, err
		}
		end := raw.start + uint64(raw.n)
		c.Data = sec[raw.start:end:end]
	}
	return out, nil
}

// Validate checks the cross-references of f as vgf_dump does: every constant
// is non-empty and names an MRT entry; every binding slot's MRT index, every
// segment's module index and constant indexes are in range; present dispatch
// shapes have 3 elements. Decode and Encode call it.
func (f *File) Validate() error {
	nres := uint64(len(f.Resources))
	for i, c := range f.Constants {
		if len(c.Data) == 0 {
			return fmt.Errorf("vgf: constants section: constant %d: data is empty (zero-size constants are invalid)", i)
		}
		if c.SparsityDimension < -1 {
			return fmt.Errorf("vgf: constants section: constant %d: sparsity_dimension %d is invalid", i, c.SparsityDimension)
		}
		if uint64(c.ResourceIndex) >= nres {
			return fmt.Errorf("vgf: constants section: constant %d: mrt_index %d out of range (%d resources)", i, c.ResourceIndex, nres)
		}
	}
	slots := func(where string, s []BindingSlot) error {
		for i, b := range s {
			if uint64(b.MRTIndex) >= nres {
				return fmt.Errorf("vgf: model sequence table: %s[%d].mrt_index %d out of range (%d resources)", where, i, b.MRTIndex, nres)
			}
		}
		return nil
	}
	q := &f.Sequence
	if err := slots("inputs", q.Inputs); err != nil {
		return err
	}
	if err := slots("outputs", q.Outputs); err != nil {
		return err
	}
	for i := range q.Segments {
		g := &q.Segments[i]
		p := fmt.Sprintf("segments[%d]", i)
		if uint64(g.ModuleIndex) >= uint64(len(f.Modules)) {
			return fmt.Errorf("vgf: model sequence table: %s.module_index %d out of range (%d modules)", p, g.ModuleIndex, len(f.Modules))
		}
		if err := slots(p+".inputs", g.Inputs); err != nil {
			return err
		}
		if err := slots(p+".outputs", g.Outputs); err != nil {
			return err
		}
		for j := range g.SetInfos {
			if err := slots(fmt.Sprintf("%s.set_infos[%d].bindings", p, j), g.SetInfos[j].Bindings); err != nil {
				return err
			}
		}
		for j, c := range g.Constants {
			if uint64(c) >= uint64(len(f.Constants)) {
				return fmt.Errorf("vgf: model sequence table: %s.constants[%d] = %d out of range (%d constants)", p, j, c, len(f.Constants))
			}
		}
		if g.DispatchShape != nil && len(g.DispatchShape) != 3 {
			return fmt.Errorf("vgf: model sequence table: %s.dispatch_shape has %d elements, must have 3", p, len(g.DispatchShape))
		}
		if g.Type > ModuleGraph {
			return fmt.Errorf("vgf: model sequence table: %s.type: unknown module type %d", p, g.Type)
		}
	}
	for i := range f.Modules {
		m := &f.Modules[i]
		if m.Type > ModuleGraph {
			return fmt.Errorf("vgf: module table: modules[%d].type: unknown module type %d", i, m.Type)
		}
		if m.CodeType > CodeHLSL {
			return fmt.Errorf("vgf: module table: modules[%d].code_type: unknown code type %d", i, m.CodeType)
		}
	}
	for i := range f.Resources {
		if f.Resources[i].Category > CategoryConstant {
			return fmt.Errorf("vgf: model resource table: mrt_entry[%d].category: unknown category %d", i, f.Resources[i].Category)
		}
	}
	return nil
}
