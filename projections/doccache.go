package projections

import (
	"sync"
	"sync/atomic"
)

// DocCache keeps served documents (a device's or an order's JSON, exactly
// as its read-model row stores it) in memory, so that a GET by key is
// answered without a database round trip. Under load that round trip is
// the slow part of a GET: it waits for a pool connection and for the Go
// scheduler twice, behind ingest (README, "Projections and rebuilds").
//
// Only documents this process's Runner commits can be trusted, so a
// projection's set is active only while this process leads it, for the
// version it applies:
//   - The Runner activates the set when it starts applying a version, and
//     deactivates it (emptied) when it stops: lease lost, error, poison
//     stop, served version switched.
//   - After each committed batch it puts the documents the batch wrote.
//     A put replaces the cached documents it names; it does not add the
//     others, so memory holds what is read, not everything written.
//   - The Reader fills a miss with the row it read, unless a put named
//     that key after the miss was seen: its read may then predate the
//     commit, and that put left no entry to correct it. Put and fill
//     compare a sequence number for that, so a fill never makes an entry
//     older than the database.
//
// A GET may therefore see a document up to one put late (between a
// batch's commit and its put, like a read just before the commit), and a
// leader whose lease is lost without it noticing yet (up to the lease's
// ping interval) serves what it last committed. A nil *DocCache caches
// nothing.
type DocCache struct {
	maxBytes int64
	mu       sync.Mutex
	sets     map[string]*docSet // by projection name

	hits, misses atomic.Int64
}

// docSet is one projection's cached documents.
type docSet struct {
	active  bool
	version int
	seq     uint64            // counts puts and resets
	since   uint64            // fills that saw an earlier seq are refused
	docs    map[string][]byte // by key
	bytes   int64
	touched map[string]uint64 // keys put while not cached, by seq, since `since`
}

// servedDoc is one document a batch wrote.
type servedDoc struct {
	key string
	doc []byte
}

// maxTouched bounds a set's memory of keys put while not cached; when it
// is full the set forgets it and refuses the fills under way instead.
const maxTouched = 1 << 16

// docOverhead approximates a cached entry's memory beyond key and document.
const docOverhead = 64

// NewDocCache returns a cache holding about maxBytes of documents per
// projection; nil (no cache) when maxBytes <= 0.
func NewDocCache(maxBytes int64) *DocCache {
	if maxBytes <= 0 {
		return nil
	}
	return &DocCache{maxBytes: maxBytes, sets: map[string]*docSet{}}
}

// set returns the projection's set, made on first use. c.mu is held.
func (c *DocCache) set(name string) *docSet {
	s := c.sets[name]
	if s == nil {
		s = &docSet{}
		c.sets[name] = s
	}
	return s
}

// restart empties s and refuses the fills under way. c.mu is held.
func (s *docSet) restart() {
	s.seq++
	s.since = s.seq
	s.docs, s.touched, s.bytes = map[string][]byte{}, map[string]uint64{}, 0
}

// with runs fn on the projection's set under the lock; nothing on a nil cache.
func (c *DocCache) with(name string, fn func(s *docSet)) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	fn(c.set(name))
}

// activate starts caching the projection's documents of version, from empty.
func (c *DocCache) activate(name string, version int) {
	c.with(name, func(s *docSet) { s.restart(); s.active, s.version = true, version })
}

// deactivate stops caching the projection's documents and forgets them.
func (c *DocCache) deactivate(name string) {
	c.with(name, func(s *docSet) { s.restart(); s.active = false })
}

// reset forgets the projection's documents, staying active: after a batch
// whose commit may or may not have happened.
func (c *DocCache) reset(name string) { c.with(name, (*docSet).restart) }

// put records the documents a committed batch of version wrote.
func (c *DocCache) put(name string, version int, docs []servedDoc) {
	if len(docs) == 0 {
		return
	}
	c.with(name, func(s *docSet) {
		if !s.active || s.version != version {
			return
		}
		s.seq++
		for _, d := range docs {
			if old, ok := s.docs[d.key]; ok {
				s.docs[d.key] = d.doc
				s.bytes += int64(len(d.doc) - len(old))
				continue
			}
			s.touched[d.key] = s.seq
		}
		if len(s.touched) > maxTouched {
			s.touched = map[string]uint64{}
			s.since = s.seq
		}
		s.evict(c.maxBytes)
	})
}

// get returns the cached document of key in version of the projection, or
// (nil, token, false): token is for fill, 0 when the set cannot be filled.
func (c *DocCache) get(name string, version int, key string) (doc []byte, token uint64, ok bool) {
	if c == nil {
		return nil, 0, false
	}
	c.mu.Lock()
	s := c.sets[name]
	if s == nil || !s.active || s.version != version {
		c.mu.Unlock()
		return nil, 0, false
	}
	doc, ok = s.docs[key]
	token = s.seq
	c.mu.Unlock()
	if ok {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
	return doc, token, ok
}

// fill caches doc, read from the database after get returned token for
// key, unless a put or a restart since then makes it possibly stale.
func (c *DocCache) fill(name string, version int, key string, doc []byte, token uint64) {
	if c == nil || token == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sets[name]
	if s == nil || !s.active || s.version != version || token < s.since || s.touched[key] > token {
		return
	}
	if _, ok := s.docs[key]; ok {
		return // a put's, or another fill's from no earlier
	}
	s.docs[key] = doc
	s.bytes += int64(len(key) + len(doc) + docOverhead)
	s.evict(c.maxBytes)
}

// evict forgets arbitrary documents (Go's map order) until s holds at most
// nine tenths of maxBytes. An evicted key is like one never cached.
func (s *docSet) evict(maxBytes int64) {
	if s.bytes <= maxBytes {
		return
	}
	for k, d := range s.docs {
		delete(s.docs, k)
		s.bytes -= int64(len(k) + len(d) + docOverhead)
		if s.bytes <= maxBytes/10*9 {
			return
		}
	}
}

// Stats reports the lookups answered from the cache and those that were
// not, since the cache was made (inactive sets are not counted).
func (c *DocCache) Stats() (hits, misses int64) {
	if c == nil {
		return 0, 0
	}
	return c.hits.Load(), c.misses.Load()
}
