package tosa

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	flatbuffers "github.com/google/flatbuffers/go"
)

// The .tosa file format: a FlatBuffers buffer of the TOSA 1.0 final schema (tosa.fbs, see
// shared/reference/tosa.md §3) with file identifier "TOSA" and root table TosaGraph. The table
// accessors below are written by hand from the schema; field id k lives in vtable slot 4+2k.

// FileIdentifier is the FlatBuffers file identifier of .tosa files (bytes 4..7).
const FileIdentifier = "TOSA"

// The version Encode writes and Decode accepts (major.minor; any patch), non-draft.
const (
	VersionMajor = 1
	VersionMinor = 0
	VersionPatch = 0
)

// Field ids of the schema tables.
const (
	// Version
	fVerMajor, fVerMinor, fVerPatch, fVerDraft = 0, 1, 2, 3
	// TosaGraph
	fGraphVersion, fGraphRegions = 0, 1
	// TosaRegion
	fRegionName, fRegionBlocks = 0, 1
	// TosaBasicBlock
	fBlockName, fBlockOperators, fBlockTensors, fBlockInputs, fBlockOutputs = 0, 1, 2, 3, 4
	// TosaOperator (the union takes two ids: attribute_type then attribute)
	fOpOp, fOpAttrType, fOpAttr, fOpInputs, fOpOutputs = 0, 1, 2, 3, 4
	// TosaTensor
	fTensName, fTensShape, fTensType, fTensData, fTensVariable, fTensUnranked, fTensVarName = 0, 1, 2, 3, 4, 5, 6
)

// attrField is one field of an attribute table.
type attrField struct {
	name string
	kind int // fVec32, fBytes, fBool, fU32, fI32, fString
	// get/set map the field onto Attr.
	ptrInts  func(a *Attr) *[]int
	ptrBytes func(a *Attr) *[]byte
	ptrBool  func(a *Attr) *bool
	ptrU32   func(a *Attr) *uint32
	ptrI32   func(a *Attr) *int
	ptrStr   func(a *Attr) *string
}

const (
	kVec32 = iota
	kBytes
	kBool
	kU32
	kI32
	kString
)

func fInts(name string, p func(a *Attr) *[]int) attrField {
	return attrField{name: name, kind: kVec32, ptrInts: p}
}
func fBytesF(name string, p func(a *Attr) *[]byte) attrField {
	return attrField{name: name, kind: kBytes, ptrBytes: p}
}
func fBoolF(name string, p func(a *Attr) *bool) attrField {
	return attrField{name: name, kind: kBool, ptrBool: p}
}
func fU32F(name string, p func(a *Attr) *uint32) attrField {
	return attrField{name: name, kind: kU32, ptrU32: p}
}
func fI32F(name string, p func(a *Attr) *int) attrField {
	return attrField{name: name, kind: kI32, ptrI32: p}
}
func fStrF(name string, p func(a *Attr) *string) attrField {
	return attrField{name: name, kind: kString, ptrStr: p}
}

var (
	aPad        = fInts("pad", func(a *Attr) *[]int { return &a.Pad })
	aStride     = fInts("stride", func(a *Attr) *[]int { return &a.Stride })
	aDilation   = fInts("dilation", func(a *Attr) *[]int { return &a.Dilation })
	aKernel     = fInts("kernel", func(a *Attr) *[]int { return &a.Kernel })
	aOutPad     = fInts("out_pad", func(a *Attr) *[]int { return &a.OutPad })
	aPerms      = fInts("perms", func(a *Attr) *[]int { return &a.Perms })
	aAccType    = fU32F("acc_type", func(a *Attr) *uint32 { return (*uint32)(&a.AccType) })
	aLocalBound = fBoolF("local_bound", func(a *Attr) *bool { return &a.LocalBound })
	aInverse    = fBoolF("inverse", func(a *Attr) *bool { return &a.Inverse })
	aAxis       = fI32F("axis", func(a *Attr) *int { return &a.Axis })
	aNanMode    = fU32F("nan_mode", func(a *Attr) *uint32 { return (*uint32)(&a.NanMode) })
	aMode       = fU32F("mode", func(a *Attr) *uint32 { return (*uint32)(&a.Mode) })
	aRound      = fBoolF("round", func(a *Attr) *bool { return &a.Round })
	aMinVal     = fBytesF("min_val", func(a *Attr) *[]byte { return &a.ClampMin })
	aMaxVal     = fBytesF("max_val", func(a *Attr) *[]byte { return &a.ClampMax })
	aScale32    = fBoolF("scale32", func(a *Attr) *bool { return &a.Scale32 })
	aRounding   = fU32F("rounding_mode", func(a *Attr) *uint32 { return (*uint32)(&a.RoundingMode) })
	aPerChannel = fBoolF("per_channel", func(a *Attr) *bool { return &a.PerChannel })
	aInUnsigned = fBoolF("input_unsigned", func(a *Attr) *bool { return &a.InputUnsigned })
	aOutUnsign  = fBoolF("output_unsigned", func(a *Attr) *bool { return &a.OutputUnsigned })
)

