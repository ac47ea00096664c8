package energy

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/tidemark/tidemark/domain"
)

const testSecret = "tidemark-test-secret"

func TestDecodeSeedExample(t *testing.T) {
	raw := testdataFiles(t, "valid")["seed_example.json"]
	if !strings.Contains(string(raw), "\"hash\":\"\", \n\"sign\":\"\",\n\"energyNums\":\"65000\"") {
		t.Fatal("testdata/valid/seed_example.json is not the seed's example as printed")
	}
	acc, verdict, err := Decoder{}.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	const canonical = `{"autoType":0,"detentionChargeTime":6,"energyNums":"65000","hash":"","maxDelegateNums":10,` +
		`"orderId":"201411301111","orderMoney":44000000,"payment":1,"receiveAddress":"","recharge":1,"residue":6,` +
		`"sign":"","state":1,"totalDelegateNums":10,"triggerTransactionId":""}`
	want := domain.Accepted{Source: "energy", Stream: "energy.order-201411301111", Type: "energy.OrderCallback",
		ID: domain.EventID("energy", []byte(canonical)), Data: []byte(canonical)}
	if !reflect.DeepEqual(acc, want) || verdict != domain.SignatureUnverified {
		t.Fatalf("Decode(seed) =\n %+v %q\nwant\n %+v", acc, verdict, want)
	}
	c, err := ParseCallback(acc.Data)
	if err != nil {
		t.Fatal(err)
	}
	wantC := Callback{OrderID: "201411301111", Residue: 6, Recharge: 1, State: 1, Payment: 1, MaxDelegateNums: 10,
		TotalDelegateNums: 10, DetentionChargeTime: 6, EnergyNums: 65000, OrderMoneySun: 44000000,
		Present: FieldResidue | FieldRecharge | FieldState | FieldAutoType | FieldPayment | FieldMaxDelegateNums |
			FieldTotalDelegateNums | FieldDetentionChargeTime | FieldEnergyNums | FieldOrderMoney}
	if c != wantC {
		t.Fatalf("ParseCallback(seed) =\n %+v\nwant\n %+v", c, wantC)
	}
	// A retry re-serialised with other key order and spacing is the same event.
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	again, _ := json.MarshalIndent(m, "", "   ")
	if acc2, _, err := (Decoder{}).Decode(again); err != nil || acc2.ID != acc.ID {
		t.Fatalf("re-serialised seed: %v, id %s vs %s", err, acc2.ID, acc.ID)
	}
}

func TestDecodeValidTestdata(t *testing.T) {
	want := map[string]struct {
		stream string
		check  func(Callback) bool
	}{
		"seed_example.json":     {"energy.order-201411301111", func(c Callback) bool { return c.EnergyNums == 65000 }},
		"full_delegation.json":  {"energy.order-E00000001", func(c Callback) bool { return c.OrderMoneySun == 2000000 && c.Source == 2 && len(c.Hash) == 64 }},
		"legacy_trx_money.json": {"energy.order-E00000002", func(c Callback) bool { return c.OrderMoneySun == 1960000 && c.Recharge == 1 && c.AutoType == 1 }},
		"trigger_first.json":    {"energy.order-201411301112", func(c Callback) bool { return c.OrderMoneySun == 1 && c.OutTradeNo == "778899" }},
		"extra_fields.json":     {"energy.order-E00000003", func(c Callback) bool { return c.State == 2 && !c.Has(FieldResidue|FieldOrderMoney) }},
		"signed_kv_sorted.json": {"energy.order-E00000009", func(c Callback) bool { return c.OrderMoneySun == 1960000 }},
	}
	files := testdataFiles(t, "valid")
	if len(files) != len(want) {
		t.Fatalf("testdata/valid has %d files, table has %d", len(files), len(want))
	}
	for name, raw := range files {
		acc, _, err := Decoder{}.Decode(raw)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		c, err := ParseCallback(acc.Data)
		if err != nil || acc.Stream != want[name].stream || !want[name].check(c) {
			t.Errorf("%s: stream %s, callback %+v, %v", name, acc.Stream, c, err)
		}
		assertSameView(t, name, raw, acc.Data)
	}
}

