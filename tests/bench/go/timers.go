// SPDX-License-Identifier: MIT
// timers: 10,000 goroutines (-g) each sleep N rounds (-n, default 10), each
// time for a different duration between 1 and 10 ms (goroutine i, round r:
// 1 ms + ((i*37 + r*1009) mod 9000) µs). Reports the mean oversleep
// (actual sleep - requested) in ns per sleep, and prints the total wall
// time on an informational line. Ringo side: tests/bench/bench_timers.c.
package main

import (
	"flag"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

func dur(i, r int) time.Duration {
	return time.Millisecond + time.Duration((i*37+r*1009)%9000)*time.Microsecond
}

func main() {
	rounds := flag.Int("n", 10, "sleeps per goroutine")
	g := flag.Int("g", 10000, "goroutines")
	flag.Parse()
	var over, maxOver int64
	var wg sync.WaitGroup
	wg.Add(*g)
	start := time.Now()
	for i := 0; i < *g; i++ {
		go func(i int) {
			var mine, mx int64
			for r := 0; r < *rounds; r++ {
				d := dur(i, r)
				t0 := time.Now()
				time.Sleep(d)
				o := int64(time.Since(t0) - d)
				mine += o
				if o > mx {
					mx = o
				}
			}
			atomic.AddInt64(&over, mine)
			for {
				m := atomic.LoadInt64(&maxOver)
				if mx <= m || atomic.CompareAndSwapInt64(&maxOver, m, mx) {
					break
				}
			}
			wg.Done()
		}(i)
	}
	wg.Wait()
	wall := time.Since(start)
	sleeps := int64(*g) * int64(*rounds)
	fmt.Printf("timers: goroutines=%d rounds=%d wall=%.1f ms max_oversleep=%.0f us\n",
		*g, *rounds, float64(wall.Microseconds())/1000, float64(maxOver)/1000)
	fmt.Printf("RESULT name=timers impl=go value=%.0f unit=ns/sleep\n",
		float64(over)/float64(sleeps))
}