// attrTables lists, per Op, the fields of its attribute table in id order. Ops not listed have
// an empty table.
var attrTables = map[Op][]attrField{
	OpArgMax:               {aAxis, aNanMode},
	OpAvgPool2D:            {aKernel, aStride, aPad, aAccType},
	OpConv2D:               {aPad, aStride, aDilation, aLocalBound, aAccType},
	OpConv3D:               {aPad, aStride, aDilation, aLocalBound, aAccType},
	OpDepthwiseConv2D:      {aPad, aStride, aDilation, aLocalBound, aAccType},
	OpFFT2D:                {aInverse, aLocalBound},
	OpMaxPool2D:            {aKernel, aStride, aPad, aNanMode},
	OpRFFT2D:               {aLocalBound},
	OpTransposeConv2D:      {aOutPad, aStride, aLocalBound, aAccType},
	OpClamp:                {aMinVal, aMaxVal, aNanMode},
	OpArithmeticRightShift: {aRound},
	OpMaximum:              {aNanMode},
	OpMinimum:              {aNanMode},
	OpReduceAll:            {aAxis},
	OpReduceAny:            {aAxis},
	OpReduceMax:            {aAxis, aNanMode},
	OpReduceMin:            {aAxis, aNanMode},
	OpReduceProduct:        {aAxis},
	OpReduceSum:            {aAxis},
	OpConcat:               {aAxis},
	OpReverse:              {aAxis},
	OpTranspose:            {aPerms},
	OpResize:               {aMode},
	OpRescale:              {aScale32, aRounding, aPerChannel, aInUnsigned, aOutUnsign},
	OpCustom: {
		fStrF("operator_name", func(a *Attr) *string { return &a.OperatorName }),
		fStrF("domain_name", func(a *Attr) *string { return &a.DomainName }),
		fBytesF("implementation_attrs", func(a *Attr) *[]byte { return &a.ImplementationAttrs }),
	},
	OpCondIf: {
		fStrF("then_graph", func(a *Attr) *string { return &a.ThenGraph }),
		fStrF("else_graph", func(a *Attr) *string { return &a.ElseGraph }),
	},
	OpWhileLoop: {
		fStrF("cond_graph", func(a *Attr) *string { return &a.CondGraph }),
		fStrF("body_graph", func(a *Attr) *string { return &a.BodyGraph }),
	},
}

// =============================================================================================
// Decoding

// reader is a bounds-checked view of a FlatBuffers buffer. Every accessor validates offsets
// against the buffer and returns an error naming the byte position instead of panicking.
type reader struct {
	b      []byte
	budget int64          // bytes the decoded graph may still allocate
	strs   map[int]string // strings by position (shared references decode once)
}

// spend charges n bytes of decoded output against the budget, which is proportional to the
// input size: FlatBuffers may reference one vector or string many times, so without a cap a
// small hostile file could expand into gigabytes.
func (r *reader) spend(n int, what string) error {
	r.budget -= int64(n)
	if r.budget < 0 {
		return fmt.Errorf("%s: decoded graph would exceed %d bytes (%dx the %d-byte input); shared references?", what, decodeBudgetFactor*len(r.b)+decodeBudgetBase, decodeBudgetFactor, len(r.b))
	}
	return nil
}

const (
	decodeBudgetFactor = 32
	decodeBudgetBase   = 1 << 20
)

type table struct {
	pos   int // absolute position of the table
	vt    int // absolute position of its vtable
	vtLen int // vtable length in bytes
	size  int // inline object size in bytes
}

func (r *reader) need(pos, n int, what string) error {
	if pos < 0 || n < 0 || pos > len(r.b) || n > len(r.b)-pos {
		return fmt.Errorf("%s at offset %d (+%d bytes) is outside the %d-byte buffer", what, pos, n, len(r.b))
	}
	return nil
}

