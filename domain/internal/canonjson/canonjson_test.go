package canonjson_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/internal/canonjson"
)

// general is the reference: the path Object stands in for.
func general(raw []byte) ([]byte, bool) {
	obj, err := domain.ParseObject(raw)
	if err != nil {
		return nil, false
	}
	c, err := domain.Canonical(obj)
	return c, err == nil
}

// seeds are bodies of both platforms (testdata) and the corners of the grammar.
func seeds(tb testing.TB) [][]byte {
	out := [][]byte{
		[]byte(`{}`), []byte(` { } `), []byte(`{"a":1}`), []byte("\t{\"b\" : [1, 2 ,{\"z\":null,\"a\":true}], \"a\":false}\r\n"),
		[]byte(`{"n":-0.5e+10,"m":1E400,"k":0,"j":-0,"i":12.0}`), []byte(`{"s":"<&>\u007f","t":"héllo","u":"日本"}`),
		[]byte(`{"a":1,"a":2}`), []byte(`{"a":"\n"}`), []byte(`{"a":"x\u2028y"}`), []byte("{\"a\":\"x\u2028y\"}"),
		[]byte(`{"a":01}`), []byte(`{"a":1.}`), []byte(`{"a":.5}`), []byte(`{"a":1e}`), []byte(`{"a":-}`), []byte(`{"a":tru}`),
		[]byte(`{"a":truex}`), []byte(`{"a":[}`), []byte(`{"a":[1,]}`), []byte(`{"a":1,}`), []byte(`{,}`), []byte(`{"a" 1}`),
		[]byte(`{"a":1} x`), []byte(`{"a":1}{}`), []byte(`[1]`), []byte(`"x"`), []byte(``), []byte("{\"a\":\"\xff\"}"),
		[]byte(`{"a":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`),
		[]byte(`{"B":1,"a":2,"_":3,"aa":4,"a ":5,"é":6}`), []byte(`{"a":[],"b":{},"c":[{}],"d":[[]]}`),
	}
	for _, dir := range []string{"../../carwash/testdata", "../../energy/testdata"} {
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && filepath.Ext(p) == ".json" {
				if b, err := os.ReadFile(p); err == nil {
					out = append(out, b)
				}
			}
			return nil
		})
	}
	return out
}

// FuzzObject: whenever Object handles a body, the general path accepts it
// too and gives the same bytes.
func FuzzObject(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, ok := canonjson.Object(raw)
		if !ok {
			return
		}
		want, wok := general(raw)
		if !wok {
			t.Fatalf("Object accepted what the general path rejects: %q", raw)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("Object(%q)\n got %s\nwant %s", raw, got, want)
		}
	})
}

// TestObjectHandlesCommonBodies: the fast path is taken for ordinary
// bodies, not only correct when taken.
func TestObjectHandlesCommonBodies(t *testing.T) {
	for _, raw := range [][]byte{
		[]byte(`{"callTime":1732262400000,"callbackType":"FINISH_WASH","washerId":123456,"iotId":123456,"orderId":"ORDER123456"}`),
		[]byte(`{"orderId":"E1","state":"1","residue":10,"receiveAddress":"TXYZ","nested":{"b":[1,2.5,"x"],"a":null},"ok":true}`),
		[]byte(" {\n  \"name\": \"Büro 日本\",\n  \"list\": [ ]\n}\n"),
		[]byte("{\"html\":\"<a href='x'>&amp;</a>\x7f\",\"n\":[-0,1E+2,0.000e-0]}"),
	} {
		got, ok := canonjson.Object(raw)
		if !ok {
			t.Fatalf("not handled: %s", raw)
		}
		if want, _ := general(raw); !bytes.Equal(got, want) {
			t.Fatalf("got %s want %s", got, want)
		}
	}
}

func BenchmarkObject(b *testing.B) {
	raw := []byte(`{"callTime":1732262400000,"callbackType":"FINISH_WASH","washerId":123456,"iotId":123456,"orderId":"ORDER123456"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := canonjson.Object(raw); !ok {
			b.Fatal("not handled")
		}
	}
}

func BenchmarkGeneral(b *testing.B) {
	raw := []byte(`{"callTime":1732262400000,"callbackType":"FINISH_WASH","washerId":123456,"iotId":123456,"orderId":"ORDER123456"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := general(raw); !ok {
			b.Fatal("not handled")
		}
	}
}
