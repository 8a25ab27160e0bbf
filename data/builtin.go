package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
)

// BuiltinOptions configures Builtin. Zero fields take the defaults.
type BuiltinOptions struct {
	// TrainSize is the number of training images; default 50000.
	TrainSize int
	// TestSize is the number of test images; default 10000.
	TestSize int
	// Seed selects the image streams. Train and test use different
	// streams derived from it, so they never share images.
	Seed uint64
	// Size is the side of the square images; default 32. It must be even.
	Size int
}

// Builtin returns a procedural dataset that needs no files. Image i of a
// split depends only on Seed, Size, the split and i and is rendered on
// demand in Read (about 0.1 ms per 32x32 image). Each image layers a
// random background (colour gradient, fBm noise texture, grating or flat
// colour) and 2-5 elements (filled or outlined ellipses, rectangles and
// convex polygons, lines at arbitrary angles, stroke-font text, stripe
// and noise textures) with random palettes, partial transparency and
// occlusion, rendered at twice the resolution and box-filtered down so
// edges are anti-aliased, with optional mild blur, lighting gradient and
// sensor noise. Rendering is deterministic for a given platform; on
// architectures where Go fuses multiply-adds (arm64, ...) pixel values
// may differ from amd64 in the last bits.
//
// Builtin panics if a size option is negative or Size is odd.
func Builtin(opt BuiltinOptions) *Dataset {
	if opt.TrainSize == 0 {
		opt.TrainSize = 50000
	}
	if opt.TestSize == 0 {
		opt.TestSize = 10000
	}
	if opt.Size == 0 {
		opt.Size = 32
	}
	if opt.TrainSize < 0 || opt.TestSize < 0 || opt.Size < 2 || opt.Size%2 != 0 {
		panic(fmt.Sprintf("data.Builtin: invalid options %+v", opt))
	}
	return &Dataset{
		Name: "builtin",
		Train: &BuiltinSource{name: "builtin-train", n: opt.TrainSize, size: opt.Size,
			stream: mix64(opt.Seed ^ 0x7472_61696e)},
		Test: &BuiltinSource{name: "builtin-test", n: opt.TestSize, size: opt.Size,
			stream: mix64(mix64(opt.Seed ^ 0x74_657374))},
	}
}

// BuiltinSource is one split of the Builtin dataset.
type BuiltinSource struct {
	name   string
	n      int
	size   int
	stream uint64
}

// Len returns the number of images.
func (s *BuiltinSource) Len() int { return s.n }

// Size returns the image side twice.
func (s *BuiltinSource) Size() (h, w int) { return s.size, s.size }

// Read renders image i into dst. rng is ignored: the image depends only
// on i.
func (s *BuiltinSource) Read(i int, rng *rand.Rand, dst []float32) error {
	if err := checkRead(s.name, i, s.n, dst, s.size, s.size); err != nil {
		return err
	}
	r := rendererPool.Get().(*renderer)
	r.render(s.stream, uint64(i), s.size, dst)
	rendererPool.Put(r)
	return nil
}

// ss is the supersampling factor per axis.
const ss = 2

var rendererPool = sync.Pool{New: func() any {
	r := &renderer{}
	r.rng = rand.New(&r.pcg)
	return r
}}

type renderer struct {
	pcg  rand.PCG
	rng  *rand.Rand
	n    int       // canvas side (size*ss)
	S    float32   // image side in output pixels
	img  []float32 // 3 planes of n*n
	mask []float32 // n*n coverage
	tmp  []float32 // blur scratch
	pal  [][3]float32
	segs []seg
}

type seg struct{ ax, ay, bx, by float32 }

func (r *renderer) uni(lo, hi float32) float32 { return lo + (hi-lo)*r.rng.Float32() }

// logUni is log-uniform in [lo,hi].
func (r *renderer) logUni(lo, hi float32) float32 {
	return lo * float32(math.Exp(float64(r.rng.Float32())*math.Log(float64(hi/lo))))
}

func (r *renderer) chance(p float32) bool { return r.rng.Float32() < p }

