package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tidemark/tidemark/domain/energy"
	"github.com/tidemark/tidemark/domain/simulate"
)

// simOptions configure runSimulation.
type simOptions struct {
	URL          string // base URL of the service, e.g. http://localhost:8080
	Sim          simulate.Config
	Count        int           // deliveries to send; 0 = no limit (Duration must be set)
	Duration     time.Duration // stop generating after this long; 0 = no limit (Count must be set)
	Rate         float64       // deliveries per second; 0 = as fast as the server answers
	Concurrency  int           // requests in flight at most (default 16)
	CarwashToken string        // sent as ?token= on the car-wash URL
	Timeout      time.Duration // per request (default 10 s)
	Verbose      bool          // a line per delivery on out
	Client       *http.Client  // nil: a keep-alive client sized to Concurrency
}

// simResult is what runSimulation saw.
type simResult struct {
	Sent        int64
	ByStatus    map[int]int // HTTP status → answers; 0 = no answer (transport error)
	Unexpected  int         // answers other than the delivery's Expect, transport errors included
	ValidFailed int         // valid callbacks (retries included) not answered 200
	Duration    time.Duration
	Latencies   latencySummary
	Counts      simulate.Counts // what the generator produced (equal to Sent deliveries)
	Samples     []string        // the first unexpected answers, for the report
	Sim         *simulate.Sim   // the generator, for its Truth (nil when the options were refused)
}

type latencySummary struct{ P50, P99, Max time.Duration }

// Throughput is deliveries answered per second.
func (r simResult) Throughput() float64 {
	if r.Duration <= 0 {
		return 0
	}
	return float64(r.Sent) / r.Duration.Seconds()
}

const maxSamples = 5

// runSimulation sends the simulator's deliveries to opts.URL and tallies the
// answers. One goroutine generates (the simulator is sequential) and hands
// each delivery to one of Concurrency senders; a delivery taken from the
// simulator is always sent, even after ctx is cancelled, so sim's truth
// covers exactly what was sent (simResult.Sim.Truth).
func runSimulation(ctx context.Context, opts simOptions, out io.Writer) (simResult, error) {
	if err := opts.validate(); err != nil {
		return simResult{}, err
	}
	base := strings.TrimRight(opts.URL, "/")
	urls := map[string]string{
		simulate.SourceCarwash: base + "/v1/callbacks/carwash",
		simulate.SourceEnergy:  base + "/v1/callbacks/energy",
	}
	if opts.CarwashToken != "" {
		urls[simulate.SourceCarwash] += "?token=" + url.QueryEscape(opts.CarwashToken)
	}
	client := opts.Client
	if client == nil {
		tr := &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        2 * opts.Concurrency,
			MaxIdleConnsPerHost: opts.Concurrency,
			IdleConnTimeout:     90 * time.Second,
		}
		defer tr.CloseIdleConnections()
		client = &http.Client{Transport: tr}
	}
	sim := simulate.New(opts.Sim)

	work := make(chan simulate.Delivery)
	tallies := make([]senderTally, opts.Concurrency)
	var outMu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for i := range tallies {
		wg.Go(func() {
			t := &tallies[i]
			t.byStatus = map[int]int{}
			for d := range work {
				t.send(ctx, client, urls[d.Source], d, opts, out, &outMu)
			}
		})
	}
	genErr := generate(ctx, sim, opts, start, work)
	close(work)
	wg.Wait()

	res := simResult{ByStatus: map[int]int{}, Duration: time.Since(start), Counts: sim.Counts(), Sim: sim}
	var lat []time.Duration
	for _, t := range tallies {
		res.Sent += t.sent
		res.Unexpected += t.unexpected
		res.ValidFailed += t.validFailed
		for k, v := range t.byStatus {
			res.ByStatus[k] += v
		}
		lat = append(lat, t.latencies...)
		for _, s := range t.samples {
			if len(res.Samples) < maxSamples {
				res.Samples = append(res.Samples, s)
			}
		}
	}
	res.Latencies = summarize(lat)
	return res, genErr
}

func (o *simOptions) validate() error {
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--url %q: want http(s)://host[:port]", o.URL)
	}
	if o.Count < 0 || o.Duration < 0 || (o.Count == 0 && o.Duration == 0) {
		return errors.New("give a positive --count or --duration")
	}
	if !(o.Rate >= 0) {
		return fmt.Errorf("--rate %v: want ≥ 0", o.Rate)
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 16
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	return o.Sim.Validate()
}

