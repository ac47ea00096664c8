package api

import (
	"reflect"

	"github.com/tidemark/tidemark/domain/carwash"
	"github.com/tidemark/tidemark/domain/energy"
)

// opDoc is what the OpenAPI document says of one operation.
type opDoc struct {
	summary  string
	params   []param
	body     string       // request media type, "" for none
	response reflect.Type // the 2xx answer's Go type; nil for a non-JSON answer
	media    string       // the 2xx media type when response is nil
	status   int          // the 2xx status (default 200)
	errors   []int        // other statuses the operation answers
}

// param is one parameter of an operation. The query parameters a query or
// admin route lists here are the only ones its handler accepts (checkQuery).
type param struct {
	name, in, typ, desc string
	required            bool
}

func typeOf[T any]() reflect.Type { return reflect.TypeFor[T]() }

var (
	limitParam  = param{name: "limit", in: "query", typ: "integer", desc: "page size, 1..1000 (default 100)"}
	cursorParam = param{name: "cursor", in: "query", typ: "string", desc: "opaque cursor from nextCursor"}
	asOfParam   = param{name: "asOf", in: "query", typ: "string", desc: "RFC 3339 receive time to fold the events up to"}
)

// routeTable lists every endpoint; see route.
func routeTable() []route {
	callbackErrors := []int{400, 401, 413, 415, 422, 429, 503}
	routes := []route{
		{"POST", "/v1/callbacks/carwash", authNone, (*Server).handleCarwash, opDoc{
			summary: "Car-wash platform callback", body: "application/json",
			params:   []param{{name: "token", in: "query", typ: "string", desc: "shared secret when TIDEMARK_CARWASH_TOKEN is set"}},
			response: typeOf[callbackAnswer](), errors: callbackErrors}},
		{"POST", "/v1/callbacks/energy", authNone, (*Server).handleEnergy, opDoc{
			summary: "Energy order callback", body: "application/json",
			response: typeOf[callbackAnswer](), errors: callbackErrors}},

		{"GET", "/v1/devices", authRead, (*Server).handleDevices, opDoc{
			summary: "Devices",
			params: []param{{name: "machineType", in: "query", typ: "string"}, {name: "online", in: "query", typ: "boolean"},
				{name: "errorStatus", in: "query", typ: "string"}, {name: "parking", in: "query", typ: "string"}, limitParam, cursorParam},
			response: typeOf[page[carwash.Device]](), errors: []int{400, 401}}},
		{"GET", "/v1/devices/{iotId}", authRead, (*Server).handleDevice, opDoc{
			summary:  "One device, now or as of a receive time",
			params:   []param{{name: "iotId", in: "path", typ: "integer", required: true}, asOfParam},
			response: typeOf[carwash.Device](), errors: []int{400, 401, 404}}},
		{"GET", "/v1/devices/{iotId}/events", authRead, (*Server).handleDeviceEvents, opDoc{
			summary:  "A device's events, oldest first",
			params:   []param{{name: "iotId", in: "path", typ: "integer", required: true}, limitParam, cursorParam},
			response: typeOf[page[deviceEvent]](), errors: []int{400, 401, 404}}},
		{"GET", "/v1/orders", authRead, (*Server).handleOrders, opDoc{
			summary: "Energy orders",
			params: []param{{name: "state", in: "query", typ: "string", desc: "stopped, delegating, deleted (or 0, 1, 2)"},
				{name: "receiveAddress", in: "query", typ: "string"}, limitParam, cursorParam},
			response: typeOf[page[energy.Order]](), errors: []int{400, 401}}},
		{"GET", "/v1/orders/{orderId}", authRead, (*Server).handleOrder, opDoc{
			summary:  "One order, now or as of a receive time",
			params:   []param{{name: "orderId", in: "path", typ: "string", required: true}, asOfParam},
			response: typeOf[energy.Order](), errors: []int{400, 401, 404}}},
		{"GET", "/v1/orders/{orderId}/ledger", authRead, (*Server).handleOrderLedger, opDoc{
			summary:  "An order's ledger entries (callbacks with orderMoney > 0)",
			params:   []param{{name: "orderId", in: "path", typ: "string", required: true}, limitParam, cursorParam},
			response: typeOf[page[ledgerEntry]](), errors: []int{400, 401, 404}}},

		{"GET", "/v1/projections", authRead, (*Server).handleProjections, opDoc{
			summary:  "Each projection's status, position, lag and rebuild progress",
			response: typeOf[itemsOf[projectionStatus]](), errors: []int{400, 401, 503}}},
		{"POST", "/v1/projections/{name}/rebuild", authAdmin, (*Server).handleRebuild, opDoc{
			summary:  "Start a blue/green rebuild of a projection",
			params:   []param{{name: "name", in: "path", typ: "string", required: true}},
			response: typeOf[rebuildAccepted](), status: 202, errors: []int{400, 401, 403, 404, 409}}},

		{"GET", "/v1/events", authAdmin, (*Server).handleEvents, opDoc{
			summary: "The event log in commit order",
			params: []param{{name: "after", in: "query", typ: "string",
				desc: "cursor of the last event seen (nextCursor, or an event's cursor); a bare position only where positions carry no transaction id (SQLite)"}, limitParam,
				{name: "type", in: "query", typ: "string"}, {name: "stream", in: "query", typ: "string"}},
			response: typeOf[page[logEvent]](), errors: []int{400, 401, 403}}},
		{"GET", "/v1/events/{eventId}/raw", authAdmin, (*Server).handleEventRaw, opDoc{
			summary: "The original body bytes of an event, with the Content-Type it was sent with (application/json when none)",
			params:  []param{{name: "eventId", in: "path", typ: "string", required: true, desc: "the event's UUID, in either case"}},
			media:   "*/*", errors: []int{400, 401, 403, 404}}},
		{"GET", "/v1/quarantine", authAdmin, (*Server).handleQuarantineList, opDoc{
			summary: "Rejected callbacks, newest first", params: []param{limitParam, cursorParam},
			response: typeOf[quarantineList](), errors: []int{400, 401, 403}}},
		{"POST", "/v1/quarantine/{id}/readmit", authAdmin, (*Server).handleQuarantineReadmit, opDoc{
			summary:  "Re-check a quarantined callback with the current rules and store it",
			params:   []param{{name: "id", in: "path", typ: "integer", required: true}},
			response: typeOf[readmitAnswer](), errors: []int{400, 401, 403, 404, 422}}},

		{"GET", "/healthz", authNone, (*Server).handleHealthz, opDoc{summary: "Liveness", response: typeOf[statusAnswer]()}},
		{"GET", "/readyz", authNone, (*Server).handleReadyz, opDoc{summary: "Readiness: store reachable, migrations applied, projections not failed",
			response: typeOf[statusAnswer](), errors: []int{503}}},
		{"GET", "/metrics", authNone, (*Server).handleMetrics, opDoc{summary: "Prometheus metrics (text exposition format)",
			media: "text/plain"}},
		{"GET", "/openapi.json", authNone, (*Server).handleOpenAPI, opDoc{summary: "This OpenAPI 3.1 document",
			response: typeOf[map[string]any]()}},
	}
	return append(routes, billingRoutes()...)
}

type itemsOf[T any] struct {
	Items []T `json:"items"`
}

type statusAnswer struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

type readmitAnswer struct {
	ID        int64  `json:"id"`
	EventID   string `json:"eventId"`
	Stream    string `json:"stream"`
	Duplicate bool   `json:"duplicate"`
	Position  int64  `json:"position"`
}