func (r *renderer) render(stream, i uint64, size int, dst []float32) {
	r.pcg.Seed(stream, mix64(i))
	r.n = size * ss
	r.S = float32(size)
	nn := r.n * r.n
	if cap(r.img) < 3*nn {
		r.img = make([]float32, 3*nn)
		r.mask = make([]float32, nn)
		r.tmp = make([]float32, nn)
	}
	r.img, r.mask, r.tmp = r.img[:3*nn], r.mask[:nn], r.tmp[:nn]
	r.palette()

	// Background.
	bg := r.randPaint(true)
	r.fill(&bg)
	if r.chance(0.35) { // out-of-focus background
		r.blur(1 + r.rng.IntN(3))
	}
	// 2-5 foreground elements, later ones occlude earlier ones.
	k := 2 + r.rng.IntN(4)
	for e := 0; e < k; e++ {
		r.element()
	}
	if r.chance(0.4) {
		r.blur(1)
	}
	r.finish(size, dst)
}

// palette picks 5 related colours: a base hue with analogous,
// complementary and neutral companions, saturation mostly moderate.
func (r *renderer) palette() {
	r.pal = r.pal[:0]
	h0 := r.rng.Float32()
	scheme := r.rng.IntN(4)
	for j := 0; j < 5; j++ {
		h := h0
		switch scheme {
		case 0: // analogous
			h += r.uni(-0.08, 0.08)
		case 1: // complementary
			if j%2 == 1 {
				h += 0.5
			}
			h += r.uni(-0.04, 0.04)
		case 2: // triad
			h += float32(j%3)/3 + r.uni(-0.03, 0.03)
		default: // anything
			h = r.rng.Float32()
		}
		s := r.rng.Float32()
		s = s * s * 0.9
		if r.chance(0.2) {
			s = r.uni(0.6, 1)
		}
		v := r.uni(0.08, 1)
		r.pal = append(r.pal, hsv(h, s, v))
	}
}

func (r *renderer) color() [3]float32 {
	c := r.pal[r.rng.IntN(len(r.pal))]
	if r.chance(0.1) { // near black / white accents
		g := float32(0.03)
		if r.chance(0.5) {
			g = r.uni(0.85, 0.98)
		}
		c = [3]float32{g, g, g}
	}
	return c
}

func hsv(h, s, v float32) [3]float32 {
	h -= float32(math.Floor(float64(h)))
	h *= 6
	i := int(h)
	f := h - float32(i)
	p, q, t := v*(1-s), v*(1-s*f), v*(1-s*(1-f))
	switch i {
	case 0:
		return [3]float32{v, t, p}
	case 1:
		return [3]float32{q, v, p}
	case 2:
		return [3]float32{p, v, t}
	case 3:
		return [3]float32{p, q, v}
	case 4:
		return [3]float32{t, p, v}
	}
	return [3]float32{v, p, q}
}

// Paints.

const (
	paintSolid = iota
	paintLinear
	paintRadial
	paintGrating
	paintNoise
)

type paint struct {
	kind       int
	c0, c1, c2 [3]float32
	ox, oy     float32 // origin
	dx, dy     float32 // direction scaled by 1/length (linear) or frequency (grating)
	inv        float32 // 1/radius (radial)
	phase      float32 // grating phase (cycles)
	sharp      float32 // grating sharpness (1 = sine)
	contrast   float32
	noise      fbm
}

func (r *renderer) randPaint(background bool) paint {
	p := paint{c0: r.color(), c1: r.color(), c2: r.color()}
	x := r.rng.Float32()
	switch {
	case x < 0.4:
		p.kind = paintLinear
		if !background && x < 0.22 {
			p.kind = paintSolid
		}
	case x < 0.55:
		p.kind = paintRadial
	case x < 0.72:
		p.kind = paintGrating
	case x < 0.95:
		p.kind = paintNoise
	default:
		p.kind = paintSolid
	}
	S := r.S
	switch p.kind {
	case paintLinear:
		a := r.uni(0, 2*math.Pi)
		l := r.uni(0.3, 1.5) * S
		p.ox, p.oy = r.uni(0, S), r.uni(0, S)
		p.ox -= float32(math.Cos(float64(a))) * l / 2
		p.oy -= float32(math.Sin(float64(a))) * l / 2
		p.dx, p.dy = float32(math.Cos(float64(a)))/l, float32(math.Sin(float64(a)))/l
	case paintRadial:
		p.ox, p.oy = r.uni(-0.2, 1.2)*S, r.uni(-0.2, 1.2)*S
		p.inv = 1 / (r.uni(0.2, 1.2) * S)
	case paintGrating:
		a := r.uni(0, math.Pi)
		// Cycles per output pixel, log-uniform up to just below Nyquist.
		f := r.logUni(0.03, 0.48)
		p.dx, p.dy = f*float32(math.Cos(float64(a))), f*float32(math.Sin(float64(a)))
		p.phase = r.rng.Float32()
		p.sharp = 1
		if r.chance(0.5) {
			p.sharp = r.logUni(1, 10) // stripes: clipped sine
		}
		if r.chance(0.3) { // low-contrast grating
			p.c1 = mix3(p.c0, p.c1, r.uni(0.2, 0.6))
		}
	case paintNoise:
		r.initFBM(&p.noise)
		p.contrast = r.logUni(1, 4)
	}
	return p
}

