package billingtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tidemark/tidemark/domain/billing"
	"github.com/tidemark/tidemark/domain/energy"
)

// Options shape a generated month.
type Options struct {
	Seed   uint64
	Orders int       // default 3000
	Start  time.Time // the first possible receive time; default 2026-10-01T00:00:00Z
}

// Delivery is one POST of the platform, in delivery (= receive time) order.
type Delivery struct {
	Body    []byte
	At      time.Time // receive time, whole milliseconds, strictly increasing
	EventID string    // what the decoder makes of Body
	Retry   bool      // a re-send of an earlier delivery, re-serialised: the same event
}

// Planted counts what the generator planted, so a test can tell that its
// expectations are not empty.
type Planted struct {
	DelegationGaps, DuplicateCharges, OverLimit, ChargeOnDeleted int
	Retries, LegacyAmounts, OutOfOrder                           int
	MissingCallback, NotOnStatement, AmountMismatch, RowErrors   int
}

// Month is a generated month and what reconciling it must give.
type Month struct {
	Start, End time.Time // every receive time is in [Start, End)
	Deliveries []Delivery
	// Report is the expected reconciliation over all time: Builder fed the
	// deliveries' events must give exactly this.
	Report billing.Report
	// Statement is the platform's statement CSV: every charge the platform
	// made (callbacks dropped on the way included), with planted omissions,
	// amount differences and malformed rows.
	Statement []byte
	// Comparison is the expected comparison of Statement with the whole
	// ledger; its RowErrors carry line and column, not the reason (see Diff).
	Comparison billing.Comparison
	Planted    Planted
}

// callback is one planned callback of an order.
type callback struct {
	fields    []kv // in the platform document's order
	at        time.Time
	id        string
	seq       int // delivery index of its first delivery
	order     string
	hash      string
	money     int64 // sun
	energy    int64
	dropped   bool // never delivered (the platform charged nonetheless)
	omit      bool // the statement does not list it
	delta     int64
	upperHash bool // the statement writes the hash in upper case
	noTime    bool // the statement row gives no time
	retries   int
	legacy    bool
	reserved  bool // part of a planted duplicate charge: planted on no further
}

type kv struct {
	k string
	v any
}

const day = 24 * time.Hour

// Generate builds a month. Deterministic for given options.
func Generate(opt Options) (*Month, error) {
	if opt.Orders <= 0 {
		opt.Orders = 3000
	}
	if opt.Start.IsZero() {
		opt.Start = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	}
	m := &Month{Start: opt.Start.UTC(), End: opt.Start.UTC().Add(30 * day)}
	var all []*callback
	var lines []billing.OrderLine
	for i := range opt.Orders {
		cbs, line, err := m.order(opt, i)
		if err != nil {
			return nil, err
		}
		all = append(all, cbs...)
		lines = append(lines, line)
	}
	m.deliver(opt, all)
	m.Report = report(lines)
	if err := m.statement(opt, all); err != nil {
		return nil, err
	}
	return m, nil
}

