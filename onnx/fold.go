package onnx

import (
	"math"

	pb "github.com/vgfq/vgfq/onnx/onnxpb"
)

// folders evaluate nodes whose inputs are all constant (weights, shape arithmetic as PyTorch
// exports it without constant folding).
var folders = map[string]func(im *importer, in []*tensor, a attrs) (*tensor, error){
	"Constant":         foldConstant,
	"Identity":         func(_ *importer, in []*tensor, _ attrs) (*tensor, error) { return in[0], nil },
	"Cast":             foldCast,
	"Gather":           foldGather,
	"Unsqueeze":        foldSqueeze,
	"Squeeze":          foldSqueeze,
	"Concat":           foldConcat,
	"Add":              foldArith,
	"Sub":              foldArith,
	"Mul":              foldArith,
	"Div":              foldArith,
	"Slice":            foldSlice,
	"Reshape":          foldReshape,
	"Transpose":        foldTranspose,
	"ConstantOfShape":  foldConstantOfShape,
	"Floor":            foldUnaryF,
	"Ceil":             foldUnaryF,
	"Sqrt":             foldUnaryF,
	"Neg":              foldUnaryF,
	"QuantizeLinear":   foldQuantize,
	"DequantizeLinear": foldDequantize,
}

func (im *importer) fold(f func(im *importer, in []*tensor, a attrs) (*tensor, error)) error {
	var in []*tensor
	for i := range im.cur.GetInput() {
		v, err := im.in(i)
		if err != nil {
			return err
		}
		if v == nil {
			in = append(in, nil)
			continue
		}
		in = append(in, v.c)
	}
	if im.cur.GetOpType() != "Constant" && (len(in) == 0 || in[0] == nil) {
		return im.errf("input 0 is missing")
	}
	// Shape arithmetic and small constants only: an op that would compute a large tensor at
	// import is refused before it runs (weights pass through Identity / Q / DQ unchanged in size).
	op := im.cur.GetOpType()
	for _, t := range in {
		if t != nil && t.len() > maxFoldElems && op != "Identity" && op != "QuantizeLinear" && op != "DequantizeLinear" && op != "Cast" {
			return im.errf("constant input of %d values is too large to evaluate at import", t.len())
		}
	}
	// The total work of folding is bounded by the model's size, so that a small (malformed or
	// hostile) file cannot make the import compute and hold gigabytes: ops that only pass a
	// weight through (Identity, or a result that is one of the inputs) cost nothing, the rest
	// the values they produce. The bound is checked before the op runs, from its output size
	// where that is known in advance (the inputs' size for elementwise ops and ConstantOfShape's
	// shape are the large cases), and again after.
	if need := foldOutputEstimate(op, in); need > maxElems {
		return im.errf("constant result too large (more than %d values)", maxElems)
	} else if need > im.foldBudget {
		return im.foldBudgetErr(need)
	}
	t, err := f(im, in, im.attrs())
	if err != nil {
		return err
	}
	if t.len() > maxElems {
		return im.errf("constant result too large")
	}
	passThrough := false
	for _, x := range in {
		passThrough = passThrough || x == t
	}
	if !passThrough {
		if t.len() > im.foldBudget {
			return im.foldBudgetErr(t.len())
		}
		im.foldBudget -= t.len()
	}
	im.out(0, &value{c: t, shape: t.shape})
	return nil
}

// maxFoldElems bounds the inputs of ops evaluated at import (shape arithmetic).
const maxFoldElems = 1 << 22

// foldBudgetFor is the total number of values constant folding may produce for a model of
// modelBytes bytes whose initializers hold initElems values (external data included): what
// shape arithmetic needs (maxFoldElems), plus a few passes over every stored weight (a QDQ
// weight is quantized, dequantized, maybe transposed and reshaped: each pass produces as many
// values as the weight holds, and a weight costs at least one byte of the file).
func foldBudgetFor(modelBytes, initElems int) int {
	return maxFoldElems + 8*(modelBytes+initElems)
}