func mix3(a, b [3]float32, t float32) [3]float32 {
	return [3]float32{a[0] + (b[0]-a[0])*t, a[1] + (b[1]-a[1])*t, a[2] + (b[2]-a[2])*t}
}

func clamp01(t float32) float32 {
	if t < 0 {
		return 0
	}
	if t > 1 {
		return 1
	}
	return t
}

// at returns the paint colour at (x,y) in output-pixel coordinates.
func (p *paint) at(x, y float32) [3]float32 {
	var t float32
	switch p.kind {
	case paintSolid:
		return p.c0
	case paintLinear:
		t = clamp01((x-p.ox)*p.dx + (y-p.oy)*p.dy)
		t = t * t * (3 - 2*t)
	case paintRadial:
		dx, dy := x-p.ox, y-p.oy
		t = clamp01(float32(math.Sqrt(float64(dx*dx+dy*dy))) * p.inv)
	case paintGrating:
		s := sinCycles(x*p.dx + y*p.dy + p.phase)
		t = clamp01(0.5 + 0.5*s*p.sharp)
	case paintNoise:
		t = clamp01((p.noise.at(x, y)-0.5)*p.contrast + 0.5)
		if t < 0.5 {
			return mix3(p.c0, p.c1, 2*t)
		}
		return mix3(p.c1, p.c2, 2*t-1)
	}
	return mix3(p.c0, p.c1, t)
}

// sinLUT holds sin(2πk/len) for fast gratings.
var sinLUT = func() []float32 {
	t := make([]float32, 1025)
	for k := range t {
		t[k] = float32(math.Sin(2 * math.Pi * float64(k) / 1024))
	}
	return t
}()

// sinCycles returns sin(2πc), linearly interpolated from sinLUT.
func sinCycles(c float32) float32 {
	c -= float32(math.Floor(float64(c)))
	u := c * 1024
	k := int(u)
	if k >= 1024 {
		k = 1023
	}
	f := u - float32(k)
	return sinLUT[k] + (sinLUT[k+1]-sinLUT[k])*f
}

// fbm is fractal value noise: a sum of octaves of smoothly interpolated
// random lattices.
type fbm struct {
	oct   [5]lattice
	n     int
	norm  float32
	ridge bool
}

type lattice struct {
	side   int
	scale  float32 // lattice cells per output pixel
	ox, oy float32
	amp    float32
	vals   []float32
}

func (r *renderer) initFBM(f *fbm) {
	f.n = 2 + r.rng.IntN(4)
	scale := r.logUni(1.5, 8) / r.S // coarsest: 1.5-8 cells across the image
	gain := r.uni(0.35, 0.7)
	f.ridge = r.chance(0.25)
	amp := float32(1)
	f.norm = 0
	for o := 0; o < f.n; o++ {
		if scale > 1.2 { // finer than the pixel grid: stop
			f.n = o
			break
		}
		l := &f.oct[o]
		l.scale = scale
		l.side = int(r.S*scale) + 3
		l.ox, l.oy = r.rng.Float32(), r.rng.Float32()
		l.amp = amp
		if cap(l.vals) < l.side*l.side {
			l.vals = make([]float32, l.side*l.side)
		}
		l.vals = l.vals[:l.side*l.side]
		for k := range l.vals {
			l.vals[k] = r.rng.Float32()
		}
		f.norm += amp
		amp *= gain
		scale *= r.uni(1.8, 2.2)
	}
	f.norm = 1 / f.norm
}

