// SPDX-License-Identifier: MIT
// The Go peer of ringo-pool for the HTTP benchmarks (tests/bench/pool.sh):
// net/http with the same endpoints, limits and defaults, written as a Go
// programmer would with the standard library only (GOPATH-style build, no
// modules: x/time/rate and x/net/netutil are replaced by a few lines each).
//
//	POST /v1/hash?rounds=N   SHA-256 of the body iterated N times, on the pool
//	GET  /v1/sleep?ms=N      answers after N ms, on the pool
//	GET  /v1/files/PATH      a file under -root (no "..", no symlinks out)
//	POST /v1/exec/NAME       an -allow'ed program, body as stdin
//	GET  /metrics /healthz /readyz
//
// Pool: -workers goroutines reading a channel of capacity -queue; a full
// channel is a 503 (select with default).  Each request has a context with
// -timeout; past it, 504 and the job's context is cancelled.  Per-client
// token buckets (-rate, -burst) give 429.  -max-conns bounds connections
// as netutil.LimitListener does.  SIGTERM/SIGINT: srv.Shutdown with -grace.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var (
	addr          = flag.String("addr", "127.0.0.1:8081", "listen address")
	workers       = flag.Int("workers", 64, "jobs running at once")
	queue         = flag.Int("queue", 1024, "jobs waiting for a worker")
	timeout       = flag.Duration("timeout", 30*time.Second, "request deadline")
	rateFlag      = flag.Float64("rate", 100, "requests/s per client, 0: no limit")
	burst         = flag.Int("burst", 200, "bucket size per client")
	maxBody       = flag.Int64("max-body", 1<<20, "request body bytes")
	maxHeader     = flag.Int("max-header-bytes", 16<<10, "request header bytes")
	headerTimeout = flag.Duration("header-timeout", 10*time.Second, "header deadline")
	idleTimeout   = flag.Duration("idle-timeout", 60*time.Second, "keep-alive idle limit")
	maxConns      = flag.Int("max-conns", 10000, "open connections at most")
	grace         = flag.Duration("grace", 10*time.Second, "drain time")
	root          = flag.String("root", "", "files root")
	allow         = allowList{}
)

type allowList map[string]string

func (a allowList) String() string { return fmt.Sprint(map[string]string(a)) }
func (a allowList) Set(s string) error {
	i := strings.IndexByte(s, '=')
	if i <= 0 {
		return errors.New("want NAME=PATH")
	}
	a[s[:i]] = s[i+1:]
	return nil
}

// ---- pool ----

type job struct {
	ctx  context.Context
	run  func(ctx context.Context) (int, []byte, string)
	done chan struct{}
	code int
	out  []byte
	hdr  string
}

var jobs chan *job
var busy, queued int64

func worker() {
	for j := range jobs {
		atomic.AddInt64(&queued, -1)
		atomic.AddInt64(&busy, 1)
		if j.ctx.Err() != nil {
			j.code, j.out = 504, []byte("deadline exceeded\n")
		} else {
			j.code, j.out, j.hdr = j.run(j.ctx)
		}
		atomic.AddInt64(&busy, -1)
		close(j.done)
	}
}

func submit(w http.ResponseWriter, r *http.Request, run func(ctx context.Context) (int, []byte, string)) int {
	ctx, cancel := context.WithTimeout(r.Context(), *timeout)
	defer cancel()
	j := &job{ctx: ctx, run: run, done: make(chan struct{})}
	atomic.AddInt64(&queued, 1)
	select {
	case jobs <- j:
	default:
		atomic.AddInt64(&queued, -1)
		w.Header().Set("Retry-After", "1")
		http.Error(w, "all workers busy and the queue is full", 503)
		return 503
	}
	select {
	case <-j.done:
		if j.hdr != "" {
			w.Header().Set("X-Exit-Code", j.hdr)
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(j.out)))
		w.WriteHeader(j.code)
		w.Write(j.out)
		return j.code
	case <-ctx.Done():
		http.Error(w, "deadline exceeded", 504)
		return 504
	}
}

// ---- per-client token buckets ----

type bucket struct {
	tokens float64
	last   time.Time
}

var limMu sync.Mutex
var buckets = map[string]*bucket{}

