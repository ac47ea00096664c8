package sqlite

import (
	"fmt"
	"runtime"
	"time"

	"github.com/tidemark/tidemark/domain"
)

// Options tune a Store. The zero value is usable: Open fills in the defaults.
type Options struct {
	// PollInterval bounds how long WaitForEvents waits without an in-process
	// wake-up, i.e. how late appends of other processes are noticed. Default 200ms.
	PollInterval time.Duration
	// Clock stamps RecordedAt. Default domain.SystemClock{}.
	Clock domain.Clock
	// BusyTimeout is how long a statement waits for another process's write
	// lock before failing with domain.ErrUnavailable. Default 10s.
	BusyTimeout time.Duration
	// ReadConns caps the reader pool. Default max(4, GOMAXPROCS).
	ReadConns int
}

func (o Options) withDefaults() Options {
	if o.PollInterval == 0 {
		o.PollInterval = 200 * time.Millisecond
	}
	if o.Clock == nil {
		o.Clock = domain.SystemClock{}
	}
	if o.BusyTimeout == 0 {
		o.BusyTimeout = 10 * time.Second
	}
	if o.ReadConns == 0 {
		o.ReadConns = max(4, runtime.GOMAXPROCS(0))
	}
	return o
}

// Validate reports options that cannot work.
func (o Options) Validate() error {
	switch {
	case o.PollInterval < 0:
		return fmt.Errorf("sqlite: negative PollInterval %v", o.PollInterval)
	case o.BusyTimeout < 0:
		return fmt.Errorf("sqlite: negative BusyTimeout %v", o.BusyTimeout)
	case o.ReadConns < 0:
		return fmt.Errorf("sqlite: negative ReadConns %d", o.ReadConns)
	}
	return nil
}
