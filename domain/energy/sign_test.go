package energy

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tidemark/tidemark/domain"
)

// vectorBody has every kind of value the kv schemes must render.
const vectorBody = `{"orderId":"E1","sign":"whatever","orderMoney":1.50,"hash":"","note":null,` +
	`"b":true,"nested":{"z":1,"a":"x"},"list":[2,1],"energyNums":"65000"}`

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestSignVectors(t *testing.T) {
	// Written out by hand from domain.md §2: sign, "" and null dropped; keys
	// sorted; strings unquoted; numbers as sent; nested values compact sorted JSON.
	const kv = `b=true&energyNums=65000&list=[2,1]&nested={"a":"x","z":1}&orderId=E1&orderMoney=1.50`
	const js = `{"b":true,"energyNums":"65000","hash":"","list":[2,1],"nested":{"a":"x","z":1},"note":null,"orderId":"E1","orderMoney":1.50}`
	for _, c := range []struct {
		scheme   Scheme
		toSign   string // before the secret
		hashed   string // what MD5 sees
		expected string // md5 hex, computed outside Go
	}{
		{SchemeMD5KVSorted, kv, kv + "&key=s3cret", "6cbf42c9b33684a36e1db587f28da973"},
		{SchemeMD5KVSortedRaw, kv, kv + "s3cret", "60a59364eae8c7b658fd597b3c83418a"},
		{SchemeMD5JSON, js, js + "s3cret", "ad21ed4cb8586d97f0937984e1381ed0"},
	} {
		if md5hex(c.hashed) != c.expected {
			t.Fatalf("%s: test vector is wrong", c.scheme)
		}
		toSign, err := StringToSign(c.scheme, []byte(vectorBody))
		if err != nil || toSign != c.toSign {
			t.Errorf("%s: StringToSign = %q, %v\n want %q", c.scheme, toSign, err, c.toSign)
		}
		got, err := Sign(c.scheme, []byte(vectorBody), "s3cret")
		if err != nil || got != c.expected {
			t.Errorf("%s: Sign = %q, %v; want %q", c.scheme, got, err, c.expected)
		}
	}
	if got, err := Sign(SchemeNone, []byte(vectorBody), "s3cret"); err != nil || got != "" {
		t.Errorf("none: Sign = %q, %v", got, err)
	}
}

func TestSignSeedExample(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "valid", "seed_example.json"))
	if err != nil {
		t.Fatal(err)
	}
	const kv = "autoType=0&detentionChargeTime=6&energyNums=65000&maxDelegateNums=10&orderId=201411301111" +
		"&orderMoney=44000000&payment=1&recharge=1&residue=6&state=1&totalDelegateNums=10"
	got, err := Sign(SchemeMD5KVSorted, raw, "s3cret")
	if want := md5hex(kv + "&key=s3cret"); err != nil || got != want || want != "f2ae6f5e832e4a79d9db4e069bd08ffe" {
		t.Fatalf("Sign(seed) = %q, %v; want %q", got, err, want)
	}
}

// withSign replaces the sign of vectorBody.
func withSign(sign string) []byte {
	return []byte(strings.Replace(vectorBody, `"sign":"whatever"`, sign, 1))
}

func TestVerify(t *testing.T) {
	good := "6cbf42c9b33684a36e1db587f28da973"
	for _, c := range []struct {
		name   string
		sign   string // replaces "sign":"whatever"
		secret string
		reason string // "" = valid
	}{
		{"exact", `"sign":"` + good + `"`, "s3cret", ""},
		{"upper case", `"sign":"` + strings.ToUpper(good) + `"`, "s3cret", ""},
		{"wrong secret", `"sign":"` + good + `"`, "other", "does not match"},
		{"last digit", `"sign":"` + good[:31] + `4"`, "s3cret", "does not match"},
		{"prefix", `"sign":"` + good[:31] + `"`, "s3cret", "does not match"},
		{"longer", `"sign":"` + good + `0"`, "s3cret", "does not match"},
		{"padded", `"sign":" ` + good + `"`, "s3cret", "does not match"},
		{"number", `"sign":12345`, "s3cret", "does not match"},
		{"empty", `"sign":""`, "s3cret", "missing"},
		{"null", `"sign":null`, "s3cret", "missing"},
		{"object", `"sign":{"v":1}`, "s3cret", "missing"},
		{"absent", `"x":1`, "s3cret", "missing"},
	} {
		err := Verify(SchemeMD5KVSorted, withSign(c.sign), c.secret)
		if c.reason == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		var se *SignatureError
		if !errors.As(err, &se) || se.Field != "sign" || se.Reason != c.reason || !errors.Is(err, domain.ErrUnauthorized) {
			t.Errorf("%s: err = %v, want sign %s wrapping ErrUnauthorized", c.name, err, c.reason)
		}
	}
	if err := Verify(SchemeNone, withSign(`"x":1`), "s3cret"); err != nil {
		t.Errorf("none must not check: %v", err)
	}
	if err := Verify(SchemeMD5KVSorted, []byte(`{"sign":`), "s"); !errors.Is(err, domain.ErrMalformed) {
		t.Errorf("malformed: %v", err)
	}
	if err := Verify("sha1", withSign(`"sign":"`+good+`"`), "s3cret"); !errors.Is(err, ErrUnknownScheme) {
		t.Errorf("unknown scheme: %v", err)
	}
}