// foldOutputEstimate is a lower bound of the values op produces from in, known before it runs.
func foldOutputEstimate(op string, in []*tensor) int {
	switch op {
	case "Identity":
		return 0
	case "ConstantOfShape":
		n := 1
		for _, d := range in[0].ints() {
			if d < 0 || d > maxElems {
				return 0 // refused by the folder itself
			}
			n *= int(d)
			if n > maxElems {
				return maxElems + 1
			}
		}
		return n
	}
	n, sum := 0, 0
	for _, t := range in {
		if t != nil {
			n, sum = max(n, t.len()), min(sum+t.len(), maxElems+1)
		}
	}
	switch op {
	case "Concat":
		return sum
	case "Gather", "Slice", "Squeeze", "Unsqueeze", "Reshape":
		return 0 // may be smaller than their inputs (or alias them); checked after
	}
	return n
}

func (im *importer) foldBudgetErr(need int) error {
	return im.errf("evaluating this node at import would compute %d more values, over the limit for a model of this size (%d values of constant folding in total, %d left); a valid model folds only shape arithmetic and its weights: export it with constant folding (torch.onnx.export(..., do_constant_folding=True)) or check the file",
		need, im.foldBudgetTotal, im.foldBudget)
}

func foldConstant(im *importer, _ []*tensor, a attrs) (*tensor, error) {
	if len(a) != 1 {
		return nil, im.errf("Constant needs exactly one value attribute")
	}
	for name, at := range a {
		switch name {
		case "value":
			if at.GetT() == nil {
				return nil, im.errf("attribute value has no tensor")
			}
			t, err := readTensor(at.GetT(), im.dir)
			if err != nil {
				return nil, im.errf("value: %v", err)
			}
			return t, nil
		case "value_float":
			return &tensor{dt: pb.TensorProto_FLOAT, f: []float32{at.GetF()}}, nil
		case "value_floats":
			return &tensor{dt: pb.TensorProto_FLOAT, shape: []int{len(at.GetFloats())}, f: append([]float32(nil), at.GetFloats()...)}, nil
		case "value_int":
			return &tensor{dt: pb.TensorProto_INT64, i: []int64{at.GetI()}}, nil
		case "value_ints":
			return &tensor{dt: pb.TensorProto_INT64, shape: []int{len(at.GetInts())}, i: append([]int64(nil), at.GetInts()...)}, nil
		}
		return nil, im.errf("Constant attribute %s is not supported", name)
	}
	return nil, nil
}

func isFloatType(dt pb.TensorProto_DataType) bool {
	return (&tensor{dt: dt}).isFloat()
}

func foldCast(im *importer, in []*tensor, a attrs) (*tensor, error) {
	to, err := im.aInt(a, "to", 0)
	if err != nil {
		return nil, err
	}
	dt := pb.TensorProto_DataType(to)
	if elemSize(dt) == 0 {
		return nil, im.errf("Cast to %s is not supported", dtName(dt))
	}
	t := &tensor{dt: dt, shape: in[0].shape}
	if isFloatType(dt) {
		t.f = in[0].floats()
		t.dt = pb.TensorProto_FLOAT
	} else {
		t.i = in[0].ints()
	}
	return t, nil
}

func newLike(src *tensor, shape []int) *tensor {
	t := &tensor{dt: src.dt, shape: shape}
	if src.isFloat() {
		t.f = make([]float32, numElems(shape))
	} else {
		t.i = make([]int64, numElems(shape))
	}
	return t
}

func (t *tensor) copyElem(dst int, src *tensor, s int) {
	if t.isFloat() {
		t.f[dst] = src.f[s]
	} else {
		t.i[dst] = src.i[s]
	}
}

func strides(shape []int) []int {
	st := make([]int, len(shape))
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = acc
		acc *= shape[i]
	}
	return st
}

func normAxis(im *importer, ax int64, rank int) (int, error) {
	if ax < 0 {
		ax += int64(rank)
	}
	if ax < 0 || int(ax) >= rank {
		return 0, im.errf("axis %d out of range for rank %d", ax, rank)
	}
	return int(ax), nil
}

