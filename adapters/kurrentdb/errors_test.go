package kurrentdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"syscall"
	"testing"
	"unsafe"

	"github.com/kurrent-io/KurrentDB-Client-Go/kurrentdb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tidemark/tidemark/domain"
)

// clientError builds the *kurrentdb.Error the client returns for a code.
// The client has no constructor for it, so the unexported fields are set
// by reflection; if a client upgrade renames them this fails loudly.
func clientError(t *testing.T, code kurrentdb.ErrorCode, cause error) error {
	t.Helper()
	e := &kurrentdb.Error{}
	v := reflect.ValueOf(e).Elem()
	set := func(name string, val reflect.Value) {
		f := v.FieldByName(name)
		if !f.IsValid() {
			t.Fatalf("kurrentdb.Error has no field %q any more: update clientError", name)
		}
		reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Set(val)
	}
	set("code", reflect.ValueOf(code))
	if cause != nil {
		set("err", reflect.ValueOf(&cause).Elem())
	}
	if e.Code() != code || (cause != nil && !errors.Is(e, cause)) {
		t.Fatalf("clientError(%d): built code %d", code, e.Code())
	}
	return e
}

// domainErrors are the errors interpretError may produce.
var domainErrors = []error{domain.ErrWrongExpectedVersion, domain.ErrUnavailable, domain.ErrNotFound,
	domain.ErrInvalidEvent, domain.ErrInvalidPosition, domain.ErrUnauthorized}

// checkMapped asserts err is exactly want among the domain errors (nil: none).
func checkMapped(t *testing.T, what string, err, cause, want error) {
	t.Helper()
	for _, d := range domainErrors {
		if got := errors.Is(err, d); got != (d == want) {
			t.Errorf("%s: errors.Is(%v, %v) = %v", what, err, d, got)
		}
	}
	if !errors.Is(err, cause) {
		t.Errorf("%s: the cause is lost in %v", what, err)
	}
}

func TestInterpretErrorEveryCode(t *testing.T) {
	want := map[kurrentdb.ErrorCode]error{
		kurrentdb.ErrorCodeUnknown:                       nil,
		kurrentdb.ErrorCodeUnsupportedFeature:            nil,
		kurrentdb.ErrorCodeDeadlineExceeded:              domain.ErrUnavailable,
		kurrentdb.ErrorCodeUnauthenticated:               domain.ErrUnavailable,
		kurrentdb.ErrorCodeResourceNotFound:              domain.ErrNotFound,
		kurrentdb.ErrorCodeResourceAlreadyExists:         nil,
		kurrentdb.ErrorCodeConnectionClosed:              domain.ErrUnavailable,
		kurrentdb.ErrorCodeWrongExpectedVersion:          domain.ErrWrongExpectedVersion,
		kurrentdb.ErrorCodeStreamRevisionConflict:        domain.ErrWrongExpectedVersion,
		kurrentdb.ErrorCodeStreamTombstoned:              domain.ErrNotFound,
		kurrentdb.ErrorCodeAppendRecordSizeExceeded:      domain.ErrInvalidEvent,
		kurrentdb.ErrorCodeAppendTransactionSizeExceeded: domain.ErrInvalidEvent,
		kurrentdb.ErrorCodeAccessDenied:                  domain.ErrUnavailable,
		kurrentdb.ErrorCodeStreamDeleted:                 domain.ErrNotFound,
		kurrentdb.ErrorCodeParsing:                       nil,
		kurrentdb.ErrorCodeInternalClient:                nil,
		kurrentdb.ErrorCodeInternalServer:                nil,
		kurrentdb.ErrorCodeNotLeader:                     domain.ErrUnavailable,
		kurrentdb.ErrorAborted:                           domain.ErrUnavailable,
		kurrentdb.ErrorUnavailable:                       domain.ErrUnavailable,
		kurrentdb.ErrorCodeAppendConsistencyViolation:    domain.ErrWrongExpectedVersion,
	}
	// Every code from the first to the last the client defines, so a code
	// added between them in an upgrade is noticed.
	for code := kurrentdb.ErrorCodeUnknown; code <= kurrentdb.ErrorCodeAppendConsistencyViolation; code++ {
		target, ok := want[code]
		if !ok {
			t.Errorf("code %d: no expectation", code)
			continue
		}
		if _, ok := codeErrors[code]; !ok {
			t.Errorf("code %d is not in codeErrors", code)
		}
		cause := errors.New("cause")
		raw := clientError(t, code, cause)
		for _, err := range []error{raw, fmt.Errorf("could not construct append operation. Reason: %w", raw)} {
			got := interpretError(err)
			checkMapped(t, fmt.Sprintf("code %d (%v)", code, raw), got, raw, target)
		}
	}
}

func TestInterpretErrorUnknownCodeLooksAtTheCause(t *testing.T) {
	cases := []struct {
		what  string
		cause error
		want  error
	}{
		{"gRPC unavailable", status.Error(codes.Unavailable, "connection refused"), domain.ErrUnavailable},
		{"gRPC deadline", status.Error(codes.DeadlineExceeded, "deadline"), domain.ErrUnavailable},
		{"gRPC resource exhausted", status.Error(codes.ResourceExhausted, "too many"), domain.ErrUnavailable},
		{"gRPC oversized append", status.Error(codes.InvalidArgument, "Maximum Append Size of 1048576 Exceeded."), domain.ErrInvalidEvent},
		{"gRPC other invalid argument", status.Error(codes.InvalidArgument, "bad position"), nil},
		{"gRPC internal", status.Error(codes.Internal, "boom"), nil},
		{"refused", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, domain.ErrUnavailable},
		{"reset", fmt.Errorf("read: %w", syscall.ECONNRESET), domain.ErrUnavailable},
		{"eof", io.ErrUnexpectedEOF, domain.ErrUnavailable},
		{"plain", errors.New("something else"), nil},
	}
	for _, c := range cases {
		t.Run(c.what, func(t *testing.T) {
			checkMapped(t, "in a client error", interpretError(clientError(t, kurrentdb.ErrorCodeUnknown, c.cause)), c.cause, c.want)
			checkMapped(t, "bare", interpretError(c.cause), c.cause, c.want)
		})
	}
}

func TestInterpretErrorPassesThrough(t *testing.T) {
	if interpretError(nil) != nil {
		t.Fatal("nil is not nil")
	}
	for _, err := range []error{context.Canceled, context.DeadlineExceeded, fmt.Errorf("op: %w", context.Canceled)} {
		if got := interpretError(err); got != err {
			t.Errorf("%v became %v", err, got)
		}
	}
	done := fmt.Errorf("x: %w", domain.ErrWrongExpectedVersion)
	if got := interpretError(done); got != done {
		t.Errorf("an interpreted error changed: %v", got)
	}
}

// TestClosedClientError uses the real client: a closed client's calls fail
// with ErrorCodeConnectionClosed, which is domain.ErrUnavailable and makes
// link retire the client.
func TestClosedClientError(t *testing.T) {
	cfg, err := kurrentdb.ParseConnectionString("kurrentdb://127.0.0.1:1?tls=false")
	if err != nil {
		t.Fatal(err)
	}
	c, err := kurrentdb.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	_, err = c.ReadAll(context.Background(), kurrentdb.ReadAllOptions{}, 1)
	if !isClientClosed(err) {
		t.Fatalf("closed client: %v, want ErrorCodeConnectionClosed", err)
	}
	if !errors.Is(interpretError(err), domain.ErrUnavailable) {
		t.Fatalf("closed client: %v is not ErrUnavailable", interpretError(err))
	}
}
