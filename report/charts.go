package report

import (
	"fmt"
	"html"
	"math"
	"strings"

	"github.com/vgfq/vgfq/diagnose"
)

// Chart colours.
const (
	colorFQ      = "#4e79a7" // fake-quant SQNR
	colorInt8    = "#f28e2b" // INT8 SQNR
	colorClipped = "#e15759" // clipped share
)

// ladderSVG draws the per-layer error ladder of one INT8 run: for every quantized tensor (in
// graph order) two horizontal bars, the SQNR in dB of the fake-quant value and of the INT8 value
// (read from the integer graph's own tensors) against float, and to the right the share of float
// values outside the int8 range (clipped). Longer SQNR bars are better; the layer where the bars
// drop is the one that loses the quality.
func ladderSVG(title string, layers []diagnose.Layer) string {
	const (
		labelW, barW, gapW, clipW, rowH, top, bottom = 190, 380, 30, 150, 30, 44, 30
	)
	width := labelW + barW + gapW + clipW + 20
	height := top + len(layers)*rowH + bottom
	maxSQNR := 10.0
	maxClip := 0.001
	for _, l := range layers {
		for _, v := range []float64{l.FakeQuantSQNR, l.Int8SQNR} {
			if !math.IsInf(v, 0) && !math.IsNaN(v) {
				maxSQNR = max(maxSQNR, v)
			}
		}
		maxClip = max(maxClip, l.Clipped)
	}
	maxSQNR = math.Ceil(maxSQNR/10) * 10
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif" font-size="11">`, width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`, width, height)
	fmt.Fprintf(&b, `<text x="10" y="16" font-size="13" font-weight="bold">%s</text>`, html.EscapeString(title))
	// Legend.
	lx := labelW
	for _, e := range []struct{ c, t string }{{colorFQ, "fake-quant SQNR"}, {colorInt8, "INT8 SQNR (integer graph)"}, {colorClipped, "clipped share"}} {
		fmt.Fprintf(&b, `<rect x="%d" y="24" width="10" height="10" fill="%s"/><text x="%d" y="33">%s</text>`, lx, e.c, lx+14, e.t)
		lx += 24 + 7*len(e.t)
	}
	x0 := labelW
	cx0 := labelW + barW + gapW
	// Grid lines and axes.
	for i := 0; i <= 5; i++ {
		v := maxSQNR * float64(i) / 5
		x := float64(x0) + float64(barW)*float64(i)/5
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/><text x="%.1f" y="%d" text-anchor="middle" fill="#555">%.0f</text>`,
			x, top-4, x, top+len(layers)*rowH, x, top+len(layers)*rowH+14, v)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" fill="#555">SQNR against float, dB (higher is better)</text>`, x0+barW/2, height-4)
	for i := 0; i <= 2; i++ {
		v := maxClip * float64(i) / 2
		x := float64(cx0) + float64(clipW)*float64(i)/2
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/><text x="%.1f" y="%d" text-anchor="middle" fill="#555">%s</text>`,
			x, top-4, x, top+len(layers)*rowH, x, top+len(layers)*rowH+14, pct(v))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" fill="#555">clipped</text>`, cx0+clipW/2, height-4)
	bar := func(v float64) float64 {
		if math.IsNaN(v) || v < 0 {
			return 0
		}
		if math.IsInf(v, 1) || v > maxSQNR {
			return float64(barW)
		}
		return float64(barW) * v / maxSQNR
	}
	for i, l := range layers {
		y := top + i*rowH
		name := l.Node
		if l.Op != "" {
			name += " (" + l.Op + ")"
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`, labelW-8, y+rowH/2+4, html.EscapeString(clip(name, 30)))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="11" fill="%s"><title>fake-quant %s dB</title></rect>`, x0, y+3, bar(l.FakeQuantSQNR), colorFQ, db(l.FakeQuantSQNR))
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="9">%s</text>`, float64(x0)+bar(l.FakeQuantSQNR)+3, y+12, db(l.FakeQuantSQNR))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="11" fill="%s"><title>INT8 %s dB</title></rect>`, x0, y+15, bar(l.Int8SQNR), colorInt8, db(l.Int8SQNR))
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="9">%s</text>`, float64(x0)+bar(l.Int8SQNR)+3, y+24, db(l.Int8SQNR))
		cw := float64(clipW) * min(max(l.Clipped, 0), maxClip) / maxClip
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="14" fill="%s"/><text x="%.1f" y="%d" font-size="9">%s</text>`, cx0, y+8, cw, colorClipped, float64(cx0)+cw+3, y+19, pct(l.Clipped))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func db(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "∞"
	case math.IsNaN(v):
		return "n/a"
	}
	return fmt.Sprintf("%.1f", v)
}

func pct(v float64) string {
	if v == 0 {
		return "0%"
	}
	if v < 0.001 {
		return fmt.Sprintf("%.3f%%", 100*v)
	}
	return fmt.Sprintf("%.2f%%", 100*v)
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
