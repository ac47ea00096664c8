package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidemark/tidemark/domain/carwash"
	"github.com/tidemark/tidemark/domain/energy"
	"github.com/tidemark/tidemark/domain/simulate"
)

// relEnergySecret signs the simulated energy callbacks; every serve child
// checks it (TIDEMARK_ENERGY_SECRET), so the signature path is exercised.
const relEnergySecret = "reliability-secret"

// relSimConfig is valid traffic only (bad input has its own suite in api/),
// with retries, re-serialised retries, reordering and billing anomalies.
func relSimConfig(seed uint64, devices, orders int) simulate.Config {
	return simulate.Config{
		Seed: seed, Devices: devices, Orders: orders,
		EnergySecret: relEnergySecret, EnergyScheme: energy.DefaultScheme,
		DuplicateRate: 0.15, ReserializeRate: 0.5, ReorderRate: 0.2, AnomalyRate: 0.2,
	}
}

// relDelivery is one delivery and the id of the event the service derives
// from it (equal for every copy of a callback, however serialised).
type relDelivery struct {
	simulate.Delivery
	ID string
}

// relAnswer is what one POST got.
type relAnswer struct {
	Status     int // 0: no answer (connection refused or cut, timeout)
	RetryAfter string
	Err        string
	Start, End time.Time
}

// relSent is one delivery with its answer, for the time-window checks.
type relSent struct {
	D relDelivery
	A relAnswer
}

// relFeed hands out the simulator's deliveries to any number of senders
// and remembers every delivery handed out and every answer.
type relFeed struct {
	mu      sync.Mutex
	sim     *simulate.Sim
	limit   int // deliveries to hand out at most; 0 = no limit
	sent    []relDelivery
	acked   map[string]bool // event ids answered 200 at least once
	log     []relSent
	status  map[int]int
	decodeE []string // deliveries whose event id could not be derived (a test bug)
}

func newRelFeed(cfg simulate.Config, limit int) *relFeed {
	return &relFeed{sim: simulate.New(cfg), limit: limit, acked: map[string]bool{}, status: map[int]int{}}
}

// next returns the next delivery; false once the limit is reached.
func (f *relFeed) next() (relDelivery, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.limit > 0 && len(f.sent) >= f.limit {
		return relDelivery{}, false
	}
	d, ok := f.sim.Next()
	if !ok {
		f.decodeE = append(f.decodeE, fmt.Sprintf("simulator stopped: %v", f.sim.Err()))
		return relDelivery{}, false
	}
	id, err := relEventID(d)
	if err != nil {
		f.decodeE = append(f.decodeE, fmt.Sprintf("%s %s: %v", d.Source, d.Kind, err))
	}
	rd := relDelivery{Delivery: d, ID: id}
	f.sent = append(f.sent, rd)
	return rd, true
}

// relEventID derives a delivery's event id with the service's own decoders.
func relEventID(d simulate.Delivery) (string, error) {
	if d.Source == simulate.SourceCarwash {
		acc, err := carwash.Decode(d.Body)
		return acc.ID, err
	}
	acc, _, err := energy.Decoder{Scheme: energy.DefaultScheme, Secret: relEnergySecret}.Decode(d.Body)
	return acc.ID, err
}

func (f *relFeed) record(d relDelivery, a relAnswer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status[a.Status]++
	if a.Status == http.StatusOK {
		f.acked[d.ID] = true
	}
	f.log = append(f.log, relSent{D: d, A: a})
}

func (f *relFeed) ackCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.acked)
}

// ackedIDs is a copy of the event ids answered 200 so far.
func (f *relFeed) ackedIDs() map[string]bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.acked)
}

// answers is a copy of every delivery and answer so far, in answer order.
func (f *relFeed) answers() []relSent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.log)
}

func (f *relFeed) statuses() map[int]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.status)
}

// distinct returns one delivery per distinct event handed out, first copy
// first, in the order handed out.
func (f *relFeed) distinct() []relDelivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	seen := map[string]bool{}
	var out []relDelivery
	for _, d := range f.sent {
		if !seen[d.ID] {
			seen[d.ID] = true
			out = append(out, d)
		}
	}
	return out
}

