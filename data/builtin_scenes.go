package data

import (
	"math"
	"math/bits"
)

// This file holds the parts of the Builtin generator that model natural
// photographs (issue 13): 1/f Gaussian random fields made by inverse FFT,
// the dead-leaves layout with depth of field, and the smooth and texture
// scene families. See Builtin for the overview.

// Scene families and how often each is drawn (cumulative thresholds).
const (
	famSmooth  = iota // smooth shading, defocus: teaches exact identity and colour on low-detail content
	famLeaves         // dead leaves: occlusion edges at all scales, depth of field, textured surfaces
	famTexture        // 1/f and fBm textures at many scales: foliage, gravel, grain
	famGraphic        // shapes, lines, text, stripes: man-made content and hard edges
)

var familyCDF = [...]float32{0.50, 0.75, 0.87, 1}

// fftPlan holds the twiddles and the bit reversal of an n-point inverse
// FFT (n a power of two).
type fftPlan struct {
	n   int
	tw  []complex64
	rev []int32
}

func newFFTPlan(n int) *fftPlan {
	p := &fftPlan{n: n, tw: make([]complex64, max(n/2, 1)), rev: make([]int32, n)}
	for k := range p.tw {
		a := 2 * math.Pi * float64(k) / float64(n)
		p.tw[k] = complex(float32(math.Cos(a)), float32(math.Sin(a)))
	}
	nb := bits.Len(uint(n)) - 1
	for i := range p.rev {
		if nb > 0 {
			p.rev[i] = int32(bits.Reverse32(uint32(i)) >> (32 - nb))
		}
	}
	return p
}

// transform computes the unnormalised inverse DFT of a (length n) in place.
func (p *fftPlan) transform(a []complex64) {
	n := p.n
	a = a[:n]
	for i, j := range p.rev {
		if int(j) > i {
			a[i], a[j] = a[j], a[i]
		}
	}
	for size := 2; size <= n; size <<= 1 {
		half, step := size/2, n/size
		for start := 0; start < n; start += size {
			lo, hi := a[start:start+half], a[start+half:start+size]
			for k := range lo {
				v := hi[k] * p.tw[k*step]
				u := lo[k]
				lo[k], hi[k] = u+v, u-v
			}
		}
	}
}

// spectralField is a zero-mean Gaussian random field on an n x n periodic
// grid whose amplitude spectrum falls as 1/f^beta: beta = 1 is the
// spectrum of natural images (Field 1987; Ruderman 1994), larger values
// are smoother, smaller rougher. Fields are periodic, so a textured
// element can use the image's field at any offset.
type spectralField struct {
	n    int
	vals []float32 // n*n values with unit standard deviation
}

// spectralTableSize is the size of the radial amplitude table.
const spectralTableSize = 128

