package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/vgfq/vgfq/train"
	"github.com/vgfq/vgfq/zoo"
)

func newModelsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "models [NAME|DIR]",
		Short: "List the model zoo, or print a zoo model's or a saved model's graph",
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
			if fi, err := os.Stat(args[0]); err == nil && fi.IsDir() {
				ck, err := train.LoadCheckpoint(args[0])
				if err != nil {
					return badInput(err)
				}
				fmt.Print(ck.Graph.String())
				return nil
			}
			g, err := zoo.Build(args[0], 16, 16, 1)
			if err != nil {
				return badInput(err)
			}
			fmt.Print(g.String())
			return nil
		},
	}
}
