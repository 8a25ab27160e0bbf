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

// Validate reports whether the options are usable: sizes must not be
// negative and Size must be even (0 selects the defaults).
func (o BuiltinOptions) Validate() error {
	if o.TrainSize < 0 || o.TestSize < 0 || o.Size < 0 || o.Size%2 != 0 {
		return fmt.Errorf("builtin dataset: invalid options (train %d, test %d, size %d): sizes must be >= 0 and the image size even",
			o.TrainSize, o.TestSize, o.Size)
	}
	return nil
}

// Builtin returns a procedural dataset that needs no files. Image i of a
// split depends only on Seed, Size, the split and i, and is rendered on
// demand in Read (about 0.1 ms of CPU per 32x32 image: 50000 images take
// about 2.5 s on 2 cores). Train and test use different random streams.
//
// The images are made to have the statistics of natural photographs, so
// that a model trained on them works on real pictures (issue 13; see
// docs/builtin-data.md for the measurements): amplitude spectra falling
// as 1/f, mostly smooth content with sparse edges, edges blurred by
// defocus, textures at many scales, natural colour distributions (vivid
// and muted scenes, low and high key) and mild noise. Each image is one
// of four scene families:
//
//   - smooth (50%): shading gradients or a steep-spectrum random field
//     under a few strongly defocused blobs, sometimes one soft or sharp
//     edge. Most of a photograph is like this (sky, walls, skin, bokeh);
//     it teaches a model to reproduce smooth content and colour exactly.
//   - dead leaves (25%): occluding ellipses, rectangles and polygons with
//     power-law sizes (density r^-3, the scale-invariant law behind 1/f
//     spectra), each blurred by its distance from a random focal depth
//     and painted with smooth shading, a 1/f texture, fBm or a faint
//     grating. It teaches occlusion edges at all scales and sharpness.
//   - texture (12%): one or two 1/f Gaussian fields (made by inverse FFT)
//     of random roughness and orientation, with fBm or a faint grating
//     on top: foliage, gravel, grain, fabric.
//   - graphic (13%): a colour gradient, fBm texture or grating background
//     under 2-5 occluding filled or outlined shapes, lines, text (glyphs of
//     a small stroke font) and striped regions, some out of focus: man-made
//     content with hard edges and frequencies up to just below Nyquist.
//
// The non-smooth families have their contrast scaled by a random factor
// in [0.4, 1] around the mean colour. Finally an optional mild blur,
// over-exposure (highlights clip), lighting gradient and Gaussian sensor
// noise are applied.
//
// Anti-aliasing is by supersampling where it matters: the coverage of
// every shape is the mean of 2x2 samples per pixel (box filter), stripes
// are box-filtered over 4x4 samples of the pixel footprint, and pure
// sinusoids exactly (sinc attenuation); smooth paints (gradients, noise,
// random fields) are evaluated at the pixel centre (fBm as the mean of
// the pixel's corners), where supersampling would change nothing visible.
//
// Rendering is deterministic for a given platform; on architectures
// where Go fuses multiply-adds (arm64, ...) pixel values may differ from
// amd64 in the last bits. Builtin panics if opt.Validate fails.
func Builtin(opt BuiltinOptions) *Dataset {
	if err := opt.Validate(); err != nil {
		panic("data.Builtin: " + err.Error())
	}
	if opt.TrainSize == 0 {
		opt.TrainSize = 50000
	}
	if opt.TestSize == 0 {
		opt.TestSize = 10000
	}
	if opt.Size == 0 {
		opt.Size = 32
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
	pcg     rand.PCG
	rng     *rand.Rand
	n       int       // image side
	S       float32   // image side as float32
	img     []float32 // canvas: 3 planes of n*n
	mask    []float32 // n*n coverage of the current element (0-1)
	field   []float32 // (size+1)^2 noise values at output-pixel corners
	tmp     []float32 // size*size scratch for the final blur
	trow    []float32 // one row of paint parameters
	trow2   []float32 // ... of the second and third channels of chromatic paints
	trow3   []float32
	noise   fbm
	stripes [stripeRawSize + 1 + stripeTableSize + 1]float32
	pal     [][3]float32
	segs    []seg

	plan          *fftPlan
	spec          []complex64
	fields        [2]spectralField
	meanColor     [3]float32 // mean of the palette
	sceneContrast float32    // how far colours are from meanColor (0-1)
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
	r.n = size
	r.S = float32(size)
	nn := r.n * r.n
	if cap(r.img) < 3*nn {
		r.img = make([]float32, 3*nn)
		r.mask = make([]float32, nn)
		r.field = make([]float32, (size+1)*(size+1))
		r.tmp = make([]float32, size*size)
		r.trow = make([]float32, size)
		r.trow2, r.trow3 = make([]float32, size), make([]float32, size)
	}
	r.img, r.mask = r.img[:3*nn], r.mask[:nn]
	r.field, r.tmp, r.trow = r.field[:(size+1)*(size+1)], r.tmp[:size*size], r.trow[:size]
	r.trow2, r.trow3 = r.trow2[:size], r.trow3[:size]
	r.palette()
	fam := 0
	for x := r.rng.Float32(); x >= familyCDF[fam]; fam++ {
	}
	switch fam {
	case famSmooth:
		r.smoothScene()
	case famLeaves:
		r.leavesScene()
	case famTexture:
		r.textureScene()
	default:
		r.graphicScene()
	}
	if fam != famSmooth {
		r.scaleContrast(r.logUni(0.4, 1))
	}
	r.finish(size, dst)
}

// graphicScene draws the graphic family: a background and 2-5 occluding
// elements (shapes, lines, text, textured regions), later ones on top;
// the first ones may be out of focus (soft edges).
func (r *renderer) graphicScene() {
	bg := r.randPaint(true)
	r.paintBox(&bg, box{0, 0, r.n, r.n}, nil, 1)
	k := 2 + r.rng.IntN(4)
	defocus := 0
	if r.chance(0.3) {
		defocus = 1 + r.rng.IntN(k-1)
	}
	for e := 0; e < k; e++ {
		ramp := float32(1) / ss // sharp: one canvas pixel
		if e < defocus {
			ramp = r.logUni(1, 3)
		}
		r.element(ramp)
	}
}

// palette picks 5 related colours: a base hue with analogous,
// complementary and neutral companions. Scenes are vivid (most colours
// of high saturation, many fully saturated, as flowers, foliage, sky and
// paint are in photographs) or muted, and lit normally, dark (low key)
// or bright (high key).
func (r *renderer) palette() {
	r.pal = r.pal[:0]
	h0 := r.rng.Float32()
	scheme := r.rng.IntN(4)
	vivid := r.chance(0.55)
	lo, hi := float32(0.05), float32(1)
	switch x := r.rng.Float32(); {
	case x < 0.2: // low key
		hi = r.uni(0.25, 0.6)
	case x < 0.35: // high key
		lo = r.uni(0.4, 0.7)
	}
	rgb := r.chance(0.2) // colours drawn anywhere in the RGB cube
	for j := 0; j < 5; j++ {
		if rgb {
			r.pal = append(r.pal, [3]float32{r.uni(lo, hi), r.uni(lo, hi), r.uni(lo, hi)})
			continue
		}
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
		if vivid && r.chance(0.85) {
			s = r.uni(0.55, 1)
			if r.chance(0.5) {
				s = 1 // a channel at zero, as in saturated petals or sky
			}
		}
		r.pal = append(r.pal, hsv(h, s, r.uni(lo, hi)))
	}
	var m [3]float32
	for _, c := range r.pal {
		m[0], m[1], m[2] = m[0]+c[0]/5, m[1]+c[1]/5, m[2]+c[2]/5
	}
	r.meanColor = m
	r.sceneContrast = r.uni(0.5, 1)
	if vivid {
		r.sceneContrast = r.uni(0.8, 1)
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
	paintSpectral
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
	noise      *fbm // the renderer's (one noise paint is live at a time)
	field      *spectralField
	fx, fy     int  // offset into field
	chroma     bool // green and blue read field at their own offsets
	fx2, fy2   int
	fx3, fy3   int
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
		p.noise = &r.noise
		r.initFBM(p.noise)
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

// paintBox paints p over the canvas inside the box b (pixel
// coordinates; pixel (x,y) covers [x,x+1)x[y,y+1)), blending it with
// weight op times the mask, or replacing the canvas if mask is nil.
// Smooth paints are evaluated at pixel centres; gratings are box-filtered
// (analytically for sinusoids, by ss x ss supersampling for clipped
// stripes); noise is the mean of its values at the pixel corners.
func (r *renderer) paintBox(p *paint, b box, mask []float32, op float32) {
	n, nn := r.n, r.n*r.n
	if p.kind == paintNoise {
		p.noise.grid(b.x0, b.y0, b.x1, b.y1, r.field, n+1, p.contrast)
	}
	var tab []float32
	if p.kind == paintGrating && p.sharp != 1 {
		tab = r.stripeTable(p)
	}
	t := r.trow[:b.x1-b.x0]
	t2, t3 := r.trow2[:len(t)], r.trow3[:len(t)]
	for y := b.y0; y < b.y1; y++ {
		cy := float32(y) + 0.5
		switch p.kind {
		case paintSolid:
			clear(t)
		case paintLinear:
			t0 := (float32(b.x0)+0.5-p.ox)*p.dx + (cy-p.oy)*p.dy
			for j := range t {
				v := clamp01(t0 + float32(j)*p.dx)
				t[j] = v * v * (3 - 2*v)
			}
		case paintRadial:
			dy2 := (cy - p.oy) * (cy - p.oy)
			for j := range t {
				dx := float32(b.x0+j) + 0.5 - p.ox
				t[j] = clamp01(float32(math.Sqrt(float64(dx*dx+dy2))) * p.inv)
			}
		case paintGrating:
			if p.sharp == 1 {
				// The 1x1 box filter of a sinusoid is the sinusoid at
				// the pixel centre times sinc(fx)*sinc(fy).
				att := 0.5 * sinc(p.dx) * sinc(p.dy)
				t0 := (float32(b.x0)+0.5)*p.dx + cy*p.dy + p.phase
				for j := range t {
					t[j] = 0.5 + att*sinCycles(t0+float32(j)*p.dx)
				}
				break
			}
			// Clipped sines (stripes): every pixel's box filter is the
			// same 1D convolution of the waveform, tabulated once.
			t0 := (float32(b.x0)+0.5)*p.dx + cy*p.dy + p.phase
			for j := range t {
				t[j] = lookupCycles(tab, stripeTableSize, t0+float32(j)*p.dx)
			}
		case paintSpectral:
			f := p.field
			m := f.n - 1
			row := f.vals[((y+p.fy)&m)*f.n : ((y+p.fy)&m)*f.n+f.n]
			for j := range t {
				t[j] = clamp01(0.5 + p.contrast*row[(b.x0+j+p.fx)&m])
			}
			if p.chroma { // the other channels see the field elsewhere
				row2 := f.vals[((y+p.fy2)&m)*f.n : ((y+p.fy2)&m)*f.n+f.n]
				row3 := f.vals[((y+p.fy3)&m)*f.n : ((y+p.fy3)&m)*f.n+f.n]
				for j := range t {
					t2[j] = clamp01(0.5 + p.contrast*row2[(b.x0+j+p.fx2)&m])
					t3[j] = clamp01(0.5 + p.contrast*row3[(b.x0+j+p.fx3)&m])
				}
			}
		case paintNoise:
			fs := n + 1
			f0 := r.field[y*fs+b.x0 : y*fs+b.x0+len(t)+1]
			f1 := r.field[(y+1)*fs+b.x0 : (y+1)*fs+b.x0+len(t)+1]
			for j := range t {
				t[j] = 0.25 * (f0[j] + f0[j+1] + f1[j] + f1[j+1])
			}
		}
		row := y*n + b.x0
		R := r.img[row : row+len(t)]
		G := r.img[nn+row : nn+row+len(t)]
		B := r.img[2*nn+row : 2*nn+row+len(t)]
		var m []float32
		if mask != nil {
			m = mask[row : row+len(t)]
		}
		c0, c1, c2 := p.c0, p.c1, p.c2
		d0, d1, d2 := c1[0]-c0[0], c1[1]-c0[1], c1[2]-c0[2]
		noise := (p.kind == paintNoise || p.kind == paintSpectral) && !p.chroma
		chroma := p.chroma
		for j, v := range t {
			w := float32(1)
			if m != nil {
				w = m[j] * op
				if w <= 0 {
					continue
				}
			}
			var cr, cg, cb float32
			if noise { // 3-colour ramp
				if v < 0.5 {
					v *= 2
					cr, cg, cb = c0[0]+d0*v, c0[1]+d1*v, c0[2]+d2*v
				} else {
					v = 2*v - 1
					cr, cg, cb = c1[0]+(c2[0]-c1[0])*v, c1[1]+(c2[1]-c1[1])*v, c1[2]+(c2[2]-c1[2])*v
				}
			} else if chroma { // independent ramps per channel
				cr, cg, cb = c0[0]+d0*v, c0[1]+d1*t2[j], c0[2]+d2*t3[j]
			} else {
				cr, cg, cb = c0[0]+d0*v, c0[1]+d1*v, c0[2]+d2*v
			}
			if w >= 1 {
				R[j], G[j], B[j] = cr, cg, cb
			} else {
				R[j] += (cr - R[j]) * w
				G[j] += (cg - G[j]) * w
				B[j] += (cb - B[j]) * w
			}
		}
	}
}

// Sizes of the stripe tables: the raw waveform and its box filter.
const (
	stripeRawSize   = 512
	stripeTableSize = 64
)

// stripeTable tabulates, for one period of the clipped-sine grating p,
// the mean of the waveform over the footprint of a pixel (4x4 samples):
// the box filter of the grating, which is the same 1D convolution of
// the waveform for every pixel.
func (r *renderer) stripeTable(p *paint) []float32 {
	raw := r.stripes[:stripeRawSize+1]
	for k := 0; k < stripeRawSize; k++ {
		raw[k] = clamp01(0.5 + 0.5*p.sharp*sinLUT[k*(len(sinLUT)-1)/stripeRawSize])
	}
	raw[stripeRawSize] = raw[0]
	tab := r.stripes[stripeRawSize+1:]
	var offs [16]float32
	for i := 0; i < 4; i++ {
		for j := 0; j < 4; j++ {
			offs[4*i+j] = (float32(i)+0.5-2)/4*p.dx + (float32(j)+0.5-2)/4*p.dy
		}
	}
	for k := 0; k < stripeTableSize; k++ {
		ph := float32(k) / stripeTableSize
		var v float32
		for _, o := range offs {
			v += lookupCycles(raw, stripeRawSize, ph+o)
		}
		tab[k] = v / 16
	}
	tab[stripeTableSize] = tab[0]
	return tab
}

// lookupCycles linearly interpolates the periodic table tab, of size+1
// entries covering one cycle, at phase c.
func lookupCycles(tab []float32, size int, c float32) float32 {
	fl := float32(int32(c))
	if fl > c {
		fl--
	}
	u := (c - fl) * float32(size)
	k := min(int(u), size-1)
	f := u - float32(k)
	return tab[k] + (tab[k+1]-tab[k])*f
}

// sinc returns sin(πf)/(πf).
func sinc(f float32) float32 {
	if f == 0 {
		return 1
	}
	x := math.Pi * float64(f)
	return float32(math.Sin(x) / x)
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
	fl := float32(int32(c))
	if fl > c {
		fl--
	}
	u := (c - fl) * 1024
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
	iu    []int     // lattice cell of each grid column (scratch)
	fu    []float32 // smoothstep weight of each grid column (scratch)
	oct   [4]lattice
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
	if cap(f.iu) < r.n+1 {
		f.iu, f.fu = make([]int, r.n+1), make([]float32, r.n+1)
	}
	f.n = 2 + r.rng.IntN(3)
	scale := r.logUni(1.5, 8) / r.S // coarsest: 1.5-8 cells across the image
	gain := r.uni(0.35, 0.7)
	f.ridge = r.chance(0.25)
	amp := float32(1)
	f.norm = 0
	for o := 0; o < f.n; o++ {
		if o > 0 && scale > 0.6 { // finer than ~2 pixels per cell: stop
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
		for k := 0; k < len(l.vals); k += 4 {
			bits := r.rng.Uint64()
			for j := k; j < min(k+4, len(l.vals)); j++ {
				l.vals[j] = float32(bits&0xffff) * (1.0 / 0xffff)
				bits >>= 16
			}
		}
		f.norm += amp
		amp *= gain
		scale *= r.uni(1.8, 2.2)
	}
	f.norm = 1 / f.norm
}

// grid writes the noise at the integer points x0..x1 x y0..y1 into
// out[y*stride+x], passed through v -> clamp01((v-0.5)*contrast+0.5).
func (f *fbm) grid(x0, y0, x1, y1 int, out []float32, stride int, contrast float32) {
	for y := y0; y <= y1; y++ {
		clear(out[y*stride+x0 : y*stride+x1+1])
	}
	nx := x1 - x0 + 1
	iu, fu := f.iu[:nx], f.fu[:nx]
	for o := 0; o < f.n; o++ {
		l := &f.oct[o]
		for j := range iu {
			u := float32(x0+j)*l.scale + l.ox
			i := min(int(u), l.side-2)
			t := u - float32(i)
			iu[j], fu[j] = i, t*t*(3-2*t)
		}
		for y := y0; y <= y1; y++ {
			w := float32(y)*l.scale + l.oy
			iw := min(int(w), l.side-2)
			fw := w - float32(iw)
			fw = fw * fw * (3 - 2*fw)
			r0 := l.vals[iw*l.side : (iw+1)*l.side]
			r1 := l.vals[(iw+1)*l.side : (iw+2)*l.side]
			o := out[y*stride+x0 : y*stride+x0+nx]
			for j := range o {
				i, t := iu[j], fu[j]
				a := r0[i] + (r0[i+1]-r0[i])*t
				b := r1[i] + (r1[i+1]-r1[i])*t
				o[j] += l.amp * (a + (b-a)*fw)
			}
		}
	}
	for y := y0; y <= y1; y++ {
		o := out[y*stride+x0 : y*stride+x1+1]
		for j, v := range o {
			v *= f.norm
			if f.ridge {
				v = 1 - 2*float32(math.Abs(float64(v-0.5)))
			}
			o[j] = clamp01((v-0.5)*contrast + 0.5)
		}
	}
}

// Elements.

// box is a pixel rectangle [x0,x1) x [y0,y1).
type box struct{ x0, y0, x1, y1 int }

func (b box) clip(n int) box {
	b.x0, b.y0 = max(0, b.x0), max(0, b.y0)
	b.x1, b.y1 = min(n, b.x1), min(n, b.y1)
	return b
}

func (b box) empty() bool { return b.x0 >= b.x1 || b.y0 >= b.y1 }

func (b box) union(o box) box {
	if o.empty() {
		return b
	}
	if b.empty() {
		return o
	}
	return box{min(b.x0, o.x0), min(b.y0, o.y0), max(b.x1, o.x1), max(b.y1, o.y1)}
}

func (r *renderer) clearMask(b box) {
	for y := b.y0; y < b.y1; y++ {
		clear(r.mask[y*r.n+b.x0 : y*r.n+b.x1])
	}
}

// shape is a signed distance function in pixels (negative inside).
// lip bounds how much dist can change per pixel of movement.
type shape interface {
	dist(x, y float32) float32
	bounds() (minX, minY, maxX, maxY float32)
	lip() float32
}

type ellipse struct{ cx, cy, rx, ry, cos, sin float32 }

// dist is the first-order distance estimate f/|grad f| of the implicit
// ellipse function f = |(u/rx, v/ry)| - 1.
func (e *ellipse) dist(x, y float32) float32 {
	dx, dy := x-e.cx, y-e.cy
	u, v := (dx*e.cos+dy*e.sin)/e.rx, (-dx*e.sin+dy*e.cos)/e.ry
	k := float32(math.Sqrt(float64(u*u + v*v)))
	if k < 0.5 {
		return (k - 1) * min(e.rx, e.ry)
	}
	gu, gv := u/e.rx, v/e.ry
	return (k - 1) * k / float32(math.Sqrt(float64(gu*gu+gv*gv)))
}

func (e *ellipse) bounds() (float32, float32, float32, float32) {
	m := max(e.rx, e.ry)
	return e.cx - m, e.cy - m, e.cx + m, e.cy + m
}

func (e *ellipse) lip() float32 { return 1 + max(e.rx, e.ry)/min(e.rx, e.ry) }

type rect struct{ cx, cy, hw, hh, round, cos, sin float32 }

func (b *rect) dist(x, y float32) float32 {
	dx, dy := x-b.cx, y-b.cy
	u := float32(math.Abs(float64(dx*b.cos+dy*b.sin))) - b.hw + b.round
	v := float32(math.Abs(float64(-dx*b.sin+dy*b.cos))) - b.hh + b.round
	out := float32(math.Sqrt(float64(max(u, 0)*max(u, 0) + max(v, 0)*max(v, 0))))
	return out + min(max(u, v), 0) - b.round
}

func (b *rect) lip() float32 { return 1 }

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

func (p *poly) lip() float32 { return 1 }

func (p *poly) bounds() (float32, float32, float32, float32) {
	return p.minX, p.minY, p.maxX, p.maxY
}

// capsule is a line segment; with raster's grow it becomes a stroke
// with round caps.
type capsule struct {
	ax, ay, ex, ey, il2 float32 // start, extent, 1/|extent|^2
	s                   seg
}

func newCapsule(s seg) capsule {
	c := capsule{ax: s.ax, ay: s.ay, ex: s.bx - s.ax, ey: s.by - s.ay, s: s}
	if l2 := c.ex*c.ex + c.ey*c.ey; l2 > 0 {
		c.il2 = 1 / l2
	}
	return c
}

func (c *capsule) dist(x, y float32) float32 {
	px, py := x-c.ax, y-c.ay
	t := clamp01((px*c.ex + py*c.ey) * c.il2)
	dx, dy := px-c.ex*t, py-c.ey*t
	return float32(math.Sqrt(float64(dx*dx + dy*dy)))
}

func (c *capsule) bounds() (float32, float32, float32, float32) {
	return min(c.s.ax, c.s.bx), min(c.s.ay, c.s.by), max(c.s.ax, c.s.bx), max(c.s.ay, c.s.by)
}

func (c *capsule) lip() float32 { return 1 }

// raster renders shape sh into the mask as a union (max) and returns
// the touched box. The shape is filled, or outlined with width ow if
// ow > 0, and grown by grow; ramp is the width in pixels of the
// anti-aliasing ramp of the coverage. Coverage is supersampled: the mean
// of ss x ss samples per pixel. The samples are evaluated only near the
// edge: the distance at the pixel centre decides for pixels well inside
// or outside the shape.
func (r *renderer) raster(sh shape, ow, grow, ramp float32) box {
	x0, y0, x1, y1 := sh.bounds()
	pad := ow + grow + ramp
	n := r.n
	ox0, oy0 := max(0, int(math.Floor(float64(x0-pad)))-1), max(0, int(math.Floor(float64(y0-pad)))-1)
	ox1, oy1 := min(n, int(math.Ceil(float64(x1+pad)))+1), min(n, int(math.Ceil(float64(y1+pad)))+1)
	if ox0 >= ox1 || oy0 >= oy1 {
		return box{}
	}
	dist := func(x, y float32) float32 {
		d := sh.dist(x, y) - grow
		if ow > 0 {
			d = float32(math.Abs(float64(d))) - ow/2
		}
		return d
	}
	const inv = float32(1) / ss
	// Largest distance from the pixel centre to a sample.
	const reach = (0.5 - 0.5*inv) * math.Sqrt2
	margin := ramp/2 + reach*sh.lip()
	iramp := 1 / ramp
	// Blocks of 4x4 pixels are first tested at their centre.
	const blk = 4
	const blkReach = (blk/2 - 0.5*inv) * math.Sqrt2
	blkMargin := ramp/2 + blkReach*sh.lip()
	for by := oy0; by < oy1; by += blk {
		for bx := ox0; bx < ox1; bx += blk {
			ye, xe := min(by+blk, oy1), min(bx+blk, ox1)
			db := dist(float32(bx)+blk/2, float32(by)+blk/2)
			if db >= blkMargin {
				continue
			}
			if db <= -blkMargin {
				for y := by; y < ye; y++ {
					m := r.mask[y*n+bx : y*n+xe]
					for i := range m {
						m[i] = 1
					}
				}
				continue
			}
			for y := by; y < ye; y++ {
				cy := float32(y) + 0.5
				for x := bx; x < xe; x++ {
					cx := float32(x) + 0.5
					k := y*n + x
					d0 := dist(cx, cy)
					if d0 >= margin {
						continue
					}
					if d0 <= -margin {
						r.mask[k] = 1
						continue
					}
					var c float32
					for sy := 0; sy < ss; sy++ {
						py := float32(y) + (float32(sy)+0.5)*inv
						for sx := 0; sx < ss; sx++ {
							c += clamp01(0.5 - dist(float32(x)+(float32(sx)+0.5)*inv, py)*iramp)
						}
					}
					c *= inv * inv
					if c > r.mask[k] {
						r.mask[k] = c
					}
				}
			}
		}
	}
	return box{ox0, oy0, ox1, oy1}
}

// element draws one random foreground element; ramp is the width of its
// edges' anti-aliasing ramp in output pixels (wider = out of focus).
func (r *renderer) element(ramp float32) {
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
		b = r.raster(sh, outline, 0, ramp)
	case x < 0.7: // lines at arbitrary angles
		w := r.logUni(0.3, 2.5)
		k := 1 + r.rng.IntN(3)
		a0 := r.uni(0, 2*math.Pi)
		b = box{}
		for j := 0; j < k; j++ {
			a := a0 + r.uni(-0.3, 0.3)
			if r.chance(0.3) {
				a = r.uni(0, 2*math.Pi)
			}
			cx, cy := r.uni(0, 1)*S, r.uni(0, 1)*S
			l := r.uni(0.2, 1.2) * S
			dx, dy := float32(math.Cos(float64(a)))*l/2, float32(math.Sin(float64(a)))*l/2
			c := newCapsule(seg{cx - dx, cy - dy, cx + dx, cy + dy})
			b = b.union(r.raster(&c, 0, w/2, ramp))
		}
		if p.kind == paintNoise || p.kind == paintGrating {
			p.kind = paintSolid
		}
	case x < 0.87: // text
		b = r.text(ramp)
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
		b = r.raster(sh, 0, 0, ramp)
	}
	if b.empty() {
		return
	}
	r.paintBox(&p, b, r.mask, op)
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
func (r *renderer) text(ramp float32) box {
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
	b := box{}
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
			// Strokes are rasterised one by one (union by max of
			// coverage), which keeps each one's box small.
			for _, sg := range r.segs {
				c := newCapsule(sg)
				b = b.union(r.raster(&c, 0, w/2, ramp))
			}
		}
	}
	return b
}

// gaussTable holds 4096 quantiles of the standard normal distribution,
// a cheap deterministic source of Gaussian noise.
var gaussTable = func() []float32 {
	t := make([]float32, 4096)
	for k := range t {
		t[k] = float32(math.Sqrt2 * math.Erfinv(2*(float64(k)+0.5)/4096-1))
	}
	return t
}()

// finish copies the canvas to dst and applies an optional mild blur,
// lighting gradient and sensor noise.
func (r *renderer) finish(size int, dst []float32) {
	plane := size * size
	copy(dst[:3*plane], r.img)
	if r.chance(0.35) {
		r.blurOut(dst, size, r.uni(0.06, 0.22))
	}
	if r.chance(0.3) { // over-exposure: highlights clip at 1 (after noise, below)
		g := r.uni(1.05, 1.6)
		for k := range dst[:3*plane] {
			dst[k] *= g
		}
	}
	if r.chance(0.3) { // lighting gradient
		a := r.uni(0, 2*math.Pi)
		g := r.uni(0.2, 0.6) / float32(size)
		lx, ly := g*float32(math.Cos(float64(a))), g*float32(math.Sin(float64(a)))
		l0 := 1 - (lx+ly)*float32(size)/2
		for c := 0; c < 3; c++ {
			pl := dst[c*plane : (c+1)*plane]
			for y := 0; y < size; y++ {
				row := pl[y*size : y*size+size]
				m := l0 + ly*float32(y)
				for x := range row {
					row[x] *= m + lx*float32(x)
				}
			}
		}
	}
	sigma := float32(0)
	gray := false
	if r.chance(0.35) { // mild sensor noise, luminance-only or per channel
		sigma = r.logUni(0.001, 0.01)
		gray = r.chance(0.5)
	}
	nz := r.tmp[:plane]
	for c := 0; c < 3; c++ {
		pl := dst[c*plane : (c+1)*plane]
		if sigma == 0 {
			for k, v := range pl {
				pl[k] = clamp01(v)
			}
			continue
		}
		if c == 0 || !gray {
			g := gaussTable[:4096]
			var bits uint64
			for k := range nz {
				if k%5 == 0 {
					bits = r.rng.Uint64()
				}
				nz[k] = sigma * g[bits&4095]
				bits >>= 12
			}
		}
		nz := nz[:len(pl)]
		for k, v := range pl {
			pl[k] = clamp01(v + nz[k])
		}
	}
}

// blurOut filters the 3 planes of the size x size image x with the
// separable kernel [a, 1-2a, a] (edges clamped).
func (r *renderer) blurOut(x []float32, size int, a float32) {
	m := 1 - 2*a
	t := r.tmp[:size*size]
	for c := 0; c < 3; c++ {
		pl := x[c*size*size : (c+1)*size*size]
		for y := 0; y < size; y++ {
			row, out := pl[y*size:y*size+size], t[y*size:y*size+size]
			out[0] = (a+m)*row[0] + a*row[1]
			for i := 1; i < len(row)-1 && i < len(out); i++ {
				out[i] = a*(row[i-1]+row[i+1]) + m*row[i]
			}
			out[size-1] = a*row[size-2] + (a+m)*row[size-1]
		}
		for y := 0; y < size; y++ {
			up := t[max(y-1, 0)*size : max(y-1, 0)*size+size]
			mid := t[y*size : y*size+size]
			dn := t[min(y+1, size-1)*size : min(y+1, size-1)*size+size]
			out := pl[y*size : y*size+size]
			up, mid, dn = up[:len(out)], mid[:len(out)], dn[:len(out)]
			for i := range out {
				out[i] = a*(up[i]+dn[i]) + m*mid[i]
			}
		}
	}
}