func foldGather(im *importer, in []*tensor, a attrs) (*tensor, error) {
	if len(in) < 2 || in[1] == nil {
		return nil, im.errf("Gather needs indices")
	}
	x, idx := in[0], in[1]
	ax, _ := im.aInt(a, "axis", 0)
	axis, err := normAxis(im, ax, len(x.shape))
	if err != nil {
		return nil, err
	}
	outShape := append(append(append([]int{}, x.shape[:axis]...), idx.shape...), x.shape[axis+1:]...)
	if numElems(outShape) > maxFoldElems {
		return nil, im.errf("result too large")
	}
	out := newLike(x, outShape)
	outer := numElems(x.shape[:axis])
	inner := numElems(x.shape[axis+1:])
	n := x.shape[axis]
	k := 0
	for o := 0; o < outer; o++ {
		for _, j := range idx.ints() {
			if j < 0 {
				j += int64(n)
			}
			if j < 0 || int(j) >= n {
				return nil, im.errf("index %d out of range [0, %d)", j, n)
			}
			for i := 0; i < inner; i++ {
				out.copyElem(k, x, (o*n+int(j))*inner+i)
				k++
			}
		}
	}
	return out, nil
}

func foldSqueeze(im *importer, in []*tensor, a attrs) (*tensor, error) {
	x := in[0]
	var axes []int64
	if len(in) > 1 && in[1] != nil {
		axes = in[1].ints()
	} else {
		axes, _ = im.aInts(a, "axes")
	}
	rank := len(x.shape)
	unsq := im.cur.GetOpType() == "Unsqueeze"
	if unsq {
		rank += len(axes)
	}
	mark := map[int]bool{}
	for _, ax := range axes {
		k, err := normAxis(im, ax, rank)
		if err != nil {
			return nil, err
		}
		mark[k] = true
	}
	var shape []int
	if unsq {
		k := 0
		for i := 0; i < rank; i++ {
			if mark[i] {
				shape = append(shape, 1)
			} else {
				shape = append(shape, x.shape[k])
				k++
			}
		}
	} else {
		for i, d := range x.shape {
			if (len(axes) == 0 && d == 1) || mark[i] {
				if d != 1 {
					return nil, im.errf("axis %d has size %d", i, d)
				}
				continue
			}
			shape = append(shape, d)
		}
	}
	t := *x
	t.shape = shape
	return &t, nil
}

func foldConcat(im *importer, in []*tensor, a attrs) (*tensor, error) {
	ax, _ := im.aInt(a, "axis", 0)
	axis, err := normAxis(im, ax, len(in[0].shape))
	if err != nil {
		return nil, err
	}
	shape := append([]int(nil), in[0].shape...)
	shape[axis] = 0
	for _, t := range in {
		if t == nil || len(t.shape) != len(shape) || t.isFloat() != in[0].isFloat() {
			return nil, im.errf("inputs of different rank or type")
		}
		for d := range shape {
			if d != axis && t.shape[d] != shape[d] {
				return nil, im.errf("input shapes %v and %v differ outside axis %d", in[0].shape, t.shape, axis)
			}
		}
		shape[axis] += t.shape[axis]
	}
	out := newLike(in[0], shape)
	outer := numElems(shape[:axis])
	inner := numElems(shape[axis+1:])
	k := 0
	for o := 0; o < outer; o++ {
		for _, t := range in {
			m := t.shape[axis] * inner
			for i := 0; i < m; i++ {
				out.copyElem(k, t, o*m+i)
				k++
			}
		}
	}
	return out, nil
}

func broadcastShapes(a, b []int) ([]int, bool) {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := 0; i < n; i++ {
		da, db := 1, 1
		if k := i - (n - len(a)); k >= 0 {
			da = a[k]
		}
		if k := i - (n - len(b)); k >= 0 {
			db = b[k]
		}
		switch {
		case da == db || db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, false
		}
	}
	return out, true
}

// bcastIndex maps a flat index of out to a flat index of an operand of shape s.
func bcastIndex(k int, out, s []int) int {
	idx := 0
	mul := 1
	for i := len(out) - 1; i >= 0; i-- {
		c := k % out[i]
		k /= out[i]
		if j := i - (len(out) - len(s)); j >= 0 {
			if s[j] != 1 {
				idx += c * mul
			}
			mul *= s[j]
		}
	}
	return idx
}