// order plans the callbacks of order i and the order's expected line.
func (m *Month) order(opt Options, i int) ([]*callback, billing.OrderLine, error) {
	r := rand.New(rand.NewPCG(opt.Seed, uint64(i)+1))
	id := fmt.Sprintf("E%07d", i+1)
	var (
		overLimit = i%25 == 11
		package1  = i%7 == 6 // payment 1: the whole package charged by the first callback
		legacy    = i%10 == 4
		strNums   = i%3 == 1
		drops     = 0
	)
	if i%20 == 3 {
		drops = 1
		if i%40 == 3 {
			drops = 2
		}
	}
	maxN := int64(4 + r.IntN(7))
	k := 3 + r.Int64N(maxN-2)
	if overLimit {
		k = maxN + 1 + r.Int64N(2)
		m.Planted.OverLimit++
	}
	num := func(n int64) any {
		if strNums {
			return strconv.FormatInt(n, 10)
		}
		return n
	}
	money := func(sun int64) any {
		if legacy && sun > 0 {
			return legacyTrx(sun)
		}
		if strNums {
			return strconv.FormatInt(sun, 10)
		}
		return sun
	}
	start := m.Start.Add(2*time.Hour + time.Duration(r.Int64N(int64(25*day))))
	interval := time.Hour + time.Duration(r.Int64N(int64(2*time.Hour)))
	var cbs []*callback
	for n := int64(1); n <= k; n++ {
		c := &callback{order: id, hash: hexN(r, 64), energy: 65000, legacy: legacy}
		if n == 1 {
			c.energy = 0 // the first delegation carries no energy figure
		}
		switch {
		case !package1:
			c.money = (1 + r.Int64N(3000)) * 10_000
			if legacy {
				c.money = 1 + r.Int64N(20_000_000) // legacy TRX with up to 6 decimals
			}
		case n == 1:
			c.money = maxN * 2_000_000
		}
		trigger := "triggerFirst"
		if n > 1 {
			trigger = hexN(r, 64)
		}
		state := int64(1)
		if n == k {
			state = 0
		}
		c.fields = []kv{{"orderId", id}, {"outTradeNo", "A-" + id}, {"residue", num(max(0, maxN-n))},
			{"triggerTransactionId", trigger}, {"recharge", num(0)}, {"state", num(state)}, {"autoType", num(0)},
			{"payment", num(b2i(package1))}, {"maxDelegateNums", num(maxN)}, {"totalDelegateNums", num(n)},
			{"detentionChargeTime", num(6)}, {"hash", c.hash}, {"resourceType", num(0)}, {"source", num(2)},
			{"energyNums", num(c.energy)}, {"orderMoney", money(c.money)}, {"sign", hexN(r, 32)}}
		jitter := time.Duration(r.Int64N(int64(3*interval))) - 3*interval/2
		c.at = start.Add(time.Duration(n)*interval + jitter)
		cbs = append(cbs, c)
	}
	last := cbs[k-1]
	switch {
	case i%33 == 5: // deleted, and charged: CHARGE_ON_DELETED
		if last.money == 0 {
			last.money = 3_000_000
		}
		set(last, "state", num(2))
		set(last, "orderMoney", money(last.money))
		m.Planted.ChargeOnDeleted++
	case i%33 == 16: // deleted without a charge: no finding
		last.money = 0
		set(last, "state", num(2))
		set(last, "orderMoney", money(0))
	}

	// Drop callbacks below the highest number, so the gap is visible.
	var missing []int64
	for _, n := range r.Perm(int(k - 1))[:drops] {
		cbs[n].dropped = true
		missing = append(missing, int64(n)+1)
	}
	slices.Sort(missing)
	if drops > 0 {
		m.Planted.DelegationGaps++
	}
	// usable: delivered, hashed, charged delegations other than the last.
	usable := func() []*callback {
		var out []*callback
		for _, c := range cbs[:k-1] {
			if !c.dropped && c.money > 0 && !c.omit && c.delta == 0 && !c.reserved {
				out = append(out, c)
			}
		}
		return out
	}
	var extra []*callback
	var dupHash string
	if i%20 == 7 && !package1 {
		if u := usable(); len(u) > 0 {
			t := u[r.IntN(len(u))]
			d := &callback{order: id, hash: t.hash, money: t.money, energy: t.energy, legacy: legacy,
				fields: slices.Clone(t.fields), at: t.at.Add(2*time.Minute + time.Duration(r.Int64N(int64(28*time.Minute))))}
			set(d, "sign", hexN(r, 32)) // another body for the same delegation: a distinct callback
			t.reserved, d.reserved = true, true
			if i%40 == 27 {
				d.omit = true // the platform lists the charge once: the second is NOT_ON_STATEMENT
				m.Planted.NotOnStatement++
			}
			extra = append(extra, d)
			dupHash = t.hash
			m.Planted.DuplicateCharges++
		}
	}
	if i%12 == 9 { // a detention charge: no hash, matched on the statement by amount
		d := &callback{order: id, money: 1_500_000 + r.Int64N(1_000_000), legacy: legacy,
			at: last.at.Add(time.Hour)}
		d.fields = []kv{{"orderId", id}, {"residue", num(max(0, maxN-k))}, {"recharge", num(1)}, {"state", num(1)},
			{"maxDelegateNums", num(maxN)}, {"totalDelegateNums", num(k)}, {"energyNums", num(0)},
			{"orderMoney", money(d.money)}, {"sign", hexN(r, 32)}}
		if i%24 == 21 {
			d.delta = 5 // the statement differs: no hash, so MISSING_CALLBACK + NOT_ON_STATEMENT
			m.Planted.MissingCallback++
			m.Planted.NotOnStatement++
		}
		extra = append(extra, d)
	}
	if i%25 == 13 {
		if u := usable(); len(u) > 0 {
			u[r.IntN(len(u))].omit = true
			m.Planted.NotOnStatement++
		}
	}
	if i%25 == 18 {
		if u := usable(); len(u) > 0 {
			t := u[r.IntN(len(u))]
			t.delta = 1
			if t.money > 1_000_000 && r.IntN(2) == 0 {
				t.delta = -1_000_000
			}
			m.Planted.AmountMismatch++
		}
	}
	cbs = append(cbs, extra...)
	for _, c := range cbs {
		c.upperHash = i%9 == 8
		c.noTime = i%4 == 0
		if i%5 == 2 && !c.dropped && r.IntN(2) == 0 {
			c.retries = 1 + r.IntN(2)
		}
		if c.dropped && c.money > 0 {
			m.Planted.MissingCallback++
		}
		if legacy && c.money > 0 {
			m.Planted.LegacyAmounts++
		}
		acc, _, err := energy.Decoder{}.Decode(platformJSON(c.fields))
		if err != nil {
			return nil, billing.OrderLine{}, fmt.Errorf("order %s: the generator made an invalid callback: %w", id, err)
		}
		c.id = acc.ID
	}
	for j := 1; j < int(k); j++ {
		if cbs[j].at.Before(cbs[j-1].at) {
			m.Planted.OutOfOrder++
			break
		}
	}

	line := billing.OrderLine{OrderID: id, Anomalies: []energy.Anomaly{}}
	hashes := map[string]bool{}
	var chargedDeleted []string
	for _, c := range cbs {
		if c.dropped {
			continue
		}
		line.Callbacks++
		line.EnergyTotal += c.energy
		line.ChargedSun += c.money
		if c.hash != "" && !hashes[c.hash] {
			hashes[c.hash] = true
			line.Delegations++
		}
	}
	if c := cbs[k-1]; i%33 == 5 && !c.dropped {
		chargedDeleted = append(chargedDeleted, c.id)
	}
	line.ChargedTrx = energy.FormatTrx(line.ChargedSun)
	if len(missing) > 0 {
		line.Anomalies = append(line.Anomalies, energy.Anomaly{Type: energy.AnomalyDelegationGap, Missing: missing})
	}
	if dupHash != "" {
		var dupIDs []string
		for _, c := range cbs {
			if c.reserved {
				dupIDs = append(dupIDs, c.id)
			}
		}
		slices.Sort(dupIDs)
		line.Anomalies = append(line.Anomalies, energy.Anomaly{Type: energy.AnomalyDuplicateCharge, Hash: dupHash, EventIDs: dupIDs})
	}
	if overLimit {
		line.Anomalies = append(line.Anomalies, energy.Anomaly{Type: energy.AnomalyOverLimit, TotalDelegateNums: k, MaxDelegateNums: maxN})
	}
	if len(chargedDeleted) > 0 {
		line.Anomalies = append(line.Anomalies, energy.Anomaly{Type: energy.AnomalyChargeOnDeleted, EventIDs: chargedDeleted})
	}
	return cbs, line, nil
}

