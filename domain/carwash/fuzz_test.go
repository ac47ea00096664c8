package carwash_test

import (
	"errors"
	"testing"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/carwash"
)

// FuzzDecode: Decode never panics, answers only ErrMalformed or a
// ValidationError, and an accepted body's canonical Data decodes again to
// the same event, which ParseCallback and Affected can read.
func FuzzDecode(f *testing.F) {
	for _, dir := range []string{"valid", "invalid"} {
		for _, raw := range readTestdata(f, dir) {
			f.Add(raw)
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		acc, err := carwash.Decode(raw)
		if err != nil {
			var ve *domain.ValidationError
			if !errors.Is(err, domain.ErrMalformed) && !errors.As(err, &ve) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		again, err := carwash.Decode(acc.Data)
		if err != nil {
			t.Fatalf("canonical Data rejected: %v\n%s", err, acc.Data)
		}
		if again.ID != acc.ID || again.Stream != acc.Stream || again.Type != acc.Type || again.CallTime != acc.CallTime {
			t.Fatalf("re-decode differs: %+v vs %+v", again, acc)
		}
		e := domain.Event{ID: acc.ID, Stream: acc.Stream, Type: acc.Type, Data: acc.Data, Position: domain.Position{Seq: 1}}
		ids, err := carwash.Affected(e)
		if err != nil {
			t.Fatalf("Affected: %v", err)
		}
		for _, id := range ids {
			s, err := carwash.Evolve(carwash.DeviceState{}, id, e)
			if err != nil || s.Device.Version != 1 {
				t.Fatalf("Evolve for %d: %v (version %d)", id, err, s.Device.Version)
			}
		}
	})
}
