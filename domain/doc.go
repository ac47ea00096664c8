// Package domain is the language of Tidemark: the event envelope, log
// positions, the event-store port and the domain errors every adapter maps
// its failures to. It imports only the standard library and does no I/O.
//
// The platform-specific rules live in the sub-packages carwash and energy.
package domain
