package simulate

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"

	"github.com/tidemark/tidemark/domain/energy"
)

// Sources of deliveries, as in the callback URLs /v1/callbacks/{source}.
const (
	SourceCarwash = "carwash"
	SourceEnergy  = "energy"
)

// Delivery is one POST to send.
type Delivery struct {
	Source      string // SourceCarwash or SourceEnergy
	Body        []byte // never changed after Next returns it; copies of one event may share it
	ContentType string // "" means application/json
	Bad         bool   // bad input: must be refused
	Expect      int    // expected HTTP status: 200, or 400, 401, 415, 422 for bad input
	Dup         bool   // a retry of a callback delivered before (same event)
	Key         string // names the event: equal for every copy of it
	Kind        string // callbackType, "OrderCallback", or "bad:" + a Bad* kind
}

// Counts describe what Next has returned so far.
type Counts struct {
	Deliveries   int64 `json:"deliveries"`
	Events       int64 `json:"events"`       // distinct valid callbacks
	Duplicates   int64 `json:"duplicates"`   // retries of them
	Reserialized int64 `json:"reserialized"` // retries with other key order or spacing
	Reordered    int64 `json:"reordered"`    // deliveries taken out of their turn
	Bad          int64 `json:"bad"`
	Carwash      int64 `json:"carwash"`
	Energy       int64 `json:"energy"`
}

// Sim is a deterministic generator of callback traffic. It is not safe
// for concurrent use: one goroutine calls Next and hands deliveries out.
type Sim struct {
	cfg     Config
	r       *rand.Rand
	clock   int64 // next car-wash callTime, epoch ms; only moves forward
	stepMs  int64
	idBase  int64
	devices []*device
	orders  []*order // active orders
	made    int      // orders started
	seq     int64    // callbacks produced, for keys
	window  []pending
	retries []retry
	counts  Counts
	truth   truthModel
	err     error
}

// pending is a generated callback waiting in the reorder window.
type pending struct {
	d  Delivery
	fs []field // members as rendered (for re-serialised retries)
	st style
	cw *cwEvent
	en *enEvent
}

type retry struct {
	due          int64 // emitted once Counts.Deliveries reaches it
	d            Delivery
	reserialized bool
}

// New returns a simulator for cfg. Zero Start, Step and ReorderWindow get
// their defaults and out-of-range values are clamped; call Validate first
// to refuse them instead.
func New(cfg Config) *Sim {
	cfg = cfg.withDefaults()
	s := &Sim{
		cfg:    cfg,
		r:      rand.New(rand.NewPCG(cfg.Seed, 0x746964656d61726b)),
		clock:  cfg.Start.UnixMilli(),
		stepMs: cfg.Step.Milliseconds(),
		idBase: int64(1+cfg.Seed%100_000) * MaxDevices,
		truth:  newTruthModel(),
	}
	for i := range cfg.Devices {
		s.devices = append(s.devices, newDevice(s.r, s.idBase+int64(i), i))
	}
	for range cfg.Orders {
		s.orders = append(s.orders, s.newOrder())
	}
	return s
}

// Next returns the next delivery; false when there is nothing to simulate
// (no devices and no orders) or after an error (see Err). The stream is
// otherwise endless: orders that finish are replaced by new ones.
func (s *Sim) Next() (Delivery, bool) {
	if s.err != nil || (len(s.devices) == 0 && len(s.orders) == 0) {
		return Delivery{}, false
	}
	for i, rt := range s.retries {
		if rt.due <= s.counts.Deliveries {
			s.retries = slices.Delete(s.retries, i, i+1)
			if rt.reserialized {
				s.counts.Reserialized++
			}
			return s.emit(rt.d), true
		}
	}
	w := 1
	if s.cfg.ReorderRate > 0 {
		w = s.cfg.ReorderWindow
	}
	for len(s.window) < w {
		p, err := s.produce()
		if err != nil {
			s.err = err
			return Delivery{}, false
		}
		s.window = append(s.window, p)
	}
	i := 0
	if s.cfg.ReorderRate > 0 && s.r.Float64() < s.cfg.ReorderRate {
		i = s.r.IntN(len(s.window))
	}
	p := s.window[i]
	s.window = slices.Delete(s.window, i, i+1)
	if i > 0 {
		s.counts.Reordered++
	}
	if !p.d.Bad {
		s.counts.Events++
		s.truth.apply(&p)
		s.scheduleRetries(&p)
	}
	return s.emit(p.d), true
}