// makeField fills f with a new random field: amplitude
// (f^2+f0^2)^(-beta/2) * exp(-2 pi^2 sigma^2 f^2) in cycles per pixel
// (sigma > 0 is a Gaussian defocus of the texture), stretched by aniso
// (>= 1) across the direction angle (oriented textures such as grass or
// grain when aniso > 1).
func (r *renderer) makeField(f *spectralField, beta, sigma, aniso, angle float32) {
	n := 1
	for n < r.n {
		n <<= 1
	}
	n = max(n, 4)
	if r.plan == nil || r.plan.n != n {
		r.plan = newFFTPlan(n)
	}
	if cap(r.spec) < n*n {
		r.spec = make([]complex64, n*n)
	}
	a := r.spec[:n*n]
	if cap(f.vals) < n*n {
		f.vals = make([]float32, n*n)
	}
	f.n, f.vals = n, f.vals[:n*n]
	// Radial amplitude profile, tabulated over f in [0, fmax].
	cos, sin := float32(math.Cos(float64(angle))), float32(math.Sin(float64(angle)))
	fmax := float32(0.71) * aniso
	f0 := float32(1) / float32(n)
	var tab [spectralTableSize + 1]float32
	for k := range tab {
		fr := float64(fmax) * float64(k) / spectralTableSize
		tab[k] = float32(math.Pow(fr*fr+float64(f0*f0), -float64(beta)/2) *
			math.Exp(-2*math.Pi*math.Pi*float64(sigma*sigma)*fr*fr))
	}
	scale := spectralTableSize / fmax
	g := gaussTable
	var rb uint64
	nb := 0
	inv := 1 / float32(n)
	for ky := 0; ky < n; ky++ {
		fy := float32(ky) * inv
		if ky > n/2 {
			fy -= 1
		}
		row := a[ky*n : ky*n+n]
		for kx := range row {
			fx := float32(kx) * inv
			if kx > n/2 {
				fx -= 1
			}
			u := fx*cos + fy*sin
			v := (fy*cos - fx*sin) * aniso
			fr := float32(math.Sqrt(float64(u*u + v*v)))
			t := fr * scale
			i := min(int(t), spectralTableSize-1)
			amp := tab[i] + (tab[i+1]-tab[i])*(t-float32(i))
			if nb < 2 {
				rb, nb = r.rng.Uint64(), 5
			}
			re, im := g[rb&4095], g[(rb>>12)&4095]
			rb >>= 24
			nb -= 2
			row[kx] = complex(amp*re, amp*im)
		}
	}
	a[0] = 0 // zero mean
	for y := 0; y < n; y++ {
		r.plan.transform(a[y*n : y*n+n])
	}
	// Transpose, then transform the rows again (the result is the
	// transposed field, which has the same distribution: the angle is
	// uniformly random).
	for y := 0; y < n; y++ {
		for x := y + 1; x < n; x++ {
			a[y*n+x], a[x*n+y] = a[x*n+y], a[y*n+x]
		}
	}
	for y := 0; y < n; y++ {
		r.plan.transform(a[y*n : y*n+n])
	}
	var s2 float64
	for k, c := range a {
		v := real(c)
		f.vals[k] = v
		s2 += float64(v) * float64(v)
	}
	norm := float32(1)
	if s2 > 0 {
		norm = float32(1 / math.Sqrt(s2/float64(n*n)))
	}
	for k := range f.vals {
		f.vals[k] *= norm
	}
}

// sceneColor returns a palette colour pulled towards the scene's mean
// colour by the scene contrast (natural scenes share one illuminant and
// rarely span the full range between neighbouring surfaces).
func (r *renderer) sceneColor() [3]float32 {
	c := r.color()
	return mix3(r.meanColor, c, r.sceneContrast)
}

// shadedPaint is a surface of one colour under smooth shading: a linear
// or radial ramp between the colour and a darker or lighter version.
func (r *renderer) shadedPaint() paint {
	c := r.sceneColor()
	k := r.uni(0.55, 1.35)
	p := paint{c0: c, c1: [3]float32{c[0] * k, c[1] * k, c[2] * k}}
	S := r.S
	if r.chance(0.7) {
		p.kind = paintLinear
		a := r.uni(0, 2*math.Pi)
		l := r.uni(0.4, 2) * S
		p.ox, p.oy = r.uni(0, S), r.uni(0, S)
		p.ox -= float32(math.Cos(float64(a))) * l / 2
		p.oy -= float32(math.Sin(float64(a))) * l / 2
		p.dx, p.dy = float32(math.Cos(float64(a)))/l, float32(math.Sin(float64(a)))/l
	} else {
		p.kind = paintRadial
		p.ox, p.oy = r.uni(-0.2, 1.2)*S, r.uni(-0.2, 1.2)*S
		p.inv = 1 / (r.uni(0.3, 1.5) * S)
	}
	return p
}

// texturePaint paints field f (at a random offset) through a ramp of
// related scene colours with the given contrast (field standard
// deviations per unit of the ramp).
func (r *renderer) texturePaint(f *spectralField, contrast float32) paint {
	c0 := r.sceneColor()
	c1 := mix3(c0, r.sceneColor(), r.uni(0.3, 1))
	c2 := mix3(c0, r.sceneColor(), r.uni(0.3, 1))
	if r.chance(0.5) { // luminance texture of one hue
		k0, k2 := r.uni(0.5, 0.9), r.uni(1.1, 1.5)
		c1 = c0
		c0 = [3]float32{c1[0] * k0, c1[1] * k0, c1[2] * k0}
		c2 = [3]float32{c1[0] * k2, c1[1] * k2, c1[2] * k2}
	}
	p := paint{kind: paintSpectral, c0: c0, c1: c1, c2: c2, field: f, contrast: contrast,
		fx: r.rng.IntN(f.n), fy: r.rng.IntN(f.n)}
	if r.chance(0.3) { // chromatic: the channels vary independently
		p.chroma = true
		p.c1 = [3]float32{r.uni(0, 1), r.uni(0, 1), r.uni(0, 1)}
		p.fx2, p.fy2, p.fx3, p.fy3 = r.rng.IntN(f.n), r.rng.IntN(f.n), r.rng.IntN(f.n), r.rng.IntN(f.n)
	}
	return p
}

