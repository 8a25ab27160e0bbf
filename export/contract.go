package export

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/vgfq/vgfq/quant"
	"github.com/vgfq/vgfq/tosa"
	"github.com/vgfq/vgfq/vgf"
)

// ContractFormat identifies the io.json schema.
const ContractFormat = "vgfq-io-contract/1"

// The quantization formulas every application must apply, exactly as written: all arithmetic in
// IEEE float32, round_half_even = round to nearest, ties to even (C rintf / nearbyintf in the
// default rounding mode, numpy.rint, Go math.RoundToEven).
const (
	QuantizeFormula   = "q = clamp(zero_point + round_half_even(x * inv_scale), qmin, qmax) with inv_scale = float32(1 / scale), x * inv_scale computed in float32"
	DequantizeFormula = "x = float32(q - zero_point) * scale, computed in float32"
)

// Contract is io.json: how an application feeds the model and reads its results.
type Contract struct {
	Format string `json:"format"`
	// Model is the VGF file name (relative to io.json).
	Model string `json:"model"`
	// EntryPoint is the graph entry point of the SPIR-V module (OpGraphEntryPointARM).
	EntryPoint string `json:"entry_point"`
	// Quantize and Dequantize restate QuantizeFormula and DequantizeFormula.
	Quantize   string   `json:"quantize"`
	Dequantize string   `json:"dequantize"`
	Inputs     []Tensor `json:"inputs"`
	Outputs    []Tensor `json:"outputs"`
	// TOSAExtensions lists the TOSA 1.0 extensions the graph needs beyond PRO-INT ("EXT-INT16"
	// when it holds INT16 or INT48 tensors: a16w8). Neither the .tosa nor the SPIR-V module
	// names them; an application checks them against VkQueueFamilyDataGraphTOSAPropertiesARM
	// (VK_ARM_data_graph_instruction_set_tosa) before creating the pipeline.
	TOSAExtensions []string `json:"tosa_extensions,omitempty"`
}

// TOSAExtensions returns the TOSA extensions g needs beyond PRO-INT: EXT-INT16 when any
// tensor is INT16 or INT48.
func TOSAExtensions(g *tosa.Graph) []string {
	for _, t := range g.Tensors {
		if t.Type == tosa.Int16 || t.Type == tosa.Int48 {
			return []string{"EXT-INT16"}
		}
	}
	return nil
}

// Tensor is one model input or output in the contract.
type Tensor struct {
	// Name is the model input/output name stored in the VGF (the TOSA tensor name).
	Name string `json:"name"`
	// Source is the float-graph node the tensor comes from.
	Source string `json:"source,omitempty"`
	// Index is the position in the VGF model sequence inputs (or outputs).
	Index int `json:"index"`
	// DescriptorSet and Binding locate the tensor (VK_DESCRIPTOR_TYPE_TENSOR_ARM).
	DescriptorSet uint32 `json:"descriptor_set"`
	Binding       uint32 `json:"binding"`
	// MRTIndex is the VGF model resource table entry.
	MRTIndex uint32 `json:"mrt_index"`
	// Shape in Layout order (NHWC unless the graph was lowered with NCHW I/O).
	Shape       []int  `json:"shape"`
	Layout      string `json:"layout"`
	ElementType string `json:"element_type"` // "int8"
	// VkFormat is the format name (VK_FORMAT_R8_SINT), VkFormatValue its numeric value.
	VkFormat      string `json:"vk_format"`
	VkFormatValue uint32 `json:"vk_format_value"`
	// Scale, InvScale (= float32(1/Scale)) and ZeroPoint: real = (q - ZeroPoint) * Scale.
	Scale     float32 `json:"scale"`
	InvScale  float32 `json:"inv_scale"`
	ZeroPoint int32   `json:"zero_point"`
	QMin      int32   `json:"qmin"`
	QMax      int32   `json:"qmax"`
	// FloatRange is [dequantize(QMin), dequantize(QMax)]: the real values the tensor represents;
	// inputs outside it saturate.
	FloatRange [2]float32 `json:"float_range"`
	// Formula is the conversion the application applies (QuantizeFormula for inputs,
	// DequantizeFormula for outputs).
	Formula string `json:"formula"`
	// File is the sample .npy the scenario reads (inputs) or writes (outputs).
	File string `json:"file"`
}

