package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidemark/tidemark/adapters/sqlite"
	"github.com/tidemark/tidemark/domain"
)

// gatedStore is the real SQLite store with a gate in front of AppendBatch,
// so a test can hold a batch "in flight" and see how later callers queue.
type gatedStore struct {
	*sqlite.Store
	gate    chan struct{} // while open (not closed), AppendBatch waits on it
	entered chan int      // receives each batch's size as it arrives
	mu      sync.Mutex
	sizes   []int
}

func (g *gatedStore) AppendBatch(ctx context.Context, reqs []domain.AppendRequest) ([]domain.AppendResult, []error, error) {
	g.mu.Lock()
	g.sizes = append(g.sizes, len(reqs))
	g.mu.Unlock()
	select {
	case g.entered <- len(reqs):
	default:
	}
	<-g.gate
	return g.Store.AppendBatch(ctx, reqs)
}

func (g *gatedStore) batchSizes() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]int(nil), g.sizes...)
}

func newGated(t *testing.T) *gatedStore {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "e.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &gatedStore{Store: s, gate: make(chan struct{}), entered: make(chan int, 1)}
}

var counter atomic.Int64

func request(stream string) domain.AppendRequest {
	data := []byte(fmt.Sprintf(`{"n":%d}`, counter.Add(1)))
	return domain.AppendRequest{Stream: stream, Expected: domain.NoStream, Events: []domain.NewEvent{
		{ID: domain.EventID("groupcommit-test", data), Type: "test.Event", Data: data, Raw: data},
	}}
}

type callResult struct {
	res domain.AppendResult
	err error
}

func appendAsync(ctx context.Context, a *Appender, r domain.AppendRequest) chan callResult {
	out := make(chan callResult, 1)
	go func() {
		res, err := a.Append(ctx, r)
		out <- callResult{res, err}
	}()
	return out
}

// waitQueued waits until n requests sit in the queue.
func waitQueued(t *testing.T, a *Appender, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if len(a.queue) == n {
			return
		}
	}
	t.Fatalf("queue holds %d requests, want %d", len(a.queue), n)
}

