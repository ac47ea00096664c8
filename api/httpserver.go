package api

import (
	"log/slog"
	"net/http"
	"time"
)

// NewHTTPServer wraps a handler in an http.Server with the limits quality.md
// asks for: slow headers (slowloris) are cut after 5 s, whole requests after
// 15 s, and headers are capped at 16 KiB. Body size is capped per endpoint.
func NewHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
