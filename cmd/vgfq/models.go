package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/vgfq/vgfq/model"
	"github.com/vgfq/vgfq/zoo"
)

func newModelsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "models [NAME|DIR|FILE.onnx]",
		Short: "List the model zoo, or print a zoo model's, a saved model's or an ONNX model's graph",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				for _, n := range zoo.Names() {
					g, err := zoo.Build(n, 16, 16, 1)
					if err != nil {
						return err
					}
					fmt.Printf("%-10s %7d parameters  input 3x16x16 -> output %v\n", n, g.NumParams(), g.Node(g.Outputs[0]).Shape[1:])
				}
				return nil
			}
			l, err := model.Load(args[0], model.Options{})
			if err != nil {
				return badInput(err)
			}
			if l.ONNX != nil {
				fmt.Print(l.ONNX.Summary())
			}
			fmt.Print(l.Graph.String())
			return nil
		},
	}
}