func (r *reader) u32(pos int, what string) (uint32, error) {
	if err := r.need(pos, 4, what); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(r.b[pos:]), nil
}

func (r *reader) u16(pos int, what string) (int, error) {
	if err := r.need(pos, 2, what); err != nil {
		return 0, err
	}
	return int(binary.LittleEndian.Uint16(r.b[pos:])), nil
}

// indirect follows the uoffset stored at pos.
func (r *reader) indirect(pos int, what string) (int, error) {
	off, err := r.u32(pos, what)
	if err != nil {
		return 0, err
	}
	t := int64(pos) + int64(off)
	if t >= int64(len(r.b)) {
		return 0, fmt.Errorf("%s at offset %d points to %d, outside the %d-byte buffer", what, pos, t, len(r.b))
	}
	return int(t), nil
}

// table reads the table at absolute position pos.
func (r *reader) table(pos int, what string) (table, error) {
	if pos%4 != 0 {
		return table{}, fmt.Errorf("%s at offset %d: table is not 4-byte aligned", what, pos)
	}
	so, err := r.u32(pos, what)
	if err != nil {
		return table{}, err
	}
	vt := int64(pos) - int64(int32(so))
	if vt < 0 || vt%2 != 0 || vt+4 > int64(len(r.b)) {
		return table{}, fmt.Errorf("%s at offset %d: vtable offset %d is outside the buffer", what, pos, vt)
	}
	t := table{pos: pos, vt: int(vt)}
	if t.vtLen, err = r.u16(t.vt, what+" vtable"); err != nil {
		return table{}, err
	}
	if t.size, err = r.u16(t.vt+2, what+" vtable"); err != nil {
		return table{}, err
	}
	if t.vtLen < 4 || t.vtLen%2 != 0 {
		return table{}, fmt.Errorf("%s at offset %d: bad vtable length %d", what, pos, t.vtLen)
	}
	if err := r.need(t.vt, t.vtLen, what+" vtable"); err != nil {
		return table{}, err
	}
	if t.size < 4 {
		return table{}, fmt.Errorf("%s at offset %d: bad object size %d", what, pos, t.size)
	}
	if err := r.need(pos, t.size, what); err != nil {
		return table{}, err
	}
	return t, nil
}

// field returns the absolute position of field id of t, or 0 if it is absent. width is the
// inline size of the field.
func (r *reader) field(t table, id, width int, what string) (int, error) {
	slot := 4 + 2*id
	if slot+2 > t.vtLen {
		return 0, nil
	}
	fo, err := r.u16(t.vt+slot, what)
	if err != nil {
		return 0, err
	}
	if fo == 0 {
		return 0, nil
	}
	if fo < 4 || fo+width > t.size {
		return 0, fmt.Errorf("%s: field offset %d outside the %d-byte table at offset %d", what, fo, t.size, t.pos)
	}
	return t.pos + fo, nil
}

func (r *reader) scalarU32(t table, id int, def uint32, what string) (uint32, error) {
	p, err := r.field(t, id, 4, what)
	if err != nil || p == 0 {
		return def, err
	}
	return r.u32(p, what)
}

func (r *reader) scalarU8(t table, id int, def byte, what string) (byte, error) {
	p, err := r.field(t, id, 1, what)
	if err != nil || p == 0 {
		return def, err
	}
	if err := r.need(p, 1, what); err != nil {
		return 0, err
	}
	return r.b[p], nil
}

func (r *reader) scalarBool(t table, id int, def bool, what string) (bool, error) {
	d := byte(0)
	if def {
		d = 1
	}
	v, err := r.scalarU8(t, id, d, what)
	return v != 0, err
}

// vector returns the start and length of the vector in field id (ok=false if absent).
func (r *reader) vector(t table, id, elemSize int, what string) (start, n int, ok bool, err error) {
	p, err := r.field(t, id, 4, what)
	if err != nil || p == 0 {
		return 0, 0, false, err
	}
	vp, err := r.indirect(p, what)
	if err != nil {
		return 0, 0, false, err
	}
	cnt, err := r.u32(vp, what+" length")
	if err != nil {
		return 0, 0, false, err
	}
	start = vp + 4
	if int64(cnt)*int64(elemSize) > int64(len(r.b)-start) {
		return 0, 0, false, fmt.Errorf("%s at offset %d: %d elements of %d bytes overrun the %d-byte buffer", what, vp, cnt, elemSize, len(r.b))
	}
	return start, int(cnt), true, nil
}

