package energy

import "slices"

// Reconciliation anomaly types found in an order's callbacks (domain.md §2).
const (
	AnomalyDelegationGap   = "DELEGATION_GAP"
	AnomalyDuplicateCharge = "DUPLICATE_CHARGE"
	AnomalyOverLimit       = "OVER_LIMIT"
	AnomalyChargeOnDeleted = "CHARGE_ON_DELETED"
)

// MaxMissingListed bounds Anomaly.Missing: a corrupt totalDelegateNums of
// 10^9 must not produce a billion-element list.
const MaxMissingListed = 1000

// Anomaly is one reconciliation finding for an order.
type Anomaly struct {
	Type string `json:"type"`
	// Missing: delegation numbers never observed (DELEGATION_GAP), ascending,
	// at most MaxMissingListed; MissingCount is set only when the list is cut.
	Missing      []int64 `json:"missing,omitempty"`
	MissingCount int64   `json:"missingCount,omitempty"`
	// Hash and EventIDs: the charged callbacks sharing a hash
	// (DUPLICATE_CHARGE) or charged with state 2 (CHARGE_ON_DELETED), ids sorted.
	Hash     string   `json:"hash,omitempty"`
	EventIDs []string `json:"eventIds,omitempty"`
	// OVER_LIMIT: the order's totalDelegateNums and maxDelegateNums.
	TotalDelegateNums int64 `json:"totalDelegateNums,omitempty"`
	MaxDelegateNums   int64 `json:"maxDelegateNums,omitempty"`
}

// Anomalies lists an order's anomalies in a stable order: DELEGATION_GAP,
// DUPLICATE_CHARGE (by hash), OVER_LIMIT, CHARGE_ON_DELETED. The result
// depends only on the set of distinct callbacks, not on delivery order.
//
// A delegation number is observed when some callback carries it as its
// totalDelegateNums (the cumulative count after that delegation); numbers
// in 1..max(totalDelegateNums) that no callback carries are missing.
func Anomalies(s OrderState) []Anomaly {
	out := []Anomaly{}
	if a, ok := delegationGap(s.Seen); ok {
		out = append(out, a)
	}
	byHash := map[string][]string{}
	var onDeleted []string
	for _, r := range s.Seen {
		if !r.Charged {
			continue
		}
		if r.Hash != "" {
			byHash[r.Hash] = append(byHash[r.Hash], r.EventID)
		}
		if r.Deleted {
			onDeleted = append(onDeleted, r.EventID)
		}
	}
	hashes := make([]string, 0, len(byHash))
	for h, ids := range byHash {
		if len(ids) >= 2 {
			hashes = append(hashes, h)
		}
	}
	slices.Sort(hashes)
	for _, h := range hashes {
		ids := byHash[h]
		slices.Sort(ids)
		out = append(out, Anomaly{Type: AnomalyDuplicateCharge, Hash: h, EventIDs: ids})
	}
	if overLimit(&s.Order) {
		out = append(out, Anomaly{Type: AnomalyOverLimit,
			TotalDelegateNums: s.Order.TotalDelegateNums, MaxDelegateNums: s.Order.MaxDelegateNums})
	}
	if len(onDeleted) > 0 {
		slices.Sort(onDeleted)
		out = append(out, Anomaly{Type: AnomalyChargeOnDeleted, EventIDs: onDeleted})
	}
	return out
}

func overLimit(o *Order) bool {
	return o.MaxDelegateNums > 0 && o.TotalDelegateNums > o.MaxDelegateNums
}

// delegationGap finds the numbers in 1..max never observed.
func delegationGap(seen []Seen) (Anomaly, bool) {
	var observed []int64
	for _, r := range seen {
		if r.TotalDelegateNums >= 1 {
			observed = append(observed, r.TotalDelegateNums)
		}
	}
	slices.Sort(observed)
	observed = slices.Compact(observed)
	if len(observed) == 0 || int64(len(observed)) == observed[len(observed)-1] {
		return Anomaly{}, false
	}
	maxTotal := observed[len(observed)-1]
	a := Anomaly{Type: AnomalyDelegationGap}
	next := int64(1) // smallest number not yet classified
	for _, v := range observed {
		for ; next < v && len(a.Missing) < MaxMissingListed; next++ {
			a.Missing = append(a.Missing, next)
		}
		if len(a.Missing) == MaxMissingListed {
			break
		}
		next = v + 1
	}
	if count := maxTotal - int64(len(observed)); count > int64(len(a.Missing)) {
		a.MissingCount = count
	}
	return a, true
}