// assertSameView: the fold's fast reader sees what the validated decoder saw.
func assertSameView(t *testing.T, name string, raw, data []byte) {
	t.Helper()
	obj, err := domain.ParseObject(raw)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	slow, err1 := callbackFromObject(obj)
	fast, err2 := ParseCallback(data)
	if err1 != nil || err2 != nil || slow != fast {
		t.Fatalf("%s: ParseCallback differs from the decoder's view:\n %+v %v\n %+v %v", name, fast, err2, slow, err1)
	}
}

func TestDecodeInvalidTestdata(t *testing.T) {
	want := map[string][2]string{ // file → field, rule; "" rule = malformed (400)
		"orderid_missing.json":         {"orderId", "required"},
		"orderid_blank.json":           {"orderId", "required"},
		"orderid_too_long.json":        {"orderId", "max"},
		"orderid_object.json":          {"orderId", "string"},
		"state_out_of_range.json":      {"state", "enum"},
		"recharge_out_of_range.json":   {"recharge", "enum"},
		"source_out_of_range.json":     {"source", "enum"},
		"autotype_out_of_range.json":   {"autoType", "enum"},
		"residue_negative.json":        {"residue", "min"},
		"energynums_decimal.json":      {"energyNums", "integer"},
		"energynums_text.json":         {"energyNums", "integer"},
		"total_bool.json":              {"totalDelegateNums", "integer"},
		"max_huge.json":                {"maxDelegateNums", "integer"},
		"address_checksum.json":        {"receiveAddress", "tron_address"},
		"address_short.json":           {"receiveAddress", "tron_address"},
		"address_number.json":          {"receiveAddress", "string"},
		"hash_short.json":              {"hash", "tx_hash"},
		"bandwidth_not_hex.json":       {"bandwidthHash", "tx_hash"},
		"trigger_bad.json":             {"triggerTransactionId", "tx_hash"},
		"money_7_decimals.json":        {"orderMoney", "money"},
		"money_negative.json":          {"orderMoney", "money"},
		"money_huge.json":              {"orderMoney", "money"},
		"money_exponent.json":          {"orderMoney", "money"},
		"money_bool.json":              {"orderMoney", "money"},
		"money_beyond_supply.json":     {"orderMoney", "max"},
		"money_trx_beyond_supply.json": {"orderMoney", "max"},
		"energynums_beyond_bound.json": {"energyNums", "max"},
		"not_object.json":              {"body", "object"},
		"malformed_truncated.json":     {"", ""},
		"malformed_utf8.json":          {"", ""},
	}
	files := testdataFiles(t, "invalid")
	if len(files) != len(want) {
		t.Fatalf("testdata/invalid has %d files, table has %d", len(files), len(want))
	}
	for name, raw := range files {
		_, _, err := Decoder{}.Decode(raw)
		w := want[name]
		if w[1] == "" {
			if !errors.Is(err, domain.ErrMalformed) {
				t.Errorf("%s: err = %v, want ErrMalformed", name, err)
			}
			continue
		}
		var ve *domain.ValidationError
		if !errors.As(err, &ve) || ve.Field != w[0] || ve.Rule != w[1] || !errors.Is(err, domain.ErrInvalidCallback) {
			t.Errorf("%s: err = %#v, want field %s rule %s", name, err, w[0], w[1])
			continue
		}
		if !strings.Contains(ve.Error(), w[0]) {
			t.Errorf("%s: message %q does not name the field", name, ve.Error())
		}
	}
}