func (f *fbm) at(x, y float32) float32 {
	var v float32
	for o := 0; o < f.n; o++ {
		l := &f.oct[o]
		u, w := x*l.scale+l.ox, y*l.scale+l.oy
		if u < 0 {
			u = 0
		}
		if w < 0 {
			w = 0
		}
		iu, iw := int(u), int(w)
		if iu > l.side-2 {
			iu = l.side - 2
		}
		if iw > l.side-2 {
			iw = l.side - 2
		}
		fu, fw := u-float32(iu), w-float32(iw)
		fu = fu * fu * (3 - 2*fu)
		fw = fw * fw * (3 - 2*fw)
		row := l.vals[iw*l.side+iu:]
		a := row[0] + (row[1]-row[0])*fu
		b := row[l.side] + (row[l.side+1]-row[l.side])*fu
		v += l.amp * (a + (b-a)*fw)
	}
	v *= f.norm
	if f.ridge {
		v = 1 - 2*float32(math.Abs(float64(v-0.5)))
	}
	return v
}

// fill paints the whole canvas.
func (r *renderer) fill(p *paint) {
	n := r.n
	nn := n * n
	inv := 1 / float32(ss)
	for py := 0; py < n; py++ {
		y := (float32(py) + 0.5) * inv
		for px := 0; px < n; px++ {
			c := p.at((float32(px)+0.5)*inv, y)
			k := py*n + px
			r.img[k], r.img[nn+k], r.img[2*nn+k] = c[0], c[1], c[2]
		}
	}
}

// Elements.

// box is a canvas-pixel rectangle [x0,x1) x [y0,y1).
type box struct{ x0, y0, x1, y1 int }

// bbox converts an output-pixel bounding box to clamped canvas pixels.
func (r *renderer) bbox(minX, minY, maxX, maxY float32) box {
	c := func(v float32) int {
		k := int(math.Floor(float64(v * ss)))
		return max(0, min(r.n, k))
	}
	return box{c(minX - 1), c(minY - 1), c(maxX+1) + 1, c(maxY+1) + 1}.clip(r.n)
}

func (b box) clip(n int) box {
	b.x0, b.y0 = max(0, b.x0), max(0, b.y0)
	b.x1, b.y1 = min(n, b.x1), min(n, b.y1)
	return b
}

func (b box) union(o box) box {
	return box{min(b.x0, o.x0), min(b.y0, o.y0), max(b.x1, o.x1), max(b.y1, o.y1)}
}

// coverage converts a signed distance in output pixels (negative
// inside) to coverage with a one-canvas-pixel anti-aliasing ramp.
func coverage(d float32) float32 { return clamp01(0.5 - d*ss) }

func (r *renderer) clearMask(b box) {
	for y := b.y0; y < b.y1; y++ {
		clear(r.mask[y*r.n+b.x0 : y*r.n+b.x1])
	}
}

// composite blends paint p through the mask inside b with opacity op.
func (r *renderer) composite(b box, p *paint, op float32) {
	n := r.n
	nn := n * n
	inv := 1 / float32(ss)
	for py := b.y0; py < b.y1; py++ {
		y := (float32(py) + 0.5) * inv
		for px := b.x0; px < b.x1; px++ {
			k := py*n + px
			m := r.mask[k] * op
			if m <= 0 {
				continue
			}
			c := p.at((float32(px)+0.5)*inv, y)
			r.img[k] += (c[0] - r.img[k]) * m
			r.img[nn+k] += (c[1] - r.img[nn+k]) * m
			r.img[2*nn+k] += (c[2] - r.img[2*nn+k]) * m
		}
	}
}

// shape is a signed distance function in output pixels.
type shape interface {
	dist(x, y float32) float32
	bounds() (minX, minY, maxX, maxY float32)
}

type ellipse struct{ cx, cy, rx, ry, cos, sin float32 }

func (e *ellipse) dist(x, y float32) float32 {
	dx, dy := x-e.cx, y-e.cy
	u, v := (dx*e.cos+dy*e.sin)/e.rx, (-dx*e.sin+dy*e.cos)/e.ry
	k := float32(math.Sqrt(float64(u*u + v*v)))
	return (k - 1) * min(e.rx, e.ry)
}

func (e *ellipse) bounds() (float32, float32, float32, float32) {
	m := max(e.rx, e.ry)
	return e.cx - m, e.cy - m, e.cx + m, e.cy + m
}

