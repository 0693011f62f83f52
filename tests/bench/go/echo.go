// SPDX-License-Identifier: MIT
// Command echo is the Go peer of ringo's echo benchmark: a TCP echo server
// with one goroutine per connection, each copying what it reads straight
// back (the io.Copy loop, written out with its own buffer).
//
//	go_echo [-addr HOST:PORT]    (default 127.0.0.1:7003)
//
// Go sets TCP_NODELAY on accepted connections by default, like the C peers.
// GOMAXPROCS is Go's default: the number of CPUs.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func serve(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 16384)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // io.EOF or a reset: the client is gone
		}
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:7003", "listen address HOST:PORT")
	flag.Parse()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "go_echo: cannot listen on %s: %v\n", *addr, err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "go_echo: listening on %s\n", *addr)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		ln.Close()
	}()

	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				break // listener closed by the signal handler
			}
			// e.g. EMFILE: back off briefly instead of spinning
			time.Sleep(5 * time.Millisecond)
			continue
		}
		go serve(c)
	}
	fmt.Fprintln(os.Stderr, "go_echo: exiting")
}
