// SPDX-License-Identifier: MIT
// workerpool: a producer goroutine feeds N jobs (ints) into a jobs channel
// (capacity 256); 2×GOMAXPROCS workers each answer job*2+1 on a results
// channel (capacity 256); main collects all N results. Reports ns per job.
// Ringo side: tests/bench/bench_workerpool.c (later).
package main

import (
	"flag"
	"fmt"
	"runtime"
	"sync"
	"time"
)

func main() {
	n := flag.Int("n", 1000000, "jobs")
	flag.Parse()
	workers := 2 * runtime.GOMAXPROCS(0)
	jobs := make(chan int, 256)
	results := make(chan int, 256)
	var wg sync.WaitGroup
	start := time.Now()
	wg.Add(workers)
	for w := 0; w < workers; w++ {
		go func() {
			for j := range jobs {
				results <- j*2 + 1
			}
			wg.Done()
		}()
	}
	go func() {
		for i := 0; i < *n; i++ {
			jobs <- i
		}
		close(jobs)
	}()
	var sum int64
	for i := 0; i < *n; i++ {
		sum += int64(<-results)
	}
	wg.Wait()
	d := time.Since(start)
	if want := int64(*n) * int64(*n); sum != want { // sum of 2i+1 for i<n
		panic(fmt.Sprintf("sum %d, want %d", sum, want))
	}
	fmt.Printf("workerpool: workers=%d jobs=%d\n", workers, *n)
	fmt.Printf("RESULT name=workerpool impl=go value=%.1f unit=ns/op\n",
		float64(d.Nanoseconds())/float64(*n))
}
