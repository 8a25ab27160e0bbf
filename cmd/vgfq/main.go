// Command vgfq takes image-to-image networks from float training to INT8 artifacts for Arm GPUs
// with neural accelerators. Run `vgfq --help` for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the work failed (I/O error, divergence, bug)
	exitInput   = 2 // bad usage or bad input (flags, files, data)
	// exitInterrupted: stopped by SIGINT/SIGTERM after saving its state (128+SIGINT, as shells report).
	exitInterrupted = 130
)

// inputError marks an error caused by the user's input: flags, files, data. It exits with 2.
type inputError struct{ err error }

func (e inputError) Error() string { return e.err.Error() }
func (e inputError) Unwrap() error { return e.err }

func badInput(err error) error {
	if err == nil {
		return nil
	}
	return inputError{err}
}

func badInputf(format string, args ...any) error { return inputError{fmt.Errorf(format, args...)} }

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "vgfq",
		Short: "Train, quantize and export image-to-image networks for Arm GPUs (VGF)",
		Long: `vgfq takes an image-to-image neural network (upscaler, denoiser) from float training
to an INT8 model for Arm GPUs with neural accelerators, in one Go binary.

Start with 'vgfq demo': it trains the reference upscaler on the built-in data and
evaluates it.`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return badInputf("%v (see '%s --help')", err, c.CommandPath())
	})
	root.AddCommand(newTrainCmd(), newEvalCmd(), newDemoCmd(), newBenchCmd(), newModelsCmd(), newPTQCmd(), newInspectCmd(), newRunCmd())
	root.AddCommand(newQATCmd())
	root.AddCommand(newReportCmd())
	root.AddCommand(newSensitivityCmd())
	root.AddCommand(newCheckCmd(), newExportCmd())
	return root
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) (code int) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first SIGINT/SIGTERM asks the command to stop cleanly; a second one kills as usual.
	go func() { <-ctx.Done(); stop() }()
	root := newRoot()
	root.SetArgs(args)
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "vgfq: internal error: %v (please report this)\n", r)
			code = exitFailure
		}
	}()
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(os.Stderr, "vgfq: %v\n", err)
	if errors.Is(err, context.Canceled) {
		return exitInterrupted
	}
	var ie inputError
	if errors.As(err, &ie) || isUsageError(err) {
		return exitInput
	}
	return exitFailure
}

// isUsageError recognises cobra's own argument errors (unknown command, wrong arg count).
func isUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires at least", "requires at most", "invalid argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
