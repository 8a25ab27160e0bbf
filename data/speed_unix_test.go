//go:build unix

package data

import (
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestBuiltinSpeed checks that the 50000 training images of Builtin can
// be generated in well under 5 s on 2 cores. It measures process CPU
// time, which other processes competing for the cores inflate much less
// than wall time.
func TestBuiltinSpeed(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	if raceEnabled {
		t.Skip("CPU-time bound is meaningless under the race detector")
	}
	const n = 10000
	s := Builtin(BuiltinOptions{TrainSize: n}).Train
	workers := runtime.GOMAXPROCS(0)
	start, cpu0 := time.Now(), cpuTime(t)
	var wg sync.WaitGroup
	for g := 0; g < workers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			dst := make([]float32, 3*32*32)
			for i := g; i < n; i += workers {
				if err := s.Read(i, nil, dst); err != nil {
					t.Error(err)
				}
			}
		}(g)
	}
	wg.Wait()
	wall, cpu := time.Since(start), cpuTime(t)-cpu0
	per := cpu / n
	t.Logf("%d images: %v wall on %d threads, %v CPU (%v/image); 50000 images on 2 idle cores: %.2fs",
		n, wall.Round(time.Millisecond), workers, cpu.Round(time.Millisecond), per, (per * 50000 / 2).Seconds())
	// The brief is "well under 5 s"; measured about 2.2-2.7 s. The bound
	// leaves room for a machine loaded by other processes.
	if per*50000/2 > 5*time.Second {
		t.Errorf("50000 images would take %v on 2 cores, want < 5s", per*50000/2)
	}
}
