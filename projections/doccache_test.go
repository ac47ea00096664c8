package projections

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func docs(kv ...string) []servedDoc {
	var out []servedDoc
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, servedDoc{key: kv[i], doc: []byte(kv[i+1])})
	}
	return out
}

func wantDoc(t *testing.T, c *DocCache, version int, key, want string) {
	t.Helper()
	got, _, ok := c.get("devices", version, key)
	if want == "" {
		if ok {
			t.Fatalf("%s: cached %q, want none", key, got)
		}
		return
	}
	if !ok || string(got) != want {
		t.Fatalf("%s: got %q (cached %v), want %q", key, got, ok, want)
	}
}

func TestDocCacheFillAndPut(t *testing.T) {
	c := NewDocCache(1 << 20)
	// Inactive (this process does not lead the projection): nothing is kept.
	_, token, ok := c.get("devices", 1, "7")
	if ok || token != 0 {
		t.Fatalf("inactive: ok %v token %d", ok, token)
	}
	c.fill("devices", 1, "7", []byte("a"), token)
	c.put("devices", 1, docs("7", "b"))
	wantDoc(t, c, 1, "7", "")

	c.activate("devices", 1)
	_, token, _ = c.get("devices", 1, "7")
	c.fill("devices", 1, "7", []byte("a"), token)
	wantDoc(t, c, 1, "7", "a")
	wantDoc(t, c, 2, "7", "") // another version is not served from here

	// A put replaces a cached document and does not add others.
	c.put("devices", 1, docs("7", "b", "8", "x"))
	wantDoc(t, c, 1, "7", "b")
	wantDoc(t, c, 1, "8", "")

	// The same projection name in another set is apart.
	if _, _, ok := c.get("orders", 1, "7"); ok {
		t.Fatal("orders served a device document")
	}

	c.deactivate("devices")
	wantDoc(t, c, 1, "7", "")
	hits, misses := c.Stats()
	if hits != 2 || misses != 2 { // lookups of an inactive set or another version are not counted
		t.Fatalf("stats: %d hits, %d misses; want 2 and 2", hits, misses)
	}
}

// A reader that missed, then read the row before a batch committed, must
// not cache that row once the batch's put has come and gone.
func TestDocCacheRefusesAFillOlderThanAPut(t *testing.T) {
	c := NewDocCache(1 << 20)
	c.activate("devices", 1)
	_, token, _ := c.get("devices", 1, "7") // miss; the reader reads the old row ...
	c.put("devices", 1, docs("7", "new"))   // ... a batch commits and puts ...
	c.fill("devices", 1, "7", []byte("old"), token)
	wantDoc(t, c, 1, "7", "")

	// A miss after the put reads the committed row: it may fill.
	_, token, _ = c.get("devices", 1, "7")
	c.fill("devices", 1, "7", []byte("new"), token)
	wantDoc(t, c, 1, "7", "new")

	// A put of other keys does not refuse the fill.
	_, token, _ = c.get("devices", 1, "9")
	c.put("devices", 1, docs("8", "x"))
	c.fill("devices", 1, "9", []byte("nine"), token)
	wantDoc(t, c, 1, "9", "nine")
}

func TestDocCacheRestartsRefuseFillsUnderWay(t *testing.T) {
	for name, restart := range map[string]func(c *DocCache){
		"reset":      func(c *DocCache) { c.reset("devices") },
		"reactivate": func(c *DocCache) { c.deactivate("devices"); c.activate("devices", 1) },
	} {
		t.Run(name, func(t *testing.T) {
			c := NewDocCache(1 << 20)
			c.activate("devices", 1)
			_, token, _ := c.get("devices", 1, "7")
			restart(c) // e.g. a batch failed at commit: it may have written 7
			c.fill("devices", 1, "7", []byte("old"), token)
			wantDoc(t, c, 1, "7", "")
		})
	}
}

func TestDocCacheForgetsTouchedKeysSafely(t *testing.T) {
	c := NewDocCache(1 << 30)
	c.activate("devices", 1)
	_, token, _ := c.get("devices", 1, "7")
	for i := range maxTouched + 1 { // more keys put while not cached than it remembers
		c.put("devices", 1, docs(fmt.Sprint("k", i), "x"))
	}
	c.fill("devices", 1, "7", []byte("old"), token) // 7 was not put, but the set cannot tell any more
	wantDoc(t, c, 1, "7", "")
	if n := len(c.sets["devices"].touched); n > maxTouched {
		t.Fatalf("%d touched keys remembered", n)
	}
}

