// SPDX-License-Identifier: MIT
// exec: the Go side of tests/bench/bench_exec.c (tests/bench/exec.sh),
// one workload per run:  go_exec WORKLOAD [-n N].  seq, par16, seq_1g,
// par16_1g: exec.Command("/bin/true").Run() one after the other or from
// 16 goroutines, spawns/s, with 1 GiB resident for _1g; many: N cat
// children alive at once on one shared pipe, each waited for by its
// goroutine, ms until all are reaped.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var keep []byte

func result(name string, v float64, unit string) {
	fmt.Printf("RESULT name=%s impl=go value=%.1f unit=%s\n", name, v, unit)
}

func one() bool {
	return exec.Command("/bin/true").Run() == nil
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: go_exec WORKLOAD [-n N]")
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
	if strings.HasSuffix(wl, "_1g") {
		keep = make([]byte, 1<<30)
		// In 4 KiB pages, as bench_exec.c's mmap gets them: Go's
		// runtime asks for transparent huge pages for its heap
		// (THP "madvise" here), which left it 512 page-table
		// entries to ringo's 262,144, a fixture that differed.
		syscall.Madvise(keep, syscall.MADV_NOHUGEPAGE)
		for i := 0; i < len(keep); i += 4096 {
			keep[i] = byte(i)
		}
	}
	switch {
	case strings.HasPrefix(wl, "seq"):
		N := n(2000)
		t0 := time.Now()
		for i := 0; i < N; i++ {
			if !one() {
				os.Exit(1)
			}
		}
		result(wl, float64(N)/time.Since(t0).Seconds(), "spawns/s")
	case strings.HasPrefix(wl, "par16"):
		N := n(4000) / 16
		var wg sync.WaitGroup
		var bad atomic.Int64
		t0 := time.Now()
		for g := 0; g < 16; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < N; i++ {
					if !one() {
						bad.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		if bad.Load() != 0 {
			os.Exit(1)
		}
		result(wl, float64(N*16)/time.Since(t0).Seconds(), "spawns/s")
	case wl == "many":
		N := n(1000)
		r, w, err := os.Pipe()
		if err != nil {
			os.Exit(1)
		}
		var started, done sync.WaitGroup
		var bad atomic.Int64
		started.Add(N)
		done.Add(N)
		t0 := time.Now()
		for i := 0; i < N; i++ {
			go func() {
				defer done.Done()
				c := exec.Command("/bin/cat")
				c.Stdin = r
				err := c.Start()
				started.Done()
				if err != nil || c.Wait() != nil {
					bad.Add(1)
				}
			}()
		}
		started.Wait()
		w.Close()
		done.Wait()
		if bad.Load() != 0 {
			os.Exit(1)
		}
		result(wl, float64(time.Since(t0).Microseconds())/1000, "ms")
	default:
		fmt.Fprintln(os.Stderr, "go_exec: unknown workload", wl)
		os.Exit(2)
	}
}
