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
	"github.com/vgfq/vgfq/qat"
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

// crashJob is a command under test: its arguments (fresh or --resume), where its checkpoint
// lives, how to check that checkpoint, and the result files that must match an uninterrupted
// run byte for byte.
type crashJob struct {
	args    func(out string, resume bool) []string
	ckdir   func(out string) string
	load    func(dir string) (*train.State, error)
	results []string // relative to out
}

var trainJob = crashJob{
	args: func(out string, resume bool) []string {
		a := crashTrainArgs(out, 64)
		if resume {
			a = append(a, "--resume")
		}
		return a
	},
	ckdir: func(out string) string { return out },
	load: func(dir string) (*train.State, error) {
		ck, err := train.LoadCheckpoint(dir)
		if err != nil {
			return nil, err
		}
		if ck.State == nil || ck.Optimizer == nil {
			return nil, errors.New("checkpoint without training or optimizer state")
		}
		return ck.State, nil
	},
	results: []string{graph.WeightsFile},
}

// qatJob: vgfq qat of a small float model (16 steps, a checkpoint after every step), then the
// INT8 export.
func qatJob(model string) crashJob {
	return crashJob{
		args: func(out string, resume bool) []string {
			a := []string{"qat", "--out", out, "--crop", "16", "--data", "builtin", "--builtin-train", "64", "--builtin-test", "16",
				"--batch", "8", "--epochs", "2", "--checkpoint-every", "1", "--eval-batches", "1", "--eval-images", "0",
				"--layer-images", "0", "--log-every", "0", "--quiet", "--seed", "7"}
			if resume {
				return append(a, "--resume")
			}
			return append(a, "--model", model)
		},
		ckdir: func(out string) string { return filepath.Join(out, qatCheckpointDir) },
		load: func(dir string) (*train.State, error) {
			ck, err := qat.LoadCheckpoint(dir)
			if err != nil {
				return nil, err
			}
			return ck.Train.State, nil
		},
		results: []string{"model.vgf", "model.tosa", filepath.Join(qatCheckpointDir, graph.WeightsFile)},
	}
}

// referenceRun runs a job without interruption and returns its result files and the time it took.
func referenceRun(t *testing.T, job crashJob) ([][]byte, time.Duration) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "ref")
	start := time.Now()
	if b, err := vgfqCmd(job.args(out, false)...).CombinedOutput(); err != nil {
		t.Fatalf("reference run: %v\n%s", err, b)
	}
	d := time.Since(start)
	return readResults(t, out, job), d
}

func readResults(t *testing.T, out string, job crashJob) [][]byte {
	t.Helper()
	var r [][]byte
	for _, f := range job.results {
		b, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		r = append(r, b)
	}
	return r
}

// checkpointState loads the job's checkpoint in dir: nil if there is none yet; a test failure if
// it is damaged (half-written, mixed, unreadable).
func checkpointState(t *testing.T, job crashJob, dir string) *train.State {
	t.Helper()
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := checkNothingAside(dir); err != nil {
			t.Fatal(err)
		}
		return nil
	}
	st, err := job.load(dir)
	if err != nil {
		t.Fatalf("checkpoint damaged: %v", err)
	}
	return st
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
		t.Skip("runs vgfq train about 40 times")
	}
	survivesSIGKILL(t, trainJob, 25)
}

// TestQATSurvivesSIGKILL: the same for `vgfq qat`, whose final .vgf/.tosa and QAT weights must
// equal an uninterrupted run's.
func TestQATSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("runs vgfq qat about 30 times")
	}
	survivesSIGKILL(t, qatJob(saveZoo(t, t.TempDir(), "espcn", 8)), 15)
}