// leafRadius draws a dead-leaves radius with density proportional to
// r^-3 on [rmin, rmax]: the scale-invariant size law whose images have
// 1/f amplitude spectra (Lee, Mumford and Huang 2001).
func (r *renderer) leafRadius(rmin, rmax float32) float32 {
	a, b := 1/(rmin*rmin), 1/(rmax*rmax)
	u := r.rng.Float32()
	return float32(1 / math.Sqrt(float64(a-u*(a-b))))
}

// leafShape returns a random leaf outline of radius rad centred at (cx, cy).
func (r *renderer) leafShape(cx, cy, rad float32) shape {
	a := r.uni(0, 2*math.Pi)
	cos, sin := float32(math.Cos(float64(a))), float32(math.Sin(float64(a)))
	x := r.rng.Float32()
	switch {
	case x < 0.6:
		return &ellipse{cx, cy, rad, rad * r.uni(0.35, 1), cos, sin}
	case x < 0.8:
		hw, hh := rad, rad*r.uni(0.3, 1)
		return &rect{cx, cy, hw, hh, min(hw, hh) * r.uni(0, 0.6), cos, sin}
	default:
		return r.randPoly(cx, cy, rad, a)
	}
}

// leavesScene draws the dead-leaves family: a background, then leaves of
// power-law sizes in back-to-front order, each blurred according to its
// distance from a random focal depth (out-of-focus edges are ramps up to
// several pixels wide) and painted with shading, a 1/f texture, fBm or a
// low-contrast grating.
func (r *renderer) leavesScene() {
	full := box{0, 0, r.n, r.n}
	tex := &r.fields[0]
	r.makeField(tex, r.uni(0.7, 1.5), 0, r.aniso(), r.uni(0, math.Pi))
	var bg paint
	if r.chance(0.5) {
		bg = r.texturePaint(tex, r.logUni(0.05, 0.3))
	} else {
		bg = r.shadedPaint()
	}
	r.paintBox(&bg, full, nil, 1)
	S := r.S
	rmin := r.logUni(0.03, 0.15) * S
	rmax := r.uni(0.5, 1.5) * S
	k := 6 + r.rng.IntN(25)
	focus := r.rng.Float32()
	dof := float32(0)
	if r.chance(0.65) {
		dof = r.logUni(1, 8) // edge ramp width per unit of depth distance
	}
	for e := 0; e < k; e++ {
		depth := (float32(e) + 0.5) / float32(k)
		ramp := float32(1)/ss + dof*float32(math.Abs(float64(depth-focus)))
		rad := r.leafRadius(rmin, rmax)
		cx, cy := r.uni(-0.1, 1.1)*S, r.uni(-0.1, 1.1)*S
		r.clearMask(full)
		b := r.raster(r.leafShape(cx, cy, rad), 0, 0, ramp)
		if b.empty() {
			continue
		}
		var p paint
		x := r.rng.Float32()
		switch {
		case ramp > 2 || x < 0.45:
			p = r.shadedPaint()
		case x < 0.8:
			p = r.texturePaint(tex, r.logUni(0.05, 0.4))
		case x < 0.92:
			p = paint{kind: paintNoise, c0: r.sceneColor(), c1: r.sceneColor(), c2: r.sceneColor(), noise: &r.noise}
			r.initFBM(p.noise)
			p.contrast = r.logUni(0.5, 2)
		default:
			p = r.randPaint(false)
			if p.kind == paintGrating {
				p.c1 = mix3(p.c0, p.c1, r.uni(0.1, 0.4))
			}
		}
		r.paintBox(&p, b, r.mask, 1)
	}
}

