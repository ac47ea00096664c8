package api

import (
	"encoding/json"
	"net/http"
)

// callbackAnswer is the platforms' answer shape: {"code":0,"msg":"success"}.
type callbackAnswer struct {
	Code int    `json:"code"`
	Msg  string `json:"msg"`
}

var successBody = []byte(`{"code":0,"msg":"success"}`)

// jsonContentTypeValue is shared by every success answer: Header().Set
// would allocate it each time, and nothing modifies it.
var jsonContentTypeValue = []string{"application/json"}

func writeSuccess(w http.ResponseWriter) {
	w.Header()["Content-Type"] = jsonContentTypeValue
	w.WriteHeader(http.StatusOK)
	w.Write(successBody)
}

// writeCallbackError answers a platform with a non-zero code: the HTTP status.
func writeCallbackError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, callbackAnswer{Code: status, Msg: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// problem is an RFC 9457 problem detail.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
}

func writeProblem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail})
}
