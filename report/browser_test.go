package report

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromium returns the path of a Chromium / Chrome binary, or "" (VGFQ_CHROMIUM overrides).
func chromium() string {
	if p := os.Getenv("VGFQ_CHROMIUM"); p != "" {
		return p
	}
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// imgCheck is what the page reports about each <img>.
type imgCheck struct {
	Alt      string `json:"alt"`
	Complete bool   `json:"complete"`
	W        int    `json:"w"`
	H        int    `json:"h"`
	Decoded  bool   `json:"decoded"`
	Colors   int    `json:"colors"` // distinct colours among sampled pixels (-1: not readable)
	Err      string `json:"err"`
}

// The demo-like report opened in a real headless browser: every image and chart decodes to a
// non-empty picture, the page requests nothing from the network and logs no error.
func TestReportInBrowser(t *testing.T) {
	bin := chromium()
	if bin == "" {
		t.Skip("no chromium / google-chrome on PATH (Debian: apt-get install chromium); set VGFQ_CHROMIUM to a browser binary")
	}
	_, rep := buildDemoReport(t)
	page := filepath.Join(t.TempDir(), "report.html")
	if err := rep.WriteHTML(page); err != nil {
		t.Fatal(err)
	}
	imgs, requests, problems := openInBrowser(t, bin, page)
	// Every image the page embeds: 3 grid images x (6 full + 6 zoom + 4 heat maps), the colour
	// bar, and for PTQ and QAT the ladder chart and the TOSA graph.
	if want := 3*(6+6+4) + 1 + 2*2; len(imgs) != want {
		t.Errorf("%d images on the page, want %d", len(imgs), want)
	}
	heat := map[string]int{} // heat-map alt text -> most colours in one of its images
	for _, im := range imgs {
		if !im.Complete || !im.Decoded || im.W == 0 || im.H == 0 || im.Err != "" {
			t.Errorf("image %q: complete %v decoded %v %dx%d %s", im.Alt, im.Complete, im.Decoded, im.W, im.H, im.Err)
		}
		if strings.HasSuffix(im.Alt, " error") {
			// One test image's heat map may be uniform (a flat image reproduced within one
			// colour step); each stage's maps together must not be.
			heat[im.Alt] = max(heat[im.Alt], im.Colors)
			continue
		}
		if im.Colors < 2 && !strings.Contains(im.Alt, "input") && !strings.Contains(im.Alt, "detail") {
			// A chart or graph of a single colour would be blank.
			t.Errorf("image %q shows %d colour(s)", im.Alt, im.Colors)
		}
	}
	if len(heat) == 0 {
		t.Error("no error heat maps on the page")
	}
	for alt, n := range heat {
		if n < 2 {
			t.Errorf("every %q heat map shows a single colour", alt)
		}
	}
	for _, u := range requests {
		if !strings.HasPrefix(u, "file://") && !strings.HasPrefix(u, "data:") {
			t.Errorf("network request to %s", u)
		}
	}
	for _, p := range problems {
		t.Error(p)
	}
	t.Logf("%d images checked in %s; %d requests (the page and its data URIs)", len(imgs), bin, len(requests))
}

// openInBrowser loads page in headless Chromium and returns what every <img> decoded to, every
// URL the page requested and every console error, warning, exception or error log entry.
func openInBrowser(t *testing.T, bin, page string) (imgs []imgCheck, requests, problems []string) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("no-first-run", true), chromedp.WindowSize(1400, 1000))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel2 := chromedp.NewContext(actx)
	defer cancel2()
	ctx, cancel3 := context.WithTimeout(ctx, 90*time.Second)
	defer cancel3()

	var mu sync.Mutex
	listenErr := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			requests = append(requests, e.Request.URL)
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning {
				var args []string
				for _, a := range e.Args {
					args = append(args, string(a.Value))
				}
				problems = append(problems, "console "+string(e.Type)+": "+strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+e.ExceptionDetails.Text)
		case *log.EventEntryAdded:
			if e.Entry.Level == log.EntryLevelError {
				problems = append(problems, "log error: "+e.Entry.Text+" "+e.Entry.URL)
			}
		}
	})
	// Listen starts the browser: one that cannot run here skips the test rather than fails it.
	if listenErr != nil {
		t.Skipf("chromium at %s cannot run here: %v", bin, listenErr)
	}
	const script = `(async () => {
	  const out = [];
	  for (const img of document.images) {
	    const r = {alt: img.alt, complete: img.complete, w: img.naturalWidth, h: img.naturalHeight, decoded: false, colors: -1, err: ""};
	    try { await img.decode(); r.decoded = true; } catch (e) { r.err = String(e); }
	    try {
	      const c = document.createElement("canvas");
	      c.width = Math.max(1, Math.min(img.naturalWidth, 400)); c.height = Math.max(1, Math.min(img.naturalHeight, 400));
	      const g = c.getContext("2d");
	      g.drawImage(img, 0, 0, c.width, c.height);
	      const d = g.getImageData(0, 0, c.width, c.height).data;
	      const seen = new Set();
	      for (let i = 0; i < d.length && seen.size < 50; i += 4 * 7) seen.add(d[i] + "," + d[i+1] + "," + d[i+2] + "," + d[i+3]);
	      r.colors = seen.size;
	    } catch (e) { r.err += " canvas: " + String(e); }
	    out.push(r);
	  }
	  return JSON.stringify(out);
	})()`
	// chromedp enables the Log, Network and Runtime domains of the page itself.
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+page), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
		t.Fatal(err)
	}
	res, err := chromedp.Run(ctx, chromedp.Evaluate[string](script, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(res), &imgs); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	return imgs, append([]string(nil), requests...), append([]string(nil), problems...)
}

// The browser check catches what it is there to catch: a broken image, a request to the network,
// a console error.
func TestBrowserCheckCatchesProblems(t *testing.T) {
	bin := chromium()
	if bin == "" {
		t.Skip("no chromium / google-chrome on PATH (Debian: apt-get install chromium); set VGFQ_CHROMIUM to a browser binary")
	}
	page := filepath.Join(t.TempDir(), "bad.html")
	html := `<!DOCTYPE html><html><body><img alt="broken" src="data:image/png;base64,AAAA">` +
		`<img alt="remote" src="http://127.0.0.1:9/x.png"><script>console.error("boom")</script></body></html>`
	if err := os.WriteFile(page, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	imgs, requests, problems := openInBrowser(t, bin, page)
	if len(imgs) != 2 || imgs[0].Decoded || imgs[0].W != 0 {
		t.Errorf("broken image not caught: %+v", imgs)
	}
	remote := false
	for _, u := range requests {
		remote = remote || strings.HasPrefix(u, "http://127.0.0.1:9/")
	}
	if !remote {
		t.Errorf("request not seen: %v", requests)
	}
	if len(problems) == 0 || !strings.Contains(strings.Join(problems, "\n"), "boom") {
		t.Errorf("console error not seen: %v", problems)
	}
}