type rect struct{ cx, cy, hw, hh, round, cos, sin float32 }

func (b *rect) dist(x, y float32) float32 {
	dx, dy := x-b.cx, y-b.cy
	u := float32(math.Abs(float64(dx*b.cos+dy*b.sin))) - b.hw + b.round
	v := float32(math.Abs(float64(-dx*b.sin+dy*b.cos))) - b.hh + b.round
	out := float32(math.Sqrt(float64(max(u, 0)*max(u, 0) + max(v, 0)*max(v, 0))))
	return out + min(max(u, v), 0) - b.round
}

func (b *rect) bounds() (float32, float32, float32, float32) {
	m := float32(math.Sqrt(float64(b.hw*b.hw + b.hh*b.hh)))
	return b.cx - m, b.cy - m, b.cx + m, b.cy + m
}

// poly is a convex polygon given by its edges' half-planes
// (nx*x + ny*y <= c with unit normals).
type poly struct {
	nx, ny, c              [6]float32
	k                      int
	minX, minY, maxX, maxY float32
}

func (p *poly) dist(x, y float32) float32 {
	d := float32(-1e9)
	for j := 0; j < p.k; j++ {
		d = max(d, p.nx[j]*x+p.ny[j]*y-p.c[j])
	}
	return d
}

func (p *poly) bounds() (float32, float32, float32, float32) {
	return p.minX, p.minY, p.maxX, p.maxY
}

type capsule struct{ s seg }

func (c *capsule) dist(x, y float32) float32 { return segDist(c.s, x, y) }

func (c *capsule) bounds() (float32, float32, float32, float32) {
	return min(c.s.ax, c.s.bx), min(c.s.ay, c.s.by), max(c.s.ax, c.s.bx), max(c.s.ay, c.s.by)
}

func segDist(s seg, x, y float32) float32 {
	bx, by := s.bx-s.ax, s.by-s.ay
	px, py := x-s.ax, y-s.ay
	l2 := bx*bx + by*by
	t := float32(0)
	if l2 > 0 {
		t = clamp01((px*bx + py*by) / l2)
	}
	dx, dy := px-bx*t, py-by*t
	return float32(math.Sqrt(float64(dx*dx + dy*dy)))
}

// drawShape renders sh (filled, or outlined with width ow if ow > 0)
// into the mask as a union, returning the touched box.
func (r *renderer) drawShape(sh shape, ow, grow float32) box {
	x0, y0, x1, y1 := sh.bounds()
	b := r.bbox(x0-ow-grow, y0-ow-grow, x1+ow+grow, y1+ow+grow)
	n := r.n
	inv := 1 / float32(ss)
	for py := b.y0; py < b.y1; py++ {
		y := (float32(py) + 0.5) * inv
		for px := b.x0; px < b.x1; px++ {
			d := sh.dist((float32(px)+0.5)*inv, y) - grow
			if ow > 0 {
				d = float32(math.Abs(float64(d))) - ow/2
			}
			if c := coverage(d); c > r.mask[py*n+px] {
				r.mask[py*n+px] = c
			}
		}
	}
	return b
}

