// SPDX-License-Identifier: MIT
// buffered: one producer, one consumer, channel of int with capacity 1024.
// Reports ns per element (elapsed until the consumer has all N / N).
// Ringo side: tests/bench/bench_buffered.c (later).
package main

import (
	"flag"
	"fmt"
	"time"
)

func main() {
	n := flag.Int("n", 5000000, "elements")
	flag.Parse()
	ch := make(chan int, 1024)
	done := make(chan int64)
	start := time.Now()
	go func() {
		var sum int64
		for v := range ch {
			sum += int64(v)
		}
		done <- sum
	}()
	go func() {
		for i := 0; i < *n; i++ {
			ch <- i
		}
		close(ch)
	}()
	sum := <-done
	d := time.Since(start)
	if want := int64(*n) * int64(*n-1) / 2; sum != want {
		panic(fmt.Sprintf("sum %d, want %d", sum, want))
	}
	fmt.Printf("RESULT name=buffered impl=go value=%.1f unit=ns/op\n",
		float64(d.Nanoseconds())/float64(*n))
}
