package projections

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/carwash"
	"github.com/tidemark/tidemark/domain/energy"
)

// delivery is one POST of a callback as a platform would send it.
type delivery struct {
	source     string // carwash.Source | energy.Source
	raw        []byte
	receivedAt time.Time
}

// scenario generates random but valid callbacks of both platforms. It keeps
// what the domain rules need for delivery order not to matter: callTimes
// are unique per device and totalDelegateNums unique per order, so there
// are no ties for "latest" to break by storage order. Some callbacks are
// delivered twice, re-serialised (a platform retry).
type scenario struct {
	rng       *rand.Rand
	devices   int
	orders    int
	callTime  int64
	recv      time.Time
	addresses []string
	orderNext []int64 // next totalDelegateNums per order
}

func newScenario(seed uint64, devices, orders int) *scenario {
	s := &scenario{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), devices: devices, orders: orders,
		callTime: 1732262400000, recv: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	for i := 0; i < 3; i++ {
		s.addresses = append(s.addresses, tronAddress(s.rng))
	}
	s.orderNext = make([]int64, orders)
	return s
}

var machineTypes = []string{"NSELF_HELP_1", "NFULL_AUTO_1", "NFULL_AUTO_2", "NTUNNEL_1", "WATER_PURIFIER"}

func (s *scenario) deviceID() int64 { return int64(100000 + s.rng.IntN(s.devices)) }

// carwash returns one car-wash callback body.
func (s *scenario) carwash() map[string]any {
	s.callTime += 1 + s.rng.Int64N(5000)
	b := map[string]any{"callTime": s.callTime, "iotId": s.deviceID()}
	orderID := fmt.Sprintf("W%06d", s.rng.IntN(400))
	switch k := s.rng.IntN(15); k {
	case 0, 1:
		b["callbackType"] = carwash.MachineUpdateInfo
		b["name"] = fmt.Sprintf("Bay %d", s.rng.IntN(9))
		b["country"] = "TH"
		b["address"] = "88 Sukhumvit Rd"
		b["longitude"] = 100.5 + float64(s.rng.IntN(100))/1000
		b["latitude"] = 13.7
		b["errorStatus"] = []string{"OK", "ERROR"}[s.rng.IntN(2)]
		b["onlineStatus"] = []string{"ONLINE", "OFFLINE"}[s.rng.IntN(2)]
		b["machineType"] = machineTypes[s.rng.IntN(len(machineTypes))]
	case 2:
		delete(b, "iotId")
		b["callbackType"] = carwash.MachineUpdateStatus
		n := 1 + s.rng.IntN(3)
		ids := make([]int64, n)
		for i := range ids {
			ids[i] = s.deviceID()
		}
		b["iotIdList"] = ids
		b["status"] = s.rng.IntN(2)
	case 3:
		b["callbackType"] = carwash.MachineError
		b["errorMessage"] = fmt.Sprintf("[M%d]Abnormal photoelectric signal", 800+s.rng.IntN(50))
		b["createTime"] = "2024-11-22 08:07:55"
	case 4:
		b["callbackType"] = carwash.FACarChange
		b["status"] = []string{"SUCCESS", "FAIL", "BACK", "ENTER", "WAIT"}[s.rng.IntN(5)]
	case 5:
		b["callbackType"] = carwash.RT2CarChange
		b["status"] = []string{"SUCCESS", "BACK", "FORWARD", "WAIT"}[s.rng.IntN(4)]
	case 6:
		b["callbackType"] = carwash.ZYParkChange
		b["status"] = []any{0, 16, 17, "16", 3}[s.rng.IntN(5)]
	case 7, 8:
		b["callbackType"] = carwash.FinishWash
		b["orderId"] = orderID
	case 9:
		b["callbackType"] = carwash.TT1CarInto
		b["status"] = []string{"SUCCESS", "INTO_TIME_OUT"}[s.rng.IntN(2)]
	case 10:
		b["callbackType"] = carwash.TT1CarPushOut
		b["orderIdList"] = []string{orderID, fmt.Sprintf("W%06d", s.rng.IntN(400))}
	case 11:
		b["callbackType"] = []string{carwash.WP1CardConsumeReady, carwash.WP1StartWater, carwash.WP1WaitTimeout}[s.rng.IntN(3)]
		b["orderId"] = orderID
	case 12:
		b["callbackType"] = carwash.WP1WorkFinish
		b["orderId"] = orderID
		b["volume"] = s.rng.IntN(500)
	case 13:
		b["callbackType"] = carwash.WP1UploadTDS
		b["sourceTds"] = 100 + s.rng.IntN(200)
		b["cleanTds"] = s.rng.IntN(50)
	default:
		b["callbackType"] = "MACHINE_TT2_CAR_WAVE" // unknown type: stored, counted by the device fold
		b["wave"] = "left"
	}
	return b
}