func (r *renderer) element() {
	S := r.S
	full := box{0, 0, r.n, r.n}
	r.clearMask(full)
	var b box
	op := float32(1)
	if r.chance(0.15) {
		op = r.uni(0.35, 0.85)
	}
	p := r.randPaint(false)
	outline := float32(0)
	x := r.rng.Float32()
	switch {
	case x < 0.55: // filled or outlined shape
		if r.chance(0.25) {
			outline = r.logUni(0.4, 3)
		}
		cx, cy := r.uni(-0.1, 1.1)*S, r.uni(-0.1, 1.1)*S
		size := r.logUni(0.06, 0.6) * S
		a := r.uni(0, 2*math.Pi)
		cos, sin := float32(math.Cos(float64(a))), float32(math.Sin(float64(a)))
		var sh shape
		switch r.rng.IntN(3) {
		case 0:
			sh = &ellipse{cx, cy, size, size * r.uni(0.3, 1), cos, sin}
		case 1:
			hw, hh := size, size*r.uni(0.2, 1)
			round := float32(0)
			if r.chance(0.3) {
				round = min(hw, hh) * r.uni(0, 0.5)
			}
			sh = &rect{cx, cy, hw, hh, round, cos, sin}
		default:
			sh = r.randPoly(cx, cy, size, a)
		}
		b = r.drawShape(sh, outline, 0)
	case x < 0.7: // lines at arbitrary angles
		w := r.logUni(0.3, 2.5)
		k := 1 + r.rng.IntN(3)
		a0 := r.uni(0, 2*math.Pi)
		b = box{r.n, r.n, 0, 0}
		for j := 0; j < k; j++ {
			a := a0 + r.uni(-0.3, 0.3)
			if r.chance(0.3) {
				a = r.uni(0, 2*math.Pi)
			}
			cx, cy := r.uni(0, 1)*S, r.uni(0, 1)*S
			l := r.uni(0.2, 1.2) * S
			dx, dy := float32(math.Cos(float64(a)))*l/2, float32(math.Sin(float64(a)))*l/2
			c := capsule{seg{cx - dx, cy - dy, cx + dx, cy + dy}}
			b = b.union(r.drawShape(&c, 0, w/2))
		}
		if p.kind == paintNoise || p.kind == paintGrating {
			p.kind = paintSolid
		}
	case x < 0.87: // text
		b = r.text()
		if p.kind == paintNoise || p.kind == paintGrating {
			p.kind = paintSolid
		}
		// Text contrasts with what is under it.
		p.c0 = r.contrastColor(b)
		p.c1 = mix3(p.c0, p.c1, 0.25)
	default: // large textured region (half-plane or big blob)
		a := r.uni(0, 2*math.Pi)
		cos, sin := float32(math.Cos(float64(a))), float32(math.Sin(float64(a)))
		cx, cy := r.uni(0.2, 0.8)*S, r.uni(0.2, 0.8)*S
		if p.kind == paintSolid || p.kind == paintLinear {
			p.kind = paintGrating
			p = r.fixGrating(p)
		}
		sh := &rect{cx + cos*S, cy + sin*S, S, S * 2, 0, cos, sin}
		b = r.drawShape(sh, 0, 0)
	}
	r.composite(b.clip(r.n), &p, op)
}

func (r *renderer) fixGrating(p paint) paint {
	a := r.uni(0, math.Pi)
	f := r.logUni(0.03, 0.48)
	p.dx, p.dy = f*float32(math.Cos(float64(a))), f*float32(math.Sin(float64(a)))
	p.phase = r.rng.Float32()
	p.sharp = r.logUni(1, 10)
	return p
}

// contrastColor returns the palette colour (or black/white) whose
// luminance differs most from the canvas mean inside b.
func (r *renderer) contrastColor(b box) [3]float32 {
	b = b.clip(r.n)
	nn := r.n * r.n
	var sum float32
	cnt := 0
	for y := b.y0; y < b.y1; y += 2 {
		for x := b.x0; x < b.x1; x += 2 {
			k := y*r.n + x
			sum += 0.3*r.img[k] + 0.59*r.img[nn+k] + 0.11*r.img[2*nn+k]
			cnt++
		}
	}
	mean := float32(0.5)
	if cnt > 0 {
		mean = sum / float32(cnt)
	}
	best, bestD := [3]float32{0, 0, 0}, float32(-1)
	if mean < 0.5 {
		best = [3]float32{1, 1, 1}
	}
	bestD = 0.35
	for _, c := range r.pal {
		l := 0.3*c[0] + 0.59*c[1] + 0.11*c[2]
		if d := float32(math.Abs(float64(l - mean))); d > bestD {
			best, bestD = c, d
		}
	}
	if bestD == 0.35 && r.chance(0.5) {
		best = mix3(best, r.pal[0], 0.3)
	}
	return best
}

