// Package vgf reads and writes .vgf files, the model container of Arm's ML SDK
// for Vulkan (arm/ai-ml-sdk-vgf-library), and reproduces the JSON output of
// Arm's vgf_dump tool.
//
// A VGF file is a 128-byte header followed by four sections: the module table,
// the model sequence table and the model resource table (each a standalone
// FlatBuffers buffer) and the constants section (the raw "CONST00" layout since
// format 0.4.0, a FlatBuffers ConstantSection before). The field-by-field
// reference is vgf-format.md in the shared reference material (shared/reference).
//
// Decode reads format 0.3.x and 0.4.x files with the validation Arm's decoder
// and vgf_dump perform (and a few checks more), returning errors that name the
// section and field instead of panicking. Encode writes format 0.4.3 files that
// are byte-identical to what Arm's C++ encoder writes for the same content
// (see Encode for the call order it replays). DumpJSON and ScenarioTemplate
// produce exactly what `vgf_dump -i FILE` and `vgf_dump --scenario-template`
// print.
//
// SPIR-V modules are opaque words here; this package does not look inside them.
package vgf

import "strconv"

// Format version written by Encode.
const (
	VersionMajor = 0
	VersionMinor = 4
	VersionPatch = 3
)

// HeaderSize is the size of the fixed VGF header in bytes.
const HeaderSize = 128

// Sentinels and special values of the format.
const (
	// DescriptorTypeNone is the vk_descriptor_type of resources without a
	// descriptor type; Arm's encoder writes it for CONSTANT resources (and only
	// for them). vgf_dump prints it as "none".
	DescriptorTypeNone uint32 = 0xFFFFFFFF
	// SetIndexUnset is the schema default of DescriptorSetInfo.set_index: the
	// descriptor set number is the position of the set info in its segment.
	SetIndexUnset uint32 = 0xFFFFFFFF
	// NotSparse is the sparsity dimension of a dense constant.
	NotSparse int64 = -1
	// DynamicDim is the shape value of a dynamic dimension (INT64_MIN, the MLIR
	// convention). Scenario templates print it as -1.
	DynamicDim int64 = -1 << 63
)

// Vulkan enum values that VGF producers commonly use (raw values of
// VkDescriptorType and VkFormat).
const (
	DescriptorTypeCombinedImageSampler uint32 = 1
	DescriptorTypeStorageImage         uint32 = 3
	DescriptorTypeUniformBuffer        uint32 = 6
	DescriptorTypeStorageBuffer        uint32 = 7
	DescriptorTypeTensorARM            uint32 = 1000460000

	FormatR8Uint    uint32 = 13
	FormatR8Sint    uint32 = 14
	FormatR16Uint   uint32 = 74
	FormatR16Sint   uint32 = 75
	FormatR16Sfloat uint32 = 76
	FormatR32Uint   uint32 = 98
	FormatR32Sint   uint32 = 99
	FormatR32Sfloat uint32 = 100
	FormatR64Sint   uint32 = 111
	FormatR8BoolARM uint32 = 1000460000
)

// Version is a VGF format version (header bytes 8..10).
type Version struct {
	Major, Minor, Patch uint8
}

// ModuleType is the kind of a module (and of the segment that runs it).
type ModuleType uint8

// Module types (schema enum ModuleType).
const (
	ModuleCompute ModuleType = 0 // a compute shader
	ModuleGraph   ModuleType = 1 // a SPIR-V graph (SPV_ARM_graph)
)

// String returns the name vgf_dump prints ("COMPUTE", "GRAPH").
func (t ModuleType) String() string {
	switch t {
	case ModuleCompute:
		return "COMPUTE"
	case ModuleGraph:
		return "GRAPH"
	}
	return "ModuleType(" + strconv.Itoa(int(t)) + ")"
}

// CodeType is the tag of a module's code union (schema union ModuleCode).
type CodeType uint8

// Code types.
const (
	CodeNone  CodeType = 0
	CodeSPIRV CodeType = 1
	CodeGLSL  CodeType = 2
	CodeHLSL  CodeType = 3
)