// deliver orders every delivery by receive time, retries included, and
// makes the times whole, distinct milliseconds.
func (m *Month) deliver(opt Options, all []*callback) {
	r := rand.New(rand.NewPCG(opt.Seed, 0))
	type sent struct {
		c     *callback
		at    time.Time
		retry bool
	}
	var out []sent
	for _, c := range all {
		if c.dropped {
			continue
		}
		out = append(out, sent{c: c, at: c.at})
		at := c.at
		for range c.retries {
			at = at.Add(30*time.Second + time.Duration(r.Int64N(int64(10*time.Minute))))
			out = append(out, sent{c: c, at: at, retry: true})
			m.Planted.Retries++
		}
	}
	slices.SortStableFunc(out, func(a, b sent) int { return a.at.Compare(b.at) })
	prev := m.Start.Add(-time.Millisecond)
	for i, s := range out {
		at := s.at.Truncate(time.Millisecond)
		if !at.After(prev) {
			at = prev.Add(time.Millisecond)
		}
		prev = at
		body := platformJSON(s.c.fields)
		if s.retry {
			body = reserialised(s.c.fields)
		} else {
			s.c.seq = i
			s.c.at = at
		}
		m.Deliveries = append(m.Deliveries, Delivery{Body: body, At: at, EventID: s.c.id, Retry: s.retry})
	}
}