// energy returns one energy order callback body.
func (s *scenario) energy() map[string]any {
	i := s.rng.IntN(s.orders)
	s.orderNext[i] += 1 + int64(s.rng.IntN(10)/9) // now and then a number is skipped: a gap
	total := s.orderNext[i]
	hash := randHex(s.rng, 32)
	if total > 2 && s.rng.IntN(12) == 0 {
		sum := sha256.Sum256([]byte(fmt.Sprint("dup", i))) // shared by callbacks of this order: duplicate charge
		hash = hex.EncodeToString(sum[:])
	}
	b := map[string]any{
		"orderId":           fmt.Sprintf("E%08d", i),
		"outTradeNo":        fmt.Sprintf("A-%d-%d", i, total),
		"receiveAddress":    s.addresses[i%len(s.addresses)],
		"residue":           max(0, 20-total),
		"recharge":          s.rng.IntN(2),
		"state":             []int{1, 1, 1, 0, 2}[s.rng.IntN(5)],
		"autoType":          s.rng.IntN(2),
		"payment":           s.rng.IntN(2),
		"maxDelegateNums":   18 + s.rng.IntN(5),
		"totalDelegateNums": total,
		"hash":              hash,
		"resourceType":      0,
		"source":            2,
		"energyNums":        65000,
		"orderMoney":        int64(1000000 + s.rng.IntN(9)*1000000),
	}
	switch s.rng.IntN(6) {
	case 0:
		b["orderMoney"] = 0 // first delegation: no charge, no ledger entry
		b["energyNums"] = 0
	case 1:
		b["orderMoney"] = "1.960000" // legacy TRX text
	case 2:
		b["energyNums"] = "65000" // numbers as strings
	}
	if total == 1 {
		b["triggerTransactionId"] = "triggerFirst"
	}
	return b
}

// deliveries generates n callbacks (energyShare of them energy), each
// delivered once, and about one in ten delivered again re-serialised.
func (s *scenario) deliveries(n int, energyShare float64) []delivery {
	var out []delivery
	for range n {
		s.recv = s.recv.Add(time.Duration(1+s.rng.IntN(900)) * time.Millisecond)
		var b map[string]any
		src := carwash.Source
		if s.rng.Float64() < energyShare {
			b, src = s.energy(), energy.Source
		} else {
			b = s.carwash()
		}
		raw, _ := json.Marshal(b)
		out = append(out, delivery{source: src, raw: raw, receivedAt: s.recv})
		if s.rng.IntN(10) == 0 {
			var pretty bytes.Buffer
			_ = json.Indent(&pretty, raw, "", "  ")
			out = append(out, delivery{source: src, raw: pretty.Bytes(), receivedAt: s.recv})
		}
	}
	return out
}

func randHex(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.IntN(256))
	}
	return hex.EncodeToString(b)
}

