package postgres

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/tidemark/tidemark/domain"
)

// appendMetadata writes exactly what json.Marshal writes.
func TestAppendMetadataIsJSONMarshal(t *testing.T) {
	at := time.Date(2026, 11, 22, 6, 1, 2, 345600000, time.UTC)
	cases := []domain.Metadata{
		{},
		{Source: "carwash", ReceivedAt: at, RemoteAddr: "127.0.0.1:5555", ContentType: "application/json", Signature: domain.SignatureNone},
		{Source: "energy", ReceivedAt: at.In(time.FixedZone("x", -5*3600-30*60)), Signature: domain.SignatureValid, Readmitted: 42},
		{Source: "energy", ReceivedAt: at.Truncate(time.Second), RemoteAddr: "[::1]:80", ContentType: "application/json; charset=utf-8"},
		{Source: "carwash", ReceivedAt: at, ContentType: "text/json<&>", RemoteAddr: "a\"b\\c", Readmitted: -1},
		{Source: "é", ReceivedAt: at, ContentType: "\x7f\n"},
		{Source: "carwash", ReceivedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, // json.Marshal refuses
	}
	for _, m := range cases {
		want, werr := json.Marshal(m)
		got, err := appendMetadata([]byte("prefix"), m)
		if (err != nil) != (werr != nil) {
			t.Fatalf("%+v: error %v, json.Marshal %v", m, err, werr)
		}
		if err == nil && !bytes.Equal(got, append([]byte("prefix"), want...)) {
			t.Fatalf("%+v:\n got %s\nwant prefix%s", m, got, want)
		}
	}
}
