package report

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"

	"github.com/vgfq/vgfq/internal/atomicfile"
	"github.com/vgfq/vgfq/metrics"
)

// Options configures Build.
type Options struct {
	// Batches are the test images: CropBatches (the data set's test crops at the model's size) or
	// FullImageBatches (whole pictures; the models run at each image's size).
	Batches []*Batch
	// DataName describes the test images in the report ("builtin test split, 256 crops of
	// 32x32", "folder photos/, 5 whole images").
	DataName string
	// GridImages is the number of test images shown side by side (default 4).
	GridImages int
	// Metric is the PSNR the image grid captions show: "rgb" (the tutorial's) or "y" (BT.601
	// luma, shaved border; SR papers'). The summary table shows both.
	Metric string
	// Workers runs the INT8 graphs on this many goroutines (default GOMAXPROCS).
	Workers int
	// Log, if not nil, receives one progress line per stage scored.
	Log io.Writer
}

// Row is one line of the summary table.
type Row struct {
	Stage    string
	Artifact string // file executed ("" for bilinear)
	Run      *Run   // nil for the bilinear baseline
	Scores   Scores
	Size     int64
	Ops      string
	Params   string
	// SameAs names the row whose outputs this row's equal bit for bit on every test image (the
	// .vgf against the .tosa of the same run); Mismatch counts images that differ.
	SameAs   string
	Mismatch int
	Checked  bool
	Note     string // how the artifact ran, when not as a whole
}

// Report is everything the HTML page shows.
type Report struct {
	Runs   []*Run
	Rows   []*Row
	Opt    Options
	Grid   []*GridImage
	Labels []string // grid column labels
}

// GridImage is one test image across the stages.
type GridImage struct {
	Name   string
	H, W   int
	Detail Region  // the zoomed crop (HR pixels)
	Frame  Region  // the zoomed crop on screen, in CSS pixels of the displayed view
	View   Region  // the part of the image shown (whole image up to 256x256, else the centre)
	Cells  []*Cell // one per column
}

// Cell is one column of a grid image: the image, its zoomed detail and its error heat map.
type Cell struct {
	Label      string
	Full, Zoom template.URL
	Heat       template.URL // empty for LR and ground truth
	Caption    string
	WorstError float64
}

