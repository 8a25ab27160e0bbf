package quant

import (
	"errors"
	"fmt"
	"math"
)

// ErrNaN is returned (wrapped) by Observe when the data contain a NaN.
var ErrNaN = errors.New("NaN in observed data")

// Observer accumulates statistics of a tensor stream and turns them into quantization parameters.
//
// Observe takes a row-major tensor and its shape (only per-channel observers need the shape;
// per-tensor observers accept nil). An empty tensor is ignored, as in torch. A NaN is an error
// and leaves the observer unchanged. MinMax returns the running range (one element per channel
// for per-channel observers; +inf/-inf before any data). QParams returns one scale and zero point
// per channel (one for per-tensor observers; (1, 0) before any data).
type Observer interface {
	Observe(x []float32, shape []int) error
	MinMax() (min, max []float32)
	QParams() (scales []float32, zps []int32)
}

// AveragingConstant is the EMA constant of the moving-average observers (0.01, used as float32).
const AveragingConstant float32 = 0.01

func checkNaN(x []float32) error {
	for i, v := range x {
		if v != v {
			return fmt.Errorf("quant: %w (element %d)", ErrNaN, i)
		}
	}
	return nil
}

// aminmax returns the min and max of x (len > 0, no NaN) like torch.aminmax.
func aminmax(x []float32) (float32, float32) {
	mn, mx := x[0], x[0]
	for _, v := range x[1:] {
		if v < mn {
			mn = v
		}
		if v > mx {
			mx = v
		}
	}
	return mn, mx
}

// MinMax is MinMaxObserver (spec §1.2): min = min(running_min, min(x)), max likewise.
type MinMax struct {
	Scheme   Scheme
	Min, Max float32
}

// NewMinMax returns a per-tensor MinMax observer for scheme s.
func NewMinMax(s Scheme) *MinMax {
	return &MinMax{Scheme: s, Min: float32(math.Inf(1)), Max: float32(math.Inf(-1))}
}

// Observe implements Observer.
func (o *MinMax) Observe(x []float32, _ []int) error {
	if len(x) == 0 {
		return nil
	}
	if err := checkNaN(x); err != nil {
		return err
	}
	mn, mx := aminmax(x)
	o.Min = min32(mn, o.Min)
	o.Max = max32(mx, o.Max)
	return nil
}

// MinMax implements Observer.
func (o *MinMax) MinMax() ([]float32, []float32) { return []float32{o.Min}, []float32{o.Max} }

// QParams implements Observer.
func (o *MinMax) QParams() ([]float32, []int32) {
	s, z := o.Scheme.QParams(o.Min, o.Max)
	return []float32{s}, []int32{z}
}

// MovingAverageMinMax is MovingAverageMinMaxObserver (spec §1.3): the first tensor sets
// (min, max) = aminmax(x); later ones update min = fl32(min + fl32(c * fl32(cur_min - min))).
type MovingAverageMinMax struct {
	Scheme   Scheme
	C        float32 // averaging constant, AveragingConstant by default
	Min, Max float32
}

// NewMovingAverageMinMax returns a per-tensor moving-average observer with constant 0.01.
func NewMovingAverageMinMax(s Scheme) *MovingAverageMinMax {
	return &MovingAverageMinMax{Scheme: s, C: AveragingConstant, Min: float32(math.Inf(1)), Max: float32(math.Inf(-1))}
}

// Observe implements Observer.
func (o *MovingAverageMinMax) Observe(x []float32, _ []int) error {
	if len(x) == 0 {
		return nil
	}
	if err := checkNaN(x); err != nil {
		return err
	}
	mn, mx := aminmax(x)
	if uninitialised(o.Min, o.Max) {
		o.Min, o.Max = mn, mx
		return nil
	}
	o.Min = o.Min + float32(o.C*float32(mn-o.Min))
	o.Max = o.Max + float32(o.C*float32(mx-o.Max))
	return nil
}

// MinMax implements Observer.
func (o *MovingAverageMinMax) MinMax() ([]float32, []float32) {
	return []float32{o.Min}, []float32{o.Max}
}

// QParams implements Observer.
func (o *MovingAverageMinMax) QParams() ([]float32, []int32) {
	s, z := o.Scheme.QParams(o.Min, o.Max)
	return []float32{s}, []int32{z}
}

// PerChannelMinMax is PerChannelMinMaxObserver (spec §1.2): running min/max of every slice along
// Axis. Weights use WeightInt8 with Axis 0 (out-channels of OIHW).
type PerChannelMinMax struct {
	Scheme   Scheme
	Axis     int
	Min, Max []float32 // nil before the first tensor
}

// NewPerChannelMinMax returns a per-channel MinMax observer for channel axis axis.
func NewPerChannelMinMax(s Scheme, axis int) *PerChannelMinMax {
	return &PerChannelMinMax{Scheme: s, Axis: axis}
}

