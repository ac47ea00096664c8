package domain_test

import (
	"errors"
	"testing"

	"github.com/tidemark/tidemark/domain"
)

func TestCanonicalIgnoresKeyOrderAndSpacing(t *testing.T) {
	a, err := domain.ParseObject([]byte(`{"b":1.50,"a":"x<y","c":{"z":true,"y":null}}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := domain.ParseObject([]byte("{ \"c\" : {\"y\":null , \"z\":true},\n\"a\":\"x<y\", \"b\" : 1.50 }"))
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := domain.Canonical(a)
	cb, _ := domain.Canonical(b)
	if string(ca) != string(cb) {
		t.Fatalf("canonical forms differ: %s vs %s", ca, cb)
	}
	if want := `{"a":"x<y","b":1.50,"c":{"y":null,"z":true}}`; string(ca) != want {
		t.Fatalf("canonical = %s, want %s", ca, want)
	}
	if domain.EventID("carwash", ca) != domain.EventID("carwash", cb) {
		t.Fatal("same canonical body, different ids")
	}
	if domain.EventID("carwash", ca) == domain.EventID("energy", ca) {
		t.Fatal("source must be part of the id")
	}
}

func TestParseObjectRejects(t *testing.T) {
	for _, body := range []string{``, `{`, `{"a":1}x`, "\xff\xfe", `{"a":1}{"b":2}`} {
		if _, err := domain.ParseObject([]byte(body)); !errors.Is(err, domain.ErrMalformed) {
			t.Errorf("%q: err = %v, want ErrMalformed", body, err)
		}
	}
	for _, body := range []string{`[1]`, `"s"`, `12`, `null`} {
		if _, err := domain.ParseObject([]byte(body)); !errors.Is(err, domain.ErrInvalidCallback) {
			t.Errorf("%q: err = %v, want ErrInvalidCallback", body, err)
		}
	}
}

func TestEventIDIsUUIDv5(t *testing.T) {
	id := domain.EventID("energy", []byte(`{}`))
	if len(id) != 36 || id[14] != '5' || (id[19] != '8' && id[19] != '9' && id[19] != 'a' && id[19] != 'b') {
		t.Fatalf("not a UUIDv5: %s", id)
	}
}

func TestPositionOrderAndParse(t *testing.T) {
	a := domain.Position{TxID: 5, Seq: 9}
	b := domain.Position{TxID: 6, Seq: 2}
	if !a.Less(b) || b.Less(a) || a.Less(a) {
		t.Fatal("Less is not (TxID, Seq) order")
	}
	p, err := domain.ParsePosition(a.String())
	if err != nil || p != a {
		t.Fatalf("round trip: %v %v", p, err)
	}
	if p, err := domain.ParsePosition("42"); err != nil || p != (domain.Position{Seq: 42}) {
		t.Fatalf("bare seq: %v %v", p, err)
	}
	for _, bad := range []string{"", "x", "1.x", "-1", "1.-2"} {
		if _, err := domain.ParsePosition(bad); !errors.Is(err, domain.ErrInvalidPosition) {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
}
