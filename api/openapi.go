package api

import (
	"encoding/json"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tidemark/tidemark/domain/energy"
)

// The OpenAPI 3.1 document is generated from routeTable and from the Go
// types the handlers encode, so the served routes and fields cannot drift
// from what the document says; openapi_test.go checks both directions.

var (
	openAPIOnce sync.Once
	openAPIDoc  []byte
)

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	openAPIOnce.Do(func() {
		openAPIDoc, _ = json.MarshalIndent(OpenAPI(), "", "  ")
	})
	w.Header().Set("Content-Type", "application/json")
	w.Write(openAPIDoc)
}

// OpenAPI builds the document.
func OpenAPI() map[string]any {
	paths := map[string]any{}
	for _, rt := range routeTable() {
		item, _ := paths[rt.path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[rt.path] = item
		}
		item[strings.ToLower(rt.method)] = operation(rt)
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "Tidemark", "version": "1.0.0",
			"description": "Webhook-to-state engine: platform callbacks in, device and order read models out."},
		"paths": paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
			"schemas": map[string]any{"Problem": schemaOf(typeOf[problem]()),
				"CallbackAnswer": schemaOf(typeOf[callbackAnswer]())},
		},
	}
}

func operation(rt route) map[string]any {
	op := map[string]any{"summary": rt.doc.summary, "operationId": strings.ToLower(rt.method) + opName(rt.path)}
	if rt.auth != authNone {
		op["security"] = []any{map[string]any{"bearer": []any{}}}
	}
	var params []any
	for _, p := range rt.doc.params {
		params = append(params, map[string]any{"name": p.name, "in": p.in, "required": p.required,
			"description": p.desc, "schema": map[string]any{"type": p.typ}})
	}
	if params != nil {
		op["parameters"] = params
	}
	if rt.doc.body != "" {
		bodySchema := map[string]any{"type": "object"}
		if rt.doc.body != "application/json" {
			bodySchema = map[string]any{"type": "string"}
		}
		op["requestBody"] = map[string]any{"required": true,
			"content": map[string]any{rt.doc.body: map[string]any{"schema": bodySchema}}}
	}
	status := rt.doc.status
	if status == 0 {
		status = http.StatusOK
	}
	ok := map[string]any{"description": http.StatusText(status)}
	if rt.doc.response != nil {
		content := map[string]any{"application/json": map[string]any{"schema": schemaOf(rt.doc.response)}}
		if strings.HasPrefix(rt.path, "/v1/billing/") { // format=csv
			content["text/csv"] = map[string]any{"schema": map[string]any{"type": "string"}}
		}
		ok["content"] = content
	} else {
		ok["content"] = map[string]any{rt.doc.media: map[string]any{"schema": map[string]any{"type": "string"}}}
	}
	responses := map[string]any{strconv.Itoa(status): ok}
	errRef := "#/components/schemas/Problem"
	mt := "application/problem+json"
	if strings.HasPrefix(rt.path, "/v1/callbacks/") {
		errRef, mt = "#/components/schemas/CallbackAnswer", "application/json"
	}
	for _, code := range rt.doc.errors {
		responses[strconv.Itoa(code)] = map[string]any{"description": http.StatusText(code),
			"content": map[string]any{mt: map[string]any{"schema": map[string]any{"$ref": errRef}}}}
	}
	op["responses"] = responses
	return op
}

func opName(path string) string {
	var b strings.Builder
	for _, part := range strings.Split(path, "/") {
		part = strings.Trim(part, "{}")
		if part == "" || part == "v1" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// dateTimeFields names the RFC 3339 string fields of the domain's types,
// whose tags are not the API's to change. The API's own types say it with
// a `format:"date-time"` tag; time.Time fields are date-time by their type.
var dateTimeFields = map[reflect.Type]map[string]bool{
	reflect.TypeFor[energy.Order](): {"LastCallbackAt": true},
}

var timeType = reflect.TypeFor[time.Time]()
var rawType = reflect.TypeFor[json.RawMessage]()

// schemaOf renders a Go type as a JSON Schema (2020-12, as OpenAPI 3.1 uses),
// following encoding/json's rules for field names and omitempty.
func schemaOf(t reflect.Type) map[string]any {
	nullable := false
	for t.Kind() == reflect.Pointer {
		t, nullable = t.Elem(), true
	}
	s := baseSchema(t)
	if nullable {
		if typ, ok := s["type"].(string); ok {
			s["type"] = []any{typ, "null"}
		}
	}
	return s
}

func baseSchema(t reflect.Type) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawType || t.Kind() == reflect.Interface:
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "contentEncoding": "base64"}
		}
		return map[string]any{"type": []any{"array", "null"}, "items": schemaOf(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem())}
	case reflect.Struct:
		props := map[string]any{}
		var required []string
		addFields(t, props, &required)
		sort.Strings(required)
		s := map[string]any{"type": "object", "properties": props}
		if len(required) > 0 {
			s["required"] = required
		}
		return s
	}
	return map[string]any{}
}

func addFields(t reflect.Type, props map[string]any, required *[]string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			addFields(f.Type, props, required)
			continue
		}
		if name == "" {
			name = f.Name
		}
		fs := schemaOf(f.Type)
		if f.Tag.Get("format") == "date-time" || dateTimeFields[t][f.Name] {
			fs["format"] = "date-time"
		}
		props[name] = fs
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			*required = append(*required, name)
		}
	}
}
