package main

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/carwash"
	"github.com/tidemark/tidemark/domain/energy"
	"github.com/tidemark/tidemark/domain/simulate"
)

// traffic generates the valid callbacks every figure uses: realistic
// simulator traffic (both platforms, some out of order) without bad input
// and without retries, so each delivery is a new event.
type traffic struct {
	sim *simulate.Sim
}

func newTraffic(seed uint64) *traffic {
	return &traffic{sim: simulate.New(simulate.Config{Seed: seed, Devices: 2000, Orders: 1000, ReorderRate: 0.1})}
}

// next returns n valid deliveries.
func (t *traffic) next(n int) ([]simulate.Delivery, error) {
	out := make([]simulate.Delivery, 0, n)
	for len(out) < n {
		d, ok := t.sim.Next()
		if !ok {
			err := t.sim.Err()
			if err == nil {
				err = errors.New("no more deliveries")
			}
			return out, fmt.Errorf("simulator: %w", err)
		}
		if d.Bad || d.Dup {
			continue
		}
		out = append(out, d)
	}
	return out, nil
}

// decoded is a delivery as the ingest path accepts it.
type decoded struct {
	acc       domain.Accepted
	raw       []byte
	signature string
}

// decode applies the platform's decoder, as the ingest handler does.
func decode(d simulate.Delivery) (decoded, error) {
	if d.Source == simulate.SourceCarwash {
		acc, err := carwash.Decode(d.Body)
		return decoded{acc: acc, raw: d.Body, signature: domain.SignatureNone}, err
	}
	acc, sig, err := energy.Decoder{}.Decode(d.Body)
	return decoded{acc: acc, raw: d.Body, signature: sig}, err
}

func (d decoded) newEvent(at time.Time) domain.NewEvent {
	return domain.NewEvent{ID: d.acc.ID, Type: d.acc.Type, Data: d.acc.Data, Raw: d.raw,
		Metadata: domain.Metadata{Source: d.acc.Source, ReceivedAt: at, RemoteAddr: "127.0.0.1",
			ContentType: "application/json", Signature: d.signature}}
}

// appendRequest is what the callback handler appends for d.
func (d decoded) appendRequest(at time.Time) domain.AppendRequest {
	return domain.AppendRequest{Stream: d.acc.Stream, Expected: domain.AnyVersion, Events: []domain.NewEvent{d.newEvent(at)}}
}

// decodeAll decodes deliveries into append requests.
func decodeAll(ds []simulate.Delivery) ([]decoded, error) {
	out := make([]decoded, 0, len(ds))
	for _, d := range ds {
		dec, err := decode(d)
		if err != nil {
			return nil, fmt.Errorf("decode %s delivery %s: %w", d.Source, d.Key, err)
		}
		out = append(out, dec)
	}
	return out, nil
}

// importer turns deliveries into import events: stream versions counted
// per stream, an id seen before skipped (as Import itself would).
type importer struct {
	versions map[string]int64
	seen     map[string]struct{}
	clock    time.Time
}

func newImporter() *importer {
	return &importer{versions: map[string]int64{}, seen: map[string]struct{}{},
		clock: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (im *importer) events(ds []simulate.Delivery) ([]domain.ImportEvent, error) {
	out := make([]domain.ImportEvent, 0, len(ds))
	for _, d := range ds {
		dec, err := decode(d)
		if err != nil {
			return nil, fmt.Errorf("decode %s delivery %s: %w", d.Source, d.Key, err)
		}
		if _, dup := im.seen[dec.acc.ID]; dup {
			continue
		}
		im.seen[dec.acc.ID] = struct{}{}
		im.versions[dec.acc.Stream]++
		im.clock = im.clock.Add(time.Millisecond)
		out = append(out, domain.ImportEvent{Stream: dec.acc.Stream, StreamVersion: im.versions[dec.acc.Stream],
			NewEvent: dec.newEvent(im.clock), RecordedAt: im.clock})
	}
	return out, nil
}

// queryTargets are the GET paths of the devices and orders in a set of events.
func queryTargets(ds []decoded) []string {
	seen := map[string]bool{}
	var paths []string
	for _, d := range ds {
		var p string
		if id, ok := strings.CutPrefix(d.acc.Stream, "carwash.device-"); ok {
			if _, err := strconv.ParseInt(id, 10, 64); err == nil {
				p = "/v1/devices/" + id
			}
		} else if id, ok := strings.CutPrefix(d.acc.Stream, energy.StreamPrefix); ok {
			p = "/v1/orders/" + url.PathEscape(id)
		}
		if p != "" && !seen[p] {
			seen[p] = true
			paths = append(paths, p)
		}
	}
	return paths
}