func (r *reader) bytesField(t table, id int, what string) ([]byte, bool, error) {
	s, n, ok, err := r.vector(t, id, 1, what)
	if err != nil || !ok {
		return nil, ok, err
	}
	return r.b[s : s+n : s+n], true, nil
}

func (r *reader) stringField(t table, id int, what string) (string, error) {
	p, err := r.field(t, id, 4, what)
	if err != nil || p == 0 {
		return "", err
	}
	sp, err := r.indirect(p, what)
	if err != nil {
		return "", err
	}
	return r.stringAt(sp, what)
}

// stringAt reads the string whose length prefix is at sp, decoding each position once.
func (r *reader) stringAt(sp int, what string) (string, error) {
	if s, ok := r.strs[sp]; ok {
		return s, nil
	}
	l, err := r.u32(sp, what+" length")
	if err != nil {
		return "", err
	}
	if int64(l) > int64(len(r.b)-sp-4) {
		return "", fmt.Errorf("%s at offset %d: string length %d overruns the buffer", what, sp, l)
	}
	if err := r.spend(int(l)+16, what); err != nil {
		return "", err
	}
	s := string(r.b[sp+4 : sp+4+int(l)])
	r.strs[sp] = s
	return s, nil
}

func (r *reader) int32sField(t table, id int, what string) ([]int, bool, error) {
	s, n, ok, err := r.vector(t, id, 4, what)
	if err != nil || !ok {
		return nil, ok, err
	}
	if err := r.spend(8*n+24, what); err != nil {
		return nil, false, err
	}
	v := make([]int, n)
	for i := range v {
		v[i] = int(int32(binary.LittleEndian.Uint32(r.b[s+4*i:])))
	}
	return v, true, nil
}

