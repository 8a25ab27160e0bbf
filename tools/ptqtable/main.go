// Command ptqtable reproduces the measurement table of docs/ptq-improvements.md (issue 11): for
// each model it trains one epoch on the built-in data (or takes an existing run directory), runs
// `vgfq ptq` with the default numerics, each improvement option alone, their combinations and
// any extra flag sets given with -extra, and `vgfq qat --epochs 1 --lr 1e-4` (the tutorial's QAT
// recipe), then scores every written model.vgf — executed bit-exactly by `vgfq eval` — on the
// built-in test split and on the real-photo folder (tools/realphotos), against the ground truth
// and against the FP32 model's output (`vgfq eval --against`). It prints a Markdown table and
// writes every number to <work>/results.json.
//
// Everything goes through the vgfq command line (built once from this checkout unless -vgfq is
// given), parsing its JSON output only. Times are those of the ptq / qat process (wall clock and
// user+system CPU time from the OS), without scoring (--eval-images 0 --layer-images 0).
//
//	nice -n 10 go run ./tools/ptqtable -work /tmp/ptqtable
//	go run ./tools/ptqtable -run upscaler=runs/up -extra '--a16w8 auto:0.1' -no-qat
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"
)

// A method is one row: ptq with these flags, or qat.
type method struct {
	Name  string   `json:"name"`
	Flags []string `json:"flags"`
	QAT   bool     `json:"qat,omitempty"`
}

// score is `vgfq eval --json` output (the fields used here).
type score struct {
	PSNR         float64  `json:"psnr"`
	SSIM         float64  `json:"ssim"`
	BaselinePSNR float64  `json:"baseline_psnr"`
	Images       int      `json:"images"`
	AgainstPSNR  *float64 `json:"against_psnr"`
}

type row struct {
	Model   string  `json:"model"`
	Method  method  `json:"method"`
	Dir     string  `json:"dir"`
	Builtin *score  `json:"int8_builtin"`
	Photos  *score  `json:"int8_photos,omitempty"`
	WallS   float64 `json:"wall_s"`
	CPUS    float64 `json:"cpu_s"`
	// Load1 is the 1-minute load average when the row's ptq / qat started.
	Load1 float64 `json:"loadavg1"`
}

type modelResult struct {
	Model       string  `json:"model"`
	Run         string  `json:"run"`
	TrainWallS  float64 `json:"train_wall_s,omitempty"`
	TrainCPUS   float64 `json:"train_cpu_s,omitempty"`
	FP32Builtin *score  `json:"fp32_builtin"`
	FP32Photos  *score  `json:"fp32_photos,omitempty"`
	Rows        []row   `json:"rows"`
}

type results struct {
	Started  string         `json:"started"`
	Finished string         `json:"finished"`
	Commit   string         `json:"commit"`
	Load     string         `json:"loadavg_start"`
	Args     []string       `json:"args"`
	Models   []*modelResult `json:"models"`
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ";") }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }

var (
	vgfq    string
	logFile io.Writer
)

func main() {
	var runs, extra multi
	work := flag.String("work", "/tmp/ptqtable", "working directory: run, output directories, logs, results.json")
	models := flag.String("models", "upscaler,espcn", "zoo models, comma-separated")
	flag.Var(&runs, "run", "MODEL=DIR: use this trained run directory instead of training (repeatable)")
	flag.Var(&extra, "extra", "an extra ptq row: its flags in one string, e.g. '--a16w8 auto:0.1' (repeatable)")
	photos := flag.String("photos", "/tmp/realphotos", "real-photo folder (built with tools/realphotos/build.sh if it has no test/; empty: skip)")
	calib := flag.Int("calib", 500, "ptq --calib")
	builtinBatches := flag.Int("builtin-batches", 50, "built-in test batches of 64 scored (50: the tutorial's 3200 images)")
	noQAT := flag.Bool("no-qat", false, "skip the QAT row")
	noCombos := flag.Bool("no-combos", false, "only default, each option alone and -extra")
	flag.StringVar(&vgfq, "vgfq", "", "vgfq binary (default: go build ./cmd/vgfq into -work)")
	flag.Parse()
	if err := run(*work, strings.Split(*models, ","), runs, extra, *photos, *calib, *builtinBatches, *noQAT, *noCombos); err != nil {
		fmt.Fprintln(os.Stderr, "ptqtable:", err)
		os.Exit(1)
	}
}

