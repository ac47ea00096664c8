package kurrentdb

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/tidemark/tidemark/domain"
)

// Options tune a Store. The zero value is usable: Open fills in the defaults.
type Options struct {
	// StreamPrefix is put before every stream name in KurrentDB and stripped
	// when reading; ReadAll, Head, WaitForEvents and Subscribe see only
	// streams with the prefix. It lets several Tidemark deployments (or test
	// databases) share one cluster. It must not start with "$". Empty: none.
	// When empty, Open takes it from the URL's streamPrefix parameter.
	StreamPrefix string

	// DedupeHorizon and DedupeLimit bound the search for already stored
	// event ids before an append (see the package doc): the stream's events
	// are scanned newest first, stopping at the first one recorded more than
	// DedupeHorizon ago or after DedupeLimit events. Defaults 1h and 1,000;
	// a negative DedupeHorizon removes the time bound.
	DedupeHorizon time.Duration
	DedupeLimit   int

	// Concurrency bounds the parallel reads of one AppendBatch (id scans and
	// position read-backs) and the parallel streams of one Import. Default 8.
	Concurrency int

	// ImportChunk caps the events of one append during Import. Default 500;
	// a chunk is also cut before it passes 512 KiB (the server's default
	// maximum append is 1 MiB).
	ImportChunk int

	// PollInterval is the longest WaitForEvents blocks without news from
	// its $all subscription before returning nil. Default 1s.
	PollInterval time.Duration

	// Timeout bounds each operation on the server (a read, an append)
	// whose ctx has no earlier deadline. Default 10s.
	Timeout time.Duration

	// ConnectTimeout bounds Open's first round trip. Default 10s.
	ConnectTimeout time.Duration

	// CAFile (PEM) is the authority that signed the nodes' certificates;
	// it overrides the URL's tlsCAFile. ClientCertFile and ClientKeyFile
	// authenticate with an X.509 user certificate (both or neither).
	// InsecureSkipVerify accepts any server certificate (tests only).
	CAFile             string
	ClientCertFile     string
	ClientKeyFile      string
	InsecureSkipVerify bool

	// Clock gives "now" for the dedupe horizon. Default domain.SystemClock{}.
	Clock domain.Clock

	// Logger receives the client library's log lines (discovery, drops).
	// Default: discarded.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.DedupeHorizon == 0 {
		o.DedupeHorizon = time.Hour
	}
	if o.DedupeLimit == 0 {
		o.DedupeLimit = 1_000
	}
	if o.Concurrency == 0 {
		o.Concurrency = 8
	}
	if o.ImportChunk == 0 {
		o.ImportChunk = 500
	}
	if o.PollInterval == 0 {
		o.PollInterval = time.Second
	}
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	if o.ConnectTimeout == 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	if o.Clock == nil {
		o.Clock = domain.SystemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Validate reports options that cannot work.
func (o Options) Validate() error {
	switch {
	case strings.HasPrefix(o.StreamPrefix, "$"):
		return fmt.Errorf("kurrentdb: StreamPrefix %q starts with $ (reserved for system streams)", o.StreamPrefix)
	case o.DedupeLimit < 0:
		return fmt.Errorf("kurrentdb: negative DedupeLimit %d", o.DedupeLimit)
	case o.Concurrency < 0:
		return fmt.Errorf("kurrentdb: negative Concurrency %d", o.Concurrency)
	case o.ImportChunk < 0:
		return fmt.Errorf("kurrentdb: negative ImportChunk %d", o.ImportChunk)
	case o.PollInterval < 0, o.Timeout < 0, o.ConnectTimeout < 0:
		return fmt.Errorf("kurrentdb: negative PollInterval, Timeout or ConnectTimeout")
	case (o.ClientCertFile == "") != (o.ClientKeyFile == ""):
		return fmt.Errorf("kurrentdb: ClientCertFile and ClientKeyFile go together")
	}
	return nil
}
