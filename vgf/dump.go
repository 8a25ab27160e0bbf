package vgf

import (
	"fmt"
	"math"
	"math/bits"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// jobj is a JSON object; it is written with its keys sorted, as nlohmann::json
// (std::map) orders them.
type jobj map[string]any

// DumpJSON returns exactly what Arm's `vgf_dump -i FILE` prints for f: the
// header version, modules, resources, model sequence and constants as JSON
// with sorted keys, 4-space indentation and no trailing newline. Enum values
// are printed with their Vulkan names (vulkan_core.h VK_HEADER_VERSION 345, as
// vgf_dump 64816c7). A zero f.Version is printed as 0.4.3, the version Encode
// writes. Like vgf_dump it fails on invalid cross-references (see Validate) and
// on strings that are not valid UTF-8.
func DumpJSON(f *File) ([]byte, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	v := f.Version
	if v == (Version{}) {
		v = Version{VersionMajor, VersionMinor, VersionPatch}
	}
	modules := make([]any, len(f.Modules))
	for i := range f.Modules {
		m := &f.Modules[i]
		modules[i] = jobj{
			"index":                 uint64(i),
			"type":                  m.Type.String(),
			"name":                  cstr(m.Name),
			"entry_point":           cstr(m.EntryPoint),
			"shader_type":           m.CodeType.String(),
			"shader_code_available": m.CodeAvailable(),
		}
	}
	resources := make([]any, len(f.Resources))
	for i := range f.Resources {
		r := &f.Resources[i]
		o := jobj{
			"index":              uint64(i),
			"category":           r.Category.String(),
			"vk_descriptor_type": DescriptorTypeName(r.VkDescriptorType),
			"vk_format":          FormatName(r.VkFormat),
			"shape":              i64s(r.Shape),
			"stride":             i64s(r.Strides),
		}
		if c := r.Sampler; c != nil {
			o["sampler_config"] = jobj{
				"min_filter":     samplerName(filterNames, c.MinFilter),
				"mag_filter":     samplerName(filterNames, c.MagFilter),
				"address_mode_u": samplerName(samplerAddressModeNames, c.AddressModeU),
				"address_mode_v": samplerName(samplerAddressModeNames, c.AddressModeV),
				"border_color":   samplerName(borderColorNames, c.BorderColor),
			}
		}
		if r.AliasGroupID != nil {
			o["alias_group_id"] = uint64(*r.AliasGroupID)
		}
		resources[i] = o
	}
	q := &f.Sequence
	segments := make([]any, len(q.Segments))
	for i := range q.Segments {
		g := &q.Segments[i]
		sets := make([]any, len(g.SetInfos))
		for j := range g.SetInfos {
			sets[j] = jobj{
				"bindings":  slotsJSON(g.SetInfos[j].Bindings),
				"set_index": uint64(g.SetInfos[j].ResolvedSetIndex(j)),
			}
		}
		pcrs := make([]any, len(g.PushConstantRanges))
		for j, p := range g.PushConstantRanges {
			pcrs[j] = jobj{"index": uint64(j), "stage_flags": uint64(p.StageFlags), "offset": uint64(p.Offset), "size": uint64(p.Size)}
		}
		segments[i] = jobj{
			"index":                uint64(i),
			"type":                 g.Type.String(),
			"module_index":         uint64(g.ModuleIndex),
			"name":                 cstr(g.Name),
			"inputs":               slotsJSON(g.Inputs),
			"outputs":              slotsJSON(g.Outputs),
			"descriptor_set_infos": sets,
			"push_constant_ranges": pcrs,
			"constants":            u32s(g.Constants),
			"dispatch_shape":       u32s(g.DispatchShape),
		}
	}
	constants := make([]any, len(f.Constants))
	for i, c := range f.Constants {
		constants[i] = jobj{"index": uint64(i), "mrt_index": uint64(c.ResourceIndex), "sparsity_dimension": c.SparsityDimension}
	}
	doc := jobj{
		"header":    jobj{"major": uint64(v.Major), "minor": uint64(v.Minor), "patch": uint64(v.Patch)},
		"modules":   modules,
		"resources": resources,
		"model_sequence": jobj{
			"segments": segments,
			"inputs":   namedSlotsJSON(q.Inputs, q.InputNames),
			"outputs":  namedSlotsJSON(q.Outputs, q.OutputNames),
		},
		"constants": constants,
	}
	return marshalJSON(doc)
}

// ScenarioTemplate returns exactly what `vgf_dump -i FILE --scenario-template`
// prints for f (with addBoundaries, `--scenario-template-add-boundaries`): a
// Scenario Runner skeleton with the graph (src = base name of f.Filename),
// one tensor or buffer resource per model input and output with placeholder
// paths, one shader resource per COMPUTE module, and a dispatch_graph command
// binding them (set 0), optionally between mark_boundary commands. Like
// vgf_dump it fails for model inputs/outputs of the wrong category, for
// descriptor types other than tensors and storage/uniform buffers (e.g.
// images), and for buffer shapes whose element count is not positive or does
// not fit in uint32.
func ScenarioTemplate(f *File, addBoundaries bool) ([]byte, error) {
	var bindings, tensors, buffers, shaders, subs []any
	var outputs []any
	resources := []any{jobj{"graph": jobj{"uid": "vgf_graph_ref", "src": baseName(f.Filename)}}}
	iface := func(slots []BindingSlot, in bool) error {
		kind, cat, catName, access, pathKey := "output", CategoryOutput, "Output", "writeonly", "dst"
		if in {
			kind, cat, catName, access, pathKey = "input", CategoryInput, "Input", "readonly", "src"
		}
		for i, s := range slots {
			uid := kind + "_" + strconv.Itoa(i) + "_ref"
			if !in {
				outputs = append(outputs, uid)
			}
			bindings = append(bindings, jobj{"resource_ref": uid, "id": uint64(s.Binding), "set": uint64(0)})
			if int(s.MRTIndex) >= len(f.Resources) || s.MRTIndex == math.MaxUint32 {
				return fmt.Errorf("vgf: Model %s %d: MRT index %d out of range (%d entries)", kind, i, s.MRTIndex, len(f.Resources))
			}
			r := &f.Resources[s.MRTIndex]
			if r.Category != cat {
				return fmt.Errorf("vgf: VGF %s has a mismatched ResourceCategory (model %s %d is MRT entry %d of category %s)", catName, kind, i, s.MRTIndex, r.Category)
			}
			upper := strings.ToUpper(kind) + "_" + strconv.Itoa(i)
			switch name := DescriptorTypeName(r.VkDescriptorType); name {
			case "VK_DESCRIPTOR_TYPE_TENSOR_ARM":
				dims := make([]any, len(r.Shape))
				for k, d := range r.Shape {
					if d == DynamicDim {
						d = -1
					}
					dims[k] = d
				}
				tensors = append(tensors, jobj{"tensor": jobj{
					"uid": uid, pathKey: "TEMPLATE_PATH_TENSOR_" + upper, "shader_access": access,
					"format": FormatName(r.VkFormat), "dims": dims,
				}})
			case "VK_DESCRIPTOR_TYPE_STORAGE_BUFFER", "VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER":
				size, err := bufferSize(r.Shape)
				if err != nil {
					return err
				}
				buffers = append(buffers, jobj{"buffer": jobj{
					"uid": uid, pathKey: "TEMPLATE_PATH_BUFFER_" + upper, "shader_access": access, "size": uint64(size),
				}})
			default:
				return fmt.Errorf("vgf: Not implemented descriptor type support %s for %s resource when creating the scenario", name, kind)
			}
		}
		return nil
	}
	if err := iface(f.Sequence.Inputs, true); err != nil {
		return nil, err
	}
	if err := iface(f.Sequence.Outputs, false); err != nil {
		return nil, err
	}
	for i := range f.Modules {
		m := &f.Modules[i]
		if m.Type != ModuleCompute {
			continue
		}
		ref := "shader_" + strconv.Itoa(i) + "_ref"
		subs = append(subs, jobj{"shader_ref": ref, "target": cstr(m.Name)})
		typ := m.CodeType.String()
		pathType := typ
		if typ == "SPIR-V" {
			pathType = "SPIRV"
		}
		shaders = append(shaders, jobj{"shader": jobj{
			"uid": ref, "src": "TEMPLATE_PATH_SHADER_" + pathType + "_" + strconv.Itoa(i), "type": typ, "entry": cstr(m.EntryPoint),
		}})
	}
	var commands []any
	if addBoundaries {
		commands = append(commands, jobj{"mark_boundary": jobj{"resources": []any{}}})
	}
	commands = append(commands, jobj{"dispatch_graph": jobj{
		"bindings": orEmpty(bindings), "shader_substitutions": orEmpty(subs), "graph_ref": "vgf_graph_ref",
	}})
	if addBoundaries {
		commands = append(commands, jobj{"mark_boundary": jobj{"resources": orEmpty(outputs)}})
	}
	resources = append(resources, tensors...)
	resources = append(resources, buffers...)
	resources = append(resources, shaders...)
	return marshalJSON(jobj{"resources": resources, "commands": commands})
}

// bufferSize is vgf_dump's scenario buffer size: the element count of shape.
func bufferSize(shape []int64) (uint32, error) {
	size, overflow := uint64(1), false
	for _, d := range shape {
		if overflow {
			continue
		}
		if d <= 0 {
			return 0, fmt.Errorf("vgf: Cannot create scenario buffer resource with non-positive dimension")
		}
		hi, lo := bits.Mul64(size, uint64(d))
		if hi != 0 {
			overflow = true
			continue
		}
		size = lo
	}
	if overflow {
		return 0, fmt.Errorf("vgf: Scenario buffer resource size overflow")
	}
	if size > math.MaxUint32 {
		return 0, fmt.Errorf("vgf: Scenario buffer resource size exceeds uint32_t range")
	}
	return uint32(size), nil
}

// baseName is std::filesystem::path(p).filename() for POSIX paths.
func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// DescriptorTypeName returns the name vgf_dump prints for a vk_descriptor_type
// value: "none" for DescriptorTypeNone, the VkDescriptorType name (aliases
// joined with " / "), or "Unknown(N)".
func DescriptorTypeName(v uint32) string {
	if v == DescriptorTypeNone {
		return "none"
	}
	return enumName(descriptorTypeNames, int32(v))
}

// FormatName returns the name vgf_dump prints for a VkFormat value, e.g.
// "VK_FORMAT_R8_SINT", or "Unknown(N)".
func FormatName(v uint32) string { return enumName(formatNames, int32(v)) }

func enumName(names map[int32]string, v int32) string {
	if s, ok := names[v]; ok {
		return s
	}
	return "Unknown(" + strconv.FormatInt(int64(v), 10) + ")"
}

func samplerName(names map[int32]string, v uint32) string {
	if v > math.MaxInt32 {
		return "Unknown(" + strconv.FormatUint(uint64(v), 10) + ")"
	}
	return enumName(names, int32(v))
}

func orEmpty(v []any) []any {
	if v == nil {
		return []any{}
	}
	return v
}

func i64s(v []int64) []any {
	out := make([]any, len(v))
	for i, x := range v {
		out[i] = x
	}
	return out
}

func u32s(v []uint32) []any {
	out := make([]any, len(v))
	for i, x := range v {
		out[i] = uint64(x)
	}
	return out
}

func slotsJSON(s []BindingSlot) []any {
	out := make([]any, len(s))
	for i, b := range s {
		out[i] = jobj{"index": uint64(i), "binding": uint64(b.Binding), "mrt_index": uint64(b.MRTIndex)}
	}
	return out
}

func namedSlotsJSON(s []BindingSlot, names []string) []any {
	out := make([]any, len(s))
	for i, b := range s {
		name := ""
		if len(names) == len(s) {
			name = cstr(names[i])
		}
		out[i] = jobj{"index": uint64(i), "name": name, "binding": uint64(b.Binding), "mrt_index": uint64(b.MRTIndex)}
	}
	return out
}

// marshalJSON writes v like nlohmann::json::dump(4): sorted keys, 4-space
// indentation, "[]"/"{}" for empty containers, no trailing newline, strings
// escaped as nlohmann does (UTF-8 kept, invalid UTF-8 rejected).
func marshalJSON(v any) ([]byte, error) {
	var sb strings.Builder
	if err := writeJSON(&sb, v, 0); err != nil {
		return nil, err
	}
	return []byte(sb.String()), nil
}

func writeJSON(sb *strings.Builder, v any, depth int) error {
	indent := func(d int) {
		sb.WriteByte('\n')
		sb.WriteString(strings.Repeat("    ", d))
	}
	switch x := v.(type) {
	case jobj:
		if len(x) == 0 {
			sb.WriteString("{}")
			return nil
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		sb.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				sb.WriteByte(',')
			}
			indent(depth + 1)
			if err := writeJSONString(sb, k); err != nil {
				return err
			}
			sb.WriteString(": ")
			if err := writeJSON(sb, x[k], depth+1); err != nil {
				return err
			}
		}
		indent(depth)
		sb.WriteByte('}')
	case []any:
		if len(x) == 0 {
			sb.WriteString("[]")
			return nil
		}
		sb.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				sb.WriteByte(',')
			}
			indent(depth + 1)
			if err := writeJSON(sb, e, depth+1); err != nil {
				return err
			}
		}
		indent(depth)
		sb.WriteByte(']')
	case string:
		return writeJSONString(sb, x)
	case bool:
		sb.WriteString(strconv.FormatBool(x))
	case int64:
		sb.WriteString(strconv.FormatInt(x, 10))
	case uint64:
		sb.WriteString(strconv.FormatUint(x, 10))
	default:
		return fmt.Errorf("vgf: internal error: cannot write %T as JSON", v)
	}
	return nil
}

func writeJSONString(sb *strings.Builder, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("vgf: string %q is not valid UTF-8 (vgf_dump cannot print it either)", s)
	}
	sb.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			sb.WriteString(`\"`)
		case '\\':
			sb.WriteString(`\\`)
		case '\b':
			sb.WriteString(`\b`)
		case '\f':
			sb.WriteString(`\f`)
		case '\n':
			sb.WriteString(`\n`)
		case '\r':
			sb.WriteString(`\r`)
		case '\t':
			sb.WriteString(`\t`)
		default:
			if c < 0x20 {
				fmt.Fprintf(sb, `\u%04x`, c)
			} else {
				sb.WriteByte(c)
			}
		}
	}
	sb.WriteByte('"')
	return nil
}
