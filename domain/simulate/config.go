package simulate

import (
	"errors"
	"fmt"
	"time"

	"github.com/tidemark/tidemark/domain/energy"
)

// Config says what to simulate. The zero values of Start, Step and
// ReorderWindow mean their defaults; rates are probabilities in [0, 1].
type Config struct {
	Seed    uint64
	Devices int // car-wash devices, machine types in turn (≤ MaxDevices)
	Orders  int // energy orders active at a time; a finished one is replaced by a new one

	Start time.Time     // callTime of the first car-wash callback (default DefaultStart)
	Step  time.Duration // mean time between two car-wash callbacks of the fleet (default 1 s, at least 1 ms)

	// EnergySecret signs energy callbacks with EnergyScheme ("" = the default scheme)
	// when set; without a secret they carry no sign (sometimes "sign":"" like the seed).
	EnergySecret string
	EnergyScheme energy.Scheme

	DuplicateRate   float64 // share of valid callbacks retried 1 to 3 times
	ReserializeRate float64 // share of retries re-serialised (other key order and spacing)
	ReorderRate     float64 // share of deliveries taken out of order within ReorderWindow
	BadRate         float64 // share of deliveries that are bad input (answered 4xx)
	AnomalyRate     float64 // share of energy orders given a billing anomaly (gap, double charge, over limit, charge on deleted)

	ReorderWindow int // deliveries a reordered one is chosen among (default 32)
}

// Defaults of Config.
var DefaultStart = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

const (
	DefaultStep          = time.Second
	DefaultReorderWindow = 32
	// MaxDevices is the number of device ids a seed owns.
	MaxDevices = 10000
)

// ErrConfig: a Config that cannot be simulated.
var ErrConfig = errors.New("invalid simulation config")

// Validate reports every problem of c, wrapping ErrConfig.
func (c Config) Validate() error {
	var errs []error
	if c.Devices < 0 || c.Devices > MaxDevices {
		errs = append(errs, fmt.Errorf("devices %d: want 0..%d", c.Devices, MaxDevices))
	}
	if c.Orders < 0 {
		errs = append(errs, fmt.Errorf("orders %d: want ≥ 0", c.Orders))
	}
	if c.Devices <= 0 && c.Orders <= 0 {
		errs = append(errs, errors.New("nothing to simulate: devices and orders are both 0"))
	}
	if c.Step < 0 {
		errs = append(errs, fmt.Errorf("step %s: want ≥ 0", c.Step))
	}
	if !c.Start.IsZero() && c.Start.UnixMilli() <= 0 {
		errs = append(errs, fmt.Errorf("start %s: want after 1970", c.Start))
	}
	if c.ReorderWindow < 0 {
		errs = append(errs, fmt.Errorf("reorder window %d: want ≥ 0", c.ReorderWindow))
	}
	for _, r := range []struct {
		name string
		v    float64
	}{{"duplicate", c.DuplicateRate}, {"reserialize", c.ReserializeRate}, {"reorder", c.ReorderRate},
		{"bad", c.BadRate}, {"anomaly", c.AnomalyRate}} {
		if !(r.v >= 0 && r.v <= 1) { // also catches NaN
			errs = append(errs, fmt.Errorf("%s rate %v: want 0..1", r.name, r.v))
		}
	}
	if _, err := energy.ParseScheme(string(c.EnergyScheme)); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return nil
}

// withDefaults fills the zero values and clamps what New cannot use, so
// New never fails (Validate is for callers that want to refuse instead).
func (c Config) withDefaults() Config {
	if c.Start.IsZero() || c.Start.UnixMilli() <= 0 {
		c.Start = DefaultStart
	}
	if c.Step <= 0 {
		c.Step = DefaultStep
	}
	if c.Step < time.Millisecond {
		c.Step = time.Millisecond
	}
	if c.ReorderWindow <= 0 {
		c.ReorderWindow = DefaultReorderWindow
	}
	c.Devices = min(max(c.Devices, 0), MaxDevices)
	c.Orders = max(c.Orders, 0)
	for _, p := range []*float64{&c.DuplicateRate, &c.ReserializeRate, &c.ReorderRate, &c.BadRate, &c.AnomalyRate} {
		if !(*p >= 0) { // NaN too
			*p = 0
		}
		*p = min(*p, 1)
	}
	if sc, err := energy.ParseScheme(string(c.EnergyScheme)); err == nil {
		c.EnergyScheme = sc
	} else {
		c.EnergyScheme = energy.DefaultScheme
	}
	return c
}
