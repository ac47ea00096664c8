package simulate_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/carwash"
	"github.com/tidemark/tidemark/domain/energy"
	"github.com/tidemark/tidemark/domain/simulate"
)

// fullConfig turns every knob on, with a signing secret.
func fullConfig(seed uint64) simulate.Config {
	return simulate.Config{
		Seed: seed, Devices: 24, Orders: 8,
		EnergySecret: "s3cret", EnergyScheme: energy.SchemeMD5KVSorted,
		DuplicateRate: 0.3, ReserializeRate: 0.5, ReorderRate: 0.3, BadRate: 0.1, AnomalyRate: 0.3,
	}
}

// verdict is what the real decoders make of a delivery, as the API would
// answer it: its status and, when accepted, the event.
func verdict(t *testing.T, cfg simulate.Config, d simulate.Delivery) (int, domain.Accepted) {
	t.Helper()
	if d.ContentType != "" && d.ContentType != "application/json" {
		return http.StatusUnsupportedMediaType, domain.Accepted{}
	}
	var acc domain.Accepted
	var err error
	switch d.Source {
	case simulate.SourceCarwash:
		acc, err = carwash.Decode(d.Body)
	case simulate.SourceEnergy:
		acc, _, err = energy.Decoder{Scheme: cfg.EnergyScheme, Secret: cfg.EnergySecret}.Decode(d.Body)
	default:
		t.Fatalf("delivery %s: unknown source %q", d.Key, d.Source)
	}
	switch {
	case err == nil:
		return http.StatusOK, acc
	case errors.Is(err, domain.ErrUnauthorized):
		return http.StatusUnauthorized, acc
	case errors.Is(err, domain.ErrMalformed):
		return http.StatusBadRequest, acc
	case errors.Is(err, domain.ErrInvalidCallback):
		return http.StatusUnprocessableEntity, acc
	}
	t.Fatalf("delivery %s: unclassified error %v", d.Key, err)
	return 0, acc
}
