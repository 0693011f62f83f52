// SPDX-License-Identifier: MIT
// spawn: start N goroutines that each call wg.Done(), wait for all.
// Reports ns per goroutine (start to finish of the whole batch / N).
// Ringo side: tests/bench/bench_spawn.c.
package main

import (
	"flag"
	"fmt"
	"sync"
	"time"
)

func batch(n int) time.Duration {
	var wg sync.WaitGroup
	wg.Add(n)
	start := time.Now()
	for i := 0; i < n; i++ {
		go func() { wg.Done() }()
	}
	wg.Wait()
	return time.Since(start)
}

func main() {
	n := flag.Int("n", 200000, "goroutines to start")
	flag.Parse()
	batch(*n / 10) // warm-up: grow the heap and the free-G lists once
	d := batch(*n)
	fmt.Printf("RESULT name=spawn impl=go value=%.1f unit=ns/op\n",
		float64(d.Nanoseconds())/float64(*n))
}
