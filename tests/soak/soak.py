#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""soak.py -- make soak: ringo-echo and ringo-pool under hostile, changing
load for SOAK_SECONDS, sampled every second.

    make soak [SOAK_SECONDS=600]
    python3 tests/soak/soak.py --build build --seconds 600 --out build/soak --docs docs

Both servers run at once, each with its own clients (threads of this
program, plain sockets, Python's standard library only):

  echo   churn (connect, echo 1 B..64 KiB, check it, close), half-closes
         (send, shut the write side, read the echo to EOF), resets (send,
         close with SO_LINGER 0), slowloris (a byte a second on up to 200
         sockets, each held 5-20 s), slow readers (flood without reading,
         then read a little and leave), random bytes, and every 10 s a
         burst of 500 idle connections held 3 s;
  pool   good requests (GET /healthz, POST /v1/hash, GET /v1/files/...,
         each answer checked), random bytes, slowloris heads, requests
         cut by a half-close or a reset, pipelined bursts, idle bursts.

Every second it samples each server's RSS, open descriptors and threads
(/proc) and goroutines (ringo-echo's --stats line; ringo-pool's
ringo_runtime_goroutines in /metrics).  The soak passes when:
  - no echo came back wrong and no good request failed;
  - once the load stops and the servers' timeouts have run, descriptors
    and goroutines are back within a few of where they started;
  - RSS does not grow: its peak in the last third of the load is at most
    1.5 times (+16 MiB) its peak in the first third;
  - both servers are alive and answer at the end.
It writes OUT/samples.csv, OUT/soak.gp, the plot DOCS/soak.png (gnuplot)
and DOCS/soak.md, and exits 0 on a pass, 1 on a fail.
"""

import argparse
import os
import random
import re
import resource
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

stop = threading.Event()
lock = threading.Lock()
counts = {}


def count(name, n=1):
    with lock:
        counts[name] = counts.get(name, 0) + n


def dial(port, timeout=10.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return s


def recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        b = s.recv(n - len(buf))
        if not b:
            break
        buf += b
    return bytes(buf)


def rst_close(s):
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    s.close()


def loop(fn, *args):
    """Runs fn until the soak stops; an exception is one failed client."""
    rnd = random.Random()
    while not stop.is_set():
        try:
            fn(rnd, *args)
        except (OSError, ValueError) as e:
            count(fn.__name__ + " os-error")
            if not isinstance(e, (ConnectionError, socket.timeout)):
                count(fn.__name__ + " " + type(e).__name__)
            time.sleep(0.05)


# ---- echo clients ----------------------------------------------------


def echo_churn(rnd, port):
    data = rnd.randbytes(rnd.choice([1, 64, 1000, 16384, 65536]))
    with dial(port) as s:
        s.sendall(data)
        got = recv_exact(s, len(data))
    count("echo churn ok" if got == data else "echo MISMATCH")


def echo_halfclose(rnd, port):
    data = rnd.randbytes(rnd.randint(1, 200000))
    with dial(port) as s:
        out = bytearray()

        def reader():
            while True:
                b = s.recv(65536)
                if not b:
                    return
                out.extend(b)

        t = threading.Thread(target=reader)
        t.start()
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        t.join(30)
    count("echo half-close ok" if bytes(out) == data else "echo MISMATCH")


def echo_reset(rnd, port):
    s = dial(port)
    s.sendall(rnd.randbytes(rnd.randint(1, 100000)))
    if rnd.random() < 0.5:
        s.recv(100)
    rst_close(s)
    count("echo reset")


def garbage(rnd, port, half_close_share=1.0):
    """Random bytes; then, mostly, a half-close and the answer to EOF."""
    with dial(port) as s:
        s.sendall(rnd.randbytes(rnd.randint(1, 4096)))
        if rnd.random() < half_close_share:
            s.shutdown(socket.SHUT_WR)
            while s.recv(65536):
                pass


def echo_garbage(rnd, port):
    garbage(rnd, port, 0.5)
    count("echo garbage")


def echo_slow_reader(rnd, port):
    s = dial(port)
    s.setblocking(False)
    sent = 0
    block = rnd.randbytes(65536)
    t_end = time.time() + 2
    while time.time() < t_end and not stop.is_set():
        try:
            sent += s.send(block)
        except BlockingIOError:
            time.sleep(0.05)  # both buffers full: the server is stuck in write
    for _ in range(20):
        try:
            s.recv(1024)
        except BlockingIOError:
            pass
        time.sleep(0.01)
    rst_close(s) if rnd.random() < 0.5 else s.close()
    count("echo slow reader")


# ---- shared hostile clients ------------------------------------------


def slowloris(port, first, nmax=200):
    """Up to nmax sockets, each trickles a byte a second for 5-20 s."""
    rnd = random.Random()
    socks = []
    while not stop.is_set():
        now = time.time()
        while len(socks) < nmax:
            try:
                s = dial(port, 2)
                s.setblocking(False)
                socks.append([s, now + rnd.uniform(5, 20), 0])
            except OSError:
                count("slowloris connect failed")
                break
        keep = []
        for e in socks:
            s, until, i = e
            try:
                if now >= until:
                    s.close()
                    count("slowloris done")
                    continue
                b = first[i:i + 1] if i < len(first) else b"x"
                s.send(b)
                e[2] = i + 1
                keep.append(e)
            except OSError:
                s.close()
                count("slowloris closed by server")
        socks = keep
        stop.wait(1.0)
    for e in socks:
        e[0].close()


def idle_bursts(port, n=500):
    while not stop.wait(10.0):
        socks = []
        for _ in range(n):
            try:
                socks.append(dial(port, 2))
            except OSError:
                count("idle connect failed")
                break
        stop.wait(3.0)
        for s in socks:
            s.close()
        count("idle bursts")


# ---- pool clients ----------------------------------------------------


def http_read(s, buf=None):
    """One response: (status, body).  buf holds what was read past it
    (pipelined responses); pass the same one for the next."""
    if buf is None:
        buf = bytearray()
    while b"\r\n\r\n" not in buf:
        b = s.recv(4096)
        if not b:
            raise ConnectionError("closed in the head")
        buf += b
    i = buf.index(b"\r\n\r\n")
    h = bytes(buf[:i])
    del buf[:i + 4]
    status = int(h[9:12])
    m = re.search(rb"\r\nContent-Length: (\d+)", h, re.I)
    n = int(m.group(1)) if m else 0
    while len(buf) < n:
        b = s.recv(65536)
        if not b:
            raise ConnectionError("closed in the body")
        buf += b
    body = bytes(buf[:n])
    del buf[:n]
    return status, body


def pool_good(rnd, port):
    with dial(port) as s:
        buf = bytearray()
        for _ in range(rnd.randint(1, 5)):
            k = rnd.randint(0, 2)
            if k == 0:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                want = b"ok\n"
            elif k == 1:
                body = rnd.randbytes(rnd.randint(0, 8192))
                s.sendall(b"POST /v1/hash HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                          % len(body) + body)
                want = None
            else:
                s.sendall(b"GET /v1/files/soak.txt HTTP/1.1\r\nHost: x\r\n\r\n")
                want = b"soak\n"
            st, body = http_read(s, buf)
            if st != 200 or (want is not None and body != want):
                count("pool BAD ANSWER")
                return
        count("pool good ok")


def pool_garbage(rnd, port):
    garbage(rnd, port)
    count("pool garbage")


def pool_cut(rnd, port):
    s = dial(port)
    req = (b"POST /v1/hash HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"
           + rnd.randbytes(rnd.randint(0, 50000)))
    s.sendall(req[:rnd.randint(1, len(req))])
    if rnd.random() < 0.5:
        s.shutdown(socket.SHUT_WR)
        try:
            while s.recv(65536):
                pass
        except OSError:
            pass
        s.close()
    else:
        rst_close(s)
    count("pool cut")


def pool_pipelined(rnd, port):
    n = rnd.randint(2, 50)
    with dial(port) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * n)
        buf = bytearray()
        for _ in range(n):
            st, _ = http_read(s, buf)
            if st != 200:
                count("pool BAD ANSWER")
                return
    count("pool pipelined ok")


# ---- servers and samples ---------------------------------------------


class Server:
    def __init__(self, name, argv, env):
        self.name = name
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  env=env)
        self.port = None
        self.goroutines = None
        self.log = []
        line = self.p.stdout.readline().decode(errors="replace")
        self.log.append(line)
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        while not m and line:
            line = self.p.stdout.readline().decode(errors="replace")
            self.log.append(line)
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if not m:
            raise SystemExit("%s did not start:\n%s" % (name, "".join(self.log)))
        self.port = int(m.group(1))
        threading.Thread(target=self.read_out, daemon=True).start()

    def read_out(self):
        for raw in self.p.stdout:
            line = raw.decode(errors="replace")
            m = re.search(r"stats goroutines (\d+)", line)
            if m:
                self.goroutines = int(m.group(1))
            else:
                self.log.append(line)

    def proc(self):
        st = {}
        with open("/proc/%d/status" % self.p.pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                st[k] = v.strip()
        rss = int(st["VmRSS"].split()[0]) / 1024.0
        fds = len(os.listdir("/proc/%d/fd" % self.p.pid))
        return rss, fds, int(st["Threads"])

    def pool_goroutines(self):
        with dial(self.port, 5) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            st, body = http_read(s)
        m = re.search(rb"^ringo_runtime_goroutines (\d+)", body, re.M)
        return int(m.group(1)) if m else None

    def sample(self):
        rss, fds, threads = self.proc()
        g = self.goroutines if self.name == "echo" else self.pool_goroutines()
        return rss, fds, threads, g

    def answers(self):
        with dial(self.port, 5) as s:
            if self.name == "echo":
                s.sendall(b"still there?")
                return recv_exact(s, 12) == b"still there?"
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            return http_read(s) == (200, b"ok\n")

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        return self.p.returncode


def plot(out, docs, rows):
    gp = os.path.join(out, "soak.gp")
    png = os.path.join(docs, "soak.png")
    csv = os.path.join(out, "samples.csv")
    with open(gp, "w") as f:
        f.write("""set terminal pngcairo size 1000,800 font ",10"
set output '%s'
set datafile separator ','
set key top left
set grid
set xlabel 'seconds'
set multiplot layout 3,1 title 'make soak: ringo-echo and ringo-pool under hostile, changing load'
set ylabel 'RSS (MiB)'
plot '%s' using 1:2 skip 1 with lines lw 2 title 'echo', '' using 1:6 skip 1 with lines lw 2 title 'pool'
set ylabel 'open fds'
plot '%s' using 1:3 skip 1 with lines lw 2 title 'echo', '' using 1:7 skip 1 with lines lw 2 title 'pool'
set ylabel 'goroutines'
plot '%s' using 1:5 skip 1 with lines lw 2 title 'echo', '' using 1:9 skip 1 with lines lw 2 title 'pool'
unset multiplot
""" % (png, csv, csv, csv))
    r = subprocess.run(["gnuplot", gp], capture_output=True, text=True)
    if r.returncode != 0:
        print("soak: gnuplot failed: " + r.stderr.strip())
        return None
    return png


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--out", default="build/soak")
    ap.add_argument("--docs", default="docs")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))

    root = os.path.join(a.out, "root")
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "soak.txt"), "w") as f:
        f.write("soak\n")
    env = dict(os.environ, RINGO_PROCS="2")
    echo = Server("echo", [os.path.join(a.build, "ringo-echo"), "--addr", "127.0.0.1:0",
                           "--procs", "2", "--stats", "1", "--grace", "2"], env)
    pool = Server("pool", [os.path.join(a.build, "ringo-pool"), "--addr", "127.0.0.1:0",
                           "--procs", "2", "--rate", "0", "--root", root,
                           "--header-timeout", "3s", "--idle-timeout", "5s", "--grace", "2s"],
                  env)
    time.sleep(1.5)  # echo's first stats line
    base = {s.name: s.sample() for s in (echo, pool)}

    threads = []

    def start(fn, *args):
        t = threading.Thread(target=fn, args=args, daemon=True)
        t.start()
        threads.append(t)

    e, p = echo.port, pool.port
    for _ in range(6):
        start(loop, echo_churn, e)
    for fn in (echo_halfclose, echo_halfclose, echo_reset, echo_reset, echo_garbage,
               echo_slow_reader, echo_slow_reader):
        start(loop, fn, e)
    start(slowloris, e, b"x" * 1000)
    start(idle_bursts, e)
    for _ in range(4):
        start(loop, pool_good, p)
    for fn in (pool_garbage, pool_cut, pool_cut, pool_pipelined):
        start(loop, fn, p)
    start(slowloris, p, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"y" * 1000)
    start(idle_bursts, p)

    rows = []
    t0 = time.time()
    print("soak: %d s, echo on :%d, pool on :%d; sampling every second" % (a.seconds, e, p))
    load_end = t0 + a.seconds
    phase = "load"
    settle_end = None
    while True:
        now = time.time()
        if phase == "load" and now >= load_end:
            stop.set()
            phase = "settle"
            settle_end = now + 12  # pool's header and idle timeouts, echo's slow peers
        if phase == "settle" and now >= settle_end:
            break
        row = [round(now - t0, 1)]
        for s in (echo, pool):
            row += list(s.sample())
        row.append(phase)
        rows.append(row)
        if int(row[0]) % 30 == 0:
            print("soak: t=%4.0fs echo rss %.1f MiB fds %d goroutines %s | pool rss %.1f MiB "
                  "fds %d goroutines %s" % (row[0], row[1], row[2], row[4], row[5], row[6],
                                            row[8]))
        time.sleep(max(0.0, 1.0 - (time.time() - now)))

    with open(os.path.join(a.out, "samples.csv"), "w") as f:
        f.write("t,echo_rss_mib,echo_fds,echo_threads,echo_goroutines,"
                "pool_rss_mib,pool_fds,pool_threads,pool_goroutines,phase\n")
        for r in rows:
            f.write(",".join(str(x) for x in r) + "\n")

    failures = []
    load = [r for r in rows if r[-1] == "load"]
    end = rows[-1]
    third = max(1, len(load) // 3)
    for name, off in (("echo", 1), ("pool", 5)):
        b = base[name]
        rss_first = max(r[off] for r in load[:third])
        rss_last = max(r[off] for r in load[-third:])
        if rss_last > rss_first * 1.5 + 16:
            failures.append("%s RSS grew: peak %.1f MiB in the first third, %.1f in the last"
                            % (name, rss_first, rss_last))
        if end[off + 1] > b[1] + 4:
            failures.append("%s fds %d at the end, %d at the start" % (name, end[off + 1], b[1]))
        if end[off + 3] is None or b[3] is None or end[off + 3] > b[3] + 4:
            failures.append("%s goroutines %s at the end, %s at the start"
                            % (name, end[off + 3], b[3]))
    for s in (echo, pool):
        try:
            if s.p.poll() is not None or not s.answers():
                failures.append("%s does not answer at the end" % s.name)
        except OSError as ex:
            failures.append("%s does not answer at the end: %s" % (s.name, ex))
    bad = {k: v for k, v in counts.items() if "MISMATCH" in k or "BAD" in k}
    if bad:
        failures.append("wrong answers: %s" % bad)
    rc_echo, rc_pool = echo.stop(), pool.stop()
    if rc_echo != 0 or rc_pool != 0:
        failures.append("exit status: echo %s, pool %s" % (rc_echo, rc_pool))

    png = plot(a.out, a.docs, rows)

    def peak(off):
        return max(r[off] for r in load if r[off] is not None)

    summary = []
    for name, off in (("ringo-echo", 1), ("ringo-pool", 5)):
        b = base[name.split("-")[1]]
        summary.append("| %s | %.1f / %.1f / %.1f | %d / %d / %d | %s / %s / %s |" % (
            name, b[0], peak(off), end[off], b[1], peak(off + 1), end[off + 1],
            b[3], peak(off + 3), end[off + 3]))
    verdict = "PASS" if not failures else "FAIL"
    client_lines = ["- %s: %d" % (k, v) for k, v in sorted(counts.items())]
    md = """# Soak: ringo-echo and ringo-pool under hostile load

Result: **%s** (%s s of load, then 12 s to settle; %s UTC, %s).

    make soak SOAK_SECONDS=%d
    # = python3 tests/soak/soak.py --build %s --seconds %d --out %s --docs %s

Both servers ran at once on 2 Ps (`RINGO_PROCS=2`), each under its own mix
of clients: churning echoes, half-closes, resets, slowloris, slow readers,
random bytes and bursts of 500 idle connections for ringo-echo; good
requests (answers checked), random bytes, slowloris heads, requests cut by
a half-close or a reset, pipelined bursts and idle bursts for ringo-pool
(`tests/soak/soak.py` says exactly what each does).  RSS, descriptors and
goroutines were sampled every second (`%s/samples.csv`):

| server | RSS MiB: start / peak under load / end | fds: start / peak / end | goroutines: start / peak / end |
| --- | --- | --- | --- |
%s

![RSS, fds and goroutines over the soak](soak.png)

The soak passes when no echo comes back wrong and no good request fails,
descriptors and goroutines return within 4 of where they started once the
load stops, RSS's peak in the last third of the load is at most 1.5 times
(+16 MiB) its peak in the first third, and both servers answer at the end
and exit 0 on SIGTERM.%s

Clients (counts of what they did; "os-error" is a connection the server
closed or reset, which hostile clients expect):

%s
""" % (verdict, int(a.seconds), time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
       os.uname().machine + ", " + str(os.cpu_count()) + " CPUs", int(a.seconds), a.build,
       int(a.seconds), a.out, a.docs, a.out, "\n".join(summary),
       "" if not failures else "\n\nFailures:\n\n" + "\n".join("- " + f for f in failures),
       "\n".join(client_lines))
    with open(os.path.join(a.docs, "soak.md"), "w") as f:
        f.write(md)
    print("\n".join(summary))
    for line in client_lines:
        print("  " + line)
    print("soak: plot %s, report %s" % (png, os.path.join(a.docs, "soak.md")))
    for f in failures:
        print("soak: FAIL: " + f)
    print("soak: %s" % verdict)
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