// report sums the expected order lines.
func report(lines []billing.OrderLine) billing.Report {
	r := billing.Report{Orders: lines, Totals: billing.Totals{Orders: int64(len(lines)), Anomalies: map[string]int64{}}}
	for _, o := range lines {
		r.Totals.Callbacks += o.Callbacks
		r.Totals.Delegations += o.Delegations
		r.Totals.EnergyTotal += o.EnergyTotal
		r.Totals.ChargedSun += o.ChargedSun
		for _, a := range o.Anomalies {
			r.Totals.Anomalies[a.Type]++
		}
	}
	r.Totals.ChargedTrx = energy.FormatTrx(r.Totals.ChargedSun)
	return r
}

// statement writes the platform's statement and the expected comparison.
func (m *Month) statement(opt Options, all []*callback) error {
	r := rand.New(rand.NewPCG(opt.Seed, 1<<40))
	type row struct {
		text string
		c    *callback            // a charge, or nil
		bad  string               // the column a malformed row is reported on ("" for the whole row)
		item *billing.Discrepancy // a valid row with no ledger entry
	}
	var rows []row
	for _, c := range all {
		if c.money <= 0 || c.omit {
			continue
		}
		hash := c.hash
		if c.upperHash {
			hash = strings.ToUpper(hash)
		}
		at := c.at.Format(time.RFC3339Nano)
		if c.noTime {
			at = ""
		}
		note := ""
		if r.IntN(10) == 0 {
			note = `"late, re-sent"`
		}
		rows = append(rows, row{text: fmt.Sprintf("%s,%d,%s,%s,%s", at, c.money+c.delta, note, c.order, hash), c: c})
	}
	h := hexN(r, 64)
	inject := []row{
		{text: fmt.Sprintf("2026-10-02T00:00:00Z,1.96,legacy,E0000001,%s", h), bad: "amountSun"},
		{text: fmt.Sprintf(",5000000,,,%s", h), bad: "orderId"},
		{text: ",5000000,,E0000001,xyz", bad: "hash"},
		{text: ",abc,,E0000001,", bad: "amountSun"},
		{text: "yesterday,5000000,,E0000001,", bad: "time"},
		{text: "E0000001,5000000", bad: ""},
		{text: ",-5,,E0000001,", bad: "amountSun"},
		{text: ",0,,E0000001,", bad: "amountSun"},
		{text: ",99999999999999999999,,E0000001,", bad: "amountSun"},
		{text: `,5000000,a"b,E0000001,`, bad: ""},
		{text: ""},
		{text: ",,,,"},
		{text: ",7,formula,=1+2,", item: &billing.Discrepancy{Type: billing.MissingCallback, OrderID: "=1+2",
			StatementSun: 7, StatementTrx: energy.FormatTrx(7)}},
	}
	m.Planted.MissingCallback++
	for j, in := range inject {
		at := (j + 1) * len(rows) / (len(inject) + 1)
		rows = slices.Insert(rows, at, in)
	}

	var b bytes.Buffer
	b.WriteString("\uFEFFtime,amountSun,note,orderId,hash\r\n")
	c := &m.Comparison
	c.Items = []billing.Discrepancy{}
	c.RowErrors = []billing.RowError{}
	t := &c.Totals
	t.Discrepancies = map[string]int64{billing.MissingCallback: 0, billing.NotOnStatement: 0, billing.AmountMismatch: 0}
	type itemAt struct {
		d   billing.Discrepancy
		seq int
	}
	var items []itemAt
	for j, rw := range rows {
		line := j + 2
		b.WriteString(rw.text + "\r\n")
		switch {
		case rw.c != nil:
			amount := rw.c.money + rw.c.delta
			t.StatementRows++
			t.StatementSun += amount
			d := billing.Discrepancy{OrderID: rw.c.order, Hash: rw.c.hash, Line: line,
				StatementSun: amount, StatementTrx: energy.FormatTrx(amount)}
			if rw.c.upperHash {
				d.Hash = strings.ToUpper(rw.c.hash)
			}
			switch {
			case rw.c.dropped:
				d.Type = billing.MissingCallback
			case rw.c.delta != 0 && rw.c.hash == "":
				d.Type = billing.MissingCallback
			case rw.c.delta != 0:
				d.Type = billing.AmountMismatch
				d.EventID, d.LedgerSun, d.LedgerTrx = rw.c.id, rw.c.money, energy.FormatTrx(rw.c.money)
				d.DifferenceSun, d.DifferenceTrx = rw.c.delta, energy.FormatTrx(rw.c.delta)
			default:
				t.Matched++
				continue
			}
			items = append(items, itemAt{d: d, seq: -1})
		case rw.item != nil:
			t.StatementRows++
			t.StatementSun += rw.item.StatementSun
			d := *rw.item
			d.Line = line
			items = append(items, itemAt{d: d, seq: -1})
		case strings.Trim(rw.text, ",") != "":
			c.RowErrors = append(c.RowErrors, billing.RowError{Line: line, Column: rw.bad})
		}
	}
	for _, cb := range all {
		if cb.dropped || cb.money <= 0 {
			continue
		}
		t.LedgerEntries++
		t.LedgerSun += cb.money
		if cb.omit || (cb.delta != 0 && cb.hash == "") {
			items = append(items, itemAt{seq: cb.seq, d: billing.Discrepancy{Type: billing.NotOnStatement, OrderID: cb.order,
				Hash: cb.hash, EventID: cb.id, LedgerSun: cb.money, LedgerTrx: energy.FormatTrx(cb.money)}})
		}
	}
	slices.SortStableFunc(items, func(a, b itemAt) int {
		if x := strings.Compare(a.d.OrderID, b.d.OrderID); x != 0 {
			return x
		}
		if x := strings.Compare(strings.ToLower(a.d.Hash), strings.ToLower(b.d.Hash)); x != 0 {
			return x
		}
		if (a.d.Line != 0) != (b.d.Line != 0) {
			if a.d.Line != 0 {
				return -1
			}
			return 1
		}
		if a.d.Line != b.d.Line {
			return a.d.Line - b.d.Line
		}
		return a.seq - b.seq
	})
	for _, it := range items {
		c.Items = append(c.Items, it.d)
		t.Discrepancies[it.d.Type]++
	}
	t.RowErrors = int64(len(c.RowErrors))
	m.Planted.RowErrors = len(c.RowErrors)
	t.DifferenceSun = t.StatementSun - t.LedgerSun
	t.StatementTrx, t.LedgerTrx, t.DifferenceTrx = energy.FormatTrx(t.StatementSun), energy.FormatTrx(t.LedgerSun), energy.FormatTrx(t.DifferenceSun)
	m.Statement = b.Bytes()
	return nil
}