func (r *renderer) randPoly(cx, cy, size, a float32) *poly {
	p := &poly{k: 3 + r.rng.IntN(4)}
	if r.chance(0.4) {
		p.k = 3
	}
	var xs, ys [6]float32
	p.minX, p.minY, p.maxX, p.maxY = 1e9, 1e9, -1e9, -1e9
	// Vertices at increasing angles keep the polygon convex.
	step := 2 * math.Pi / float32(p.k)
	for j := 0; j < p.k; j++ {
		t := a + step*float32(j) + r.uni(-0.35, 0.35)*step
		rad := size * r.uni(0.6, 1.1)
		xs[j] = cx + rad*float32(math.Cos(float64(t)))
		ys[j] = cy + rad*float32(math.Sin(float64(t)))
		p.minX, p.minY = min(p.minX, xs[j]), min(p.minY, ys[j])
		p.maxX, p.maxY = max(p.maxX, xs[j]), max(p.maxY, ys[j])
	}
	for j := 0; j < p.k; j++ {
		x0, y0, x1, y1 := xs[j], ys[j], xs[(j+1)%p.k], ys[(j+1)%p.k]
		ex, ey := x1-x0, y1-y0
		l := float32(math.Sqrt(float64(ex*ex + ey*ey)))
		if l == 0 {
			l = 1
		}
		// Outward normal of a counter-clockwise (in y-down: clockwise
		// on screen) polygon.
		nx, ny := ey/l, -ex/l
		p.nx[j], p.ny[j], p.c[j] = nx, ny, nx*x0+ny*y0
	}
	return p
}

// Text.

// strokeFont holds capital-letter and digit glyphs as polylines on a
// 5x7 grid (x 0-4, y 0-6): points are two digits, polylines are
// separated by '|'.
var strokeFont = func() [][][][2]float32 {
	src := []string{
		"06 20 46|14 34", "06 00 30 41 42 33 03|33 44 45 36 06", "41 30 10 01 05 16 36 45",
		"00 06 26 45 41 20 00", "40 00 06 46|03 33", "40 00 06|03 33", "41 30 10 01 05 16 36 45 43 23",
		"00 06|40 46|03 43", "10 30|20 26|16 36", "30 35 26 16 05", "00 06|40 03 46", "00 06 46",
		"06 00 23 40 46", "06 00 46 40", "10 30 41 45 36 16 05 01 10", "06 00 30 41 42 33 03",
		"10 30 41 45 36 16 05 01 10|34 46", "06 00 30 41 42 33 03|23 46", "41 30 10 01 02 13 33 44 45 36 16 05",
		"00 40|20 26", "00 05 16 36 45 40", "00 26 40", "00 16 23 36 40", "00 46|40 06", "00 23 40|23 26",
		"00 40 06 46", "11 20 26|16 36", "01 10 30 41 42 06 46", "00 40 23 33 44 45 36 16 05",
		"30 04 44|32 36", "40 00 02 32 43 45 36 06", "41 30 10 01 05 16 36 45 44 33 03", "00 40 16",
		"13 10 30 41 42 33 13 04 05 16 36 45 44 33",
	}
	font := make([][][][2]float32, len(src))
	for g, s := range src {
		for _, pl := range strings.Split(s, "|") {
			var line [][2]float32
			for _, pt := range strings.Fields(pl) {
				line = append(line, [2]float32{float32(pt[0] - '0'), float32(pt[1] - '0')})
			}
			font[g] = append(font[g], line)
		}
	}
	return font
}()

// text renders one or two lines of stroke-font glyphs into the mask.
func (r *renderer) text() box {
	S := r.S
	h := r.logUni(0.12, 0.5) * S // glyph height
	w := h * r.uni(0.09, 0.2)    // stroke width
	lines := 1
	if h < 0.3*S && r.chance(0.4) {
		lines = 2
	}
	a := float32(0)
	if r.chance(0.5) {
		a = r.uni(-0.35, 0.35)
	}
	if r.chance(0.1) {
		a = r.uni(0, 2*math.Pi)
	}
	cos, sin := float32(math.Cos(float64(a))), float32(math.Sin(float64(a)))
	slant := float32(0)
	if r.chance(0.3) {
		slant = r.uni(-0.25, 0.1)
	}
	unit := h / 6
	adv := unit * r.uni(5.2, 6.5)
	ox, oy := r.uni(-0.2, 0.6)*S, r.uni(0, 0.8)*S
	b := box{r.n, r.n, 0, 0}
	for ln := 0; ln < lines; ln++ {
		nch := 1 + r.rng.IntN(7)
		for c := 0; c < nch; c++ {
			g := strokeFont[r.rng.IntN(len(strokeFont))]
			lx := float32(c) * adv
			ly := float32(ln) * h * 1.4
			r.segs = r.segs[:0]
			for _, pl := range g {
				for j := 0; j+1 < len(pl); j++ {
					var s seg
					for e, pt := range [2][2]float32{pl[j], pl[j+1]} {
						u := lx + (pt[0]+slant*(6-pt[1]))*unit
						v := ly + pt[1]*unit
						x, y := ox+u*cos-v*sin, oy+u*sin+v*cos
						if e == 0 {
							s.ax, s.ay = x, y
						} else {
							s.bx, s.by = x, y
						}
					}
					r.segs = append(r.segs, s)
				}
			}
			b = b.union(r.drawSegs(w / 2))
		}
	}
	return b
}

