// Package echo is the bare Go JSON server the ingest and footprint figures
// are compared with: it decodes a callback body with encoding/json and
// answers as Tidemark does, with nothing behind it.
package echo

import (
	"encoding/json"
	"net/http"
)

// MaxBody is the body limit, Tidemark's default.
const MaxBody = 64 << 10

var success = []byte(`{"code":0,"msg":"success"}`)

// Handler answers POSTs with {"code":0,"msg":"success"} once the body
// decodes as JSON (400 otherwise) and GET /healthz with 200.
func Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	mux.HandleFunc("POST /", func(w http.ResponseWriter, r *http.Request) {
		var v any
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBody)).Decode(&v); err != nil {
			http.Error(w, `{"code":400,"msg":"malformed"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(success)
	})
	return mux
}
