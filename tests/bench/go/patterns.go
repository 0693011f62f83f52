// SPDX-License-Identifier: MIT
// patterns: the Go side of tests/bench/bench_patterns.c, one workload per
// run:  go_patterns WORKLOAD [-n N]. Uses Debian's golang.org/x/time/rate
// and golang.org/x/sync (built with GOPATH=/usr/share/gocode). See
// bench_patterns.c for what each workload does; they match one for one.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"
	"golang.org/x/time/rate"
)

func result(name string, v float64, unit string) {
	fmt.Printf("RESULT name=%s impl=go value=%.1f unit=%s\n", name, v, unit)
}

func nsPer(t0 time.Time, n int) float64 {
	return float64(time.Since(t0).Nanoseconds()) / float64(n)
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: go_patterns WORKLOAD [-n N]")
		os.Exit(2)
	}
	wl := os.Args[1]
	fs := flag.NewFlagSet(wl, flag.ExitOnError)
	nArg := fs.Int("n", 0, "iterations (default: the workload's)")
	fs.Parse(os.Args[2:])
	n := func(def int) int {
		if *nArg > 0 {
			return *nArg
		}
		return def
	}
	switch wl {
	case "timer_stop":
		N := n(1000000)
		ts := make([]*time.Timer, N)
		t0 := time.Now()
		for i := 0; i < N; i++ {
			ts[i] = time.NewTimer(time.Second + time.Duration(i*7919%1000)*time.Millisecond)
		}
		for i := 0; i < N; i++ {
			ts[i].Stop()
		}
		result(wl, nsPer(t0, N), "ns/op")
	case "timer_fire":
		N := n(1000000)
		ts := make([]*time.Timer, N)
		t0 := time.Now()
		for i := 0; i < N; i++ {
			ts[i] = time.NewTimer(time.Millisecond + time.Duration(i%1000)*time.Microsecond)
		}
		for i := 0; i < N; i++ {
			<-ts[i].C
		}
		result(wl, nsPer(t0, N), "ns/op")
	case "ticker_p99":
		N := n(2000)
		d := time.Millisecond
		late := make([]int64, N)
		t0 := time.Now()
		tk := time.NewTicker(d)
		k := int64(0)
		for i := 0; i < N; i++ {
			<-tk.C
			now := time.Since(t0)
			due := int64(now / d)
			if due > k+1 {
				k = due
			} else {
				k++
			}
			late[i] = int64(now) - k*int64(d)
			if late[i] < 0 {
				late[i] = 0
			}
		}
		tk.Stop()
		sort.Slice(late, func(a, b int) bool { return late[a] < late[b] })
		fmt.Printf("ticker: p50 %.1f us, p99 %.1f us, max %.1f us\n", float64(late[N/2])/1e3,
			float64(late[N*99/100])/1e3, float64(late[N-1])/1e3)
		result(wl, float64(late[N*99/100])/1e3, "us")
	case "limiter", "limiter_4g":
		g := 1
		N := n(10000000)
		if wl == "limiter_4g" {
			g = 4
			N = n(4000000)
		}
		lim := rate.NewLimiter(1e6, 100)
		per := N / g
		var wg sync.WaitGroup
		var allowed int64
		wg.Add(g)
		t0 := time.Now()
		for i := 0; i < g; i++ {
			go func() {
				ok := int64(0)
				for j := 0; j < per; j++ {
					if lim.Allow() {
						ok++
					}
				}
				atomic.AddInt64(&allowed, ok)
				wg.Done()
			}()
		}
		wg.Wait()
		r := nsPer(t0, per*g)
		fmt.Printf("%s: allowed %d of %d\n", wl, allowed, per*g)
		result(wl, r, "ns/op")
	case "keyed_100k":
		// The seed's per-user limiter: a map of limiters under a mutex.
		N := n(2000000)
		var mu sync.Mutex
		m := make(map[uint32]*rate.Limiter)
		x := uint32(1)
		ok := 0
		t0 := time.Now()
		for i := 0; i < N; i++ {
			x = x*1664525 + 1013904223
			key := (x >> 8) % 100000
			mu.Lock()
			l, found := m[key]
			if !found {
				l = rate.NewLimiter(1, 5)
				m[key] = l
			}
			mu.Unlock()
			if l.Allow() {
				ok++
			}
		}
		r := nsPer(t0, N)
		fmt.Printf("keyed: allowed %d of %d, keys %d\n", ok, N, len(m))
		result(wl, r, "ns/op")
	case "sema":
		N := n(10000000)
		s := semaphore.NewWeighted(10)
		ctx := context.Background()
		t0 := time.Now()
		for i := 0; i < N; i++ {
			s.Acquire(ctx, 1)
			s.Release(1)
		}
		result(wl, nsPer(t0, N), "ns/op")
	case "errgroup":
		N := n(200000)
		rounds := N / 10000
		if rounds == 0 {
			rounds = 1
		}
		t0 := time.Now()
		for r := 0; r < rounds; r++ {
			g, _ := errgroup.WithContext(context.Background())
			for i := 0; i < 10000; i++ {
				g.Go(func() error { return nil })
			}
			g.Wait()
		}
		result(wl, nsPer(t0, rounds*10000), "ns/op")
	case "pool":
		// The seed's worker pool: a jobs channel, workers ranging over it.
		N := n(1000000)
		var sum int64
		t0 := time.Now()
		jobs := make(chan func(), 256)
		var wg sync.WaitGroup
		wg.Add(4)
		for w := 0; w < 4; w++ {
			go func() {
				for j := range jobs {
					j()
				}
				wg.Done()
			}()
		}
		job := func() { atomic.AddInt64(&sum, 1) }
		for i := 0; i < N; i++ {
			jobs <- job
		}
		close(jobs)
		wg.Wait()
		r := nsPer(t0, N)
		if sum != int64(N) {
			panic("pool: lost jobs")
		}
		result(wl, r, "ns/op")
	default:
		fmt.Fprintf(os.Stderr, "go_patterns: unknown workload %s\n", wl)
		os.Exit(2)
	}
}