// channelMinMax computes the per-channel aminmax of x along axis.
func channelMinMax(x []float32, shape []int, axis int) (mn, mx []float32, err error) {
	outer, ch, inner, err := channelLayout(len(x), shape, axis)
	if err != nil {
		return nil, nil, err
	}
	if err := checkNaN(x); err != nil {
		return nil, nil, err
	}
	mn = make([]float32, ch)
	mx = make([]float32, ch)
	for c := range mn {
		mn[c] = float32(math.Inf(1))
		mx[c] = float32(math.Inf(-1))
	}
	i := 0
	for o := 0; o < outer; o++ {
		for c := 0; c < ch; c++ {
			a, b := mn[c], mx[c]
			for _, v := range x[i : i+inner] {
				if v < a {
					a = v
				}
				if v > b {
					b = v
				}
			}
			mn[c], mx[c] = a, b
			i += inner
		}
	}
	return mn, mx, nil
}

func (o *PerChannelMinMax) channels(n int) error {
	if o.Min != nil && len(o.Min) != n {
		return fmt.Errorf("quant: per-channel observer has %d channels, tensor %d", len(o.Min), n)
	}
	return nil
}

// Observe implements Observer.
func (o *PerChannelMinMax) Observe(x []float32, shape []int) error {
	if len(x) == 0 {
		return nil
	}
	mn, mx, err := channelMinMax(x, shape, o.Axis)
	if err != nil {
		return err
	}
	if err := o.channels(len(mn)); err != nil {
		return err
	}
	if o.Min == nil {
		o.Min, o.Max = mn, mx
		return nil
	}
	for c := range mn {
		o.Min[c] = min32(mn[c], o.Min[c])
		o.Max[c] = max32(mx[c], o.Max[c])
	}
	return nil
}

// MinMax implements Observer.
func (o *PerChannelMinMax) MinMax() ([]float32, []float32) { return o.Min, o.Max }

// QParams implements Observer.
func (o *PerChannelMinMax) QParams() ([]float32, []int32) {
	return channelQParams(o.Scheme, o.Min, o.Max)
}

func channelQParams(s Scheme, mn, mx []float32) ([]float32, []int32) {
	if len(mn) == 0 { // torch: check_min_max_valid fails on empty buffers -> [1.0], [0]
		return []float32{1}, []int32{0}
	}
	scales := make([]float32, len(mn))
	zps := make([]int32, len(mn))
	for c := range mn {
		// per-channel: torch has no "uninitialised" test per element; inf/-inf give what the
		// float formulas give.
		if s.Symmetric {
			scales[c], zps[c] = symmetricNoInit(mn[c], mx[c], s)
		} else {
			scales[c], zps[c] = affineNoInit(mn[c], mx[c], s)
		}
	}
	return scales, zps
}

func affineNoInit(mn, mx float32, s Scheme) (float32, int32) {
	if uninitialised(mn, mx) { // evaluate the formula rather than the (1, 0) shortcut
		mn, mx = 0, 0
		// min(+inf,0)=0, max(-inf,0)=0: same as an all-zero range
	}
	return AffineQParams(mn, mx, int(s.QMin), int(s.QMax), s.Eps)
}

func symmetricNoInit(mn, mx float32, s Scheme) (float32, int32) {
	if uninitialised(mn, mx) {
		mn, mx = 0, 0
	}
	return SymmetricQParams(mn, mx, int(s.QMin), int(s.QMax), s.Eps)
}

// MovingAveragePerChannelMinMax is MovingAveragePerChannelMinMaxObserver (spec §1.3) per slice
// along Axis.
type MovingAveragePerChannelMinMax struct {
	Scheme   Scheme
	Axis     int
	C        float32
	Min, Max []float32
}

// NewMovingAveragePerChannelMinMax returns a per-channel moving-average observer (constant 0.01).
func NewMovingAveragePerChannelMinMax(s Scheme, axis int) *MovingAveragePerChannelMinMax {
	return &MovingAveragePerChannelMinMax{Scheme: s, Axis: axis, C: AveragingConstant}
}

// Observe implements Observer.
func (o *MovingAveragePerChannelMinMax) Observe(x []float32, shape []int) error {
	if len(x) == 0 {
		return nil
	}
	mn, mx, err := channelMinMax(x, shape, o.Axis)
	if err != nil {
		return err
	}
	if o.Min != nil && len(o.Min) != len(mn) {
		return fmt.Errorf("quant: per-channel observer has %d channels, tensor %d", len(o.Min), len(mn))
	}
	if o.Min == nil {
		o.Min, o.Max = mn, mx
		return nil
	}
	for c := range mn {
		o.Min[c] = o.Min[c] + float32(o.C*float32(mn[c]-o.Min[c]))
		o.Max[c] = o.Max[c] + float32(o.C*float32(mx[c]-o.Max[c]))
	}
	return nil
}

// MinMax implements Observer.
func (o *MovingAveragePerChannelMinMax) MinMax() ([]float32, []float32) { return o.Min, o.Max }

// QParams implements Observer.
func (o *MovingAveragePerChannelMinMax) QParams() ([]float32, []int32) {
	return channelQParams(o.Scheme, o.Min, o.Max)
}
