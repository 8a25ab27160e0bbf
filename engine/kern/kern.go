// Package kern holds the float32 compute kernels under the engine: convolutions in NCHW/OIHW
// layout with PyTorch semantics, and the GEMM they are built on.
//
// Every kernel has a plain reference version (ref*.go, loops that read like the definition) and
// a fast version used by the engine. Tests compare the fast kernels against the reference ones;
// the reference ones are compared against PyTorch by the engine's golden tests.
//
// Conventions: forward kernels overwrite their output; backward kernels ADD into the gradient
// buffers they are given (the autograd accumulates gradients), so callers zero them first.
package kern

import "fmt"

// Conv2dParams describes a 2-D convolution (PyTorch nn.Conv2d semantics): input N x C x H x W,
// weight O x C/Groups x KH x KW, output N x O x OH x OW.
type Conv2dParams struct {
	N, C, H, W       int
	O, KH, KW        int
	StrideH, StrideW int
	PadH, PadW       int
	DilH, DilW       int
	Groups           int
}

// OutHW returns the output height and width.
func (p Conv2dParams) OutHW() (int, int) {
	oh := (p.H+2*p.PadH-p.DilH*(p.KH-1)-1)/p.StrideH + 1
	ow := (p.W+2*p.PadW-p.DilW*(p.KW-1)-1)/p.StrideW + 1
	return oh, ow
}

// Validate reports a descriptive error when the parameters cannot describe a convolution.
func (p Conv2dParams) Validate() error {
	if p.N <= 0 || p.C <= 0 || p.H <= 0 || p.W <= 0 || p.O <= 0 || p.KH <= 0 || p.KW <= 0 {
		return fmt.Errorf("conv2d: non-positive size in %+v", p)
	}
	if p.StrideH <= 0 || p.StrideW <= 0 || p.DilH <= 0 || p.DilW <= 0 || p.Groups <= 0 || p.PadH < 0 || p.PadW < 0 {
		return fmt.Errorf("conv2d: bad stride/dilation/groups/padding in %+v", p)
	}
	if p.C%p.Groups != 0 || p.O%p.Groups != 0 {
		return fmt.Errorf("conv2d: channels %d->%d not divisible by groups %d", p.C, p.O, p.Groups)
	}
	oh, ow := p.OutHW()
	if oh <= 0 || ow <= 0 {
		return fmt.Errorf("conv2d: kernel %dx%d (dilation %d,%d) larger than padded input %dx%d", p.KH, p.KW, p.DilH, p.DilW, p.H+2*p.PadH, p.W+2*p.PadW)
	}
	return nil
}

// ConvT2dParams describes a transposed convolution (PyTorch nn.ConvTranspose2d): input
// N x C x H x W, weight C x O/Groups x KH x KW, output N x O x OH x OW with
// OH = (H-1)*StrideH - 2*PadH + DilH*(KH-1) + OutPadH + 1.
type ConvT2dParams struct {
	N, C, H, W       int
	O, KH, KW        int
	StrideH, StrideW int
	PadH, PadW       int
	OutPadH, OutPadW int
	DilH, DilW       int
	Groups           int
}

// OutHW returns the output height and width.
func (p ConvT2dParams) OutHW() (int, int) {
	oh := (p.H-1)*p.StrideH - 2*p.PadH + p.DilH*(p.KH-1) + p.OutPadH + 1
	ow := (p.W-1)*p.StrideW - 2*p.PadW + p.DilW*(p.KW-1) + p.OutPadW + 1
	return oh, ow
}

// Validate reports a descriptive error when the parameters cannot describe a transposed convolution.
func (p ConvT2dParams) Validate() error {
	if p.N <= 0 || p.C <= 0 || p.H <= 0 || p.W <= 0 || p.O <= 0 || p.KH <= 0 || p.KW <= 0 {
		return fmt.Errorf("conv_transpose2d: non-positive size in %+v", p)
	}
	if p.StrideH <= 0 || p.StrideW <= 0 || p.DilH <= 0 || p.DilW <= 0 || p.Groups <= 0 || p.PadH < 0 || p.PadW < 0 || p.OutPadH < 0 || p.OutPadW < 0 {
		return fmt.Errorf("conv_transpose2d: bad stride/dilation/groups/padding in %+v", p)
	}
	if p.OutPadH >= p.StrideH && p.OutPadH >= p.DilH || p.OutPadW >= p.StrideW && p.OutPadW >= p.DilW {
		return fmt.Errorf("conv_transpose2d: output padding must be smaller than stride or dilation")
	}
	if p.C%p.Groups != 0 || p.O%p.Groups != 0 {
		return fmt.Errorf("conv_transpose2d: channels %d->%d not divisible by groups %d", p.C, p.O, p.Groups)
	}
	oh, ow := p.OutHW()
	if oh <= 0 || ow <= 0 {
		return fmt.Errorf("conv_transpose2d: output size %dx%d is not positive", oh, ow)
	}
	return nil
}

// AsConv returns the forward convolution whose input-gradient is this transposed convolution:
// a conv from O channels (output of the transpose) to C channels with the same weight tensor
// (C x O/G x KH x KW is exactly that conv's OIHW weight).
func (p ConvT2dParams) AsConv() Conv2dParams {
	oh, ow := p.OutHW()
	return Conv2dParams{N: p.N, C: p.O, H: oh, W: ow, O: p.C, KH: p.KH, KW: p.KW,
		StrideH: p.StrideH, StrideW: p.StrideW, PadH: p.PadH, PadW: p.PadW,
		DilH: p.DilH, DilW: p.DilW, Groups: p.Groups}
}
