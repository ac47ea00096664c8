// Package api is Tidemark's HTTP surface: the platforms' callback endpoints
// (decode, check, append durably, answer), the read-model queries, the admin
// endpoints, and the middleware around them (limits, auth, logging,
// metrics, panic recovery). Handlers are thin: decode, call, encode.
//
// Errors are mapped to HTTP status codes in one place per surface:
// callbackStatus for the platforms' endpoints (answered in the platforms'
// {"code","msg"} shape) and queryError for queries (RFC 9457
// application/problem+json; billingError adds the billing fold's errors).
// A 500 never carries the error's text: internalError logs it instead.
package api
