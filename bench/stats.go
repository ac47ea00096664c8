package main

import (
	"math"
	"slices"
	"time"
)

// latencies are the recorded durations of one measurement.
type latencies []time.Duration

// quantile q (0..1) by the nearest-rank method; 0 when empty.
func (l latencies) quantile(q float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