func (r *reader) stringsField(t table, id int, what string) ([]string, error) {
	s, n, ok, err := r.vector(t, id, 4, what)
	if err != nil || !ok || n == 0 {
		return nil, err
	}
	if err := r.spend(16*n+24, what); err != nil {
		return nil, err
	}
	v := make([]string, n)
	for i := range v {
		sp, err := r.indirect(s+4*i, fmt.Sprintf("%s[%d]", what, i))
		if err != nil {
			return nil, err
		}
		if v[i], err = r.stringAt(sp, fmt.Sprintf("%s[%d]", what, i)); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// tables returns the tables of a vector-of-tables field.
func (r *reader) tables(t table, id int, what string) ([]table, error) {
	s, n, ok, err := r.vector(t, id, 4, what)
	if err != nil || !ok {
		return nil, err
	}
	if err := r.spend(32*n+24, what); err != nil {
		return nil, err
	}
	v := make([]table, n)
	for i := range v {
		w := fmt.Sprintf("%s[%d]", what, i)
		p, err := r.indirect(s+4*i, w)
		if err != nil {
			return nil, err
		}
		if v[i], err = r.table(p, w); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// subTable returns the table referenced by field id (ok=false if absent).
func (r *reader) subTable(t table, id int, what string) (table, bool, error) {
	p, err := r.field(t, id, 4, what)
	if err != nil || p == 0 {
		return table{}, false, err
	}
	tp, err := r.indirect(p, what)
	if err != nil {
		return table{}, false, err
	}
	st, err := r.table(tp, what)
	return st, err == nil, err
}

// Decode parses a .tosa file (TOSA 1.0 final schema). It reads the block "main" of the first
// region. The input is treated as untrusted: every offset is bounds-checked and allocations
// are bounded by the input size; errors name the element and byte offset.
func Decode(buf []byte) (g *Graph, err error) {
	defer func() {
		if p := recover(); p != nil {
			g, err = nil, fmt.Errorf("tosa: decode: internal error on malformed input: %v", p)
		}
	}()
	g, err = decode(buf)
	if err != nil {
		return nil, fmt.Errorf("tosa: decode: %w", err)
	}
	return g, nil
}

func decode(buf []byte) (*Graph, error) {
	if len(buf) < 8 {
		return nil, fmt.Errorf("file is %d bytes, too short for a FlatBuffers buffer", len(buf))
	}
	if string(buf[4:8]) != FileIdentifier {
		return nil, fmt.Errorf("file identifier %q, want %q (not a .tosa file)", buf[4:8], FileIdentifier)
	}
	r := &reader{b: buf, budget: int64(decodeBudgetFactor)*int64(len(buf)) + decodeBudgetBase, strs: map[int]string{}}
	rootPos, err := r.indirect(0, "root table offset")
	if err != nil {
		return nil, err
	}
	root, err := r.table(rootPos, "TosaGraph")
	if err != nil {
		return nil, err
	}
	ver, ok, err := r.subTable(root, fGraphVersion, "TosaGraph.version")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errors.New("TosaGraph.version (required) is missing")
	}
	maj, err := r.scalarU32(ver, fVerMajor, math.MaxUint32, "Version._major")
	if err != nil {
		return nil, err
	}
	mnr, err := r.scalarU32(ver, fVerMinor, math.MaxUint32, "Version._minor")
	if err != nil {
		return nil, err
	}
	pat, err := r.scalarU32(ver, fVerPatch, math.MaxUint32, "Version._patch")
	if err != nil {
		return nil, err
	}
	draft, err := r.scalarBool(ver, fVerDraft, true, "Version._draft")
	if err != nil {
		return nil, err
	}
	if int32(maj) != VersionMajor || int32(mnr) != VersionMinor || draft {
		d := ""
		if draft {
			d = "d"
		}
		return nil, fmt.Errorf("unsupported TOSA version %d.%d.%d%s (want %d.%d.x, non-draft)",
			int32(maj), int32(mnr), int32(pat), d, VersionMajor, VersionMinor)
	}
	regions, err := r.tables(root, fGraphRegions, "TosaGraph.regions")
	if err != nil {
		return nil, err
	}
	if len(regions) == 0 {
		return nil, errors.New("TosaGraph has no regions")
	}
	if len(regions) > 1 {
		return nil, fmt.Errorf("TosaGraph has %d regions; only a single main region is supported", len(regions))
	}
	blocks, err := r.tables(regions[0], fRegionBlocks, "regions[0].blocks")
	if err != nil {
		return nil, err
	}
	var block *table
	for i := range blocks {
		name, err := r.stringField(blocks[i], fBlockName, fmt.Sprintf("regions[0].blocks[%d].name", i))
		if err != nil {
			return nil, err
		}
		if name == "main" {
			block = &blocks[i]
			break
		}
	}
	if block == nil {
		return nil, fmt.Errorf("regions[0] has no block named \"main\" (%d blocks)", len(blocks))
	}
	if len(blocks) > 1 {
		return nil, fmt.Errorf("regions[0] has %d blocks; only the single block \"main\" is supported", len(blocks))
	}
	return decodeBlock(r, *block)
}

func decodeBlock(r *reader, blk table) (*Graph, error) {
	g := &Graph{}
	var err error
	if g.Inputs, err = r.stringsField(blk, fBlockInputs, "main.inputs"); err != nil {
		return nil, err
	}
	if g.Outputs, err = r.stringsField(blk, fBlockOutputs, "main.outputs"); err != nil {
		return nil, err
	}
	tts, err := r.tables(blk, fBlockTensors, "main.tensors")
	if err != nil {
		return nil, err
	}
	for i, tt := range tts {
		t, err := decodeTensor(r, tt, i)
		if err != nil {
			return nil, err
		}
		g.Tensors = append(g.Tensors, t)
	}
	ots, err := r.tables(blk, fBlockOperators, "main.operators")
	if err != nil {
		return nil, err
	}
	for i, ot := range ots {
		op, err := decodeOperator(r, ot, i)
		if err != nil {
			return nil, err
		}
		g.Ops = append(g.Ops, op)
	}
	return g, nil
}

func decodeTensor(r *reader, tt table, i int) (*Tensor, error) {
	w := fmt.Sprintf("tensor %d", i)
	name, err := r.stringField(tt, fTensName, w+".name")
	if err != nil {
		return nil, err
	}
	w = fmt.Sprintf("tensor %d (%q)", i, name)
	shape, _, err := r.int32sField(tt, fTensShape, w+".shape")
	if err != nil {
		return nil, err
	}
	if shape == nil {
		shape = []int{}
	}
	ty, err := r.scalarU32(tt, fTensType, 0, w+".type")
	if err != nil {
		return nil, err
	}
	t := &Tensor{Name: name, Shape: shape, Type: DType(ty)}
	if !t.Type.Valid() {
		return nil, fmt.Errorf("%s: unknown type %d", w, ty)
	}
	for _, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("%s: negative dimension in shape %v", w, shape)
		}
	}
	if unr, err := r.scalarBool(tt, fTensUnranked, false, w+".is_unranked"); err != nil {
		return nil, err
	} else if unr {
		return nil, fmt.Errorf("%s: unranked tensors are not supported", w)
	}
	if v, err := r.scalarBool(tt, fTensVariable, false, w+".variable"); err != nil {
		return nil, err
	} else if v {
		return nil, fmt.Errorf("%s: variable tensors are not supported", w)
	}
	data, ok, err := r.bytesField(tt, fTensData, w+".data")
	if err != nil {
		return nil, err
	}
	if ok {
		// element count, with an overflow guard bounded by the data length
		n := int64(1)
		for _, d := range shape {
			n *= int64(d)
			if n > int64(len(r.b))*2+16 {
				return nil, fmt.Errorf("%s: shape %v implies more elements than the file can hold", w, shape)
			}
		}
		need := t.Type.DataSize(int(n))
		if need > len(data) {
			return nil, fmt.Errorf("%s: %d data bytes, shape %v of %v needs %d", w, len(data), shape, t.Type, need)
		}
		if err := r.spend(need, w+".data"); err != nil {
			return nil, err
		}
		t.Data = append([]byte{}, data[:need]...)
	}
	return t, nil
}

func decodeOperator(r *reader, ot table, i int) (*Operator, error) {
	w := fmt.Sprintf("operator %d", i)
	code, err := r.scalarU32(ot, fOpOp, 0, w+".op")
	if err != nil {
		return nil, err
	}
	op := &Operator{Op: Op(code)}
	if !op.Op.Valid() {
		return nil, fmt.Errorf("%s: unknown op %d", w, code)
	}
	w = fmt.Sprintf("operator %d (%v)", i, op.Op)
	tag, err := r.scalarU8(ot, fOpAttrType, 0, w+".attribute_type")
	if err != nil {
		return nil, err
	}
	if tag != 0 && uint32(tag) != code {
		return nil, fmt.Errorf("%s: attribute type %d does not match op %d", w, tag, code)
	}
	if tag != 0 {
		at, ok, err := r.subTable(ot, fOpAttr, w+".attribute")
		if err != nil {
			return nil, err
		}
		if ok {
			if err := decodeAttr(r, at, op.Op, &op.Attr, w); err != nil {
				return nil, err
			}
		}
	}
	if op.Inputs, err = r.stringsField(ot, fOpInputs, w+".inputs"); err != nil {
		return nil, err
	}
	if op.Outputs, err = r.stringsField(ot, fOpOutputs, w+".outputs"); err != nil {
		return nil, err
	}
	return op, nil
}

func decodeAttr(r *reader, at table, op Op, a *Attr, w string) error {
	for id, f := range attrTables[op] {
		fw := w + ".attribute." + f.name
		switch f.kind {
		case kVec32:
			v, _, err := r.int32sField(at, id, fw)
			if err != nil {
				return err
			}
			if len(v) == 0 {
				v = nil
			}
			*f.ptrInts(a) = v
		case kBytes:
			v, _, err := r.bytesField(at, id, fw)
			if err != nil {
				return err
			}
			if len(v) == 0 {
				v = nil
			} else {
				if err := r.spend(len(v), fw); err != nil {
					return err
				}
				v = append([]byte{}, v...)
			}
			*f.ptrBytes(a) = v
		case kBool:
			v, err := r.scalarBool(at, id, false, fw)
			if err != nil {
				return err
			}
			*f.ptrBool(a) = v
		case kU32:
			v, err := r.scalarU32(at, id, 0, fw)
			if err != nil {
				return err
			}
			*f.ptrU32(a) = v
		case kI32:
			v, err := r.scalarU32(at, id, 0, fw)
			if err != nil {
				return err
			}
			*f.ptrI32(a) = int(int32(v))
		case kString:
			v, err := r.stringField(at, id, fw)
			if err != nil {
				return err
			}
			*f.ptrStr(a) = v
		}
	}
	return nil
}

// =============================================================================================
// Encoding

// Encode writes g as a .tosa file: version 1.0.0 (draft=false written explicitly), one region
// "main" with one block "main" listing every tensor of g in order, operators in g's order, each
// with its attribute table (union tag = op value). Constant data vectors are 8-byte aligned and
// zero-padded to a multiple of 8 bytes. Encode checks only what the format needs (known ops and
// types, int32-representable attribute values, data sizes); use Validate for the rest.
func Encode(g *Graph) (out []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("tosa: encode: internal error: %v", p)
		}
	}()
	if g == nil {
		return nil, errors.New("tosa: encode: nil graph")
	}
	b := flatbuffers.NewBuilder(4096)
	e := &encoder{b: b}

	tensors := make([]flatbuffers.UOffsetT, len(g.Tensors))
	for i, t := range g.Tensors {
		if tensors[i], err = e.tensor(t, i); err != nil {
			return nil, fmt.Errorf("tosa: encode: %w", err)
		}
	}
	ops := make([]flatbuffers.UOffsetT, len(g.Ops))
	for i, op := range g.Ops {
		if ops[i], err = e.operator(op, i); err != nil {
			return nil, fmt.Errorf("tosa: encode: %w", err)
		}
	}
	inputs := e.strings(g.Inputs)
	outputs := e.strings(g.Outputs)
	opsVec := e.tables(ops)
	tensVec := e.tables(tensors)
	blockName := b.CreateString("main")
	b.StartObject(5)
	b.PrependUOffsetTSlot(fBlockName, blockName, 0)
	b.PrependUOffsetTSlot(fBlockOperators, opsVec, 0)
	b.PrependUOffsetTSlot(fBlockTensors, tensVec, 0)
	b.PrependUOffsetTSlot(fBlockInputs, inputs, 0)
	b.PrependUOffsetTSlot(fBlockOutputs, outputs, 0)
	block := b.EndObject()

	blocks := e.tables([]flatbuffers.UOffsetT{block})
	regionName := b.CreateString("main")
	b.StartObject(2)
	b.PrependUOffsetTSlot(fRegionName, regionName, 0)
	b.PrependUOffsetTSlot(fRegionBlocks, blocks, 0)
	region := b.EndObject()
	regions := e.tables([]flatbuffers.UOffsetT{region})

	b.StartObject(4)
	e.forceI32(fVerMajor, VersionMajor)
	e.forceI32(fVerMinor, VersionMinor)
	e.forceI32(fVerPatch, VersionPatch)
	e.forceBool(fVerDraft, false)
	version := b.EndObject()

	b.StartObject(2)
	b.PrependUOffsetTSlot(fGraphVersion, version, 0)
	b.PrependUOffsetTSlot(fGraphRegions, regions, 0)
	root := b.EndObject()
	b.FinishWithFileIdentifier(root, []byte(FileIdentifier))
	return append([]byte{}, b.FinishedBytes()...), nil
}

