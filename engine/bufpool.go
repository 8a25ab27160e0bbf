package engine

import "sync"

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
