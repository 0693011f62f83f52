// SPDX-License-Identifier: MIT
// ratediff: a script of random calls (AllowN, ReserveN, CancelAt,
// TokensAt, SetLimitAt, SetBurstAt at explicit times) on x/time/rate,
// printing every answer; tests/bench/bench_ratediff.c makes the same calls
// on rg_limiter and tests/bench/ratediff.sh compares the two outputs.
// Each reservation is cancelled at most once (a second CancelAt gives
// tokens back again in x/time/rate; ringo's does nothing).
package main

import (
	"fmt"
	"golang.org/x/time/rate"
	"time"
)

func main() {
	seed := uint64(12345)
	rnd := func() uint64 { seed = seed*6364136223846793005 + 1442695040888963407; return seed >> 33 }
	base := time.Unix(1000, 0)
	for trial := 0; trial < 200; trial++ {
		rates := []float64{10, 3, 0.7, 1000, 0, 7.77}
		r := rates[rnd()%6]
		b := int(rnd() % 6)
		l := rate.NewLimiter(rate.Limit(r), b)
		var res []*rate.Reservation
		var ts []int64
		done := map[int]bool{}
		t := int64(0)
		for step := 0; step < 60; step++ {
			t += int64(rnd()%300)*int64(time.Millisecond) - 50*int64(time.Millisecond)
			if t < 0 {
				t = 0
			}
			tt := base.Add(time.Duration(t))
			switch rnd() % 7 {
			case 0, 1:
				n := int(rnd() % 4)
				fmt.Printf("A %v\n", l.AllowN(tt, n))
			case 2:
				n := int(rnd() % 4)
				x := l.ReserveN(tt, n)
				res = append(res, x)
				ts = append(ts, t)
				fmt.Printf("R %v %d\n", x.OK(), x.DelayFrom(tt))
			case 3:
				if len(res) > 0 {
					i := int(rnd()) % len(res)
					if !done[i] {
						res[i].CancelAt(tt)
						done[i] = true
					}
					fmt.Printf("C\n")
				}
			case 4:
				fmt.Printf("T %.9g\n", l.TokensAt(tt))
			case 5:
				nr := rates[rnd()%6]
				l.SetLimitAt(tt, rate.Limit(nr))
				fmt.Printf("L\n")
			case 6:
				nb := int(rnd() % 6)
				l.SetBurstAt(tt, nb)
				fmt.Printf("B\n")
			}
		}
	}
}
