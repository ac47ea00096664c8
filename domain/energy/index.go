package energy

// orderIndex answers the fold's set questions about OrderState.Seen in
// O(1). It describes the first n entries of one backing array; the state
// whose Seen is exactly that (the tip) may extend it in place, so a linear
// fold costs O(1) per event. Any other state sharing the pointer (an older
// value the caller kept) is detected as stale and gets a fresh index and a
// fresh array, which keeps Evolve pure.
type orderIndex struct {
	n      int
	base   *Seen
	ids    map[string]struct{}
	hashes map[string]int32   // non-empty hash → charged callbacks with it
	totals map[int64]struct{} // observed totalDelegateNums ≥ 1

	dupHashes      int64 // hashes with ≥ 2 charged callbacks
	chargedDeleted int64 // charged callbacks with state 2
}

// indexFor returns an index valid for s and whether s is its tip.
func indexFor(s *OrderState) (*orderIndex, bool) {
	if x := s.idx; x != nil && x.n == len(s.Seen) && (x.n == 0 || x.base == &s.Seen[0]) {
		return x, true
	}
	x := &orderIndex{
		ids:    make(map[string]struct{}, len(s.Seen)+1),
		hashes: make(map[string]int32),
		totals: make(map[int64]struct{}),
	}
	for _, r := range s.Seen {
		x.add(r)
	}
	return x, false
}

func (x *orderIndex) add(r Seen) {
	x.ids[r.EventID] = struct{}{}
	if r.TotalDelegateNums >= 1 {
		x.totals[r.TotalDelegateNums] = struct{}{}
	}
	if r.Hash != "" {
		n := x.hashes[r.Hash]
		if r.Charged {
			n++
			if n == 2 {
				x.dupHashes++
			}
		}
		x.hashes[r.Hash] = n
	}
	if r.Charged && r.Deleted {
		x.chargedDeleted++
	}
	x.n++
}