func run(work string, models []string, runs, extra multi, photos string, calib, builtinBatches int, noQAT, noCombos bool) error {
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	lf, err := os.Create(filepath.Join(work, "log.txt"))
	if err != nil {
		return err
	}
	defer lf.Close()
	logFile = lf
	res := &results{Started: time.Now().UTC().Format(time.RFC3339), Args: os.Args[1:]}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		res.Load = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	load1 := func() float64 {
		var l float64
		if b, err := os.ReadFile("/proc/loadavg"); err == nil {
			fmt.Sscan(string(b), &l)
		}
		return l
	}
	if out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		res.Commit = strings.TrimSpace(string(out))
		if st, _ := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); len(st) > 0 {
			res.Commit += "+dirty"
		}
	}
	if vgfq == "" {
		vgfq = filepath.Join(work, "vgfq")
		if _, _, _, err := runCmd("go", "build", "-o", vgfq, "./cmd/vgfq"); err != nil {
			return err
		}
	}
	if photos != "" {
		if _, err := os.Stat(filepath.Join(photos, "test")); err != nil {
			logf("building the real-photo folder %s", photos)
			if _, _, _, err := runCmd("sh", "tools/realphotos/build.sh", photos); err != nil {
				return err
			}
		}
	}
	given := map[string]string{}
	for _, r := range runs {
		m, dir, ok := strings.Cut(r, "=")
		if !ok {
			return fmt.Errorf("-run %q: want MODEL=DIR", r)
		}
		given[m] = dir
	}
	methods := []method{
		{Name: "default"},
		{Name: "`--cle`", Flags: []string{"--cle"}},
		{Name: "`--bias-correction`", Flags: []string{"--bias-correction"}},
		{Name: "`--adaround`", Flags: []string{"--adaround"}},
	}
	if !noCombos {
		methods = append(methods,
			method{Name: "`--cle --bias-correction`", Flags: []string{"--cle", "--bias-correction"}},
			method{Name: "`--cle --adaround`", Flags: []string{"--cle", "--adaround"}},
			method{Name: "`--adaround --bias-correction`", Flags: []string{"--adaround", "--bias-correction"}},
			method{Name: "all three", Flags: []string{"--cle", "--adaround", "--bias-correction"}})
	}
	for _, e := range extra {
		methods = append(methods, method{Name: "`" + e + "`", Flags: strings.Fields(e)})
	}
	if !noQAT {
		methods = append(methods, method{Name: "QAT 1 epoch, lr 1e-4", Flags: []string{"--epochs", "1", "--lr", "1e-4"}, QAT: true})
	}
	writeResults := func() error {
		res.Finished = time.Now().UTC().Format(time.RFC3339)
		b, _ := json.MarshalIndent(res, "", "  ")
		return os.WriteFile(filepath.Join(work, "results.json"), append(b, '\n'), 0o644)
	}
	for _, m := range models {
		mr := &modelResult{Model: m, Run: given[m]}
		res.Models = append(res.Models, mr)
		if mr.Run == "" {
			mr.Run = filepath.Join(work, m, "fp32")
			os.RemoveAll(mr.Run)
			logf("training %s one epoch", m)
			_, wall, cpu, err := runCmd(vgfq, "train", "--model", m, "--data", "builtin", "--epochs", "1", "--quiet", "--out", mr.Run)
			if err != nil {
				return err
			}
			mr.TrainWallS, mr.TrainCPUS = wall, cpu
		}
		if mr.FP32Builtin, mr.FP32Photos, err = evalBoth(mr.Run, "", photos, builtinBatches); err != nil {
			return err
		}
		for i, me := range methods {
			dir := filepath.Join(work, m, fmt.Sprintf("%02d-%s", i, slug(me)))
			os.RemoveAll(dir)
			var args []string
			if me.QAT {
				args = append([]string{"qat", "--model", mr.Run, "--data", "builtin"}, me.Flags...)
			} else {
				args = append([]string{"ptq", "--model", mr.Run, "--data", "builtin", "--calib", fmt.Sprint(calib)}, me.Flags...)
			}
			args = append(args, "--eval-images", "0", "--layer-images", "0", "--quiet", "--out", dir)
			logf("%s: %s", m, me.Name)
			l1 := load1()
			_, wall, cpu, err := runCmd(vgfq, args...)
			if err != nil {
				return err
			}
			r := row{Model: m, Method: me, Dir: dir, WallS: wall, CPUS: cpu, Load1: l1}
			if r.Builtin, r.Photos, err = evalBoth(filepath.Join(dir, "model.vgf"), mr.Run, photos, builtinBatches); err != nil {
				return err
			}
			mr.Rows = append(mr.Rows, r)
			if err := writeResults(); err != nil {
				return err
			}
		}
	}
	if err := writeResults(); err != nil {
		return err
	}
	table := markdown(res, builtinBatches)
	fmt.Print(table)
	return os.WriteFile(filepath.Join(work, "table.md"), []byte(table), 0o644)
}