// Build loads the run directories, scores every stage on the test images (bilinear baseline,
// each float model, each INT8 artifact executed as exported: .tosa and .vgf) and renders the
// image grid, charts and graph drawings.
func Build(dirs []string, opt Options) (*Report, error) {
	if len(dirs) == 0 {
		return nil, fmt.Errorf("report: no run directories")
	}
	var runs []*Run
	for _, d := range dirs {
		r, err := LoadRun(d)
		if err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	return BuildRuns(runs, opt)
}

// BuildRuns is Build for runs already loaded with LoadRun.
func BuildRuns(runs []*Run, opt Options) (*Report, error) {
	if len(runs) == 0 {
		return nil, fmt.Errorf("report: no run directories")
	}
	if len(opt.Batches) == 0 {
		return nil, fmt.Errorf("report: no test images")
	}
	if opt.GridImages <= 0 {
		opt.GridImages = 4
	}
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	if opt.Metric == "" {
		opt.Metric = "rgb"
	}
	if opt.Metric != "rgb" && opt.Metric != "y" {
		return nil, fmt.Errorf("report: metric %q: use rgb or y", opt.Metric)
	}
	rep := &Report{Opt: opt, Runs: runs}
	labels := map[string]int{}
	for _, r := range runs {
		labels[r.Label]++
	}
	// Two runs of the same kind (two PTQ variants, say): tell them apart by directory.
	for _, r := range rep.Runs {
		if labels[r.Label] > 1 {
			r.Label += " " + filepath.Base(filepath.Clean(r.Dir))
		}
	}
	keep := opt.GridImages
	var cols []gridCol
	logf := func(format string, args ...any) {
		if opt.Log != nil {
			fmt.Fprintf(opt.Log, format, args...)
		}
	}
	sc, outs, err := score(opt.Batches, bilinearFn, keep)
	if err != nil {
		return nil, err
	}
	rep.Rows = append(rep.Rows, &Row{Stage: "bilinear", Scores: sc, Ops: "resize (bilinear, align_corners=False)"})
	cols = append(cols, gridCol{"bilinear", outs})
	logf("%-22s PSNR %.3f dB  Y-PSNR %.3f dB\n", "bilinear", sc.PSNR, sc.PSNRY)
	for _, r := range rep.Runs {
		var first *Row
		var firstOuts [][]float32
		for _, a := range r.Artifacts() {
			row := &Row{Stage: a.Stage, Artifact: a.Name, Run: r, Size: a.Size, Ops: sortedOps(r.Ops), Params: fmt.Sprintf("%d %s", r.Params, r.ParamUnit)}
			pred := artifactFn(a, opt.Workers)
			var all [][]float32
			if first != nil {
				// Compare with the run's first artifact image by image.
				row.SameAs, row.Checked = first.Stage, true
				k := 0
				inner := pred
				pred = func(b *Batch) ([]float32, error) {
					out, err := inner(b)
					if err != nil {
						return nil, err
					}
					img := 3 * b.H * b.W
					for i := 0; i < b.N; i++ {
						if !slices.Equal(out[i*img:(i+1)*img], firstOuts[k]) {
							row.Mismatch++
						}
						k++
					}
					return out, nil
				}
			} else if len(r.Artifacts()) > 1 {
				inner := pred
				pred = func(b *Batch) ([]float32, error) {
					out, err := inner(b)
					if err == nil {
						img := 3 * b.H * b.W
						for i := 0; i < b.N; i++ {
							all = append(all, slices.Clone(out[i*img:(i+1)*img]))
						}
					}
					return out, err
				}
			}
			sc, outs, err := score(opt.Batches, pred, keep)
			if err != nil {
				return nil, err
			}
			row.Scores = sc
			if a.Tiled {
				ih, iw := r.InputSize()
				row.Note = fmt.Sprintf("its shapes are fixed: run on overlapping %dx%d tiles with a %d-pixel halo (its receptive radius)", iw, ih, a.Halo)
			}
			rep.Rows = append(rep.Rows, row)
			logf("%-22s PSNR %.3f dB  Y-PSNR %.3f dB\n", a.Stage, sc.PSNR, sc.PSNRY)
			if first == nil {
				first, firstOuts = row, all
				cols = append(cols, gridCol{r.Label, outs})
			}
		}
	}
	// The grid: LR, bilinear, the stages, ground truth.
	rep.Labels = append([]string{"LR input"}, "bilinear")
	for _, c := range cols[1:] {
		rep.Labels = append(rep.Labels, c.label)
	}
	rep.Labels = append(rep.Labels, "ground truth")
	n := 0
	for _, b := range opt.Batches {
		img, lrImg := 3*b.H*b.W, 3*b.H*b.W/4
		for i := 0; i < b.N && n < keep; i++ {
			hr := b.HR[i*img : (i+1)*img]
			lr := b.LR[i*lrImg : (i+1)*lrImg]
			gi, err := gridImage(b.Names[i], hr, lr, b.H, b.W, n, cols, opt.Metric, rep.Labels)
			if err != nil {
				return nil, err
			}
			rep.Grid = append(rep.Grid, gi)
			n++
		}
	}
	return rep, nil
}

type gridCol struct {
	label string
	outs  [][]float32
}

// MaxView is the largest image side the grid shows whole; larger images show their centre.
const MaxView = 256

// gridImage renders test image k: each column's view, zoomed detail and error heat map.
func gridImage(name string, hr, lr []float32, h, w, k int, cols []gridCol, metric string, labels []string) (*GridImage, error) {
	view := Region{W: min(w, MaxView), H: min(h, MaxView)}
	view.X, view.Y = ((w-view.W)/2)&^1, ((h-view.H)/2)&^1
	side := max(8, min(h, w)/4)
	// The detail crop is chosen inside the view.
	vhr := make([]float32, 3*view.W*view.H)
	for c := 0; c < 3; c++ {
		for y := 0; y < view.H; y++ {
			copy(vhr[(c*view.H+y)*view.W:(c*view.H+y+1)*view.W], hr[c*h*w+(view.Y+y)*w+view.X:])
		}
	}
	d := detailRegion(vhr, view.H, view.W, min(side, view.W, view.H))
	d.X += view.X
	d.Y += view.Y
	gi := &GridImage{Name: name, H: h, W: w, Detail: d, View: view}
	z := dispWidth(view.W) / view.W
	gi.Frame = Region{X: (d.X - view.X) * z, Y: (d.Y - view.Y) * z, W: d.W * z, H: d.H * z}
	enc := func(pix []float32, ph, pw int, r Region) (template.URL, error) {
		u, err := pngURI(rgbImage(pix, ph, pw, r))
		return template.URL(u), err
	}
	half := func(r Region) Region { return Region{X: r.X / 2, Y: r.Y / 2, W: max(r.W/2, 1), H: max(r.H/2, 1)} }
	// LR input.
	c := &Cell{Label: labels[0], Caption: fmt.Sprintf("%dx%d", w/2, h/2)}
	var err error
	if c.Full, err = enc(lr, h/2, w/2, half(view)); err != nil {
		return nil, err
	}
	if c.Zoom, err = enc(lr, h/2, w/2, half(d)); err != nil {
		return nil, err
	}
	gi.Cells = append(gi.Cells, c)
	for j, col := range cols {
		out := col.outs[k]
		c := &Cell{Label: labels[j+1]}
		if c.Full, err = enc(out, h, w, view); err != nil {
			return nil, err
		}
		if c.Zoom, err = enc(out, h, w, d); err != nil {
			return nil, err
		}
		heat, worst := errorImage(out, hr, h, w, view)
		u, err := pngURI(heat)
		if err != nil {
			return nil, err
		}
		c.Heat, c.WorstError = template.URL(u), worst
		if metric == "y" {
			c.Caption = fmt.Sprintf("Y-PSNR %.2f dB", imagePSNRY(out, hr, h, w))
		} else {
			c.Caption = fmt.Sprintf("PSNR %.2f dB", imagePSNR(out, hr))
		}
		gi.Cells = append(gi.Cells, c)
	}
	c = &Cell{Label: labels[len(labels)-1], Caption: fmt.Sprintf("%dx%d", w, h)}
	if c.Full, err = enc(hr, h, w, view); err != nil {
		return nil, err
	}
	if c.Zoom, err = enc(hr, h, w, d); err != nil {
		return nil, err
	}
	gi.Cells = append(gi.Cells, c)
	return gi, nil
}

func imagePSNR(out, hr []float32) float64 { return metrics.PSNR(out, hr) }

func imagePSNRY(out, hr []float32, h, w int) float64 { return metrics.PSNRY(out, hr, 1, h, w, Scale) }

// HTML renders the report as one self-contained page: every image and chart is embedded as a
// data URI, there is no script and nothing is loaded from elsewhere.
func (r *Report) HTML() ([]byte, error) {
	var b bytes.Buffer
	if err := pageTmpl.Execute(&b, r.view()); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// WriteHTML writes HTML() to path atomically.
func (r *Report) WriteHTML(path string) error {
	b, err := r.HTML()
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, b, 0o644)
}

type runView struct {
	*Run
	Ladder   template.URL
	Graph    template.URL
	GraphErr string
	Quant    [][2]string
	FileList [][2]string
	InputHW  string
}

type pageView struct {
	*Report
	RunViews []*runView
	Colorbar template.URL
	FP32     *Row
}

func (r *Report) view() *pageView {
	v := &pageView{Report: r, Colorbar: template.URL(svgURI(colorbarSVG()))}
	for _, row := range r.Rows {
		if row.Run != nil && row.Run.Kind == KindFloat && v.FP32 == nil {
			v.FP32 = row
		}
	}
	for _, run := range r.Runs {
		rv := &runView{Run: run}
		h, w := run.InputSize()
		rv.InputHW = fmt.Sprintf("%dx%d", w, h)
		if len(run.Layers) > 0 {
			rv.Ladder = template.URL(svgURI(ladderSVG(fmt.Sprintf("%s: per-layer error over %d test images", run.Label, run.LayerImgs), run.Layers)))
		}
		if run.Kind == KindInt8 {
			m := run.TOSA
			if m == nil {
				m = run.VGF
			}
			q, err := m.QuantInfo()
			if err != nil {
				q = nil
			}
			if s, err := m.SVGWithQuant(q); err != nil {
				rv.GraphErr = err.Error()
			} else {
				rv.Graph = template.URL(svgURI(s))
			}
			for _, k := range sortedKeys(run.Quant) {
				switch val := run.Quant[k].(type) {
				case string, float64, bool:
					rv.Quant = append(rv.Quant, [2]string{k, fmt.Sprint(val)})
				}
			}
		}
		for _, f := range sortedKeys(run.Files) {
			rv.FileList = append(rv.FileList, [2]string{f, size(run.Files[f])})
		}
		v.RunViews = append(v.RunViews, rv)
	}
	return v
}

func sortedKeys[V any](m map[string]V) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}

func size(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

var pageTmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"f2": func(v float64) string {
		if math.IsNaN(v) {
			return "–"
		}
		return fmt.Sprintf("%.2f", v)
	},
	"f3": func(v float64) string { return fmt.Sprintf("%.3f", v) },
	"f4": func(v float64) string {
		if math.IsNaN(v) {
			return "–"
		}
		return fmt.Sprintf("%.4f", v)
	},
	"delta": func(v, ref float64) string { return fmt.Sprintf("%+.2f", v-ref) },
	"size":  size,
	"join":  strings.Join,
	"g":     func(v float32) string { return fmt.Sprintf("%.6g", v) },
	// disp is the on-screen width of a grid image: small images are enlarged (to at least 128
	// pixels, by an integer factor, pixelated), large ones shown as they are.
	"disp":   func(w int) int { return w * max(1, (128+w-1)/w) },
	"mul100": func(v float64) float64 { return 100 * v },
}).Parse(pageHTML))

// dispWidth is the on-screen width of a grid image w pixels wide: small images are enlarged by an
// integer factor (pixelated) to at least 128 pixels, large ones shown as they are.
func dispWidth(w int) int { return w * max(1, (128+w-1)/w) }