func foldArith(im *importer, in []*tensor, _ attrs) (*tensor, error) {
	if len(in) != 2 || in[1] == nil {
		return nil, im.errf("needs two inputs")
	}
	a, b := in[0], in[1]
	shape, ok := broadcastShapes(a.shape, b.shape)
	if !ok {
		return nil, im.errf("shapes %v and %v do not broadcast", a.shape, b.shape)
	}
	if numElems(shape) > maxFoldElems {
		return nil, im.errf("result of shape %v is too large to evaluate at import", shape)
	}
	op := im.cur.GetOpType()
	float := a.isFloat() || b.isFloat()
	out := &tensor{shape: shape}
	n := numElems(shape)
	if float {
		out.dt, out.f = pb.TensorProto_FLOAT, make([]float32, n)
		af, bf := a.floats(), b.floats()
		for k := 0; k < n; k++ {
			x, y := af[bcastIndex(k, shape, a.shape)], bf[bcastIndex(k, shape, b.shape)]
			switch op {
			case "Add":
				out.f[k] = x + y
			case "Sub":
				out.f[k] = x - y
			case "Mul":
				out.f[k] = x * y
			case "Div":
				out.f[k] = x / y
			}
		}
		return out, nil
	}
	out.dt, out.i = a.dt, make([]int64, n)
	for k := 0; k < n; k++ {
		x, y := a.i[bcastIndex(k, shape, a.shape)], b.i[bcastIndex(k, shape, b.shape)]
		switch op {
		case "Add":
			out.i[k] = x + y
		case "Sub":
			out.i[k] = x - y
		case "Mul":
			out.i[k] = x * y
		case "Div":
			if y == 0 {
				return nil, im.errf("integer division by zero")
			}
			q := x / y
			if (x%y != 0) && ((x < 0) != (y < 0)) {
				q-- // floor division like numpy (ONNX integer Div truncates; exporters use non-negative shapes)
			}
			out.i[k] = q
		}
	}
	return out, nil
}

func foldSlice(im *importer, in []*tensor, _ attrs) (*tensor, error) {
	if len(in) < 3 || in[1] == nil || in[2] == nil {
		return nil, im.errf("Slice needs starts and ends inputs")
	}
	x := in[0]
	rank := len(x.shape)
	starts, ends := in[1].ints(), in[2].ints()
	if len(starts) != len(ends) {
		return nil, im.errf("starts and ends differ in length")
	}
	axes := make([]int64, len(starts))
	for i := range axes {
		axes[i] = int64(i)
	}
	if len(in) > 3 && in[3] != nil {
		axes = in[3].ints()
	}
	steps := make([]int64, len(starts))
	for i := range steps {
		steps[i] = 1
	}
	if len(in) > 4 && in[4] != nil {
		steps = in[4].ints()
	}
	if len(axes) != len(starts) || len(steps) != len(starts) {
		return nil, im.errf("starts, ends, axes and steps differ in length")
	}
	st := make([]int, rank)
	step := make([]int, rank)
	shape := append([]int(nil), x.shape...)
	for i := range step {
		step[i] = 1
	}
	for k, ax := range axes {
		axis, err := normAxis(im, ax, rank)
		if err != nil {
			return nil, err
		}
		n := int64(x.shape[axis])
		s, e, p := starts[k], ends[k], steps[k]
		if p == 0 {
			return nil, im.errf("step 0")
		}
		if s < 0 {
			s += n
		}
		if e < 0 {
			e += n
		}
		if p > 0 {
			s, e = min(max(s, 0), n), min(max(e, 0), n)
		} else {
			s, e = min(max(s, 0), n-1), min(max(e, -1), n-1)
		}
		cnt := int64(0)
		if p > 0 && e > s {
			cnt = (e - s + p - 1) / p
		} else if p < 0 && s > e {
			cnt = (s - e - p - 1) / -p
		}
		st[axis], step[axis], shape[axis] = int(s), int(p), int(cnt)
	}
	out := newLike(x, shape)
	xs := strides(x.shape)
	for k := 0; k < out.len(); k++ {
		rem, src := k, 0
		for d := rank - 1; d >= 0; d-- {
			c := rem % shape[d]
			rem /= shape[d]
			src += (st[d] + c*step[d]) * xs[d]
		}
		out.copyElem(k, x, src)
	}
	return out, nil
}