// evalBoth scores model on the built-in test split and on the photo folder (all its crops),
// against the output of against too when it is set.
func evalBoth(model, against, photos string, builtinBatches int) (*score, *score, error) {
	one := func(data string, batches int) (*score, error) {
		args := []string{"eval", "--model", model, "--data", data, "--batches", fmt.Sprint(batches), "--grid", "", "--json"}
		if against != "" {
			args = append(args, "--against", against)
		}
		out, _, _, err := runCmd(vgfq, args...)
		if err != nil {
			return nil, err
		}
		var s score
		if err := json.Unmarshal(out, &s); err != nil {
			return nil, fmt.Errorf("vgfq eval --json: %v in %q", err, out)
		}
		if against != "" && s.AgainstPSNR == nil {
			return nil, fmt.Errorf("vgfq eval --against printed no against_psnr")
		}
		return &s, nil
	}
	b, err := one("builtin", builtinBatches)
	if err != nil || photos == "" {
		return b, nil, err
	}
	p, err := one(photos, 0)
	return b, p, err
}

// runCmd runs a command, logging its stderr, and returns its stdout, wall and CPU seconds.
func runCmd(name string, args ...string) ([]byte, float64, float64, error) {
	cmd := exec.Command(name, args...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = logFile
	fmt.Fprintf(logFile, "$ %s %s\n", name, strings.Join(args, " "))
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start).Seconds()
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%s %s: %v (log: %s)", name, strings.Join(args, " "), err, logPath())
	}
	cpu := (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	if !bytes.HasPrefix(bytes.TrimSpace(stdout.Bytes()), []byte("{")) {
		logFile.Write(stdout.Bytes())
	}
	fmt.Fprintf(logFile, "  (%.1f s wall, %.1f s CPU)\n", wall, cpu)
	return stdout.Bytes(), wall, cpu, nil
}

func logPath() string {
	if f, ok := logFile.(*os.File); ok {
		return f.Name()
	}
	return "-"
}

func logf(format string, a ...any) {
	line := fmt.Sprintf(format, a...)
	fmt.Fprintf(os.Stderr, "%s %s\n", time.Now().UTC().Format("15:04:05"), line)
	fmt.Fprintln(logFile, "#", line)
}

var nonWord = regexp.MustCompile(`[^a-z0-9]+`)

func slug(m method) string {
	if m.QAT {
		return "qat"
	}
	if len(m.Flags) == 0 {
		return "default"
	}
	return strings.Trim(nonWord.ReplaceAllString(strings.ToLower(strings.Join(m.Flags, " ")), "-"), "-")
}

func markdown(res *results, builtinBatches int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "PSNR in dB of the executed INT8 `model.vgf` (`vgfq eval`): built-in test split (%d images) / real photos", builtinBatches*64)
	if len(res.Models) > 0 && res.Models[0].FP32Photos != nil {
		fmt.Fprintf(&b, " (%d crops)", res.Models[0].FP32Photos.Images)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, m := range res.Models {
		for _, r := range m.Rows {
			lo, hi = math.Min(lo, r.Load1), math.Max(hi, r.Load1)
		}
	}
	fmt.Fprintf(&b, ". INT8 vs FP32 = PSNR of the INT8 output against the FP32 output, built-in / photos. Time = the ptq or qat command without scoring, wall / CPU seconds, on %d cores with a 1-minute load average of %.1f–%.1f when the rows started. vgfq %s.\n\n",
		runtime.NumCPU(), lo, hi, res.Commit)
	b.WriteString("| model | method | FP32 | INT8 builtin | INT8 real photos | INT8 vs FP32 | time wall / CPU |\n|---|---|---|---|---|---|---|\n")
	f := func(s *score) string {
		if s == nil {
			return "–"
		}
		return fmt.Sprintf("%.3f", s.PSNR)
	}
	ag := func(s *score) string {
		if s == nil || s.AgainstPSNR == nil {
			return "–"
		}
		return fmt.Sprintf("%.2f", *s.AgainstPSNR)
	}
	for _, m := range res.Models {
		for _, r := range m.Rows {
			fmt.Fprintf(&b, "| %s | %s | %s / %s | %s | %s | %s / %s | %.1f s / %.1f s |\n", m.Model, r.Method.Name,
				f(m.FP32Builtin), f(m.FP32Photos), f(r.Builtin), f(r.Photos), ag(r.Builtin), ag(r.Photos), r.WallS, r.CPUS)
		}
	}
	for _, m := range res.Models {
		if m.FP32Builtin != nil {
			fmt.Fprintf(&b, "\n%s: bilinear %.3f (builtin)", m.Model, m.FP32Builtin.BaselinePSNR)
			if m.FP32Photos != nil {
				fmt.Fprintf(&b, " / %.3f (photos)", m.FP32Photos.BaselinePSNR)
			}
			if m.TrainWallS > 0 {
				fmt.Fprintf(&b, "; FP32 training (1 epoch) %.0f s wall / %.0f s CPU", m.TrainWallS, m.TrainCPUS)
			}
			b.WriteString(".")
		}
	}
	b.WriteString("\n")
	return b.String()
}