func streamLen(t *testing.T, s domain.EventStore, stream string) int {
	t.Helper()
	got, err := s.ReadStream(context.Background(), stream, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	return len(got)
}

func TestConcurrentCallersShareBatches(t *testing.T) {
	g := newGated(t)
	a := New(g, Options{MaxBatch: 32})
	defer a.Close()
	ctx := context.Background()

	first := appendAsync(ctx, a, request("s-first"))
	<-g.entered // the first batch (of one) is in flight; the rest queue behind it
	const more = 100
	outs := make([]chan callResult, more)
	for i := range outs {
		outs[i] = appendAsync(ctx, a, request(fmt.Sprintf("s-%d", i)))
		if i < 32 {
			waitQueued(t, a, i+1)
		}
	}
	close(g.gate)
	if o := <-first; o.err != nil {
		t.Fatal(o.err)
	}
	seen := map[domain.Position]bool{}
	for i, c := range outs {
		o := <-c
		if o.err != nil || len(o.res.Positions) != 1 || seen[o.res.Positions[0]] {
			t.Fatalf("caller %d: %+v, %v", i, o.res, o.err)
		}
		seen[o.res.Positions[0]] = true
	}
	sizes := g.batchSizes()
	total := 0
	for _, n := range sizes {
		if n > 32 {
			t.Fatalf("batch of %d over MaxBatch 32: %v", n, sizes)
		}
		total += n
	}
	if total != more+1 {
		t.Fatalf("batches %v carry %d requests, want %d", sizes, total, more+1)
	}
	if sizes[0] != 1 || sizes[1] != 32 || len(sizes) > 1+more {
		t.Fatalf("batch sizes %v: want 1, then full batches of 32 from the queue", sizes)
	}
	t.Logf("batch sizes: %v", sizes)
}

func TestCallerGivingUpBeforeSendIsNotWritten(t *testing.T) {
	g := newGated(t)
	a := New(g, Options{})
	defer a.Close()
	ctx := context.Background()

	first := appendAsync(ctx, a, request("kept"))
	<-g.entered
	cctx, cancel := context.WithCancel(ctx)
	gaveUp := appendAsync(cctx, a, request("dropped"))
	waitQueued(t, a, 1)
	cancel()
	select {
	case o := <-gaveUp:
		if !errors.Is(o.err, context.Canceled) {
			t.Fatalf("caller whose ctx ended: %v, want context.Canceled", o.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("caller whose ctx ended is still waiting")
	}
	close(g.gate)
	if o := <-first; o.err != nil {
		t.Fatal(o.err)
	}
	// A later append flushes past the abandoned request.
	if _, err := a.Append(ctx, request("later")); err != nil {
		t.Fatal(err)
	}
	if n := streamLen(t, g, "dropped"); n != 0 {
		t.Fatalf("abandoned request was written (%d events)", n)
	}
	for _, n := range g.batchSizes() {
		if n != 1 {
			t.Fatalf("batch sizes %v: the abandoned request was sent", g.batchSizes())
		}
	}
}

func TestCallerGivingUpAfterSendGetsTheRealOutcome(t *testing.T) {
	g := newGated(t)
	a := New(g, Options{})
	defer a.Close()
	cctx, cancel := context.WithCancel(context.Background())
	out := appendAsync(cctx, a, request("sent"))
	<-g.entered
	cancel()
	time.Sleep(20 * time.Millisecond)
	close(g.gate)
	o := <-out
	if o.err != nil || len(o.res.Positions) != 1 {
		t.Fatalf("caller whose batch was sent: %+v, %v; want the committed result", o.res, o.err)
	}
	if n := streamLen(t, g, "sent"); n != 1 {
		t.Fatalf("stream holds %d events, want 1", n)
	}
}

func TestBatchErrorGoesToEveryCaller(t *testing.T) {
	g := newGated(t)
	a := New(g, Options{})
	defer a.Close()
	ctx := context.Background()
	first := appendAsync(ctx, a, request("a"))
	<-g.entered
	var outs []chan callResult
	for i := range 5 {
		outs = append(outs, appendAsync(ctx, a, request(fmt.Sprintf("b-%d", i))))
		waitQueued(t, a, i+1)
	}
	// The store goes away under the queued batch: its transaction fails as a whole.
	if err := g.Store.Close(); err != nil {
		t.Fatal(err)
	}
	close(g.gate)
	<-first
	for i, c := range outs {
		if o := <-c; !errors.Is(o.err, domain.ErrUnavailable) {
			t.Fatalf("caller %d: %v, want the batch's ErrUnavailable", i, o.err)
		}
	}
	if sizes := g.batchSizes(); len(sizes) != 2 || sizes[1] != 5 {
		t.Fatalf("batch sizes %v, want [1 5]", sizes)
	}
}

func TestCloseFinishesQueuedWorkThenRefuses(t *testing.T) {
	g := newGated(t)
	a := New(g, Options{})
	ctx := context.Background()
	outs := []chan callResult{appendAsync(ctx, a, request("c-0"))}
	<-g.entered
	for i := 1; i <= 3; i++ {
		outs = append(outs, appendAsync(ctx, a, request(fmt.Sprintf("c-%d", i))))
		waitQueued(t, a, i)
	}
	closed := make(chan struct{})
	go func() { a.Close(); close(closed) }()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		a.mu.RLock()
		c := a.closed
		a.mu.RUnlock()
		if c {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Close did not mark the appender closed")
		}
	}
	if _, err := a.Append(ctx, request("refused")); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("append during Close: %v, want ErrUnavailable", err)
	}
	select {
	case <-closed:
		t.Fatal("Close returned while a batch was in flight")
	case <-time.After(50 * time.Millisecond):
	}
	close(g.gate)
	<-closed
	for i, c := range outs {
		if o := <-c; o.err != nil {
			t.Fatalf("queued caller %d: %v", i, o.err)
		}
	}
	for i := range 4 {
		if n := streamLen(t, g, fmt.Sprintf("c-%d", i)); n != 1 {
			t.Fatalf("stream c-%d holds %d events, want 1", i, n)
		}
	}
	if n := streamLen(t, g, "refused"); n != 0 {
		t.Fatal("a refused append was written")
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestMaxWaitGathersAndMaxBatchCutsShort(t *testing.T) {
	g := newGated(t)
	close(g.gate)
	a := New(g, Options{MaxBatch: 4, MaxWait: 10 * time.Second})
	defer a.Close()
	ctx := context.Background()
	start := time.Now()
	var outs []chan callResult
	for i := range 4 {
		outs = append(outs, appendAsync(ctx, a, request(fmt.Sprintf("w-%d", i))))
	}
	for _, c := range outs {
		if o := <-c; o.err != nil {
			t.Fatal(o.err)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("a full batch waited %v for MaxWait", d)
	}
	if sizes := g.batchSizes(); len(sizes) != 1 || sizes[0] != 4 {
		t.Fatalf("batch sizes %v, want one batch of 4 gathered within MaxWait", sizes)
	}
}

func TestPerRequestOutcomes(t *testing.T) {
	g := newGated(t)
	close(g.gate)
	a := New(g, Options{})
	defer a.Close()
	ctx := context.Background()
	if _, err := a.Append(ctx, request("x")); err != nil {
		t.Fatal(err)
	}
	_, err := a.Append(ctx, request("x")) // NoStream on an existing stream
	if !errors.Is(err, domain.ErrWrongExpectedVersion) {
		t.Fatalf("conflicting append: %v, want ErrWrongExpectedVersion", err)
	}
	bad := request("y")
	bad.Events[0].ID = ""
	if _, err := a.Append(ctx, bad); !errors.Is(err, domain.ErrInvalidEvent) {
		t.Fatalf("invalid append: %v, want ErrInvalidEvent", err)
	}
}

// With several flushers, batches are in flight at once and every caller
// still gets its own outcome: each event is written once, a retry of one is
// reported as a duplicate, a conflict fails alone.
func TestSeveralFlushersInFlight(t *testing.T) {
	g := newGated(t)
	a := New(g, Options{MaxBatch: 8, Flushers: 3})
	defer a.Close()
	ctx := context.Background()
	// Hold three batches in flight at once: that needs three flushers.
	var outs []chan callResult
	for i := 0; i < 3; i++ {
		outs = append(outs, appendAsync(ctx, a, request(fmt.Sprintf("held-%d", i))))
		<-g.entered
	}
	reqs := make([]domain.AppendRequest, 200)
	for i := range reqs {
		reqs[i] = request(fmt.Sprintf("s-%d", i%20))
		reqs[i].Expected = domain.AnyVersion
	}
	for _, r := range reqs {
		outs = append(outs, appendAsync(ctx, a, r), appendAsync(ctx, a, r)) // each twice
	}
	conflict := request("s-0")
	conflict.Expected = 999
	bad := appendAsync(ctx, a, conflict)
	close(g.gate)
	dups := 0
	for i, c := range outs {
		o := <-c
		if o.err != nil {
			t.Fatalf("caller %d: %v", i, o.err)
		}
		if o.res.AllDuplicates() {
			dups++
		}
	}
	if dups != len(reqs) {
		t.Fatalf("%d callers told duplicate, want %d (one per retried event)", dups, len(reqs))
	}
	if o := <-bad; !errors.Is(o.err, domain.ErrWrongExpectedVersion) {
		t.Fatalf("conflicting request: %v", o.err)
	}
	total := 0
	for i := 0; i < 20; i++ {
		total += streamLen(t, g, fmt.Sprintf("s-%d", i))
	}
	if total != len(reqs) {
		t.Fatalf("%d events stored, want %d", total, len(reqs))
	}
}

// With several flushers, a batch that would start while another is in
// flight is held back until FillBatch requests wait for it (or the batch in
// flight ends), so the load goes out in fuller transactions.
func TestHeldBatchGoesWhenFull(t *testing.T) {
	g := newGated(t)
	a := New(g, Options{MaxBatch: 16, Flushers: 3, FillBatch: 4, HoldMax: time.Minute})
	t.Cleanup(func() { a.Close() })
	open := sync.OnceFunc(func() { close(g.gate) })
	t.Cleanup(open) // first, so that a failed test does not hang in Close
	ctx := context.Background()
	outs := []chan callResult{appendAsync(ctx, a, request("first"))}
	<-g.entered // in flight, held at the gate
	for i := range 3 {
		outs = append(outs, appendAsync(ctx, a, request(fmt.Sprintf("h-%d", i))))
	}
	time.Sleep(50 * time.Millisecond)
	if sizes := g.batchSizes(); len(sizes) != 1 {
		t.Fatalf("batch sizes %v: three requests did not wait for the fourth", sizes)
	}
	outs = append(outs, appendAsync(ctx, a, request("h-3")))
	select {
	case n := <-g.entered:
		if n != 4 {
			t.Fatalf("held batch of %d, want 4", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("a full held batch did not go: sizes %v", g.batchSizes())
	}
	open()
	for i, c := range outs {
		if o := <-c; o.err != nil {
			t.Fatalf("caller %d: %v", i, o.err)
		}
	}
}

// A held batch also goes when the batch in flight ends, or after HoldMax.
func TestHeldBatchGoesWhenFlightEndsOrAfterHoldMax(t *testing.T) {
	g := newGated(t)
	a := New(g, Options{MaxBatch: 16, Flushers: 2, FillBatch: 8, HoldMax: 300 * time.Millisecond})
	t.Cleanup(func() { a.Close() })
	open := sync.OnceFunc(func() { close(g.gate) })
	t.Cleanup(open)
	ctx := context.Background()
	first := appendAsync(ctx, a, request("first"))
	<-g.entered
	start := time.Now()
	held := appendAsync(ctx, a, request("held"))
	<-g.entered // after HoldMax, though the first batch is still in flight
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("held request went after %v, before HoldMax", d)
	}
	open()
	for _, c := range []chan callResult{first, held} {
		if o := <-c; o.err != nil {
			t.Fatal(o.err)
		}
	}

	// No batch in flight now: a request goes at once, and one arriving
	// while it is in flight goes as soon as that batch ends.
	g2 := newGated(t)
	b := New(g2, Options{MaxBatch: 16, Flushers: 2, FillBatch: 8, HoldMax: time.Minute})
	t.Cleanup(func() { b.Close() })
	open2 := sync.OnceFunc(func() { close(g2.gate) })
	t.Cleanup(open2)
	one := appendAsync(ctx, b, request("one"))
	<-g2.entered
	two := appendAsync(ctx, b, request("two"))
	time.Sleep(50 * time.Millisecond)
	if sizes := g2.batchSizes(); len(sizes) != 1 {
		t.Fatalf("batch sizes %v: the second request did not wait for the first batch", sizes)
	}
	open2()
	for _, c := range []chan callResult{one, two} {
		if o := <-c; o.err != nil {
			t.Fatal(o.err)
		}
	}
	if sizes := g2.batchSizes(); len(sizes) != 2 || sizes[1] != 1 {
		t.Fatalf("batch sizes %v, want [1 1]", sizes)
	}
}
