package engine

import "sync"

// bufPool recycles float32 buffers that the engine alone holds, so that a training loop does
// not allocate its gradients anew at every step: Backward returns the gradients of interior
// Vars (which it frees anyway) and gradOf takes buffers of the same length back, zeroed. The
// pool keeps at most poolCap bytes; buffers beyond that are left to the garbage collector.
var bufPool struct {
	sync.Mutex
	free  map[int][][]float32
	bytes int
}

const poolCap = 512 << 20

// getBuf returns a zeroed buffer of n elements, recycled when one is free.
func getBuf(n int) []float32 {
	bufPool.Lock()
	l := bufPool.free[n]
	if len(l) == 0 {
		bufPool.Unlock()
		return make([]float32, n)
	}
	b := l[len(l)-1]
	bufPool.free[n] = l[:len(l)-1]
	bufPool.bytes -= 4 * n
	bufPool.Unlock()
	clear(b)
	return b
}

// putBufs hands buffers back; the caller guarantees that nothing else refers to them and that
// no two of them share memory.
func putBufs(bufs [][]float32) {
	bufPool.Lock()
	defer bufPool.Unlock()
	if bufPool.free == nil {
		bufPool.free = map[int][][]float32{}
	}
	for _, b := range bufs {
		if len(b) < 1024 || bufPool.bytes+4*len(b) > poolCap {
			continue
		}
		bufPool.free[len(b)] = append(bufPool.free[len(b)], b[:len(b):len(b)])
		bufPool.bytes += 4 * len(b)
	}
}