func TestDocCacheStaysWithinItsBytes(t *testing.T) {
	const limit = 64 << 10
	c := NewDocCache(limit)
	c.activate("orders", 1)
	doc := strings.Repeat("d", 1000)
	for i := range 1000 {
		k := fmt.Sprint(i)
		_, token, _ := c.get("orders", 1, k)
		c.fill("orders", 1, k, []byte(doc), token)
		c.put("orders", 1, docs(k, doc+"!")) // a grown document is counted too
	}
	s := c.sets["orders"]
	var sum int64
	for k, d := range s.docs {
		sum += int64(len(k) + len(d) + docOverhead)
	}
	if sum != s.bytes || s.bytes > limit || len(s.docs) < 40 {
		t.Fatalf("%d documents, %d bytes counted, %d held; limit %d", len(s.docs), s.bytes, sum, limit)
	}
}

func TestNilDocCacheCachesNothing(t *testing.T) {
	c := NewDocCache(0)
	c.activate("devices", 1)
	c.put("devices", 1, docs("7", "x"))
	if _, token, ok := c.get("devices", 1, "7"); ok || token != 0 {
		t.Fatal("a nil cache answered")
	}
}

// The Reader answers from the leader's cache, sees every committed batch,
// and equals a Reader without the cache, while events arrive and GETs race
// with the batches; a standby's cache answers nothing.
func TestReaderWithDocCacheServesCommittedDocuments(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := ctxFor(t, 2*time.Minute)
		sc := newScenario(7, 6, 6)
		first := sc.deliveries(300, 0.5)
		deliver(t, ctx, e.store, first)
		leader := e.runner(t, func(c *Config) { c.BatchSize = 50 })
		stopLeader := start(t, leader)
		waitCaughtUp(t, e, leader)
		standby := e.runner(t)
		start(t, standby)

		plain := e.reader(t)
		cached, err := NewReader(e.readDB, ReaderOptions{Interpret: e.interpret, Docs: leader.DocCache()})
		if err != nil {
			t.Fatal(err)
		}
		onStandby, err := NewReader(e.readDB, ReaderOptions{Interpret: e.interpret, Docs: standby.DocCache()})
		if err != nil {
			t.Fatal(err)
		}
		all := readAll(t, plain)
		if len(all.Devices) == 0 || len(all.Orders) == 0 {
			t.Fatalf("scenario made %d devices and %d orders", len(all.Devices), len(all.Orders))
		}
		same := func(when string) {
			t.Helper()
			for _, rd := range []*Reader{cached, onStandby} {
				for _, want := range readAll(t, plain).Devices {
					got, err := rd.Device(ctx, want.IotID)
					if err != nil || !reflect.DeepEqual(got, want) {
						t.Fatalf("%s: device %d: %v\n got  %+v\n want %+v", when, want.IotID, err, got, want)
					}
				}
				for _, want := range readAll(t, plain).Orders {
					got, err := rd.Order(ctx, want.OrderID)
					if err != nil || !reflect.DeepEqual(got, want) {
						t.Fatalf("%s: order %s: %v\n got  %+v\n want %+v", when, want.OrderID, err, got, want)
					}
				}
			}
		}
		same("after catch-up") // fills the cache
		hits0, _ := leader.DocCache().Stats()

		// More events for the same devices and orders, in small appends,
		// while readers keep asking: every batch's put must reach them.
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for range 4 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					for _, d := range all.Devices {
						if _, err := cached.Device(ctx, d.IotID); err != nil {
							t.Errorf("device %d: %v", d.IotID, err)
							return
						}
					}
					for _, o := range all.Orders {
						if _, err := cached.Order(ctx, o.OrderID); err != nil {
							t.Errorf("order %s: %v", o.OrderID, err)
							return
						}
					}
				}
			})
		}
		more := sc.deliveries(400, 0.5)
		for i := 0; i < len(more); i += 20 {
			deliver(t, ctx, e.store, more[i:min(i+20, len(more))])
			time.Sleep(2 * time.Millisecond)
		}
		waitCaughtUp(t, e, leader, standby)
		close(stop)
		wg.Wait()
		same("after live batches")

		hits, _ := leader.DocCache().Stats()
		if hits <= hits0 {
			t.Fatalf("the leader's cache answered no GET (%d hits before, %d after)", hits0, hits)
		}
		if h, m := standby.DocCache().Stats(); h != 0 || m != 0 {
			t.Fatalf("the standby's cache was used: %d hits, %d misses", h, m)
		}
		// the documents changed: the test exercised puts, not a still cache
		if now := readAll(t, plain); reflect.DeepEqual(now.Devices, all.Devices) || reflect.DeepEqual(now.Orders, all.Orders) {
			t.Fatal("the second deliveries changed no device or no order")
		}
		// A process that no longer leads has no documents to trust.
		stopLeader()
		for name, set := range leader.DocCache().sets {
			if set.active || len(set.docs) > 0 {
				t.Fatalf("%s: still active (%v) with %d documents after the leader stopped", name, set.active, len(set.docs))
			}
		}
	})
}
