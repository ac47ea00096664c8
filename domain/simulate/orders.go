package simulate

import (
	"math/rand/v2"
	"strconv"
)

// Energy order anomalies the generator can plant (domain.md §2).
const (
	anomalyNone = iota
	anomalyGap
	anomalyDuplicateCharge
	anomalyOverLimit
	anomalyChargeOnDeleted
	nAnomalies
)

// order is one simulated energy count order: every callback it will send,
// planned when it starts.
type order struct {
	id, outTradeNo, address string
	max                     int64 // maxDelegateNums
	recharge, payment       int64
	detention               int64 // detentionChargeTime, days
	legacyMoney             bool  // orderMoney as a decimal TRX string (before 2024-12-30)
	numericStrings          bool  // counters and money sent as numeric strings
	plan                    []enEvent
}

// enEvent is one energy callback as the generator means it.
type enEvent struct {
	o                                    *order
	total, residue, state                int64
	trigger, hash, activeHash, bandwidth string
	energyNums, moneySun                 int64
	blankTrigger                         bool // send "triggerTransactionId":"" rather than leaving it out
}

// newOrder plans order number n. anomaly is one of the anomaly* constants.
func newOrder(r *rand.Rand, seed uint64, n int, anomaly int) *order {
	o := &order{
		id:             "SIM" + strconv.FormatUint(seed, 10) + "-E" + pad6(n),
		address:        tronAddress(r),
		max:            int64(1 + r.IntN(10)),
		recharge:       int64(r.IntN(2)),
		payment:        int64(r.IntN(2)),
		legacyMoney:    r.IntN(7) == 0,
		numericStrings: r.IntN(5) == 0,
	}
	if r.IntN(5) > 0 {
		o.outTradeNo = "A-" + strconv.Itoa(n)
	}
	if o.recharge == 1 {
		o.detention = int64(1 + r.IntN(7))
	}
	price := int64(20+r.IntN(40)) * 100_000 // 2.0 to 5.9 TRX a delegation
	last := o.max                           // totalDelegateNums of the last callback
	if r.IntN(10) < 3 {
		last = int64(1 + r.IntN(int(o.max))) // stopped or still running
	}
	var gapAt, dupAt int64
	deleted, chargeDeleted := r.IntN(10) == 0, false
	switch anomaly {
	case anomalyGap:
		o.max = max(o.max, 3)
		last = o.max
		gapAt = 2 + int64(r.IntN(int(last-2))) // lost callback strictly inside 1..last
	case anomalyDuplicateCharge:
		dupAt = 1
		if o.payment == 0 {
			dupAt = 1 + int64(r.IntN(int(last)))
		}
	case anomalyOverLimit:
		last = o.max + 1
	case anomalyChargeOnDeleted:
		deleted, chargeDeleted = true, true
	}
	state := int64(1)
	for k := int64(1); k <= last; k++ {
		if k == last && k >= o.max {
			state = 0 // package used up: stopped
		}
		e := enEvent{o: o, total: k, residue: max(o.max-k, 0), state: state, hash: txHash(r), energyNums: []int64{32000, 65000, 65000, 131000}[r.IntN(4)]}
		switch {
		case k == 1:
			e.trigger, e.energyNums = "triggerFirst", 0
			if r.IntN(3) == 0 {
				e.activeHash = txHash(r)
			}
		case r.IntN(10) < 7:
			e.trigger = txHash(r)
		default:
			e.blankTrigger = r.IntN(2) == 0
		}
		if r.IntN(5) == 0 {
			e.bandwidth = txHash(r)
		}
		if o.payment == 0 {
			e.moneySun = price
		} else if k == 1 {
			e.moneySun = price * o.max // the whole package at once
		}
		if k == gapAt {
			continue // lost by the platform: never sent
		}
		o.plan = append(o.plan, e)
		if k == dupAt { // charged twice for one delegation: same hash, another callback
			d := e
			d.trigger, d.activeHash = txHash(r), ""
			o.plan = append(o.plan, d)
		}
		if o.recharge == 1 && k > 1 && r.IntN(6) == 0 { // detention charge: no delegation, no energy
			o.plan = append(o.plan, enEvent{o: o, total: k, residue: e.residue, state: e.state,
				moneySun: price / 2, blankTrigger: true})
		}
	}
	if deleted {
		d := enEvent{o: o, total: last, residue: max(o.max-last, 0), state: 2}
		if chargeDeleted {
			d.moneySun = price
		}
		o.plan = append(o.plan, d)
	}
	return o
}

func pad6(n int) string {
	s := strconv.Itoa(n)
	for len(s) < 6 {
		s = "0" + s
	}
	return s
}

// fields renders the callback in the platform document's order, without sign.
func (e *enEvent) fields() []field {
	o := e.o
	ns := o.numericStrings
	fs := make([]field, 0, 20)
	fs = append(fs, field{"orderId", jstr(o.id)})
	if o.outTradeNo != "" {
		fs = append(fs, field{"outTradeNo", jstr(o.outTradeNo)})
	}
	fs = append(fs, field{"receiveAddress", jstr(o.address)}, field{"residue", jint(e.residue)})
	if e.trigger != "" || e.blankTrigger {
		fs = append(fs, field{"triggerTransactionId", jstr(e.trigger)})
	}
	fs = append(fs,
		field{"recharge", jint(o.recharge)},
		field{"state", jint(e.state)},
		field{"autoType", "0"},
		field{"payment", jint(o.payment)},
		field{"maxDelegateNums", jint(o.max)},
		field{"totalDelegateNums", jnum(e.total, ns)},
		field{"detentionChargeTime", jint(o.detention)},
		field{"hash", jstr(e.hash)})
	if e.activeHash != "" {
		fs = append(fs, field{"activeHash", jstr(e.activeHash)})
	}
	if e.bandwidth != "" {
		fs = append(fs, field{"bandwidthHash", jstr(e.bandwidth)})
	}
	fs = append(fs, field{"resourceType", "0"}, field{"source", "2"}, field{"energyNums", jnum(e.energyNums, ns)})
	if o.legacyMoney {
		fs = append(fs, field{"orderMoney", `"` + trx(e.moneySun) + `"`})
	} else {
		fs = append(fs, field{"orderMoney", jnum(e.moneySun, ns)})
	}
	return fs
}

// trx renders sun as a legacy decimal TRX amount, always with a point
// (an integer would be read as sun): 1960000 → "1.96", 2000000 → "2.0".
func trx(sun int64) string {
	frac := strconv.FormatInt(1_000_000+sun%1_000_000, 10)[1:]
	for len(frac) > 1 && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	return strconv.FormatInt(sun/1_000_000, 10) + "." + frac
}
