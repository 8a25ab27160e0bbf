//go:build !amd64

package kern

func reluFast(y []float32) int { return 0 }

func reluBackwardFast(y, g, dx []float32) int { return 0 }

func reluBackwardSetFast(y, g, dx []float32) int { return 0 }
