package domain

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

var metadataSeeds = []string{
	`{"source": "carwash", "signature": "none", "receivedAt": "2025-01-01T00:00:00.001Z", "remoteAddr": "127.0.0.1", "contentType": "application/json"}`,
	`{"source":"energy","receivedAt":"2025-01-01T08:00:00+08:00","readmitted":42}`,
	`{}`, ` { } `, `{"Source":"x"}`, `{"source":"a\"b"}`, `{"source":null}`, `{"readmitted":-1}`,
	`{"readmitted":012}`, `{"readmitted":1e3}`, `{"readmitted":99999999999999999999}`, `{"other":1}`,
	`{"receivedAt":"yesterday"}`, `{"remoteAddr":"ünï"}`, "{\"remoteAddr\":\"\xff\"}", "{\"remoteAddr\":\"a\tb\"}",
	`{"source":"a",}`, `{"source":"a"} x`, `[]`, `null`, `{"source":"a","source":"b"}`, `{"receivedAt":"0001-01-01T00:00:00Z"}`,
}

// The fast path gives exactly what encoding/json gives, errors included.
func FuzzMetadataUnmarshal(f *testing.F) {
	for _, s := range metadataSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		start := Metadata{Source: "prior", Readmitted: 7, ReceivedAt: time.Unix(1, 0).UTC()}
		fast, std := start, start
		errFast := fast.UnmarshalJSON(b) // as the stores call it
		if errFast == nil {
			var viaJSON Metadata = start
			if err := json.Unmarshal(b, &viaJSON); err != nil || !reflect.DeepEqual(viaJSON, fast) {
				t.Fatalf("%q: through json.Unmarshal: %+v, %v", b, viaJSON, err)
			}
		}
		errStd := json.Unmarshal(b, (*metadataJSON)(&std))
		if (errFast == nil) != (errStd == nil) {
			t.Fatalf("%q: error %v, encoding/json %v", b, errFast, errStd)
		}
		if errStd == nil && !reflect.DeepEqual(fast, std) {
			t.Fatalf("%q:\n got %+v\nwant %+v", b, fast, std)
		}
	})
}

func TestMetadataFastPathTaken(t *testing.T) {
	var m Metadata
	if !m.decode([]byte(metadataSeeds[0])) {
		t.Fatal("the stored shape should take the fast path")
	}
	want := Metadata{Source: "carwash", Signature: SignatureNone, RemoteAddr: "127.0.0.1", ContentType: "application/json",
		ReceivedAt: time.Date(2025, 1, 1, 0, 0, 0, 1e6, time.UTC)}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("got %+v, want %+v", m, want)
	}
}

func BenchmarkMetadataUnmarshal(b *testing.B) {
	in := []byte(metadataSeeds[0])
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var m Metadata
			if err := m.UnmarshalJSON(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var m metadataJSON
			if err := json.Unmarshal(in, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
}
