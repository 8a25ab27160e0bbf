package main

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vgfq/vgfq/graph"
	"github.com/vgfq/vgfq/train"
)

// The crash tests run the real command in child processes: the test binary re-executes itself
// as vgfq (same main package, same run function) when this variable is set.
const execMainEnv = "VGFQ_TEST_EXEC_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(execMainEnv) == "1" {
		os.Exit(run(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func vgfqCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), execMainEnv+"=1")
	return cmd
}

// crashTrainArgs: a small but real run (24 steps, a checkpoint after every step).
func crashTrainArgs(out string, builtinTrain int) []string {
	return []string{"train", "--model", "espcn", "--input-size", "8", "--crop", "16", "--data", "builtin",
		"--builtin-train", strconv.Itoa(builtinTrain), "--builtin-test", "16", "--batch", "8", "--epochs", "3",
		"--checkpoint-every", "1", "--eval-batches", "1", "--log-every", "0", "--quiet", "--seed", "7", "--out", out}
}

// referenceRun trains without interruption and returns the final weights file and the time it took.
func referenceRun(t *testing.T, builtinTrain int) ([]byte, time.Duration) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "ref")
	start := time.Now()
	if b, err := vgfqCmd(crashTrainArgs(out, builtinTrain)...).CombinedOutput(); err != nil {
		t.Fatalf("reference run: %v\n%s", err, b)
	}
	d := time.Since(start)
	w, err := os.ReadFile(filepath.Join(out, graph.WeightsFile))
	if err != nil {
		t.Fatal(err)
	}
	return w, d
}

// checkpointState loads the checkpoint in dir: nil if there is none yet; a test failure if it
// is damaged (half-written, mixed, unreadable).
func checkpointState(t *testing.T, dir string) *train.State {
	t.Helper()
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := checkNothingAside(dir); err != nil {
			t.Fatal(err)
		}
		return nil
	}
	ck, err := train.LoadCheckpoint(dir)
	if err != nil {
		t.Fatalf("checkpoint damaged: %v", err)
	}
	if ck.State == nil || ck.Optimizer == nil {
		t.Fatalf("checkpoint without training or optimizer state")
	}
	return ck.State
}

// checkNothingAside: a missing checkpoint directory must not hide a renamed-aside previous
// version (that would be a lost checkpoint).
func checkNothingAside(dir string) error {
	olds, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-*.old"))
	if len(olds) > 0 {
		return errors.New("checkpoint directory missing while the previous version is aside: " + olds[0])
	}
	return nil
}

// TestTrainSurvivesSIGKILL kills `vgfq train` at random moments again and again, resuming each
// time from whatever checkpoint is on disk: the checkpoint must always load intact (the
// previous or the new one, never a mix or nothing once one was written), its step must never go
// backwards, and the final weights must equal an uninterrupted run's byte for byte.
func TestTrainSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("runs vgfq train about 15 times")
	}
	ref, d := referenceRun(t, 64)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	// Campaigns from scratch until at least 25 kills landed; each ends with a completed run.
	kills, seen, midWrite, campaigns := 0, 0, 0, 0
	for ; kills < 25 && campaigns < 10; campaigns++ {
		k, s, m := killCampaign(t, filepath.Join(t.TempDir(), "ck"), d, rng, ref)
		kills, seen, midWrite = kills+k, seen+s, midWrite+m
	}
	t.Logf("%d SIGKILLs in %d campaigns (reference run %v), %d of them during a checkpoint write, %d distinct checkpoints seen after kills; every final weights file identical to the uninterrupted run's",
		kills, campaigns, d.Round(time.Millisecond), midWrite, seen)
}

// killCampaign trains into dir, killing at random moments within d, resuming after every kill,
// until a run completes (at most 30 kills). It returns the kills and checkpoints seen.
func killCampaign(t *testing.T, dir string, d time.Duration, rng *rand.Rand, ref []byte) (kills, seen, midWrite int) {
	lastGlobal := -1
	for round := 0; ; round++ {
		args := crashTrainArgs(dir, 64)
		if st := checkpointState(t, dir); st != nil {
			args = append(args, "--resume")
		}
		cmd := vgfqCmd(args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		finished := make(chan error, 1)
		go func() { finished <- cmd.Wait() }()
		var err error
		if round < 30 {
			select {
			case err = <-finished:
			case <-time.After(time.Duration(rng.Int64N(int64(d / 2)))):
				cmd.Process.Signal(syscall.SIGKILL)
				err = <-finished
				kills++
				// A killed writer leaves its temporary directory behind.
				if tmps, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), ".ck.tmp-*")); len(tmps) > 0 {
					midWrite++
				}
			}
		} else {
			err = <-finished
		}
		if err != nil && !strings.Contains(err.Error(), "killed") {
			t.Fatalf("round %d: %v\n%s", round, err, out.String())
		}
		st := checkpointState(t, dir)
		if st == nil && lastGlobal >= 0 {
			t.Fatalf("round %d: the checkpoint disappeared", round)
		}
		if st != nil {
			if st.Global < lastGlobal {
				t.Fatalf("round %d: checkpoint went back from step %d to %d", round, lastGlobal, st.Global)
			}
			if st.Global != lastGlobal {
				seen++
			}
			lastGlobal = st.Global
		}
		if err == nil {
			break
		}
	}
	w, err := os.ReadFile(filepath.Join(dir, graph.WeightsFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(w, ref) {
		t.Fatalf("after %d kills the resumed weights differ from the uninterrupted run's", kills)
	}
	return kills, seen, midWrite
}

// TestTrainSIGINT: SIGINT stops training at the next step with a checkpoint and exit code 130,
// and --resume completes the run with the same weights as an uninterrupted one.
func TestTrainSIGINT(t *testing.T) {
	if testing.Short() {
		t.Skip("runs vgfq train three times")
	}
	ref, _ := referenceRun(t, 256)
	dir := filepath.Join(t.TempDir(), "ck")
	cmd := vgfqCmd(crashTrainArgs(dir, 256)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	finished := make(chan error, 1)
	go func() { finished <- cmd.Wait() }()
	// Interrupt as soon as the first checkpoint is on disk.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(filepath.Join(dir, train.StateFile)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint after 2 minutes")
		}
		time.Sleep(2 * time.Millisecond)
	}
	cmd.Process.Signal(os.Interrupt)
	var err error
	select {
	case err = <-finished:
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatal("SIGINT did not stop training within a minute")
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted || !strings.Contains(out.String(), "interrupted at epoch") ||
		!strings.Contains(out.String(), "--resume") {
		t.Fatalf("exit %v, output:\n%s", err, out.String())
	}
	st := checkpointState(t, dir)
	if st == nil || st.Done || st.Global == 0 {
		t.Fatalf("checkpoint after SIGINT: %+v", st)
	}
	if b, err := vgfqCmd(append(crashTrainArgs(dir, 256), "--resume")...).CombinedOutput(); err != nil {
		t.Fatalf("resume: %v\n%s", err, b)
	}
	w, _ := os.ReadFile(filepath.Join(dir, graph.WeightsFile))
	if !bytes.Equal(w, ref) {
		t.Fatalf("interrupted at step %d and resumed: weights differ from the uninterrupted run's", st.Global)
	}
	t.Logf("interrupted at global step %d of 96; resumed run identical", st.Global)
}