// generate feeds work until Count deliveries, Duration or ctx ends it,
// pacing them at Rate.
func generate(ctx context.Context, sim *simulate.Sim, opts simOptions, start time.Time, work chan<- simulate.Delivery) error {
	var timer *time.Timer
	for i := 0; opts.Count == 0 || i < opts.Count; i++ {
		if ctx.Err() != nil || (opts.Duration > 0 && time.Since(start) >= opts.Duration) {
			return nil //nolint:nilerr // an interrupt ends a simulation as its duration does
		}
		if opts.Rate > 0 {
			due := start.Add(time.Duration(float64(i) / opts.Rate * float64(time.Second)))
			if wait := time.Until(due); wait > 0 {
				if timer == nil {
					timer = time.NewTimer(wait)
				} else {
					timer.Reset(wait)
				}
				select {
				case <-ctx.Done():
					timer.Stop()
					return nil
				case <-timer.C:
				}
			}
		}
		d, ok := sim.Next()
		if !ok {
			return sim.Err()
		}
		work <- d // the senders never stop before work is closed
	}
	return nil
}

// senderTally is one sender's share of the result (merged at the end, so
// senders share no lock on the hot path).
type senderTally struct {
	sent                    int64
	unexpected, validFailed int
	byStatus                map[int]int
	latencies               []time.Duration
	samples                 []string
}

func (t *senderTally) send(ctx context.Context, client *http.Client, target string, d simulate.Delivery, opts simOptions, out io.Writer, outMu *sync.Mutex) {
	// A delivery taken from the simulator is sent even when ctx is cancelled:
	// the truth counts it.
	reqCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opts.Timeout)
	defer cancel()
	status, answer, took := post(reqCtx, client, target, d)
	t.sent++
	t.byStatus[status]++
	t.latencies = append(t.latencies, took)
	if status != d.Expect {
		t.unexpected++
		if len(t.samples) < maxSamples {
			t.samples = append(t.samples, fmt.Sprintf("%s %s (%s): expected %d, got %d %s", d.Source, d.Key, d.Kind, d.Expect, status, answer))
		}
	}
	if !d.Bad && status != http.StatusOK {
		t.validFailed++
	}
	if opts.Verbose {
		flags := ""
		if d.Dup {
			flags = " retry"
		}
		outMu.Lock()
		fmt.Fprintf(out, "%-7s %-14s %-26s expect %d got %d %8s%s\n", d.Source, d.Key, d.Kind, d.Expect, status, took.Round(time.Microsecond), flags)
		outMu.Unlock()
	}
}

// post sends one delivery; status 0 and the error text when there is no answer.
func post(ctx context.Context, client *http.Client, target string, d simulate.Delivery) (int, string, time.Duration) {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(d.Body))
	if err != nil {
		return 0, err.Error(), time.Since(start)
	}
	ct := d.ContentType
	if ct == "" {
		ct = "application/json"
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set("User-Agent", "tidemark-simulate")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err.Error(), time.Since(start)
	}
	// Read the answer whole so the connection is reused; keep a little for the report.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	took := time.Since(start)
	answer := strings.TrimSpace(string(body))
	if len(answer) > 200 {
		answer = answer[:200] + "…"
	}
	return resp.StatusCode, answer, took
}

func summarize(lat []time.Duration) latencySummary {
	if len(lat) == 0 {
		return latencySummary{}
	}
	slices.Sort(lat)
	at := func(q float64) time.Duration { return lat[min(len(lat)-1, int(q*float64(len(lat))))] }
	return latencySummary{P50: at(0.50), P99: at(0.99), Max: lat[len(lat)-1]}
}