// drawSegs renders the union of r.segs thickened by half-width hw.
func (r *renderer) drawSegs(hw float32) box {
	minX, minY, maxX, maxY := float32(1e9), float32(1e9), float32(-1e9), float32(-1e9)
	for _, s := range r.segs {
		minX, maxX = min(minX, s.ax, s.bx), max(maxX, s.ax, s.bx)
		minY, maxY = min(minY, s.ay, s.by), max(maxY, s.ay, s.by)
	}
	b := r.bbox(minX-hw, minY-hw, maxX+hw, maxY+hw)
	n := r.n
	inv := 1 / float32(ss)
	for py := b.y0; py < b.y1; py++ {
		y := (float32(py) + 0.5) * inv
		for px := b.x0; px < b.x1; px++ {
			x := (float32(px) + 0.5) * inv
			d := float32(1e9)
			for _, s := range r.segs {
				d = min(d, segDist(s, x, y))
			}
			if c := coverage(d - hw); c > r.mask[py*n+px] {
				r.mask[py*n+px] = c
			}
		}
	}
	return b
}

// Post-processing.

// blur applies `passes` separable [1 2 1]/4 filters (clamped edges).
func (r *renderer) blur(passes int) {
	n := r.n
	for c := 0; c < 3; c++ {
		pl := r.img[c*n*n : (c+1)*n*n]
		for p := 0; p < passes; p++ {
			for y := 0; y < n; y++ {
				row, out := pl[y*n:y*n+n], r.tmp[y*n:y*n+n]
				out[0] = 0.75*row[0] + 0.25*row[1]
				for x := 1; x < n-1; x++ {
					out[x] = 0.25*row[x-1] + 0.5*row[x] + 0.25*row[x+1]
				}
				out[n-1] = 0.25*row[n-2] + 0.75*row[n-1]
			}
			for y := 0; y < n; y++ {
				ym, yp := max(y-1, 0), min(y+1, n-1)
				a, b, cc, out := r.tmp[ym*n:ym*n+n], r.tmp[y*n:y*n+n], r.tmp[yp*n:yp*n+n], pl[y*n:y*n+n]
				for x := range out {
					out[x] = 0.25*a[x] + 0.5*b[x] + 0.25*cc[x]
				}
			}
		}
	}
}

// finish box-filters the canvas down to size x size, applies an
// optional lighting gradient and sensor noise, and writes dst.
func (r *renderer) finish(size int, dst []float32) {
	n := r.n
	light := r.chance(0.3)
	var lx, ly, l0 float32
	if light {
		a := r.uni(0, 2*math.Pi)
		g := r.uni(0.2, 0.6) / float32(size)
		lx, ly = g*float32(math.Cos(float64(a))), g*float32(math.Sin(float64(a)))
		l0 = 1 - (lx+ly)*float32(size)/2
	}
	sigma := float32(0)
	if r.chance(0.6) {
		sigma = r.logUni(0.002, 0.02)
	}
	gray := r.chance(0.5)
	const w = 1.0 / (ss * ss)
	plane := size * size
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			m := float32(1)
			if light {
				m = l0 + lx*float32(x) + ly*float32(y)
			}
			var nz float32
			if sigma > 0 && gray {
				nz = sigma * float32(r.rng.NormFloat64())
			}
			for c := 0; c < 3; c++ {
				pl := r.img[c*n*n:]
				var s float32
				for dy := 0; dy < ss; dy++ {
					row := pl[(y*ss+dy)*n+x*ss:]
					for dx := 0; dx < ss; dx++ {
						s += row[dx]
					}
				}
				v := s * w * m
				if sigma > 0 {
					if gray {
						v += nz
					} else {
						v += sigma * float32(r.rng.NormFloat64())
					}
				}
				dst[c*plane+y*size+x] = clamp01(v)
			}
		}
	}
}