// Generate returns the next n deliveries (fewer only if Next stops).
func (s *Sim) Generate(n int) []Delivery {
	out := make([]Delivery, 0, n)
	for range n {
		d, ok := s.Next()
		if !ok {
			break
		}
		out = append(out, d)
	}
	return out
}

// Err is the error that stopped Next, if any.
func (s *Sim) Err() error { return s.err }

// Counts says what Next has returned so far.
func (s *Sim) Counts() Counts { return s.counts }

func (s *Sim) emit(d Delivery) Delivery {
	s.counts.Deliveries++
	switch {
	case d.Bad:
		s.counts.Bad++
	case d.Dup:
		s.counts.Duplicates++
	}
	if d.Source == SourceCarwash {
		s.counts.Carwash++
	} else {
		s.counts.Energy++
	}
	return d
}

// scheduleRetries queues 1 to 3 retries of a callback just emitted, a few
// deliveries later, as a platform does when an answer is slow or lost.
func (s *Sim) scheduleRetries(p *pending) {
	if s.cfg.DuplicateRate == 0 || s.r.Float64() >= s.cfg.DuplicateRate {
		return
	}
	due := s.counts.Deliveries + 1
	for range 1 + s.r.IntN(3) {
		rt := retry{d: p.d}
		rt.d.Dup = true
		if s.cfg.ReserializeRate > 0 && s.r.Float64() < s.cfg.ReserializeRate {
			rt.d.Body, rt.reserialized = reserialize(s.r, p.fs, p.st), true
		}
		due += int64(s.r.IntN(8))
		rt.due = due
		s.retries = append(s.retries, rt)
		due++
	}
}

// produce makes the next callback, good or bad, of a device, the fleet or an order.
func (s *Sim) produce() (pending, error) {
	nd, no := len(s.devices), len(s.orders)
	isEnergy := no > 0 && (nd == 0 || s.r.IntN(nd+no) >= nd)
	bad := s.cfg.BadRate > 0 && s.r.Float64() < s.cfg.BadRate
	if isEnergy {
		return s.produceEnergy(bad)
	}
	return s.produceCarwash(bad), nil
}

func (s *Sim) produceCarwash(bad bool) pending {
	var e cwEvent
	switch x := s.r.IntN(200); {
	case bad:
		e = s.badBase()
	case x < 10 && len(s.devices) >= 2:
		e = s.fleetStatus()
	case x == 10:
		e = cwEvent{typ: unknownType}
	default:
		e = s.devices[s.r.IntN(len(s.devices))].next(s.r)
	}
	e.callTime = s.tick()
	if e.typ == machineError {
		e.createTime = createTimeOf(s.r, e.callTime)
	}
	if bad {
		d := s.badCarwash(e)
		d.Key = s.key("bad")
		return pending{d: d}
	}
	fs := e.fields(s.r.IntN(50) == 0) // now and then callTime as a numeric string
	st := s.pickStyle()
	d := Delivery{Source: SourceCarwash, Body: render(fs, st), Expect: http.StatusOK,
		Key: s.key(SourceCarwash), Kind: e.typ}
	return pending{d: d, fs: fs, st: st, cw: &e}
}

// badBase is a well-formed callback of a known type for a device, made
// without touching any device's plan (bad input changes nothing).
func (s *Sim) badBase() cwEvent {
	dv := s.devices[s.r.IntN(len(s.devices))]
	switch s.r.IntN(5) {
	case 0:
		return cwEvent{typ: finishWash, iotID: dv.iotID, orderID: "W" + strconv.FormatInt(dv.iotID, 10) + "-X"}
	case 1:
		return cwEvent{typ: machineError, iotID: dv.iotID, errorMessage: errorMessages[0]}
	case 2:
		return cwEvent{typ: faCarChange, iotID: dv.iotID, status: `"ENTER"`, park: parkForward}
	case 3:
		return cwEvent{typ: wp1StartWater, iotID: dv.iotID, orderID: "WP" + strconv.FormatInt(dv.iotID, 10) + "-X"}
	}
	if len(s.devices) < 2 {
		return cwEvent{typ: tt1CarInto, iotID: dv.iotID, status: `"SUCCESS"`}
	}
	return s.fleetStatus()
}

