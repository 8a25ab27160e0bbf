//go:build tools

// Package vgfq pins the module's dependencies while packages that use them are being written.
package vgfq

import (
	_ "codeberg.org/sbinet/npyio"
	_ "github.com/google/flatbuffers/go"
	_ "github.com/nlpodyssey/safetensors"
	_ "github.com/schollz/progressbar/v3"
	_ "github.com/spf13/cobra"
	_ "golang.org/x/image/draw"
	_ "golang.org/x/sys/cpu"
)
