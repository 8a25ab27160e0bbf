package main

import (
	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/train"
)

// loadModel loads the float model that --model (flag) names: a model or checkpoint directory.
// Every command that takes a float model to quantize goes through here, so a new model format
// (for example an imported .onnx file) is added in one place. Errors are input errors naming
// the flag and the file.
func loadModel(flag, path string) (*graph.Graph, error) {
	ck, err := train.LoadCheckpoint(path)
	if err != nil {
		return nil, badInputf("%s: %v", flag, err)
	}
	return ck.Graph, nil
}