// aniso returns the anisotropy of a texture: mostly isotropic, sometimes
// strongly oriented.
func (r *renderer) aniso() float32 {
	if r.chance(0.7) {
		return 1
	}
	return r.logUni(1.5, 6)
}

// smoothScene draws the smooth family: gradients or a steep-spectrum
// field under a few strongly defocused blobs, sometimes one sharp edge
// (a horizon, the rim of an object).
func (r *renderer) smoothScene() {
	full := box{0, 0, r.n, r.n}
	var bg paint
	if r.chance(0.5) {
		f := &r.fields[0]
		r.makeField(f, r.uni(1.5, 2.5), 0, r.aniso(), r.uni(0, math.Pi))
		bg = r.texturePaint(f, r.logUni(0.05, 0.3))
	} else {
		bg = r.shadedPaint()
	}
	r.paintBox(&bg, full, nil, 1)
	S := r.S
	for e, k := 0, r.rng.IntN(4); e < k; e++ {
		r.clearMask(full)
		rad := r.logUni(0.1, 0.6) * S
		b := r.raster(r.leafShape(r.uni(0, 1)*S, r.uni(0, 1)*S, rad), 0, 0, r.logUni(2, 12))
		if b.empty() {
			continue
		}
		p := r.shadedPaint()
		r.paintBox(&p, b, r.mask, r.uni(0.5, 1))
	}
	if r.chance(0.3) {
		r.clearMask(full)
		a := r.uni(0, 2*math.Pi)
		cos, sin := float32(math.Cos(float64(a))), float32(math.Sin(float64(a)))
		cx, cy := r.uni(0.2, 0.8)*S, r.uni(0.2, 0.8)*S
		b := r.raster(&rect{cx + cos*S, cy + sin*S, S, S * 2, 0, cos, sin}, 0, 0, r.logUni(1.0/ss, 2))
		if !b.empty() {
			p := r.shadedPaint()
			r.paintBox(&p, b, r.mask, 1)
		}
	}
}

// textureScene draws the texture family: one or two 1/f fields of
// random roughness and orientation (the second seen through a soft
// large mask), sometimes with fBm or a low-contrast grating on top.
func (r *renderer) textureScene() {
	full := box{0, 0, r.n, r.n}
	f := &r.fields[0]
	r.makeField(f, r.uni(0.5, 1.3), 0, r.aniso(), r.uni(0, math.Pi))
	p := r.texturePaint(f, r.logUni(0.08, 0.45))
	r.paintBox(&p, full, nil, 1)
	S := r.S
	if r.chance(0.5) {
		g := &r.fields[1]
		r.makeField(g, r.uni(0.5, 1.5), r.uni(0, 1.5), r.aniso(), r.uni(0, math.Pi))
		r.clearMask(full)
		a := r.uni(0, 2*math.Pi)
		cos, sin := float32(math.Cos(float64(a))), float32(math.Sin(float64(a)))
		cx, cy := r.uni(0.2, 0.8)*S, r.uni(0.2, 0.8)*S
		b := r.raster(&rect{cx + cos*S, cy + sin*S, S, S * 2, 0, cos, sin}, 0, 0, r.logUni(1.0/ss, 6))
		if !b.empty() {
			q := r.texturePaint(g, r.logUni(0.08, 0.45))
			r.paintBox(&q, b, r.mask, 1)
		}
	}
	if r.chance(0.3) { // a translucent fBm or grating layer
		q := r.randPaint(false)
		if q.kind == paintNoise || q.kind == paintGrating {
			if q.kind == paintGrating {
				q.c1 = mix3(q.c0, q.c1, r.uni(0.1, 0.35))
			}
			for k := range r.mask {
				r.mask[k] = 1
			}
			r.paintBox(&q, full, r.mask, r.uni(0.15, 0.5))
		}
	}
}

// scaleContrast scales the canvas' deviations from its mean colour by k,
// keeping the mean.
func (r *renderer) scaleContrast(k float32) {
	nn := r.n * r.n
	for c := 0; c < 3; c++ {
		pl := r.img[c*nn : (c+1)*nn]
		var m float32
		for _, v := range pl {
			m += v
		}
		m /= float32(nn)
		for i, v := range pl {
			pl[i] = m + (v-m)*k
		}
	}
}