type encoder struct{ b *flatbuffers.Builder }

// force* write a scalar field even when it equals the schema default.
func (e *encoder) forceI32(id int, v int32) { e.b.PrependInt32(v); e.b.Slot(id) }
func (e *encoder) forceU32(id int, v uint32) {
	e.b.PrependUint32(v)
	e.b.Slot(id)
}
func (e *encoder) forceBool(id int, v bool) { e.b.PrependBool(v); e.b.Slot(id) }

func (e *encoder) strings(s []string) flatbuffers.UOffsetT {
	offs := make([]flatbuffers.UOffsetT, len(s))
	for i, x := range s {
		offs[i] = e.b.CreateString(x)
	}
	return e.tables(offs)
}

// tables writes a vector of offsets (tables or strings).
func (e *encoder) tables(offs []flatbuffers.UOffsetT) flatbuffers.UOffsetT {
	e.b.StartVector(4, len(offs), 4)
	for i := len(offs) - 1; i >= 0; i-- {
		e.b.PrependUOffsetT(offs[i])
	}
	return e.b.EndVector(len(offs))
}

func (e *encoder) int32s(v []int, what string) (flatbuffers.UOffsetT, error) {
	for _, x := range v {
		if x < math.MinInt32 || x > math.MaxInt32 {
			return 0, fmt.Errorf("%s: value %d does not fit int32", what, x)
		}
	}
	e.b.StartVector(4, len(v), 4)
	for i := len(v) - 1; i >= 0; i-- {
		e.b.PrependInt32(int32(v[i]))
	}
	return e.b.EndVector(len(v)), nil
}

