package api

import (
	"net/http"
	"strings"
)

// unmatchedPattern is the mux's catch-all: it receives every request no
// route matches, which net/http would otherwise answer itself in text/plain.
// The more specific route patterns always win over it.
const unmatchedPattern = "/"

// handleUnmatched answers a request no route matches in the API's shapes:
// 404, or 405 with Allow when another method serves the path; a
// problem+json, or the platforms' {"code","msg"} on the callback paths.
func (s *Server) handleUnmatched(w http.ResponseWriter, r *http.Request) {
	status, msg := http.StatusNotFound, "no endpoint at this path; the endpoints are listed in /openapi.json"
	if allow := s.allowedMethods(r); len(allow) > 0 {
		status = http.StatusMethodNotAllowed
		msg = "method " + r.Method + " is not allowed here; allowed: " + strings.Join(allow, ", ")
		w.Header().Set("Allow", strings.Join(allow, ", "))
	}
	if isCallback(r.URL.Path) {
		writeCallbackError(w, status, msg)
		return
	}
	writeProblem(w, status, msg)
}

// allowedMethods lists the methods some route serves r's path with, by
// asking the mux about the same request with each other method (HEAD goes
// with GET, as the mux serves it). Only a route's own pattern counts: a
// redirect's or the catch-all's does not start with the method.
func (s *Server) allowedMethods(r *http.Request) []string {
	var allow []string
	for _, m := range s.methods {
		probe := r.WithContext(r.Context()) // a shallow copy whose method we may change
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); strings.HasPrefix(pattern, m+" ") {
			allow = append(allow, m)
			if m == http.MethodGet {
				allow = append(allow, http.MethodHead)
			}
		}
	}
	return allow
}