// String returns the shader_type name vgf_dump prints ("SPIR-V", "GLSL",
// "HLSL", "None").
func (t CodeType) String() string {
	switch t {
	case CodeSPIRV:
		return "SPIR-V"
	case CodeGLSL:
		return "GLSL"
	case CodeHLSL:
		return "HLSL"
	}
	return "None"
}

// ResourceCategory is the role of a model resource table entry.
type ResourceCategory uint8

// Resource categories (schema enum ResourceCategory).
const (
	CategoryInput        ResourceCategory = 0 // model input
	CategoryOutput       ResourceCategory = 1 // model output
	CategoryIntermediate ResourceCategory = 2 // buffer between segments
	CategoryConstant     ResourceCategory = 3 // weights; data in the constants section
)

// String returns the name vgf_dump prints ("INPUT", "OUTPUT", ...).
func (c ResourceCategory) String() string {
	switch c {
	case CategoryInput:
		return "INPUT"
	case CategoryOutput:
		return "OUTPUT"
	case CategoryIntermediate:
		return "INTERMEDIATE"
	case CategoryConstant:
		return "CONSTANT"
	}
	return "ResourceCategory(" + strconv.Itoa(int(c)) + ")"
}

// File is the decoded content of a VGF file.
type File struct {
	// Version is the format version of a decoded file. Encode ignores it and
	// always writes 0.4.3.
	Version Version
	// VKHeaderVersion is the VK_HEADER_VERSION the producer was built against
	// (header bytes 4..5; informative). model-converter writes 0, Arm's samples
	// 999.
	VKHeaderVersion uint16
	// Filename is the path the file was read from (set by ReadFile, empty after
	// Decode). ScenarioTemplate uses its base name as the graph resource's src,
	// as vgf_dump does with its input path. It is not stored in the file.
	Filename string

	Modules   []Module   // module table, indexed by Segment.ModuleIndex
	Resources []Resource // model resource table ("MRT"), indexed by MRT indexes
	Sequence  Sequence   // model sequence table
	Constants []Constant // constants section, indexed by Segment.Constants
}

// Module is one entry of the module table.
type Module struct {
	Type ModuleType
	// Name is free text (model-converter uses the segment symbol name). Like
	// Arm's decoder, Decode cuts names at the first NUL byte and Encode writes
	// them cut there.
	Name string
	// EntryPoint is the shader entry point or the OpGraphEntryPointARM name.
	EntryPoint string
	// CodeType is the tag of the code union. A module with CodeType CodeSPIRV
	// and no Code words is a placeholder that the runtime substitutes by name;
	// GLSL/HLSL modules with empty Source likewise store only the tag.
	CodeType CodeType
	// Code holds the SPIR-V words (CodeSPIRV).
	Code []uint32
	// Source holds the GLSL or HLSL source text (CodeGLSL, CodeHLSL). Encode
	// writes it cut at the first NUL byte, as Arm's encoder does.
	Source string
}

// CodeAvailable reports whether the module stores shader code (vgf_dump's
// shader_code_available).
func (m *Module) CodeAvailable() bool {
	switch m.CodeType {
	case CodeSPIRV:
		return len(m.Code) > 0
	case CodeGLSL, CodeHLSL:
		return m.Source != ""
	}
	return false
}

// Resource is one entry of the model resource table (ModelResourceTableEntry).
type Resource struct {
	Category ResourceCategory
	// VkDescriptorType is the raw VkDescriptorType (DescriptorTypeTensorARM for
	// graph tensors); DescriptorTypeNone for CONSTANT resources.
	VkDescriptorType uint32
	// VkFormat is the raw VkFormat of the elements.
	VkFormat uint32
	// Shape holds the logical dimensions; DynamicDim marks a dynamic one.
	Shape []int64
	// Strides is empty for packed (linear) layouts.
	Strides []int64
	// Sampler is the optional sampler configuration of sampled images
	// (extra_config).
	Sampler *SamplerConfig
	// AliasGroupID, when non-nil, puts the resource in an alias group: non-
	// constant entries with the same id share memory. nil = no alias (stored
	// as the schema default 0xFFFFFFFF, which is therefore not a valid id).
	AliasGroupID *uint32
}

