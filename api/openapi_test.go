package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tidemark/tidemark/api"
)

// openAPIDoc fetches the served document.
func openAPIDoc(t *testing.T, url string) map[string]any {
	t.Helper()
	a := get(t, url+"/openapi.json", "")
	if a.status != 200 {
		t.Fatalf("GET /openapi.json: %d", a.status)
	}
	var doc map[string]any
	if err := json.Unmarshal(a.body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi = %v", doc["openapi"])
	}
	return doc
}

// Every documented operation is served (not the mux's 404/405), and every
// route the spec lists is documented.
func TestOpenAPIMatchesServedRoutes(t *testing.T) {
	h := newHarness(t, backends()[0], api.Config{AdminTokens: []string{"adm"}})
	doc := openAPIDoc(t, h.url)
	paths := doc["paths"].(map[string]any)
	var ops []string
	for p, item := range paths {
		for m := range item.(map[string]any) {
			ops = append(ops, strings.ToUpper(m)+" "+p)
		}
	}
	sort.Strings(ops)
	for _, want := range []string{
		"POST /v1/callbacks/carwash", "POST /v1/callbacks/energy", "GET /v1/devices", "GET /v1/devices/{iotId}",
		"GET /v1/devices/{iotId}/events", "GET /v1/orders", "GET /v1/orders/{orderId}", "GET /v1/orders/{orderId}/ledger",
		"GET /v1/billing/reconciliation", "POST /v1/billing/statements", "GET /v1/projections",
		"POST /v1/projections/{name}/rebuild", "GET /v1/events", "GET /v1/events/{eventId}/raw", "GET /v1/quarantine",
		"POST /v1/quarantine/{id}/readmit", "GET /healthz", "GET /readyz", "GET /metrics", "GET /openapi.json",
	} {
		if !containsString(ops, want) {
			t.Errorf("api.md's %s is not in the OpenAPI document", want)
		}
	}
	sample := strings.NewReplacer("{iotId}", "1", "{orderId}", "E1", "{eventId}", "00000000-0000-5000-8000-000000000000",
		"{id}", "1", "{name}", "devices")
	for _, op := range ops {
		method, path, _ := strings.Cut(op, " ")
		req, _ := http.NewRequest(method, h.url+sample.Replace(path), nil)
		req.Header.Set("Authorization", "Bearer adm")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body [64]byte
		n, _ := resp.Body.Read(body[:])
		resp.Body.Close()
		if resp.StatusCode == http.StatusMethodNotAllowed || (resp.StatusCode == 404 && strings.HasPrefix(string(body[:n]), "404 page not found")) {
			t.Errorf("%s is documented but not served (%d)", op, resp.StatusCode)
		}
	}
	// And the reverse: an undocumented path is not served.
	if a := get(t, h.url+"/v1/undocumented", ""); a.status != 404 {
		t.Errorf("undocumented path answered %d", a.status)
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// conforms checks a decoded JSON value against a schema of the document:
// no field the schema does not name, every required field present, kinds right.
func conforms(schema map[string]any, v any, path string) error {
	types := map[string]bool{}
	switch tt := schema["type"].(type) {
	case string:
		types[tt] = true
	case []any:
		for _, x := range tt {
			types[x.(string)] = true
		}
	default:
		return nil // any
	}
	switch x := v.(type) {
	case nil:
		if !types["null"] {
			return fmt.Errorf("%s: null where the schema says %v", path, schema["type"])
		}
	case bool:
		if !types["boolean"] {
			return fmt.Errorf("%s: boolean where the schema says %v", path, schema["type"])
		}
	case float64:
		if !types["number"] && !types["integer"] {
			return fmt.Errorf("%s: number where the schema says %v", path, schema["type"])
		}
		if types["integer"] && !types["number"] && x != float64(int64(x)) {
			return fmt.Errorf("%s: %v is not an integer", path, x)
		}
	case string:
		if !types["string"] {
			return fmt.Errorf("%s: string where the schema says %v", path, schema["type"])
		}
		if schema["format"] == "date-time" {
			if _, err := time.Parse(time.RFC3339Nano, x); err != nil {
				return fmt.Errorf("%s: %q is not the RFC 3339 date-time the schema says", path, x)
			}
		}
	case []any:
		if !types["array"] {
			return fmt.Errorf("%s: array where the schema says %v", path, schema["type"])
		}
		items, _ := schema["items"].(map[string]any)
		for i, it := range x {
			if err := conforms(items, it, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case map[string]any:
		if !types["object"] {
			return fmt.Errorf("%s: object where the schema says %v", path, schema["type"])
		}
		props, _ := schema["properties"].(map[string]any)
		if props == nil {
			return nil // a map: additionalProperties
		}
		for k, fv := range x {
			ps, ok := props[k].(map[string]any)
			if !ok {
				return fmt.Errorf("%s.%s is served but not documented", path, k)
			}
			if err := conforms(ps, fv, path+"."+k); err != nil {
				return err
			}
		}
		req, _ := schema["required"].([]any)
		for _, r := range req {
			if _, ok := x[r.(string)]; !ok {
				return fmt.Errorf("%s.%s is documented as required but not served", path, r)
			}
		}
	}
	return nil
}

// responseSchema finds the 2xx JSON schema of an operation in the document.
func responseSchema(t *testing.T, doc map[string]any, method, path string) map[string]any {
	t.Helper()
	op := doc["paths"].(map[string]any)[path].(map[string]any)[strings.ToLower(method)].(map[string]any)
	for code, r := range op["responses"].(map[string]any) {
		if strings.HasPrefix(code, "2") {
			content := r.(map[string]any)["content"].(map[string]any)
			if js, ok := content["application/json"].(map[string]any); ok {
				return js["schema"].(map[string]any)
			}
		}
	}
	t.Fatalf("%s %s has no JSON 2xx answer documented", method, path)
	return nil
}

// checkAgainstDoc asserts that a served JSON body matches the document.
func checkAgainstDoc(t *testing.T, doc map[string]any, method, path string, body []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s %s: not JSON: %s", method, path, body)
	}
	if err := conforms(responseSchema(t, doc, method, path), v, "$"); err != nil {
		t.Errorf("%s %s drifts from /openapi.json: %v", method, path, err)
	}
}

// What the document says of the answers that are not JSON, and of times:
// /metrics is text, a raw body is served with the Content-Type it came
// with, and every RFC 3339 string of an answer is format date-time (the
// times of api.md are named *At; the platforms' own are integers or, like
// createTime, not RFC 3339).
func TestOpenAPIMediaTypesAndTimes(t *testing.T) {
	doc := api.OpenAPI()
	paths := doc["paths"].(map[string]any)
	okContent := func(path string) map[string]any {
		item, ok := paths[path].(map[string]any)
		if !ok {
			t.Errorf("%s is not in the document", path)
			return nil
		}
		return item["get"].(map[string]any)["responses"].(map[string]any)["200"].(map[string]any)["content"].(map[string]any)
	}
	if _, ok := okContent("/metrics")["text/plain"]; !ok {
		t.Errorf("/metrics content: %v", okContent("/metrics"))
	}
	if _, ok := okContent("/openapi.json")["application/json"]; !ok {
		t.Errorf("/openapi.json content: %v", okContent("/openapi.json"))
	}
	if raw := okContent("/v1/events/{eventId}/raw"); len(raw) != 1 || raw["*/*"] == nil {
		t.Errorf("raw content: %v, want */* (the original Content-Type)", raw)
	}

	var walk func(where string, s map[string]any)
	seen := map[string]bool{}
	walk = func(where string, s map[string]any) {
		props, _ := s["properties"].(map[string]any)
		for name, p := range props {
			ps := p.(map[string]any)
			isString := ps["type"] == "string" || fmt.Sprint(ps["type"]) == "[string null]"
			if isString && (strings.HasSuffix(name, "At") || name == "from" || name == "to") {
				seen[name] = true
				if ps["format"] != "date-time" {
					t.Errorf("%s.%s is an RFC 3339 time without format date-time", where, name)
				}
			}
			walk(where+"."+name, ps)
		}
		if items, ok := s["items"].(map[string]any); ok {
			walk(where+"[]", items)
		}
	}
	for path, item := range paths {
		for method, op := range item.(map[string]any) {
			for code, r := range op.(map[string]any)["responses"].(map[string]any) {
				content, _ := r.(map[string]any)["content"].(map[string]any)
				if js, ok := content["application/json"].(map[string]any); ok {
					walk(method+" "+path+" "+code, js["schema"].(map[string]any))
				}
			}
		}
	}
	for _, name := range []string{"recordedAt", "receivedAt", "readmittedAt", "startedAt", "lastCallbackAt", "from", "to"} {
		if !seen[name] {
			t.Errorf("no answer has the time %s: the check above looks at the wrong schemas", name)
		}
	}
}