func allowClient(r *http.Request) (bool, int) {
	if *rateFlag <= 0 {
		return true, 0
	}
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	now := time.Now()
	limMu.Lock()
	defer limMu.Unlock()
	b := buckets[host]
	if b == nil {
		if len(buckets) > 100000 {
			buckets = map[string]*bucket{}
		}
		b = &bucket{tokens: float64(*burst), last: now}
		buckets[host] = b
	}
	b.tokens = math.Min(float64(*burst), b.tokens+now.Sub(b.last).Seconds()**rateFlag)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, int(math.Max(1, math.Ceil(1 / *rateFlag)))
}

// ---- metrics ----

var endpoints = []string{"hash", "sleep", "files", "exec", "metrics", "healthz", "readyz", "other"}
var codes = []int{200, 400, 404, 405, 413, 429, 500, 502, 503, 504}
var bounds = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

var reqs [8][11]int64
var hist [8][19]int64
var draining int32

func count(ep, code int, d time.Duration) {
	ci := len(codes)
	for i, c := range codes {
		if c == code {
			ci = i
		}
	}
	atomic.AddInt64(&reqs[ep][ci], 1)
	b := 0
	for b < len(bounds) && d.Seconds() > bounds[b] {
		b++
	}
	atomic.AddInt64(&hist[ep][b], 1)
}

func metrics(w http.ResponseWriter) {
	var sb strings.Builder
	sb.WriteString("# TYPE ringo_pool_requests_total counter\n")
	for e, name := range endpoints {
		for c := range reqs[e] {
			if v := atomic.LoadInt64(&reqs[e][c]); v > 0 {
				code := "other"
				if c < len(codes) {
					code = strconv.Itoa(codes[c])
				}
				fmt.Fprintf(&sb, "ringo_pool_requests_total{endpoint=%q,code=%q} %d\n", name, code, v)
			}
		}
	}
	sb.WriteString("# TYPE ringo_pool_request_duration_seconds histogram\n")
	for e, name := range endpoints {
		var cum int64
		for b := range bounds {
			cum += atomic.LoadInt64(&hist[e][b])
			fmt.Fprintf(&sb, "ringo_pool_request_duration_seconds_bucket{endpoint=%q,le=\"%g\"} %d\n", name, bounds[b], cum)
		}
		cum += atomic.LoadInt64(&hist[e][len(bounds)])
		fmt.Fprintf(&sb, "ringo_pool_request_duration_seconds_bucket{endpoint=%q,le=\"+Inf\"} %d\n", name, cum)
	}
	fmt.Fprintf(&sb, "ringo_pool_workers %d\nringo_pool_workers_busy %d\nringo_pool_queue_depth %d\n", *workers, atomic.LoadInt64(&busy), atomic.LoadInt64(&queued))
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	io.WriteString(w, sb.String())
}

// ---- handlers ----

func param(r *http.Request, key string, lo, hi, def int64) (int64, bool) {
	s := r.URL.Query().Get(key)
	if s == "" {
		return def, def >= 0
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil && v >= lo && v <= hi
}

func hashJob(body []byte, rounds int64) func(context.Context) (int, []byte, string) {
	return func(ctx context.Context) (int, []byte, string) {
		sum := sha256.Sum256(body)
		for i := int64(1); i < rounds; i++ {
			if i%1024 == 0 && ctx.Err() != nil {
				return 504, []byte("deadline exceeded\n"), ""
			}
			sum = sha256.Sum256(sum[:])
		}
		return 200, []byte(hex.EncodeToString(sum[:]) + "\n"), ""
	}
}

func sleepJob(ms int64) func(context.Context) (int, []byte, string) {
	return func(ctx context.Context) (int, []byte, string) {
		t := time.NewTimer(time.Duration(ms) * time.Millisecond)
		defer t.Stop()
		select {
		case <-t.C:
			return 200, []byte(fmt.Sprintf("slept %d ms\n", ms)), ""
		case <-ctx.Done():
			return 504, []byte("deadline exceeded\n"), ""
		}
	}
}

func execJob(path, name string, body []byte) func(context.Context) (int, []byte, string) {
	return func(ctx context.Context) (int, []byte, string) {
		cmd := exec.CommandContext(ctx, path)
		cmd.Args = []string{name}
		cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C"}
		cmd.Stdin = strings.NewReader(string(body))
		out, err := cmd.Output()
		if ctx.Err() != nil {
			return 504, []byte("deadline exceeded: the process was killed\n"), ""
		}
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			return 500, []byte(err.Error() + "\n"), ""
		}
		return 200, out, strconv.Itoa(cmd.ProcessState.ExitCode())
	}
}

