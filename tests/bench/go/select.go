// SPDX-License-Identifier: MIT
// select: one consumer selecting over two buffered channels (capacity 1024
// each) fed by two producers, N/2 elements each. Reports ns per received
// element. Ringo side: tests/bench/bench_select.c (later).
package main

import (
	"flag"
	"fmt"
	"time"
)

func produce(ch chan<- int, n int) {
	for i := 0; i < n; i++ {
		ch <- i
	}
}

func main() {
	n := flag.Int("n", 2000000, "elements in total")
	flag.Parse()
	half := *n / 2
	total := 2 * half
	a := make(chan int, 1024)
	b := make(chan int, 1024)
	start := time.Now()
	go produce(a, half)
	go produce(b, half)
	var fromA, fromB int
	for fromA+fromB < total {
		select {
		case <-a:
			fromA++
		case <-b:
			fromB++
		}
	}
	d := time.Since(start)
	if fromA != half || fromB != half {
		panic("lost elements")
	}
	fmt.Printf("RESULT name=select impl=go value=%.1f unit=ns/op\n",
		float64(d.Nanoseconds())/float64(total))
}
