//go:build race

package data

// raceEnabled: the race detector slows code 5-20x, so CPU-time bounds do not apply.
const raceEnabled = true