// SamplerConfig is the sampler configuration of a sampled-image resource (raw
// VkFilter, VkSamplerAddressMode and VkBorderColor values).
type SamplerConfig struct {
	MinFilter, MagFilter       uint32
	AddressModeU, AddressModeV uint32
	BorderColor                uint32
}

// Sequence is the model sequence table: the segments to run, in order, and the
// model interface.
type Sequence struct {
	Segments []Segment
	// Inputs and Outputs are the model interface binding slots, in order.
	Inputs, Outputs []BindingSlot
	// InputNames and OutputNames parallel Inputs and Outputs (vgf_dump pairs
	// them only when the counts are equal).
	InputNames, OutputNames []string
}

// Segment is one SegmentInfo: a module invocation.
type Segment struct {
	// Type is the module type; Arm's encoder copies the referenced module's
	// type, and Encode writes this field as given.
	Type ModuleType
	Name string
	// ModuleIndex indexes File.Modules.
	ModuleIndex uint32
	// SetInfos are the segment's descriptor sets.
	SetInfos []DescriptorSetInfo
	// Inputs and Outputs are the segment's interface binding slots.
	Inputs, Outputs []BindingSlot
	// Constants indexes File.Constants (constant records, not MRT indexes);
	// the runtime passes index k as the graph constant id k.
	Constants []uint32
	// DispatchShape holds the workgroup counts of a compute segment. Arm's
	// encoder always writes 3 elements ([0,0,0] for graph segments); nil means
	// the field is absent from the file (Encode then omits it). A present
	// dispatch shape must have exactly 3 elements.
	DispatchShape []uint32
	// PushConstantRanges are the segment's push constant ranges.
	PushConstantRanges []PushConstantRange
}

// DescriptorSetInfo is one descriptor set of a segment.
type DescriptorSetInfo struct {
	Bindings []BindingSlot
	// SetIndex is the explicit descriptor set number, or SetIndexUnset to use
	// the position in Segment.SetInfos (always unset before format 0.4.2).
	// Note that the zero value is an explicit set 0.
	SetIndex uint32
}

// ResolvedSetIndex returns the descriptor set number of s when it is at
// position pos of its segment's SetInfos.
func (s *DescriptorSetInfo) ResolvedSetIndex(pos int) uint32 {
	if s.SetIndex != SetIndexUnset {
		return s.SetIndex
	}
	return uint32(pos)
}

// BindingSlot pairs a descriptor binding number with a model resource table
// index.
type BindingSlot struct {
	Binding  uint32
	MRTIndex uint32
}

// PushConstantRange is a push constant range of a compute segment.
type PushConstantRange struct {
	StageFlags uint32 // VkShaderStageFlags, e.g. 0x20 COMPUTE
	Offset     uint32 // bytes
	Size       uint32 // bytes
}

// Constant is one record of the constants section.
type Constant struct {
	// ResourceIndex is the MRT index of the CONSTANT resource giving the
	// constant's format and shape.
	ResourceIndex uint32
	// SparsityDimension is NotSparse (-1) for dense data, or the dimension
	// carrying 2:4 structured sparsity. Note that the zero value means
	// dimension 0; use NotSparse (or DenseConstant) for ordinary weights. The
	// 0.4 format stores it as int32 (Encode rejects values outside int32).
	SparsityDimension int64
	// Data is the raw little-endian element data (never empty). Decoded
	// constants share one copy of the constants section.
	Data []byte
}

// DenseConstant returns a dense constant for MRT entry resourceIndex.
func DenseConstant(resourceIndex uint32, data []byte) Constant {
	return Constant{ResourceIndex: resourceIndex, SparsityDimension: NotSparse, Data: data}
}