// key names a new callback: source and sequence number.
func (s *Sim) key(prefix string) string {
	s.seq++
	return prefix + ":" + strconv.FormatInt(s.seq, 10)
}

// fleetStatus is a MACHINE_UPDATE_STATUS naming 2 to 8 distinct devices.
func (s *Sim) fleetStatus() cwEvent {
	n := 2 + s.r.IntN(min(7, len(s.devices)-1))
	ids := make([]int64, 0, n)
	for len(ids) < n {
		id := s.devices[s.r.IntN(len(s.devices))].iotID
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	e := cwEvent{typ: machineUpdateStatus, iotIDs: ids, online: 1, status: "1"}
	if s.r.IntN(10) < 3 {
		e.online, e.status = 0, "0"
	}
	if s.r.IntN(10) == 0 { // some gateways send it as a string
		e.status = `"` + e.status + `"`
	}
	return e
}

// tick returns the next callTime: distinct and increasing fleet-wide.
func (s *Sim) tick() int64 {
	t := s.clock
	s.clock += max(1, s.stepMs/2+s.r.Int64N(s.stepMs))
	return t
}

// pickStyle: mostly compact, as platforms send.
func (s *Sim) pickStyle() style {
	switch s.r.IntN(10) {
	case 0:
		return stylePretty
	case 1:
		return styleSpaced
	}
	return styleCompact
}

func (s *Sim) newOrder() *order {
	s.made++
	anomaly := anomalyNone
	if s.cfg.AnomalyRate > 0 && s.r.Float64() < s.cfg.AnomalyRate {
		anomaly = 1 + s.r.IntN(nAnomalies-1)
	}
	return newOrder(s.r, s.cfg.Seed, s.made, anomaly)
}

func (s *Sim) produceEnergy(bad bool) (pending, error) {
	i := s.r.IntN(len(s.orders))
	o := s.orders[i]
	if bad {
		e := o.plan[0] // a copy, made distinct from every real callback
		e.trigger = txHash(s.r)
		d, err := s.badEnergy(e)
		d.Key = s.key("bad")
		return pending{d: d}, err
	}
	e := o.plan[0]
	o.plan = o.plan[1:]
	if len(o.plan) == 0 {
		s.orders[i] = s.newOrder()
	}
	fs, err := s.sign(e.fields())
	if err != nil {
		return pending{}, err
	}
	st := s.pickStyle()
	d := Delivery{Source: SourceEnergy, Body: render(fs, st), Expect: http.StatusOK,
		Key: s.key(SourceEnergy), Kind: "OrderCallback"}
	return pending{d: d, fs: fs, st: st, en: &e}, nil
}

func (s *Sim) signing() bool {
	return s.cfg.EnergySecret != "" && s.cfg.EnergyScheme != energy.SchemeNone
}

// sign appends the sign member; without a secret, a quarter of the
// callbacks carry "sign":"" like the platform's example, the rest none.
func (s *Sim) sign(fs []field) ([]field, error) {
	if !s.signing() {
		if s.r.IntN(4) == 0 {
			return append(fs, field{"sign", `""`}), nil
		}
		return fs, nil
	}
	sig, err := energy.Sign(s.cfg.EnergyScheme, render(fs, styleCompact), s.cfg.EnergySecret)
	if err != nil {
		return nil, fmt.Errorf("simulate: signing an energy callback: %w", err)
	}
	return append(fs, field{"sign", jstr(sig)}), nil
}

func (s *Sim) signedBody(fs []field, st style) ([]byte, error) {
	fs, err := s.sign(fs)
	if err != nil {
		return nil, err
	}
	return render(fs, st), nil
}
