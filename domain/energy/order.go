package energy

import (
	"time"

	"github.com/tidemark/tidemark/domain"
)

// Order is the read model of one energy order, shaped as api.md's Order object.
type Order struct {
	OrderID             string  `json:"orderId"`
	OutTradeNo          string  `json:"outTradeNo"`
	ReceiveAddress      string  `json:"receiveAddress"`
	State               *string `json:"state"`     // stopped, delegating, deleted; null until a callback sends a state
	StateCode           *int64  `json:"stateCode"` // 0, 1, 2; null likewise
	AutoType            int64   `json:"autoType"`
	Payment             int64   `json:"payment"`
	Recharge            int64   `json:"recharge"`
	ResourceType        int64   `json:"resourceType"`
	Source              int64   `json:"source"`
	MaxDelegateNums     int64   `json:"maxDelegateNums"`
	TotalDelegateNums   int64   `json:"totalDelegateNums"`
	Residue             int64   `json:"residue"`
	DetentionChargeTime int64   `json:"detentionChargeTime"`
	Callbacks           int64   `json:"callbacks"`
	Delegations         int64   `json:"delegations"`
	EnergyTotal         int64   `json:"energyTotal"`
	ChargedSun          int64   `json:"chargedSun"`
	ChargedTrx          string  `json:"chargedTrx"`
	Anomalies           int64   `json:"anomalies"`
	LastCallbackAt      string  `json:"lastCallbackAt"` // RFC 3339 UTC; "" before the first callback
}

// Order state codes and names.
const (
	StateStopped    = 0
	StateDelegating = 1
	StateDeleted    = 2
)

// The values State and StateCode point to: shared, never written, so an
// Order costs no allocation for them and two orders in one state compare
// equal field by field.
var (
	stateNames = [...]string{"stopped", "delegating", "deleted"}
	stateCodes = [...]int64{StateStopped, StateDelegating, StateDeleted}
)

// SetState sets State and StateCode from a state code.
func (o *Order) SetState(code int64) {
	if code < 0 || code >= int64(len(stateCodes)) { // only a log written past the rules holds one
		name := StateName(code)
		o.State, o.StateCode = &name, &code
		return
	}
	o.State, o.StateCode = &stateNames[code], &stateCodes[code]
}

// StateName names a state code: stopped, delegating, deleted or unknown.
func StateName(code int64) string {
	switch code {
	case StateStopped:
		return "stopped"
	case StateDelegating:
		return "delegating"
	case StateDeleted:
		return "deleted"
	}
	return "unknown"
}

// OrderState is an Order plus the bookkeeping its fold needs. It is
// JSON-tagged so a projection can persist it and resume folding later.
type OrderState struct {
	Order Order `json:"order,omitzero"`

	// The snapshot fields come from the callback with the greatest
	// (totalDelegateNums, position, event id): the snapshot callback.
	SnapshotTotal    int64           `json:"snapshotTotal"`
	SnapshotPosition domain.Position `json:"snapshotPosition"`
	SnapshotEventID  string          `json:"snapshotEventId,omitempty"`
	// SnapshotHas is the snapshot fields the snapshot callback carried. A
	// field it lacked keeps the value of the greatest callback that did
	// carry it, whose key Older holds, so a callback that omits a field
	// never blanks what an earlier one said.
	SnapshotHas Fields           `json:"snapshotHas,omitempty"`
	Older       []SnapshotSource `json:"older,omitempty"`

	// Deleted: a callback with state 2 was seen; final.
	Deleted bool `json:"deleted,omitempty"`

	// LastCallbackTime is the greatest receive time (see Evolve).
	LastCallbackTime time.Time `json:"lastCallbackTime"`

	// Seen lists the distinct callbacks applied, in the order applied. The
	// observed totalDelegateNums values, the charged callbacks per hash and
	// the charged callbacks with state 2 are all read from it.
	Seen []Seen `json:"seen,omitempty"`

	idx *orderIndex // derived from Seen; rebuilt when absent or stale
}

// SnapshotSource names the callback a snapshot field's value came from, when
// that is not the snapshot callback.
type SnapshotSource struct {
	Field    Fields          `json:"f"`
	Total    int64           `json:"t"`
	Position domain.Position `json:"p"`
	EventID  string          `json:"e,omitempty"`
}

// Seen is what the fold keeps of one distinct callback.
type Seen struct {
	EventID           string `json:"id"`
	Hash              string `json:"hash,omitempty"`
	TotalDelegateNums int64  `json:"total,omitempty"`
	Charged           bool   `json:"charged,omitempty"` // orderMoney > 0
	Deleted           bool   `json:"deleted,omitempty"` // state 2
}