// checkDecoded fails the test if an event id could not be derived.
func (f *relFeed) checkDecoded(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.decodeE) > 0 {
		t.Fatalf("%d simulated deliveries do not decode (test setup): %v", len(f.decodeE), f.decodeE[:min(5, len(f.decodeE))])
	}
}

// relPump sends deliveries from a feed to one service with a fixed number
// of workers until stopped or the feed runs dry.
type relPump struct {
	inflight atomic.Int64
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	client   *http.Client
}

// startPump starts workers senders to base. After an answer other than 200
// a worker waits errPause before its next delivery, as a platform backs off
// (it keeps an outage from turning into a busy loop).
func startPump(base string, workers int, errPause time.Duration, feed *relFeed) *relPump {
	ctx, cancel := context.WithCancel(context.Background())
	p := &relPump{cancel: cancel, client: relClient(workers)}
	for range workers {
		p.wg.Go(func() {
			for ctx.Err() == nil {
				d, ok := feed.next()
				if !ok {
					return
				}
				p.inflight.Add(1)
				a := postDelivery(p.client, base, d)
				p.inflight.Add(-1)
				feed.record(d, a)
				if a.Status != http.StatusOK && errPause > 0 {
					select {
					case <-ctx.Done():
					case <-time.After(errPause):
					}
				}
			}
		})
	}
	return p
}

// stop lets the requests in flight finish and returns when every worker is done.
func (p *relPump) stop() {
	p.cancel()
	p.wait()
}

func (p *relPump) wait() {
	p.wg.Wait()
	p.client.CloseIdleConnections()
}

func relClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 20 * time.Second,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 3 * time.Second}).DialContext,
			MaxIdleConns:        2 * conns,
			MaxIdleConnsPerHost: conns,
			IdleConnTimeout:     30 * time.Second,
		},
	}
}

// postDelivery sends one delivery to its callback URL.
func postDelivery(client *http.Client, base string, d relDelivery) relAnswer {
	a := relAnswer{Start: time.Now()}
	req, err := http.NewRequest(http.MethodPost, base+"/v1/callbacks/"+d.Source, bytes.NewReader(d.Body))
	if err != nil {
		a.Err = err.Error()
		a.End = time.Now()
		return a
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		a.Err = err.Error()
		a.End = time.Now()
		return a
	}
	// The answer counts only once it is read whole, as a platform sees it.
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	a.End = time.Now()
	if err != nil {
		a.Err = "reading the answer: " + err.Error()
		return a
	}
	a.Status = resp.StatusCode
	a.RetryAfter = resp.Header.Get("Retry-After")
	if a.Status != http.StatusOK {
		a.Err = string(bytes.TrimSpace(body))
	}
	return a
}

// resendUnacked delivers once more every event never answered 200, as the
// platform's retries would, and requires a 200 for each.
func resendUnacked(t *testing.T, base string, feed *relFeed) int {
	t.Helper()
	acked := feed.ackedIDs()
	var todo []relDelivery
	for _, d := range feed.distinct() {
		if !acked[d.ID] {
			todo = append(todo, d)
		}
	}
	client := relClient(8)
	defer client.CloseIdleConnections()
	work := make(chan relDelivery)
	var failed atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for range 8 {
		wg.Go(func() {
			for d := range work {
				a := postDelivery(client, base, d)
				feed.record(d, a)
				if a.Status != http.StatusOK {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%s %s: %d %s", d.Source, d.Kind, a.Status, a.Err))
				}
			}
		})
	}
	for _, d := range todo {
		work <- d
	}
	close(work)
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Fatalf("re-delivery of %d unacknowledged callbacks: %d not answered 200 (first: %v)", len(todo), n, firstErr.Load())
	}
	return len(todo)
}

// truth is the simulator's expected read models over everything handed out.
func (f *relFeed) truth() simulate.Truth {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sim.Truth()
}
