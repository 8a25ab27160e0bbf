package engine

import (
	"fmt"

	"github.com/vgfq/vgfq/engine/kern"
)

// ConvOpts are the hyper-parameters of Conv2d / ConvTranspose2d (PyTorch names). Zero values of
// Stride and Dilation mean 1; Groups 0 means 1.
type ConvOpts struct {
	Stride, Padding, Dilation, OutputPadding [2]int
	Groups                                   int
}

func (o ConvOpts) norm() ConvOpts {
	for i := 0; i < 2; i++ {
		if o.Stride[i] == 0 {
			o.Stride[i] = 1
		}
		if o.Dilation[i] == 0 {
			o.Dilation[i] = 1
		}
	}
	if o.Groups == 0 {
		o.Groups = 1
	}
	return o
}

// Conv2dParams returns the kernel parameters for input shape x (NCHW) and weight shape w (OIHW).
func Conv2dParams(x, w []int, o ConvOpts) (kern.Conv2dParams, error) {
	o = o.norm()
	if len(x) != 4 || len(w) != 4 {
		return kern.Conv2dParams{}, fmt.Errorf("conv2d: want 4-D input and weight, got %v and %v", x, w)
	}
	p := kern.Conv2dParams{N: x[0], C: x[1], H: x[2], W: x[3], O: w[0], KH: w[2], KW: w[3],
		StrideH: o.Stride[0], StrideW: o.Stride[1], PadH: o.Padding[0], PadW: o.Padding[1],
		DilH: o.Dilation[0], DilW: o.Dilation[1], Groups: o.Groups}
	if err := p.Validate(); err != nil {
		return p, err
	}
	if w[1]*o.Groups != x[1] {
		return p, fmt.Errorf("conv2d: weight %v expects %d input channels, input has %d", w, w[1]*o.Groups, x[1])
	}
	return p, nil
}

// ConvT2dParams returns the kernel parameters for input shape x (NCHW) and weight shape w
// (C x O/groups x KH x KW, PyTorch's ConvTranspose2d layout).
func ConvT2dParams(x, w []int, o ConvOpts) (kern.ConvT2dParams, error) {
	o = o.norm()
	if len(x) != 4 || len(w) != 4 {
		return kern.ConvT2dParams{}, fmt.Errorf("conv_transpose2d: want 4-D input and weight, got %v and %v", x, w)
	}
	p := kern.ConvT2dParams{N: x[0], C: x[1], H: x[2], W: x[3], O: w[1] * o.Groups, KH: w[2], KW: w[3],
		StrideH: o.Stride[0], StrideW: o.Stride[1], PadH: o.Padding[0], PadW: o.Padding[1],
		OutPadH: o.OutputPadding[0], OutPadW: o.OutputPadding[1],
		DilH: o.Dilation[0], DilW: o.Dilation[1], Groups: o.Groups}
	if w[0] != x[1] {
		return p, fmt.Errorf("conv_transpose2d: weight %v expects %d input channels, input has %d", w, w[0], x[1])
	}
	return p, p.Validate()
}

// Conv2d is nn.functional.conv2d. b may be nil. Shapes must be valid (see Conv2dParams, which
// the graph's shape inference calls first); invalid shapes panic.
func Conv2d(x, w, b *Var, o ConvOpts) *Var { return conv2d(x, w, b, o, false) }

// Conv2dReLU is ReLU(Conv2d(x, w, b, o)) with the rectification applied to each image's
// output as soon as it is computed (in cache) and without a separate pre-activation tensor.
// Values and gradients are those of the two operations (the backward pass masks the output
// gradient where the output is not > 0, then runs the convolution's backward).
func Conv2dReLU(x, w, b *Var, o ConvOpts) *Var { return conv2d(x, w, b, o, true) }

func conv2d(x, w, b *Var, o ConvOpts, relu bool) *Var {
	p, err := Conv2dParams(x.Shape(), w.Shape(), o)
	if err != nil {
		panic(err)
	}
	oh, ow := p.OutHW()
	y := newOverwritten(p.N, p.O, oh, ow) // kern.Conv2d(ReLU) and ConvTranspose2d write all of y
	var bd []float32
	if b != nil {
		bd = b.Val.Data
	}
	if relu {
		kern.Conv2dReLU(p, x.Val.Data, w.Val.Data, bd, y.Data)
	} else {
		kern.Conv2d(p, x.Val.Data, w.Val.Data, bd, y.Data)
	}
	return result(y, func(out *Var) {
		var dx, dw, db []float32
		if needsGrad(x) {
			dx = gradOf(x).Data
		}
		if needsGrad(w) {
			dw = gradOf(w).Data
		}
		if needsGrad(b) {
			db = gradOf(b).Data
		}
		if relu {
			// the gradient masked where the output is not > 0, image by image
			kern.Conv2dReLUBackward(p, x.Val.Data, w.Val.Data, y.Data, out.Grad.Data, dx, dw, db)
			return
		}
		kern.Conv2dBackward(p, x.Val.Data, w.Val.Data, out.Grad.Data, dx, dw, db)
	}, x, w, b)
}

// ConvTranspose2d is nn.functional.conv_transpose2d. b may be nil. Invalid shapes panic.
func ConvTranspose2d(x, w, b *Var, o ConvOpts) *Var {
	p, err := ConvT2dParams(x.Shape(), w.Shape(), o)
	if err != nil {
		panic(err)
	}
	oh, ow := p.OutHW()
	y := newOverwritten(p.N, p.O, oh, ow) // kern.Conv2d(ReLU) and ConvTranspose2d write all of y
	var bd []float32
	if b != nil {
		bd = b.Val.Data
	}
	kern.ConvTranspose2d(p, x.Val.Data, w.Val.Data, bd, y.Data)
	return result(y, func(out *Var) {
		var dx, dw, db []float32
		if needsGrad(x) {
			dx = gradOf(x).Data
		}
		if needsGrad(w) {
			dw = gradOf(w).Data
		}
		if needsGrad(b) {
			db = gradOf(b).Data
		}
		kern.ConvTranspose2dBackward(p, x.Val.Data, w.Val.Data, out.Grad.Data, dx, dw, db)
	}, x, w, b)
}