func survivesSIGKILL(t *testing.T, job crashJob, wantKills int) {
	ref, d := referenceRun(t, job)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	// Campaigns from scratch until enough kills landed; each ends with a completed run.
	kills, seen, midWrite, campaigns := 0, 0, 0, 0
	for ; kills < wantKills && campaigns < 10; campaigns++ {
		k, s, m := killCampaign(t, job, filepath.Join(t.TempDir(), "out"), d, rng, ref)
		kills, seen, midWrite = kills+k, seen+s, midWrite+m
	}
	if kills < wantKills/2 {
		t.Fatalf("only %d kills landed", kills)
	}
	t.Logf("%d SIGKILLs in %d campaigns (reference run %v), %d of them during a checkpoint write, %d distinct checkpoints seen after kills; every final result identical to the uninterrupted run's",
		kills, campaigns, d.Round(time.Millisecond), midWrite, seen)
}

// killCampaign runs the job into out, killing it at random moments within d/2 and resuming
// after every kill, until a run completes (at most 30 kills). It returns the kills, the
// checkpoints seen and the kills that interrupted a checkpoint write.
func killCampaign(t *testing.T, job crashJob, out string, d time.Duration, rng *rand.Rand, ref [][]byte) (kills, seen, midWrite int) {
	ck := job.ckdir(out)
	lastGlobal := -1
	for round := 0; ; round++ {
		cmd := vgfqCmd(job.args(out, checkpointState(t, job, ck) != nil)...)
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
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
				if tmps, _ := filepath.Glob(filepath.Join(filepath.Dir(ck), "."+filepath.Base(ck)+".tmp-*")); len(tmps) > 0 {
					midWrite++
				}
			}
		} else {
			err = <-finished
		}
		if err != nil && !strings.Contains(err.Error(), "killed") {
			t.Fatalf("round %d: %v\n%s", round, err, buf.String())
		}
		st := checkpointState(t, job, ck)
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
	for i, b := range readResults(t, out, job) {
		if !bytes.Equal(b, ref[i]) {
			t.Fatalf("after %d kills %s differs from the uninterrupted run's", kills, job.results[i])
		}
	}
	return kills, seen, midWrite
}

// TestTrainSIGINT: SIGINT stops training at the next step with a checkpoint and exit code 130,
// and --resume completes the run with the same weights as an uninterrupted one.
func TestTrainSIGINT(t *testing.T) {
	if testing.Short() {
		t.Skip("runs vgfq train three times")
	}
	job := trainJob
	job.args = func(out string, resume bool) []string {
		a := crashTrainArgs(out, 256)
		if resume {
			a = append(a, "--resume")
		}
		return a
	}
	stopsOnSIGINT(t, job)
}

// TestQATSIGINT: the same for vgfq qat.
func TestQATSIGINT(t *testing.T) {
	if testing.Short() {
		t.Skip("runs vgfq qat three times")
	}
	job := qatJob(saveZoo(t, t.TempDir(), "espcn", 8))
	args := job.args
	job.args = func(out string, resume bool) []string {
		return append(args(out, resume), "--builtin-train", "256")
	}
	stopsOnSIGINT(t, job)
}

func stopsOnSIGINT(t *testing.T, job crashJob) {
	refs, _ := referenceRun(t, job)
	out := filepath.Join(t.TempDir(), "out")
	ck := job.ckdir(out)
	cmd := vgfqCmd(job.args(out, false)...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	finished := make(chan error, 1)
	go func() { finished <- cmd.Wait() }()
	// Interrupt as soon as the first checkpoint is on disk.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(filepath.Join(ck, train.StateFile)); err == nil {
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
		t.Fatal("SIGINT did not stop within a minute")
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted || !strings.Contains(buf.String(), "interrupted") ||
		!strings.Contains(buf.String(), "--resume") {
		t.Fatalf("exit %v, output:\n%s", err, buf.String())
	}
	st := checkpointState(t, job, ck)
	if st == nil || st.Done || st.Global == 0 {
		t.Fatalf("checkpoint after SIGINT: %+v", st)
	}
	if b, err := vgfqCmd(job.args(out, true)...).CombinedOutput(); err != nil {
		t.Fatalf("resume: %v\n%s", err, b)
	}
	for i, b := range readResults(t, out, job) {
		if !bytes.Equal(b, refs[i]) {
			t.Fatalf("interrupted at step %d and resumed: %s differs from the uninterrupted run's", st.Global, job.results[i])
		}
	}
	t.Logf("interrupted at global step %d; resumed run identical", st.Global)
}