func TestDecodeSignatureOrder(t *testing.T) {
	signedRaw := testdataFiles(t, "valid")["signed_kv_sorted.json"]
	seed := testdataFiles(t, "valid")["seed_example.json"]
	badState := []byte(`{"orderId":"E1","state":9}`)
	sig, _ := Sign(SchemeMD5KVSorted, badState, testSecret)
	badStateSigned := []byte(`{"orderId":"E1","state":9,"sign":"` + sig + `"}`)

	secret := Decoder{Secret: testSecret} // default scheme
	for _, c := range []struct {
		name    string
		d       Decoder
		raw     []byte
		want    error
		verdict string
	}{
		{"signed, secret set", secret, signedRaw, nil, domain.SignatureValid},
		{"signed, scheme named", Decoder{Scheme: SchemeMD5KVSorted, Secret: testSecret}, signedRaw, nil, domain.SignatureValid},
		{"signed, no secret", Decoder{}, signedRaw, nil, domain.SignatureUnverified},
		{"signed, scheme none", Decoder{Scheme: SchemeNone, Secret: testSecret}, signedRaw, nil, domain.SignatureUnverified},
		{"other scheme", Decoder{Scheme: SchemeMD5JSON, Secret: testSecret}, signedRaw, domain.ErrUnauthorized, ""},
		{"wrong secret", Decoder{Secret: "x"}, signedRaw, domain.ErrUnauthorized, ""},
		{"seed's empty sign", secret, seed, domain.ErrUnauthorized, ""},
		{"malformed before signature", secret, []byte(`{"orderId":`), domain.ErrMalformed, ""},
		{"signature before rules", secret, badState, domain.ErrUnauthorized, ""},
		{"rules after a good signature", secret, badStateSigned, domain.ErrInvalidCallback, ""},
		{"unknown scheme", Decoder{Scheme: "md4", Secret: testSecret}, signedRaw, ErrUnknownScheme, ""},
	} {
		_, verdict, err := c.d.Decode(c.raw)
		if c.want == nil {
			if err != nil || verdict != c.verdict {
				t.Errorf("%s: %q, %v; want %q", c.name, verdict, err, c.verdict)
			}
			continue
		}
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
	_, _, err := secret.Decode(seed)
	var se *SignatureError
	if !errors.As(err, &se) || se.Error() != "sign missing" {
		t.Errorf("seed with a secret: %v, want \"sign missing\"", err)
	}
}

func TestParseCallbackStoredData(t *testing.T) {
	for _, c := range []struct {
		data string
		want Callback
	}{
		{`{"orderId":"E\u00e9\"1","hash":"ab","orderMoney":"2.5","x":{"orderId":"nested"},"y":[1,{"a":"]"}]}`,
			Callback{OrderID: "Eé\"1", Hash: "ab", OrderMoneySun: 2500000, Present: FieldOrderMoney}},
		{` { "orderId" : 7 , "state" : null , "residue" : "3" } `,
			Callback{OrderID: "7", Residue: 3, Present: FieldResidue}},
	} {
		got, err := ParseCallback([]byte(c.data))
		if err != nil || got != c.want {
			t.Errorf("ParseCallback(%s) = %+v, %v; want %+v", c.data, got, err, c.want)
		}
	}
	for _, bad := range []string{``, `[]`, `{"orderId":"E1"`, `{"orderId":"E1",}`, `{"orderId":"E1"} x`,
		`{"state":1}`, `{"orderId":"E1","state":tru}`, `{"orderId":"E1","state":"x"}`, `{"orderId":"E1","hash":1}`,
		`{"orderId":"E1","orderMoney":"1.2345678"}`, `{"orderId":"E1","x":{"a":"}`, `{"orderId":"E1","state":nul}`} {
		if _, err := ParseCallback([]byte(bad)); err == nil {
			t.Errorf("ParseCallback(%s) accepted", bad)
		}
	}
}

// FuzzDecode: Decode never panics, refuses only with the documented errors,
// and what it accepts the fold reads back exactly.
func FuzzDecode(f *testing.F) {
	for _, dir := range []string{"valid", "invalid"} {
		for _, raw := range testdataFiles(f, dir) {
			f.Add(raw)
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		acc, verdict, err := Decoder{}.Decode(raw)
		if err != nil {
			if !errors.Is(err, domain.ErrMalformed) && !errors.Is(err, domain.ErrInvalidCallback) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if verdict != domain.SignatureUnverified || acc.ID != domain.EventID(Source, acc.Data) || !json.Valid(acc.Data) {
			t.Fatalf("bad accepted event %+v %q", acc, verdict)
		}
		assertSameView(t, "fuzz", raw, acc.Data)
		c, _ := ParseCallback(acc.Data)
		if acc.Stream != StreamOf(c.OrderID) {
			t.Fatalf("stream %s for order %q", acc.Stream, c.OrderID)
		}
		again, _, err := Decoder{}.Decode(acc.Data)
		if err != nil || again.ID != acc.ID {
			t.Fatalf("decoding the canonical data again: %v, %s vs %s", err, again.ID, acc.ID)
		}
	})
}
