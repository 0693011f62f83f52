// SPDX-License-Identifier: MIT
// parked: N goroutines (default 1,000,000) parked on a channel receive.
// Reports resident memory per goroutine in bytes:
// (VmRSS once all are parked - VmRSS before) / N, from /proc/self/status.
//
// Each goroutine calls wg.Done() and then blocks on <-ch; after wg.Wait()
// main sleeps until NumGoroutine() counts them all and a little more, so
// every goroutine has reached the receive and parked.
//
// The GC is switched off while spawning: with it on, spawning 1M goroutines
// takes 3-11 s on 2 cores (each cycle rescans every stack) instead of
// ~1.5 s. Before measuring, debug.FreeOSMemory() collects and returns free
// heap to the kernel, so the figure is Go's steady state (the lowest and
// most stable one: ~2,690 bytes/g with Go 1.19 on amd64, vs ~2,710-2,740
// without it) — the strict side for ringo's ratio.
// Ringo side: tests/bench/bench_parked.c.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
)

// status returns a kB field of /proc/self/status in bytes, -1 if absent.
func status(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		panic(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, field+":") {
			fs := strings.Fields(line[len(field)+1:])
			v, err := strconv.ParseInt(fs[0], 10, 64)
			if err != nil {
				panic(err)
			}
			return v * 1024
		}
	}
	return -1
}

func main() {
	n := flag.Int("n", 1000000, "goroutines to park")
	flag.Parse()
	ch := make(chan struct{})
	var wg sync.WaitGroup

	debug.FreeOSMemory()
	rss0, pte0 := status("VmRSS"), status("VmPTE")
	gcpct := debug.SetGCPercent(-1)
	start := time.Now()
	wg.Add(*n)
	for i := 0; i < *n; i++ {
		go func() {
			wg.Done()
			<-ch
		}()
	}
	wg.Wait()
	// wg.Done() runs just before the receive; let the last ones reach it.
	for runtime.NumGoroutine() < *n+1 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(10 * time.Millisecond)
	elapsed := time.Since(start)
	debug.SetGCPercent(gcpct)
	debug.FreeOSMemory()
	rss1, pte1 := status("VmRSS"), status("VmPTE")

	fmt.Printf("parked: n=%d spawn+park=%.0f ms rss_before=%d rss_after=%d "+
		"pte_per_g=%.1f bytes\n", *n, float64(elapsed.Microseconds())/1000,
		rss0, rss1, float64(pte1-pte0)/float64(*n))
	fmt.Printf("RESULT name=parked impl=go value=%.0f unit=bytes/g\n",
		float64(rss1-rss0)/float64(*n))
	close(ch)
}
