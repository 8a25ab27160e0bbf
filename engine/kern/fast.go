package kern

// Conv2d computes the convolution into y (overwritten). b may be nil.
// Placeholder: calls the reference kernel until the im2col+GEMM version lands.
func Conv2d(p Conv2dParams, x, w, b, y []float32) { RefConv2d(p, x, w, b, y) }

// Conv2dBackward adds the gradients of Conv2d into dx, dw and db (any may be nil).
func Conv2dBackward(p Conv2dParams, x, w, dy, dx, dw, db []float32) {
	RefConv2dBackward(p, x, w, dy, dx, dw, db)
}

// ConvTranspose2d computes the transposed convolution into y (overwritten). b may be nil.
func ConvTranspose2d(p ConvT2dParams, x, w, b, y []float32) { RefConvTranspose2d(p, x, w, b, y) }

// ConvTranspose2dBackward adds the gradients of ConvTranspose2d into dx, dw and db (any may be nil).
func ConvTranspose2dBackward(p ConvT2dParams, x, w, dy, dx, dw, db []float32) {
	RefConvTranspose2dBackward(p, x, w, dy, dx, dw, db)
}
