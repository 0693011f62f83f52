// SPDX-License-Identifier: MIT
// switch: two goroutines on one P (GOMAXPROCS(1)) calling runtime.Gosched()
// in a loop. Reports ns per switch = elapsed / total Gosched calls.
// The main goroutine is one of the two, so exactly two are runnable.
// Ringo side: tests/bench/bench_switch.c.
package main

import (
	"flag"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
)

func main() {
	n := flag.Int("n", 2000000, "Gosched calls per goroutine")
	flag.Parse()
	runtime.GOMAXPROCS(1)

	var done int32
	var calls int64
	start := time.Now()
	go func() {
		for i := 0; i < *n; i++ {
			runtime.Gosched()
		}
		atomic.AddInt64(&calls, int64(*n))
		atomic.StoreInt32(&done, 1)
	}()
	for i := 0; i < *n; i++ {
		runtime.Gosched()
	}
	atomic.AddInt64(&calls, int64(*n)) // main's own calls
	extra := int64(0)
	for atomic.LoadInt32(&done) == 0 {
		runtime.Gosched()
		extra++
	}
	d := time.Since(start)
	total := atomic.LoadInt64(&calls) + extra
	fmt.Printf("RESULT name=switch impl=go value=%.1f unit=ns/op\n",
		float64(d.Nanoseconds())/float64(total))
}