// QParam returns the tensor's quantization parameters.
func (t *Tensor) QParam() quant.QParam { return quant.QParam{Scale: t.Scale, ZP: t.ZeroPoint} }

// Quantize applies QuantizeFormula to one value.
func (t *Tensor) Quantize(x float32) int8 {
	return int8(quant.Quantize(x, t.Scale, t.ZeroPoint, t.QMin, t.QMax))
}

// Dequantize applies DequantizeFormula to one value.
func (t *Tensor) Dequantize(q int8) float32 { return quant.Dequantize(int32(q), t.Scale, t.ZeroPoint) }

// Validate checks the fields an application (or vgfq run) relies on.
func (t *Tensor) Validate() error {
	if !(t.Scale > 0) || t.Scale != t.Scale || t.Scale > 3.4e38 {
		return fmt.Errorf("%q: scale %v must be positive and finite", t.Name, t.Scale)
	}
	if t.QMin == 0 && t.QMax == 0 {
		t.QMin, t.QMax = -128, 127
	}
	if t.QMin < -128 || t.QMax > 127 || t.QMin >= t.QMax {
		return fmt.Errorf("%q: int8 range [%d, %d] invalid", t.Name, t.QMin, t.QMax)
	}
	if t.ZeroPoint < -128 || t.ZeroPoint > 127 {
		return fmt.Errorf("%q: zero_point %d outside int8", t.Name, t.ZeroPoint)
	}
	if len(t.Shape) == 0 {
		return fmt.Errorf("%q: no shape", t.Name)
	}
	for _, d := range t.Shape {
		if d <= 0 || d > 1<<24 {
			return fmt.Errorf("%q: bad shape %v", t.Name, t.Shape)
		}
	}
	if t.Layout != "" && t.Layout != "NHWC" && t.Layout != "NCHW" {
		return fmt.Errorf("%q: layout %q is not NHWC or NCHW", t.Name, t.Layout)
	}
	return nil
}

// ReadContract reads and checks an io.json file.
func ReadContract(path string) (*Contract, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseContract(path, b)
}

// ParseContract parses io.json content; name is used in errors.
func ParseContract(name string, b []byte) (*Contract, error) {
	var c Contract
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if c.Format != ContractFormat {
		return nil, fmt.Errorf("%s: format %q, want %q", name, c.Format, ContractFormat)
	}
	if len(c.Inputs) == 0 || len(c.Outputs) == 0 {
		return nil, fmt.Errorf("%s: no inputs or outputs", name)
	}
	for i := range c.Inputs {
		if err := c.Inputs[i].Validate(); err != nil {
			return nil, fmt.Errorf("%s: input %v", name, err)
		}
	}
	for i := range c.Outputs {
		if err := c.Outputs[i].Validate(); err != nil {
			return nil, fmt.Errorf("%s: output %v", name, err)
		}
	}
	return &c, nil
}

// elementType names the contract's element type of a TOSA type.
func elementType(t tosa.DType) string {
	switch t {
	case tosa.Int8:
		return "int8"
	case tosa.Int16:
		return "int16"
	case tosa.Int32:
		return "int32"
	case tosa.FP32:
		return "float32"
	}
	return t.String()
}

// VkFormat returns the VkFormat of a tensor element type as model-converter maps it (signed
// integers; INT4 in bytes, INT48 in 64 bits; shape_t as 32-bit, the SPIR-V element type).
func VkFormat(t tosa.DType) (uint32, error) {
	switch t {
	case tosa.Bool:
		return vgf.FormatR8BoolARM, nil
	case tosa.Int4, tosa.Int8:
		return vgf.FormatR8Sint, nil
	case tosa.Int16:
		return vgf.FormatR16Sint, nil
	case tosa.Int32, tosa.Shape:
		return vgf.FormatR32Sint, nil
	case tosa.Int48:
		return vgf.FormatR64Sint, nil
	case tosa.FP32:
		return vgf.FormatR32Sfloat, nil
	case tosa.FP16:
		return vgf.FormatR16Sfloat, nil
	case tosa.BF16:
		return 1000460001, nil
	case tosa.FP8E4M3:
		return 1000460002, nil
	case tosa.FP8E5M2:
		return 1000460003, nil
	}
	return 0, errors.New("no VkFormat for element type " + t.String())
}