// cmdSimulate sends realistic platform callbacks to a running service and
// reports the answers; with --truth it writes what the read models must
// show afterwards. It fails when any valid callback was not answered 200.
func cmdSimulate(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("simulate", "simulate --url URL [--count N | --duration D] [flags]", e)
	var o simOptions
	var truthFile, start, scheme string
	fs.StringVar(&o.URL, "url", "http://localhost:8080", "base URL of the service")
	fs.IntVar(&o.Sim.Devices, "devices", 60, "car-wash devices (machine types in turn)")
	fs.IntVar(&o.Sim.Orders, "orders", 20, "energy orders active at a time")
	fs.IntVar(&o.Count, "count", 0, "deliveries to send (default 1000 unless --duration is given)")
	fs.DurationVar(&o.Duration, "duration", 0, "send for this long (with --count: whichever ends first)")
	fs.Float64Var(&o.Rate, "rate", 0, "deliveries per second (0: as fast as possible)")
	fs.IntVar(&o.Concurrency, "concurrency", 16, "requests in flight at most")
	fs.Uint64Var(&o.Sim.Seed, "seed", 1, "random seed: the same seed and start send the same traffic")
	fs.StringVar(&start, "start", "", "callTime of the first car-wash callback, RFC 3339 or 'now' (default "+simulate.DefaultStart.Format(time.RFC3339)+")")
	fs.DurationVar(&o.Sim.Step, "step", simulate.DefaultStep, "mean simulated time between two car-wash callbacks of the fleet")
	fs.Float64Var(&o.Sim.DuplicateRate, "dup-rate", 0.1, "share of valid callbacks retried 1 to 3 times")
	fs.Float64Var(&o.Sim.ReserializeRate, "reserialize-rate", 0.5, "share of retries re-serialised (other key order and spacing)")
	fs.Float64Var(&o.Sim.ReorderRate, "reorder-rate", 0.1, "share of deliveries sent out of order")
	fs.IntVar(&o.Sim.ReorderWindow, "reorder-window", simulate.DefaultReorderWindow, "deliveries a reordered one is chosen among")
	fs.Float64Var(&o.Sim.BadRate, "bad-rate", 0.02, "share of bad input (expected 4xx)")
	fs.Float64Var(&o.Sim.AnomalyRate, "anomaly-rate", 0.05, "share of energy orders with a billing anomaly")
	fs.StringVar(&o.Sim.EnergySecret, "energy-secret", e.getenv("TIDEMARK_ENERGY_SECRET"), "sign energy callbacks with this secret (env TIDEMARK_ENERGY_SECRET)")
	fs.StringVar(&scheme, "energy-sign-scheme", envOr(e.getenv, "TIDEMARK_ENERGY_SIGN_SCHEME", string(energy.DefaultScheme)), "md5-kv-sorted, md5-kv-sorted-raw, md5-json or none (env TIDEMARK_ENERGY_SIGN_SCHEME)")
	fs.StringVar(&o.CarwashToken, "carwash-token", e.getenv("TIDEMARK_CARWASH_TOKEN"), "?token= for the car-wash URL (env TIDEMARK_CARWASH_TOKEN)")
	fs.DurationVar(&o.Timeout, "timeout", 10*time.Second, "per request")
	fs.StringVar(&truthFile, "truth", "", "write the expected read models (per device and order) to this JSON file")
	fs.BoolVar(&o.Verbose, "verbose", false, "print a line per delivery")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := noArgs(fs, suggestSimFlag(fs)); err != nil {
		return err
	}
	if o.Count == 0 && o.Duration == 0 {
		o.Count = 1000
	}
	sc, err := energy.ParseScheme(scheme)
	if err != nil {
		return fmt.Errorf("--energy-sign-scheme: %w", err)
	}
	o.Sim.EnergyScheme = sc
	switch start {
	case "":
	case "now":
		o.Sim.Start = time.Now().UTC().Truncate(time.Millisecond)
	default:
		if o.Sim.Start, err = time.Parse(time.RFC3339Nano, start); err != nil {
			return fmt.Errorf("--start: %w", err)
		}
	}

	if err := checkSimFlags(fs, o); err != nil {
		return err
	}
	if err := o.validate(); err != nil {
		return err
	}
	res, err := runSimulation(ctx, o, e.stdout)
	if res.Sim != nil {
		printSummary(e.stdout, o, res)
	}
	if res.Sim != nil && truthFile != "" {
		if werr := writeTruthFile(truthFile, res.Sim); werr != nil {
			err = errors.Join(err, werr)
		} else {
			t := res.Sim.Truth()
			fmt.Fprintf(e.stdout, "  truth:      %s (%d devices, %d orders)\n", truthFile, len(t.Devices), len(t.Orders))
		}
	}
	if err != nil {
		return err
	}
	if res.ValidFailed > 0 {
		return fmt.Errorf("%d valid callbacks were not answered 200 (the truth does not hold for them)", res.ValidFailed)
	}
	return nil
}

