package kurrentdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/kurrent-io/KurrentDB-Client-Go/kurrentdb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tidemark/tidemark/domain"
)

// codeErrors maps each error code of the client to the domain error it
// means. Codes absent here (or mapped to nil) stay unmapped: a bug or a
// server that cannot serve Tidemark, answered 500 rather than retried.
var codeErrors = map[kurrentdb.ErrorCode]error{
	// The optimistic-concurrency check failed (v1 append, v2 append, AppendRecords).
	kurrentdb.ErrorCodeWrongExpectedVersion:       domain.ErrWrongExpectedVersion,
	kurrentdb.ErrorCodeStreamRevisionConflict:     domain.ErrWrongExpectedVersion,
	kurrentdb.ErrorCodeAppendConsistencyViolation: domain.ErrWrongExpectedVersion,

	// No such stream, or it was deleted / tombstoned outside Tidemark.
	kurrentdb.ErrorCodeResourceNotFound: domain.ErrNotFound,
	kurrentdb.ErrorCodeStreamDeleted:    domain.ErrNotFound,
	kurrentdb.ErrorCodeStreamTombstoned: domain.ErrNotFound,

	// The cluster cannot take the operation now: retry later.
	kurrentdb.ErrorCodeDeadlineExceeded: domain.ErrUnavailable,
	kurrentdb.ErrorCodeConnectionClosed: domain.ErrUnavailable,
	kurrentdb.ErrorCodeNotLeader:        domain.ErrUnavailable, // the client reconnects to the leader
	kurrentdb.ErrorAborted:              domain.ErrUnavailable,
	kurrentdb.ErrorUnavailable:          domain.ErrUnavailable,
	// Our credentials are wrong or lack rights. That is the operator's to
	// fix, not the caller's fault: never domain.ErrUnauthorized, which
	// would answer a platform's callback with 401.
	kurrentdb.ErrorCodeUnauthenticated: domain.ErrUnavailable,
	kurrentdb.ErrorCodeAccessDenied:    domain.ErrUnavailable,

	// The event (or request) is larger than the server accepts.
	kurrentdb.ErrorCodeAppendRecordSizeExceeded:      domain.ErrInvalidEvent,
	kurrentdb.ErrorCodeAppendTransactionSizeExceeded: domain.ErrInvalidEvent,

	kurrentdb.ErrorCodeUnknown:               nil, // looked at more closely below
	kurrentdb.ErrorCodeUnsupportedFeature:    nil, // server too old for a call
	kurrentdb.ErrorCodeResourceAlreadyExists: nil, // only persistent subscriptions / projections
	kurrentdb.ErrorCodeParsing:               nil, // data we cannot parse
	kurrentdb.ErrorCodeInternalClient:        nil, // a client library bug
	kurrentdb.ErrorCodeInternalServer:        nil, // a server bug
}

// interpretError turns a client error into a domain error, wrapping both
// so errors.Is works for the domain error and the cause stays visible.
// Context errors and errors already interpreted pass through unchanged. It
// is the only place that knows the client's error codes.
func interpretError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	for _, known := range []error{domain.ErrWrongExpectedVersion, domain.ErrUnavailable, domain.ErrNotFound,
		domain.ErrInvalidEvent, domain.ErrInvalidPosition} {
		if errors.Is(err, known) {
			return err
		}
	}
	var kerr *kurrentdb.Error
	if errors.As(err, &kerr) {
		if target := codeErrors[kerr.Code()]; target != nil {
			return fmt.Errorf("%w: %w", target, err)
		}
		if kerr.Code() != kurrentdb.ErrorCodeUnknown {
			return err
		}
		err = kerr // look at its cause
	}
	if target := causeError(err); target != nil {
		return fmt.Errorf("%w: %w", target, err)
	}
	return err
}

// causeError classifies an error the client did not give a specific code:
// transport failures and the gRPC status under ErrorCodeUnknown.
func causeError(err error) error {
	if isConnectionFailure(err) {
		return domain.ErrUnavailable
	}
	st, ok := grpcStatus(err)
	if !ok {
		return nil
	}
	switch st.Code() {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted:
		return domain.ErrUnavailable
	case codes.InvalidArgument:
		// The v1 append refuses an oversized request this way.
		if strings.Contains(strings.ToLower(st.Message()), "append size") {
			return domain.ErrInvalidEvent
		}
	}
	return nil
}

// grpcStatus finds a gRPC status anywhere in err's chain.
func grpcStatus(err error) (*status.Status, bool) {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if st, ok := status.FromError(e); ok && st.Code() != codes.OK && st.Code() != codes.Unknown {
			return st, true
		}
	}
	return nil, false
}

// isConnectionFailure reports errors of the transport rather than of the request.
func isConnectionFailure(err error) bool {
	var netErr net.Error
	return errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
