// SPDX-License-Identifier: MIT
// fileio: concurrent file reads. 64 goroutines each read all of 32 files
// of 256 KiB (page-cached after the first pass) with os.ReadFile, in a
// different order each; -n passes. Reports ns per file read.
// Ringo side: tests/bench/bench_fileio.c.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

const (
	nFiles   = 32
	fileSize = 256 << 10
	workers  = 64
)

func main() {
	n := flag.Int("n", 4, "passes over the files per goroutine")
	flag.Parse()
	dir, err := os.MkdirTemp("", "ringo-fileio-go")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	data := make([]byte, fileSize)
	for i := range data {
		data[i] = byte(i * 7)
	}
	names := make([]string, nFiles)
	for i := range names {
		names[i] = filepath.Join(dir, fmt.Sprintf("f%02d", i))
		if err := os.WriteFile(names[i], data, 0o600); err != nil {
			panic(err)
		}
	}
	var wg sync.WaitGroup
	var bad int64
	var mu sync.Mutex
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for p := 0; p < *n; p++ {
				for i := 0; i < nFiles; i++ {
					b, err := os.ReadFile(names[(i+w)%nFiles])
					if err != nil || len(b) != fileSize {
						mu.Lock()
						bad++
						mu.Unlock()
					}
				}
			}
		}(w)
	}
	wg.Wait()
	d := time.Since(start)
	if bad != 0 {
		fmt.Fprintf(os.Stderr, "fileio: %d bad reads\n", bad)
		os.Exit(1)
	}
	reads := workers * nFiles * *n
	fmt.Printf("fileio: %d reads of %d KiB in %v\n", reads, fileSize>>10, d)
	fmt.Printf("RESULT name=fileio impl=go value=%.1f unit=ns/op\n", float64(d.Nanoseconds())/float64(reads))
}