// aligned8 writes a [ubyte] (force_align: 8) vector zero-padded to a multiple of 8 bytes.
func (e *encoder) aligned8(data []byte) flatbuffers.UOffsetT {
	n := (len(data) + 7) &^ 7
	e.b.StartVector(1, n, 8)
	for i := n - 1; i >= 0; i-- {
		var c byte
		if i < len(data) {
			c = data[i]
		}
		e.b.PlaceByte(c)
	}
	return e.b.EndVector(n)
}

func (e *encoder) tensor(t *Tensor, i int) (flatbuffers.UOffsetT, error) {
	if t == nil {
		return 0, fmt.Errorf("tensor %d is nil", i)
	}
	w := fmt.Sprintf("tensor %d (%q)", i, t.Name)
	if !t.Type.Valid() {
		return 0, fmt.Errorf("%s: unknown type %v", w, t.Type)
	}
	if t.Data != nil {
		if need := t.Type.DataSize(t.NumElements()); len(t.Data) < need {
			return 0, fmt.Errorf("%s: %d data bytes, shape %v of %v needs %d", w, len(t.Data), t.Shape, t.Type, need)
		}
	}
	name := e.b.CreateString(t.Name)
	shape, err := e.int32s(t.Shape, w+".shape")
	if err != nil {
		return 0, err
	}
	var data flatbuffers.UOffsetT
	if t.Data != nil {
		data = e.aligned8(t.Data)
	}
	e.b.StartObject(7)
	e.b.PrependUOffsetTSlot(fTensName, name, 0)
	e.b.PrependUOffsetTSlot(fTensShape, shape, 0)
	e.forceU32(fTensType, uint32(t.Type))
	if t.Data != nil {
		e.b.PrependUOffsetTSlot(fTensData, data, 0)
	}
	return e.b.EndObject(), nil
}