// suggestSimFlag maps a stray argument of simulate to its flag: a URL to
// --url, a number to --count.
func suggestSimFlag(fs *flag.FlagSet) func(string) string {
	return func(arg string) string {
		if _, err := strconv.Atoi(arg); err == nil {
			return suggestFlag(fs, "count")(arg)
		}
		if strings.Contains(arg, "://") {
			return suggestFlag(fs, "url")(arg)
		}
		return ""
	}
}

// checkSimFlags refuses flag values out of range, naming the flag, before
// runSimulation's own checks (which would replace some by defaults and
// name none).
func checkSimFlags(fs *flag.FlagSet, o simOptions) error {
	unit := func(r float64) bool { return r >= 0 && r <= 1 } // false for NaN
	checks := []struct {
		flag string
		ok   bool
		want string
	}{
		{"devices", o.Sim.Devices >= 0 && o.Sim.Devices <= simulate.MaxDevices, fmt.Sprintf("0 to %d", simulate.MaxDevices)},
		{"orders", o.Sim.Orders >= 0, "at least 0"},
		{"devices", o.Sim.Devices > 0 || o.Sim.Orders != 0, "at least 1 with --orders 0 (nothing to simulate)"},
		{"start", o.Sim.Start.IsZero() || o.Sim.Start.UnixMilli() > 0, "a time after 1970"},
		{"count", o.Count >= 0, "at least 0"},
		{"duration", o.Duration >= 0, "at least 0"},
		{"rate", o.Rate >= 0 && !math.IsInf(o.Rate, 0), "a finite number ≥ 0 (0: as fast as possible)"},
		{"concurrency", o.Concurrency >= 1, "at least 1"},
		{"step", o.Sim.Step >= 0, "at least 0"},
		{"dup-rate", unit(o.Sim.DuplicateRate), "0..1"},
		{"reserialize-rate", unit(o.Sim.ReserializeRate), "0..1"},
		{"reorder-rate", unit(o.Sim.ReorderRate), "0..1"},
		{"reorder-window", o.Sim.ReorderWindow >= 0, "at least 0"},
		{"bad-rate", unit(o.Sim.BadRate), "0..1"},
		{"anomaly-rate", unit(o.Sim.AnomalyRate), "0..1"},
		{"timeout", o.Timeout > 0, "a positive duration"},
	}
	var errs []error
	for _, c := range checks {
		if !c.ok {
			errs = append(errs, fmt.Errorf("--%s %s: want %s", c.flag, fs.Lookup(c.flag).Value, c.want))
		}
	}
	return errors.Join(errs...)
}

func writeTruthFile(path string, sim *simulate.Sim) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--truth: %w", err)
	}
	if err := sim.WriteTruth(f); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("--truth: %w", err)
	}
	return nil
}

func printSummary(w io.Writer, o simOptions, r simResult) {
	c := r.Counts
	fmt.Fprintf(w, "tidemark simulate: %d deliveries to %s in %s (%.0f/s), concurrency %d\n",
		r.Sent, o.URL, r.Duration.Round(time.Millisecond), r.Throughput(), o.Concurrency)
	fmt.Fprintf(w, "  sent:       %d car-wash, %d energy; %d distinct callbacks, %d retries (%d re-serialised), %d bad, %d reordered\n",
		c.Carwash, c.Energy, c.Events, c.Duplicates, c.Reserialized, c.Bad, c.Reordered)
	codes := make([]int, 0, len(r.ByStatus))
	for k := range r.ByStatus {
		codes = append(codes, k)
	}
	slices.Sort(codes)
	parts := make([]string, 0, len(codes))
	for _, k := range codes {
		name := fmt.Sprint(k)
		if k == 0 {
			name = "no answer"
		}
		parts = append(parts, fmt.Sprintf("%s ×%d", name, r.ByStatus[k]))
	}
	fmt.Fprintf(w, "  answers:    %s\n", strings.Join(parts, ", "))
	fmt.Fprintf(w, "  unexpected: %d (valid callbacks not answered 200: %d)\n", r.Unexpected, r.ValidFailed)
	for _, s := range r.Samples {
		fmt.Fprintf(w, "    %s\n", s)
	}
	fmt.Fprintf(w, "  latency:    p50 %s, p99 %s, max %s\n", r.Latencies.P50.Round(time.Microsecond),
		r.Latencies.P99.Round(time.Microsecond), r.Latencies.Max.Round(time.Microsecond))
}