func foldReshape(im *importer, in []*tensor, _ attrs) (*tensor, error) {
	if len(in) < 2 || in[1] == nil {
		return nil, im.errf("Reshape needs a shape")
	}
	x := in[0]
	target := in[1].ints()
	shape := make([]int, len(target))
	neg := -1
	known := 1
	for i, d := range target {
		switch {
		case d == 0 && i < len(x.shape):
			shape[i] = x.shape[i]
		case d == -1 && neg < 0:
			neg = i
			continue
		case d < 0 || d > maxElems:
			return nil, im.errf("bad shape %v", target)
		default:
			shape[i] = int(d)
		}
		known *= shape[i]
	}
	if neg >= 0 {
		if known == 0 || x.len()%known != 0 {
			return nil, im.errf("cannot reshape %v to %v", x.shape, target)
		}
		shape[neg] = x.len() / known
	}
	if numElems(shape) != x.len() {
		return nil, im.errf("cannot reshape %v to %v", x.shape, target)
	}
	t := *x
	t.shape = shape
	return &t, nil
}

func foldTranspose(im *importer, in []*tensor, a attrs) (*tensor, error) {
	x := in[0]
	rank := len(x.shape)
	perm, _ := im.aInts(a, "perm")
	p := make([]int, rank)
	seen := make([]bool, rank)
	for i := range p {
		p[i] = rank - 1 - i
		if perm != nil {
			if len(perm) != rank {
				return nil, im.errf("perm %v for rank %d", perm, rank)
			}
			p[i] = int(perm[i])
		}
		if p[i] < 0 || p[i] >= rank || seen[p[i]] {
			return nil, im.errf("perm %v is not a permutation", perm)
		}
		seen[p[i]] = true
	}
	shape := make([]int, rank)
	for i := range p {
		shape[i] = x.shape[p[i]]
	}
	out := newLike(x, shape)
	xs := strides(x.shape)
	for k := 0; k < out.len(); k++ {
		rem, src := k, 0
		for d := rank - 1; d >= 0; d-- {
			c := rem % shape[d]
			rem /= shape[d]
			src += c * xs[p[d]]
		}
		out.copyElem(k, x, src)
	}
	return out, nil
}

func foldConstantOfShape(im *importer, in []*tensor, a attrs) (*tensor, error) {
	var shape []int
	for _, d := range in[0].ints() {
		if d < 0 || d > maxElems {
			return nil, im.errf("bad shape %v", in[0].ints())
		}
		shape = append(shape, int(d))
	}
	if numElems(shape) > maxFoldElems {
		return nil, im.errf("ConstantOfShape %v is too large to evaluate at import", shape)
	}
	fill := &tensor{dt: pb.TensorProto_FLOAT, f: []float32{0}}
	if at := a["value"]; at != nil && at.GetT() != nil {
		t, err := readTensor(at.GetT(), "")
		if err != nil || t.len() != 1 {
			return nil, im.errf("value must be a one-element tensor")
		}
		fill = t
	}
	out := newLike(fill, shape)
	for k := 0; k < out.len(); k++ {
		out.copyElem(k, fill, 0)
	}
	return out, nil
}

func foldUnaryF(im *importer, in []*tensor, _ attrs) (*tensor, error) {
	x := in[0]
	op := im.cur.GetOpType()
	if !x.isFloat() {
		if op == "Neg" {
			out := newLike(x, x.shape)
			for k, v := range x.i {
				out.i[k] = -v
			}
			return out, nil
		}
		return x, nil
	}
	out := newLike(x, x.shape)
	for k, v := range x.f {
		switch op {
		case "Floor":
			out.f[k] = float32(math.Floor(float64(v)))
		case "Ceil":
			out.f[k] = float32(math.Ceil(float64(v)))
		case "Sqrt":
			out.f[k] = float32(math.Sqrt(float64(v)))
		case "Neg":
			out.f[k] = -v
		}
	}
	return out, nil
}
