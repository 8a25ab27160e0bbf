package kern

import (
	"runtime"
	"sync"
	"sync/atomic"
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

// ParallelForDynamic splits [0, n) into chunks of chunk items (the last may be shorter) and hands
// them out to up to Threads() goroutines as they become free, calling fn(lo, hi) once per chunk.
// Unlike ParallelFor the chunk boundaries do not depend on the thread count, and a goroutine that
// is slowed down by other load takes fewer chunks.
func ParallelForDynamic(n, chunk int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if chunk < 1 {
		chunk = 1
	}
	chunks := (n + chunk - 1) / chunk
	workers := min(Threads(), chunks)
	if workers <= 1 {
		for lo := 0; lo < n; lo += chunk {
			fn(lo, min(lo+chunk, n))
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	wg.Add(workers)
	for w := 0; w < workers; w++ {
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= chunks {
					return
				}
				lo := i * chunk
				fn(lo, min(lo+chunk, n))
			}
		}()
	}
	wg.Wait()
}
