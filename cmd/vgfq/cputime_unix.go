//go:build unix

package main

import (
	"syscall"
	"time"
)

// processCPUTime returns the user+system CPU time the process has used so far (benchmarks
// report it next to wall-clock throughput: on a shared machine it is the steadier number).
func processCPUTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
