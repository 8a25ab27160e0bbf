// Package engine is vgfq's float32 compute engine: dense NCHW tensors, differentiable operators
// with PyTorch semantics (forward and backward), losses, initializers and optimizers.
//
// Operators live on *Var (a tensor in an autograd graph). A Var built from operands that do not
// require gradients records nothing, so inference costs no memory for the backward pass.
// Kernels that dominate run time (convolutions, GEMM) live in engine/kern behind plain
// slice-based functions so faster implementations drop in without touching the autograd.
package engine

import (
	"fmt"
	"slices"
	"strings"
)

// Tensor is a dense, row-major float32 tensor.
type Tensor struct {
	Shape []int
	Data  []float32
}

// NumElems returns the product of the dimensions of shape.
func NumElems(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// New returns a zero tensor of the given shape.
func New(shape ...int) *Tensor {
	return &Tensor{Shape: append([]int(nil), shape...), Data: getBuf(NumElems(shape))}
}

// newOverwritten is New for an operator that writes every element of the result: a recycled
// buffer is not cleared first.
func newOverwritten(shape ...int) *Tensor {
	return &Tensor{Shape: append([]int(nil), shape...), Data: getBufUninit(NumElems(shape))}
}

// FromData wraps data (not copied) as a tensor of the given shape. It panics when the sizes
// disagree: that is a programming error, not bad input.
func FromData(data []float32, shape ...int) *Tensor {
	if NumElems(shape) != len(data) {
		panic(fmt.Sprintf("engine.FromData: %d values for shape %v", len(data), shape))
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: data}
}

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
}

// Len returns the number of elements.
func (t *Tensor) Len() int { return len(t.Data) }

// Dim returns dimension i; negative i counts from the end.
func (t *Tensor) Dim(i int) int {
	if i < 0 {
		i += len(t.Shape)
	}
	return t.Shape[i]
}

// Zero sets every element to 0.
func (t *Tensor) Zero() { clear(t.Data) }

// SameShape reports whether a and b have identical shapes.
func SameShape(a, b []int) bool { return slices.Equal(a, b) }

// ShapeString formats a shape as 1x3x16x16.
func ShapeString(shape []int) string {
	s := make([]string, len(shape))
	for i, d := range shape {
		s[i] = fmt.Sprint(d)
	}
	return strings.Join(s, "x")
}

func (t *Tensor) String() string {
	return fmt.Sprintf("Tensor(%s)", ShapeString(t.Shape))
}
