package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidemark/tidemark/domain/simulate"
)

// callbackPath is where a delivery is posted.
func callbackPath(d simulate.Delivery) string {
	return "/v1/callbacks/" + d.Source
}

// do sends one request with net/http (for probes, not load) and reads the
// answer whole; status 0 is a transport error.
func do(ctx context.Context, client *http.Client, method, url string, body []byte) (int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// loadResult is what a load run saw in its measured window.
type loadResult struct {
	Requests  int64
	Elapsed   time.Duration // from the window's start to the last counted answer
	Lat       latencies
	ByStatus  map[int]int64
	FirstErr  string
	Exhausted bool // the pool ran out before the window ended
}

func (r loadResult) rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// failures counts answers other than 200.
func (r loadResult) failures() int64 {
	var n int64
	for code, c := range r.ByStatus {
		if code != http.StatusOK {
			n += c
		}
	}
	return n
}

func (r loadResult) statusSummary() string {
	var parts []string
	for _, code := range slices.Sorted(maps.Keys(r.ByStatus)) {
		name := fmt.Sprint(code)
		if code == 0 {
			name = "no answer"
		}
		parts = append(parts, fmt.Sprintf("%s ×%d", name, r.ByStatus[code]))
	}
	s := strings.Join(parts, ", ")
	if r.FirstErr != "" {
		s += "; first failure: " + r.FirstErr
	}
	return s
}

// tally is one sender's share, merged at the end (no lock on the hot path).
type tally struct {
	n        int64
	lat      latencies
	byStatus map[int]int64
	firstErr string
	last     time.Time
}

func (t *tally) record(status int, err error, took time.Duration, done time.Time) {
	if t.byStatus == nil {
		t.byStatus = map[int]int64{}
	}
	t.n++
	t.lat = append(t.lat, took)
	t.byStatus[status]++
	if t.firstErr == "" && (err != nil || status != http.StatusOK) {
		if err != nil {
			t.firstErr = err.Error()
		} else {
			t.firstErr = fmt.Sprintf("HTTP %d", status)
		}
	}
	if done.After(t.last) {
		t.last = done
	}
}

func merge(ts []tally, windowStart time.Time) loadResult {
	r := loadResult{ByStatus: map[int]int64{}}
	var last time.Time
	for _, t := range ts {
		r.Requests += t.n
		r.Lat = append(r.Lat, t.lat...)
		for k, v := range t.byStatus {
			r.ByStatus[k] += v
		}
		if r.FirstErr == "" {
			r.FirstErr = t.firstErr
		}
		if t.last.After(last) {
			last = t.last
		}
	}
	if !last.IsZero() {
		r.Elapsed = last.Sub(windowStart)
	}
	return r
}

// closedLoop drives base with conns workers, each sending its next
// delivery as soon as its previous one is answered, over its own
// keep-alive connection: warmup first (not counted), then the window.
// Deliveries are taken from pool in order; with cycle the pool is reused
// (for servers that store nothing), else running out ends the run.
func closedLoop(ctx context.Context, base string, pool []simulate.Delivery, cycle bool, conns int, warmup, window time.Duration) loadResult {
	client, err := newLoadClient(base, conns)
	if err != nil {
		return loadResult{FirstErr: err.Error()}
	}
	defer client.close()
	var next atomic.Int64
	var exhausted atomic.Bool
	start := time.Now()
	windowStart := start.Add(warmup)
	end := windowStart.Add(window)
	ts := make([]tally, conns)
	var wg sync.WaitGroup
	for w := range ts {
		wg.Go(func() {
			t := &ts[w]
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(pool) {
					if !cycle {
						exhausted.Store(true)
						return
					}
					i %= len(pool)
				}
				sent := time.Now()
				if !sent.Before(end) {
					return
				}
				d := pool[i]
				status, err := client.do(ctx, http.MethodPost, callbackPath(d), d.Body)
				done := time.Now()
				if !sent.Before(windowStart) {
					t.record(status, err, done.Sub(sent), done)
				}
			}
		})
	}
	wg.Wait()
	r := merge(ts, windowStart)
	r.Exhausted = exhausted.Load()
	return r
}

// paced calls fn(i, due) for i = 0, 1, ... at rate per second for the
// window, each call in its own goroutine (open loop: a slow answer does
// not delay the next send). At most maxInFlight calls run at once; a call
// due while that many are running is not made and counted as skipped.
// fn measures from due, so waiting to be sent counts in its latency.
func paced(ctx context.Context, rate float64, window time.Duration, maxInFlight int, fn func(i int, due time.Time)) (sent, skipped int) {
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(window)
	for i := 0; ctx.Err() == nil; i++ {
		due := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
		if !due.Before(end) {
			break
		}
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
		select {
		case sem <- struct{}{}:
		default:
			skipped++
			continue
		}
		sent++
		wg.Go(func() {
			defer func() { <-sem }()
			fn(i, due)
		})
	}
	wg.Wait()
	return sent, skipped
}