func TestSignIgnoresSignAndLayout(t *testing.T) {
	a, _ := Sign(SchemeMD5KVSorted, []byte(`{"orderId":"E1","state":1,"sign":"aaa"}`), "k")
	b, _ := Sign(SchemeMD5KVSorted, []byte("{ \"state\" : 1 ,\n \"orderId\":\"E1\"}"), "k")
	c, _ := Sign(SchemeMD5KVSorted, []byte(`{"orderId":"E1","state":"1"}`), "k")
	if a != b || a != c || a == "" {
		t.Errorf("signatures differ: %q %q %q (string 1 and number 1 render alike)", a, b, c)
	}
	d, _ := Sign(SchemeMD5KVSorted, []byte(`{"orderId":"E1","state":1.0}`), "k")
	if d == a {
		t.Error("1.0 must be signed as sent, not as 1")
	}
}

func TestDetect(t *testing.T) {
	for _, sc := range signedSchemes {
		sig, err := Sign(sc, []byte(vectorBody), "s3cret")
		if err != nil {
			t.Fatal(err)
		}
		got := Detect(withSign(`"sign":"`+sig+`"`), "s3cret")
		if !slices.Equal(got, []Scheme{sc}) {
			t.Errorf("Detect(signed with %s) = %v", sc, got)
		}
		if got := Detect(withSign(`"sign":"`+sig+`"`), "wrong"); got != nil {
			t.Errorf("Detect with the wrong secret = %v", got)
		}
	}
	if got := Detect([]byte(`{"orderId":"E1"}`), "s3cret"); got != nil {
		t.Errorf("Detect(no sign) = %v", got)
	}
	if got := Detect([]byte(`{`), "s3cret"); got != nil {
		t.Errorf("Detect(malformed) = %v", got)
	}
}

func TestParseScheme(t *testing.T) {
	for in, want := range map[string]Scheme{"": SchemeMD5KVSorted, "md5-kv-sorted": SchemeMD5KVSorted,
		"md5-kv-sorted-raw": SchemeMD5KVSortedRaw, "md5-json": SchemeMD5JSON, "none": SchemeNone} {
		if got, err := ParseScheme(in); err != nil || got != want {
			t.Errorf("ParseScheme(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"md5", "MD5-KV-SORTED", "sha256", " none"} {
		if _, err := ParseScheme(in); !errors.Is(err, ErrUnknownScheme) {
			t.Errorf("ParseScheme(%q): err = %v", in, err)
		}
	}
}

func ExampleSign() {
	body := []byte(`{"orderId":"E1","state":1,"orderMoney":2000000,"hash":"","sign":""}`)
	toSign, _ := StringToSign(SchemeMD5KVSorted, body)
	sig, _ := Sign(SchemeMD5KVSorted, body, "s3cret")
	fmt.Println(toSign + "&key=s3cret")
	fmt.Println(sig == md5hex(toSign+"&key=s3cret"))
	// Output:
	// orderId=E1&orderMoney=2000000&state=1&key=s3cret
	// true
}

// FuzzSign: signing never panics, and a body carrying its own signature verifies.
func FuzzSign(f *testing.F) {
	for _, dir := range []string{"valid", "invalid"} {
		for _, raw := range testdataFiles(f, dir) {
			f.Add(raw, "tidemark-test-secret")
		}
	}
	f.Add([]byte(vectorBody), "")
	f.Fuzz(func(t *testing.T, raw []byte, secret string) {
		obj, perr := domain.ParseObject(raw)
		for _, sc := range append(signedSchemes, SchemeNone) {
			sig, err := Sign(sc, raw, secret)
			if (err != nil) != (perr != nil) {
				t.Fatalf("%s: Sign err %v, ParseObject err %v", sc, err, perr)
			}
			if err != nil {
				continue
			}
			obj["sign"] = sig
			signed, err := domain.Canonical(obj)
			if err != nil {
				t.Fatal(err)
			}
			if sc != SchemeNone {
				if err := Verify(sc, signed, secret); err != nil {
					t.Fatalf("%s: Verify(Sign(x)) = %v for %s", sc, err, signed)
				}
				if !slices.Contains(Detect(signed, secret), sc) {
					t.Fatalf("%s: Detect misses it", sc)
				}
			}
		}
	})
}