// tronAddress is a random valid base58check TRON address.
func tronAddress(rng *rand.Rand) string {
	payload := make([]byte, 21)
	payload[0] = 0x41
	for i := 1; i < 21; i++ {
		payload[i] = byte(rng.IntN(256))
	}
	h1 := sha256.Sum256(payload)
	h2 := sha256.Sum256(h1[:])
	full := append(payload, h2[:4]...)
	const alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
	n := new(big.Int).SetBytes(full)
	var out []byte
	mod := new(big.Int)
	for n.Sign() > 0 {
		n.DivMod(n, big.NewInt(58), mod)
		out = append(out, alphabet[mod.Int64()])
	}
	for _, c := range full {
		if c != 0 {
			break
		}
		out = append(out, '1')
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}

// accept decodes a delivery with the real decoders, as the ingest path does.
func accept(d delivery) (domain.Accepted, domain.NewEvent, error) {
	var acc domain.Accepted
	var err error
	md := domain.Metadata{Source: d.source, ReceivedAt: d.receivedAt}
	if d.source == carwash.Source {
		acc, err = carwash.Decode(d.raw)
		md.Signature = domain.SignatureNone
	} else {
		acc, md.Signature, err = energy.Decoder{}.Decode(d.raw)
	}
	if err != nil {
		return acc, domain.NewEvent{}, fmt.Errorf("decode %s: %w", d.raw, err)
	}
	return acc, domain.NewEvent{ID: acc.ID, Type: acc.Type, Data: acc.Data, Raw: d.raw, Metadata: md}, nil
}

// deliver appends deliveries through the store, in the given order, in
// batches of requests (group commit) like the ingest path.
func deliver(t testing.TB, ctx context.Context, st domain.EventStore, ds []delivery) {
	t.Helper()
	const per = 100
	var last domain.Position
	for i := 0; i < len(ds); i += per {
		var reqs []domain.AppendRequest
		for _, d := range ds[i:min(i+per, len(ds))] {
			acc, ne, err := accept(d)
			if err != nil {
				t.Fatal(err)
			}
			reqs = append(reqs, domain.AppendRequest{Stream: acc.Stream, Expected: domain.AnyVersion, Events: []domain.NewEvent{ne}})
		}
		res, errs, err := st.AppendBatch(ctx, reqs)
		if err != nil {
			t.Fatalf("append batch: %v", err)
		}
		for j, e := range errs {
			if e != nil {
				t.Fatalf("append %s: %v", reqs[j].Stream, e)
			}
			for _, p := range res[j].Positions {
				if last.Less(p) {
					last = p
				}
			}
		}
	}
	waitVisible(t, ctx, st, last)
}

// waitVisible waits until ReadAll can return the event at p. On a shared
// PostgreSQL server any open transaction, in any database, holds back the
// store's read gate for a while.
func waitVisible(t testing.TB, ctx context.Context, st domain.EventStore, p domain.Position) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		head, err := st.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !head.Less(p) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("appended events (up to %s) not readable after 2 minutes (head %s)", p, head)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// importEvents turns deliveries into ImportEvents (stream versions
// assigned, duplicates dropped), recorded at their receive time.
func importEvents(t testing.TB, ds []delivery) []domain.ImportEvent {
	t.Helper()
	return newImporter().events(t, ds)
}

// importer assigns stream versions across several chunks of deliveries.
type importer struct {
	seen     map[string]bool
	versions map[string]int64
}

func newImporter() *importer { return &importer{seen: map[string]bool{}, versions: map[string]int64{}} }

func (im *importer) events(t testing.TB, ds []delivery) []domain.ImportEvent {
	t.Helper()
	out := make([]domain.ImportEvent, 0, len(ds))
	for _, d := range ds {
		acc, ne, err := accept(d)
		if err != nil {
			t.Fatal(err)
		}
		if im.seen[acc.ID] {
			continue
		}
		im.seen[acc.ID] = true
		im.versions[acc.Stream]++
		out = append(out, domain.ImportEvent{Stream: acc.Stream, StreamVersion: im.versions[acc.Stream], NewEvent: ne,
			RecordedAt: d.receivedAt})
	}
	return out
}
