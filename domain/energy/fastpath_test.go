package energy

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/tidemark/tidemark/domain"
)

// referenceDecode is Decode without its fast paths, as it was before them:
// ParseObject, signature, kinds in the document's order, validator, Canonical.
func referenceDecode(d Decoder, raw []byte) (domain.Accepted, string, error) {
	obj, err := domain.ParseObject(raw)
	if err != nil {
		return domain.Accepted{}, "", err
	}
	verdict := domain.SignatureUnverified
	if d.Secret != "" && d.Scheme != SchemeNone {
		scheme, err := ParseScheme(string(d.Scheme))
		if err != nil {
			return domain.Accepted{}, "", err
		}
		if err := verifyObject(scheme, obj, d.Secret); err != nil {
			return domain.Accepted{}, "", err
		}
		verdict = domain.SignatureValid
	}
	c, err := callbackFromObject(obj)
	if err != nil {
		return domain.Accepted{}, "", err
	}
	if err := validateCallback(&c); err != nil {
		return domain.Accepted{}, "", err
	}
	data, err := domain.Canonical(obj)
	if err != nil {
		return domain.Accepted{}, "", err
	}
	return accepted(c.OrderID, data), verdict, nil
}

// FuzzDecodeFastPath: Decode answers exactly what the reference does,
// errors included.
func FuzzDecodeFastPath(f *testing.F) {
	for _, dir := range []string{"valid", "invalid"} {
		for _, raw := range testdataFiles(f, dir) {
			f.Add(raw)
		}
	}
	f.Add([]byte(`{"orderId":" ","state":5,"residue":-1}`))
	f.Add([]byte(`{"orderId":"A","orderId":"B"}`))
	f.Add([]byte(`{"orderId":"A\u0042","hash":"` + hashOf("x") + `","recharge":"1"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, d := range []Decoder{{}, {Secret: testSecret}, {Secret: testSecret, Scheme: SchemeMD5JSON}} {
			acc, verdict, err := d.Decode(raw)
			wacc, wverdict, werr := referenceDecode(d, raw)
			if (err == nil) != (werr == nil) || (err != nil && err.Error() != werr.Error()) {
				t.Fatalf("%+v.Decode(%q) error %v, reference %v", d, raw, err, werr)
			}
			if !reflect.DeepEqual(acc, wacc) || verdict != wverdict {
				t.Fatalf("%+v.Decode(%q) = %+v %q, reference %+v %q", d, raw, acc, verdict, wacc, wverdict)
			}
		}
	})
}

// TestRulesHoldAgreesWithValidator: the direct check and validator agree
// on every combination of edge values, so the fast path never admits a
// broken rule and never sends a valid callback the slow way.
func TestRulesHoldAgreesWithValidator(t *testing.T) {
	const addr = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
	strs := map[string][]string{
		"orderId": {"", " ", "\t\u00a0", "E1", " E1 "},
		"address": {"", addr, addr[:33] + "u", "T", "x"},
		"trigger": {"", triggerFirst, hashOf("t"), "triggerfirst", hashOf("t")[:63], hashOf("t")[:63] + "g"},
		"hash":    {"", hashOf("h"), triggerFirst, "00"},
	}
	ints := []int64{-1, 0, 1, 2, 3}
	pick := func(r *rand.Rand, s []string) string { return s[r.IntN(len(s))] }
	r := rand.New(rand.NewPCG(7, 8))
	var held, broken int
	for range 200_000 {
		c := Callback{
			OrderID: pick(r, strs["orderId"]), ReceiveAddress: pick(r, strs["address"]),
			TriggerTransactionID: pick(r, strs["trigger"]), Hash: pick(r, strs["hash"]), BandwidthHash: pick(r, strs["hash"]),
			Residue: ints[r.IntN(5)], Recharge: ints[r.IntN(5)], State: ints[r.IntN(5)], AutoType: ints[r.IntN(5)],
			Payment: ints[r.IntN(5)], MaxDelegateNums: ints[r.IntN(5)], TotalDelegateNums: ints[r.IntN(5)],
			DetentionChargeTime: ints[r.IntN(5)], ResourceType: ints[r.IntN(5)], Source: ints[r.IntN(5)],
			EnergyNums: ints[r.IntN(5)], Present: Fields(r.Uint32()),
		}
		// Mostly valid values, so both verdicts are common.
		if r.IntN(2) == 0 {
			c.OrderID, c.Present = "E1", c.Present&^(FieldState|FieldSource|FieldResidue|FieldRecharge)
		}
		err := validateCallback(&c)
		got := rulesHold(&c)
		if got != (err == nil) {
			t.Fatalf("rulesHold = %v, validator: %v, for %+v", got, err, c)
		}
		if got {
			held++
		} else {
			broken++
		}
	}
	if held < 1000 || broken < 1000 {
		t.Fatalf("too one-sided to prove anything: %d held, %d broken", held, broken)
	}
}
