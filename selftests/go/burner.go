// SPDX-License-Identifier: GPL-2.0
//
// A CPU burner written in Go for the cgroup tests: a Go binary has its own
// runtime threads, a non-PIE layout and Go-mangled symbol names, so it checks
// that the per-cgroup class and the symbolized hot function hold for more
// than C.  Almost all its time is in burnCycles, which must not be inlined
// so that the sampled address falls inside a function named
// main.burnCycles.
package main

import (
	"fmt"
	"os"
)

var sink uint64

//go:noinline
func burnCycles(n uint64) uint64 {
	var x uint64
	for i := uint64(0); i < n; i++ {
		x += i * 2654435761
	}
	return x
}

func main() {
	// Say we are running, so the test can wait for the runtime to start.
	fmt.Fprintln(os.Stdout, "go-burner: burning")
	for {
		sink += burnCycles(100000000)
	}
}
