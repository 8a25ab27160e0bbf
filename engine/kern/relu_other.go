//go:build !amd64

package kern

func reluFast(y []float32) int { return 0 }

func reluBackwardFast(y, g, dx []float32) int { return 0 }

func reluBackwardSetFast(y, g, dx []float32) int { return 0 }

func sum4x4(src []float32, stride, n int, out *[16]float32) bool { return false }

func padRows(dst, src []float32, rows, w, wp, pw int) { padRowsGeneric(dst, src, rows, w, wp, pw) }

func reluToFast(x, y []float32) int { return 0 }

func addMaskedFast(dx, g []float32, mask []bool) int { return 0 }

func bilinearRowFast(dst, r0, r1 []float32, c *BilinearCols, ly0, ly1 float32) int { return 0 }
