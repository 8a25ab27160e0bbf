package kern

import (
	"runtime"
	"sync"
)

// Threads returns the number of worker goroutines kernels use (GOMAXPROCS).
func Threads() int { return runtime.GOMAXPROCS(0) }

// ParallelFor splits [0, n) into at most Threads() contiguous chunks of at least minChunk items
// and calls fn(lo, hi) for each chunk concurrently, returning when all are done.
func ParallelFor(n, minChunk int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if minChunk < 1 {
		minChunk = 1
	}
	workers := Threads()
	if max := (n + minChunk - 1) / minChunk; workers > max {
		workers = max
	}
	if workers <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			fn(lo, hi)
		}(lo, hi)
	}
	wg.Wait()
}
