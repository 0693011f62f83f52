// SPDX-License-Identifier: MIT
// mutex: 4 goroutines incrementing one counter under a sync.Mutex, N/4
// increments each. GOMAXPROCS is left to the environment (the harness
// sets GOMAXPROCS=2). Reports ns per increment.
// Ringo side: tests/bench/bench_mutex.c (later).
package main

import (
	"flag"
	"fmt"
	"sync"
	"time"
)

func main() {
	n := flag.Int("n", 10000000, "increments in total")
	flag.Parse()
	const workers = 4
	per := *n / workers
	var mu sync.Mutex
	var counter int64
	var wg sync.WaitGroup
	wg.Add(workers)
	start := time.Now()
	for w := 0; w < workers; w++ {
		go func() {
			for i := 0; i < per; i++ {
				mu.Lock()
				counter++
				mu.Unlock()
			}
			wg.Done()
		}()
	}
	wg.Wait()
	d := time.Since(start)
	if counter != int64(per*workers) {
		panic("lost increments")
	}
	fmt.Printf("RESULT name=mutex impl=go value=%.1f unit=ns/op\n",
		float64(d.Nanoseconds())/float64(per*workers))
}
