// SPDX-License-Identifier: MIT
// pingpong: round trip over unbuffered channels between two goroutines
// (main sends on ping, an echo goroutine answers on pong).
// Reports ns per round trip. Ringo side: tests/bench/bench_pingpong.c (later).
package main

import (
	"flag"
	"fmt"
	"time"
)

func main() {
	n := flag.Int("n", 500000, "round trips")
	flag.Parse()
	ping := make(chan int)
	pong := make(chan int)
	go func() {
		for v := range ping {
			pong <- v
		}
	}()
	for i := 0; i < 1000; i++ { // warm-up
		ping <- i
		<-pong
	}
	start := time.Now()
	for i := 0; i < *n; i++ {
		ping <- i
		<-pong
	}
	d := time.Since(start)
	close(ping)
	fmt.Printf("RESULT name=pingpong impl=go value=%.1f unit=ns/op\n",
		float64(d.Nanoseconds())/float64(*n))
}