// platformJSON renders fields in the given order, compactly.
func platformJSON(fields []kv) []byte {
	return render(fields, ",", ":")
}

// reserialised renders fields in reverse order with spaces: a retry that
// another HTTP client serialised differently.
func reserialised(fields []kv) []byte {
	rev := slices.Clone(fields)
	slices.Reverse(rev)
	return render(rev, ", ", " : ")
}

func render(fields []kv, comma, colon string) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range fields {
		if i > 0 {
			b.WriteString(comma)
		}
		k, _ := json.Marshal(f.k)
		v, _ := json.Marshal(f.v) // strings and integers only: cannot fail
		b.Write(k)
		b.WriteString(colon)
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes()
}

func set(c *callback, k string, v any) {
	for i := range c.fields {
		if c.fields[i].k == k {
			c.fields[i].v = v
			return
		}
	}
	c.fields = append(c.fields, kv{k, v})
}

// legacyTrx renders sun as a pre-2024-12-30 decimal TRX string, e.g.
// 1960000 → "1.96", 2000000 → "2.0": always with a decimal point.
func legacyTrx(sun int64) string {
	frac := strings.TrimRight(fmt.Sprintf("%06d", sun%energy.SunPerTrx), "0")
	if frac == "" {
		frac = "0"
	}
	return strconv.FormatInt(sun/energy.SunPerTrx, 10) + "." + frac
}

func hexN(r *rand.Rand, n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[r.IntN(16)]
	}
	return string(b)
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