func (e *encoder) operator(op *Operator, i int) (flatbuffers.UOffsetT, error) {
	if op == nil {
		return 0, fmt.Errorf("operator %d is nil", i)
	}
	w := fmt.Sprintf("operator %d (%v)", i, op.Op)
	if !op.Op.Valid() || op.Op > 255 {
		return 0, fmt.Errorf("%s: unknown op", w)
	}
	attr, err := e.attr(op, w)
	if err != nil {
		return 0, err
	}
	inputs := e.strings(op.Inputs)
	outputs := e.strings(op.Outputs)
	e.b.StartObject(5)
	e.forceU32(fOpOp, uint32(op.Op))
	e.b.PrependByte(byte(op.Op))
	e.b.Slot(fOpAttrType)
	e.b.PrependUOffsetTSlot(fOpAttr, attr, 0)
	e.b.PrependUOffsetTSlot(fOpInputs, inputs, 0)
	e.b.PrependUOffsetTSlot(fOpOutputs, outputs, 0)
	return e.b.EndObject(), nil
}

func (e *encoder) attr(op *Operator, w string) (flatbuffers.UOffsetT, error) {
	fields := attrTables[op.Op]
	a := &op.Attr
	// offsets of the vector / string fields, written before the table
	offs := make([]flatbuffers.UOffsetT, len(fields))
	for id, f := range fields {
		switch f.kind {
		case kVec32:
			o, err := e.int32s(*f.ptrInts(a), w+".attribute."+f.name)
			if err != nil {
				return 0, err
			}
			offs[id] = o
		case kBytes:
			if f.name == "implementation_attrs" {
				offs[id] = e.b.CreateByteVector(*f.ptrBytes(a))
			} else {
				offs[id] = e.aligned8(*f.ptrBytes(a))
			}
		case kString:
			offs[id] = e.b.CreateString(*f.ptrStr(a))
		}
	}
	e.b.StartObject(len(fields))
	for id, f := range fields {
		switch f.kind {
		case kVec32, kBytes, kString:
			e.b.PrependUOffsetTSlot(id, offs[id], 0)
		case kBool:
			e.forceBool(id, *f.ptrBool(a))
		case kU32:
			e.forceU32(id, *f.ptrU32(a))
		case kI32:
			v := *f.ptrI32(a)
			if v < math.MinInt32 || v > math.MaxInt32 {
				return 0, fmt.Errorf("%s.attribute.%s: value %d does not fit int32", w, f.name, v)
			}
			e.forceI32(id, int32(v))
		}
	}
	return e.b.EndObject(), nil
}