func serveFile(w http.ResponseWriter, r *http.Request, rel string) int {
	for _, c := range strings.Split(rel, "/") {
		if c == "" || c == "." || c == ".." {
			http.NotFound(w, r)
			return 404
		}
	}
	full := filepath.Join(*root, rel)
	real, err := filepath.EvalSymlinks(full)
	rootReal, _ := filepath.EvalSymlinks(*root)
	if *root == "" || err != nil || !strings.HasPrefix(real, rootReal+"/") {
		http.NotFound(w, r)
		return 404
	}
	f, err := os.Open(real)
	if err != nil {
		http.NotFound(w, r)
		return 404
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		http.NotFound(w, r)
		return 404
	}
	w.Header().Set("Content-Length", strconv.FormatInt(st.Size(), 10))
	io.Copy(w, f)
	return 200
}


func handler(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ep, code := len(endpoints)-1, 200
	p := r.URL.Path
	limited := func() bool {
		ok, after := allowClient(r)
		if !ok {
			w.Header().Set("Retry-After", strconv.Itoa(after))
			http.Error(w, "rate limit exceeded", 429)
			code = 429
		}
		return !ok
	}
	switch {
	case p == "/healthz":
		ep = 5
		io.WriteString(w, "ok\n")
	case p == "/readyz":
		ep = 6
		if atomic.LoadInt32(&draining) != 0 {
			code = 503
			http.Error(w, "draining", 503)
		} else {
			io.WriteString(w, "ready\n")
		}
	case p == "/metrics":
		ep = 4
		metrics(w)
	case p == "/v1/hash":
		ep = 0
		rounds, ok := param(r, "rounds", 1, 1000000, 1)
		if r.Method != "POST" {
			code = 405
			http.Error(w, "method not allowed", 405)
		} else if !ok {
			code = 400
			http.Error(w, "rounds must be an integer from 1 to 1000000", 400)
		} else if !limited() {
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, *maxBody))
			if err != nil {
				code = 413
				http.Error(w, "body too large", 413)
			} else {
				code = submit(w, r, hashJob(body, rounds))
			}
		}
	case p == "/v1/sleep":
		ep = 1
		ms, ok := param(r, "ms", 0, 60000, -1)
		if !ok {
			code = 400
			http.Error(w, "ms must be an integer from 0 to 60000", 400)
		} else if !limited() {
			code = submit(w, r, sleepJob(ms))
		}
	case strings.HasPrefix(p, "/v1/files/"):
		ep = 2
		if !limited() {
			code = serveFile(w, r, p[len("/v1/files/"):])
		}
	case strings.HasPrefix(p, "/v1/exec/"):
		ep = 3
		path, ok := allow[p[len("/v1/exec/"):]]
		if !ok {
			code = 404
			http.NotFound(w, r)
		} else if !limited() {
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, *maxBody))
			if err != nil {
				code = 413
				http.Error(w, "body too large", 413)
			} else {
				code = submit(w, r, execJob(path, p[len("/v1/exec/"):], body))
			}
		}
	default:
		code = 404
		http.NotFound(w, r)
	}
	count(ep, code, time.Since(start))
}

// limitListener: netutil.LimitListener in a few lines.
type limitListener struct {
	net.Listener
	sem chan struct{}
}

type limitConn struct {
	net.Conn
	once sync.Once
	sem  chan struct{}
}

func (l *limitListener) Accept() (net.Conn, error) {
	l.sem <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, sem: l.sem}, nil
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { <-c.sem })
	return err
}

func main() {
	flag.Var(allow, "allow", "NAME=PATH a program /v1/exec/NAME may run (repeatable)")
	flag.Parse()
	jobs = make(chan *job, *queue)
	for i := 0; i < *workers; i++ {
		go worker()
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(handler),
		ReadHeaderTimeout: *headerTimeout,
		IdleTimeout:       *idleTimeout,
		MaxHeaderBytes:    *maxHeader,
	}
	fmt.Printf("go-pool: listening on %s\n", ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
		atomic.StoreInt32(&draining, 1)
		sctx, cancel := context.WithTimeout(context.Background(), *grace)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	err = srv.Serve(&limitListener{Listener: ln, sem: make(chan struct{}, *maxConns)})
	if err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(1)
	}
	time.Sleep(10 * time.Millisecond)
	fmt.Println("go-pool: drained")
}
