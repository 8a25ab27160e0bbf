package engine

import (
	"sync"
	"unsafe"
)

// bufPool recycles float32 buffers that the engine alone holds, so that a training loop does
// not allocate its tensors anew at every step: Backward returns the gradients of interior Vars
// (which it frees anyway), BackwardFree also their values, operators their scratch buffers,
// and New and gradOf take buffers of the same length back, zeroed. There is one sync.Pool per
// buffer length, so the garbage collector may still drop buffers that stay unused (after
// training, say) instead of the pool holding them for good.
var bufPool struct {
	sync.Mutex
	bySize map[int]*sync.Pool
}

// minPooled is the smallest buffer worth recycling (4 KiB); smaller ones are left to the
// allocator.
const minPooled = 1024

func poolFor(n int, create bool) *sync.Pool {
	bufPool.Lock()
	defer bufPool.Unlock()
	p := bufPool.bySize[n]
	if p == nil && create {
		if bufPool.bySize == nil {
			bufPool.bySize = map[int]*sync.Pool{}
		}
		p = &sync.Pool{}
		bufPool.bySize[n] = p
	}
	return p
}

// getBuf returns a zeroed buffer of n elements, recycled when one is free.
func getBuf(n int) []float32 {
	if n >= minPooled {
		if p := poolFor(n, false); p != nil {
			if b, ok := p.Get().(*[]float32); ok {
				clear(*b)
				return *b
			}
		}
	}
	return make([]float32, n)
}

// getBufUninit is getBuf for a caller that overwrites every element: a recycled buffer is
// returned as it is, not cleared.
func getBufUninit(n int) []float32 {
	if n >= minPooled {
		if p := poolFor(n, false); p != nil {
			if b, ok := p.Get().(*[]float32); ok {
				return *b
			}
		}
	}
	return make([]float32, n)
}

// putBufs hands buffers back; the caller guarantees that nothing else refers to them and that
// no two of them share memory.
func putBufs(bufs [][]float32) {
	for _, b := range bufs {
		if len(b) < minPooled {
			continue
		}
		b = b[:len(b):len(b)]
		poolFor(len(b), true).Put(&b)
	}
}

// Overlaps reports whether the values of a and b share memory.
func Overlaps(a, b *Var) bool {
	if a == nil || b == nil || a.Val == nil || b.Val == nil || len(a.Val.Data) == 0 || len(b.Val.Data) == 0 {
		return false
	}
	alo := uintptr(unsafe.Pointer(unsafe.SliceData(a.Val.Data)))
	blo := uintptr(unsafe.Pointer(unsafe.SliceData(b.Val.Data)))
	return alo < blo+uintptr(len(b.Val.Data))*4 && blo < alo+uintptr(len(a.Val.Data))*4
}

// Recycle hands v's value buffer to the pool that later operators take their outputs from. The
// caller guarantees that nothing refers to that memory any more: no Var still in use shares it
// (see Overlaps), and no autograd graph holds v (neither v nor anything computed from it needs
// a gradient). v's value is emptied.
func Recycle(v *Var) {
	if v == nil || v.Val == nil || v.RequiresGrad {
		return
	}
	putBufs([][]float32{v.Val.Data})
	v.Val.Data = nil
}
